//! What is sent to the data-management service: the queue message of the storage-queue protocol
//! and the body of the REST protocol's queued submission. Datetimes carry seven fractional
//! digits and a zone, `RawDataSize` is sent only when the data tells it, values of
//! `AdditionalProperties` are strings, and the identity token is always included; this module's
//! tests compare the message field by field with one the Python SDK 6.0.4 wrote.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::properties::{IngestionMapping, IngestionProperties, format_datetime, kind_name};

/// The largest queue message the storage queue accepts (64 KiB, of the encoded text).
pub(crate) const MAX_QUEUE_MESSAGE: usize = 64 * 1024;

/// Where the status of a source is written, for the queue message.
#[derive(Debug, Clone)]
pub(crate) struct StatusEntity<'a> {
    pub(crate) table: &'a Url,
    pub(crate) partition_key: String,
    pub(crate) row_key: String,
}

/// One source of a queue message.
#[derive(Debug, Clone)]
pub(crate) struct QueuedBlob<'a> {
    pub(crate) url: &'a Url,
    pub(crate) raw_size: Option<u64>,
    pub(crate) source_id: Uuid,
}

/// The properties of `AdditionalProperties` shared by both protocols' wire forms, in the order
/// the other SDKs write them, with string values.
fn additional_properties(properties: &IngestionProperties, rest: bool) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in &properties.additional_properties {
        map.insert(key.clone(), json!(value));
    }
    let tags = properties.tags();
    if !tags.is_empty() {
        map.insert(
            "tags".into(),
            if rest {
                json!(tags)
            } else {
                json!(Value::from(tags).to_string())
            },
        );
    }
    if !properties.ingest_if_not_exists.is_empty() {
        let values = Value::from(properties.ingest_if_not_exists.clone());
        map.insert(
            "ingestIfNotExists".into(),
            if rest {
                values
            } else {
                json!(values.to_string())
            },
        );
    }
    match &properties.mapping {
        Some(IngestionMapping::Columns(_)) => {
            if let Some(text) = properties.mapping_json_text() {
                map.insert("ingestionMapping".into(), json!(text));
            }
            // The REST API has no mapping kind: the format tells it.
            if !rest {
                map.insert(
                    "ingestionMappingType".into(),
                    json!(kind_name(properties.effective_mapping_kind())),
                );
            }
        }
        Some(IngestionMapping::Reference(name)) => {
            map.insert("ingestionMappingReference".into(), json!(name));
            if !rest {
                map.insert(
                    "ingestionMappingType".into(),
                    json!(kind_name(properties.effective_mapping_kind())),
                );
            }
        }
        None => {}
    }
    if let Some(policy) = &properties.validation_policy {
        map.insert(
            if rest {
                "validationPolicy"
            } else {
                "ValidationPolicy"
            }
            .into(),
            json!(policy.to_json_text()),
        );
    }
    map.insert("format".into(), json!(properties.format.wire_name()));
    if rest {
        map.insert(
            "ignoreFirstRecord".into(),
            json!(properties.ignore_first_record),
        );
    } else {
        map.insert(
            "ignoreFirstRecord".into(),
            json!(properties.ignore_first_record.to_string()),
        );
    }
    if let Some(time) = properties.creation_time {
        map.insert("creationTime".into(), json!(format_datetime(time)));
    }
    if let Some(pattern) = &properties.zip_pattern {
        map.insert("zipPattern".into(), json!(pattern));
    }
    map
}

/// The queue message (JSON, before base64) for one blob.
pub(crate) fn queue_message(
    properties: &IngestionProperties,
    blob: &QueuedBlob<'_>,
    authorization_context: &str,
    status: Option<&StatusEntity<'_>>,
    application: &str,
    client_version: &str,
    now: OffsetDateTime,
) -> Value {
    let mut message = Map::new();
    message.insert("BlobPath".into(), json!(blob.url.as_str()));
    if let Some(size) = blob.raw_size.filter(|s| *s > 0) {
        message.insert("RawDataSize".into(), json!(size));
    }
    message.insert("DatabaseName".into(), json!(properties.database));
    message.insert("TableName".into(), json!(properties.table));
    message.insert("RetainBlobOnSuccess".into(), json!(true));
    message.insert(
        "FlushImmediately".into(),
        json!(properties.flush_immediately),
    );
    message.insert(
        "IgnoreSizeLimit".into(),
        json!(properties.ignore_size_limit),
    );
    message.insert(
        "ReportLevel".into(),
        json!(properties.report_level.wire_value()),
    );
    message.insert(
        "ReportMethod".into(),
        json!(properties.report_method.wire_value()),
    );
    message.insert(
        "SourceMessageCreationTime".into(),
        json!(format_datetime(now)),
    );
    message.insert("Id".into(), json!(blob.source_id.to_string()));
    message.insert("ApplicationForTracing".into(), json!(application));
    message.insert("ClientVersionForTracing".into(), json!(client_version));
    if let Some(status) = status {
        message.insert(
            "IngestionStatusInTable".into(),
            json!({
                "TableConnectionString": status.table.as_str(),
                "PartitionKey": status.partition_key,
                "RowKey": status.row_key,
            }),
        );
    }
    let mut additional = Map::new();
    additional.insert("authorizationContext".into(), json!(authorization_context));
    for (key, value) in additional_properties(properties, false) {
        additional.insert(key, value);
    }
    message.insert("AdditionalProperties".into(), Value::Object(additional));
    Value::Object(message)
}

/// The body of `POST /v1/rest/ingestion/queued/{database}/{table}` for `blobs` (all of one
/// format, as the protocol requires).
pub(crate) fn rest_body(
    properties: &IngestionProperties,
    blobs: &[QueuedBlob<'_>],
    track: bool,
    now: OffsetDateTime,
) -> Value {
    let blobs: Vec<Value> = blobs
        .iter()
        .map(|blob| {
            let mut item = Map::new();
            item.insert("url".into(), json!(blob.url.as_str()));
            item.insert("sourceId".into(), json!(blob.source_id.to_string()));
            if let Some(size) = blob.raw_size.filter(|s| *s > 0) {
                item.insert("rawSize".into(), json!(size));
            }
            Value::Object(item)
        })
        .collect();
    let mut props = additional_properties(properties, true);
    props.insert("enableTracking".into(), json!(track));
    props.insert("skipBatching".into(), json!(properties.flush_immediately));
    props.insert(
        "ignoreSizeLimit".into(),
        json!(properties.ignore_size_limit),
    );
    json!({
        "timestamp": format_datetime(now),
        "blobs": blobs,
        "properties": Value::Object(props),
    })
}

/// The queue message text: base64 of the UTF-8 JSON.
pub(crate) fn encode_message(message: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::{
        ColumnMapping, ReportLevel, ReportMethod, ValidationImplications, ValidationOptions,
        ValidationPolicy,
    };
    use kusto_data::DataFormat;

    fn python_properties() -> IngestionProperties {
        IngestionProperties::new("db", "t", DataFormat::Csv)
            .with_mapping(vec![ColumnMapping::csv("A", "string", 0)])
            .with_tag("tag")
            .with_drop_by_tag("db")
            .with_ingest_by_tag("ib")
            .with_ingest_if_not_exists("x")
            .with_flush_immediately(true)
            .with_ignore_first_record(true)
            .with_validation_policy(ValidationPolicy {
                options: ValidationOptions::ValidateCsvInputConstantColumns,
                implications: ValidationImplications::BestEffort,
            })
            .with_report(ReportLevel::FailuresAndSuccesses, ReportMethod::Queue)
            .with_creation_time(time::macros::datetime!(2020-01-01 0:00 UTC))
    }

    /// The message the Python SDK 6.0.4 writes (recorded), compared field by
    /// field; the listed differences are the deliberate ones of the module docs.
    #[test]
    fn queue_message_matches_the_python_sdk_field_by_field() {
        let python: Value = serde_json::from_str(
            r#"{"BlobPath":"https://acc.blob.core.windows.net/c/blob.csv.gz?sig=x","RawDataSize":1234,"DatabaseName":"db","TableName":"t",
 "RetainBlobOnSuccess":true,"FlushImmediately":true,"IgnoreSizeLimit":false,"ReportLevel":2,"ReportMethod":0,
 "SourceMessageCreationTime":"2026-11-24T03:15:05.995288","Id":"11111111-1111-4111-8111-111111111111",
 "ApplicationForTracing":"Kusto.X:{1}","ClientVersionForTracing":"Kusto.Python.Client:{6.0.4}",
 "AdditionalProperties":{"creationTime":"2020-01-01T00:00:00Z","authorizationContext":"AUTHCTX",
   "tags":"[\"tag\",\"drop-by:db\",\"ingest-by:ib\"]","ingestIfNotExists":"[\"x\"]",
   "ingestionMapping":"[{\"column\":\"A\",\"datatype\":\"string\",\"properties\":{\"Ordinal\":\"0\"}}]",
   "ingestionMappingType":"Csv","ValidationPolicy":"{\"ValidationImplications\":1,\"ValidationOptions\":1}",
   "format":"csv","ignoreFirstRecord":true}}"#,
        )
        .unwrap();
        let url = Url::parse("https://acc.blob.core.windows.net/c/blob.csv.gz?sig=x").unwrap();
        let ours = queue_message(
            &python_properties(),
            &QueuedBlob {
                url: &url,
                raw_size: Some(1234),
                source_id: "11111111-1111-4111-8111-111111111111".parse().unwrap(),
            },
            "AUTHCTX",
            None,
            "Kusto.X:{1}",
            "Kusto.Python.Client:{6.0.4}",
            time::macros::datetime!(2026-11-24 03:15:05.995288 UTC),
        );
        let (python, ours) = (python.as_object().unwrap(), ours.as_object().unwrap());
        let keys = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(python), keys(ours), "same keys in the same order");
        for (key, value) in python {
            match key.as_str() {
                "SourceMessageCreationTime" => {
                    assert_eq!(ours[key], "2026-11-24T03:15:05.9952880Z");
                }
                "AdditionalProperties" => {
                    let theirs = value.as_object().unwrap();
                    let mine = ours[key].as_object().unwrap();
                    let mut their_keys = keys(theirs);
                    let mut my_keys = keys(mine);
                    their_keys.sort();
                    my_keys.sort();
                    assert_eq!(their_keys, my_keys);
                    for (k, v) in theirs {
                        match k.as_str() {
                            // A string, as documented, where Python writes a JSON boolean.
                            "ignoreFirstRecord" => assert_eq!(mine[k], "true"),
                            // Seven fractional digits, as the service writes datetimes.
                            "creationTime" => assert_eq!(mine[k], "2020-01-01T00:00:00.0000000Z"),
                            _ => assert_eq!(&mine[k], v, "{k}"),
                        }
                    }
                }
                _ => assert_eq!(&ours[key], value, "{key}"),
            }
        }
    }

    #[test]
    fn rest_body_uses_real_arrays_and_tracking() {
        let url = Url::parse("https://acc.blob.core.windows.net/c/b.csv.gz?sig=x").unwrap();
        let id: Uuid = "11111111-1111-4111-8111-111111111111".parse().unwrap();
        let body = rest_body(
            &python_properties().with_mapping_reference("map1"),
            &[QueuedBlob {
                url: &url,
                raw_size: Some(10),
                source_id: id,
            }],
            true,
            time::macros::datetime!(2025-10-01 12:00 UTC),
        );
        assert_eq!(body["blobs"][0]["url"], url.as_str());
        assert_eq!(body["blobs"][0]["sourceId"], id.to_string());
        assert_eq!(body["blobs"][0]["rawSize"], 10);
        let properties = &body["properties"];
        assert_eq!(properties["format"], "csv");
        assert_eq!(properties["enableTracking"], true);
        assert_eq!(
            properties["tags"],
            json!(["tag", "drop-by:db", "ingest-by:ib"])
        );
        assert_eq!(properties["ingestIfNotExists"], json!(["x"]));
        assert_eq!(properties["ingestionMappingReference"], "map1");
        assert_eq!(properties["ignoreFirstRecord"], true);
        assert_eq!(properties["skipBatching"], true);
        assert!(properties.get("ingestionMapping").is_none());
        assert_eq!(body["timestamp"], "2025-10-01T12:00:00.0000000Z");
    }

    /// Every property our REST body carries is one of the documented request of
    /// REST ingestion API (the Kotlin SDK's example), with the same JSON type.
    #[test]
    fn rest_body_keys_and_types_match_the_documented_request() {
        let documented: Value = serde_json::from_str(
            r#"{"timestamp": "2025-10-01T12:00:00Z",
 "blobs": [{"url": "https://acct.blob.core.windows.net/c/b1.csv.gz?sv=x", "sourceId": "0b6d0000-0000-0000-0000-000000000000", "rawSize": 1048576}],
 "properties": {"format": "csv", "enableTracking": true, "ingestionMappingReference": "map1",
                "tags": ["ingest-by:x"], "ingestIfNotExists": ["x"], "skipBatching": false,
                "deleteAfterDownload": false, "creationTime": "2025-10-01T11:00:00Z",
                "ignoreFirstRecord": false, "validationPolicy": "{}", "zipPattern": ".*\\.csv",
                "ingestionMapping": "[]", "ignoreSizeLimit": false, "ignoreLastRecordIfInvalid": false,
                "extend_schema": false, "recreate_schema": false}}"#,
        )
        .unwrap();
        let url = Url::parse("https://acc.blob.core.windows.net/c/b.csv.gz?sig=x").unwrap();
        let kind = |v: &Value| match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        for properties in [
            python_properties(),
            python_properties()
                .with_mapping_reference("m")
                .with_zip_pattern(".*"),
        ] {
            let body = rest_body(
                &properties,
                &[QueuedBlob {
                    url: &url,
                    raw_size: Some(5),
                    source_id: Uuid::new_v4(),
                }],
                true,
                OffsetDateTime::now_utc(),
            );
            for (key, value) in body.as_object().unwrap() {
                assert_eq!(kind(value), kind(&documented[key]), "{key}");
            }
            for (key, value) in body["blobs"][0].as_object().unwrap() {
                assert_eq!(
                    kind(value),
                    kind(&documented["blobs"][0][key]),
                    "blobs[].{key}"
                );
            }
            for (key, value) in body["properties"].as_object().unwrap() {
                let expected = documented["properties"]
                    .get(key)
                    .unwrap_or_else(|| panic!("{key} is not a documented property"));
                assert_eq!(kind(value), kind(expected), "properties.{key}");
            }
        }
    }

    #[test]
    fn status_table_and_minimal_messages() {
        let url = Url::parse("https://acc.blob.core.windows.net/c/b?sig=x").unwrap();
        let table = Url::parse("https://acc.table.core.windows.net/status?sig=t").unwrap();
        let id = Uuid::new_v4();
        let message = queue_message(
            &IngestionProperties::new("db", "t", DataFormat::Json).with_tracking(),
            &QueuedBlob {
                url: &url,
                raw_size: None,
                source_id: id,
            },
            "token",
            Some(&StatusEntity {
                table: &table,
                partition_key: id.to_string(),
                row_key: id.to_string(),
            }),
            "app",
            "v",
            OffsetDateTime::now_utc(),
        );
        assert!(message.get("RawDataSize").is_none());
        assert_eq!(message["ReportMethod"], 1);
        assert_eq!(
            message["IngestionStatusInTable"]["PartitionKey"],
            id.to_string()
        );
        assert_eq!(message["AdditionalProperties"]["format"], "json");
        assert!(message["AdditionalProperties"].get("tags").is_none());
        let text = encode_message(&message);
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&decoded).unwrap(), message);
    }
}
