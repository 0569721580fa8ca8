//! Time zones: `datetime_utc_to_local` and `datetime_local_to_utc` with the IANA time zone
//! database of the `chrono-tz` crate (names such as `Europe/Paris` or `US/Pacific`, matched
//! exactly or else ignoring case). An unknown zone gives null.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::params;
use super::{DATETIME, Registry, Ret, STRING, p, text};
use crate::kql::scalar::datetime_or_null;
use crate::time::{TICKS_PER_SECOND, ticks_from_parts};
use crate::value::{KustoType, Value};

fn zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(name))
            .copied()
    })
}

fn unix_epoch() -> i64 {
    ticks_from_parts(1970, 1, 1, 0, 0, 0, 0).unwrap_or(0)
}

fn naive(ticks: i64) -> Option<NaiveDateTime> {
    let since = ticks - unix_epoch();
    let secs = since.div_euclid(TICKS_PER_SECOND);
    let nanos = u32::try_from(since.rem_euclid(TICKS_PER_SECOND) * 100).ok()?;
    DateTime::from_timestamp(secs, nanos).map(|d| d.naive_utc())
}

fn ticks(n: NaiveDateTime) -> Option<i64> {
    let utc = n.and_utc();
    let secs = utc.timestamp().checked_mul(TICKS_PER_SECOND)?;
    secs.checked_add(i64::from(utc.timestamp_subsec_nanos() / 100))?
        .checked_add(unix_epoch())
}

/// The wall-clock time in `tz` of a UTC datetime.
pub(crate) fn utc_to_local(t: i64, tz: Tz) -> Option<i64> {
    ticks(tz.from_utc_datetime(&naive(t)?).naive_local())
}

/// The UTC datetime of a wall-clock time in `tz`: the earlier one when the time occurs twice
/// (the hour repeated when clocks go back), and with the offset in force before the change
/// when it does not occur (the hour skipped when clocks go forward).
pub(crate) fn local_to_utc(t: i64, tz: Tz) -> Option<i64> {
    let local = naive(t)?;
    let utc = match tz.from_local_datetime(&local) {
        LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => d.naive_utc(),
        LocalResult::None => {
            let before = tz
                .offset_from_utc_datetime(&(local - chrono::TimeDelta::days(1)))
                .fix();
            local - chrono::TimeDelta::seconds(i64::from(before.local_minus_utc()))
        }
    };
    ticks(utc)
}

fn check_zone(args: &[Option<&Value>]) -> Result<(), String> {
    match args.get(1) {
        Some(Some(Value::String(name))) if zone(name).is_none() => {
            Err(format!("'{name}' is not a supported time zone"))
        }
        _ => Ok(()),
    }
}

pub(super) fn register(r: &mut Registry) {
    r.add(
        "datetime_utc_to_local",
        params![p("from", DATETIME), p("timezone", STRING)],
        Ret::Fixed(KustoType::DateTime),
        |a, _| match (&a[0], zone(&text(&a[1]))) {
            (Value::DateTime(t), Some(tz)) => datetime_or_null(utc_to_local(*t, tz)),
            _ => Value::Null,
        },
    )
    .check(check_zone);
    r.add(
        "datetime_local_to_utc",
        params![p("from", DATETIME), p("timezone", STRING)],
        Ret::Fixed(KustoType::DateTime),
        |a, _| match (&a[0], zone(&text(&a[1]))) {
            (Value::DateTime(t), Some(tz)) => datetime_or_null(local_to_utc(*t, tz)),
            _ => Value::Null,
        },
    )
    .check(check_zone);
}
