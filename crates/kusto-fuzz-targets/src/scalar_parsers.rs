//! `scalar_parsers`: the `decimal`, `datetime` and `timespan` text parsers on texts of
//! adversarial lengths (long runs of digits or zeros, huge exponents, long fractions), which a
//! byte-level fuzzer with a few KiB per input would rarely build by itself.
//!
//! Run with a per-input time limit (`cargo xtask fuzz` passes `-timeout`), a parser that is
//! quadratic in the length or linear in an exponent's value is a finding (a timeout), not only a
//! parser that panics.

use kusto_data::{KustoDateTime, KustoDecimal, KustoTimespan, KustoValue};

use crate::{check_cell, round_trip};

/// The byte that starts a run in the input: never part of UTF-8 text.
pub const RUN: u8 = 0xFF;
/// Bytes one unit of a run's count stands for: a run is 1 KiB to 256 KiB long (quadratic work
/// on 256 KiB takes minutes; linear work a millisecond).
pub const RUN_UNIT: usize = 1024;
/// The longest text runs may build (the rest of the input is dropped past it).
pub const MAX_TEXT: usize = 1 << 20;

/// The text an input stands for: its bytes as they are, except that `0xFF n c` stands for the
/// byte `c` repeated `(n + 1) × 1024` times; at most 1 MiB in all.
pub fn expand(program: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    let mut rest = program;
    while let Some((&b, tail)) = rest.split_first() {
        if text.len() >= MAX_TEXT {
            break;
        }
        match (b, tail) {
            (RUN, [n, c, tail @ ..]) => {
                let len = (usize::from(*n) + 1) * RUN_UNIT;
                text.resize(text.len() + len.min(MAX_TEXT - text.len()), *c);
                rest = tail;
            }
            _ => {
                text.push(b);
                rest = tail;
            }
        }
    }
    text
}

/// `scalar_parsers`: the first byte picks the parser (decimal, datetime, timespan, by its value
/// modulo 3), the rest is expanded by [`expand`] into the text.
///
/// Every parser: `FromStr` never panics; a parsed value's `Display` parses back to the same
/// value; a v2 cell holding the text as a JSON string decodes to the `FromStr` value.
/// `decimal` besides: zeros put before a text that starts with a digit change nothing (same
/// mantissa and scale, or an error both times); a parsed text without an exponent reads the
/// same with `e0` after it and the same number with a `0` after its fraction; with
/// `e2147483647` or `e-2147483648` after it, it reads only when it is zero.
pub fn scalar_parsers(data: &[u8]) {
    let Some((&selector, program)) = data.split_first() else {
        return;
    };
    let text = expand(program);
    let Ok(text) = std::str::from_utf8(&text) else {
        return;
    };
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    match selector % 3 {
        0 => {
            round_trip::<KustoDecimal>(text);
            let parsed = text.parse::<KustoDecimal>().ok();
            check_cell("decimal", &quoted, text, parsed.map(KustoValue::Decimal));
            decimal_properties(text, parsed);
        }
        1 => {
            round_trip::<KustoDateTime>(text);
            let parsed = text.parse::<KustoDateTime>().ok();
            check_cell("datetime", &quoted, text, parsed.map(KustoValue::DateTime));
        }
        _ => {
            round_trip::<KustoTimespan>(text);
            let parsed = text.parse::<KustoTimespan>().ok();
            check_cell("timespan", &quoted, text, parsed.map(KustoValue::TimeSpan));
        }
    }
}

/// Mantissa and scale of a parse (equality of decimals alone is numeric).
fn exact(text: &str) -> Option<(i128, u32)> {
    text.parse::<KustoDecimal>()
        .ok()
        .map(|d| (d.mantissa(), d.scale()))
}

fn decimal_properties(text: &str, parsed: Option<KustoDecimal>) {
    let parsed_exact = parsed.map(|d| (d.mantissa(), d.scale()));
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        let padded = format!("000{text}");
        assert_eq!(
            exact(&padded),
            parsed_exact,
            "leading zeros before {text:?}"
        );
    }
    let Some(d) = parsed else {
        return;
    };
    if text != text.trim() || text.contains(['e', 'E']) {
        return;
    }
    assert_eq!(
        exact(&format!("{text}e0")),
        parsed_exact,
        "{text:?} with e0"
    );
    if text.contains('.') {
        let longer = format!("{text}0");
        let again = longer.parse::<KustoDecimal>().unwrap_or_else(|e| {
            panic!("{text:?} reads but not with one more fractional zero: {e}")
        });
        assert_eq!(again, d, "{text:?} with one more fractional zero");
    }
    for exponent in ["e2147483647", "e-2147483648"] {
        let far = format!("{text}{exponent}");
        match far.parse::<KustoDecimal>() {
            Ok(z) => assert!(
                d.mantissa() == 0 && z.mantissa() == 0,
                "{text:?}{exponent} reads as {z:?}"
            ),
            Err(_) => assert_ne!(d.mantissa(), 0, "zero with {exponent} must read as zero"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_expand_and_are_capped() {
        assert_eq!(expand(b"1.5"), b"1.5");
        let text = expand(&[b'1', b'.', RUN, 0, b'0', b'e', b'5']);
        assert_eq!(text.len(), 3 + RUN_UNIT + 1);
        assert!(text[2..2 + RUN_UNIT].iter().all(|b| *b == b'0'));
        assert_eq!(&text[2 + RUN_UNIT..], b"e5");
        // A run cut short at the end of the input is kept as bytes.
        assert_eq!(expand(&[b'7', RUN, 3]), [b'7', RUN, 3]);
        let many: Vec<u8> = [RUN, 255, b'9'].repeat(10);
        assert_eq!(expand(&many).len(), MAX_TEXT);
    }
}
