//! Value semantics shared by the binder, the functions and the operators: the result types of
//! arithmetic, arithmetic itself (with Kusto's modulo sign rule and wrapping integers),
//! comparisons, conversions between types (`toint(2.3)` is 2) and the text of each type as
//! `tostring()` prints it.

use std::cmp::Ordering;

use serde_json::Value as Json;

use super::ast::BinOp;
use crate::parse_value::{parse_bool, parse_integer, parse_real, parse_scalar};
use crate::time::{self, MAX_DATETIME_TICKS};
use crate::value::{Decimal, KustoType, Value};

pub(crate) fn is_numeric(t: KustoType) -> bool {
    matches!(
        t,
        KustoType::Int | KustoType::Long | KustoType::Real | KustoType::Decimal
    )
}

/// The wider of two numeric types (`int` < `long` < `decimal` < `real`).
pub(crate) fn wider(a: KustoType, b: KustoType) -> KustoType {
    let rank = |t: KustoType| match t {
        KustoType::Int => 0,
        KustoType::Long => 1,
        KustoType::Decimal => 2,
        _ => 3,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// The result type of `a op b` for an arithmetic operator, or the message of the semantic error
/// a cluster gives for operand types that do not combine.
pub(crate) fn arith_type(op: BinOp, a: KustoType, b: KustoType) -> Result<KustoType, String> {
    use KustoType::{DateTime, Dynamic, Real, TimeSpan};
    let result = match (op, a, b) {
        (_, Dynamic, t) | (_, t, Dynamic) if is_numeric(t) || t == Dynamic => Dynamic,
        (_, a, b) if is_numeric(a) && is_numeric(b) => wider(a, b),
        (BinOp::Sub, DateTime, DateTime) => TimeSpan,
        (BinOp::Add | BinOp::Sub, DateTime, TimeSpan) | (BinOp::Add, TimeSpan, DateTime) => {
            DateTime
        }
        (BinOp::Add | BinOp::Sub | BinOp::Mod, TimeSpan, TimeSpan) => TimeSpan,
        (BinOp::Mul, TimeSpan, n) | (BinOp::Mul, n, TimeSpan) if is_numeric(n) => TimeSpan,
        (BinOp::Div, TimeSpan, n) if is_numeric(n) => TimeSpan,
        (BinOp::Div, TimeSpan, TimeSpan) => Real,
        _ => {
            return Err(format!(
                "Cannot apply the arithmetic operator '{}' to values of types {a} and {b}",
                op.symbol()
            ));
        }
    };
    Ok(result)
}

pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i64::from(*i)),
        Value::Long(l) => Some(*l),
        Value::Dynamic(Json::Number(n)) => n.as_i64(),
        _ => None,
    }
}

pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(f64::from(*i)),
        Value::Long(l) => Some(*l as f64),
        Value::Real(r) => Some(*r),
        Value::Decimal(d) => Some(d.to_f64()),
        Value::Dynamic(Json::Number(n)) => n.as_f64(),
        _ => None,
    }
}

pub(crate) fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Decimal(d) => Some(*d),
        Value::Int(_) | Value::Long(_) => as_i64(v).map(Decimal::from_i64),
        Value::Real(r) => Decimal::from_f64(*r),
        _ => None,
    }
}

/// A tick count from a real, or `None` when it is not finite or out of range.
pub(crate) fn ticks_from_f64(x: f64) -> Option<i64> {
    let rounded = x.round();
    (rounded.is_finite() && rounded.abs() < i64::MAX as f64).then_some(rounded as i64)
}

/// A datetime within Kusto's range, null outside it.
pub(crate) fn datetime_or_null(ticks: Option<i64>) -> Value {
    match ticks {
        Some(t) if (0..=MAX_DATETIME_TICKS).contains(&t) => Value::DateTime(t),
        _ => Value::Null,
    }
}

/// A dynamic scalar as the typed value it holds (numbers, strings, bools); other JSON as is.
pub(crate) fn undynamic(v: &Value) -> Value {
    match v {
        Value::Dynamic(Json::Number(n)) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => n.as_f64().map_or(Value::Null, Value::Real),
        },
        Value::Dynamic(Json::String(s)) => Value::String(s.clone()),
        Value::Dynamic(Json::Bool(b)) => Value::Bool(*b),
        Value::Dynamic(Json::Null) => Value::Null,
        other => other.clone(),
    }
}

/// Evaluates `a op b` for an arithmetic operator whose result type `ty` the binder found.
/// Integers wrap on overflow; integer division or modulo by zero is null; the modulo is never
/// negative (`0 <= n % d < abs(d)`).
pub(crate) fn arith(op: BinOp, a: &Value, b: &Value, ty: KustoType) -> Value {
    use BinOp::{Add, Div, Mod, Mul, Sub};
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    if ty == KustoType::Dynamic {
        let (x, y) = (undynamic(a), undynamic(b));
        let inner = match (&x, &y) {
            (Value::Real(_), _) | (_, Value::Real(_)) => KustoType::Real,
            _ => KustoType::Long,
        };
        return match arith(op, &x, &y, inner) {
            Value::Null => Value::Null,
            v => Value::Dynamic(v.to_json()),
        };
    }
    match (a, b) {
        (Value::DateTime(x), Value::DateTime(y)) => Value::TimeSpan(x.wrapping_sub(*y)),
        (Value::DateTime(x), Value::TimeSpan(y)) => datetime_or_null(match op {
            Sub => x.checked_sub(*y),
            _ => x.checked_add(*y),
        }),
        (Value::TimeSpan(x), Value::DateTime(y)) => datetime_or_null(y.checked_add(*x)),
        (Value::TimeSpan(x), Value::TimeSpan(y)) => match op {
            Add => Value::TimeSpan(x.wrapping_add(*y)),
            Sub => Value::TimeSpan(x.wrapping_sub(*y)),
            Div => Value::Real(*x as f64 / *y as f64),
            Mod if *y != 0 => Value::TimeSpan(x.rem_euclid(*y)),
            _ => Value::Null,
        },
        (Value::TimeSpan(t), n) | (n, Value::TimeSpan(t)) if op == Mul => match as_i64(n) {
            Some(k) => Value::TimeSpan(t.wrapping_mul(k)),
            None => as_f64(n)
                .and_then(|r| ticks_from_f64(*t as f64 * r))
                .map_or(Value::Null, Value::TimeSpan),
        },
        (Value::TimeSpan(t), n) if op == Div => match as_i64(n) {
            Some(0) => Value::Null,
            Some(k) => Value::TimeSpan(t.wrapping_div(k)),
            None => as_f64(n)
                .and_then(|r| ticks_from_f64(*t as f64 / r))
                .map_or(Value::Null, Value::TimeSpan),
        },
        _ => match ty {
            KustoType::Real => {
                let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) else {
                    return Value::Null;
                };
                Value::Real(match op {
                    Add => x + y,
                    Sub => x - y,
                    Mul => x * y,
                    Div => x / y,
                    _ => {
                        let r = x % y;
                        if r < 0.0 { r + y.abs() } else { r }
                    }
                })
            }
            KustoType::Decimal => {
                let (Some(x), Some(y)) = (as_decimal(a), as_decimal(b)) else {
                    return Value::Null;
                };
                let r = match op {
                    Add => x.checked_add(y),
                    Sub => x.checked_sub(y),
                    Mul => x.checked_mul(y),
                    Div => x.checked_div(y),
                    _ => x.checked_rem(y).and_then(|r| {
                        if r.signum() < 0 {
                            r.checked_add(if y.signum() < 0 { y.neg() } else { y })
                        } else {
                            Some(r)
                        }
                    }),
                };
                r.map_or(Value::Null, Value::Decimal)
            }
            KustoType::Long | KustoType::Int => {
                let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) else {
                    return Value::Null;
                };
                let result = match op {
                    Add => Some(x.wrapping_add(y)),
                    Sub => Some(x.wrapping_sub(y)),
                    Mul => Some(x.wrapping_mul(y)),
                    Div => (y != 0).then(|| x.wrapping_div(y)),
                    _ => (y != 0).then(|| {
                        // Euclidean remainder; i64::MIN % -1 is 0.
                        x.checked_rem_euclid(y).unwrap_or(0)
                    }),
                };
                match (result, ty) {
                    (Some(r), KustoType::Int) => Value::Int(r as i32),
                    (Some(r), _) => Value::Long(r),
                    (None, _) => Value::Null,
                }
            }
            _ => Value::Null,
        },
    }
}

/// Orders two non-null values of comparable types; `None` when either is null or they cannot be
/// compared (then `==` is false and `<` is null).
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    let (a, b) = (undynamic(a), undynamic(b));
    match (&a, &b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Real(x), y) | (y, Value::Real(x)) if y.kusto_type() != Some(KustoType::Real) => {
            let y = as_f64(y)?;
            let ord = x.partial_cmp(&y)?;
            Some(if matches!(a, Value::Real(_)) {
                ord
            } else {
                ord.reverse()
            })
        }
        (Value::DateTime(x), Value::String(s)) => Some(x.cmp(&time::parse_datetime(s)?)),
        (Value::String(s), Value::DateTime(y)) => Some(time::parse_datetime(s)?.cmp(y)),
        _ => a.compare(&b),
    }
}

/// `a == b` and the other comparison operators, with null propagation.
pub(crate) fn compare_op(op: BinOp, a: &Value, b: &Value) -> Value {
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    if matches!(op, BinOp::EqCi | BinOp::NeCi) {
        let eq = to_text(a).to_lowercase() == to_text(b).to_lowercase();
        return Value::Bool(eq == (op == BinOp::EqCi));
    }
    let ord = compare(a, b);
    Value::Bool(match (op, ord) {
        (BinOp::Eq, o) => o == Some(Ordering::Equal),
        (BinOp::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => return Value::Null,
        (BinOp::Lt, Some(o)) => o == Ordering::Less,
        (BinOp::Le, Some(o)) => o != Ordering::Greater,
        (BinOp::Gt, Some(o)) => o == Ordering::Greater,
        (_, Some(o)) => o != Ordering::Less,
    })
}

/// Whether values of these types can be compared with `==`, `<`, ...
pub(crate) fn comparable(a: KustoType, b: KustoType) -> bool {
    a == b || a == KustoType::Dynamic || b == KustoType::Dynamic || (is_numeric(a) && is_numeric(b))
}

/// A real as .NET prints it (`1`, `0.1`, `1E+20`, `1.5E-05`, `NaN`, `Infinity`): the shortest
/// text that reads back as the same number, in exponent form from 1E+15 up and below 1E-05.
pub(crate) fn format_real(r: f64) -> String {
    if r.is_nan() {
        return "NaN".into();
    }
    if r.is_infinite() {
        return if r > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if r == 0.0 {
        return if r.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{r:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-5..15).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}E{esign}{:02}", exp.abs());
    }
    if exp >= 0 {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits:0<int_len$}")
        } else {
            let (i, f) = digits.split_at(int_len);
            format!("{sign}{i}.{f}")
        }
    } else {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        format!("{sign}0.{zeros}{digits}")
    }
}

/// The text of a value as `tostring()` gives it (null is the empty string).
pub(crate) fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Long(l) => l.to_string(),
        Value::Real(r) => format_real(*r),
        Value::Decimal(d) => d.to_string(),
        Value::String(s) => s.clone(),
        Value::DateTime(t) => time::format_datetime(*t),
        Value::TimeSpan(t) => time::format_timespan(*t),
        Value::Guid(g) => g.hyphenated().to_string(),
        Value::Dynamic(Json::String(s)) => s.clone(),
        Value::Dynamic(Json::Null) => String::new(),
        Value::Dynamic(j) => j.to_string(),
    }
}

/// Converts a value to a type as the `to*()` functions do: null when it does not convert.
pub(crate) fn convert(value: &Value, ty: KustoType) -> Value {
    if value.is_null() {
        return match ty {
            KustoType::String => Value::String(String::new()),
            _ => Value::Null,
        };
    }
    if value.kusto_type() == Some(ty) {
        return value.clone();
    }
    let v = undynamic(value);
    match ty {
        KustoType::String => Value::String(to_text(value)),
        KustoType::Dynamic => Value::Dynamic(value.to_json()),
        KustoType::Bool => match &v {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) => parse_bool(s).map_or(Value::Null, Value::Bool),
            other => as_f64(other).map_or(Value::Null, |f| Value::Bool(f != 0.0)),
        },
        KustoType::Int | KustoType::Long => {
            let n: Option<i64> = match &v {
                Value::Bool(b) => Some(i64::from(*b)),
                Value::Int(_) | Value::Long(_) => as_i64(&v),
                Value::Real(r) => (r.is_finite() && r.abs() < 9.2e18).then(|| r.trunc() as i64),
                Value::Decimal(d) => d.trunc_i64(),
                Value::String(s) => parse_integer(s).or_else(|| {
                    parse_real(s)
                        .filter(|r| r.is_finite() && r.abs() < 9.2e18)
                        .map(|r| r.trunc() as i64)
                }),
                Value::DateTime(t) | Value::TimeSpan(t) => Some(*t),
                _ => None,
            };
            match (n, ty) {
                (Some(n), KustoType::Long) => Value::Long(n),
                (Some(n), _) => i32::try_from(n).map_or(Value::Null, Value::Int),
                (None, _) => Value::Null,
            }
        }
        KustoType::Real => match &v {
            Value::Bool(b) => Value::Real(f64::from(u8::from(*b))),
            Value::String(s) => parse_real(s).map_or(Value::Null, Value::Real),
            Value::DateTime(t) | Value::TimeSpan(t) => Value::Real(*t as f64),
            other => as_f64(other).map_or(Value::Null, Value::Real),
        },
        KustoType::Decimal => match &v {
            Value::Bool(b) => Value::Decimal(Decimal::from_i64(i64::from(*b))),
            Value::String(s) => Decimal::parse(s).map_or(Value::Null, Value::Decimal),
            other => as_decimal(other).map_or(Value::Null, Value::Decimal),
        },
        KustoType::DateTime => match &v {
            Value::String(s) => time::parse_datetime(s).map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        },
        KustoType::TimeSpan => match &v {
            Value::String(s) => time::parse_timespan(s).map_or(Value::Null, Value::TimeSpan),
            Value::Int(_) | Value::Long(_) => as_i64(&v).map_or(Value::Null, Value::TimeSpan),
            Value::Real(r) => ticks_from_f64(*r).map_or(Value::Null, Value::TimeSpan),
            _ => Value::Null,
        },
        KustoType::Guid => match &v {
            Value::String(s) => parse_scalar(s, KustoType::Guid).unwrap_or(Value::Null),
            _ => Value::Null,
        },
    }
}

/// The value of a missing cell of a column of type `ty` (a row without a match in a join, a
/// column absent from one table of a union): null, or the empty string for strings (which are
/// never null in Kusto).
pub(crate) fn missing(ty: KustoType) -> Value {
    if ty == KustoType::String {
        Value::String(String::new())
    } else {
        Value::Null
    }
}

/// Makes a value fit its column's type (an `int` in a `long` column becomes a `long`, a null
/// string is the empty string) so that results serialize with the declared column types.
pub(crate) fn fit(value: Value, ty: KustoType) -> Value {
    match (&value, ty) {
        (Value::Null, KustoType::String) => Value::String(String::new()),
        (Value::Null, _) => Value::Null,
        (v, t) if v.kusto_type() == Some(t) => value,
        _ => convert(&value, ty),
    }
}

/// A hashable key for grouping, joining and `distinct`: equal values give equal keys.
pub(crate) fn key_text(values: &[Value], out: &mut String) {
    use std::fmt::Write;
    for v in values {
        match v {
            Value::Null => out.push('\u{0}'),
            Value::Real(r) if *r == 0.0 => out.push_str("R0"),
            Value::Dynamic(j) => {
                let _ = write!(out, "D{j}");
            }
            other => {
                let _ = write!(out, "{other:?}");
            }
        }
        out.push('\u{1}');
    }
}
