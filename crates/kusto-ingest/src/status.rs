//! Status of queued ingestions: [`IngestionOperation`] (returned by every ingest call,
//! serializable so that another process can resume it), [`IngestionStatus`] with one
//! [`SourceStatus`] per source, and notification-queue messages ([`Notification`]).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The state of one source, named as the service names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IngestionState {
    /// The status-table entry was written and the service has not updated it yet (queue
    /// protocol).
    Pending,
    /// Accepted and waiting to be processed (REST protocol). In a status-table entry the
    /// service writes `Queued` when it reports to the notification queues only; such an entry
    /// is never updated, and waiting on it ends with [`Error::WaitTimeout`].
    Queued,
    /// Being processed (REST protocol).
    InProgress,
    /// Every record ingested.
    Succeeded,
    /// Ingested with some records dropped; the service reports it as a failure (error code
    /// and details say which records).
    PartiallySucceeded,
    /// Nothing ingested on purpose: an `ingestIfNotExists` tag matched, or the source had no
    /// data. Told by the status table; the REST protocol reports a skipped source as
    /// `Succeeded`, so a skip cannot be told apart there.
    Skipped,
    /// Failed; see the error code and failure status.
    Failed,
    /// Canceled.
    Canceled,
}

impl IngestionState {
    /// True when the state will not change any more.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            IngestionState::Pending | IngestionState::Queued | IngestionState::InProgress
        )
    }

    /// True for the states that count as a failure of the ingestion: `Failed`,
    /// `PartiallySucceeded` and `Canceled`.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            IngestionState::Failed | IngestionState::PartiallySucceeded | IngestionState::Canceled
        )
    }

    /// The service's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            IngestionState::Pending => "Pending",
            IngestionState::Queued => "Queued",
            IngestionState::InProgress => "InProgress",
            IngestionState::Succeeded => "Succeeded",
            IngestionState::PartiallySucceeded => "PartiallySucceeded",
            IngestionState::Skipped => "Skipped",
            IngestionState::Failed => "Failed",
            IngestionState::Canceled => "Canceled",
        }
    }

    /// Reads a status name of the status table or the REST API (any case; `Cancelled` too).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let known = [
            IngestionState::Pending,
            IngestionState::Queued,
            IngestionState::InProgress,
            IngestionState::Succeeded,
            IngestionState::PartiallySucceeded,
            IngestionState::Skipped,
            IngestionState::Failed,
            IngestionState::Canceled,
        ];
        if name.eq_ignore_ascii_case("Cancelled") {
            return Some(IngestionState::Canceled);
        }
        known
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for IngestionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SourceStatus {
    /// The source id.
    pub source_id: Uuid,
    /// Its state.
    pub state: IngestionState,
    /// The ingestion error code (`BadRequest_InvalidMapping`, ...), for failures.
    pub error_code: Option<String>,
    /// `Permanent`, `Transient`, `Exhausted` or `Unknown`, for failures.
    pub failure_status: Option<String>,
    /// The service's explanation, for failures and skips (for a partial success, which
    /// records were dropped).
    pub details: Option<String>,
}

impl SourceStatus {
    pub(crate) fn new(source_id: Uuid, state: IngestionState) -> Self {
        SourceStatus {
            source_id,
            state,
            error_code: None,
            failure_status: None,
            details: None,
        }
    }
}

impl fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source {}: {}", self.source_id, self.state)?;
        if let Some(code) = &self.error_code {
            write!(f, " ({code}")?;
            if let Some(status) = &self.failure_status {
                write!(f, ", {status}")?;
            }
            f.write_str(")")?;
        }
        if let Some(details) = &self.details {
            write!(f, ": {details}")?;
        }
        Ok(())
    }
}

/// The status of every source of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IngestionStatus {
    /// One entry per source, in submission order.
    pub sources: Vec<SourceStatus>,
}

impl IngestionStatus {
    /// True when no source can change state any more.
    pub fn is_final(&self) -> bool {
        self.sources.iter().all(|s| s.state.is_final())
    }

    /// True when every source is [`IngestionState::Succeeded`] (a skip is not a success).
    pub fn all_succeeded(&self) -> bool {
        self.sources
            .iter()
            .all(|s| s.state == IngestionState::Succeeded)
    }

    /// The sources that failed: `Failed`, `PartiallySucceeded` or `Canceled`.
    pub fn failures(&self) -> impl Iterator<Item = &SourceStatus> {
        self.sources.iter().filter(|s| s.state.is_failure())
    }

    /// The sources the service skipped on purpose ([`IngestionState::Skipped`]).
    pub fn skipped(&self) -> impl Iterator<Item = &SourceStatus> {
        self.sources
            .iter()
            .filter(|s| s.state == IngestionState::Skipped)
    }

    /// The sources that ingested part of their records ([`IngestionState::PartiallySucceeded`]).
    pub fn partial(&self) -> impl Iterator<Item = &SourceStatus> {
        self.sources
            .iter()
            .filter(|s| s.state == IngestionState::PartiallySucceeded)
    }
}

impl fmt::Display for IngestionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, source) in self.sources.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{source}")?;
        }
        Ok(())
    }
}

/// How an operation's status is read.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Tracking {
    /// Not tracked; `reason` says why.
    None {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// One status-table entity per source (queue protocol). `table` is the table's URL
    /// without its SAS: the client that reads it supplies a current SAS.
    Table { table: String },
    /// The REST operation.
    Rest { operation_id: String },
}

impl Tracking {
    /// Not tracked because the properties did not ask for it.
    pub(crate) fn not_asked() -> Self {
        Tracking::None { reason: None }
    }
}

/// The delay before the first status read of [`IngestionOperation::wait`].
const FIRST_POLL: Duration = Duration::from_millis(200);
/// The longest delay between two status reads of [`IngestionOperation::wait`].
const MAX_POLL: Duration = Duration::from_secs(5);

/// A submitted ingestion whose status can be read and waited for.
///
/// An operation is *tracked* when its properties ask for it
/// ([`IngestionProperties::with_tracking`](crate::IngestionProperties::with_tracking)):
///
/// | protocol | read from |
/// |---|---|
/// | storage queues | the status-table entry of each source, written as `Pending` before the message is posted |
/// | REST | `GET /v1/rest/ingestion/queued/{db}/{table}/{operationId}?details=true` |
///
/// [`wait`](Self::wait) returns `Ok` only when every source succeeded (or was skipped
/// on purpose), and an error otherwise: [`Error::IngestionFailed`] with every source's status
/// when one failed, [`Error::NotTracked`] for an untracked operation, [`Error::WaitTimeout`]
/// when the outcome is not known in time. The notification queues, shared by every client of
/// the cluster, can be read with
/// [`QueuedIngestClient::read_notifications`](crate::QueuedIngestClient::read_notifications).
///
/// ```no_run
/// # async fn run(client: kusto_ingest::QueuedIngestClient) -> kusto_ingest::Result<()> {
/// use std::time::Duration;
/// use kusto_ingest::{DataFormat, IngestionProperties, IngestionSource};
///
/// let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv).with_tracking();
/// let operation = client.ingest(IngestionSource::bytes("1,a\n"), &properties).await?;
/// let status = operation.wait(Duration::from_secs(300)).await?; // an Err if it failed
/// println!("{} source(s) skipped", status.skipped().count());
/// # Ok(()) }
/// ```
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
            Tracking::None { reason: None } => "none".to_owned(),
            Tracking::None {
                reason: Some(reason),
            } => format!("none ({reason})"),
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

    /// True when the outcome can be read ([`status`](Self::status), [`wait`](Self::wait)).
    pub fn is_tracked(&self) -> bool {
        !matches!(self.tracking, Tracking::None { .. })
    }

    /// Why the operation is not tracked, when it is not.
    pub fn untracked_reason(&self) -> Option<&str> {
        match &self.tracking {
            Tracking::None { reason } => Some(reason.as_deref().unwrap_or(
                "the ingestion properties did not ask for tracking \
                 (IngestionProperties::with_tracking)",
            )),
            _ => None,
        }
    }

    /// The REST operation id, for an operation submitted over REST with tracking.
    pub fn rest_operation_id(&self) -> Option<&str> {
        match &self.tracking {
            Tracking::Rest { operation_id } => Some(operation_id),
            _ => None,
        }
    }

    fn attached(&self) -> Result<&crate::QueuedIngestClient> {
        if let Some(reason) = self.untracked_reason() {
            return Err(Error::NotTracked(reason.to_owned()));
        }
        self.client.as_ref().ok_or_else(|| {
            Error::NotTracked(
                "the operation is not attached to a client; use QueuedIngestClient::resume".into(),
            )
        })
    }

    /// The current status of every source, as the service reports it (a failed source is a
    /// state here, not an error). [`Error::NotTracked`] for an untracked operation.
    pub async fn status(&self) -> Result<IngestionStatus> {
        self.attached()?.operation_status(self).await
    }

    /// Waits until every source has a final state or `timeout` has passed.
    ///
    /// `Ok` means that every source succeeded or was skipped on purpose
    /// ([`IngestionStatus::skipped`] lists those). Otherwise an error:
    ///
    /// * [`Error::IngestionFailed`] when a source failed, was partially ingested or canceled;
    ///   it holds the status of every source;
    /// * [`Error::NotTracked`] at once for an operation that is not tracked (the properties
    ///   did not ask for tracking, or it could not be set up) or not attached to a client;
    /// * [`Error::WaitTimeout`] when a source is still not final after `timeout`.
    ///
    /// Status reads start after 200 ms and back off to one every 5 s; a read that fails
    /// with a transient error is tried again at the next poll (the client's retry policy
    /// retries it first), a permanent error ends the wait.
    pub async fn wait(&self, timeout: Duration) -> Result<IngestionStatus> {
        let client = self.attached()?;
        let deadline = kusto_data::time_math::deadline_after(timeout);
        let mut delay = FIRST_POLL;
        loop {
            match client.operation_status(self).await {
                Ok(status) if status.is_final() => {
                    return if status.failures().next().is_some() {
                        Err(Error::IngestionFailed(Box::new(status)))
                    } else {
                        Ok(status)
                    };
                }
                Ok(_) => {}
                Err(error) if error.is_transient() => {
                    tracing::debug!(%error, "reading the ingestion status failed; trying again");
                }
                Err(error) => return Err(error),
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::WaitTimeout(timeout));
            }
            tokio::time::sleep(delay.min(deadline.saturating_duration_since(now))).await;
            delay = delay.saturating_mul(2).min(MAX_POLL);
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
        .and_then(IngestionState::parse)
        .unwrap_or(IngestionState::Pending);
    SourceStatus {
        source_id,
        state,
        error_code: text("ErrorCode"),
        failure_status: text("FailureStatus"),
        details: text("Details"),
    }
}

/// Reads the `details` of a REST operation status into per-source statuses, in the order of
/// `source_ids`. A source the answer does not list is `Queued`.
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
                        .and_then(IngestionState::parse)
                        .unwrap_or(IngestionState::InProgress),
                    error_code: field(detail, "errorCode"),
                    failure_status: field(detail, "failureStatus"),
                    details: field(detail, "details"),
                },
                None => SourceStatus::new(*id, IngestionState::Queued),
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
    pub(crate) fn decode(text: &str) -> Result<Self> {
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
        assert_eq!(failed.state, IngestionState::Failed);
        assert_eq!(
            failed.error_code.as_deref(),
            Some("BadRequest_InvalidMapping")
        );
        let pending = from_entity(id, &json!({"Status": "Pending", "ErrorCode": ""}));
        assert_eq!(pending.state, IngestionState::Pending);
        assert_eq!(pending.error_code, None);

        let other = Uuid::new_v4();
        let body = json!({"status": {"succeeded": 1}, "details": [
            {"sourceId": id.to_string().to_uppercase(), "status": "Succeeded"},
            {"sourceId": other.to_string(), "status": "InProgress"}]});
        let status = from_rest(&[id, other, Uuid::new_v4()], &body);
        assert_eq!(status.sources[0].state, IngestionState::Succeeded);
        assert_eq!(status.sources[1].state, IngestionState::InProgress);
        assert_eq!(status.sources[2].state, IngestionState::Queued);
        assert!(!status.is_final());
    }

    /// The service's names, each read back to the state of the same name; the REST `Queued`
    /// (accepted, not started) is not final.
    #[test]
    fn states_carry_the_service_names() {
        for name in [
            "Pending",
            "Queued",
            "InProgress",
            "Succeeded",
            "PartiallySucceeded",
            "Skipped",
            "Failed",
            "Canceled",
        ] {
            let state = IngestionState::parse(name).unwrap();
            assert_eq!(state.as_str(), name);
            assert_eq!(IngestionState::parse(&name.to_lowercase()), Some(state));
        }
        assert_eq!(
            IngestionState::parse("Cancelled"),
            Some(IngestionState::Canceled)
        );
        assert_eq!(IngestionState::parse("Whatever"), None);
        assert!(!IngestionState::Queued.is_final());
        assert!(!IngestionState::InProgress.is_final());
        assert!(IngestionState::Skipped.is_final() && !IngestionState::Skipped.is_failure());
        assert!(IngestionState::PartiallySucceeded.is_failure());
    }

    /// A skip is reported as a skip, not as a success; a partial success is a failure.
    #[test]
    fn skips_and_partial_successes_are_told_apart() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let status = IngestionStatus {
            sources: vec![
                SourceStatus::new(a, IngestionState::Succeeded),
                SourceStatus::new(b, IngestionState::Skipped),
            ],
        };
        assert!(status.is_final());
        assert!(!status.all_succeeded());
        assert_eq!(status.skipped().count(), 1);
        assert_eq!(status.failures().count(), 0);
        let partial = IngestionStatus {
            sources: vec![from_entity(
                a,
                &json!({"Status": "PartiallySucceeded", "ErrorCode": "Stream_ClosingQuoteMissing", "Details": "2 records dropped"}),
            )],
        };
        assert_eq!(partial.partial().count(), 1);
        assert_eq!(partial.failures().count(), 1);
        assert!(
            partial
                .to_string()
                .contains("PartiallySucceeded (Stream_ClosingQuoteMissing)")
        );
    }

    /// An untracked operation (not asked for, or not possible) cannot be waited on: `status`
    /// and `wait` say so at once, with the reason, instead of reporting a state.
    #[tokio::test]
    async fn untracked_operations_cannot_be_waited_on() {
        let mut operation = IngestionOperation {
            database: "db".into(),
            table: "t".into(),
            source_ids: vec![Uuid::new_v4()],
            blobs: vec!["https://a.blob.core.windows.net/c/b".into()],
            tracking: Tracking::not_asked(),
            client: None,
        };
        assert!(!operation.is_tracked());
        match operation.wait(Duration::from_secs(1)).await {
            Err(Error::NotTracked(reason)) => assert!(reason.contains("with_tracking"), "{reason}"),
            other => panic!("{other:?}"),
        }
        operation.tracking = Tracking::None {
            reason: Some("the cluster lists no status table".into()),
        };
        match operation.status().await {
            Err(Error::NotTracked(reason)) => assert!(reason.contains("no status table")),
            other => panic!("{other:?}"),
        }
        // The reason survives serialization; the old untracked form still reads.
        let text = serde_json::to_string(&operation).unwrap();
        let back: IngestionOperation = serde_json::from_str(&text).unwrap();
        assert_eq!(back.untracked_reason(), operation.untracked_reason());
        let old = text.replace(r#","reason":"the cluster lists no status table""#, "");
        assert!(old.contains(r#"{"kind":"none"}"#), "{old}");
        let back: IngestionOperation = serde_json::from_str(&old).unwrap();
        assert!(!back.is_tracked());
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
