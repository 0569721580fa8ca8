//! Strings: `strcat`, `strcat_delim`, `strlen`, `substring`, `tolower`, `toupper`, `indexof`,
//! `replace_string`, `strrep`, `reverse`, `trim`, `trim_start`, `trim_end`, `extract`,
//! `countof`, `split`. Lengths and positions count Unicode characters.

use super::params;
use super::text_common::{check_regex, full_text};
use super::{ANY, INTEGER, Registry, Ret, STRING, Types, int_arg, long, opt, p, text};
use crate::value::{KustoType, Value};

fn s(v: String) -> Value {
    Value::String(v)
}

/// The characters `start..start+len` of `t` (clamped), as `substring` takes them: a negative
/// start counts from the end (`substring("123456", -2, 2)` is `56`).
fn chars_range(t: &str, start: i64, len: Option<i64>) -> String {
    let count = t.chars().count() as i64;
    let start = if start < 0 {
        start.saturating_add(count).max(0)
    } else {
        start.min(count)
    };
    let end = match len {
        Some(l) if l < 0 => start,
        Some(l) => start.saturating_add(l).min(count),
        None => count,
    };
    t.chars()
        .skip(usize::try_from(start).unwrap_or(0))
        .take(usize::try_from(end - start).unwrap_or(0))
        .collect()
}

/// Removes every leading (`start`) and trailing (`end`) match of `pattern` from `t`: the
/// anchored pattern is removed again while it matches something.
fn trim_regex(env: &super::Env, pattern: &str, t: &str, start: bool, end: bool) -> Value {
    let mut out = t.to_string();
    for (wanted, anchored) in [
        (start, format!("^(?:{pattern})")),
        (end, format!("(?:{pattern})$")),
    ] {
        if !wanted {
            continue;
        }
        let trimmed = env.with_regex(&anchored, |re| {
            let re = re?;
            let mut text = out.clone();
            // Each round removes a non-empty match, so this ends.
            while let Some(m) = re.find(&text) {
                if m.is_empty() {
                    break;
                }
                text.replace_range(m.range(), "");
            }
            Some(text)
        });
        match trimmed {
            Some(v) => out = v,
            None => return Value::Null,
        }
    }
    s(out)
}

/// `countof(..., "regex")` with a constant pattern: the pattern must be valid.
fn check_regex_if_kind(c: &[Option<&Value>]) -> Result<(), String> {
    if matches!(c.get(2), Some(Some(Value::String(k))) if k == "regex") {
        check_regex(c, 1)?;
    }
    Ok(())
}

/// `indexof`: the character index of occurrence `occurrence` (from 1) of `lookup` in the
/// `length` characters of `source` from `start` (-1: to the end). A negative start counts from
/// the end; each next occurrence is searched from the character after the previous one, over the
/// same length. `null` for a length below -1, an occurrence below 1 or a start still negative.
fn index_of(source: &[char], lookup: &[char], start: i64, length: i64, occurrence: i64) -> Value {
    let n = source.len() as i64;
    let mut from = if start < 0 { start + n } else { start };
    if from < 0 || length < -1 || occurrence < 1 {
        return Value::Null;
    }
    let mut seen = 0;
    loop {
        if from > n {
            return Value::Long(-1);
        }
        let end = if length == -1 {
            n
        } else {
            from.saturating_add(length).min(n)
        };
        let (lo, hi) = (from as usize, end as usize);
        let found = (lo..=hi.saturating_sub(lookup.len()))
            .find(|&i| i + lookup.len() <= hi && source[i..i + lookup.len()] == *lookup);
        match found {
            Some(i) => {
                seen += 1;
                if seen == occurrence {
                    return long(i);
                }
                from = i as i64 + 1;
            }
            None => return Value::Long(-1),
        }
    }
}

pub(super) fn register(r: &mut Registry) {
    const TEXT: Types = STRING;
    r.add(
        "strcat",
        params![p("value", ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| s(a.iter().map(text).collect()),
    )
    .handles_nulls()
    .variadic();
    r.add(
        "strcat_delim",
        params![p("delimiter", ANY), p("value", ANY), p("value", ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let parts: Vec<String> = a[1..].iter().map(text).collect();
            s(parts.join(&text(&a[0])))
        },
    )
    .handles_nulls()
    .variadic();
    r.add(
        "strlen",
        params![p("source", TEXT)],
        Ret::Fixed(KustoType::Long),
        |a, _| long(text(&a[0]).chars().count()),
    );
    r.add(
        "substring",
        params![
            p("source", ANY),
            p("startingIndex", INTEGER),
            opt("length", INTEGER)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let start = int_arg(&a[1]).unwrap_or(0);
            let len = a.get(2).and_then(int_arg);
            s(chars_range(&text(&a[0]), start, len))
        },
    );
    r.add(
        "tolower",
        params![p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| s(text(&a[0]).to_lowercase()),
    );
    r.add(
        "toupper",
        params![p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| s(text(&a[0]).to_uppercase()),
    );
    r.add(
        "indexof",
        params![
            p("source", ANY),
            p("lookup", ANY),
            opt("start_index", INTEGER),
            opt("length", INTEGER),
            opt("occurrence", INTEGER),
        ],
        Ret::Fixed(KustoType::Long),
        |a, _| {
            let source: Vec<char> = text(&a[0]).chars().collect();
            let lookup: Vec<char> = text(&a[1]).chars().collect();
            let start = a.get(2).and_then(int_arg).unwrap_or(0);
            let length = a.get(3).and_then(int_arg).unwrap_or(-1);
            let occurrence = a.get(4).and_then(int_arg).unwrap_or(1);
            index_of(&source, &lookup, start, length, occurrence)
        },
    );
    r.add(
        "replace_string",
        params![p("text", TEXT), p("lookup", TEXT), p("rewrite", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let lookup = text(&a[1]);
            if lookup.is_empty() {
                return s(text(&a[0]));
            }
            s(text(&a[0]).replace(&lookup, &text(&a[2])))
        },
    );
    r.add(
        "strrep",
        params![
            p("value", ANY),
            p("multiplier", INTEGER),
            opt("delimiter", ANY)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| {
            // The documented cap: more than 1024 repeats gives 1024.
            let n = int_arg(&a[1]).unwrap_or(0).clamp(0, 1024) as usize;
            let delim = a.get(2).map(text).unwrap_or_default();
            s(vec![text(&a[0]); n].join(&delim))
        },
    );
    r.add(
        "reverse",
        params![p("value", ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| s(full_text(&a[0]).chars().rev().collect()),
    );
    r.add(
        "trim",
        params![p("regex", TEXT), p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, env| trim_regex(env, &text(&a[0]), &text(&a[1]), true, true),
    )
    .check(|c| check_regex(c, 0));
    r.add(
        "trim_start",
        params![p("regex", TEXT), p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, env| trim_regex(env, &text(&a[0]), &text(&a[1]), true, false),
    )
    .check(|c| check_regex(c, 0));
    r.add(
        "trim_end",
        params![p("regex", TEXT), p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, env| trim_regex(env, &text(&a[0]), &text(&a[1]), false, true),
    )
    .check(|c| check_regex(c, 0));
    r.add(
        "extract",
        params![
            p("regex", TEXT),
            p("captureGroup", INTEGER),
            p("source", ANY),
            opt("typeLiteral", ANY)
        ],
        Ret::Custom(|t| Ok(if t.len() > 3 { t[3] } else { KustoType::String })),
        |a, env| {
            let group = usize::try_from(int_arg(&a[1]).unwrap_or(0)).unwrap_or(usize::MAX);
            let source = text(&a[2]);
            let found = env.with_regex(&text(&a[0]), |re| {
                re.and_then(|re| re.captures(&source))
                    .and_then(|c| c.get(group).map(|m| m.as_str().to_string()))
            });
            match (found, a.get(3)) {
                (None, None) => s(String::new()),
                (None, Some(_)) => Value::Null,
                (Some(v), None) => s(v),
                (Some(v), Some(t)) => match t.kusto_type() {
                    Some(ty) => crate::kql::scalar::convert(&Value::String(v), ty),
                    None => s(v),
                },
            }
        },
    )
    .handles_nulls()
    .check(|c| check_regex(c, 0));
    r.add(
        "countof",
        params![p("source", ANY), p("search", TEXT), opt("kind", TEXT)],
        Ret::Fixed(KustoType::Long),
        |a, env| {
            let source = text(&a[0]);
            let search = text(&a[1]);
            if a.get(2).is_some_and(|k| text(k) == "regex") {
                return env.with_regex(&search, |re| {
                    re.map_or(Value::Null, |re| long(re.find_iter(&source).count()))
                });
            }
            if search.is_empty() {
                return Value::Long(0);
            }
            // Overlapping matches count (`countof("aaa", "aa")` is 2).
            let mut n = 0;
            let mut from = 0;
            while let Some(i) = source.get(from..).and_then(|r| r.find(&search)) {
                n += 1;
                from += i + source[from + i..].chars().next().map_or(1, char::len_utf8);
            }
            long(n)
        },
    )
    .check(|c| {
        if let Some(Some(kind)) = c.get(2)
            && !matches!(kind, Value::String(k) if k == "normal" || k == "regex")
        {
            return Err(format!(
                "argument #3 must be 'normal' or 'regex', got '{}'",
                text(kind)
            ));
        }
        check_regex_if_kind(c)
    });
    r.add(
        "split",
        params![
            p("source", ANY),
            p("delimiter", TEXT),
            opt("requestedIndex", INTEGER)
        ],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            let source = text(&a[0]);
            let delim = text(&a[1]);
            let parts: Vec<serde_json::Value> = if delim.is_empty() {
                vec![serde_json::Value::String(source)]
            } else {
                source
                    .split(delim.as_str())
                    .map(|p| serde_json::Value::String(p.to_string()))
                    .collect()
            };
            match a.get(2).and_then(int_arg) {
                None => Value::Dynamic(serde_json::Value::Array(parts)),
                Some(i) => {
                    let picked: Vec<_> = usize::try_from(i)
                        .ok()
                        .and_then(|i| parts.get(i).cloned())
                        .into_iter()
                        .collect();
                    Value::Dynamic(serde_json::Value::Array(picked))
                }
            }
        },
    )
    .named_after_first_arg();
}
