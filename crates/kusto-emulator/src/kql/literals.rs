//! Typed literals (`datetime(...)`, `timespan(...)`, `dynamic(...)`, `real(nan)`, `int(null)`,
//! ...) and the `dynamic` literal syntax, which is JSON extended with KQL literals
//! (`dynamic({"when": datetime(2020-01-01), "n": 1d})`).

use serde_json::{Map, Value as Json};

use super::lexer::{Tok, tokenize};
use crate::parse_value::parse_scalar;
use crate::value::{KustoType, Value};

/// The value and type of `name(raw)`; an error message when `raw` is not a literal of the type.
pub(crate) fn typed(name: &str, raw: &str) -> Result<(Value, KustoType), String> {
    let ty = KustoType::parse(name).ok_or_else(|| format!("unknown type {name}"))?;
    let bad = || format!("Invalid literal: {name}({raw})");
    let inner = raw.trim();
    if inner == "null" {
        let v = if ty == KustoType::Dynamic {
            Value::Dynamic(Json::Null)
        } else {
            Value::Null
        };
        return Ok((v, ty));
    }
    // A quoted form: `datetime('2020-01-01')`, `guid("...")`.
    let unquoted = match tokenize(inner).ok().as_deref() {
        Some([t, end]) if end.tok == Tok::Eof => match &t.tok {
            Tok::Str(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    let value = match ty {
        KustoType::String => Value::String(unquoted.ok_or_else(bad)?),
        KustoType::Dynamic => Value::Dynamic(dynamic(inner).ok_or_else(bad)?),
        KustoType::Real => {
            let text = unquoted.as_deref().unwrap_or(inner);
            match text.to_ascii_lowercase().as_str() {
                "nan" => Value::Real(f64::NAN),
                "+inf" | "inf" => Value::Real(f64::INFINITY),
                "-inf" => Value::Real(f64::NEG_INFINITY),
                _ => parse_scalar(text, ty).ok_or_else(bad)?,
            }
        }
        KustoType::Int | KustoType::Long => {
            let text = unquoted.as_deref().unwrap_or(inner);
            match parse_scalar(text, ty) {
                Some(v) => v,
                // `long(1.5)`: not a long literal.
                None => return Err(bad()),
            }
        }
        _ => parse_scalar(unquoted.as_deref().unwrap_or(inner), ty).ok_or_else(bad)?,
    };
    Ok((value, ty))
}

/// Parses a `dynamic` literal's text: JSON, or JSON with KQL literals as values.
pub(crate) fn dynamic(text: &str) -> Option<Json> {
    if let Ok(v) = serde_json::from_str::<Json>(text) {
        return Some(v);
    }
    let tokens = tokenize(text).ok()?;
    let toks: Vec<Tok> = tokens.into_iter().map(|t| t.tok).collect();
    let mut pos = 0;
    let v = value(&toks, &mut pos, 0)?;
    (toks.get(pos) == Some(&Tok::Eof)).then_some(v)
}

const MAX_NESTING: usize = 128;

fn value(toks: &[Tok], pos: &mut usize, depth: usize) -> Option<Json> {
    if depth > MAX_NESTING {
        return None;
    }
    let tok = toks.get(*pos)?.clone();
    *pos += 1;
    Some(match tok {
        Tok::Punct("{") => {
            let mut map = Map::new();
            if toks.get(*pos) == Some(&Tok::Punct("}")) {
                *pos += 1;
                return Some(Json::Object(map));
            }
            loop {
                let key = match toks.get(*pos)? {
                    Tok::Str(s) | Tok::Ident(s) | Tok::QuotedIdent(s) => s.clone(),
                    _ => return None,
                };
                *pos += 1;
                if toks.get(*pos) != Some(&Tok::Punct(":")) {
                    return None;
                }
                *pos += 1;
                let v = value(toks, pos, depth + 1)?;
                map.insert(key, v);
                match toks.get(*pos)? {
                    Tok::Punct(",") => *pos += 1,
                    Tok::Punct("}") => {
                        *pos += 1;
                        return Some(Json::Object(map));
                    }
                    _ => return None,
                }
            }
        }
        Tok::Punct("[") => {
            let mut items = Vec::new();
            if toks.get(*pos) == Some(&Tok::Punct("]")) {
                *pos += 1;
                return Some(Json::Array(items));
            }
            loop {
                items.push(value(toks, pos, depth + 1)?);
                match toks.get(*pos)? {
                    Tok::Punct(",") => *pos += 1,
                    Tok::Punct("]") => {
                        *pos += 1;
                        return Some(Json::Array(items));
                    }
                    _ => return None,
                }
            }
        }
        Tok::Punct("-") => match toks.get(*pos)?.clone() {
            Tok::Long(l) => {
                *pos += 1;
                Json::from(-l)
            }
            Tok::Real(r) => {
                *pos += 1;
                serde_json::Number::from_f64(-r).map(Json::Number)?
            }
            _ => return None,
        },
        // `["x"]` lexes as a quoted identifier.
        Tok::QuotedIdent(s) => Json::Array(vec![Json::String(s)]),
        Tok::Long(l) => Json::from(l),
        Tok::Real(r) => serde_json::Number::from_f64(r).map(Json::Number)?,
        Tok::Str(s) => Json::String(s),
        Tok::Timespan(t) => Value::TimeSpan(t).to_json(),
        Tok::Ident(w) if w == "true" => Json::Bool(true),
        Tok::Ident(w) if w == "false" => Json::Bool(false),
        Tok::Ident(w) if w == "null" => Json::Null,
        Tok::Typed(name, raw) => {
            let (v, _) = typed(&name, &raw).ok()?;
            v.to_json()
        }
        _ => return None,
    })
}
