//! Ingestion into Azure Data Explorer (Kusto): queued ingestion over both of the service's
//! protocols (storage queues and the REST ingestion API), with uploads in bounded memory, ranked
//! storage accounts and a status every caller can wait on.
//!
//! | task | start here |
//! |---|---|
//! | say where the data goes and how it is read | [`IngestionProperties`], [`ColumnMapping`] |
//! | say what to ingest (file, bytes, `AsyncRead`, blob) | [`IngestionSource`] |
//! | ingest through the data-management service | [`QueuedIngestClient::ingest`] |
//! | ingest many sources with bounded concurrency | [`QueuedIngestClient::ingest_many`] |
//! | low latency for small payloads | [`StreamingIngestClient`], [`ManagedStreamingIngestClient`] |
//! | wait for the outcome, from this or another process | [`IngestionOperation::wait`], [`QueuedIngestClient::resume`] |
//! | decide what to do about an error | [`Error::is_transient`] |
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use kusto_data::{ConnectionString, DataFormat};
//! use kusto_ingest::{IngestionProperties, IngestionSource, QueuedIngestClient};
//!
//! // The local emulator; a real cluster would be `ConnectionString::builder(url).with_azure_cli()`.
//! let client = QueuedIngestClient::new(ConnectionString::parse("http://127.0.0.1:8080")?)?;
//! let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv);
//! let operation = client
//!     .ingest(IngestionSource::bytes("1,start\n2,stop\n"), &properties)
//!     .await?;
//! let status = operation.wait(Duration::from_secs(60)).await?;
//! println!("{status:?}");
//! # Ok(()) }
//! ```
//!
//! # How a source travels
//!
//! 1. The properties are checked ([`IngestionProperties::validate`]); nothing is sent when they
//!    are wrong, and the error names the field.
//! 2. The protocol is chosen ([`IngestProtocol`]): the REST configuration is asked for (and
//!    cached); a 404 means storage queues; otherwise the service's `preferredIngestionMethod`.
//! 3. The data is compressed as it streams (gzip, unless the format is binary or the data is
//!    compressed already) and uploaded in blocks to a container of the best-ranked storage
//!    account ([`ranking`]); a failed upload moves to the next account ([`upload`]).
//! 4. Over the queue protocol a status entity is written (`Pending`) and a message posted to the
//!    best-ranked queue; over REST the blob is submitted with `POST
//!    /v1/rest/ingestion/queued/{db}/{table}`.
//! 5. The returned [`IngestionOperation`] reads the status table or the REST operation.
//!
//! The wire forms, and where they deliberately differ from the Python SDK's, are in
//! [`protocol`]. Status sources are described in [`status`].
//!
//! Streaming ingestion ([`StreamingIngestClient`]) sends small payloads straight to the engine;
//! [`ManagedStreamingIngestClient`] streams when it can and falls back to queued ingestion when
//! it must ([`managed`] lists every decision and how it differs from the Python SDK's).
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
//!   connection breaks after sending, the call fails with [`Error::EnqueueAmbiguous`]: the
//!   source may arrive once, never twice. A REST submission is never resent;
//! * the managed client retries streaming and falls back to queued ingestion by the rules of
//!   [`ManagedStreamingPolicy`]; a request that may have been ingested without an answer is not
//!   resent unless the policy accepts duplicates.
//!
//! # Cargo features
//!
//! None of its own; TLS and Arrow are `kusto-data`'s features.
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

pub mod error;
pub mod managed;
pub mod properties;
pub mod protocol;
mod queued;
pub mod ranking;
pub mod resources;
pub mod source;
pub mod status;
mod storage;
pub mod streaming;
pub mod upload;

/// The `kusto-data` crate this crate is built with: connection strings, authentication,
/// queries and everything else of the client side, in the version this crate's API takes.
pub use kusto_data;
pub use kusto_data::{
    Compression, ConnectionString, DataFormat, IngestionMappingKind, KustoClient, RetryPolicy,
};

pub use error::{Error, Result, StorageService};
pub use managed::{
    AmbiguousFailure, FallbackReason, ManagedEvent, ManagedIngestResult,
    ManagedStreamingIngestClient, ManagedStreamingPolicy,
};
pub use properties::{
    ColumnMapping, IngestionMapping, IngestionProperties, ReportLevel, ReportMethod,
    TransformationMethod, ValidationImplications, ValidationOptions, ValidationPolicy,
};
pub use queued::{
    ActiveProtocol, IngestProtocol, NotificationKind, QueuedIngestClient,
    QueuedIngestClientBuilder, SourceOutcome,
};
pub use resources::{IngestionResources, RestConfiguration};
pub use source::{BoxedReader, IngestionSource};
pub use status::{IngestionOperation, IngestionState, IngestionStatus, Notification, SourceStatus};
pub use streaming::{StreamingIngestClient, StreamingResult};
pub use upload::UploadOptions;
