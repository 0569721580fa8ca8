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
        let err = || ValueParseError::new("timespan", s);
        let text = s.trim();
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (clock, fraction) = match body.split_once('.') {
            // "d.hh:mm:ss[.f]" has its first dot before the first colon.
            Some((days, rest)) if !days.contains(':') => {
                let days: i64 = parse_num(days).ok_or_else(err)?;
                let (clock, fraction) = match rest.split_once('.') {
                    Some((clock, fraction)) => (clock, Some(fraction)),
                    None => (rest, None),
                };
                let ticks = clock_ticks(clock)
                    .zip(fraction.map_or(Some(0), |f| fraction_ticks(f.as_bytes())))
                    .and_then(|(c, f)| {
                        days.checked_mul(TICKS_PER_DAY)?
                            .checked_add(c)?
                            .checked_add(i64::from(f))
                    })
                    .ok_or_else(err)?;
                return Ok(KustoTimespan(if negative { -ticks } else { ticks }));
            }
            Some((clock, fraction)) => (clock, Some(fraction)),
            None => (body, None),
        };
        let ticks = clock_ticks(clock)
            .zip(fraction.map_or(Some(0), |f| fraction_ticks(f.as_bytes())))
            .and_then(|(c, f)| c.checked_add(i64::from(f)))
            .ok_or_else(err)?;
        Ok(KustoTimespan(if negative { -ticks } else { ticks }))
    }
}

fn parse_num(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `hh:mm:ss` to ticks (hours 0-23, minutes and seconds 0-59).
fn clock_ticks(clock: &str) -> Option<i64> {
    let mut parts = clock.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [h, m, s].iter().any(|p| p.is_empty() || p.len() > 2) {
        return None;
    }
    let (h, m, s) = (parse_num(h)?, parse_num(m)?, parse_num(s)?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some((h * 3600 + m * 60 + s) * TICKS_PER_SECOND)
}

impl fmt::Display for KustoTimespan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ticks = self.0.unsigned_abs();
        if self.0 < 0 {
            f.write_str("-")?;
        }
        let days = ticks / TICKS_PER_DAY as u64;
        let in_day = ticks % TICKS_PER_DAY as u64;
        let seconds = in_day / TICKS_PER_SECOND as u64;
        let fraction = in_day % TICKS_PER_SECOND as u64;
        if days != 0 {
            write!(f, "{days}.")?;
        }
        write!(
            f,
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )?;
        if fraction != 0 {
            write!(f, ".{fraction:07}")?;
        }
        Ok(())
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
