//! Creation times read from source paths (`--creation-time-pattern`), as LightIngest's
//! `-creationTimePattern`.
//!
//! Two spellings are accepted:
//!
//! * **brace form** (any pattern containing `{`): fields in braces, everything else literal:
//!   `{yyyy}/{MM}/{dd}`, `year={yyyy}/month={MM}/day={dd}`, `events-{yyyy}{MM}{dd}T{HH}{mm}`.
//! * **LightIngest form**: literal text in single quotes, fields bare:
//!   `'year='yyyy'/month='MM'/day='dd`. Characters outside quotes that are not a field
//!   (`/`, `-`, `_`, ...) are literal too.
//!
//! Fields: `yyyy` (4-digit year), `MM` (month), `dd` (day), `HH` (hour, 24 h), `mm` (minute),
//! `ss` (second), each 2 digits. A missing month or day is 1, a missing time field 0. The
//! pattern is searched anywhere in the path, with `/` as the separator on every OS; the first
//! match counts and the time is UTC. A path that does not match has no creation time; a match
//! that is not a real date (month 13) is an error for that source.

use regex::Regex;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A compiled creation-time pattern.
#[derive(Debug, Clone)]
pub struct CreationTimePattern {
    regex: Regex,
    text: String,
}

const FIELDS: [(&str, &str, usize); 6] = [
    ("yyyy", "y", 4),
    ("MM", "mo", 2),
    ("dd", "d", 2),
    ("HH", "h", 2),
    ("mm", "mi", 2),
    ("ss", "s", 2),
];

fn field(name: &str) -> Option<(&'static str, usize)> {
    FIELDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, group, width)| (*group, *width))
}

impl CreationTimePattern {
    /// Compiles `pattern`; the error says what is wrong with it.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let mut regex = String::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut push_field = |name: &str, regex: &mut String| -> Result<(), String> {
            let (group, width) = field(name).ok_or_else(|| {
                format!("unknown field '{name}' in the creation-time pattern; use yyyy, MM, dd, HH, mm, ss")
            })?;
            if seen.contains(&group) {
                return Err(format!("the creation-time pattern has '{name}' twice"));
            }
            seen.push(group);
            regex.push_str(&format!("(?P<{group}>\\d{{{width}}})"));
            Ok(())
        };
        if pattern.contains('{') {
            let mut rest = pattern;
            while let Some(start) = rest.find('{') {
                regex.push_str(&regex::escape(&rest[..start]));
                let after = &rest[start + 1..];
                let end = after
                    .find('}')
                    .ok_or("a '{' of the creation-time pattern is not closed")?;
                push_field(&after[..end], &mut regex)?;
                rest = &after[end + 1..];
            }
            regex.push_str(&regex::escape(rest));
        } else {
            let mut rest = pattern;
            while !rest.is_empty() {
                if let Some(quoted) = rest.strip_prefix('\'') {
                    let end = quoted
                        .find('\'')
                        .ok_or("a quote of the creation-time pattern is not closed")?;
                    regex.push_str(&regex::escape(&quoted[..end]));
                    rest = &quoted[end + 1..];
                } else if let Some((name, _, _)) =
                    FIELDS.iter().find(|(n, _, _)| rest.starts_with(n))
                {
                    push_field(name, &mut regex)?;
                    rest = &rest[name.len()..];
                } else {
                    let c = rest.chars().next().unwrap_or_default();
                    regex.push_str(&regex::escape(&c.to_string()));
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if seen.is_empty() {
            return Err(
                "the creation-time pattern has no field (yyyy, MM, dd, HH, mm, ss)".to_owned(),
            );
        }
        if !seen.contains(&"y") {
            return Err("the creation-time pattern needs a year (yyyy)".to_owned());
        }
        let regex = Regex::new(&regex).map_err(|e| format!("creation-time pattern: {e}"))?;
        Ok(CreationTimePattern {
            regex,
            text: pattern.to_owned(),
        })
    }

    /// The creation time of `path`: `Ok(None)` when the pattern is not in it, an error when it
    /// matches something that is not a date.
    pub fn creation_time(&self, path: &str) -> Result<Option<OffsetDateTime>, String> {
        let path = path.replace('\\', "/");
        let Some(captures) = self.regex.captures(&path) else {
            return Ok(None);
        };
        let number = |group: &str, default: u16| -> u16 {
            captures
                .name(group)
                .and_then(|m| m.as_str().parse().ok())
                .unwrap_or(default)
        };
        let invalid = |e: &dyn std::fmt::Display| {
            format!(
                "'{}' in the path matches the creation-time pattern '{}' but is not a date: {e}",
                captures.get(0).map_or("", |m| m.as_str()),
                self.text
            )
        };
        let year = i32::from(number("y", 1970));
        let month = u8::try_from(number("mo", 1)).map_err(|e| invalid(&e))?;
        let month = Month::try_from(month).map_err(|e| invalid(&e))?;
        let small = |group: &str, default: u16| u8::try_from(number(group, default));
        let day = small("d", 1).map_err(|e| invalid(&e))?;
        let date = Date::from_calendar_date(year, month, day).map_err(|e| invalid(&e))?;
        let time = Time::from_hms(
            small("h", 0).map_err(|e| invalid(&e))?,
            small("mi", 0).map_err(|e| invalid(&e))?,
            small("s", 0).map_err(|e| invalid(&e))?,
        )
        .map_err(|e| invalid(&e))?;
        Ok(Some(PrimitiveDateTime::new(date, time).assume_utc()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn brace_form() {
        let p = CreationTimePattern::parse("{yyyy}/{MM}/{dd}").unwrap();
        assert_eq!(
            p.creation_time("data/2021/03/04/x.csv").unwrap(),
            Some(datetime!(2021-03-04 00:00 UTC))
        );
        assert_eq!(p.creation_time("data/x.csv").unwrap(), None);
        let p = CreationTimePattern::parse("year={yyyy}/month={MM}/day={dd}").unwrap();
        assert_eq!(
            p.creation_time(r"C:\in\year=2020\month=12\day=31\a.json")
                .unwrap(),
            Some(datetime!(2020-12-31 00:00 UTC))
        );
        let p = CreationTimePattern::parse("log-{yyyy}{MM}{dd}T{HH}{mm}{ss}").unwrap();
        assert_eq!(
            p.creation_time("/x/log-20190102T030405.csv").unwrap(),
            Some(datetime!(2019-01-02 03:04:05 UTC))
        );
        let p = CreationTimePattern::parse("{yyyy}").unwrap();
        assert_eq!(
            p.creation_time("a/1999/b").unwrap(),
            Some(datetime!(1999-01-01 00:00 UTC))
        );
    }

    #[test]
    fn lightingest_form() {
        let p = CreationTimePattern::parse("'year='yyyy'/month='MM'/day='dd").unwrap();
        assert_eq!(
            p.creation_time("root/year=2022/month=07/day=09/part.parquet")
                .unwrap(),
            Some(datetime!(2022-07-09 00:00 UTC))
        );
        let p = CreationTimePattern::parse("'historicalvalues'yyyyMMdd'.csv'").unwrap();
        assert_eq!(
            p.creation_time("in/historicalvalues20200315.csv").unwrap(),
            Some(datetime!(2020-03-15 00:00 UTC))
        );
        // Separators outside quotes are literal.
        let p = CreationTimePattern::parse("yyyy-MM-dd").unwrap();
        assert_eq!(
            p.creation_time("x/2001-02-03.csv").unwrap(),
            Some(datetime!(2001-02-03 00:00 UTC))
        );
    }

    #[test]
    fn bad_patterns_and_dates() {
        assert!(CreationTimePattern::parse("{yyyy}/{QQ}").is_err());
        assert!(CreationTimePattern::parse("{yyyy").is_err());
        assert!(CreationTimePattern::parse("'abc").is_err());
        assert!(CreationTimePattern::parse("plain").is_err());
        assert!(CreationTimePattern::parse("{MM}/{dd}").is_err());
        assert!(CreationTimePattern::parse("{yyyy}/{yyyy}").is_err());
        let p = CreationTimePattern::parse("{yyyy}/{MM}/{dd}").unwrap();
        let error = p.creation_time("2021/13/01/x.csv").unwrap_err();
        assert!(error.contains("2021/13/01"), "{error}");
        assert!(p.creation_time("2021/02/30/x.csv").is_err());
    }
}
