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
    /// `dynamic` and unknown types: compact JSON (see [`compact_json_end`]).
    Json,
}

impl Lane {
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
}

/// The tokens and cells of the row being read, kept between rows to reuse their allocations.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    tokens: Vec<Token>,
    /// The cells of the last row [`read_row`] accepted, one per lane.
    pub(crate) cells: Vec<Cell>,
    /// Builds the values of dynamic cells ([`values`]).
    json: ValueBuilder,
}

/// One JSON token of a row as the first step finds it: its kind and its byte range in the row
/// (for a string, the content between the quotes).
#[derive(Debug, Clone, Copy)]
struct Token {
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
/// short by the end of the input so far) into `scratch.cells`, one per lane: the row's text.
/// Two steps: the tokens of the row, checked against the JSON grammar and the lanes, then (the
/// row's end known) one UTF-8 check of the whole row and the conversion of each token. `None`:
/// the row is not complete in `b`, or it needs the serde decoder (`scratch.cells` then holds
/// part of the row and is to be ignored).
pub(crate) fn read_row<'a>(b: &'a [u8], lanes: &[Lane], scratch: &mut Scratch) -> Option<&'a str> {
    let Scratch { tokens, cells, .. } = scratch;
    tokens.clear();
    cells.clear();
    if lanes.is_empty() || b.first() != Some(&b'[') {
        return None;
    }
    // Ranges are kept as u32; rows that long take the other path.
    let b = &b[..b.len().min(u32::MAX as usize)];
    let mut i = 1;
    let last = lanes.len() - 1;
    for (k, lane) in lanes.iter().enumerate() {
        i = skip_ws(b, i);
        let (token, next) = read_token(b, i, *lane)?;
        tokens.push(token);
        i = skip_ws(b, next);
        let sep = if k == last { b']' } else { b',' };
        if b.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
    }
    let row = std::str::from_utf8(&b[..i]).ok()?;
    for (token, lane) in tokens.iter().zip(lanes) {
        cells.push(convert(*token, row, *lane)?);
    }
    Some(row)
}

/// The token starting at `i` (not whitespace), if its kind suits the lane: the token and the
/// index just past it.
fn read_token(b: &[u8], i: usize, lane: Lane) -> Option<(Token, usize)> {
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
    match lane {
        Lane::Bool => match first {
            b't' => literal(b, i, b"true").map(|end| (token(Kind::True, i, end), end)),
            b'f' => literal(b, i, b"false").map(|end| (token(Kind::False, i, end), end)),
            _ => None,
        },
        Lane::Int | Lane::Long | Lane::Real => number(b),
        Lane::DateTime | Lane::TimeSpan | Lane::Guid | Lane::Text => string(b),
        Lane::Decimal if first == b'"' => string(b),
        Lane::Decimal => number(b),
        Lane::Json => {
            let end = compact_json_end(b, i)?;
            Some((token(Kind::Json, i, end), end))
        }
    }
}

/// The cell of a token for its lane (`row`: the row's text), or `None` for the serde decoder.
fn convert(token: Token, row: &str, lane: Lane) -> Option<Cell> {
    let (start, end) = (token.start as usize, token.end as usize);
    let t = row.get(start..end)?;
    let cell = match (lane, token.kind) {
        (_, Kind::Null) => Cell::Null,
        (Lane::Bool, Kind::True) => Cell::Bool(true),
        (Lane::Bool, Kind::False) => Cell::Bool(false),
        (Lane::Int, Kind::Integer) => Cell::Int(t.parse().ok()?),
        (Lane::Long, Kind::Integer) => Cell::Long(t.parse().ok()?),
        (Lane::Real, kind @ (Kind::Integer | Kind::Float)) => {
            // The serde decoders turn an integer into f64 with `as` (so "-0" is +0.0).
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
        (Lane::DateTime | Lane::TimeSpan | Lane::Guid, Kind::Str) if t.is_empty() => Cell::Null,
        (Lane::DateTime, Kind::Str) => Cell::DateTime(KustoDateTime::parse_bytes(t.as_bytes())?),
        (Lane::TimeSpan, Kind::Str) => Cell::TimeSpan(KustoTimespan::parse_bytes(t.as_bytes())?),
        (Lane::Guid, Kind::Str) => Cell::Guid(Uuid::try_parse(t).ok()?),
        (Lane::Text, Kind::Str) => Cell::Text(token.start, token.end),
        (Lane::Json, Kind::Json) => Cell::Json(token.start, token.end),
        (Lane::Decimal, Kind::Str | Kind::Integer | Kind::Float) => {
            if t.is_empty() {
                Cell::Null
            } else if is_canonical_decimal(t) {
                Cell::Decimal(token.start, token.end)
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(cell)
}

/// The values of the row the lane read last into `scratch` (`row`: the row's text), as the row
/// path gives them. `None` when a cell cannot become its value (not reached: the lane reads
/// only canonical decimals and compact JSON): the serde decoder then decodes the row.
pub(crate) fn values(scratch: &mut Scratch, row: &str) -> Option<Vec<KustoValue>> {
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
            Cell::Decimal(s, e) => KustoValue::Decimal(KustoDecimal::parse_plain(text(row, s, e))?),
            Cell::Text(s, e) => KustoValue::String(text(row, s, e).to_owned()),
            Cell::Json(s, e) => KustoValue::Dynamic(scratch.json.value(text(row, s, e))?),
        });
    }
    Some(values)
}

/// The text of a cell's byte range in its row (empty for a range that is not one: the lane
/// makes only valid ranges).
pub(crate) fn text(row: &str, start: u32, end: u32) -> &str {
    row.get(start as usize..end as usize).unwrap_or_default()
}

/// True when `text` is a decimal that [`KustoDecimal`](crate::types::KustoDecimal)'s parsing
/// and display give back unchanged: an optional `-`, an integer part without leading zeros (or
/// `0`), an optional fraction, at most 38 digits, and not a negative zero.
pub(crate) fn is_canonical_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text).as_bytes();
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
        && !(text.starts_with('-') && int.iter().chain(frac).all(|b| *b == b'0'))
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
            assert!(is_canonical_decimal(text), "{text}");
            assert_eq!(text.parse::<KustoDecimal>().unwrap().to_string(), text);
        }
        for text in [
            "-0", "-0.0", "00.5", "1.", ".5", "1e3", "+1", " 1", "1.2.3", "",
        ] {
            assert!(!is_canonical_decimal(text), "{text}");
        }
        let long = "1".repeat(39);
        assert!(!is_canonical_decimal(&long));
    }

    #[test]
    fn reads_each_lane_and_leaves_unusual_rows_to_the_serde_decoder() {
        let lanes = [Lane::Long, Lane::Text, Lane::Real];
        let mut scratch = Scratch::default();
        let row = r#"[1, "a" ,2.5],["next"#;
        let read = read_row(row.as_bytes(), &lanes, &mut scratch);
        assert_eq!(read, Some(r#"[1, "a" ,2.5]"#));
        assert_eq!(
            scratch.cells,
            [Cell::Long(1), Cell::Text(5, 6), Cell::Real(2.5)]
        );
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
            r#"[1,"a",1e400]"#,               // beyond f64
            r#"[1,"a",2.5"#,                  // not complete yet
            r#"[1,"a",2"#,                    // not complete yet, in a number
        ] {
            let mut bytes = row.as_bytes().to_vec();
            if let Some(p) = bytes.windows(2).position(|w| w == [0xc2, 0x80]) {
                bytes.remove(p); // a lone continuation byte
            }
            let read = read_row(&bytes, &lanes, &mut scratch);
            assert_eq!(read, None, "{row}");
        }
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
        let read = read_row(row.as_bytes(), &lanes, &mut scratch).map(str::len);
        assert_eq!(read, Some(row.len()));
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
                Cell::Decimal(s, e) | Cell::Json(s, e) => text(row, s, e),
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
                read_row(row.as_bytes(), &lanes, &mut scratch),
                None,
                "{row}"
            );
        }
    }
}
