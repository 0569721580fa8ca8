//! Binding and evaluation of parsed queries against the store.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::lexer::{Tok, tokenize};
use super::parser::{Aggregate, CmpOp, Expr, OpKind, Pipeline, Source, parse};
use super::{KqlError, SEM_UNSUPPORTED};
use crate::parse_value::{parse_integer, parse_scalar};
use crate::store::{Column, Row, Store, StoreError};
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
enum Bound {
    Const(Value, Option<KustoType>),
    Col(usize, KustoType),
    Cmp(CmpOp, Box<Bound>, Box<Bound>),
    In(Box<Bound>, Vec<Bound>, bool),
    And(Box<Bound>, Box<Bound>),
    Or(Box<Bound>, Box<Bound>),
    Not(Box<Bound>),
    Func(Func, Vec<Bound>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    IsNull,
    IsNotNull,
    IsEmpty,
    IsNotEmpty,
    Now,
    Ago,
    To(KustoType),
}

impl Bound {
    fn ty(&self) -> Option<KustoType> {
        match self {
            Bound::Const(_, t) => *t,
            Bound::Col(_, t) => Some(*t),
            Bound::Func(Func::Now | Func::Ago, _) => Some(KustoType::DateTime),
            Bound::Func(Func::To(t), _) => Some(*t),
            _ => Some(KustoType::Bool),
        }
    }

    fn eval(&self, row: &[Value]) -> Value {
        match self {
            Bound::Const(v, _) => v.clone(),
            Bound::Col(i, _) => row.get(*i).cloned().unwrap_or(Value::Null),
            Bound::Cmp(op, a, b) => compare(*op, &a.eval(row), &b.eval(row)),
            Bound::In(e, list, negated) => {
                let v = e.eval(row);
                if v.is_null() {
                    return Value::Null;
                }
                let found = list
                    .iter()
                    .any(|x| v.compare(&x.eval(row)) == Some(Ordering::Equal));
                Value::Bool(found != *negated)
            }
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
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    let lower = |v: &Value| v.to_text().to_lowercase();
    let result = match op {
        CmpOp::EqCi => lower(a) == lower(b),
        CmpOp::NeCi => lower(a) != lower(b),
        CmpOp::Contains => lower(a).contains(&lower(b)),
        CmpOp::NotContains => !lower(a).contains(&lower(b)),
        CmpOp::StartsWith => lower(a).starts_with(&lower(b)),
        CmpOp::EndsWith => lower(a).ends_with(&lower(b)),
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

fn category(t: KustoType) -> u8 {
    match t {
        KustoType::Int | KustoType::Long | KustoType::Real | KustoType::Decimal => 0,
        KustoType::Dynamic => 255,
        other => other as u8 + 1,
    }
}

struct Ctx<'a> {
    columns: &'a [Column],
    params: &'a HashMap<String, (KustoType, Value)>,
    now: i64,
    op: &'static str,
}

impl Ctx<'_> {
    fn unresolved(&self, name: &str) -> KqlError {
        KqlError::semantic(
            "SEM0100",
            format!(
                "'{}' operator: Failed to resolve scalar expression named '{name}'",
                self.op
            ),
        )
    }

    fn bind(&self, expr: &Expr) -> Result<Bound, KqlError> {
        Ok(match expr {
            Expr::Literal(tok) => Bound::Const(literal(tok)?, literal_type(tok)),
            Expr::Name(n) => {
                if let Some(i) = self.columns.iter().position(|c| &c.name == n) {
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
                let Bound::Const(v, t) = b else {
                    return Err(KqlError::unsupported("Arithmetic on columns"));
                };
                let negated = match v {
                    Value::Long(l) => Value::Long(l.wrapping_neg()),
                    Value::Int(i) => Value::Int(i.wrapping_neg()),
                    Value::Real(r) => Value::Real(-r),
                    Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_neg()),
                    other => other,
                };
                Bound::Const(negated, t)
            }
            Expr::Cmp(op, a, b) => {
                let (a, b) = (self.bind(a)?, self.bind(b)?);
                if !matches!(
                    op,
                    CmpOp::Contains
                        | CmpOp::NotContains
                        | CmpOp::StartsWith
                        | CmpOp::EndsWith
                        | CmpOp::EqCi
                        | CmpOp::NeCi
                ) && let (Some(ta), Some(tb)) = (a.ty(), b.ty())
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
            } => Bound::In(
                Box::new(self.bind(expr)?),
                list.iter()
                    .map(|e| self.bind(e))
                    .collect::<Result<_, _>>()?,
                *negated,
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
            "now" => Func::Now,
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
            match store.snapshot(target, name) {
                Ok(s) => (s.columns, s.rows),
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
                let n = match ctx.bind(expr)?.eval(&[]) {
                    Value::Long(l) => l,
                    Value::Int(i) => i64::from(i),
                    Value::String(s) => parse_integer(&s).unwrap_or(-1),
                    _ => -1,
                };
                if n < 0 {
                    return Err(KqlError::semantic(
                        SEM_UNSUPPORTED,
                        format!(
                            "'{}' operator: the row count must be a non-negative integer",
                            op.name
                        ),
                    ));
                }
                let n = usize::try_from(n).unwrap_or(usize::MAX);
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
                let bound: Vec<(Bound, bool, bool)> = keys
                    .iter()
                    .map(|k| {
                        ctx.bind(&k.expr)
                            .map(|b| (b, k.descending, k.nulls_first.unwrap_or(!k.descending)))
                    })
                    .collect::<Result<_, _>>()?;
                let mut sorted: Vec<Row> = rows.as_ref().clone();
                sorted.sort_by(|x, y| {
                    for (b, desc, nulls_first) in &bound {
                        let (vx, vy) = (b.eval(x), b.eval(y));
                        let ord = match (vx.is_null(), vy.is_null()) {
                            (true, true) => Ordering::Equal,
                            (true, false) => {
                                if *nulls_first {
                                    Ordering::Less
                                } else {
                                    Ordering::Greater
                                }
                            }
                            (false, true) => {
                                if *nulls_first {
                                    Ordering::Greater
                                } else {
                                    Ordering::Less
                                }
                            }
                            (false, false) => {
                                let o = vx.sort_cmp(&vy);
                                if *desc { o.reverse() } else { o }
                            }
                        };
                        if ord != Ordering::Equal {
                            return ord;
                        }
                    }
                    Ordering::Equal
                });
                rows = Arc::new(sorted);
            }
            OpKind::Summarize { aggregates, by } => {
                let (c, r) = summarize(&ctx, aggregates, by, &rows)?;
                columns = c;
                rows = Arc::new(r);
            }
        }
    }
    Ok(ResultTable {
        name: "PrimaryResult".to_string(),
        columns,
        rows: Arc::try_unwrap(rows).unwrap_or_else(|shared| shared.as_ref().clone()),
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
            matches!(q("T | extend b = 1"), Err(KqlError::Semantic { message, .. }) if message.contains("'extend' operator"))
        );
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
}
