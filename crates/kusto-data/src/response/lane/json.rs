//! Compact JSON: the text of a `dynamic` value exactly as `serde_json::Value`'s `Display` writes
//! it back (what the service sends). The lane recognises it with [`compact_json_end`] and keeps
//! it as text (collected tables, Arrow) or builds the [`Value`] straight from it
//! ([`ValueBuilder`], the row path) without serde_json's visitor per value.

use serde_json::{Map, Number, Value};

/// Most keys per object, and nesting depth, that [`compact_json_end`] follows.
const COMPACT_KEYS: usize = 32;
const COMPACT_DEPTH: u32 = 64;

/// Where the JSON value starting at `i` ends, when it is valid JSON exactly as
/// `serde_json::Value`'s `Display` writes it back, keys in their order: no whitespace, strings
/// without escapes or control characters, integers only (no fraction, exponent or `-0`, and
/// within i64 or u64), no key twice in an object. `None` for anything else, valid or not
/// (conservative: such values go through serde_json). Strings are not checked as UTF-8 here:
/// the caller checks the whole text.
pub(crate) fn compact_json_end(b: &[u8], i: usize) -> Option<usize> {
    compact_value(b, i, 0)
}

fn compact_value(b: &[u8], i: usize, depth: u32) -> Option<usize> {
    match *b.get(i)? {
        b'"' => super::plain_string(b, i).map(|(_, _, end)| end),
        b'{' => {
            if depth >= COMPACT_DEPTH {
                return None;
            }
            let mut j = i + 1;
            if b.get(j) == Some(&b'}') {
                return Some(j + 1);
            }
            let mut keys = [(0usize, 0usize); COMPACT_KEYS];
            let mut n = 0;
            loop {
                let (s, e, end) = super::plain_string(b, j)?;
                let key = &b[s..e];
                if n == COMPACT_KEYS || keys[..n].iter().any(|&(ks, ke)| &b[ks..ke] == key) {
                    return None;
                }
                keys[n] = (s, e);
                n += 1;
                if b.get(end) != Some(&b':') {
                    return None;
                }
                j = compact_value(b, end + 1, depth + 1)?;
                match b.get(j)? {
                    b',' => j += 1,
                    b'}' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            if depth >= COMPACT_DEPTH {
                return None;
            }
            let mut j = i + 1;
            if b.get(j) == Some(&b']') {
                return Some(j + 1);
            }
            loop {
                j = compact_value(b, j, depth + 1)?;
                match b.get(j)? {
                    b',' => j += 1,
                    b']' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        b't' => super::literal(b, i, b"true"),
        b'f' => super::literal(b, i, b"false"),
        b'n' => super::literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => {
            let (end, integer) = super::number(b, i)?;
            let text = &b[i..end];
            if !integer || text == b"-0" {
                return None;
            }
            // Integers beyond i64 and u64 become floats in serde_json.
            if text.len() > 18 {
                let text = std::str::from_utf8(text).ok()?;
                if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
                    return None;
                }
            }
            Some(end)
        }
        _ => None,
    }
}

/// Builds [`Value`]s from compact JSON text, keeping the items of the arrays and objects being
/// built on two stacks reused from value to value, so that each array and object is allocated
/// once at its final size.
#[derive(Debug, Default)]
pub(crate) struct ValueBuilder {
    items: Vec<Value>,
    entries: Vec<(String, Value)>,
}

impl ValueBuilder {
    /// The value of compact JSON text (one that [`compact_json_end`] accepted whole): what
    /// `serde_json::from_str` gives, built in one pass. `None` when `text` is not compact JSON.
    pub(crate) fn value(&mut self, text: &str) -> Option<Value> {
        let (value, end) = self.value_at(text.as_bytes(), 0)?;
        (end == text.len()).then_some(value)
    }

    /// The compact JSON value starting at `i` in `b`, and the index past it: what
    /// `serde_json` gives for that text. `None` when the text there is not compact JSON (see
    /// [`compact_json_end`]) or a string in it is not UTF-8.
    pub(crate) fn value_at(&mut self, b: &[u8], i: usize) -> Option<(Value, usize)> {
        self.items.clear();
        self.entries.clear();
        self.build(b, i, 0)
    }

    /// The value starting at `i` (at nesting `depth`) and the index past it.
    fn build(&mut self, b: &[u8], i: usize, depth: u32) -> Option<(Value, usize)> {
        let text = |s: usize, e: usize| Some(std::str::from_utf8(b.get(s..e)?).ok()?.to_owned());
        let first = *b.get(i)?;
        if matches!(first, b'{' | b'[') && depth >= COMPACT_DEPTH {
            return None;
        }
        Some(match first {
            b'"' => {
                let (s, e, end) = super::plain_string(b, i)?;
                (Value::String(text(s, e)?), end)
            }
            b'{' => {
                let mark = self.entries.len();
                let mut j = i + 1;
                if b.get(j) != Some(&b'}') {
                    loop {
                        let (s, e, end) = super::plain_string(b, j)?;
                        if b.get(end) != Some(&b':') {
                            return None;
                        }
                        let (value, next) = self.build(b, end + 1, depth + 1)?;
                        self.entries.push((text(s, e)?, value));
                        j = next;
                        match b.get(j)? {
                            b',' => j += 1,
                            b'}' => break,
                            _ => return None,
                        }
                    }
                }
                let mut map = Map::with_capacity(self.entries.len() - mark);
                for (key, value) in self.entries.drain(mark..) {
                    if map.insert(key, value).is_some() {
                        return None;
                    }
                }
                (Value::Object(map), j + 1)
            }
            b'[' => {
                let mark = self.items.len();
                let mut j = i + 1;
                if b.get(j) != Some(&b']') {
                    loop {
                        let (value, next) = self.build(b, j, depth + 1)?;
                        self.items.push(value);
                        j = next;
                        match b.get(j)? {
                            b',' => j += 1,
                            b']' => break,
                            _ => return None,
                        }
                    }
                }
                (Value::Array(self.items.drain(mark..).collect()), j + 1)
            }
            b't' => (Value::Bool(true), super::literal(b, i, b"true")?),
            b'f' => (Value::Bool(false), super::literal(b, i, b"false")?),
            b'n' => (Value::Null, super::literal(b, i, b"null")?),
            _ => {
                let (end, integer) = super::number(b, i)?;
                let digits = b.get(i..end)?;
                if !integer || digits == b"-0" {
                    return None;
                }
                let number = match super::integer(digits) {
                    Some(n) => Number::from(n),
                    None => Number::from(std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?),
                };
                (Value::Number(number), end)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPACT: [&str; 11] = [
        r#"{"k":1,"tags":["a","b"]}"#,
        r#""héllo""#,
        "[]",
        "{}",
        "-12",
        "18446744073709551615",
        "-9223372036854775808",
        "true",
        "false",
        "null",
        r#"{"a":{"a":1},"b":[null,{"a":2}],"c":[[],{}]}"#,
    ];

    const NOT_COMPACT: [&str; 20] = [
        r#"{ "k":1}"#,
        r#"{"a":1,"a":2}"#,
        r#""x\"y""#,
        r#""\u0041""#,
        "1.0",
        "1e3",
        "-0",
        "18446744073709551616",
        "-9223372036854775809",
        "[1, 2]",
        // Not JSON at all: refused without serde_json's help.
        "[1,,2]",
        "[1 2]",
        r#"{"a"1}"#,
        r#"{"a":}"#,
        "[tru]",
        "[nulll]",
        "{\"k\":trux}",
        "[01]",
        "[1,]",
        "\"a\u{1}\"",
    ];

    #[test]
    fn compact_json_is_only_claimed_for_text_serde_json_writes_back() {
        for text in COMPACT {
            assert_eq!(
                compact_json_end(text.as_bytes(), 0),
                Some(text.len()),
                "{text}"
            );
        }
        for text in NOT_COMPACT {
            assert_ne!(
                compact_json_end(text.as_bytes(), 0),
                Some(text.len()),
                "{text}"
            );
        }
        for text in COMPACT.iter().chain(&NOT_COMPACT) {
            let Ok(value) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            // Conservative: claimed compact only when the round trip is the identity.
            if compact_json_end(text.as_bytes(), 0) == Some(text.len()) {
                assert_eq!(value.to_string(), *text);
            }
        }
    }

    /// A random JSON value without floats (what the service's compact form holds).
    fn random_value(state: &mut u64, depth: u32) -> Value {
        let mut next = |n: u64| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state % n
        };
        let kind = if depth >= 4 { next(5) } else { next(7) };
        match kind {
            0 => Value::Null,
            1 => Value::Bool(next(2) == 0),
            2 => match next(3) {
                0 => Value::from(next(u64::MAX)),
                1 => Value::from(-(next(1 << 62) as i64)),
                _ => Value::from(next(100)),
            },
            3 | 4 => {
                let words = ["", "a", "é", "日本", "tags", "k", "x y", "✓"];
                Value::from(words[next(words.len() as u64) as usize])
            }
            5 => (0..next(5))
                .map(|_| random_value(state, depth + 1))
                .collect(),
            _ => {
                let mut map = Map::new();
                for k in 0..next(6) {
                    map.insert(format!("k{k}"), random_value(state, depth + 1));
                }
                Value::Object(map)
            }
        }
    }

    #[test]
    fn random_values_are_read_back_exactly() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut builder = ValueBuilder::default();
        for _ in 0..20_000 {
            let value = random_value(&mut state, 0);
            let text = value.to_string();
            assert_eq!(
                compact_json_end(text.as_bytes(), 0),
                Some(text.len()),
                "{text}"
            );
            assert_eq!(builder.value(&text).as_ref(), Some(&value), "{text}");
            // In a row: the value ends where the text does, whatever follows it.
            let row = format!("{text},1]");
            let (got, end) = builder.value_at(row.as_bytes(), 0).unwrap();
            assert_eq!((got, end), (value, text.len()));
        }
    }

    #[test]
    fn compact_values_are_serde_jsons_values() {
        for text in COMPACT {
            let expected: Value = serde_json::from_str(text).unwrap();
            let got = ValueBuilder::default().value(text).unwrap();
            assert_eq!(got, expected, "{text}");
            // Same key order (serde_json keeps it: `preserve_order`).
            assert_eq!(got.to_string(), text);
        }
        for text in NOT_COMPACT {
            assert_eq!(ValueBuilder::default().value(text), None, "{text}");
        }
        // Nesting is followed to the depth that `compact_json_end` accepts, and no deeper (no
        // recursion without end on hostile text).
        let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let ok = nested(COMPACT_DEPTH as usize);
        assert_eq!(compact_json_end(ok.as_bytes(), 0), Some(ok.len()));
        assert_eq!(
            ValueBuilder::default().value(&ok),
            Some(serde_json::from_str(&ok).unwrap())
        );
        let deep = nested(COMPACT_DEPTH as usize + 1);
        assert_eq!(compact_json_end(deep.as_bytes(), 0), None);
        assert_eq!(ValueBuilder::default().value(&deep), None);
    }
}
