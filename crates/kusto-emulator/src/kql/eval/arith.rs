//! Arithmetic: the result types of KQL's numerical and datetime/timespan operations and their
//! values.

use crate::kql::parser::ArithOp;
use crate::kql::{KqlError, SEM_UNSUPPORTED};
use crate::time::MAX_DATETIME_TICKS;
use crate::value::{KustoType, Value};

pub(super) fn is_numeric(t: KustoType) -> bool {
    matches!(t, KustoType::Int | KustoType::Long | KustoType::Real)
}

/// The result type of `a op b` (the typing rules of KQL's numerical and datetime/timespan
/// arithmetic), or the semantic error a cluster gives for operand types that do not combine.
pub(super) fn arith_type(
    op: ArithOp,
    ta: Option<KustoType>,
    tb: Option<KustoType>,
    context: &str,
) -> Result<Option<KustoType>, KqlError> {
    use KustoType::{DateTime, Decimal, Dynamic, Int, Long, Real, TimeSpan};
    let mismatch = |a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
        KqlError::semantic(
            SEM_UNSUPPORTED,
            format!(
                "'{context}' operator: Cannot apply the arithmetic operator '{}' to values of types {a} and {b}",
                op.symbol()
            ),
        )
    };
    if ta == Some(Decimal) || tb == Some(Decimal) {
        return Err(KqlError::unsupported("Arithmetic on decimal values"));
    }
    if ta == Some(Dynamic) || tb == Some(Dynamic) {
        return Err(KqlError::unsupported("Arithmetic on dynamic values"));
    }
    let (a, b) = match (ta, tb) {
        (Some(a), Some(b)) => (a, b),
        // An untyped `null` takes the type of the other side.
        (Some(t), None) | (None, Some(t)) => {
            return if is_numeric(t) || matches!(t, DateTime | TimeSpan) {
                Ok(Some(t))
            } else {
                Err(mismatch(&t, &"null"))
            };
        }
        (None, None) => return Ok(None),
    };
    let rank = |t: KustoType| match t {
        Int => 0,
        Long => 1,
        _ => 2,
    };
    let result = match (op, a, b) {
        (_, a, b) if is_numeric(a) && is_numeric(b) => {
            if rank(a) >= rank(b) {
                a
            } else {
                b
            }
        }
        (ArithOp::Sub, DateTime, DateTime) => TimeSpan,
        (ArithOp::Add | ArithOp::Sub, DateTime, TimeSpan) | (ArithOp::Add, TimeSpan, DateTime) => {
            DateTime
        }
        (ArithOp::Add | ArithOp::Sub, TimeSpan, TimeSpan) => TimeSpan,
        (ArithOp::Mul, TimeSpan, n) | (ArithOp::Mul, n, TimeSpan) if is_numeric(n) => TimeSpan,
        (ArithOp::Div, TimeSpan, n) if is_numeric(n) => TimeSpan,
        (ArithOp::Div, TimeSpan, TimeSpan) => Real,
        _ => return Err(mismatch(&a, &b)),
    };
    Ok(Some(result))
}

pub(super) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i64::from(*i)),
        Value::Long(l) => Some(*l),
        _ => None,
    }
}

pub(super) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(f64::from(*i)),
        Value::Long(l) => Some(*l as f64),
        Value::Real(r) => Some(*r),
        _ => None,
    }
}

/// A tick count from a real, or `None` when it is not finite or out of range.
pub(super) fn ticks_from_f64(x: f64) -> Option<i64> {
    let rounded = x.round();
    (rounded.is_finite() && rounded.abs() < i64::MAX as f64).then_some(rounded as i64)
}

/// A datetime within Kusto's range, null outside it.
pub(super) fn datetime_or_null(ticks: Option<i64>) -> Value {
    match ticks {
        Some(t) if (0..=MAX_DATETIME_TICKS).contains(&t) => Value::DateTime(t),
        _ => Value::Null,
    }
}

/// Evaluates `a op b` for operands already checked by [`arith_type`]. Integer arithmetic wraps
/// on overflow (as .NET's unchecked arithmetic does); integer division or modulo by zero is null.
pub(super) fn arith(op: ArithOp, a: &Value, b: &Value, ty: Option<KustoType>) -> Value {
    use ArithOp::{Add, Div, Mod, Mul, Sub};
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
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
            Mul | Mod => Value::Null,
        },
        (Value::TimeSpan(t), n) | (n, Value::TimeSpan(t)) if op == Mul => match (as_i64(n), n) {
            (Some(k), _) => Value::TimeSpan(t.wrapping_mul(k)),
            (None, Value::Real(r)) => {
                ticks_from_f64(*t as f64 * r).map_or(Value::Null, Value::TimeSpan)
            }
            _ => Value::Null,
        },
        (Value::TimeSpan(t), n) if op == Div => match (as_i64(n), n) {
            (Some(0), _) => Value::Null,
            (Some(k), _) => Value::TimeSpan(t.wrapping_div(k)),
            (None, Value::Real(r)) => {
                ticks_from_f64(*t as f64 / r).map_or(Value::Null, Value::TimeSpan)
            }
            _ => Value::Null,
        },
        _ => match ty {
            Some(KustoType::Real) => match (as_f64(a), as_f64(b)) {
                (Some(x), Some(y)) => Value::Real(match op {
                    Add => x + y,
                    Sub => x - y,
                    Mul => x * y,
                    Div => x / y,
                    Mod => x % y,
                }),
                _ => Value::Null,
            },
            Some(KustoType::Long | KustoType::Int) => {
                let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) else {
                    return Value::Null;
                };
                let result = match op {
                    Add => Some(x.wrapping_add(y)),
                    Sub => Some(x.wrapping_sub(y)),
                    Mul => Some(x.wrapping_mul(y)),
                    Div => (y != 0).then(|| x.wrapping_div(y)),
                    Mod => (y != 0).then(|| x.wrapping_rem(y)),
                };
                match (result, ty) {
                    // Both sides are ints: 32-bit wrapping arithmetic.
                    (Some(r), Some(KustoType::Int)) => Value::Int(r as i32),
                    (Some(r), _) => Value::Long(r),
                    (None, _) => Value::Null,
                }
            }
            _ => Value::Null,
        },
    }
}

pub(super) fn category(t: KustoType) -> u8 {
    match t {
        KustoType::Int | KustoType::Long | KustoType::Real | KustoType::Decimal => 0,
        KustoType::Dynamic => 255,
        other => other as u8 + 1,
    }
}
