//! Numbers: `bin`/`floor` (also of datetimes and timespans), `bin_at`, `round`, `abs`,
//! `ceiling`, `sqrt`, `pow`, `exp`, `exp2`, `exp10`, `log`, `log2`, `log10`, `sign`, `pi`,
//! `isnan`, `isinf`, `isfinite`, `max_of`, `min_of`.

use std::cmp::Ordering;

use super::params;
use super::{
    DATETIME, INTEGER, NUMBER, REAL, Registry, Ret, SCALAR, TIMESPAN, Types, int_arg, p, real_arg,
};
use crate::kql::scalar::{compare, is_numeric, wider};
use crate::value::{KustoType, Value};

const BINNABLE: Types = NUMBER.or(DATETIME).or(TIMESPAN);

fn bin_type(t: &[KustoType]) -> Result<KustoType, String> {
    use KustoType::{DateTime, Int, Long, Real, TimeSpan};
    Ok(match (t[0], t.get(1).copied().unwrap_or(Long)) {
        (DateTime, TimeSpan) => DateTime,
        (TimeSpan, TimeSpan) => TimeSpan,
        (Int | Long, Int | Long) => Long,
        (a, b) if is_numeric(a) && is_numeric(b) => {
            if wider(a, b) == KustoType::Decimal {
                KustoType::Decimal
            } else {
                Real
            }
        }
        (a, b) => return Err(format!("bin(): cannot bin a {a} value by a {b} size")),
    })
}

/// `floor(value / size) * size` (relative to `at`).
fn bin_value(v: &Value, size: &Value, at: Option<&Value>) -> Value {
    match (v, size) {
        (Value::DateTime(t) | Value::TimeSpan(t), Value::TimeSpan(s)) => {
            if *s <= 0 {
                return Value::Null;
            }
            let base = match at {
                Some(Value::DateTime(b) | Value::TimeSpan(b)) => *b,
                _ => 0,
            };
            let binned = floor_to(*t, *s, base);
            if matches!(v, Value::DateTime(_)) {
                crate::kql::scalar::datetime_or_null(binned)
            } else {
                binned.map_or(Value::Null, Value::TimeSpan)
            }
        }
        _ => match (int_arg(v), int_arg(size)) {
            (Some(x), Some(s)) => {
                if s <= 0 {
                    return Value::Null;
                }
                let base = at.and_then(int_arg).unwrap_or(0);
                floor_to(x, s, base).map_or(Value::Null, Value::Long)
            }
            _ => match (real_arg(v), real_arg(size)) {
                (Some(x), Some(s)) if s > 0.0 => {
                    let base = at.and_then(real_arg).unwrap_or(0.0);
                    Value::Real(((x - base) / s).floor() * s + base)
                }
                _ => Value::Null,
            },
        },
    }
}

/// `floor((x - base) / size) * size + base`, null when it overflows.
fn floor_to(x: i64, size: i64, base: i64) -> Option<i64> {
    x.checked_sub(base)?
        .div_euclid(size)
        .checked_mul(size)?
        .checked_add(base)
}

fn unary_real(v: &Value, f: fn(f64) -> f64) -> Value {
    real_arg(v).map_or(Value::Null, |x| Value::Real(f(x)))
}

fn non_negative(v: &Value, f: fn(f64) -> f64) -> Value {
    match real_arg(v) {
        Some(x) if x >= 0.0 || x.is_nan() => Value::Real(f(x)),
        _ => Value::Null,
    }
}

fn extreme(a: &[Value], want: Ordering) -> Value {
    let mut best: Option<&Value> = None;
    for v in a.iter().filter(|v| !v.is_null()) {
        best = match best {
            Some(b) if compare(v, b) != Some(want) => Some(b),
            _ => Some(v),
        };
    }
    best.cloned().unwrap_or(Value::Null)
}

pub(super) fn register(r: &mut Registry) {
    for name in ["bin", "floor"] {
        r.add(
            name,
            params![p("value", BINNABLE), p("roundTo", NUMBER.or(TIMESPAN))],
            Ret::Custom(bin_type),
            |a, _| bin_value(&a[0], &a[1], None),
        )
        .named_after_first_arg();
    }
    r.add(
        "bin_at",
        params![
            p("value", BINNABLE),
            p("bin_size", NUMBER.or(TIMESPAN)),
            p("fixed_point", BINNABLE)
        ],
        Ret::Custom(bin_type),
        |a, _| bin_value(&a[0], &a[1], Some(&a[2])),
    )
    .named_after_first_arg();
    r.add(
        "round",
        params![p("number", NUMBER), super::opt("precision", INTEGER)],
        Ret::Custom(|t| {
            Ok(match t[0] {
                KustoType::Int | KustoType::Long => KustoType::Long,
                other => other,
            })
        }),
        |a, _| {
            let precision = a.get(1).and_then(int_arg).unwrap_or(0).clamp(-30, 30) as i32;
            match &a[0] {
                Value::Int(_) | Value::Long(_) if precision >= 0 => {
                    Value::Long(int_arg(&a[0]).unwrap_or(0))
                }
                v => match real_arg(v) {
                    Some(x) => {
                        let scale = 10f64.powi(precision);
                        let r = (x * scale).round() / scale;
                        match v {
                            Value::Int(_) | Value::Long(_) => Value::Long(r as i64),
                            Value::Decimal(_) => crate::value::Decimal::from_f64(r)
                                .map_or(Value::Null, Value::Decimal),
                            _ => Value::Real(r),
                        }
                    }
                    None => Value::Null,
                },
            }
        },
    );
    r.add(
        "abs",
        params![p("x", NUMBER.or(TIMESPAN))],
        Ret::Arg(0),
        |a, _| match &a[0] {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Long(l) => Value::Long(l.wrapping_abs()),
            Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_abs()),
            Value::Decimal(d) if d.signum() < 0 => Value::Decimal(d.neg()),
            v => unary_real(v, f64::abs),
        },
    );
    r.add(
        "ceiling",
        params![p("number", NUMBER)],
        Ret::Arg(0),
        |a, _| match &a[0] {
            Value::Int(_) | Value::Long(_) => a[0].clone(),
            v => unary_real(v, f64::ceil),
        },
    );
    let reals: [(&'static str, super::Impl); 7] = [
        // sqrt and the logarithms are null for a negative argument (documented).
        ("sqrt", |a, _| non_negative(&a[0], f64::sqrt)),
        ("exp", |a, _| unary_real(&a[0], f64::exp)),
        ("exp2", |a, _| unary_real(&a[0], f64::exp2)),
        ("exp10", |a, _| unary_real(&a[0], |x| 10f64.powf(x))),
        ("log", |a, _| non_negative(&a[0], f64::ln)),
        ("log2", |a, _| non_negative(&a[0], f64::log2)),
        ("log10", |a, _| non_negative(&a[0], f64::log10)),
    ];
    for (name, f) in reals {
        r.add(
            name,
            params![p("x", NUMBER)],
            Ret::Fixed(KustoType::Real),
            f,
        );
    }
    r.add(
        "pow",
        params![p("base", NUMBER), p("exponent", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| match (real_arg(&a[0]), real_arg(&a[1])) {
            (Some(x), Some(y)) => Value::Real(x.powf(y)),
            _ => Value::Null,
        },
    );
    r.add(
        "sign",
        params![p("x", NUMBER)],
        // A real whatever the argument's type (the parameter is documented as `real`; the
        // language service declares the result `real` too).
        Ret::Fixed(KustoType::Real),
        |a, _| unary_real(&a[0], |x| if x == 0.0 { 0.0 } else { x.signum() }),
    );
    r.add("pi", &[], Ret::Fixed(KustoType::Real), |_, _| {
        Value::Real(std::f64::consts::PI)
    });
    r.add(
        "isnan",
        params![p("x", REAL.or(NUMBER))],
        Ret::Fixed(KustoType::Bool),
        |a, _| Value::Bool(real_arg(&a[0]).is_some_and(f64::is_nan)),
    );
    r.add(
        "isinf",
        params![p("x", NUMBER)],
        Ret::Fixed(KustoType::Bool),
        |a, _| Value::Bool(real_arg(&a[0]).is_some_and(f64::is_infinite)),
    );
    r.add(
        "isfinite",
        params![p("x", NUMBER)],
        Ret::Fixed(KustoType::Bool),
        |a, _| Value::Bool(real_arg(&a[0]).is_some_and(f64::is_finite)),
    );
    for (name, want) in [("max_of", Ordering::Greater), ("min_of", Ordering::Less)] {
        let f: super::Impl = if want == Ordering::Greater {
            |a, _| extreme(a, Ordering::Greater)
        } else {
            |a, _| extreme(a, Ordering::Less)
        };
        r.add(
            name,
            params![p("arg", SCALAR), p("arg", SCALAR)],
            Ret::Custom(super::logic::common_type),
            f,
        )
        .handles_nulls()
        .variadic();
    }
}
