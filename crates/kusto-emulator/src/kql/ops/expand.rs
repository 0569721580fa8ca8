//! `mv-expand` (arrays and property bags into rows, several in parallel, `to typeof()`,
//! `with_itemindex`, `limit`, `kind=bag|array`) and `mv-apply` (a subquery over each row's
//! expanded rows).
//!
//! For each row and expanded value: a null gives one row (null), an empty array or bag gives
//! none, an array one row per element, a bag one row per property (`{"k": v}`, or `["k", v]`
//! with `kind=array`); values expanded together are padded with nulls.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::OpCx;
use crate::kql::KqlError;
use crate::kql::ast::{ExpandItem, Expr, Operator};
use crate::kql::binder::names::{expr_name, next_column_name};
use crate::kql::binder::{Bound, Cx};
use crate::kql::eval::Table;
use crate::kql::scalar::{convert, undynamic};
use crate::store::{Column, Row};
use crate::value::{KustoType, Value};

/// A bound expansion: where its values go and their type.
struct Target {
    bound: Bound,
    slot: usize,
    to: Option<KustoType>,
}

/// The output columns and the bound targets of the items over `columns`.
fn plan(
    cx: &OpCx<'_, '_>,
    columns: &[Column],
    items: &[ExpandItem],
    item_index: Option<&str>,
) -> Result<(Vec<Column>, Vec<Target>), KqlError> {
    let binder = cx.binder(columns);
    let mut out = columns.to_vec();
    let mut targets = Vec::new();
    for item in items {
        let bound = binder.bind(&item.expr)?;
        let taken: Vec<String> = out.iter().map(|c| c.name.clone()).collect();
        let name = item
            .name
            .clone()
            .or_else(|| expr_name(&item.expr))
            .unwrap_or_else(|| next_column_name(&taken));
        let ty = item.to_type.unwrap_or(KustoType::Dynamic);
        let slot = match out.iter().position(|c| c.name == name) {
            Some(i) => {
                out[i] = Column::new(name, ty);
                i
            }
            None => {
                out.push(Column::new(name, ty));
                out.len() - 1
            }
        };
        targets.push(Target {
            bound,
            slot,
            to: item.to_type,
        });
    }
    if let Some(index) = item_index {
        out.push(Column::new(index, KustoType::Long));
    }
    Ok((out, targets))
}

/// The values one expanded value gives.
fn elements(v: &Value, bags_as_arrays: bool) -> Vec<Value> {
    match v {
        Value::Null | Value::Dynamic(Json::Null) => vec![Value::Null],
        Value::Dynamic(Json::Array(items)) => items.iter().cloned().map(Value::Dynamic).collect(),
        Value::Dynamic(Json::Object(map)) => map
            .iter()
            .map(|(k, val)| {
                if bags_as_arrays {
                    Value::Dynamic(Json::Array(vec![Json::String(k.clone()), val.clone()]))
                } else {
                    let mut one = Map::new();
                    one.insert(k.clone(), val.clone());
                    Value::Dynamic(Json::Object(one))
                }
            })
            .collect(),
        other => vec![other.clone()],
    }
}

/// `to typeof(t)`: a cast, not a parse: an element of another type is null (strings still give
/// datetimes, timespans and guids, which a dynamic value holds as strings here).
fn cast(v: Value, ty: KustoType) -> Value {
    let plain = undynamic(&v);
    let fits = match (&plain, ty) {
        (Value::Null, _) => return Value::Null,
        (_, KustoType::Dynamic) => return v,
        (
            Value::Long(_),
            KustoType::Long | KustoType::Int | KustoType::Real | KustoType::Decimal,
        ) => true,
        (Value::Real(_), KustoType::Real | KustoType::Decimal) => true,
        (
            Value::String(_),
            KustoType::String | KustoType::DateTime | KustoType::TimeSpan | KustoType::Guid,
        ) => true,
        (Value::Bool(_), KustoType::Bool) => true,
        (other, t) => other.kusto_type() == Some(t),
    };
    if fits {
        convert(&plain, ty)
    } else {
        Value::Null
    }
}

/// How many values (row cells, JSON nodes, 8-byte pieces of strings) one mv-expand or
/// mv-apply may produce in all. Kusto stops an operator that exceeds its memory budget (a
/// "runaway query", limit `maxmemoryconsumptionperiterator`); the emulator counts
/// values instead of bytes so that an expansion whose output would not fit in memory fails
/// with a typed error before it is built.
const EXPANSION_BUDGET: usize = 1 << 27;

/// The size of `v` in budget units: 1 for a scalar, plus one per JSON node and per 8 bytes of
/// a string.
fn weight(v: &Value) -> usize {
    fn json(j: &Json) -> usize {
        match j {
            Json::Array(items) => items.iter().map(json).fold(1, usize::saturating_add),
            Json::Object(map) => map
                .iter()
                .map(|(k, v)| json(v).saturating_add(k.len() / 8))
                .fold(1, usize::saturating_add),
            Json::String(s) => 1 + s.len() / 8,
            _ => 1,
        }
    }
    match v {
        Value::String(s) => 1 + s.len() / 8,
        Value::Dynamic(j) => json(j),
        _ => 1,
    }
}

/// The error of an expansion whose output exceeds [`EXPANSION_BUDGET`].
fn over_budget(cx: &OpCx<'_, '_>) -> KqlError {
    cx.error(format!(
        "the operator has exceeded the memory budget during evaluation (its output would hold \
         more than {EXPANSION_BUDGET} values)"
    ))
}

/// How rows expand: the bound items, the output width and the options.
struct Expansion<'t> {
    targets: &'t [Target],
    width: usize,
    item_index: bool,
    limit: usize,
    bags_as_arrays: bool,
}

impl Expansion<'_> {
    /// The rows one input row expands to; `spent` is the budget used so far (all rows).
    fn row(
        &self,
        cx: &OpCx<'_, '_>,
        rows: &[Row],
        i: usize,
        spent: &mut usize,
    ) -> Result<Vec<Row>, KqlError> {
        let c = Cx::at(rows, i, cx.env());
        let values: Vec<Vec<Value>> = self
            .targets
            .iter()
            .map(|t| elements(&t.bound.eval(&c), self.bags_as_arrays))
            .collect();
        let n = values
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .min(self.limit);
        let mut base = rows.get(i).cloned().unwrap_or_default();
        base.resize(self.width - usize::from(self.item_index), Value::Null);
        // The expanded slots are overwritten in every output row: the copy of the input row
        // must not carry the whole expanded array into each of them (which made expanding an
        // array of n elements take n * n steps).
        for t in self.targets {
            if let Some(slot) = base.get_mut(t.slot) {
                *slot = Value::Null;
            }
        }
        let carried = base.iter().map(weight).fold(1, usize::saturating_add);
        let produced: usize = values
            .iter()
            .flat_map(|vals| vals.iter().take(n))
            .map(weight)
            .fold(0, usize::saturating_add);
        *spent = spent
            .saturating_add(carried.saturating_mul(n))
            .saturating_add(produced);
        if *spent > EXPANSION_BUDGET {
            return Err(over_budget(cx));
        }
        Ok((0..n)
            .map(|k| {
                let mut row = base.clone();
                for (t, vals) in self.targets.iter().zip(&values) {
                    let v = vals.get(k).cloned().unwrap_or(Value::Null);
                    let v = match t.to {
                        Some(ty) => cast(v, ty),
                        None => match v {
                            Value::Dynamic(_) | Value::Null => v,
                            other => Value::Dynamic(other.to_json()),
                        },
                    };
                    if let Some(slot) = row.get_mut(t.slot) {
                        *slot = v;
                    }
                }
                if self.item_index {
                    row.push(Value::Long(i64::try_from(k).unwrap_or(i64::MAX)));
                }
                row
            })
            .collect())
    }
}

fn row_limit(cx: &OpCx<'_, '_>, limit: Option<&Expr>) -> Result<usize, KqlError> {
    match limit {
        Some(e) => super::basic::row_count(cx, e),
        None => Ok(usize::MAX),
    }
}

pub(super) fn mv_expand(
    cx: &OpCx<'_, '_>,
    input: Table,
    items: &[ExpandItem],
    item_index: Option<&str>,
    limit: Option<&Expr>,
    bags_as_arrays: bool,
) -> Result<Table, KqlError> {
    let limit = row_limit(cx, limit)?;
    let (columns, targets) = plan(cx, &input.columns, items, item_index)?;
    let x = Expansion {
        targets: &targets,
        width: columns.len(),
        item_index: item_index.is_some(),
        limit,
        bags_as_arrays,
    };
    let mut rows = Vec::new();
    let mut spent = 0;
    for i in 0..input.rows.len() {
        rows.extend(x.row(cx, &input.rows, i, &mut spent)?);
    }
    Ok(Table {
        columns,
        rows: Arc::new(rows),
        name: input.name,
        source: input.source,
    })
}

pub(super) fn mv_apply(
    cx: &OpCx<'_, '_>,
    input: Table,
    items: &[ExpandItem],
    item_index: Option<&str>,
    limit: Option<&Expr>,
    on: &[Operator],
) -> Result<Table, KqlError> {
    let limit = row_limit(cx, limit)?;
    let (columns, targets) = plan(cx, &input.columns, items, item_index)?;
    let width = columns.len();
    // The subquery sees the expanded columns (and the item index) only.
    let mut inner: Vec<usize> = targets.iter().map(|t| t.slot).collect();
    if item_index.is_some() {
        inner.push(width - 1);
    }
    let inner_columns: Vec<Column> = inner.iter().map(|&i| columns[i].clone()).collect();
    let run = |rows: Vec<Row>| -> Result<Table, KqlError> {
        let mut t = Table::new(inner_columns.clone(), rows);
        for op in on {
            t = super::apply(cx.eng, cx.scope, t, op)?;
        }
        Ok(t)
    };
    let x = Expansion {
        targets: &targets,
        width,
        item_index: item_index.is_some(),
        limit,
        bags_as_arrays: false,
    };
    let mut results = Vec::new();
    for i in 0..input.rows.len() {
        // Each row's subquery runs on its own rows: the budget is per input row here.
        let expanded: Vec<Row> = x
            .row(cx, &input.rows, i, &mut 0)?
            .into_iter()
            .map(|r| inner.iter().map(|&k| r[k].clone()).collect())
            .collect();
        results.push(run(expanded)?);
    }
    let sub_columns = match results.first() {
        Some(t) => t.columns.clone(),
        None => run(Vec::new())?.columns,
    };
    // The input's columns (a same-named subquery column replaces one), then the new ones.
    let mut out_columns = input.columns.clone();
    let mut slots = Vec::new();
    for c in &sub_columns {
        match out_columns.iter().position(|o| o.name == c.name) {
            Some(k) => {
                out_columns[k] = c.clone();
                slots.push(k);
            }
            None => {
                out_columns.push(c.clone());
                slots.push(out_columns.len() - 1);
            }
        }
    }
    let mut out_rows = Vec::new();
    let mut spent = 0usize;
    for (i, t) in results.iter().enumerate() {
        // As in mv-expand: the slots the subquery fills are not copied from the input row.
        let mut base = input.rows[i].clone();
        base.resize(out_columns.len(), Value::Null);
        for &slot in &slots {
            base[slot] = Value::Null;
        }
        let carried = base.iter().map(weight).fold(1, usize::saturating_add);
        spent = spent.saturating_add(carried.saturating_mul(t.rows.len()));
        if spent > EXPANSION_BUDGET {
            return Err(over_budget(cx));
        }
        for sub in t.rows.iter() {
            let mut row = base.clone();
            for (slot, v) in slots.iter().zip(sub) {
                row[*slot] = v.clone();
            }
            out_rows.push(row);
        }
    }
    Ok(Table::new(out_columns, out_rows))
}
