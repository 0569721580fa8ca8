//! What the data-management service reports about a source: the notification-queue messages
//! (kusto-protocol.md 6.7) and the status-table entity (6.6).

use base64::Engine as _;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::message::IngestionSpec;
use crate::time;

/// `FailureStatus` of a failed source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureStatus {
    /// Retrying the same source fails again.
    Permanent,
    /// A retry may succeed.
    Transient,
    /// Transient failures were retried until the attempts ran out.
    Exhausted,
}

impl FailureStatus {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailureStatus::Permanent => "Permanent",
            FailureStatus::Transient => "Transient",
            FailureStatus::Exhausted => "Exhausted",
        }
    }
}

/// Why a source was not (fully) ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceFailure {
    /// The ingestion error code name (6.8).
    pub code: &'static str,
    /// What went wrong.
    pub details: String,
    /// Permanent, transient or exhausted.
    pub status: FailureStatus,
}

impl SourceFailure {
    /// A permanent failure.
    pub(crate) fn permanent(code: &'static str, details: impl Into<String>) -> Self {
        SourceFailure {
            code,
            details: details.into(),
            status: FailureStatus::Permanent,
        }
    }
}

/// The end state of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceResult {
    /// Every record was ingested.
    Succeeded {
        /// Rows appended.
        rows: usize,
    },
    /// Nothing was ingested because of `ingestIfNotExists`.
    Skipped {
        /// Why.
        details: String,
    },
    /// Nothing was ingested.
    Failed(SourceFailure),
}

impl SourceResult {
    /// The status-table `Status` value.
    pub(crate) fn status_name(&self) -> &'static str {
        match self {
            SourceResult::Succeeded { .. } => "Succeeded",
            SourceResult::Skipped { .. } => "Skipped",
            SourceResult::Failed(_) => "Failed",
        }
    }

    /// The failure, for failed sources.
    pub(crate) fn failure(&self) -> Option<&SourceFailure> {
        match self {
            SourceResult::Failed(failure) => Some(failure),
            _ => None,
        }
    }
}

/// The blob URL without its SAS, as reports show it.
pub(crate) fn source_path(spec: &IngestionSpec) -> String {
    spec.blob_url
        .split(['?', ';'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn base64_json(value: &Json) -> String {
    base64::engine::general_purpose::STANDARD.encode(value.to_string())
}

/// The base64 text of a success-queue message.
pub(crate) fn success_message(
    spec: &IngestionSpec,
    operation_id: Uuid,
    activity_id: Uuid,
) -> String {
    base64_json(&json!({
        "OperationId": operation_id.to_string(),
        "Database": spec.database,
        "Table": spec.table,
        "SucceededOn": time::format_datetime(time::now_ticks()),
        "IngestionSourceId": spec.source_id.to_string(),
        "IngestionSourcePath": source_path(spec),
        "RootActivityId": activity_id.to_string(),
    }))
}

/// The base64 text of a failure-queue message.
pub(crate) fn failure_message(
    spec: &IngestionSpec,
    failure: &SourceFailure,
    operation_id: Uuid,
    activity_id: Uuid,
) -> String {
    base64_json(&json!({
        "OperationId": operation_id.to_string(),
        "Database": spec.database,
        "Table": spec.table,
        "FailedOn": time::format_datetime(time::now_ticks()),
        "IngestionSourceId": spec.source_id.to_string(),
        "IngestionSourcePath": source_path(spec),
        "Details": failure.details,
        "ErrorCode": failure.code,
        "FailureStatus": failure.status.as_str(),
        "RootActivityId": activity_id.to_string(),
        "OriginatesFromUpdatePolicy": false,
        "ShouldRetry": failure.status != FailureStatus::Permanent,
    }))
}

/// The properties merged into the status-table entity for a final result.
pub(crate) fn status_entity(
    spec: &IngestionSpec,
    result: &SourceResult,
    operation_id: Uuid,
    activity_id: Uuid,
) -> Map<String, Json> {
    let mut entity = Map::new();
    let mut put = |key: &str, value: Json| {
        entity.insert(key.to_owned(), value);
    };
    put("Status", result.status_name().into());
    put("IngestionSourceId", spec.source_id.to_string().into());
    put("IngestionSourceId@odata.type", "Edm.Guid".into());
    put("IngestionSourcePath", source_path(spec).into());
    put("Database", spec.database.clone().into());
    put("Table", spec.table.clone().into());
    put("UpdatedOn", time::format_datetime(time::now_ticks()).into());
    put("UpdatedOn@odata.type", "Edm.DateTime".into());
    put("OperationId", operation_id.to_string().into());
    put("OperationId@odata.type", "Edm.Guid".into());
    put("ActivityId", activity_id.to_string().into());
    put("ActivityId@odata.type", "Edm.Guid".into());
    let (code, status, details) = match result {
        SourceResult::Skipped { details } => (String::new(), String::new(), details.clone()),
        other => match other.failure() {
            Some(f) => (
                f.code.to_owned(),
                f.status.as_str().to_owned(),
                f.details.clone(),
            ),
            None => (String::new(), String::new(), String::new()),
        },
    };
    put("ErrorCode", code.into());
    put("FailureStatus", status.into());
    put("Details", details.into());
    put("OriginatesFromUpdatePolicy", false.into());
    entity
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dm::message::parse_queue_message;

    fn decode(text: &str) -> Json {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn messages_and_entities_have_the_documented_fields() {
        let message = parse_queue_message(
            r#"{"Id":"5b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1b","BlobPath":"http://h/a/c/x.csv.gz?sv=1&sig=secret",
                "DatabaseName":"Emu","TableName":"Events"}"#,
        )
        .unwrap();
        let spec = &message.spec;
        let op = Uuid::new_v4();
        let activity = Uuid::new_v4();
        let failure = SourceFailure::permanent("BadRequest_InvalidMapping", "bad mapping");
        let failed = decode(&failure_message(spec, &failure, op, activity));
        assert_eq!(failed["ErrorCode"], "BadRequest_InvalidMapping");
        assert_eq!(failed["FailureStatus"], "Permanent");
        assert_eq!(failed["ShouldRetry"], false);
        assert_eq!(failed["OriginatesFromUpdatePolicy"], false);
        assert_eq!(failed["IngestionSourcePath"], "http://h/a/c/x.csv.gz");
        assert_eq!(failed["IngestionSourceId"], spec.source_id.to_string());
        assert_eq!(failed["OperationId"], op.to_string());
        assert!(failed["FailedOn"].as_str().unwrap().ends_with('Z'));
        let succeeded = decode(&success_message(spec, op, activity));
        assert_eq!(succeeded["Database"], "Emu");
        assert_eq!(succeeded["Table"], "Events");
        assert_eq!(succeeded["RootActivityId"], activity.to_string());
        assert!(succeeded.get("SucceededOn").is_some());
        for text in [
            failure_message(spec, &failure, op, activity),
            success_message(spec, op, activity),
        ] {
            assert!(!decode(&text).to_string().contains("secret"));
        }
        let entity = status_entity(spec, &SourceResult::Failed(failure), op, activity);
        assert_eq!(entity["Status"], "Failed");
        assert_eq!(entity["ErrorCode"], "BadRequest_InvalidMapping");
        assert_eq!(entity["FailureStatus"], "Permanent");
        let entity = status_entity(spec, &SourceResult::Succeeded { rows: 3 }, op, activity);
        assert_eq!(entity["Status"], "Succeeded");
        assert_eq!(entity["ErrorCode"], "");
    }
}
