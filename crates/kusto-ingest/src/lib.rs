//! Ingestion into Azure Data Explorer (Kusto): queued ingestion over both of the service's
//! protocols (storage queues and the REST ingestion API), with uploads in bounded memory, ranked
//! storage accounts and an outcome that can be waited for; streaming and managed-streaming
//! ingestion for low latency.
//!
//! One `use` line is enough for a first ingestion: this crate re-exports what its API takes
//! ([`ConnectionString`], [`DataFormat`], [`KustoClient`], [`RetryPolicy`], ...), and the whole
//! [`kusto_data`] crate it is built with.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use kusto_ingest::{ConnectionString, DataFormat, IngestionProperties, IngestionSource, QueuedIngestClient};
//!
//! // The local emulator; a real cluster would be `ConnectionString::builder(url).with_azure_cli()`.
//! let client = QueuedIngestClient::new(ConnectionString::parse("http://127.0.0.1:8080")?)?;
//! let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv).with_tracking();
//! let operation = client
//!     .ingest(IngestionSource::bytes("1,start\n2,stop\n"), &properties)
//!     .await?;
//! operation.wait(Duration::from_secs(60)).await?; // an error if the service reports a failure
//! # Ok(()) }
//! ```
//!
//! | task | start here |
//! |---|---|
//! | say where the data goes and how it is read | [`IngestionProperties`], [`ColumnMapping`] |
//! | say what to ingest (file, bytes, `AsyncRead`, blob) | [`IngestionSource`] |
//! | ingest through the data-management service | [`QueuedIngestClient::ingest`] |
//! | ingest many sources with bounded concurrency | [`QueuedIngestClient::ingest_many`] |
//! | follow an upload by the byte (a progress bar) | [`ProgressTracker`], [`QueuedIngestClient::ingest_with_progress`] |
//! | low latency for small payloads | [`StreamingIngestClient`], [`ManagedStreamingIngestClient`] |
//! | wait for the outcome, from this or another process | [`IngestionOperation::wait`], [`QueuedIngestClient::resume`] |
//! | decide what to do about an error | [`Error::is_transient`] |
//!
//! # Clients
//!
//! The three clients are configured alike: `new(connection_string)` with default settings,
//! `builder(connection_string)` (or `builder_from_kusto_client` / `builder_from_clients`) for
//! settings, then `build()`. They are cheap to clone; share one per cluster.
//!
//! # How a queued source travels
//!
//! 1. The properties are checked ([`IngestionProperties::validate`]); nothing is sent when they
//!    are wrong, and the error names the field.
//! 2. The protocol is chosen once per client ([`IngestProtocol`]).
//! 3. The data is compressed as it streams (gzip, unless the format is binary or the data is
//!    compressed already) and uploaded in blocks ([`UploadOptions`]) to a container of the
//!    best-ranked storage account: accounts that keep succeeding are tried first, and a failed
//!    upload moves to the next one.
//! 4. Over the queue protocol a message is posted to the best-ranked queue (after the status
//!    entry, when tracking is asked for); over REST the blob is submitted with `POST
//!    /v1/rest/ingestion/queued/{db}/{table}`.
//! 5. The returned [`IngestionOperation`] reads the status entry or the REST operation.
//!
//! Steps 3 and 4 can be followed as they go: [`QueuedIngestClient::ingest_with_progress`] and
//! [`QueuedIngestClient::ingest_many_with_progress`] report each source's phase (reading,
//! uploading, submitting, submitted or failed), the bytes read, the bytes stored as each block
//! is answered and the blocks committed to a [`ProgressTracker`], which publishes them, summed,
//! through a `tokio::sync::watch` channel ([`progress`] says why, what it costs, and why the
//! outcome of step 5 is not part of it). The calls without a tracker pay nothing for it.
//!
//! # Errors and retries
//!
//! Every call returns [`Error`]: Kusto errors keep `kusto-data`'s [`kusto_data::Error`] (HTTP
//! status, OneApi error), storage errors name the account, the service ([`StorageService`]), the
//! HTTP status and the storage error code; [`Error::is_transient`] classifies them from those
//! facts. Retries follow one [`RetryPolicy`] (attempts, jittered backoff, deadline,
//! `Retry-After`), set once with [`QueuedIngestClientBuilder::retry_policy`] (storage may get its
//! own with [`QueuedIngestClientBuilder::storage_retry_policy`], managed streaming with
//! [`ManagedStreamingPolicy::retry`]):
//!
//! * requests to the service (resources, REST configuration and status) and to storage
//!   (uploads, status entries) are retried on transient failures; a source whose upload keeps
//!   failing moves to the next-ranked storage account ([`UploadOptions::max_accounts`]), read
//!   again from its start (a forward-only reader that cannot be read again fails with
//!   [`Error::ForwardOnlySource`] instead of sending a partial source);
//! * a queue message is resent (same queue, then the next) only when it cannot have been stored
//!   (storage answered with an error status, or the connection could not be made). When the
//!   connection breaks after sending, a tracked source's status entry is read until it shows
//!   that the service took the message (the call then succeeds) or
//!   [`QueuedIngestClientBuilder::ambiguity_resolution`] runs out; then the call fails with
//!   [`Error::EnqueueAmbiguous`]: the source may arrive once, never twice. A REST submission is
//!   never resent; one answered with a success status whose body was then lost is submitted
//!   (untracked: the operation id was in the lost body);
//! * a streaming request answered with a success status whose body was then lost succeeded:
//!   the status is the service's word that the rows were committed;
//! * the managed client retries streaming and falls back to queued ingestion by the rules of
//!   [`ManagedStreamingPolicy`]; a request that may have been ingested without an answer is not
//!   resent unless the policy accepts duplicates.
//!
//! # Cargo features
//!
//! | Feature | Default | What it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls with aws-lc-rs (`kusto-data`'s `rustls`) |
//! | `rustls-ring` | no | TLS through rustls with ring, no aws-lc build: `default-features = false, features = ["rustls-ring"]` |
//! | `arrow` | no | Arrow output of `kusto-data`'s query results |
//! | `certificate` | no | application-certificate authentication |
// Time arithmetic that cannot panic (issue 28): `kusto_data::time_math` and clippy.toml.
#![cfg_attr(
    not(test),
    warn(clippy::arithmetic_side_effects, clippy::unchecked_time_subtraction)
)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]

mod error;
mod managed;
pub mod progress;
mod properties;
mod protocol;
mod queued;
mod ranking;
mod resources;
mod source;
mod status;
mod storage;
mod streaming;
mod upload;

/// The `kusto-data` crate this crate is built with: connection strings, authentication,
/// queries and everything else of the client side, in the version this crate's API takes.
pub use kusto_data;
pub use kusto_data::{
    Compression, ConnectionString, DataFormat, IngestionMappingKind, KustoClient, RetryPolicy,
};

pub use error::{Error, Result, StorageService};
pub use managed::{
    AmbiguousFailure, FallbackReason, ManagedEvent, ManagedIngestResult,
    ManagedStreamingIngestClient, ManagedStreamingIngestClientBuilder, ManagedStreamingPolicy,
};
pub use progress::{IngestProgress, Phase, ProgressTracker, SourceProgress};
pub use properties::{
    ColumnMapping, IngestionMapping, IngestionProperties, ReportLevel, ReportMethod,
    TransformationMethod, ValidationImplications, ValidationOptions, ValidationPolicy,
};
pub use queued::{
    ActiveProtocol, DEFAULT_RESOLVE_WITHIN, IngestProtocol, NotificationKind, QueuedIngestClient,
    QueuedIngestClientBuilder, SourceOutcome,
};
pub use source::{BoxedReader, IngestionSource};
pub use status::{IngestionOperation, IngestionState, IngestionStatus, Notification, SourceStatus};
pub use streaming::{StreamingIngestClient, StreamingIngestClientBuilder, StreamingResult};
pub use upload::UploadOptions;

/// Internals that this repository's own tests read. Not part of the API: hidden from the
/// documentation, and free to change in any release.
#[doc(hidden)]
pub mod __test_support {
    /// The current rank (0.0 to 1.0) of a storage account of `client`, by account name.
    pub fn storage_account_rank(client: &crate::QueuedIngestClient, account: &str) -> f64 {
        client.storage_account_rank(account)
    }
}
