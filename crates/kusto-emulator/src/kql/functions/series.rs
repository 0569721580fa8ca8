//! Series functions over the numeric arrays that `make-series` produces: element-wise
//! arithmetic and comparisons (`series_add`, ..., `series_greater`, ...), element-wise math
//! (`series_abs`, `series_sin`, ...), aggregates of one series (`series_sum`,
//! `series_magnitude`, `series_stats_dynamic`; the line fits are in series_fit.rs), of two
//! (`series_dot_product`, `series_cosine_similarity`, `series_pearson_correlation`), gap filling
//! (`series_fill_backward`, `series_fill_forward`, `series_fill_const`, `series_fill_linear`)
//! and filters (`series_fir`, `series_iir`).
//!
//! A non-numeric element, or an element missing because the arrays differ in length, gives a
//! null element; a scalar argument applies to every element.

use serde_json::{Map, Value as Json};

use super::arrays::{array, items};
use super::params;
use super::{BOOL, DYNAMIC, NUMBER, Registry, Ret, opt, p, real_arg};
use crate::value::{KustoType, Value};

/// An element as a number: whole numbers kept whole.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Real(f64),
}

impl Num {
    fn real(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Real(r) => r,
        }
    }
}

fn num(j: &Json) -> Option<Num> {
    match j {
        Json::Number(n) => n
            .as_i64()
            .map(Num::Int)
            .or_else(|| n.as_f64().map(Num::Real)),
        _ => None,
    }
}

pub(super) fn real_json(x: f64) -> Json {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

/// An argument as a series: an array's elements, or a scalar repeated (`None` for length).
enum Arg<'a> {
    Series(&'a [Json]),
    Scalar(Option<Num>),
}

fn arg(v: &Value) -> Option<Arg<'_>> {
    match v {
        Value::Dynamic(Json::Array(xs)) => Some(Arg::Series(xs)),
        Value::Dynamic(_) => None,
        other => Some(Arg::Scalar(match other {
            Value::Int(_) | Value::Long(_) => super::int_arg(other).map(Num::Int),
            _ => real_arg(other).map(Num::Real),
        })),
    }
}

/// Applies `f` element-wise to two arguments (one of them a series).
fn zip_with(a: &[Value], f: impl Fn(Num, Num) -> Json) -> Value {
    let (Some(x), Some(y)) = (arg(&a[0]), arg(&a[1])) else {
        return Value::Null;
    };
    let len = match (&x, &y) {
        (Arg::Series(p), Arg::Series(q)) => p.len().max(q.len()),
        (Arg::Series(p), _) | (_, Arg::Series(p)) => p.len(),
        _ => return Value::Null,
    };
    let at = |s: &Arg<'_>, i: usize| match s {
        Arg::Series(xs) => xs.get(i).and_then(num),
        Arg::Scalar(n) => *n,
    };
    let out = (0..len)
        .map(|i| match (at(&x, i), at(&y, i)) {
            (Some(p), Some(q)) => f(p, q),
            _ => Json::Null,
        })
        .collect();
    array(out)
}

fn arith(p: Num, q: Num, int: fn(i64, i64) -> Option<i64>, real: fn(f64, f64) -> f64) -> Json {
    match (p, q) {
        (Num::Int(x), Num::Int(y)) => int(x, y).map_or(Json::Null, Json::from),
        _ => real_json(real(p.real(), q.real())),
    }
}

fn map(a: &[Value], f: fn(f64) -> f64) -> Value {
    let Some(xs) = items(&a[0]) else {
        return Value::Null;
    };
    array(
        xs.iter()
            .map(|x| num(x).map_or(Json::Null, |n| real_json(f(n.real()))))
            .collect(),
    )
}

/// The numeric elements of a series argument (non-numbers skipped).
fn values(v: &Value) -> Option<Vec<f64>> {
    items(v).map(|xs| xs.iter().filter_map(num).map(Num::real).collect())
}

/// `series_stats_dynamic`: min, min_idx, max, max_idx, avg, stdev, variance (sample, over
/// n - 1; 0 for one value), sum and len (the input array's length). A non-finite element (null,
/// not a number) makes every statistic but len null unless `ignore_nonfinite`, which leaves
/// such elements out; with no values left, the statistics are null too.
fn stats(xs: &[Json], ignore_nonfinite: bool) -> Json {
    let mut vals: Vec<(usize, f64)> = Vec::new();
    let mut nonfinite = false;
    for (i, x) in xs.iter().enumerate() {
        match num(x).map(Num::real) {
            Some(r) if r.is_finite() => vals.push((i, r)),
            _ => nonfinite = true,
        }
    }
    let mut bag = Map::new();
    if vals.is_empty() || nonfinite && !ignore_nonfinite {
        for k in [
            "min", "min_idx", "max", "max_idx", "avg", "stdev", "variance", "sum",
        ] {
            bag.insert(k.into(), Json::Null);
        }
        bag.insert("len".into(), Json::from(xs.len()));
        return Json::Object(bag);
    }
    let (mut min, mut max) = (vals[0], vals[0]);
    for v in &vals {
        if v.1 < min.1 {
            min = *v;
        }
        if v.1 > max.1 {
            max = *v;
        }
    }
    let n = vals.len() as f64;
    let sum = vals.iter().map(|v| v.1).sum::<f64>();
    let avg = sum / n;
    // Sample variance from sums of the values shifted by the first one (less cancellation than
    // raw sums of squares; exact sums for whole numbers, which gives the documented example's
    // 812.45714285714291 where two passes over the mean are one unit in the last place off).
    let shift = vals[0].1;
    let (d, dd) = vals.iter().fold((0.0, 0.0), |(d, dd), v| {
        let x = v.1 - shift;
        (d + x, dd + x * x)
    });
    let variance = if vals.len() > 1 {
        ((n * dd - d * d) / (n * (n - 1.0))).max(0.0)
    } else {
        0.0
    };
    bag.insert("min".into(), real_json(min.1));
    bag.insert("min_idx".into(), Json::from(min.0));
    bag.insert("max".into(), real_json(max.1));
    bag.insert("max_idx".into(), Json::from(max.0));
    bag.insert("avg".into(), real_json(avg));
    bag.insert("stdev".into(), real_json(variance.sqrt()));
    bag.insert("variance".into(), real_json(variance));
    bag.insert("sum".into(), real_json(sum));
    bag.insert("len".into(), Json::from(xs.len()));
    Json::Object(bag)
}

/// Whether an element is "missing": null by default, or equal to the placeholder given.
fn missing(x: &Json, placeholder: &Value) -> bool {
    match placeholder {
        Value::Null => x.is_null(),
        p => match (num(x), real_arg(p)) {
            (Some(n), Some(q)) => n.real() == q || n.real().is_nan() && q.is_nan(),
            _ => false,
        },
    }
}

fn fill_forward(xs: &[Json], placeholder: &Value) -> Vec<Json> {
    let mut last: Option<Json> = None;
    xs.iter()
        .map(|x| {
            if missing(x, placeholder) {
                last.clone().unwrap_or_else(|| x.clone())
            } else {
                last = Some(x.clone());
                x.clone()
            }
        })
        .collect()
}

fn fill_backward(xs: &[Json], placeholder: &Value) -> Vec<Json> {
    let mut reversed: Vec<Json> = xs.iter().rev().cloned().collect();
    reversed = fill_forward(&reversed, placeholder);
    reversed.reverse();
    reversed
}

/// Linear interpolation between the known neighbours of each missing element; the edges take
/// the nearest known value when `fill_edges`; a series with no known value becomes
/// `constant` when one is given. Whole-number series stay whole (interpolated values
/// truncated).
fn fill_linear(xs: &[Json], placeholder: &Value, fill_edges: bool, constant: &Value) -> Vec<Json> {
    let known: Vec<(usize, Num)> = xs
        .iter()
        .enumerate()
        .filter(|(_, x)| !missing(x, placeholder))
        .filter_map(|(i, x)| num(x).map(|n| (i, n)))
        .collect();
    if known.is_empty() {
        let c = match constant {
            Value::Null => return xs.to_vec(),
            v => v.to_json(),
        };
        return xs.iter().map(|_| c.clone()).collect();
    }
    let all_int = known.iter().all(|(_, n)| matches!(n, Num::Int(_)));
    let emit = |r: f64| {
        if all_int {
            Json::from(r.trunc() as i64)
        } else {
            real_json(r)
        }
    };
    let mut out = xs.to_vec();
    for (i, slot) in out.iter_mut().enumerate() {
        if !missing(&xs[i], placeholder) {
            continue;
        }
        let before = known.iter().rev().find(|(k, _)| *k < i);
        let after = known.iter().find(|(k, _)| *k > i);
        *slot = match (before, after) {
            (Some((i0, v0)), Some((i1, v1))) => {
                let t = (i - i0) as f64 / (i1 - i0) as f64;
                emit(v0.real() + (v1.real() - v0.real()) * t)
            }
            (Some((_, v)), None) | (None, Some((_, v))) if fill_edges => emit(v.real()),
            _ => xs[i].clone(),
        };
    }
    out
}

/// `series_fir(series, filter [, normalize [, center]])`.
fn fir(a: &[Value]) -> Value {
    let (Some(xs), Some(filter)) = (items(&a[0]), values(&a[1])) else {
        return Value::Null;
    };
    if filter.is_empty() {
        return Value::Null;
    }
    let sum: f64 = filter.iter().sum();
    let normalize = match a.get(2) {
        Some(Value::Bool(b)) => *b,
        _ => sum != 0.0,
    };
    let center = matches!(a.get(3), Some(Value::Bool(true)));
    let k = filter.len();
    let shift = if center { (k - 1) / 2 } else { 0 };
    let out = (0..xs.len())
        .map(|i| {
            let mut acc = 0.0;
            for (j, c) in filter.iter().enumerate() {
                // y[i] = sum c[j] * x[i + shift - j]
                let idx = i as i64 + shift as i64 - j as i64;
                if idx < 0 || idx as usize >= xs.len() {
                    continue;
                }
                match num(&xs[idx as usize]) {
                    Some(n) => acc += c * n.real(),
                    None => return Json::Null,
                }
            }
            real_json(if normalize && sum != 0.0 {
                acc / sum
            } else {
                acc
            })
        })
        .collect();
    array(out)
}

/// `series_iir(series, numerators, denominators)`: y[i] = (sum b[j] x[i-j] - sum_{j>0} a[j]
/// y[i-j]) / a[0].
fn iir(a: &[Value]) -> Value {
    let (Some(xs), Some(b), Some(den)) = (items(&a[0]), values(&a[1]), values(&a[2])) else {
        return Value::Null;
    };
    let Some(&a0) = den.first() else {
        return Value::Null;
    };
    if a0 == 0.0 {
        return Value::Null;
    }
    let x: Vec<f64> = xs.iter().map(|v| num(v).map_or(0.0, Num::real)).collect();
    let mut y: Vec<f64> = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let mut acc = 0.0;
        for (j, bj) in b.iter().enumerate() {
            if j <= i {
                acc += bj * x[i - j];
            }
        }
        for (j, aj) in den.iter().enumerate().skip(1) {
            if j <= i {
                acc -= aj * y[i - j];
            }
        }
        y.push(acc / a0);
    }
    array(y.into_iter().map(real_json).collect())
}

fn pair(a: &[Value]) -> Option<(Vec<f64>, Vec<f64>)> {
    let (x, y) = (items(&a[0])?, items(&a[1])?);
    let n = x.len().min(y.len());
    let mut p = Vec::with_capacity(n);
    let mut q = Vec::with_capacity(n);
    for i in 0..n {
        if let (Some(u), Some(v)) = (num(&x[i]), num(&y[i])) {
            p.push(u.real());
            q.push(v.real());
        }
    }
    Some((p, q))
}

fn dot(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).map(|(a, b)| a * b).sum()
}

pub(super) fn register(r: &mut Registry) {
    super::series_fit::register(r);
    const DYN: Ret = Ret::Fixed(KustoType::Dynamic);
    const TWO: &[super::Param] = params![
        p("series1", DYNAMIC.or(NUMBER)),
        p("series2", DYNAMIC.or(NUMBER))
    ];
    let binary: [(&'static str, super::Impl); 11] = [
        ("series_add", |a, _| {
            zip_with(a, |p, q| arith(p, q, i64::checked_add, |x, y| x + y))
        }),
        ("series_subtract", |a, _| {
            zip_with(a, |p, q| arith(p, q, i64::checked_sub, |x, y| x - y))
        }),
        ("series_multiply", |a, _| {
            zip_with(a, |p, q| arith(p, q, i64::checked_mul, |x, y| x * y))
        }),
        ("series_divide", |a, _| {
            zip_with(a, |p, q| real_json(p.real() / q.real()))
        }),
        ("series_pow", |a, _| {
            zip_with(a, |p, q| real_json(p.real().powf(q.real())))
        }),
        ("series_greater", |a, _| {
            zip_with(a, |p, q| Json::Bool(p.real() > q.real()))
        }),
        ("series_greater_equals", |a, _| {
            zip_with(a, |p, q| Json::Bool(p.real() >= q.real()))
        }),
        ("series_less", |a, _| {
            zip_with(a, |p, q| Json::Bool(p.real() < q.real()))
        }),
        ("series_less_equals", |a, _| {
            zip_with(a, |p, q| Json::Bool(p.real() <= q.real()))
        }),
        ("series_equals", |a, _| {
            zip_with(a, |p, q| Json::Bool(p.real() == q.real()))
        }),
        ("series_not_equals", |a, _| {
            zip_with(a, |p, q| Json::Bool(p.real() != q.real()))
        }),
    ];
    for (name, f) in binary {
        r.add(name, TWO, DYN, f);
    }
    let unary: [(&'static str, super::Impl); 12] = [
        ("series_abs", |a, _| map(a, f64::abs)),
        ("series_acos", |a, _| map(a, f64::acos)),
        ("series_asin", |a, _| map(a, f64::asin)),
        ("series_atan", |a, _| map(a, f64::atan)),
        ("series_ceiling", |a, _| map(a, f64::ceil)),
        ("series_cos", |a, _| map(a, f64::cos)),
        ("series_exp", |a, _| map(a, f64::exp)),
        ("series_floor", |a, _| map(a, f64::floor)),
        ("series_log", |a, _| map(a, f64::ln)),
        ("series_sign", |a, _| {
            map(a, |x| if x == 0.0 { 0.0 } else { x.signum() })
        }),
        ("series_sin", |a, _| map(a, f64::sin)),
        ("series_tan", |a, _| map(a, f64::tan)),
    ];
    for (name, f) in unary {
        r.add(name, params![p("series", DYNAMIC)], DYN, f);
    }
    r.add(
        "series_sum",
        params![p("series", DYNAMIC)],
        Ret::Fixed(KustoType::Real),
        |a, _| values(&a[0]).map_or(Value::Null, |v| Value::Real(v.iter().sum())),
    );
    r.add(
        "series_magnitude",
        params![p("series", DYNAMIC)],
        Ret::Fixed(KustoType::Real),
        |a, _| values(&a[0]).map_or(Value::Null, |v| Value::Real(dot(&v, &v).sqrt())),
    );
    r.add(
        "series_dot_product",
        params![p("series1", DYNAMIC), p("series2", DYNAMIC)],
        Ret::Fixed(KustoType::Real),
        |a, _| pair(a).map_or(Value::Null, |(p, q)| Value::Real(dot(&p, &q))),
    );
    r.add(
        "series_cosine_similarity",
        params![p("series1", DYNAMIC), p("series2", DYNAMIC)],
        Ret::Fixed(KustoType::Real),
        |a, _| {
            pair(a).map_or(Value::Null, |(p, q)| {
                Value::Real(dot(&p, &q) / (dot(&p, &p).sqrt() * dot(&q, &q).sqrt()))
            })
        },
    );
    r.add(
        "series_pearson_correlation",
        params![p("series1", DYNAMIC), p("series2", DYNAMIC)],
        Ret::Fixed(KustoType::Real),
        |a, _| {
            let Some((p, q)) = pair(a) else {
                return Value::Null;
            };
            let n = p.len() as f64;
            let (mp, mq) = (p.iter().sum::<f64>() / n, q.iter().sum::<f64>() / n);
            let cov: f64 = p.iter().zip(&q).map(|(x, y)| (x - mp) * (y - mq)).sum();
            let sp: f64 = p.iter().map(|x| (x - mp).powi(2)).sum::<f64>().sqrt();
            let sq: f64 = q.iter().map(|y| (y - mq).powi(2)).sum::<f64>().sqrt();
            Value::Real(cov / (sp * sq))
        },
    );
    r.add(
        "series_stats_dynamic",
        params![p("series", DYNAMIC), opt("ignore_nonfinite", BOOL)],
        DYN,
        |a, _| match items(&a[0]) {
            Some(xs) => Value::Dynamic(stats(xs, matches!(a.get(1), Some(Value::Bool(true))))),
            None => Value::Null,
        },
    );
    r.add(
        "series_fill_forward",
        params![
            p("series", DYNAMIC),
            opt("missing_value_placeholder", NUMBER)
        ],
        DYN,
        |a, _| {
            items(&a[0]).map_or(Value::Null, |xs| {
                array(fill_forward(xs, a.get(1).unwrap_or(&Value::Null)))
            })
        },
    )
    .handles_nulls();
    r.add(
        "series_fill_backward",
        params![
            p("series", DYNAMIC),
            opt("missing_value_placeholder", NUMBER)
        ],
        DYN,
        |a, _| {
            items(&a[0]).map_or(Value::Null, |xs| {
                array(fill_backward(xs, a.get(1).unwrap_or(&Value::Null)))
            })
        },
    )
    .handles_nulls();
    r.add(
        "series_fill_const",
        params![
            p("series", DYNAMIC),
            p("constant_value", NUMBER),
            opt("missing_value_placeholder", NUMBER)
        ],
        DYN,
        |a, _| {
            let Some(xs) = items(&a[0]) else {
                return Value::Null;
            };
            let c = a[1].to_json();
            let placeholder = a.get(2).unwrap_or(&Value::Null);
            array(
                xs.iter()
                    .map(|x| {
                        if missing(x, placeholder) {
                            c.clone()
                        } else {
                            x.clone()
                        }
                    })
                    .collect(),
            )
        },
    )
    .handles_nulls();
    r.add(
        "series_fill_linear",
        params![
            p("series", DYNAMIC),
            opt("missing_value_placeholder", NUMBER),
            opt("fill_edges", BOOL),
            opt("constant_value", NUMBER)
        ],
        DYN,
        |a, _| {
            let Some(xs) = items(&a[0]) else {
                return Value::Null;
            };
            let fill_edges = !matches!(a.get(2), Some(Value::Bool(false)));
            array(fill_linear(
                xs,
                a.get(1).unwrap_or(&Value::Null),
                fill_edges,
                a.get(3).unwrap_or(&Value::Null),
            ))
        },
    )
    .handles_nulls();
    r.add(
        "series_fir",
        params![
            p("series", DYNAMIC),
            p("filter", DYNAMIC),
            opt("normalize", BOOL),
            opt("center", BOOL)
        ],
        DYN,
        |a, _| fir(a),
    )
    .handles_nulls();
    r.add(
        "series_iir",
        params![
            p("series", DYNAMIC),
            p("numerators", DYNAMIC),
            p("denominators", DYNAMIC)
        ],
        DYN,
        |a, _| iir(a),
    );
}
