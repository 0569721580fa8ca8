//! The binder: resolves the names of a scalar expression (columns of the operator's input,
//! `let` bindings, parameters), its functions (the registry, user functions, window functions,
//! aggregates in `summarize`), checks and computes types, and folds constants. Binding happens
//! per operator, when the operator's input schema is known; semantic errors name the operator
//! and what is unknown.

pub(crate) mod bound;
pub(crate) mod calls;
pub(crate) mod multi;
pub(crate) mod names;

use std::cell::RefCell;
use std::rc::Rc;

use super::aggregates::{AggSetup, AggregateDef};
use super::ast::{BinOp, Expr, ExprKind, ListOp, StrOp};
use super::eval::{Binding, Engine, Scope, is_tabular};
use super::scalar::{arith_type, comparable, is_numeric};
use super::{INGESTION_TIME_COLUMN, KqlError, SEM_UNSUPPORTED};
use crate::store::Column;
use crate::value::{KustoType, Value};
pub(crate) use bound::{Bound, BoundKind, Cx};

/// One aggregate call found while binding a `summarize` item.
#[derive(Debug)]
pub(crate) struct AggCall {
    pub(crate) def: &'static AggregateDef,
    pub(crate) args: Vec<Bound>,
    pub(crate) setup: AggSetup,
    pub(crate) outputs: Vec<(String, KustoType)>,
}

/// The aggregate calls of a `summarize` (or `make-series`, `top-nested`): their arguments bind
/// against `input`; the row they produce is the group keys, then every aggregate's outputs.
#[derive(Debug, Default)]
pub(crate) struct AggCollector {
    pub(crate) input: Vec<Column>,
    pub(crate) keys: usize,
    /// Names excluded from `*` (the group keys).
    pub(crate) exclude: Vec<String>,
    pub(crate) calls: Vec<AggCall>,
}

impl AggCollector {
    /// The number of output columns so far (keys included).
    pub(crate) fn width(&self) -> usize {
        self.keys + self.calls.iter().map(|c| c.outputs.len()).sum::<usize>()
    }
}

/// Binds scalar expressions for one operator.
pub(crate) struct Binder<'b, 'a> {
    pub(crate) eng: &'b Engine<'a>,
    pub(crate) scope: &'b Scope,
    pub(crate) columns: &'b [Column],
    pub(crate) op: &'static str,
    pub(crate) aggs: Option<&'b RefCell<AggCollector>>,
}

impl<'b, 'a> Binder<'b, 'a> {
    pub(crate) fn new(
        eng: &'b Engine<'a>,
        scope: &'b Scope,
        columns: &'b [Column],
        op: &'static str,
    ) -> Self {
        Binder {
            eng,
            scope,
            columns,
            op,
            aggs: None,
        }
    }

    pub(crate) fn error(&self, message: impl std::fmt::Display) -> KqlError {
        KqlError::semantic(
            SEM_UNSUPPORTED,
            format!("'{}' operator: {message}", self.op),
        )
    }

    pub(crate) fn unresolved(&self, name: &str) -> KqlError {
        KqlError::semantic(
            "SEM0100",
            format!(
                "'{}' operator: Failed to resolve scalar expression named '{name}'",
                self.op
            ),
        )
    }

    /// Binds and evaluates an expression that must not depend on rows.
    pub(crate) fn constant(&self, e: &Expr) -> Result<(Value, KustoType), KqlError> {
        let b = Binder::new(self.eng, self.scope, &[], self.op).bind(e)?;
        Ok((b.eval(&Cx::constant(&self.eng.env)), b.ty))
    }

    /// Binds a scalar expression.
    pub(crate) fn bind(&self, e: &Expr) -> Result<Bound, KqlError> {
        self.eng.enter()?;
        let result = self.bind_inner(e);
        self.eng.leave();
        result
    }

    fn bind_inner(&self, e: &Expr) -> Result<Bound, KqlError> {
        Ok(match &e.kind {
            ExprKind::Literal(v, ty) => Bound::constant(v.clone(), *ty),
            ExprKind::Name(n) => self.name(n)?,
            ExprKind::Star => return Err(self.error("'*' is not allowed here")),
            ExprKind::Member(target, name) => {
                if let ExprKind::Name(side) = &target.kind
                    && (side == "$left" || side == "$right")
                {
                    return Err(self.error(format!(
                        "'{side}.{name}' can only be used in the conditions of join and lookup"
                    )));
                }
                let t = self.bind(target)?;
                self.expect_dynamic(&t, name)?;
                self.fold(Bound::new(
                    BoundKind::Member(Box::new(t), name.clone()),
                    KustoType::Dynamic,
                ))
            }
            ExprKind::Index(target, index) => {
                let t = self.bind(target)?;
                self.expect_dynamic(&t, "[...]")?;
                let i = self.bind(index)?;
                self.fold(Bound::new(
                    BoundKind::Index(Box::new(t), Box::new(i)),
                    KustoType::Dynamic,
                ))
            }
            ExprKind::Neg(inner) => {
                let b = self.bind(inner)?;
                if !(is_numeric(b.ty) || matches!(b.ty, KustoType::TimeSpan | KustoType::Dynamic)) {
                    return Err(self.error(format!(
                        "Cannot apply the unary operator '-' to a value of type {}",
                        b.ty
                    )));
                }
                let ty = b.ty;
                self.fold(Bound::new(BoundKind::Neg(Box::new(b)), ty))
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b)?,
            ExprKind::StrPred {
                op,
                case_sensitive,
                negated,
                left,
                right,
            } => {
                let (l, r) = (self.bind(left)?, self.bind(right)?);
                if *op == StrOp::MatchesRegex
                    && let Some(Value::String(p)) = r.as_const()
                    && regex::Regex::new(p).is_err()
                {
                    return Err(self.error(format!("the regular expression '{p}' is not valid")));
                }
                self.fold(Bound::new(
                    BoundKind::StrPred {
                        op: *op,
                        case_sensitive: *case_sensitive,
                        negated: *negated,
                        left: Box::new(l),
                        right: Box::new(r),
                    },
                    KustoType::Bool,
                ))
            }
            ExprKind::InList {
                op,
                negated,
                case_insensitive,
                left,
                list,
            } => {
                let l = self.bind(left)?;
                let mut items = Vec::new();
                for item in list {
                    items.push(self.list_item(item)?);
                }
                if *op == ListOp::In && !*case_insensitive {
                    for i in &items {
                        if !comparable(l.ty, i.ty) && l.ty != KustoType::String {
                            return Err(self.error(format!(
                                "Cannot compare values of types {} and {}. Try adding explicit casts",
                                l.ty, i.ty
                            )));
                        }
                    }
                }
                self.fold(Bound::new(
                    BoundKind::InList {
                        op: *op,
                        negated: *negated,
                        case_insensitive: *case_insensitive,
                        left: Box::new(l),
                        list: items,
                    },
                    KustoType::Bool,
                ))
            }
            ExprKind::Between {
                negated,
                left,
                low,
                high,
            } => {
                let (v, lo, hi) = (self.bind(left)?, self.bind(low)?, self.bind(high)?);
                self.fold(Bound::new(
                    BoundKind::Between {
                        negated: *negated,
                        value: Box::new(v),
                        low: Box::new(lo),
                        high: Box::new(hi),
                    },
                    KustoType::Bool,
                ))
            }
            ExprKind::Call(name, args) => self.call(name, args, e.pos)?,
            ExprKind::Pipe(..)
            | ExprKind::Paren(_)
            | ExprKind::Datatable { .. }
            | ExprKind::Range { .. }
            | ExprKind::Print(_)
            | ExprKind::Union(_) => {
                return Err(
                    self.error("a tabular expression cannot be used as a scalar (use toscalar())")
                );
            }
            ExprKind::Function(_) => {
                return Err(self.error("a function literal cannot be used as a scalar"));
            }
        })
    }

    fn expect_dynamic(&self, t: &Bound, what: &str) -> Result<(), KqlError> {
        if t.ty != KustoType::Dynamic {
            return Err(self.error(format!(
                "the member access '{what}' needs a dynamic value, not a {}",
                t.ty
            )));
        }
        Ok(())
    }

    /// An element of an `in (...)` list: a scalar, or a tabular expression whose first column
    /// gives the values.
    fn list_item(&self, item: &Expr) -> Result<Bound, KqlError> {
        if is_tabular(self.eng, item, self.scope) {
            let t = self.eng.eval_tabular(item, self.scope)?;
            let values: Vec<serde_json::Value> = t
                .rows
                .iter()
                .filter_map(|r| r.first())
                .map(Value::to_json)
                .collect();
            return Ok(Bound::constant(
                Value::Dynamic(serde_json::Value::Array(values)),
                KustoType::Dynamic,
            ));
        }
        self.bind(item)
    }

    /// A name: a column of the input, then a `let` binding or parameter.
    fn name(&self, n: &str) -> Result<Bound, KqlError> {
        if n == INGESTION_TIME_COLUMN {
            return Err(self.unresolved(n));
        }
        if let Some(i) = self.columns.iter().position(|c| c.name == n) {
            return Ok(Bound::new(BoundKind::Column(i), self.columns[i].ty));
        }
        match self.scope.lookup(n) {
            Some(Binding::Scalar(v, ty)) => Ok(Bound::constant(v.clone(), *ty)),
            Some(Binding::Expr(b)) => Ok(Bound::new(BoundKind::Shared(Rc::clone(b)), b.ty)),
            Some(Binding::Table(_)) => Err(self.error(format!(
                "'{n}' is a tabular expression and cannot be used as a scalar (use toscalar())"
            ))),
            Some(Binding::Function(..)) => {
                Err(self.error(format!("'{n}' is a function: call it with parentheses")))
            }
            None => Err(self.unresolved(n)),
        }
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr) -> Result<Bound, KqlError> {
        let (l, r) = (self.bind(a)?, self.bind(b)?);
        let (tl, tr) = (l.ty, r.ty);
        let node = match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let ty = arith_type(op, tl, tr).map_err(|m| self.error(m))?;
                Bound::new(BoundKind::Arith(op, Box::new(l), Box::new(r)), ty)
            }
            BinOp::And | BinOp::Or => {
                for t in [tl, tr] {
                    if !matches!(t, KustoType::Bool | KustoType::Dynamic) {
                        return Err(self.error(format!(
                            "the operands of '{}' must be bool, not {t}",
                            op.symbol()
                        )));
                    }
                }
                let kind = if op == BinOp::And {
                    BoundKind::And(Box::new(l), Box::new(r))
                } else {
                    BoundKind::Or(Box::new(l), Box::new(r))
                };
                Bound::new(kind, KustoType::Bool)
            }
            BinOp::EqCi | BinOp::NeCi => Bound::new(
                BoundKind::Compare(op, Box::new(l), Box::new(r)),
                KustoType::Bool,
            ),
            _ => {
                let strings_and_dates = matches!(
                    (tl, tr),
                    (KustoType::String, KustoType::DateTime)
                        | (KustoType::DateTime, KustoType::String)
                );
                if !comparable(tl, tr) && !strings_and_dates {
                    return Err(self.error(format!(
                        "Cannot compare values of types {tl} and {tr}. Try adding explicit casts"
                    )));
                }
                Bound::new(
                    BoundKind::Compare(op, Box::new(l), Box::new(r)),
                    KustoType::Bool,
                )
            }
        };
        Ok(self.fold(node))
    }

    /// Replaces a node whose operands are all constants by its value.
    pub(crate) fn fold(&self, b: Bound) -> Bound {
        let c = |x: &Bound| matches!(x.kind, BoundKind::Const(_));
        let foldable = match &b.kind {
            BoundKind::Arith(_, x, y)
            | BoundKind::Compare(_, x, y)
            | BoundKind::And(x, y)
            | BoundKind::Or(x, y)
            | BoundKind::Index(x, y) => c(x) && c(y),
            BoundKind::StrPred { left, right, .. } => c(left) && c(right),
            BoundKind::Neg(x) | BoundKind::Member(x, _) => c(x),
            BoundKind::Call(f, args) => f.pure && args.iter().all(c),
            BoundKind::Between {
                value, low, high, ..
            } => c(value) && c(low) && c(high),
            BoundKind::InList { left, list, .. } => c(left) && list.iter().all(c),
            _ => false,
        };
        if foldable {
            let v = b.eval(&Cx::constant(&self.eng.env));
            Bound::constant(v, b.ty)
        } else {
            b
        }
    }
}
