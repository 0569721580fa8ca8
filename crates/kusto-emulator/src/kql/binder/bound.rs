//! Bound expressions: names resolved (to column indexes or values), functions resolved (to
//! registry entries), every node typed; and their evaluation for one row.

use std::cell::RefCell;

use serde_json::Value as Json;

use crate::kql::ast::{BinOp, ListOp, StrOp};
use crate::kql::functions::{Env, FunctionDef};
use crate::kql::scalar::{self, arith, compare, compare_op, to_text};
use crate::store::Row;
use crate::value::{KustoType, Value};

/// What evaluating an expression for one row sees: the row, its neighbours (for `prev()`,
/// `next()`) and the query's environment.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'a> {
    pub(crate) row: &'a [Value],
    pub(crate) rows: &'a [Row],
    pub(crate) index: usize,
    pub(crate) env: &'a Env,
}

impl<'a> Cx<'a> {
    /// A context without rows (constants, `print`).
    pub(crate) fn constant(env: &'a Env) -> Self {
        Cx {
            row: &[],
            rows: &[],
            index: 0,
            env,
        }
    }

    /// The context of row `index` of `rows`.
    pub(crate) fn at(rows: &'a [Row], index: usize, env: &'a Env) -> Self {
        Cx {
            row: rows.get(index).map_or(&[], Vec::as_slice),
            rows,
            index,
            env,
        }
    }
}

/// A bound expression and its type.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) kind: BoundKind,
    pub(crate) ty: KustoType,
}

/// The kinds of bound expressions.
#[derive(Debug)]
pub(crate) enum BoundKind {
    Const(Value),
    Column(usize),
    /// A function parameter or body `let`: the argument's expression, shared.
    Shared(std::rc::Rc<Bound>),
    Call(&'static FunctionDef, Vec<Bound>),
    Arith(BinOp, Box<Bound>, Box<Bound>),
    Compare(BinOp, Box<Bound>, Box<Bound>),
    And(Box<Bound>, Box<Bound>),
    Or(Box<Bound>, Box<Bound>),
    Neg(Box<Bound>),
    StrPred {
        op: StrOp,
        case_sensitive: bool,
        negated: bool,
        left: Box<Bound>,
        right: Box<Bound>,
    },
    InList {
        op: ListOp,
        negated: bool,
        case_insensitive: bool,
        left: Box<Bound>,
        list: Vec<Bound>,
    },
    Between {
        negated: bool,
        value: Box<Bound>,
        low: Box<Bound>,
        high: Box<Bound>,
    },
    /// `x.name` / `x["name"]` on a dynamic value.
    Member(Box<Bound>, String),
    /// `x[i]` on a dynamic value (an index or a key).
    Index(Box<Bound>, Box<Bound>),
    /// `row_number(start, restart)`.
    RowNumber {
        start: i64,
        restart: Option<Box<Bound>>,
        state: RefCell<(i64, Option<usize>)>,
    },
    /// `prev(expr, offset, default)` (negative offset: `next`).
    Shift {
        expr: Box<Bound>,
        offset: i64,
        default: Option<Box<Bound>>,
    },
    /// `row_cumsum(expr, restart)`.
    Cumsum {
        expr: Box<Bound>,
        restart: Option<Box<Bound>>,
        state: RefCell<(Value, Option<usize>)>,
    },
    /// `row_rank_dense(expr)` / `row_rank_min(expr)`.
    Rank {
        expr: Box<Bound>,
        dense: bool,
        state: RefCell<(i64, i64, Option<Value>, Option<usize>)>,
    },
}

impl Bound {
    pub(crate) fn new(kind: BoundKind, ty: KustoType) -> Self {
        Bound { kind, ty }
    }

    pub(crate) fn constant(v: Value, ty: KustoType) -> Self {
        Bound {
            kind: BoundKind::Const(v),
            ty,
        }
    }

    /// The value when the expression is a constant.
    pub(crate) fn as_const(&self) -> Option<&Value> {
        match &self.kind {
            BoundKind::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Evaluates the expression for one row.
    pub(crate) fn eval(&self, cx: &Cx<'_>) -> Value {
        match &self.kind {
            BoundKind::Const(v) => v.clone(),
            BoundKind::Column(i) => cx.row.get(*i).cloned().unwrap_or(Value::Null),
            BoundKind::Shared(b) => b.eval(cx),
            BoundKind::Call(f, args) => {
                let values: Vec<Value> = args.iter().map(|a| a.eval(cx)).collect();
                f.call(&values, cx.env)
            }
            BoundKind::Arith(op, a, b) => arith(*op, &a.eval(cx), &b.eval(cx), self.ty),
            BoundKind::Compare(op, a, b) => compare_op(*op, &a.eval(cx), &b.eval(cx)),
            BoundKind::And(a, b) => match a.eval(cx) {
                Value::Bool(false) => Value::Bool(false),
                x => match (x, b.eval(cx)) {
                    (_, Value::Bool(false)) => Value::Bool(false),
                    (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                    _ => Value::Null,
                },
            },
            BoundKind::Or(a, b) => match a.eval(cx) {
                Value::Bool(true) => Value::Bool(true),
                x => match (x, b.eval(cx)) {
                    (_, Value::Bool(true)) => Value::Bool(true),
                    (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                    _ => Value::Null,
                },
            },
            BoundKind::Neg(a) => negate(a.eval(cx)),
            BoundKind::StrPred {
                op,
                case_sensitive,
                negated,
                left,
                right,
            } => {
                let (text, pattern) = (to_text(&left.eval(cx)), to_text(&right.eval(cx)));
                let found = if *op == StrOp::MatchesRegex {
                    cx.env
                        .with_regex(&pattern, |re| re.map(|re| re.is_match(&text)))
                        .unwrap_or(false)
                } else if *case_sensitive {
                    str_pred(*op, &text, &pattern)
                } else {
                    str_pred(*op, &text.to_lowercase(), &pattern.to_lowercase())
                };
                Value::Bool(found != *negated)
            }
            BoundKind::InList {
                op,
                negated,
                case_insensitive,
                left,
                list,
            } => in_list(*op, *negated, *case_insensitive, &left.eval(cx), list, cx),
            BoundKind::Between {
                negated,
                value,
                low,
                high,
            } => {
                let v = value.eval(cx);
                let lo = low.eval(cx);
                let mut hi = high.eval(cx);
                if let (Value::DateTime(l), Value::TimeSpan(span)) = (&lo, &hi) {
                    hi = scalar::datetime_or_null(l.checked_add(*span));
                }
                if v.is_null() || lo.is_null() || hi.is_null() {
                    return Value::Null;
                }
                let inside = !matches!(compare(&v, &lo), Some(std::cmp::Ordering::Less) | None)
                    && !matches!(compare(&v, &hi), Some(std::cmp::Ordering::Greater) | None);
                Value::Bool(inside != *negated)
            }
            BoundKind::Member(target, name) => member(&target.eval(cx), name),
            BoundKind::Index(target, index) => element(&target.eval(cx), &index.eval(cx)),
            BoundKind::RowNumber {
                start,
                restart,
                state,
            } => {
                let mut s = state.borrow_mut();
                let restarted = restart
                    .as_ref()
                    .is_some_and(|r| matches!(r.eval(cx), Value::Bool(true)));
                let n = match s.1 {
                    Some(prev) if prev + 1 == cx.index && !restarted => s.0 + 1,
                    _ => *start,
                };
                *s = (n, Some(cx.index));
                Value::Long(n)
            }
            BoundKind::Shift {
                expr,
                offset,
                default,
            } => {
                let target = i64::try_from(cx.index)
                    .ok()
                    .and_then(|i| i.checked_sub(*offset));
                match target.and_then(|t| usize::try_from(t).ok()) {
                    Some(t) if t < cx.rows.len() => expr.eval(&Cx::at(cx.rows, t, cx.env)),
                    _ => default.as_ref().map_or(Value::Null, |d| d.eval(cx)),
                }
            }
            BoundKind::Cumsum {
                expr,
                restart,
                state,
            } => {
                let v = expr.eval(cx);
                let mut s = state.borrow_mut();
                let restarted = restart
                    .as_ref()
                    .is_some_and(|r| matches!(r.eval(cx), Value::Bool(true)));
                let continues = matches!(s.1, Some(prev) if prev + 1 == cx.index) && !restarted;
                let acc = if continues && !s.0.is_null() {
                    if v.is_null() {
                        s.0.clone()
                    } else {
                        arith(BinOp::Add, &s.0, &v, self.ty)
                    }
                } else if v.is_null() {
                    zero(self.ty)
                } else {
                    scalar::fit(v, self.ty)
                };
                *s = (acc.clone(), Some(cx.index));
                acc
            }
            BoundKind::Rank { expr, dense, state } => {
                let v = expr.eval(cx);
                let mut s = state.borrow_mut();
                let (rank, count, last, prev) = &mut *s;
                let continues = matches!(prev, Some(p) if *p + 1 == cx.index);
                if !continues {
                    *rank = 1;
                    *count = 1;
                } else {
                    *count += 1;
                    let same = last.as_ref().is_some_and(|l| {
                        compare(l, &v) == Some(std::cmp::Ordering::Equal)
                            || l.is_null() && v.is_null()
                    });
                    if !same {
                        *rank = if *dense { *rank + 1 } else { *count };
                    }
                }
                *last = Some(v);
                *prev = Some(cx.index);
                Value::Long(*rank)
            }
        }
    }
}

fn zero(ty: KustoType) -> Value {
    match ty {
        KustoType::Int => Value::Int(0),
        KustoType::Real => Value::Real(0.0),
        KustoType::TimeSpan => Value::TimeSpan(0),
        KustoType::Decimal => Value::Decimal(crate::value::Decimal::from_i64(0)),
        _ => Value::Long(0),
    }
}

pub(crate) fn negate(v: Value) -> Value {
    match v {
        Value::Long(l) => Value::Long(l.wrapping_neg()),
        Value::Int(i) => Value::Int(i.wrapping_neg()),
        Value::Real(r) => Value::Real(-r),
        Value::Decimal(d) => Value::Decimal(d.neg()),
        Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_neg()),
        Value::Dynamic(Json::Number(n)) => match n.as_i64() {
            Some(i) => Value::Dynamic(Json::from(i.wrapping_neg())),
            None => n
                .as_f64()
                .and_then(|f| serde_json::Number::from_f64(-f))
                .map_or(Value::Null, |n| Value::Dynamic(Json::Number(n))),
        },
        _ => Value::Null,
    }
}

/// The string predicates on already case-folded text.
fn str_pred(op: StrOp, text: &str, pattern: &str) -> bool {
    match op {
        StrOp::Contains => text.contains(pattern),
        StrOp::StartsWith => text.starts_with(pattern),
        StrOp::EndsWith => text.ends_with(pattern),
        StrOp::Has => has_term(text, pattern),
        StrOp::HasPrefix => term_prefix(text, pattern, true),
        StrOp::HasSuffix => term_prefix(text, pattern, false),
        StrOp::MatchesRegex => false,
    }
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether `term` occurs in `text` as a whole term: not preceded or followed by an alphanumeric
/// character where the term itself begins or ends with one (`has`). An empty term is found
/// everywhere.
pub(crate) fn has_term(text: &str, term: &str) -> bool {
    if term.is_empty() {
        return true;
    }
    let starts_with_word = term.chars().next().is_some_and(is_term_char);
    let ends_with_word = term.chars().next_back().is_some_and(is_term_char);
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find(term)) {
        let at = from + found;
        let end = at + term.len();
        let before = text.get(..at).and_then(|s| s.chars().next_back());
        let after = text.get(end..).and_then(|s| s.chars().next());
        let bounded = |c: Option<char>| !c.is_some_and(is_term_char);
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

/// `hasprefix` (a term starts with `p`) and `hassuffix` (a term ends with `p`).
fn term_prefix(text: &str, p: &str, prefix: bool) -> bool {
    if p.is_empty() {
        return true;
    }
    text.split(|c: char| !is_term_char(c)).any(|term| {
        if prefix {
            term.starts_with(p)
        } else {
            term.ends_with(p)
        }
    })
}

fn in_list(
    op: ListOp,
    negated: bool,
    case_insensitive: bool,
    left: &Value,
    list: &[Bound],
    cx: &Cx<'_>,
) -> Value {
    if left.is_null() && op == ListOp::In {
        return Value::Bool(negated);
    }
    let mut items: Vec<Value> = Vec::new();
    for b in list {
        match b.eval(cx) {
            Value::Dynamic(Json::Array(a)) => {
                items.extend(a.into_iter().map(|j| scalar::undynamic(&Value::Dynamic(j))))
            }
            v => items.push(v),
        }
    }
    let result = match op {
        ListOp::In => items.iter().any(|x| {
            if case_insensitive {
                !x.is_null() && to_text(left).to_lowercase() == to_text(x).to_lowercase()
            } else {
                compare(left, x) == Some(std::cmp::Ordering::Equal)
            }
        }),
        ListOp::HasAny | ListOp::HasAll => {
            let text = to_text(left).to_lowercase();
            let mut hits = items
                .iter()
                .map(|x| has_term(&text, &to_text(x).to_lowercase()));
            if op == ListOp::HasAny {
                hits.any(|h| h)
            } else {
                hits.all(|h| h)
            }
        }
    };
    Value::Bool(result != negated)
}

/// `x.name` on a dynamic bag (null otherwise).
pub(crate) fn member(v: &Value, name: &str) -> Value {
    match v {
        Value::Dynamic(Json::Object(map)) => map
            .get(name)
            .map_or(Value::Null, |j| Value::Dynamic(j.clone())),
        _ => Value::Null,
    }
}

/// `x[i]`: an array element (negative indexes count from the end) or a bag member.
pub(crate) fn element(v: &Value, index: &Value) -> Value {
    match (v, scalar::undynamic(index)) {
        (Value::Dynamic(Json::Array(items)), i) => match scalar::as_i64(&i) {
            Some(i) => {
                let len = items.len() as i64;
                let at = if i < 0 { len + i } else { i };
                usize::try_from(at)
                    .ok()
                    .and_then(|a| items.get(a))
                    .map_or(Value::Null, |j| Value::Dynamic(j.clone()))
            }
            None => Value::Null,
        },
        (Value::Dynamic(Json::Object(_)), Value::String(key)) => member(v, &key),
        _ => Value::Null,
    }
}
