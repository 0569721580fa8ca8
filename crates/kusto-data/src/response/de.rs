//! serde deserialization of rows into user types, by column name.
//!
//! A row deserializes as a map from column names to cells (so `#[derive(Deserialize)]` structs
//! match fields to columns by name, unknown columns are ignored, `#[serde(rename)]` works) or as
//! a sequence of cells (tuples). Nulls need `Option<T>`. See the mapping table in
//! [`crate::types`] for which Rust types each Kusto type accepts. A mismatch is
//! [`Error::Conversion`] naming the row, the column, the Kusto type and the Rust type.
//!
//! ```
//! use kusto_data::response::parse_v2;
//! use kusto_data::types::KustoDateTime;
//! #[derive(serde::Deserialize, Debug, PartialEq)]
//! struct Event { name: String, count: Option<i64>, at: KustoDateTime }
//! let body = br#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
//! {"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T",
//!  "Columns":[{"ColumnName":"name","ColumnType":"string"},{"ColumnName":"count","ColumnType":"long"},
//!             {"ColumnName":"at","ColumnType":"datetime"}],
//!  "Rows":[["a",1,"2024-01-01T00:00:00.0000001Z"],["b",null,"2024-01-02T00:00:00Z"]]},
//! {"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
//! let data = parse_v2(body)?;
//! let events: Vec<Event> = data.primary_result().expect("a table").deserialize()?;
//! assert_eq!(events[1].count, None);
//! assert_eq!(events[0].at.to_string(), "2024-01-01T00:00:00.0000001Z");
//! # Ok::<(), kusto_data::Error>(())
//! ```

use std::fmt::{self, Write as _};

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use crate::error::{ConversionError, Error, Result};

use super::columns::CellRef;
use super::stream::RowBatch;
use super::table::{KustoTable, RowRef};

/// The serde error used inside row deserialization.
#[derive(Debug)]
struct DeError {
    message: String,
    column: Option<usize>,
    rust_type: Option<&'static str>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            column: None,
            rust_type: None,
        }
    }
}

impl DeError {
    fn rust_type(mut self, t: &'static str) -> Self {
        self.rust_type.get_or_insert(t);
        self
    }
    fn column(mut self, i: usize) -> Self {
        self.column.get_or_insert(i);
        self
    }
}

fn deserialize_row<'de, T: de::Deserialize<'de>>(row: RowRef<'de>) -> Result<T> {
    let columns = row.columns();
    T::deserialize(RowDeserializer { row }).map_err(|e| {
        let column = e.column.and_then(|i| columns.get(i));
        Error::Conversion(Box::new(ConversionError {
            row: Some(row.index()),
            column: column.map(|c| c.name.clone()).unwrap_or_default(),
            kusto_type: column
                .map(|c| c.column_type.to_string())
                .unwrap_or_default(),
            rust_type: e.rust_type.unwrap_or_default().to_owned(),
            message: e.message,
        }))
    })
}

impl KustoTable {
    /// Deserializes every row into `T` by column name (see [`crate::response::de`]).
    pub fn deserialize<'de, T: de::Deserialize<'de>>(&'de self) -> Result<Vec<T>> {
        self.rows().map(deserialize_row).collect()
    }
}

impl RowBatch {
    /// Deserializes every row of the batch into `T` by column name.
    pub fn deserialize<'de, T: de::Deserialize<'de>>(&'de self) -> Result<Vec<T>> {
        self.rows().map(deserialize_row).collect()
    }
}

impl<'a> RowRef<'a> {
    /// Deserializes this row into `T` by column name.
    pub fn deserialize<T: de::Deserialize<'a>>(&self) -> Result<T> {
        deserialize_row(*self)
    }
}

struct RowDeserializer<'de> {
    row: RowRef<'de>,
}

impl<'de> Deserializer<'de> for RowDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(RowMap { de: self, index: 0 })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(RowSeq { de: self, index: 0 })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct map struct enum identifier ignored_any
    }
}

struct RowMap<'de> {
    de: RowDeserializer<'de>,
    index: usize,
}

impl<'de> MapAccess<'de> for RowMap<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.de.row.columns().get(self.index) {
            None => Ok(None),
            Some(c) => seed
                .deserialize(BorrowedStrDeserializer::new(c.name.as_str()))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let i = self.index;
        self.index += 1;
        seed.deserialize(Cell(self.de.row.cell_at(i)))
            .map_err(|e| e.column(i))
    }
}

struct RowSeq<'de> {
    de: RowDeserializer<'de>,
    index: usize,
}

impl<'de> SeqAccess<'de> for RowSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let i = self.index;
        if i >= self.de.row.len() {
            return Ok(None);
        }
        self.index += 1;
        seed.deserialize(Cell(self.de.row.cell_at(i)))
            .map(Some)
            .map_err(|e| e.column(i))
    }
}

/// One cell.
struct Cell<'de>(CellRef<'de>);

impl Cell<'_> {
    fn mismatch(&self, rust_type: &'static str) -> DeError {
        let found = self
            .0
            .kusto_type()
            .map_or("null".to_owned(), |t| t.to_string());
        DeError {
            message: format!("the value is a {found}"),
            column: None,
            rust_type: Some(rust_type),
        }
    }
}

/// The text of a `decimal`, `datetime`, `timespan` or `guid` cell for a visitor that wants a
/// string (e.g. `KustoDateTime`'s own `Deserialize`, or a `String` field): written on the stack,
/// so that reading such a cell allocates nothing.
struct StackText {
    buf: [u8; 64],
    len: usize,
    /// Text longer than the buffer (not reached by these types).
    spill: Option<String>,
}

impl StackText {
    fn of(cell: CellRef<'_>) -> Self {
        let mut text = StackText {
            buf: [0; 64],
            len: 0,
            spill: None,
        };
        // The fixed-size forms are written directly, the rest through `Display`; writing into
        // a StackText cannot fail.
        let _ = match cell {
            CellRef::DateTime(t) => {
                let mut buf = [0; 28];
                let n = t.write_text(&mut buf);
                text.write_bytes(&buf[..n])
            }
            CellRef::TimeSpan(t) => {
                let mut buf = [0; 32];
                let n = t.write_text(&mut buf);
                text.write_bytes(&buf[..n])
            }
            CellRef::Guid(g) => {
                let mut buf = uuid::Uuid::encode_buffer();
                text.write_str(g.hyphenated().encode_lower(&mut buf))
            }
            CellRef::Decimal(d) => {
                let mut buf = [0; 48];
                let n = d.write_text(&mut buf);
                text.write_bytes(&buf[..n])
            }
            other => write!(text, "{}", other.to_value()),
        };
        text
    }

    /// Appends ASCII text.
    fn write_bytes(&mut self, bytes: &[u8]) -> fmt::Result {
        self.write_str(std::str::from_utf8(bytes).map_err(|_| fmt::Error)?)
    }

    fn as_str(&self) -> &str {
        match &self.spill {
            Some(s) => s,
            // Only whole `&str`s were copied in: always UTF-8.
            None => std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default(),
        }
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(spill) = &mut self.spill {
            spill.push_str(s);
        } else if let Some(dst) = self.buf.get_mut(self.len..self.len + s.len()) {
            dst.copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let mut spill = self.as_str().to_owned();
            spill.push_str(s);
            self.spill = Some(spill);
        }
        Ok(())
    }
}

fn json_error(e: serde_json::Error) -> DeError {
    de::Error::custom(e)
}

/// Runs `$method` of serde_json's deserializer on a dynamic cell (held as a value or as JSON
/// text); any other cell gives `$otherwise`.
macro_rules! dynamic {
    ($cell:expr, $method:ident($($arg:expr),*), $otherwise:expr) => {
        match $cell {
            CellRef::Dynamic(v) => v.$method($($arg),*).map_err(json_error),
            CellRef::Json(text) => {
                let mut de = serde_json::Deserializer::from_str(text);
                let value = (&mut de).$method($($arg),*).map_err(json_error)?;
                de.end().map_err(json_error)?;
                Ok(value)
            }
            _ => $otherwise,
        }
    };
}

macro_rules! integer {
    ($method:ident, $t:literal) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.0 {
                CellRef::Int(i) => visitor.visit_i64(i64::from(i)),
                CellRef::Long(l) => visitor.visit_i64(l),
                cell => dynamic!(cell, $method(visitor), Err(self.mismatch($t))),
            }
            .map_err(|e| e.rust_type($t))
        }
    };
}

impl<'de> Deserializer<'de> for Cell<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            CellRef::Null => visitor.visit_unit(),
            CellRef::Bool(b) => visitor.visit_bool(b),
            CellRef::Int(i) => visitor.visit_i32(i),
            CellRef::Long(l) => visitor.visit_i64(l),
            CellRef::Real(r) => visitor.visit_f64(r),
            CellRef::String(s) => visitor.visit_borrowed_str(s),
            cell @ (CellRef::Decimal(_)
            | CellRef::DateTime(_)
            | CellRef::TimeSpan(_)
            | CellRef::Guid(_)) => visitor.visit_str(StackText::of(cell).as_str()),
            cell => dynamic!(
                cell,
                deserialize_any(visitor),
                visitor.visit_string(cell.to_value().to_string())
            ),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            CellRef::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            CellRef::Bool(b) => visitor.visit_bool(b),
            cell => dynamic!(cell, deserialize_bool(visitor), Err(self.mismatch("bool"))),
        }
        .map_err(|e| e.rust_type("bool"))
    }

    integer!(deserialize_i8, "i8");
    integer!(deserialize_i16, "i16");
    integer!(deserialize_i32, "i32");
    integer!(deserialize_i64, "i64");
    integer!(deserialize_i128, "i128");
    integer!(deserialize_u8, "u8");
    integer!(deserialize_u16, "u16");
    integer!(deserialize_u32, "u32");
    integer!(deserialize_u64, "u64");
    integer!(deserialize_u128, "u128");

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            CellRef::Real(r) => visitor.visit_f64(r),
            CellRef::Int(i) => visitor.visit_f64(f64::from(i)),
            CellRef::Long(l) => visitor.visit_f64(l as f64),
            CellRef::Decimal(d) => visitor.visit_f64(d.to_f64()),
            cell => dynamic!(cell, deserialize_f64(visitor), Err(self.mismatch("f64"))),
        }
        .map_err(|e| e.rust_type("f64"))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
            .map_err(|e| e.rust_type("f32"))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            CellRef::String(s) => visitor.visit_borrowed_str(s),
            CellRef::Dynamic(serde_json::Value::String(s)) => visitor.visit_borrowed_str(s),
            // A dynamic JSON string is given as the string; any other dynamic value as its JSON.
            CellRef::Json(text) => match serde_json::from_str::<&str>(text) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => match serde_json::from_str::<String>(text) {
                    Ok(s) => visitor.visit_string(s),
                    Err(_) => visitor.visit_borrowed_str(text),
                },
            },
            cell @ (CellRef::Decimal(_)
            | CellRef::DateTime(_)
            | CellRef::TimeSpan(_)
            | CellRef::Guid(_)) => visitor.visit_str(StackText::of(cell).as_str()),
            CellRef::Dynamic(_) => visitor.visit_string(self.0.to_value().to_string()),
            _ => Err(self.mismatch("string")),
        }
        .map_err(|e| e.rust_type("string"))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
            .map_err(|e| e.rust_type("char"))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            CellRef::Null => visitor.visit_unit(),
            _ => Err(self.mismatch("()")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            CellRef::String(s) => visitor.visit_enum(s.into_deserializer()),
            cell => dynamic!(
                cell,
                deserialize_enum(name, variants, visitor),
                Err(self.mismatch("enum"))
            ),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        dynamic!(
            self.0,
            deserialize_seq(visitor),
            self.deserialize_any(visitor)
        )
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        dynamic!(
            self.0,
            deserialize_map(visitor),
            self.deserialize_any(visitor)
        )
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        dynamic!(
            self.0,
            deserialize_struct(name, fields, visitor),
            self.deserialize_any(visitor)
        )
    }

    forward_to_deserialize_any! { bytes byte_buf tuple tuple_struct identifier }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::response::{Column, TableKind};
    use crate::types::KustoValue;
    use crate::types::{KustoDecimal, KustoTimespan, KustoType, Uuid};

    fn table() -> KustoTable {
        let columns = vec![
            Column::new("name", KustoType::String),
            Column::new("n", KustoType::Long),
            Column::new("r", KustoType::Real),
            Column::new("d", KustoType::Decimal),
            Column::new("g", KustoType::Guid),
            Column::new("ts", KustoType::TimeSpan),
            Column::new("dyn", KustoType::Dynamic),
            Column::new("extra", KustoType::Bool),
        ];
        KustoTable::new(
            1,
            TableKind::PrimaryResult,
            "T",
            columns,
            vec![
                vec![
                    "a".into(),
                    KustoValue::Long(300),
                    KustoValue::Real(f64::INFINITY),
                    KustoValue::Decimal("1.50".parse().unwrap()),
                    KustoValue::Guid(Uuid::nil()),
                    KustoValue::TimeSpan(KustoTimespan::from_ticks(-10)),
                    KustoValue::Dynamic(serde_json::json!({"k": [1, 2]})),
                    KustoValue::Bool(true),
                ],
                vec![
                    "b".into(),
                    KustoValue::Null,
                    KustoValue::Real(1.0),
                    KustoValue::Null,
                    KustoValue::Null,
                    KustoValue::Null,
                    KustoValue::Null,
                    KustoValue::Null,
                ],
            ],
        )
        .unwrap()
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Dyn {
        k: Vec<i32>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Rec<'a> {
        name: &'a str,
        n: Option<i64>,
        r: f64,
        d: Option<KustoDecimal>,
        g: Option<Uuid>,
        ts: Option<KustoTimespan>,
        #[serde(rename = "dyn")]
        dynamic: Option<Dyn>,
    }

    #[test]
    fn structs_by_column_name_with_options() {
        let t = table();
        let recs: Vec<Rec<'_>> = t.deserialize().unwrap();
        assert_eq!(recs[0].name, "a");
        assert_eq!(recs[0].n, Some(300));
        assert_eq!(recs[0].r, f64::INFINITY);
        assert_eq!(recs[0].d.unwrap().to_string(), "1.50");
        assert_eq!(recs[0].g, Some(Uuid::nil()));
        assert_eq!(recs[0].ts, Some(KustoTimespan::from_ticks(-10)));
        assert_eq!(recs[0].dynamic, Some(Dyn { k: vec![1, 2] }));
        assert_eq!(
            recs[1],
            Rec {
                name: "b",
                n: None,
                r: 1.0,
                d: None,
                g: None,
                ts: None,
                dynamic: None
            }
        );
        let tuple: (String, Option<i64>) = t.row(0).unwrap().deserialize().unwrap();
        assert_eq!(tuple, ("a".to_owned(), Some(300)));
        let map: BTreeMap<String, serde_json::Value> = t.row(0).unwrap().deserialize().unwrap();
        assert_eq!(map["n"], serde_json::json!(300));
        assert_eq!(
            map["g"],
            serde_json::json!("00000000-0000-0000-0000-000000000000")
        );
    }

    #[test]
    fn typed_cells_read_as_text_without_a_value_in_between() {
        use crate::types::KustoDateTime;
        let t = table();
        let row = t.row(0).unwrap();
        // Strings of the cells' texts, and the types themselves (read back from that text).
        #[derive(Deserialize)]
        struct Texts {
            d: String,
            g: String,
            ts: String,
        }
        let texts: Texts = row.deserialize().unwrap();
        assert_eq!(
            (texts.d.as_str(), texts.g.as_str(), texts.ts.as_str()),
            (
                "1.50",
                "00000000-0000-0000-0000-000000000000",
                "-00:00:00.0000010"
            )
        );
        let columns = vec![Column::new("t", KustoType::DateTime)];
        let at: KustoDateTime = "2024-05-01T10:20:30.1234567Z".parse().unwrap();
        let t = KustoTable::new(
            2,
            TableKind::PrimaryResult,
            "T",
            columns,
            vec![vec![at.into()]],
        )
        .unwrap();
        let (got,): (KustoDateTime,) = t.row(0).unwrap().deserialize().unwrap();
        let (text,): (String,) = t.row(0).unwrap().deserialize().unwrap();
        assert_eq!((got, text.as_str()), (at, "2024-05-01T10:20:30.1234567Z"));
        // Text longer than the stack buffer is kept whole.
        let mut long = StackText::of(CellRef::Null);
        let piece = "0123456789".repeat(5);
        let _ = write!(long, "{piece}{piece}");
        assert_eq!(long.as_str(), format!("null{piece}{piece}"));
    }

    #[test]
    fn mismatches_name_row_column_and_types() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Bad {
            n: u8,
        }
        let err = table().deserialize::<Bad>().unwrap_err();
        let Error::Conversion(e) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (
                e.row,
                e.column.as_str(),
                e.kusto_type.as_str(),
                e.rust_type.as_str()
            ),
            (Some(0), "n", "long", "u8")
        );
        assert!(e.message.contains("300"), "{}", e.message);

        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct NotNull {
            n: i64,
        }
        let Error::Conversion(e) = table().deserialize::<NotNull>().unwrap_err() else {
            panic!()
        };
        assert_eq!(
            (e.row, e.column.as_str(), e.rust_type.as_str()),
            (Some(1), "n", "i64")
        );
        assert!(
            e.to_string()
                .contains("row 1 column 'n' (Kusto long) to i64"),
            "{e}"
        );

        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Missing {
            nope: i64,
        }
        let Error::Conversion(e) = table().deserialize::<Missing>().unwrap_err() else {
            panic!()
        };
        assert!(e.message.contains("missing field `nope`"), "{}", e.message);

        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct WrongType {
            name: bool,
        }
        let Error::Conversion(e) = table().deserialize::<WrongType>().unwrap_err() else {
            panic!()
        };
        assert_eq!(
            (
                e.column.as_str(),
                e.kusto_type.as_str(),
                e.rust_type.as_str()
            ),
            ("name", "string", "bool")
        );
    }
}
