//! `timespan`: a signed duration with 100 ns resolution.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueParseError;
use super::datetime::{TICKS_PER_DAY, TICKS_PER_SECOND, fraction_ticks};

/// A Kusto `timespan`: a signed number of 100 ns ticks (the .NET `TimeSpan`), so the full range
/// of about ±29,227 years, negative values and days included.
///
/// Parsed from the .NET "c" form `[-][d.]hh:mm:ss[.f…]` (1 to 9 fractional digits; digits below
/// 100 ns are dropped) or, as the JSON number form, from ticks ([`KustoTimespan::from_ticks`]).
/// Displayed in the "c" form the service emits: days only when non-zero, 7 fractional digits
/// only when non-zero.
///
/// ```
/// use kusto_data::types::KustoTimespan;
/// let t: KustoTimespan = "-2.00:00:02.0020002".parse()?;
/// assert_eq!(t.ticks(), -(2 * 864_000_000_000 + 20_020_002));
/// assert_eq!(t.to_string(), "-2.00:00:02.0020002");
/// assert_eq!(KustoTimespan::from_ticks(600_000_000).to_string(), "00:01:00");
/// # Ok::<(), kusto_data::types::ValueParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct KustoTimespan(i64);

impl KustoTimespan {
    /// The zero duration.
    pub const ZERO: KustoTimespan = KustoTimespan(0);

    /// From 100 ns ticks.
    pub const fn from_ticks(ticks: i64) -> Self {
        KustoTimespan(ticks)
    }

    /// 100 ns ticks (negative for negative spans).
    pub const fn ticks(self) -> i64 {
        self.0
    }

    /// Total nanoseconds. An `i128` because the range exceeds `i64` nanoseconds.
    pub fn nanos(self) -> i128 {
        i128::from(self.0) * 100
    }

    /// The span as a [`Duration`]; `None` when it is negative.
    pub fn to_std(self) -> Option<Duration> {
        let ticks = u64::try_from(self.0).ok()?;
        Some(Duration::new(
            ticks / TICKS_PER_SECOND as u64,
            (ticks % TICKS_PER_SECOND as u64) as u32 * 100,
        ))
    }

    /// From a [`Duration`], rounded down to 100 ns; `None` when it exceeds the range.
    pub fn from_std(duration: Duration) -> Option<Self> {
        i64::try_from(duration.as_nanos() / 100)
            .ok()
            .map(KustoTimespan)
    }
}

impl FromStr for KustoTimespan {
    type Err = ValueParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_ticks(s.trim().as_bytes())
            .map(KustoTimespan)
            .ok_or_else(|| ValueParseError::new("timespan", s))
    }
}

impl KustoTimespan {
    /// Parses the "c" form from bytes, as [`FromStr`] does (the form the service writes read
    /// at fixed positions first).
    pub(crate) fn parse_bytes(b: &[u8]) -> Option<KustoTimespan> {
        match canonical_ticks(b) {
            Some(ticks) => Some(KustoTimespan(ticks)),
            None => std::str::from_utf8(b).ok()?.parse().ok(),
        }
    }
}

/// The form the service writes, `[-][d.]hh:mm:ss[.f]` with two-digit clock parts and 1 to 7
/// fractional digits, read at fixed positions. `None` for any other text (which may still be
/// valid: [`parse_ticks`] decides) and for parts out of range.
fn canonical_ticks(text: &[u8]) -> Option<i64> {
    let (negative, b) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    // The clock starts at once, or after 1 to 8 digits of days and their dot.
    let clock_at = if b.get(2) == Some(&b':') {
        0
    } else {
        1 + b
            .iter()
            .take(9)
            .position(|&c| c == b'.')
            .filter(|&dot| dot > 0)?
    };
    let mut days: i64 = 0;
    for &c in &b[..clock_at.saturating_sub(1)] {
        let digit = c.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        days = days * 10 + i64::from(digit);
    }
    let c = b.get(clock_at..)?;
    if c.len() < 8 || c[2] != b':' || c[5] != b':' {
        return None;
    }
    let two = |i: usize| {
        let (hi, lo) = (c[i].wrapping_sub(b'0'), c[i + 1].wrapping_sub(b'0'));
        (hi < 10 && lo < 10).then(|| i64::from(hi) * 10 + i64::from(lo))
    };
    let (h, m, sec) = (two(0)?, two(3)?, two(6)?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let fraction = match &c[8..] {
        [] => 0,
        [b'.', f @ ..] if (1..=7).contains(&f.len()) => {
            let mut ticks = 0;
            for i in 0..7 {
                let digit = match f.get(i) {
                    Some(d) if d.is_ascii_digit() => i64::from(d - b'0'),
                    Some(_) => return None,
                    None => 0,
                };
                ticks = ticks * 10 + digit;
            }
            ticks
        }
        _ => return None,
    };
    let ticks = days
        .checked_mul(TICKS_PER_DAY)?
        .checked_add((h * 3600 + m * 60 + sec) * TICKS_PER_SECOND + fraction)?;
    Some(if negative { -ticks } else { ticks })
}

/// `[-][d.]hh:mm:ss[.fffffff]` to ticks: days of 1 to 8 digits (only when their dot comes before
/// any colon), hours (0-23), minutes and seconds (0-59) of one or two digits, and 1 to 9
/// fractional digits (past the 7th dropped). One pass over the bytes.
fn parse_ticks(text: &[u8]) -> Option<i64> {
    if let Some(ticks) = canonical_ticks(text) {
        return Some(ticks);
    }
    let (negative, b) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let lead = leading_digits(b);
    let (days, clock) = if b.get(lead) == Some(&b'.') {
        if lead == 0 || lead > 8 {
            return None;
        }
        (digits_value(&b[..lead]), &b[lead + 1..])
    } else {
        (0, b)
    };
    let (h, rest) = clock_part(clock)?;
    let (m, rest) = clock_part(rest.strip_prefix(b":")?)?;
    let (sec, rest) = clock_part(rest.strip_prefix(b":")?)?;
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let fraction = match rest.split_first() {
        None => 0,
        Some((b'.', f)) => fraction_ticks(f)?,
        Some(_) => return None,
    };
    let ticks = days
        .checked_mul(TICKS_PER_DAY)?
        .checked_add((h * 3600 + m * 60 + sec) * TICKS_PER_SECOND)?
        .checked_add(i64::from(fraction))?;
    Some(if negative { -ticks } else { ticks })
}

/// How many ASCII digits `b` starts with.
fn leading_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// The value of a run of ASCII digits (at most 18).
fn digits_value(b: &[u8]) -> i64 {
    b.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0'))
}

/// One `hh`, `mm` or `ss` part (one or two digits) and the bytes after it.
fn clock_part(b: &[u8]) -> Option<(i64, &[u8])> {
    let n = leading_digits(b);
    (1..=2)
        .contains(&n)
        .then(|| (digits_value(&b[..n]), &b[n..]))
}

impl KustoTimespan {
    /// The text [`Display`](fmt::Display) gives, written into `buf` without the formatting
    /// machinery: its length.
    pub(crate) fn write_text(self, buf: &mut [u8; 32]) -> usize {
        let ticks = self.0.unsigned_abs();
        let days = ticks / TICKS_PER_DAY as u64;
        let in_day = ticks % TICKS_PER_DAY as u64;
        let seconds = in_day / TICKS_PER_SECOND as u64;
        let fraction = in_day % TICKS_PER_SECOND as u64;
        let mut n = 0;
        if self.0 < 0 {
            buf[0] = b'-';
            n = 1;
        }
        if days != 0 {
            let mut digits = [0u8; 20];
            let mut start = digits.len();
            let mut rest = days;
            while rest != 0 {
                start -= 1;
                digits[start] = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            let len = digits.len() - start;
            buf[n..n + len].copy_from_slice(&digits[start..]);
            buf[n + len] = b'.';
            n += len + 1;
        }
        // Two digits and a separator after them, three times: hh:mm:ss.
        for (value, sep) in [
            (seconds / 3600, b':'),
            (seconds / 60 % 60, b':'),
            (seconds % 60, 0),
        ] {
            buf[n] = b'0' + (value / 10) as u8;
            buf[n + 1] = b'0' + (value % 10) as u8;
            n += 2;
            if sep != 0 {
                buf[n] = sep;
                n += 1;
            }
        }
        if fraction != 0 {
            buf[n] = b'.';
            let mut v = fraction;
            for i in (n + 1..n + 8).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            n += 8;
        }
        n
    }
}

impl fmt::Display for KustoTimespan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; 32];
        let n = self.write_text(&mut buf);
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for KustoTimespan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KustoTimespan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = KustoTimespan;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kusto timespan string or a number of ticks")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KustoTimespan, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<KustoTimespan, E> {
                Ok(KustoTimespan(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<KustoTimespan, E> {
                i64::try_from(v)
                    .map(KustoTimespan)
                    .map_err(|_| E::custom("timespan ticks out of range"))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_c_format_with_days_signs_and_fractions() {
        let cases = [
            ("00:00:00", 0),
            (
                "01:23:45.6789000",
                (3600 + 23 * 60 + 45) * TICKS_PER_SECOND + 6_789_000,
            ),
            (
                "1.00:00:01.0010001",
                TICKS_PER_DAY + TICKS_PER_SECOND + 10_001,
            ),
            (
                "-2.00:00:02.0020002",
                -(2 * TICKS_PER_DAY + 2 * TICKS_PER_SECOND + 20_002),
            ),
            ("1.01:01:01.0", TICKS_PER_DAY + 3661 * TICKS_PER_SECOND),
            ("-00:00:00.0000001", -1),
            ("00:00:01.123456789", TICKS_PER_SECOND + 1_234_567),
            ("10675199.02:48:05.4775807", i64::MAX),
        ];
        for (text, ticks) in cases {
            let t: KustoTimespan = text.parse().unwrap();
            assert_eq!(t.ticks(), ticks, "{text}");
        }
        assert_eq!(
            KustoTimespan::from_ticks(i64::MAX).to_string(),
            "10675199.02:48:05.4775807"
        );
        assert_eq!(
            KustoTimespan::from_ticks(-1).to_string(),
            "-00:00:00.0000001"
        );
        assert_eq!(
            "1.00:00:01.0010001"
                .parse::<KustoTimespan>()
                .unwrap()
                .to_string(),
            "1.00:00:01.0010001"
        );
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "1",
            "1:2",
            "24:00:00",
            "00:60:00",
            "00:00:60",
            "1.2.3",
            "a.00:00:00",
            "00:00:00.",
            "--1:00:00",
            "99999999999.00:00:00",
            "P1D",
        ] {
            assert!(bad.parse::<KustoTimespan>().is_err(), "{bad}");
        }
    }

    /// The parser before the one-pass rewrite, kept as the reference the rewrite must match.
    fn reference(text: &str) -> Option<i64> {
        fn num(t: &str) -> Option<i64> {
            if t.is_empty() || t.len() > 8 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        }
        fn clock(c: &str) -> Option<i64> {
            let mut parts = c.split(':');
            let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || [h, m, s].iter().any(|p| p.is_empty() || p.len() > 2) {
                return None;
            }
            let (h, m, s) = (num(h)?, num(m)?, num(s)?);
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
            Some((h * 3600 + m * 60 + s) * TICKS_PER_SECOND)
        }
        let text = text.trim();
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let frac = |f: Option<&str>| f.map_or(Some(0), |f| fraction_ticks(f.as_bytes()));
        let ticks = match body.split_once('.') {
            Some((days, rest)) if !days.contains(':') => {
                let days = num(days)?;
                let (c, f) = match rest.split_once('.') {
                    Some((c, f)) => (c, Some(f)),
                    None => (rest, None),
                };
                days.checked_mul(TICKS_PER_DAY)?
                    .checked_add(clock(c)?)?
                    .checked_add(i64::from(frac(f)?))?
            }
            Some((c, f)) => clock(c)?.checked_add(i64::from(frac(Some(f))?))?,
            None => clock(body)?,
        };
        Some(if negative { -ticks } else { ticks })
    }

    #[test]
    fn one_pass_parser_matches_the_reference() {
        let alphabet = b"0123456789:.-: 0.";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut texts: Vec<String> = Vec::new();
        for _ in 0..200_000 {
            let len = (next() % 24) as usize;
            texts.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                    .collect(),
            );
            // And near-valid ones: the canonical form with one byte changed.
            let t = KustoTimespan::from_ticks(next() as i64 >> (next() % 40)).to_string();
            texts.push(t.clone());
            let mut bytes = t.into_bytes();
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize];
            texts.push(String::from_utf8(bytes).unwrap());
        }
        let (mut accepted, mut fixed) = (0, 0);
        for text in &texts {
            let expected = reference(text);
            let got = text.parse::<KustoTimespan>().ok().map(KustoTimespan::ticks);
            assert_eq!(got, expected, "{text:?}");
            let bytes = KustoTimespan::parse_bytes(text.as_bytes()).map(KustoTimespan::ticks);
            assert_eq!(bytes, expected, "{text:?}");
            if let Some(ticks) = canonical_ticks(text.as_bytes()) {
                assert_eq!(Some(ticks), expected, "{text:?}");
                fixed += 1;
            }
            accepted += usize::from(got.is_some());
        }
        // Both outcomes are exercised, not only refusals, and the fixed-position reading too.
        assert!(accepted > 200_000, "{accepted} accepted");
        assert!(fixed > 150_000, "{fixed} read at fixed positions");
    }

    #[test]
    fn text_is_written_as_the_format_macros_wrote_it() {
        let reference = |t: KustoTimespan| {
            let ticks = t.0.unsigned_abs();
            let days = ticks / TICKS_PER_DAY as u64;
            let in_day = ticks % TICKS_PER_DAY as u64;
            let seconds = in_day / TICKS_PER_SECOND as u64;
            let fraction = in_day % TICKS_PER_SECOND as u64;
            let mut s = String::new();
            if t.0 < 0 {
                s.push('-');
            }
            if days != 0 {
                s.push_str(&format!("{days}."));
            }
            let (h, m, sec) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
            s.push_str(&format!("{h:02}:{m:02}:{sec:02}"));
            if fraction != 0 {
                s.push_str(&format!(".{fraction:07}"));
            }
            s
        };
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..100_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let ticks = match i % 4 {
                0 => state as i64,
                1 => (state as i64) >> (state % 60),
                2 => (state as i64 >> 20) / 10_000_000 * 10_000_000,
                _ => [0, 1, -1, i64::MAX, i64::MIN, i64::MIN + 1][(state % 6) as usize],
            };
            let t = KustoTimespan(ticks);
            assert_eq!(t.to_string(), reference(t), "{ticks}");
        }
    }

    #[test]
    fn std_duration_conversions() {
        let t = KustoTimespan::from_ticks(15_000_001);
        assert_eq!(t.to_std(), Some(Duration::new(1, 500_000_100)));
        assert_eq!(KustoTimespan::from_ticks(-1).to_std(), None);
        assert_eq!(
            KustoTimespan::from_std(Duration::from_millis(1)),
            Some(KustoTimespan::from_ticks(10_000))
        );
    }
}
