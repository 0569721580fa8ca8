//! The error type of this crate.
//!
//! One [`Error`] enum whose variants are decisions a caller can act on. Errors of the Kusto
//! service (resources, REST submission, status) keep `kusto-data`'s [`kusto_data::Error`] with
//! its HTTP status and OneApi error; storage errors carry the account, the HTTP status and the
//! storage error code. [`Error::is_transient`] classifies any of them once. Messages never carry
//! a secret: blob, queue and table URLs are shown without their SAS query.

use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which storage service a [`Error::Storage`] concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageService {
    /// Blob storage (uploads).
    Blob,
    /// Queue storage (ingestion messages, notifications).
    Queue,
    /// Table storage (the ingestion status table).
    Table,
}

impl std::fmt::Display for StorageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StorageService::Blob => "blob",
            StorageService::Queue => "queue",
            StorageService::Table => "table",
        })
    }
}

/// Everything that can go wrong in `kusto-ingest`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An ingestion property is not valid; `field` names it. Nothing was sent.
    #[error("invalid ingestion property `{field}`: {message}")]
    InvalidProperty {
        /// The property, as the field of [`IngestionProperties`](crate::IngestionProperties).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// A source or an argument is not valid (an empty blob URL, a URL that is not one, a raw
    /// size given for a compressed stream that contradicts it, ...). Nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A local file could not be opened or read, or changed while it was uploaded. Nothing was
    /// ingested from it.
    #[error("cannot read {}: {message}", .path.display())]
    Source {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
        /// The I/O error, when there was one.
        #[source]
        source: Option<std::io::Error>,
    },

    /// Reading a stream source failed. Nothing was ingested from it.
    #[error("reading the source stream failed: {0}")]
    Read(#[source] std::io::Error),

    /// The Kusto service (engine or data-management) answered with an error or could not be
    /// reached: `.get ingestion resources`, the identity token, the REST ingestion endpoints.
    #[error(transparent)]
    Kusto(#[from] kusto_data::Error),

    /// A storage request failed after the storage client's own retries.
    #[error("{service} storage request to account '{account}' failed{}: {message}", .status.map(|s| format!(" with HTTP {s}")).unwrap_or_default())]
    Storage {
        /// Blob, queue or table.
        service: StorageService,
        /// The storage account.
        account: String,
        /// The HTTP status, when storage answered.
        status: Option<u16>,
        /// The storage error code (`AuthorizationFailure`, `ServerBusy`, ...), when storage sent
        /// one.
        code: Option<String>,
        /// What failed (URLs without their SAS).
        message: String,
    },

    /// Every storage account tried for an upload or an enqueue failed; `attempts` holds each
    /// failure in the order tried. Nothing was ingested from the source.
    #[error("{what} failed on every storage account tried ({} attempts); last: {}", .attempts.len(), .attempts.last().map(ToString::to_string).unwrap_or_default())]
    AllAccountsFailed {
        /// `upload` or `enqueue`.
        what: &'static str,
        /// The failure of each attempt.
        attempts: Vec<Error>,
    },

    /// A forward-only source (an `AsyncRead`) failed to upload after part of it had been read:
    /// the data already read cannot be read again, so it cannot be sent to another account.
    /// Nothing was ingested from it; ingest it again from its origin.
    #[error(
        "the stream source {source_id} could not be uploaded and cannot be read again: {cause}"
    )]
    ForwardOnlySource {
        /// The source id.
        source_id: Uuid,
        /// The upload failure.
        #[source]
        cause: Box<Error>,
    },

    /// A streaming request failed without an answer after it may have reached the service (a
    /// time-out, a connection lost after sending): the rows may or may not have been ingested.
    /// The managed client does not resend it unless its policy accepts possible duplicates;
    /// check the table (for example by a column that identifies the source) before sending the
    /// source again.
    #[error(
        "the streaming ingestion of source {source_id} may or may not have been ingested (no answer): {cause}"
    )]
    Ambiguous {
        /// The source id.
        source_id: Uuid,
        /// The failure.
        #[source]
        cause: kusto_data::Error,
    },

    /// The ingestion message of a source was sent to a storage queue and no answer came back
    /// (the connection broke or timed out after sending): the message may be in the queue, and
    /// the data may be ingested once. It is not sent again, to another queue or the same one,
    /// because a message sent twice is ingested twice. A tracked source's status entry was
    /// read first, for [`QueuedIngestClientBuilder::ambiguity_resolution`](crate::QueuedIngestClientBuilder::ambiguity_resolution),
    /// and stayed `Pending` (never queued, or queued and not yet processed). Check the table
    /// (for example by a column that identifies the source, or with an `ingestIfNotExists`
    /// tag), or the source's status entry later, before ingesting the source again.
    #[error(
        "the ingestion message of source {source_id} may or may not have been queued (no answer from storage): {cause}"
    )]
    EnqueueAmbiguous {
        /// The source id.
        source_id: Uuid,
        /// The storage failure.
        #[source]
        cause: Box<Error>,
    },

    /// The ingestion resources of the cluster lack a kind of resource the operation needs.
    #[error("the cluster's ingestion resources have no {0}")]
    MissingResource(&'static str),

    /// The queue message would exceed the storage queue's 64 KB limit (usually a very large
    /// inline mapping or many tags). Nothing was enqueued.
    #[error(
        "the ingestion message is {size} bytes once encoded, more than the queue's limit of {limit} bytes; use a mapping reference or fewer tags"
    )]
    MessageTooLarge {
        /// The encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// A REST submission of several blobs failed; every source of the batch gets this error
    /// (the first one gets the original error). Nothing of them was ingested.
    #[error("the batch this source was submitted in failed: {message}")]
    BatchFailed {
        /// The batch's error, as text.
        message: String,
        /// Whether the batch's error was transient.
        transient: bool,
    },

    /// An answer of the service does not have the expected shape.
    #[error("unexpected answer from the service: {0}")]
    Protocol(String),

    /// The status of an operation cannot be read: it is not tracked (the properties did not
    /// ask for it, or tracking could not be set up; the text says which), or the operation was
    /// deserialized and not attached to a client ([`crate::QueuedIngestClient::resume`]).
    #[error("the status of this ingestion cannot be read: {0}")]
    NotTracked(String),

    /// The service reports that a source failed, was ingested partially or was canceled. The
    /// status of every source of the operation is kept, with the service's error codes and
    /// details.
    #[error("the ingestion failed: {}", .0.failures().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    IngestionFailed(Box<crate::status::IngestionStatus>),

    /// Waiting for a final status took longer than the deadline.
    #[error("ingestion status still not final after {0:?}")]
    WaitTimeout(Duration),
}

impl Error {
    /// True when the same operation may succeed if tried again later: transient service and
    /// network errors, throttling, storage 5xx/408/429 and unanswered storage requests.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Kusto(e) => e.is_transient(),
            Error::Storage { status, .. } => match status {
                None => true,
                Some(s) => matches!(s, 408 | 429) || *s >= 500,
            },
            Error::AllAccountsFailed { attempts, .. } => attempts.iter().any(Error::is_transient),
            Error::WaitTimeout(_) => true,
            Error::BatchFailed { transient, .. } => *transient,
            Error::IngestionFailed(status) => status.failures().all(|s| {
                s.failure_status
                    .as_deref()
                    .is_some_and(|f| f.eq_ignore_ascii_case("Transient"))
            }),
            Error::ForwardOnlySource { .. }
            | Error::Ambiguous { .. }
            | Error::EnqueueAmbiguous { .. }
            | Error::InvalidProperty { .. }
            | Error::InvalidArgument(_)
            | Error::Source { .. }
            | Error::Read(_)
            | Error::MissingResource(_)
            | Error::MessageTooLarge { .. }
            | Error::Protocol(_)
            | Error::NotTracked(_) => false,
        }
    }

    /// True when trying the same operation again cannot succeed.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// True for a storage error that says the SAS was refused (HTTP 403): the ingestion
    /// resources are fetched again before the next attempt.
    pub fn is_storage_authorization_failure(&self) -> bool {
        matches!(
            self,
            Error::Storage {
                status: Some(403),
                ..
            }
        )
    }

    /// An I/O failure on the file at `path`.
    pub(crate) fn file(path: &std::path::Path, message: &str, error: std::io::Error) -> Self {
        Error::Source {
            path: path.to_path_buf(),
            message: message.to_owned(),
            source: Some(error),
        }
    }

    pub(crate) fn property(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidProperty {
            field,
            message: message.into(),
        }
    }
}
