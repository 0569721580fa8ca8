//! [`QueuedIngestClient`]: queued ingestion of files, bytes, readers and blobs over the
//! storage-queue protocol or the REST protocol.
//!
//! Every ingest call validates the properties, uploads the data (unless it is a blob already)
//! to the best-ranked storage account, submits it (a queue message, or a REST request) and
//! returns an [`IngestionOperation`] whose status can be read and waited for.
//!
//! The protocol is chosen per client ([`IngestProtocol`]): by default the client asks once for
//! the REST configuration and uses REST only when the service answers with a usable one that
//! does not prefer queues; any other answer (404, 403, 5xx, a body that is not a configuration,
//! no answer) means the storage queues.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use kusto_data::client::RestRequest;
use kusto_data::endpoints::ingest_endpoint;
use kusto_data::{ConnectionString, KustoClient, RetryPolicy};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::progress::{Phase, ProgressTracker, Report, SourceReporter};
use crate::properties::{IngestionProperties, ReportMethod};
use crate::protocol::{
    MAX_QUEUE_MESSAGE, QueuedBlob, StatusEntity, encode_message, queue_message, rest_body,
};
use crate::ranking::{RankedAccounts, account_name};
use crate::resources::{ResourceManager, RestConfiguration};
use crate::source::{IngestionSource, SourceData};
use crate::status::{
    IngestionOperation, IngestionState, IngestionStatus, Notification, Tracking, from_entity,
    from_rest,
};
use crate::storage::{SendFailure, Storage, default_storage_retry};
use crate::upload::{UploadOptions, Uploader, upload};
use kusto_data::redact::url as without_query;

/// How many REST batch submissions of [`QueuedIngestClient::ingest_many`] run at once.
const REST_SUBMISSIONS_IN_FLIGHT: usize = 4;

/// How long an unanswered queue post of a tracked source is looked for in its status entry by
/// default ([`QueuedIngestClientBuilder::ambiguity_resolution`]).
pub const DEFAULT_RESOLVE_WITHIN: Duration = Duration::from_secs(60);
/// Which protocol a [`QueuedIngestClient`] submits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IngestProtocol {
    /// Ask the service once per client (default): REST when `GET
    /// /v1/rest/ingestion/configuration` answers with a configuration that lists storage
    /// containers and does not prefer queues; the storage queues after any other answer (404,
    /// 403, 5xx, a body that is not a configuration, no answer). The probe is not retried, its
    /// outcome is kept for the client's lifetime and traced once (target `kusto_ingest`). A REST
    /// request the service later refuses (401, 403, 404) moves the client to the queues for
    /// good, the refused sources included: a refusal of the optional protocol never fails an
    /// ingestion that the queues can carry.
    #[default]
    Auto,
    /// Storage queues (`.get ingestion resources`, a message per source).
    Queue,
    /// The REST ingestion API (`/v1/rest/ingestion/...`).
    Rest,
}

/// The protocol in use, once [`IngestProtocol::Auto`] is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActiveProtocol {
    /// Storage queues.
    Queue,
    /// The REST ingestion API.
    Rest,
}

/// Which notification queue to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotificationKind {
    /// `SuccessfulIngestionsQueue`.
    Success,
    /// `FailedIngestionsQueue`.
    Failure,
}

/// The outcome of one source of [`QueuedIngestClient::ingest_many`].
#[derive(Debug)]
#[non_exhaustive]
pub struct SourceOutcome {
    /// The source id.
    pub source_id: Uuid,
    /// The operation, or why the source was not submitted (nothing of it was ingested then).
    pub result: Result<IngestionOperation>,
}

/// Queued ingestion into one cluster. Cheap to clone (an `Arc` inside); share one per cluster.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use kusto_data::{ConnectionString, DataFormat};
/// use kusto_ingest::{IngestionProperties, IngestionSource, QueuedIngestClient};
///
/// let cs = ConnectionString::builder("https://mycluster.westeurope.kusto.windows.net")
///     .with_azure_cli()
///     .build()?;
/// let client = QueuedIngestClient::new(cs)?; // talks to https://ingest-mycluster...
/// let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv)
///     .with_ignore_first_record(true)
///     .with_tracking();
/// let operation = client.ingest(IngestionSource::file("events.csv"), &properties).await?;
/// operation.wait(Duration::from_secs(300)).await?; // an error if the ingestion failed
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct QueuedIngestClient {
    inner: Arc<Inner>,
}

struct Inner {
    resources: ResourceManager,
    storage: Storage,
    ranking: RankedAccounts,
    protocol: IngestProtocol,
    upload: UploadOptions,
    /// The protocol [`IngestProtocol::Auto`] chose, once asked.
    auto: tokio::sync::OnceCell<ActiveProtocol>,
    /// Set when the service refused a REST request after `Auto` chose REST.
    rest_abandoned: AtomicBool,
    /// Set once a source asked for tracking that could not be set up (traced once).
    tracking_warned: AtomicBool,
    /// How long an unanswered queue post is looked for in its status entry.
    resolve_within: Duration,
}

impl fmt::Debug for QueuedIngestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedIngestClient")
            .field("kusto", self.inner.resources.kusto())
            .field("protocol", &self.inner.protocol)
            .field("upload", &self.inner.upload)
            .finish_non_exhaustive()
    }
}

/// Builds a [`QueuedIngestClient`].
#[derive(Debug)]
#[must_use]
pub struct QueuedIngestClientBuilder {
    kusto: std::result::Result<KustoClient, kusto_data::Error>,
    protocol: IngestProtocol,
    upload: UploadOptions,
    retry: Option<RetryPolicy>,
    storage_retry: Option<RetryPolicy>,
    refresh: Duration,
    resolve_within: Duration,
}

impl QueuedIngestClientBuilder {
    /// The protocol (default [`IngestProtocol::Auto`]).
    pub fn protocol(mut self, protocol: IngestProtocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Upload settings: gzip level, block size, concurrency, storage accounts tried.
    pub fn upload_options(mut self, options: UploadOptions) -> Self {
        self.upload = options;
        self
    }

    /// The retry policy of every request of this client that may be sent again: to the
    /// service (ingestion resources, identity token, REST configuration and status) and to
    /// storage (uploads, status entries, queue reads; a queue message only while it cannot
    /// have been stored). The status reads of [`IngestionOperation::wait`] use it too. A REST
    /// submission is never resent.
    ///
    /// Default: the `KustoClient`'s policy for requests to the service, and for storage four
    /// attempts from 200 ms to 5 s within a minute (a source that keeps failing on one account
    /// moves to the next one).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Overrides [`retry_policy`](Self::retry_policy) for storage requests only.
    pub fn storage_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.storage_retry = Some(policy);
        self
    }

    /// How long ingestion resources, the identity token and the REST configuration are kept
    /// (default 1 hour).
    pub fn resource_refresh(mut self, period: Duration) -> Self {
        self.refresh = period;
        self
    }

    /// How long [`ingest`](QueuedIngestClient::ingest) looks for the outcome of a tracked
    /// queue message whose post got no answer (default [`DEFAULT_RESOLVE_WITHIN`], 60 s; zero
    /// turns the look off).
    ///
    /// When storage does not answer a queue post, the message may or may not be in the queue,
    /// and posting it again could ingest the source twice. A source that asked for tracking
    /// has a status entry, written as `Pending` before the post, and the service updates it
    /// once it takes the message. So the client reads that entry until it leaves `Pending`
    /// (the message was queued: the call returns the operation, as after a normal post) or the
    /// time runs out (the call fails with [`Error::EnqueueAmbiguous`], as without the look).
    /// An entry still `Pending` cannot tell "never queued" from "queued, not yet processed":
    /// a cluster that batches for minutes may need a longer look. Untracked sources, and REST
    /// submissions without an answer, have nothing to look at and stay unknown.
    pub fn ambiguity_resolution(mut self, within: Duration) -> Self {
        self.resolve_within = within;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<QueuedIngestClient> {
        let kusto = self.kusto?;
        self.upload.validate()?;
        let storage_retry = self
            .storage_retry
            .or_else(|| self.retry.clone())
            .unwrap_or_else(default_storage_retry);
        let storage = Storage::new(kusto.http_client().clone(), storage_retry);
        Ok(QueuedIngestClient {
            inner: Arc::new(Inner {
                resources: ResourceManager::new(kusto, self.refresh, self.retry),
                storage,
                ranking: RankedAccounts::new(),
                protocol: self.protocol,
                upload: self.upload,
                auto: tokio::sync::OnceCell::new(),
                rest_abandoned: AtomicBool::new(false),
                tracking_warned: AtomicBool::new(false),
                resolve_within: self.resolve_within,
            }),
        })
    }
}

impl QueuedIngestClient {
    /// A client for the cluster of `connection_string`. An engine URL is turned into the
    /// data-management URL (`https://ingest-...`); loopback and IP hosts are kept.
    pub fn new(connection_string: ConnectionString) -> Result<Self> {
        Self::builder(connection_string).build()
    }

    /// A builder for the cluster of `connection_string` (the data-management URL is derived as
    /// in [`new`](Self::new)).
    pub fn builder(connection_string: ConnectionString) -> QueuedIngestClientBuilder {
        let kusto = ingest_endpoint(connection_string.data_source())
            .and_then(|url| KustoClient::new(connection_string.with_data_source(&url)));
        Self::builder_with(kusto)
    }

    /// A builder over a `KustoClient` of the data-management endpoint, with its own HTTP
    /// client, authentication, trusted endpoints and retry policy.
    pub fn builder_from_kusto_client(dm_client: KustoClient) -> QueuedIngestClientBuilder {
        Self::builder_with(Ok(dm_client))
    }

    fn builder_with(
        kusto: std::result::Result<KustoClient, kusto_data::Error>,
    ) -> QueuedIngestClientBuilder {
        QueuedIngestClientBuilder {
            kusto,
            protocol: IngestProtocol::Auto,
            upload: UploadOptions::default(),
            retry: None,
            storage_retry: None,
            refresh: Duration::from_secs(3600),
            resolve_within: DEFAULT_RESOLVE_WITHIN,
        }
    }

    /// The client of the data-management endpoint.
    pub fn kusto_client(&self) -> &KustoClient {
        self.inner.resources.kusto()
    }

    /// The protocol used for the next ingestions. With [`IngestProtocol::Auto`] this never
    /// fails (see there); with [`IngestProtocol::Rest`] it fails when the REST configuration
    /// cannot be read.
    pub async fn active_protocol(&self) -> Result<ActiveProtocol> {
        match self.inner.protocol {
            IngestProtocol::Queue => Ok(ActiveProtocol::Queue),
            IngestProtocol::Rest => {
                self.rest_configuration().await?;
                Ok(ActiveProtocol::Rest)
            }
            IngestProtocol::Auto => Ok(self.auto_protocol().await),
        }
    }

    /// The protocol `Auto` resolves to: asked once, then kept.
    async fn auto_protocol(&self) -> ActiveProtocol {
        let chosen = *self.inner.auto.get_or_init(|| self.probe()).await;
        if chosen == ActiveProtocol::Rest && self.inner.rest_abandoned.load(Ordering::Relaxed) {
            ActiveProtocol::Queue
        } else {
            chosen
        }
    }

    /// Asks for the REST configuration once; every answer but a usable configuration means
    /// the storage queues.
    async fn probe(&self) -> ActiveProtocol {
        match self.inner.resources.probe_rest_configuration().await {
            Ok(config) => match config.as_ref() {
                None => {
                    tracing::info!(
                        "the service offers no REST ingestion API (404); ingesting through the \
                         storage queues"
                    );
                    ActiveProtocol::Queue
                }
                Some(config) if config.prefers_queue() => {
                    tracing::info!(
                        preferred = config.preferred_ingestion_method.as_deref().unwrap_or(""),
                        "the service prefers the storage queues; ingesting through them"
                    );
                    ActiveProtocol::Queue
                }
                Some(config) if config.containers.is_empty() => {
                    tracing::warn!(
                        "the REST ingestion configuration lists no storage container; ingesting \
                         through the storage queues"
                    );
                    ActiveProtocol::Queue
                }
                Some(_) => {
                    tracing::info!("ingesting through the REST ingestion API");
                    ActiveProtocol::Rest
                }
            },
            Err(error) => {
                tracing::warn!(
                    %error,
                    "the REST ingestion configuration could not be read; ingesting through the \
                     storage queues (as the official Python SDK always does)"
                );
                ActiveProtocol::Queue
            }
        }
    }

    /// Under `Auto`, gives up the REST protocol for this client's lifetime after the service
    /// refused it; returns false when the protocol was chosen explicitly (the error stands).
    fn abandon_rest(&self, error: &Error) -> bool {
        if self.inner.protocol != IngestProtocol::Auto {
            return false;
        }
        if !self.inner.rest_abandoned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %error,
                "the service refused the REST ingestion API; ingesting through the storage queues \
                 from now on"
            );
        }
        true
    }

    /// Resolves the protocol and fetches what the first ingestion needs (the ingestion
    /// resources and identity token, or the REST configuration), so that it does not wait for
    /// them and a service that cannot be used is found at once. Optional: every ingest call
    /// fetches them when needed.
    pub async fn warm_up(&self) -> Result<ActiveProtocol> {
        let protocol = self.usable_protocol().await?;
        match protocol {
            ActiveProtocol::Queue => {
                self.inner.resources.resources().await?;
                self.inner.resources.identity_token().await?;
            }
            ActiveProtocol::Rest => {
                self.rest_configuration().await?;
            }
        }
        Ok(protocol)
    }

    /// The REST configuration (cached); an error when the service does not offer the REST API.
    pub(crate) async fn rest_configuration(&self) -> Result<RestConfiguration> {
        match self.inner.resources.rest_configuration().await?.as_ref() {
            Some(config) => Ok(config.clone()),
            None => Err(Error::MissingResource(
                "REST ingestion API (GET /v1/rest/ingestion/configuration answered 404)",
            )),
        }
    }

    /// The size of a blob (its properties), through this client's storage settings.
    pub(crate) async fn blob_size(&self, url: &Url) -> Result<Option<u64>> {
        self.inner.storage.blob_size(url).await
    }

    /// The current rank (0.0 to 1.0) of a storage account, by name.
    pub(crate) fn storage_account_rank(&self, account: &str) -> f64 {
        self.inner.ranking.rank(account)
    }

    /// Ingests one source. [`ingest_with_progress`](Self::ingest_with_progress) does the same
    /// and reports the upload's progress by the byte.
    pub async fn ingest(
        &self,
        source: IngestionSource,
        properties: &IngestionProperties,
    ) -> Result<IngestionOperation> {
        self.ingest_reported(source, properties, Report::NONE).await
    }

    /// Ingests one source as [`ingest`](Self::ingest) does, reporting its progress (phase,
    /// bytes read and stored, blocks) to `progress` as the upload goes: see [`ProgressTracker`]
    /// for an example and [`crate::progress`] for what is reported. One tracker may follow
    /// several calls at once; it sums them.
    pub async fn ingest_with_progress(
        &self,
        source: IngestionSource,
        properties: &IngestionProperties,
        progress: &ProgressTracker,
    ) -> Result<IngestionOperation> {
        let reporter = progress.start(source.source_id);
        let result = self
            .ingest_reported(source, properties, Report(Some(&reporter)))
            .await;
        reporter.finish(result.is_ok());
        result
    }

    async fn ingest_reported(
        &self,
        source: IngestionSource,
        properties: &IngestionProperties,
        progress: Report<'_>,
    ) -> Result<IngestionOperation> {
        properties.validate()?;
        let protocol = self.usable_protocol().await?;
        let source_id = source.source_id;
        match protocol {
            ActiveProtocol::Queue => {
                let blob_url = match &source.data {
                    SourceData::Blob(url) => Some(url.clone()),
                    _ => None,
                };
                self.check_message_size(blob_url, source_id, properties)
                    .await?;
                let blob = self.prepare(source, properties, protocol, progress).await?;
                self.enqueue(&blob, properties).await
            }
            ActiveProtocol::Rest => {
                let blob = self.prepare(source, properties, protocol, progress).await?;
                match self
                    .submit_rest(std::slice::from_ref(&blob), properties)
                    .await
                {
                    Ok(mut operations) => operations.pop().ok_or_else(|| {
                        Error::Protocol(format!("no operation for source {source_id}"))
                    }),
                    Err(error) if is_refusal(&error) && self.abandon_rest(&error) => {
                        self.enqueue_uploaded(&blob, properties).await
                    }
                    Err(error) => Err(error),
                }
            }
        }
    }

    /// The protocol of the next ingestion: under `Auto`, a REST configuration that can no
    /// longer be read moves the client to the queues.
    async fn usable_protocol(&self) -> Result<ActiveProtocol> {
        let protocol = self.active_protocol().await?;
        if protocol == ActiveProtocol::Rest
            && let Err(error) = self.rest_configuration().await
        {
            if self.abandon_rest(&error) {
                return Ok(ActiveProtocol::Queue);
            }
            return Err(error);
        }
        Ok(protocol)
    }

    /// Posts the queue message of a blob uploaded for REST after the service refused the REST
    /// submission (under `Auto`): the blob, with its SAS, is an ordinary blob source.
    async fn enqueue_uploaded(
        &self,
        blob: &Prepared,
        properties: &IngestionProperties,
    ) -> Result<IngestionOperation> {
        self.check_message_size(Some(blob.url.clone()), blob.source_id, properties)
            .await?;
        self.enqueue(blob, properties).await
    }

    /// Ingests many sources with at most `concurrency` uploads at a time, yielding each
    /// source's outcome as it completes. Over REST, uploaded blobs are submitted together, up
    /// to the service's `maxBlobsPerBatch` per request, up to four such requests at a time,
    /// while the uploads go on. [`ingest_many_with_progress`](Self::ingest_many_with_progress)
    /// does the same and reports the progress by the byte.
    pub async fn ingest_many<S>(
        &self,
        sources: S,
        properties: IngestionProperties,
        concurrency: usize,
    ) -> Result<BoxStream<'static, SourceOutcome>>
    where
        S: futures::Stream<Item = IngestionSource> + Send + 'static,
    {
        self.ingest_many_reported(sources, properties, concurrency, None)
            .await
    }

    /// [`ingest_many`](Self::ingest_many), reporting to `progress` as each source goes: the
    /// [`IngestProgress`](crate::IngestProgress) it publishes holds the totals (sources
    /// started, submitted and failed, bytes read and stored, blocks) and each source in
    /// progress. A source is started when the returned stream pulls it, so the totals grow as
    /// the stream is polled.
    ///
    /// ```no_run
    /// # async fn run(client: kusto_ingest::QueuedIngestClient) -> Result<(), kusto_ingest::Error> {
    /// use futures::StreamExt;
    /// use kusto_ingest::{DataFormat, IngestionProperties, IngestionSource, ProgressTracker};
    ///
    /// let files = ["a.csv", "b.csv", "c.csv"].map(IngestionSource::file);
    /// let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv);
    /// let progress = ProgressTracker::new();
    /// let mut outcomes = client
    ///     .ingest_many_with_progress(futures::stream::iter(files), properties, 2, &progress)
    ///     .await?;
    /// while let Some(outcome) = outcomes.next().await {
    ///     let now = progress.snapshot();
    ///     eprintln!(
    ///         "{}: {}/3 done, {} of {} bytes stored",
    ///         outcome.source_id,
    ///         now.sources_done(),
    ///         now.raw_bytes_uploaded,
    ///         now.known_size
    ///     );
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ingest_many_with_progress<S>(
        &self,
        sources: S,
        properties: IngestionProperties,
        concurrency: usize,
        progress: &ProgressTracker,
    ) -> Result<BoxStream<'static, SourceOutcome>>
    where
        S: futures::Stream<Item = IngestionSource> + Send + 'static,
    {
        self.ingest_many_reported(sources, properties, concurrency, Some(progress.clone()))
            .await
    }

    async fn ingest_many_reported<S>(
        &self,
        sources: S,
        properties: IngestionProperties,
        concurrency: usize,
        progress: Option<ProgressTracker>,
    ) -> Result<BoxStream<'static, SourceOutcome>>
    where
        S: futures::Stream<Item = IngestionSource> + Send + 'static,
    {
        properties.validate()?;
        let protocol = self.usable_protocol().await?;
        let concurrency = concurrency.max(1);
        let properties = Arc::new(properties);
        let client = self.clone();
        match protocol {
            ActiveProtocol::Queue => Ok(sources
                .map(move |source| {
                    let client = client.clone();
                    let properties = Arc::clone(&properties);
                    let progress = progress.clone();
                    async move {
                        let source_id = source.source_id;
                        let result = match &progress {
                            Some(progress) => {
                                client
                                    .ingest_with_progress(source, &properties, progress)
                                    .await
                            }
                            None => client.ingest(source, &properties).await,
                        };
                        SourceOutcome { source_id, result }
                    }
                })
                .buffer_unordered(concurrency)
                .boxed()),
            ActiveProtocol::Rest => {
                let batch = self.rest_configuration().await?.max_blobs_per_batch.max(1);
                let uploader = client.clone();
                let upload_properties = Arc::clone(&properties);
                Ok(sources
                    .map(move |source| {
                        let client = uploader.clone();
                        let properties = Arc::clone(&upload_properties);
                        let reporter = progress.as_ref().map(|p| p.start(source.source_id));
                        async move {
                            let source_id = source.source_id;
                            let prepared = client
                                .prepare(
                                    source,
                                    &properties,
                                    ActiveProtocol::Rest,
                                    Report(reporter.as_ref()),
                                )
                                .await;
                            (source_id, prepared, reporter)
                        }
                    })
                    .buffer_unordered(concurrency)
                    .ready_chunks(batch)
                    // Up to REST_SUBMISSIONS_IN_FLIGHT batches are submitted at once, and the
                    // uploads go on meanwhile (`then` stopped pulling uploads while each batch
                    // was submitted: a slow submission paused the whole pipeline).
                    .map(move |chunk| {
                        let client = client.clone();
                        let properties = Arc::clone(&properties);
                        async move { client.submit_chunk(chunk, &properties).await }
                    })
                    .buffer_unordered(REST_SUBMISSIONS_IN_FLIGHT)
                    .flat_map(futures::stream::iter)
                    .boxed())
            }
        }
    }

    /// Submits the uploaded sources of one chunk, in one REST request; each source's reporter
    /// (when its progress is followed) learns how it ended.
    async fn submit_chunk(
        &self,
        chunk: Vec<(Uuid, Result<Prepared>, Option<SourceReporter>)>,
        properties: &IngestionProperties,
    ) -> Vec<SourceOutcome> {
        let mut outcomes = Vec::new();
        let mut ready = Vec::new();
        let mut reporters = Vec::new();
        for (source_id, prepared, reporter) in chunk {
            match prepared {
                Ok(blob) => {
                    ready.push(blob);
                    reporters.extend(reporter);
                }
                Err(error) => {
                    if let Some(reporter) = reporter {
                        reporter.finish(false);
                    }
                    outcomes.push(SourceOutcome {
                        source_id,
                        result: Err(error),
                    });
                }
            }
        }
        if ready.is_empty() {
            return outcomes;
        }
        let outcomes = self.submit_ready(ready, properties, outcomes).await;
        for reporter in reporters {
            let submitted = outcomes
                .iter()
                .any(|o| o.source_id == reporter.source_id() && o.result.is_ok());
            reporter.finish(submitted);
        }
        outcomes
    }

    async fn submit_ready(
        &self,
        ready: Vec<Prepared>,
        properties: &IngestionProperties,
        mut outcomes: Vec<SourceOutcome>,
    ) -> Vec<SourceOutcome> {
        match self.submit_rest(&ready, properties).await {
            Ok(operations) => {
                for operation in operations {
                    outcomes.push(SourceOutcome {
                        source_id: operation.source_ids[0],
                        result: Ok(operation),
                    });
                }
            }
            Err(error) if is_refusal(&error) && self.abandon_rest(&error) => {
                for blob in ready {
                    outcomes.push(SourceOutcome {
                        source_id: blob.source_id,
                        result: self.enqueue_uploaded(&blob, properties).await,
                    });
                }
            }
            Err(error) => {
                let message = error.to_string();
                let transient = error.is_transient();
                let mut first = Some(error);
                for blob in ready {
                    let result = match first.take() {
                        Some(error) => Err(error),
                        None => Err(Error::BatchFailed {
                            message: message.clone(),
                            transient,
                        }),
                    };
                    outcomes.push(SourceOutcome {
                        source_id: blob.source_id,
                        result,
                    });
                }
            }
        }
        outcomes
    }

    /// Attaches an operation (deserialized, perhaps in another process) to this client, so
    /// that its status can be read.
    pub fn resume(&self, mut operation: IngestionOperation) -> IngestionOperation {
        operation.client = Some(self.clone());
        operation
    }

    /// Reads up to `count` messages (1 to 32 per queue) of the success or failure notification
    /// queues, removing them when `remove` is true. These queues are shared by every client of
    /// the cluster.
    pub async fn read_notifications(
        &self,
        kind: NotificationKind,
        count: u8,
        remove: bool,
    ) -> Result<Vec<Notification>> {
        let resources = self.inner.resources.resources().await?;
        let queues = match kind {
            NotificationKind::Success => &resources.success_queues,
            NotificationKind::Failure => &resources.failed_queues,
        };
        let mut out = Vec::new();
        for queue in queues {
            for text in self
                .inner
                .storage
                .read_messages(queue, count, remove)
                .await?
            {
                out.push(Notification::decode(&text)?);
            }
        }
        Ok(out)
    }

    /// The status of `operation`'s sources.
    pub(crate) async fn operation_status(
        &self,
        operation: &IngestionOperation,
    ) -> Result<IngestionStatus> {
        match &operation.tracking {
            Tracking::None { .. } => Err(Error::NotTracked(
                operation.untracked_reason().unwrap_or_default().to_owned(),
            )),
            Tracking::Table { table } => {
                let resources = self.inner.resources.resources().await?;
                let url = resources
                    .status_tables
                    .iter()
                    .find(|t| without_query(t) == *table)
                    .or(resources.status_tables.first())
                    .ok_or(Error::MissingResource("IngestionsStatusTable"))?
                    .clone();
                let mut sources = Vec::new();
                for id in &operation.source_ids {
                    let key = id.to_string();
                    let entity = self.inner.storage.get_entity(&url, &key, &key).await?;
                    sources.push(from_entity(*id, &entity));
                }
                Ok(IngestionStatus { sources })
            }
            Tracking::Rest { operation_id } => {
                let request = RestRequest::get([
                    "v1",
                    "rest",
                    "ingestion",
                    "queued",
                    operation.database.as_str(),
                    operation.table.as_str(),
                    operation_id.as_str(),
                ])
                .query("details", "true")
                .request_id_prefix("KRS.getStatus;");
                let request = match self.inner.resources.retrying() {
                    Some(properties) => request.properties(properties),
                    None => request,
                };
                let response = self.kusto_client().execute_rest(request).await?;
                let body: Value = response.json()?;
                Ok(from_rest(&operation.source_ids, &body))
            }
        }
    }

    /// Uploads the source (unless it is a blob) and returns what the submission needs.
    async fn prepare(
        &self,
        source: IngestionSource,
        properties: &IngestionProperties,
        protocol: ActiveProtocol,
        progress: Report<'_>,
    ) -> Result<Prepared> {
        let source_id = source.source_id;
        if let SourceData::Blob(url) = &source.data {
            progress.phase(Phase::Submitting);
            return Ok(Prepared {
                url: url.clone(),
                raw_size: source.raw_size,
                source_id,
            });
        }
        let containers = match protocol {
            ActiveProtocol::Queue => self.inner.resources.resources().await?.containers.clone(),
            ActiveProtocol::Rest => {
                let config = self.rest_configuration().await?;
                if config.containers.is_empty() {
                    return Err(Error::MissingResource(
                        "storage containers in the REST configuration (uploads to lake folders \
                         are not supported by this client)",
                    ));
                }
                config.containers
            }
        };
        let resources = &self.inner.resources;
        let invalidate = || resources.invalidate_storage();
        let uploader = Uploader {
            storage: &self.inner.storage,
            ranking: &self.inner.ranking,
            options: &self.inner.upload,
            on_auth_failure: &invalidate,
            progress,
        };
        let uploaded = upload(&uploader, &containers, source, properties).await?;
        progress.phase(Phase::Submitting);
        Ok(Prepared {
            url: uploaded.url,
            raw_size: uploaded.raw_size,
            source_id,
        })
    }

    /// Refuses, before anything is uploaded, a message that could not fit the queue.
    async fn check_message_size(
        &self,
        blob_url: Option<Url>,
        source_id: Uuid,
        properties: &IngestionProperties,
    ) -> Result<()> {
        let resources = self.inner.resources.resources().await?;
        let token = self.inner.resources.identity_token().await?;
        let longest_container = resources
            .containers
            .iter()
            .map(|c| c.as_str().len())
            .max()
            .unwrap_or(0);
        let placeholder = match blob_url {
            Some(url) => url,
            None => {
                let padding = "x".repeat(longest_container + 300);
                Url::parse(&format!("https://{padding}.invalid/c/b"))
                    .map_err(|e| Error::InvalidArgument(e.to_string()))?
            }
        };
        let status_table = resources
            .status_tables
            .first()
            .filter(|_| properties.is_tracked());
        let blob = QueuedBlob {
            url: &placeholder,
            raw_size: Some(u64::MAX),
            source_id,
        };
        let status = status_table.map(|table| StatusEntity {
            table,
            partition_key: source_id.to_string(),
            row_key: source_id.to_string(),
        });
        let message = queue_message(
            properties,
            &blob,
            &token,
            status.as_ref(),
            self.kusto_client().application_name(),
            self.kusto_client().client_version(),
            OffsetDateTime::now_utc(),
        );
        let size = encode_message(&message).len();
        if size > MAX_QUEUE_MESSAGE {
            return Err(Error::MessageTooLarge {
                size,
                limit: MAX_QUEUE_MESSAGE,
            });
        }
        Ok(())
    }

    /// Posts the queue message of one blob (queue protocol), writing the status entity first
    /// when the properties ask for tracking. Tracking that cannot be set up (no status table,
    /// the entity refused) does not fail the ingestion: the message is sent without it and the
    /// operation says why it is not tracked.
    async fn enqueue(
        &self,
        blob: &Prepared,
        properties: &IngestionProperties,
    ) -> Result<IngestionOperation> {
        let resources = self.inner.resources.resources().await?;
        let token = self.inner.resources.identity_token().await?;
        let key = blob.source_id.to_string();
        let mut untracked = None;
        let status_table = if properties.is_tracked() {
            match resources.status_tables.first() {
                None => {
                    untracked = Some(
                        "tracking was asked for, but the cluster's ingestion resources list no \
                         status table (IngestionsStatusTable)"
                            .to_owned(),
                    );
                    None
                }
                Some(table) => {
                    let entity = json!({
                        "PartitionKey": key,
                        "RowKey": key,
                        "Status": "Pending",
                        "IngestionSourceId": key,
                        "IngestionSourcePath": without_query(&blob.url),
                        "Database": properties.database,
                        "Table": properties.table,
                        "UpdatedOn": crate::properties::format_datetime(OffsetDateTime::now_utc()),
                        "Details": "",
                    });
                    match self
                        .inner
                        .storage
                        .insert_entity(table, &key, &key, &entity)
                        .await
                    {
                        Ok(()) => Some(table),
                        Err(error) => {
                            if error.is_storage_authorization_failure() {
                                self.inner.resources.invalidate_storage();
                            }
                            untracked = Some(format!(
                                "tracking was asked for, but the status entry could not be \
                                 written: {error}"
                            ));
                            None
                        }
                    }
                }
            }
        } else {
            None
        };
        let properties = match &untracked {
            Some(reason) => {
                if !self.inner.tracking_warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        reason = reason.as_str(),
                        "ingesting without status tracking (traced once per client)"
                    );
                } else {
                    tracing::debug!(
                        reason = reason.as_str(),
                        "ingesting without status tracking"
                    );
                }
                // The service must not look for a status entry that was not written.
                let mut untracked_properties = properties.clone();
                untracked_properties.report_method = ReportMethod::Queue;
                Cow::Owned(untracked_properties)
            }
            None => Cow::Borrowed(properties),
        };
        let properties = properties.as_ref();
        let status = status_table.map(|table| StatusEntity {
            table,
            partition_key: key.clone(),
            row_key: key.clone(),
        });
        let message = queue_message(
            properties,
            &QueuedBlob {
                url: &blob.url,
                raw_size: blob.raw_size,
                source_id: blob.source_id,
            },
            &token,
            status.as_ref(),
            self.kusto_client().application_name(),
            self.kusto_client().client_version(),
            OffsetDateTime::now_utc(),
        );
        let text = encode_message(&message);
        if text.len() > MAX_QUEUE_MESSAGE {
            return Err(Error::MessageTooLarge {
                size: text.len(),
                limit: MAX_QUEUE_MESSAGE,
            });
        }
        if resources.ready_queues.is_empty() {
            return Err(Error::MissingResource("SecuredReadyForAggregationQueue"));
        }
        let order = self.inner.ranking.order(&resources.ready_queues);
        let attempts = order.len().min(self.inner.upload.max_accounts);
        let mut errors = Vec::new();
        let mut sent = false;
        for queue in order.iter().take(attempts) {
            let account = account_name(queue);
            match self.inner.storage.send_message(queue, text.clone()).await {
                Ok(()) => {
                    self.inner.ranking.record(&account, true);
                    sent = true;
                    break;
                }
                Err(SendFailure::MaybeSent(error)) => {
                    // The message may be queued: sending it anywhere again could ingest the
                    // source twice. Its status entry, if it has one, can tell.
                    self.inner.ranking.record(&account, false);
                    if let Some(table) = status_table
                        && self.was_taken(table, &key).await
                    {
                        tracing::warn!(
                            source_id = %blob.source_id,
                            %error,
                            "the queue post got no answer, but the source's status entry shows \
                             that the service took the message: ingestion goes on"
                        );
                        sent = true;
                        break;
                    }
                    return Err(Error::EnqueueAmbiguous {
                        source_id: blob.source_id,
                        cause: Box::new(error),
                    });
                }
                Err(SendFailure::NotSent(error)) => {
                    self.inner.ranking.record(&account, false);
                    if error.is_storage_authorization_failure() {
                        self.inner.resources.invalidate_storage();
                    }
                    tracing::debug!(%error, account, "enqueue failed; trying the next queue");
                    errors.push(error);
                }
            }
        }
        if !sent {
            return Err(Error::AllAccountsFailed {
                what: "enqueue",
                attempts: errors,
            });
        }
        Ok(IngestionOperation {
            database: properties.database.clone(),
            table: properties.table.clone(),
            source_ids: vec![blob.source_id],
            blobs: vec![without_query(&blob.url)],
            tracking: match status_table {
                Some(table) => Tracking::Table {
                    table: without_query(table),
                },
                None => Tracking::None { reason: untracked },
            },
            client: Some(self.clone()),
        })
    }

    /// True when the status entry `key` of `table` leaves `Pending` within the client's
    /// resolution time: the service took the queue message. Read failures are traced and the
    /// look goes on until the time runs out.
    async fn was_taken(&self, table: &Url, key: &str) -> bool {
        let within = self.inner.resolve_within;
        if within.is_zero() {
            return false;
        }
        let deadline = kusto_data::time_math::deadline_after(within);
        let mut pause = Duration::from_millis(200);
        tracing::debug!(
            source_id = key,
            ?within,
            "looking for an unanswered queue post in its status entry"
        );
        loop {
            match self.inner.storage.get_entity(table, key, key).await {
                Ok(entity) => {
                    let state = from_entity(Uuid::nil(), &entity).state;
                    if state != IngestionState::Pending {
                        return true;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, source_id = key, "the status entry could not be read");
                }
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                tracing::info!(
                    source_id = key,
                    ?within,
                    "the status entry of an unanswered queue post is still Pending: outcome unknown"
                );
                return false;
            }
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(now))).await;
            pause = pause.saturating_mul(2).min(Duration::from_secs(2));
        }
    }

    /// Submits blobs of one format over REST (one request), returning one operation per blob.
    async fn submit_rest(
        &self,
        blobs: &[Prepared],
        properties: &IngestionProperties,
    ) -> Result<Vec<IngestionOperation>> {
        let track = properties.is_tracked();
        let queued: Vec<QueuedBlob<'_>> = blobs
            .iter()
            .map(|b| QueuedBlob {
                url: &b.url,
                raw_size: b.raw_size,
                source_id: b.source_id,
            })
            .collect();
        let body = rest_body(properties, &queued, track, OffsetDateTime::now_utc());
        let request = RestRequest::post(
            [
                "v1",
                "rest",
                "ingestion",
                "queued",
                properties.database.as_str(),
                properties.table.as_str(),
            ],
            &body,
        )
        .request_id_prefix("KRS.ingestQueued;");
        // A success answer whose body was lost still says the blobs were
        // submitted: reported as submitted, untracked, rather than as an unknown outcome.
        let lost_answer = |error: &dyn std::fmt::Display| {
            tracing::warn!(
                %error,
                blobs = blobs.len(),
                "the REST submission was answered with a success status, but its answer was lost: \
                 the blobs are submitted, without an operation id to track them"
            );
            format!(
                "the service accepted the submission, but its answer (which carries the \
                 operation id) was lost: {error}"
            )
        };
        let answer = match self.kusto_client().execute_rest(request).await {
            // A success status with a body that is not the expected JSON may come from
            // something other than the service (a proxy): not taken as a submission.
            Ok(response) => Ok(response.json::<Value>()?),
            Err(error) if error.took_effect() => Err(lost_answer(&error)),
            Err(error) => return Err(error.into()),
        };
        let operation_id = answer
            .as_ref()
            .ok()
            .and_then(|a| a.get("ingestionOperationId"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let tracking = if let Err(reason) = answer {
            Tracking::None {
                reason: Some(reason),
            }
        } else if !track {
            Tracking::not_asked()
        } else if operation_id.is_empty() {
            Tracking::None {
                reason: Some(
                    "tracking was asked for, but the service returned no ingestion operation id"
                        .to_owned(),
                ),
            }
        } else {
            Tracking::Rest { operation_id }
        };
        Ok(blobs
            .iter()
            .map(|blob| IngestionOperation {
                database: properties.database.clone(),
                table: properties.table.clone(),
                source_ids: vec![blob.source_id],
                blobs: vec![without_query(&blob.url)],
                tracking: tracking.clone(),
                client: Some(self.clone()),
            })
            .collect())
    }
}

/// True when the service refused a REST ingestion request in a way that says "not for you"
/// (401, 403, 404), rather than "not now" or "not this data".
fn is_refusal(error: &Error) -> bool {
    matches!(error, Error::Kusto(e) if matches!(e.status(), Some(401 | 403 | 404)))
}

/// A blob ready to be submitted.
#[derive(Debug, Clone)]
struct Prepared {
    url: Url,
    raw_size: Option<u64>,
    source_id: Uuid,
}

/// The progress of calls that end before anything is stored (the paths that need a service
/// are checked end to end by the `kusto` command's terminal tests).
#[cfg(test)]
mod progress_tests {
    use kusto_data::DataFormat;

    use super::*;

    /// A client of a port that refuses connections, over the queues, never retrying.
    fn refused_client() -> QueuedIngestClient {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let cs = ConnectionString::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        QueuedIngestClient::builder(cs)
            .protocol(IngestProtocol::Queue)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn a_refused_call_ends_its_source_as_failed() {
        let client = refused_client();
        let progress = ProgressTracker::new();
        let bad = IngestionProperties::new("Db", "", DataFormat::Csv);
        let source = IngestionSource::bytes("1,a\n");
        let id = source.source_id();
        assert!(
            client
                .ingest_with_progress(source, &bad, &progress)
                .await
                .is_err()
        );
        let now = progress.snapshot();
        assert_eq!((now.sources_started, now.sources_failed), (1, 1));
        assert!(now.source(id).is_none(), "a finished source leaves the map");
    }

    #[tokio::test]
    async fn ingest_many_counts_every_source_it_started() {
        let client = refused_client();
        let progress = ProgressTracker::new();
        let properties = IngestionProperties::new("Db", "T", DataFormat::Csv);
        let sources = (0..3).map(|i| IngestionSource::bytes(format!("{i},a\n")));
        let outcomes: Vec<SourceOutcome> = client
            .ingest_many_with_progress(futures::stream::iter(sources), properties, 2, &progress)
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes.iter().all(|o| o.result.is_err()));
        let now = progress.snapshot();
        assert_eq!(now.sources_started, 3);
        assert_eq!((now.sources_submitted, now.sources_failed), (0, 3));
        assert_eq!(now.sources_done(), 3);
        assert_eq!(now.in_progress().count(), 0);
    }
}
