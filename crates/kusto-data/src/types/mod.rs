//! Kusto scalar types and values.
//!
//! Every cell of a result is a [`KustoValue`]; the column's [`KustoType`] tells which variant.
//! Values are read exactly: no datetime truncated to microseconds, no long or decimal routed
//! through `f64`, NaN and infinities as floats.
//!
//! # Kusto ⇄ Rust mapping
//!
//! | Kusto type (aliases; v1 `DataType`) | JSON on the wire | [`KustoValue`] variant | Rust type | serde rows accept |
//! |---|---|---|---|---|
//! | `bool` (`boolean`; `Boolean`, `SByte`) | `true`/`false`, also `0`/`1` | `Bool` | `bool` | `bool` |
//! | `int` (`int32`; `Int32`) | number | `Int` | `i32` | `i32`, `i64`, any integer it fits, `f64` |
//! | `long` (`int64`; `Int64`) | number, full `i64` range | `Long` | `i64` (never through `f64`) | `i64`, any integer it fits, `f64` |
//! | `real` (`double`, `float`; `Double`) | number or `"NaN"`, `"Infinity"`, `"-Infinity"` | `Real` | `f64` | `f64`, `f32` |
//! | `decimal` (`SqlDecimal`, `Decimal`) | string (numbers accepted, read from their text) | `Decimal` | [`KustoDecimal`] (exact, ≤ 38 digits) | [`KustoDecimal`], `String`, `f64` (lossy, explicit) |
//! | `string` (`String`) | string (`null` accepted; a non-string JSON value is kept as its JSON text) | `String` | `String` | `String`, `&str` |
//! | `datetime` (`date`; `DateTime`) | ISO-8601 UTC string, 0–9 fractional digits | `DateTime` | [`KustoDateTime`] (100 ns ticks, 0001–9999) | [`KustoDateTime`], `String` |
//! | `timespan` (`time`; `TimeSpan`) | `[-][d.]hh:mm:ss[.fffffff]` string, or a number of ticks | `TimeSpan` | [`KustoTimespan`] (signed 100 ns ticks) | [`KustoTimespan`], `String` |
//! | `guid` (`uuid`, `uniqueid`; `Guid`) | string | `Guid` | [`uuid::Uuid`] | `Uuid`, `String` |
//! | `dynamic` (`Object`) | any JSON value | `Dynamic` | [`serde_json::Value`] | `serde_json::Value` or any type the JSON deserializes into |
//! | unknown type name | any JSON value | `Dynamic` (raw JSON) | [`serde_json::Value`] | as dynamic |
//! | any type, null | `null` | `Null` | — | `Option<T>` |
//!
//! An empty string in a `datetime`, `timespan`, `guid` or `decimal` column is read as null (the
//! value carries no data; hand-made responses contain it). Any other value that does not match
//! its column's type is an error naming the table, row, column and type.
//!
//! `dynamic` objects keep the key order the service sent (serde_json's `preserve_order` feature
//! is enabled by this crate), so printing a value gives back the service's text.

mod datetime;
mod decimal;
mod kusto_type;
mod timespan;
mod value;

pub use datetime::KustoDateTime;
pub use decimal::{KustoDecimal, MAX_DECIMAL_DIGITS};
pub use kusto_type::KustoType;
pub use timespan::KustoTimespan;
pub use uuid::Uuid;
pub use value::KustoValue;

/// Text that is not a valid value of a Kusto type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a valid Kusto {kind}")]
pub struct ValueParseError {
    kind: &'static str,
    text: String,
}

impl ValueParseError {
    pub(crate) fn new(kind: &'static str, text: &str) -> Self {
        let mut text = text.to_owned();
        if text.len() > 100 {
            let mut cut = 100;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        ValueParseError { kind, text }
    }

    /// The Kusto type that was being parsed (`datetime`, `timespan`, `decimal`, ...).
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}
