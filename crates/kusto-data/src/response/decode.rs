//! Typed decoding of one row's JSON into [`KustoValue`]s, driven by the column types.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue, Uuid};

use super::scan::offset_of;
use super::table::Column;

/// A decoded row element: a row, or an error object standing in for a row.
#[derive(Debug)]
pub(crate) enum RowElement {
    Row(Vec<KustoValue>),
    /// `{"OneApiErrors": [...]}` (v2) or `{"Exceptions": [...]}` (v1), as JSON.
    Errors(serde_json::Map<String, serde_json::Value>),
}

/// Decodes one row from its JSON bytes. Errors carry a message and the byte offset within
/// `bytes` where serde_json stopped, when known.
pub(crate) fn decode_row(bytes: &[u8], columns: &[Column]) -> Result<RowElement, (String, usize)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = RowSeed { columns }
        .deserialize(&mut de)
        .and_then(|row| de.end().map(|()| row));
    result.map_err(|e| {
        let at = offset_of(bytes, e.line(), e.column()) as usize;
        // serde_json appends "at line L column C" (relative to the row): the offset replaces it.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_owned(),
            None => message,
        };
        (message, at)
    })
}

struct RowSeed<'c> {
    columns: &'c [Column],
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = RowElement;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RowElement, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = RowElement;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row array or an error object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RowElement, A::Error> {
        let mut row = Vec::with_capacity(self.columns.len());
        for column in self.columns {
            match seq.next_element_seed(CellSeed { column })? {
                Some(value) => row.push(value),
                None => {
                    return Err(de::Error::custom(format!(
                        "row has {} values but the table has {} columns",
                        row.len(),
                        self.columns.len()
                    )));
                }
            }
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!(
                "row has more values than the table's {} columns",
                self.columns.len()
            )));
        }
        Ok(RowElement::Row(row))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RowElement, A::Error> {
        let object = serde_json::Map::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(RowElement::Errors(object))
    }
}

use serde::Deserialize;

/// Decodes one cell according to its column type.
struct CellSeed<'c> {
    column: &'c Column,
}

impl CellSeed<'_> {
    fn fail<E: de::Error>(&self, what: impl fmt::Display) -> E {
        E::custom(format!(
            "column '{}' ({}): {what}",
            self.column.name, self.column.column_type
        ))
    }
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = KustoValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KustoValue, D::Error> {
        match &self.column.column_type {
            KustoType::Dynamic | KustoType::Other(_) => {
                let value = serde_json::Value::deserialize(deserializer)?;
                Ok(match value {
                    serde_json::Value::Null => KustoValue::Null,
                    v => KustoValue::Dynamic(v),
                })
            }
            KustoType::Decimal => {
                // Read numbers from their text so that no digit is lost to f64.
                let raw = <&RawValue>::deserialize(deserializer)?;
                let text = raw.get();
                if text == "null" {
                    return Ok(KustoValue::Null);
                }
                let parsed = if text.starts_with('"') {
                    let s: std::borrow::Cow<'_, str> =
                        serde_json::from_str(text).map_err(|e| self.fail(e))?;
                    if s.is_empty() {
                        return Ok(KustoValue::Null);
                    }
                    s.parse::<KustoDecimal>()
                } else {
                    text.parse::<KustoDecimal>()
                };
                parsed.map(KustoValue::Decimal).map_err(|e| self.fail(e))
            }
            KustoType::String => {
                let value = serde_json::Value::deserialize(deserializer)?;
                Ok(match value {
                    serde_json::Value::Null => KustoValue::Null,
                    serde_json::Value::String(s) => KustoValue::String(s),
                    // Older v1 answers put raw JSON objects in string columns: keep the JSON text.
                    other => KustoValue::String(other.to_string()),
                })
            }
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = KustoValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} value", self.column.column_type)
    }

    fn visit_unit<E: de::Error>(self) -> Result<KustoValue, E> {
        Ok(KustoValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<KustoValue, E> {
        Ok(KustoValue::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<KustoValue, E> {
        match self.column.column_type {
            KustoType::Bool => Ok(KustoValue::Bool(v)),
            _ => Err(self.fail(format!("unexpected boolean {v}"))),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<KustoValue, E> {
        match self.column.column_type {
            KustoType::Long => Ok(KustoValue::Long(v)),
            KustoType::Int => i32::try_from(v)
                .map(KustoValue::Int)
                .map_err(|_| self.fail(format!("{v} does not fit a 32-bit int"))),
            KustoType::Real => Ok(KustoValue::Real(v as f64)),
            KustoType::Bool if v == 0 || v == 1 => Ok(KustoValue::Bool(v == 1)),
            KustoType::TimeSpan => Ok(KustoValue::TimeSpan(KustoTimespan::from_ticks(v))),
            _ => Err(self.fail(format!("unexpected number {v}"))),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<KustoValue, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) if self.column.column_type == KustoType::Real => Ok(KustoValue::Real(v as f64)),
            Err(_) => Err(self.fail(format!("{v} does not fit a 64-bit long"))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<KustoValue, E> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        match self.column.column_type {
            KustoType::Real => Ok(KustoValue::Real(v)),
            KustoType::Long | KustoType::Int if v.fract() == 0.0 && v.abs() <= EXACT => {
                self.visit_i64(v as i64)
            }
            _ => Err(self.fail(format!("unexpected number {v}"))),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<KustoValue, E> {
        let ty = &self.column.column_type;
        if v.is_empty()
            && matches!(
                ty,
                KustoType::DateTime | KustoType::TimeSpan | KustoType::Guid
            )
        {
            return Ok(KustoValue::Null);
        }
        match ty {
            KustoType::DateTime => v
                .parse::<KustoDateTime>()
                .map(KustoValue::DateTime)
                .map_err(|e| self.fail(e)),
            KustoType::TimeSpan => v
                .parse::<KustoTimespan>()
                .map(KustoValue::TimeSpan)
                .map_err(|e| self.fail(e)),
            KustoType::Guid => Uuid::try_parse(v)
                .map(KustoValue::Guid)
                .map_err(|_| self.fail(format!("{v:?} is not a valid guid"))),
            KustoType::Real => match v {
                "NaN" => Ok(KustoValue::Real(f64::NAN)),
                "Infinity" | "+Infinity" => Ok(KustoValue::Real(f64::INFINITY)),
                "-Infinity" => Ok(KustoValue::Real(f64::NEG_INFINITY)),
                _ => Err(self.fail(format!("{v:?} is not a real"))),
            },
            _ => Err(self.fail(format!("unexpected string {v:?}"))),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<KustoValue, A::Error> {
        Err(self.fail("unexpected array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<KustoValue, A::Error> {
        Err(self.fail("unexpected object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(types: &[&str]) -> Vec<Column> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| Column::new(format!("c{i}"), KustoType::parse(t)))
            .collect()
    }

    fn row(json: &str, types: &[&str]) -> Vec<KustoValue> {
        match decode_row(json.as_bytes(), &cols(types)).unwrap() {
            RowElement::Row(r) => r,
            RowElement::Errors(e) => panic!("unexpected error row {e:?}"),
        }
    }

    #[test]
    fn decodes_every_type_exactly() {
        let r = row(
            r#"[true,-7,9007199254740993,2.5,"12.3400","héllo \"q\"","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","2024-05-01T10:20:30.1234567Z","1.02:03:04.5000000",{"k":[1,"x"]}]"#,
            &[
                "bool", "int", "long", "real", "decimal", "string", "guid", "datetime", "timespan",
                "dynamic",
            ],
        );
        assert_eq!(r[0], KustoValue::Bool(true));
        assert_eq!(r[1], KustoValue::Int(-7));
        assert_eq!(r[2], KustoValue::Long(9_007_199_254_740_993));
        assert_eq!(r[3], KustoValue::Real(2.5));
        assert_eq!(r[4].to_string(), "12.3400");
        assert_eq!(r[5], KustoValue::String("héllo \"q\"".into()));
        assert_eq!(r[6].to_string(), "c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d");
        assert_eq!(r[7].to_string(), "2024-05-01T10:20:30.1234567Z");
        assert_eq!(r[8].to_string(), "1.02:03:04.5000000");
        assert_eq!(
            r[9],
            KustoValue::Dynamic(serde_json::json!({"k": [1, "x"]}))
        );
    }

    #[test]
    fn decodes_edge_values() {
        let r = row(
            r#"[9223372036854775807,-9223372036854775808,"NaN","-Infinity",1,0,12345678901234567890.123456789,600000000,"",-864000000001]"#,
            &[
                "long", "long", "real", "real", "bool", "bool", "decimal", "timespan", "datetime",
                "timespan",
            ],
        );
        assert_eq!(r[0], KustoValue::Long(i64::MAX));
        assert_eq!(r[1], KustoValue::Long(i64::MIN));
        assert!(matches!(r[2], KustoValue::Real(x) if x.is_nan()));
        assert_eq!(r[3], KustoValue::Real(f64::NEG_INFINITY));
        assert_eq!(r[4], KustoValue::Bool(true));
        assert_eq!(r[5], KustoValue::Bool(false));
        assert_eq!(r[6].to_string(), "12345678901234567890.123456789");
        assert_eq!(
            r[7],
            KustoValue::TimeSpan(KustoTimespan::from_ticks(600_000_000))
        );
        assert_eq!(r[8], KustoValue::Null);
        // Ticks may be negative: one day and one tick before zero.
        assert_eq!(r[9].to_string(), "-1.00:00:00.0000001");
    }

    #[test]
    fn rejects_mismatches_with_column_context() {
        for (json, ty) in [
            ("[2147483648]", "int"),
            ("[9223372036854775808]", "long"),
            ("[1.5]", "long"),
            (r#"["x"]"#, "long"),
            ("[2]", "bool"),
            (r#"["2024-02-30T00:00:00Z"]"#, "datetime"),
            (r#"["nope"]"#, "guid"),
            ("[[1]]", "real"),
            ("[1,2]", "long"),
            ("[]", "long"),
        ] {
            let err = decode_row(json.as_bytes(), &cols(&[ty])).unwrap_err();
            assert!(
                err.0.contains("c0") || err.0.contains("columns"),
                "{json}: {}",
                err.0
            );
        }
    }

    #[test]
    fn error_objects_are_returned_as_such() {
        let e = decode_row(
            br#"{"OneApiErrors":[{"error":{"code":"X","message":"m"}}]}"#,
            &cols(&["long"]),
        )
        .unwrap();
        assert!(matches!(e, RowElement::Errors(m) if m.contains_key("OneApiErrors")));
    }
}
