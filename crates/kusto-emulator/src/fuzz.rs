//! Entry points for the fuzz targets in `fuzz/` (crate `kusto-fuzz-targets`).
//!
//! **Not part of the emulator's API**: hidden from the documentation, no stability promise.
//! Each function runs one of the emulator's internal parsers the way the HTTP handlers do,
//! without a socket, and gives its result as text, so the fuzz targets can check properties
//! without the internal types being exported.

use serde_json::Map;
use uuid::Uuid;

use crate::commands::{self, CommandContext};
use crate::ingest::{self, DataFormat, IngestRequest};
use crate::kql;
use crate::mapping::{MappingKind, mapping_to_text, parse_mapping};
use crate::request::KustoRequest;
use crate::store::Store;
use crate::v1;

/// Largest decompressed body the fuzz entry points accept (the server's limit is larger; a
/// small one keeps fuzz runs fast).
pub const MAX_BODY: usize = 1024 * 1024;

/// A fixed "now" (2024-01-01T00:00:00Z in 100 ns ticks since 0001-01-01), so runs repeat.
const NOW: i64 = 638_396_640_000_000_000;

/// A parsed request: the parts the handlers use.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The `db` of the body, if any.
    pub db: Option<String>,
    /// The query or command text.
    pub csl: String,
    /// The options (`properties.Options`), keys lower-cased, as JSON text.
    pub options: String,
    /// The parameters (`properties.Parameters`), as JSON text.
    pub parameters: String,
}

fn request_parts(req: &KustoRequest) -> Request {
    Request {
        db: req.db.clone(),
        csl: req.csl.clone(),
        options: serde_json::Value::Object(req.options.clone()).to_string(),
        parameters: serde_json::Value::Object(req.parameters.clone()).to_string(),
    }
}

/// Parses a POST body as the query and management handlers do: gzip detected from the magic
/// bytes, then the JSON request.
pub fn parse_request_body(body: &[u8]) -> Result<Request, String> {
    let bytes = ingest::decompress(body, MAX_BODY).map_err(|f| f.details)?;
    KustoRequest::from_body(&bytes).map(|r| request_parts(&r))
}

/// Parses the query string of a GET request as the query handler does.
pub fn parse_request_query(query: &str) -> Result<Request, String> {
    KustoRequest::from_query(query).map(|r| request_parts(&r))
}

/// Runs a management command against database `db` of `store`; the v1 response body the
/// server would send, or the error message.
pub fn run_command(store: &Store, db: &str, command: &str) -> Result<String, String> {
    let ctx = CommandContext {
        store,
        db,
        activity_id: Uuid::nil(),
        now: NOW,
        version: env!("CARGO_PKG_VERSION"),
        dm: None,
    };
    commands::execute(&ctx, command)
        .map(|tables| v1::write_tables(&tables))
        .map_err(|e| e.message)
}

/// Runs a KQL query against database `db` of `store`, with parameters given as a JSON object;
/// the row count of every result table, or the error message.
pub fn run_query(
    store: &Store,
    db: &str,
    query: &str,
    parameters: &str,
) -> Result<Vec<usize>, String> {
    let params = match serde_json::from_str::<serde_json::Value>(parameters) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => Map::new(),
    };
    kql::run(query, &params, store, db, NOW)
        .map(|tables| tables.iter().map(|t| t.rows.len()).collect())
        .map_err(|e| e.to_string())
}

/// The shape of one result table: its column count and the number of cells of each row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    /// Number of columns.
    pub columns: usize,
    /// Number of cells of each row.
    pub row_widths: Vec<usize>,
}

/// Runs a KQL query as [`run_query`] does; the shape of every result table, or the error
/// message.
pub fn query_shapes(store: &Store, db: &str, query: &str) -> Result<Vec<TableShape>, String> {
    kql::run(query, &Map::new(), store, db, NOW)
        .map(|tables| {
            tables
                .iter()
                .map(|t| TableShape {
                    columns: t.columns.len(),
                    row_widths: t.rows.iter().map(Vec::len).collect(),
                })
                .collect()
        })
        .map_err(|e| e.to_string())
}

/// Ingests `data` (gzip detected from the magic bytes) into `db.table` as the streaming
/// ingestion handler does: format by name, optional inline mapping JSON, all or nothing. The
/// number of rows appended, or `code: details`.
pub fn ingest(
    store: &Store,
    db: &str,
    table: &str,
    format: &str,
    data: &[u8],
    mapping: Option<&str>,
    ignore_first_record: bool,
) -> Result<usize, String> {
    let format = DataFormat::parse(format).ok_or_else(|| format!("unknown format {format}"))?;
    let data = ingest::decompress(data, MAX_BODY).map_err(|f| f.to_string())?;
    let mapping = match mapping {
        Some(text) => Some(parse_mapping(text, format.mapping_kind())?),
        None => None,
    };
    let req = IngestRequest {
        database: db,
        table,
        format,
        data: &data,
        mapping: mapping.as_deref(),
        ignore_first_record,
        source: "fuzz://source",
    };
    ingest::ingest(store, &req)
        .map(|outcome| outcome.rows)
        .map_err(|f| f.to_string())
}

/// Parses ingestion-mapping JSON for a mapping kind (`csv`, `json`, `avro`, `apacheavro`,
/// `parquet`, `orc`, `w3clogfile`) and writes it back in the current format: the canonical
/// text, or the error message.
pub fn mapping_canonical(text: &str, kind: &str) -> Result<String, String> {
    let kind = MappingKind::parse(kind).ok_or_else(|| format!("unknown mapping kind {kind}"))?;
    parse_mapping(text, kind).map(|elements| mapping_to_text(&elements))
}
