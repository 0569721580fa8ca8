//! `kusto query`.

use std::io::{IsTerminal, Write};

use kusto_data::{KustoClient, KustoTable, KustoValue};

use crate::cli::{OutputFormat, QueryArgs};
use crate::error::{CliError, Exit};

/// Runs `kusto query`.
pub(crate) async fn run(args: QueryArgs) -> Result<Exit, CliError> {
    let cs = crate::connect::connection_string(&args.cluster)?;
    let database = args
        .database
        .clone()
        .or_else(|| cs.database().map(str::to_owned))
        .ok_or_else(|| {
            CliError::Usage("give --database (the connection string names none)".to_owned())
        })?;
    let client = KustoClient::new(cs).map_err(|e| CliError::Usage(format!("--cluster: {e}")))?;
    let data = client
        .execute(&database, &args.query)
        .await
        .map_err(|e| CliError::from_data(&e))?;
    let table = data
        .primary_result()
        .or_else(|| data.tables().first())
        .ok_or_else(|| CliError::Other("the answer has no result table".to_owned()))?;
    let format = args.output.unwrap_or_else(|| {
        if args.out.is_none() && std::io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Csv
        }
    });
    let mut buffer = Vec::new();
    write(table, format, &mut buffer)?;
    match &args.out {
        Some(path) => std::fs::write(path, &buffer)
            .map_err(|e| CliError::Other(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&buffer)
                .and_then(|()| stdout.flush())
                .map_err(|e| CliError::Other(format!("cannot write to stdout: {e}")))?;
        }
    }
    Ok(Exit::Success)
}

/// A value as text in a table or CSV cell: empty for null.
fn cell(value: &KustoValue) -> String {
    match value {
        KustoValue::Null => String::new(),
        other => other.to_string(),
    }
}

/// Writes `table` in `format`.
pub(crate) fn write(
    table: &KustoTable,
    format: OutputFormat,
    out: &mut Vec<u8>,
) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::Other(format!("cannot write the result: {e}"));
    match format {
        OutputFormat::Table => {
            let header: Vec<String> = table.columns().iter().map(|c| c.name.clone()).collect();
            let rows: Vec<Vec<String>> = table
                .rows()
                .map(|row| row.values().iter().map(cell).map(one_line).collect())
                .collect();
            let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
            for row in &rows {
                for (i, value) in row.iter().enumerate() {
                    if let Some(width) = widths.get_mut(i) {
                        *width = (*width).max(value.chars().count());
                    }
                }
            }
            let line = |cells: &[String]| -> String {
                let mut text = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join(" | ");
                text.truncate(text.trim_end().len());
                text.push('\n');
                text
            };
            out.extend_from_slice(line(&header).as_bytes());
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.extend_from_slice(line(&rule).replace(" | ", "-+-").as_bytes());
            for row in &rows {
                out.extend_from_slice(line(row).as_bytes());
            }
            out.extend_from_slice(format!("({} rows)\n", rows.len()).as_bytes());
        }
        OutputFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *out);
            let csv_error = |e: csv::Error| CliError::Other(format!("cannot write CSV: {e}"));
            writer
                .write_record(table.columns().iter().map(|c| c.name.as_str()))
                .map_err(csv_error)?;
            for row in table.rows() {
                writer
                    .write_record(row.values().iter().map(cell))
                    .map_err(csv_error)?;
            }
            writer.flush().map_err(io)?;
        }
        OutputFormat::Jsonl => {
            for row in table.rows() {
                let object: serde_json::Map<String, serde_json::Value> = table
                    .columns()
                    .iter()
                    .zip(row.values())
                    .map(|(c, v)| (c.name.clone(), v.to_json()))
                    .collect();
                serde_json::to_writer(&mut *out, &object)
                    .map_err(|e| CliError::Other(format!("cannot write JSON: {e}")))?;
                out.push(b'\n');
            }
        }
        OutputFormat::Arrow => {
            let batch = table
                .to_record_batch()
                .map_err(|e| CliError::Other(format!("cannot convert to Arrow: {e}")))?;
            let arrow_error = |e: arrow::error::ArrowError| {
                CliError::Other(format!("cannot write Arrow IPC: {e}"))
            };
            let mut writer = arrow::ipc::writer::FileWriter::try_new(&mut *out, &batch.schema())
                .map_err(arrow_error)?;
            writer.write(&batch).map_err(arrow_error)?;
            writer.finish().map_err(arrow_error)?;
        }
        OutputFormat::Parquet => {
            let batch = table
                .to_record_batch()
                .map_err(|e| CliError::Other(format!("cannot convert to Arrow: {e}")))?;
            let parquet_error = |e: parquet::errors::ParquetError| {
                CliError::Other(format!("cannot write Parquet: {e}"))
            };
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(&mut *out, batch.schema(), Some(properties))
                    .map_err(parquet_error)?;
            writer.write(&batch).map_err(parquet_error)?;
            writer.close().map_err(parquet_error)?;
        }
    }
    Ok(())
}

/// Newlines and tabs in a table cell would break the alignment: shown escaped.
fn one_line(text: String) -> String {
    if text.contains(['\n', '\r', '\t']) {
        text.replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace('\t', "\\t")
    } else {
        text
    }
}
