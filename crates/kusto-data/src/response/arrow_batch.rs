//! Arrow output: a [`RecordBatch`] per table or per streamed batch (cargo feature `arrow`).
//!
//! Every column is nullable and carries the field metadata `kusto.type` (the Kusto type name).
//!
//! | Kusto type | Arrow type | notes |
//! |---|---|---|
//! | `bool` | `Boolean` | |
//! | `int` | `Int32` | |
//! | `long` | `Int64` | |
//! | `real` | `Float64` | NaN and ±infinity kept |
//! | `decimal` | `Utf8` | the exact decimal text (`"12.3400"`): no Arrow decimal type fits every Kusto decimal with one fixed scale per column; cast with `arrow::compute::cast` to `Decimal128(38, s)` for the scale you need |
//! | `string` | `Utf8` | |
//! | `datetime` | `Timestamp(Nanosecond, "UTC")` (default) | exact (100 ns ticks × 100), but `i64` nanoseconds only span 1677-09-21 .. 2262-04-11: a value outside is an [`Error::Conversion`] naming the row and column, never a silent change. [`ArrowTimeUnit::Microsecond`] gives `Timestamp(Microsecond, "UTC")` over the full 0001–9999 range, dropping the 100 ns digit (rounded down); [`ArrowTimeUnit::Ticks`] gives `Int64` 100 ns ticks since the Unix epoch, exact over the full range |
//! | `timespan` | `Duration(Nanosecond)` (default) | same choice as datetime: ±292 years exact; `Duration(Microsecond)` or `Int64` ticks with the other units |
//! | `guid` | `FixedSizeBinary(16)` | the 16 bytes in RFC 4122 order, field metadata `ARROW:extension:name = arrow.uuid` (the canonical UUID extension type) |
//! | `dynamic` | `Utf8` | the value as JSON text, field metadata `ARROW:extension:name = arrow.json` (the canonical JSON extension type) |
//! | unknown type | `Utf8` | the raw JSON text, like dynamic |

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, DurationMicrosecondBuilder, DurationNanosecondBuilder,
    FixedSizeBinaryBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder, TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::{ConversionError, Error, Result};
use crate::types::KustoType;

use super::columns::CellRef;
use super::stream::RowBatch;
use super::table::{Column, KustoTable, Row};

/// How `datetime` and `timespan` columns are represented in Arrow (see the table in the
/// [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ArrowTimeUnit {
    /// `Timestamp(Nanosecond, "UTC")` / `Duration(Nanosecond)`: exact; values outside
    /// 1677-09-21 .. 2262-04-11 (±292 years for timespans) are an error.
    #[default]
    Nanosecond,
    /// `Timestamp(Microsecond, "UTC")` / `Duration(Microsecond)`: the full range; the 100 ns
    /// digit is dropped (rounded down).
    Microsecond,
    /// `Int64` holding 100 ns ticks (since the Unix epoch for datetimes): exact, full range.
    Ticks,
}

/// Options of the Arrow conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArrowOptions {
    time_unit: ArrowTimeUnit,
}

impl ArrowOptions {
    /// Default options (nanosecond timestamps and durations).
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the representation of `datetime` and `timespan`.
    pub fn with_time_unit(mut self, unit: ArrowTimeUnit) -> Self {
        self.time_unit = unit;
        self
    }

    /// The representation of `datetime` and `timespan`.
    pub fn time_unit(&self) -> ArrowTimeUnit {
        self.time_unit
    }
}

pub(super) fn data_type(ty: &KustoType, options: &ArrowOptions) -> DataType {
    let utc = Some(Arc::from("UTC"));
    match (ty, options.time_unit) {
        (KustoType::Bool, _) => DataType::Boolean,
        (KustoType::Int, _) => DataType::Int32,
        (KustoType::Long, _) => DataType::Int64,
        (KustoType::Real, _) => DataType::Float64,
        (KustoType::DateTime, ArrowTimeUnit::Nanosecond) => {
            DataType::Timestamp(TimeUnit::Nanosecond, utc)
        }
        (KustoType::DateTime, ArrowTimeUnit::Microsecond) => {
            DataType::Timestamp(TimeUnit::Microsecond, utc)
        }
        (KustoType::TimeSpan, ArrowTimeUnit::Nanosecond) => {
            DataType::Duration(TimeUnit::Nanosecond)
        }
        (KustoType::TimeSpan, ArrowTimeUnit::Microsecond) => {
            DataType::Duration(TimeUnit::Microsecond)
        }
        (KustoType::DateTime | KustoType::TimeSpan, ArrowTimeUnit::Ticks) => DataType::Int64,
        (KustoType::Guid, _) => DataType::FixedSizeBinary(16),
        (KustoType::Decimal | KustoType::String | KustoType::Dynamic | KustoType::Other(_), _) => {
            DataType::Utf8
        }
    }
}

/// The Arrow schema of a table with these columns.
pub fn arrow_schema(columns: &[Column], options: &ArrowOptions) -> Schema {
    Schema::new(
        columns
            .iter()
            .map(|c| {
                let mut metadata =
                    HashMap::from([("kusto.type".to_owned(), c.column_type.to_string())]);
                match c.column_type {
                    KustoType::Guid => {
                        metadata.insert("ARROW:extension:name".into(), "arrow.uuid".into());
                    }
                    KustoType::Dynamic | KustoType::Other(_) => {
                        metadata.insert("ARROW:extension:name".into(), "arrow.json".into());
                    }
                    _ => {}
                }
                Field::new(c.name.clone(), data_type(&c.column_type, options), true)
                    .with_metadata(metadata)
            })
            .collect::<Vec<_>>(),
    )
}

struct Ctx<'a> {
    column: &'a Column,
    options: &'a ArrowOptions,
}

impl Ctx<'_> {
    fn error(&self, row: usize, message: impl Into<String>) -> Error {
        Error::Conversion(Box::new(ConversionError {
            row: Some(row),
            column: self.column.name.clone(),
            kusto_type: self.column.column_type.to_string(),
            rust_type: format!(
                "Arrow {}",
                data_type(&self.column.column_type, self.options)
            ),
            message: message.into(),
        }))
    }

    fn mismatch(&self, row: usize, value: CellRef<'_>) -> Error {
        self.error(
            row,
            format!(
                "the value is a {}",
                value.kusto_type().map_or("null".into(), |t| t.to_string())
            ),
        )
    }
}

macro_rules! build {
    ($builder:expr, $n:expr, $cells:expr, $ctx:expr, |$v:ident, $r:ident| $conv:expr) => {{
        let mut b = $builder;
        for $r in 0..$n {
            match $cells($r) {
                CellRef::Null => b.append_null(),
                $v => b.append_value($conv?),
            }
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}

fn column_array<'a>(
    n: usize,
    cells: &dyn Fn(usize) -> CellRef<'a>,
    ctx: &Ctx<'_>,
) -> Result<ArrayRef> {
    let unit = ctx.options.time_unit;
    let array = match (&ctx.column.column_type, unit) {
        (KustoType::Bool, _) => {
            build!(
                BooleanBuilder::with_capacity(n),
                n,
                cells,
                ctx,
                |v, r| match v {
                    CellRef::Bool(b) => Ok(b),
                    other => Err(ctx.mismatch(r, other)),
                }
            )
        }
        (KustoType::Int, _) => build!(
            Int32Builder::with_capacity(n),
            n,
            cells,
            ctx,
            |v, r| match v {
                CellRef::Int(x) => Ok(x),
                other => Err(ctx.mismatch(r, other)),
            }
        ),
        (KustoType::Long, _) => build!(
            Int64Builder::with_capacity(n),
            n,
            cells,
            ctx,
            |v, r| match v {
                CellRef::Long(x) => Ok(x),
                CellRef::Int(x) => Ok(i64::from(x)),
                other => Err(ctx.mismatch(r, other)),
            }
        ),
        (KustoType::Real, _) => {
            build!(
                Float64Builder::with_capacity(n),
                n,
                cells,
                ctx,
                |v, r| match v {
                    CellRef::Real(x) => Ok(x),
                    other => Err(ctx.mismatch(r, other)),
                }
            )
        }
        (KustoType::DateTime, ArrowTimeUnit::Nanosecond) => {
            build!(
                TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC"),
                n,
                cells,
                ctx,
                |v, r| {
                    match v {
                CellRef::DateTime(t) => i64::try_from(t.unix_nanos()).map_err(|_| {
                    ctx.error(r, format!("{t} is outside the range of nanosecond timestamps (1677-09-21 .. 2262-04-11); use ArrowTimeUnit::Microsecond or ArrowTimeUnit::Ticks"))
                }),
                other => Err(ctx.mismatch(r, other)),
            }
                }
            )
        }
        (KustoType::DateTime, ArrowTimeUnit::Microsecond) => {
            build!(
                TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"),
                n,
                cells,
                ctx,
                |v, r| match v {
                    CellRef::DateTime(t) => Ok(t.unix_ticks().div_euclid(10)),
                    other => Err(ctx.mismatch(r, other)),
                }
            )
        }
        (KustoType::TimeSpan, ArrowTimeUnit::Nanosecond) => {
            build!(
                DurationNanosecondBuilder::with_capacity(n),
                n,
                cells,
                ctx,
                |v, r| {
                    match v {
                CellRef::TimeSpan(t) => t.ticks().checked_mul(100).ok_or_else(|| {
                    ctx.error(r, format!("{t} is outside the range of nanosecond durations (±292 years); use ArrowTimeUnit::Microsecond or ArrowTimeUnit::Ticks"))
                }),
                other => Err(ctx.mismatch(r, other)),
            }
                }
            )
        }
        (KustoType::TimeSpan, ArrowTimeUnit::Microsecond) => {
            build!(
                DurationMicrosecondBuilder::with_capacity(n),
                n,
                cells,
                ctx,
                |v, r| match v {
                    CellRef::TimeSpan(t) => Ok(t.ticks().div_euclid(10)),
                    other => Err(ctx.mismatch(r, other)),
                }
            )
        }
        (KustoType::DateTime | KustoType::TimeSpan, ArrowTimeUnit::Ticks) => {
            build!(
                Int64Builder::with_capacity(n),
                n,
                cells,
                ctx,
                |v, r| match v {
                    CellRef::DateTime(t) => Ok(t.unix_ticks()),
                    CellRef::TimeSpan(t) => Ok(t.ticks()),
                    other => Err(ctx.mismatch(r, other)),
                }
            )
        }
        (KustoType::Guid, _) => {
            let mut b = FixedSizeBinaryBuilder::with_capacity(n, 16);
            for r in 0..n {
                match cells(r) {
                    CellRef::Null => b.append_null(),
                    CellRef::Guid(g) => b
                        .append_value(g.as_bytes())
                        .map_err(|e| ctx.error(r, e.to_string()))?,
                    other => return Err(ctx.mismatch(r, other)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }
        (KustoType::Decimal | KustoType::String | KustoType::Dynamic | KustoType::Other(_), _) => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            let ty = &ctx.column.column_type;
            for r in 0..n {
                match (ty, cells(r)) {
                    (_, CellRef::Null) => b.append_null(),
                    (KustoType::String, CellRef::String(s)) => b.append_value(s),
                    (KustoType::Decimal, CellRef::Decimal(d)) => b.append_value(d.to_string()),
                    (KustoType::Dynamic | KustoType::Other(_), CellRef::Dynamic(v)) => {
                        b.append_value(v.to_string())
                    }
                    (KustoType::Dynamic | KustoType::Other(_), CellRef::Json(text)) => {
                        b.append_value(text)
                    }
                    (_, other) => return Err(ctx.mismatch(r, other)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }
    };
    Ok(array)
}

/// Converts rows typed by `columns` into a [`RecordBatch`].
pub fn to_record_batch(
    columns: &[Column],
    rows: &[Row],
    options: &ArrowOptions,
) -> Result<RecordBatch> {
    record_batch(columns, rows.len(), options, &|r, i| {
        rows.get(r)
            .and_then(|row| row.get(i))
            .map_or(CellRef::Null, CellRef::of)
    })
}

/// A [`RecordBatch`] of `n` rows whose cell at row `r`, column `i` is `cell(r, i)`.
fn record_batch<'a>(
    columns: &[Column],
    n: usize,
    options: &ArrowOptions,
    cell: &dyn Fn(usize, usize) -> CellRef<'a>,
) -> Result<RecordBatch> {
    let schema = Arc::new(arrow_schema(columns, options));
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, column)| column_array(n, &|r| cell(r, i), &Ctx { column, options }))
        .collect::<Result<Vec<_>>>()?;
    let batch_options = RecordBatchOptions::new().with_row_count(Some(n));
    RecordBatch::try_new_with_options(schema, arrays, &batch_options).map_err(|e| {
        Error::Conversion(Box::new(ConversionError {
            row: None,
            column: String::new(),
            kusto_type: String::new(),
            rust_type: "Arrow RecordBatch".into(),
            message: e.to_string(),
        }))
    })
}

impl KustoTable {
    /// The table as one Arrow [`RecordBatch`] (default [`ArrowOptions`]).
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        self.to_record_batch_with(&ArrowOptions::default())
    }

    /// The table as one Arrow [`RecordBatch`].
    pub fn to_record_batch_with(&self, options: &ArrowOptions) -> Result<RecordBatch> {
        record_batch(&self.columns, self.len(), options, &|r, i| self.cell(r, i))
    }
}

impl RowBatch {
    /// The batch as an Arrow [`RecordBatch`] (default [`ArrowOptions`]). Every batch of a table
    /// has the same schema.
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        to_record_batch(&self.columns, &self.rows, &ArrowOptions::default())
    }

    /// The batch as an Arrow [`RecordBatch`].
    pub fn to_record_batch_with(&self, options: &ArrowOptions) -> Result<RecordBatch> {
        to_record_batch(&self.columns, &self.rows, options)
    }
}
