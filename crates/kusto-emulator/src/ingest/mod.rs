//! Ingestion of data into tables: formats, decompression, mappings and value parsing
//! (kusto-protocol.md sections 8 and 9). Used by streaming ingestion, `.ingest inline` and (part 2)
//! the data-management worker.
//!
//! A failure never panics and never half-ingests: either the rows of a source are appended or
//! none, and the caller records the [`IngestFailure`] in `.show ingestion failures`. The one
//! documented exception is the `json` format (JSON lines), whose malformed records the service
//! ignores silently: the other records are ingested and the ingestion succeeds.

mod delimited;
mod parquet;

use std::io::Read;

use serde_json::Value as Json;

use crate::mapping::{MappingElement, MappingKind, Transform, follow_path, parse_json_path};
use crate::parse_value::{from_json, parse_field};
use crate::store::{AppendOutcome, Column, ExtentOptions, Row, Store};
use crate::time;
use crate::value::{KustoType, Value};

use delimited::{Dialect, check_field_counts, parse_records};

/// A data format (kusto-protocol.md 8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataFormat {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// Tab-separated values with backslash escapes.
    Tsve,
    /// Semicolon-separated values.
    Scsv,
    /// Pipe-separated values.
    Psv,
    /// SOH-separated values.
    Sohsv,
    /// One field per line.
    Txt,
    /// The whole payload as one value.
    Raw,
    /// JSON Lines.
    Json,
    /// JSON objects separated by whitespace, or an array of objects.
    MultiJson,
    /// One JSON object.
    SingleJson,
    /// Parquet.
    Parquet,
    /// Avro (not supported by the emulator).
    Avro,
    /// Apache Avro (not supported by the emulator).
    ApacheAvro,
    /// ORC (not supported by the emulator).
    Orc,
    /// W3C log files (not supported by the emulator).
    W3CLogFile,
    /// Cosmos structured streams (not supported by the emulator).
    SStream,
}

impl DataFormat {
    /// Parses a format name case-insensitively.
    pub(crate) fn parse(name: &str) -> Option<DataFormat> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "csv" => DataFormat::Csv,
            "tsv" => DataFormat::Tsv,
            "tsve" => DataFormat::Tsve,
            "scsv" => DataFormat::Scsv,
            "psv" => DataFormat::Psv,
            "sohsv" => DataFormat::Sohsv,
            "txt" => DataFormat::Txt,
            "raw" => DataFormat::Raw,
            "json" => DataFormat::Json,
            "multijson" => DataFormat::MultiJson,
            "singlejson" => DataFormat::SingleJson,
            "parquet" => DataFormat::Parquet,
            "avro" => DataFormat::Avro,
            "apacheavro" => DataFormat::ApacheAvro,
            "orc" => DataFormat::Orc,
            "w3clogfile" => DataFormat::W3CLogFile,
            "sstream" => DataFormat::SStream,
            _ => return None,
        })
    }

    /// The mapping kind of the format.
    pub(crate) fn mapping_kind(self) -> MappingKind {
        match self {
            DataFormat::Json | DataFormat::MultiJson | DataFormat::SingleJson => MappingKind::Json,
            DataFormat::Parquet => MappingKind::Parquet,
            DataFormat::Avro | DataFormat::SStream => MappingKind::Avro,
            DataFormat::ApacheAvro => MappingKind::ApacheAvro,
            DataFormat::Orc => MappingKind::Orc,
            DataFormat::W3CLogFile => MappingKind::W3CLogFile,
            _ => MappingKind::Csv,
        }
    }

    /// Whether the emulator can read the format.
    pub(crate) fn is_supported(self) -> bool {
        !matches!(
            self,
            DataFormat::Avro
                | DataFormat::ApacheAvro
                | DataFormat::Orc
                | DataFormat::W3CLogFile
                | DataFormat::SStream
        )
    }

    fn dialect(self) -> Option<Dialect> {
        let delimiter = match self {
            DataFormat::Csv => ',',
            DataFormat::Tsv | DataFormat::Tsve => '\t',
            DataFormat::Scsv => ';',
            DataFormat::Psv => '|',
            DataFormat::Sohsv => '\u{1}',
            _ => return None,
        };
        Some(Dialect {
            delimiter,
            backslash_escapes: self == DataFormat::Tsve,
        })
    }
}

/// Why a source could not be ingested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {details}")]
pub(crate) struct IngestFailure {
    /// The ingestion error code name (kusto-protocol.md 6.8).
    pub code: &'static str,
    /// What went wrong.
    pub details: String,
    /// Whether a retry cannot help.
    pub permanent: bool,
}

impl IngestFailure {
    /// A permanent failure.
    pub(crate) fn permanent(code: &'static str, details: impl Into<String>) -> Self {
        IngestFailure {
            code,
            details: details.into(),
            permanent: true,
        }
    }
}

/// One source to ingest.
#[derive(Debug, Clone)]
pub(crate) struct IngestRequest<'a> {
    /// Target database.
    pub database: &'a str,
    /// Target table.
    pub table: &'a str,
    /// Data format.
    pub format: DataFormat,
    /// The data, already decompressed (see [`decompress`]).
    pub data: &'a [u8],
    /// The mapping; `None` for identity mapping.
    pub mapping: Option<&'a [MappingElement]>,
    /// Skip the first record (a header row).
    pub ignore_first_record: bool,
    /// The source's location, for the `SourceLocation` transform.
    pub source: &'a str,
}

/// What an ingestion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IngestOutcome {
    /// Rows appended.
    pub rows: usize,
    /// Records ignored as malformed (the `json` format ignores malformed lines silently, as the
    /// service documents); kept for tests and diagnostics.
    pub skipped: Vec<String>,
}

/// Decompresses gzip data, detected from the magic bytes (never trusted from a header), with a
/// cap on the decompressed size. Other data is returned as is.
pub(crate) fn decompress(data: &[u8], max: usize) -> Result<Vec<u8>, IngestFailure> {
    if data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b {
        let mut out = Vec::new();
        let mut decoder = flate2::read::MultiGzDecoder::new(data).take(max as u64 + 1);
        decoder.read_to_end(&mut out).map_err(|e| {
            IngestFailure::permanent(
                "BadRequest_InvalidArchive",
                format!("The gzip data could not be decompressed: {e}"),
            )
        })?;
        return Ok(out);
    }
    if data.starts_with(b"PK\x03\x04") {
        return Err(IngestFailure::permanent(
            "BadRequest_FormatNotSupported",
            "zip archives are not supported by the Kusto emulator in this path",
        ));
    }
    Ok(data.to_vec())
}

/// Decompresses a blob of queued ingestion: gzip (as [`decompress`]) or a zip archive, both
/// detected from the magic bytes. The files of a zip archive are concatenated in archive order
/// (directories are skipped); an archive without files is `BadRequest_EmptyArchive`. At most
/// `max` decompressed bytes are accepted (`BadRequest_FileTooLarge` beyond).
pub(crate) fn decompress_archive(data: &[u8], max: usize) -> Result<Vec<u8>, IngestFailure> {
    let is_zip = data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06");
    let out = if is_zip {
        let invalid = |e: zip::result::ZipError| {
            IngestFailure::permanent(
                "BadRequest_InvalidArchive",
                format!("The zip archive could not be read: {e}"),
            )
        };
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data)).map_err(invalid)?;
        let mut out = Vec::new();
        let mut files = 0;
        for i in 0..archive.len() {
            let entry = archive.by_index(i).map_err(invalid)?;
            if entry.is_dir() {
                continue;
            }
            files += 1;
            let budget = (max + 1).saturating_sub(out.len()) as u64;
            entry.take(budget).read_to_end(&mut out).map_err(|e| {
                IngestFailure::permanent(
                    "BadRequest_InvalidArchive",
                    format!("A file of the zip archive could not be decompressed: {e}"),
                )
            })?;
            if out.len() > max {
                break;
            }
        }
        if files == 0 {
            return Err(IngestFailure::permanent(
                "BadRequest_EmptyArchive",
                "The zip archive contains no files",
            ));
        }
        out
    } else {
        decompress(data, max)?
    };
    if out.len() > max {
        return Err(IngestFailure::permanent(
            "BadRequest_FileTooLarge",
            format!(
                "The data is larger than the {max} bytes the Kusto emulator accepts per source"
            ),
        ));
    }
    Ok(out)
}

/// Parses a source into rows of the table's schema without appending them.
pub(crate) fn parse_rows(
    columns: &[Column],
    req: &IngestRequest<'_>,
) -> Result<ParsedRows, IngestFailure> {
    if !req.format.is_supported() {
        return Err(IngestFailure::permanent(
            "BadRequest_FormatNotSupported",
            format!(
                "The format '{}' is not supported by the Kusto emulator (supported: csv, tsv, tsve, scsv, psv, sohsv, txt, raw, json, multijson, singlejson, parquet)",
                format!("{:?}", req.format).to_lowercase()
            ),
        ));
    }
    if let Some(mapping) = req.mapping
        && let Some(e) = mapping
            .iter()
            .find(|e| !columns.iter().any(|c| c.name == e.column))
    {
        return Err(IngestFailure::permanent(
            "BadRequest_InvalidMapping",
            format!(
                "The mapping refers to column '{}', which table '{}' does not have",
                e.column, req.table
            ),
        ));
    }
    let text_data = || String::from_utf8_lossy(req.data).into_owned();
    match req.format {
        DataFormat::Json | DataFormat::MultiJson | DataFormat::SingleJson | DataFormat::Parquet => {
            let (records, skipped) = match req.format {
                DataFormat::Parquet => (parquet::read_records(req.data)?, Vec::new()),
                f => read_json(&text_data(), f)?,
            };
            let mut rows = Vec::with_capacity(records.len());
            for (i, record) in records
                .iter()
                .enumerate()
                .skip(usize::from(req.ignore_first_record))
            {
                rows.push(map_json_record(columns, req, record, i + 1)?);
            }
            Ok(ParsedRows { rows, skipped })
        }
        format => {
            let text = text_data();
            let mut records = match format {
                DataFormat::Raw => vec![vec![text]],
                DataFormat::Txt => text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| vec![l.to_string()])
                    .collect(),
                f => {
                    let dialect = f.dialect().ok_or_else(|| {
                        IngestFailure::permanent(
                            "BadRequest_FormatNotSupported",
                            "unsupported format",
                        )
                    })?;
                    let records = parse_records(&text, dialect)?;
                    check_field_counts(&records)?;
                    records
                }
            };
            if req.ignore_first_record && !records.is_empty() {
                records.remove(0);
            }
            let rows = records
                .iter()
                .enumerate()
                .map(|(i, fields)| map_csv_record(columns, req, fields, i + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ParsedRows {
                rows,
                skipped: Vec::new(),
            })
        }
    }
}

/// Rows parsed from a source, and the records skipped as malformed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedRows {
    /// The parsed rows, in the table's column order.
    pub rows: Vec<Row>,
    /// Descriptions of skipped malformed records.
    pub skipped: Vec<String>,
}

/// Parses a source and appends its rows to the table as one untagged extent (all or nothing).
pub(crate) fn ingest(
    store: &Store,
    req: &IngestRequest<'_>,
) -> Result<IngestOutcome, IngestFailure> {
    ingest_extent(store, req, &ExtentOptions::default()).map(|(outcome, _)| outcome)
}

/// Parses a source and appends its rows as one extent with the given tags, creation time and
/// `ingestIfNotExists` check (all or nothing). An empty source is an error
/// (`Stream_NoDataToIngest`), as is a source whose every record is malformed.
pub(crate) fn ingest_extent(
    store: &Store,
    req: &IngestRequest<'_>,
    options: &ExtentOptions,
) -> Result<(IngestOutcome, AppendOutcome), IngestFailure> {
    let columns = store
        .table_schema(req.database, req.table)
        .map_err(|e| IngestFailure::permanent("BadRequest_EntityNotFound", e.to_string()))?;
    let parsed = parse_rows(&columns, req)?;
    if parsed.rows.is_empty() {
        let details = if parsed.skipped.is_empty() {
            "The input stream is empty after processing, tip:check stream validity".to_string()
        } else {
            format!("No valid records: {}", parsed.skipped.join("; "))
        };
        return Err(IngestFailure::permanent(
            if parsed.skipped.is_empty() {
                "Stream_NoDataToIngest"
            } else {
                "BadRequest_NoRecordsOrWrongFormat"
            },
            details,
        ));
    }
    let appended = store
        .append_extent(req.database, req.table, parsed.rows, options)
        .map_err(|e| IngestFailure::permanent("General_TransientSchemaMismatch", e.to_string()))?;
    let rows = match &appended {
        AppendOutcome::Appended { rows, .. } => *rows,
        AppendOutcome::Skipped { .. } => 0,
    };
    Ok((
        IngestOutcome {
            rows,
            skipped: parsed.skipped,
        },
        appended,
    ))
}

fn read_json(text: &str, format: DataFormat) -> Result<(Vec<Json>, Vec<String>), IngestFailure> {
    let invalid = |e: serde_json::Error| {
        IngestFailure::permanent(
            "BadRequest_InvalidBlob",
            format!(
                "The {} data is not valid JSON: {e}",
                format!("{format:?}").to_lowercase()
            ),
        )
    };
    match format {
        DataFormat::Json => {
            let mut records = Vec::new();
            let mut skipped = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Json>(line) {
                    Ok(v) => records.push(v),
                    Err(e) => skipped.push(format!("line {} is not valid JSON ({e})", i + 1)),
                }
            }
            Ok((records, skipped))
        }
        DataFormat::SingleJson => {
            let v: Json = serde_json::from_str(text).map_err(invalid)?;
            Ok((vec![v], Vec::new()))
        }
        _ => {
            let mut records = Vec::new();
            for item in serde_json::Deserializer::from_str(text).into_iter::<Json>() {
                match item.map_err(invalid)? {
                    Json::Array(items) => records.extend(items),
                    other => records.push(other),
                }
            }
            Ok((records, Vec::new()))
        }
    }
}

fn const_or_transform(
    e: &MappingElement,
    ty: KustoType,
    req: &IngestRequest<'_>,
    record_number: usize,
) -> Option<Value> {
    if let Some(c) = &e.const_value {
        return Some(parse_field(c, ty));
    }
    match e.transform {
        Some(Transform::SourceLocation) => Some(parse_field(req.source, ty)),
        Some(Transform::SourceLineNumber) => Some(parse_field(&record_number.to_string(), ty)),
        _ => None,
    }
}

fn map_csv_record(
    columns: &[Column],
    req: &IngestRequest<'_>,
    fields: &[String],
    record_number: usize,
) -> Result<Row, IngestFailure> {
    let Some(mapping) = req.mapping else {
        // Identity mapping: by position; missing fields are null, extra fields dropped.
        return Ok(columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                fields
                    .get(i)
                    .map_or_else(|| parse_field("", c.ty), |f| parse_field(f, c.ty))
            })
            .collect());
    };
    let mut row: Row = columns.iter().map(|c| parse_field("", c.ty)).collect();
    for e in mapping {
        let Some(index) = columns.iter().position(|c| c.name == e.column) else {
            continue;
        };
        let ty = columns[index].ty;
        row[index] = match const_or_transform(e, ty, req, record_number) {
            Some(v) => v,
            None => {
                let raw = e
                    .ordinal
                    .and_then(|o| fields.get(o))
                    .map_or("", String::as_str);
                transform_value(parse_field(raw, ty), raw_json(raw), e.transform, ty)
            }
        };
    }
    Ok(row)
}

fn raw_json(raw: &str) -> Json {
    serde_json::from_str(raw).unwrap_or_else(|_| Json::String(raw.to_string()))
}

fn map_json_record(
    columns: &[Column],
    req: &IngestRequest<'_>,
    record: &Json,
    record_number: usize,
) -> Result<Row, IngestFailure> {
    let Some(mapping) = req.mapping else {
        // Identity mapping: top-level properties by (case-sensitive) column name.
        return Ok(columns
            .iter()
            .map(|c| from_json(record.get(&c.name).unwrap_or(&Json::Null), c.ty))
            .collect());
    };
    let mut row: Row = columns.iter().map(|c| parse_field("", c.ty)).collect();
    for e in mapping {
        let Some(index) = columns.iter().position(|c| c.name == e.column) else {
            continue;
        };
        let ty = columns[index].ty;
        row[index] = match const_or_transform(e, ty, req, record_number) {
            Some(v) => v,
            None => {
                let found = match (&e.field, &e.path) {
                    (Some(f), _) => record.get(f).cloned(),
                    (None, Some(p)) if p.starts_with('$') => {
                        let steps = parse_json_path(p).map_err(|m| {
                            IngestFailure::permanent("BadRequest_InvalidMapping", m)
                        })?;
                        follow_path(record, &steps).cloned()
                    }
                    (None, Some(constant)) => Some(Json::String(constant.clone())),
                    (None, None) => None,
                };
                let json = found.unwrap_or(Json::Null);
                transform_value(from_json(&json, ty), json, e.transform, ty)
            }
        };
    }
    Ok(row)
}

fn transform_value(value: Value, json: Json, transform: Option<Transform>, ty: KustoType) -> Value {
    let unix = |ticks_per_unit: f64| {
        let n = match &json {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        n.and_then(|n| time::ticks_from_unix(n, ticks_per_unit))
            .map_or(Value::Null, Value::DateTime)
    };
    match transform {
        Some(Transform::DateTimeFromUnixSeconds) => unix(1e7),
        Some(Transform::DateTimeFromUnixMilliseconds) => unix(1e4),
        Some(Transform::DateTimeFromUnixMicroseconds) => unix(10.0),
        Some(Transform::DateTimeFromUnixNanoseconds) => unix(0.01),
        Some(Transform::PropertyBagArrayToDictionary) if ty == KustoType::Dynamic => match json {
            Json::Array(items) => {
                let mut merged = serde_json::Map::new();
                for item in items {
                    if let Json::Object(o) = item {
                        merged.extend(o);
                    }
                }
                Value::Dynamic(Json::Object(merged))
            }
            other => Value::Dynamic(other),
        },
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::parse_mapping;

    fn cols() -> Vec<Column> {
        vec![
            Column::new("a", KustoType::Long),
            Column::new("s", KustoType::String),
            Column::new("d", KustoType::Dynamic),
        ]
    }

    fn req(format: DataFormat, data: &[u8]) -> IngestRequest<'_> {
        IngestRequest {
            database: "Db",
            table: "T",
            format,
            data,
            mapping: None,
            ignore_first_record: false,
            source: "stream",
        }
    }

    #[test]
    fn csv_identity_and_header() {
        let mut r = req(DataFormat::Csv, b"a,s,d\n1,x,\"{\"\"k\"\":1}\"\n,,\n");
        r.ignore_first_record = true;
        let out = parse_rows(&cols(), &r).unwrap();
        assert_eq!(out.rows.len(), 2);
        assert_eq!(
            out.rows[0],
            vec![
                Value::Long(1),
                Value::String("x".into()),
                Value::Dynamic(serde_json::json!({"k":1}))
            ]
        );
        assert_eq!(
            out.rows[1],
            vec![Value::Null, Value::String(String::new()), Value::Null]
        );
        let short = parse_rows(&cols(), &req(DataFormat::Psv, b"5|y")).unwrap();
        assert_eq!(
            short.rows[0],
            vec![Value::Long(5), Value::String("y".into()), Value::Null]
        );
    }

    #[test]
    fn json_formats_and_mappings() {
        let out = parse_rows(
            &cols(),
            &req(
                DataFormat::Json,
                b"{\"a\":1,\"s\":\"x\"}\nnot json\n{\"a\":\"2\",\"d\":[1]}\n",
            ),
        )
        .unwrap();
        assert_eq!(out.rows.len(), 2);
        assert_eq!(out.skipped.len(), 1);
        assert_eq!(out.rows[1][0], Value::Long(2));
        let multi = parse_rows(
            &cols(),
            &req(DataFormat::MultiJson, b"[{\"a\":1},{\"a\":2}] {\n\"a\":3}"),
        )
        .unwrap();
        assert_eq!(multi.rows.len(), 3);
        assert_eq!(
            parse_rows(&cols(), &req(DataFormat::MultiJson, b"{\"a\":"))
                .unwrap_err()
                .code,
            "BadRequest_InvalidBlob"
        );
        let mapping = parse_mapping(
            r#"[{"column":"a","path":"$.x.y"},{"column":"s","Properties":{"Transform":"SourceLocation"}},{"column":"d","path":"$"}]"#,
            MappingKind::Json,
        )
        .unwrap();
        let mut r = req(DataFormat::SingleJson, b"{\"x\":{\"y\":7}}");
        r.mapping = Some(&mapping);
        let out = parse_rows(&cols(), &r).unwrap();
        assert_eq!(out.rows[0][0], Value::Long(7));
        assert_eq!(out.rows[0][1], Value::String("stream".into()));
        assert_eq!(
            out.rows[0][2],
            Value::Dynamic(serde_json::json!({"x":{"y":7}}))
        );
        let bad = parse_mapping(r#"[{"column":"zz","path":"$.x"}]"#, MappingKind::Json).unwrap();
        r.mapping = Some(&bad);
        assert_eq!(
            parse_rows(&cols(), &r).unwrap_err().code,
            "BadRequest_InvalidMapping"
        );
    }

    #[test]
    fn unsupported_and_compressed() {
        assert_eq!(
            parse_rows(&cols(), &req(DataFormat::Avro, b"x"))
                .unwrap_err()
                .code,
            "BadRequest_FormatNotSupported"
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"1,a,").unwrap();
        let compressed = gz.finish().unwrap();
        assert_eq!(decompress(&compressed, 100).unwrap(), b"1,a,");
        assert_eq!(decompress(b"plain", 100).unwrap(), b"plain");
        assert_eq!(
            decompress(&[0x1f, 0x8b, 0, 1], 100).unwrap_err().code,
            "BadRequest_InvalidArchive"
        );
    }
}
