//! More string functions: `replace_strings`, `strcmp`, `translate`, `has_any_index`,
//! `string_size`, `strcat_array`/`array_strcat`, `parse_csv`, `parse_command_line`,
//! `extract_json`/`extractjson`, `parse_version`, `format_bytes`, `isascii`, `isutf8`.

use serde_json::Value as Json;

use super::params;
use super::text_common::{array, json_text, string};
use super::{
    ANY, DYNAMIC, INTEGER, NUMBER, Registry, Ret, STRING, int_arg, long, opt, p, real_arg,
};
use super::{Types, text};
use crate::kql::binder::bound::has_term;
use crate::kql::scalar::{convert, format_real};
use crate::value::{Decimal, KustoType, Value};

/// `replace_strings`: each lookup in order replaces its matches in the parts of the text that no
/// earlier lookup matched; a lookup that is not a string is skipped, and a match whose rewrite is
/// not a string keeps its text (it still protects it from later lookups).
fn replace_strings(source: &str, lookups: &[Json], rewrites: &[Json]) -> String {
    // (text, already matched)
    let mut parts: Vec<(String, bool)> = vec![(source.to_string(), false)];
    for (i, lookup) in lookups.iter().enumerate() {
        let Json::String(lookup) = lookup else {
            continue;
        };
        if lookup.is_empty() {
            continue;
        }
        let rewrite = match rewrites.get(i) {
            Some(Json::String(r)) => Some(r.as_str()),
            _ => None,
        };
        let mut next = Vec::with_capacity(parts.len());
        for (part, matched) in parts {
            if matched || !part.contains(lookup.as_str()) {
                next.push((part, matched));
                continue;
            }
            let mut rest = part.as_str();
            while let Some(at) = rest.find(lookup.as_str()) {
                if at > 0 {
                    next.push((rest[..at].to_string(), false));
                }
                next.push((rewrite.unwrap_or(lookup).to_string(), true));
                rest = &rest[at + lookup.len()..];
            }
            if !rest.is_empty() {
                next.push((rest.to_string(), false));
            }
        }
        parts = next;
    }
    parts.into_iter().map(|(p, _)| p).collect()
}

/// `translate`: each character of `search` in `source` becomes the character at the same
/// position of `replacement` (its last character when it is shorter), or is removed when
/// `replacement` is empty.
fn translate(search: &str, replacement: &str, source: &str) -> String {
    let search: Vec<char> = search.chars().collect();
    let replacement: Vec<char> = replacement.chars().collect();
    source
        .chars()
        .filter_map(|c| match search.iter().position(|s| *s == c) {
            None => Some(c),
            Some(i) => replacement.get(i).or_else(|| replacement.last()).copied(),
        })
        .collect()
}

/// `parse_csv`: the fields of the first record (quoted fields may hold commas, line breaks and
/// doubled quotes).
fn parse_csv(text: &str) -> Vec<Json> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(Json::String(std::mem::take(&mut field)));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => break,
            '\n' => break,
            other => {
                field.push(other);
                at_field_start = false;
            }
        }
    }
    fields.push(Json::String(field));
    fields
}

/// `parse_command_line(..., "windows")`: the arguments as `CommandLineToArgvW` splits them. The
/// program name (first argument) ends at whitespace outside quotes and keeps backslashes as they
/// are; later arguments follow the backslash rules (2n backslashes and a quote: n backslashes and
/// a quote toggle; 2n+1: n backslashes and a literal quote) and `""` inside quotes is a quote.
fn parse_command_line(line: &str) -> Vec<Json> {
    let chars: Vec<char> = line.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    // The program name.
    let mut name = String::new();
    let mut quoted = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            quoted = !quoted;
        } else if !quoted && (c == ' ' || c == '\t') {
            break;
        } else {
            name.push(c);
        }
        i += 1;
    }
    if chars.is_empty() {
        return args;
    }
    args.push(Json::String(name));
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let start = i;
                while i < chars.len() && chars[i] == '\\' {
                    i += 1;
                }
                let n = i - start;
                if i < chars.len() && chars[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            if c == '"' {
                if quoted && chars.get(i + 1) == Some(&'"') {
                    arg.push('"');
                    i += 2;
                    continue;
                }
                quoted = !quoted;
                i += 1;
                continue;
            }
            if !quoted && (c == ' ' || c == '\t') {
                break;
            }
            arg.push(c);
            i += 1;
        }
        args.push(Json::String(arg));
    }
    args
}

/// One step of a JSONPath: a member name or an array index.
enum Step {
    Member(String),
    Index(i64),
}

/// Parses the supported JSONPath subset: `$`, `.name`, `['name']`, `["name"]`, `[n]`.
fn json_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.trim().strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name.is_empty() {
                    return None;
                }
                steps.push(Step::Member(name));
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']')? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                match quoted {
                    Some(name) => steps.push(Step::Member(name.to_string())),
                    None => steps.push(Step::Index(inner.parse().ok()?)),
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// `extract_json(path, json [, typeof(t)])`: the element at `path`, as a string (its JSON text
/// when it is not a string) or converted to the type literal's type; null when the text is not
/// JSON or the path finds nothing.
fn extract_json(a: &[Value]) -> Value {
    let Some(steps) = json_path(&text(&a[0])) else {
        return string("");
    };
    let doc = match &a[1] {
        Value::Dynamic(j) => Some(j.clone()),
        other => serde_json::from_str::<Json>(&text(other)).ok(),
    };
    let mut at = doc.as_ref();
    for step in &steps {
        at = match (step, at) {
            (Step::Member(name), Some(Json::Object(map))) => map.get(name),
            (Step::Index(i), Some(Json::Array(items))) => {
                let len = items.len() as i64;
                let index = if *i < 0 { len + i } else { *i };
                usize::try_from(index).ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
    }
    let Some(found) = at else {
        return match a.get(2).and_then(Value::kusto_type) {
            None | Some(KustoType::String) => string(""),
            Some(_) => Value::Null,
        };
    };
    match a.get(2).and_then(Value::kusto_type) {
        None | Some(KustoType::String) => string(json_text(found)),
        Some(KustoType::Dynamic) => Value::Dynamic(found.clone()),
        Some(ty) => convert(&Value::String(json_text(found)), ty),
    }
}

/// `parse_version`: one to four dot-separated parts of at most eight digits, as the decimal
/// `p1 * 10^24 + p2 * 10^16 + p3 * 10^8 + p4`; null otherwise.
fn parse_version(v: &str) -> Value {
    let parts: Vec<&str> = v.split('.').collect();
    if parts.is_empty()
        || parts.len() > 4
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Value::Null;
    }
    let mut digits = String::new();
    for i in 0..4 {
        let part: u64 = parts.get(i).and_then(|p| p.parse().ok()).unwrap_or(0);
        digits.push_str(&format!("{part:08}"));
    }
    Decimal::parse(&digits).map_or(Value::Null, Value::Decimal)
}

const BYTE_UNITS: [&str; 7] = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB"];

/// `format_bytes(size [, precision [, units]])`: the size in the given unit (powers of 1024),
/// or in the largest unit in which it is at least 1, rounded to `precision` digits.
fn format_bytes(a: &[Value]) -> Value {
    let Some(size) = real_arg(&a[0]) else {
        return Value::Null;
    };
    let precision = a.get(1).and_then(int_arg).unwrap_or(0).clamp(0, 15);
    let unit = match a.get(2).map(text).filter(|u| !u.is_empty()) {
        Some(u) => match BYTE_UNITS.iter().position(|b| b.eq_ignore_ascii_case(&u)) {
            Some(i) => i,
            None => return Value::Null,
        },
        None => {
            let mut i = 0;
            while i + 1 < BYTE_UNITS.len() && size.abs() >= 1024f64.powi(i as i32 + 1) {
                i += 1;
            }
            i
        }
    };
    let scaled = size / 1024f64.powi(unit as i32);
    let factor = 10f64.powi(precision as i32);
    let rounded = (scaled * factor).round() / factor;
    string(format!("{} {}", format_real(rounded), BYTE_UNITS[unit]))
}

pub(super) fn register(r: &mut Registry) {
    const TEXT: Types = STRING;
    r.add(
        "replace_strings",
        params![
            p("text", TEXT),
            p("lookups", DYNAMIC),
            p("rewrites", DYNAMIC)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let source = text(&a[0]);
            match (array(&a[1]), array(&a[2])) {
                (Some(l), Some(w)) => string(replace_strings(&source, l, w)),
                _ => string(source),
            }
        },
    );
    r.add(
        "strcmp",
        params![p("string1", ANY), p("string2", ANY)],
        Ret::Fixed(KustoType::Long),
        |a, _| {
            Value::Long(match text(&a[0]).cmp(&text(&a[1])) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            })
        },
    );
    r.add(
        "translate",
        params![
            p("searchList", TEXT),
            p("replacementList", TEXT),
            p("source", TEXT)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| string(translate(&text(&a[0]), &text(&a[1]), &text(&a[2]))),
    );
    r.add(
        "has_any_index",
        params![p("source", TEXT), p("values", DYNAMIC)],
        Ret::Fixed(KustoType::Long),
        |a, _| {
            let source = text(&a[0]).to_lowercase();
            let Some(values) = array(&a[1]) else {
                return Value::Long(-1);
            };
            values
                .iter()
                .position(|v| has_term(&source, &json_text(v).to_lowercase()))
                .map_or(Value::Long(-1), long)
        },
    );
    r.add(
        "string_size",
        params![p("source", TEXT)],
        Ret::Fixed(KustoType::Long),
        |a, _| long(text(&a[0]).len()),
    );
    for name in ["strcat_array", "array_strcat"] {
        r.add(
            name,
            params![p("array", DYNAMIC), p("delimiter", ANY)],
            Ret::Fixed(KustoType::String),
            |a, _| match array(&a[0]) {
                Some(items) => {
                    let parts: Vec<String> = items.iter().map(json_text).collect();
                    string(parts.join(&text(&a[1])))
                }
                None => Value::Null,
            },
        );
    }
    r.add(
        "parse_csv",
        params![p("csv_text", TEXT)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| Value::Dynamic(Json::Array(parse_csv(&text(&a[0])))),
    )
    .named_after_first_arg();
    r.add(
        "parse_command_line",
        params![p("command_line", ANY), p("parser", TEXT)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            if !text(&a[1]).eq_ignore_ascii_case("windows") {
                return Value::Null;
            }
            Value::Dynamic(Json::Array(parse_command_line(&text(&a[0]))))
        },
    )
    .check(|c| match c.get(1) {
        Some(Some(v)) if !text(v).eq_ignore_ascii_case("windows") => Err(format!(
            "the parser type must be \"windows\", got \"{}\"",
            text(v)
        )),
        _ => Ok(()),
    });
    for name in ["extract_json", "extractjson"] {
        r.add(
            name,
            params![p("jsonPath", TEXT), p("jsonText", ANY), opt("type", ANY)],
            Ret::Custom(|t| Ok(t.get(2).copied().unwrap_or(KustoType::String))),
            |a, _| extract_json(a),
        )
        .handles_nulls()
        .check(|c| match c.first() {
            Some(Some(Value::String(path))) if json_path(path).is_none() => Err(format!(
                "'{path}' is not a supported JSONPath ($, .name, ['name'], [index])"
            )),
            _ => Ok(()),
        });
    }
    r.add(
        "parse_version",
        params![p("version", TEXT)],
        Ret::Fixed(KustoType::Decimal),
        |a, _| parse_version(&text(&a[0])),
    );
    r.add(
        "format_bytes",
        params![
            p("size", NUMBER),
            opt("precision", INTEGER),
            opt("units", TEXT)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| format_bytes(a),
    )
    .named_after_first_arg();
    r.add(
        "isascii",
        params![p("value", ANY)],
        Ret::Fixed(KustoType::Bool),
        |a, _| Value::Bool(text(&a[0]).is_ascii()),
    );
    // Strings are always valid UTF-8 here (invalid bytes never enter the store).
    r.add(
        "isutf8",
        params![p("value", ANY)],
        Ret::Fixed(KustoType::Bool),
        |_, _| Value::Bool(true),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strs(v: &[Json]) -> Vec<String> {
        v.iter().map(json_text).collect()
    }

    #[test]
    fn replace_strings_earlier_lookups_win() {
        let l = [json!("is"), json!("This")];
        let w = [json!("was"), json!("This")];
        assert_eq!(
            replace_strings("This is an example", &l, &w),
            "Thwas was an example"
        );
        let l = [json!("This"), json!("is")];
        let w = [json!(12345), json!("was")];
        assert_eq!(replace_strings("This is", &l, &w), "This was");
    }

    #[test]
    fn translate_repeats_the_last_replacement() {
        assert_eq!(translate("abc", "x", "abc"), "xxx");
        assert_eq!(translate("abc", "", "ab"), "");
        assert_eq!(translate("krasp", "otsku", "spark"), "kusto");
    }

    #[test]
    fn csv_records() {
        let f = parse_csv("aa,\"b,b,b\",cc,\"Escaping quotes: \"\"Title\"\"\",\"line1\nline2\"");
        assert_eq!(
            strs(&f),
            [
                "aa",
                "b,b,b",
                "cc",
                "Escaping quotes: \"Title\"",
                "line1\nline2"
            ]
        );
        assert_eq!(strs(&parse_csv("record1,a\nrecord2,x")), ["record1", "a"]);
        assert_eq!(strs(&parse_csv("")), [""]);
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            strs(&parse_command_line("echo \"hello world!\"")),
            ["echo", "hello world!"]
        );
        assert_eq!(
            strs(&parse_command_line(r#"a.exe a\\\"b "c d" e\f"#)),
            ["a.exe", r#"a\"b"#, "c d", r"e\f"]
        );
        assert!(parse_command_line("").is_empty());
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("1.2.3.4"),
            Value::Decimal(Decimal::parse("1000000020000000300000004").unwrap())
        );
        assert_eq!(
            parse_version("0.0.3"),
            Value::Decimal(Decimal::parse("300000000").unwrap())
        );
        assert_eq!(parse_version("1.x"), Value::Null);
        assert_eq!(parse_version("1.2.3.4.5"), Value::Null);
        assert_eq!(parse_version("123456789"), Value::Null);
    }

    #[test]
    fn json_paths() {
        assert!(json_path("$.a['b'][0]").is_some());
        assert!(json_path("a.b").is_none());
        assert!(json_path("$.").is_none());
    }
}
