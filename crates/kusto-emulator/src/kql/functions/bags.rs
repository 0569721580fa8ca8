//! Property bags: `bag_merge`, `bag_remove_keys`, `bag_has_key`, `bag_set_key`, `bag_zip`,
//! `treepath`.
//!
//! A key that starts with `$` is a JSONPath of property names (`$.a.b`, `$['a']['b']`; array
//! indexes are not supported, as documented); any other key is one property name.

use serde_json::{Map, Value as Json};

use super::arrays::{array, items};
use super::params;
use super::{ANY, BOOL, DYNAMIC, Registry, Ret, STRING, p, text};
use crate::value::{KustoType, Value};

fn bag(v: &Value) -> Option<&Map<String, Json>> {
    match v {
        Value::Dynamic(Json::Object(m)) => Some(m),
        _ => None,
    }
}

/// The property names of a key: one name, or the steps of a `$` path; `None` when a path is
/// malformed or indexes an array.
pub(crate) fn key_path(key: &str) -> Option<Vec<String>> {
    let Some(rest) = key.strip_prefix('$') else {
        return Some(vec![key.to_string()]);
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                out.push(chars[start..end].iter().collect());
                i = end;
            }
            '[' => {
                let quote = *chars.get(i + 1)?;
                if quote != '\'' && quote != '"' {
                    return None;
                }
                let start = i + 2;
                let len = chars[start..].iter().position(|c| *c == quote)?;
                out.push(chars[start..start + len].iter().collect());
                if chars.get(start + len + 1) != Some(&']') {
                    return None;
                }
                i = start + len + 2;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn lookup<'a>(m: &'a Map<String, Json>, path: &[String]) -> Option<&'a Json> {
    let (first, rest) = path.split_first()?;
    let v = m.get(first)?;
    if rest.is_empty() {
        return Some(v);
    }
    match v {
        Json::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

fn remove(m: &mut Map<String, Json>, path: &[String]) {
    match path {
        [] => {}
        [last] => {
            m.shift_remove(last);
        }
        [first, rest @ ..] => {
            if let Some(Json::Object(inner)) = m.get_mut(first) {
                remove(inner, rest);
            }
        }
    }
}

fn set(m: &mut Map<String, Json>, path: &[String], value: Json) {
    match path {
        [] => {}
        [last] => {
            m.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = m
                .entry(first.clone())
                .or_insert_with(|| Json::Object(Map::new()));
            if !entry.is_object() {
                *entry = Json::Object(Map::new());
            }
            if let Json::Object(inner) = entry {
                set(inner, rest, value);
            }
        }
    }
}

/// `treepath`: every path to a property or array element, depth first, arrays as `[0]`.
fn tree_paths(v: &Json, prefix: &str, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, child) in m {
                let path = format!("{prefix}['{k}']");
                if !out.contains(&path) {
                    out.push(path.clone());
                }
                tree_paths(child, &path, out);
            }
        }
        Json::Array(xs) if !xs.is_empty() => {
            let path = format!("{prefix}[0]");
            if !out.contains(&path) {
                out.push(path.clone());
            }
            for x in xs {
                tree_paths(x, &path, out);
            }
        }
        _ => {}
    }
}

pub(super) fn register(r: &mut Registry) {
    const DYN: Ret = Ret::Fixed(KustoType::Dynamic);
    // pack_all([ignore_null_empty]): the binder passes the flag, then the name and value of
    // each column of the operator's input.
    r.add(
        "pack_all",
        params![
            p("ignore_null_empty", BOOL),
            p("column_name", STRING),
            p("column_value", ANY)
        ],
        DYN,
        |a, _| {
            let ignore = matches!(a.first(), Some(Value::Bool(true)));
            let mut out = Map::new();
            for pair in a.get(1..).unwrap_or_default().chunks(2) {
                if let [k, v] = pair {
                    let empty = v.is_null() || matches!(v, Value::String(s) if s.is_empty());
                    if !(ignore && empty) {
                        out.insert(text(k), v.to_json());
                    }
                }
            }
            Value::Dynamic(Json::Object(out))
        },
    )
    .handles_nulls()
    .variadic();
    r.add(
        "bag_merge",
        params![p("bag1", DYNAMIC), p("bag2", DYNAMIC)],
        DYN,
        |a, _| {
            // The first bag that has a key gives its value; arguments that are not bags are
            // skipped.
            let mut out = Map::new();
            for m in a.iter().filter_map(bag) {
                for (k, v) in m {
                    if !out.contains_key(k) {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Dynamic(Json::Object(out))
        },
    )
    .handles_nulls()
    .variadic();
    r.add(
        "bag_remove_keys",
        params![p("bag", DYNAMIC), p("keys", DYNAMIC)],
        DYN,
        |a, _| {
            let (Some(m), Some(keys)) = (bag(&a[0]), items(&a[1])) else {
                return Value::Null;
            };
            let mut out = m.clone();
            for k in keys {
                if let Some(path) = k.as_str().and_then(key_path) {
                    remove(&mut out, &path);
                }
            }
            Value::Dynamic(Json::Object(out))
        },
    );
    r.add(
        "bag_has_key",
        params![p("bag", DYNAMIC), p("key", STRING)],
        Ret::Fixed(KustoType::Bool),
        |a, _| match bag(&a[0]) {
            Some(m) => {
                Value::Bool(key_path(&text(&a[1])).is_some_and(|path| lookup(m, &path).is_some()))
            }
            None => Value::Null,
        },
    );
    r.add(
        "bag_set_key",
        params![p("bag", DYNAMIC), p("key", STRING), p("value", ANY)],
        DYN,
        |a, _| {
            let Some(m) = bag(&a[0]) else {
                return Value::Null;
            };
            let Some(path) = key_path(&text(&a[1])).filter(|p| !p.is_empty()) else {
                return Value::Null;
            };
            let mut out = m.clone();
            set(&mut out, &path, a[2].to_json());
            Value::Dynamic(Json::Object(out))
        },
    )
    .handles_nulls();
    r.add(
        "bag_zip",
        params![p("keys", DYNAMIC), p("values", DYNAMIC)],
        DYN,
        |a, _| {
            let (Some(keys), Some(values)) = (items(&a[0]), items(&a[1])) else {
                return Value::Null;
            };
            let mut out = Map::new();
            for (i, k) in keys.iter().enumerate() {
                if let Json::String(k) = k {
                    out.insert(k.clone(), values.get(i).cloned().unwrap_or(Json::Null));
                }
            }
            Value::Dynamic(Json::Object(out))
        },
    );
    r.add("treepath", params![p("object", DYNAMIC)], DYN, |a, _| {
        let Value::Dynamic(j) = &a[0] else {
            return Value::Null;
        };
        let mut out = Vec::new();
        tree_paths(j, "", &mut out);
        array(out.into_iter().map(Json::String).collect())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths() {
        assert_eq!(key_path("a.b"), Some(vec!["a.b".to_string()]));
        assert_eq!(
            key_path("$.a.b"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            key_path("$['a']['b c']"),
            Some(vec!["a".to_string(), "b c".to_string()])
        );
        assert_eq!(key_path("$.a[0]"), None);
        assert_eq!(key_path("$..a"), None);
    }
}
