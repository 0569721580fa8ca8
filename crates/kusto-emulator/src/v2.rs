//! The v2 query response (kusto-protocol.md section 3): one frame per line, key order as recorded,
//! DataTable / fragmented / progressive tables, partial failures in the three placements.

use crate::errors::{Correlation, Obj, truncation_error};
use crate::kql::ResultTable;
use crate::store::Column;
use crate::time;
use crate::value::{KustoType, Value, write_json_string};

/// Where partial-failure errors are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    InData,
    EndOfTable,
    EndOfDataset,
}

impl Placement {
    pub(crate) fn parse(text: &str) -> Option<Placement> {
        Some(match text.to_ascii_lowercase().replace('_', "").as_str() {
            "indata" => Placement::InData,
            "endoftable" => Placement::EndOfTable,
            "endofdataset" => Placement::EndOfDataset,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Placement::InData => "InData",
            Placement::EndOfTable => "EndOfTable",
            Placement::EndOfDataset => "EndOfDataset",
        }
    }
}

/// Result-set limits (kusto-protocol.md 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Maximum records per result table (`None` = unlimited).
    pub(crate) max_records: Option<u64>,
    /// Maximum bytes of row data per result table (`None` = unlimited).
    pub(crate) max_size: Option<u64>,
}

/// Options that shape a v2 response.
#[derive(Debug, Clone)]
pub(crate) struct V2Options {
    pub(crate) fragmented: bool,
    pub(crate) progressive: bool,
    pub(crate) placement: Placement,
    pub(crate) defer_partial_failures: bool,
    pub(crate) limits: Limits,
    pub(crate) fragment_rows: usize,
}

/// The JSON text of the `@ExtendedProperties` Visualization value.
pub(crate) const VISUALIZATION: &str = "{\"Visualization\":null,\"Title\":null,\"XColumn\":null,\"Series\":null,\"YColumns\":null,\"AnomalyColumns\":null,\"XTitle\":null,\"YTitle\":null,\"XAxis\":null,\"YAxis\":null,\"Legend\":null,\"YSplit\":null,\"Accumulate\":false,\"IsQuerySorted\":false,\"Kind\":null,\"Ymin\":\"NaN\",\"Ymax\":\"NaN\"}";

/// Serialises the column list.
pub(crate) fn columns_json(columns: &[Column], v1: bool) -> String {
    let mut out = String::from("[");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut obj = Obj::new().str("ColumnName", &c.name);
        if v1 {
            obj = obj.str("DataType", c.ty.v1_data_type());
        }
        out.push_str(&obj.str("ColumnType", c.ty.name()).finish());
    }
    out.push(']');
    out
}

/// Serialises one row.
pub(crate) fn row_json(columns: &[Column], row: &[Value]) -> String {
    let mut out = String::from("[");
    for i in 0..columns.len() {
        if i > 0 {
            out.push(',');
        }
        row.get(i).unwrap_or(&Value::Null).write_json(&mut out);
    }
    out.push(']');
    out
}

/// A table's rows serialised and cut at the limits: the rows kept and, when cut, the limit text.
pub(crate) fn serialise_rows(table: &ResultTable, limits: Limits) -> (Vec<String>, Option<String>) {
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut size: u64 = 0;
    for row in &table.rows {
        if let Some(max) = limits.max_records
            && rows.len() as u64 >= max
        {
            return (rows, Some(format!("{max} records")));
        }
        let text = row_json(&table.columns, row);
        size += text.len() as u64;
        if let Some(max) = limits.max_size
            && size > max
        {
            return (rows, Some(format!("{max} bytes")));
        }
        rows.push(text);
    }
    (rows, None)
}

struct Frames {
    out: String,
    first: bool,
}

impl Frames {
    fn push(&mut self, frame: String) {
        self.out.push_str(if self.first { "[" } else { "\n," });
        self.first = false;
        self.out.push_str(&frame);
    }
}

fn data_table(
    id: usize,
    kind: &str,
    name: &str,
    columns: &[Column],
    rows: &[String],
    error_row: Option<&str>,
) -> String {
    let mut body = String::from("[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r);
    }
    if let Some(e) = error_row {
        if !rows.is_empty() {
            body.push(',');
        }
        body.push_str(e);
    }
    body.push(']');
    Obj::new()
        .str("FrameType", "DataTable")
        .num("TableId", id as i64)
        .str("TableKind", kind)
        .str("TableName", name)
        .raw("Columns", &columns_json(columns, false))
        .raw("Rows", &body)
        .finish()
}

fn fragment(id: usize, rows: &[String]) -> String {
    Obj::new()
        .str("FrameType", "TableFragment")
        .str("TableFragmentType", "DataAppend")
        .num("TableId", id as i64)
        .raw("Rows", &format!("[{}]", rows.join(",")))
        .finish()
}

/// Writes a complete v2 response for the result tables of a query.
pub(crate) fn write_response(
    tables: &[ResultTable],
    options: &V2Options,
    corr: &Correlation,
    now: i64,
) -> String {
    let mut frames = Frames {
        out: String::new(),
        first: true,
    };
    let fragmented = options.fragmented || options.progressive;
    frames.push(
        Obj::new()
            .str("FrameType", "DataSetHeader")
            .bool("IsProgressive", options.progressive)
            .str("Version", "v2.0")
            .bool("IsFragmented", fragmented)
            .str("ErrorReportingPlacement", options.placement.name())
            .finish(),
    );
    let props_columns = [
        Column::new("TableId", KustoType::Int),
        Column::new("Key", KustoType::String),
        Column::new("Value", KustoType::Dynamic),
    ];
    let props_rows: Vec<String> = (1..=tables.len())
        .map(|id| {
            let mut viz = String::new();
            write_json_string(VISUALIZATION, &mut viz);
            format!("[{id},\"Visualization\",{viz}]")
        })
        .collect();
    frames.push(data_table(
        0,
        "QueryProperties",
        "@ExtendedProperties",
        &props_columns,
        &props_rows,
        None,
    ));

    let mut dataset_errors: Vec<String> = Vec::new();
    let mut deferred: Vec<String> = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let id = i + 1;
        let (rows, cut) = serialise_rows(table, options.limits);
        // The error object is written once: its placements (a row, TableCompletion) and
        // DataSetCompletion repeat the same text, `@context.timestamp` included.
        let error_text = match (&cut, options.defer_partial_failures) {
            (Some(limit), false) => Some(truncation_error(limit).to_json(corr)),
            _ => None,
        };
        let error_json = error_text.as_ref().map(|e| format!("[{e}]"));
        if let (Some(limit), true) = (&cut, options.defer_partial_failures) {
            deferred.push(limit.clone());
        }
        let in_data_row = match (&error_json, options.placement) {
            (Some(e), Placement::InData) => Some(format!("{{\"OneApiErrors\":{e}}}")),
            _ => None,
        };
        if fragmented {
            frames.push(
                Obj::new()
                    .str("FrameType", "TableHeader")
                    .num("TableId", id as i64)
                    .str("TableKind", "PrimaryResult")
                    .str("TableName", &table.name)
                    .raw("Columns", &columns_json(&table.columns, false))
                    .finish(),
            );
            let size = options.fragment_rows.max(1);
            let chunks: Vec<&[String]> = if rows.is_empty() {
                vec![&rows[..]]
            } else {
                rows.chunks(size).collect()
            };
            let count = chunks.len();
            for (n, chunk) in chunks.into_iter().enumerate() {
                let last = n + 1 == count;
                match (&in_data_row, last) {
                    (Some(err_row), true) => {
                        let mut with_error: Vec<String> = chunk.to_vec();
                        with_error.push(err_row.clone());
                        frames.push(fragment(id, &with_error));
                    }
                    _ => frames.push(fragment(id, chunk)),
                }
                if options.progressive {
                    let percent = (n + 1) as f64 * 100.0 / count as f64;
                    frames.push(
                        Obj::new()
                            .str("FrameType", "TableProgress")
                            .num("TableId", id as i64)
                            .raw("TableProgress", &format!("{percent:.1}"))
                            .finish(),
                    );
                }
            }
            let mut completion = Obj::new()
                .str("FrameType", "TableCompletion")
                .num("TableId", id as i64)
                .num("RowCount", rows.len() as i64);
            if let (Some(e), Placement::EndOfTable) = (&error_json, options.placement) {
                completion = completion.raw("OneApiErrors", e);
            }
            frames.push(completion.finish());
        } else {
            frames.push(data_table(
                id,
                "PrimaryResult",
                &table.name,
                &table.columns,
                &rows,
                in_data_row.as_deref(),
            ));
        }
        if let Some(e) = error_text {
            dataset_errors.push(e);
        }
    }
    // As recorded (query_partial_results_defer_is_false.json), a stream that reports an error
    // ends without QueryCompletionInformation.
    if dataset_errors.is_empty() {
        frames.push(query_completion(
            tables.len() + 1,
            corr,
            now,
            &deferred,
            tables,
        ));
    }
    let mut completion = Obj::new()
        .str("FrameType", "DataSetCompletion")
        .bool("HasErrors", !dataset_errors.is_empty())
        .bool("Cancelled", false);
    if !dataset_errors.is_empty() {
        completion = completion.raw("OneApiErrors", &format!("[{}]", dataset_errors.join(",")));
    }
    frames.push(completion.finish());
    frames.out.push_str("\n]");
    frames.out
}

/// The QueryCompletionInformation table: a QueryLimitsExceeded error row per deferred
/// truncation, then QueryInfo and QueryResourceConsumption.
fn query_completion(
    id: usize,
    corr: &Correlation,
    now: i64,
    deferred: &[String],
    tables: &[ResultTable],
) -> String {
    let columns = [
        Column::new("Timestamp", KustoType::DateTime),
        Column::new("ClientRequestId", KustoType::String),
        Column::new("ActivityId", KustoType::Guid),
        Column::new("SubActivityId", KustoType::Guid),
        Column::new("ParentActivityId", KustoType::Guid),
        Column::new("Level", KustoType::Int),
        Column::new("LevelName", KustoType::String),
        Column::new("StatusCode", KustoType::Int),
        Column::new("StatusCodeName", KustoType::String),
        Column::new("EventType", KustoType::Int),
        Column::new("EventTypeName", KustoType::String),
        Column::new("Payload", KustoType::String),
    ];
    let row = |level: i32,
               level_name: &str,
               status: i32,
               status_name: &str,
               event: i32,
               event_name: &str,
               payload: String| {
        let values = vec![
            Value::DateTime(now),
            Value::String(corr.client_request_id.clone()),
            Value::Guid(corr.activity_id),
            Value::Guid(corr.activity_id),
            Value::Guid(corr.activity_id),
            Value::Int(level),
            Value::String(level_name.into()),
            Value::Int(status),
            Value::String(status_name.into()),
            Value::Int(event),
            Value::String(event_name.into()),
            Value::String(payload),
        ];
        row_json(&columns, &values)
    };
    let mut rows = Vec::new();
    for limit in deferred {
        rows.push(row(
            2,
            "Error",
            -2_133_196_797,
            "Query result set too large (E_QUERY_RESULT_SET_TOO_LARGE). (-2133196797)",
            1,
            "QueryLimitsExceeded",
            format!(
                "{{\"Count\":1,\"Text\":\"Query result set has exceeded the internal limit of {limit} (E_QUERY_RESULT_SET_TOO_LARGE; see https://aka.ms/kustoquerylimits)\"}}"
            ),
        ));
    }
    rows.push(row(
        4,
        "Info",
        0,
        "S_OK (0)",
        4,
        "QueryInfo",
        "{\"Count\":1,\"Text\":\"Query completed successfully\"}".into(),
    ));
    let total_rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    let stats = format!(
        "{{\"ExecutionTime\":0.0,\"resource_usage\":{{\"cache\":{{\"memory\":{{\"hits\":0,\"misses\":0,\"total\":0}},\"disk\":{{\"hits\":0,\"misses\":0,\"total\":0}}}},\"cpu\":{{\"user\":\"00:00:00\",\"kernel\":\"00:00:00\",\"total cpu\":\"00:00:00\"}},\"memory\":{{\"peak_per_node\":0}}}},\"input_dataset_statistics\":{{\"extents\":{{\"total\":0,\"scanned\":0}},\"rows\":{{\"total\":{total_rows},\"scanned\":{total_rows}}}}},\"dataset_statistics\":[{}]}}",
        tables
            .iter()
            .map(|t| format!("{{\"table_row_count\":{},\"table_size\":0}}", t.rows.len()))
            .collect::<Vec<_>>()
            .join(",")
    );
    rows.push(row(
        6,
        "Stats",
        0,
        "S_OK (0)",
        0,
        "QueryResourceConsumption",
        stats,
    ));
    let _ = time::TICKS_PER_SECOND;
    data_table(
        id,
        "QueryCompletionInformation",
        "QueryCompletionInformation",
        &columns,
        &rows,
        None,
    )
}
