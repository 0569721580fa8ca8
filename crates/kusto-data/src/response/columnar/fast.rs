//! The columnar path's fast lane: one hand-written pass over a row in the shape a Kusto service
//! writes (each cell already of its column's JSON type, strings without escapes, dynamic values
//! as compact JSON), with no serde visitor per cell.
//!
//! A row is decoded in two steps. [`read_row`] checks the whole row and converts every cell into
//! a [`Cell`] without touching the builders; only when every cell was understood does the caller
//! append them. Anything else (an escape in a string, a number in a string column, `"NaN"`, a
//! value out of range, malformed JSON) makes [`read_row`] answer `false`, and the row goes
//! through the serde decoder, which gives the same values as the row path and the errors with
//! their messages. So this lane never changes a value or an error: it only skips work for the
//! rows it fully understands. The tests in `tests/columnar.rs` compare both paths with the row
//! path on every fixture and on random bodies.

use crate::types::{KustoDateTime, KustoTimespan, Uuid};

use super::super::arrow_batch::{ArrowOptions, ArrowTimeUnit};
use super::{ColumnBuilder, is_canonical_decimal};

/// One cell of a row, converted for its column's builder.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    /// A datetime or timespan in the unit of the Arrow options.
    Ticks(i64),
    Guid([u8; 16]),
    /// Text to append as it is: a byte range of the row's text.
    Text(u32, u32),
}

/// One JSON token of a row as the first step finds it: its kind and its byte range in the row
/// (for a string, the content between the quotes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    kind: Kind,
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    True,
    False,
    /// A number without fraction or exponent.
    Integer,
    /// A number with a fraction or an exponent.
    Float,
    /// A string without escapes or control characters.
    Str,
    /// A compact JSON value (see [`compact_json_end`]).
    Json,
}

/// Reads the row at the start of `b` (a JSON array; bytes may follow it, or the row may be cut
/// short by the end of the input so far) into `cells`, one per builder: the row's text. Two
/// steps: the tokens of the row, checked against the JSON grammar and the column types, then
/// (the row's end known) one UTF-8 check of the whole row and the conversion of each token.
/// `None`: the row is not complete in `b`, or it needs the serde decoder (`cells` then holds
/// part of the row and is to be ignored).
pub(super) fn read_row<'a>(
    b: &'a [u8],
    builders: &[ColumnBuilder],
    options: &ArrowOptions,
    tokens: &mut Vec<Token>,
    cells: &mut Vec<Cell>,
) -> Option<&'a str> {
    tokens.clear();
    cells.clear();
    if builders.is_empty() || b.first() != Some(&b'[') {
        return None;
    }
    // Ranges are kept as u32; rows that long take the other path.
    let b = &b[..b.len().min(u32::MAX as usize)];
    let mut i = 1;
    let last = builders.len() - 1;
    for (k, builder) in builders.iter().enumerate() {
        i = skip_ws(b, i);
        let (token, next) = read_token(b, i, builder)?;
        tokens.push(token);
        i = skip_ws(b, next);
        let sep = if k == last { b']' } else { b',' };
        if b.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
    }
    let row = std::str::from_utf8(&b[..i]).ok()?;
    for (token, builder) in tokens.iter().zip(builders) {
        cells.push(convert(*token, row, builder, options)?);
    }
    Some(row)
}

/// The token starting at `i` (not whitespace), if its kind suits the column: the token and the
/// index just past it.
fn read_token(b: &[u8], i: usize, builder: &ColumnBuilder) -> Option<(Token, usize)> {
    let token = |kind, start: usize, end: usize| Token {
        kind,
        start: start as u32,
        end: end as u32,
    };
    let first = *b.get(i)?;
    if first == b'n' {
        let end = literal(b, i, b"null")?;
        return Some((token(Kind::Null, i, end), end));
    }
    let number = |b: &[u8]| {
        let (end, integer) = number(b, i)?;
        let kind = if integer { Kind::Integer } else { Kind::Float };
        Some((token(kind, i, end), end))
    };
    let string = |b: &[u8]| {
        let (s, e, end) = plain_string(b, i)?;
        Some((token(Kind::Str, s, e), end))
    };
    match builder {
        ColumnBuilder::Bool(_) => match first {
            b't' => literal(b, i, b"true").map(|end| (token(Kind::True, i, end), end)),
            b'f' => literal(b, i, b"false").map(|end| (token(Kind::False, i, end), end)),
            _ => None,
        },
        ColumnBuilder::Int(_) | ColumnBuilder::Long(_) | ColumnBuilder::Real(_) => number(b),
        ColumnBuilder::DateTime(_)
        | ColumnBuilder::TimeSpan(_)
        | ColumnBuilder::Guid(_)
        | ColumnBuilder::Text(_) => string(b),
        ColumnBuilder::Decimal(_) if first == b'"' => string(b),
        ColumnBuilder::Decimal(_) => number(b),
        ColumnBuilder::Json(_) => {
            let end = compact_json_end(b, i)?;
            Some((token(Kind::Json, i, end), end))
        }
    }
}

/// The cell of a token for its column (`row`: the row's text), or `None` for the serde decoder.
fn convert(
    token: Token,
    row: &str,
    builder: &ColumnBuilder,
    options: &ArrowOptions,
) -> Option<Cell> {
    let (start, end) = (token.start as usize, token.end as usize);
    let t = row.get(start..end)?;
    let cell = match (builder, token.kind) {
        (_, Kind::Null) => Cell::Null,
        (ColumnBuilder::Bool(_), Kind::True) => Cell::Bool(true),
        (ColumnBuilder::Bool(_), Kind::False) => Cell::Bool(false),
        (ColumnBuilder::Int(_), Kind::Integer) => Cell::Int(t.parse().ok()?),
        (ColumnBuilder::Long(_), Kind::Integer) => Cell::Long(t.parse().ok()?),
        (ColumnBuilder::Real(_), kind @ (Kind::Integer | Kind::Float)) => {
            // The serde decoder turns an integer into f64 with `as` (so "-0" is +0.0).
            let v = if kind == Kind::Integer {
                t.parse::<i64>().ok()? as f64
            } else {
                t.parse::<f64>().ok()?
            };
            // serde_json refuses a number beyond f64 ("1e400"); `parse` gives an infinity.
            if v.is_infinite() {
                return None;
            }
            Cell::Real(v)
        }
        (
            ColumnBuilder::DateTime(_) | ColumnBuilder::TimeSpan(_) | ColumnBuilder::Guid(_),
            Kind::Str,
        ) if t.is_empty() => Cell::Null,
        (ColumnBuilder::DateTime(_), Kind::Str) => {
            let t = t.parse::<KustoDateTime>().ok()?;
            Cell::Ticks(match options.time_unit() {
                ArrowTimeUnit::Nanosecond => i64::try_from(t.unix_nanos()).ok()?,
                ArrowTimeUnit::Microsecond => t.unix_ticks().div_euclid(10),
                ArrowTimeUnit::Ticks => t.unix_ticks(),
            })
        }
        (ColumnBuilder::TimeSpan(_), Kind::Str) => {
            let t = t.parse::<KustoTimespan>().ok()?;
            Cell::Ticks(match options.time_unit() {
                ArrowTimeUnit::Nanosecond => t.ticks().checked_mul(100)?,
                ArrowTimeUnit::Microsecond => t.ticks().div_euclid(10),
                ArrowTimeUnit::Ticks => t.ticks(),
            })
        }
        (ColumnBuilder::Guid(_), Kind::Str) => Cell::Guid(*Uuid::try_parse(t).ok()?.as_bytes()),
        (ColumnBuilder::Text(_), Kind::Str) | (ColumnBuilder::Json(_), Kind::Json) => {
            Cell::Text(token.start, token.end)
        }
        (ColumnBuilder::Decimal(_), Kind::Str | Kind::Integer | Kind::Float) => {
            if t.is_empty() {
                Cell::Null
            } else if is_canonical_decimal(t) {
                Cell::Text(token.start, token.end)
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(cell)
}

/// Most keys per object, and nesting depth, that [`compact_json_end`] follows.
const COMPACT_KEYS: usize = 32;
const COMPACT_DEPTH: u32 = 64;

/// Where the JSON value starting at `i` ends, when it is valid JSON exactly as
/// `serde_json::Value`'s `Display` writes it back, keys in their order: no whitespace, strings
/// without escapes or control characters, integers only (no fraction, exponent or `-0`, and
/// within i64 or u64), no key twice in an object. `None` for anything else, valid or not
/// (conservative: such values go through a `serde_json::Value`). Strings are not checked as
/// UTF-8 here: the caller checks the whole text.
pub(super) fn compact_json_end(b: &[u8], i: usize) -> Option<usize> {
    compact_value(b, i, 0)
}

fn compact_value(b: &[u8], i: usize, depth: u32) -> Option<usize> {
    match *b.get(i)? {
        b'"' => plain_string(b, i).map(|(_, _, end)| end),
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
                let (s, e, end) = plain_string(b, j)?;
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
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => {
            let (end, integer) = number(b, i)?;
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
    fn unusual_rows_are_left_to_the_serde_decoder() {
        use crate::types::KustoType;
        let types = [KustoType::Long, KustoType::String, KustoType::Real];
        let builders: Vec<ColumnBuilder> = types.iter().map(|t| ColumnBuilder::new(t, 4)).collect();
        let options = ArrowOptions::default();
        let (mut tokens, mut cells) = (Vec::new(), Vec::new());
        let row = r#"[1, "a" ,2.5],["next"#;
        let read = read_row(row.as_bytes(), &builders, &options, &mut tokens, &mut cells);
        assert_eq!(read, Some(r#"[1, "a" ,2.5]"#));
        assert!(matches!(
            cells[..],
            [Cell::Long(1), Cell::Text(5, 6), Cell::Real(2.5)]
        ));
        for row in [
            r#"[1,"a\"b",2.5]"#,              // an escape
            "[1,\"a\u{1}b\",2.5]",            // a control character
            "[1,\"a\u{80}b\",2.5]",           // a string that is not UTF-8 (below)
            r#"[1,"a","NaN"]"#,               // a real as a string
            r#"[1.0,"a",2.5]"#,               // a fraction in a long column
            r#"[1,"a"]"#,                     // too few cells
            r#"[1,"a",2.5,4]"#,               // too many
            r#"[1,"a",2.5,]"#,                // a trailing comma
            r#"[nul,"a",2.5]"#,               // a bad literal
            r#"[9223372036854775808,"a",1]"#, // beyond i64
            r#"[1,"a",2.5"#,                  // not complete yet
            r#"[1,"a",2"#,                    // not complete yet, in a number
        ] {
            let mut bytes = row.as_bytes().to_vec();
            if let Some(p) = bytes.windows(2).position(|w| w == [0xc2, 0x80]) {
                bytes.remove(p); // a lone continuation byte
            }
            let read = read_row(&bytes, &builders, &options, &mut tokens, &mut cells);
            assert_eq!(read, None, "{row}");
        }
    }
}
