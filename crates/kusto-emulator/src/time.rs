//! Kusto `datetime` and `timespan`: 100-nanosecond ticks, formatting as the service writes them and
//! parsing of the spellings Kusto accepts (kusto-protocol.md 3.7 and 8.2).
//!
//! A `datetime` is held as ticks since 0001-01-01T00:00:00Z (the .NET epoch), a `timespan` as a
//! signed tick count. Everything here is plain arithmetic: no calendar crate is involved.

use std::time::{SystemTime, UNIX_EPOCH};

/// Ticks (100 ns) per second.
pub(crate) const TICKS_PER_SECOND: i64 = 10_000_000;
/// Ticks per minute.
pub(crate) const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
/// Ticks per hour.
pub(crate) const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
/// Ticks per day.
pub(crate) const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;
/// Days from 0001-01-01 to 1970-01-01.
const DAYS_TO_UNIX_EPOCH: i64 = 719_162;
/// Ticks of 9999-12-31T23:59:59.9999999, the largest Kusto datetime.
pub(crate) const MAX_DATETIME_TICKS: i64 = 3_155_378_975_999_999_999;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Ticks of a UTC date and time, or `None` when a field is out of range.
pub(crate) fn ticks_from_parts(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    fraction_ticks: i64,
) -> Option<i64> {
    if !(1..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || !(0..=23).contains(&hour)
        || !(0..=59).contains(&minute)
        || !(0..=59).contains(&second)
        || !(0..TICKS_PER_SECOND).contains(&fraction_ticks)
    {
        return None;
    }
    let days = days_from_civil(year, month, day) + DAYS_TO_UNIX_EPOCH;
    Some(
        days * TICKS_PER_DAY
            + hour * TICKS_PER_HOUR
            + minute * TICKS_PER_MINUTE
            + second * TICKS_PER_SECOND
            + fraction_ticks,
    )
}

/// The current time as datetime ticks.
pub(crate) fn now_ticks() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let unix_ticks = i64::try_from(since.as_nanos() / 100).unwrap_or(0);
    DAYS_TO_UNIX_EPOCH * TICKS_PER_DAY + unix_ticks
}

/// Datetime ticks of a Unix time expressed in `unit_ticks`-sized units (for the
/// `DateTimeFromUnix*` mapping transforms); `None` when out of range.
pub(crate) fn ticks_from_unix(value: f64, ticks_per_unit: f64) -> Option<i64> {
    let ticks = value * ticks_per_unit;
    if !ticks.is_finite() {
        return None;
    }
    let total = (DAYS_TO_UNIX_EPOCH * TICKS_PER_DAY) as f64 + ticks.round();
    if total < 0.0 || total > MAX_DATETIME_TICKS as f64 {
        return None;
    }
    Some(total as i64)
}

/// Formats datetime ticks as the service does: `yyyy-MM-ddTHH:mm:ss[.f…]Z`, the fraction trimmed of
/// trailing zeros (0 to 7 digits).
pub(crate) fn format_datetime(ticks: i64) -> String {
    let ticks = ticks.clamp(0, MAX_DATETIME_TICKS);
    let days = ticks / TICKS_PER_DAY;
    let rem = ticks % TICKS_PER_DAY;
    let (y, m, d) = civil_from_days(days - DAYS_TO_UNIX_EPOCH);
    let hour = rem / TICKS_PER_HOUR;
    let minute = (rem % TICKS_PER_HOUR) / TICKS_PER_MINUTE;
    let second = (rem % TICKS_PER_MINUTE) / TICKS_PER_SECOND;
    let fraction = rem % TICKS_PER_SECOND;
    let mut out = format!("{y:04}-{m:02}-{d:02}T{hour:02}:{minute:02}:{second:02}");
    if fraction != 0 {
        let digits = format!("{fraction:07}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Formats a timespan as .NET's "c" format: `[-][d.]hh:mm:ss[.fffffff]` (days only when non-zero,
/// the fraction exactly seven digits when non-zero).
pub(crate) fn format_timespan(ticks: i64) -> String {
    let negative = ticks < 0;
    let abs = ticks.unsigned_abs();
    let tpd = TICKS_PER_DAY as u64;
    let days = abs / tpd;
    let rem = abs % tpd;
    let hour = rem / TICKS_PER_HOUR as u64;
    let minute = (rem % TICKS_PER_HOUR as u64) / TICKS_PER_MINUTE as u64;
    let second = (rem % TICKS_PER_MINUTE as u64) / TICKS_PER_SECOND as u64;
    let fraction = rem % TICKS_PER_SECOND as u64;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{hour:02}:{minute:02}:{second:02}"));
    if fraction != 0 {
        out.push_str(&format!(".{fraction:07}"));
    }
    out
}

/// A tiny cursor over ASCII text used by the parsers below.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }
    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    /// Reads 1..=max digits; returns the value and the count.
    fn digits(&mut self, max: usize) -> Option<(i64, usize)> {
        let start = self.pos;
        let mut value: i64 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(b) if b.is_ascii_digit() => {
                    value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let n = self.pos - start;
        (n > 0).then_some((value, n))
    }
    /// Reads a fraction after the dot: up to 7 digits kept, further digits ignored.
    fn fraction_ticks(&mut self) -> Option<i64> {
        let start = self.pos;
        let mut ticks: i64 = 0;
        let mut kept = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            if kept < 7 {
                ticks = ticks * 10 + i64::from(b - b'0');
                kept += 1;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        for _ in kept..7 {
            ticks *= 10;
        }
        Some(ticks)
    }
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("")
    }
}

/// Parses the datetime spellings Kusto accepts (ISO 8601 with `T` or a space, optional seconds,
/// fraction and zone; date only; RFC 822 and RFC 850 forms). Returns ticks (UTC).
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    parse_iso_datetime(text)
        .or_else(|| parse_rfc_datetime(text))
        .or_else(|| parse_month_first_datetime(text))
}

/// `MM-dd-yyyy` or `MM/dd/yyyy`, optionally followed by ` HH:mm[:ss[.f]]` (US order, as
/// `datetime('12-02-2022')` is documented to be).
fn parse_month_first_datetime(text: &str) -> Option<i64> {
    let mut c = Cursor::new(text);
    let (month, _) = c.digits(2)?;
    if !(c.eat(b'-') || c.eat(b'/')) {
        return None;
    }
    let (day, _) = c.digits(2)?;
    if !(c.eat(b'-') || c.eat(b'/')) {
        return None;
    }
    let (year, n) = c.digits(4)?;
    if n != 4 {
        return None;
    }
    let (mut hour, mut minute, mut second, mut fraction) = (0, 0, 0, 0);
    c.skip_spaces();
    if let Some((h, _)) = c.digits(2) {
        hour = h;
        if !c.eat(b':') {
            return None;
        }
        minute = c.digits(2)?.0;
        if c.eat(b':') {
            second = c.digits(2)?.0;
            if c.eat(b'.') {
                fraction = c.fraction_ticks()?;
            }
        }
    }
    let base = ticks_from_parts(year, month, day, hour, minute, second, fraction)?;
    let ticks = base.checked_sub(parse_zone(&mut c)?)?;
    (0..=MAX_DATETIME_TICKS).contains(&ticks).then_some(ticks)
}

/// The parts of a datetime: year, month, day, hour, minute, second and the fraction of the
/// second in ticks.
pub(crate) fn parts_from_ticks(ticks: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let ticks = ticks.clamp(0, MAX_DATETIME_TICKS);
    let days = ticks / TICKS_PER_DAY;
    let rem = ticks % TICKS_PER_DAY;
    let (y, m, d) = civil_from_days(days - DAYS_TO_UNIX_EPOCH);
    (
        y,
        m,
        d,
        rem / TICKS_PER_HOUR,
        (rem % TICKS_PER_HOUR) / TICKS_PER_MINUTE,
        (rem % TICKS_PER_MINUTE) / TICKS_PER_SECOND,
        rem % TICKS_PER_SECOND,
    )
}

/// The number of days in a month of a year.
pub(crate) fn month_days(year: i64, month: i64) -> i64 {
    days_in_month(year, month)
}

fn parse_iso_datetime(text: &str) -> Option<i64> {
    let mut c = Cursor::new(text);
    let (year, n) = c.digits(4)?;
    if n != 4 || !(c.eat(b'-') || c.eat(b'/')) {
        return None;
    }
    let (month, _) = c.digits(2)?;
    if !(c.eat(b'-') || c.eat(b'/')) {
        return None;
    }
    let (day, _) = c.digits(2)?;
    let (mut hour, mut minute, mut second, mut fraction) = (0, 0, 0, 0);
    if c.eat(b'T') || c.eat(b't') || (c.peek() == Some(b' ') && !c.at_end()) {
        c.skip_spaces();
        if c.at_end() {
            return ticks_from_parts(year, month, day, 0, 0, 0, 0);
        }
        if let Some((h, _)) = c.digits(2) {
            hour = h;
            if !c.eat(b':') {
                return None;
            }
            minute = c.digits(2)?.0;
            if c.eat(b':') {
                second = c.digits(2)?.0;
                if c.eat(b'.') {
                    fraction = c.fraction_ticks()?;
                }
            }
        }
    }
    let base = ticks_from_parts(year, month, day, hour, minute, second, fraction)?;
    let offset = parse_zone(&mut c)?;
    let ticks = base.checked_sub(offset)?;
    (0..=MAX_DATETIME_TICKS).contains(&ticks).then_some(ticks)
}

/// Parses an optional zone suffix (`Z`, `GMT`, `UTC`, `UT`, `±hh[:mm]`, `±hhmm`, a US zone name);
/// returns the offset in ticks, and requires the end of input.
fn parse_zone(c: &mut Cursor<'_>) -> Option<i64> {
    c.skip_spaces();
    if c.at_end() {
        return Some(0);
    }
    let offset = match c.peek() {
        Some(b'+' | b'-') => {
            let negative = c.peek() == Some(b'-');
            c.pos += 1;
            let (h, n) = c.digits(4)?;
            let (hours, minutes) = if n > 2 {
                (h / 100, h % 100)
            } else {
                let m = if c.eat(b':') { c.digits(2)?.0 } else { 0 };
                (h, m)
            };
            let value = hours * TICKS_PER_HOUR + minutes * TICKS_PER_MINUTE;
            if negative { -value } else { value }
        }
        _ => {
            let word = c.word().to_ascii_uppercase();
            let hours = match word.as_str() {
                "Z" | "GMT" | "UTC" | "UT" => 0,
                "EST" => -5,
                "EDT" => -4,
                "CST" => -6,
                "CDT" => -5,
                "MST" => -7,
                "MDT" => -6,
                "PST" => -8,
                "PDT" => -7,
                _ => return None,
            };
            hours * TICKS_PER_HOUR
        }
    };
    c.skip_spaces();
    c.at_end().then_some(offset)
}

fn month_from_name(name: &str) -> Option<i64> {
    let lower = name.to_ascii_lowercase();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    months
        .iter()
        .position(|m| lower.starts_with(m))
        .map(|i| i as i64 + 1)
}

/// RFC 822 (`Sat, 8 Nov 14 15:05:02 GMT`) and RFC 850 (`Saturday, 08-Nov-14 15:05:02 GMT`).
fn parse_rfc_datetime(text: &str) -> Option<i64> {
    let mut c = Cursor::new(text);
    if c.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        c.word();
        if !c.eat(b',') {
            return None;
        }
        c.skip_spaces();
    }
    let (day, _) = c.digits(2)?;
    let dashed = c.eat(b'-');
    if !dashed {
        c.skip_spaces();
    }
    let month = month_from_name(c.word())?;
    if dashed {
        if !c.eat(b'-') {
            return None;
        }
    } else {
        c.skip_spaces();
    }
    let (mut year, n) = c.digits(4)?;
    if n <= 2 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    c.skip_spaces();
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    if let Some((h, _)) = c.digits(2) {
        hour = h;
        if !c.eat(b':') {
            return None;
        }
        minute = c.digits(2)?.0;
        if c.eat(b':') {
            second = c.digits(2)?.0;
        }
    }
    let base = ticks_from_parts(year, month, day, hour, minute, second, 0)?;
    let ticks = base.checked_sub(parse_zone(&mut c)?)?;
    (0..=MAX_DATETIME_TICKS).contains(&ticks).then_some(ticks)
}

/// Parses a timespan: the .NET form `[-][d.]hh:mm[:ss[.fffffff]]` or a KQL literal with a unit
/// suffix (`2d`, `1.5h`, `30m`, `10s`, `100ms`, `10microseconds`, `1tick`, ...).
pub(crate) fn parse_timespan(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.contains(':') {
        parse_dotnet_timespan(text)
    } else {
        parse_unit_timespan(text)
    }
}

fn parse_dotnet_timespan(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut c = Cursor::new(body);
    let (first, _) = c.digits(9)?;
    let (days, hour) = if c.eat(b'.') {
        (first, c.digits(2)?.0)
    } else {
        (0, first)
    };
    if !c.eat(b':') {
        return None;
    }
    let (minute, _) = c.digits(2)?;
    let mut second = 0;
    let mut fraction = 0;
    if c.eat(b':') {
        second = c.digits(2)?.0;
        if c.eat(b'.') {
            fraction = c.fraction_ticks()?;
        }
    }
    if !c.at_end() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let total = days
        .checked_mul(TICKS_PER_DAY)?
        .checked_add(hour * TICKS_PER_HOUR + minute * TICKS_PER_MINUTE)?
        .checked_add(second * TICKS_PER_SECOND + fraction)?;
    Some(if negative { -total } else { total })
}

fn parse_unit_timespan(text: &str) -> Option<i64> {
    let split = text
        .find(|ch: char| ch.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number = number.trim();
    if number.is_empty() {
        return None;
    }
    let unit_ticks = timespan_unit_ticks(unit.trim())?;
    if let Ok(whole) = number.parse::<i64>() {
        return whole.checked_mul(unit_ticks);
    }
    let value: f64 = number.parse().ok()?;
    let ticks = (value * unit_ticks as f64).round();
    (ticks.is_finite() && ticks.abs() < 9.2e18).then_some(ticks as i64)
}

/// Ticks of one KQL timespan unit (an empty unit means days, as in `timespan(2)`).
pub(crate) fn timespan_unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "" | "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => TICKS_PER_HOUR,
        "m" | "min" | "minute" | "minutes" => TICKS_PER_MINUTE,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 10_000,
        "microsecond" | "microseconds" => 10,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_round_trip_and_trimming() {
        let t = ticks_from_parts(2024, 5, 1, 10, 20, 30, 1_234_567).unwrap();
        assert_eq!(format_datetime(t), "2024-05-01T10:20:30.1234567Z");
        let t = ticks_from_parts(2007, 1, 1, 0, 0, 0, 0).unwrap();
        assert_eq!(format_datetime(t), "2007-01-01T00:00:00Z");
        let t = ticks_from_parts(2024, 12, 29, 15, 44, 26, 4_263_080).unwrap();
        assert_eq!(format_datetime(t), "2024-12-29T15:44:26.426308Z");
        assert_eq!(format_datetime(0), "0001-01-01T00:00:00Z");
        assert_eq!(
            format_datetime(MAX_DATETIME_TICKS),
            "9999-12-31T23:59:59.9999999Z"
        );
    }

    #[test]
    fn datetime_spellings() {
        let expected = ticks_from_parts(2014, 5, 25, 8, 20, 3, 1_234_560).unwrap();
        for text in [
            "2014-05-25T08:20:03.123456Z",
            "2014-05-25T08:20:03.123456",
            "2014-05-25 08:20:03.123456",
            "2014-05-25T10:20:03.123456+02:00",
            "2014-05-25T03:20:03.123456-0500",
        ] {
            assert_eq!(parse_datetime(text), Some(expected), "{text}");
        }
        let midnight = ticks_from_parts(2014, 11, 8, 0, 0, 0, 0).unwrap();
        assert_eq!(parse_datetime("2014-11-08"), Some(midnight));
        let t = ticks_from_parts(2014, 11, 8, 15, 5, 2, 0).unwrap();
        assert_eq!(parse_datetime("Sat, 8 Nov 14 15:05:02 GMT"), Some(t));
        assert_eq!(parse_datetime("Saturday, 08-Nov-14 15:05:02 GMT"), Some(t));
        assert_eq!(parse_datetime("8 Nov 2014 15:05:02"), Some(t));
        assert_eq!(parse_datetime("2014-11-08 15:05:02 GMT"), Some(t));
        let t = ticks_from_parts(2014, 11, 8, 15, 5, 0, 0).unwrap();
        assert_eq!(parse_datetime("2014-11-08T15:05"), Some(t));
        for bad in [
            "",
            "2014-13-01",
            "2014-02-30",
            "yesterday",
            "2014-11-08T25:00",
            "2014-11-08Tx",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        // 9 fractional digits are truncated to ticks.
        let t = ticks_from_parts(2020, 1, 1, 0, 0, 0, 1_234_567).unwrap();
        assert_eq!(parse_datetime("2020-01-01T00:00:00.123456789Z"), Some(t));
    }

    #[test]
    fn timespan_format_and_parse() {
        assert_eq!(format_timespan(0), "00:00:00");
        let t = TICKS_PER_DAY + TICKS_PER_SECOND + 10_000;
        assert_eq!(format_timespan(t + 1), "1.00:00:01.0010001");
        assert_eq!(
            format_timespan(-2 * TICKS_PER_DAY - 2 * TICKS_PER_SECOND - 20_002),
            "-2.00:00:02.0020002"
        );
        assert_eq!(
            format_timespan(
                TICKS_PER_HOUR + 23 * TICKS_PER_MINUTE + 45 * TICKS_PER_SECOND + 6_789_000
            ),
            "01:23:45.6789000"
        );
        for (text, ticks) in [
            ("00:00:01.0010001", TICKS_PER_SECOND + 10_001),
            ("-00:00:02.0020002", -(2 * TICKS_PER_SECOND + 20_002)),
            ("0.00:03:00", 3 * TICKS_PER_MINUTE),
            (
                "1.02:03:04.5",
                TICKS_PER_DAY
                    + 2 * TICKS_PER_HOUR
                    + 3 * TICKS_PER_MINUTE
                    + 4 * TICKS_PER_SECOND
                    + 5_000_000,
            ),
            ("2d", 2 * TICKS_PER_DAY),
            ("1.5h", 90 * TICKS_PER_MINUTE),
            ("30m", 30 * TICKS_PER_MINUTE),
            ("100ms", 1_000_000),
            ("10microseconds", 100),
            ("1tick", 1),
            ("0:04:00", 4 * TICKS_PER_MINUTE),
        ] {
            assert_eq!(parse_timespan(text), Some(ticks), "{text}");
        }
        for bad in ["", "P1DT2H", "1x", "00:61:00", "abc"] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
    }
}
