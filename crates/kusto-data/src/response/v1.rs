//! v1 responses (`/v1/rest/mgmt`, `/v1/rest/query`): `{"Tables": [...], "Exceptions": [...]}`.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::types::KustoValue;

use super::dataset::DataSet;
use super::decode::{RowElement, decode_row};
use super::partial::{ErrorPlacement, PartialError, PartialFailure, QciColumns, text_error};
use super::scan::{body_start, is_ws, offset_of, split_array};
use super::table::{KustoTable, TableKind, find_column, parse_columns};

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(rename = "Tables", default, borrow)]
    tables: Option<Vec<RawTable<'a>>>,
    #[serde(rename = "Exceptions", default)]
    exceptions: Option<Value>,
}

#[derive(Deserialize)]
struct RawTable<'a> {
    #[serde(rename = "TableName", default)]
    name: Option<String>,
    #[serde(rename = "Columns", default, borrow)]
    columns: Option<&'a RawValue>,
    #[serde(rename = "Rows", default, borrow)]
    rows: Option<&'a RawValue>,
}

/// Parses a complete v1 response (`/v1/rest/mgmt`, `/v1/rest/query`): `{"Tables": [...], "Exceptions": [...]}`.
///
/// # Table of contents
/// * One or two tables: the first is the primary result, the second (if any) the query
///   properties (the rule every SDK follows).
/// * Three or more tables whose last one has the table-of-contents columns (`Ordinal`, `Kind`,
///   `Name`, `Id`, `PrettyName`): the last table is the table of contents, and each row names the
///   table at position `Ordinal` and gives its kind: `QueryResult` → [`TableKind::PrimaryResult`],
///   `QueryProperties` → [`TableKind::QueryProperties`], `QueryStatus` →
///   [`TableKind::QueryCompletionInformation`]. Other kinds are kept as [`TableKind::parse`] reads
///   them (not an error).
/// * Three or more tables without a table of contents: every table is a primary result.
///
/// Columns use `ColumnType` when present, else the .NET `DataType` (older servers). Partial
/// failures (`{"Exceptions": [...]}` in place of a row, top-level `Exceptions`, `QueryStatus`
/// rows with severity below 4) give [`Error::PartialFailure`] carrying the [`DataSet`].
///
/// ```
/// use kusto_data::response::parse_v1;
/// let body = br#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"BuildVersion","DataType":"String"}],"Rows":[["1.0.9000.1"]]}]}"#;
/// let data = parse_v1(body)?;
/// let table = data.primary_result().expect("a primary result");
/// assert_eq!(table.row(0).and_then(|r| r.get_string("BuildVersion").ok().flatten()), Some("1.0.9000.1"));
/// # Ok::<(), kusto_data::Error>(())
/// ```
pub fn parse_v1(body: &[u8]) -> Result<DataSet> {
    let parsed: Body<'_> = serde_json::from_slice(body).map_err(|e| {
        let start = body.iter().position(|b| !is_ws(*b)).unwrap_or(body.len());
        if body.get(start) == Some(&b'{') {
            Error::MalformedResponse {
                message: format!("bad v1 response: {e}"),
                offset: Some(offset_of(body, e.line(), e.column())),
            }
        } else {
            // A gateway's text or HTML page: quote its start, as the v2 parser does.
            Error::MalformedResponse {
                message: format!(
                    "a v1 response is a JSON object, but the body starts with {:?}",
                    body_start(&body[start..])
                ),
                offset: Some(start as u64),
            }
        }
    })?;
    let Some(raw_tables) = parsed.tables else {
        return Err(Error::MalformedResponse {
            message: "a v1 response has a Tables array".into(),
            offset: Some(0),
        });
    };
    let base = body.as_ptr() as usize;
    let mut tables = Vec::with_capacity(raw_tables.len());
    let mut errors = Vec::new();
    for (index, raw) in raw_tables.into_iter().enumerate() {
        let id = index as i64;
        let name = raw.name.unwrap_or_else(|| format!("Table_{index}"));
        let columns_at = raw
            .columns
            .map(|c| (c.get().as_ptr() as usize).saturating_sub(base) as u64);
        let columns_value: Option<Value> = raw
            .columns
            .map(|c| serde_json::from_str(c.get()))
            .transpose()
            .map_err(|e| Error::MalformedResponse {
                message: format!("table {index} ({name}): bad Columns: {e}"),
                offset: columns_at,
            })?;
        let columns =
            parse_columns(columns_value.as_ref()).map_err(|m| Error::MalformedResponse {
                message: format!("table {index} ({name}): {m}"),
                offset: columns_at,
            })?;
        let mut rows = KustoTable::empty(id, TableKind::PrimaryResult, name, columns.into());
        if let Some(raw_rows) = raw.rows {
            let text = raw_rows.get().as_bytes();
            let at = (text.as_ptr() as usize).saturating_sub(base) as u64;
            let ranges = split_array(text).map_err(|(i, m)| Error::MalformedResponse {
                message: format!("table {index} ({}): Rows: {m}", rows.name),
                offset: Some(at + i as u64),
            })?;
            for (start, end) in ranges {
                match decode_row(text.get(start..end).unwrap_or_default(), &rows.columns) {
                    Ok(RowElement::Row(row)) => rows.push_row(row),
                    Ok(RowElement::Errors(object)) => {
                        row_errors(&mut errors, id, rows.len(), &object);
                    }
                    Err((m, i)) => {
                        return Err(Error::MalformedResponse {
                            message: format!(
                                "table {index} ({}), row {}: {m}",
                                rows.name,
                                rows.len()
                            ),
                            offset: Some(at + (start + i) as u64),
                        });
                    }
                }
            }
        }
        tables.push(rows);
    }
    assemble(tables, errors, parsed.exceptions.as_ref())
}

/// Records the errors of an error object found in place of row `index` of table `id`.
pub(super) fn row_errors(
    errors: &mut Vec<PartialError>,
    id: i64,
    index: usize,
    object: &serde_json::Map<String, Value>,
) {
    let placement = ErrorPlacement::V1Row {
        table_id: id,
        row_index: index as u64,
    };
    for error in exception_texts(
        object
            .get("Exceptions")
            .unwrap_or(&Value::Object(object.clone())),
    ) {
        errors.push(PartialError {
            placement: placement.clone(),
            error,
        });
    }
}

/// The [`DataSet`] of a v1 response from its tables (in order, all primary results so far), the
/// errors found in rows and the top-level `Exceptions`: table of contents, exceptions and
/// `QueryStatus` rows applied.
pub(super) fn assemble(
    mut tables: Vec<KustoTable>,
    mut errors: Vec<PartialError>,
    exceptions: Option<&Value>,
) -> Result<DataSet> {
    if let Some(exceptions) = exceptions {
        for error in exception_texts(exceptions) {
            if !errors.iter().any(|e| e.error == error) {
                errors.push(PartialError {
                    placement: ErrorPlacement::V1Exceptions,
                    error,
                });
            }
        }
    }
    apply_table_of_contents(&mut tables);
    if errors.is_empty() {
        for table in tables
            .iter()
            .filter(|t| t.kind == TableKind::QueryCompletionInformation)
        {
            if let Some(qci) = QciColumns::find(&table.columns) {
                for row in table.rows() {
                    let id = table.id;
                    errors.extend(qci.check(&row.values(), |level| {
                        ErrorPlacement::QueryCompletionInformation {
                            table_id: id,
                            level,
                        }
                    }));
                }
            }
        }
    }
    let data = DataSet {
        header: None,
        tables,
        completion: None,
    };
    if errors.is_empty() {
        Ok(data)
    } else {
        let mut failure = PartialFailure::new(errors);
        failure.data = Some(Box::new(data));
        Err(Error::PartialFailure(Box::new(failure)))
    }
}

fn exception_texts(value: &Value) -> Vec<crate::OneApiError> {
    match value {
        Value::Array(items) => items.iter().flat_map(exception_texts).collect(),
        Value::String(text) => vec![text_error("", text.clone())],
        Value::Null => Vec::new(),
        other => vec![
            crate::OneApiError::from_json(other)
                .unwrap_or_else(|| text_error("", other.to_string())),
        ],
    }
}

fn apply_table_of_contents(tables: &mut [KustoTable]) {
    match tables.len() {
        0 => {}
        1 | 2 => {
            if let Some(t) = tables.get_mut(1) {
                t.kind = TableKind::QueryProperties;
            }
        }
        n => {
            let Some(toc) = tables.get(n - 1) else { return };
            let (Some(kind_col), Some(name_col)) = (
                find_column(&toc.columns, "Kind"),
                find_column(&toc.columns, "Name"),
            ) else {
                return;
            };
            let ordinal_col = find_column(&toc.columns, "Ordinal");
            let entries: Vec<(usize, TableKind, String)> = toc
                .rows()
                .enumerate()
                .map(|(i, row)| {
                    let row = row.values();
                    let ordinal = match ordinal_col.and_then(|c| row.get(c)) {
                        Some(KustoValue::Long(o)) => usize::try_from(*o).unwrap_or(usize::MAX),
                        Some(KustoValue::Int(o)) => usize::try_from(*o).unwrap_or(usize::MAX),
                        _ => i,
                    };
                    let text = |c: usize| match row.get(c) {
                        Some(KustoValue::String(s)) => s.clone(),
                        _ => String::new(),
                    };
                    let kind = match text(kind_col).as_str() {
                        "QueryResult" => TableKind::PrimaryResult,
                        "QueryProperties" => TableKind::QueryProperties,
                        "QueryStatus" => TableKind::QueryCompletionInformation,
                        other => TableKind::parse(other),
                    };
                    (ordinal, kind, text(name_col))
                })
                .collect();
            for (ordinal, kind, name) in entries {
                if ordinal < n - 1
                    && let Some(t) = tables.get_mut(ordinal)
                {
                    t.kind = kind;
                    if !name.is_empty() {
                        t.name = name;
                    }
                }
            }
            if let Some(toc) = tables.get_mut(n - 1) {
                toc.kind = TableKind::TableOfContents;
                toc.name = "TableOfContents".into();
            }
        }
    }
}
