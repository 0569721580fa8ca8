//! Hashes: `hash`/`hash_xxhash64` (xxHash64), `hash_sha256`, `hash_sha1`, `hash_md5`,
//! `hash_combine`, `hash_many`, and `new_guid`.
//!
//! What is hashed: a string's UTF-8 bytes and a datetime's ticks as 8 little-endian bytes
//! for `hash()` (both checked against the documented values); a long, timespan or real as its 8
//! little-endian bytes, an int as 4, a bool as 1 and a guid as its 16 bytes in .NET order (the
//! natural choices; the documentation shows no example). The SHA and MD5 functions hash the
//! value's text, a datetime in its full round-trip form (`2020-01-01T00:00:00.0000000Z`, as the
//! documented examples show).
//!
//! `hash_combine` (and so `hash_many`) is documented only by its values: the emulator combines
//! with the 64-bit `boost::hash_combine` step, which gives different numbers than a cluster. The
//! documentation recommends using these hashes only within one query, where any deterministic
//! combination serves.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use twox_hash::XxHash64;

use super::params;
use super::text_common::{full_text, string};
use super::{INTEGER, Registry, Ret, SCALAR, int_arg, opt, p};
use crate::value::{KustoType, Value};

/// The bytes `hash()` reads from a value (`None` for null and dynamic values).
fn hash_bytes(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Long(n) | Value::DateTime(n) | Value::TimeSpan(n) => n.to_le_bytes().to_vec(),
        Value::Int(n) => n.to_le_bytes().to_vec(),
        Value::Real(r) => r.to_le_bytes().to_vec(),
        Value::Bool(b) => vec![u8::from(*b)],
        Value::Guid(g) => g.to_bytes_le().to_vec(),
        Value::Decimal(d) => d.to_string().into_bytes(),
        Value::Null | Value::Dynamic(_) => return None,
    })
}

/// The xxHash64 (seed 0) of a value, as a signed long.
fn xxhash(v: &Value) -> Option<i64> {
    hash_bytes(v).map(|b| XxHash64::oneshot(0, &b) as i64)
}

/// `hash(source [, mod])`: the hash, or its remainder by `mod` (taken on the unsigned hash, so
/// it is between 0 and `mod - 1`); null for a `mod` below 1.
fn hash(a: &[Value]) -> Value {
    let Some(h) = xxhash(&a[0]) else {
        return Value::Null;
    };
    match a.get(1) {
        None => Value::Long(h),
        Some(m) => match int_arg(m) {
            Some(m) if m > 0 => Value::Long(((h as u64) % (m as u64)) as i64),
            _ => Value::Null,
        },
    }
}

/// One combining step (64-bit `boost::hash_combine`).
fn combine(seed: u64, h: u64) -> u64 {
    seed ^ h
        .wrapping_add(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(seed << 6)
        .wrapping_add(seed >> 2)
}

fn combine_all(hashes: impl Iterator<Item = Option<i64>>) -> Value {
    let mut seed = 0u64;
    for h in hashes {
        match h {
            Some(h) => seed = combine(seed, h as u64),
            None => return Value::Null,
        }
    }
    Value::Long(seed as i64)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A digest of the value's text as lowercase hexadecimal.
fn digest<D: Digest>(v: &Value) -> Value {
    string(hex(&D::digest(full_text(v).as_bytes())))
}

/// The first argument is not dynamic (the hashes take scalars only).
fn not_dynamic(t: &[KustoType]) -> Result<(), String> {
    match t.iter().position(|t| *t == KustoType::Dynamic) {
        Some(i) => Err(format!(
            "argument #{} is dynamic; the hash functions take scalar values",
            i + 1
        )),
        None => Ok(()),
    }
}

pub(super) fn register(r: &mut Registry) {
    for name in ["hash", "hash_xxhash64"] {
        r.add(
            name,
            params![p("source", SCALAR), opt("mod", INTEGER)],
            Ret::Custom(|t| not_dynamic(&t[..1]).map(|()| KustoType::Long)),
            |a, _| hash(a),
        );
    }
    r.add(
        "hash_sha256",
        params![p("source", SCALAR)],
        Ret::Custom(|t| not_dynamic(t).map(|()| KustoType::String)),
        |a, _| digest::<Sha256>(&a[0]),
    );
    r.add(
        "hash_sha1",
        params![p("source", SCALAR)],
        Ret::Custom(|t| not_dynamic(t).map(|()| KustoType::String)),
        |a, _| digest::<Sha1>(&a[0]),
    );
    r.add(
        "hash_md5",
        params![p("source", SCALAR)],
        Ret::Custom(|t| not_dynamic(t).map(|()| KustoType::String)),
        |a, _| digest::<Md5>(&a[0]),
    );
    r.add(
        "hash_combine",
        params![p("h1", INTEGER), p("h2", INTEGER)],
        Ret::Fixed(KustoType::Long),
        |a, _| combine_all(a.iter().map(int_arg)),
    )
    .variadic();
    r.add(
        "hash_many",
        params![p("source", SCALAR)],
        Ret::Custom(|t| not_dynamic(t).map(|()| KustoType::Long)),
        |a, _| combine_all(a.iter().map(xxhash)),
    )
    .variadic();
    r.add(
        "new_guid",
        params![],
        Ret::Fixed(KustoType::Guid),
        |_, _| Value::Guid(uuid::Uuid::new_v4()),
    )
    .volatile();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxhash_matches_the_documented_values() {
        assert_eq!(
            xxhash(&Value::String("World".into())),
            Some(1846988464401551951)
        );
        assert_eq!(
            xxhash(&Value::String("Hello".into())),
            Some(753694413698530628)
        );
        let t = crate::time::parse_datetime("2015-01-01").unwrap();
        assert_eq!(xxhash(&Value::DateTime(t)), Some(1380966698541616202));
        assert_eq!(
            hash(&[Value::String("World".into()), Value::Long(100)]),
            Value::Long(51)
        );
        assert_eq!(
            hash(&[Value::String("World".into()), Value::Long(0)]),
            Value::Null
        );
    }

    #[test]
    fn combining_is_order_sensitive_and_deterministic() {
        let ab = combine_all([Some(1), Some(2)].into_iter());
        let ba = combine_all([Some(2), Some(1)].into_iter());
        assert_ne!(ab, ba);
        assert_eq!(ab, combine_all([Some(1), Some(2)].into_iter()));
        assert_eq!(combine_all([Some(1), None].into_iter()), Value::Null);
    }
}
