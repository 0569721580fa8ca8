//! The row-wise operators: `where`, `take`/`limit`, `count`, `project`, `extend` (and
//! `serialize`), `project-away`, `project-keep`, `project-rename`, `project-reorder`,
//! `distinct`, `order by`/`sort by`, `top`, `sample`, `sample-distinct`, `getschema`,
//! `invoke`, `consume`.

use std::collections::HashSet;
use std::sync::Arc;

use rand::seq::IndexedRandom as _;

use super::{OpCx, bind_keys, eval_rows, sort_rows};
use crate::faults::glob_match;
use crate::kql::ast::{Expr, ExprKind, NamedExpr, Operator, SortKey};
use crate::kql::binder::multi::ItemOp;
use crate::kql::binder::names::{expr_name, next_column_name};
use crate::kql::binder::{Bound, Cx};
use crate::kql::eval::Table;
use crate::kql::scalar::key_text;
use crate::kql::{INGESTION_TIME_COLUMN, KqlError};
use crate::store::{Column, Row};
use crate::value::{KustoType, Value};

pub(super) fn filter(cx: &OpCx<'_, '_>, input: Table, e: &Expr) -> Result<Table, KqlError> {
    let b = cx.binder(&input.columns).bind(e)?;
    if !matches!(b.ty, KustoType::Bool | KustoType::Dynamic) {
        return Err(cx.error("the predicate must be a boolean expression"));
    }
    let keep = eval_rows(&b, &input.rows, cx.env());
    if keep.iter().all(|v| matches!(v, Value::Bool(true))) {
        return Ok(input);
    }
    let rows: Vec<Row> = input
        .rows
        .iter()
        .zip(keep)
        .filter(|(_, k)| {
            matches!(k, Value::Bool(true))
                || matches!(k, Value::Dynamic(serde_json::Value::Bool(true)))
        })
        .map(|(r, _)| r.clone())
        .collect();
    Ok(Table {
        rows: Arc::new(rows),
        ..input
    })
}

/// The non-negative row count of `take`, `top`, `sample`.
pub(super) fn row_count(cx: &OpCx<'_, '_>, e: &Expr) -> Result<usize, KqlError> {
    let (v, _) = cx.binder(&[]).constant(e)?;
    let n = match crate::kql::scalar::undynamic(&v) {
        Value::Long(l) => l,
        Value::Int(i) => i64::from(i),
        Value::Real(r) if r.is_finite() => r as i64,
        Value::String(s) => crate::parse_value::parse_integer(&s).unwrap_or(-1),
        _ => -1,
    };
    if n < 0 {
        return Err(cx.error("the row count must be a non-negative integer"));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) fn take(cx: &OpCx<'_, '_>, mut input: Table, e: &Expr) -> Result<Table, KqlError> {
    let n = row_count(cx, e)?;
    if n < input.rows.len() {
        input.rows = Arc::new(input.rows.iter().take(n).cloned().collect());
    }
    Ok(input)
}

pub(super) fn count(input: Table, alias: Option<&str>) -> Table {
    let n = i64::try_from(input.rows.len()).unwrap_or(i64::MAX);
    Table::new(
        vec![Column::new(alias.unwrap_or("Count"), KustoType::Long)],
        vec![vec![Value::Long(n)]],
    )
}

fn visible_names(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| c.name.clone()).collect()
}

pub(super) fn project(
    cx: &OpCx<'_, '_>,
    input: Table,
    items: &[NamedExpr],
) -> Result<Table, KqlError> {
    let binder = cx.binder(&input.columns);
    let mut columns: Vec<Column> = Vec::new();
    let mut bound: Vec<Bound> = Vec::new();
    for item in items {
        for (name, b) in binder.item_columns(item, ItemOp::Project)? {
            let taken = visible_names(&columns);
            let name = name.unwrap_or_else(|| next_column_name(&taken));
            if taken.contains(&name) {
                return Err(cx.error(format!("a column named '{name}' is projected twice")));
            }
            columns.push(Column::new(name, b.ty));
            bound.push(b);
        }
    }
    let rows: Vec<Row> = (0..input.rows.len())
        .map(|i| {
            let c = Cx::at(&input.rows, i, cx.env());
            bound.iter().map(|b| b.eval(&c)).collect()
        })
        .collect();
    Ok(Table {
        columns,
        rows: Arc::new(rows),
        name: input.name,
        source: input.source,
    })
}

/// `extend`: each item, in order, adds a column or replaces the one of the same name (later
/// items see the columns of earlier ones).
pub(super) fn extend(
    cx: &OpCx<'_, '_>,
    input: Table,
    items: &[NamedExpr],
) -> Result<Table, KqlError> {
    let mut columns = input.columns;
    let mut rows = Arc::unwrap_or_clone(input.rows);
    for item in items {
        let binder = cx.binder(&columns);
        let mut added = Vec::new();
        for (name, b) in binder.item_columns(item, ItemOp::Extend)? {
            let name = name.unwrap_or_else(|| next_column_name(&visible_names(&columns)));
            if name == INGESTION_TIME_COLUMN {
                return Err(binder.unresolved(&name));
            }
            added.push((name, eval_rows(&b, &rows, cx.env()), b.ty));
        }
        for (name, values, ty) in added {
            let column = Column::new(name, ty);
            match columns.iter().position(|c| c.name == column.name) {
                Some(i) => {
                    columns[i] = column;
                    for (row, v) in rows.iter_mut().zip(values) {
                        if let Some(slot) = row.get_mut(i) {
                            *slot = v;
                        }
                    }
                }
                None => {
                    columns.push(column);
                    for (row, v) in rows.iter_mut().zip(values) {
                        row.push(v);
                    }
                }
            }
        }
    }
    Ok(Table {
        columns,
        rows: Arc::new(rows),
        name: input.name,
        source: input.source,
    })
}

/// Keeps the columns at `indexes`, in that order.
pub(super) fn select(input: Table, indexes: &[usize]) -> Table {
    let columns = indexes.iter().map(|&i| input.columns[i].clone()).collect();
    let rows = input
        .rows
        .iter()
        .map(|r| {
            indexes
                .iter()
                .map(|&i| r.get(i).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    Table {
        columns,
        rows: Arc::new(rows),
        name: input.name,
        source: input.source,
    }
}

/// The indexes of the visible columns matching a name or `*` pattern; a plain name must exist.
fn matching(cx: &OpCx<'_, '_>, columns: &[Column], pattern: &str) -> Result<Vec<usize>, KqlError> {
    if pattern.contains('*') {
        return Ok((0..columns.len())
            .filter(|&i| {
                columns[i].name != INGESTION_TIME_COLUMN && glob_match(pattern, &columns[i].name)
            })
            .collect());
    }
    match columns
        .iter()
        .position(|c| c.name == pattern && pattern != INGESTION_TIME_COLUMN)
    {
        Some(i) => Ok(vec![i]),
        None => Err(cx.binder(columns).unresolved(pattern)),
    }
}

pub(super) fn project_away(
    cx: &OpCx<'_, '_>,
    input: Table,
    patterns: &[String],
) -> Result<Table, KqlError> {
    let mut remove = HashSet::new();
    for p in patterns {
        remove.extend(matching(cx, &input.columns, p)?);
    }
    let keep: Vec<usize> = (0..input.columns.len())
        .filter(|i| !remove.contains(i))
        .collect();
    Ok(select(input, &keep))
}

pub(super) fn project_keep(
    cx: &OpCx<'_, '_>,
    input: Table,
    patterns: &[String],
) -> Result<Table, KqlError> {
    let mut keep_set = HashSet::new();
    for p in patterns {
        keep_set.extend(matching(cx, &input.columns, p)?);
    }
    let keep: Vec<usize> = (0..input.columns.len())
        .filter(|i| keep_set.contains(i) || input.columns[*i].name == INGESTION_TIME_COLUMN)
        .collect();
    Ok(select(input, &keep))
}

pub(super) fn project_rename(
    cx: &OpCx<'_, '_>,
    mut input: Table,
    pairs: &[(String, String)],
) -> Result<Table, KqlError> {
    for (new, old) in pairs {
        let i = matching(cx, &input.columns, old)?
            .first()
            .copied()
            .ok_or_else(|| cx.binder(&input.columns).unresolved(old))?;
        if new == INGESTION_TIME_COLUMN
            || input
                .columns
                .iter()
                .enumerate()
                .any(|(j, c)| j != i && c.name == *new)
        {
            return Err(cx.error(format!("a column named '{new}' already exists")));
        }
        input.columns[i].name.clone_from(new);
    }
    Ok(input)
}

pub(super) fn project_reorder(
    cx: &OpCx<'_, '_>,
    input: Table,
    items: &[(String, Option<bool>)],
) -> Result<Table, KqlError> {
    let mut order: Vec<usize> = Vec::new();
    for (pattern, sort) in items {
        let mut found = matching(cx, &input.columns, pattern)?;
        if let Some(desc) = sort {
            found.sort_by(|&a, &b| input.columns[a].name.cmp(&input.columns[b].name));
            if *desc {
                found.reverse();
            }
        }
        for i in found {
            if !order.contains(&i) {
                order.push(i);
            }
        }
    }
    for i in 0..input.columns.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    Ok(select(input, &order))
}

pub(super) fn distinct(cx: &OpCx<'_, '_>, input: Table, items: &[Expr]) -> Result<Table, KqlError> {
    let (columns, bound): (Vec<Column>, Vec<Bound>) = if items.is_empty() {
        input
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name != INGESTION_TIME_COLUMN)
            .map(|(i, c)| {
                (
                    c.clone(),
                    Bound::new(crate::kql::binder::BoundKind::Column(i), c.ty),
                )
            })
            .unzip()
    } else {
        let binder = cx.binder(&input.columns);
        let mut columns: Vec<Column> = Vec::new();
        let mut bound = Vec::new();
        for e in items {
            let b = binder.bind(e)?;
            let name = expr_name(e).unwrap_or_else(|| next_column_name(&visible_names(&columns)));
            columns.push(Column::new(name, b.ty));
            bound.push(b);
        }
        (columns, bound)
    };
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for i in 0..input.rows.len() {
        let c = Cx::at(&input.rows, i, cx.env());
        let row: Row = bound.iter().map(|b| b.eval(&c)).collect();
        let mut key = String::new();
        key_text(&row, &mut key);
        if seen.insert(key) {
            rows.push(row);
        }
    }
    Ok(Table::new(columns, rows))
}

pub(super) fn order(cx: &OpCx<'_, '_>, input: Table, keys: &[SortKey]) -> Result<Table, KqlError> {
    let bound = bind_keys(&cx.binder(&input.columns), keys)?;
    let rows = sort_rows(Arc::unwrap_or_clone(input.rows), &bound, cx.env());
    Ok(Table {
        rows: Arc::new(rows),
        columns: input.columns,
        name: input.name,
        source: input.source,
    })
}

pub(super) fn top(
    cx: &OpCx<'_, '_>,
    input: Table,
    count: &Expr,
    keys: &[SortKey],
) -> Result<Table, KqlError> {
    let n = row_count(cx, count)?;
    let mut t = order(cx, input, keys)?;
    if n < t.rows.len() {
        Arc::make_mut(&mut t.rows).truncate(n);
    }
    Ok(t)
}

pub(super) fn sample(cx: &OpCx<'_, '_>, input: Table, n: &Expr) -> Result<Table, KqlError> {
    let n = row_count(cx, n)?;
    if n >= input.rows.len() {
        return Ok(input);
    }
    let indexes: Vec<usize> = (0..input.rows.len()).collect();
    let mut picked: Vec<usize> = indexes.sample(&mut rand::rng(), n).copied().collect();
    picked.sort_unstable();
    let rows = picked.iter().map(|&i| input.rows[i].clone()).collect();
    Ok(Table {
        rows: Arc::new(rows),
        ..input
    })
}

pub(super) fn sample_distinct(
    cx: &OpCx<'_, '_>,
    input: Table,
    count: &Expr,
    column: &Expr,
) -> Result<Table, KqlError> {
    let n = row_count(cx, count)?;
    let t = distinct(cx, input, std::slice::from_ref(column))?;
    if n >= t.rows.len() {
        return Ok(t);
    }
    let picked: Vec<Row> = t.rows.sample(&mut rand::rng(), n).cloned().collect();
    Ok(Table::new(t.columns, picked))
}

pub(super) fn getschema(input: Table) -> Table {
    let rows = input
        .columns
        .iter()
        .filter(|c| c.name != INGESTION_TIME_COLUMN)
        .enumerate()
        .map(|(i, c)| {
            vec![
                Value::String(c.name.clone()),
                Value::Int(i32::try_from(i).unwrap_or(i32::MAX)),
                Value::String(c.ty.clr_type().to_string()),
                Value::String(c.ty.name().to_string()),
            ]
        })
        .collect();
    Table::new(
        vec![
            Column::new("ColumnName", KustoType::String),
            Column::new("ColumnOrdinal", KustoType::Int),
            Column::new("DataType", KustoType::String),
            Column::new("ColumnType", KustoType::String),
        ],
        rows,
    )
}

pub(super) fn invoke(cx: &OpCx<'_, '_>, input: Table, call: &Expr) -> Result<Table, KqlError> {
    match &call.kind {
        ExprKind::Call(name, args) => cx.eng.tabular_call(name, args, cx.scope, Some(input)),
        ExprKind::Name(name) => cx.eng.tabular_call(name, &[], cx.scope, Some(input)),
        _ => Err(cx.error("expects a function call")),
    }
}

/// `consume` (and `render`, which only sets the visualization): `consume` drops the rows.
pub(super) fn consume(op: &Operator, input: Table) -> Table {
    if op.name == "render" {
        return input;
    }
    Table::new(Vec::new(), Vec::new())
}
