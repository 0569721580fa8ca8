//! More numbers: trigonometry (`sin`, `cos`, `tan`, `asin`, `acos`, `atan`, `atan2`, `cot`),
//! `degrees`, `radians`, `gamma`, `loggamma`, `erf`, `erfc`, `rand`, and the beta distribution (`beta_cdf`,
//! `beta_pdf`, `beta_inv`), `welch_test`. The special functions come from the `libm` crate; the
//! distribution's incomplete beta function is computed with its continued fraction.

use super::params;
use super::{INTEGER, NUMBER, Registry, Ret, p, real_arg};
use crate::value::{KustoType, Value};

fn real1(v: &Value, f: fn(f64) -> f64) -> Value {
    real_arg(v).map_or(Value::Null, |x| Value::Real(f(x)))
}

/// A real result, null when it is not a number (the functions whose documentation says the
/// result is null outside their domain).
fn real_or_null(x: f64) -> Value {
    if x.is_nan() {
        Value::Null
    } else {
        Value::Real(x)
    }
}

/// The regularized incomplete beta function I_x(a, b) (Numerical Recipes' continued fraction,
/// evaluated with the modified Lentz method).
pub(super) fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The arguments of the beta functions: `(x, alpha, beta)` as reals, `None` when one is not a
/// number or alpha/beta are not positive (the documented null result).
fn beta_args(a: &[Value]) -> Option<(f64, f64, f64)> {
    let (x, al, be) = (real_arg(&a[0])?, real_arg(&a[1])?, real_arg(&a[2])?);
    (al > 0.0 && be > 0.0 && x.is_finite() && al.is_finite() && be.is_finite())
        .then_some((x, al, be))
}

/// The inverse of the regularized incomplete beta function, by bisection.
fn inv_beta(p: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if inc_beta(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

pub(super) fn register(r: &mut Registry) {
    let trig: [(&'static str, super::Impl); 7] = [
        ("sin", |a, _| real1(&a[0], f64::sin)),
        ("cos", |a, _| real1(&a[0], f64::cos)),
        ("tan", |a, _| real1(&a[0], f64::tan)),
        ("asin", |a, _| {
            real_arg(&a[0]).map_or(Value::Null, |x| real_or_null(x.asin()))
        }),
        ("acos", |a, _| {
            real_arg(&a[0]).map_or(Value::Null, |x| real_or_null(x.acos()))
        }),
        ("atan", |a, _| real1(&a[0], f64::atan)),
        ("cot", |a, _| real1(&a[0], |x| 1.0 / x.tan())),
    ];
    for (name, f) in trig {
        r.add(
            name,
            params![p("x", NUMBER)],
            Ret::Fixed(KustoType::Real),
            f,
        );
    }
    r.add(
        "atan2",
        params![p("y", NUMBER), p("x", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| match (real_arg(&a[0]), real_arg(&a[1])) {
            (Some(y), Some(x)) => Value::Real(y.atan2(x)),
            _ => Value::Null,
        },
    );
    r.add(
        "degrees",
        params![p("radians", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| real1(&a[0], f64::to_degrees),
    );
    r.add(
        "radians",
        params![p("degrees", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| real1(&a[0], f64::to_radians),
    );
    r.add(
        "gamma",
        params![p("number", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| real1(&a[0], libm::tgamma),
    );
    r.add(
        "loggamma",
        params![p("number", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| real1(&a[0], libm::lgamma),
    );
    r.add(
        "erf",
        params![p("x", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| real1(&a[0], libm::erf),
    );
    r.add(
        "erfc",
        params![p("x", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| real1(&a[0], libm::erfc),
    );
    // rand(): a real in [0, 1); rand(n): a long in [0, n - 1] (n from 2 up).
    r.add("rand", params![], Ret::Fixed(KustoType::Real), |_, _| {
        Value::Real(rand::random::<f64>())
    })
    .volatile();
    r.add(
        "rand",
        params![p("range", INTEGER)],
        Ret::Fixed(KustoType::Long),
        |a, _| match a.first().and_then(super::int_arg) {
            Some(n) if n >= 1 => Value::Long(rand::random_range(0..n)),
            _ => Value::Null,
        },
    )
    .volatile();
    // welch_test(mean1, variance1, count1, mean2, variance2, count2): the two-sided p-value of
    // Welch's t-test (Student's t distribution through the incomplete beta function).
    r.add(
        "welch_test",
        params![
            p("mean1", NUMBER),
            p("variance1", NUMBER),
            p("count1", NUMBER),
            p("mean2", NUMBER),
            p("variance2", NUMBER),
            p("count2", NUMBER)
        ],
        Ret::Fixed(KustoType::Real),
        |a, _| {
            let v: Option<Vec<f64>> = a.iter().map(real_arg).collect();
            let Some(v) = v else {
                return Value::Null;
            };
            let (m1, v1, c1, m2, v2, c2) = (v[0], v[1], v[2], v[3], v[4], v[5]);
            if c1 < 2.0 || c2 < 2.0 || v1 < 0.0 || v2 < 0.0 {
                return Value::Null;
            }
            let (s1, s2) = (v1 / c1, v2 / c2);
            let t = (m1 - m2) / (s1 + s2).sqrt();
            let df = (s1 + s2).powi(2) / (s1 * s1 / (c1 - 1.0) + s2 * s2 / (c2 - 1.0));
            if !t.is_finite() || !df.is_finite() {
                return Value::Null;
            }
            Value::Real(inc_beta(df / (df + t * t), df / 2.0, 0.5))
        },
    );
    // The beta distribution: arguments outside the domain (x outside [0, 1], alpha or beta not
    // positive) give NaN; a probability outside [0, 1] for beta_inv gives null.
    r.add(
        "beta_cdf",
        params![p("x", NUMBER), p("alpha", NUMBER), p("beta", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| match beta_args(a) {
            Some((x, al, be)) if (0.0..=1.0).contains(&x) => Value::Real(inc_beta(x, al, be)),
            _ => Value::Real(f64::NAN),
        },
    );
    r.add(
        "beta_pdf",
        params![p("x", NUMBER), p("alpha", NUMBER), p("beta", NUMBER)],
        Ret::Fixed(KustoType::Real),
        |a, _| match beta_args(a) {
            Some((x, al, be)) if (0.0..=1.0).contains(&x) => {
                let ln = (al - 1.0) * x.ln() + (be - 1.0) * (1.0 - x).ln() + libm::lgamma(al + be)
                    - libm::lgamma(al)
                    - libm::lgamma(be);
                Value::Real(ln.exp())
            }
            _ => Value::Real(f64::NAN),
        },
    );
    r.add(
        "beta_inv",
        params![
            p("probability", NUMBER),
            p("alpha", NUMBER),
            p("beta", NUMBER)
        ],
        Ret::Fixed(KustoType::Real),
        |a, _| match (real_arg(&a[0]), beta_args(a)) {
            (Some(p), _) if !(0.0..=1.0).contains(&p) => Value::Null,
            (_, Some((p, al, be))) => Value::Real(inv_beta(p, al, be)),
            _ => Value::Real(f64::NAN),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_beta_matches_known_values() {
        // I_x(1, 1) = x; I_x(2, 2) = 3x^2 - 2x^3.
        assert!((inc_beta(0.3, 1.0, 1.0) - 0.3).abs() < 1e-12);
        let x: f64 = 0.4;
        assert!((inc_beta(x, 2.0, 2.0) - (3.0 * x * x - 2.0 * x.powi(3))).abs() < 1e-12);
        // The inverse gives back the probability.
        let p = inc_beta(0.2, 10.0, 20.0);
        assert!((inv_beta(p, 10.0, 20.0) - 0.2).abs() < 1e-9);
    }
}
