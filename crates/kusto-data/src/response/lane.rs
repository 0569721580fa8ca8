//! The fast lane: one hand-written pass over a row in the shape a Kusto service writes (each
//! cell already of its column's JSON type, strings without escapes, dynamic values as compact
//! JSON), with no serde visitor per cell. Every output of the v2 parser uses it: the rows of the
//! row path ([`KustoValue`](crate::types::KustoValue)s), a collected table's column buffers and
//! the Arrow builders of the columnar path.
//!
//! A row is decoded in two steps. [`read_row`] checks the whole row and converts every cell into
//! a [`Cell`] without touching any output; only when every cell was understood does the caller
//! append them. Anything else (an escape in a string, a number in a string column, `"NaN"`, a
//! value out of range, malformed JSON) makes [`read_row`] answer `None`, and the row goes
//! through the structural scanner and the serde decoders, which give the same values and the
//! errors with their messages. So this lane never changes a value or an error: it only skips
//! work for the rows it fully understands.
//!
//! The parser runs the lane only on a row that is complete in its buffer when it reaches the
//! row's `[`; a row cut by a chunk boundary goes through the scanner and the serde decoder. A
//! body fed one byte at a time therefore never takes the lane: the differential tests use that
//! as their reference (`response/lane_tests.rs`, `tests/columnar.rs`).

use serde_json::Value;

use crate::types::{
    KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue, MAX_DECIMAL_DIGITS, Uuid,
};

mod json;
use json::ValueBuilder;
pub(crate) use json::compact_json_end;

/// How the lane reads the cells of a column: which JSON it takes and what it makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// `bool`: `true` / `false`.
    Bool,
    /// `int`: an integer that fits `i32`.
    Int,
    /// `long`: an integer that fits `i64`.
    Long,
    /// `real`: a number that fits `f64`.
    Real,
    /// `decimal`: a string or a number in canonical decimal form (see [`is_canonical_decimal`]).
    Decimal,
    /// `string`: a string.
    Text,
    /// `datetime`: a string.
    DateTime,
    /// `timespan`: a string.
    TimeSpan,
    /// `guid`: a string.
    Guid,
    /// `dynamic` and unknown types: compact JSON (see [`compact_json_end`]), kept as text.
    Json,
    /// `dynamic` and unknown types for the row path: compact JSON built into a
    /// `serde_json::Value` as it is read ([`Cell::Built`]).
    JsonValue,
}

impl Lane {
    /// The lanes of the row path: dynamic values are built as they are read.
    pub(crate) fn for_values(ty: &KustoType) -> Lane {
        match Lane::of(ty) {
            Lane::Json => Lane::JsonValue,
            lane => lane,
        }
    }

    /// The lane of a column of type `ty`.
    pub(crate) fn of(ty: &KustoType) -> Lane {
        match ty {
            KustoType::Bool => Lane::Bool,
            KustoType::Int => Lane::Int,
            KustoType::Long => Lane::Long,
            KustoType::Real => Lane::Real,
            KustoType::Decimal => Lane::Decimal,
            KustoType::String => Lane::Text,
            KustoType::DateTime => Lane::DateTime,
            KustoType::TimeSpan => Lane::TimeSpan,
            KustoType::Guid => Lane::Guid,
            KustoType::Dynamic | KustoType::Other(_) => Lane::Json,
        }
    }
}

/// One cell of a row, converted for its column. Text is a byte range of the row's text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    DateTime(KustoDateTime),
    TimeSpan(KustoTimespan),
    Guid(Uuid),
    /// A decimal in canonical form: parsing and displaying it gives the same text.
    Decimal(u32, u32),
    /// The content of a string, without its quotes (no escapes in it).
    Text(u32, u32),
    /// A compact JSON value, exactly as `serde_json::Value`'s `Display` writes it back.
    Json(u32, u32),
    /// A dynamic value already built ([`Lane::JsonValue`]): its index among the row's built
    /// values.
    Built(u32),
}

/// The cells of the row being read, kept between rows to reuse their allocations.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The cells of the last row [`read_row`] accepted, one per lane.
    pub(crate) cells: Vec<Cell>,
    /// Builds the values of dynamic cells ([`Lane::JsonValue`], [`values`]).
    json: ValueBuilder,
    /// The dynamic values built for the row ([`Cell::Built`]).
    built: Vec<Value>,
}

/// A row the lane read: its length, and its text when cells refer to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowText<'a> {
    len: usize,
    /// The whole row, checked as UTF-8 once, when a cell is a text range; empty otherwise.
    text: &'a str,
}

impl<'a> RowText<'a> {
    /// The row's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The text of a cell's byte range (`None` only for a range the lane did not make).
    pub(crate) fn text(&self, start: u32, end: u32) -> Option<&'a str> {
        self.text.get(start as usize..end as usize)
    }
}

/// Reads the row at the start of `b` (a JSON array; bytes may follow it, or the row may be cut
/// short by the end of the input so far) into `scratch.cells`, one per lane. One pass: each
/// cell is checked against the JSON grammar and its lane and converted from the bytes; then,
/// when some cell is a text range (a string, a decimal, a dynamic value), one UTF-8 check of the
/// whole row (everything outside strings is ASCII by then; a built dynamic value's strings were
/// checked as it was built). `None`: the row is not complete in `b`, or it needs the serde
/// decoder (`scratch.cells` then holds part of the row and is to be ignored).
pub(crate) fn read_row<'a>(
    b: &'a [u8],
    lanes: &[Lane],
    scratch: &mut Scratch,
) -> Option<RowText<'a>> {
    let Scratch { cells, json, built } = scratch;
    cells.clear();
    built.clear();
    if lanes.is_empty() || b.first() != Some(&b'[') {
        return None;
    }
    // Ranges are kept as u32; rows that long take the other path.
    let b = &b[..b.len().min(u32::MAX as usize)];
    let mut i = 1;
    let last = lanes.len() - 1;
    for (k, lane) in lanes.iter().enumerate() {
        i = skip_ws(b, i);
        let (cell, next) = match lane {
            // A null is a null cell, not a dynamic null (read below).
            Lane::JsonValue if b.get(i) != Some(&b'n') => {
                let (value, end) = json.value_at(b, i)?;
                built.push(value);
                (Cell::Built(built.len() as u32 - 1), end)
            }
            _ => read_cell(b, i, *lane)?,
        };
        cells.push(cell);
        i = skip_ws(b, next);
        let sep = if k == last { b']' } else { b',' };
        if b.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
    }
    let has_text = cells
        .iter()
        .any(|c| matches!(c, Cell::Text(..) | Cell::Decimal(..) | Cell::Json(..)));
    let text = if has_text {
        std::str::from_utf8(&b[..i]).ok()?
    } else {
        ""
    };
    Some(RowText { len: i, text })
}

/// The cell starting at `i` (not whitespace) for its lane, and the index just past it; `None`
/// when the lane does not take it.
fn read_cell(b: &[u8], i: usize, lane: Lane) -> Option<(Cell, usize)> {
    let range = |start: usize, end: usize| (start as u32, end as u32);
    let first = *b.get(i)?;
    if first == b'n' {
        return Some((Cell::Null, literal(b, i, b"null")?));
    }
    Some(match lane {
        Lane::Bool => match first {
            b't' => (Cell::Bool(true), literal(b, i, b"true")?),
            b'f' => (Cell::Bool(false), literal(b, i, b"false")?),
            _ => return None,
        },
        Lane::Int | Lane::Long => {
            let (end, Numeric::Integer(v)) = numeric(b, i)? else {
                return None;
            };
            let cell = match lane {
                Lane::Int => Cell::Int(i32::try_from(v).ok()?),
                _ => Cell::Long(v),
            };
            (cell, end)
        }
        Lane::Real => {
            let (end, n) = numeric(b, i)?;
            // The serde decoders turn an integer into f64 with `as` (so "-0" is +0.0).
            let v = match n {
                Numeric::Integer(v) => v as f64,
                Numeric::Float(v) => v,
            };
            // serde_json refuses a number beyond f64 ("1e400"); `parse` gives an infinity.
            if v.is_infinite() {
                return None;
            }
            (Cell::Real(v), end)
        }
        Lane::DateTime => {
            // The service's forms have a fixed length: read them where they stand, without
            // looking for the string's end (a valid reading has no quote in it).
            for len in [28, 20] {
                if b.get(i + len + 1) == Some(&b'"')
                    && let Some(t) = KustoDateTime::parse_canonical(&b[i + 1..i + 1 + len])
                {
                    return Some((Cell::DateTime(t), i + len + 2));
                }
            }
            let (s, e, end) = plain_string(b, i)?;
            match &b[s..e] {
                [] => (Cell::Null, end),
                t => (Cell::DateTime(KustoDateTime::parse_bytes(t)?), end),
            }
        }
        Lane::TimeSpan => {
            let (s, e, end) = plain_string(b, i)?;
            match &b[s..e] {
                [] => (Cell::Null, end),
                t => (Cell::TimeSpan(KustoTimespan::parse_bytes(t)?), end),
            }
        }
        Lane::Guid => {
            // The hyphenated form (36 characters, all hex digits and hyphens) where it stands.
            if b.get(i + 37) == Some(&b'"')
                && let Ok(g) = Uuid::try_parse_ascii(&b[i + 1..i + 37])
            {
                return Some((Cell::Guid(g), i + 38));
            }
            let (s, e, end) = plain_string(b, i)?;
            match &b[s..e] {
                [] => (Cell::Null, end),
                t => (Cell::Guid(Uuid::try_parse_ascii(t).ok()?), end),
            }
        }
        Lane::Text => {
            let (s, e, end) = plain_string(b, i)?;
            let (s, e) = range(s, e);
            (Cell::Text(s, e), end)
        }
        Lane::Decimal => {
            let (s, e, end) = if first == b'"' {
                plain_string(b, i)?
            } else {
                let (end, _) = number(b, i)?;
                (i, end, end)
            };
            if s == e {
                (Cell::Null, end)
            } else if is_canonical_decimal(&b[s..e]) {
                let (s, e) = range(s, e);
                (Cell::Decimal(s, e), end)
            } else {
                return None;
            }
        }
        Lane::Json | Lane::JsonValue => {
            let end = compact_json_end(b, i)?;
            let (s, e) = range(i, end);
            (Cell::Json(s, e), end)
        }
    })
}

/// A number's value as the lane reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Numeric {
    /// No fraction and no exponent, within i64.
    Integer(i64),
    /// A fraction or an exponent: the correctly rounded f64 (an infinity beyond its range).
    Float(f64),
}

/// Exact powers of ten in f64.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The JSON number at `i`, strictly by the grammar, and its value, in one pass over its digits:
/// the index past it and the value. `None` for an integer beyond i64 and for what is not a
/// number. A float of at most 15 significant digits and a power of ten up to 22 is one exact
/// multiplication or division of two exact f64 (correctly rounded); any other goes through
/// `f64::from_str`.
fn numeric(b: &[u8], i: usize) -> Option<(usize, Numeric)> {
    let mut j = i;
    let negative = b.get(j) == Some(&b'-');
    j += usize::from(negative);
    // Digits after the first non-zero one, and their value while it fits 19 digits.
    let (mut mantissa, mut digits) = (0u64, 0usize);
    let mut take = |c: u8, digits: &mut usize| {
        if *digits < 19 {
            mantissa = mantissa * 10 + u64::from(c - b'0');
        }
        if mantissa != 0 {
            *digits += 1;
        }
    };
    match *b.get(j)? {
        b'0' => j += 1,
        b'1'..=b'9' => {
            while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
                take(c, &mut digits);
                j += 1;
            }
        }
        _ => return None,
    }
    let mut scale: i64 = 0;
    let mut float = false;
    if b.get(j) == Some(&b'.') {
        j += 1;
        let from = j;
        while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
            take(c, &mut digits);
            j += 1;
        }
        if j == from {
            return None;
        }
        scale = -((j - from) as i64);
        float = true;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        let minus = b.get(j) == Some(&b'-');
        j += usize::from(matches!(b.get(j), Some(b'+' | b'-')));
        let from = j;
        let mut exponent: i64 = 0;
        while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
            exponent = (exponent * 10 + i64::from(c - b'0')).min(1 << 40);
            j += 1;
        }
        if j == from {
            return None;
        }
        scale += if minus { -exponent } else { exponent };
        float = true;
    }
    let text = &b[i..j];
    if !float {
        let v = if digits <= 18 {
            let m = mantissa as i64;
            if negative { -m } else { m }
        } else {
            integer(text)?
        };
        return Some((j, Numeric::Integer(v)));
    }
    let v = if digits <= 15 && scale.unsigned_abs() <= 22 {
        let m = mantissa as f64;
        let p = POWERS_OF_TEN[scale.unsigned_abs() as usize];
        let v = if scale < 0 { m / p } else { m * p };
        if negative { -v } else { v }
    } else {
        std::str::from_utf8(text).ok()?.parse::<f64>().ok()?
    };
    Some((j, Numeric::Float(v)))
}

/// The value of an integer's text (`-` and digits, as [`number`] found it), if it fits i64.
fn integer(t: &[u8]) -> Option<i64> {
    let (negative, digits) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, t),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulated negative, so that i64::MIN fits.
    let mut v: i64 = 0;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub(i64::from(d))?;
    }
    if negative { Some(v) } else { v.checked_neg() }
}

/// The values of the row the lane read last into `scratch`, as the row path gives them. `None`
/// when a cell cannot become its value (not reached: the lane reads only canonical decimals
/// and compact JSON): the serde decoder then decodes the row.
pub(crate) fn values(scratch: &mut Scratch, row: RowText<'_>) -> Option<Vec<KustoValue>> {
    let mut values = Vec::with_capacity(scratch.cells.len());
    for cell in &scratch.cells {
        values.push(match *cell {
            Cell::Null => KustoValue::Null,
            Cell::Bool(x) => KustoValue::Bool(x),
            Cell::Int(x) => KustoValue::Int(x),
            Cell::Long(x) => KustoValue::Long(x),
            Cell::Real(x) => KustoValue::Real(x),
            Cell::DateTime(x) => KustoValue::DateTime(x),
            Cell::TimeSpan(x) => KustoValue::TimeSpan(x),
            Cell::Guid(x) => KustoValue::Guid(x),
            Cell::Decimal(s, e) => KustoValue::Decimal(KustoDecimal::parse_plain(row.text(s, e)?)?),
            Cell::Text(s, e) => KustoValue::String(row.text(s, e)?.to_owned()),
            Cell::Json(s, e) => KustoValue::Dynamic(scratch.json.value(row.text(s, e)?)?),
            Cell::Built(k) => {
                KustoValue::Dynamic(std::mem::take(scratch.built.get_mut(k as usize)?))
            }
        });
    }
    Some(values)
}

/// True when `text` is a decimal that [`KustoDecimal`](crate::types::KustoDecimal)'s parsing
/// and display give back unchanged: an optional `-`, an integer part without leading zeros (or
/// `0`), an optional fraction, at most 38 digits, and not a negative zero.
pub(crate) fn is_canonical_decimal(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let (int, frac) = match digits.iter().position(|b| *b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    let has_dot = int.len() < digits.len();
    !int.is_empty()
        && (int == b"0" || int[0] != b'0')
        && (!has_dot || !frac.is_empty())
        && int.len() + frac.len() <= MAX_DECIMAL_DIGITS as usize
        && int.iter().chain(frac).all(u8::is_ascii_digit)
        && !(text.starts_with(b"-") && int.iter().chain(frac).all(|b| *b == b'0'))
}

/// Index past `lit` when the bytes at `i` spell it.
fn literal(b: &[u8], i: usize, lit: &[u8]) -> Option<usize> {
    let end = i + lit.len();
    (b.get(i..end)? == lit).then_some(end)
}

/// A JSON number at `i`, strictly by the grammar: the index past it and whether it is an
/// integer (no fraction, no exponent).
fn number(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let digits = |b: &[u8], i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i += digits(b, i),
        _ => return None,
    }
    let mut integer = true;
    if b.get(i) == Some(&b'.') {
        let n = digits(b, i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
        integer = false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(b, i);
        if n == 0 {
            return None;
        }
        i += n;
        integer = false;
    }
    Some((i, integer))
}

/// A JSON string at `i` with no escape and no control character: the range of its content and
/// the index past its closing quote.
fn plain_string(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let len = find_string_stop(&b[start..])?;
    let end = start + len;
    (b[end] == b'"').then_some((start, end, end + 1))
}

/// Index of the first `"`, `\\` or control character (below 0x20) in `bytes`, eight bytes at a
/// time.
fn find_string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * 0x20;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let (q, s) = (x ^ QUOTES, x ^ BACKSLASHES);
        // Flags zero bytes of q and s, and bytes of x below 0x20; the lowest flag is a true one.
        let found = ((q.wrapping_sub(ONES) & !q)
            | (s.wrapping_sub(ONES) & !s)
            | (x.wrapping_sub(SPACES) & !x))
            & HIGH;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| at + p)
}

/// Index of the first byte at or after `i` that is not JSON whitespace.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_string_stops_like_a_byte_loop() {
        let alphabet = b"ab\"\\\x00\x1f\x20\x80\xff\x7f!#\x21\x5b\x5d\x9f";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..80 {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let expected = bytes
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
                assert_eq!(find_string_stop(&bytes), expected, "{bytes:?}");
            }
        }
    }

    #[test]
    fn numbers_follow_the_json_grammar() {
        let good = [
            ("0", true),
            ("-0", true),
            ("12", true),
            ("1.5", false),
            ("-1e5", false),
            ("2E+3", false),
            ("0.0e-1", false),
        ];
        for (text, integer) in good {
            let bytes = format!("{text},");
            assert_eq!(
                number(bytes.as_bytes(), 0),
                Some((text.len(), integer)),
                "{text}"
            );
        }
        for text in ["-", "+1", ".5", "1.", "1e", "1e+", "-a"] {
            let parsed = number(text.as_bytes(), 0);
            // Either refused, or it stops before the bad byte (and the row check then fails).
            assert!(
                parsed.is_none_or(|(end, _)| end < text.len()),
                "{text}: {parsed:?}"
            );
        }
        // A leading zero ends the number: "01" reads as "0" and the row check refuses the "1".
        assert_eq!(number(b"01", 0), Some((1, true)));
    }

    #[test]
    fn numbers_are_read_as_the_standard_parsers_read_them() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let digits = |next: &mut dyn FnMut(u64) -> u64, n: u64| -> String {
            (0..n).map(|_| char::from(b'0' + next(10) as u8)).collect()
        };
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "1e400",
            "-1e400",
            "5e-324",
            "1e-400",
            "0.1",
            "1.5e3",
            "9007199254740993",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "123456789012345678901234567890",
            "1.7976931348623157e308",
            "0.30000000000000004",
            "1e22",
            "1e23",
            "123456789012345.6",
            "1234567890123456.7",
            "2.5E+10",
            "1E-5",
            "0e99999999999999",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..200_000 {
            let mut t = String::new();
            if next(2) == 0 {
                t.push('-');
            }
            let int = next(22);
            t.push_str(&if int == 0 {
                "0".into()
            } else {
                let d = digits(&mut next, int);
                format!("{}{}", 1 + next(9), &d[1..])
            });
            if next(2) == 0 {
                t.push('.');
                let n = 1 + next(20);
                t.push_str(&digits(&mut next, n));
            }
            if next(3) == 0 {
                t.push(['e', 'E'][next(2) as usize]);
                t.push_str(["", "+", "-"][next(3) as usize]);
                t.push_str(&(next(40)).to_string());
            }
            texts.push(t);
        }
        let mut floats = 0;
        for text in &texts {
            let b = format!("{text},");
            let got = numeric(b.as_bytes(), 0);
            let (end, is_integer) = number(b.as_bytes(), 0).unwrap();
            assert_eq!(got.map(|(e, _)| e).unwrap_or(end), end, "{text}");
            let expected = if is_integer {
                text.parse::<i64>().ok().map(Numeric::Integer)
            } else {
                text.parse::<f64>().ok().map(Numeric::Float)
            };
            match (got.map(|(_, n)| n), expected) {
                // Same bits (so -0.0 is not +0.0).
                (Some(Numeric::Float(a)), Some(Numeric::Float(b))) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{text}");
                    floats += 1;
                }
                (got, expected) => assert_eq!(got, expected, "{text}"),
            }
        }
        assert!(floats > 50_000, "{floats}");
    }

    #[test]
    fn integers_are_read_as_str_parse_reads_them() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "-",
            "",
        ]
        .map(String::from)
        .to_vec();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            texts.push(((state as i64) >> (state % 64)).to_string());
        }
        for text in &texts {
            assert_eq!(integer(text.as_bytes()), text.parse::<i64>().ok(), "{text}");
        }
    }

    #[test]
    fn fixed_length_datetimes_and_guids_are_read_where_they_stand() {
        let lanes = [Lane::DateTime, Lane::DateTime, Lane::Guid, Lane::DateTime];
        let mut scratch = Scratch::default();
        let guid = "c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d";
        // A short datetime followed by strings whose quotes fall where a 28-character form
        // would end; a guid-length string that is not a guid; an empty datetime.
        for (row, ok) in [
            (
                format!(r#"["2024-01-01T00:00:00Z","2024-01-01T00:00:00.1Z","{guid}",""]"#),
                true,
            ),
            (
                format!(r#"["2024-01-01T00:00:00Z","",  "{guid}","2024-01-01T00:00:00.1234567Z"]"#),
                true,
            ),
            (
                r#"["2024-01-01T00:00:00Z","","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8"",""]"#.into(),
                false,
            ),
            (
                r#"["2024-01-01T00:00:00Z","x","","2024-01-01T00:00:00.12345678Z"]"#.into(),
                false,
            ),
        ] {
            let read = read_row(row.as_bytes(), &lanes, &mut scratch).map(|r| r.len());
            if !ok {
                assert_eq!(read, None, "{row}");
                continue;
            }
            assert_eq!(read, Some(row.len()), "{row}");
            let parse = |t: &str| Cell::DateTime(t.parse().unwrap());
            assert_eq!(scratch.cells[0], parse("2024-01-01T00:00:00Z"), "{row}");
            assert_eq!(scratch.cells[2], Cell::Guid(Uuid::try_parse(guid).unwrap()));
        }
    }

    #[test]
    fn canonical_decimals_display_as_they_are_written() {
        use crate::types::KustoDecimal;
        for text in [
            "12.25",
            "0.05",
            "-0.5",
            "7",
            "0",
            "12345678901234567890.123456789",
            "-3.1400",
        ] {
            assert!(is_canonical_decimal(text.as_bytes()), "{text}");
            assert_eq!(text.parse::<KustoDecimal>().unwrap().to_string(), text);
        }
        for text in [
            "-0", "-0.0", "00.5", "1.", ".5", "1e3", "+1", " 1", "1.2.3", "",
        ] {
            assert!(!is_canonical_decimal(text.as_bytes()), "{text}");
        }
        let long = "1".repeat(39);
        assert!(!is_canonical_decimal(long.as_bytes()));
    }

    #[test]
    fn reads_each_lane_and_leaves_unusual_rows_to_the_serde_decoder() {
        let lanes = [Lane::Long, Lane::Text, Lane::Real];
        let mut scratch = Scratch::default();
        let row = r#"[1, "a" ,2.5],["next"#;
        let read = read_row(row.as_bytes(), &lanes, &mut scratch).map(|r| (r.len(), r.text(5, 6)));
        assert_eq!(read, Some((13, Some("a"))));
        assert_eq!(
            scratch.cells,
            [Cell::Long(1), Cell::Text(5, 6), Cell::Real(2.5)]
        );
        for row in [
            r#"[1,"a\"b",2.5]"#,              // an escape
            "[1,\"a\u{1}b\",2.5]",            // a control character
            r#"[1,"a","NaN"]"#,               // a real as a string
            r#"[1.0,"a",2.5]"#,               // a fraction in a long column
            r#"[1,"a"]"#,                     // too few cells
            r#"[1,"a",2.5,4]"#,               // too many
            r#"[1,"a",2.5,]"#,                // a trailing comma
            r#"[nul,"a",2.5]"#,               // a bad literal
            r#"[9223372036854775808,"a",1]"#, // beyond i64
            r#"[1,"a",1e400]"#,               // beyond f64
            r#"[1,"a",2.5"#,                  // not complete yet
            r#"[1,"a",2"#,                    // not complete yet, in a number
        ] {
            let read = read_row(row.as_bytes(), &lanes, &mut scratch).map(|r| r.len());
            assert_eq!(read, None, "{row}");
        }
        // A row that is not UTF-8 (a lone continuation byte in a string) goes to the serde
        // decoder, which reports it; without text cells, the row is not looked at as text.
        let bytes = b"[1,\"a\x80b\",2.5]";
        assert!(read_row(bytes, &lanes, &mut scratch).is_none());
        let read = read_row(b"[1,2]", &[Lane::Long, Lane::Int], &mut scratch);
        assert_eq!(read.map(|r| (r.len(), r.text(0, 1))), Some((5, None)));
        let lanes = [
            Lane::Bool,
            Lane::Int,
            Lane::DateTime,
            Lane::TimeSpan,
            Lane::Guid,
            Lane::Decimal,
            Lane::Decimal,
            Lane::Json,
        ];
        let row = r#"[true,-7,"2024-05-01T10:20:30.1234567Z","1.02:03:04","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","12.50",7,{"k":[1]}]"#;
        let read = read_row(row.as_bytes(), &lanes, &mut scratch);
        assert_eq!(read.map(|r| r.len()), Some(row.len()));
        let read = read.unwrap();
        let c = &scratch.cells;
        assert_eq!(c[0], Cell::Bool(true));
        assert_eq!(c[1], Cell::Int(-7));
        assert_eq!(
            c[2],
            Cell::DateTime("2024-05-01T10:20:30.1234567Z".parse().unwrap())
        );
        assert_eq!(c[3], Cell::TimeSpan("1.02:03:04".parse().unwrap()));
        assert_eq!(
            c[4],
            Cell::Guid(Uuid::try_parse("c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d").unwrap())
        );
        let texts: Vec<&str> = c[5..]
            .iter()
            .map(|cell| match *cell {
                Cell::Decimal(s, e) | Cell::Json(s, e) => read.text(s, e).unwrap(),
                _ => "",
            })
            .collect();
        assert_eq!(texts, ["12.50", "7", r#"{"k":[1]}"#]);
        // Non-canonical decimals and values of the wrong JSON type take the other path.
        for row in [
            r#"[true,-7,"2024-05-01T10:20:30Z","1.02:03:04","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","12.50",7e0,{"k":[1]}]"#,
            r#"[1,-7,"2024-05-01T10:20:30Z","1.02:03:04","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","12.50",7,{"k":[1]}]"#,
            r#"[true,-7,"2024-02-30T10:20:30Z","1.02:03:04","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","12.50",7,{"k":[1]}]"#,
            r#"[true,-7,"2024-05-01T10:20:30Z",600,"c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","12.50",7,{"k":[1]}]"#,
            r#"[true,-7,"2024-05-01T10:20:30Z","1.02:03:04","c9b2d3a4","12.50",7,{"k":[1]}]"#,
            r#"[true,-7,"2024-05-01T10:20:30Z","1.02:03:04","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","12.50",7,{"k":[1.0]}]"#,
        ] {
            assert_eq!(
                read_row(row.as_bytes(), &lanes, &mut scratch).map(|r| r.len()),
                None,
                "{row}"
            );
        }
    }
}
