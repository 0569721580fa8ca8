//! Ingestion resources (`.get ingestion resources`), the identity token (`.get kusto identity
//! token`) and the REST ingestion configuration (`GET /v1/rest/ingestion/configuration`),
//! each cached for the client.
//!
//! A cached value is refreshed once it is older than the refresh period (1 hour by default, as
//! the other SDKs do), and at once after a storage authorization failure (HTTP 403). Many concurrent callers wait for one fetch. When a refresh fails and
//! an older value exists, the older value is served (with a warning in the trace) rather than
//! failing every ingestion while the service is briefly unavailable.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kusto_data::client::RestRequest;
use kusto_data::{ClientRequestProperties, KustoClient, RetryPolicy};
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};
use kusto_data::redact::url as without_query;

/// The database the data-management commands run against.
const DM_DATABASE: &str = "NetDefaultDB";

/// The server timeout of the REST configuration probe (the client adds its margin).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The storage resources of a cluster for queued ingestion.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct IngestionResources {
    /// `SecuredReadyForAggregationQueue`: queues for ingestion messages.
    pub(crate) ready_queues: Vec<Url>,
    /// `TempStorage`: containers for uploads.
    pub(crate) containers: Vec<Url>,
    /// `FailedIngestionsQueue`.
    pub(crate) failed_queues: Vec<Url>,
    /// `SuccessfulIngestionsQueue`.
    pub(crate) success_queues: Vec<Url>,
    /// `IngestionsStatusTable`.
    pub(crate) status_tables: Vec<Url>,
}

impl fmt::Debug for IngestionResources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |urls: &[Url]| urls.iter().map(without_query).collect::<Vec<_>>();
        f.debug_struct("IngestionResources")
            .field("ready_queues", &show(&self.ready_queues))
            .field("containers", &show(&self.containers))
            .field("failed_queues", &show(&self.failed_queues))
            .field("success_queues", &show(&self.success_queues))
            .field("status_tables", &show(&self.status_tables))
            .finish()
    }
}

impl IngestionResources {
    /// Reads the rows of `.get ingestion resources` (`ResourceTypeName`, `StorageRoot`).
    /// Unknown kinds are ignored; a URL that does not parse is an error.
    pub(crate) fn from_rows<'a>(
        rows: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let mut resources = IngestionResources::default();
        for (kind, root) in rows {
            let list = match kind {
                "SecuredReadyForAggregationQueue" => &mut resources.ready_queues,
                "TempStorage" => &mut resources.containers,
                "FailedIngestionsQueue" => &mut resources.failed_queues,
                "SuccessfulIngestionsQueue" => &mut resources.success_queues,
                "IngestionsStatusTable" => &mut resources.status_tables,
                _ => continue,
            };
            let url = Url::parse(root)
                .map_err(|e| Error::Protocol(format!("the {kind} resource is not a URL: {e}")))?;
            list.push(url);
        }
        Ok(resources)
    }
}

/// The REST ingestion configuration of a data-management service.
#[derive(Clone, Default, PartialEq)]
pub(crate) struct RestConfiguration {
    /// Containers for uploads (SAS URLs).
    pub(crate) containers: Vec<Url>,
    /// `preferredUploadMethod` (`Storage`, `Lake`, `Default`), when given.
    pub(crate) preferred_upload_method: Option<String>,
    /// `preferredIngestionMethod` (`Rest`, `Queue`, `V1`, `V2`, ...), when given.
    pub(crate) preferred_ingestion_method: Option<String>,
    /// `maxBlobsPerBatch` (20 when not given, the documented value).
    pub(crate) max_blobs_per_batch: usize,
    /// `maxDataSize`, when given.
    pub(crate) max_data_size: Option<u64>,
    /// `refreshInterval`, when given and readable.
    pub(crate) refresh_interval: Option<Duration>,
}

impl fmt::Debug for RestConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestConfiguration")
            .field(
                "containers",
                &self
                    .containers
                    .iter()
                    .map(without_query)
                    .collect::<Vec<_>>(),
            )
            .field("preferred_upload_method", &self.preferred_upload_method)
            .field(
                "preferred_ingestion_method",
                &self.preferred_ingestion_method,
            )
            .field("max_blobs_per_batch", &self.max_blobs_per_batch)
            .field("max_data_size", &self.max_data_size)
            .finish()
    }
}

/// Looks `key` up case-insensitively in a JSON object.
fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

impl RestConfiguration {
    /// Reads the JSON of `GET /v1/rest/ingestion/configuration` (keys compared
    /// case-insensitively).
    pub(crate) fn from_json(value: &Value) -> Result<Self> {
        let container_settings = field(value, "containerSettings");
        let ingestion_settings = field(value, "ingestionSettings");
        let mut containers = Vec::new();
        if let Some(list) = container_settings
            .and_then(|c| field(c, "containers"))
            .and_then(Value::as_array)
        {
            for item in list {
                let path = field(item, "path").and_then(Value::as_str).ok_or_else(|| {
                    Error::Protocol("a container of the REST configuration has no path".into())
                })?;
                containers.push(Url::parse(path).map_err(|e| {
                    Error::Protocol(format!(
                        "a container of the REST configuration is not a URL: {e}"
                    ))
                })?);
            }
        }
        let text = |parent: Option<&Value>, key: &str| {
            parent
                .and_then(|p| field(p, key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let max_blobs = ingestion_settings
            .and_then(|s| field(s, "maxBlobsPerBatch"))
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .unwrap_or(20);
        Ok(RestConfiguration {
            containers,
            preferred_upload_method: text(container_settings, "preferredUploadMethod"),
            preferred_ingestion_method: text(ingestion_settings, "preferredIngestionMethod"),
            max_blobs_per_batch: usize::try_from(max_blobs).unwrap_or(20),
            max_data_size: ingestion_settings
                .and_then(|s| field(s, "maxDataSize"))
                .and_then(Value::as_u64),
            refresh_interval: text(container_settings, "refreshInterval")
                .and_then(|t| parse_timespan(&t)),
        })
    }

    /// True when the service prefers the queue protocol (`preferredIngestionMethod` of `Queue`,
    /// `Queued`, `V1` or `Storage`, in any case); any other value, or none, prefers REST.
    pub(crate) fn prefers_queue(&self) -> bool {
        self.preferred_ingestion_method.as_deref().is_some_and(|m| {
            ["queue", "queued", "v1", "storage", "storagequeue"]
                .iter()
                .any(|q| m.eq_ignore_ascii_case(q))
        })
    }
}

/// A .NET TimeSpan text `[d.]hh:mm:ss[.fffffff]`.
fn parse_timespan(text: &str) -> Option<Duration> {
    let (days, rest) = match text.split_once('.') {
        Some((d, r)) if r.contains(':') => (d.parse::<u64>().ok()?, r),
        _ => (0, text),
    };
    let mut parts = rest.split(':');
    let hours: u64 = parts.next()?.parse().ok()?;
    let minutes: u64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    // Checked: the numbers come from the service's text (`99999999999999.00:00:00`).
    let whole = days
        .checked_mul(86_400)?
        .checked_add(hours.checked_mul(3600)?)?
        .checked_add(minutes.checked_mul(60)?)?;
    Duration::from_secs(whole).checked_add(Duration::try_from_secs_f64(seconds).ok()?)
}

struct Entry<T> {
    value: Arc<T>,
    fetched: Instant,
    stale: bool,
}

/// A value fetched from the service, cached and refreshed by one caller at a time.
pub(crate) struct Cache<T> {
    entry: Mutex<Option<Entry<T>>>,
    refresh: tokio::sync::Mutex<()>,
    max_age: Duration,
}

impl<T> Cache<T> {
    pub(crate) fn new(max_age: Duration) -> Self {
        Cache {
            entry: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            max_age,
        }
    }

    fn fresh(&self) -> Option<Arc<T>> {
        let entry = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        entry
            .as_ref()
            .filter(|e| !e.stale && e.fetched.elapsed() < self.max_age)
            .map(|e| Arc::clone(&e.value))
    }

    /// Marks the value stale: the next caller fetches it again.
    pub(crate) fn invalidate(&self) {
        if let Some(entry) = self
            .entry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            entry.stale = true;
        }
    }

    /// The cached value, or a new one from `fetch` when it is missing, old or stale.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let _guard = self.refresh.lock().await;
        // Another caller may have refreshed it while this one waited.
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        match fetch().await {
            Ok(value) => {
                let value = Arc::new(value);
                *self.entry.lock().unwrap_or_else(PoisonError::into_inner) = Some(Entry {
                    value: Arc::clone(&value),
                    fetched: Instant::now(),
                    stale: false,
                });
                Ok(value)
            }
            Err(error) => {
                let old = self
                    .entry
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .map(|e| Arc::clone(&e.value));
                match old {
                    Some(value) if error.is_transient() => {
                        tracing::warn!(%error, "refresh failed; the previous value is used");
                        Ok(value)
                    }
                    _ => Err(error),
                }
            }
        }
    }
}

/// The cached resources, identity token and REST configuration of one data-management service.
pub(crate) struct ResourceManager {
    kusto: KustoClient,
    /// The retry policy of the ingest client, when it was given one (else the `KustoClient`'s).
    retry: Option<RetryPolicy>,
    resources: Cache<IngestionResources>,
    token: Cache<String>,
    rest: Cache<Option<RestConfiguration>>,
}

impl ResourceManager {
    pub(crate) fn new(kusto: KustoClient, max_age: Duration, retry: Option<RetryPolicy>) -> Self {
        ResourceManager {
            kusto,
            retry,
            resources: Cache::new(max_age),
            token: Cache::new(max_age),
            rest: Cache::new(max_age),
        }
    }

    pub(crate) fn kusto(&self) -> &KustoClient {
        &self.kusto
    }

    /// Request properties that carry the ingest client's retry policy, for requests that may
    /// be sent again; `None` leaves the `KustoClient`'s policy.
    pub(crate) fn retrying(&self) -> Option<ClientRequestProperties> {
        self.retry.as_ref().map(|policy| {
            let mut properties = ClientRequestProperties::new();
            properties.set_retry_policy(policy.clone());
            properties
        })
    }

    /// The ingestion resources.
    pub(crate) async fn resources(&self) -> Result<Arc<IngestionResources>> {
        self.resources
            .get(|| async {
                let properties = self.retrying();
                let mut request = self.kusto.mgmt(DM_DATABASE, ".get ingestion resources");
                if let Some(properties) = &properties {
                    request = request.properties(properties);
                }
                let data = request.await?;
                let table = data.tables().first().ok_or_else(|| {
                    Error::Protocol(".get ingestion resources returned no table".into())
                })?;
                let mut rows = Vec::new();
                for row in table.rows() {
                    let kind = row.get_string("ResourceTypeName")?.unwrap_or_default();
                    let root = row.get_string("StorageRoot")?.unwrap_or_default();
                    rows.push((kind.to_owned(), root.to_owned()));
                }
                IngestionResources::from_rows(rows.iter().map(|(k, r)| (k.as_str(), r.as_str())))
            })
            .await
    }

    /// The identity token (`AuthorizationContext`).
    pub(crate) async fn identity_token(&self) -> Result<Arc<String>> {
        self.token
            .get(|| async {
                let properties = self.retrying();
                let mut request = self.kusto.mgmt(DM_DATABASE, ".get kusto identity token");
                if let Some(properties) = &properties {
                    request = request.properties(properties);
                }
                let data = request.await?;
                let token = data
                    .tables()
                    .first()
                    .and_then(|t| t.rows().next())
                    .map(|row| row.get_string("AuthorizationContext"))
                    .transpose()?
                    .flatten()
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        Error::Protocol(".get kusto identity token returned no token".into())
                    })?;
                Ok(token)
            })
            .await
    }

    /// The REST configuration, or `None` when the service does not offer the REST protocol
    /// (it answers 404). Retried with the client's policy.
    pub(crate) async fn rest_configuration(&self) -> Result<Arc<Option<RestConfiguration>>> {
        self.fetch_rest_configuration(true).await
    }

    /// The REST configuration asked for once, without retries and with a short timeout: the
    /// probe of [`IngestProtocol::Auto`](crate::IngestProtocol::Auto), whose every failure
    /// means "use the storage queues".
    pub(crate) async fn probe_rest_configuration(&self) -> Result<Arc<Option<RestConfiguration>>> {
        self.fetch_rest_configuration(false).await
    }

    async fn fetch_rest_configuration(
        &self,
        retry: bool,
    ) -> Result<Arc<Option<RestConfiguration>>> {
        self.rest
            .get(|| async {
                let mut request = RestRequest::get(["v1", "rest", "ingestion", "configuration"])
                    .request_id_prefix("KRS.getConfiguration;");
                if !retry {
                    let mut properties = ClientRequestProperties::new();
                    properties.set_server_timeout(PROBE_TIMEOUT);
                    request = request.idempotent(false).properties(properties);
                } else if let Some(properties) = self.retrying() {
                    request = request.properties(properties);
                }
                match self.kusto.execute_rest(request).await {
                    Ok(response) => {
                        let json: Value = response.json()?;
                        Ok(Some(RestConfiguration::from_json(&json)?))
                    }
                    Err(error) if error.status() == Some(404) => Ok(None),
                    Err(error) => Err(error.into()),
                }
            })
            .await
    }

    /// Fetches the storage resources again before the next use (after a storage
    /// authorization failure).
    pub(crate) fn invalidate_storage(&self) {
        self.resources.invalidate();
        self.rest.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn resources_are_read_by_kind() {
        let rows = [
            (
                "SecuredReadyForAggregationQueue",
                "https://a.queue.core.windows.net/q1?sig=x",
            ),
            ("TempStorage", "https://a.blob.core.windows.net/c1?sig=x"),
            ("TempStorage", "https://b.blob.core.windows.net/c2?sig=x"),
            (
                "IngestionsStatusTable",
                "https://a.table.core.windows.net/t?sig=x",
            ),
            ("SomethingNew", "whatever"),
        ];
        let resources = IngestionResources::from_rows(rows).unwrap();
        assert_eq!(resources.containers.len(), 2);
        assert_eq!(resources.ready_queues.len(), 1);
        assert!(!format!("{resources:?}").contains("sig"));
        assert!(IngestionResources::from_rows([("TempStorage", "not a url")]).is_err());
    }

    #[test]
    fn rest_configuration_is_read_case_insensitively() {
        let json = json!({"containerSettings": {"containers": [{"path": "https://a.blob.core.windows.net/c?sig=s"}],
            "lakeFolders": [], "refreshInterval": "01:00:00", "preferredUploadMethod": "Storage"},
            "ingestionSettings": {"maxBlobsPerBatch": 20, "maxDataSize": 6442450944u64, "preferredIngestionMethod": "Rest"}});
        let config = RestConfiguration::from_json(&json).unwrap();
        assert_eq!(config.containers.len(), 1);
        assert_eq!(config.max_blobs_per_batch, 20);
        assert_eq!(config.refresh_interval, Some(Duration::from_secs(3600)));
        assert!(!config.prefers_queue());
        let queue = json!({"IngestionSettings": {"PreferredIngestionMethod": "V1"}});
        assert!(
            RestConfiguration::from_json(&queue)
                .unwrap()
                .prefers_queue()
        );
        assert_eq!(
            parse_timespan("1.02:03:04.5"),
            Some(Duration::from_millis(93_784_500))
        );
        assert_eq!(parse_timespan("nonsense"), None);
        // Too large for a Duration's seconds: refused, not an overflow.
        assert_eq!(parse_timespan("999999999999999999.00:00:00"), None);
        assert_eq!(parse_timespan("0.99999999999999999:00:00"), None);
    }

    #[tokio::test]
    async fn one_fetch_serves_many_callers_and_stale_values_survive_failures() {
        let cache: Arc<Cache<u32>> = Arc::new(Cache::new(Duration::from_secs(3600)));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let cache = Arc::clone(&cache);
            let calls = Arc::clone(&calls);
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(7)
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            assert_eq!(*task.await.unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Invalidated, the next caller refreshes; a transient failure serves the old value.
        cache.invalidate();
        let transient = || async {
            Err(Error::Kusto(kusto_data::Error::Timeout {
                endpoint: "x".into(),
                timeout: Duration::from_secs(1),
            }))
        };
        assert_eq!(*cache.get(transient).await.unwrap(), 7);
        // A permanent failure is reported.
        cache.invalidate();
        let permanent = || async { Err(Error::Protocol("bad".into())) };
        assert!(cache.get(permanent).await.is_err());
        cache.invalidate();
        assert_eq!(*cache.get(|| async { Ok(8) }).await.unwrap(), 8);
    }
}
