//! `parse`, `parse-where` and `parse-kv`.
//!
//! `parse` matches the text from its start against the pattern, as a regular expression built
//! from it: string constants (escaped, or as written with `kind=regex`), `*` (skip, lazily),
//! and one capture per column: `(\-?\d+)` for `int`/`long`, a number for `real`, otherwise
//! `(.*?)` (`(.*)` for a column that ends the pattern). With `kind=simple` (the default) and
//! `kind=regex` a value that does not convert to its column's type makes all the row's columns
//! null; with `kind=relaxed` only that column is null. A text that does not match gives nulls
//! (`parse`) or drops the row (`parse-where`).

use std::sync::Arc;

use super::OpCx;
use crate::kql::KqlError;
use crate::kql::ast::{Expr, OpKind, ParseKind, ParsePart};
use crate::kql::binder::Cx;
use crate::kql::eval::Table;
use crate::kql::scalar::{convert, to_text};
use crate::store::{Column, Row};
use crate::value::{KustoType, Value};

/// The regular expression of a pattern and its columns.
fn build(
    kind: ParseKind,
    flags: Option<&str>,
    pattern: &[ParsePart],
) -> (String, Vec<(String, KustoType)>) {
    let mut re = String::new();
    if let Some(f) = flags.filter(|f| !f.is_empty()) {
        re.push_str(&format!("(?{f})"));
    }
    re.push('^');
    let mut columns = Vec::new();
    let last_column = pattern
        .iter()
        .rposition(|p| matches!(p, ParsePart::Column(..)));
    let ends_with_column = last_column == Some(pattern.len() - 1);
    for (i, part) in pattern.iter().enumerate() {
        match part {
            ParsePart::Text(s) => {
                if kind == ParseKind::Regex {
                    re.push_str(&format!("(?:{s})"));
                } else {
                    re.push_str(&regex::escape(s));
                }
            }
            ParsePart::Any => re.push_str(".*?"),
            ParsePart::Column(name, ty) => {
                let ty = ty.unwrap_or(KustoType::String);
                let generic = if ends_with_column && Some(i) == last_column {
                    "(.*)"
                } else {
                    "(.*?)"
                };
                let body = match (kind, ty) {
                    (ParseKind::Relaxed, _) => generic,
                    (_, KustoType::Int | KustoType::Long) => r"(\-?\d+)",
                    (_, KustoType::Real) => r"(\-?\d+(?:\.\d*)?(?:[eE][\-+]?\d+)?)",
                    _ => generic,
                };
                // A named group: the pattern's own groups (kind=regex) keep their numbers.
                re.push_str(&format!(
                    "(?P<kqlcol{}>{})",
                    columns.len(),
                    &body[1..body.len() - 1]
                ));
                columns.push((name.clone(), ty));
            }
        }
    }
    (re, columns)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn parse(
    cx: &OpCx<'_, '_>,
    input: Table,
    kind: ParseKind,
    flags: Option<&str>,
    source: &Expr,
    pattern: &[ParsePart],
    filter: bool,
) -> Result<Table, KqlError> {
    let bound = cx.binder(&input.columns).bind(source)?;
    let (re, parsed) = build(kind, flags, pattern);
    let re = regex::RegexBuilder::new(&re)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| {
            cx.error(format!(
                "the pattern is not a valid regular expression: {e}"
            ))
        })?;
    let mut columns = input.columns.clone();
    let mut slots = Vec::new();
    for (name, ty) in &parsed {
        match columns.iter().position(|c| c.name == *name) {
            Some(i) => {
                columns[i] = Column::new(name.clone(), *ty);
                slots.push(i);
            }
            None => {
                columns.push(Column::new(name.clone(), *ty));
                slots.push(columns.len() - 1);
            }
        }
    }
    let mut rows: Vec<Row> = Vec::with_capacity(input.rows.len());
    for i in 0..input.rows.len() {
        let text = to_text(&bound.eval(&Cx::at(&input.rows, i, cx.env())));
        let mut values: Vec<Value> = vec![Value::Null; parsed.len()];
        let mut matched = false;
        if let Some(caps) = re.captures(&text) {
            matched = true;
            let mut failed = false;
            for (k, (_, ty)) in parsed.iter().enumerate() {
                let raw = caps.name(&format!("kqlcol{k}")).map_or("", |m| m.as_str());
                let v = convert(&Value::String(raw.to_string()), *ty);
                if v.is_null() && *ty != KustoType::String {
                    failed = true;
                }
                values[k] = v;
            }
            if failed && kind != ParseKind::Relaxed {
                values = vec![Value::Null; parsed.len()];
                matched = false;
            }
        }
        if filter && !matched {
            continue;
        }
        let mut row = input.rows[i].clone();
        row.resize(columns.len(), Value::Null);
        for (slot, v) in slots.iter().zip(values) {
            row[*slot] = match (v, columns[*slot].ty) {
                (Value::Null, KustoType::String) if !matched => Value::String(String::new()),
                (v, _) => v,
            };
        }
        rows.push(row);
    }
    Ok(Table {
        columns,
        rows: Arc::new(rows),
        name: input.name,
        source: input.source,
    })
}

/// Splits `text` into key/value pairs with the delimiters and quote characters of `parse-kv`.
fn pairs(text: &str, pair: &str, kv: &str, quotes: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(at) = rest.find(kv) else { break };
        // A key may be quoted too (`"event time"=...`).
        let key = rest[..at]
            .trim()
            .trim_matches(|c: char| !quotes.is_empty() && quotes.contains(c))
            .to_string();
        rest = rest[at + kv.len()..].trim_start();
        let value;
        if let Some(q) = rest.chars().next().filter(|c| quotes.contains(*c)) {
            let body = &rest[q.len_utf8()..];
            let end = body.find(q).unwrap_or(body.len());
            value = body[..end].to_string();
            rest = body.get(end + q.len_utf8()..).unwrap_or("");
            rest = rest.find(pair).map_or("", |p| &rest[p + pair.len()..]);
        } else {
            let end = if pair.is_empty() {
                rest.len()
            } else {
                rest.find(pair).unwrap_or(rest.len())
            };
            value = rest[..end].trim().to_string();
            rest = rest.get(end + pair.len()..).unwrap_or("");
        }
        out.push((key, value));
    }
    out
}

pub(super) fn parse_kv(cx: &OpCx<'_, '_>, input: Table, op: &OpKind) -> Result<Table, KqlError> {
    let OpKind::ParseKv {
        source,
        columns: wanted,
        pair_delimiter,
        kv_delimiter,
        quote,
        regex,
        ..
    } = op
    else {
        return Err(cx.error("internal: not parse-kv"));
    };
    let bound = cx.binder(&input.columns).bind(source)?;
    let re = match regex {
        Some(r) => Some(
            regex::RegexBuilder::new(r)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| cx.error(format!("the regex is not valid: {e}")))?,
        ),
        None => None,
    };
    let pair = pair_delimiter.as_deref().unwrap_or(" ");
    let kv = kv_delimiter.as_deref().unwrap_or("=");
    let quotes = quote.as_deref().unwrap_or("");
    let mut columns = input.columns.clone();
    columns.extend(wanted.iter().map(|(n, t)| Column::new(n.clone(), *t)));
    let mut rows = Vec::with_capacity(input.rows.len());
    for i in 0..input.rows.len() {
        let text = to_text(&bound.eval(&Cx::at(&input.rows, i, cx.env())));
        let found: Vec<(String, String)> = match &re {
            Some(re) => re
                .captures_iter(&text)
                .filter_map(|c| {
                    Some((
                        c.get(1)?.as_str().to_string(),
                        c.get(2)?.as_str().to_string(),
                    ))
                })
                .collect(),
            None => pairs(&text, pair, kv, quotes),
        };
        let mut row = input.rows[i].clone();
        for (name, ty) in wanted {
            let v = found
                .iter()
                .find(|(k, _)| k == name)
                .map_or(Value::Null, |(_, v)| {
                    convert(&Value::String(v.clone()), *ty)
                });
            row.push(v);
        }
        rows.push(row);
    }
    Ok(Table {
        columns,
        rows: Arc::new(rows),
        name: input.name,
        source: input.source,
    })
}
