//! Parquet records as JSON objects (column name to value), so that Parquet mappings (`Field`,
//! `Path`) and identity mapping by name share the JSON code path.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Date64Array,
    LargeBinaryArray, LargeStringArray, StringArray, StructArray,
};
use arrow::datatypes::{
    DataType, Decimal128Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value as Json};

use super::IngestFailure;
use crate::time;

fn invalid(details: String) -> IngestFailure {
    IngestFailure::permanent("BadRequest_InvalidBlob", details)
}

/// Reads every row of a Parquet file as a JSON object.
pub(crate) fn read_records(data: &[u8]) -> Result<Vec<Json>, IngestFailure> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(data))
        .map_err(|e| invalid(format!("The Parquet data could not be read: {e}")))?;
    let reader = builder
        .build()
        .map_err(|e| invalid(format!("The Parquet data could not be read: {e}")))?;
    let mut records = Vec::new();
    for batch in reader {
        let batch =
            batch.map_err(|e| invalid(format!("The Parquet data could not be read: {e}")))?;
        let schema = batch.schema();
        let columns: Vec<Vec<Json>> = batch.columns().iter().map(array_to_json).collect();
        for row in 0..batch.num_rows() {
            let mut obj = Map::new();
            for (field, values) in schema.fields().iter().zip(&columns) {
                obj.insert(
                    field.name().clone(),
                    values.get(row).cloned().unwrap_or(Json::Null),
                );
            }
            records.push(Json::Object(obj));
        }
    }
    Ok(records)
}

fn datetime_json(ticks_since_unix: Option<i128>) -> Json {
    let unix_epoch = i128::from(time::ticks_from_parts(1970, 1, 1, 0, 0, 0, 0).unwrap_or(0));
    match ticks_since_unix.map(|t| t + unix_epoch) {
        Some(t) if (0..=i128::from(time::MAX_DATETIME_TICKS)).contains(&t) => {
            Json::String(time::format_datetime(t as i64))
        }
        _ => Json::Null,
    }
}

fn timespan_json(ticks: Option<i128>) -> Json {
    match ticks.and_then(|t| i64::try_from(t).ok()) {
        Some(t) => Json::String(time::format_timespan(t)),
        None => Json::Null,
    }
}

fn number<T: Into<f64> + Copy>(v: T) -> Json {
    serde_json::Number::from_f64(v.into()).map_or_else(
        || {
            let f: f64 = v.into();
            Json::String(if f.is_nan() {
                "NaN".into()
            } else if f > 0.0 {
                "Infinity".into()
            } else {
                "-Infinity".into()
            })
        },
        Json::Number,
    )
}

macro_rules! primitive {
    ($array:expr, $ty:ty, $conv:expr) => {{
        let a = $array.as_primitive::<$ty>();
        (0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    Json::Null
                } else {
                    $conv(a.value(i))
                }
            })
            .collect()
    }};
}

/// Converts one Arrow array into JSON values, one per row.
fn array_to_json(array: &ArrayRef) -> Vec<Json> {
    let len = array.len();
    match array.data_type() {
        DataType::Null => vec![Json::Null; len],
        DataType::Boolean => {
            let a = array.as_any().downcast_ref::<BooleanArray>();
            (0..len)
                .map(|i| match a {
                    Some(a) if !a.is_null(i) => Json::Bool(a.value(i)),
                    _ => Json::Null,
                })
                .collect()
        }
        DataType::Int8 => primitive!(array, Int8Type, |v: i8| Json::from(v)),
        DataType::Int16 => primitive!(array, Int16Type, |v: i16| Json::from(v)),
        DataType::Int32 => primitive!(array, Int32Type, |v: i32| Json::from(v)),
        DataType::Int64 => primitive!(array, Int64Type, |v: i64| Json::from(v)),
        DataType::UInt8 => primitive!(array, UInt8Type, |v: u8| Json::from(v)),
        DataType::UInt16 => primitive!(array, UInt16Type, |v: u16| Json::from(v)),
        DataType::UInt32 => primitive!(array, UInt32Type, |v: u32| Json::from(v)),
        DataType::UInt64 => primitive!(array, UInt64Type, |v: u64| Json::from(v)),
        DataType::Float32 => primitive!(array, Float32Type, |v: f32| number(v)),
        DataType::Float64 => primitive!(array, Float64Type, |v: f64| number(v)),
        DataType::Utf8 => strings(array.as_any().downcast_ref::<StringArray>().map(|a| {
            (0..len)
                .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                .collect()
        })),
        DataType::LargeUtf8 => {
            strings(array.as_any().downcast_ref::<LargeStringArray>().map(|a| {
                (0..len)
                    .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                    .collect()
            }))
        }
        DataType::Binary => strings(array.as_any().downcast_ref::<BinaryArray>().map(|a| {
            (0..len)
                .map(|i| (!a.is_null(i)).then(|| String::from_utf8_lossy(a.value(i)).into_owned()))
                .collect()
        })),
        DataType::LargeBinary => {
            strings(array.as_any().downcast_ref::<LargeBinaryArray>().map(|a| {
                (0..len)
                    .map(|i| {
                        (!a.is_null(i)).then(|| String::from_utf8_lossy(a.value(i)).into_owned())
                    })
                    .collect()
            }))
        }
        DataType::Date32 => {
            let a = array.as_any().downcast_ref::<Date32Array>();
            (0..len)
                .map(|i| match a {
                    Some(a) if !a.is_null(i) => datetime_json(Some(
                        i128::from(a.value(i)) * i128::from(time::TICKS_PER_DAY),
                    )),
                    _ => Json::Null,
                })
                .collect()
        }
        DataType::Date64 => {
            let a = array.as_any().downcast_ref::<Date64Array>();
            (0..len)
                .map(|i| match a {
                    Some(a) if !a.is_null(i) => {
                        datetime_json(Some(i128::from(a.value(i)) * 10_000))
                    }
                    _ => Json::Null,
                })
                .collect()
        }
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => primitive!(array, TimestampSecondType, |v: i64| datetime_json(
                Some(i128::from(v) * 10_000_000)
            )),
            TimeUnit::Millisecond => {
                primitive!(array, TimestampMillisecondType, |v: i64| datetime_json(
                    Some(i128::from(v) * 10_000)
                ))
            }
            TimeUnit::Microsecond => {
                primitive!(array, TimestampMicrosecondType, |v: i64| datetime_json(
                    Some(i128::from(v) * 10)
                ))
            }
            TimeUnit::Nanosecond => {
                primitive!(array, TimestampNanosecondType, |v: i64| datetime_json(
                    Some(i128::from(v) / 100)
                ))
            }
        },
        DataType::Duration(unit) => match unit {
            TimeUnit::Second => primitive!(array, DurationSecondType, |v: i64| timespan_json(
                Some(i128::from(v) * 10_000_000)
            )),
            TimeUnit::Millisecond => {
                primitive!(array, DurationMillisecondType, |v: i64| timespan_json(
                    Some(i128::from(v) * 10_000)
                ))
            }
            TimeUnit::Microsecond => {
                primitive!(array, DurationMicrosecondType, |v: i64| timespan_json(
                    Some(i128::from(v) * 10)
                ))
            }
            TimeUnit::Nanosecond => {
                primitive!(array, DurationNanosecondType, |v: i64| timespan_json(Some(
                    i128::from(v) / 100
                )))
            }
        },
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            primitive!(array, Decimal128Type, |v: i128| Json::String(decimal_text(
                v, scale
            )))
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => (0..len)
            .map(|i| {
                if array.is_null(i) {
                    return Json::Null;
                }
                let item: Option<ArrayRef> = match array.data_type() {
                    DataType::List(_) => Some(array.as_list::<i32>().value(i)),
                    DataType::LargeList(_) => Some(array.as_list::<i64>().value(i)),
                    _ => array.as_fixed_size_list_opt().map(|a| a.value(i)),
                };
                item.map_or(Json::Null, |a| Json::Array(array_to_json(&a)))
            })
            .collect(),
        DataType::Struct(_) => match array.as_any().downcast_ref::<StructArray>() {
            Some(s) => {
                let children: Vec<(String, Vec<Json>)> = s
                    .fields()
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), array_to_json(&Arc::clone(c))))
                    .collect();
                (0..len)
                    .map(|i| {
                        if s.is_null(i) {
                            return Json::Null;
                        }
                        let mut obj = Map::new();
                        for (name, values) in &children {
                            obj.insert(name.clone(), values.get(i).cloned().unwrap_or(Json::Null));
                        }
                        Json::Object(obj)
                    })
                    .collect()
            }
            None => vec![Json::Null; len],
        },
        _ => {
            let options = arrow::util::display::FormatOptions::default();
            match arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &options) {
                Ok(f) => (0..len)
                    .map(|i| {
                        if array.is_null(i) {
                            Json::Null
                        } else {
                            Json::String(f.value(i).to_string())
                        }
                    })
                    .collect(),
                Err(_) => vec![Json::Null; len],
            }
        }
    }
}

fn strings(values: Option<Vec<Option<String>>>) -> Vec<Json> {
    values
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.map_or(Json::Null, Json::String))
        .collect()
}

fn decimal_text(value: i128, scale: i8) -> String {
    if scale <= 0 {
        let zeros = "0".repeat(usize::from(scale.unsigned_abs()));
        return format!("{value}{zeros}");
    }
    let scale = usize::from(scale.unsigned_abs());
    let digits = value.unsigned_abs().to_string();
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int_part}.{frac}", if value < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_scales() {
        assert_eq!(decimal_text(12340, 3), "12.340");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(7, -2), "700");
    }

    #[test]
    fn garbage_is_an_invalid_blob() {
        let e = read_records(b"not a parquet file").unwrap_err();
        assert_eq!(e.code, "BadRequest_InvalidBlob");
    }
}
