//! Dates and times: `now([offset])`, `ago`, `startofday`/`week`/`month`/`year` and `endof*`
//! (with an offset), `dayofweek`, `dayofmonth`, `dayofyear`, `getyear`, `getmonth`,
//! `monthofyear`, `hourofday`, `datetime_add`, `datetime_part`, `make_datetime`,
//! `unixtime_*_todatetime`.

use super::params;
use super::{
    DATETIME, INTEGER, NUMBER, Registry, Ret, STRING, TIMESPAN, int_arg, opt, p, real_arg, text,
};
use crate::kql::scalar::datetime_or_null;
use crate::time::{TICKS_PER_DAY, TICKS_PER_HOUR, month_days, parts_from_ticks, ticks_from_parts};
use crate::value::{KustoType, Value};

/// The datetime of the first day of `month` months after the month of `ticks` (day 1, 00:00).
fn add_months(ticks: i64, months: i64) -> Option<i64> {
    let (y, m, d, h, mi, s, f) = parts_from_ticks(ticks);
    let total = (y * 12 + (m - 1)).checked_add(months)?;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let nd = d.min(month_days(ny, nm));
    ticks_from_parts(ny, nm, nd, h, mi, s, f)
}

fn start_of(unit: &str, ticks: i64, offset: i64) -> Option<i64> {
    let (y, m, ..) = parts_from_ticks(ticks);
    match unit {
        "day" => (ticks.div_euclid(TICKS_PER_DAY))
            .checked_add(offset)?
            .checked_mul(TICKS_PER_DAY),
        // Weeks start on Sunday; 0001-01-01 was a Monday.
        "week" => {
            let days = ticks.div_euclid(TICKS_PER_DAY);
            let sunday = days - (days + 1).rem_euclid(7);
            sunday
                .checked_add(offset.checked_mul(7)?)?
                .checked_mul(TICKS_PER_DAY)
        }
        "month" => add_months(ticks_from_parts(y, m, 1, 0, 0, 0, 0)?, offset),
        "year" => add_months(
            ticks_from_parts(y, 1, 1, 0, 0, 0, 0)?,
            offset.checked_mul(12)?,
        ),
        _ => None,
    }
}

fn end_of(unit: &str, ticks: i64, offset: i64) -> Option<i64> {
    let next = start_of(unit, ticks, offset.checked_add(1)?)?;
    Some(next - 1)
}

fn part(name: &str, ticks: i64) -> Option<i64> {
    let (y, m, d, h, mi, s, f) = parts_from_ticks(ticks);
    Some(match name.to_ascii_lowercase().as_str() {
        "year" => y,
        "quarter" => (m - 1) / 3 + 1,
        "month" => m,
        "day" => d,
        "dayofyear" => (ticks - ticks_from_parts(y, 1, 1, 0, 0, 0, 0)?) / TICKS_PER_DAY + 1,
        "hour" => h,
        "minute" => mi,
        "second" => s,
        "millisecond" => f / 10_000,
        "microsecond" => f / 10,
        "nanosecond" => f * 100,
        "weekofyear" => week_first_wednesday(ticks)?,
        "week_of_year" => {
            // ISO 8601 week number.
            let days = ticks.div_euclid(TICKS_PER_DAY);
            let weekday = days.rem_euclid(7) + 1; // Monday = 1
            let thursday = days - weekday + 4;
            let (ty, ..) = parts_from_ticks(thursday * TICKS_PER_DAY);
            let jan1 = ticks_from_parts(ty, 1, 1, 0, 0, 0, 0)? / TICKS_PER_DAY;
            (thursday - jan1) / 7 + 1
        }
        _ => return None,
    })
}

/// The week number of the deprecated `weekofyear` part: weeks start on Sunday and the first week
/// of a year is the one holding its first Wednesday (.NET's first-four-day week with Sunday).
fn week_first_wednesday(ticks: i64) -> Option<i64> {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    // 0001-01-01 was a Monday: (days + 1) % 7 is 0 on Sundays.
    let sunday = days - (days + 1).rem_euclid(7);
    let wednesday = sunday + 3;
    let (year, ..) = parts_from_ticks(wednesday * TICKS_PER_DAY);
    let jan1 = ticks_from_parts(year, 1, 1, 0, 0, 0, 0)? / TICKS_PER_DAY;
    Some((wednesday - jan1) / 7 + 1)
}

fn add(name: &str, amount: i64, ticks: i64) -> Option<i64> {
    let unit = match name.to_ascii_lowercase().as_str() {
        "year" => return add_months(ticks, amount.checked_mul(12)?),
        "quarter" => return add_months(ticks, amount.checked_mul(3)?),
        "month" => return add_months(ticks, amount),
        "week" => 7 * TICKS_PER_DAY,
        "day" => TICKS_PER_DAY,
        "hour" => TICKS_PER_HOUR,
        "minute" => 600_000_000,
        "second" => 10_000_000,
        "millisecond" => 10_000,
        "microsecond" => 10,
        "nanosecond" => return ticks.checked_add(amount / 100),
        _ => return None,
    };
    ticks.checked_add(amount.checked_mul(unit)?)
}

fn dt(v: &Value) -> Option<i64> {
    match v {
        Value::DateTime(t) => Some(*t),
        _ => None,
    }
}

pub(super) fn register(r: &mut Registry) {
    r.add(
        "now",
        params![opt("offset", TIMESPAN)],
        Ret::Fixed(KustoType::DateTime),
        |a, env| {
            let offset = match a.first() {
                Some(Value::TimeSpan(t)) => *t,
                _ => 0,
            };
            datetime_or_null(env.now.checked_add(offset))
        },
    );
    r.add(
        "ago",
        params![p("timespan", TIMESPAN)],
        Ret::Fixed(KustoType::DateTime),
        |a, env| match &a[0] {
            Value::TimeSpan(t) => datetime_or_null(env.now.checked_sub(*t)),
            _ => Value::Null,
        },
    );
    let bounds: [(&'static str, super::Impl); 8] = [
        ("startofday", |a, _| shift(a, |t, o| start_of("day", t, o))),
        ("startofweek", |a, _| {
            shift(a, |t, o| start_of("week", t, o))
        }),
        ("startofmonth", |a, _| {
            shift(a, |t, o| start_of("month", t, o))
        }),
        ("startofyear", |a, _| {
            shift(a, |t, o| start_of("year", t, o))
        }),
        ("endofday", |a, _| shift(a, |t, o| end_of("day", t, o))),
        ("endofweek", |a, _| shift(a, |t, o| end_of("week", t, o))),
        ("endofmonth", |a, _| shift(a, |t, o| end_of("month", t, o))),
        ("endofyear", |a, _| shift(a, |t, o| end_of("year", t, o))),
    ];
    for (name, f) in bounds {
        r.add(
            name,
            params![p("date", DATETIME), opt("offset", INTEGER)],
            Ret::Fixed(KustoType::DateTime),
            f,
        );
    }
    r.add(
        "dayofweek",
        params![p("date", DATETIME)],
        Ret::Fixed(KustoType::TimeSpan),
        |a, _| {
            dt(&a[0]).map_or(Value::Null, |t| {
                Value::TimeSpan((t.div_euclid(TICKS_PER_DAY) + 1).rem_euclid(7) * TICKS_PER_DAY)
            })
        },
    );
    let parts: [(&'static str, super::Impl); 8] = [
        ("dayofmonth", |a, _| get(a, "day")),
        ("dayofyear", |a, _| get(a, "dayofyear")),
        ("getyear", |a, _| get(a, "year")),
        ("getmonth", |a, _| get(a, "month")),
        ("monthofyear", |a, _| get(a, "month")),
        ("hourofday", |a, _| get(a, "hour")),
        ("week_of_year", |a, _| get(a, "week_of_year")),
        ("weekofyear", |a, _| get(a, "weekofyear")),
    ];
    // Every part is an `int` (the documentation's "integer"), the year too.
    for (name, f) in parts {
        r.add(
            name,
            params![p("date", DATETIME)],
            Ret::Fixed(KustoType::Int),
            f,
        );
    }
    const PARTS: [&str; 13] = [
        "year",
        "quarter",
        "month",
        "week_of_year",
        "weekofyear",
        "day",
        "dayofyear",
        "hour",
        "minute",
        "second",
        "millisecond",
        "microsecond",
        "nanosecond",
    ];
    fn check_part(args: &[Option<&Value>]) -> Result<(), String> {
        match args.first() {
            Some(Some(Value::String(s))) if !PARTS.contains(&s.to_ascii_lowercase().as_str()) => {
                Err(format!("the part '{s}' is not one of {}", PARTS.join(", ")))
            }
            _ => Ok(()),
        }
    }
    for name in ["datetime_part", "datepart"] {
        r.add(
            name,
            params![p("part", STRING), p("datetime", DATETIME)],
            Ret::Fixed(KustoType::Int),
            |a, _| {
                dt(&a[1])
                    .and_then(|t| part(&text(&a[0]), t))
                    .and_then(|v| i32::try_from(v).ok())
                    .map_or(Value::Null, Value::Int)
            },
        )
        .check(check_part);
    }
    r.add(
        "datetime_add",
        params![
            p("part", STRING),
            p("value", INTEGER),
            p("datetime", DATETIME)
        ],
        Ret::Fixed(KustoType::DateTime),
        |a, _| match (int_arg(&a[1]), dt(&a[2])) {
            (Some(n), Some(t)) => datetime_or_null(add(&text(&a[0]), n, t)),
            _ => Value::Null,
        },
    )
    .check(super::datetime_calc::check_period);
    r.add(
        "make_datetime",
        params![
            p("year", INTEGER),
            p("month", INTEGER),
            p("day", INTEGER),
            opt("hour", INTEGER),
            opt("minute", INTEGER),
            opt("second", NUMBER),
        ],
        Ret::Fixed(KustoType::DateTime),
        |a, _| {
            let n = |i: usize| a.get(i).and_then(int_arg).unwrap_or(0);
            let seconds = a.get(5).and_then(real_arg).unwrap_or(0.0);
            let whole = seconds.trunc() as i64;
            let frac = ((seconds - seconds.trunc()) * 1e7).round() as i64;
            ticks_from_parts(n(0), n(1), n(2), n(3), n(4), whole, frac)
                .map_or(Value::Null, Value::DateTime)
        },
    );
    let unix: [(&'static str, super::Impl); 4] = [
        ("unixtime_seconds_todatetime", |a, _| unix(&a[0], 1e7)),
        ("unixtime_milliseconds_todatetime", |a, _| unix(&a[0], 1e4)),
        ("unixtime_microseconds_todatetime", |a, _| unix(&a[0], 10.0)),
        ("unixtime_nanoseconds_todatetime", |a, _| unix(&a[0], 0.01)),
    ];
    for (name, f) in unix {
        r.add(
            name,
            params![p("value", NUMBER)],
            Ret::Fixed(KustoType::DateTime),
            f,
        );
    }
}

fn shift(a: &[Value], f: fn(i64, i64) -> Option<i64>) -> Value {
    let offset = a.get(1).and_then(int_arg).unwrap_or(0);
    dt(&a[0]).map_or(Value::Null, |t| datetime_or_null(f(t, offset)))
}

fn get(a: &[Value], name: &str) -> Value {
    dt(&a[0])
        .and_then(|t| part(name, t))
        .and_then(|v| i32::try_from(v).ok())
        .map_or(Value::Null, Value::Int)
}

fn unix(v: &Value, ticks_per_unit: f64) -> Value {
    let unix_epoch = crate::time::ticks_from_parts(1970, 1, 1, 0, 0, 0, 0).unwrap_or(0);
    // Whole numbers convert exactly (a real would lose the last digits of milliseconds and
    // finer units).
    if let Some(n) = int_arg(v) {
        let ticks = if ticks_per_unit >= 1.0 {
            n.checked_mul(ticks_per_unit as i64)
        } else {
            Some(n.div_euclid((1.0 / ticks_per_unit).round() as i64))
        };
        return datetime_or_null(ticks.and_then(|t| t.checked_add(unix_epoch)));
    }
    let ticks = real_arg(v)
        .and_then(|x| crate::kql::scalar::ticks_from_f64(x * ticks_per_unit))
        .and_then(|t| t.checked_add(unix_epoch));
    datetime_or_null(ticks)
}
