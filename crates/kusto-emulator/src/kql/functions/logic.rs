//! Nulls and choices: `isnull`, `isnotnull`, `isempty`, `isnotempty`, `not`, `iff`/`iif`,
//! `case`, `coalesce`.

use super::params;
use super::{ANY, BOOL, Registry, Ret, p};
use crate::kql::scalar::{is_numeric, wider};
use crate::value::{KustoType, Value};

fn empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Dynamic(serde_json::Value::String(s)) => s.is_empty(),
        other => other.is_null(),
    }
}

/// The common type of the values a choice can return: equal types, or numbers widened.
pub(crate) fn common_type(types: &[KustoType]) -> Result<KustoType, String> {
    let mut iter = types.iter().copied();
    let Some(mut t) = iter.next() else {
        return Err("no values".into());
    };
    for u in iter {
        if u == t {
            continue;
        }
        if is_numeric(t) && is_numeric(u) {
            t = wider(t, u);
        } else if t == KustoType::Dynamic || u == KustoType::Dynamic {
            t = KustoType::Dynamic;
        } else {
            return Err(format!(
                "all possible results must be of the same type (found {t} and {u})"
            ));
        }
    }
    Ok(t)
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || matches!(v, Value::Dynamic(serde_json::Value::Bool(true)))
}

pub(super) fn register(r: &mut Registry) {
    const ARG: &[super::Param] = params![p("value", ANY)];
    r.add("isnull", ARG, Ret::Fixed(KustoType::Bool), |a, _| {
        Value::Bool(a[0].is_null())
    })
    .handles_nulls();
    r.add("isnotnull", ARG, Ret::Fixed(KustoType::Bool), |a, _| {
        Value::Bool(!a[0].is_null())
    })
    .handles_nulls();
    r.add("isempty", ARG, Ret::Fixed(KustoType::Bool), |a, _| {
        Value::Bool(empty(&a[0]))
    })
    .handles_nulls();
    r.add("isnotempty", ARG, Ret::Fixed(KustoType::Bool), |a, _| {
        Value::Bool(!empty(&a[0]))
    })
    .handles_nulls();
    r.add(
        "not",
        params![p("value", BOOL)],
        Ret::Fixed(KustoType::Bool),
        |a, _| match &a[0] {
            Value::Bool(b) => Value::Bool(!b),
            Value::Dynamic(serde_json::Value::Bool(b)) => Value::Bool(!b),
            _ => Value::Null,
        },
    );
    const IFF: &[super::Param] = params![p("if", BOOL), p("then", ANY), p("else", ANY)];
    for name in ["iff", "iif"] {
        r.add(name, IFF, Ret::Custom(|t| common_type(&t[1..])), |a, _| {
            if truthy(&a[0]) {
                a[1].clone()
            } else {
                a[2].clone()
            }
        })
        .handles_nulls();
    }
    r.add(
        "case",
        params![p("predicate", BOOL), p("then", ANY), p("value", ANY)],
        Ret::Custom(|t| {
            if t.len() % 2 == 0 {
                return Err("case() takes pairs of predicate and value, then an else value".into());
            }
            let mut results: Vec<KustoType> = t.iter().skip(1).step_by(2).copied().collect();
            if let Some(last) = t.last() {
                results.push(*last);
            }
            if t.iter()
                .step_by(2)
                .take(t.len() / 2)
                .any(|x| *x != KustoType::Bool)
            {
                return Err("case(): predicates must be bool".into());
            }
            common_type(&results)
        }),
        |a, _| {
            let mut i = 0;
            while i + 1 < a.len() {
                if truthy(&a[i]) {
                    return a[i + 1].clone();
                }
                i += 2;
            }
            a.last().cloned().unwrap_or(Value::Null)
        },
    )
    .handles_nulls()
    .variadic();
    r.add(
        "coalesce",
        params![p("value", ANY), p("value", ANY)],
        Ret::Custom(common_type),
        |a, _| {
            a.iter()
                .find(|v| !v.is_null() && !matches!(v, Value::String(s) if s.is_empty()))
                .or_else(|| a.last())
                .cloned()
                .unwrap_or(Value::Null)
        },
    )
    .handles_nulls()
    .variadic();
}
