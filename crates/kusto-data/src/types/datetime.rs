//! `datetime`: a UTC instant with 100 ns resolution over 0001-01-01 .. 9999-12-31.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueParseError;

pub(crate) const TICKS_PER_SECOND: i64 = 10_000_000;
pub(crate) const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;
/// Days from 0001-01-01 to 1970-01-01.
const UNIX_EPOCH_DAYS: i64 = 719_162;
/// Ticks from 0001-01-01 to 1970-01-01.
pub(crate) const UNIX_EPOCH_TICKS: i64 = UNIX_EPOCH_DAYS * TICKS_PER_DAY;
/// Ticks of 9999-12-31T23:59:59.9999999Z.
const MAX_TICKS: i64 = 3_155_378_975_999_999_999;

/// A Kusto `datetime`: an instant in UTC counted in 100 ns ticks since 0001-01-01T00:00:00Z,
/// the resolution and range of the service (0001-01-01 to 9999-12-31T23:59:59.9999999Z).
///
/// Parsed from the wire form `yyyy-MM-ddTHH:mm:ss[.f…]Z` with 0 to 9 fractional digits (digits
/// below 100 ns are dropped: the service never sends them). A space instead of `T` and a missing
/// `Z` are accepted. Nothing is truncated to microseconds.
///
/// ```
/// use kusto_data::types::KustoDateTime;
/// let t: KustoDateTime = "2024-05-01T10:20:30.1234567Z".parse()?;
/// assert_eq!(t.unix_nanos(), 1_714_558_830_123_456_700);
/// assert_eq!(t.to_string(), "2024-05-01T10:20:30.1234567Z");
/// assert_eq!(KustoDateTime::MIN.to_string(), "0001-01-01T00:00:00Z");
/// # Ok::<(), kusto_data::types::ValueParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KustoDateTime(i64);

impl KustoDateTime {
    /// 0001-01-01T00:00:00Z.
    pub const MIN: KustoDateTime = KustoDateTime(0);
    /// 9999-12-31T23:59:59.9999999Z.
    pub const MAX: KustoDateTime = KustoDateTime(MAX_TICKS);
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: KustoDateTime = KustoDateTime(UNIX_EPOCH_TICKS);

    /// From 100 ns ticks since 0001-01-01T00:00:00Z; `None` outside the supported range.
    pub fn from_ticks(ticks: i64) -> Option<Self> {
        (0..=MAX_TICKS)
            .contains(&ticks)
            .then_some(KustoDateTime(ticks))
    }

    /// 100 ns ticks since 0001-01-01T00:00:00Z (the .NET `DateTime.Ticks`).
    pub fn ticks(self) -> i64 {
        self.0
    }

    /// 100 ns ticks since the Unix epoch (negative before 1970). Always fits an `i64`.
    pub fn unix_ticks(self) -> i64 {
        self.0 - UNIX_EPOCH_TICKS
    }

    /// From 100 ns ticks since the Unix epoch; `None` outside the supported range.
    pub fn from_unix_ticks(ticks: i64) -> Option<Self> {
        ticks
            .checked_add(UNIX_EPOCH_TICKS)
            .and_then(KustoDateTime::from_ticks)
    }

    /// Nanoseconds since the Unix epoch. An `i128` because the range exceeds `i64` nanoseconds.
    pub fn unix_nanos(self) -> i128 {
        i128::from(self.unix_ticks()) * 100
    }

    /// From nanoseconds since the Unix epoch, rounded down to 100 ns; `None` outside the range.
    pub fn from_unix_nanos(nanos: i128) -> Option<Self> {
        let ticks = i64::try_from(nanos.div_euclid(100)).ok()?;
        KustoDateTime::from_unix_ticks(ticks)
    }

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let ticks = self.unix_ticks();
        let magnitude = Duration::new(
            ticks.unsigned_abs() / TICKS_PER_SECOND as u64,
            (ticks.unsigned_abs() % TICKS_PER_SECOND as u64) as u32 * 100,
        );
        #[allow(
            clippy::arithmetic_side_effects,
            reason = "years 1 to 9999 are within SystemTime's range on every platform Rust supports"
        )]
        if ticks >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }

    /// From a [`SystemTime`], rounded down to 100 ns; `None` outside the supported range.
    pub fn from_system_time(time: SystemTime) -> Option<Self> {
        let nanos = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i128::try_from(after.as_nanos()).ok()?,
            Err(before) => -i128::try_from(before.duration().as_nanos()).ok()?,
        };
        KustoDateTime::from_unix_nanos(nanos)
    }

    /// Builds a date-time from calendar parts (UTC); `None` when a part is out of range.
    pub fn from_parts(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        ticks_in_second: u32,
    ) -> Option<Self> {
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
            || i64::from(ticks_in_second) >= TICKS_PER_SECOND
        {
            return None;
        }
        let days = days_from_civil(i64::from(year), month, day) + UNIX_EPOCH_DAYS;
        let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        KustoDateTime::from_ticks(
            days * TICKS_PER_DAY + seconds * TICKS_PER_SECOND + i64::from(ticks_in_second),
        )
    }

    /// The calendar parts `(year, month, day, hour, minute, second, ticks within the second)`.
    pub fn to_parts(self) -> (i32, u32, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(TICKS_PER_DAY);
        let in_day = self.0.rem_euclid(TICKS_PER_DAY);
        let (year, month, day) = civil_from_days(days - UNIX_EPOCH_DAYS);
        let seconds = in_day / TICKS_PER_SECOND;
        (
            year as i32,
            month,
            day,
            (seconds / 3600) as u32,
            (seconds / 60 % 60) as u32,
            (seconds % 60) as u32,
            (in_day % TICKS_PER_SECOND) as u32,
        )
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Reads exactly `n` ASCII digits at `pos`.
fn digits(bytes: &[u8], pos: usize, n: usize) -> Option<u32> {
    let part = bytes.get(pos..pos + n)?;
    part.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Parses up to 9 fractional digits into 100 ns ticks (digits past the 7th are dropped).
pub(crate) fn fraction_ticks(frac: &[u8]) -> Option<u32> {
    if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut ticks = 0u32;
    for i in 0..7 {
        let digit = frac.get(i).map_or(0, |b| u32::from(b - b'0'));
        ticks = ticks * 10 + digit;
    }
    Some(ticks)
}

impl KustoDateTime {
    /// The form the service writes (`yyyy-MM-ddTHH:mm:ss[.f…]Z`, 0 to 7 fractional digits)
    /// read at fixed positions; `None` for any other text, valid or not.
    pub(crate) fn parse_canonical(b: &[u8]) -> Option<KustoDateTime> {
        canonical(b)
    }

    /// Parses the wire form from bytes, as [`FromStr`] does: the form the service writes
    /// read at fixed positions ([`KustoDateTime::parse_canonical`]), anything else by the
    /// general parser.
    pub(crate) fn parse_bytes(b: &[u8]) -> Option<KustoDateTime> {
        match canonical(b) {
            Some(t) => Some(t),
            None => std::str::from_utf8(b).ok()?.parse().ok(),
        }
    }
}

/// The form the service writes, read at fixed positions: `yyyy-MM-ddTHH:mm:ssZ` or
/// `yyyy-MM-ddTHH:mm:ss.fZ` with 1 to 7 fractional digits. `None` for any other text (which
/// may still be valid: the general parser decides), and for a date or time out of range.
fn canonical(b: &[u8]) -> Option<KustoDateTime> {
    let n = b.len();
    if !(n == 20 || (22..=28).contains(&n)) || b[n - 1] != b'Z' {
        return None;
    }
    // The date and time at fixed positions of a fixed-size copy (no bounds checks below).
    let h: [u8; 19] = b[..19].try_into().ok()?;
    if h[4] != b'-' || h[7] != b'-' || h[10] != b'T' || h[13] != b':' || h[16] != b':' {
        return None;
    }
    let d = h.map(|c| c.wrapping_sub(b'0'));
    const DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if DIGITS.iter().any(|&i| d[i] > 9) {
        return None;
    }
    let two = |i: usize| u32::from(d[i]) * 10 + u32::from(d[i + 1]);
    let year = two(0) * 100 + two(2);
    let (month, day) = (two(5), two(8));
    let (hour, minute, second) = (two(11), two(14), two(17));
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year as i32, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut ticks = 0;
    if n > 20 {
        if b[19] != b'.' {
            return None;
        }
        // 1 to 7 digits, padded with zeros to 7.
        let mut fraction = [b'0'; 7];
        fraction[..n - 21].copy_from_slice(&b[20..n - 1]);
        for c in fraction {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            ticks = ticks * 10 + u32::from(digit);
        }
    }
    // Days since 0001-01-01: whole years, then the months of this year.
    const BEFORE_MONTH: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let y = year - 1;
    let leap_day = u32::from(month > 2 && is_leap(year as i32));
    let days =
        y * 365 + y / 4 - y / 100 + y / 400 + BEFORE_MONTH[month as usize - 1] + leap_day + day - 1;
    let seconds = hour * 3600 + minute * 60 + second;
    Some(KustoDateTime(
        i64::from(days) * TICKS_PER_DAY + i64::from(seconds) * TICKS_PER_SECOND + i64::from(ticks),
    ))
}

impl FromStr for KustoDateTime {
    type Err = ValueParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(t) = canonical(s.as_bytes()) {
            return Ok(t);
        }
        let err = || ValueParseError::new("datetime", s);
        let b = s.trim().as_bytes();
        let year = digits(b, 0, 4).ok_or_else(err)?;
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return Err(err());
        }
        let month = digits(b, 5, 2).ok_or_else(err)?;
        let day = digits(b, 8, 2).ok_or_else(err)?;
        let (mut hour, mut minute, mut second, mut ticks) = (0, 0, 0, 0);
        let mut rest = b.get(10..).unwrap_or_default();
        if let Some((&sep, time)) = rest.split_first() {
            if sep != b'T' && sep != b't' && sep != b' ' {
                return Err(err());
            }
            hour = digits(time, 0, 2).ok_or_else(err)?;
            if time.get(2) != Some(&b':') {
                return Err(err());
            }
            minute = digits(time, 3, 2).ok_or_else(err)?;
            rest = time.get(5..).unwrap_or_default();
            if rest.first() == Some(&b':') {
                second = digits(rest, 1, 2).ok_or_else(err)?;
                rest = rest.get(3..).unwrap_or_default();
                if rest.first() == Some(&b'.') {
                    let end = rest
                        .iter()
                        .skip(1)
                        .position(|c| !c.is_ascii_digit())
                        .map_or(rest.len(), |p| p + 1);
                    ticks = fraction_ticks(rest.get(1..end).unwrap_or_default()).ok_or_else(err)?;
                    rest = rest.get(end..).unwrap_or_default();
                }
            }
            match rest {
                b"" | b"Z" | b"z" | b"+00:00" => {}
                _ => return Err(err()),
            }
        }
        KustoDateTime::from_parts(year as i32, month, day, hour, minute, second, ticks)
            .ok_or_else(err)
    }
}

impl KustoDateTime {
    /// The text [`Display`](fmt::Display) gives, written into `buf` without the formatting
    /// machinery: its length (20, or 28 with a fraction).
    pub(crate) fn write_text(self, buf: &mut [u8; 28]) -> usize {
        let (y, mo, d, h, mi, s, t) = self.to_parts();
        let mut put = |at: usize, value: u32, digits: usize| {
            let mut v = value;
            for i in (at..at + digits).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, y as u32, 4);
        put(5, mo, 2);
        put(8, d, 2);
        put(11, h, 2);
        put(14, mi, 2);
        put(17, s, 2);
        let n = if t == 0 { 20 } else { 28 };
        if t != 0 {
            put(20, t, 7);
            buf[19] = b'.';
        }
        for (at, c) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (n - 1, b'Z'),
        ] {
            buf[at] = c;
        }
        n
    }
}

impl fmt::Display for KustoDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; 28];
        let n = self.write_text(&mut buf);
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for KustoDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KustoDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = KustoDateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kusto datetime string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KustoDateTime, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fraction_length_and_the_full_range() {
        let base: KustoDateTime = "2024-12-29T15:44:26Z".parse().unwrap();
        let cases = [
            ("2024-12-29T15:44:26.4Z", 4_000_000),
            ("2024-12-29T15:44:26.426308Z", 4_263_080),
            ("2024-12-29T15:44:26.4263081Z", 4_263_081),
            ("2024-12-29T15:44:26.426308199Z", 4_263_081),
            ("2024-12-29T15:44:26.0000001Z", 1),
        ];
        for (text, ticks) in cases {
            let t: KustoDateTime = text.parse().unwrap();
            assert_eq!(t.ticks() - base.ticks(), ticks, "{text}");
        }
        assert_eq!(
            "0001-01-01T00:00:00Z".parse::<KustoDateTime>().unwrap(),
            KustoDateTime::MIN
        );
        let max: KustoDateTime = "9999-12-31T23:59:59.9999999Z".parse().unwrap();
        assert_eq!(max, KustoDateTime::MAX);
        assert_eq!(max.to_string(), "9999-12-31T23:59:59.9999999Z");
        assert_eq!(
            "1970-01-01T00:00:00Z"
                .parse::<KustoDateTime>()
                .unwrap()
                .unix_ticks(),
            0
        );
        let leap: KustoDateTime = "2024-02-29T00:00:00Z".parse().unwrap();
        assert_eq!(leap.to_parts(), (2024, 2, 29, 0, 0, 0, 0));
        assert_eq!(
            "1677-09-21T00:12:44Z"
                .parse::<KustoDateTime>()
                .unwrap()
                .unix_nanos(),
            -9_223_372_036_000_000_000
        );
        assert_eq!(
            "2014-01-01 01:01:01"
                .parse::<KustoDateTime>()
                .unwrap()
                .to_string(),
            "2014-01-01T01:01:01Z"
        );
    }

    #[test]
    fn rejects_out_of_range_and_malformed_text() {
        for bad in [
            "0000-01-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:00+01:00",
            "2024-1-01",
            "",
            "garbage",
            "２０２４-01-01",
        ] {
            assert!(bad.parse::<KustoDateTime>().is_err(), "{bad}");
        }
    }

    /// The general parser alone (what `FromStr` was before the fixed-position reading).
    fn general(text: &str) -> Option<KustoDateTime> {
        let b = text.trim().as_bytes();
        let year = digits(b, 0, 4)?;
        (b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-')).then_some(())?;
        let (month, day) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
        let (mut hour, mut minute, mut second, mut ticks) = (0, 0, 0, 0);
        let mut rest = b.get(10..).unwrap_or_default();
        if let Some((&sep, time)) = rest.split_first() {
            matches!(sep, b'T' | b't' | b' ').then_some(())?;
            hour = digits(time, 0, 2)?;
            (time.get(2) == Some(&b':')).then_some(())?;
            minute = digits(time, 3, 2)?;
            rest = time.get(5..).unwrap_or_default();
            if rest.first() == Some(&b':') {
                second = digits(rest, 1, 2)?;
                rest = rest.get(3..).unwrap_or_default();
                if rest.first() == Some(&b'.') {
                    let end = rest
                        .iter()
                        .skip(1)
                        .position(|c| !c.is_ascii_digit())
                        .map_or(rest.len(), |p| p + 1);
                    ticks = fraction_ticks(rest.get(1..end).unwrap_or_default())?;
                    rest = rest.get(end..).unwrap_or_default();
                }
            }
            matches!(rest, b"" | b"Z" | b"z" | b"+00:00").then_some(())?;
        }
        KustoDateTime::from_parts(year as i32, month, day, hour, minute, second, ticks)
    }

    #[test]
    fn fixed_position_reading_matches_the_general_parser() {
        // Random texts near the canonical forms: valid ones, out-of-range parts, a byte
        // replaced, lengths from 18 to 31, and the forms the general parser alone accepts.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut canonical_hits = 0;
        for _ in 0..400_000 {
            let mut text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                next(10_000),
                next(14),
                next(33),
                next(26),
                next(62),
                next(62)
            );
            match next(4) {
                0 => {}
                1 => text.push_str(&format!(".{:07}", next(10_000_000))),
                _ => {
                    let digits = next(10) as usize;
                    let fraction = format!("{:09}", next(1_000_000_000));
                    text.push('.');
                    text.push_str(&fraction[..digits]);
                }
            }
            text.push_str(["Z", "Z", "Z", "z", "", "+00:00", " Z"][next(7) as usize]);
            let mut bytes = text.into_bytes();
            if next(4) == 0 {
                let at = next(bytes.len() as u64) as usize;
                bytes[at] = b"0123456789-T:.Z x\xC3\xA9"[next(18) as usize];
            }
            let text = match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    assert_eq!(KustoDateTime::parse_bytes(e.as_bytes()), None);
                    continue;
                }
            };
            let expected = general(&text);
            assert_eq!(text.parse::<KustoDateTime>().ok(), expected, "{text}");
            assert_eq!(
                KustoDateTime::parse_bytes(text.as_bytes()),
                expected,
                "{text}"
            );
            if let Some(t) = canonical(text.as_bytes()) {
                assert_eq!(Some(t), expected, "{text}");
                canonical_hits += 1;
            }
        }
        // Not vacuous: most texts took the fixed-position reading.
        assert!(canonical_hits > 40_000, "{canonical_hits}");
    }

    #[test]
    fn text_is_written_as_the_format_macros_wrote_it() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..100_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let ticks = match i % 3 {
                0 => (state % (MAX_TICKS as u64 + 1)) as i64,
                // Whole seconds: no fraction.
                1 => (state % (MAX_TICKS as u64 / 10_000_000)) as i64 * 10_000_000,
                _ => [0, MAX_TICKS, 1, MAX_TICKS - 1][(state % 4) as usize],
            };
            let t = KustoDateTime(ticks);
            let (y, mo, d, h, mi, s, f) = t.to_parts();
            let mut expected = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            if f != 0 {
                expected.push_str(&format!(".{f:07}"));
            }
            expected.push('Z');
            assert_eq!(t.to_string(), expected);
            assert_eq!(expected.parse::<KustoDateTime>(), Ok(t));
        }
    }

    #[test]
    fn system_time_round_trip_before_and_after_epoch() {
        for text in [
            "1601-01-01T00:00:00.0000001Z",
            "2262-04-11T23:47:16.8547758Z",
            "1969-12-31T23:59:59.9999999Z",
        ] {
            let t: KustoDateTime = text.parse().unwrap();
            assert_eq!(KustoDateTime::from_system_time(t.to_system_time()), Some(t));
            assert_eq!(KustoDateTime::from_unix_nanos(t.unix_nanos()), Some(t));
        }
        assert_eq!(KustoDateTime::from_ticks(-1), None);
        assert_eq!(KustoDateTime::from_ticks(MAX_TICKS + 1), None);
    }
}
