//! Helpers shared by the string, encoding, hash, URL and network families (`text_*.rs`,
//! `network*.rs`): type literals, dynamic arrays, regular expressions checked at bind time and
//! RE2-style rewrite patterns.

use serde_json::Value as Json;

use crate::value::{Decimal, KustoType, Value};

/// The constant that stands for the type literal `typeof(t)`: a value of type `t` (its zero),
/// whose type a function reads from its argument types (`extract(..., typeof(long))`).
pub(crate) fn type_literal(ty: KustoType) -> Value {
    match ty {
        KustoType::Bool => Value::Bool(false),
        KustoType::Int => Value::Int(0),
        KustoType::Long => Value::Long(0),
        KustoType::Real => Value::Real(0.0),
        KustoType::Decimal => Value::Decimal(Decimal::from_i64(0)),
        KustoType::String => Value::String(String::new()),
        KustoType::DateTime => Value::DateTime(0),
        KustoType::TimeSpan => Value::TimeSpan(0),
        KustoType::Guid => Value::Guid(uuid::Uuid::nil()),
        KustoType::Dynamic => Value::Dynamic(Json::Null),
    }
}

/// The text of a value with datetimes in their full round-trip form
/// (`2020-01-01T00:00:00.0000000Z`): what the documented examples of `hash_sha256()` and
/// `reverse()` show for a datetime argument. Any other value is as `tostring()` gives it.
pub(crate) fn full_text(v: &Value) -> String {
    match v {
        Value::DateTime(t) => {
            let short = crate::time::format_datetime(*t);
            let body = short.trim_end_matches('Z');
            match body.split_once('.') {
                Some((whole, fraction)) => format!("{whole}.{fraction:0<7}Z"),
                None => format!("{body}.0000000Z"),
            }
        }
        other => super::text(other),
    }
}

/// A string value.
pub(crate) fn string(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// The elements of a dynamic array (`None` for anything else).
pub(crate) fn array(v: &Value) -> Option<&Vec<Json>> {
    match v {
        Value::Dynamic(Json::Array(items)) => Some(items),
        _ => None,
    }
}

/// The text of a JSON element as `tostring()` gives it (a string without quotes).
pub(crate) fn json_text(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Bind-time check: argument `at`, when it is a constant string, is a valid regular
/// expression.
pub(crate) fn check_regex(args: &[Option<&Value>], at: usize) -> Result<(), String> {
    if let Some(Some(Value::String(pattern))) = args.get(at)
        && let Err(e) = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 22)
            .build()
    {
        let reason = e.to_string();
        let first = reason.lines().last().unwrap_or("").trim();
        return Err(format!(
            "argument #{} is not a valid regular expression: '{pattern}' ({first})",
            at + 1
        ));
    }
    Ok(())
}

/// An RE2 rewrite pattern (`\0` the whole match, `\1`... the groups, `\\` a backslash) as the
/// `regex` crate's replacement text (`${0}`, `${1}`, `$$`).
pub(crate) fn rewrite_pattern(rewrite: &str) -> String {
    let mut out = String::with_capacity(rewrite.len() + 8);
    let mut chars = rewrite.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    chars.next();
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// Character index of a byte offset in `s`.
pub(crate) fn char_index(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(0, |p| p.chars().count())
}

/// Byte offset of character index `i` in `s` (the length when past the end).
pub(crate) fn byte_offset(s: &str, i: usize) -> usize {
    s.char_indices().nth(i).map_or(s.len(), |(b, _)| b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_patterns_translate_re2_references() {
        assert_eq!(rewrite_pattern(r"was: \1"), "was: ${1}");
        assert_eq!(rewrite_pattern(r"\0-\2"), "${0}-${2}");
        assert_eq!(rewrite_pattern(r"a\\b $5"), r"a\b $$5");
        assert_eq!(rewrite_pattern(r"end\"), r"end\");
    }

    #[test]
    fn regex_check_reports_the_argument() {
        let bad = Value::String("(".into());
        let err = check_regex(&[None, Some(&bad)], 1).unwrap_err();
        assert!(err.contains("argument #2"), "{err}");
        assert!(check_regex(&[Some(&Value::String("a+".into()))], 0).is_ok());
        // A non-constant argument is checked at run time.
        assert!(check_regex(&[None], 0).is_ok());
    }

    #[test]
    fn full_text_pads_datetime_fractions() {
        let t = crate::time::parse_datetime("2020-01-01").unwrap();
        assert_eq!(
            full_text(&Value::DateTime(t)),
            "2020-01-01T00:00:00.0000000Z"
        );
        let t = crate::time::parse_datetime("2020-01-01 00:00:00.5").unwrap();
        assert_eq!(
            full_text(&Value::DateTime(t)),
            "2020-01-01T00:00:00.5000000Z"
        );
        assert_eq!(full_text(&Value::Long(3)), "3");
    }

    #[test]
    fn char_and_byte_offsets() {
        assert_eq!(char_index("héllo", 3), 2);
        assert_eq!(byte_offset("héllo", 2), 3);
        assert_eq!(byte_offset("ab", 5), 2);
    }
}
