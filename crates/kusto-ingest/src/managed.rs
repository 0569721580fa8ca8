//! [`ManagedStreamingIngestClient`]: streams when it can, falls back to queued ingestion when it
//! must.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kusto_data::{Compression, ConnectionString, RetryPolicy};
use tokio::io::{AsyncRead, AsyncReadExt};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::properties::IngestionProperties;
use crate::queued::QueuedIngestClient;
use crate::source::{IngestionSource, SourceData, compressed_file_raw_size, compressed_raw_size};
use crate::status::IngestionOperation;
use crate::streaming::{
    MAX_STREAMING_BODY, Payload, StreamingIngestClient, StreamingResult, make_payload,
    unstreamable_property,
};

/// What to do when a streaming request failed without an answer after it may have reached the
/// service (the rows may have been ingested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AmbiguousFailure {
    /// Return [`Error::Ambiguous`]; nothing is resent, so nothing is doubled (default).
    #[default]
    Fail,
    /// Retry the streaming request (the rows may arrive twice).
    Retry,
    /// Fall back to queued ingestion (the rows may arrive twice).
    FallBackToQueued,
}

/// The settings of a [`ManagedStreamingIngestClient`].
///
/// ```
/// use std::time::Duration;
/// use kusto_ingest::{ManagedStreamingPolicy, RetryPolicy};
/// let policy = ManagedStreamingPolicy::default()
///     .with_retry(RetryPolicy::default().with_max_attempts(5))
///     .with_throttle_backoff(Duration::from_secs(30));
/// assert_eq!(policy.retry.max_attempts(), 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ManagedStreamingPolicy {
    /// The most raw data streamed (default 4 MiB); larger sources go queued.
    pub max_streaming_size: usize,
    /// How a source is streamed again after a transient failure: its attempts (default 3),
    /// backoff (1 s doubling to 4 s, with jitter) and deadline (2 minutes) all apply, and a
    /// `Retry-After` of the service is honoured. When they are spent the source goes queued
    /// ([`FallbackReason::RetriesExhausted`]).
    pub retry: RetryPolicy,
    /// How long a throttled table stays on queued ingestion (default 10 s).
    pub throttle_backoff: Duration,
    /// How long a table whose streaming is disabled stays on queued ingestion (default 15 min).
    pub config_backoff: Duration,
    /// Fail instead of falling back when streaming is disabled for the table (default false).
    pub fail_when_streaming_disabled: bool,
    /// What to do after a failure that may have ingested the rows.
    pub on_ambiguous: AmbiguousFailure,
}

impl Default for ManagedStreamingPolicy {
    fn default() -> Self {
        ManagedStreamingPolicy {
            max_streaming_size: 4 << 20,
            retry: RetryPolicy::default()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_secs(1))
                .with_max_backoff(Duration::from_secs(4)),
            throttle_backoff: Duration::from_secs(10),
            config_backoff: Duration::from_secs(15 * 60),
            fail_when_streaming_disabled: false,
            on_ambiguous: AmbiguousFailure::Fail,
        }
    }
}

impl ManagedStreamingPolicy {
    /// Sets the most raw data streamed.
    #[must_use]
    pub fn with_max_streaming_size(mut self, bytes: usize) -> Self {
        self.max_streaming_size = bytes;
        self
    }

    /// Sets how streaming is retried.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how long a throttled table stays on queued ingestion.
    #[must_use]
    pub fn with_throttle_backoff(mut self, period: Duration) -> Self {
        self.throttle_backoff = period;
        self
    }

    /// Sets how long a table whose streaming is disabled stays on queued ingestion.
    #[must_use]
    pub fn with_config_backoff(mut self, period: Duration) -> Self {
        self.config_backoff = period;
        self
    }

    /// Fails instead of falling back when streaming is disabled for the table.
    #[must_use]
    pub fn with_fail_when_streaming_disabled(mut self, on: bool) -> Self {
        self.fail_when_streaming_disabled = on;
        self
    }

    /// Sets what to do after a failure that may have ingested the rows.
    #[must_use]
    pub fn with_on_ambiguous(mut self, decision: AmbiguousFailure) -> Self {
        self.on_ambiguous = decision;
        self
    }
}

/// Why a source went queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackReason {
    /// A property streaming cannot honour (the field named).
    Property(&'static str),
    /// A zip archive.
    ZipArchive,
    /// Larger than the streaming limit.
    TooLarge,
    /// The table is on queued ingestion until the back-off ends.
    TableBackoff,
    /// The service throttled the request.
    Throttled,
    /// Streaming ingestion is disabled for the table or cluster.
    StreamingDisabled,
    /// Transient failures outlasted the attempts.
    RetriesExhausted,
    /// No answer; the policy chose queued ingestion.
    Ambiguous,
}

/// A decision of the managed client, reported to its callback.
#[derive(Debug)]
#[non_exhaustive]
pub enum ManagedEvent<'a> {
    /// The source was streamed on this attempt (0-based).
    Streamed {
        /// The source id.
        source_id: Uuid,
        /// The attempt.
        attempt: u32,
    },
    /// An attempt failed and another follows.
    Retrying {
        /// The source id.
        source_id: Uuid,
        /// The attempt that failed.
        attempt: u32,
        /// Its error.
        error: &'a Error,
    },
    /// The source goes to queued ingestion.
    FellBack {
        /// The source id.
        source_id: Uuid,
        /// Why.
        reason: FallbackReason,
    },
    /// The source failed with an error returned to the caller.
    Failed {
        /// The source id.
        source_id: Uuid,
        /// The error.
        error: &'a Error,
    },
}

/// How a managed ingestion went: streamed, or queued. Exhaustive on purpose: every source
/// takes one of the two paths, and a `match` on it needs no other arm.
#[derive(Debug)]
pub enum ManagedIngestResult {
    /// Streamed: the service's answer.
    Streamed(StreamingResult),
    /// Queued: the operation to wait on, and why it went queued.
    Queued(IngestionOperation, FallbackReason),
}

type Callback = Arc<dyn Fn(&ManagedEvent<'_>) + Send + Sync>;

/// Streams when it can, falls back to queued ingestion when it must. Cheap to clone.
///
/// It never reads a forward-only source twice, and never resends what may have been ingested
/// unless its policy says so. How a source is handled:
///
/// 1. Properties that streaming cannot honour (an inline mapping, tags, `ingest_if_not_exists`,
///    a creation time, ...), a zip archive, or a table kept on queued ingestion by an earlier
///    decision: **queued** at once.
/// 2. At most [`ManagedStreamingPolicy::max_streaming_size`] bytes of raw data (4 MiB by
///    default) are read into memory. A larger source goes **queued** at once, the buffered
///    prefix chained to the rest of the source: nothing is read twice and no temporary file is
///    written. A file is measured by its length (and its gzip trailer), a blob by its size.
/// 3. Otherwise it is **streamed**, with the attempts, backoff and deadline of
///    [`ManagedStreamingPolicy::retry`]; each request id carries the source id and the attempt
///    (`KRS.executeManagedStreamingIngest;{source id};{attempt}`).
///
/// What a failed attempt leads to is decided from typed facts, never from message text:
///
/// | failure | decision |
/// |---|---|
/// | HTTP 429 (throttled) | queued; the table stays on queued for [`throttle_backoff`](ManagedStreamingPolicy::throttle_backoff) (10 s) |
/// | streaming disabled (codes `BadRequest_StreamingIngestionPolicyNotEnabled`, `StreamingIngestionDisabledForCluster`, or a 404 of the endpoint) | queued, the table stays on queued for [`config_backoff`](ManagedStreamingPolicy::config_backoff) (15 min); or an error when [`fail_when_streaming_disabled`](ManagedStreamingPolicy::fail_when_streaming_disabled) |
/// | too large (HTTP 413, `Stream_InputStreamTooLarge`) | queued |
/// | other permanent errors (bad data, bad mapping, unknown table: `@permanent` or a 4xx) | the error, after one attempt |
/// | transient service errors (5xx with an answer) and connections that could not be made | retried, then queued |
/// | no answer after the request may have reached the service (time-out, connection lost) | [`AmbiguousFailure`]: by default [`Error::Ambiguous`] without resending |
///
/// The queued fall-back reuses the source id and the bytes already read. Every decision is
/// reported to the [`on_event`](ManagedStreamingIngestClientBuilder::on_event) callback.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use kusto_ingest::{
///     ConnectionString, DataFormat, IngestionProperties, IngestionSource, ManagedIngestResult,
///     ManagedStreamingIngestClient, ManagedStreamingPolicy,
/// };
///
/// let client = ManagedStreamingIngestClient::builder(ConnectionString::parse("http://127.0.0.1:8080")?)
///     .policy(ManagedStreamingPolicy::default().with_max_streaming_size(1 << 20))
///     .on_event(|event| eprintln!("{event:?}"))
///     .build()?;
/// let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv);
/// match client.ingest(IngestionSource::bytes("1,a\n"), &properties).await? {
///     ManagedIngestResult::Streamed(result) => println!("{:?} records", result.consumed_records),
///     ManagedIngestResult::Queued(operation, reason) => println!("queued ({reason:?}): {operation:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ManagedStreamingIngestClient {
    streaming: StreamingIngestClient,
    queued: QueuedIngestClient,
    policy: ManagedStreamingPolicy,
    tables: Arc<Mutex<HashMap<(String, String), Instant>>>,
    callback: Option<Callback>,
}

impl fmt::Debug for ManagedStreamingIngestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedStreamingIngestClient")
            .field("streaming", &self.streaming)
            .field("queued", &self.queued)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What failed attempts mean.
enum Class {
    Throttled,
    StreamingDisabled,
    TooLarge,
    Permanent,
    Transient,
    Ambiguous,
}

fn classify(error: &Error) -> Class {
    let Error::Kusto(kusto) = error else {
        return if error.is_transient() {
            Class::Transient
        } else {
            Class::Permanent
        };
    };
    if let Some(service) = kusto.as_service_error() {
        let code = service.code().unwrap_or_default();
        let disabled = [
            "BadRequest_StreamingIngestionPolicyNotEnabled",
            "StreamingIngestionPolicyNotEnabled",
            "StreamingIngestionDisabledForCluster",
            "StreamingIngestionFunctionalityDisabled",
        ];
        return if service.status == 429 {
            Class::Throttled
        } else if service.status == 413 || code == "Stream_InputStreamTooLarge" {
            Class::TooLarge
        } else if disabled.iter().any(|d| code.eq_ignore_ascii_case(d))
            || (service.status == 404 && service.error.is_none())
        {
            Class::StreamingDisabled
        } else if service.is_transient() {
            Class::Transient
        } else {
            Class::Permanent
        };
    }
    if kusto.may_have_reached_service() {
        Class::Ambiguous
    } else if kusto.is_transient() {
        Class::Transient
    } else {
        Class::Permanent
    }
}

/// Builds a [`ManagedStreamingIngestClient`].
#[must_use]
pub struct ManagedStreamingIngestClientBuilder {
    clients: Result<(StreamingIngestClient, QueuedIngestClient)>,
    policy: ManagedStreamingPolicy,
    callback: Option<Callback>,
}

impl fmt::Debug for ManagedStreamingIngestClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedStreamingIngestClientBuilder")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ManagedStreamingIngestClientBuilder {
    /// The policy (default [`ManagedStreamingPolicy::default`]).
    pub fn policy(mut self, policy: ManagedStreamingPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Calls `callback` with every decision (streamed, retried, fell back and why, failed).
    pub fn on_event(
        mut self,
        callback: impl Fn(&ManagedEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.callback = Some(Arc::new(callback));
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<ManagedStreamingIngestClient> {
        let (streaming, queued) = self.clients?;
        Ok(ManagedStreamingIngestClient {
            streaming,
            queued,
            policy: self.policy,
            tables: Arc::new(Mutex::new(HashMap::new())),
            callback: self.callback,
        })
    }
}

impl ManagedStreamingIngestClient {
    /// A client for the cluster of `connection_string` (engine or data-management URL; each
    /// side is derived from it), with default settings.
    pub fn new(connection_string: ConnectionString) -> Result<Self> {
        Self::builder(connection_string).build()
    }

    /// A client composed of a streaming and a queued client, with default settings.
    pub fn from_clients(streaming: StreamingIngestClient, queued: QueuedIngestClient) -> Self {
        ManagedStreamingIngestClient {
            streaming,
            queued,
            policy: ManagedStreamingPolicy::default(),
            tables: Arc::new(Mutex::new(HashMap::new())),
            callback: None,
        }
    }

    /// A builder for the cluster of `connection_string` (each side derived as in
    /// [`new`](Self::new)).
    pub fn builder(connection_string: ConnectionString) -> ManagedStreamingIngestClientBuilder {
        let clients = StreamingIngestClient::new(connection_string.clone())
            .and_then(|streaming| Ok((streaming, QueuedIngestClient::new(connection_string)?)));
        Self::builder_with(clients)
    }

    /// A builder over a streaming and a queued client (each with its own settings).
    pub fn builder_from_clients(
        streaming: StreamingIngestClient,
        queued: QueuedIngestClient,
    ) -> ManagedStreamingIngestClientBuilder {
        Self::builder_with(Ok((streaming, queued)))
    }

    fn builder_with(
        clients: Result<(StreamingIngestClient, QueuedIngestClient)>,
    ) -> ManagedStreamingIngestClientBuilder {
        ManagedStreamingIngestClientBuilder {
            clients,
            policy: ManagedStreamingPolicy::default(),
            callback: None,
        }
    }

    /// The policy in use.
    pub fn policy(&self) -> &ManagedStreamingPolicy {
        &self.policy
    }

    /// The queued client used for fall-backs.
    pub fn queued_client(&self) -> &QueuedIngestClient {
        &self.queued
    }

    /// The streaming client.
    pub fn streaming_client(&self) -> &StreamingIngestClient {
        &self.streaming
    }

    /// True while `database.table` is kept on queued ingestion by an earlier decision.
    pub fn is_table_on_queued(&self, database: &str, table: &str) -> bool {
        let key = (database.to_ascii_lowercase(), table.to_owned());
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        match tables.get(&key) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                tables.remove(&key);
                false
            }
            None => false,
        }
    }

    fn keep_on_queued(&self, properties: &IngestionProperties, period: Duration) {
        let key = (
            properties.database.to_ascii_lowercase(),
            properties.table.clone(),
        );
        self.tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                key,
                kusto_data::time_math::Later::later(Instant::now(), period),
            );
    }

    fn report(&self, event: ManagedEvent<'_>) {
        if let Some(callback) = &self.callback {
            callback(&event);
        }
    }

    async fn queue(
        &self,
        source: IngestionSource,
        properties: &IngestionProperties,
        reason: FallbackReason,
    ) -> Result<ManagedIngestResult> {
        let source_id = source.source_id();
        self.report(ManagedEvent::FellBack {
            source_id,
            reason: reason.clone(),
        });
        match self.queued.ingest(source, properties).await {
            Ok(operation) => Ok(ManagedIngestResult::Queued(operation, reason)),
            Err(error) => {
                self.report(ManagedEvent::Failed {
                    source_id,
                    error: &error,
                });
                Err(error)
            }
        }
    }

    /// A source for the queued fall-back of data that is too large to stream.
    fn requeued(
        &self,
        data: SourceData,
        source_id: Uuid,
        compression: Compression,
        name: &Option<String>,
        raw_size: Option<u64>,
    ) -> IngestionSource {
        let mut source = IngestionSource::with_data(data)
            .with_source_id(source_id)
            .with_compression(compression);
        if let Some(name) = name {
            source = source.with_name(name.clone());
        }
        if let Some(raw) = raw_size {
            source = source.with_raw_size(raw);
        }
        source
    }

    fn fail<T>(&self, source_id: Uuid, error: Error) -> Result<T> {
        self.report(ManagedEvent::Failed {
            source_id,
            error: &error,
        });
        Err(error)
    }

    /// Ingests one source, streaming or queued.
    pub async fn ingest(
        &self,
        source: IngestionSource,
        properties: &IngestionProperties,
    ) -> Result<ManagedIngestResult> {
        properties.validate()?;
        let source_id = source.source_id();
        if let Some(field) = unstreamable_property(properties) {
            return self
                .queue(source, properties, FallbackReason::Property(field))
                .await;
        }
        let compression = source.compression();
        if compression == Compression::Zip {
            return self
                .queue(source, properties, FallbackReason::ZipArchive)
                .await;
        }
        if self.is_table_on_queued(&properties.database, &properties.table) {
            return self
                .queue(source, properties, FallbackReason::TableBackoff)
                .await;
        }
        let limit = self.policy.max_streaming_size;
        let name = source.name.clone();
        let given_raw = source.raw_size;
        let (data, blob) = match source.data {
            SourceData::Blob(url) => (None, Some(url)),
            SourceData::Bytes(bytes) => (Some(bytes), None),
            SourceData::File(path) => {
                let length = tokio::fs::metadata(&path)
                    .await
                    .map_err(|e| Error::file(&path, "the file cannot be opened", e))?
                    .len();
                let raw = if compression == Compression::None {
                    Some(length)
                } else {
                    let probe = path.clone();
                    tokio::task::spawn_blocking(move || {
                        compressed_file_raw_size(&probe, compression)
                    })
                    .await
                    .ok()
                    .flatten()
                };
                if raw.is_none_or(|r| r > limit as u64) || length > MAX_STREAMING_BODY as u64 {
                    let source = IngestionSource::file(&path)
                        .with_source_id(source_id)
                        .with_compression(compression);
                    return self
                        .queue(source, properties, FallbackReason::TooLarge)
                        .await;
                }
                let mut file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| Error::file(&path, "the file cannot be opened", e))?;
                let mut data = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
                file.read_to_end(&mut data)
                    .await
                    .map_err(|e| Error::file(&path, "reading the file failed", e))?;
                (Some(Bytes::from(data)), None)
            }
            SourceData::Reopen(open) => {
                let prefix = read_prefix(open(), limit).await?;
                if prefix.len() > limit {
                    // Larger than the limit: queued, read again from its start.
                    let source = self.requeued(
                        SourceData::Reopen(open),
                        source_id,
                        compression,
                        &name,
                        given_raw,
                    );
                    return self
                        .queue(source, properties, FallbackReason::TooLarge)
                        .await;
                }
                (Some(Bytes::from(prefix)), None)
            }
            SourceData::Reader(mut reader) => {
                let prefix = read_prefix(&mut reader, limit).await?;
                if prefix.len() > limit {
                    // Larger than the limit: queued, the prefix chained to the rest.
                    let chained = std::io::Cursor::new(prefix).chain(reader);
                    let data = SourceData::Reader(Box::new(chained));
                    let source = self.requeued(data, source_id, compression, &name, given_raw);
                    return self
                        .queue(source, properties, FallbackReason::TooLarge)
                        .await;
                }
                (Some(Bytes::from(prefix)), None)
            }
        };
        // Fallback sources rebuilt from what was read, never from the original.
        let rebuild = |data: &Bytes, compression: Compression| {
            let mut source = IngestionSource::bytes(data.clone())
                .with_source_id(source_id)
                .with_compression(compression);
            if let Some(name) = &name {
                source = source.with_name(name.clone());
            }
            if let Some(raw) = given_raw {
                source = source.with_raw_size(raw);
            }
            source
        };
        if let Some(url) = blob {
            let size = match given_raw {
                Some(size) => Some(size),
                None => self.queued_storage_size(&url).await,
            };
            let blob_source = || -> Result<IngestionSource> {
                let source = IngestionSource::blob(url.as_str())?.with_source_id(source_id);
                Ok(match given_raw {
                    Some(raw) => source.with_raw_size(raw),
                    None => source,
                })
            };
            if size.is_none_or(|s| s > limit as u64) {
                return self
                    .queue(blob_source()?, properties, FallbackReason::TooLarge)
                    .await;
            }
            return self
                .stream_with_attempts(
                    source_id,
                    properties,
                    Streamable::Blob(url.as_str()),
                    blob_source,
                )
                .await;
        }
        let data = data.unwrap_or_default();
        if compression == Compression::None && data.len() > limit {
            return self
                .queue(
                    rebuild(&data, compression),
                    properties,
                    FallbackReason::TooLarge,
                )
                .await;
        }
        if compression == Compression::GZip {
            // Counting the raw bytes inflates the whole body (a large one in a blocking task).
            let probe = data.clone();
            let raw = crate::streaming::cpu_work(probe.len(), move || {
                compressed_raw_size(&probe, Compression::GZip)
            })
            .await
            .ok()
            .flatten()
            .or(given_raw);
            if raw.is_none_or(|r| r > limit as u64) {
                return self
                    .queue(
                        rebuild(&data, compression),
                        properties,
                        FallbackReason::TooLarge,
                    )
                    .await;
            }
        }
        let payload = make_payload(data.clone(), compression, properties).await?;
        if payload.body.len() > MAX_STREAMING_BODY {
            return self
                .queue(
                    rebuild(&data, compression),
                    properties,
                    FallbackReason::TooLarge,
                )
                .await;
        }
        let fallback_compression = if payload.gzip {
            Compression::GZip
        } else {
            Compression::None
        };
        let body = payload.body.clone();
        self.stream_with_attempts(source_id, properties, Streamable::Payload(&payload), || {
            Ok(rebuild(&body, fallback_compression))
        })
        .await
    }

    async fn queued_storage_size(&self, url: &url::Url) -> Option<u64> {
        self.queued.blob_size(url).await.ok().flatten()
    }

    async fn stream_with_attempts(
        &self,
        source_id: Uuid,
        properties: &IngestionProperties,
        what: Streamable<'_>,
        fallback: impl Fn() -> Result<IngestionSource>,
    ) -> Result<ManagedIngestResult> {
        let retry = &self.policy.retry;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let request_id = format!("KRS.executeManagedStreamingIngest;{source_id};{attempt}");
            let result = match what {
                Streamable::Payload(payload) => {
                    self.streaming
                        .send(payload, source_id, properties, request_id)
                        .await
                }
                Streamable::Blob(url) => {
                    self.streaming
                        .send_blob(url, source_id, properties, request_id)
                        .await
                }
            };
            let error = match result {
                Ok(result) => {
                    self.report(ManagedEvent::Streamed { source_id, attempt });
                    return Ok(ManagedIngestResult::Streamed(result));
                }
                Err(error) => error,
            };
            let retry_after = match &error {
                Error::Kusto(k) => k.as_service_error().and_then(|s| s.retry_after),
                _ => None,
            };
            match classify(&error) {
                Class::Throttled => {
                    self.keep_on_queued(properties, self.policy.throttle_backoff);
                    return self
                        .queue(fallback()?, properties, FallbackReason::Throttled)
                        .await;
                }
                Class::StreamingDisabled => {
                    if self.policy.fail_when_streaming_disabled {
                        return self.fail(source_id, error);
                    }
                    self.keep_on_queued(properties, self.policy.config_backoff);
                    return self
                        .queue(fallback()?, properties, FallbackReason::StreamingDisabled)
                        .await;
                }
                Class::TooLarge => {
                    return self
                        .queue(fallback()?, properties, FallbackReason::TooLarge)
                        .await;
                }
                Class::Permanent => return self.fail(source_id, error),
                Class::Ambiguous => match self.policy.on_ambiguous {
                    AmbiguousFailure::Fail => {
                        let Error::Kusto(cause) = error else {
                            return self.fail(source_id, error);
                        };
                        return self.fail(source_id, Error::Ambiguous { source_id, cause });
                    }
                    AmbiguousFailure::FallBackToQueued => {
                        return self
                            .queue(fallback()?, properties, FallbackReason::Ambiguous)
                            .await;
                    }
                    AmbiguousFailure::Retry => {}
                },
                Class::Transient => {}
            }
            // A transient failure (or an ambiguous one the policy retries): another attempt
            // while the retry policy's attempts and deadline allow it, else queued.
            let delay = retry.delay(attempt + 1, retry_after);
            if attempt + 1 >= retry.max_attempts() || !retry.allows(started.elapsed(), delay) {
                return self
                    .queue(fallback()?, properties, FallbackReason::RetriesExhausted)
                    .await;
            }
            self.report(ManagedEvent::Retrying {
                source_id,
                attempt,
                error: &error,
            });
            attempt += 1;
            tokio::time::sleep(delay).await;
        }
    }
}

#[derive(Clone, Copy)]
enum Streamable<'a> {
    Payload(&'a Payload),
    Blob(&'a str),
}

/// Reads at most `limit + 1` bytes: enough to tell whether the data fits the streaming limit.
async fn read_prefix(reader: impl AsyncRead + Unpin, limit: usize) -> Result<Vec<u8>> {
    let mut prefix = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut prefix)
        .await
        .map_err(Error::Read)?;
    Ok(prefix)
}
