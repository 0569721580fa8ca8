//! Kusto scalar types and values, with the JSON encoding the service uses (kusto-protocol.md 3.6,
//! 3.7 and 4.2).

use std::cmp::Ordering;
use std::fmt;

use uuid::Uuid;

use crate::time;

/// The ten Kusto scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KustoType {
    /// `bool`
    Bool,
    /// `int` (32-bit)
    Int,
    /// `long` (64-bit)
    Long,
    /// `real` (64-bit floating point)
    Real,
    /// `decimal` (128-bit decimal)
    Decimal,
    /// `string`
    String,
    /// `datetime`
    DateTime,
    /// `timespan`
    TimeSpan,
    /// `guid`
    Guid,
    /// `dynamic` (any JSON value)
    Dynamic,
}

impl KustoType {
    /// Every type, in documentation order.
    pub const ALL: [KustoType; 10] = [
        KustoType::Bool,
        KustoType::Int,
        KustoType::Long,
        KustoType::Real,
        KustoType::Decimal,
        KustoType::String,
        KustoType::DateTime,
        KustoType::TimeSpan,
        KustoType::Guid,
        KustoType::Dynamic,
    ];

    /// The canonical KQL name, as written in v2 `ColumnType` and v1 `ColumnType`.
    pub fn name(self) -> &'static str {
        match self {
            KustoType::Bool => "bool",
            KustoType::Int => "int",
            KustoType::Long => "long",
            KustoType::Real => "real",
            KustoType::Decimal => "decimal",
            KustoType::String => "string",
            KustoType::DateTime => "datetime",
            KustoType::TimeSpan => "timespan",
            KustoType::Guid => "guid",
            KustoType::Dynamic => "dynamic",
        }
    }

    /// The short .NET type name written in v1 `DataType` (kusto-protocol.md 4.2).
    pub fn v1_data_type(self) -> &'static str {
        match self {
            KustoType::Bool => "Boolean",
            KustoType::Int => "Int32",
            KustoType::Long => "Int64",
            KustoType::Real => "Double",
            KustoType::Decimal => "SqlDecimal",
            KustoType::String => "String",
            KustoType::DateTime => "DateTime",
            KustoType::TimeSpan => "TimeSpan",
            KustoType::Guid => "Guid",
            KustoType::Dynamic => "Object",
        }
    }

    /// The full .NET type name used in `.show table T schema as json` (`System.Int32`, ...).
    pub fn clr_type(self) -> &'static str {
        match self {
            KustoType::Bool => "System.SByte",
            KustoType::Int => "System.Int32",
            KustoType::Long => "System.Int64",
            KustoType::Real => "System.Double",
            KustoType::Decimal => "System.Data.SqlTypes.SqlDecimal",
            KustoType::String => "System.String",
            KustoType::DateTime => "System.DateTime",
            KustoType::TimeSpan => "System.TimeSpan",
            KustoType::Guid => "System.Guid",
            KustoType::Dynamic => "System.Object",
        }
    }

    /// Parses a type name: KQL names and synonyms, case-insensitively, and .NET names.
    pub fn parse(name: &str) -> Option<KustoType> {
        let lower = name.trim().to_ascii_lowercase();
        let lower = lower.strip_prefix("system.").unwrap_or(&lower);
        Some(match lower {
            "bool" | "boolean" | "sbyte" => KustoType::Bool,
            "int" | "int32" => KustoType::Int,
            "long" | "int64" => KustoType::Long,
            "real" | "double" | "float" => KustoType::Real,
            "decimal" | "sqldecimal" | "data.sqltypes.sqldecimal" => KustoType::Decimal,
            "string" => KustoType::String,
            "datetime" | "date" => KustoType::DateTime,
            "timespan" | "time" => KustoType::TimeSpan,
            "guid" | "uuid" | "uniqueid" => KustoType::Guid,
            "dynamic" | "object" => KustoType::Dynamic,
            _ => return None,
        })
    }
}

impl fmt::Display for KustoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decimal number held exactly as a 128-bit mantissa and a scale (digits after the point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// Largest number of significant digits kept (SqlDecimal's precision).
    const MAX_DIGITS: usize = 38;

    /// Parses decimal or scientific notation (`-12.340`, `1e5`, `1.5E-3`).
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (mantissa_text, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, digits) = match mantissa_text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (
                false,
                mantissa_text.strip_prefix('+').unwrap_or(mantissa_text),
            ),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let all: String = format!("{int_part}{frac_part}");
        let trimmed = all.trim_start_matches('0');
        if trimmed.len() > Self::MAX_DIGITS {
            return None;
        }
        let mut mantissa: i128 = if trimmed.is_empty() {
            0
        } else {
            trimmed.parse().ok()?
        };
        let mut scale = i64::try_from(frac_part.len()).ok()? - i64::from(exponent);
        if scale < 0 {
            // One checked power of ten, not a loop per unit of the exponent (`0e2147483647`
            // took two billion steps: zero never overflows). Zero stays zero at scale 0.
            if mantissa != 0 {
                let factor = 10i128.checked_pow(u32::try_from(-scale).ok()?)?;
                mantissa = mantissa.checked_mul(factor)?;
            }
            scale = 0;
        }
        if scale > 38 {
            return None;
        }
        if negative {
            mantissa = -mantissa;
        }
        Some(Decimal {
            mantissa,
            scale: u32::try_from(scale).ok()?,
        })
    }

    /// The decimal as an `f64` (for comparisons with reals).
    pub fn to_f64(self) -> f64 {
        self.mantissa as f64 / 10f64.powi(self.scale as i32)
    }

    /// A decimal from an integer.
    pub fn from_i64(value: i64) -> Decimal {
        Decimal {
            mantissa: i128::from(value),
            scale: 0,
        }
    }

    /// The decimal nearest to a finite `f64` (its shortest round-trip text), `None` for NaN and
    /// infinities.
    pub(crate) fn from_f64(value: f64) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{value:?}"))
    }

    /// The integer part (truncated toward zero), if it fits an `i64`.
    pub(crate) fn trunc_i64(self) -> Option<i64> {
        let div = 10i128.checked_pow(self.scale)?;
        i64::try_from(self.mantissa / div).ok()
    }

    /// Both operands at the same scale.
    fn aligned(self, other: Decimal) -> Option<(i128, i128, u32)> {
        let scale = self.scale.max(other.scale);
        let a = self
            .mantissa
            .checked_mul(10i128.checked_pow(scale - self.scale)?)?;
        let b = other
            .mantissa
            .checked_mul(10i128.checked_pow(scale - other.scale)?)?;
        Some((a, b, scale))
    }

    /// Drops trailing zeros of the fraction beyond `keep` digits.
    fn normalized(mut self, keep: u32) -> Decimal {
        while self.scale > keep && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }

    /// `self + other` (`None` on overflow).
    pub(crate) fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = self.aligned(other)?;
        Some(Decimal {
            mantissa: a.checked_add(b)?,
            scale,
        })
    }

    /// `self - other` (`None` on overflow).
    pub(crate) fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        self.checked_add(Decimal {
            mantissa: -other.mantissa,
            scale: other.scale,
        })
    }

    /// `self * other` (`None` on overflow).
    pub(crate) fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let mut d = Decimal {
            mantissa: self.mantissa.checked_mul(other.mantissa)?,
            scale: self.scale + other.scale,
        };
        while d.scale > 38 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        Some(d.normalized(self.scale.max(other.scale)))
    }

    /// `self / other` with up to 20 fractional digits (`None` for a zero divisor or overflow).
    pub(crate) fn checked_div(self, other: Decimal) -> Option<Decimal> {
        if other.mantissa == 0 {
            return None;
        }
        let (a, b, _) = self.aligned(other)?;
        // a / b, scaled by 10^k as far as the mantissa allows.
        let mut k = 20u32;
        let num = loop {
            match a.checked_mul(10i128.checked_pow(k)?) {
                Some(n) => break n,
                None if k > 0 => k -= 1,
                None => return None,
            }
        };
        Some(
            Decimal {
                mantissa: num / b,
                scale: k,
            }
            .normalized(0),
        )
    }

    /// The remainder of `self / other` with the sign of `self`.
    pub(crate) fn checked_rem(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = self.aligned(other)?;
        if b == 0 {
            return None;
        }
        Some(Decimal {
            mantissa: a % b,
            scale,
        })
    }

    /// `-self`.
    pub(crate) fn neg(self) -> Decimal {
        Decimal {
            mantissa: -self.mantissa,
            scale: self.scale,
        }
    }

    /// The sign: -1, 0 or 1.
    pub(crate) fn signum(self) -> i32 {
        self.mantissa.signum() as i32
    }

    fn compare(self, other: Decimal) -> Option<Ordering> {
        let scale = self.scale.max(other.scale);
        let a = self
            .mantissa
            .checked_mul(10i128.checked_pow(scale - self.scale)?)?;
        let b = other
            .mantissa
            .checked_mul(10i128.checked_pow(scale - other.scale)?)?;
        Some(a.cmp(&b))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int_part, frac_part) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int_part}.{frac_part}")
    }
}

/// A Kusto value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A null of any type.
    Null,
    /// `bool`
    Bool(bool),
    /// `int`
    Int(i32),
    /// `long`
    Long(i64),
    /// `real`
    Real(f64),
    /// `decimal`
    Decimal(Decimal),
    /// `string`
    String(String),
    /// `datetime`, as 100-ns ticks since 0001-01-01T00:00:00Z.
    DateTime(i64),
    /// `timespan`, as 100-ns ticks.
    TimeSpan(i64),
    /// `guid`
    Guid(Uuid),
    /// `dynamic`: any JSON value (`Value::Null` is a typed null, `Dynamic(Json::Null)` a JSON null).
    Dynamic(serde_json::Value),
}

impl Value {
    /// Whether the value is null (`Value::Null` or a dynamic JSON null). Strings are never null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Dynamic(serde_json::Value::Null))
    }

    /// The type of a non-null value (`None` for `Null`).
    pub fn kusto_type(&self) -> Option<KustoType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => KustoType::Bool,
            Value::Int(_) => KustoType::Int,
            Value::Long(_) => KustoType::Long,
            Value::Real(_) => KustoType::Real,
            Value::Decimal(_) => KustoType::Decimal,
            Value::String(_) => KustoType::String,
            Value::DateTime(_) => KustoType::DateTime,
            Value::TimeSpan(_) => KustoType::TimeSpan,
            Value::Guid(_) => KustoType::Guid,
            Value::Dynamic(_) => KustoType::Dynamic,
        })
    }

    /// Appends the JSON encoding of this value to `out`, as the service
    /// writes it: datetimes trimmed, timespans in .NET "c" format, decimals and non-finite reals as
    /// strings, guids lowercase, dynamic values embedded, nulls as `null`.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Long(l) => out.push_str(&l.to_string()),
            Value::Real(r) => write_real(*r, out),
            Value::Decimal(d) => write_json_string(&d.to_string(), out),
            Value::String(s) => write_json_string(s, out),
            Value::DateTime(t) => write_json_string(&time::format_datetime(*t), out),
            Value::TimeSpan(t) => write_json_string(&time::format_timespan(*t), out),
            Value::Guid(g) => write_json_string(&g.hyphenated().to_string(), out),
            Value::Dynamic(v) => out.push_str(&v.to_string()),
        }
    }

    /// The value as a JSON value for embedding in dynamic contexts (e.g. ingestion of a scalar
    /// into a dynamic column).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Long(l) => J::from(*l),
            Value::Real(r) => serde_json::Number::from_f64(*r)
                .map(J::Number)
                .unwrap_or_else(|| J::String(real_special_name(*r).to_string())),
            Value::Decimal(d) => J::String(d.to_string()),
            Value::String(s) => J::String(s.clone()),
            Value::DateTime(t) => J::String(time::format_datetime(*t)),
            Value::TimeSpan(t) => J::String(time::format_timespan(*t)),
            Value::Guid(g) => J::String(g.hyphenated().to_string()),
            Value::Dynamic(v) => v.clone(),
        }
    }

    /// Display text of the value (as `tostring()` would give).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Dynamic(serde_json::Value::String(s)) => s.clone(),
            other => {
                let mut out = String::new();
                other.write_json(&mut out);
                if let Some(inner) = out.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    inner.to_string()
                } else {
                    out
                }
            }
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(f64::from(*i)),
            Value::Long(l) => Some(*l as f64),
            Value::Real(r) => Some(*r),
            Value::Decimal(d) => Some(d.to_f64()),
            Value::Dynamic(serde_json::Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(i64::from(*i)),
            Value::Long(l) => Some(*l),
            Value::Dynamic(serde_json::Value::Number(n)) => n.as_i64(),
            _ => None,
        }
    }

    /// Compares two non-null values of compatible types (numbers with numbers, strings with
    /// strings, ...); `None` when either is null or the types cannot be compared.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value as V;
        match (self, other) {
            (V::Null, _) | (_, V::Null) => None,
            (V::Bool(a), V::Bool(b)) => Some(a.cmp(b)),
            (V::String(a), V::String(b)) => Some(a.cmp(b)),
            (V::DateTime(a), V::DateTime(b)) | (V::TimeSpan(a), V::TimeSpan(b)) => Some(a.cmp(b)),
            (V::Guid(a), V::Guid(b)) => Some(a.cmp(b)),
            (V::Decimal(a), V::Decimal(b)) => a.compare(*b),
            (V::Dynamic(serde_json::Value::String(a)), V::String(b))
            | (V::String(a), V::Dynamic(serde_json::Value::String(b))) => Some(a.cmp(b)),
            (V::Dynamic(a), V::Dynamic(b)) if a == b => Some(Ordering::Equal),
            (V::Dynamic(serde_json::Value::Bool(a)), V::Bool(b)) => Some(a.cmp(b)),
            (V::Bool(a), V::Dynamic(serde_json::Value::Bool(b))) => Some(a.cmp(b)),
            _ => match (self.as_i64(), other.as_i64()) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => {
                    let (a, b) = (self.as_f64()?, other.as_f64()?);
                    a.partial_cmp(&b)
                }
            },
        }
    }

    /// A total order used by `order by`: nulls compare equal to each other and are placed by
    /// the caller; incomparable values fall back to their type order.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        if let Some(ord) = self.compare(other) {
            return ord;
        }
        let rank = |v: &Value| v.kusto_type().map_or(0, |t| t as u8 as i32 + 1);
        rank(self).cmp(&rank(other))
    }
}

fn real_special_name(r: f64) -> &'static str {
    if r.is_nan() {
        "NaN"
    } else if r > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

fn write_real(r: f64, out: &mut String) {
    if r.is_finite() {
        match serde_json::Number::from_f64(r) {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str("null"),
        }
    } else {
        out.push('"');
        out.push_str(real_special_name(r));
        out.push('"');
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_json_string(s: &str, out: &mut String) {
    // serde_json's string escaping cannot fail for a &str.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: &Value, _ty: KustoType) -> String {
        let mut out = String::new();
        v.write_json(&mut out);
        out
    }

    #[test]
    fn decimal_parse_and_format() {
        for (text, shown) in [
            ("12.3400", "12.3400"),
            ("-0.5", "-0.5"),
            ("1e5", "100000"),
            ("1.5E-3", "0.0015"),
            ("2.00000000000001", "2.00000000000001"),
            ("+7", "7"),
            (".5", "0.5"),
        ] {
            assert_eq!(
                Decimal::parse(text).map(|d| d.to_string()).as_deref(),
                Some(shown),
                "{text}"
            );
        }
        for bad in ["", "abc", "1.2.3", "--1", "1e", "."] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
        let a = Decimal::parse("1.50").unwrap();
        let b = Decimal::parse("1.5").unwrap();
        assert_eq!(a.compare(b), Some(Ordering::Equal));
    }

    /// Huge exponents are one step, not one per unit (`0e2147483647` looped two billion
    /// times), and every text reads as the previous loop read it (reference below, on
    /// exponents small enough for its loop).
    #[test]
    fn decimal_exponents_are_bounded_and_read_as_before() {
        fn reference(text: &str) -> Option<(i128, u32)> {
            let text = text.trim();
            let (m, e) = match text.find(['e', 'E']) {
                Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
                None => (text, 0),
            };
            assert!(
                e.abs() < 1000,
                "the reference loops per unit of the exponent"
            );
            let (negative, digits) = match m.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, m.strip_prefix('+').unwrap_or(m)),
            };
            let (i, f) = digits.split_once('.').unwrap_or((digits, ""));
            if i.is_empty() && f.is_empty()
                || !format!("{i}{f}").bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let all = format!("{i}{f}");
            let trimmed = all.trim_start_matches('0');
            if trimmed.len() > 38 {
                return None;
            }
            let mut mantissa: i128 = if trimmed.is_empty() {
                0
            } else {
                trimmed.parse().ok()?
            };
            let mut scale = f.len() as i64 - i64::from(e);
            while scale < 0 {
                mantissa = mantissa.checked_mul(10)?;
                scale += 1;
            }
            if scale > 38 {
                return None;
            }
            Some((if negative { -mantissa } else { mantissa }, scale as u32))
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let exponents = [
            "", "e0", "e5", "e-5", "e37", "e38", "e39", "e-38", "e-39", "E+3", "e999", "e-999",
        ];
        for _ in 0..50_000 {
            let mut text = ["", "-", "+"][next(3) as usize].to_owned();
            for _ in 0..next(45) {
                text.push(if next(3) == 0 {
                    char::from(b'0' + next(10) as u8)
                } else {
                    '0'
                });
            }
            if next(2) == 0 {
                text.push('.');
                for _ in 0..next(20) {
                    text.push(char::from(b'0' + next(10) as u8));
                }
            }
            text.push_str(exponents[next(exponents.len() as u64) as usize]);
            let got = Decimal::parse(&text).map(|d| (d.mantissa, d.scale));
            assert_eq!(got, reference(&text), "{text:?}");
        }
        let zeros = "0".repeat(1 << 20);
        for (text, expected) in [
            ("0e2147483647".to_owned(), Some((0, 0))),
            ("-0.0e2147483647".to_owned(), Some((0, 0))),
            ("5e2147483647".to_owned(), None),
            ("0e-2147483648".to_owned(), None),
            (format!("{zeros}1.5e-1"), Some((15, 2))),
            (format!("{zeros}e2147483647"), Some((0, 0))),
        ] {
            let got = Decimal::parse(&text).map(|d| (d.mantissa, d.scale));
            assert_eq!(got, expected, "{}", &text[..text.len().min(30)]);
        }
    }

    #[test]
    fn json_encoding_matches_the_service() {
        assert_eq!(json(&Value::Real(f64::NAN), KustoType::Real), "\"NaN\"");
        assert_eq!(
            json(&Value::Real(f64::INFINITY), KustoType::Real),
            "\"Infinity\""
        );
        assert_eq!(
            json(&Value::Real(f64::NEG_INFINITY), KustoType::Real),
            "\"-Infinity\""
        );
        assert_eq!(json(&Value::Real(2.5), KustoType::Real), "2.5");
        assert_eq!(json(&Value::Real(0.0), KustoType::Real), "0.0");
        assert_eq!(
            json(&Value::Long(i64::MAX), KustoType::Long),
            "9223372036854775807"
        );
        assert_eq!(json(&Value::Null, KustoType::String), "null");
        assert_eq!(json(&Value::Null, KustoType::Int), "null");
        let g = Uuid::parse_str("C9B2D3A4-5E6F-4A1B-8C2D-3E4F5A6B7C8D").unwrap();
        assert_eq!(
            json(&Value::Guid(g), KustoType::Guid),
            "\"c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d\""
        );
        assert_eq!(
            json(&Value::String("h\u{e9}llo \"q\"".into()), KustoType::String),
            "\"h\u{e9}llo \\\"q\\\"\""
        );
    }

    #[test]
    fn type_names() {
        for t in KustoType::ALL {
            assert_eq!(KustoType::parse(t.name()), Some(t));
            assert_eq!(KustoType::parse(t.v1_data_type()), Some(t));
            assert_eq!(KustoType::parse(t.clr_type()), Some(t));
        }
        assert_eq!(KustoType::parse("UUID"), Some(KustoType::Guid));
        assert_eq!(KustoType::parse("nope"), None);
    }
}
