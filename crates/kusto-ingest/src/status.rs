//! Status of queued ingestions: [`IngestionOperation`] (returned by every ingest call,
//! serializable so that another process can resume it), [`IngestionStatus`] with one
//! [`SourceStatus`] per source, and notification-queue messages ([`Notification`]).
//!
//! Where the status comes from:
//!
//! | protocol | tracked when | read from |
//! |---|---|---|
//! | storage queues | the report method includes the table and the level is not `None` (the default) | the status-table entity of each source, inserted as `Pending` before the message is posted |
//! | REST | the report level is not `None` (`enableTracking`) | `GET /v1/rest/ingestion/queued/{db}/{table}/{operationId}?details=true` |
//!
//! An untracked operation reports each source as [`SourceState::Queued`]: the service accepted
//! the message, and nothing more can be told by the client (the notification queues, shared by
//! every client of the cluster, can still be read with
//! [`QueuedIngestClient::read_notifications`](crate::QueuedIngestClient::read_notifications)).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The state of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SourceState {
    /// Accepted, not final yet (`Pending`, `Queued` over REST, `InProgress`).
    Pending,
    /// Accepted; the client cannot follow it further (not tracked). Final for the client.
    Queued,
    /// Every record ingested.
    Succeeded,
    /// Ingested with some records dropped (reported as a failure by the service).
    PartiallySucceeded,
    /// Nothing ingested on purpose (`ingestIfNotExists` matched, or no data).
    Skipped,
    /// Failed; see the error code and failure status.
    Failed,
    /// Canceled.
    Canceled,
}

impl SourceState {
    /// True when the state will not change any more.
    pub fn is_final(self) -> bool {
        !matches!(self, SourceState::Pending)
    }

    /// Reads a status name of the status table or the REST API (any case).
    pub fn parse(name: &str) -> Option<Self> {
        let known = [
            ("Pending", SourceState::Pending),
            ("InProgress", SourceState::Pending),
            ("Queued", SourceState::Pending),
            ("Succeeded", SourceState::Succeeded),
            ("PartiallySucceeded", SourceState::PartiallySucceeded),
            ("Skipped", SourceState::Skipped),
            ("Failed", SourceState::Failed),
            ("Canceled", SourceState::Canceled),
            ("Cancelled", SourceState::Canceled),
        ];
        known
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| *s)
    }
}

/// The status of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// The source id.
    pub source_id: Uuid,
    /// Its state.
    pub state: SourceState,
    /// The ingestion error code (`BadRequest_InvalidMapping`, ...), for failures.
    pub error_code: Option<String>,
    /// `Permanent`, `Transient`, `Exhausted` or `Unknown`, for failures.
    pub failure_status: Option<String>,
    /// The service's explanation, for failures and skips.
    pub details: Option<String>,
}

impl SourceStatus {
    pub(crate) fn new(source_id: Uuid, state: SourceState) -> Self {
        SourceStatus {
            source_id,
            state,
            error_code: None,
            failure_status: None,
            details: None,
        }
    }
}

/// The status of every source of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestionStatus {
    /// One entry per source, in submission order.
    pub sources: Vec<SourceStatus>,
}

impl IngestionStatus {
    /// True when no source is pending.
    pub fn is_final(&self) -> bool {
        self.sources.iter().all(|s| s.state.is_final())
    }

    /// True when every source succeeded (or was skipped on purpose).
    pub fn succeeded(&self) -> bool {
        self.sources
            .iter()
            .all(|s| matches!(s.state, SourceState::Succeeded | SourceState::Skipped))
    }

    /// The sources that failed.
    pub fn failures(&self) -> impl Iterator<Item = &SourceStatus> {
        self.sources.iter().filter(|s| {
            matches!(
                s.state,
                SourceState::Failed | SourceState::PartiallySucceeded | SourceState::Canceled
            )
        })
    }
}

/// How an operation's status is read.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Tracking {
    /// Not tracked.
    None,
    /// One status-table entity per source (queue protocol). `table` is the table's URL
    /// without its SAS: the client that reads it supplies a current SAS.
    Table { table: String },
    /// The REST operation.
    Rest { operation_id: String },
}

/// A submitted ingestion whose status can be read and waited for.
///
/// It serializes (serde) without any secret: another process can store it, deserialize it and
/// attach it to its own client with [`QueuedIngestClient::resume`], then call
/// [`status`](Self::status) or [`wait`](Self::wait).
///
/// [`QueuedIngestClient::resume`]: crate::QueuedIngestClient::resume
#[derive(Clone, Serialize, Deserialize)]
pub struct IngestionOperation {
    pub(crate) database: String,
    pub(crate) table: String,
    pub(crate) source_ids: Vec<Uuid>,
    /// Blob URLs without their SAS, one per source.
    pub(crate) blobs: Vec<String>,
    pub(crate) tracking: Tracking,
    #[serde(skip)]
    pub(crate) client: Option<crate::QueuedIngestClient>,
}

impl fmt::Debug for IngestionOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tracking = match &self.tracking {
            Tracking::None => "none".to_owned(),
            Tracking::Table { table } => format!("status table {table}"),
            Tracking::Rest { operation_id } => format!("REST operation {operation_id}"),
        };
        f.debug_struct("IngestionOperation")
            .field("database", &self.database)
            .field("table", &self.table)
            .field("source_ids", &self.source_ids)
            .field("tracking", &tracking)
            .field("attached", &self.client.is_some())
            .finish()
    }
}

impl IngestionOperation {
    /// The target database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The target table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The source ids, in submission order.
    pub fn source_ids(&self) -> &[Uuid] {
        &self.source_ids
    }

    /// The blob of each source, without its SAS.
    pub fn blob_paths(&self) -> &[String] {
        &self.blobs
    }

    /// True when the client can follow the status to the end.
    pub fn is_tracked(&self) -> bool {
        self.tracking != Tracking::None
    }

    /// The REST operation id, for an operation submitted over REST with tracking.
    pub fn rest_operation_id(&self) -> Option<&str> {
        match &self.tracking {
            Tracking::Rest { operation_id } => Some(operation_id),
            _ => None,
        }
    }

    /// The current status of every source.
    pub async fn status(&self) -> Result<IngestionStatus> {
        let client = self.client.as_ref().ok_or_else(|| {
            Error::NotTracked(
                "the operation is not attached to a client; use QueuedIngestClient::resume".into(),
            )
        })?;
        client.operation_status(self).await
    }

    /// Polls the status until it is final or `timeout` has passed
    /// ([`Error::WaitTimeout`]). Polls start at 200 ms and back off to 5 s.
    pub async fn wait(&self, timeout: Duration) -> Result<IngestionStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(200);
        loop {
            let status = self.status().await?;
            if status.is_final() {
                return Ok(status);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::WaitTimeout(timeout));
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

/// Reads a status-table entity into a [`SourceStatus`].
pub(crate) fn from_entity(source_id: Uuid, entity: &Value) -> SourceStatus {
    let text = |key: &str| {
        entity
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let state = text("Status")
        .as_deref()
        .and_then(SourceState::parse)
        .unwrap_or(SourceState::Pending);
    SourceStatus {
        source_id,
        state,
        error_code: text("ErrorCode"),
        failure_status: text("FailureStatus"),
        details: text("Details"),
    }
}

/// Reads the `details` of a REST operation status into per-source statuses, in the order of
/// `source_ids`. A source the answer does not list is pending.
pub(crate) fn from_rest(source_ids: &[Uuid], body: &Value) -> IngestionStatus {
    let field = |value: &Value, key: &str| -> Option<String> {
        value
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let details = body
        .as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("details"))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let sources = source_ids
        .iter()
        .map(|id| {
            let found = details.iter().find(|d| {
                field(d, "sourceId").is_some_and(|s| s.eq_ignore_ascii_case(&id.to_string()))
            });
            match found {
                Some(detail) => SourceStatus {
                    source_id: *id,
                    state: field(detail, "status")
                        .as_deref()
                        .and_then(SourceState::parse)
                        .unwrap_or(SourceState::Pending),
                    error_code: field(detail, "errorCode"),
                    failure_status: field(detail, "failureStatus"),
                    details: field(detail, "details"),
                },
                None => SourceStatus::new(*id, SourceState::Pending),
            }
        })
        .collect();
    IngestionStatus { sources }
}

/// A message of the success or failure notification queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Notification {
    /// The source id (`IngestionSourceId`).
    pub ingestion_source_id: Uuid,
    /// The blob, without SAS (`IngestionSourcePath`).
    #[serde(default)]
    pub ingestion_source_path: String,
    /// `Database`.
    #[serde(default)]
    pub database: String,
    /// `Table`.
    #[serde(default)]
    pub table: String,
    /// `OperationId`.
    #[serde(default)]
    pub operation_id: Option<String>,
    /// `ErrorCode`, on the failure queue.
    #[serde(default)]
    pub error_code: Option<String>,
    /// `FailureStatus`, on the failure queue.
    #[serde(default)]
    pub failure_status: Option<String>,
    /// `Details`, on the failure queue.
    #[serde(default)]
    pub details: Option<String>,
}

impl Notification {
    /// Decodes a queue message text (base64 of JSON, or raw JSON).
    pub fn decode(text: &str) -> Result<Self> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .unwrap_or_else(|_| text.as_bytes().to_vec());
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Protocol(format!("a notification is not the JSON expected: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entities_and_rest_details_map_to_one_status_type() {
        let id = Uuid::new_v4();
        let failed = from_entity(
            id,
            &json!({"Status": "Failed", "ErrorCode": "BadRequest_InvalidMapping", "FailureStatus": "Permanent", "Details": "bad"}),
        );
        assert_eq!(failed.state, SourceState::Failed);
        assert_eq!(
            failed.error_code.as_deref(),
            Some("BadRequest_InvalidMapping")
        );
        let pending = from_entity(id, &json!({"Status": "Pending", "ErrorCode": ""}));
        assert_eq!(pending.state, SourceState::Pending);
        assert_eq!(pending.error_code, None);

        let other = Uuid::new_v4();
        let body = json!({"status": {"succeeded": 1}, "details": [
            {"sourceId": id.to_string().to_uppercase(), "status": "Succeeded"},
            {"sourceId": other.to_string(), "status": "InProgress"}]});
        let status = from_rest(&[id, other, Uuid::new_v4()], &body);
        assert_eq!(status.sources[0].state, SourceState::Succeeded);
        assert_eq!(status.sources[1].state, SourceState::Pending);
        assert_eq!(status.sources[2].state, SourceState::Pending);
        assert!(!status.is_final());
    }

    #[test]
    fn operations_serialize_without_secrets() {
        let operation = IngestionOperation {
            database: "db".into(),
            table: "t".into(),
            source_ids: vec![Uuid::new_v4()],
            blobs: vec!["https://a.blob.core.windows.net/c/b".into()],
            tracking: Tracking::Table {
                table: "https://a.table.core.windows.net/status".into(),
            },
            client: None,
        };
        let text = serde_json::to_string(&operation).unwrap();
        assert!(!text.contains("sig="));
        let back: IngestionOperation = serde_json::from_str(&text).unwrap();
        assert_eq!(back.source_ids, operation.source_ids);
        assert!(back.is_tracked());
    }

    #[test]
    fn notifications_decode_from_base64_or_json() {
        let json = r#"{"IngestionSourceId":"5b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1b","Database":"d","Table":"t","ErrorCode":"X"}"#;
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        assert_eq!(
            Notification::decode(&encoded).unwrap(),
            Notification::decode(json).unwrap()
        );
        assert!(Notification::decode("garbage").is_err());
    }
}
