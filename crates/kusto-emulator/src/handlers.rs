//! Request handlers: queries (v1 and v2), management commands, streaming ingestion and the
//! authentication metadata.

use http::Method;
use hyper::body::Incoming;
use uuid::Uuid;

use crate::commands::{self, CommandContext, store_error};
use crate::errors::ServiceError;
use crate::fetch;
use crate::ingest::{self, DataFormat, IngestRequest};
use crate::kql;
use crate::mapping::get_ci;
use crate::request::KustoRequest;
use crate::server::{BodyError, Reply, RequestInfo, State, read_body};
use crate::store::{FailureKind, IngestionFailure, StoreError};
use crate::time;
use crate::v1::{self, V1Table};
use crate::v2::{self, Limits, Placement, V2Options};
use crate::value::{KustoType, Value};

/// Streaming ingestion's limit on the request body (kusto-protocol.md 7.2).
pub(crate) const STREAMING_MAX_BODY: usize = 10 * 1024 * 1024;
/// Streaming ingestion's limit on the (uncompressed) data.
pub(crate) const STREAMING_MAX_DATA: usize = 4 * 1024 * 1024;
/// Default result-set limits.
const DEFAULT_MAX_RECORDS: u64 = 500_000;
const DEFAULT_MAX_SIZE: u64 = 64 * 1024 * 1024;

const NOT_SHOW_ON_QUERY: &str = "Control commands (starting with a dot '.') cannot be served from the query endpoint unless they are .show control commands.";
const NOT_ON_V2: &str = "Control commands (starting with a dot '.') do not support api_version=v2";

pub(crate) async fn route(state: &State, info: &RequestInfo, body: Incoming) -> Reply {
    let corr = &info.corr;
    let path = info.path.as_str();
    let method = &info.method;
    let result = match path {
        "/v1/rest/auth/metadata" if method == Method::GET => Ok(auth_metadata()),
        "/v1/rest/query" | "/v2/rest/query" if method == Method::GET || method == Method::POST => {
            query(state, info, body, path == "/v2/rest/query").await
        }
        "/v1/rest/mgmt" if method == Method::POST => mgmt(state, info, body).await,
        p if p.starts_with("/v1/rest/ingest/") && method == Method::POST => {
            streaming_ingest(state, info, body).await
        }
        p if p.starts_with("/v1/rest/ingestion/")
            && state.dm.as_ref().is_some_and(|dm| dm.options().rest_api) =>
        {
            rest_ingestion(state, info, body).await
        }
        "/v1/rest/query" | "/v2/rest/query" | "/v1/rest/mgmt" | "/v1/rest/auth/metadata" => {
            Err(ServiceError::new(
                405,
                "MethodNotAllowed",
                "Kusto.Data.Exceptions.KustoBadRequestException",
                format!("The method {method} is not allowed on {path}"),
                true,
            ))
        }
        _ => Err(not_found(path)),
    };
    result.unwrap_or_else(|e| Reply::error(&e, corr, info.accept_json))
}

/// The REST ingestion API (kusto-protocol.md 1.5); only routed when it is on.
async fn rest_ingestion(
    state: &State,
    info: &RequestInfo,
    body: Incoming,
) -> Result<Reply, ServiceError> {
    let Some(dm) = state.dm.as_deref() else {
        return Err(not_found(&info.path));
    };
    let segments: Vec<String> = info
        .path
        .trim_start_matches("/v1/rest/ingestion/")
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&info.method, segments.as_slice()) {
        (&Method::GET, ["configuration"]) => {
            Ok(Reply::json(200, crate::dm::rest::configuration(dm)))
        }
        (&Method::POST, ["queued", db, table]) => {
            let bytes = body_bytes(body, state.config.max_request_body).await?;
            Ok(Reply::json(
                200,
                crate::dm::rest::submit(dm, db, table, &bytes)?,
            ))
        }
        (&Method::GET, ["queued", db, table, operation_id]) => {
            let details = url::form_urlencoded::parse(info.query.as_bytes())
                .any(|(k, v)| k.eq_ignore_ascii_case("details") && v.eq_ignore_ascii_case("true"));
            Ok(Reply::json(
                200,
                crate::dm::rest::status(dm, db, table, operation_id, details)?,
            ))
        }
        (_, ["configuration"] | ["queued", _, _] | ["queued", _, _, _]) => Err(ServiceError::new(
            405,
            "MethodNotAllowed",
            "Kusto.Data.Exceptions.KustoBadRequestException",
            format!("The method {} is not allowed on {}", info.method, info.path),
            true,
        )),
        _ => Err(not_found(&info.path)),
    }
}

fn not_found(path: &str) -> ServiceError {
    ServiceError::new(
        404,
        "NotFound",
        "Kusto.Data.Exceptions.KustoBadRequestException",
        format!("The requested endpoint '{path}' does not exist on the Kusto emulator"),
        true,
    )
}

fn auth_metadata() -> Reply {
    Reply::json(
        200,
        "{\"AzureAD\":{\"LoginEndpoint\":\"https://login.microsoftonline.com\",\"LoginMfaRequired\":false,\"KustoClientAppId\":\"db662dc1-0cfe-4e1c-a843-19a68e65be58\",\"KustoClientRedirectUri\":\"https://microsoft/kustoclient\",\"KustoServiceResourceId\":\"https://kusto.kusto.windows.net\",\"FirstPartyAuthorityUrl\":\"https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a\"},\"dSTS\":null}".to_string(),
    )
}

async fn body_bytes(body: Incoming, limit: usize) -> Result<Vec<u8>, ServiceError> {
    match read_body(body, limit).await {
        Ok(b) => Ok(b),
        Err(BodyError::TooLarge) => Err(ServiceError::payload_too_large(limit)),
        Err(BodyError::Io(e)) => Err(ServiceError::bad_request(format!(
            "The request body could not be read: {e}"
        ))),
    }
}

async fn parse_request(
    state: &State,
    info: &RequestInfo,
    body: Incoming,
) -> Result<KustoRequest, ServiceError> {
    if info.method == Method::GET {
        return KustoRequest::from_query(&info.query).map_err(ServiceError::bad_request);
    }
    let bytes = body_bytes(body, state.config.max_request_body).await?;
    let bytes = ingest::decompress(&bytes, state.config.max_request_body)
        .map_err(|f| ServiceError::bad_request(f.details))?;
    KustoRequest::from_body(&bytes).map_err(ServiceError::bad_request)
}

/// The database a request runs against: created on first use when allowed.
fn resolve_db(state: &State, requested: Option<&str>) -> Result<String, ServiceError> {
    let name = requested.unwrap_or(&state.config.default_database);
    if state.config.auto_create_databases {
        state
            .store
            .ensure_database(name)
            .map_err(|e| store_error(&e))
    } else {
        state
            .store
            .database_name(name)
            .ok_or_else(|| store_error(&StoreError::DatabaseNotFound(name.to_string())))
    }
}

fn limits(req: &KustoRequest) -> Limits {
    let records = req.option_u64("truncationmaxrecords");
    let size = req.option_u64("truncationmaxsize");
    if req.option_bool("notruncation") == Some(true) && records.is_none() && size.is_none() {
        return Limits {
            max_records: None,
            max_size: None,
        };
    }
    Limits {
        max_records: Some(records.unwrap_or(DEFAULT_MAX_RECORDS)),
        max_size: Some(size.unwrap_or(DEFAULT_MAX_SIZE)),
    }
}

async fn query(
    state: &State,
    info: &RequestInfo,
    body: Incoming,
    is_v2: bool,
) -> Result<Reply, ServiceError> {
    let mut req = parse_request(state, info, body).await?;
    let text = req.csl.trim_start();
    if text.starts_with('.') {
        if is_v2 {
            return Err(ServiceError::gateway(NOT_ON_V2));
        }
        if !text
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case(".show"))
        {
            return Err(ServiceError::gateway(NOT_SHOW_ON_QUERY));
        }
        return run_command(state, info, &req);
    }
    let db = resolve_db(state, req.db.as_deref())?;
    let now = time::now_ticks();
    let (mut tables, set_options) =
        kql::run_script(&req.csl, &req.parameters, &state.store, &db, now)
            .map_err(|e| ServiceError::query(&e, &req.csl, &db))?;
    // `set name [= value];` statements override the request's options of the same name.
    for (name, value) in set_options {
        req.options.insert(
            name.to_ascii_lowercase(),
            value.map_or(serde_json::Value::Bool(true), serde_json::Value::String),
        );
    }
    if let Some(cap) = req.option_u64("query_take_max_records") {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        for t in &mut tables {
            t.rows.truncate(cap);
        }
    }
    let limits = limits(&req);
    if !is_v2 {
        return Ok(Reply::json(
            200,
            v1::write_query_response(&tables, limits, &info.corr, now),
        ));
    }
    let placement = match req.option_str("results_error_reporting_placement") {
        None => Placement::InData,
        Some(p) => Placement::parse(&p).ok_or_else(|| {
            ServiceError::bad_request(format!(
                "Request is invalid and cannot be processed: the value '{p}' of option 'results_error_reporting_placement' is not one of in_data, end_of_table, end_of_dataset"
            ))
        })?,
    };
    let options = V2Options {
        fragmented: req.option_bool("results_v2_fragment_primary_tables") == Some(true),
        progressive: req.option_bool("results_progressive_enabled") == Some(true),
        placement,
        defer_partial_failures: req.option_bool("deferpartialqueryfailures") == Some(true),
        limits,
        fragment_rows: state.config.fragment_rows,
    };
    Ok(Reply::json(
        200,
        v2::write_response(&tables, &options, &info.corr, now),
    ))
}

async fn mgmt(state: &State, info: &RequestInfo, body: Incoming) -> Result<Reply, ServiceError> {
    let req = parse_request(state, info, body).await?;
    if !req.csl.trim_start().starts_with('.') {
        return Err(ServiceError::command_syntax(&req.csl, ""));
    }
    run_command(state, info, &req)
}

fn run_command(
    state: &State,
    info: &RequestInfo,
    req: &KustoRequest,
) -> Result<Reply, ServiceError> {
    // The data-management commands (`.get ingestion resources`, `.get kusto identity token`)
    // answer whatever databases exist: every SDK sends them to `NetDefaultDB`, which need not
    // exist (and is not created for them).
    let dm_command = req
        .csl
        .trim_start()
        .get(..4)
        .is_some_and(|s| s.eq_ignore_ascii_case(".get"));
    let db = if dm_command {
        req.db
            .clone()
            .unwrap_or_else(|| state.config.default_database.clone())
    } else {
        resolve_db(state, req.db.as_deref())?
    };
    let ctx = CommandContext {
        store: &state.store,
        db: &db,
        activity_id: info.corr.activity_id,
        now: time::now_ticks(),
        version: env!("CARGO_PKG_VERSION"),
        dm: state.dm.as_deref(),
    };
    let tables = commands::execute(&ctx, &req.csl)?;
    Ok(Reply::json(200, v1::write_tables(&tables)))
}

/// A URL path segment with its `%XX` escapes decoded (malformed escapes kept as they are,
/// invalid UTF-8 replaced).
fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn streaming_error(code: &str, db: &str, table: &str, reason: &str) -> ServiceError {
    let mut e = ServiceError::new(
        400,
        code,
        "Kusto.DataNode.Exceptions.StreamingIngestionRequestException",
        format!("Bad streaming ingestion request to {db}.{table} : {reason}"),
        true,
    );
    e.failure_code = Some(400);
    e
}

async fn streaming_ingest(
    state: &State,
    info: &RequestInfo,
    body: Incoming,
) -> Result<Reply, ServiceError> {
    if !state.config.streaming_ingestion {
        let mut e = ServiceError::new(
            404,
            "StreamingIngestionDisabledForCluster",
            "Kusto.DataNode.Exceptions.StreamingIngestionFunctionalityDisabledException",
            "StreamingIngestionFunctionalityDisabled: streaming ingestion is not enabled on this cluster",
            true,
        );
        e.failure_code = Some(404);
        return Err(e);
    }
    let segments: Vec<String> = info
        .path
        .trim_start_matches("/v1/rest/ingest/")
        .split('/')
        .map(percent_decode)
        .collect();
    let [db_name, table] = segments.as_slice() else {
        return Err(ServiceError::new(
            404,
            "NotFound",
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "Streaming ingestion URLs have the form /v1/rest/ingest/{database}/{table}",
            true,
        ));
    };
    let mut format_name = None;
    let mut mapping_name = None;
    let mut source_kind = None;
    for (k, v) in url::form_urlencoded::parse(info.query.as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "streamformat" => format_name = Some(v.into_owned()),
            "mappingname" => mapping_name = Some(v.into_owned()).filter(|s| !s.is_empty()),
            "sourcekind" => source_kind = Some(v.into_owned()),
            _ => {}
        }
    }
    let bytes = body_bytes(body, STREAMING_MAX_BODY).await?;
    let db = resolve_db(state, Some(db_name)).map_err(|_| {
        streaming_error(
            "BadRequest_DatabaseNotExist",
            db_name,
            table,
            &format!("Entity ID '{db_name}' of kind 'Database' was not found."),
        )
    })?;
    let format_name = format_name.ok_or_else(|| {
        streaming_error(
            "BadRequest_MalformedIngestionProperty",
            &db,
            table,
            "the query parameter 'streamFormat' is required",
        )
    })?;
    let format = DataFormat::parse(&format_name).ok_or_else(|| {
        streaming_error(
            "BadRequest_FormatNotSupported",
            &db,
            table,
            &format!("The format '{format_name}' is not a known data format"),
        )
    })?;
    let (table_policy, db_policy) = state.store.streaming_policies(&db, table).map_err(|_| {
        streaming_error(
            "BadRequest_EntityNotFound",
            &db,
            table,
            &format!("Entity ID '{table}' of kind 'Table' was not found."),
        )
    })?;
    if !table_policy
        .or(db_policy)
        .unwrap_or(state.config.streaming_policy_default)
    {
        return Err(streaming_error(
            "BadRequest_StreamingIngestionPolicyNotEnabled",
            &db,
            table,
            "Streaming ingestion policy is not enabled for the table (StreamingIngestionPolicyNotEnabled)",
        ));
    }
    let mapping = match &mapping_name {
        None => None,
        Some(name) => Some(
            state
                .store
                .find_mapping(&db, table, name, Some(format.mapping_kind()))
                .map_err(|e| store_error(&e))?
                .ok_or_else(|| {
                    streaming_error(
                        "BadRequest_MappingReferenceWasNotFound",
                        &db,
                        table,
                        &format!("Entity ID '{name}' of kind 'MappingPersistent' was not found."),
                    )
                })?
                .elements,
        ),
    };
    let (raw, source) = if source_kind
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case("uri"))
    {
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            streaming_error(
                "BadRequest_MalformedIngestionProperty",
                &db,
                table,
                &format!("the body of a sourceKind=uri request must be JSON: {e}"),
            )
        })?;
        let uri = json
            .as_object()
            .and_then(|o| get_ci(o, "sourceUri"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                streaming_error(
                    "BadRequest_EmptyBlobUri",
                    &db,
                    table,
                    "the body has no 'sourceUri'",
                )
            })?
            .to_string();
        let data = fetch::get(&state.http, &uri, STREAMING_MAX_BODY)
            .await
            .map_err(|e| streaming_error(e.code, &db, table, &e.message))?;
        let shown = uri.split('?').next().unwrap_or_default().to_string();
        (data, shown)
    } else {
        (bytes, "stream".to_string())
    };
    let operation_id = Uuid::new_v4();
    let properties = serde_json::json!({"Format": format_name, "Mapping": mapping_name, "Compressed": raw.starts_with(&[0x1f, 0x8b]), "IngestionSource": source}).to_string();
    let record = |code: &str, details: &str| {
        state.store.record_ingestion_failure(IngestionFailure {
            operation_id,
            database: db.clone(),
            table: table.clone(),
            failed_on: time::now_ticks(),
            ingestion_source_path: source.clone(),
            details: details.to_string(),
            failure_kind: FailureKind::Permanent,
            root_activity_id: info.corr.activity_id,
            operation_kind: "StreamingIngestion".into(),
            error_code: code.to_string(),
            should_retry: false,
            ingestion_properties: properties.clone(),
        });
    };
    let data = match ingest::decompress(&raw, STREAMING_MAX_DATA) {
        Ok(d) => d,
        Err(f) => {
            record(f.code, &f.details);
            return Err(streaming_error(f.code, &db, table, &f.details));
        }
    };
    if data.len() > STREAMING_MAX_DATA {
        let reason = format!(
            "The input stream is too large: its size exceeds the maximum allowed size of {STREAMING_MAX_DATA} bytes for streaming ingestion (Stream_InputStreamTooLarge)"
        );
        record("Stream_InputStreamTooLarge", &reason);
        return Err(streaming_error(
            "Stream_InputStreamTooLarge",
            &db,
            table,
            &reason,
        ));
    }
    let request = IngestRequest {
        database: &db,
        table,
        format,
        data: &data,
        mapping: mapping.as_deref(),
        ignore_first_record: false,
        source: &source,
    };
    match ingest::ingest(&state.store, &request) {
        // Malformed records of the `json` format were ignored, as the service documents: the
        // ingestion succeeds and records no failure.
        Ok(outcome) => {
            let table = V1Table::new(
                &[
                    ("ConsumedRecordsCount", KustoType::Long),
                    ("UpdatePolicyStatus", KustoType::String),
                    ("UpdatePolicyFailureCode", KustoType::String),
                    ("UpdatePolicyFailureReason", KustoType::String),
                ],
                vec![vec![
                    Value::Long(outcome.rows as i64),
                    Value::String("Inactive".into()),
                    Value::String("Unknown".into()),
                    Value::Null,
                ]],
            );
            Ok(Reply::json(200, v1::write_tables(&[table])))
        }
        Err(failure) => {
            record(failure.code, &failure.details);
            Err(streaming_error(failure.code, &db, table, &failure.details))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_path_segments() {
        assert_eq!(percent_decode("My%20Table"), "My Table");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
