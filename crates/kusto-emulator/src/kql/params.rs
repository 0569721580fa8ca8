//! Request parameters bound to `declare query_parameters(...)` (kusto-protocol.md 10.4).

use serde_json::Value as Json;

use super::lexer::{Tok, tokenize};
use super::literals::typed;
use super::scalar::convert;
use super::{KqlError, SEM_UNSUPPORTED};
use crate::parse_value::parse_scalar;
use crate::value::{KustoType, Value};

/// Binds a request parameter value to its declared type: strings take a well-formed string
/// literal unquoted and anything else verbatim; other types take a literal of the type
/// (`long(5)`, `datetime(...)`), the bare form, or a JSON number/bool.
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
        if let Ok(tokens) = tokenize(&text)
            && let [t, end] = tokens.as_slice()
            && end.tok == Tok::Eof
        {
            match &t.tok {
                Tok::Str(s) => return Ok(Value::String(s.clone())),
                Tok::Typed(n, inner) if n == "string" => {
                    if let Ok((v, _)) = typed(n, inner) {
                        return Ok(v);
                    }
                }
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
        let (v, _) = typed(n, inner).map_err(|_| invalid(&text))?;
        let converted = convert(&v, ty);
        if converted.is_null() && !v.is_null() {
            return Err(invalid(&text));
        }
        return Ok(converted);
    }
    if trimmed == "null" && ty != KustoType::Dynamic {
        return Ok(Value::Null);
    }
    if ty == KustoType::Dynamic {
        return super::literals::dynamic(trimmed)
            .map(Value::Dynamic)
            .ok_or_else(|| invalid(&text));
    }
    parse_scalar(trimmed, ty).ok_or_else(|| invalid(&text))
}
