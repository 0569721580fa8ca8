//! The data-management service: queued ingestion over Azurite, with both protocols and status
//! reporting.
//!
//! Started by [`EmulatorBuilder::azurite`](crate::EmulatorBuilder::azurite), it
//!
//! * creates, in every storage account of the Azurite, a `TempStorage` container and a
//!   `SecuredReadyForAggregationQueue`, and in the first account the `FailedIngestionsQueue`,
//!   the `SuccessfulIngestionsQueue` and the `IngestionsStatusTable`;
//! * answers `.get ingestion resources` (also spelled `.show ingestion resources`, with an
//!   optional `with (...)`) with SAS URLs for single resources, never account keys, and
//!   `.get kusto identity token` with a token that queue messages must carry;
//! * polls the ready queues, reads each base64 JSON message case-insensitively
//!   ([`message`]), downloads the blob with its SAS, decompresses gzip and zip by content,
//!   parses it with the format, mapping (inline or by reference), `ignoreFirstRecord`,
//!   `creationTime`, tags, `ingestIfNotExists` and `drop-by:` semantics, and appends the rows
//!   as one extent per source;
//! * batches messages without `FlushImmediately` per table for a short window
//!   ([`DataManagementOptions::batching_window`]) and ingests `FlushImmediately` ones at once;
//! * reports as asked by `ReportLevel` / `ReportMethod`: messages on the success and failure
//!   queues, and the status-table entity updated from `Pending` to its final status
//!   ([`report`]); every failure is also listed by `.show ingestion failures`;
//! * serves the REST protocol (`/v1/rest/ingestion/configuration`, `/v1/rest/ingestion/queued/
//!   {db}/{table}` and the operation status), unless switched off
//!   ([`DataManagementOptions::rest_api`]);
//! * puts a fault-injecting proxy ([`DataManagement::storage_faults`]) in front of each
//!   account, so that the SAS URLs clients receive can fail for one account while the other
//!   works ([`DataManagementOptions::storage_fault_proxy`]).
//!
//! Decisions where the service's behaviour is not documented:
//!
//! * The data-management service reaches storage directly, not through the fault proxy: the
//!   proxy models the client's path to storage. Blob URLs that point at a proxy are rewritten
//!   to Azurite before downloading.
//! * Transient download failures (5xx, time-outs) are retried
//!   [`DataManagementOptions::download_attempts`] times with backoff; when they keep failing the
//!   source ends as `Failed` with `General_RetryAttemptsExceeded` and `FailureStatus`
//!   `Exhausted`.
//! * With `ReportMethod` Table or QueueAndTable the status entity is updated to its final status
//!   whenever `ReportLevel` is not `None`, also for successes under `FailuresOnly`, so that a
//!   client polling the entity always sees it leave `Pending`. Notification-queue messages
//!   follow `ReportLevel` exactly.
//! * A source that was ingested is `Succeeded`, also when malformed records of the `json`
//!   format (JSON lines) were ignored: the service documents that it ignores them silently
//!   ("Ingestion behavior of invalid data"); one skipped by `ingestIfNotExists` is `Skipped`
//!   (reported on the success queue). Malformed `multijson`/`singlejson` data
//!   (`BadRequest_InvalidBlob`), CSV records with another number of fields
//!   (`Stream_WrongNumberOfFields`) and sources without a valid record
//!   (`BadRequest_NoRecordsOrWrongFormat`) fail whole: nothing is ingested.
//! * Queue messages must carry the `authorizationContext` handed out by `.get kusto identity
//!   token` (`BadRequest_InvalidKustoIdentityToken` otherwise), unless
//!   [`DataManagementOptions::require_authorization_context`] is off.

pub(crate) mod message;
pub(crate) mod proxy;
pub(crate) mod report;
pub(crate) mod rest;
mod worker;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use url::Url;

use crate::azurite::storage::{StorageClient, without_sas};
use crate::azurite::{Azurite, AzuriteError};
use crate::faults::Faults;
use crate::store::Store;
use proxy::{Service, StorageProxy};

pub(crate) use report::SourceFailure;

/// Settings of the data-management service.
#[derive(Debug, Clone)]
pub struct DataManagementOptions {
    /// How long messages without `FlushImmediately` wait for others of the same table before
    /// they are ingested together (default 1 s; the real service waits up to 5 minutes).
    pub batching_window: Duration,
    /// How often an empty ready queue is polled again (default 100 ms).
    pub poll_interval: Duration,
    /// How long a received message stays invisible to other readers (default 5 minutes): if the
    /// emulator stops while ingesting, the message comes back after this time.
    pub visibility_timeout: Duration,
    /// Serve the REST ingestion API (default `true`; when off its paths answer 404, as on
    /// clusters that lack it).
    pub rest_api: bool,
    /// Hand out SAS URLs that go through a fault-injecting proxy per account (default `true`).
    pub storage_fault_proxy: bool,
    /// `maxBlobsPerBatch` of the REST API (default 20).
    pub max_blobs_per_batch: usize,
    /// Attempts to download a blob when storage answers with a transient error (default 3).
    pub download_attempts: u32,
    /// The largest decompressed source accepted (default 1 GiB; `BadRequest_FileTooLarge`
    /// beyond, unless the message sets `IgnoreSizeLimit`).
    pub max_source_bytes: usize,
    /// Require queue messages to carry the token of `.get kusto identity token` (default
    /// `true`).
    pub require_authorization_context: bool,
}

impl Default for DataManagementOptions {
    fn default() -> Self {
        DataManagementOptions {
            batching_window: Duration::from_secs(1),
            poll_interval: Duration::from_millis(100),
            visibility_timeout: Duration::from_secs(300),
            rest_api: true,
            storage_fault_proxy: true,
            max_blobs_per_batch: 20,
            download_attempts: 3,
            max_source_bytes: 1 << 30,
            require_authorization_context: true,
        }
    }
}

/// Container, queue and table names, as a cluster names them.
const READY_QUEUE: &str = "readyforaggregation-secured";
const FAILED_QUEUE: &str = "failedingestions";
const SUCCESS_QUEUE: &str = "successfulingestions";

/// One row of `.get ingestion resources`.
#[derive(Clone, PartialEq, Eq)]
pub struct IngestionResource {
    /// `ResourceTypeName`: `SecuredReadyForAggregationQueue`, `TempStorage`,
    /// `FailedIngestionsQueue`, `SuccessfulIngestionsQueue` or `IngestionsStatusTable`.
    pub kind: &'static str,
    /// The storage account.
    pub account: String,
    /// `StorageRoot`: the resource URL with its SAS.
    pub url: Url,
}

impl fmt::Debug for IngestionResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestionResource")
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("url", &without_sas(&self.url))
            .finish()
    }
}

/// Where a REST operation's blobs stand.
#[derive(Debug, Clone)]
pub(crate) struct BlobState {
    pub(crate) source_id: uuid::Uuid,
    pub(crate) url: String,
    pub(crate) status: &'static str,
    pub(crate) started_at: i64,
    pub(crate) last_update: i64,
    pub(crate) failure: Option<SourceFailure>,
}

/// A tracked REST operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) database: String,
    pub(crate) table: String,
    pub(crate) start_time: i64,
    pub(crate) last_updated: i64,
    pub(crate) blobs: Vec<BlobState>,
}

/// The running data-management service of an emulator.
pub struct DataManagement {
    azurite: Arc<Azurite>,
    options: DataManagementOptions,
    resources: Vec<IngestionResource>,
    /// Direct (not proxied) URLs of the ready queues and the notification queues.
    ready_queues: Vec<Url>,
    failed_queue: Url,
    success_queue: Url,
    authorization_context: String,
    proxy: Option<StorageProxy>,
    proxy_faults: HashMap<String, Arc<Faults>>,
    operations: Mutex<HashMap<String, Operation>>,
    jobs: mpsc::UnboundedSender<worker::Job>,
    in_flight: AtomicUsize,
    storage: StorageClient,
    store: Arc<Store>,
    auto_create_databases: bool,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<JoinSet<()>>,
}

impl fmt::Debug for DataManagement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataManagement")
            .field("azurite", &self.azurite)
            .field("options", &self.options)
            .field("resources", &self.resources)
            .field("authorization_context", &"****")
            .finish_non_exhaustive()
    }
}

fn date_stamp() -> String {
    let text = crate::time::format_datetime(crate::time::now_ticks());
    text.get(..10).unwrap_or("19700101").replace('-', "")
}

impl DataManagement {
    /// Creates the storage resources, starts the proxies and the worker.
    pub(crate) async fn start(
        azurite: Arc<Azurite>,
        options: DataManagementOptions,
        store: Arc<Store>,
        auto_create_databases: bool,
        link: Option<&crate::shaped::ShapedLink>,
    ) -> Result<Arc<DataManagement>, AzuriteError> {
        let accounts: Vec<String> = azurite.accounts().iter().map(|a| a.name.clone()).collect();
        let Some(first) = accounts.first().cloned() else {
            return Err(AzuriteError::Start(
                "the data-management service needs at least one storage account".to_owned(),
            ));
        };
        let stamp = date_stamp();
        let status_table = format!("ingestionsstatus{stamp}");
        let mut resources = Vec::new();
        let mut ready_queues = Vec::new();
        for (i, account) in accounts.iter().enumerate() {
            let container = format!("{stamp}-ingestdata-e5c3-{i}");
            azurite.create_container(account, &container).await?;
            azurite.create_queue(account, READY_QUEUE).await?;
            resources.push(IngestionResource {
                kind: "SecuredReadyForAggregationQueue",
                account: account.clone(),
                url: azurite.queue_sas_url(account, READY_QUEUE)?,
            });
            resources.push(IngestionResource {
                kind: "TempStorage",
                account: account.clone(),
                url: azurite.container_sas_url(account, &container)?,
            });
            ready_queues.push(azurite.queue_sas_url(account, READY_QUEUE)?);
        }
        azurite.create_queue(&first, FAILED_QUEUE).await?;
        azurite.create_queue(&first, SUCCESS_QUEUE).await?;
        azurite.create_table(&first, &status_table).await?;
        resources.push(IngestionResource {
            kind: "FailedIngestionsQueue",
            account: first.clone(),
            url: azurite.queue_sas_url(&first, FAILED_QUEUE)?,
        });
        resources.push(IngestionResource {
            kind: "SuccessfulIngestionsQueue",
            account: first.clone(),
            url: azurite.queue_sas_url(&first, SUCCESS_QUEUE)?,
        });
        resources.push(IngestionResource {
            kind: "IngestionsStatusTable",
            account: first.clone(),
            url: azurite.table_sas_url(&first, &status_table)?,
        });
        let failed_queue = azurite.queue_sas_url(&first, FAILED_QUEUE)?;
        let success_queue = azurite.queue_sas_url(&first, SUCCESS_QUEUE)?;

        let mut proxy_faults = HashMap::new();
        let mut proxy_server = None;
        if options.storage_fault_proxy {
            let endpoints = azurite.endpoints();
            let proxy = StorageProxy::start(
                &accounts,
                &[
                    (Service::Blob, endpoints.blob.clone()),
                    (Service::Queue, endpoints.queue.clone()),
                    (Service::Table, endpoints.table.clone()),
                ],
                link,
            )
            .await
            .map_err(|e| AzuriteError::Start(format!("the storage proxy did not start: {e}")))?;
            for resource in &mut resources {
                let service = match resource.kind {
                    "TempStorage" => Service::Blob,
                    "IngestionsStatusTable" => Service::Table,
                    _ => Service::Queue,
                };
                if let Some(base) = proxy.base(&resource.account, service) {
                    let _ = resource.url.set_host(base.host_str());
                    let _ = resource.url.set_port(base.port());
                }
            }
            for account in &accounts {
                if let Some(faults) = proxy.faults(account) {
                    proxy_faults.insert(account.clone(), Arc::clone(faults));
                }
            }
            proxy_server = Some(proxy);
        } else if link.is_some() {
            tracing::warn!(
                "the storage fault proxy is off: storage URLs are not behind the shaped link"
            );
        }

        let (jobs, receiver) = mpsc::unbounded_channel();
        let (shutdown, signal) = watch::channel(false);
        let mut token = String::from("emulator-identity-");
        token.push_str(&uuid::Uuid::new_v4().simple().to_string());
        let dm = Arc::new(DataManagement {
            azurite,
            options,
            resources,
            ready_queues,
            failed_queue,
            success_queue,
            authorization_context: token,
            proxy: proxy_server,
            proxy_faults,
            operations: Mutex::new(HashMap::new()),
            jobs,
            in_flight: AtomicUsize::new(0),
            storage: StorageClient::new(),
            store,
            auto_create_databases,
            shutdown,
            tasks: Mutex::new(JoinSet::new()),
        });
        worker::spawn(&dm, receiver, signal);
        Ok(dm)
    }

    /// The Azurite behind the service.
    pub fn azurite(&self) -> &Azurite {
        &self.azurite
    }

    /// The settings.
    pub fn options(&self) -> &DataManagementOptions {
        &self.options
    }

    /// The rows of `.get ingestion resources` (URLs carry SAS tokens: do not log them).
    pub fn resources(&self) -> &[IngestionResource] {
        &self.resources
    }

    /// The URLs of one kind of resource (`TempStorage`, `SecuredReadyForAggregationQueue`, ...).
    pub fn resource_urls(&self, kind: &str) -> Vec<Url> {
        self.resources
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.url.clone())
            .collect()
    }

    /// The token of `.get kusto identity token`.
    pub fn authorization_context(&self) -> &str {
        &self.authorization_context
    }

    /// The fault rules of an account's storage proxy (`None` for an unknown account or when
    /// the proxy is off). Rules match the request path `/<account>/<resource>/...`.
    pub fn storage_faults(&self, account: &str) -> Option<&Arc<Faults>> {
        self.proxy_faults.get(account)
    }

    /// Sources accepted (from the queues or the REST API) whose outcome is not reported yet.
    pub fn pending_sources(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Hands a source to the batcher; `false` when shutting down.
    pub(crate) fn enqueue(&self, job: worker::Job) -> bool {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.jobs.send(job).is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    pub(crate) fn source_done(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// A URL as the service itself reaches it: proxy URLs are rewritten to Azurite.
    pub(crate) fn direct(&self, url: &Url) -> Url {
        match &self.proxy {
            Some(proxy) => proxy.direct(url),
            None => url.clone(),
        }
    }

    pub(crate) fn operations(&self) -> std::sync::MutexGuard<'_, HashMap<String, Operation>> {
        self.operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells the worker and the proxies to stop, without waiting.
    pub(crate) fn signal_stop(&self) {
        let _ = self.shutdown.send(true);
        if let Some(proxy) = &self.proxy {
            proxy.signal_stop();
        }
    }

    /// Stops the worker and the proxies, waiting for sources being ingested (at most 10 s).
    pub(crate) async fn stop(&self) {
        let _ = self.shutdown.send(true);
        let mut tasks =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let drained = tokio::time::timeout(Duration::from_secs(10), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.abort_all();
        }
        if let Some(proxy) = &self.proxy {
            proxy.stop().await;
        }
    }
}
