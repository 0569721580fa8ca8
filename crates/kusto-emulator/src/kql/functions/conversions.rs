//! Conversions: `tostring`, `toint`, `tolong`, `toreal`/`todouble`, `todecimal`, `tobool`,
//! `todatetime`, `totimespan`, `toguid`. A value that does not convert is null (`toint("a")`);
//! reals truncate toward zero (`toint(2.7)` is 2).

use super::params;
use super::{ANY, Registry, Ret, p};
use crate::kql::scalar::convert;
use crate::value::{KustoType, Value};

fn to(ty: KustoType, v: &Value) -> Value {
    convert(v, ty)
}

pub(super) fn register(r: &mut Registry) {
    const ARG: &[super::Param] = params![p("value", ANY)];
    r.add("tostring", ARG, Ret::Fixed(KustoType::String), |a, _| {
        to(KustoType::String, &a[0])
    })
    .handles_nulls()
    .named_after_first_arg();
    r.add("toint", ARG, Ret::Fixed(KustoType::Int), |a, _| {
        to(KustoType::Int, &a[0])
    })
    .named_after_first_arg();
    r.add("tolong", ARG, Ret::Fixed(KustoType::Long), |a, _| {
        to(KustoType::Long, &a[0])
    })
    .named_after_first_arg();
    for name in ["toreal", "todouble"] {
        r.add(name, ARG, Ret::Fixed(KustoType::Real), |a, _| {
            to(KustoType::Real, &a[0])
        })
        .named_after_first_arg();
    }
    r.add("todecimal", ARG, Ret::Fixed(KustoType::Decimal), |a, _| {
        to(KustoType::Decimal, &a[0])
    })
    .named_after_first_arg();
    for name in ["tobool", "toboolean"] {
        r.add(name, ARG, Ret::Fixed(KustoType::Bool), |a, _| {
            to(KustoType::Bool, &a[0])
        })
        .named_after_first_arg();
    }
    r.add(
        "todatetime",
        ARG,
        Ret::Fixed(KustoType::DateTime),
        |a, _| to(KustoType::DateTime, &a[0]),
    )
    .named_after_first_arg();
    for name in ["totimespan", "totime"] {
        r.add(name, ARG, Ret::Fixed(KustoType::TimeSpan), |a, _| {
            to(KustoType::TimeSpan, &a[0])
        })
        .named_after_first_arg();
    }
    r.add("toguid", ARG, Ret::Fixed(KustoType::Guid), |a, _| {
        to(KustoType::Guid, &a[0])
    })
    .named_after_first_arg();
}
