//! [`KustoValue`]: one cell of a result table.

use std::fmt;

use uuid::Uuid;

use super::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType};

/// One cell of a result table. The column's [`KustoType`] says which variant a non-null cell
/// holds (see the mapping table in [the module documentation](crate::types)); a null of any
/// type is [`KustoValue::Null`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum KustoValue {
    /// A null of any type.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int`.
    Int(i32),
    /// `long`.
    Long(i64),
    /// `real`, including NaN and ±infinity.
    Real(f64),
    /// `decimal`, exact.
    Decimal(KustoDecimal),
    /// `string`.
    String(String),
    /// `datetime`.
    DateTime(KustoDateTime),
    /// `timespan`.
    TimeSpan(KustoTimespan),
    /// `guid`.
    Guid(Uuid),
    /// `dynamic` (any JSON value except null, which is [`KustoValue::Null`]), and the raw JSON of
    /// a column whose type is unknown ([`KustoType::Other`]).
    Dynamic(serde_json::Value),
}

impl KustoValue {
    /// True for [`KustoValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, KustoValue::Null)
    }

    /// The Kusto type this value belongs to; `None` for null (its type is the column's).
    pub fn kusto_type(&self) -> Option<KustoType> {
        Some(match self {
            KustoValue::Null => return None,
            KustoValue::Bool(_) => KustoType::Bool,
            KustoValue::Int(_) => KustoType::Int,
            KustoValue::Long(_) => KustoType::Long,
            KustoValue::Real(_) => KustoType::Real,
            KustoValue::Decimal(_) => KustoType::Decimal,
            KustoValue::String(_) => KustoType::String,
            KustoValue::DateTime(_) => KustoType::DateTime,
            KustoValue::TimeSpan(_) => KustoType::TimeSpan,
            KustoValue::Guid(_) => KustoType::Guid,
            KustoValue::Dynamic(_) => KustoType::Dynamic,
        })
    }

    /// The value as JSON in the v2 wire encoding (datetime, timespan, guid and decimal as
    /// strings; NaN and infinities as `"NaN"`, `"Infinity"`, `"-Infinity"`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            KustoValue::Null => Value::Null,
            KustoValue::Bool(b) => Value::Bool(*b),
            KustoValue::Int(i) => Value::from(*i),
            KustoValue::Long(l) => Value::from(*l),
            KustoValue::Real(r) => serde_json::Number::from_f64(*r)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(real_text(*r).to_owned())),
            KustoValue::Decimal(d) => Value::String(d.to_string()),
            KustoValue::String(s) => Value::String(s.clone()),
            KustoValue::DateTime(t) => Value::String(t.to_string()),
            KustoValue::TimeSpan(t) => Value::String(t.to_string()),
            KustoValue::Guid(g) => Value::String(g.to_string()),
            KustoValue::Dynamic(v) => v.clone(),
        }
    }
}

/// `"NaN"`, `"Infinity"` or `"-Infinity"` for non-finite floats.
fn real_text(r: f64) -> &'static str {
    if r.is_nan() {
        "NaN"
    } else if r > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

impl fmt::Display for KustoValue {
    /// The value as text: `null`, KQL-style scalars, JSON for dynamic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KustoValue::Null => f.write_str("null"),
            KustoValue::Bool(b) => write!(f, "{b}"),
            KustoValue::Int(i) => write!(f, "{i}"),
            KustoValue::Long(l) => write!(f, "{l}"),
            KustoValue::Real(r) if r.is_finite() => write!(f, "{r}"),
            KustoValue::Real(r) => f.write_str(real_text(*r)),
            KustoValue::Decimal(d) => write!(f, "{d}"),
            KustoValue::String(s) => f.write_str(s),
            KustoValue::DateTime(t) => write!(f, "{t}"),
            KustoValue::TimeSpan(t) => write!(f, "{t}"),
            KustoValue::Guid(g) => write!(f, "{g}"),
            KustoValue::Dynamic(v) => write!(f, "{v}"),
        }
    }
}

macro_rules! from_impl {
    ($($t:ty => $variant:ident),*) => {$(
        impl From<$t> for KustoValue {
            fn from(v: $t) -> Self {
                KustoValue::$variant(v.into())
            }
        }
    )*};
}

from_impl!(bool => Bool, i32 => Int, i64 => Long, f64 => Real, KustoDecimal => Decimal,
    String => String, &str => String, KustoDateTime => DateTime, KustoTimespan => TimeSpan,
    Uuid => Guid, serde_json::Value => Dynamic);

impl<T: Into<KustoValue>> From<Option<T>> for KustoValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(KustoValue::Null, Into::into)
    }
}
