//! Bit operations on longs: `binary_and`, `binary_or`, `binary_xor`, `binary_not`,
//! `binary_shift_left`, `binary_shift_right`, `bitset_count_ones`.
//!
//! Shifts take the count modulo 64, as .NET's `<<` and `>>` on longs do; the right shift is
//! arithmetic (the sign is kept).

use super::params;
use super::{INTEGER, Registry, Ret, int_arg, p};
use crate::value::{KustoType, Value};

fn two(a: &[Value], f: fn(i64, i64) -> i64) -> Value {
    match (int_arg(&a[0]), int_arg(&a[1])) {
        (Some(x), Some(y)) => Value::Long(f(x, y)),
        _ => Value::Null,
    }
}

pub(super) fn register(r: &mut Registry) {
    let binary: [(&'static str, super::Impl); 5] = [
        ("binary_and", |a, _| two(a, |x, y| x & y)),
        ("binary_or", |a, _| two(a, |x, y| x | y)),
        ("binary_xor", |a, _| two(a, |x, y| x ^ y)),
        ("binary_shift_left", |a, _| {
            two(a, |x, n| x.wrapping_shl((n & 63) as u32))
        }),
        ("binary_shift_right", |a, _| {
            two(a, |x, n| x.wrapping_shr((n & 63) as u32))
        }),
    ];
    for (name, f) in binary {
        r.add(
            name,
            params![p("value1", INTEGER), p("value2", INTEGER)],
            Ret::Fixed(KustoType::Long),
            f,
        );
    }
    r.add(
        "binary_not",
        params![p("value", INTEGER)],
        Ret::Fixed(KustoType::Long),
        |a, _| int_arg(&a[0]).map_or(Value::Null, |x| Value::Long(!x)),
    );
    r.add(
        "bitset_count_ones",
        params![p("value", INTEGER)],
        Ret::Fixed(KustoType::Long),
        |a, _| int_arg(&a[0]).map_or(Value::Null, |x| Value::Long(i64::from(x.count_ones()))),
    );
}
