//! Parsing text into Kusto values as ingestion and KQL conversion functions do (kusto-protocol.md
//! 8.2): unparsable text becomes null, never an error.

use uuid::Uuid;

use crate::time;
use crate::value::{Decimal, KustoType, Value};

/// Parses one ingested text field into a value of type `ty`.
///
/// An empty field is null for every type but `string` (which gets `""`); text that does not parse
/// is null; a `dynamic` field that is not valid JSON is kept as a dynamic string.
pub(crate) fn parse_field(text: &str, ty: KustoType) -> Value {
    if ty == KustoType::String {
        return Value::String(text.to_string());
    }
    if text.is_empty() {
        return Value::Null;
    }
    match ty {
        KustoType::String => Value::String(text.to_string()),
        KustoType::Dynamic => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(json) => Value::Dynamic(json),
            Err(_) => Value::Dynamic(serde_json::Value::String(text.to_string())),
        },
        other => parse_scalar(text.trim(), other).unwrap_or(Value::Null),
    }
}

/// Parses non-empty text as a scalar of a non-string, non-dynamic type; `None` if it does not parse.
pub(crate) fn parse_scalar(text: &str, ty: KustoType) -> Option<Value> {
    Some(match ty {
        KustoType::Bool => Value::Bool(parse_bool(text)?),
        KustoType::Int => Value::Int(parse_integer(text).and_then(|v| i32::try_from(v).ok())?),
        KustoType::Long => Value::Long(parse_integer(text)?),
        KustoType::Real => Value::Real(parse_real(text)?),
        KustoType::Decimal => Value::Decimal(Decimal::parse(text)?),
        KustoType::DateTime => Value::DateTime(time::parse_datetime(text)?),
        KustoType::TimeSpan => Value::TimeSpan(time::parse_timespan(text)?),
        KustoType::Guid => Value::Guid(Uuid::parse_str(text.trim()).ok()?),
        KustoType::String => Value::String(text.to_string()),
        KustoType::Dynamic => Value::Dynamic(serde_json::from_str(text).ok()?),
    })
}

/// `true`/`false` (any case), or an integer: zero is false, anything else true.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        parse_integer(t).map(|v| v != 0)
    }
}

/// A decimal integer with an optional sign.
pub(crate) fn parse_integer(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.strip_prefix('+').unwrap_or(t).parse().ok()
}

/// Decimal or exponent notation, `NaN`, `Infinity`, `-Infinity` (and `inf`).
pub(crate) fn parse_real(text: &str) -> Option<f64> {
    let t = text.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let special = ["nan", "infinity", "inf"]
        .iter()
        .any(|s| body.eq_ignore_ascii_case(s));
    if !special
        && !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse().ok()
}

/// Converts a JSON value taken from a JSON/Parquet record into a value of type `ty`, as Kusto does
/// when ingesting named formats: strings are parsed, numbers converted, a JSON number does not
/// become a datetime, anything into `dynamic` is kept as is, anything into `string` is its text.
pub(crate) fn from_json(value: &serde_json::Value, ty: KustoType) -> Value {
    use serde_json::Value as J;
    match (value, ty) {
        (J::Null, KustoType::String) => Value::String(String::new()),
        (J::Null, _) => Value::Null,
        (v, KustoType::Dynamic) => Value::Dynamic(v.clone()),
        (J::String(s), KustoType::String) => Value::String(s.clone()),
        (v, KustoType::String) => Value::String(v.to_string()),
        (J::String(s), t) => parse_field(s, t),
        (J::Bool(b), KustoType::Bool) => Value::Bool(*b),
        (J::Bool(b), KustoType::Int) => Value::Int(i32::from(*b)),
        (J::Bool(b), KustoType::Long) => Value::Long(i64::from(*b)),
        (J::Number(n), KustoType::Bool) => {
            n.as_f64().map_or(Value::Null, |f| Value::Bool(f != 0.0))
        }
        (J::Number(n), KustoType::Int) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map_or(Value::Null, Value::Int),
        (J::Number(n), KustoType::Long) => n.as_i64().map_or(Value::Null, Value::Long),
        (J::Number(n), KustoType::Real) => n.as_f64().map_or(Value::Null, Value::Real),
        (J::Number(n), KustoType::Decimal) => {
            Decimal::parse(&n.to_string()).map_or(Value::Null, Value::Decimal)
        }
        (J::Number(n), KustoType::TimeSpan) => n.as_i64().map_or(Value::Null, Value::TimeSpan),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ticks_from_parts;

    #[test]
    fn fields_follow_kusto_rules() {
        assert_eq!(parse_field("", KustoType::Int), Value::Null);
        assert_eq!(
            parse_field("", KustoType::String),
            Value::String(String::new())
        );
        assert_eq!(
            parse_field(" ", KustoType::String),
            Value::String(" ".into())
        );
        assert_eq!(parse_field(" ", KustoType::Long), Value::Null);
        assert_eq!(parse_field("1.5", KustoType::Int), Value::Null);
        assert_eq!(parse_field("-12", KustoType::Int), Value::Int(-12));
        assert_eq!(parse_field("99999999999", KustoType::Int), Value::Null);
        assert_eq!(
            parse_field("99999999999", KustoType::Long),
            Value::Long(99_999_999_999)
        );
        assert_eq!(parse_field("1", KustoType::Bool), Value::Bool(true));
        assert_eq!(parse_field("0", KustoType::Bool), Value::Bool(false));
        assert_eq!(parse_field("TRUE", KustoType::Bool), Value::Bool(true));
        assert_eq!(parse_field("123", KustoType::Bool), Value::Bool(true));
        assert_eq!(parse_field("yes", KustoType::Bool), Value::Null);
        assert!(matches!(parse_field("NaN", KustoType::Real), Value::Real(r) if r.is_nan()));
        assert_eq!(
            parse_field("-Infinity", KustoType::Real),
            Value::Real(f64::NEG_INFINITY)
        );
        assert_eq!(parse_field("1e3", KustoType::Real), Value::Real(1000.0));
        assert_eq!(parse_field("x1", KustoType::Real), Value::Null);
        assert_eq!(
            parse_field("2014-01-01T01:01:01.0000000Z", KustoType::DateTime),
            Value::DateTime(ticks_from_parts(2014, 1, 1, 1, 1, 1, 0).unwrap())
        );
        assert_eq!(
            parse_field("{\"a\":1}", KustoType::Dynamic),
            Value::Dynamic(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            parse_field("null", KustoType::Dynamic),
            Value::Dynamic(serde_json::Value::Null)
        );
        assert_eq!(
            parse_field("not json", KustoType::Dynamic),
            Value::Dynamic(serde_json::Value::String("not json".into()))
        );
        assert_eq!(parse_field("zzz", KustoType::Guid), Value::Null);
    }

    #[test]
    fn json_values_convert() {
        use serde_json::json;
        assert_eq!(
            from_json(&json!(5), KustoType::String),
            Value::String("5".into())
        );
        assert_eq!(from_json(&json!("5"), KustoType::Long), Value::Long(5));
        assert_eq!(from_json(&json!(1.5), KustoType::Int), Value::Null);
        assert_eq!(
            from_json(&json!(1700000000), KustoType::DateTime),
            Value::Null
        );
        assert_eq!(
            from_json(&json!({"a":[1]}), KustoType::Dynamic),
            Value::Dynamic(json!({"a":[1]}))
        );
        assert_eq!(from_json(&json!(true), KustoType::Bool), Value::Bool(true));
    }

    /// The text parsers behind ingestion (datetime, timespan, decimal, numbers, guid, JSON
    /// paths) get a multi-byte character at every position of valid input and answer null or an
    /// error, never a panic.
    #[test]
    fn no_field_parser_panics_on_multi_byte_characters() {
        let samples = [
            "2014-01-01T01:01:01.1234567+02:00",
            "Sat, 8 Nov 14 15:05:02 GMT",
            "Saturday, 08-Nov-14 15:05:02 PST",
            "-1.02:03:04.5",
            "1.5h",
            "10microseconds",
            "-12.340e-3",
            "00000000-0000-0000-0000-000000000001",
            "true",
            "{\"a\":[1]}",
        ];
        for sample in samples {
            for insert in ["é", "€", "😀", "\u{301}"] {
                let boundaries = sample.char_indices().map(|(i, _)| i).chain([sample.len()]);
                for at in boundaries {
                    let text = format!("{}{insert}{}", &sample[..at], &sample[at..]);
                    let outcome = std::panic::catch_unwind(|| {
                        for ty in KustoType::ALL {
                            let _ = parse_field(&text, ty);
                        }
                        let _ = crate::mapping::parse_json_path(&format!("$.{text}['{text}'][0]"));
                    });
                    assert!(outcome.is_ok(), "panicked on {text:?}");
                }
            }
        }
    }
}
