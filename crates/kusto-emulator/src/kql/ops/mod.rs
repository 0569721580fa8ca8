//! Tabular operators, one module per family: `basic.rs` (where, take, project, extend, order,
//! top, distinct, count, serialize, sample, getschema, as, invoke, consume), `summarize.rs`
//! (summarize, top-nested), `join.rs` (join, lookup), `expand.rs` (mv-expand, mv-apply),
//! `parse.rs` (parse, parse-where, parse-kv), `series.rs` (make-series). [`apply`] dispatches.

mod basic;
mod expand;
mod join;
mod parse;
mod plugins;
mod series;
mod summarize;

use std::cmp::Ordering;

use super::KqlError;
use super::ast::{OpKind, Operator, SortKey};
use super::binder::{Binder, Bound, Cx};
use super::eval::{Engine, Scope, Table};
use super::functions::Env;
use super::scalar::compare;
use crate::store::Row;
use crate::value::Value;

/// Runs one operator on its input.
pub(crate) fn apply(
    eng: &Engine<'_>,
    scope: &Scope,
    input: Table,
    op: &Operator,
) -> Result<Table, KqlError> {
    let cx = OpCx {
        eng,
        scope,
        op: op.name,
    };
    // The source name (for `union withsource=`) carries through every operator.
    let source = input.source.clone();
    let mut out = apply_op(&cx, input, op)?;
    if out.source.is_none() {
        out.source = source;
    }
    Ok(out)
}

fn apply_op(cx: &OpCx<'_, '_>, input: Table, op: &Operator) -> Result<Table, KqlError> {
    let (eng, scope) = (cx.eng, cx.scope);
    let cx = *cx;
    match &op.kind {
        OpKind::Where(e) => basic::filter(&cx, input, e),
        OpKind::Take(e) => basic::take(&cx, input, e),
        OpKind::Count(alias) => Ok(basic::count(input, alias.as_deref())),
        OpKind::Project(items) => basic::project(&cx, input, items),
        OpKind::Extend(items) => basic::extend(&cx, input, items),
        OpKind::ProjectAway(p) => basic::project_away(&cx, input, p),
        OpKind::ProjectKeep(p) => basic::project_keep(&cx, input, p),
        OpKind::ProjectRename(p) => basic::project_rename(&cx, input, p),
        OpKind::ProjectReorder(p) => basic::project_reorder(&cx, input, p),
        OpKind::Distinct(items) => basic::distinct(&cx, input, items),
        OpKind::Order(keys) => basic::order(&cx, input, keys),
        OpKind::Top { count, keys, .. } => basic::top(&cx, input, count, keys),
        OpKind::Serialize(items) => basic::extend(&cx, input, items),
        OpKind::Sample(n) => basic::sample(&cx, input, n),
        OpKind::SampleDistinct { count, column } => {
            basic::sample_distinct(&cx, input, count, column)
        }
        OpKind::GetSchema => Ok(basic::getschema(input)),
        OpKind::As(name) => {
            let mut t = input;
            t.name = Some(name.clone());
            t.source = Some(name.clone());
            Ok(t)
        }
        OpKind::Invoke(call) => basic::invoke(&cx, input, call),
        OpKind::Consume => Ok(basic::consume(op, input)),
        OpKind::Summarize { aggregates, by } => summarize::summarize(&cx, input, aggregates, by),
        OpKind::TopNested(levels) => summarize::top_nested(&cx, input, levels),
        OpKind::Join { kind, right, on } => join::join(&cx, input, *kind, right, on),
        OpKind::Lookup {
            left_outer,
            right,
            on,
        } => join::lookup(&cx, input, *left_outer, right, on),
        OpKind::Union(spec) => {
            let name = input.source.clone().unwrap_or_else(|| "union_arg0".into());
            eng.union(spec, Some((name, input)), scope)
        }
        OpKind::MvExpand {
            items,
            item_index,
            limit,
            bagexpansion_array,
        } => expand::mv_expand(
            &cx,
            input,
            items,
            item_index.as_deref(),
            limit.as_ref(),
            *bagexpansion_array,
        ),
        OpKind::MvApply {
            items,
            item_index,
            limit,
            on,
        } => expand::mv_apply(&cx, input, items, item_index.as_deref(), limit.as_ref(), on),
        OpKind::Parse {
            kind,
            flags,
            source,
            pattern,
            filter,
        } => parse::parse(
            &cx,
            input,
            *kind,
            flags.as_deref(),
            source,
            pattern,
            *filter,
        ),
        OpKind::ParseKv { .. } => parse::parse_kv(&cx, input, &op.kind),
        OpKind::MakeSeries { .. } => series::make_series(&cx, input, &op.kind),
        OpKind::Evaluate { plugin, args } => plugins::evaluate(&cx, input, plugin, args),
    }
}

/// What an operator sees: the engine, the scope, its own name (for errors).
#[derive(Clone, Copy)]
pub(crate) struct OpCx<'e, 'a> {
    pub(crate) eng: &'e Engine<'a>,
    pub(crate) scope: &'e Scope,
    pub(crate) op: &'static str,
}

impl<'e, 'a> OpCx<'e, 'a> {
    /// A binder over `columns`.
    pub(crate) fn binder<'b>(&'b self, columns: &'b [crate::store::Column]) -> Binder<'b, 'a> {
        Binder::new(self.eng, self.scope, columns, self.op)
    }

    pub(crate) fn env(&self) -> &'e Env {
        &self.eng.env
    }

    pub(crate) fn error(&self, message: impl std::fmt::Display) -> KqlError {
        KqlError::semantic(
            super::SEM_UNSUPPORTED,
            format!("'{}' operator: {message}", self.op),
        )
    }
}

/// Evaluates a bound expression for every row, in order.
pub(crate) fn eval_rows(b: &Bound, rows: &[Row], env: &Env) -> Vec<Value> {
    (0..rows.len())
        .map(|i| b.eval(&Cx::at(rows, i, env)))
        .collect()
}

/// Sort keys bound: the expression, descending, nulls first. By default nulls come first in
/// ascending order and last in descending order.
pub(crate) fn bind_keys(
    binder: &Binder<'_, '_>,
    keys: &[SortKey],
) -> Result<Vec<(Bound, bool, bool)>, KqlError> {
    keys.iter()
        .map(|k| {
            binder
                .bind(&k.expr)
                .map(|b| (b, k.descending, k.nulls_first.unwrap_or(!k.descending)))
        })
        .collect()
}

/// Orders two values as a sort key does.
pub(crate) fn key_order(a: &Value, b: &Value, descending: bool, nulls_first: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let o = compare(a, b).unwrap_or_else(|| a.sort_cmp(b));
            if descending { o.reverse() } else { o }
        }
    }
}

/// Sorts rows by bound keys (stable).
pub(crate) fn sort_rows(rows: Vec<Row>, keys: &[(Bound, bool, bool)], env: &Env) -> Vec<Row> {
    let values: Vec<Vec<Value>> = keys
        .iter()
        .map(|(b, ..)| eval_rows(b, &rows, env))
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&x, &y| {
        for (k, (_, desc, nulls_first)) in keys.iter().enumerate() {
            let o = key_order(&values[k][x], &values[k][y], *desc, *nulls_first);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}
