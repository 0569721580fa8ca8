//! Binding of calls: special forms (`toscalar`, window functions, `ingestion_time`,
//! `column_ifexists`, `pack_all`), user functions (inlined with their arguments), aggregates
//! (inside `summarize`) and registry functions (overload chosen by argument types).

use std::cell::RefCell;
use std::rc::Rc;

use super::names::expr_name;
use super::{AggCall, AggCollector, Binder, Bound, BoundKind};
use crate::kql::aggregates::{AggSetup, AggregateDef, aggregates};
use crate::kql::ast::{Expr, ExprKind, FunctionDef, ParamType};
use crate::kql::eval::{Binding, Evaluated, Scope, is_tabular};
use crate::kql::functions::registry;
use crate::kql::{INGESTION_TIME_COLUMN, KqlError};
use crate::value::{KustoType, Value};

/// The functions [`Binder::call`] binds itself rather than through the registry (their
/// arguments are columns, tables or the row order); the README test counts them as supported.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const SPECIAL_FORMS: &[&str] = &[
    "toscalar",
    "materialize",
    "row_number",
    "prev",
    "next",
    "row_cumsum",
    "row_rank_dense",
    "row_rank_min",
    "typeof",
    "ingestion_time",
    "column_ifexists",
    "bag_pack_columns",
    "pack_all",
    // The multi-column functions (binder/multi.rs): whole items of extend, project and print.
    "series_stats",
    "series_fit_line",
    "series_fit_2lines",
];

impl Binder<'_, '_> {
    pub(super) fn call(&self, name: &str, args: &[Expr], _pos: usize) -> Result<Bound, KqlError> {
        if let Some(b) = self.special(name, args)? {
            return Ok(b);
        }
        if let Some(Binding::Function(def, closure)) = self.scope.lookup(name) {
            return self.invoke_user(name, def, closure, args);
        }
        if let Some(agg) = aggregates().get(name) {
            return match self.aggs {
                Some(collector) => self.aggregate(agg, args, collector),
                None => Err(self.error(format!(
                    "the aggregation function '{name}' can only be used in summarize, \
                     make-series or top-nested"
                ))),
            };
        }
        if let Some(overloads) = registry().get(name) {
            let mut bound = Vec::with_capacity(args.len());
            for a in args {
                bound.push(self.bind(a)?);
            }
            let types: Vec<KustoType> = bound.iter().map(|b| b.ty).collect();
            let Some(f) = overloads.iter().find(|f| f.accepts(&types)) else {
                return Err(self.signature_error(name, overloads, &types));
            };
            let ty = f
                .result_type(&types)
                .map_err(|m| self.error(format!("{name}(): {m}")))?;
            if let Some(check) = f.check {
                let consts: Vec<Option<&Value>> = bound.iter().map(Bound::as_const).collect();
                check(&consts).map_err(|m| self.error(format!("{name}(): {m}")))?;
            }
            return Ok(self.fold(Bound::new(BoundKind::Call(f, bound), ty)));
        }
        if crate::kql::functions::is_documented(name) {
            return Err(KqlError::semantic(
                crate::kql::SEM_UNSUPPORTED,
                format!(
                    "'{name}' is a Kusto function the emulator does not support \
                     (crates/kusto-emulator/README.md lists the documented functions it lacks)"
                ),
            ));
        }
        Err(KqlError::semantic(
            "SEM0260",
            format!("Unknown function: '{name}'."),
        ))
    }

    pub(super) fn signature_error(
        &self,
        name: &str,
        overloads: &[crate::kql::functions::FunctionDef],
        types: &[KustoType],
    ) -> KqlError {
        let given: Vec<&str> = types.iter().map(|t| t.name()).collect();
        let expected: Vec<String> = overloads
            .iter()
            .map(|f| {
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|p| {
                        let opt = if p.optional { "[optional] " } else { "" };
                        format!("{opt}{}:{}", p.name, p.types.names().join("|"))
                    })
                    .collect();
                let more = if f.variadic { ", ..." } else { "" };
                format!("({}{more})", params.join(", "))
            })
            .collect();
        self.error(format!(
            "{name}(): no overload takes arguments of types ({}); expected {}",
            given.join(", "),
            expected.join(" or ")
        ))
    }

    /// Calls the binder handles itself; `None` for anything else.
    fn special(&self, name: &str, args: &[Expr]) -> Result<Option<Bound>, KqlError> {
        let arity = |min: usize, max: usize| -> Result<(), KqlError> {
            if args.len() < min || args.len() > max {
                return Err(self.error(format!(
                    "{name}(): expects {min} to {max} arguments, got {}",
                    args.len()
                )));
            }
            Ok(())
        };
        // A `let` of the same name hides the built-in.
        if self.scope.lookup(name).is_some() {
            return Ok(None);
        }
        Ok(Some(match name {
            "toscalar" => {
                arity(1, 1)?;
                match self.eng.eval_any(&args[0], self.scope)? {
                    Evaluated::Table(t) => {
                        let ty = t.columns.first().map_or(KustoType::String, |c| c.ty);
                        let v = t
                            .rows
                            .first()
                            .and_then(|r| r.first())
                            .cloned()
                            .unwrap_or(Value::Null);
                        Bound::constant(v, ty)
                    }
                    Evaluated::Scalar(v, ty) => Bound::constant(v, ty),
                }
            }
            "materialize" => {
                arity(1, 1)?;
                return self.bind(&args[0]).map(Some);
            }
            "row_number" => {
                arity(0, 2)?;
                let start = match args.first() {
                    Some(a) => match self.constant(a)?.0 {
                        Value::Long(l) => l,
                        Value::Int(i) => i64::from(i),
                        _ => return Err(self.error("row_number(): the start must be a number")),
                    },
                    None => 1,
                };
                let restart = args.get(1).map(|a| self.bind(a)).transpose()?;
                Bound::new(
                    BoundKind::RowNumber {
                        start,
                        restart: restart.map(Box::new),
                        state: RefCell::new((0, None)),
                    },
                    KustoType::Long,
                )
            }
            "prev" | "next" => {
                arity(1, 3)?;
                let expr = self.bind(&args[0])?;
                let offset = match args.get(1) {
                    Some(a) => match self.constant(a)?.0 {
                        Value::Long(l) => l,
                        Value::Int(i) => i64::from(i),
                        _ => {
                            return Err(
                                self.error(format!("{name}(): the offset must be a number"))
                            );
                        }
                    },
                    None => 1,
                };
                let default = args.get(2).map(|a| self.bind(a)).transpose()?;
                let ty = expr.ty;
                Bound::new(
                    BoundKind::Shift {
                        expr: Box::new(expr),
                        offset: if name == "prev" { offset } else { -offset },
                        default: default.map(Box::new),
                    },
                    ty,
                )
            }
            "row_cumsum" => {
                arity(1, 2)?;
                let expr = self.bind(&args[0])?;
                let restart = args.get(1).map(|a| self.bind(a)).transpose()?;
                let ty = match expr.ty {
                    KustoType::Int => KustoType::Long,
                    t => t,
                };
                Bound::new(
                    BoundKind::Cumsum {
                        expr: Box::new(expr),
                        restart: restart.map(Box::new),
                        state: RefCell::new((Value::Null, None)),
                    },
                    ty,
                )
            }
            "row_rank_dense" | "row_rank_min" => {
                arity(1, 1)?;
                let expr = self.bind(&args[0])?;
                Bound::new(
                    BoundKind::Rank {
                        expr: Box::new(expr),
                        dense: name == "row_rank_dense",
                        state: RefCell::new((0, 0, None, None)),
                    },
                    KustoType::Long,
                )
            }
            // A type literal (`extract(..., typeof(long))`): a constant of that type, whose
            // type the function reads (its value is the type's zero and is not used).
            "typeof" => {
                arity(1, 1)?;
                let ty = match &args[0].kind {
                    ExprKind::Name(n) => KustoType::parse(n),
                    _ => None,
                }
                .ok_or_else(|| self.error("typeof(): expects a type name, e.g. typeof(long)"))?;
                Bound::constant(crate::kql::functions::text_common::type_literal(ty), ty)
            }
            "ingestion_time" => {
                arity(0, 0)?;
                match self
                    .columns
                    .iter()
                    .position(|c| c.name == INGESTION_TIME_COLUMN)
                {
                    Some(i) => Bound::new(BoundKind::Column(i), KustoType::DateTime),
                    None => Bound::constant(Value::Null, KustoType::DateTime),
                }
            }
            "column_ifexists" => {
                arity(2, 2)?;
                let column = match self.constant(&args[0])?.0 {
                    Value::String(s) => s,
                    _ => return Err(self.error("column_ifexists(): the name must be a string")),
                };
                match self.columns.iter().position(|c| c.name == column) {
                    Some(i) if column != INGESTION_TIME_COLUMN => {
                        Bound::new(BoundKind::Column(i), self.columns[i].ty)
                    }
                    _ => self.bind(&args[1])?,
                }
            }
            "bag_pack_columns" => {
                // bag_pack_columns(c1, c2, ...): a bag keyed by the columns' names.
                let Some(f) = registry().get("bag_pack").and_then(|o| o.first()) else {
                    return Ok(None);
                };
                let mut bound = Vec::new();
                for a in args {
                    let ExprKind::Name(column) = &a.kind else {
                        return Err(
                            self.error("bag_pack_columns(): every argument must be a column")
                        );
                    };
                    bound.push(Bound::constant(
                        Value::String(column.clone()),
                        KustoType::String,
                    ));
                    bound.push(self.bind(a)?);
                }
                Bound::new(BoundKind::Call(f, bound), KustoType::Dynamic)
            }
            "pack_all" => {
                arity(0, 1)?;
                // The registry's pack_all takes the flag, then the columns' names and values.
                let ignore_null_empty = match args.first() {
                    Some(a) => match self.constant(a)?.0 {
                        Value::Bool(b) => b,
                        _ => {
                            return Err(
                                self.error("pack_all(): ignore_null_empty must be a constant bool")
                            );
                        }
                    },
                    None => false,
                };
                let Some(f) = registry().get("pack_all").and_then(|o| o.first()) else {
                    return Ok(None);
                };
                let mut bound = vec![Bound::constant(
                    Value::Bool(ignore_null_empty),
                    KustoType::Bool,
                )];
                for (i, c) in self.columns.iter().enumerate() {
                    if c.name != INGESTION_TIME_COLUMN {
                        bound.push(Bound::constant(
                            Value::String(c.name.clone()),
                            KustoType::String,
                        ));
                        bound.push(Bound::new(BoundKind::Column(i), c.ty));
                    }
                }
                Bound::new(BoundKind::Call(f, bound), KustoType::Dynamic)
            }
            _ if super::multi::multi_column(name).is_some() => {
                return Err(self.error(format!(
                    "{name}() produces several columns: use it as a whole item of extend, \
                     project or print (e.g. '| extend {name}(x)' or \
                     '| extend (a, b) = {name}(x)'), not inside another expression"
                )));
            }
            _ => return Ok(None),
        }))
    }

    /// Inlines a call of a user function: scalar parameters bound to the argument expressions,
    /// tabular ones to the argument tables, then the body's `let`s and result.
    fn invoke_user(
        &self,
        name: &str,
        def: &Rc<FunctionDef>,
        closure: &Scope,
        args: &[Expr],
    ) -> Result<Bound, KqlError> {
        let _guard = self.eng.call_guard(name)?;
        let scope = self.bind_params(name, def, closure, args, |arg| {
            Ok(Binding::Expr(Rc::new(self.bind(arg)?)))
        })?;
        let (scope, result) = self.eng.function_body(def, scope, true)?;
        if is_tabular(self.eng, result, &scope) {
            return Err(self.error(format!(
                "the function '{name}' returns a table: use it as a tabular expression or \
                 through toscalar()"
            )));
        }
        Binder::new(self.eng, &scope, &[], self.op).bind(result)
    }

    /// The scope of a function's body: the closure plus its parameters.
    pub(crate) fn bind_params(
        &self,
        name: &str,
        def: &FunctionDef,
        closure: &Scope,
        args: &[Expr],
        scalar: impl Fn(&Expr) -> Result<Binding, KqlError>,
    ) -> Result<Scope, KqlError> {
        if args.len() > def.params.len() {
            return Err(self.error(format!(
                "the function '{name}' takes {} argument(s), got {}",
                def.params.len(),
                args.len()
            )));
        }
        let mut scope = closure.clone();
        for (i, param) in def.params.iter().enumerate() {
            let binding = match (args.get(i), &param.ty) {
                (Some(arg), ParamType::Scalar(_)) => scalar(arg)?,
                (Some(arg), ParamType::Table(_)) => {
                    Binding::Table(self.eng.eval_tabular(arg, self.scope)?)
                }
                (None, ParamType::Scalar(ty)) => match &param.default {
                    Some(d) => {
                        let (v, _) = Binder::new(self.eng, closure, &[], self.op).constant(d)?;
                        Binding::Scalar(crate::kql::scalar::convert(&v, *ty), *ty)
                    }
                    None => {
                        return Err(self.error(format!(
                            "the function '{name}' needs a value for its parameter '{}'",
                            param.name
                        )));
                    }
                },
                (None, ParamType::Table(_)) => {
                    return Err(self.error(format!(
                        "the function '{name}' needs a table for its parameter '{}'",
                        param.name
                    )));
                }
            };
            scope = scope.with(&param.name, binding);
        }
        Ok(scope)
    }

    /// Binds an aggregate call inside `summarize`: its arguments against the input rows; the
    /// result is a column of the row of aggregates.
    fn aggregate(
        &self,
        def: &'static AggregateDef,
        args: &[Expr],
        collector: &RefCell<AggCollector>,
    ) -> Result<Bound, KqlError> {
        let (input, exclude) = {
            let c = collector.borrow();
            (c.input.clone(), c.exclude.clone())
        };
        let inner = Binder::new(self.eng, self.scope, &input, self.op);
        // `*` expands to every input column but the group keys.
        let mut exprs: Vec<Expr> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if matches!(a.kind, ExprKind::Star) {
                if !def.star {
                    return Err(self.error(format!("{}(): '*' is not allowed here", def.name)));
                }
                let first = exprs.first().and_then(expr_name);
                for c in &input {
                    let taken = exclude.contains(&c.name)
                        || first.as_deref() == Some(c.name.as_str()) && i > 0
                        || c.name == INGESTION_TIME_COLUMN;
                    if !taken {
                        exprs.push(Expr::new(ExprKind::Name(c.name.clone()), a.pos));
                    }
                }
            } else {
                exprs.push(a.clone());
            }
        }
        if !def.takes(exprs.len()) {
            return Err(self.error(format!(
                "{}(): wrong number of arguments ({})",
                def.name,
                exprs.len()
            )));
        }
        let mut bound = Vec::new();
        for (i, e) in exprs.iter().enumerate() {
            let b = inner.bind(e)?;
            if !def.accepts(i, b.ty) {
                return Err(self.error(format!(
                    "{}(): argument #{} of type {} is not accepted",
                    def.name,
                    i + 1,
                    b.ty
                )));
            }
            if def.constant.contains(&i) && b.as_const().is_none() {
                return Err(self.error(format!(
                    "{}(): argument #{} must be a constant",
                    def.name,
                    i + 1
                )));
            }
            bound.push(b);
        }
        let setup = AggSetup {
            types: bound.iter().map(|b| b.ty).collect(),
            names: exprs
                .iter()
                .map(|e| expr_name(e).unwrap_or_default())
                .collect(),
            consts: bound.iter().map(|b| b.as_const().cloned()).collect(),
        };
        let outputs =
            (def.outputs)(&setup).map_err(|m| self.error(format!("{}(): {m}", def.name)))?;
        let mut c = collector.borrow_mut();
        let index = c.width();
        let ty = outputs.first().map_or(KustoType::Long, |o| o.1);
        c.calls.push(AggCall {
            def,
            args: bound,
            setup,
            outputs,
        });
        Ok(Bound::new(BoundKind::Column(index), ty))
    }
}
