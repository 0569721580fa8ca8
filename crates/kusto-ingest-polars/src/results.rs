//! Query results as Polars frames.
//!
//! | Kusto type | Polars type |
//! |---|---|
//! | `bool` | `Boolean` |
//! | `int` | `Int32` |
//! | `long` | `Int64` |
//! | `real` | `Float64` (NaN and ±infinity kept) |
//! | `decimal` | `Decimal(38, s)` with `s` the largest scale in the column (default), or `String` ([`DecimalAs::String`]) |
//! | `string` | `String` |
//! | `datetime` | `Datetime(ns, "UTC")` (default; `Datetime(us, "UTC")` or `Int64` ticks with the other [`ArrowTimeUnit`]s) |
//! | `timespan` | `Duration(ns)` (same choice) |
//! | `guid` | `String` (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) |
//! | `dynamic` | `String` holding the JSON text |
//!
//! Nulls stay nulls in every type. The conversion goes through kusto-data's Arrow output, so
//! the limits it documents (nanosecond datetimes span 1677-09-21 to 2262-04-11, an error
//! outside) hold here too: choose [`ArrowTimeUnit::Microsecond`] for the full range.

use std::str::FromStr;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType as ArrowType, DurationMicrosecondType, DurationNanosecondType, Float64Type, Int32Type,
    Int64Type, TimeUnit as ArrowUnit, TimestampMicrosecondType, TimestampNanosecondType,
};
use futures::StreamExt;
use kusto_data::response::{ArrowBatchStream, ArrowOptions, ArrowTimeUnit};
use kusto_data::{KustoClient, KustoDecimal, KustoTable};
use polars::prelude::{
    BooleanChunked, Column, DataFrame, Float64Chunked, Int32Chunked, Int64Chunked, Int128Chunked,
    IntoSeries, NewChunkedArray, PlSmallStr, Series, StringChunked, TimeUnit, TimeZone,
};

use crate::error::{Error, Result};

/// What `decimal` columns become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DecimalAs {
    /// `Decimal(38, s)`, `s` the largest scale of the column's values: exact. A value that
    /// would need more than 38 digits at that scale is an error naming the column.
    #[default]
    Decimal,
    /// `String`: the exact decimal text.
    String,
}

/// Options of the conversion of results to frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResultOptions {
    decimal: DecimalAs,
    time_unit: ArrowTimeUnit,
}

impl ResultOptions {
    /// Defaults: decimals as `Decimal`, datetimes and timespans in nanoseconds.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `decimal` columns become.
    #[must_use]
    pub fn with_decimal(mut self, decimal: DecimalAs) -> Self {
        self.decimal = decimal;
        self
    }

    /// How `datetime` and `timespan` are represented (see kusto-data's [`ArrowTimeUnit`]).
    #[must_use]
    pub fn with_time_unit(mut self, unit: ArrowTimeUnit) -> Self {
        self.time_unit = unit;
        self
    }

    fn arrow(&self) -> ArrowOptions {
        ArrowOptions::new().with_time_unit(self.time_unit)
    }
}

/// A result table as a frame.
pub fn dataframe_from_table(table: &KustoTable, options: &ResultOptions) -> Result<DataFrame> {
    let batch = table.to_record_batch_with(&options.arrow())?;
    dataframe_from_record_batch(&batch, options)
}

/// Runs `query` and collects its first primary result as a frame, batch by batch from the
/// streamed response (memory: the frame plus one batch, never the whole response body).
pub async fn query_dataframe(
    client: &KustoClient,
    database: &str,
    query: &str,
    options: &ResultOptions,
) -> Result<DataFrame> {
    let stream = client.query(database, query).stream().await?;
    dataframe_from_stream(stream.primary_record_batches(options.arrow()), options).await
}

/// Collects the batches of the first table of a stream of Arrow batches as one frame. A
/// `DataReplace` fragment discards what was collected for the table, as the protocol says.
pub async fn dataframe_from_stream(
    mut stream: ArrowBatchStream,
    options: &ResultOptions,
) -> Result<DataFrame> {
    let mut table = None;
    let mut frame: Option<DataFrame> = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        match table {
            None => table = Some(batch.table_id),
            Some(id) if id != batch.table_id => continue,
            Some(_) => {}
        }
        let part = dataframe_from_record_batch(&batch.batch, options)?;
        frame = match frame {
            Some(mut collected) if !batch.replaces_previous => {
                collected.vstack_mut(&part)?;
                Some(collected)
            }
            _ => Some(part),
        };
    }
    let mut frame = frame.unwrap_or_default();
    frame.rechunk_mut_par();
    Ok(frame)
}

/// An Arrow batch from kusto-data (see [`kusto_data::response::arrow_schema`]) as a frame.
/// Columns are typed by their `kusto.type` field metadata and Arrow type.
pub fn dataframe_from_record_batch(
    batch: &RecordBatch,
    options: &ResultOptions,
) -> Result<DataFrame> {
    let schema = batch.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, array)| {
            let kusto_type = field.metadata().get("kusto.type").map(String::as_str);
            to_series(field.name(), kusto_type, array.as_ref(), options).map(Column::from)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DataFrame::new(batch.num_rows(), columns)?)
}

fn conversion(column: &str, message: impl Into<String>) -> Error {
    Error::Conversion {
        column: column.to_owned(),
        message: message.into(),
    }
}

fn to_series(
    name: &str,
    kusto_type: Option<&str>,
    array: &dyn Array,
    options: &ResultOptions,
) -> Result<Series> {
    let name = PlSmallStr::from_str(name);
    let utc = Some(TimeZone::UTC);
    Ok(match array.data_type() {
        ArrowType::Boolean => {
            BooleanChunked::from_iter_options(name, array.as_boolean().iter()).into_series()
        }
        ArrowType::Int32 => {
            Int32Chunked::from_iter_options(name, array.as_primitive::<Int32Type>().iter())
                .into_series()
        }
        ArrowType::Int64 => {
            Int64Chunked::from_iter_options(name, array.as_primitive::<Int64Type>().iter())
                .into_series()
        }
        ArrowType::Float64 => {
            Float64Chunked::from_iter_options(name, array.as_primitive::<Float64Type>().iter())
                .into_series()
        }
        ArrowType::Timestamp(ArrowUnit::Nanosecond, _) => Int64Chunked::from_iter_options(
            name,
            array.as_primitive::<TimestampNanosecondType>().iter(),
        )
        .into_series()
        .into_datetime(TimeUnit::Nanoseconds, utc),
        ArrowType::Timestamp(ArrowUnit::Microsecond, _) => Int64Chunked::from_iter_options(
            name,
            array.as_primitive::<TimestampMicrosecondType>().iter(),
        )
        .into_series()
        .into_datetime(TimeUnit::Microseconds, utc),
        ArrowType::Duration(ArrowUnit::Nanosecond) => Int64Chunked::from_iter_options(
            name,
            array.as_primitive::<DurationNanosecondType>().iter(),
        )
        .into_series()
        .into_duration(TimeUnit::Nanoseconds),
        ArrowType::Duration(ArrowUnit::Microsecond) => Int64Chunked::from_iter_options(
            name,
            array.as_primitive::<DurationMicrosecondType>().iter(),
        )
        .into_series()
        .into_duration(TimeUnit::Microseconds),
        ArrowType::FixedSizeBinary(16) => {
            let guids = array.as_fixed_size_binary();
            let text = (0..guids.len()).map(|i| {
                (!guids.is_null(i)).then(|| {
                    let bytes: [u8; 16] = guids.value(i).try_into().unwrap_or([0; 16]);
                    uuid::Uuid::from_bytes(bytes).to_string()
                })
            });
            StringChunked::from_iter_options(name, text).into_series()
        }
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => {
            let values: Vec<Option<&str>> = match array.data_type() {
                ArrowType::Utf8 => array.as_string::<i32>().iter().collect(),
                ArrowType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
                _ => array.as_string_view().iter().collect(),
            };
            if kusto_type == Some("decimal") && options.decimal == DecimalAs::Decimal {
                decimals(name.as_str(), &values)?
            } else {
                StringChunked::from_iter_options(name, values.into_iter()).into_series()
            }
        }
        ArrowType::Null => Series::full_null(name, array.len(), &polars::prelude::DataType::Null),
        other => {
            return Err(conversion(
                name.as_str(),
                format!("the Arrow type {other} has no conversion here"),
            ));
        }
    })
}

/// Decimal texts as `Decimal(38, s)`, `s` the largest scale present.
fn decimals(name: &str, values: &[Option<&str>]) -> Result<Series> {
    let parsed = values
        .iter()
        .map(|v| {
            v.map(|text| {
                KustoDecimal::from_str(text)
                    .map_err(|e| conversion(name, format!("'{text}' is not a decimal: {e}")))
            })
            .transpose()
        })
        .collect::<Result<Vec<Option<KustoDecimal>>>>()?;
    let scale = parsed
        .iter()
        .flatten()
        .map(|d| d.scale())
        .max()
        .unwrap_or(0);
    let mantissas = parsed
        .iter()
        .map(|d| {
            d.map(|d| {
                d.mantissa_at_scale(scale).ok_or_else(|| {
                    conversion(
                        name,
                        format!(
                            "{d} needs more than 38 digits at scale {scale}; use DecimalAs::String"
                        ),
                    )
                })
            })
            .transpose()
        })
        .collect::<Result<Vec<Option<i128>>>>()?;
    let series =
        Int128Chunked::from_iter_options(PlSmallStr::from_str(name), mantissas.into_iter())
            .into_series();
    Ok(series.into_decimal(38, scale as usize)?)
}
