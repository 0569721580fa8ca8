//! `make-series`: per group, one array per aggregate over the bins of an axis (`from`/`to`
//! with an exclusive end, or `in range(start, stop, step)` with an inclusive stop; without
//! them, from the bin of the smallest value to the bin of the largest), empty bins holding the
//! `default` (0 when none is given), and the axis itself as an array.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::OpCx;
use super::summarize::{AggPlan, Item, bind_items};
use crate::kql::KqlError;
use crate::kql::aggregates::Accumulator;
use crate::kql::ast::{NamedExpr, OpKind};
use crate::kql::binder::Cx;
use crate::kql::binder::names::{expr_name, next_column_name, unique};
use crate::kql::eval::Table;
use crate::kql::scalar::{as_f64, convert, key_text};
use crate::store::{Column, Row};
use crate::value::{KustoType, Value};

/// The most bins a series may have.
const MAX_BINS: usize = 1_000_000;

/// A position on the axis as a number (ticks for datetimes and timespans).
fn axis_number(v: &Value) -> Option<f64> {
    match v {
        Value::DateTime(t) | Value::TimeSpan(t) => Some(*t as f64),
        other => as_f64(other),
    }
}

fn axis_value(x: f64, ty: KustoType) -> Value {
    match ty {
        KustoType::DateTime => Value::DateTime(x as i64),
        KustoType::TimeSpan => Value::TimeSpan(x as i64),
        KustoType::Int | KustoType::Long => Value::Long(x as i64),
        _ => Value::Real(x),
    }
}

pub(super) fn make_series(cx: &OpCx<'_, '_>, input: Table, op: &OpKind) -> Result<Table, KqlError> {
    let OpKind::MakeSeries {
        aggregates,
        on,
        from,
        to,
        step,
        by,
        in_range,
    } = op
    else {
        return Err(cx.error("internal: not make-series"));
    };
    let binder = cx.binder(&input.columns);
    let axis = binder.bind(on)?;
    let axis_ty = axis.ty;
    let number = |e: &crate::kql::ast::Expr| -> Result<f64, KqlError> {
        let (v, _) = binder.constant(e)?;
        axis_number(&v)
            .ok_or_else(|| cx.error("from, to and step must be constants of the axis's type"))
    };
    let step = number(step)?;
    if step.is_nan() || step <= 0.0 {
        return Err(cx.error("the step must be positive"));
    }
    let from = from.as_ref().map(number).transpose()?;
    let to = to.as_ref().map(number).transpose()?;
    let env = cx.env();
    let rows = &input.rows;
    let positions: Vec<Option<f64>> = (0..rows.len())
        .map(|i| axis_number(&axis.eval(&Cx::at(rows, i, env))))
        .collect();
    let present = positions.iter().flatten();
    let min = present.clone().copied().fold(f64::INFINITY, f64::min);
    let max = present.copied().fold(f64::NEG_INFINITY, f64::max);
    let start = from.unwrap_or_else(|| (min / step).floor() * step);
    let bins = match (to, *in_range) {
        (Some(stop), true) => ((stop - start) / step).floor() + 1.0,
        (Some(end), false) => ((end - start) / step).ceil(),
        (None, _) if max.is_finite() => ((max - start) / step).floor() + 1.0,
        (None, _) => 0.0,
    };
    if !bins.is_finite() || bins > MAX_BINS as f64 {
        return Err(cx.error(format!("the series would have more than {MAX_BINS} bins")));
    }
    let bins = if bins > 0.0 { bins as usize } else { 0 };
    // Group keys.
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
    let items: Vec<NamedExpr> = aggregates.iter().map(|(n, _)| n.clone()).collect();
    let (plan, columns, bound_items) = bind_items(cx, &input.columns, &[], &items)?;
    let mut slots = Vec::new();
    for item in &bound_items {
        match item {
            Item::Direct(s) if s.len() == 1 => slots.push(s[0]),
            _ => return Err(cx.error("each series must be one aggregation function call")),
        }
    }
    let mut defaults = Vec::new();
    for ((_, default), col) in aggregates.iter().zip(&columns) {
        let v = match default {
            Some(d) => binder.constant(d)?.0,
            None => Value::Long(0),
        };
        defaults.push(convert(&v, col.ty));
    }
    type Bins = Vec<Option<Vec<Box<dyn Accumulator>>>>;
    let mut groups: Vec<(Row, Bins)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, pos) in positions.iter().enumerate() {
        let c = Cx::at(rows, i, env);
        let key: Row = key_bounds.iter().map(|b| b.eval(&c)).collect();
        let mut text = String::new();
        key_text(&key, &mut text);
        let g = *index.entry(text).or_insert_with(|| {
            groups.push((key, (0..bins).map(|_| None).collect()));
            groups.len() - 1
        });
        let Some(p) = pos else { continue };
        let bin = ((p - start) / step).floor();
        if bin < 0.0 || bin >= bins as f64 {
            continue;
        }
        let accs = groups[g].1[bin as usize].get_or_insert_with(|| plan.accumulators());
        plan.add(accs, rows, i, env);
    }
    if groups.is_empty() && by.is_empty() && (from.is_some() || to.is_some()) {
        groups.push((Vec::new(), (0..bins).map(|_| None).collect()));
    }
    let axis_name = expr_name(on).unwrap_or_else(|| "Column1".into());
    let mut out_columns = keys;
    for c in &columns {
        let taken: Vec<String> = out_columns.iter().map(|c| c.name.clone()).collect();
        out_columns.push(Column::new(unique(&c.name, &taken), KustoType::Dynamic));
    }
    let taken: Vec<String> = out_columns.iter().map(|c| c.name.clone()).collect();
    out_columns.push(Column::new(unique(&axis_name, &taken), KustoType::Dynamic));
    let axis_json: Vec<Json> = (0..bins)
        .map(|k| axis_value(start + k as f64 * step, axis_ty).to_json())
        .collect();
    let out: Vec<Row> = groups
        .into_iter()
        .map(|(key, bins)| {
            let finished: Vec<Option<Vec<Value>>> = bins
                .iter()
                .map(|b| b.as_ref().map(|accs| AggPlan::finish(accs)))
                .collect();
            let mut row = key;
            for (a, slot) in slots.iter().enumerate() {
                let series: Vec<Json> = finished
                    .iter()
                    .map(|f| match f {
                        Some(values) => values.get(*slot).cloned().unwrap_or(Value::Null),
                        None => defaults[a].clone(),
                    })
                    .map(|v| v.to_json())
                    .collect();
                row.push(Value::Dynamic(Json::Array(series)));
            }
            row.push(Value::Dynamic(Json::Array(axis_json.clone())));
            row
        })
        .collect();
    Ok(Table::new(out_columns, out))
}
