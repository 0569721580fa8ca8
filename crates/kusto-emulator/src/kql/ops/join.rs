//! `join` (every kind; `innerunique`, the default, keeps the first left row of each key) and
//! `lookup` (the right table's key columns are not repeated). Keys are columns of each side:
//! `on a` (the same name on both sides), `on $left.a == $right.b`. Nulls match no key. Output
//! columns are the left ones then the right ones, a right name already taken getting a number
//! (`a1`); rows come in the order of the left rows (then unmatched right rows).

use std::collections::{HashMap, HashSet};

use super::OpCx;
use crate::kql::KqlError;
use crate::kql::ast::{Expr, ExprKind, JoinKey, JoinKind};
use crate::kql::binder::names::unique;
use crate::kql::eval::Table;
use crate::kql::scalar::{key_text, missing};
use crate::store::{Column, Row};
use crate::value::Value;

/// The column a key expression names on one side (`x`, `$left.x`, `$right.x`).
fn key_column(
    cx: &OpCx<'_, '_>,
    e: &Expr,
    side: &str,
    columns: &[Column],
) -> Result<usize, KqlError> {
    let name = match &e.kind {
        ExprKind::Name(n) => n.clone(),
        ExprKind::Member(target, n) => match &target.kind {
            ExprKind::Name(s) if s == side => n.clone(),
            ExprKind::Name(s) if s == "$left" || s == "$right" => {
                return Err(cx.error(format!(
                    "the key '{s}.{n}' is on the wrong side of the condition"
                )));
            }
            _ => return Err(cx.error("join keys must be column names")),
        },
        _ => return Err(cx.error("join keys must be column names")),
    };
    columns.iter().position(|c| c.name == name).ok_or_else(|| {
        KqlError::semantic(
            "SEM0100",
            format!(
                "'{}' operator: Failed to resolve column named '{name}' on the {} side",
                cx.op,
                if side == "$left" { "left" } else { "right" }
            ),
        )
    })
}

/// The key of a row, or `None` when a key value is null (nulls match nothing).
fn row_key(row: &Row, indexes: &[usize]) -> Option<String> {
    let values: Vec<Value> = indexes
        .iter()
        .map(|&i| match row.get(i).cloned().unwrap_or(Value::Null) {
            Value::Int(v) => Value::Long(i64::from(v)),
            v => v,
        })
        .collect();
    if values.iter().any(Value::is_null) {
        return None;
    }
    let mut key = String::new();
    key_text(&values, &mut key);
    Some(key)
}

struct Sides {
    left: Table,
    right: Table,
    left_keys: Vec<usize>,
    right_keys: Vec<usize>,
}

fn sides(
    cx: &OpCx<'_, '_>,
    mut left: Table,
    right: &Expr,
    on: &[JoinKey],
) -> Result<Sides, KqlError> {
    let mut right = cx.eng.eval_tabular(right, cx.scope)?;
    left.strip_hidden();
    right.strip_hidden();
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    for key in on {
        left_keys.push(key_column(cx, &key.left, "$left", &left.columns)?);
        right_keys.push(key_column(cx, &key.right, "$right", &right.columns)?);
    }
    Ok(Sides {
        left,
        right,
        left_keys,
        right_keys,
    })
}

/// Left columns, then the right ones (except `skip`), renamed where taken.
fn combined_columns(left: &[Column], right: &[Column], skip: &[usize]) -> Vec<Column> {
    let mut columns = left.to_vec();
    for (i, c) in right.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        columns.push(Column::new(unique(&c.name, &taken), c.ty));
    }
    columns
}

fn joined(
    left: Option<&Row>,
    right: Option<&Row>,
    left_columns: &[Column],
    right_columns: &[Column],
    right_cols: &[usize],
) -> Row {
    let mut row: Row = match left {
        Some(l) => l.clone(),
        None => left_columns.iter().map(|c| missing(c.ty)).collect(),
    };
    for &i in right_cols {
        row.push(match right {
            Some(r) => r.get(i).cloned().unwrap_or(Value::Null),
            None => missing(right_columns[i].ty),
        });
    }
    row
}

pub(super) fn join(
    cx: &OpCx<'_, '_>,
    left: Table,
    kind: JoinKind,
    right: &Expr,
    on: &[JoinKey],
) -> Result<Table, KqlError> {
    let s = sides(cx, left, right, on)?;
    let right_cols: Vec<usize> = (0..s.right.columns.len()).collect();
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, r) in s.right.rows.iter().enumerate() {
        if let Some(k) = row_key(r, &s.right_keys) {
            index.entry(k).or_default().push(j);
        }
    }
    let left_keys: Vec<Option<String>> = s
        .left
        .rows
        .iter()
        .map(|r| row_key(r, &s.left_keys))
        .collect();
    let matches = |i: usize| -> &[usize] {
        left_keys[i]
            .as_ref()
            .and_then(|k| index.get(k))
            .map_or(&[], Vec::as_slice)
    };
    let mut rows = Vec::new();
    let mut matched_right: HashSet<usize> = HashSet::new();
    let columns = match kind {
        JoinKind::LeftSemi | JoinKind::LeftAnti => {
            let want = kind == JoinKind::LeftSemi;
            for (i, l) in s.left.rows.iter().enumerate() {
                if matches(i).is_empty() != want {
                    rows.push(l.clone());
                }
            }
            s.left.columns.clone()
        }
        JoinKind::RightSemi | JoinKind::RightAnti => {
            let mut hit = HashSet::new();
            for i in 0..s.left.rows.len() {
                hit.extend(matches(i).iter().copied());
            }
            let want = kind == JoinKind::RightSemi;
            for (j, r) in s.right.rows.iter().enumerate() {
                if hit.contains(&j) == want {
                    rows.push(r.clone());
                }
            }
            s.right.columns.clone()
        }
        _ => {
            let mut seen_left: HashSet<String> = HashSet::new();
            for (i, l) in s.left.rows.iter().enumerate() {
                if kind == JoinKind::InnerUnique {
                    // One left row per key: the first.
                    match &left_keys[i] {
                        Some(k) if !seen_left.insert(k.clone()) => continue,
                        _ => {}
                    }
                }
                let m = matches(i);
                for &j in m {
                    matched_right.insert(j);
                    rows.push(joined(
                        Some(l),
                        Some(&s.right.rows[j]),
                        &s.left.columns,
                        &s.right.columns,
                        &right_cols,
                    ));
                }
                if m.is_empty() && matches!(kind, JoinKind::LeftOuter | JoinKind::FullOuter) {
                    rows.push(joined(
                        Some(l),
                        None,
                        &s.left.columns,
                        &s.right.columns,
                        &right_cols,
                    ));
                }
            }
            if matches!(kind, JoinKind::RightOuter | JoinKind::FullOuter) {
                for (j, r) in s.right.rows.iter().enumerate() {
                    if !matched_right.contains(&j) {
                        rows.push(joined(
                            None,
                            Some(r),
                            &s.left.columns,
                            &s.right.columns,
                            &right_cols,
                        ));
                    }
                }
            }
            combined_columns(&s.left.columns, &s.right.columns, &[])
        }
    };
    Ok(Table::new(columns, rows))
}

pub(super) fn lookup(
    cx: &OpCx<'_, '_>,
    left: Table,
    left_outer: bool,
    right: &Expr,
    on: &[JoinKey],
) -> Result<Table, KqlError> {
    let s = sides(cx, left, right, on)?;
    // Keys named the same on both sides appear once (the left's).
    let skip: Vec<usize> = s
        .right_keys
        .iter()
        .zip(&s.left_keys)
        .filter(|(r, l)| s.right.columns[**r].name == s.left.columns[**l].name)
        .map(|(r, _)| *r)
        .collect();
    let right_cols: Vec<usize> = (0..s.right.columns.len())
        .filter(|i| !skip.contains(i))
        .collect();
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, r) in s.right.rows.iter().enumerate() {
        if let Some(k) = row_key(r, &s.right_keys) {
            index.entry(k).or_default().push(j);
        }
    }
    let mut rows = Vec::new();
    for l in s.left.rows.iter() {
        let m = row_key(l, &s.left_keys)
            .and_then(|k| index.get(&k))
            .map_or(&[][..], Vec::as_slice);
        for &j in m {
            rows.push(joined(
                Some(l),
                Some(&s.right.rows[j]),
                &s.left.columns,
                &s.right.columns,
                &right_cols,
            ));
        }
        if m.is_empty() && left_outer {
            rows.push(joined(
                Some(l),
                None,
                &s.left.columns,
                &s.right.columns,
                &right_cols,
            ));
        }
    }
    let columns = combined_columns(&s.left.columns, &s.right.columns, &skip);
    Ok(Table::new(columns, rows))
}
