//! Date arithmetic: `datetime_diff` (the number of period boundaries between two datetimes) and
//! `make_timespan`.

use super::params;
use super::{DATETIME, INTEGER, NUMBER, Registry, Ret, STRING, int_arg, opt, p, real_arg, text};
use crate::time::{
    TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND, parts_from_ticks,
};
use crate::value::{KustoType, Value};

/// `datetime_diff(period, a, b)`: how many `period` boundaries lie between `b` and `a` (the
/// calendar periods compare their calendar numbers, the fixed ones floor the tick counts).
pub(crate) fn diff(period: &str, a: i64, b: i64) -> Option<i64> {
    let floor_diff = |unit: i64| a.div_euclid(unit) - b.div_euclid(unit);
    let months = |t: i64| {
        let (y, m, ..) = parts_from_ticks(t);
        y * 12 + m - 1
    };
    Some(match period.to_ascii_lowercase().as_str() {
        "year" => parts_from_ticks(a).0 - parts_from_ticks(b).0,
        "quarter" => months(a).div_euclid(3) - months(b).div_euclid(3),
        "month" => months(a) - months(b),
        "week" => {
            // Weeks start on Sunday; 0001-01-01 was a Monday, so day + 1 counts from a Sunday.
            let week = |t: i64| (t.div_euclid(TICKS_PER_DAY) + 1).div_euclid(7);
            week(a) - week(b)
        }
        "day" => floor_diff(TICKS_PER_DAY),
        "hour" => floor_diff(TICKS_PER_HOUR),
        "minute" => floor_diff(TICKS_PER_MINUTE),
        "second" => floor_diff(TICKS_PER_SECOND),
        "millisecond" => floor_diff(10_000),
        "microsecond" => floor_diff(10),
        "nanosecond" => a.checked_sub(b)?.checked_mul(100)?,
        _ => return None,
    })
}

const PERIODS: [&str; 11] = [
    "year",
    "quarter",
    "month",
    "week",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
    "nanosecond",
];

/// A constant period must be one of the documented names.
pub(super) fn check_period(args: &[Option<&Value>]) -> Result<(), String> {
    match args.first() {
        Some(Some(Value::String(s))) if !PERIODS.contains(&s.to_ascii_lowercase().as_str()) => Err(
            format!("the period '{s}' is not one of {}", PERIODS.join(", ")),
        ),
        _ => Ok(()),
    }
}

/// Ticks of `[days.]hours:minutes:seconds` when each part is in range (hours 0-23, minutes
/// 0-59, seconds from 0 to below 60), as make_timespan() accepts them.
fn timespan_of(days: i64, hours: i64, minutes: i64, seconds: f64) -> Option<i64> {
    if !(0..=23).contains(&hours)
        || !(0..=59).contains(&minutes)
        || !(0.0..60.0).contains(&seconds)
        || days.unsigned_abs() > 10_675_199
    {
        return None;
    }
    let fraction = (seconds * TICKS_PER_SECOND as f64).round() as i64;
    let total = days * TICKS_PER_DAY + hours * TICKS_PER_HOUR + minutes * TICKS_PER_MINUTE;
    Some(total + fraction)
}

pub(super) fn register(r: &mut Registry) {
    r.add(
        "datetime_diff",
        params![
            p("period", STRING),
            p("datetime1", DATETIME),
            p("datetime2", DATETIME)
        ],
        Ret::Fixed(KustoType::Long),
        |a, _| match (&a[1], &a[2]) {
            (Value::DateTime(x), Value::DateTime(y)) => {
                diff(&text(&a[0]), *x, *y).map_or(Value::Null, Value::Long)
            }
            _ => Value::Null,
        },
    )
    .check(check_period);
    // make_timespan(hour, minute), (hour, minute, second) or (day, hour, minute, second).
    r.add(
        "make_timespan",
        params![
            p("a", INTEGER),
            p("b", INTEGER),
            opt("c", NUMBER),
            opt("d", NUMBER)
        ],
        Ret::Fixed(KustoType::TimeSpan),
        |a, _| {
            let ticks = match a.len() {
                2 => timespan_of(
                    0,
                    int_arg(&a[0]).unwrap_or(-1),
                    int_arg(&a[1]).unwrap_or(-1),
                    0.0,
                ),
                3 => timespan_of(
                    0,
                    int_arg(&a[0]).unwrap_or(-1),
                    int_arg(&a[1]).unwrap_or(-1),
                    real_arg(&a[2]).unwrap_or(-1.0),
                ),
                _ => match (int_arg(&a[2]), real_arg(&a[3])) {
                    (Some(minutes), Some(seconds)) => timespan_of(
                        int_arg(&a[0]).unwrap_or(0),
                        int_arg(&a[1]).unwrap_or(-1),
                        minutes,
                        seconds,
                    ),
                    _ => None,
                },
            };
            ticks.map_or(Value::Null, Value::TimeSpan)
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_datetime;

    fn d(s: &str) -> i64 {
        parse_datetime(s).unwrap()
    }

    #[test]
    fn documented_differences() {
        let cases = [
            ("year", "2017-01-01", "2000-12-31", 17),
            ("quarter", "2017-07-01", "2017-03-30", 2),
            ("month", "2017-01-01", "2015-12-30", 13),
            ("week", "2017-10-29 00:00", "2017-09-30 23:59", 5),
            ("day", "2017-10-29 00:00", "2017-09-30 23:59", 29),
            ("hour", "2017-10-31 01:00", "2017-10-30 23:59", 2),
            ("minute", "2017-10-30 23:05:01", "2017-10-30 23:00:59", 5),
            (
                "second",
                "2017-10-30 23:00:10.100",
                "2017-10-30 23:00:00.900",
                10,
            ),
            (
                "millisecond",
                "2017-10-30 23:00:00.200100",
                "2017-10-30 23:00:00.100900",
                100,
            ),
            (
                "microsecond",
                "2017-10-30 23:00:00.1009001",
                "2017-10-30 23:00:00.1008009",
                100,
            ),
            (
                "nanosecond",
                "2017-10-30 23:00:00.0000000",
                "2017-10-30 23:00:00.0000007",
                -700,
            ),
        ];
        for (period, a, b, want) in cases {
            assert_eq!(diff(period, d(a), d(b)), Some(want), "{period}");
        }
        assert_eq!(diff("fortnight", 0, 0), None);
    }
}
