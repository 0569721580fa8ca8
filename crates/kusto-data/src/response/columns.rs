//! How a collected [`KustoTable`](super::KustoTable) holds its data: one typed buffer per column,
//! not a [`KustoValue`] per cell.
//!
//! A `long` cell costs 8 bytes and a bit, a `string` cell its UTF-8 bytes and an 8-byte offset, a
//! `dynamic` cell its compact JSON text: a 1,000,000-row result is held in less memory than its
//! JSON body (see the Q1 section of `docs/benchmarks.md`), where a `Vec<KustoValue>` per row
//! needed about nine times the body.
//!
//! Values that do not fit the column's declared type (only possible in tables built by hand with
//! [`KustoTable::new`](super::KustoTable::new): the parsers decode every cell as its column's
//! type) switch that column to a plain `Vec<KustoValue>`, so nothing is refused or changed.

use std::fmt::Write as _;

use serde_json::Value;

use crate::types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue, Uuid};

use super::lane::{Cell, RowText};

/// Which cells hold a value (bit set) and which are null.
#[derive(Debug, Clone, Default)]
pub(crate) struct Validity {
    bits: Vec<u64>,
    len: usize,
}

impl Validity {
    fn push(&mut self, valid: bool) {
        let (word, bit) = (self.len / 64, self.len % 64);
        if word == self.bits.len() {
            self.bits.push(0);
        }
        if valid && let Some(w) = self.bits.get_mut(word) {
            *w |= 1 << bit;
        }
        self.len += 1;
    }

    fn get(&self, i: usize) -> bool {
        i < self.len
            && self
                .bits
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn clear(&mut self) {
        self.bits.clear();
        self.len = 0;
    }

    /// Keeps the first `len` cells.
    fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        self.bits.truncate(len.div_ceil(64));
        if let Some(last) = self.bits.last_mut()
            && !len.is_multiple_of(64)
        {
            *last &= (1 << (len % 64)) - 1;
        }
        self.len = len;
    }
}

/// Fixed-size values with a null mask; a null slot holds `zero`.
#[derive(Debug, Clone)]
pub(crate) struct Fixed<T> {
    values: Vec<T>,
    valid: Validity,
    zero: T,
}

impl<T: Copy> Fixed<T> {
    fn new(zero: T) -> Self {
        Fixed {
            values: Vec::new(),
            valid: Validity::default(),
            zero,
        }
    }

    fn push(&mut self, value: Option<T>) {
        self.valid.push(value.is_some());
        self.values.push(value.unwrap_or(self.zero));
    }

    fn get(&self, i: usize) -> Option<T> {
        if self.valid.get(i) {
            self.values.get(i).copied()
        } else {
            None
        }
    }

    fn clear(&mut self) {
        self.values.clear();
        self.valid.clear();
    }

    fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.valid.truncate(len);
    }
}

/// Text values in one buffer, with the end offset of each.
#[derive(Debug, Clone, Default)]
pub(crate) struct Texts {
    data: String,
    ends: Vec<usize>,
    valid: Validity,
}

impl Texts {
    fn push_null(&mut self) {
        self.valid.push(false);
        self.ends.push(self.data.len());
    }

    fn push_str(&mut self, s: &str) {
        self.data.push_str(s);
        self.valid.push(true);
        self.ends.push(self.data.len());
    }

    /// Appends the compact JSON text of `v`.
    fn push_json(&mut self, v: &Value) {
        // Writing into a String cannot fail.
        let _ = write!(self.data, "{v}");
        self.valid.push(true);
        self.ends.push(self.data.len());
    }

    fn get(&self, i: usize) -> Option<&str> {
        if !self.valid.get(i) {
            return None;
        }
        let start = match i.checked_sub(1) {
            Some(p) => *self.ends.get(p)?,
            None => 0,
        };
        let end = *self.ends.get(i)?;
        self.data.get(start..end)
    }

    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.valid.clear();
    }

    fn truncate(&mut self, len: usize) {
        self.ends.truncate(len);
        self.data.truncate(self.ends.last().copied().unwrap_or(0));
        self.valid.truncate(len);
    }
}

/// The data of one column.
#[derive(Debug, Clone)]
pub(crate) enum ColumnData {
    Bool(Fixed<bool>),
    Int(Fixed<i32>),
    Long(Fixed<i64>),
    Real(Fixed<f64>),
    Decimal(Fixed<KustoDecimal>),
    String(Texts),
    DateTime(Fixed<KustoDateTime>),
    TimeSpan(Fixed<KustoTimespan>),
    Guid(Fixed<Uuid>),
    /// `dynamic` and unknown types: compact JSON text.
    Json(Texts),
    /// A column holding values that do not match its type (hand-built tables only).
    Values(Vec<KustoValue>),
}

impl ColumnData {
    /// Empty storage for a column of type `ty`.
    pub(crate) fn new(ty: &KustoType) -> Self {
        match ty {
            KustoType::Bool => Self::Bool(Fixed::new(false)),
            KustoType::Int => Self::Int(Fixed::new(0)),
            KustoType::Long => Self::Long(Fixed::new(0)),
            KustoType::Real => Self::Real(Fixed::new(0.0)),
            KustoType::Decimal => Self::Decimal(Fixed::new(KustoDecimal::ZERO)),
            KustoType::String => Self::String(Texts::default()),
            KustoType::DateTime => Self::DateTime(Fixed::new(KustoDateTime::UNIX_EPOCH)),
            KustoType::TimeSpan => Self::TimeSpan(Fixed::new(KustoTimespan::ZERO)),
            KustoType::Guid => Self::Guid(Fixed::new(Uuid::nil())),
            KustoType::Dynamic | KustoType::Other(_) => Self::Json(Texts::default()),
        }
    }

    /// Appends `value` as row `len` (the number of rows held before it).
    pub(crate) fn push(&mut self, value: KustoValue, len: usize) {
        let rest = match (&mut *self, value) {
            (Self::Values(v), value) => {
                v.push(value);
                return;
            }
            (Self::Bool(c), KustoValue::Null) => return c.push(None),
            (Self::Int(c), KustoValue::Null) => return c.push(None),
            (Self::Long(c), KustoValue::Null) => return c.push(None),
            (Self::Real(c), KustoValue::Null) => return c.push(None),
            (Self::Decimal(c), KustoValue::Null) => return c.push(None),
            (Self::DateTime(c), KustoValue::Null) => return c.push(None),
            (Self::TimeSpan(c), KustoValue::Null) => return c.push(None),
            (Self::Guid(c), KustoValue::Null) => return c.push(None),
            (Self::String(c) | Self::Json(c), KustoValue::Null) => return c.push_null(),
            (Self::Bool(c), KustoValue::Bool(x)) => return c.push(Some(x)),
            (Self::Int(c), KustoValue::Int(x)) => return c.push(Some(x)),
            (Self::Long(c), KustoValue::Long(x)) => return c.push(Some(x)),
            (Self::Real(c), KustoValue::Real(x)) => return c.push(Some(x)),
            (Self::Decimal(c), KustoValue::Decimal(x)) => return c.push(Some(x)),
            (Self::DateTime(c), KustoValue::DateTime(x)) => return c.push(Some(x)),
            (Self::TimeSpan(c), KustoValue::TimeSpan(x)) => return c.push(Some(x)),
            (Self::Guid(c), KustoValue::Guid(x)) => return c.push(Some(x)),
            (Self::String(c), KustoValue::String(s)) => return c.push_str(&s),
            (Self::Json(c), KustoValue::Dynamic(v)) => return c.push_json(&v),
            (_, other) => other,
        };
        // A value of another type: keep every value as it is from now on.
        let mut values: Vec<KustoValue> = (0..len).map(|i| self.get(i).to_value()).collect();
        values.push(rest);
        *self = Self::Values(values);
    }

    /// Appends a cell read by the lane (`row`: the row's text). `false` when the cell does not
    /// suit this column (nothing was appended): the caller takes the row back
    /// ([`ColumnData::truncate`]) and decodes it with the serde decoder, which reports why.
    pub(crate) fn push_cell(&mut self, cell: Cell, row: RowText<'_>) -> bool {
        match (self, cell) {
            (Self::Bool(c), Cell::Bool(x)) => c.push(Some(x)),
            (Self::Int(c), Cell::Int(x)) => c.push(Some(x)),
            (Self::Long(c), Cell::Long(x)) => c.push(Some(x)),
            (Self::Real(c), Cell::Real(x)) => c.push(Some(x)),
            (Self::DateTime(c), Cell::DateTime(x)) => c.push(Some(x)),
            (Self::TimeSpan(c), Cell::TimeSpan(x)) => c.push(Some(x)),
            (Self::Guid(c), Cell::Guid(x)) => c.push(Some(x)),
            // Compact JSON is the text `push_json` would write.
            (Self::String(c), Cell::Text(s, e)) | (Self::Json(c), Cell::Json(s, e)) => {
                match row.text(s, e) {
                    Some(text) => c.push_str(text),
                    None => return false,
                }
            }
            (Self::Decimal(c), Cell::Decimal(s, e)) => {
                match row.text(s, e).and_then(KustoDecimal::parse_plain) {
                    Some(d) => c.push(Some(d)),
                    None => return false,
                }
            }
            (Self::Bool(c), Cell::Null) => c.push(None),
            (Self::Int(c), Cell::Null) => c.push(None),
            (Self::Long(c), Cell::Null) => c.push(None),
            (Self::Real(c), Cell::Null) => c.push(None),
            (Self::Decimal(c), Cell::Null) => c.push(None),
            (Self::DateTime(c), Cell::Null) => c.push(None),
            (Self::TimeSpan(c), Cell::Null) => c.push(None),
            (Self::Guid(c), Cell::Null) => c.push(None),
            (Self::String(c) | Self::Json(c), Cell::Null) => c.push_null(),
            _ => return false,
        }
        true
    }

    /// Keeps the first `len` rows (takes back a row appended in part).
    pub(crate) fn truncate(&mut self, len: usize) {
        match self {
            Self::Bool(c) => c.truncate(len),
            Self::Int(c) => c.truncate(len),
            Self::Long(c) => c.truncate(len),
            Self::Real(c) => c.truncate(len),
            Self::Decimal(c) => c.truncate(len),
            Self::DateTime(c) => c.truncate(len),
            Self::TimeSpan(c) => c.truncate(len),
            Self::Guid(c) => c.truncate(len),
            Self::String(c) | Self::Json(c) => c.truncate(len),
            Self::Values(v) => v.truncate(len),
        }
    }

    /// The cell of row `i` (null past the end).
    pub(crate) fn get(&self, i: usize) -> CellRef<'_> {
        fn fixed<T: Copy>(
            c: &Fixed<T>,
            i: usize,
            f: impl FnOnce(T) -> CellRef<'static>,
        ) -> CellRef<'static> {
            c.get(i).map_or(CellRef::Null, f)
        }
        match self {
            Self::Bool(c) => fixed(c, i, CellRef::Bool),
            Self::Int(c) => fixed(c, i, CellRef::Int),
            Self::Long(c) => fixed(c, i, CellRef::Long),
            Self::Real(c) => fixed(c, i, CellRef::Real),
            Self::Decimal(c) => fixed(c, i, CellRef::Decimal),
            Self::DateTime(c) => fixed(c, i, CellRef::DateTime),
            Self::TimeSpan(c) => fixed(c, i, CellRef::TimeSpan),
            Self::Guid(c) => fixed(c, i, CellRef::Guid),
            Self::String(c) => c.get(i).map_or(CellRef::Null, CellRef::String),
            Self::Json(c) => c.get(i).map_or(CellRef::Null, CellRef::Json),
            Self::Values(v) => v.get(i).map_or(CellRef::Null, CellRef::of),
        }
    }

    /// Removes every row.
    pub(crate) fn clear(&mut self) {
        match self {
            Self::Bool(c) => c.clear(),
            Self::Int(c) => c.clear(),
            Self::Long(c) => c.clear(),
            Self::Real(c) => c.clear(),
            Self::Decimal(c) => c.clear(),
            Self::DateTime(c) => c.clear(),
            Self::TimeSpan(c) => c.clear(),
            Self::Guid(c) => c.clear(),
            Self::String(c) | Self::Json(c) => c.clear(),
            Self::Values(v) => v.clear(),
        }
    }
}

/// A borrowed cell: what [`RowRef`](super::RowRef)'s getters, serde rows and the Arrow
/// conversion read, whether the row is a `Vec<KustoValue>` or a row of column buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CellRef<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    Decimal(KustoDecimal),
    String(&'a str),
    DateTime(KustoDateTime),
    TimeSpan(KustoTimespan),
    Guid(Uuid),
    /// A `dynamic` value held as a JSON value.
    Dynamic(&'a Value),
    /// A `dynamic` value held as compact JSON text.
    Json(&'a str),
}

impl<'a> CellRef<'a> {
    /// Borrows a value.
    pub(crate) fn of(value: &'a KustoValue) -> Self {
        match value {
            KustoValue::Null => Self::Null,
            KustoValue::Bool(x) => Self::Bool(*x),
            KustoValue::Int(x) => Self::Int(*x),
            KustoValue::Long(x) => Self::Long(*x),
            KustoValue::Real(x) => Self::Real(*x),
            KustoValue::Decimal(x) => Self::Decimal(*x),
            KustoValue::String(s) => Self::String(s),
            KustoValue::DateTime(x) => Self::DateTime(*x),
            KustoValue::TimeSpan(x) => Self::TimeSpan(*x),
            KustoValue::Guid(x) => Self::Guid(*x),
            KustoValue::Dynamic(v) => Self::Dynamic(v),
        }
    }

    /// The owned value.
    pub(crate) fn to_value(self) -> KustoValue {
        match self {
            Self::Null => KustoValue::Null,
            Self::Bool(x) => KustoValue::Bool(x),
            Self::Int(x) => KustoValue::Int(x),
            Self::Long(x) => KustoValue::Long(x),
            Self::Real(x) => KustoValue::Real(x),
            Self::Decimal(x) => KustoValue::Decimal(x),
            Self::String(s) => KustoValue::String(s.to_owned()),
            Self::DateTime(x) => KustoValue::DateTime(x),
            Self::TimeSpan(x) => KustoValue::TimeSpan(x),
            Self::Guid(x) => KustoValue::Guid(x),
            Self::Dynamic(v) => KustoValue::Dynamic(v.clone()),
            Self::Json(text) => KustoValue::Dynamic(json_value(text)),
        }
    }

    /// The Kusto type of the value; `None` for null.
    pub(crate) fn kusto_type(self) -> Option<KustoType> {
        Some(match self {
            Self::Null => return None,
            Self::Bool(_) => KustoType::Bool,
            Self::Int(_) => KustoType::Int,
            Self::Long(_) => KustoType::Long,
            Self::Real(_) => KustoType::Real,
            Self::Decimal(_) => KustoType::Decimal,
            Self::String(_) => KustoType::String,
            Self::DateTime(_) => KustoType::DateTime,
            Self::TimeSpan(_) => KustoType::TimeSpan,
            Self::Guid(_) => KustoType::Guid,
            Self::Dynamic(_) | Self::Json(_) => KustoType::Dynamic,
        })
    }

    /// Equal values (a dynamic value compares equal whether held as JSON or as text).
    pub(crate) fn same(self, other: CellRef<'_>) -> bool {
        match (self, other) {
            (Self::Json(a), CellRef::Json(b)) => a == b || json_value(a) == json_value(b),
            (Self::Json(a), CellRef::Dynamic(b)) => json_value(a) == *b,
            (Self::Dynamic(a), CellRef::Json(b)) => json_value(b) == *a,
            (a, b) => a == b,
        }
    }
}

/// Parses the JSON text of a stored dynamic value. The text was written by serde_json from a
/// value it had parsed, so it always parses back; were it ever not to, the text is kept as a
/// JSON string rather than lost. Numbers come back exact: serde_json writes the shortest text
/// that names the same `f64`, and the workspace builds serde_json with `float_roundtrip`, whose
/// parser rounds correctly (the default parser can be one unit in the last place off).
pub(crate) fn json_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_with_nulls() {
        let values = [
            (KustoType::Bool, KustoValue::Bool(true)),
            (KustoType::Int, KustoValue::Int(-3)),
            (KustoType::Long, KustoValue::Long(i64::MIN)),
            (KustoType::Real, KustoValue::Real(f64::INFINITY)),
            (
                KustoType::Decimal,
                KustoValue::Decimal("1.50".parse().unwrap()),
            ),
            (KustoType::String, KustoValue::String("é\"x".into())),
            (
                KustoType::DateTime,
                KustoValue::DateTime("2024-01-01T00:00:00.0000001Z".parse().unwrap()),
            ),
            (
                KustoType::TimeSpan,
                KustoValue::TimeSpan(KustoTimespan::from_ticks(-5)),
            ),
            (KustoType::Guid, KustoValue::Guid(Uuid::from_u128(7))),
            (
                KustoType::Dynamic,
                KustoValue::Dynamic(serde_json::json!({"a": [1, 2.5, "x", null]})),
            ),
            (
                KustoType::Other("xml".into()),
                KustoValue::Dynamic(serde_json::json!("t")),
            ),
        ];
        for (ty, value) in values {
            let mut c = ColumnData::new(&ty);
            for i in 0..130 {
                let v = if i % 3 == 1 {
                    KustoValue::Null
                } else {
                    value.clone()
                };
                c.push(v, i);
            }
            assert!(!matches!(c, ColumnData::Values(_)), "{ty}");
            for i in 0..130 {
                let expected = if i % 3 == 1 {
                    KustoValue::Null
                } else {
                    value.clone()
                };
                assert_eq!(c.get(i).to_value(), expected, "{ty} row {i}");
            }
            assert_eq!(c.get(130), CellRef::Null);
            c.clear();
            assert_eq!(c.get(0), CellRef::Null);
        }
    }

    #[test]
    fn lane_cells_append_and_rows_are_taken_back() {
        use crate::response::lane::{Lane, Scratch, read_row};
        let bytes = br#"["x","12.50",{"a":1}]"#;
        let mut scratch = Scratch::default();
        let lanes = [Lane::Text, Lane::Decimal, Lane::Json];
        let row = read_row(bytes, &lanes, &mut scratch).unwrap();
        let mut s = ColumnData::new(&KustoType::String);
        let mut d = ColumnData::new(&KustoType::Decimal);
        let mut j = ColumnData::new(&KustoType::Dynamic);
        let mut l = ColumnData::new(&KustoType::Long);
        for i in 0..70 {
            assert!(s.push_cell(Cell::Text(2, 3), row));
            assert!(d.push_cell(Cell::Decimal(6, 11), row));
            assert!(j.push_cell(Cell::Json(13, 20), row));
            let cell = if i % 2 == 0 {
                Cell::Long(i)
            } else {
                Cell::Null
            };
            assert!(l.push_cell(cell, row));
        }
        assert_eq!(s.get(69), CellRef::String("x"));
        assert_eq!(d.get(69), CellRef::Decimal("12.50".parse().unwrap()));
        assert_eq!(j.get(0), CellRef::Json(r#"{"a":1}"#));
        // A cell of another kind, or a decimal that does not parse, is refused.
        assert!(!l.push_cell(Cell::Text(2, 3), row));
        assert!(!d.push_cell(Cell::Decimal(2, 3), row));
        for c in [&mut s, &mut d, &mut j, &mut l] {
            c.truncate(65);
            assert_eq!(c.get(65), CellRef::Null);
        }
        assert_eq!(l.get(64), CellRef::Long(64));
        assert_eq!(s.get(64), CellRef::String("x"));
        // Rows appended after a truncation land where they belong, nulls included.
        assert!(l.push_cell(Cell::Null, row));
        assert!(l.push_cell(Cell::Long(7), row));
        assert!(s.push_cell(Cell::Null, row));
        assert!(s.push_cell(Cell::Text(2, 3), row));
        assert_eq!((l.get(65), l.get(66)), (CellRef::Null, CellRef::Long(7)));
        assert_eq!(
            (s.get(65), s.get(66)),
            (CellRef::Null, CellRef::String("x"))
        );
    }

    #[test]
    fn a_value_of_another_type_keeps_every_value() {
        let mut c = ColumnData::new(&KustoType::Long);
        c.push(KustoValue::Long(1), 0);
        c.push(KustoValue::Null, 1);
        c.push(KustoValue::String("x".into()), 2);
        c.push(KustoValue::Long(4), 3);
        let got: Vec<KustoValue> = (0..4).map(|i| c.get(i).to_value()).collect();
        assert_eq!(
            got,
            [
                KustoValue::Long(1),
                KustoValue::Null,
                KustoValue::String("x".into()),
                KustoValue::Long(4)
            ]
        );
    }

    #[test]
    fn dynamic_floats_come_back_exact() {
        // Without serde_json's `float_roundtrip`, each of these parses to an f64 whose shortest
        // text parses to yet another f64, so a stored dynamic value would change (checked
        // against serde_json 1 without the feature). The `kusto_values` fuzz target's corpus
        // found the bug with a value near the last one.
        let texts = [
            "1.0715660391465825e-75",
            "[3.0261999441573207e-52,6.4660538264326985e-236]",
            "{\"x\":2.3471351557786174e+214,\"y\":[7.296267179458752e-246]}",
            "5.555555555555555e+73",
        ];
        let mut c = ColumnData::new(&KustoType::Dynamic);
        let values: Vec<Value> = texts
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect();
        for (i, v) in values.iter().enumerate() {
            c.push(KustoValue::Dynamic(v.clone()), i);
        }
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                c.get(i).to_value(),
                KustoValue::Dynamic(v.clone()),
                "{}",
                texts[i]
            );
        }
    }

    #[test]
    fn dynamic_text_and_value_compare_equal() {
        let v = serde_json::json!({"b": 1, "a": [true]});
        let text = v.to_string();
        assert!(CellRef::Json(&text).same(CellRef::Dynamic(&v)));
        assert!(!CellRef::Json("1").same(CellRef::Long(1)));
    }
}
