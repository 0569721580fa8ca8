//! The tabular operators that reshape rows without aggregating: `extend`, `distinct`,
//! `top`, `project-away`, `project-rename`, the row sort shared by `order by` and `top`, and the
//! hidden column that carries each row's ingestion time for `ingestion_time()`.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use super::KqlError;
use super::SEM_UNSUPPORTED;
use super::eval::{Bound, Ctx};
use super::parser::{Expr, OpKind, Pipeline, SortKey, Source};
use crate::faults::glob_match;
use crate::store::{Column, Row, Store, StoreError};
use crate::value::{KustoType, Value};

/// The hidden column that holds the ingestion time of each row of a table, present from the
/// table source until an operator makes new rows (`project`, `summarize`, `distinct`,
/// `count`), and never part of a result.
pub(super) const INGESTION_TIME_COLUMN: &str = "$IngestionTime";

/// Whether the pipeline calls `ingestion_time()` anywhere.
pub(super) fn uses_ingestion_time(p: &Pipeline) -> bool {
    fn walk(e: &Expr) -> bool {
        match e {
            Expr::Call(name, args) => name == "ingestion_time" || args.iter().any(walk),
            Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a) || walk(b)
            }
            Expr::In { expr, list, .. } => walk(expr) || list.iter().any(walk),
            Expr::Not(a) | Expr::Neg(a) => walk(a),
            Expr::Literal(_) | Expr::Name(_) => false,
        }
    }
    let source = match &p.source {
        Source::Print(items) => items.iter().any(|(_, e)| walk(e)),
        Source::Table { .. } => false,
    };
    source
        || p.ops.iter().any(|op| match &op.kind {
            OpKind::Take(e) | OpKind::Where(e) => walk(e),
            OpKind::Project(items) => items.iter().any(|(_, e)| walk(e)),
            OpKind::Extend(items) => items.iter().any(|(_, e)| walk(e)),
            OpKind::Order(keys) => keys.iter().any(|k| walk(&k.expr)),
            OpKind::Top { count, key } => walk(count) || walk(&key.expr),
            OpKind::Summarize { by, .. } => by.iter().any(walk),
            OpKind::Count
            | OpKind::Distinct(_)
            | OpKind::ProjectAway(_)
            | OpKind::ProjectRename(_) => false,
        })
}

/// The columns and rows of a table for pipeline `p`: with the hidden ingestion-time column when
/// `p` calls `ingestion_time()` (the rows are then copied), else shared with the store.
pub(super) fn table_rows(
    store: &Store,
    db: &str,
    table: &str,
    p: &Pipeline,
) -> Result<(Vec<Column>, Arc<Vec<Row>>), StoreError> {
    if !uses_ingestion_time(p) {
        return store.snapshot(db, table).map(|s| (s.columns, s.rows));
    }
    let (snapshot, times) = store.snapshot_with_ingestion_times(db, table)?;
    let mut columns = snapshot.columns;
    columns.push(Column::new(INGESTION_TIME_COLUMN, KustoType::DateTime));
    let rows = snapshot
        .rows
        .iter()
        .zip(times)
        .map(|(row, time)| {
            let mut row = row.clone();
            row.push(Value::DateTime(time));
            row
        })
        .collect();
    Ok((columns, Arc::new(rows)))
}

/// Removes the hidden ingestion-time column, if present.
pub(super) fn strip_hidden(columns: &mut Vec<Column>, rows: &mut [Row]) {
    if let Some(i) = columns.iter().position(|c| c.name == INGESTION_TIME_COLUMN) {
        columns.remove(i);
        for row in rows {
            if i < row.len() {
                row.remove(i);
            }
        }
    }
}

/// Binds sort keys: the expression, descending, nulls first (by default nulls come first in
/// ascending order and last in descending order).
pub(super) fn bind_keys(
    ctx: &Ctx<'_>,
    keys: &[SortKey],
) -> Result<Vec<(Bound, bool, bool)>, KqlError> {
    keys.iter()
        .map(|k| {
            ctx.bind(&k.expr)
                .map(|b| (b, k.descending, k.nulls_first.unwrap_or(!k.descending)))
        })
        .collect()
}

/// Sorts rows by bound keys (a stable sort).
pub(super) fn sort_rows(rows: &mut [Row], keys: &[(Bound, bool, bool)]) {
    rows.sort_by(|x, y| {
        for (b, desc, nulls_first) in keys {
            let (vx, vy) = (b.eval(x), b.eval(y));
            let ord = match (vx.is_null(), vy.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) if *nulls_first => Ordering::Less,
                (true, false) => Ordering::Greater,
                (false, true) if *nulls_first => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    let o = vx.sort_cmp(&vy);
                    if *desc { o.reverse() } else { o }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
}

/// The non-negative row count of `take`, `limit` and `top`.
pub(super) fn row_count(ctx: &Ctx<'_>, expr: &Expr) -> Result<usize, KqlError> {
    let n = match ctx.bind(expr)?.eval(&[]) {
        Value::Long(l) => l,
        Value::Int(i) => i64::from(i),
        Value::String(s) => crate::parse_value::parse_integer(&s).unwrap_or(-1),
        _ => -1,
    };
    if n < 0 {
        return Err(KqlError::semantic(
            SEM_UNSUPPORTED,
            format!(
                "'{}' operator: the row count must be a non-negative integer",
                ctx.op
            ),
        ));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// `extend`: each item, in order, adds a column or replaces the one of the same name (later
/// items see the columns of earlier ones).
pub(super) fn extend(
    ctx: &Ctx<'_>,
    items: &[(Option<String>, Expr)],
    columns: &mut Vec<Column>,
    rows: &mut [Row],
) -> Result<(), KqlError> {
    let mut unnamed = 0;
    for (alias, expr) in items {
        let name = match (alias, expr) {
            (Some(a), _) => a.clone(),
            (None, Expr::Name(n)) => n.clone(),
            (None, _) => {
                unnamed += 1;
                format!("Column{unnamed}")
            }
        };
        if name == INGESTION_TIME_COLUMN {
            return Err(ctx.unresolved(&name));
        }
        let bound = Ctx {
            columns: columns.as_slice(),
            ..*ctx
        }
        .bind(expr)?;
        let column = Column::new(name, bound.ty().unwrap_or(KustoType::String));
        let values: Vec<Value> = rows.iter().map(|r| bound.eval(r)).collect();
        match columns.iter().position(|c| c.name == column.name) {
            Some(i) => {
                columns[i] = column;
                for (row, value) in rows.iter_mut().zip(values) {
                    if let Some(slot) = row.get_mut(i) {
                        *slot = value;
                    }
                }
            }
            None => {
                columns.push(column);
                for (row, value) in rows.iter_mut().zip(values) {
                    row.push(value);
                }
            }
        }
    }
    Ok(())
}

/// The index of a visible column, or the unresolved-name error.
fn visible(ctx: &Ctx<'_>, columns: &[Column], name: &str) -> Result<usize, KqlError> {
    columns
        .iter()
        .position(|c| c.name == name && name != INGESTION_TIME_COLUMN)
        .ok_or_else(|| ctx.unresolved(name))
}

/// `distinct a, b` (or `*` when `names` is empty): the distinct combinations, in the order they
/// first occur.
pub(super) fn distinct(
    ctx: &Ctx<'_>,
    names: &[String],
    columns: &[Column],
    rows: &[Row],
) -> Result<(Vec<Column>, Vec<Row>), KqlError> {
    let indexes: Vec<usize> = if names.is_empty() {
        (0..columns.len())
            .filter(|&i| columns[i].name != INGESTION_TIME_COLUMN)
            .collect()
    } else {
        names
            .iter()
            .map(|n| visible(ctx, columns, n))
            .collect::<Result<_, _>>()?
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in rows {
        let key: Row = indexes
            .iter()
            .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
            .collect();
        // The debug text tells values of different types (and NaN) apart and is hashable.
        if seen.insert(format!("{key:?}")) {
            out.push(key);
        }
    }
    let columns = indexes.iter().map(|&i| columns[i].clone()).collect();
    Ok((columns, out))
}

/// `project-away`: removes the named columns and those matching `*` patterns (a pattern may
/// match none; a plain name must exist).
pub(super) fn project_away(
    ctx: &Ctx<'_>,
    patterns: &[String],
    columns: &mut Vec<Column>,
    rows: &mut [Row],
) -> Result<(), KqlError> {
    let mut remove = vec![false; columns.len()];
    for pattern in patterns {
        if pattern.contains('*') {
            for (i, c) in columns.iter().enumerate() {
                if c.name != INGESTION_TIME_COLUMN && glob_match(pattern, &c.name) {
                    remove[i] = true;
                }
            }
        } else {
            remove[visible(ctx, columns, pattern)?] = true;
        }
    }
    let keep = |i: usize| !remove.get(i).copied().unwrap_or(false);
    for row in rows.iter_mut() {
        let mut i = 0;
        row.retain(|_| {
            i += 1;
            keep(i - 1)
        });
    }
    let mut i = 0;
    columns.retain(|_| {
        i += 1;
        keep(i - 1)
    });
    Ok(())
}

/// `project-rename new = old, ...`.
pub(super) fn project_rename(
    ctx: &Ctx<'_>,
    pairs: &[(String, String)],
    columns: &mut [Column],
) -> Result<(), KqlError> {
    for (new, old) in pairs {
        let i = visible(ctx, columns, old)?;
        if new == INGESTION_TIME_COLUMN
            || columns
                .iter()
                .enumerate()
                .any(|(j, c)| j != i && c.name == *new)
        {
            return Err(KqlError::semantic(
                SEM_UNSUPPORTED,
                format!("'project-rename' operator: a column named '{new}' already exists"),
            ));
        }
        columns[i].name.clone_from(new);
    }
    Ok(())
}
