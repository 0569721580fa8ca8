//! Strings: `strcat`, `strcat_delim`, `strlen`, `substring`, `tolower`, `toupper`, `indexof`,
//! `replace_string`, `strrep`, `reverse`, `trim`, `trim_start`, `trim_end`, `extract`,
//! `countof`, `split`. Lengths and positions count Unicode characters.

use super::params;
use super::{ANY, INTEGER, Registry, Ret, STRING, Types, int_arg, long, opt, p, text};
use crate::value::{KustoType, Value};

fn s(v: String) -> Value {
    Value::String(v)
}

/// The characters `start..start+len` of `t` (clamped), as `substring` takes them.
fn chars_range(t: &str, start: i64, len: Option<i64>) -> String {
    let count = t.chars().count() as i64;
    let start = if start < 0 { 0 } else { start.min(count) };
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

fn trim_regex(env: &super::Env, pattern: &str, t: &str, start: bool, end: bool) -> Value {
    let mut out = t.to_string();
    if start {
        let anchored = format!("^(?:{pattern})");
        match env.with_regex(&anchored, |re| {
            re.map(|re| re.replace(&out, "").into_owned())
        }) {
            Some(v) => out = v,
            None => return Value::Null,
        }
    }
    if end {
        let anchored = format!("(?:{pattern})$");
        match env.with_regex(&anchored, |re| {
            re.map(|re| re.replace(&out, "").into_owned())
        }) {
            Some(v) => out = v,
            None => return Value::Null,
        }
    }
    s(out)
}

fn valid_regex(args: &[Option<&Value>], at: usize) -> Result<(), String> {
    if let Some(Some(Value::String(pattern))) = args.get(at)
        && regex::Regex::new(pattern).is_err()
    {
        return Err(format!("the regular expression '{pattern}' is not valid"));
    }
    Ok(())
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
        params![p("delimiter", TEXT), p("value", ANY), p("value", ANY)],
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
        params![p("source", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| s(text(&a[0]).to_lowercase()),
    );
    r.add(
        "toupper",
        params![p("source", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| s(text(&a[0]).to_uppercase()),
    );
    r.add(
        "indexof",
        params![
            p("source", ANY),
            p("lookup", TEXT),
            opt("start_index", INTEGER),
            opt("length", INTEGER),
            opt("occurrence", INTEGER),
        ],
        Ret::Fixed(KustoType::Long),
        |a, _| {
            let source: Vec<char> = text(&a[0]).chars().collect();
            let lookup: Vec<char> = text(&a[1]).chars().collect();
            let n = source.len() as i64;
            let mut start = a.get(2).and_then(int_arg).unwrap_or(0);
            if start < 0 {
                start += n;
            }
            if start < 0 || start > n {
                return Value::Long(-1);
            }
            let end = match a.get(3).and_then(int_arg) {
                Some(l) if l >= 0 => (start + l).min(n),
                _ => n,
            };
            let occurrence = a.get(4).and_then(int_arg).unwrap_or(1);
            if occurrence <= 0 {
                return Value::Null;
            }
            let mut seen = 0;
            let (start, end) = (start as usize, end as usize);
            let mut i = start;
            while i + lookup.len() <= end {
                if source[i..i + lookup.len()] == lookup[..] {
                    seen += 1;
                    if seen == occurrence {
                        return long(i);
                    }
                }
                i += 1;
            }
            Value::Long(-1)
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
            opt("delimiter", TEXT)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let n = int_arg(&a[1]).unwrap_or(0).clamp(0, 1024) as usize;
            let delim = a.get(2).map(text).unwrap_or_default();
            s(vec![text(&a[0]); n].join(&delim))
        },
    );
    r.add(
        "reverse",
        params![p("value", ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| s(text(&a[0]).chars().rev().collect()),
    );
    r.add(
        "trim",
        params![p("regex", TEXT), p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, env| trim_regex(env, &text(&a[0]), &text(&a[1]), true, true),
    )
    .check(|c| valid_regex(c, 0));
    r.add(
        "trim_start",
        params![p("regex", TEXT), p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, env| trim_regex(env, &text(&a[0]), &text(&a[1]), true, false),
    )
    .check(|c| valid_regex(c, 0));
    r.add(
        "trim_end",
        params![p("regex", TEXT), p("source", ANY)],
        Ret::Fixed(KustoType::String),
        |a, env| trim_regex(env, &text(&a[0]), &text(&a[1]), false, true),
    )
    .check(|c| valid_regex(c, 0));
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
    .check(|c| valid_regex(c, 0));
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
    );
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
    );
}
