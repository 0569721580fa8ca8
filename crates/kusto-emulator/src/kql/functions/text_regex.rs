//! Regular-expression functions: `extract_all` (and its deprecated `extractall`),
//! `replace_regex` (and the deprecated `replace`), `indexof_regex`, `regex_quote`. Patterns use
//! RE2 syntax (the `regex` crate accepts the same syntax for everything these functions need);
//! a constant pattern that does not compile is a semantic error when the query is bound.

use serde_json::Value as Json;

use super::params;
use super::text_common::{array, byte_offset, char_index, check_regex, rewrite_pattern, string};
use super::{DYNAMIC, Env, INTEGER, Registry, Ret, STRING, Types, int_arg, long, opt, p, text};
use crate::value::{KustoType, Value};

/// The groups `extract_all` returns: 1-based indexes or names.
enum Group {
    Index(usize),
    Name(String),
}

/// The groups asked for by `captureGroups` (`None` when an element is neither a positive
/// integer nor a string).
fn groups(v: &Value) -> Option<Vec<Group>> {
    array(v)?
        .iter()
        .map(|j| match j {
            Json::Number(n) => n
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i >= 1)
                .map(Group::Index),
            Json::String(s) => Some(Group::Name(s.clone())),
            _ => None,
        })
        .collect()
}

fn extract_all(env: &Env, pattern: &str, wanted: Option<&[Group]>, source: &str) -> Value {
    env.with_regex(pattern, |re| {
        let Some(re) = re else {
            return Value::Null;
        };
        let count = re.captures_len() - 1;
        if count == 0 || count > 16 {
            return Value::Null;
        }
        let mut indexes = Vec::new();
        match wanted {
            None => indexes.extend(1..=count),
            Some(list) => {
                for g in list {
                    let i = match g {
                        Group::Index(i) => Some(*i),
                        Group::Name(name) => {
                            re.capture_names().position(|n| n == Some(name.as_str()))
                        }
                    };
                    match i {
                        Some(i) if (1..=count).contains(&i) => indexes.push(i),
                        _ => return Value::Null,
                    }
                }
            }
        }
        let mut out = Vec::new();
        for caps in re.captures_iter(source) {
            let values: Vec<Json> = indexes
                .iter()
                .map(|i| Json::String(caps.get(*i).map_or("", |m| m.as_str()).to_string()))
                .collect();
            if indexes.len() == 1 {
                out.extend(values);
            } else {
                out.push(Json::Array(values));
            }
        }
        if out.is_empty() {
            Value::Null
        } else {
            Value::Dynamic(Json::Array(out))
        }
    })
}

/// Bind-time check of `extract_all`'s pattern: valid, with 1 to 16 capture groups.
fn check_extract_all(c: &[Option<&Value>]) -> Result<(), String> {
    check_regex(c, 0)?;
    if let Some(Some(Value::String(pattern))) = c.first()
        && let Ok(re) = regex::Regex::new(pattern)
    {
        let groups = re.captures_len() - 1;
        if !(1..=16).contains(&groups) {
            return Err(format!(
                "the regular expression must have between 1 and 16 capture groups, \
                 '{pattern}' has {groups}"
            ));
        }
    }
    Ok(())
}

fn replace_regex(env: &Env, source: &str, pattern: &str, rewrite: &str) -> Value {
    let replacement = rewrite_pattern(rewrite);
    env.with_regex(pattern, |re| match re {
        Some(re) => string(re.replace_all(source, replacement.as_str()).into_owned()),
        None => Value::Null,
    })
}

/// `indexof_regex`: like `indexof` with a pattern; matches do not overlap, and a negative start
/// is null.
fn index_of_regex(env: &Env, a: &[Value]) -> Value {
    let source = text(&a[0]);
    let start = a.get(2).and_then(int_arg).unwrap_or(0);
    let length = a.get(3).and_then(int_arg).unwrap_or(-1);
    let occurrence = a.get(4).and_then(int_arg).unwrap_or(1);
    if start < 0 || length < -1 || occurrence < 0 {
        return Value::Null;
    }
    let n = source.chars().count();
    let Ok(from) = usize::try_from(start) else {
        return Value::Null;
    };
    if from > n {
        return Value::Long(-1);
    }
    let to = match usize::try_from(length) {
        Ok(l) => from.saturating_add(l).min(n),
        Err(_) => n,
    };
    let (lo, hi) = (byte_offset(&source, from), byte_offset(&source, to));
    let window = &source[lo..hi];
    let wanted = usize::try_from(occurrence.max(1)).unwrap_or(usize::MAX);
    env.with_regex(&text(&a[1]), |re| match re {
        Some(re) => re
            .find_iter(window)
            .nth(wanted - 1)
            .map_or(Value::Long(-1), |m| {
                long(from + char_index(window, m.start()))
            }),
        None => Value::Null,
    })
}

/// `regex_quote`: the text with every character that is special in a pattern escaped.
fn regex_quote(s: &str) -> String {
    regex::escape(s)
}

pub(super) fn register(r: &mut Registry) {
    const TEXT: Types = STRING;
    for name in ["extract_all", "extractall"] {
        r.add(
            name,
            params![p("regex", TEXT), p("source", TEXT)],
            Ret::Fixed(KustoType::Dynamic),
            |a, env| extract_all(env, &text(&a[0]), None, &text(&a[1])),
        )
        .check(check_extract_all);
        r.add(
            name,
            params![
                p("regex", TEXT),
                p("captureGroups", DYNAMIC),
                p("source", TEXT)
            ],
            Ret::Fixed(KustoType::Dynamic),
            |a, env| match groups(&a[1]) {
                Some(g) => extract_all(env, &text(&a[0]), Some(&g), &text(&a[2])),
                None => Value::Null,
            },
        )
        .check(check_extract_all);
    }
    r.add(
        "replace_regex",
        params![
            p("source", TEXT),
            p("lookup_regex", TEXT),
            p("rewrite_pattern", TEXT)
        ],
        Ret::Fixed(KustoType::String),
        |a, env| replace_regex(env, &text(&a[0]), &text(&a[1]), &text(&a[2])),
    )
    .check(|c| check_regex(c, 1));
    // Deprecated: the pattern first, the text last.
    r.add(
        "replace",
        params![p("regex", TEXT), p("rewrite", TEXT), p("source", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, env| replace_regex(env, &text(&a[2]), &text(&a[0]), &text(&a[1])),
    )
    .check(|c| check_regex(c, 0));
    r.add(
        "indexof_regex",
        params![
            p("source", super::ANY),
            p("regex", TEXT),
            opt("start", INTEGER),
            opt("length", INTEGER),
            opt("occurrence", INTEGER)
        ],
        Ret::Fixed(KustoType::Long),
        |a, env| index_of_regex(env, a),
    )
    .check(|c| check_regex(c, 1));
    r.add(
        "regex_quote",
        params![p("value", super::ANY)],
        Ret::Fixed(KustoType::String),
        |a, _| string(regex_quote(&text(&a[0]))),
    );
}
