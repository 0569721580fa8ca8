//! Binding and evaluation of parsed queries against the store.

mod arith;
mod expr;
mod functions;
mod operators;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::kql::lexer::{Tok, tokenize};
use crate::kql::parser::parse;
use crate::kql::{KqlError, SEM_UNSUPPORTED};
use crate::parse_value::parse_scalar;
use crate::store::{Column, Row, Store};
use crate::value::{KustoType, Value};
use operators::run_pipeline;

pub(in crate::kql) use expr::{Bound, Ctx};

/// One result table of a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResultTable {
    /// Table name (`PrimaryResult`).
    pub name: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// Parses and runs `text` against database `db`, binding declared parameters from `params`.
pub(crate) fn run(
    text: &str,
    params: &Map<String, Json>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<Vec<ResultTable>, KqlError> {
    run_script(text, params, store, db, now).map(|(tables, _)| tables)
}

/// The options of a script's `set` statements: name and value as written (`None`: bare
/// `set name;`).
pub(crate) type SetOptions = Vec<(String, Option<String>)>;

/// As [`run`], and also returns the script's `set` statements (request options such as
/// `notruncation` that the caller applies).
pub(crate) fn run_script(
    text: &str,
    params: &Map<String, Json>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<(Vec<ResultTable>, SetOptions), KqlError> {
    let script = parse(text)?;
    let mut bound: HashMap<String, (KustoType, Value)> = HashMap::new();
    for decl in &script.params {
        let value = match params.get(&decl.name) {
            Some(raw) => bind_parameter(&decl.name, decl.ty, raw)?,
            None => match &decl.default {
                Some(expr) => {
                    let ctx = Ctx {
                        columns: &[],
                        params: &bound,
                        now,
                        op: "declare",
                    };
                    let b = ctx.bind(expr)?;
                    convert(b.eval(&[]), decl.ty)
                }
                None => {
                    return Err(KqlError::semantic(
                        SEM_UNSUPPORTED,
                        format!(
                            "Query parameter '{}' was declared without a default value and the request provides no value for it",
                            decl.name
                        ),
                    ));
                }
            },
        };
        bound.insert(decl.name.clone(), (decl.ty, value));
    }
    let tables = script
        .statements
        .iter()
        .map(|p| run_pipeline(p, &bound, store, db, now))
        .collect::<Result<_, _>>()?;
    Ok((tables, script.options))
}

pub(super) fn convert(value: Value, ty: KustoType) -> Value {
    if value.is_null() || value.kusto_type() == Some(ty) {
        return value;
    }
    match (&value, ty) {
        (Value::Long(l), KustoType::Int) => i32::try_from(*l).map_or(Value::Null, Value::Int),
        (Value::Int(i), KustoType::Long) => Value::Long(i64::from(*i)),
        (Value::Long(l), KustoType::Real) => Value::Real(*l as f64),
        (_, KustoType::String) => Value::String(value.to_text()),
        (_, KustoType::Dynamic) => Value::Dynamic(value.to_json()),
        _ => parse_scalar(&value.to_text(), ty).unwrap_or(Value::Null),
    }
}

/// Binds a request parameter value to its declared type (kusto-protocol.md 10.4): strings take a
/// well-formed string literal unquoted and anything else verbatim; other types take a literal of
/// the type (`long(5)`, `datetime(...)`), the bare form, or a JSON number/bool.
pub(crate) fn bind_parameter(name: &str, ty: KustoType, raw: &Json) -> Result<Value, KqlError> {
    let invalid = |shown: &str| {
        KqlError::semantic(
            SEM_UNSUPPORTED,
            format!("Query parameter '{name}' of type '{ty}' has an invalid value '{shown}'"),
        )
    };
    let text = match raw {
        Json::Null => return Ok(Value::Null),
        Json::String(s) => s.clone(),
        other if ty == KustoType::Dynamic => return Ok(Value::Dynamic(other.clone())),
        other => other.to_string(),
    };
    if ty == KustoType::String {
        if let Ok(tokens) = tokenize(&text) {
            match tokens.as_slice() {
                [t, end] if end.tok == Tok::Eof => match &t.tok {
                    Tok::Str(s) => return Ok(Value::String(s.clone())),
                    Tok::Typed(n, inner) if n == "string" => {
                        if let Ok(v) = typed_literal(n, inner) {
                            return Ok(v);
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        return Ok(Value::String(text));
    }
    let trimmed = text.trim();
    if let Ok(tokens) = tokenize(trimmed)
        && let [t, end] = tokens.as_slice()
        && end.tok == Tok::Eof
        && let Tok::Typed(n, inner) = &t.tok
    {
        let v = typed_literal(n, inner).map_err(|_| invalid(&text))?;
        let converted = convert(v.clone(), ty);
        if converted.is_null() && !v.is_null() {
            return Err(invalid(&text));
        }
        return Ok(converted);
    }
    if trimmed == "null" && ty != KustoType::Dynamic {
        return Ok(Value::Null);
    }
    parse_scalar(trimmed, ty).ok_or_else(|| invalid(&text))
}

/// The value of `type(raw)`.
pub(super) fn typed_literal(name: &str, raw: &str) -> Result<Value, KqlError> {
    let ty = KustoType::parse(name).unwrap_or(KustoType::String);
    let inner = raw.trim();
    let bad = || KqlError::semantic(SEM_UNSUPPORTED, format!("Invalid literal: {name}({raw})"));
    if inner == "null" {
        return Ok(if ty == KustoType::Dynamic {
            Value::Dynamic(Json::Null)
        } else {
            Value::Null
        });
    }
    match ty {
        KustoType::String => match tokenize(inner).ok().as_deref() {
            Some([t, _]) => match &t.tok {
                Tok::Str(s) => Ok(Value::String(s.clone())),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        },
        KustoType::Dynamic => serde_json::from_str(inner)
            .map(Value::Dynamic)
            .map_err(|_| bad()),
        KustoType::Real => {
            let lower = inner.to_ascii_lowercase();
            let v = match lower.as_str() {
                "nan" => f64::NAN,
                "+inf" | "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => return parse_scalar(inner, ty).ok_or_else(bad),
            };
            Ok(Value::Real(v))
        }
        _ => parse_scalar(inner, ty).ok_or_else(bad),
    }
}

pub(super) fn literal(tok: &Tok) -> Result<Value, KqlError> {
    Ok(match tok {
        Tok::Long(l) => Value::Long(*l),
        Tok::Real(r) => Value::Real(*r),
        Tok::Timespan(t) => Value::TimeSpan(*t),
        Tok::Str(s) => Value::String(s.clone()),
        Tok::Ident(w) => Value::Bool(w == "true"),
        Tok::Typed(n, raw) => typed_literal(n, raw)?,
        _ => Value::Null,
    })
}

pub(super) fn literal_type(tok: &Tok) -> Option<KustoType> {
    match tok {
        Tok::Long(_) => Some(KustoType::Long),
        Tok::Real(_) => Some(KustoType::Real),
        Tok::Timespan(_) => Some(KustoType::TimeSpan),
        Tok::Str(_) => Some(KustoType::String),
        Tok::Ident(_) => Some(KustoType::Bool),
        Tok::Typed(n, _) => KustoType::parse(n),
        _ => None,
    }
}
