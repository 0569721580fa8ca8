//! Dynamic arrays: `array_slice`, `array_shift_left`/`right`, `array_rotate_left`/`right`,
//! `array_reverse`, `array_sort_asc`/`desc`, `array_sum`, `array_index_of`, `array_iff`/
//! `array_iif`, `array_split`, `zip`, `repeat`, `jaccard_index`.
//!
//! A first argument that is not an array gives null, as the documentation says of each.

use std::cmp::Ordering;

use serde_json::Value as Json;

use super::params;
use super::{ANY, BOOL, DYNAMIC, INTEGER, Registry, Ret, SCALAR, int_arg, opt, p};
use crate::kql::scalar::undynamic;
use crate::value::{KustoType, Value};

/// The elements of an array argument.
pub(crate) fn items(v: &Value) -> Option<&Vec<Json>> {
    match v {
        Value::Dynamic(Json::Array(a)) => Some(a),
        _ => None,
    }
}

pub(crate) fn array(items: Vec<Json>) -> Value {
    Value::Dynamic(Json::Array(items))
}

/// Two JSON values are the same element (numbers by value: `1` and `1.0` are one element).
pub(crate) fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// An index that may count from the end (`-1` is the last element), clamped to `0..=len`.
fn from_end(i: i64, len: usize) -> i64 {
    if i < 0 { i + len as i64 } else { i }
}

fn slice(a: &[Value]) -> Value {
    let (Some(xs), Some(start), Some(end)) = (items(&a[0]), int_arg(&a[1]), int_arg(&a[2])) else {
        return Value::Null;
    };
    let len = xs.len();
    let start = from_end(start, len).max(0);
    let end = from_end(end, len).min(len as i64 - 1);
    if start > end {
        return array(Vec::new());
    }
    array(xs[start as usize..=end as usize].to_vec())
}

/// Shifts left by `n` (right when negative), filling with `fill` (null by default).
fn shift(a: &[Value], left: bool) -> Value {
    let (Some(xs), Some(n)) = (items(&a[0]), int_arg(&a[1])) else {
        return Value::Null;
    };
    let fill = a.get(2).map_or(Json::Null, Value::to_json);
    let len = xs.len() as i64;
    let n = if left { n } else { n.saturating_neg() };
    let out = (0..len)
        .map(|i| match i.checked_add(n) {
            Some(src) if (0..len).contains(&src) => xs[src as usize].clone(),
            _ => fill.clone(),
        })
        .collect();
    array(out)
}

fn rotate(a: &[Value], left: bool) -> Value {
    let (Some(xs), Some(n)) = (items(&a[0]), int_arg(&a[1])) else {
        return Value::Null;
    };
    let mut out = xs.clone();
    if !out.is_empty() {
        let len = out.len() as i64;
        let k = n.rem_euclid(len);
        let k = (if left { k } else { (len - k) % len }) as usize;
        out.rotate_left(k);
    }
    array(out)
}

/// The rank of an element's kind in a sort: numbers, then strings, then everything else.
fn kind_rank(j: &Json) -> u8 {
    match j {
        Json::Number(_) => 0,
        Json::String(_) => 1,
        Json::Bool(_) => 2,
        Json::Array(_) | Json::Object(_) => 3,
        Json::Null => 4,
    }
}

fn element_cmp(x: &Json, y: &Json) -> Ordering {
    match (x, y) {
        (Json::Number(a), Json::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => a
                .as_f64()
                .unwrap_or(f64::NAN)
                .total_cmp(&b.as_f64().unwrap_or(f64::NAN)),
        },
        (Json::String(a), Json::String(b)) => a.cmp(b),
        (Json::Bool(a), Json::Bool(b)) => a.cmp(b),
        _ => kind_rank(x)
            .cmp(&kind_rank(y))
            .then_with(|| x.to_string().cmp(&y.to_string())),
    }
}

fn sort(a: &[Value], descending: bool) -> Value {
    let Some(xs) = items(&a[0]) else {
        return Value::Null;
    };
    let nulls_last = match a.get(1) {
        Some(Value::Bool(b)) => *b,
        _ => true,
    };
    let (mut nulls, mut rest): (Vec<Json>, Vec<Json>) = xs.iter().cloned().partition(Json::is_null);
    rest.sort_by(|x, y| {
        let o = element_cmp(x, y);
        if descending { o.reverse() } else { o }
    });
    let out = if nulls_last {
        rest.append(&mut nulls);
        rest
    } else {
        nulls.append(&mut rest);
        nulls
    };
    array(out)
}

fn sum(a: &[Value]) -> Value {
    let Some(xs) = items(&a[0]) else {
        return Value::Null;
    };
    let mut total = 0.0;
    for x in xs {
        match x {
            Json::Number(n) => total += n.as_f64().unwrap_or(0.0),
            Json::Null => {}
            _ => return Value::Null,
        }
    }
    Value::Real(total)
}

/// `array_index_of(array, value [, start [, length [, occurrence]]])`.
fn index_of(a: &[Value]) -> Value {
    let Some(xs) = items(&a[0]) else {
        return Value::Null;
    };
    if a[1].is_null() {
        return Value::Null;
    }
    let len = xs.len() as i64;
    let start = match a.get(2) {
        Some(v) if !v.is_null() => match int_arg(v) {
            Some(s) => from_end(s, xs.len()),
            None => return Value::Null,
        },
        _ => 0,
    };
    if start < 0 || start > len {
        return Value::Null;
    }
    let length = match a.get(3).and_then(int_arg) {
        Some(l) if l >= 0 => l,
        _ => len - start,
    };
    let occurrence = a.get(4).and_then(int_arg).unwrap_or(1);
    if occurrence == 0 {
        return Value::Null;
    }
    let end = start.saturating_add(length).min(len);
    let want = a[1].to_json();
    let mut hits: Vec<i64> = (start..end)
        .filter(|i| same(&xs[*i as usize], &want))
        .collect();
    if occurrence < 0 {
        hits.reverse();
    }
    let nth = occurrence.unsigned_abs() as usize - 1;
    Value::Long(hits.get(nth).copied().unwrap_or(-1))
}

/// `array_iff(conditions, when_true, when_false)`: each branch an array (element-wise) or a
/// scalar.
fn array_iff(a: &[Value]) -> Value {
    let Some(cs) = items(&a[0]) else {
        return Value::Null;
    };
    let pick = |v: &Value, i: usize| match v {
        Value::Dynamic(Json::Array(xs)) => xs.get(i).cloned().unwrap_or(Json::Null),
        other => other.to_json(),
    };
    let out = cs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let truth = match c {
                Json::Bool(b) => Some(*b),
                Json::Number(n) => n.as_f64().map(|x| x != 0.0),
                _ => None,
            };
            match truth {
                Some(true) => pick(&a[1], i),
                Some(false) => pick(&a[2], i),
                None => Json::Null,
            }
        })
        .collect();
    array(out)
}

/// `array_split(array, indices)`: splits before each index (a long or an array of longs).
fn split(a: &[Value]) -> Value {
    let Some(xs) = items(&a[0]) else {
        return Value::Null;
    };
    let len = xs.len();
    let raw: Vec<i64> = match &a[1] {
        Value::Dynamic(Json::Array(is)) => {
            let mut out = Vec::new();
            for i in is {
                match i.as_i64() {
                    Some(n) => out.push(n),
                    None => return Value::Null,
                }
            }
            out
        }
        other => match int_arg(other) {
            Some(n) => vec![n],
            None => return Value::Null,
        },
    };
    let mut cuts: Vec<usize> = raw
        .into_iter()
        .map(|i| from_end(i, len).clamp(0, len as i64) as usize)
        .collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for c in cuts {
        let c = c.max(from);
        out.push(Json::Array(xs[from..c].to_vec()));
        from = c;
    }
    out.push(Json::Array(xs[from..].to_vec()));
    array(out)
}

fn zip(a: &[Value]) -> Value {
    let mut arrays = Vec::new();
    for v in a {
        match items(v) {
            Some(xs) => arrays.push(xs),
            None => return Value::Null,
        }
    }
    let longest = arrays.iter().map(|x| x.len()).max().unwrap_or(0);
    let out = (0..longest)
        .map(|i| {
            Json::Array(
                arrays
                    .iter()
                    .map(|xs| xs.get(i).cloned().unwrap_or(Json::Null))
                    .collect(),
            )
        })
        .collect();
    array(out)
}

/// The distinct elements of an array, in order of first appearance.
pub(crate) fn distinct(xs: &[Json]) -> Vec<Json> {
    let mut out: Vec<Json> = Vec::new();
    for x in xs {
        if !out.iter().any(|y| same(x, y)) {
            out.push(x.clone());
        }
    }
    out
}

fn jaccard(a: &[Value]) -> Value {
    let (Some(x), Some(y)) = (items(&a[0]), items(&a[1])) else {
        return Value::Null;
    };
    let (x, y) = (distinct(x), distinct(y));
    let common = x.iter().filter(|e| y.iter().any(|f| same(e, f))).count();
    let union = x.len() + y.len() - common;
    if union == 0 {
        return Value::Real(f64::NAN);
    }
    Value::Real(common as f64 / union as f64)
}

fn dyn_ret(_: &[KustoType]) -> Result<KustoType, String> {
    Ok(KustoType::Dynamic)
}

pub(super) fn register(r: &mut Registry) {
    const DYN: Ret = Ret::Fixed(KustoType::Dynamic);
    r.add(
        "array_slice",
        params![p("array", DYNAMIC), p("start", INTEGER), p("end", INTEGER)],
        DYN,
        |a, _| slice(a),
    );
    r.add(
        "array_shift_left",
        params![
            p("array", DYNAMIC),
            p("shift_count", INTEGER),
            opt("default_value", SCALAR)
        ],
        DYN,
        |a, _| shift(a, true),
    )
    .handles_nulls();
    r.add(
        "array_shift_right",
        params![
            p("array", DYNAMIC),
            p("shift_count", INTEGER),
            opt("default_value", SCALAR)
        ],
        DYN,
        |a, _| shift(a, false),
    )
    .handles_nulls();
    r.add(
        "array_rotate_left",
        params![p("array", DYNAMIC), p("rotate_count", INTEGER)],
        DYN,
        |a, _| rotate(a, true),
    );
    r.add(
        "array_rotate_right",
        params![p("array", DYNAMIC), p("rotate_count", INTEGER)],
        DYN,
        |a, _| rotate(a, false),
    );
    r.add(
        "array_reverse",
        params![p("array", DYNAMIC)],
        DYN,
        |a, _| items(&a[0]).map_or(Value::Null, |xs| array(xs.iter().rev().cloned().collect())),
    );
    r.add(
        "array_sort_asc",
        params![p("array", DYNAMIC), opt("nulls_last", BOOL)],
        DYN,
        |a, _| sort(a, false),
    )
    .handles_nulls();
    r.add(
        "array_sort_desc",
        params![p("array", DYNAMIC), opt("nulls_last", BOOL)],
        DYN,
        |a, _| sort(a, true),
    )
    .handles_nulls();
    r.add(
        "array_sum",
        params![p("array", DYNAMIC)],
        Ret::Fixed(KustoType::Real),
        |a, _| sum(a),
    );
    r.add(
        "array_index_of",
        params![
            p("array", DYNAMIC),
            p("value", SCALAR),
            opt("start", INTEGER),
            opt("length", INTEGER),
            opt("occurrence", INTEGER)
        ],
        Ret::Fixed(KustoType::Long),
        |a, _| index_of(a),
    )
    .handles_nulls();
    for name in ["array_iff", "array_iif"] {
        r.add(
            name,
            params![
                p("condition_array", DYNAMIC),
                p("when_true", ANY),
                p("when_false", ANY)
            ],
            DYN,
            |a, _| array_iff(a),
        )
        .handles_nulls();
    }
    r.add(
        "array_split",
        params![p("array", DYNAMIC), p("indices", INTEGER.or(DYNAMIC))],
        DYN,
        |a, _| split(a),
    );
    r.add(
        "zip",
        params![p("array", DYNAMIC), p("array", DYNAMIC)],
        Ret::Custom(dyn_ret),
        |a, _| zip(a),
    )
    .variadic();
    r.add(
        "repeat",
        params![p("value", SCALAR), p("count", INTEGER)],
        DYN,
        |a, _| match int_arg(&a[1]) {
            Some(n) if n >= 0 => {
                let v = undynamic(&a[0]).to_json();
                let n = usize::try_from(n.min(1_000_000)).unwrap_or(0);
                array(vec![v; n])
            }
            _ => Value::Null,
        },
    )
    .handles_nulls();
    r.add(
        "jaccard_index",
        params![p("set1", DYNAMIC), p("set2", DYNAMIC)],
        Ret::Fixed(KustoType::Real),
        |a, _| jaccard(a),
    );
}
