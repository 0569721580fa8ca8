//! Polars columns to Arrow (arrow-rs) arrays, one slice of rows at a time, and the checks that
//! run over a whole frame before anything is uploaded.
//!
//! The Arrow arrays are the one typed view every writer reads (JSON lines, CSV and Parquet), so
//! the three formats cannot disagree about a value. Types are mapped as the table in the crate
//! documentation says; in short: integers to `Int32`/`Int64`, floats to `Float64` (an `f32`
//! as the double of its shortest text), categoricals and enums to their strings, binary to base64 text, dates and datetimes to
//! `Date32` / `Timestamp(unit, "UTC")`, durations and times of day to `Duration`, decimals to
//! `Decimal128`, lists, arrays and structs to the nested Arrow types.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, DurationMicrosecondArray,
    DurationMillisecondArray, DurationNanosecondArray, FixedSizeListArray, Float64Array,
    Int32Array, Int64Array, LargeListArray, NullArray, StringArray, StructArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{Field, Fields};
use base64::Engine as _;
use kusto_data::KustoDateTime;
use polars::prelude::{ChunkAgg, DataType, Series, TimeUnit};

use crate::error::{Error, Result};
use crate::options::BinaryEncoding;

/// 100 ns ticks per unit of a Polars time unit.
pub(crate) fn ticks_per_unit(unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Nanoseconds => None,
        TimeUnit::Microseconds => Some(10),
        TimeUnit::Milliseconds => Some(10_000),
    }
}

/// A value in `unit` as 100 ns ticks, rounded down (toward the past) for nanoseconds; `None`
/// on overflow.
pub(crate) fn to_ticks(value: i64, unit: TimeUnit) -> Option<i64> {
    match ticks_per_unit(unit) {
        None => Some(value.div_euclid(100)),
        Some(factor) => value.checked_mul(factor),
    }
}

/// A nanosecond value rounded down to Kusto's 100 ns tick (so that every format and every
/// reader sees the same tick); `None` within 100 ns of `i64::MIN`.
pub(crate) fn floor_to_tick(nanos: i64) -> Option<i64> {
    nanos.div_euclid(100).checked_mul(100)
}

fn floored(values: impl Iterator<Item = Option<i64>>) -> impl Iterator<Item = Option<i64>> {
    values.map(|v| v.map(|n| floor_to_tick(n).unwrap_or(n)))
}

/// Checks that the smallest nanosecond value of a column can be rounded down to a tick.
fn check_nanos(column: &str, min: Option<i64>) -> Result<()> {
    match min {
        Some(value) if floor_to_tick(value).is_none() => Err(out_of_range(
            column,
            format!(
                "{value} ns is within 100 ns of the smallest 64-bit value; its 100 ns tick cannot be written"
            ),
        )),
        _ => Ok(()),
    }
}

/// An `f32` as the double of its shortest decimal text (`-0.1f32` becomes `-0.1`, not
/// `-0.10000000149011612`): the value a reader of the frame sees, the same in every format.
/// NaN and infinities stay what they are.
pub(crate) fn widen(value: f32) -> f64 {
    if !value.is_finite() {
        return f64::from(value);
    }
    ryu::Buffer::new()
        .format_finite(value)
        .parse::<f64>()
        .unwrap_or(f64::from(value))
}

/// Days since the Unix epoch as 100 ns ticks since the epoch.
pub(crate) fn days_to_ticks(days: i32) -> i64 {
    i64::from(days) * 864_000_000_000
}

fn unsupported(column: &str, dtype: &DataType, reason: &str) -> Error {
    Error::UnsupportedType {
        column: column.to_owned(),
        dtype: dtype.to_string(),
        reason: reason.to_owned(),
    }
}

fn out_of_range(column: &str, message: String) -> Error {
    Error::OutOfRange {
        column: column.to_owned(),
        message,
    }
}

/// Checks that every value of `series` can be represented in Kusto: run over the whole frame
/// before any upload, so that a bad value never fails an ingestion half-way.
pub(crate) fn check(series: &Series, column: &str, binary: BinaryEncoding) -> Result<()> {
    let dtype = series.dtype();
    match dtype {
        DataType::UInt64 => {
            if let Some(max) = series.u64()?.max()
                && max > i64::MAX as u64
            {
                return Err(out_of_range(
                    column,
                    format!("{max} is above the largest Kusto long ({})", i64::MAX),
                ));
            }
        }
        DataType::Int128 => {
            let ca = series.i128()?;
            for value in [ca.min(), ca.max()].into_iter().flatten() {
                if i64::try_from(value).is_err() {
                    return Err(out_of_range(
                        column,
                        format!("{value} does not fit a Kusto long (64 bits)"),
                    ));
                }
            }
        }
        DataType::Datetime(unit, _) => {
            let physical = series.datetime()?.physical();
            if *unit == TimeUnit::Nanoseconds {
                check_nanos(column, physical.min())?;
            }
            for value in [physical.min(), physical.max()].into_iter().flatten() {
                let fits = to_ticks(value, *unit).and_then(KustoDateTime::from_unix_ticks);
                if fits.is_none() {
                    return Err(out_of_range(
                        column,
                        format!(
                            "the datetime {value} ({unit} since 1970) is outside Kusto's range \
                             (0001-01-01 to 9999-12-31)"
                        ),
                    ));
                }
            }
        }
        DataType::Date => {
            let physical = series.date()?.physical();
            for days in [physical.min(), physical.max()].into_iter().flatten() {
                if KustoDateTime::from_unix_ticks(days_to_ticks(days)).is_none() {
                    return Err(out_of_range(
                        column,
                        format!(
                            "the date {days} days from 1970-01-01 is outside Kusto's range \
                             (0001-01-01 to 9999-12-31)"
                        ),
                    ));
                }
            }
        }
        DataType::Duration(unit) => {
            let physical = series.duration()?.physical();
            if *unit == TimeUnit::Nanoseconds {
                check_nanos(column, physical.min())?;
            }
            for value in [physical.min(), physical.max()].into_iter().flatten() {
                if to_ticks(value, *unit).is_none() {
                    return Err(out_of_range(
                        column,
                        format!(
                            "the duration {value} {unit} is outside Kusto's timespan range \
                             (about ±29,227 years)"
                        ),
                    ));
                }
            }
        }
        DataType::Binary | DataType::BinaryOffset if binary == BinaryEncoding::Refuse => {
            return Err(unsupported(
                column,
                dtype,
                "Kusto has no binary type; choose BinaryEncoding::Base64 to store it as base64 text",
            ));
        }
        DataType::List(_) => {
            let inner = series.list()?.get_inner();
            check(&inner, column, binary)?;
        }
        DataType::Array(_, _) => {
            let inner = series.array()?.get_inner();
            check(&inner, column, binary)?;
        }
        DataType::Struct(_) => {
            for field in series.struct_()?.fields_as_series() {
                check(&field, &format!("{column}.{}", field.name()), binary)?;
            }
        }
        DataType::Unknown(_) => {
            return Err(unsupported(column, dtype, "the type is not known"));
        }
        #[allow(unreachable_patterns)]
        DataType::Boolean
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal(_, _)
        | DataType::String
        | DataType::Binary
        | DataType::BinaryOffset
        | DataType::Time
        | DataType::Null
        | DataType::Categorical(_, _)
        | DataType::Enum(_, _) => {}
        #[allow(unreachable_patterns)]
        _ => {
            return Err(unsupported(
                column,
                dtype,
                "this crate writes no such type (objects and extension types have no Kusto form)",
            ));
        }
    }
    Ok(())
}

/// The validity of a column as an Arrow null buffer (`None` when nothing is null).
fn nulls_of(series: &Series) -> Option<NullBuffer> {
    if series.null_count() == 0 {
        return None;
    }
    let valid: Vec<bool> = series
        .is_not_null()
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect();
    Some(NullBuffer::from(valid))
}

/// Converts a (short) Polars series to one Arrow array. `check` must have accepted it.
pub(crate) fn to_arrow(series: &Series, column: &str, binary: BinaryEncoding) -> Result<ArrayRef> {
    let dtype = series.dtype();
    let array: ArrayRef = match dtype {
        DataType::Boolean => Arc::new(series.bool()?.iter().collect::<BooleanArray>()),
        DataType::Int8 => Arc::new(
            series
                .i8()?
                .iter()
                .map(|v| v.map(i32::from))
                .collect::<Int32Array>(),
        ),
        DataType::Int16 => Arc::new(
            series
                .i16()?
                .iter()
                .map(|v| v.map(i32::from))
                .collect::<Int32Array>(),
        ),
        DataType::UInt8 => Arc::new(
            series
                .u8()?
                .iter()
                .map(|v| v.map(i32::from))
                .collect::<Int32Array>(),
        ),
        DataType::UInt16 => Arc::new(
            series
                .u16()?
                .iter()
                .map(|v| v.map(i32::from))
                .collect::<Int32Array>(),
        ),
        DataType::Int32 => Arc::new(series.i32()?.iter().collect::<Int32Array>()),
        DataType::UInt32 => Arc::new(
            series
                .u32()?
                .iter()
                .map(|v| v.map(i64::from))
                .collect::<Int64Array>(),
        ),
        DataType::Int64 => Arc::new(series.i64()?.iter().collect::<Int64Array>()),
        DataType::UInt64 => Arc::new(
            series
                .u64()?
                .iter()
                .map(|v| v.map(i64::try_from).transpose())
                .collect::<std::result::Result<Int64Array, _>>()
                .map_err(|_| out_of_range(column, "a value does not fit a Kusto long".into()))?,
        ),
        DataType::Int128 => Arc::new(
            series
                .i128()?
                .iter()
                .map(|v| v.map(i64::try_from).transpose())
                .collect::<std::result::Result<Int64Array, _>>()
                .map_err(|_| out_of_range(column, "a value does not fit a Kusto long".into()))?,
        ),
        DataType::Float16 => {
            let f32s = series.cast(&DataType::Float32)?;
            Arc::new(
                f32s.f32()?
                    .iter()
                    .map(|v| v.map(widen))
                    .collect::<Float64Array>(),
            )
        }
        DataType::Float32 => Arc::new(
            series
                .f32()?
                .iter()
                .map(|v| v.map(widen))
                .collect::<Float64Array>(),
        ),
        DataType::Float64 => Arc::new(series.f64()?.iter().collect::<Float64Array>()),
        DataType::String => Arc::new(series.str()?.iter().collect::<StringArray>()),
        DataType::Categorical(_, _) | DataType::Enum(_, _) => {
            let strings = series.cast(&DataType::String)?;
            Arc::new(strings.str()?.iter().collect::<StringArray>())
        }
        DataType::Binary | DataType::BinaryOffset => {
            if binary == BinaryEncoding::Refuse {
                return Err(unsupported(column, dtype, "binary columns are refused"));
            }
            let bytes = series.cast(&DataType::Binary)?;
            let engine = base64::engine::general_purpose::STANDARD;
            Arc::new(
                bytes
                    .binary()?
                    .iter()
                    .map(|v| v.map(|b| engine.encode(b)))
                    .collect::<StringArray>(),
            )
        }
        DataType::Date => Arc::new(series.date()?.physical().iter().collect::<Date32Array>()),
        DataType::Datetime(unit, _) => {
            let values = series.datetime()?.physical().iter();
            match unit {
                TimeUnit::Nanoseconds => Arc::new(
                    floored(values)
                        .collect::<TimestampNanosecondArray>()
                        .with_timezone("UTC"),
                ),
                TimeUnit::Microseconds => Arc::new(
                    values
                        .collect::<TimestampMicrosecondArray>()
                        .with_timezone("UTC"),
                ),
                TimeUnit::Milliseconds => Arc::new(
                    values
                        .collect::<TimestampMillisecondArray>()
                        .with_timezone("UTC"),
                ),
            }
        }
        DataType::Duration(unit) => {
            let values = series.duration()?.physical().iter();
            match unit {
                TimeUnit::Nanoseconds => {
                    Arc::new(floored(values).collect::<DurationNanosecondArray>())
                }
                TimeUnit::Microseconds => Arc::new(values.collect::<DurationMicrosecondArray>()),
                TimeUnit::Milliseconds => Arc::new(values.collect::<DurationMillisecondArray>()),
            }
        }
        DataType::Time => {
            Arc::new(floored(series.time()?.physical().iter()).collect::<DurationNanosecondArray>())
        }
        DataType::Decimal(precision, scale) => {
            let (precision, scale) = decimal_parameters(column, dtype, *precision, *scale)?;
            let values = series
                .decimal()?
                .physical()
                .iter()
                .collect::<Decimal128Array>();
            Arc::new(
                values
                    .with_precision_and_scale(precision, scale)
                    .map_err(|e| unsupported(column, dtype, &e.to_string()))?,
            )
        }
        DataType::Null => Arc::new(NullArray::new(series.len())),
        DataType::List(_) => {
            let list = series.list()?.rechunk();
            let offsets: Vec<i64> = match list.downcast_iter().next() {
                Some(chunk) => chunk.offsets().as_slice().to_vec(),
                None => vec![0],
            };
            let start = offsets.first().copied().unwrap_or(0);
            let end = offsets.last().copied().unwrap_or(0);
            let inner = list
                .get_inner()
                .slice(start, usize::try_from(end - start).unwrap_or(0));
            let values = to_arrow(&inner, column, binary)?;
            let rebased: Vec<i64> = offsets.iter().map(|o| o - start).collect();
            let field = Arc::new(Field::new("item", values.data_type().clone(), true));
            Arc::new(
                LargeListArray::try_new(
                    field,
                    OffsetBuffer::new(ScalarBuffer::from(rebased)),
                    values,
                    nulls_of(series),
                )
                .map_err(|e| unsupported(column, dtype, &e.to_string()))?,
            )
        }
        DataType::Array(_, width) => {
            let array = series.array()?.rechunk();
            let inner = array.get_inner();
            let expected = series.len() * *width;
            if inner.len() != expected {
                return Err(unsupported(
                    column,
                    dtype,
                    &format!(
                        "the array holds {} values for {expected} slots",
                        inner.len()
                    ),
                ));
            }
            let values = to_arrow(&inner, column, binary)?;
            let field = Arc::new(Field::new("item", values.data_type().clone(), true));
            let size = i32::try_from(*width)
                .map_err(|_| unsupported(column, dtype, "the array is too wide"))?;
            Arc::new(
                FixedSizeListArray::try_new(field, size, values, nulls_of(series))
                    .map_err(|e| unsupported(column, dtype, &e.to_string()))?,
            )
        }
        DataType::Struct(_) => {
            let structs = series.struct_()?;
            let mut fields = Vec::new();
            let mut arrays = Vec::new();
            for field in structs.fields_as_series() {
                let path = format!("{column}.{}", field.name());
                let array = to_arrow(&field, &path, binary)?;
                fields.push(Field::new(
                    field.name().as_str(),
                    array.data_type().clone(),
                    true,
                ));
                arrays.push(array);
            }
            if arrays.is_empty() {
                return Err(unsupported(column, dtype, "a struct without fields"));
            }
            Arc::new(
                StructArray::try_new(Fields::from(fields), arrays, nulls_of(series))
                    .map_err(|e| unsupported(column, dtype, &e.to_string()))?,
            )
        }
        _ => {
            return Err(unsupported(
                column,
                dtype,
                "this crate writes no such type (objects and extension types have no Kusto form)",
            ));
        }
    };
    Ok(array)
}

/// Polars decimal parameters as Arrow's (precision 1..=38, scale within precision).
fn decimal_parameters(
    column: &str,
    dtype: &DataType,
    precision: usize,
    scale: usize,
) -> Result<(u8, i8)> {
    let precision = u8::try_from(precision)
        .ok()
        .filter(|p| (1..=38).contains(p))
        .ok_or_else(|| unsupported(column, dtype, "decimal precision must be 1 to 38"))?;
    let scale = i8::try_from(scale)
        .ok()
        .filter(|s| (*s as u8) <= precision)
        .ok_or_else(|| unsupported(column, dtype, "decimal scale exceeds its precision"))?;
    Ok((precision, scale))
}
