//! JSON lines and CSV from the Arrow arrays of a slice of rows.
//!
//! Values are written in the forms Kusto's ingestion parses exactly:
//!
//! | Arrow value | JSON lines | CSV |
//! |---|---|---|
//! | bool | `true` / `false` | `true` / `false` |
//! | integer | number | number |
//! | float | shortest round-trip number; NaN and ±infinity as `"NaN"`, `"Infinity"`, `"-Infinity"` (or null) | the same without quotes (or empty) |
//! | string | JSON string | the text, quoted when it holds `,` `"` CR or LF |
//! | date, timestamp | `"2024-01-02T03:04:05.1234567Z"` (UTC, 100 ns) | the same without quotes |
//! | duration | `"[-][d.]hh:mm:ss[.fffffff]"` (.NET form) | the same without quotes |
//! | decimal | the exact text as a string, `"12.3400"` | `12.3400` |
//! | list, fixed-size list, struct | nested JSON | the JSON text, quoted |
//! | null | `null` | empty field |
//!
//! Inside nested values the same forms are used, except that non-finite floats are always
//! strings (JSON numbers cannot be NaN).

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, FixedSizeListArray,
    Float32Array, Float64Array, Int32Array, Int64Array, LargeListArray, StringArray, StructArray,
};
use arrow::datatypes::{
    DataType, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
};
use kusto_data::{KustoDateTime, KustoTimespan};
use std::io::Write as _;

use crate::error::{Error, Result};
use crate::options::NonFinite;

/// Which text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    JsonLines,
    Csv,
}

/// Writes rows of Arrow arrays as JSON lines or CSV.
pub(crate) struct TextWriter {
    text: Text,
    non_finite: NonFinite,
    /// `"name":` for each column, escaped once.
    keys: Vec<Vec<u8>>,
}

impl TextWriter {
    pub(crate) fn new(text: Text, non_finite: NonFinite, names: &[String]) -> Self {
        let keys = names
            .iter()
            .map(|n| {
                let mut key = serde_json::to_vec(n).unwrap_or_else(|_| b"\"\"".to_vec());
                key.push(b':');
                key
            })
            .collect();
        TextWriter {
            text,
            non_finite,
            keys,
        }
    }

    /// A CSV header line of the column names (for properties that skip the first record).
    pub(crate) fn write_csv_header(names: &[String], out: &mut Vec<u8>) {
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            csv_field(name, out);
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Writes `rows` rows of `columns` (one array per frame column, in frame order).
    pub(crate) fn write(&self, columns: &[ArrayRef], rows: usize, out: &mut Vec<u8>) -> Result<()> {
        let columns: Vec<Column<'_>> = columns.iter().map(Column::of).collect::<Result<_>>()?;
        let mut scratch = Vec::new();
        for row in 0..rows {
            match self.text {
                Text::JsonLines => {
                    out.push(b'{');
                    for (i, column) in columns.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(&self.keys[i]);
                        column.write_json(row, self.non_finite, false, out)?;
                    }
                    out.extend_from_slice(b"}\n");
                }
                Text::Csv => {
                    for (i, column) in columns.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        column.write_csv(row, self.non_finite, &mut scratch, out)?;
                    }
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
        Ok(())
    }
}

/// A typed view of one array.
enum Column<'a> {
    Bool(&'a BooleanArray),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Str(&'a StringArray),
    Date(&'a Date32Array),
    /// Timestamps as 100 ns ticks since the epoch, by unit.
    Timestamp(&'a dyn Array, TimeUnit),
    Duration(&'a dyn Array, TimeUnit),
    Decimal(&'a Decimal128Array, i8),
    List(&'a LargeListArray, Box<Column<'a>>),
    FixedList(&'a FixedSizeListArray, Box<Column<'a>>),
    Struct(&'a StructArray, Vec<(Vec<u8>, Column<'a>)>),
    Null,
}

fn bad_array(what: &DataType) -> Error {
    Error::InvalidArgument(format!("internal: no writer for Arrow type {what}"))
}

impl<'a> Column<'a> {
    fn of(array: &'a ArrayRef) -> Result<Self> {
        Self::of_dyn(array.as_ref())
    }

    fn of_dyn(array: &'a dyn Array) -> Result<Self> {
        let ty = array.data_type();
        Ok(match ty {
            DataType::Boolean => Column::Bool(array.as_boolean()),
            DataType::Int32 => Column::I32(array.as_primitive()),
            DataType::Int64 => Column::I64(array.as_primitive()),
            DataType::Float32 => Column::F32(array.as_primitive()),
            DataType::Float64 => Column::F64(array.as_primitive()),
            DataType::Utf8 => Column::Str(array.as_string()),
            DataType::Date32 => Column::Date(array.as_primitive()),
            DataType::Timestamp(unit, _) => Column::Timestamp(array, *unit),
            DataType::Duration(unit) => Column::Duration(array, *unit),
            DataType::Decimal128(_, scale) => Column::Decimal(array.as_primitive(), *scale),
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                Column::List(list, Box::new(Column::of_dyn(list.values().as_ref())?))
            }
            DataType::FixedSizeList(_, _) => {
                let list = array.as_fixed_size_list();
                Column::FixedList(list, Box::new(Column::of_dyn(list.values().as_ref())?))
            }
            DataType::Struct(fields) => {
                let structs = array.as_struct();
                let children = fields
                    .iter()
                    .zip(structs.columns())
                    .map(|(f, c)| {
                        let mut key = serde_json::to_vec(f.name()).unwrap_or_default();
                        key.push(b':');
                        Ok((key, Column::of_dyn(c.as_ref())?))
                    })
                    .collect::<Result<_>>()?;
                Column::Struct(structs, children)
            }
            DataType::Null => Column::Null,
            other => return Err(bad_array(other)),
        })
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Column::Bool(a) => a.is_null(row),
            Column::I32(a) => a.is_null(row),
            Column::I64(a) => a.is_null(row),
            Column::F32(a) => a.is_null(row),
            Column::F64(a) => a.is_null(row),
            Column::Str(a) => a.is_null(row),
            Column::Date(a) => a.is_null(row),
            Column::Timestamp(a, _) | Column::Duration(a, _) => a.is_null(row),
            Column::Decimal(a, _) => a.is_null(row),
            Column::List(a, _) => a.is_null(row),
            Column::FixedList(a, _) => a.is_null(row),
            Column::Struct(a, _) => a.is_null(row),
            Column::Null => true,
        }
    }

    /// Writes the value as JSON; `nested` inside a dynamic value.
    fn write_json(
        &self,
        row: usize,
        non_finite: NonFinite,
        nested: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if self.is_null(row) {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        match self {
            Column::F32(a) => float(
                f64::from(a.value(row)),
                Some(a.value(row)),
                non_finite,
                true,
                nested,
                out,
            ),
            Column::F64(a) => float(a.value(row), None, non_finite, true, nested, out),
            Column::Str(a) => json_string(a.value(row), out),
            Column::List(list, inner) => {
                let offsets = list.value_offsets();
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                json_array(inner, start..end, non_finite, out)?;
            }
            Column::FixedList(list, inner) => {
                let size = list.value_length() as usize;
                let start = row * size;
                json_array(inner, start..start + size, non_finite, out)?;
            }
            Column::Struct(_, children) => {
                out.push(b'{');
                for (i, (key, child)) in children.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(key);
                    child.write_json(row, non_finite, true, out)?;
                }
                out.push(b'}');
            }
            _ => {
                let quoted = self.quoted_in_json();
                if quoted {
                    out.push(b'"');
                }
                self.write_plain(row, out)?;
                if quoted {
                    out.push(b'"');
                }
            }
        }
        Ok(())
    }

    /// Whether the plain text of this column is a JSON string.
    fn quoted_in_json(&self) -> bool {
        matches!(
            self,
            Column::Date(_) | Column::Timestamp(..) | Column::Duration(..) | Column::Decimal(..)
        )
    }

    /// Writes values whose text needs no escaping (numbers, bools, dates, durations, decimals).
    fn write_plain(&self, row: usize, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Column::Bool(a) => out.extend_from_slice(if a.value(row) { b"true" } else { b"false" }),
            Column::I32(a) => {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
            }
            Column::I64(a) => {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
            }
            Column::Date(a) => {
                let ticks = crate::convert::days_to_ticks(a.value(row));
                datetime(ticks, out)?;
            }
            Column::Timestamp(a, unit) => {
                let ticks = timestamp_ticks(*a, *unit, row)?;
                datetime(ticks, out)?;
            }
            Column::Duration(a, unit) => {
                let ticks = duration_ticks(*a, *unit, row)?;
                let _ = write!(out, "{}", KustoTimespan::from_ticks(ticks));
            }
            Column::Decimal(a, scale) => decimal_text(a.value(row), *scale, out),
            _ => return Err(Error::InvalidArgument("internal: not a plain value".into())),
        }
        Ok(())
    }

    fn write_csv(
        &self,
        row: usize,
        non_finite: NonFinite,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if self.is_null(row) {
            return Ok(());
        }
        match self {
            Column::F32(a) => float(
                f64::from(a.value(row)),
                Some(a.value(row)),
                non_finite,
                false,
                false,
                out,
            ),
            Column::F64(a) => float(a.value(row), None, non_finite, false, false, out),
            Column::Str(a) => csv_field(a.value(row), out),
            Column::List(..) | Column::FixedList(..) | Column::Struct(..) => {
                scratch.clear();
                self.write_json(row, non_finite, true, scratch)?;
                let text = std::str::from_utf8(scratch)
                    .map_err(|_| Error::InvalidArgument("internal: JSON is not UTF-8".into()))?;
                csv_field(text, out);
            }
            Column::Null => {}
            _ => self.write_plain(row, out)?,
        }
        Ok(())
    }
}

fn json_array(
    inner: &Column<'_>,
    rows: std::ops::Range<usize>,
    non_finite: NonFinite,
    out: &mut Vec<u8>,
) -> Result<()> {
    out.push(b'[');
    for (i, r) in rows.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        inner.write_json(r, non_finite, true, out)?;
    }
    out.push(b']');
    Ok(())
}

/// A float: shortest round-trip text; non-finite values by the option (`json`: quoted;
/// inside nested JSON always strings).
fn float(
    value: f64,
    as_f32: Option<f32>,
    non_finite: NonFinite,
    json: bool,
    nested: bool,
    out: &mut Vec<u8>,
) {
    if value.is_finite() {
        let mut buffer = ryu::Buffer::new();
        let text = match as_f32 {
            Some(v) => buffer.format_finite(v),
            None => buffer.format_finite(value),
        };
        out.extend_from_slice(text.as_bytes());
        return;
    }
    if non_finite == NonFinite::Null {
        if json {
            out.extend_from_slice(b"null");
        }
        return;
    }
    let text: &[u8] = if value.is_nan() {
        b"NaN"
    } else if value > 0.0 {
        b"Infinity"
    } else {
        b"-Infinity"
    };
    if json || nested {
        out.push(b'"');
        out.extend_from_slice(text);
        out.push(b'"');
    } else {
        out.extend_from_slice(text);
    }
}

fn json_string(text: &str, out: &mut Vec<u8>) {
    // serde_json escapes exactly what JSON requires; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// A CSV field: quoted (with `""` for `"`) when it holds a comma, quote, CR or LF.
fn csv_field(text: &str, out: &mut Vec<u8>) {
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push(b'"');
        for part in text.split('"').enumerate() {
            if part.0 > 0 {
                out.extend_from_slice(b"\"\"");
            }
            out.extend_from_slice(part.1.as_bytes());
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

fn out_of_range(what: &str) -> Error {
    Error::OutOfRange {
        column: String::new(),
        message: format!("{what} is outside Kusto's range"),
    }
}

fn timestamp_ticks(array: &dyn Array, unit: TimeUnit, row: usize) -> Result<i64> {
    let value = match unit {
        TimeUnit::Nanosecond => {
            return Ok(array
                .as_primitive::<TimestampNanosecondType>()
                .value(row)
                .div_euclid(100));
        }
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .value(row)
            .checked_mul(10),
        TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .value(row)
            .checked_mul(10_000),
        TimeUnit::Second => None,
    };
    value.ok_or_else(|| out_of_range("a datetime"))
}

fn duration_ticks(array: &dyn Array, unit: TimeUnit, row: usize) -> Result<i64> {
    let value = match unit {
        TimeUnit::Nanosecond => {
            return Ok(array
                .as_primitive::<DurationNanosecondType>()
                .value(row)
                .div_euclid(100));
        }
        TimeUnit::Microsecond => array
            .as_primitive::<DurationMicrosecondType>()
            .value(row)
            .checked_mul(10),
        TimeUnit::Millisecond => array
            .as_primitive::<DurationMillisecondType>()
            .value(row)
            .checked_mul(10_000),
        TimeUnit::Second => None,
    };
    value.ok_or_else(|| out_of_range("a duration"))
}

/// 100 ns ticks since the Unix epoch as Kusto's ISO text.
fn datetime(unix_ticks: i64, out: &mut Vec<u8>) -> Result<()> {
    let value =
        KustoDateTime::from_unix_ticks(unix_ticks).ok_or_else(|| out_of_range("a datetime"))?;
    let _ = write!(out, "{value}");
    Ok(())
}

/// The exact text of `mantissa × 10^-scale`.
pub(crate) fn decimal_text(mantissa: i128, scale: i8, out: &mut Vec<u8>) {
    if mantissa < 0 {
        out.push(b'-');
    }
    let digits = mantissa.unsigned_abs().to_string();
    let scale = usize::try_from(scale).unwrap_or(0);
    if scale == 0 {
        out.extend_from_slice(digits.as_bytes());
        return;
    }
    if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(whole.as_bytes());
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    }
}
