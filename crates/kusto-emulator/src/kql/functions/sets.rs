//! Sets over dynamic arrays: `set_union`, `set_intersect`, `set_difference`,
//! `set_has_element`. Results hold distinct elements in the order they first appear; numbers
//! are compared by value.

use serde_json::Value as Json;

use super::arrays::{array, distinct, items, same};
use super::params;
use super::{DYNAMIC, Registry, Ret, SCALAR, p};
use crate::value::{KustoType, Value};

/// The arrays of the arguments, or `None` when one is not an array.
fn arrays(a: &[Value]) -> Option<Vec<&Vec<Json>>> {
    a.iter().map(items).collect()
}

fn union(a: &[Value]) -> Value {
    let Some(xs) = arrays(a) else {
        return Value::Null;
    };
    let all: Vec<Json> = xs.into_iter().flatten().cloned().collect();
    array(distinct(&all))
}

fn intersect(a: &[Value]) -> Value {
    let Some(xs) = arrays(a) else {
        return Value::Null;
    };
    let Some((first, rest)) = xs.split_first() else {
        return Value::Null;
    };
    let out = distinct(first)
        .into_iter()
        .filter(|e| rest.iter().all(|other| other.iter().any(|f| same(e, f))))
        .collect();
    array(out)
}

fn difference(a: &[Value]) -> Value {
    let Some(xs) = arrays(a) else {
        return Value::Null;
    };
    let Some((first, rest)) = xs.split_first() else {
        return Value::Null;
    };
    let out = distinct(first)
        .into_iter()
        .filter(|e| !rest.iter().any(|other| other.iter().any(|f| same(e, f))))
        .collect();
    array(out)
}

pub(super) fn register(r: &mut Registry) {
    const SETS: &[super::Param] = params![p("set1", DYNAMIC), p("set2", DYNAMIC)];
    const DYN: Ret = Ret::Fixed(KustoType::Dynamic);
    r.add("set_union", SETS, DYN, |a, _| union(a)).variadic();
    r.add("set_intersect", SETS, DYN, |a, _| intersect(a))
        .variadic();
    r.add("set_difference", SETS, DYN, |a, _| difference(a))
        .variadic();
    r.add(
        "set_has_element",
        params![p("set", DYNAMIC), p("value", SCALAR)],
        Ret::Fixed(KustoType::Bool),
        |a, _| match items(&a[0]) {
            Some(xs) => {
                let want = a[1].to_json();
                Value::Bool(xs.iter().any(|x| same(x, &want)))
            }
            None => Value::Null,
        },
    );
}
