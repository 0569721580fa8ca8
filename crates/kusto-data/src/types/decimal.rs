//! `decimal`: an exact decimal number, never routed through a float.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueParseError;

/// Most significant digits a [`KustoDecimal`] holds (an `i128` holds any 38-digit number; Kusto
/// itself produces at most 34).
pub const MAX_DECIMAL_DIGITS: u32 = 38;

/// A Kusto `decimal`: `mantissa × 10^-scale`, exact, with up to 38 significant digits and a
/// scale of 0 to 38. The scale the service sent is kept (`"12.3400"` displays as `12.3400`),
/// while equality and ordering are numeric (`12.34 == 12.3400`).
///
/// Parsed from the service's string form (`"2.00000000000001"`, also `-`, `+` and an exponent
/// `1.5E-3`), never through `f64`.
///
/// Reading text ([`FromStr`], and every response cell of type `decimal`) takes time linear in
/// the text's length and independent of the exponent's value, whatever the input (a cell may be
/// hundreds of MiB): no rounding, and these limits:
/// - the exponent is an `i32` written in decimal (`1e99999999999` is an error);
/// - leading zeros are not significant; trailing fractional zeros are dropped only as far as
///   needed to fit 38 significant digits (`1.000…0` with a million zeros reads as `1` at scale
///   37); more than 38 other digits is an error;
/// - zero with any exponent is exactly zero, its scale clamped to 0..=38 (`0e2147483647` is `0`,
///   `0e-2147483648` is `0` at scale 38);
/// - a non-zero value whose exponent puts it outside the range (more than 38 digits before the
///   point, or a non-zero digit more than 38 places after it) is a [`ValueParseError`], not
///   zero and not a saturated value (`1e38` and `1e-39` are errors; `1e37` and `1e-38` are
///   not).
///
/// ```
/// use kusto_data::types::KustoDecimal;
/// let d: KustoDecimal = "79228162514264337593543950335.123".parse()?;
/// assert_eq!(d.mantissa(), 79228162514264337593543950335123);
/// assert_eq!(d.scale(), 3);
/// assert_eq!(d.to_string(), "79228162514264337593543950335.123");
/// assert_eq!("12.3400".parse::<KustoDecimal>()?, "12.34".parse::<KustoDecimal>()?);
/// # Ok::<(), kusto_data::types::ValueParseError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct KustoDecimal {
    mantissa: i128,
    scale: u8,
}

impl KustoDecimal {
    /// Zero (scale 0).
    pub const ZERO: KustoDecimal = KustoDecimal {
        mantissa: 0,
        scale: 0,
    };

    /// `mantissa × 10^-scale`; `None` when `scale` exceeds 38 or the mantissa has more than
    /// 38 digits.
    pub fn new(mantissa: i128, scale: u32) -> Option<Self> {
        (scale <= MAX_DECIMAL_DIGITS && mantissa.unsigned_abs() < 10u128.pow(MAX_DECIMAL_DIGITS))
            .then_some(KustoDecimal {
                mantissa,
                scale: scale as u8,
            })
    }

    /// A decimal written plainly, `[-][digits][.digits]` with at most 38 digits in all (no `+`,
    /// no exponent, no whitespace), read in one pass: what [`FromStr`] gives for such text.
    /// `None` for any other text (which [`FromStr`] may still read).
    pub(crate) fn parse_plain(text: &str) -> Option<KustoDecimal> {
        let (negative, body) = match text.as_bytes().split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text.as_bytes()),
        };
        if body.len() > MAX_DECIMAL_DIGITS as usize + 1 {
            return None;
        }
        let mut mantissa: u128 = 0;
        let (mut digits, mut dot) = (0usize, None);
        for (i, &c) in body.iter().enumerate() {
            match c {
                b'0'..=b'9' if digits < MAX_DECIMAL_DIGITS as usize => {
                    mantissa = mantissa * 10 + u128::from(c - b'0');
                    digits += 1;
                }
                b'.' if dot.is_none() => dot = Some(i),
                _ => return None,
            }
        }
        if digits == 0 {
            return None;
        }
        let scale = dot.map_or(0, |at| body.len() - at - 1);
        let mantissa = i128::try_from(mantissa).ok()?;
        KustoDecimal::new(if negative { -mantissa } else { mantissa }, scale as u32)
    }

    /// The unscaled integer value.
    pub fn mantissa(self) -> i128 {
        self.mantissa
    }

    /// Number of digits after the decimal point.
    pub fn scale(self) -> u32 {
        u32::from(self.scale)
    }

    /// The mantissa rescaled to `scale` digits; `None` if that would drop non-zero digits or
    /// overflow 38 digits. Used to build Arrow `Decimal128` values.
    pub fn mantissa_at_scale(self, scale: u32) -> Option<i128> {
        let current = self.scale();
        if scale >= current {
            let m = self
                .mantissa
                .checked_mul(10i128.checked_pow(scale - current)?)?;
            (m.unsigned_abs() < 10u128.pow(MAX_DECIMAL_DIGITS)).then_some(m)
        } else {
            let factor = 10i128.pow(current - scale);
            (self.mantissa % factor == 0).then_some(self.mantissa / factor)
        }
    }

    /// The nearest `f64`. Lossy by nature: use it only where a float is wanted.
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// Same value with trailing fractional zeros removed.
    fn normalized(self) -> KustoDecimal {
        let mut d = self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }
}

impl PartialEq for KustoDecimal {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.mantissa == b.mantissa && a.scale == b.scale
    }
}

impl Eq for KustoDecimal {}

impl std::hash::Hash for KustoDecimal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let n = self.normalized();
        n.mantissa.hash(state);
        n.scale.hash(state);
    }
}

impl FromStr for KustoDecimal {
    type Err = ValueParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(d) = KustoDecimal::parse_plain(s) {
            return Ok(d);
        }
        let err = || ValueParseError::new("decimal", s);
        let text = s.trim();
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (number, exponent) = match body.find(['e', 'E']) {
            Some(at) => {
                let exp: i32 = body[at + 1..].parse().map_err(|_| err())?;
                (&body[..at], exp)
            }
            None => (body, 0),
        };
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part
                .bytes()
                .chain(frac_part.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        // Significant digits: the digits after the leading zeros of the whole digit string.
        // Trailing fractional zeros are dropped only as far as needed to fit in 38 digits.
        // Counted once each (one pass over the text, whatever the runs of zeros).
        let leading = int_part
            .bytes()
            .chain(frac_part.bytes())
            .take_while(|b| *b == b'0')
            .count();
        let significant = int_part.len() + frac_part.len() - leading;
        let max = MAX_DECIMAL_DIGITS as usize;
        let mut frac = frac_part;
        if significant > max {
            // A non-zero digit exists, and every trailing fractional zero comes after it:
            // dropping one lowers the significant digits by one.
            let trailing = frac.len() - frac.trim_end_matches('0').len();
            let drop = trailing.min(significant - max);
            if significant - drop > max {
                return Err(err());
            }
            frac = &frac[..frac.len() - drop];
        }
        // At most 38 significant digits: no overflow, and the leading zeros add nothing.
        let mut mantissa: i128 = 0;
        for b in int_part.bytes().chain(frac.bytes()) {
            mantissa = mantissa * 10 + i128::from(b - b'0');
        }
        let mut scale = i64::try_from(frac.len()).map_err(|_| err())? - i64::from(exponent);
        if mantissa == 0 {
            // Zero stays zero whatever the exponent (`0e2000000000` once took two billion
            // steps of a loop through the exponent).
            scale = scale.max(0);
        }
        if scale < 0 {
            // One multiplication by 10^-scale, not one per unit of the exponent; any power
            // past 10^38 overflows (the mantissa is not zero here).
            let factor = u32::try_from(-scale)
                .ok()
                .and_then(|power| 10i128.checked_pow(power))
                .ok_or_else(err)?;
            mantissa = mantissa.checked_mul(factor).ok_or_else(err)?;
            scale = 0;
        }
        // At most 38 steps: the mantissa has at most 38 digits.
        while scale > i64::from(MAX_DECIMAL_DIGITS) && mantissa % 10 == 0 && mantissa != 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if mantissa == 0 {
            scale = scale.min(i64::from(MAX_DECIMAL_DIGITS));
        }
        let scale = u32::try_from(scale).map_err(|_| err())?;
        KustoDecimal::new(if negative { -mantissa } else { mantissa }, scale).ok_or_else(err)
    }
}

impl KustoDecimal {
    /// The text [`Display`](fmt::Display) gives, written into `buf` without the formatting
    /// machinery: its length (at most 41: a sign, `0.` and 38 digits).
    pub(crate) fn write_text(self, buf: &mut [u8; 48]) -> usize {
        // The digits of the mantissa, from the right.
        let mut digits = [0u8; 40];
        let mut start = digits.len();
        let mut rest = self.mantissa.unsigned_abs();
        // 128-bit division is slow: take the digits by 64 bits once the rest fits.
        while u64::try_from(rest).is_err() {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let mut rest = rest as u64;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 || start == 0 {
                break;
            }
        }
        let digits = &digits[start..];
        let scale = usize::from(self.scale);
        let mut n = 0;
        let mut put = |bytes: &[u8], n: &mut usize| {
            buf[*n..*n + bytes.len()].copy_from_slice(bytes);
            *n += bytes.len();
        };
        if self.mantissa < 0 {
            put(b"-", &mut n);
        }
        if scale == 0 {
            put(digits, &mut n);
        } else if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            put(int, &mut n);
            put(b".", &mut n);
            put(frac, &mut n);
        } else {
            put(b"0.", &mut n);
            for _ in digits.len()..scale {
                put(b"0", &mut n);
            }
            put(digits, &mut n);
        }
        n
    }
}

impl fmt::Display for KustoDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; 48];
        let n = self.write_text(&mut buf);
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for KustoDecimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KustoDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = KustoDecimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kusto decimal string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KustoDecimal, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<KustoDecimal, E> {
                Ok(KustoDecimal {
                    mantissa: i128::from(v),
                    scale: 0,
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<KustoDecimal, E> {
                Ok(KustoDecimal {
                    mantissa: i128::from(v),
                    scale: 0,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    /// [`KustoDecimal::from_str`] without its plain-text reading (what it was before).
    fn general(s: &str) -> Option<KustoDecimal> {
        let text = s.trim();
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (number, exponent) = match body.find(['e', 'E']) {
            Some(at) => (&body[..at], body[at + 1..].parse::<i32>().ok()?),
            None => (body, 0),
        };
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part
                .bytes()
                .chain(frac_part.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let digits_of = |i: &str, f: &str| {
            let all = i.len() + f.len();
            all - i
                .bytes()
                .chain(f.bytes())
                .take_while(|b| *b == b'0')
                .count()
                .min(all)
        };
        let mut frac = frac_part;
        while digits_of(int_part, frac) > MAX_DECIMAL_DIGITS as usize && frac.ends_with('0') {
            frac = &frac[..frac.len() - 1];
        }
        if digits_of(int_part, frac) > MAX_DECIMAL_DIGITS as usize {
            return None;
        }
        let mut mantissa: i128 = 0;
        for b in int_part.bytes().chain(frac.bytes()) {
            mantissa = mantissa * 10 + i128::from(b - b'0');
        }
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exponent);
        if mantissa == 0 {
            // The same fix as in `from_str` (without it, `0e2000000000` loops for minutes).
            scale = scale.max(0);
        }
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        while scale > i64::from(MAX_DECIMAL_DIGITS) && mantissa % 10 == 0 && mantissa != 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if mantissa == 0 {
            scale = scale.min(i64::from(MAX_DECIMAL_DIGITS));
        }
        KustoDecimal::new(
            if negative { -mantissa } else { mantissa },
            u32::try_from(scale).ok()?,
        )
    }

    #[test]
    fn text_is_written_as_before() {
        // The Display of the previous version, digit by digit in 128 bits.
        let reference = |d: KustoDecimal| {
            let digits = d.mantissa.unsigned_abs().to_string();
            let scale = usize::from(d.scale);
            let sign = if d.mantissa < 0 { "-" } else { "" };
            if scale == 0 {
                format!("{sign}{digits}")
            } else if digits.len() > scale {
                let (int, frac) = digits.split_at(digits.len() - scale);
                format!("{sign}{int}.{frac}")
            } else {
                format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
            }
        };
        let max = 10i128.pow(MAX_DECIMAL_DIGITS) - 1;
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..50_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let wide = (i128::from(state) << 64 | i128::from(state.rotate_left(17))) % max;
            let mantissa = match i % 4 {
                0 => wide,
                1 => -wide,
                2 => i128::from(state as i64 >> (state % 64)),
                _ => [0, 1, -1, max, -max][(state % 5) as usize],
            };
            let d = KustoDecimal::new(mantissa, (state % 39) as u32).unwrap();
            assert_eq!(d.to_string(), reference(d), "{mantissa} {}", d.scale);
        }
    }

    #[test]
    fn plain_reading_matches_the_general_parser() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet = b"0123456789000000.-+e ";
        let mut plain = 0;
        for _ in 0..200_000 {
            let len = next(45) as usize;
            let text: String = (0..len)
                .map(|_| char::from(alphabet[next(alphabet.len() as u64) as usize]))
                .collect();
            let expected = general(&text);
            let got = text.parse::<KustoDecimal>().ok();
            // Same value and same scale (equality alone is numeric).
            assert_eq!(
                got.map(|d| (d.mantissa(), d.scale())),
                expected.map(|d| (d.mantissa(), d.scale())),
                "{text:?}"
            );
            if let Some(d) = KustoDecimal::parse_plain(&text) {
                assert_eq!(
                    Some((d.mantissa(), d.scale())),
                    expected.map(|d| (d.mantissa(), d.scale())),
                    "{text:?}"
                );
                plain += 1;
            }
        }
        assert!(plain > 10_000, "{plain}");
        for text in ["12.3400", "-0", "007.50", "5.", ".5", &"9".repeat(38)] {
            assert!(KustoDecimal::parse_plain(text).is_some(), "{text}");
        }
        for text in ["", ".", "-", "1.2.3", "+1", "1e3", " 1", &"9".repeat(39)] {
            assert!(KustoDecimal::parse_plain(text).is_none(), "{text}");
        }
        // Zero with a huge exponent is zero, at once (it looped through the exponent).
        for (text, scale) in [("0e2147483647", 0), ("-0.00e-2147483648", 38)] {
            let d: KustoDecimal = text.parse().unwrap();
            assert_eq!((d.mantissa(), d.scale()), (0, scale), "{text}");
        }
    }

    /// Texts built from the parts that matter (signs, runs of zeros, fractions, exponents up to
    /// the ends of `i32` and past them) read exactly as the reference (the previous parser,
    /// `general`: a loop through the exponent and a rescan per trailing zero) reads them.
    #[test]
    fn adversarial_shapes_match_the_reference() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let exponents = [
            "0",
            "1",
            "-1",
            "37",
            "38",
            "39",
            "-38",
            "-39",
            "-40",
            "76",
            "-76",
            "+5",
            "007",
            "2147483647",
            "-2147483648",
            "2147483648",
            "-2147483649",
            "99999999999",
            "",
            "-",
        ];
        let mut read = 0;
        for _ in 0..100_000 {
            let mut text = String::new();
            text.push_str(["", "-", "+", " "][next(4) as usize]);
            let run = |text: &mut String, n: u64, next: &mut dyn FnMut(u64) -> u64| {
                for _ in 0..n {
                    let digit = match next(3) {
                        0 => b'0' + next(10) as u8,
                        _ => b'0',
                    };
                    text.push(char::from(digit));
                }
            };
            let n = next(3) * next(30);
            run(&mut text, n, &mut next);
            if next(4) != 0 {
                text.push('1');
                let n = next(45);
                run(&mut text, n, &mut next);
            }
            if next(2) == 0 {
                text.push('.');
                let n = next(3) * next(30);
                run(&mut text, n, &mut next);
                if next(2) == 0 {
                    text.push(char::from(b'1' + next(9) as u8));
                }
                text.push_str(&"0".repeat(next(3) as usize * next(40) as usize));
            }
            if next(2) == 0 {
                text.push(['e', 'E'][next(2) as usize]);
                text.push_str(exponents[next(exponents.len() as u64) as usize]);
            }
            let expected = general(&text);
            let got = text.parse::<KustoDecimal>().ok();
            assert_eq!(
                got.map(|d| (d.mantissa(), d.scale())),
                expected.map(|d| (d.mantissa(), d.scale())),
                "{text:?}"
            );
            read += usize::from(got.is_some());
        }
        assert!(read > 20_000, "{read}");
    }

    /// Long runs of zeros and extreme exponents: one pass each (the reference rescans the text
    /// per trailing zero, which on these would not finish), with the documented results.
    #[test]
    fn long_zero_runs_and_extreme_exponents() {
        let zeros = "0".repeat(8 << 20);
        let cases = [
            (format!("1.{zeros}"), Some((10i128.pow(37), 37))),
            (
                format!("-{zeros}1.5{zeros}"),
                Some((-15 * 10i128.pow(36), 37)),
            ),
            (format!("0.{zeros}"), Some((0, 38))),
            (format!("{zeros}.{zeros}e-2147483648"), Some((0, 38))),
            (format!("{zeros}e2147483647"), Some((0, 0))),
            (format!("0.{zeros}1"), None),
            (format!("1{zeros}"), None),
            (format!("1{zeros}e-{}", 8 << 20), None),
            (format!("1e{zeros}5"), Some((100_000, 0))),
            ("1e37".to_owned(), Some((10i128.pow(37), 0))),
            ("1e-38".to_owned(), Some((1, 38))),
            ("1e38".to_owned(), None),
            ("1e-39".to_owned(), None),
            ("5e2147483647".to_owned(), None),
            ("5e-2147483648".to_owned(), None),
            ("5000e-2147483648".to_owned(), None),
            ("1e99999999999".to_owned(), None),
            ("0e99999999999".to_owned(), None),
        ];
        for (text, expected) in cases {
            let got = text.parse::<KustoDecimal>();
            let shown = &text[..text.len().min(40)];
            assert_eq!(
                got.as_ref().ok().map(|d| (d.mantissa(), d.scale())),
                expected,
                "{shown}"
            );
            if let Err(e) = got {
                assert!(e.to_string().contains("decimal"), "{shown}: {e}");
            }
        }
    }

    use super::*;

    #[test]
    fn parses_exactly() {
        let cases = [
            ("2.00000000000001", 200000000000001, 14, "2.00000000000001"),
            ("-0.5", -5, 1, "-0.5"),
            ("12.3400", 123400, 4, "12.3400"),
            ("1.5E-3", 15, 4, "0.0015"),
            ("1e3", 1000, 0, "1000"),
            ("0", 0, 0, "0"),
            (".25", 25, 2, "0.25"),
            ("+7.", 7, 0, "7"),
            (
                "9999999999999999999999999999999999",
                9999999999999999999999999999999999,
                0,
                "9999999999999999999999999999999999",
            ),
            (
                "0.0000000000000000000000000000000001",
                1,
                34,
                "0.0000000000000000000000000000000001",
            ),
        ];
        for (text, mantissa, scale, shown) in cases {
            let d: KustoDecimal = text.parse().unwrap();
            assert_eq!((d.mantissa(), d.scale()), (mantissa, scale), "{text}");
            assert_eq!(d.to_string(), shown, "{text}");
        }
        let d: KustoDecimal = "1.10".parse().unwrap();
        assert_eq!(d.mantissa_at_scale(5), Some(110000));
        assert_eq!(d.mantissa_at_scale(1), Some(11));
        assert_eq!(d.mantissa_at_scale(0), None);
    }

    #[test]
    fn rejects_malformed_or_too_long() {
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "abc",
            "1e",
            "NaN",
            "123456789012345678901234567890123456789",
            "1e400",
        ] {
            assert!(bad.parse::<KustoDecimal>().is_err(), "{bad}");
        }
    }
}
