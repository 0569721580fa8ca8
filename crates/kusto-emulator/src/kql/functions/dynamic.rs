//! Dynamic values: `parse_json`/`todynamic`, `pack_array`, `bag_pack`/`pack`, `array_length`,
//! `bag_keys`, `array_concat`, `gettype`, `dcount_hll` (of the exact `hll` sketch), `range` (an array of numbers, datetimes or timespans).

use serde_json::{Map, Value as Json};

use super::params;
use super::{ANY, DYNAMIC, NUMBER, Registry, Ret, STRING, Types, long, opt, p, text};
use crate::kql::ast::BinOp;
use crate::kql::scalar::{arith, compare};
use crate::value::{KustoType, Value};

/// The JSON of a value put inside a dynamic.
pub(crate) fn to_json(v: &Value) -> Json {
    v.to_json()
}

fn parse_json(v: &Value) -> Value {
    match v {
        // An empty (or blank) text is the null dynamic value.
        Value::String(s) if s.trim().is_empty() => Value::Dynamic(Json::Null),
        Value::String(s) => match serde_json::from_str::<Json>(s) {
            Ok(j) => Value::Dynamic(j),
            Err(_) => Value::Dynamic(Json::String(s.clone())),
        },
        Value::Dynamic(Json::String(s)) => match serde_json::from_str::<Json>(s) {
            Ok(j) => Value::Dynamic(j),
            Err(_) => v.clone(),
        },
        Value::Null => Value::Dynamic(Json::Null),
        other => Value::Dynamic(to_json(other)),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Dynamic(j) => match j {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            // A whole number in a dynamic is an `int` when it fits 32 bits (as
            // `gettype(parse_json('1'))` is documented to be).
            Json::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => "int",
            Json::Number(n) if n.is_i64() || n.is_u64() => "long",
            Json::Number(_) => "real",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "dictionary",
        },
        other => other.kusto_type().map_or("null", KustoType::name),
    }
}

/// `range(start, stop, step)`: at most 1,048,576 elements (the documented limit).
fn range_array(a: &[Value]) -> Value {
    let step = a.get(2).cloned().unwrap_or(match &a[0] {
        Value::DateTime(_) | Value::TimeSpan(_) => Value::TimeSpan(crate::time::TICKS_PER_HOUR),
        _ => Value::Long(1),
    });
    let ty = match (&a[0], &step) {
        (Value::DateTime(_), _) => KustoType::DateTime,
        (Value::TimeSpan(_), _) => KustoType::TimeSpan,
        (Value::Real(_), _) | (_, Value::Real(_)) => KustoType::Real,
        (_, Value::Decimal(_)) | (Value::Decimal(_), _) => KustoType::Decimal,
        _ => KustoType::Long,
    };
    let mut out = Vec::new();
    let mut x = a[0].clone();
    let ascending = !matches!(
        compare(&step, &Value::Long(0)),
        Some(std::cmp::Ordering::Less)
    ) && !matches!(&step, Value::TimeSpan(t) if *t < 0);
    while out.len() < 1_048_576 {
        let past = match compare(&x, &a[1]) {
            Some(std::cmp::Ordering::Greater) => ascending,
            Some(std::cmp::Ordering::Less) => !ascending,
            Some(std::cmp::Ordering::Equal) => false,
            None => true,
        };
        if past {
            break;
        }
        out.push(to_json(&x));
        let next = arith(BinOp::Add, &x, &step, ty);
        if next.is_null() || next == x {
            break;
        }
        x = next;
    }
    Value::Dynamic(Json::Array(out))
}

pub(super) fn register(r: &mut Registry) {
    for name in ["parse_json", "parsejson", "todynamic", "toobject"] {
        r.add(
            name,
            params![p("json", ANY)],
            Ret::Fixed(KustoType::Dynamic),
            |a, _| parse_json(&a[0]),
        )
        .handles_nulls();
    }
    r.add(
        "pack_array",
        params![p("value", ANY)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| Value::Dynamic(Json::Array(a.iter().map(to_json).collect())),
    )
    .handles_nulls()
    .variadic();
    for name in ["bag_pack", "pack", "pack_dictionary"] {
        r.add(
            name,
            params![p("key", STRING), p("value", ANY)],
            Ret::Custom(|t| {
                if t.len() % 2 == 1 {
                    Err("bag_pack() takes pairs of keys and values".into())
                } else {
                    Ok(KustoType::Dynamic)
                }
            }),
            |a, _| {
                let mut map = Map::new();
                for pair in a.chunks(2) {
                    if let [k, v] = pair {
                        map.insert(text(k), to_json(v));
                    }
                }
                Value::Dynamic(Json::Object(map))
            },
        )
        .handles_nulls()
        .variadic();
    }
    r.add(
        "array_length",
        params![p("array", DYNAMIC)],
        Ret::Fixed(KustoType::Long),
        |a, _| match &a[0] {
            Value::Dynamic(Json::Array(items)) => long(items.len()),
            _ => Value::Null,
        },
    );
    r.add(
        "bag_keys",
        params![p("object", DYNAMIC)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| match &a[0] {
            Value::Dynamic(Json::Object(map)) => Value::Dynamic(Json::Array(
                map.keys().map(|k| Json::String(k.clone())).collect(),
            )),
            _ => Value::Null,
        },
    );
    r.add(
        "array_concat",
        params![p("array", DYNAMIC)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            let mut out = Vec::new();
            for v in a {
                match v {
                    Value::Dynamic(Json::Array(items)) => out.extend(items.iter().cloned()),
                    _ => return Value::Null,
                }
            }
            Value::Dynamic(Json::Array(out))
        },
    )
    .variadic();
    r.add(
        "dcount_hll",
        params![p("hll", DYNAMIC)],
        Ret::Fixed(KustoType::Long),
        |a, _| match &a[0] {
            Value::Dynamic(Json::Object(map)) => match map.get("hll_values") {
                Some(Json::Array(items)) => long(items.len()),
                _ => Value::Null,
            },
            _ => Value::Null,
        },
    );
    r.add(
        "gettype",
        params![p("value", ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| Value::String(type_name(&a[0]).to_string()),
    )
    .handles_nulls();
    const RANGEABLE: Types = NUMBER.or(super::DATETIME).or(super::TIMESPAN);
    r.add(
        "range",
        params![
            p("start", RANGEABLE),
            p("stop", RANGEABLE),
            opt("step", NUMBER.or(super::TIMESPAN))
        ],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| range_array(a),
    );
}
