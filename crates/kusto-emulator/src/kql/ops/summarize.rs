//! `summarize` (groups by keys, aggregates per group, in the order groups first appear) and
//! `top-nested` (hierarchical top groups), on the aggregate registry.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{OpCx, key_order};
use crate::kql::KqlError;
use crate::kql::aggregates::{Accumulator, aggregates};
use crate::kql::ast::{ExprKind, NamedExpr, TopNestedLevel};
use crate::kql::binder::names::{expr_name, next_column_name, unique};
use crate::kql::binder::{AggCall, AggCollector, Binder, Bound, Cx};
use crate::kql::eval::Table;
use crate::kql::functions::Env;
use crate::kql::scalar::key_text;
use crate::store::{Column, Row};
use crate::value::Value;

/// The aggregate calls of an operator and how to run them over a group of rows.
pub(crate) struct AggPlan {
    pub(crate) calls: Vec<AggCall>,
}

impl AggPlan {
    pub(crate) fn accumulators(&self) -> Vec<Box<dyn Accumulator>> {
        self.calls.iter().map(|c| (c.def.new)(&c.setup)).collect()
    }

    /// Adds row `i` of `rows` to the group's accumulators.
    pub(crate) fn add(&self, accs: &mut [Box<dyn Accumulator>], rows: &[Row], i: usize, env: &Env) {
        let cx = Cx::at(rows, i, env);
        for (call, acc) in self.calls.iter().zip(accs.iter_mut()) {
            let args: Vec<Value> = call.args.iter().map(|b| b.eval(&cx)).collect();
            acc.add(&args);
        }
    }

    /// Every aggregate's outputs, in order.
    pub(crate) fn finish(accs: &[Box<dyn Accumulator>]) -> Vec<Value> {
        accs.iter().flat_map(|a| a.finish()).collect()
    }
}

/// How a `summarize` item becomes output columns.
pub(super) enum Item {
    /// A direct aggregate call: these post-aggregation columns.
    Direct(Vec<usize>),
    /// An expression over the post-aggregation row.
    Expr(Bound),
}

/// Binds aggregate items over `keys` (name, type) of the post-aggregation row; the plan, the
/// output columns and how each is computed.
pub(super) fn bind_items(
    cx: &OpCx<'_, '_>,
    input: &[Column],
    keys: &[Column],
    items: &[NamedExpr],
) -> Result<(AggPlan, Vec<Column>, Vec<Item>), KqlError> {
    let collector = RefCell::new(AggCollector {
        input: input.to_vec(),
        keys: keys.len(),
        exclude: keys.iter().map(|c| c.name.clone()).collect(),
        calls: Vec::new(),
    });
    let mut binder = Binder::new(cx.eng, cx.scope, keys, cx.op);
    binder.aggs = Some(&collector);
    let mut columns: Vec<Column> = keys.to_vec();
    let mut plan_items = Vec::new();
    for item in items {
        let direct = matches!(&item.expr.kind, ExprKind::Call(f, _) if aggregates().get(f).is_some()
            && cx.scope.lookup(f).is_none());
        let before = collector.borrow().width();
        let b = binder.bind(&item.expr)?;
        let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        if direct {
            let c = collector.borrow();
            let outputs = c
                .calls
                .last()
                .map(|call| call.outputs.clone())
                .unwrap_or_default();
            let mut slots = Vec::new();
            for (k, (name, ty)) in outputs.into_iter().enumerate() {
                let name = item.names.get(k).cloned().unwrap_or(name);
                let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
                columns.push(Column::new(unique(&name, &taken), ty));
                slots.push(before + k);
            }
            plan_items.push(Item::Direct(slots));
        } else {
            let name = item
                .names
                .first()
                .cloned()
                .or_else(|| expr_name(&item.expr))
                .unwrap_or_else(|| next_column_name(&taken));
            columns.push(Column::new(unique(&name, &taken), b.ty));
            plan_items.push(Item::Expr(b));
        }
    }
    let calls = collector.into_inner().calls;
    Ok((AggPlan { calls }, columns, plan_items))
}

pub(super) fn summarize(
    cx: &OpCx<'_, '_>,
    input: Table,
    aggs: &[NamedExpr],
    by: &[NamedExpr],
) -> Result<Table, KqlError> {
    let binder = cx.binder(&input.columns);
    let mut keys: Vec<Column> = Vec::new();
    let mut key_bounds = Vec::new();
    for item in by {
        let b = binder.bind(&item.expr)?;
        let taken: Vec<String> = keys.iter().map(|c| c.name.clone()).collect();
        let name = item
            .names
            .first()
            .cloned()
            .or_else(|| expr_name(&item.expr))
            .unwrap_or_else(|| next_column_name(&taken));
        keys.push(Column::new(unique(&name, &taken), b.ty));
        key_bounds.push(b);
    }
    let (plan, columns, items) = bind_items(cx, &input.columns, &keys, aggs)?;
    let env = cx.env();
    let rows = &input.rows;
    let mut groups: Vec<(Row, Vec<Box<dyn Accumulator>>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut text = String::new();
    for i in 0..rows.len() {
        let c = Cx::at(rows, i, env);
        let key: Row = key_bounds.iter().map(|b| b.eval(&c)).collect();
        text.clear();
        key_text(&key, &mut text);
        let g = match index.get(&text) {
            Some(&g) => g,
            None => {
                index.insert(text.clone(), groups.len());
                groups.push((key, plan.accumulators()));
                groups.len() - 1
            }
        };
        plan.add(&mut groups[g].1, rows, i, env);
    }
    if groups.is_empty() && key_bounds.is_empty() {
        groups.push((Vec::new(), plan.accumulators()));
    }
    let out: Vec<Row> = groups
        .into_iter()
        .map(|(key, accs)| {
            let mut post = key.clone();
            post.extend(AggPlan::finish(&accs));
            let mut row = key;
            for item in &items {
                match item {
                    Item::Direct(slots) => row.extend(
                        slots
                            .iter()
                            .map(|&s| post.get(s).cloned().unwrap_or(Value::Null)),
                    ),
                    Item::Expr(b) => row.push(b.eval(&Cx {
                        row: &post,
                        rows: &[],
                        index: 0,
                        env,
                    })),
                }
            }
            row
        })
        .collect();
    Ok(Table::new(columns, out))
}

/// One bound level of `top-nested`.
struct Level {
    count: Option<usize>,
    of: Bound,
    others: Option<Value>,
    plan: AggPlan,
    agg: Bound,
    descending: bool,
}

pub(super) fn top_nested(
    cx: &OpCx<'_, '_>,
    input: Table,
    levels: &[TopNestedLevel],
) -> Result<Table, KqlError> {
    let binder = cx.binder(&input.columns);
    let mut columns: Vec<Column> = Vec::new();
    let mut bound = Vec::new();
    for level in levels {
        let count = match &level.count {
            Some(e) => Some(super::basic::row_count(cx, e)?),
            None => None,
        };
        let of = binder.bind(&level.of.expr)?;
        let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let of_name = level
            .of
            .names
            .first()
            .cloned()
            .or_else(|| expr_name(&level.of.expr))
            .unwrap_or_else(|| next_column_name(&taken));
        let of_name = unique(&of_name, &taken);
        columns.push(Column::new(of_name.clone(), of.ty));
        let (plan, _, mut items) =
            bind_items(cx, &input.columns, &[], std::slice::from_ref(&level.by))?;
        let agg = match items.pop() {
            Some(Item::Expr(b)) => b,
            Some(Item::Direct(slots)) => {
                let ty = plan
                    .calls
                    .first()
                    .and_then(|c| c.outputs.first())
                    .map_or(crate::value::KustoType::Long, |o| o.1);
                Bound::new(
                    crate::kql::binder::BoundKind::Column(slots.first().copied().unwrap_or(0)),
                    ty,
                )
            }
            None => return Err(cx.error("each level needs an aggregation after 'by'")),
        };
        let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let agg_name = level
            .by
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| format!("aggregated_{of_name}"));
        columns.push(Column::new(unique(&agg_name, &taken), agg.ty));
        let others = match &level.others {
            Some(e) => Some(binder.constant(e)?.0),
            None => None,
        };
        bound.push(Level {
            count,
            of,
            others,
            plan,
            agg,
            descending: level.descending,
        });
    }
    let all: Vec<usize> = (0..input.rows.len()).collect();
    let rows = nest(&bound, &input.rows, &all, cx.env());
    Ok(Table::new(columns, rows))
}

/// The rows of `top-nested` from `level` down, for the input rows `members`.
fn nest(levels: &[Level], rows: &[Row], members: &[usize], env: &Env) -> Vec<Row> {
    let Some((level, deeper)) = levels.split_first() else {
        return vec![Vec::new()];
    };
    let mut groups: Vec<(Value, Vec<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for &i in members {
        let v = level.of.eval(&Cx::at(rows, i, env));
        let mut key = String::new();
        key_text(std::slice::from_ref(&v), &mut key);
        match index.get(&key) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(key, groups.len());
                groups.push((v, vec![i]));
            }
        }
    }
    let aggregate = |members: &[usize]| -> Value {
        let mut accs = level.plan.accumulators();
        for &i in members {
            level.plan.add(&mut accs, rows, i, env);
        }
        let post = AggPlan::finish(&accs);
        level.agg.eval(&Cx {
            row: &post,
            rows: &[],
            index: 0,
            env,
        })
    };
    let mut scored: Vec<(Value, Value, Vec<usize>)> = groups
        .into_iter()
        .map(|(v, m)| (aggregate(&m), v, m))
        .collect();
    scored.sort_by(|a, b| key_order(&a.0, &b.0, level.descending, !level.descending));
    let keep = level.count.unwrap_or(usize::MAX).min(scored.len());
    let rest: Vec<usize> = scored[keep..].iter().flat_map(|s| s.2.clone()).collect();
    let mut out = Vec::new();
    for (agg, v, m) in scored.into_iter().take(keep) {
        for sub in nest(deeper, rows, &m, env) {
            let mut row = vec![v.clone(), agg.clone()];
            row.extend(sub);
            out.push(row);
        }
    }
    if let Some(others) = &level.others
        && !rest.is_empty()
    {
        let mut row = vec![others.clone(), aggregate(&rest)];
        row.extend(std::iter::repeat_n(Value::Null, deeper.len() * 2));
        out.push(row);
    }
    out
}
