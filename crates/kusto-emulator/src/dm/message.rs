//! Reading what a client asks the data-management service to ingest: the base64 JSON queue
//! message of the queue protocol (kusto-protocol.md 6.4) and the JSON body of the REST protocol
//! (1.5), both turned into one [`IngestionSpec`].
//!
//! Keys are matched case-insensitively (Java sends camelCase bean names), enums are accepted as
//! numbers or names, booleans as JSON booleans or strings, and `tags` / `ingestIfNotExists` as
//! JSON arrays or as strings holding a JSON array.

use base64::Engine as _;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::mapping::get_ci;
use crate::time;

/// `ReportLevel` of a queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportLevel {
    /// 0: report failures only (the service's default).
    FailuresOnly,
    /// 1: report nothing.
    None,
    /// 2: report failures and successes.
    FailuresAndSuccesses,
}

/// `ReportMethod` of a queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportMethod {
    /// 0: the success and failure notification queues.
    Queue,
    /// 1: the status-table entity named in `IngestionStatusInTable`.
    Table,
    /// 2: both.
    QueueAndTable,
}

impl ReportMethod {
    /// Whether notification-queue messages are written.
    pub(crate) fn to_queue(self) -> bool {
        matches!(self, ReportMethod::Queue | ReportMethod::QueueAndTable)
    }

    /// Whether the status-table entity is updated.
    pub(crate) fn to_table(self) -> bool {
        matches!(self, ReportMethod::Table | ReportMethod::QueueAndTable)
    }
}

/// Where a message asks its status entity to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusTableRef {
    /// The table URL with its SAS (`TableConnectionString`).
    pub table_url: String,
    /// `PartitionKey` of the entity.
    pub partition_key: String,
    /// `RowKey` of the entity.
    pub row_key: String,
}

/// One source to ingest, whatever protocol brought it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IngestionSpec {
    /// The source id (`Id` of the message, `sourceId` of a REST blob; generated when absent).
    pub source_id: Uuid,
    /// The blob URL with its SAS.
    pub blob_url: String,
    /// The uncompressed size the client announced.
    pub raw_size: Option<u64>,
    /// Target database.
    pub database: String,
    /// Target table.
    pub table: String,
    /// The format name as given (default `csv`).
    pub format: String,
    /// `ingestionMappingReference` (or the legacy `mappingReference`).
    pub mapping_reference: Option<String>,
    /// `ingestionMapping`: the mapping as JSON text.
    pub mapping: Option<String>,
    /// `ingestionMappingType`.
    pub mapping_kind: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `ingestIfNotExists`.
    pub ingest_if_not_exists: Vec<String>,
    /// `ignoreFirstRecord`.
    pub ignore_first_record: bool,
    /// `creationTime` (datetime ticks).
    pub creation_time: Option<i64>,
    /// Keep the blob after a successful ingestion.
    pub retain_blob: bool,
    /// Skip batching.
    pub flush_immediately: bool,
    /// Ingest sources larger than the size limit.
    pub ignore_size_limit: bool,
    /// `authorizationContext` (queue protocol only).
    pub authorization_context: Option<String>,
    /// The ingestion properties as given, for `.show ingestion failures`.
    pub properties_text: String,
}

/// A queue message with its reporting instructions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueuedMessage {
    /// What to ingest.
    pub spec: IngestionSpec,
    /// `ReportLevel`.
    pub report_level: ReportLevel,
    /// `ReportMethod`.
    pub report_method: ReportMethod,
    /// `IngestionStatusInTable`.
    pub status_table: Option<StatusTableRef>,
}

/// Why a message or request could not be read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MessageError {
    /// The ingestion error code (`BadRequest_CorruptedMessage`, ...).
    pub code: &'static str,
    /// What is wrong.
    pub details: String,
    /// As much of the message as could be read, so that the failure can still be reported
    /// where the client asked (`None` when the text is not a JSON object at all).
    pub partial: Option<Box<QueuedMessage>>,
}

fn error(code: &'static str, details: impl Into<String>) -> MessageError {
    MessageError {
        code,
        details: details.into(),
        partial: None,
    }
}

/// The text of a queue message: base64 (standard alphabet, padding optional) of UTF-8 JSON, or
/// raw JSON.
pub(crate) fn decode_text(text: &str) -> Result<Map<String, Json>, MessageError> {
    let trimmed = text.trim();
    let json_text = if trimmed.starts_with('{') {
        trimmed.to_owned()
    } else {
        let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact))
            .map_err(|e| {
                error(
                    "BadRequest_CorruptedMessage",
                    format!("The queue message is neither base64 nor JSON: {e}"),
                )
            })?;
        String::from_utf8(bytes).map_err(|_| {
            error(
                "BadRequest_CorruptedMessage",
                "The queue message does not decode to UTF-8 text",
            )
        })?
    };
    match serde_json::from_str::<Json>(&json_text) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(error(
            "BadRequest_CorruptedMessage",
            "The queue message is not a JSON object",
        )),
        Err(e) => Err(error(
            "BadRequest_CorruptedMessage",
            format!("The queue message is not valid JSON: {e}"),
        )),
    }
}

fn string(object: &Map<String, Json>, key: &str) -> Option<String> {
    match get_ci(object, key)? {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn boolean(object: &Map<String, Json>, key: &str) -> Result<Option<bool>, String> {
    match get_ci(object, key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(Json::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
        Some(Json::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
        Some(other) => Err(format!("'{key}' must be a boolean, not {other}")),
    }
}

/// A string array given as a JSON array or as a string holding one.
fn string_list(object: &Map<String, Json>, key: &str) -> Result<Vec<String>, String> {
    let value = match get_ci(object, key) {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(Json::String(s)) => serde_json::from_str::<Json>(s)
            .map_err(|e| format!("'{key}' must hold a JSON array of strings: {e}"))?,
        Some(other) => other.clone(),
    };
    match value {
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::String(s) => Ok(s),
                other => Err(format!("'{key}' must hold strings only, not {other}")),
            })
            .collect(),
        other => Err(format!("'{key}' must be an array of strings, not {other}")),
    }
}

fn report_level(value: Option<&Json>) -> Result<ReportLevel, String> {
    let level = match value {
        None | Some(Json::Null) => return Ok(ReportLevel::FailuresOnly),
        Some(Json::Number(n)) => match n.as_u64() {
            Some(0) => ReportLevel::FailuresOnly,
            Some(1) => ReportLevel::None,
            Some(2) => ReportLevel::FailuresAndSuccesses,
            _ => return Err(format!("unknown ReportLevel {n}")),
        },
        Some(Json::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "failuresonly" => ReportLevel::FailuresOnly,
            "1" | "none" | "donotreport" => ReportLevel::None,
            "2" | "failuresandsuccesses" => ReportLevel::FailuresAndSuccesses,
            _ => return Err(format!("unknown ReportLevel '{s}'")),
        },
        Some(other) => {
            return Err(format!(
                "ReportLevel must be a number or a name, not {other}"
            ));
        }
    };
    Ok(level)
}

fn report_method(value: Option<&Json>) -> Result<ReportMethod, String> {
    let method = match value {
        None | Some(Json::Null) => return Ok(ReportMethod::Queue),
        Some(Json::Number(n)) => match n.as_u64() {
            Some(0) => ReportMethod::Queue,
            Some(1) => ReportMethod::Table,
            Some(2) => ReportMethod::QueueAndTable,
            _ => return Err(format!("unknown ReportMethod {n}")),
        },
        Some(Json::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "queue" => ReportMethod::Queue,
            "1" | "table" => ReportMethod::Table,
            "2" | "queueandtable" => ReportMethod::QueueAndTable,
            _ => return Err(format!("unknown ReportMethod '{s}'")),
        },
        Some(other) => {
            return Err(format!(
                "ReportMethod must be a number or a name, not {other}"
            ));
        }
    };
    Ok(method)
}

/// The ingestion properties common to both protocols, read from `properties` (the queue
/// message's `AdditionalProperties` or the REST body's `properties`).
fn read_properties(spec: &mut IngestionSpec, properties: &Map<String, Json>) -> Result<(), String> {
    if let Some(format) = string(properties, "format").filter(|f| !f.trim().is_empty()) {
        spec.format = format;
    }
    spec.mapping_reference = string(properties, "ingestionMappingReference")
        .or_else(|| string(properties, "mappingReference"))
        .filter(|s| !s.is_empty());
    spec.mapping = match get_ci(properties, "ingestionMapping") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.trim().is_empty() => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other @ Json::Array(_)) => Some(other.to_string()),
        Some(other) => {
            return Err(format!(
                "'ingestionMapping' must be a JSON text, not {other}"
            ));
        }
    };
    spec.mapping_kind = string(properties, "ingestionMappingType").filter(|s| !s.is_empty());
    spec.tags = string_list(properties, "tags")?;
    spec.ingest_if_not_exists = string_list(properties, "ingestIfNotExists")?;
    spec.ignore_first_record = boolean(properties, "ignoreFirstRecord")?.unwrap_or(false);
    spec.creation_time = match string(properties, "creationTime").filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(
            time::parse_datetime(&text)
                .ok_or_else(|| format!("'creationTime' is not a datetime: '{text}'"))?,
        ),
    };
    spec.authorization_context =
        string(properties, "authorizationContext").filter(|s| !s.is_empty());
    if let Some(b) = boolean(properties, "ignoreSizeLimit")? {
        spec.ignore_size_limit = b;
    }
    Ok(())
}

fn empty_spec() -> IngestionSpec {
    IngestionSpec {
        source_id: Uuid::nil(),
        blob_url: String::new(),
        raw_size: None,
        database: String::new(),
        table: String::new(),
        format: "csv".to_owned(),
        mapping_reference: None,
        mapping: None,
        mapping_kind: None,
        tags: Vec::new(),
        ingest_if_not_exists: Vec::new(),
        ignore_first_record: false,
        creation_time: None,
        retain_blob: false,
        flush_immediately: false,
        ignore_size_limit: false,
        authorization_context: None,
        properties_text: String::new(),
    }
}

/// Reads a queue message (the text as stored in the queue).
pub(crate) fn parse_queue_message(text: &str) -> Result<QueuedMessage, MessageError> {
    let object = decode_text(text)?;
    let mut message = QueuedMessage {
        spec: empty_spec(),
        report_level: ReportLevel::FailuresOnly,
        report_method: ReportMethod::Queue,
        status_table: None,
    };
    // Routing first, so that a failure later on can still be reported where asked.
    let mut problems = Vec::new();
    match report_level(get_ci(&object, "ReportLevel")) {
        Ok(level) => message.report_level = level,
        Err(e) => problems.push(e),
    }
    match report_method(get_ci(&object, "ReportMethod")) {
        Ok(method) => message.report_method = method,
        Err(e) => problems.push(e),
    }
    if let Some(Json::Object(status)) = get_ci(&object, "IngestionStatusInTable") {
        match (
            string(status, "TableConnectionString"),
            string(status, "PartitionKey"),
            string(status, "RowKey"),
        ) {
            (Some(table_url), Some(partition_key), Some(row_key)) => {
                message.status_table = Some(StatusTableRef {
                    table_url,
                    partition_key,
                    row_key,
                });
            }
            _ => problems.push(
                "IngestionStatusInTable needs TableConnectionString, PartitionKey and RowKey"
                    .to_owned(),
            ),
        }
    }
    let spec = &mut message.spec;
    match string(&object, "Id").map(|id| Uuid::parse_str(id.trim())) {
        Some(Ok(id)) => spec.source_id = id,
        Some(Err(_)) => problems.push("'Id' is not a GUID".to_owned()),
        None => problems.push("the message has no 'Id'".to_owned()),
    }
    spec.database = string(&object, "DatabaseName").unwrap_or_default();
    spec.table = string(&object, "TableName").unwrap_or_default();
    spec.blob_url = string(&object, "BlobPath").unwrap_or_default();
    spec.raw_size = match get_ci(&object, "RawDataSize") {
        Some(Json::Number(n)) => n.as_u64(),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let mut flag = |key: &str| match boolean(&object, key) {
        Ok(value) => value.unwrap_or(false),
        Err(e) => {
            problems.push(e);
            false
        }
    };
    spec.retain_blob = flag("RetainBlobOnSuccess");
    spec.flush_immediately = flag("FlushImmediately");
    spec.ignore_size_limit = flag("IgnoreSizeLimit");
    match get_ci(&object, "AdditionalProperties") {
        Some(Json::Object(properties)) => {
            spec.properties_text = Json::Object(properties.clone()).to_string();
            if let Err(e) = read_properties(spec, properties) {
                problems.push(e);
            }
        }
        None | Some(Json::Null) => {}
        Some(_) => problems.push("'AdditionalProperties' must be an object".to_owned()),
    }
    let code = if spec.database.trim().is_empty() {
        Some((
            "BadRequest_EmptyDatabaseName",
            "the message has no 'DatabaseName'",
        ))
    } else if spec.table.trim().is_empty() {
        Some((
            "BadRequest_InvalidOrEmptyTableName",
            "the message has no 'TableName'",
        ))
    } else if spec.blob_url.trim().is_empty() {
        Some(("BadRequest_EmptyBlobUri", "the message has no 'BlobPath'"))
    } else {
        None
    };
    if let Some((code, details)) = code {
        return Err(MessageError {
            code,
            details: details.to_owned(),
            partial: Some(Box::new(message)),
        });
    }
    if !problems.is_empty() {
        return Err(MessageError {
            code: "BadRequest_MalformedIngestionProperty",
            details: problems.join("; "),
            partial: Some(Box::new(message)),
        });
    }
    Ok(message)
}

/// One blob of a REST request, as given.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RestBlob {
    /// `url`.
    pub url: String,
    /// `sourceId` (generated when absent).
    pub source_id: Uuid,
    /// `rawSize`.
    pub raw_size: Option<u64>,
}

/// A validated REST submission (`POST /v1/rest/ingestion/queued/{db}/{table}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RestRequest {
    /// The blobs.
    pub blobs: Vec<RestBlob>,
    /// The properties applied to every blob (source id, URL and size are per blob).
    pub template: IngestionSpec,
    /// `enableTracking`.
    pub enable_tracking: bool,
}

/// Reads and validates the body of a REST submission. Errors are client errors (HTTP 400).
pub(crate) fn parse_rest_request(
    body: &[u8],
    database: &str,
    table: &str,
    max_blobs: usize,
) -> Result<RestRequest, String> {
    let object = match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(object)) => object,
        Ok(_) => return Err("the body must be a JSON object".to_owned()),
        Err(e) => return Err(format!("the body is not valid JSON: {e}")),
    };
    let properties = match get_ci(&object, "properties") {
        Some(Json::Object(p)) => p.clone(),
        None | Some(Json::Null) => return Err("'properties' is required".to_owned()),
        Some(_) => return Err("'properties' must be an object".to_owned()),
    };
    if string(&properties, "format").is_none_or(|f| f.trim().is_empty()) {
        return Err("'properties.format' is required".to_owned());
    }
    let Some(Json::Array(items)) = get_ci(&object, "blobs") else {
        return Err("'blobs' must be an array".to_owned());
    };
    if items.is_empty() {
        return Err("'blobs' must not be empty".to_owned());
    }
    if items.len() > max_blobs {
        return Err(format!(
            "{} blobs were given, more than the {max_blobs} allowed per request (maxBlobsPerBatch)",
            items.len()
        ));
    }
    let mut template = empty_spec();
    template.database = database.to_owned();
    template.table = table.to_owned();
    template.properties_text = Json::Object(properties.clone()).to_string();
    read_properties(&mut template, &properties)?;
    template.flush_immediately = boolean(&properties, "skipBatching")?.unwrap_or(false);
    template.retain_blob = !boolean(&properties, "deleteAfterDownload")?.unwrap_or(false);
    let enable_tracking = boolean(&properties, "enableTracking")?.unwrap_or(false);
    let mut blobs: Vec<RestBlob> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Json::Object(blob) = item else {
            return Err(format!("blobs[{i}] must be an object"));
        };
        let url = string(blob, "url")
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| format!("blobs[{i}].url is required"))?;
        if let Some(format) = string(blob, "format")
            && !format.eq_ignore_ascii_case(&template.format)
        {
            return Err(format!(
                "blobs[{i}] has format '{format}' but the request's format is '{}': one format per request",
                template.format
            ));
        }
        let without_query = |u: &str| u.split('?').next().unwrap_or_default().to_owned();
        if blobs
            .iter()
            .any(|b| without_query(&b.url) == without_query(&url))
        {
            return Err(format!(
                "blobs[{i}] repeats the URL '{}'",
                without_query(&url)
            ));
        }
        let source_id = match string(blob, "sourceId") {
            None => Uuid::new_v4(),
            Some(id) => Uuid::parse_str(id.trim())
                .map_err(|_| format!("blobs[{i}].sourceId '{id}' is not a GUID"))?,
        };
        let raw_size = match get_ci(blob, "rawSize") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => Some(
                n.as_u64()
                    .ok_or_else(|| format!("blobs[{i}].rawSize must be a non-negative integer"))?,
            ),
            Some(_) => return Err(format!("blobs[{i}].rawSize must be a number")),
        };
        blobs.push(RestBlob {
            url,
            source_id,
            raw_size,
        });
    }
    Ok(RestRequest {
        blobs,
        template,
        enable_tracking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn python_message_is_read() {
        let json = r#"{"BlobPath":"http://127.0.0.1:1/a/c/blob.csv.gz?sig=x","RawDataSize":1234,"DatabaseName":"db","TableName":"t",
 "RetainBlobOnSuccess":true,"FlushImmediately":true,"IgnoreSizeLimit":false,"ReportLevel":2,"ReportMethod":0,
 "SourceMessageCreationTime":"2026-11-24T03:15:05.995288","Id":"11111111-1111-4111-8111-111111111111",
 "ApplicationForTracing":"Kusto.X:{1}","ClientVersionForTracing":"Kusto.Python.Client:{6.0.4}",
 "AdditionalProperties":{"creationTime":"2020-01-01T00:00:00Z","authorizationContext":"AUTHCTX",
   "tags":"[\"tag\",\"drop-by:db\",\"ingest-by:ib\"]","ingestIfNotExists":"[\"x\"]",
   "ingestionMapping":"[{\"column\":\"A\",\"datatype\":\"string\",\"properties\":{\"Ordinal\":\"0\"}}]",
   "ingestionMappingType":"Csv","ValidationPolicy":"{\"ValidationImplications\":1,\"ValidationOptions\":1}",
   "format":"csv","ignoreFirstRecord":true}}"#;
        let message = parse_queue_message(&b64(json)).unwrap();
        let spec = &message.spec;
        assert_eq!(
            spec.source_id.to_string(),
            "11111111-1111-4111-8111-111111111111"
        );
        assert_eq!(spec.database, "db");
        assert_eq!(spec.table, "t");
        assert_eq!(spec.raw_size, Some(1234));
        assert!(spec.retain_blob && spec.flush_immediately && !spec.ignore_size_limit);
        assert_eq!(message.report_level, ReportLevel::FailuresAndSuccesses);
        assert_eq!(message.report_method, ReportMethod::Queue);
        assert_eq!(spec.tags, ["tag", "drop-by:db", "ingest-by:ib"]);
        assert_eq!(spec.ingest_if_not_exists, ["x"]);
        assert_eq!(spec.mapping_kind.as_deref(), Some("Csv"));
        assert!(spec.mapping.as_deref().unwrap().contains("Ordinal"));
        assert!(spec.ignore_first_record);
        assert_eq!(spec.authorization_context.as_deref(), Some("AUTHCTX"));
        assert_eq!(
            spec.creation_time,
            time::parse_datetime("2020-01-01T00:00:00Z")
        );
        // Raw JSON is tolerated too.
        assert_eq!(parse_queue_message(json).unwrap(), message);
    }

    #[test]
    fn java_style_keys_and_enum_names() {
        let json = r#"{"id":"5b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1b","blobPath":"http://h/a/c/x.json","databaseName":"Emu",
            "tableName":"Events","reportLevel":"FailuresAndSuccesses","reportMethod":"QueueAndTable",
            "ingestionStatusInTable":{"tableConnectionString":"http://h/a/status?sig=1","partitionKey":"p","rowKey":"r"},
            "additionalProperties":{"format":"multijson","tags":["a","b"],"ignoreFirstRecord":"false","mappingReference":"m"}}"#;
        let message = parse_queue_message(&b64(json)).unwrap();
        assert_eq!(message.report_level, ReportLevel::FailuresAndSuccesses);
        assert_eq!(message.report_method, ReportMethod::QueueAndTable);
        assert_eq!(
            message.status_table,
            Some(StatusTableRef {
                table_url: "http://h/a/status?sig=1".into(),
                partition_key: "p".into(),
                row_key: "r".into()
            })
        );
        assert_eq!(message.spec.format, "multijson");
        assert_eq!(message.spec.tags, ["a", "b"]);
        assert_eq!(message.spec.mapping_reference.as_deref(), Some("m"));
        assert!(!message.spec.retain_blob);
    }

    #[test]
    fn broken_messages_are_typed_errors_with_what_could_be_read() {
        for text in ["", "%%%", &b64("[1,2]"), &b64("{\"Id\":"), "{nope"] {
            let e = parse_queue_message(text).unwrap_err();
            assert_eq!(e.code, "BadRequest_CorruptedMessage", "{text}: {e:?}");
            assert!(e.partial.is_none());
        }
        let e = parse_queue_message(&b64(
            r#"{"Id":"5b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1b","BlobPath":"http://h/x","DatabaseName":"d","TableName":"t",
                "ReportLevel":2,"AdditionalProperties":{"tags":"not json"}}"#,
        ))
        .unwrap_err();
        assert_eq!(e.code, "BadRequest_MalformedIngestionProperty");
        assert!(e.details.contains("tags"), "{}", e.details);
        let partial = e.partial.unwrap();
        assert_eq!(partial.report_level, ReportLevel::FailuresAndSuccesses);
        assert_eq!(partial.spec.database, "d");
        let e = parse_queue_message(&b64(
            r#"{"Id":"5b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1b","BlobPath":"http://h/x","TableName":"t"}"#,
        ))
        .unwrap_err();
        assert_eq!(e.code, "BadRequest_EmptyDatabaseName");
        let e = parse_queue_message(&b64(
            r#"{"Id":"x","BlobPath":"http://h/x","DatabaseName":"d","TableName":"t","ReportLevel":7}"#,
        ))
        .unwrap_err();
        assert_eq!(e.code, "BadRequest_MalformedIngestionProperty");
        assert!(
            e.details.contains("ReportLevel") && e.details.contains("GUID"),
            "{}",
            e.details
        );
    }

    #[test]
    fn rest_bodies_are_validated() {
        let ok = br#"{"timestamp":"2025-10-01T12:00:00Z","blobs":[{"url":"http://h/a/c/b1.csv?sv=1","sourceId":"0b6d5c1a-0000-4000-8000-000000000001","rawSize":10},
            {"url":"http://h/a/c/b2.csv?sv=1"}],
            "properties":{"format":"csv","enableTracking":true,"tags":["t1"],"ingestIfNotExists":["x"],"skipBatching":true,
            "deleteAfterDownload":false,"ingestionMappingReference":"m","unknownKey":1}}"#;
        let request = parse_rest_request(ok, "Emu", "T", 20).unwrap();
        assert_eq!(request.blobs.len(), 2);
        assert_eq!(request.blobs[0].raw_size, Some(10));
        assert!(request.enable_tracking);
        assert!(request.template.flush_immediately && request.template.retain_blob);
        assert_eq!(request.template.tags, ["t1"]);
        assert_eq!(request.template.mapping_reference.as_deref(), Some("m"));
        let cases: &[(&[u8], &str)] = &[
            (b"nope", "not valid JSON"),
            (b"[]", "JSON object"),
            (br#"{"blobs":[{"url":"u"}]}"#, "'properties' is required"),
            (br#"{"blobs":[{"url":"u"}],"properties":{}}"#, "format"),
            (br#"{"blobs":[],"properties":{"format":"csv"}}"#, "must not be empty"),
            (br#"{"blobs":[{}],"properties":{"format":"csv"}}"#, "url is required"),
            (
                br#"{"blobs":[{"url":"http://h/x?a"},{"url":"http://h/x?b"}],"properties":{"format":"csv"}}"#,
                "repeats",
            ),
            (
                br#"{"blobs":[{"url":"http://h/x","format":"json"}],"properties":{"format":"csv"}}"#,
                "one format per request",
            ),
            (
                br#"{"blobs":[{"url":"http://h/x","sourceId":"zz"}],"properties":{"format":"csv"}}"#,
                "not a GUID",
            ),
            (
                br#"{"blobs":[{"url":"http://h/x"}],"properties":{"format":"csv","tags":"[1]"}}"#,
                "strings only",
            ),
        ];
        for (body, expected) in cases {
            let e = parse_rest_request(body, "Emu", "T", 20).unwrap_err();
            assert!(e.contains(expected), "{e} lacks {expected}");
        }
        let many = format!(
            r#"{{"blobs":[{}],"properties":{{"format":"csv"}}}}"#,
            (0..3)
                .map(|i| format!(r#"{{"url":"http://h/{i}"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let e = parse_rest_request(many.as_bytes(), "Emu", "T", 2).unwrap_err();
        assert!(e.contains("maxBlobsPerBatch"), "{e}");
    }
}
