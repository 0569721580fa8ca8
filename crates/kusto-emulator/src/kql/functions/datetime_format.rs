//! `format_datetime` and `format_timespan`: the .NET-style custom format elements the KQL
//! documentation lists (`yyyy`, `MM`, `dd`, `HH`, `hh`, `mm`, `ss`, `fffffff`, `FFFFFFF`, `tt`,
//! days `d`..`dddddddd` of a timespan, ...). Any other character is copied as is; text in
//! quotes is copied without its quotes and `\x` copies `x`.

use super::params;
use super::{DATETIME, Registry, Ret, STRING, TIMESPAN, p, text};
use crate::time::{
    TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND, parts_from_ticks,
};
use crate::value::{KustoType, Value};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The pieces of a format: runs of one letter (`yyyy`) or literal text.
enum Piece {
    Run(char, usize),
    Literal(String),
}

fn pieces(format: &str) -> Vec<Piece> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|x| *x == c)
                    .map_or(chars.len(), |e| i + 1 + e);
                out.push(Piece::Literal(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '\\' => {
                if let Some(next) = chars.get(i + 1) {
                    out.push(Piece::Literal(next.to_string()));
                }
                i += 2;
            }
            c if "yMdhHmsfFt".contains(c) => {
                let n = chars[i..].iter().take_while(|x| **x == c).count();
                out.push(Piece::Run(c, n));
                i += n;
            }
            c => {
                out.push(Piece::Literal(c.to_string()));
                i += 1;
            }
        }
    }
    out
}

/// `n` digits of the seven-digit fraction; `F` trims trailing zeros (and prints nothing for
/// zero).
fn fraction(out: &mut String, fraction_ticks: i64, n: usize, trim: bool) {
    let digits = format!("{fraction_ticks:07}");
    let part = &digits[..n.min(7)];
    if trim {
        out.push_str(part.trim_end_matches('0'));
    } else {
        out.push_str(part);
    }
}

/// Formats datetime ticks; `Err` names an element that is not supported.
pub(crate) fn format_datetime(ticks: i64, format: &str) -> Result<String, String> {
    let (y, mo, d, h, mi, s, f) = parts_from_ticks(ticks);
    let mut out = String::new();
    for piece in pieces(format) {
        match piece {
            Piece::Literal(t) => out.push_str(&t),
            Piece::Run(c, n) => match (c, n) {
                ('y', 1) => out.push_str(&(y % 100).to_string()),
                ('y', 2) => out.push_str(&format!("{:02}", y % 100)),
                ('y', n) => out.push_str(&format!("{y:0n$}")),
                ('M', 1) => out.push_str(&mo.to_string()),
                ('M', 2) => out.push_str(&format!("{mo:02}")),
                ('M', 3) => out.push_str(&MONTHS[(mo - 1) as usize][..3]),
                ('M', _) => out.push_str(MONTHS[(mo - 1) as usize]),
                ('d', 1) => out.push_str(&d.to_string()),
                ('d', 2) => out.push_str(&format!("{d:02}")),
                ('d', n) => {
                    // 0001-01-01 was a Monday.
                    let weekday = ((ticks.div_euclid(TICKS_PER_DAY) + 1).rem_euclid(7)) as usize;
                    let name = DAYS[weekday];
                    out.push_str(if n == 3 { &name[..3] } else { name });
                }
                ('h', n) => {
                    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                    out.push_str(&pad(h12, n));
                }
                ('H', n) => out.push_str(&pad(h, n)),
                ('m', n) => out.push_str(&pad(mi, n)),
                ('s', n) => out.push_str(&pad(s, n)),
                ('f', n) if n <= 7 => fraction(&mut out, f, n, false),
                ('F', n) if n <= 7 => fraction(&mut out, f, n, true),
                ('t', 1) => out.push(if h < 12 { 'A' } else { 'P' }),
                ('t', _) => out.push_str(if h < 12 { "AM" } else { "PM" }),
                (c, n) => {
                    return Err(format!(
                        "'{}' is not a supported format element",
                        c.to_string().repeat(n)
                    ));
                }
            },
        }
    }
    Ok(out)
}

fn pad(v: i64, n: usize) -> String {
    if n >= 2 {
        format!("{v:02}")
    } else {
        v.to_string()
    }
}

/// Formats timespan ticks; a negative timespan starts with `-`.
pub(crate) fn format_timespan(ticks: i64, format: &str) -> Result<String, String> {
    let abs = ticks.unsigned_abs();
    let part = |unit: i64, modulo: u64| (abs / unit as u64) % modulo;
    let days = abs / TICKS_PER_DAY as u64;
    let h = part(TICKS_PER_HOUR, 24);
    let mi = part(TICKS_PER_MINUTE, 60);
    let s = part(TICKS_PER_SECOND, 60);
    let f = (abs % TICKS_PER_SECOND as u64) as i64;
    let mut out = String::new();
    if ticks < 0 {
        out.push('-');
    }
    for piece in pieces(format) {
        match piece {
            Piece::Literal(t) => out.push_str(&t),
            Piece::Run(c, n) => match (c, n) {
                ('d', n) if n <= 8 => out.push_str(&format!("{days:0n$}")),
                ('h' | 'H', n) if n <= 2 => out.push_str(&pad(h as i64, n)),
                ('m', n) if n <= 2 => out.push_str(&pad(mi as i64, n)),
                ('s', n) if n <= 2 => out.push_str(&pad(s as i64, n)),
                ('f', n) if n <= 7 => fraction(&mut out, f, n, false),
                ('F', n) if n <= 7 => fraction(&mut out, f, n, true),
                (c, n) => {
                    return Err(format!(
                        "'{}' is not a supported format element",
                        c.to_string().repeat(n)
                    ));
                }
            },
        }
    }
    Ok(out)
}

/// A constant format must be valid (checked with a sample value).
fn check_datetime_format(args: &[Option<&Value>]) -> Result<(), String> {
    match args.get(1) {
        Some(Some(Value::String(f))) => format_datetime(0, f).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_timespan_format(args: &[Option<&Value>]) -> Result<(), String> {
    match args.get(1) {
        Some(Some(Value::String(f))) => format_timespan(0, f).map(|_| ()),
        _ => Ok(()),
    }
}

pub(super) fn register(r: &mut Registry) {
    r.add(
        "format_datetime",
        params![p("date", DATETIME), p("format", STRING)],
        Ret::Fixed(KustoType::String),
        |a, _| match &a[0] {
            Value::DateTime(t) => {
                format_datetime(*t, &text(&a[1])).map_or(Value::Null, Value::String)
            }
            _ => Value::Null,
        },
    )
    .check(check_datetime_format);
    r.add(
        "format_timespan",
        params![p("timespan", TIMESPAN), p("format", STRING)],
        Ret::Fixed(KustoType::String),
        |a, _| match &a[0] {
            Value::TimeSpan(t) => {
                format_timespan(*t, &text(&a[1])).map_or(Value::Null, Value::String)
            }
            _ => Value::Null,
        },
    )
    .check(check_timespan_format);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{parse_datetime, parse_timespan};

    #[test]
    fn documented_formats() {
        let t = parse_datetime("2017-01-29 09:00:05").unwrap();
        assert_eq!(
            format_datetime(t, "yy-MM-dd [HH:mm:ss]").unwrap(),
            "17-01-29 [09:00:05]"
        );
        assert_eq!(
            format_datetime(t, "yyyy-M-dd [H:mm:ss]").unwrap(),
            "2017-1-29 [9:00:05]"
        );
        assert_eq!(
            format_datetime(t, "yy-MM-dd [hh:mm:ss tt]").unwrap(),
            "17-01-29 [09:00:05 AM]"
        );
        let t = parse_datetime("2015-12-14 02:03:04.12345").unwrap();
        assert_eq!(
            format_datetime(t, "y-M-d h:m:s.fffffff").unwrap(),
            "15-12-14 2:3:4.1234500"
        );
        assert_eq!(format_datetime(t, "FFF|FFFFFFF").unwrap(), "123|12345");
        let ts = parse_timespan("29.09:00:05.12345").unwrap();
        assert_eq!(
            format_timespan(ts, "dd.hh:mm:ss:FF").unwrap(),
            "29.09:00:05:12"
        );
        assert_eq!(
            format_timespan(ts, "ddd.h:mm:ss [fffffff]").unwrap(),
            "029.9:00:05 [1234500]"
        );
        assert!(format_timespan(ts, "hhh").is_err());
    }
}
