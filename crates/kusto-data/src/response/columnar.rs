//! The columnar decoding path (cargo feature `arrow`): the cells of each row are decoded straight
//! into one Arrow array builder per column, typed by the table header, with no [`KustoValue`]
//! (or row `Vec`) per cell.
//!
//! The values are those of the row path followed by [`to_record_batch`](super::to_record_batch):
//! every conversion rule of [`decode`](super::decode) (which JSON a column type accepts, nulls,
//! `NaN`/`Infinity` strings, exact decimals, integral floats in integer columns) and of
//! [`arrow_batch`](super::arrow_batch) (time units, guid bytes, dynamic as compact JSON text) is
//! applied in one step. The tests in `tests/columnar.rs` check that both paths give equal
//! record batches.
//!
//! [`KustoValue`]: crate::types::KustoValue

use std::fmt::{self, Write as _};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, FixedSizeBinaryBuilder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder,
};
use arrow::datatypes::{
    DurationMicrosecondType, DurationNanosecondType, SchemaRef, TimestampMicrosecondType,
    TimestampNanosecondType,
};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{ConversionError, Error};
use crate::types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, Uuid};

use super::arrow_batch::{ArrowOptions, ArrowTimeUnit, arrow_schema, data_type};
use super::lane::{self, Cell, Lane, RowText, Scratch, compact_json_end, is_canonical_decimal};
use super::scan::offset_of;
use super::table::Column;

/// One column's builder.
#[derive(Debug)]
enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    Real(Float64Builder),
    /// Values already in the unit of [`ArrowOptions::time_unit`].
    DateTime(Int64Builder),
    /// Values already in the unit of [`ArrowOptions::time_unit`].
    TimeSpan(Int64Builder),
    Guid(FixedSizeBinaryBuilder),
    /// `string` (JSON strings as they are).
    Text(StringBuilder),
    /// `decimal` (the exact decimal text).
    Decimal(StringBuilder),
    /// `dynamic` and unknown types (compact JSON text).
    Json(StringBuilder),
}

impl ColumnBuilder {
    fn new(ty: &KustoType, capacity: usize) -> Self {
        match ty {
            KustoType::Bool => Self::Bool(BooleanBuilder::with_capacity(capacity)),
            KustoType::Int => Self::Int(Int32Builder::with_capacity(capacity)),
            KustoType::Long => Self::Long(Int64Builder::with_capacity(capacity)),
            KustoType::Real => Self::Real(Float64Builder::with_capacity(capacity)),
            KustoType::DateTime => Self::DateTime(Int64Builder::with_capacity(capacity)),
            KustoType::TimeSpan => Self::TimeSpan(Int64Builder::with_capacity(capacity)),
            KustoType::Guid => Self::Guid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
            KustoType::String => Self::Text(StringBuilder::with_capacity(capacity, capacity * 16)),
            KustoType::Decimal => {
                Self::Decimal(StringBuilder::with_capacity(capacity, capacity * 8))
            }
            KustoType::Dynamic | KustoType::Other(_) => {
                Self::Json(StringBuilder::with_capacity(capacity, capacity * 16))
            }
        }
    }

    fn append_null(&mut self) {
        match self {
            Self::Bool(b) => b.append_null(),
            Self::Int(b) => b.append_null(),
            Self::Long(b) | Self::DateTime(b) | Self::TimeSpan(b) => b.append_null(),
            Self::Real(b) => b.append_null(),
            Self::Guid(b) => b.append_null(),
            Self::Text(b) | Self::Decimal(b) | Self::Json(b) => b.append_null(),
        }
    }

    /// True when the lane's `cell` can be appended as it is: a datetime or timespan that the
    /// time unit can hold, text that is UTF-8 (else the serde decoder reports the error).
    fn takes(&self, cell: Cell, row: RowText<'_>, unit: ArrowTimeUnit) -> bool {
        match (self, cell) {
            (_, Cell::Text(s, e) | Cell::Decimal(s, e) | Cell::Json(s, e)) => {
                row.text(s, e).is_some()
            }
            (Self::DateTime(_), Cell::DateTime(t)) if unit == ArrowTimeUnit::Nanosecond => {
                i64::try_from(t.unix_nanos()).is_ok()
            }
            (Self::TimeSpan(_), Cell::TimeSpan(t)) if unit == ArrowTimeUnit::Nanosecond => {
                t.ticks().checked_mul(100).is_some()
            }
            _ => true,
        }
    }

    /// Appends a cell read by the lane for this builder's column (checked with
    /// [`ColumnBuilder::takes`]); `row` is the row's bytes.
    fn append_cell(
        &mut self,
        cell: Cell,
        row: RowText<'_>,
        unit: ArrowTimeUnit,
    ) -> Result<(), AppendError> {
        match (self, cell) {
            (b, Cell::Null) => b.append_null(),
            (Self::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (Self::Int(b), Cell::Int(v)) => b.append_value(v),
            (Self::Long(b), Cell::Long(v)) => b.append_value(v),
            (Self::Real(b), Cell::Real(v)) => b.append_value(v),
            (Self::DateTime(b), Cell::DateTime(t)) => b.append_value(match unit {
                ArrowTimeUnit::Nanosecond => (t.unix_ticks()).saturating_mul(100),
                ArrowTimeUnit::Microsecond => t.unix_ticks().div_euclid(10),
                ArrowTimeUnit::Ticks => t.unix_ticks(),
            }),
            (Self::TimeSpan(b), Cell::TimeSpan(t)) => b.append_value(match unit {
                ArrowTimeUnit::Nanosecond => t.ticks().saturating_mul(100),
                ArrowTimeUnit::Microsecond => t.ticks().div_euclid(10),
                ArrowTimeUnit::Ticks => t.ticks(),
            }),
            (Self::Guid(b), Cell::Guid(g)) => b
                .append_value(g.as_bytes())
                .map_err(|e| AppendError::Malformed(e.to_string(), 0))?,
            (Self::Text(b), Cell::Text(s, e))
            | (Self::Decimal(b), Cell::Decimal(s, e))
            | (Self::Json(b), Cell::Json(s, e)) => {
                // Checked by `takes`.
                b.append_value(row.text(s, e).unwrap_or_default())
            }
            (_, cell) => {
                // The lane reads each column's own kind of cell: not reached.
                return Err(AppendError::Malformed(
                    format!("internal error: cell {cell:?} read for another column type"),
                    0,
                ));
            }
        }
        Ok(())
    }

    fn finish(&mut self, unit: ArrowTimeUnit) -> ArrayRef {
        match self {
            Self::Bool(b) => Arc::new(b.finish()),
            Self::Int(b) => Arc::new(b.finish()),
            Self::Long(b) => Arc::new(b.finish()),
            Self::Real(b) => Arc::new(b.finish()),
            Self::DateTime(b) => {
                let values = b.finish();
                match unit {
                    ArrowTimeUnit::Nanosecond => Arc::new(
                        values
                            .reinterpret_cast::<TimestampNanosecondType>()
                            .with_timezone("UTC"),
                    ),
                    ArrowTimeUnit::Microsecond => Arc::new(
                        values
                            .reinterpret_cast::<TimestampMicrosecondType>()
                            .with_timezone("UTC"),
                    ),
                    ArrowTimeUnit::Ticks => Arc::new(values),
                }
            }
            Self::TimeSpan(b) => {
                let values = b.finish();
                match unit {
                    ArrowTimeUnit::Nanosecond => {
                        Arc::new(values.reinterpret_cast::<DurationNanosecondType>())
                    }
                    ArrowTimeUnit::Microsecond => {
                        Arc::new(values.reinterpret_cast::<DurationMicrosecondType>())
                    }
                    ArrowTimeUnit::Ticks => Arc::new(values),
                }
            }
            Self::Guid(b) => Arc::new(b.finish()),
            Self::Text(b) | Self::Decimal(b) | Self::Json(b) => Arc::new(b.finish()),
        }
    }
}

/// Why a row could not be appended.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The JSON does not fit the columns: a message and the byte offset within the row.
    Malformed(String, usize),
    /// A valid value that the Arrow type cannot hold (e.g. a datetime outside the nanosecond
    /// range): an [`Error::Conversion`].
    Conversion(Error),
}

/// Arrow builders for the rows of one table, emptied into a [`RecordBatch`] by
/// [`ColumnarBuilder::finish_batch`].
#[derive(Debug)]
pub(crate) struct ColumnarBuilder {
    columns: Arc<[Column]>,
    schema: SchemaRef,
    options: ArrowOptions,
    builders: Vec<ColumnBuilder>,
    rows: usize,
    /// Rows per batch: each batch's builders are made at this size (a finished builder starts
    /// over empty and would grow by doubling).
    capacity: usize,
    /// The builders were emptied into a batch and are to be made again before the next row.
    spent: bool,
    /// How the lane reads each column.
    lanes: Vec<Lane>,
    /// The row being read by the lane.
    scratch: Scratch,
}

impl ColumnarBuilder {
    /// Builders for `columns`, sized for `capacity` rows per batch.
    pub(crate) fn new(columns: Arc<[Column]>, options: ArrowOptions, capacity: usize) -> Self {
        let capacity = capacity.clamp(1, 8192);
        let schema = Arc::new(arrow_schema(&columns, &options));
        let builders = columns
            .iter()
            .map(|c| ColumnBuilder::new(&c.column_type, capacity))
            .collect();
        let lanes = columns.iter().map(|c| Lane::of(&c.column_type)).collect();
        ColumnarBuilder {
            columns,
            schema,
            options,
            builders,
            rows: 0,
            capacity,
            spent: false,
            lanes,
            scratch: Scratch::default(),
        }
    }

    /// Rows appended since the last batch.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Decodes the row at the start of `bytes` (more bytes may follow it) on the fast lane when
    /// the row is complete and the lane understands it: the row's length. `None`: nothing was
    /// appended; the caller finds the row's end and calls [`ColumnarBuilder::append_row`].
    pub(crate) fn append_fast(&mut self, bytes: &[u8]) -> Result<Option<usize>, AppendError> {
        let Some(row) = lane::read_row(bytes, &self.lanes, &mut self.scratch) else {
            return Ok(None);
        };
        // The builders cannot take a row back: check every cell before appending any.
        let unit = self.options.time_unit();
        let cells = &self.scratch.cells;
        if !self
            .builders
            .iter()
            .zip(cells)
            .all(|(b, c)| b.takes(*c, row, unit))
        {
            return Ok(None);
        }
        self.renew();
        let cells = &self.scratch.cells;
        for (builder, cell) in self.builders.iter_mut().zip(cells) {
            builder.append_cell(*cell, row, unit)?;
        }
        self.rows += 1;
        Ok(Some(row.len()))
    }

    /// Decodes one row (a complete JSON array, `bytes`) into the builders. After an error the
    /// builders may hold part of the row; the caller stops parsing.
    /// This is the serde decoder alone: the parser runs the lane
    /// ([`ColumnarBuilder::append_fast`]) on the rows it can, before it slices them out.
    pub(crate) fn append_row(&mut self, bytes: &[u8]) -> Result<(), AppendError> {
        self.renew();
        let mut conversion = None;
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let seed = RowInto {
            builders: &mut self.builders,
            columns: &self.columns,
            options: &self.options,
            row: self.rows,
            conversion: &mut conversion,
        };
        let result = seed.deserialize(&mut de).and_then(|()| de.end());
        if let Some(e) = conversion {
            return Err(AppendError::Conversion(e));
        }
        match result {
            Ok(()) => {
                self.rows += 1;
                Ok(())
            }
            Err(e) => {
                let at = offset_of(bytes, e.line(), e.column()) as usize;
                let message = e.to_string();
                let message = match message.rfind(" at line ") {
                    Some(cut) => message[..cut].to_owned(),
                    None => message,
                };
                Err(AppendError::Malformed(message, at))
            }
        }
    }

    /// Builders at full size again after a batch (see [`ColumnarBuilder::capacity`]).
    fn renew(&mut self) {
        if std::mem::take(&mut self.spent) {
            for (b, c) in self.builders.iter_mut().zip(self.columns.iter()) {
                *b = ColumnBuilder::new(&c.column_type, self.capacity);
            }
        }
    }

    /// The rows appended so far as a [`RecordBatch`]; the builders start over.
    pub(crate) fn finish_batch(&mut self) -> crate::error::Result<RecordBatch> {
        let unit = self.options.time_unit();
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish(unit)).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        self.spent = true;
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), arrays, &options).map_err(|e| {
            Error::Conversion(Box::new(ConversionError {
                row: None,
                column: String::new(),
                kusto_type: String::new(),
                rust_type: "Arrow RecordBatch".into(),
                message: e.to_string(),
            }))
        })
    }
}

struct RowInto<'a> {
    builders: &'a mut [ColumnBuilder],
    columns: &'a [Column],
    options: &'a ArrowOptions,
    row: usize,
    conversion: &'a mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for RowInto<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let n = self.columns.len();
        for (i, (column, builder)) in self
            .columns
            .iter()
            .zip(self.builders.iter_mut())
            .enumerate()
        {
            let cell = CellInto {
                builder,
                column,
                options: self.options,
                row: self.row,
                conversion: &mut *self.conversion,
            };
            if seq.next_element_seed(cell)?.is_none() {
                return Err(de::Error::custom(format!(
                    "row has {i} values but the table has {n} columns"
                )));
            }
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!(
                "row has more values than the table's {n} columns"
            )));
        }
        Ok(())
    }
}

/// Decodes one cell into its column's builder.
struct CellInto<'a> {
    builder: &'a mut ColumnBuilder,
    column: &'a Column,
    options: &'a ArrowOptions,
    row: usize,
    conversion: &'a mut Option<Error>,
}

impl CellInto<'_> {
    fn fail<E: de::Error>(&self, what: impl fmt::Display) -> E {
        E::custom(format!(
            "column '{}' ({}): {what}",
            self.column.name, self.column.column_type
        ))
    }

    /// Records a conversion error (reported instead of the serde error that stops decoding).
    fn convert<E: de::Error>(&mut self, message: String) -> E {
        *self.conversion = Some(Error::Conversion(Box::new(ConversionError {
            row: Some(self.row),
            column: self.column.name.clone(),
            kusto_type: self.column.column_type.to_string(),
            rust_type: format!(
                "Arrow {}",
                data_type(&self.column.column_type, self.options)
            ),
            message: message.clone(),
        })));
        E::custom(message)
    }

    fn datetime<E: de::Error>(&mut self, t: KustoDateTime) -> Result<i64, E> {
        match self.options.time_unit() {
            ArrowTimeUnit::Nanosecond => i64::try_from(t.unix_nanos()).map_err(|_| {
                self.convert(format!("{t} is outside the range of nanosecond timestamps (1677-09-21 .. 2262-04-11); use ArrowTimeUnit::Microsecond or ArrowTimeUnit::Ticks"))
            }),
            ArrowTimeUnit::Microsecond => Ok(t.unix_ticks().div_euclid(10)),
            ArrowTimeUnit::Ticks => Ok(t.unix_ticks()),
        }
    }

    fn timespan<E: de::Error>(&mut self, t: KustoTimespan) -> Result<i64, E> {
        match self.options.time_unit() {
            ArrowTimeUnit::Nanosecond => t.ticks().checked_mul(100).ok_or_else(|| {
                self.convert(format!("{t} is outside the range of nanosecond durations (±292 years); use ArrowTimeUnit::Microsecond or ArrowTimeUnit::Ticks"))
            }),
            ArrowTimeUnit::Microsecond => Ok(t.ticks().div_euclid(10)),
            ArrowTimeUnit::Ticks => Ok(t.ticks()),
        }
    }

    /// Appends `value` as compact JSON text (as `serde_json::Value`'s `Display` writes it).
    fn append_json_value(&mut self, value: &serde_json::Value) {
        if let ColumnBuilder::Text(b) | ColumnBuilder::Json(b) = self.builder {
            // Writing into a string builder cannot fail.
            let _ = write!(b, "{value}");
            b.append_value("");
        }
    }
}

impl<'de> DeserializeSeed<'de> for CellInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<(), D::Error> {
        if matches!(self.builder, ColumnBuilder::Decimal(_)) {
            // Read numbers from their text so that no digit is lost to f64.
            let raw = <&RawValue>::deserialize(deserializer)?;
            let text = raw.get();
            if text == "null" {
                self.builder.append_null();
                return Ok(());
            }
            let unquoted: std::borrow::Cow<'_, str> = if text.starts_with('"') {
                serde_json::from_str(text).map_err(|e| self.fail(e))?
            } else {
                text.into()
            };
            if unquoted.is_empty() {
                self.builder.append_null();
                return Ok(());
            }
            if let ColumnBuilder::Decimal(b) = &mut self.builder {
                if is_canonical_decimal(unquoted.as_bytes()) {
                    // Parsing and displaying would give the same text back.
                    b.append_value(&*unquoted);
                } else {
                    let d = unquoted.parse::<KustoDecimal>().map_err(|e| self.fail(e))?;
                    if let ColumnBuilder::Decimal(b) = &mut self.builder {
                        let _ = write!(b, "{d}");
                        b.append_value("");
                    }
                }
            }
            return Ok(());
        }
        if matches!(self.builder, ColumnBuilder::Json(_)) {
            let raw = <&RawValue>::deserialize(deserializer)?;
            let text = raw.get();
            if text == "null" {
                self.builder.append_null();
            } else if is_compact_json(text.as_bytes()) {
                // serde_json would write this text back byte for byte: skip the round trip.
                if let ColumnBuilder::Json(b) = &mut self.builder {
                    b.append_value(text);
                }
            } else {
                let value: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| self.fail(e))?;
                self.append_json_value(&value);
            }
            return Ok(());
        }
        deserializer.deserialize_any(self)
    }
}

/// True when `text` is valid JSON exactly as `serde_json::Value`'s `Display` writes it back
/// (see [`compact_json_end`]). Conservative: `false` sends the value through a
/// `serde_json::Value`.
fn is_compact_json(text: &[u8]) -> bool {
    compact_json_end(text, 0) == Some(text.len())
}

impl<'de> Visitor<'de> for CellInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} value", self.column.column_type)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.builder.append_null();
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        match &mut self.builder {
            ColumnBuilder::Bool(b) => b.append_value(v),
            ColumnBuilder::Text(_) | ColumnBuilder::Json(_) => {
                self.append_json_value(&serde_json::Value::Bool(v));
            }
            _ => return Err(self.fail(format!("unexpected boolean {v}"))),
        }
        Ok(())
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        match &mut self.builder {
            ColumnBuilder::Long(b) => b.append_value(v),
            ColumnBuilder::Int(b) => match i32::try_from(v) {
                Ok(x) => b.append_value(x),
                Err(_) => return Err(self.fail(format!("{v} does not fit a 32-bit int"))),
            },
            ColumnBuilder::Real(b) => b.append_value(v as f64),
            ColumnBuilder::Bool(b) if v == 0 || v == 1 => b.append_value(v == 1),
            ColumnBuilder::TimeSpan(_) => {
                let x = self.timespan(KustoTimespan::from_ticks(v))?;
                if let ColumnBuilder::TimeSpan(b) = &mut self.builder {
                    b.append_value(x);
                }
            }
            ColumnBuilder::Text(_) | ColumnBuilder::Json(_) => {
                self.append_json_value(&serde_json::Value::from(v));
            }
            _ => return Err(self.fail(format!("unexpected number {v}"))),
        }
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        if let Ok(v) = i64::try_from(v) {
            return self.visit_i64(v);
        }
        match &mut self.builder {
            ColumnBuilder::Real(b) => b.append_value(v as f64),
            ColumnBuilder::Text(_) | ColumnBuilder::Json(_) => {
                self.append_json_value(&serde_json::Value::from(v));
            }
            _ => return Err(self.fail(format!("{v} does not fit a 64-bit long"))),
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        match &mut self.builder {
            ColumnBuilder::Real(b) => b.append_value(v),
            ColumnBuilder::Long(_) | ColumnBuilder::Int(_)
                if v.fract() == 0.0 && v.abs() <= EXACT =>
            {
                return self.visit_i64(v as i64);
            }
            ColumnBuilder::Text(_) | ColumnBuilder::Json(_) => {
                self.append_json_value(&serde_json::Value::from(v));
            }
            _ => return Err(self.fail(format!("unexpected number {v}"))),
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        match &mut self.builder {
            ColumnBuilder::Text(b) => b.append_value(v),
            ColumnBuilder::Json(_) => {
                // The JSON text of a string value, escaped as serde_json writes it.
                self.append_json_value(&serde_json::Value::String(v.to_owned()));
            }
            ColumnBuilder::DateTime(_) | ColumnBuilder::TimeSpan(_) | ColumnBuilder::Guid(_)
                if v.is_empty() =>
            {
                self.builder.append_null();
            }
            ColumnBuilder::DateTime(_) => {
                let t = v.parse::<KustoDateTime>().map_err(|e| self.fail(e))?;
                let x = self.datetime(t)?;
                if let ColumnBuilder::DateTime(b) = &mut self.builder {
                    b.append_value(x);
                }
            }
            ColumnBuilder::TimeSpan(_) => {
                let t = v.parse::<KustoTimespan>().map_err(|e| self.fail(e))?;
                let x = self.timespan(t)?;
                if let ColumnBuilder::TimeSpan(b) = &mut self.builder {
                    b.append_value(x);
                }
            }
            ColumnBuilder::Guid(b) => match Uuid::try_parse(v) {
                Ok(g) => {
                    if let Err(e) = b.append_value(g.as_bytes()) {
                        return Err(self.convert(e.to_string()));
                    }
                }
                Err(_) => return Err(self.fail(format!("{v:?} is not a valid guid"))),
            },
            ColumnBuilder::Real(b) => match v {
                "NaN" => b.append_value(f64::NAN),
                "Infinity" | "+Infinity" => b.append_value(f64::INFINITY),
                "-Infinity" => b.append_value(f64::NEG_INFINITY),
                _ => return Err(self.fail(format!("{v:?} is not a real"))),
            },
            _ => return Err(self.fail(format!("unexpected string {v:?}"))),
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, seq: A) -> Result<(), A::Error> {
        if matches!(
            self.builder,
            ColumnBuilder::Text(_) | ColumnBuilder::Json(_)
        ) {
            let value = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
            self.append_json_value(&value);
            return Ok(());
        }
        Err(self.fail("unexpected array"))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<(), A::Error> {
        if matches!(
            self.builder,
            ColumnBuilder::Text(_) | ColumnBuilder::Json(_)
        ) {
            let value = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
            self.append_json_value(&value);
            return Ok(());
        }
        Err(self.fail("unexpected object"))
    }
}
