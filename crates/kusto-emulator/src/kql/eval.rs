//! Binding and evaluation of parsed queries against the store.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::lexer::{Tok, tokenize};
use super::parser::{Aggregate, ArithOp, CmpOp, Expr, OpKind, Pipeline, Source, StrOp, parse};
use super::tabular::{self, INGESTION_TIME_COLUMN};
use super::{KqlError, SEM_UNSUPPORTED};
use crate::parse_value::parse_scalar;
use crate::store::{Column, Row, Store, StoreError};
use crate::time::MAX_DATETIME_TICKS;
use crate::value::{KustoType, Value};

/// One result table of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    /// Table name (`PrimaryResult`).
    pub name: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// Real functions the emulator does not implement (a semantic "not supported" error rather than
/// "unknown function").
const KNOWN_FUNCTIONS: [&str; 24] = [
    "strlen",
    "substring",
    "strcat",
    "tolower",
    "toupper",
    "bin",
    "floor",
    "round",
    "iff",
    "iif",
    "case",
    "coalesce",
    "parse_json",
    "todynamic",
    "array_length",
    "bag_keys",
    "format_datetime",
    "datetime_part",
    "startofday",
    "dcount",
    "countif",
    "sumif",
    "extract",
    "replace_string",
];

/// Parses and runs `text` against database `db`, binding declared parameters from `params`.
pub(crate) fn run(
    text: &str,
    params: &Map<String, Json>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<Vec<ResultTable>, KqlError> {
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
    script
        .statements
        .iter()
        .map(|p| run_pipeline(p, &bound, store, db, now))
        .collect()
}

fn convert(value: Value, ty: KustoType) -> Value {
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
fn typed_literal(name: &str, raw: &str) -> Result<Value, KqlError> {
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

fn literal(tok: &Tok) -> Result<Value, KqlError> {
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

fn literal_type(tok: &Tok) -> Option<KustoType> {
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

/// A bound expression: names resolved to column indexes or parameter values.
#[derive(Debug, Clone)]
pub(super) enum Bound {
    Const(Value, Option<KustoType>),
    Col(usize, KustoType),
    Cmp(CmpOp, Box<Bound>, Box<Bound>),
    /// `expr in (list)`: negated (`!in`), case-insensitive (`in~`).
    In(Box<Bound>, Vec<Bound>, bool, bool),
    /// An arithmetic operation and its result type (`None` when both sides are untyped nulls).
    Arith(ArithOp, Box<Bound>, Box<Bound>, Option<KustoType>),
    Neg(Box<Bound>),
    And(Box<Bound>, Box<Bound>),
    Or(Box<Bound>, Box<Bound>),
    Not(Box<Bound>),
    Func(Func, Vec<Bound>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Func {
    IsNull,
    IsNotNull,
    IsEmpty,
    IsNotEmpty,
    Now,
    Ago,
    To(KustoType),
}

impl Bound {
    pub(super) fn ty(&self) -> Option<KustoType> {
        match self {
            Bound::Const(_, t) => *t,
            Bound::Col(_, t) => Some(*t),
            Bound::Func(Func::Now | Func::Ago, _) => Some(KustoType::DateTime),
            Bound::Func(Func::To(t), _) => Some(*t),
            Bound::Arith(_, _, _, t) => *t,
            Bound::Neg(inner) => inner.ty(),
            _ => Some(KustoType::Bool),
        }
    }

    pub(super) fn eval(&self, row: &[Value]) -> Value {
        match self {
            Bound::Const(v, _) => v.clone(),
            Bound::Col(i, _) => row.get(*i).cloned().unwrap_or(Value::Null),
            Bound::Cmp(op, a, b) => compare(*op, &a.eval(row), &b.eval(row)),
            Bound::In(e, list, negated, case_insensitive) => {
                let v = e.eval(row);
                if v.is_null() {
                    return Value::Null;
                }
                let found = list.iter().any(|x| {
                    let x = x.eval(row);
                    match (&v, *case_insensitive) {
                        (Value::String(s), true) if !x.is_null() => {
                            s.to_lowercase() == x.to_text().to_lowercase()
                        }
                        _ => v.compare(&x) == Some(Ordering::Equal),
                    }
                });
                Value::Bool(found != *negated)
            }
            Bound::Arith(op, a, b, ty) => arith(*op, &a.eval(row), &b.eval(row), *ty),
            Bound::Neg(a) => match a.eval(row) {
                Value::Long(l) => Value::Long(l.wrapping_neg()),
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Real(r) => Value::Real(-r),
                Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_neg()),
                _ => Value::Null,
            },
            Bound::And(a, b) => match (a.eval(row), b.eval(row)) {
                (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            },
            Bound::Or(a, b) => match (a.eval(row), b.eval(row)) {
                (Value::Bool(true), _) | (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            },
            Bound::Not(a) => match a.eval(row) {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Bound::Func(f, args) => {
                let arg = args.first().map_or(Value::Null, |a| a.eval(row));
                match f {
                    Func::IsNull => Value::Bool(arg.is_null()),
                    Func::IsNotNull => Value::Bool(!arg.is_null()),
                    Func::IsEmpty => {
                        Value::Bool(arg.is_null() || arg == Value::String(String::new()))
                    }
                    Func::IsNotEmpty => {
                        Value::Bool(!(arg.is_null() || arg == Value::String(String::new())))
                    }
                    Func::Now => Value::Null,
                    Func::Ago => Value::Null,
                    Func::To(t) => convert(arg, *t),
                }
            }
        }
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> Value {
    if let CmpOp::Str {
        op,
        case_sensitive,
        negated,
    } = op
    {
        // String operators see their operands as strings; a null (non-string) value is the
        // empty string, as `tostring()` makes it.
        let (text, pattern) = if case_sensitive {
            (a.to_text(), b.to_text())
        } else {
            (a.to_text().to_lowercase(), b.to_text().to_lowercase())
        };
        let found = match op {
            StrOp::Contains => text.contains(&pattern),
            StrOp::StartsWith => text.starts_with(&pattern),
            StrOp::EndsWith => text.ends_with(&pattern),
            StrOp::Has => has_term(&text, &pattern),
        };
        return Value::Bool(found != negated);
    }
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    let lower = |v: &Value| v.to_text().to_lowercase();
    let result = match op {
        CmpOp::EqCi => lower(a) == lower(b),
        CmpOp::NeCi => lower(a) != lower(b),
        _ => {
            let Some(ord) = a.compare(b) else {
                return match op {
                    CmpOp::Ne => Value::Bool(true),
                    CmpOp::Eq => Value::Bool(false),
                    _ => Value::Null,
                };
            };
            match op {
                CmpOp::Eq => ord == Ordering::Equal,
                CmpOp::Ne => ord != Ordering::Equal,
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    };
    Value::Bool(result)
}

/// Whether `term` occurs in `text` as a whole term: not preceded or followed by an alphanumeric
/// character where the term itself begins or ends with one (`has`; `"hello world" has "world"`,
/// but not `"hello world" has "orld"`). An empty term is found everywhere.
fn has_term(text: &str, term: &str) -> bool {
    if term.is_empty() {
        return true;
    }
    let starts_with_word = term.chars().next().is_some_and(char::is_alphanumeric);
    let ends_with_word = term.chars().next_back().is_some_and(char::is_alphanumeric);
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find(term)) {
        let at = from + found;
        let end = at + term.len();
        let before = text.get(..at).and_then(|s| s.chars().next_back());
        let after = text.get(end..).and_then(|s| s.chars().next());
        let bounded = |c: Option<char>| !c.is_some_and(char::is_alphanumeric);
        if (!starts_with_word || bounded(before)) && (!ends_with_word || bounded(after)) {
            return true;
        }
        from = at
            + text
                .get(at..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
    }
    false
}

fn is_numeric(t: KustoType) -> bool {
    matches!(t, KustoType::Int | KustoType::Long | KustoType::Real)
}

/// The result type of `a op b` (the typing rules of KQL's numerical and datetime/timespan
/// arithmetic), or the semantic error a cluster gives for operand types that do not combine.
fn arith_type(
    op: ArithOp,
    ta: Option<KustoType>,
    tb: Option<KustoType>,
    context: &str,
) -> Result<Option<KustoType>, KqlError> {
    use KustoType::{DateTime, Decimal, Dynamic, Int, Long, Real, TimeSpan};
    let mismatch = |a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
        KqlError::semantic(
            SEM_UNSUPPORTED,
            format!(
                "'{context}' operator: Cannot apply the arithmetic operator '{}' to values of types {a} and {b}",
                op.symbol()
            ),
        )
    };
    if ta == Some(Decimal) || tb == Some(Decimal) {
        return Err(KqlError::unsupported("Arithmetic on decimal values"));
    }
    if ta == Some(Dynamic) || tb == Some(Dynamic) {
        return Err(KqlError::unsupported("Arithmetic on dynamic values"));
    }
    let (a, b) = match (ta, tb) {
        (Some(a), Some(b)) => (a, b),
        // An untyped `null` takes the type of the other side.
        (Some(t), None) | (None, Some(t)) => {
            return if is_numeric(t) || matches!(t, DateTime | TimeSpan) {
                Ok(Some(t))
            } else {
                Err(mismatch(&t, &"null"))
            };
        }
        (None, None) => return Ok(None),
    };
    let rank = |t: KustoType| match t {
        Int => 0,
        Long => 1,
        _ => 2,
    };
    let result = match (op, a, b) {
        (_, a, b) if is_numeric(a) && is_numeric(b) => {
            if rank(a) >= rank(b) {
                a
            } else {
                b
            }
        }
        (ArithOp::Sub, DateTime, DateTime) => TimeSpan,
        (ArithOp::Add | ArithOp::Sub, DateTime, TimeSpan) | (ArithOp::Add, TimeSpan, DateTime) => {
            DateTime
        }
        (ArithOp::Add | ArithOp::Sub, TimeSpan, TimeSpan) => TimeSpan,
        (ArithOp::Mul, TimeSpan, n) | (ArithOp::Mul, n, TimeSpan) if is_numeric(n) => TimeSpan,
        (ArithOp::Div, TimeSpan, n) if is_numeric(n) => TimeSpan,
        (ArithOp::Div, TimeSpan, TimeSpan) => Real,
        _ => return Err(mismatch(&a, &b)),
    };
    Ok(Some(result))
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i64::from(*i)),
        Value::Long(l) => Some(*l),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(f64::from(*i)),
        Value::Long(l) => Some(*l as f64),
        Value::Real(r) => Some(*r),
        _ => None,
    }
}

/// A tick count from a real, or `None` when it is not finite or out of range.
fn ticks_from_f64(x: f64) -> Option<i64> {
    let rounded = x.round();
    (rounded.is_finite() && rounded.abs() < i64::MAX as f64).then_some(rounded as i64)
}

/// A datetime within Kusto's range, null outside it.
fn datetime_or_null(ticks: Option<i64>) -> Value {
    match ticks {
        Some(t) if (0..=MAX_DATETIME_TICKS).contains(&t) => Value::DateTime(t),
        _ => Value::Null,
    }
}

/// Evaluates `a op b` for operands already checked by [`arith_type`]. Integer arithmetic wraps
/// on overflow (as .NET's unchecked arithmetic does); integer division or modulo by zero is null.
fn arith(op: ArithOp, a: &Value, b: &Value, ty: Option<KustoType>) -> Value {
    use ArithOp::{Add, Div, Mod, Mul, Sub};
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::DateTime(x), Value::DateTime(y)) => Value::TimeSpan(x.wrapping_sub(*y)),
        (Value::DateTime(x), Value::TimeSpan(y)) => datetime_or_null(match op {
            Sub => x.checked_sub(*y),
            _ => x.checked_add(*y),
        }),
        (Value::TimeSpan(x), Value::DateTime(y)) => datetime_or_null(y.checked_add(*x)),
        (Value::TimeSpan(x), Value::TimeSpan(y)) => match op {
            Add => Value::TimeSpan(x.wrapping_add(*y)),
            Sub => Value::TimeSpan(x.wrapping_sub(*y)),
            Div => Value::Real(*x as f64 / *y as f64),
            Mul | Mod => Value::Null,
        },
        (Value::TimeSpan(t), n) | (n, Value::TimeSpan(t)) if op == Mul => match (as_i64(n), n) {
            (Some(k), _) => Value::TimeSpan(t.wrapping_mul(k)),
            (None, Value::Real(r)) => {
                ticks_from_f64(*t as f64 * r).map_or(Value::Null, Value::TimeSpan)
            }
            _ => Value::Null,
        },
        (Value::TimeSpan(t), n) if op == Div => match (as_i64(n), n) {
            (Some(0), _) => Value::Null,
            (Some(k), _) => Value::TimeSpan(t.wrapping_div(k)),
            (None, Value::Real(r)) => {
                ticks_from_f64(*t as f64 / r).map_or(Value::Null, Value::TimeSpan)
            }
            _ => Value::Null,
        },
        _ => match ty {
            Some(KustoType::Real) => match (as_f64(a), as_f64(b)) {
                (Some(x), Some(y)) => Value::Real(match op {
                    Add => x + y,
                    Sub => x - y,
                    Mul => x * y,
                    Div => x / y,
                    Mod => x % y,
                }),
                _ => Value::Null,
            },
            Some(KustoType::Long | KustoType::Int) => {
                let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) else {
                    return Value::Null;
                };
                let result = match op {
                    Add => Some(x.wrapping_add(y)),
                    Sub => Some(x.wrapping_sub(y)),
                    Mul => Some(x.wrapping_mul(y)),
                    Div => (y != 0).then(|| x.wrapping_div(y)),
                    Mod => (y != 0).then(|| x.wrapping_rem(y)),
                };
                match (result, ty) {
                    // Both sides are ints: 32-bit wrapping arithmetic.
                    (Some(r), Some(KustoType::Int)) => Value::Int(r as i32),
                    (Some(r), _) => Value::Long(r),
                    (None, _) => Value::Null,
                }
            }
            _ => Value::Null,
        },
    }
}

/// Replaces an operation on constants by its value (so that `ago(1d + 1h)` or `take 2 * 5`
/// see a constant).
fn fold(b: Bound) -> Bound {
    let constant = |x: &Bound| matches!(x, Bound::Const(..));
    let all_constant = match &b {
        Bound::Arith(_, x, y, _) => constant(x) && constant(y),
        Bound::Neg(x) => constant(x),
        _ => false,
    };
    if all_constant {
        let ty = b.ty();
        Bound::Const(b.eval(&[]), ty)
    } else {
        b
    }
}

fn category(t: KustoType) -> u8 {
    match t {
        KustoType::Int | KustoType::Long | KustoType::Real | KustoType::Decimal => 0,
        KustoType::Dynamic => 255,
        other => other as u8 + 1,
    }
}

/// What binding an expression sees: the columns of the rows, the parameters, the query time
/// and the operator (for error messages).
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub(super) columns: &'a [Column],
    pub(super) params: &'a HashMap<String, (KustoType, Value)>,
    pub(super) now: i64,
    pub(super) op: &'static str,
}

impl Ctx<'_> {
    pub(super) fn unresolved(&self, name: &str) -> KqlError {
        KqlError::semantic(
            "SEM0100",
            format!(
                "'{}' operator: Failed to resolve scalar expression named '{name}'",
                self.op
            ),
        )
    }

    pub(super) fn bind(&self, expr: &Expr) -> Result<Bound, KqlError> {
        Ok(match expr {
            Expr::Literal(tok) => Bound::Const(literal(tok)?, literal_type(tok)),
            Expr::Name(n) => {
                if n == INGESTION_TIME_COLUMN {
                    return Err(self.unresolved(n));
                } else if let Some(i) = self.columns.iter().position(|c| &c.name == n) {
                    Bound::Col(i, self.columns[i].ty)
                } else if let Some((ty, v)) = self.params.get(n) {
                    Bound::Const(v.clone(), Some(*ty))
                } else if n == "null" {
                    Bound::Const(Value::Null, None)
                } else {
                    return Err(self.unresolved(n));
                }
            }
            Expr::Neg(inner) => {
                let b = self.bind(inner)?;
                match b.ty() {
                    None
                    | Some(
                        KustoType::Int | KustoType::Long | KustoType::Real | KustoType::TimeSpan,
                    ) => {}
                    Some(KustoType::Decimal) => {
                        return Err(KqlError::unsupported("Arithmetic on decimal values"));
                    }
                    Some(KustoType::Dynamic) => {
                        return Err(KqlError::unsupported("Arithmetic on dynamic values"));
                    }
                    Some(t) => {
                        return Err(KqlError::semantic(
                            SEM_UNSUPPORTED,
                            format!(
                                "'{}' operator: Cannot apply the unary operator '-' to a value of type {t}",
                                self.op
                            ),
                        ));
                    }
                }
                fold(Bound::Neg(Box::new(b)))
            }
            Expr::Arith(op, a, b) => {
                let (a, b) = (self.bind(a)?, self.bind(b)?);
                let ty = arith_type(*op, a.ty(), b.ty(), self.op)?;
                fold(Bound::Arith(*op, Box::new(a), Box::new(b), ty))
            }
            Expr::Cmp(op, a, b) => {
                let (a, b) = (self.bind(a)?, self.bind(b)?);
                if !matches!(op, CmpOp::Str { .. } | CmpOp::EqCi | CmpOp::NeCi)
                    && let (Some(ta), Some(tb)) = (a.ty(), b.ty())
                {
                    let (ca, cb) = (category(ta), category(tb));
                    if ca != cb && ca != 255 && cb != 255 {
                        return Err(KqlError::semantic(
                            SEM_UNSUPPORTED,
                            format!(
                                "'{}' operator: Cannot compare values of types {ta} and {tb}. Try adding explicit casts",
                                self.op
                            ),
                        ));
                    }
                }
                Bound::Cmp(*op, Box::new(a), Box::new(b))
            }
            Expr::In {
                expr,
                list,
                negated,
                case_insensitive,
            } => Bound::In(
                Box::new(self.bind(expr)?),
                list.iter()
                    .map(|e| self.bind(e))
                    .collect::<Result<_, _>>()?,
                *negated,
                *case_insensitive,
            ),
            Expr::And(a, b) => Bound::And(Box::new(self.bind(a)?), Box::new(self.bind(b)?)),
            Expr::Or(a, b) => Bound::Or(Box::new(self.bind(a)?), Box::new(self.bind(b)?)),
            Expr::Not(a) => Bound::Not(Box::new(self.bind(a)?)),
            Expr::Call(name, args) => self.bind_call(name, args)?,
        })
    }

    fn bind_call(&self, name: &str, args: &[Expr]) -> Result<Bound, KqlError> {
        let func = match name {
            "isnull" => Func::IsNull,
            "isnotnull" => Func::IsNotNull,
            "isempty" => Func::IsEmpty,
            "isnotempty" => Func::IsNotEmpty,
            "now" | "ingestion_time" => Func::Now,
            "ago" => Func::Ago,
            "tostring" => Func::To(KustoType::String),
            "toint" => Func::To(KustoType::Int),
            "tolong" => Func::To(KustoType::Long),
            "toreal" | "todouble" => Func::To(KustoType::Real),
            "todecimal" => Func::To(KustoType::Decimal),
            "tobool" | "toboolean" => Func::To(KustoType::Bool),
            "todatetime" => Func::To(KustoType::DateTime),
            "totimespan" => Func::To(KustoType::TimeSpan),
            "toguid" => Func::To(KustoType::Guid),
            other if KNOWN_FUNCTIONS.contains(&other) || other == "count" => {
                return Err(KqlError::unsupported(&format!("Function '{other}'")));
            }
            other => {
                return Err(KqlError::semantic(
                    "SEM0260",
                    format!("Unknown function: '{other}'."),
                ));
            }
        };
        let expected = if matches!(func, Func::Now) { 0 } else { 1 };
        if args.len() != expected {
            return Err(KqlError::semantic(
                SEM_UNSUPPORTED,
                format!(
                    "Function '{name}' expects {expected} argument(s) but got {}",
                    args.len()
                ),
            ));
        }
        let bound: Vec<Bound> = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<_, _>>()?;
        Ok(match func {
            // The row's ingestion time: the hidden column while the rows are a table's.
            Func::Now if name == "ingestion_time" => {
                match self
                    .columns
                    .iter()
                    .position(|c| c.name == INGESTION_TIME_COLUMN)
                {
                    Some(i) => Bound::Col(i, KustoType::DateTime),
                    None => Bound::Const(Value::Null, Some(KustoType::DateTime)),
                }
            }
            Func::Now => Bound::Const(Value::DateTime(self.now), Some(KustoType::DateTime)),
            Func::Ago => match bound.first() {
                Some(Bound::Const(Value::TimeSpan(t), _)) => Bound::Const(
                    Value::DateTime(self.now.saturating_sub(*t)),
                    Some(KustoType::DateTime),
                ),
                _ => {
                    return Err(KqlError::semantic(
                        SEM_UNSUPPORTED,
                        "ago() expects a timespan literal or parameter",
                    ));
                }
            },
            f => Bound::Func(f, bound),
        })
    }
}

fn run_pipeline(
    p: &Pipeline,
    params: &HashMap<String, (KustoType, Value)>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<ResultTable, KqlError> {
    let (mut columns, mut rows): (Vec<Column>, Arc<Vec<Row>>) = match &p.source {
        Source::Table { database, name } => {
            let target = database.as_deref().unwrap_or(db);
            let snapshot = tabular::table_rows(store, target, name, p);
            match snapshot {
                Ok(s) => s,
                Err(StoreError::DatabaseNotFound(d)) => {
                    return Err(KqlError::semantic(
                        "SEM0100",
                        format!(
                            "'database' operator: Failed to resolve database expression named '{d}'"
                        ),
                    ));
                }
                Err(_) => {
                    let message = match p.ops.first() {
                        None => format!(
                            "'table' operator: Failed to resolve table expression named '{name}'"
                        ),
                        Some(op) => format!(
                            "'{}' operator: Failed to resolve table or column expression named '{name}'",
                            op.name
                        ),
                    };
                    return Err(KqlError::semantic("SEM0100", message));
                }
            }
        }
        Source::Print(items) => {
            let ctx = Ctx {
                columns: &[],
                params,
                now,
                op: "print",
            };
            let mut columns = Vec::new();
            let mut row = Vec::new();
            for (i, (alias, expr)) in items.iter().enumerate() {
                let b = ctx.bind(expr)?;
                let ty = b.ty().unwrap_or(KustoType::String);
                columns.push(Column::new(
                    alias.clone().unwrap_or_else(|| format!("print_{i}")),
                    ty,
                ));
                row.push(b.eval(&[]));
            }
            (columns, Arc::new(vec![row]))
        }
    };
    for op in &p.ops {
        let ctx = Ctx {
            columns: &columns,
            params,
            now,
            op: op.name,
        };
        match &op.kind {
            OpKind::Count => {
                let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
                columns = vec![Column::new("Count", KustoType::Long)];
                rows = Arc::new(vec![vec![Value::Long(n)]]);
            }
            OpKind::Take(expr) => {
                let n = tabular::row_count(&ctx, expr)?;
                if n < rows.len() {
                    rows = Arc::new(rows.iter().take(n).cloned().collect());
                }
            }
            OpKind::Where(expr) => {
                let b = ctx.bind(expr)?;
                if b.ty().is_some_and(|t| t != KustoType::Bool) {
                    return Err(KqlError::semantic(
                        SEM_UNSUPPORTED,
                        "'where' operator: the predicate must be a boolean expression",
                    ));
                }
                rows = Arc::new(
                    rows.iter()
                        .filter(|r| b.eval(r) == Value::Bool(true))
                        .cloned()
                        .collect(),
                );
            }
            OpKind::Project(items) => {
                let bound: Vec<(String, Bound)> = items
                    .iter()
                    .map(|(n, e)| ctx.bind(e).map(|b| (n.clone(), b)))
                    .collect::<Result<_, _>>()?;
                let new_rows = rows
                    .iter()
                    .map(|r| bound.iter().map(|(_, b)| b.eval(r)).collect())
                    .collect();
                columns = bound
                    .iter()
                    .map(|(n, b)| Column::new(n.clone(), b.ty().unwrap_or(KustoType::String)))
                    .collect();
                rows = Arc::new(new_rows);
            }
            OpKind::Order(keys) => {
                let keys = tabular::bind_keys(&ctx, keys)?;
                let mut sorted: Vec<Row> = rows.as_ref().clone();
                tabular::sort_rows(&mut sorted, &keys);
                rows = Arc::new(sorted);
            }
            OpKind::Top { count, key } => {
                let n = tabular::row_count(&ctx, count)?;
                let keys = tabular::bind_keys(&ctx, std::slice::from_ref(key))?;
                let mut sorted: Vec<Row> = rows.as_ref().clone();
                tabular::sort_rows(&mut sorted, &keys);
                sorted.truncate(n);
                rows = Arc::new(sorted);
            }
            OpKind::Extend(items) => {
                let (mut new_columns, mut new_rows) = (columns.clone(), rows.as_ref().clone());
                tabular::extend(&ctx, items, &mut new_columns, &mut new_rows)?;
                (columns, rows) = (new_columns, Arc::new(new_rows));
            }
            OpKind::Distinct(names) => {
                let (c, r) = tabular::distinct(&ctx, names, &columns, &rows)?;
                columns = c;
                rows = Arc::new(r);
            }
            OpKind::ProjectAway(patterns) => {
                let (mut new_columns, mut new_rows) = (columns.clone(), rows.as_ref().clone());
                tabular::project_away(&ctx, patterns, &mut new_columns, &mut new_rows)?;
                (columns, rows) = (new_columns, Arc::new(new_rows));
            }
            OpKind::ProjectRename(pairs) => {
                let mut new_columns = columns.clone();
                tabular::project_rename(&ctx, pairs, &mut new_columns)?;
                columns = new_columns;
            }
            OpKind::Summarize { aggregates, by } => {
                let (c, r) = summarize(&ctx, aggregates, by, &rows)?;
                columns = c;
                rows = Arc::new(r);
            }
        }
    }
    let mut rows = Arc::try_unwrap(rows).unwrap_or_else(|shared| shared.as_ref().clone());
    tabular::strip_hidden(&mut columns, &mut rows);
    Ok(ResultTable {
        name: "PrimaryResult".to_string(),
        columns,
        rows,
    })
}

type Summary = (Vec<Column>, Vec<Row>);

fn summarize(
    ctx: &Ctx<'_>,
    aggregates: &[(Option<String>, Aggregate)],
    by: &[Expr],
    rows: &[Row],
) -> Result<Summary, KqlError> {
    let mut columns = Vec::new();
    let mut keys = Vec::new();
    for e in by {
        let Expr::Name(n) = e else {
            return Err(KqlError::unsupported(
                "A 'summarize ... by' expression other than a column name",
            ));
        };
        let b = ctx.bind(e)?;
        columns.push(Column::new(n.clone(), b.ty().unwrap_or(KustoType::String)));
        keys.push(b);
    }
    let mut aggs = Vec::new();
    for (alias, agg) in aggregates {
        let (prefix, arg) = match agg {
            Aggregate::Count => ("count", None),
            Aggregate::Sum(e) => ("sum", Some(e)),
            Aggregate::Min(e) => ("min", Some(e)),
            Aggregate::Max(e) => ("max", Some(e)),
            Aggregate::Avg(e) => ("avg", Some(e)),
        };
        let bound = arg.map(|e| ctx.bind(e)).transpose()?;
        let arg_name = match arg {
            Some(Expr::Name(n)) => n.clone(),
            _ => String::new(),
        };
        let in_ty = bound.as_ref().and_then(Bound::ty);
        let out_ty = match prefix {
            "count" => KustoType::Long,
            "avg" => KustoType::Real,
            "sum" => match in_ty {
                Some(KustoType::Int | KustoType::Long) => KustoType::Long,
                Some(KustoType::TimeSpan) => KustoType::TimeSpan,
                _ => KustoType::Real,
            },
            _ => in_ty.unwrap_or(KustoType::Real),
        };
        let name = alias
            .clone()
            .unwrap_or_else(|| format!("{prefix}_{arg_name}"));
        columns.push(Column::new(name, out_ty));
        aggs.push((prefix, bound, out_ty));
    }
    let mut groups: Vec<(Row, Vec<&Row>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let key: Row = keys.iter().map(|k| k.eval(row)).collect();
        let text = format!("{key:?}");
        match index.get(&text) {
            Some(&i) => groups[i].1.push(row),
            None => {
                index.insert(text, groups.len());
                groups.push((key, vec![row]));
            }
        }
    }
    if groups.is_empty() && keys.is_empty() {
        groups.push((Vec::new(), Vec::new()));
    }
    let out = groups
        .into_iter()
        .map(|(mut key, members)| {
            for (prefix, bound, out_ty) in &aggs {
                let values: Vec<Value> = match bound {
                    Some(b) => members
                        .iter()
                        .map(|r| b.eval(r))
                        .filter(|v| !v.is_null())
                        .collect(),
                    None => Vec::new(),
                };
                key.push(aggregate(prefix, &values, members.len(), *out_ty));
            }
            key
        })
        .collect();
    Ok((columns, out))
}

fn aggregate(prefix: &str, values: &[Value], count: usize, out_ty: KustoType) -> Value {
    match prefix {
        "count" => Value::Long(i64::try_from(count).unwrap_or(i64::MAX)),
        "min" => values
            .iter()
            .min_by(|a, b| a.sort_cmp(b))
            .cloned()
            .unwrap_or(Value::Null),
        "max" => values
            .iter()
            .max_by(|a, b| a.sort_cmp(b))
            .cloned()
            .unwrap_or(Value::Null),
        _ => {
            let as_f64 = |v: &Value| match v {
                Value::Int(i) => f64::from(*i),
                Value::Long(l) => *l as f64,
                Value::Real(r) => *r,
                Value::Decimal(d) => d.to_f64(),
                Value::TimeSpan(t) => *t as f64,
                _ => 0.0,
            };
            if prefix == "avg" {
                if values.is_empty() {
                    return Value::Null;
                }
                return Value::Real(values.iter().map(as_f64).sum::<f64>() / values.len() as f64);
            }
            match out_ty {
                KustoType::Long | KustoType::TimeSpan => {
                    let mut sum: i64 = 0;
                    for v in values {
                        let x = match v {
                            Value::Int(i) => i64::from(*i),
                            Value::Long(l) | Value::TimeSpan(l) => *l,
                            _ => 0,
                        };
                        sum = sum.wrapping_add(x);
                    }
                    if out_ty == KustoType::Long {
                        Value::Long(sum)
                    } else {
                        Value::TimeSpan(sum)
                    }
                }
                _ => Value::Real(values.iter().map(as_f64).sum()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ticks_from_parts;

    fn store() -> Store {
        let s = Store::new();
        s.ensure_database("Db").unwrap();
        s.create_table(
            "Db",
            "T",
            &[
                Column::new("a", KustoType::Long),
                Column::new("s", KustoType::String),
                Column::new("d", KustoType::DateTime),
            ],
            false,
        )
        .unwrap();
        let d = |y| Value::DateTime(ticks_from_parts(y, 1, 1, 0, 0, 0, 0).unwrap());
        s.append_rows(
            "Db",
            "T",
            vec![
                vec![Value::Long(3), Value::String("x".into()), d(2020)],
                vec![Value::Long(1), Value::String("y".into()), d(2021)],
                vec![Value::Null, Value::String("x".into()), Value::Null],
                vec![Value::Long(2), Value::String("z".into()), d(2022)],
            ],
        )
        .unwrap();
        s
    }

    fn q(text: &str) -> Result<Vec<ResultTable>, KqlError> {
        run(text, &Map::new(), &store(), "Db", 0)
    }

    fn longs(t: &ResultTable, col: usize) -> Vec<Value> {
        t.rows.iter().map(|r| r[col].clone()).collect()
    }

    #[test]
    fn operators() {
        assert_eq!(q("T | count").unwrap()[0].rows, vec![vec![Value::Long(4)]]);
        assert_eq!(q("T | take 2").unwrap()[0].rows.len(), 2);
        assert_eq!(q("T | limit 0").unwrap()[0].rows.len(), 0);
        let t = &q("T | where a >= 2 | project a").unwrap()[0];
        assert_eq!(longs(t, 0), vec![Value::Long(3), Value::Long(2)]);
        let t = &q("T | where isnull(a) or s == 'y' | project s").unwrap()[0];
        assert_eq!(t.rows.len(), 2);
        let t = &q("T | order by a").unwrap()[0];
        assert_eq!(
            longs(t, 0),
            vec![Value::Long(3), Value::Long(2), Value::Long(1), Value::Null]
        );
        let t = &q("T | sort by a asc").unwrap()[0];
        assert_eq!(
            longs(t, 0),
            vec![Value::Null, Value::Long(1), Value::Long(2), Value::Long(3)]
        );
        let t = &q("T | summarize count() by s").unwrap()[0];
        assert_eq!(
            t.columns,
            vec![
                Column::new("s", KustoType::String),
                Column::new("count_", KustoType::Long)
            ]
        );
        assert_eq!(t.rows[0], vec![Value::String("x".into()), Value::Long(2)]);
        let t = &q("T | summarize n = count(), m = max(a), total = sum(a)").unwrap()[0];
        assert_eq!(
            t.rows,
            vec![vec![Value::Long(4), Value::Long(3), Value::Long(6)]]
        );
        let t = &q("T | where d > datetime(2020-06-01) | count").unwrap()[0];
        assert_eq!(t.rows, vec![vec![Value::Long(2)]]);
        let t = &q("T | where s in ('x', 'z') and a != 3 | project b = a").unwrap()[0];
        assert_eq!(t.columns[0].name, "b");
        assert_eq!(longs(t, 0), vec![Value::Long(2)]);
        let t = &q("print 1, x = 'a', real(nan), timespan(1d)").unwrap()[0];
        assert_eq!(
            t.columns.iter().map(|c| c.ty).collect::<Vec<_>>(),
            vec![
                KustoType::Long,
                KustoType::String,
                KustoType::Real,
                KustoType::TimeSpan
            ]
        );
        assert_eq!(t.columns[0].name, "print_0");
        assert_eq!(q("T | take 1; T | count").unwrap().len(), 2);
    }

    #[test]
    fn errors() {
        assert_eq!(
            q("Nope"),
            Err(KqlError::semantic(
                "SEM0100",
                "'table' operator: Failed to resolve table expression named 'Nope'"
            ))
        );
        assert_eq!(
            q("Nope | take 1"),
            Err(KqlError::semantic(
                "SEM0100",
                "'take' operator: Failed to resolve table or column expression named 'Nope'"
            ))
        );
        assert_eq!(
            q("T | where x > 1"),
            Err(KqlError::semantic(
                "SEM0100",
                "'where' operator: Failed to resolve scalar expression named 'x'"
            ))
        );
        assert_eq!(
            q("T | where foo(a)"),
            Err(KqlError::semantic("SEM0260", "Unknown function: 'foo'."))
        );
        assert!(matches!(
            q("T | where a == 'x'"),
            Err(KqlError::Semantic {
                code: SEM_UNSUPPORTED,
                ..
            })
        ));
        assert!(
            matches!(q("T | project-reorder a"), Err(KqlError::Semantic { message, .. }) if message.contains("'project-reorder' operator"))
        );
    }

    fn print(text: &str) -> (Vec<KustoType>, Vec<Value>) {
        let t = &q(&format!("print {text}")).unwrap()[0];
        (t.columns.iter().map(|c| c.ty).collect(), t.rows[0].clone())
    }

    #[test]
    fn arithmetic() {
        use KustoType as K;
        let d = |y, day| Value::DateTime(ticks_from_parts(y, 1, day, 0, 0, 0, 0).unwrap());
        let day = crate::time::TICKS_PER_DAY;
        let hour = crate::time::TICKS_PER_HOUR;
        assert_eq!(
            print("1 + 2 * 3, (1 + 2) * 3, 7 / 2, -7 / 2, 7 % 3, -7 % 3, 10 - 2 - 3"),
            (
                vec![K::Long; 7],
                [7, 9, 3, -3, 1, -1, 5].map(Value::Long).to_vec()
            )
        );
        assert_eq!(
            print("7.0 / 2, 1 + 0.5, 5.5 % 2, 1.0 / 0, -(2.5)"),
            (
                vec![K::Real; 5],
                [3.5, 1.5, 1.5, f64::INFINITY, -2.5]
                    .map(Value::Real)
                    .to_vec()
            )
        );
        // int with int stays int (and wraps); int with long is long.
        assert_eq!(
            print("int(2147483647) + int(1), int(2) * 3, int(5) / int(2)"),
            (
                vec![K::Int, K::Long, K::Int],
                vec![Value::Int(i32::MIN), Value::Long(6), Value::Int(2)]
            )
        );
        assert_eq!(
            print("9223372036854775807 + 1, 1 / 0, 1 % 0"),
            (
                vec![K::Long; 3],
                vec![Value::Long(i64::MIN), Value::Null, Value::Null]
            )
        );
        assert_eq!(
            print(
                "datetime(2020-01-03) - datetime(2020-01-01), datetime(2020-01-01) + 2d, \
                 1d + datetime(2020-01-01), datetime(2020-01-03) - 1d, 1d - 1h, 2h * 3, 3 * 2h, \
                 1d / 2, 1d / 1h, 1h * 0.5, -1d"
            ),
            (
                vec![
                    K::TimeSpan,
                    K::DateTime,
                    K::DateTime,
                    K::DateTime,
                    K::TimeSpan,
                    K::TimeSpan,
                    K::TimeSpan,
                    K::TimeSpan,
                    K::Real,
                    K::TimeSpan,
                    K::TimeSpan
                ],
                vec![
                    Value::TimeSpan(2 * day),
                    d(2020, 3),
                    d(2020, 2),
                    d(2020, 2),
                    Value::TimeSpan(23 * hour),
                    Value::TimeSpan(6 * hour),
                    Value::TimeSpan(6 * hour),
                    Value::TimeSpan(12 * hour),
                    Value::Real(24.0),
                    Value::TimeSpan(hour / 2),
                    Value::TimeSpan(-day),
                ]
            )
        );
        // Out of the datetime range: null.
        assert_eq!(print("datetime(0001-01-01) - 1d").1, vec![Value::Null]);
        // On columns, with nulls propagating; constants fold for ago() and take.
        let t = &q("T | project x = a * 10 + 1, y = -a, z = d + 1d").unwrap()[0];
        assert_eq!(
            t.columns,
            vec![
                Column::new("x", K::Long),
                Column::new("y", K::Long),
                Column::new("z", K::DateTime)
            ]
        );
        assert_eq!(
            t.rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            vec![
                Value::Long(31),
                Value::Long(11),
                Value::Null,
                Value::Long(21)
            ]
        );
        assert_eq!(t.rows[1][1], Value::Long(-1));
        assert_eq!(t.rows[0][2], d(2020, 2));
        assert_eq!(q("T | take 1 + 1").unwrap()[0].rows.len(), 2);
        assert_eq!(
            q("T | where a % 2 == 1 | project a").unwrap()[0].rows,
            vec![vec![Value::Long(3)], vec![Value::Long(1)]]
        );
        let now = ticks_from_parts(2024, 6, 1, 0, 0, 0, 0).unwrap();
        let t = &run(
            "print ago(1d + 1h) == now() - 25h, ago(-1h)",
            &Map::new(),
            &store(),
            "Db",
            now,
        )
        .unwrap()[0];
        assert_eq!(
            t.rows,
            vec![vec![Value::Bool(true), Value::DateTime(now + hour)]]
        );
        let summed = &q("T | summarize s = sum(a * 2)").unwrap()[0];
        assert_eq!(summed.rows, vec![vec![Value::Long(12)]]);
        // Types that do not combine, and what the emulator does not run.
        for text in [
            "print 'a' + 'b'",
            "print 1 + true",
            "print datetime(2020-01-01) + datetime(2020-01-01)",
            "print 1d / datetime(2020-01-01)",
            "print 2 / 1d",
            "print -'a'",
            "T | where s + 1 > 0",
        ] {
            assert!(
                matches!(q(text), Err(KqlError::Semantic { code: SEM_UNSUPPORTED, ref message }) if message.contains("Cannot apply")),
                "{text}: {:?}",
                q(text)
            );
        }
        for text in [
            "print decimal(1) + 1",
            "print dynamic(1) * 2",
            "print -decimal(1)",
        ] {
            assert!(
                matches!(q(text), Err(KqlError::Semantic { ref message, .. }) if message.contains("not supported by the Kusto emulator")),
                "{text}: {:?}",
                q(text)
            );
        }
        assert!(
            matches!(q("T | where a + 1"), Err(KqlError::Semantic { message, .. }) if message.contains("boolean"))
        );
    }

    #[test]
    fn string_operators() {
        let s = Store::new();
        s.ensure_database("Db").unwrap();
        s.create_table("Db", "W", &[Column::new("s", KustoType::String)], false)
            .unwrap();
        let texts = [
            "Hello World",
            "hello-world.log",
            "HELLOWORLD",
            "say hello",
            "",
        ];
        s.append_rows(
            "Db",
            "W",
            texts
                .iter()
                .map(|t| vec![Value::String((*t).into())])
                .collect(),
        )
        .unwrap();
        let matching = |predicate: &str| -> Vec<String> {
            let t = &run(&format!("W | where {predicate}"), &Map::new(), &s, "Db", 0).unwrap()[0];
            t.rows.iter().map(|r| r[0].to_text()).collect()
        };
        let all = |list: &[&str]| list.iter().map(|t| (*t).to_string()).collect::<Vec<_>>();
        assert_eq!(
            matching("s has 'world'"),
            all(&["Hello World", "hello-world.log"])
        );
        assert_eq!(
            matching("s !has 'world'"),
            all(&["HELLOWORLD", "say hello", ""])
        );
        assert_eq!(matching("s has_cs 'World'"), all(&["Hello World"]));
        assert_eq!(
            matching("s !has_cs 'World'"),
            all(&["hello-world.log", "HELLOWORLD", "say hello", ""])
        );
        // A term is not found inside a longer one, a phrase is found at term boundaries.
        assert_eq!(matching("s has 'orld'"), Vec::<String>::new());
        assert_eq!(matching("s has 'world.log'"), all(&["hello-world.log"]));
        assert_eq!(matching("s has 'o w'"), Vec::<String>::new());
        assert_eq!(
            matching("s contains 'WORLD'"),
            all(&["Hello World", "hello-world.log", "HELLOWORLD"])
        );
        assert_eq!(matching("s contains_cs 'WORLD'"), all(&["HELLOWORLD"]));
        assert_eq!(matching("s !contains 'world'"), all(&["say hello", ""]));
        assert_eq!(
            matching("s !contains_cs 'World'"),
            all(&["hello-world.log", "HELLOWORLD", "say hello", ""])
        );
        assert_eq!(
            matching("s startswith 'hello'"),
            all(&["Hello World", "hello-world.log", "HELLOWORLD"])
        );
        assert_eq!(
            matching("s startswith_cs 'hello'"),
            all(&["hello-world.log"])
        );
        assert_eq!(matching("s !startswith 'hello'"), all(&["say hello", ""]));
        assert_eq!(
            matching("s !startswith_cs 'hello'"),
            all(&["Hello World", "HELLOWORLD", "say hello", ""])
        );
        assert_eq!(matching("s endswith 'HELLO'"), all(&["say hello"]));
        assert_eq!(matching("s endswith_cs 'HELLO'"), Vec::<String>::new());
        assert_eq!(
            matching("s !endswith '.LOG'"),
            all(&["Hello World", "HELLOWORLD", "say hello", ""])
        );
        assert_eq!(
            matching("s !endswith_cs 'World'"),
            all(&["hello-world.log", "HELLOWORLD", "say hello", ""])
        );
        assert_eq!(
            matching("s in~ ('hello world', 'SAY HELLO')"),
            all(&["Hello World", "say hello"])
        );
        assert_eq!(
            matching("s in ('hello world', 'say hello')"),
            all(&["say hello"])
        );
        assert_eq!(
            matching("s !in~ ('hello world', 'SAY HELLO')"),
            all(&["hello-world.log", "HELLOWORLD", ""])
        );
        // On a non-string column: the value's text, null being the empty string.
        assert_eq!(
            q("T | where a has '3' | count").unwrap()[0].rows,
            vec![vec![Value::Long(1)]]
        );
        assert_eq!(
            q("T | where a !contains '3' | count").unwrap()[0].rows,
            vec![vec![Value::Long(3)]]
        );
    }

    #[test]
    fn has_term_boundaries() {
        assert!(has_term("a.b", "a"));
        assert!(has_term("a.b", "b"));
        assert!(has_term("x", "x"));
        assert!(!has_term("ab", "a"));
        assert!(!has_term("ba", "a"));
        assert!(has_term("ba a", "a"), "a later occurrence counts");
        assert!(has_term("é b", "é"));
        assert!(!has_term("", "a"));
        assert!(has_term("anything", ""));
        // A term with punctuation at its ends needs no boundary there.
        assert!(has_term("key=value", "=value"));
        assert!(
            !has_term("key=value", "=val"),
            "ends inside a term: not a whole term"
        );
        assert!(!has_term("key=value", "y=value"), "starts inside a term");
    }

    #[test]
    fn parameters() {
        let mut params = Map::new();
        params.insert("n".into(), Json::String("long(2)".into()));
        params.insert("s".into(), Json::String("\"x\"".into()));
        params.insert("raw".into(), Json::String("Two".into()));
        params.insert("d".into(), Json::String("2021-01-01".into()));
        params.insert("j".into(), serde_json::json!(1));
        let r = run(
            "declare query_parameters(n:long, s:string, raw:string, d:datetime, j:long, k:int = 7);\nT | where s == s and d >= d | take n | project a, raw, j, k",
            &params,
            &store(),
            "Db",
            0,
        );
        // `s == s` compares the column with itself: column names win over parameters.
        let t = &r.unwrap()[0];
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0][1], Value::String("Two".into()));
        assert_eq!(t.rows[0][2], Value::Long(1));
        assert_eq!(t.rows[0][3], Value::Int(7));
        assert_eq!(
            bind_parameter("p", KustoType::String, &Json::String("'q'".into())),
            Ok(Value::String("q".into()))
        );
        assert_eq!(
            bind_parameter("p", KustoType::Long, &Json::String("10".into())),
            Ok(Value::Long(10))
        );
        assert_eq!(
            bind_parameter("p", KustoType::Bool, &Json::Bool(true)),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            bind_parameter(
                "p",
                KustoType::Dynamic,
                &Json::String("dynamic([1,\"x\"])".into())
            ),
            Ok(Value::Dynamic(serde_json::json!([1, "x"])))
        );
        assert!(bind_parameter("p", KustoType::Long, &Json::String("abc".into())).is_err());
        let missing = run(
            "declare query_parameters(q:long); T | take q",
            &Map::new(),
            &store(),
            "Db",
            0,
        );
        assert!(matches!(missing, Err(KqlError::Semantic { .. })));
    }

    /// Every query, with a multi-byte character inserted at (or the text cut after) every
    /// character boundary, gets a result or an error, never a panic.
    #[test]
    fn no_query_panics_on_multi_byte_characters() {
        let queries = [
            "T | where s has 'x' and a > 1 | project a, s | take 2",
            "T | where s contains_cs \"y\" or s !startswith @'z' | order by a desc nulls last",
            "T | summarize n = count(), m = max(a) by s | sort by n asc",
            "declare query_parameters(p:string = 'x'); T | where s == p | count",
            "print x = datetime(2020-01-01) + 1d, y = dynamic({\"a\":1}), z = ['q'] // c",
            "T | where d > ago(1h) and isnotempty(s) | limit 1",
        ];
        let store = store();
        for query in queries {
            for insert in ["é", "€", "😀", "\u{301}"] {
                let boundaries = query.char_indices().map(|(i, _)| i).chain([query.len()]);
                for at in boundaries {
                    let variant = format!("{}{insert}{}", &query[..at], &query[at..]);
                    let cut = format!("{}{insert}", &query[..at]);
                    for text in [variant, cut] {
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                let _ = run(&text, &Map::new(), &store, "Db", 0);
                            }));
                        assert!(outcome.is_ok(), "panicked on {text:?}");
                    }
                }
            }
        }
    }
}
