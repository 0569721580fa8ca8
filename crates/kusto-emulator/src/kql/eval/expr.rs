//! Bound expressions: names resolved against the columns and parameters, and their
//! evaluation for a row (comparisons, string operators, `in`, logic).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::arith::{arith, arith_type, category};
use super::functions::Func;
use super::{literal, literal_type};
use crate::kql::parser::{ArithOp, CmpOp, Expr, StrOp};
use crate::kql::tabular::INGESTION_TIME_COLUMN;
use crate::kql::{KqlError, SEM_UNSUPPORTED};
use crate::store::Column;
use crate::value::{KustoType, Value};

/// A bound expression: names resolved to column indexes or parameter values.
#[derive(Debug, Clone)]
pub(in crate::kql) enum Bound {
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

impl Bound {
    pub(in crate::kql) fn ty(&self) -> Option<KustoType> {
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

    pub(in crate::kql) fn eval(&self, row: &[Value]) -> Value {
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
            Bound::Func(f, args) => f.call(args.first().map_or(Value::Null, |a| a.eval(row))),
        }
    }
}

pub(super) fn compare(op: CmpOp, a: &Value, b: &Value) -> Value {
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
pub(super) fn has_term(text: &str, term: &str) -> bool {
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

/// Replaces an operation on constants by its value (so that `ago(1d + 1h)` or `take 2 * 5`
/// see a constant).
pub(super) fn fold(b: Bound) -> Bound {
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

/// What binding an expression sees: the columns of the rows, the parameters, the query time
/// and the operator (for error messages).
#[derive(Clone, Copy)]
pub(in crate::kql) struct Ctx<'a> {
    pub(in crate::kql) columns: &'a [Column],
    pub(in crate::kql) params: &'a HashMap<String, (KustoType, Value)>,
    pub(in crate::kql) now: i64,
    pub(in crate::kql) op: &'static str,
}

impl Ctx<'_> {
    pub(in crate::kql) fn unresolved(&self, name: &str) -> KqlError {
        KqlError::semantic(
            "SEM0100",
            format!(
                "'{}' operator: Failed to resolve scalar expression named '{name}'",
                self.op
            ),
        )
    }

    pub(in crate::kql) fn bind(&self, expr: &Expr) -> Result<Bound, KqlError> {
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
}
