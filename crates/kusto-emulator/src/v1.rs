//! The v1 response (kusto-protocol.md section 4): `{"Tables":[...]}` with `DataType` and
//! `ColumnType`; for `/v1/rest/query` the @ExtendedProperties, QueryStatus and TableOfContents
//! tables follow the results.

use uuid::Uuid;

use crate::errors::{Correlation, Obj, truncation_error};
use crate::kql::ResultTable;
use crate::store::{Column, Row};
use crate::v2::{Limits, VISUALIZATION, columns_json, row_json, serialise_rows};
use crate::value::{KustoType, Value};

/// One v1 table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct V1Table {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Row>,
}

impl V1Table {
    pub(crate) fn new(columns: &[(&str, KustoType)], rows: Vec<Row>) -> Self {
        V1Table {
            columns: columns.iter().map(|(n, t)| Column::new(*n, *t)).collect(),
            rows,
        }
    }
}

fn table_json(
    index: usize,
    columns: &[Column],
    rows: &[String],
    exception: Option<&str>,
) -> String {
    let mut body: Vec<String> = rows.to_vec();
    if let Some(e) = exception {
        body.push(format!("{{\"Exceptions\":[{e}]}}"));
    }
    Obj::new()
        .str("TableName", &format!("Table_{index}"))
        .raw("Columns", &columns_json(columns, true))
        .raw("Rows", &format!("[{}]", body.join(",")))
        .finish()
}

/// Writes the tables of a management command result.
pub(crate) fn write_tables(tables: &[V1Table]) -> String {
    let parts: Vec<String> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let rows: Vec<String> = t.rows.iter().map(|r| row_json(&t.columns, r)).collect();
            table_json(i, &t.columns, &rows, None)
        })
        .collect();
    format!("{{\"Tables\":[{}]}}", parts.join(","))
}

/// Writes the v1 response of a query: results, @ExtendedProperties, QueryStatus and the table of
/// contents; a truncated result gets an `{"Exceptions":[...]}` row and a top-level `Exceptions`.
pub(crate) fn write_query_response(
    tables: &[ResultTable],
    limits: Limits,
    corr: &Correlation,
    now: i64,
) -> String {
    let mut parts = Vec::new();
    let mut exceptions = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let (rows, cut) = serialise_rows(t, limits);
        let exception = cut.map(|limit| {
            let e = truncation_error(&limit);
            let text = format!(
                "{} ({}): {}\r\nClientRequestId={}\r\nActivityId={}",
                e.type_name.as_deref().unwrap_or_default(),
                e.code,
                e.detail.as_deref().unwrap_or_default(),
                corr.client_request_id,
                corr.activity_id
            );
            let mut quoted = String::new();
            crate::value::write_json_string(&text, &mut quoted);
            quoted
        });
        parts.push(table_json(i, &t.columns, &rows, exception.as_deref()));
        exceptions.extend(exception);
    }
    let n = tables.len();
    let props = V1Table::new(
        &[("Value", KustoType::String)],
        (0..n.max(1))
            .map(|_| vec![Value::String(VISUALIZATION.to_string())])
            .collect(),
    );
    let status = V1Table::new(
        &[
            ("Timestamp", KustoType::DateTime),
            ("Severity", KustoType::Int),
            ("SeverityName", KustoType::String),
            ("StatusCode", KustoType::Int),
            ("StatusDescription", KustoType::String),
            ("Count", KustoType::Int),
            ("RequestId", KustoType::Guid),
            ("ActivityId", KustoType::Guid),
            ("SubActivityId", KustoType::Guid),
            ("ClientActivityId", KustoType::String),
        ],
        vec![vec![
            Value::DateTime(now),
            Value::Int(4),
            Value::String("Info".into()),
            Value::Int(0),
            Value::String("Query completed successfully".into()),
            Value::Int(1),
            Value::Guid(corr.activity_id),
            Value::Guid(corr.activity_id),
            Value::Guid(Uuid::new_v4()),
            Value::String(corr.client_request_id.clone()),
        ]],
    );
    let mut toc_rows: Vec<Row> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        toc_rows.push(vec![
            Value::Long(i as i64),
            Value::String("QueryResult".into()),
            Value::String(t.name.clone()),
            Value::String(Uuid::new_v4().to_string()),
            Value::String(String::new()),
        ]);
    }
    toc_rows.push(vec![
        Value::Long(n as i64),
        Value::String("QueryProperties".into()),
        Value::String("@ExtendedProperties".into()),
        Value::String(Uuid::new_v4().to_string()),
        Value::String(String::new()),
    ]);
    toc_rows.push(vec![
        Value::Long(n as i64 + 1),
        Value::String("QueryStatus".into()),
        Value::String("QueryStatus".into()),
        Value::String(Uuid::nil().to_string()),
        Value::String(String::new()),
    ]);
    let toc = V1Table::new(
        &[
            ("Ordinal", KustoType::Long),
            ("Kind", KustoType::String),
            ("Name", KustoType::String),
            ("Id", KustoType::String),
            ("PrettyName", KustoType::String),
        ],
        toc_rows,
    );
    for (offset, t) in [props, status, toc].iter().enumerate() {
        let rows: Vec<String> = t.rows.iter().map(|r| row_json(&t.columns, r)).collect();
        parts.push(table_json(n + offset, &t.columns, &rows, None));
    }
    let mut out = format!("{{\"Tables\":[{}]", parts.join(","));
    if !exceptions.is_empty() {
        out.push_str(&format!(",\"Exceptions\":[{}]", exceptions.join(",")));
    }
    out.push('}');
    out
}
