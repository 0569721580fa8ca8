//! Ingestion commands: `.ingest inline`, `.get ingestion resources`, and the
//! `.show ingestion failures` / `.show streamingingestion failures` tables.

use serde_json::Value as Json;
use uuid::Uuid;

use super::cursor::Cursor;
use super::{CommandContext, store_error};
use crate::dm::DataManagement;
use crate::errors::ServiceError;
use crate::ingest::{self, DataFormat, IngestRequest};
use crate::mapping::parse_mapping;
use crate::store::{FailureKind, IngestionFailure, Store};
use crate::time;
use crate::v1::V1Table;
use crate::value::{KustoType, Value};

pub(super) fn data_management<'a>(
    ctx: &CommandContext<'a>,
) -> Result<&'a DataManagement, ServiceError> {
    ctx.dm.ok_or_else(|| {
        ServiceError::new(
            400,
            "BadRequest_NotSupported",
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "Queued ingestion is not available: this Kusto emulator runs without storage. Start it \
             with Azurite (EmulatorBuilder::azurite, or kusto-emulator --azurite) to get ingestion \
             resources.",
            true,
        )
    })
}

/// `.get ingestion resources` / `.show ingestion resources` (kusto-protocol.md 6.2).
pub(super) fn ingestion_resources(ctx: &CommandContext<'_>) -> Result<Vec<V1Table>, ServiceError> {
    let dm = data_management(ctx)?;
    let rows = dm
        .resources()
        .iter()
        .map(|r| {
            vec![
                Value::String(r.kind.to_owned()),
                Value::String(r.url.to_string()),
            ]
        })
        .collect();
    Ok(vec![V1Table::new(
        &[
            ("ResourceTypeName", KustoType::String),
            ("StorageRoot", KustoType::String),
        ],
        rows,
    )])
}

pub(super) fn fnv128(text: &str) -> u128 {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in text.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    hash
}

pub(super) fn ingestion_failures(store: &Store) -> V1Table {
    V1Table::new(
        &[
            ("OperationId", KustoType::Guid),
            ("Database", KustoType::String),
            ("Table", KustoType::String),
            ("FailedOn", KustoType::DateTime),
            ("IngestionSourcePath", KustoType::String),
            ("Details", KustoType::String),
            ("FailureKind", KustoType::String),
            ("RootActivityId", KustoType::Guid),
            ("OperationKind", KustoType::String),
            ("OriginatesFromUpdatePolicy", KustoType::Bool),
            ("ErrorCode", KustoType::String),
            ("Principal", KustoType::String),
            ("ShouldRetry", KustoType::Bool),
            ("User", KustoType::String),
            ("IngestionProperties", KustoType::String),
            ("NumberOfSources", KustoType::Int),
        ],
        store
            .ingestion_failures()
            .into_iter()
            .map(|f| {
                vec![
                    Value::Guid(f.operation_id),
                    Value::String(f.database),
                    Value::String(f.table),
                    Value::DateTime(f.failed_on),
                    Value::String(f.ingestion_source_path),
                    Value::String(f.details),
                    Value::String(f.failure_kind.as_str().into()),
                    Value::Guid(f.root_activity_id),
                    Value::String(f.operation_kind),
                    Value::Bool(false),
                    Value::String(f.error_code),
                    Value::String(String::new()),
                    Value::Bool(f.should_retry),
                    Value::String(String::new()),
                    Value::String(f.ingestion_properties),
                    Value::Int(1),
                ]
            })
            .collect(),
    )
}

pub(super) fn streaming_failures(store: &Store) -> V1Table {
    V1Table::new(
        &[
            ("Database", KustoType::String),
            ("Table", KustoType::String),
            ("Principal", KustoType::String),
            ("RootActivityId", KustoType::Guid),
            ("IngestionProperties", KustoType::Dynamic),
            ("Count", KustoType::Long),
            ("FirstFailureOn", KustoType::DateTime),
            ("LastFailureOn", KustoType::DateTime),
            ("FailureKind", KustoType::String),
            ("ErrorCode", KustoType::String),
            ("Details", KustoType::String),
        ],
        store
            .ingestion_failures()
            .into_iter()
            .filter(|f| f.operation_kind == "StreamingIngestion")
            .map(|f| {
                vec![
                    Value::String(f.database),
                    Value::String(f.table),
                    Value::String(String::new()),
                    Value::Guid(f.root_activity_id),
                    Value::Dynamic(
                        serde_json::from_str(&f.ingestion_properties).unwrap_or(Json::Null),
                    ),
                    Value::Long(1),
                    Value::DateTime(f.failed_on),
                    Value::DateTime(f.failed_on),
                    Value::String(f.failure_kind.as_str().into()),
                    Value::String(f.error_code),
                    Value::String(f.details),
                ]
            })
            .collect(),
    )
}

pub(super) fn ingest_inline(
    ctx: &CommandContext<'_>,
    c: &mut Cursor<'_>,
    data: &str,
) -> Result<Vec<V1Table>, ServiceError> {
    c.expect_word("inline")?;
    c.expect_word("into")?;
    c.expect_word("table")?;
    let table = c.name()?;
    let props = c.with_properties()?;
    c.end()?;
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let format_name = get("format").unwrap_or_else(|| "csv".into());
    let format = DataFormat::parse(&format_name).ok_or_else(|| {
        ServiceError::new(
            400,
            "BadRequest_FormatNotSupported",
            "Kusto.Data.Exceptions.FormatNotSupportedException",
            format!("The format '{format_name}' is not a known data format"),
            true,
        )
    })?;
    let mapping = match (get("ingestionmapping"), get("ingestionmappingreference")) {
        (Some(text), _) => Some(parse_mapping(&text, format.mapping_kind()).map_err(|m| {
            ServiceError::new(
                400,
                "BadRequest_InvalidMapping",
                "Kusto.Data.Exceptions.MappingNotValidException",
                m,
                true,
            )
        })?),
        (None, Some(name)) => Some(
            ctx.store
                .find_mapping(ctx.db, &table, &name, Some(format.mapping_kind()))
                .map_err(|e| store_error(&e))?
                .ok_or_else(|| {
                    ServiceError::new(
                        400,
                        "BadRequest_MappingReferenceWasNotFound",
                        "Kusto.Data.Exceptions.MappingNotFoundException",
                        format!("Entity ID '{name}' of kind 'MappingPersistent' was not found."),
                        true,
                    )
                })?
                .elements,
        ),
        _ => None,
    };
    let body = data.trim_start_matches([' ', '\t']);
    let body = body
        .strip_prefix("\r\n")
        .or_else(|| body.strip_prefix('\n'))
        .unwrap_or(body);
    let ignore_first = get("ignorefirstrecord").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    ctx.store
        .table_schema(ctx.db, &table)
        .map_err(|e| store_error(&e))?;
    let request = IngestRequest {
        database: ctx.db,
        table: &table,
        format,
        data: body.as_bytes(),
        mapping: mapping.as_deref(),
        ignore_first_record: ignore_first,
        source: "inline",
    };
    let operation_id = Uuid::new_v4();
    let properties =
        serde_json::json!({"Format": format_name, "IgnoreFirstRecord": ignore_first}).to_string();
    let record = |code: &str, details: String, kind: FailureKind| {
        ctx.store.record_ingestion_failure(IngestionFailure {
            operation_id,
            database: ctx.db.to_string(),
            table: table.clone(),
            failed_on: time::now_ticks(),
            ingestion_source_path: "inline".into(),
            details,
            failure_kind: kind,
            root_activity_id: ctx.activity_id,
            operation_kind: "DataIngestPull".into(),
            error_code: code.to_string(),
            should_retry: kind == FailureKind::Transient,
            ingestion_properties: properties.clone(),
        });
    };
    match ingest::ingest(ctx.store, &request) {
        Ok(outcome) => {
            if !outcome.skipped.is_empty() {
                record(
                    "BadRequest_UnexpectedCharacterInInputStream",
                    format!("Skipped malformed records: {}", outcome.skipped.join("; ")),
                    FailureKind::Permanent,
                );
            }
            Ok(vec![V1Table::new(
                &[
                    ("ExtentId", KustoType::Guid),
                    ("ItemLoaded", KustoType::String),
                    ("Duration", KustoType::TimeSpan),
                    ("HasErrors", KustoType::Bool),
                    ("OperationId", KustoType::Guid),
                ],
                vec![vec![
                    Value::Guid(Uuid::new_v4()),
                    Value::String("inline".into()),
                    Value::TimeSpan(time::now_ticks().saturating_sub(ctx.now).max(0)),
                    Value::Bool(!outcome.skipped.is_empty()),
                    Value::Guid(operation_id),
                ]],
            )])
        }
        Err(failure) => {
            record(
                failure.code,
                failure.details.clone(),
                FailureKind::Permanent,
            );
            let mut e = ServiceError::bad_request(format!(
                "Ingestion failed ({}): {}",
                failure.code, failure.details
            ));
            e.code = failure.code.to_string();
            Err(e)
        }
    }
}
