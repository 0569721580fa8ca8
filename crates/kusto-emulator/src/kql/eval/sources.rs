//! Tabular sources: `datatable`, `range`, `print` and `union` (also as an operator).

use std::sync::Arc;

use super::{Engine, Scope, Table};
use crate::faults::glob_match;
use crate::kql::KqlError;
use crate::kql::ast::BinOp;
use crate::kql::ast::{Expr, ExprKind, NamedExpr, UnionSpec};
use crate::kql::binder::Binder;
use crate::kql::binder::multi::ItemOp;
use crate::kql::scalar::{arith, compare, convert, is_numeric, wider};
use crate::store::{Column, Row};
use crate::value::{KustoType, Value};

/// The most rows `range` makes.
const MAX_RANGE_ROWS: usize = 10_000_000;

impl Engine<'_> {
    pub(super) fn datatable(
        &self,
        columns: &[(String, KustoType)],
        values: &[Expr],
        scope: &Scope,
    ) -> Result<Table, KqlError> {
        let binder = Binder::new(self, scope, &[], "datatable");
        if !values.len().is_multiple_of(columns.len().max(1)) {
            return Err(binder.error(format!(
                "{} values do not fill rows of {} columns",
                values.len(),
                columns.len()
            )));
        }
        let mut rows = Vec::with_capacity(values.len() / columns.len().max(1));
        for chunk in values.chunks(columns.len().max(1)) {
            let mut row = Vec::with_capacity(columns.len());
            for (e, (name, ty)) in chunk.iter().zip(columns) {
                let (v, vty) = binder.constant(e)?;
                let fits = v.is_null()
                    || vty == *ty
                    || *ty == KustoType::Dynamic
                    || is_numeric(vty) && is_numeric(*ty);
                if !fits {
                    return Err(binder.error(format!(
                        "the value at offset {} is a {vty}, but column '{name}' is a {ty}",
                        e.pos
                    )));
                }
                row.push(convert(&v, *ty));
            }
            rows.push(row);
        }
        let columns = columns
            .iter()
            .map(|(n, t)| Column::new(n.clone(), *t))
            .collect();
        Ok(Table::new(columns, rows))
    }

    pub(super) fn range(
        &self,
        column: &str,
        from: &Expr,
        to: &Expr,
        step: &Expr,
        scope: &Scope,
    ) -> Result<Table, KqlError> {
        let binder = Binder::new(self, scope, &[], "range");
        let (start, t1) = binder.constant(from)?;
        let (stop, t2) = binder.constant(to)?;
        let (step, t3) = binder.constant(step)?;
        let ty = match (t1, t2, t3) {
            (KustoType::DateTime, KustoType::DateTime, KustoType::TimeSpan) => KustoType::DateTime,
            (KustoType::TimeSpan, KustoType::TimeSpan, KustoType::TimeSpan) => KustoType::TimeSpan,
            (a, b, c) if is_numeric(a) && is_numeric(b) && is_numeric(c) => {
                match wider(wider(a, b), c) {
                    KustoType::Int => KustoType::Long,
                    t => t,
                }
            }
            (a, b, c) => {
                return Err(binder.error(format!(
                    "cannot make a range from {a} to {b} by steps of {c}"
                )));
            }
        };
        let (start, stop) = (convert(&start, ty), convert(&stop, ty));
        let zero = match &step {
            Value::TimeSpan(t) => *t == 0,
            other => crate::kql::scalar::as_f64(other) == Some(0.0),
        };
        if zero || start.is_null() || stop.is_null() || step.is_null() {
            return Err(
                binder.error("the start, stop and step must be non-null and the step non-zero")
            );
        }
        let descending = match &step {
            Value::TimeSpan(t) => *t < 0,
            other => crate::kql::scalar::as_f64(other).is_some_and(|f| f < 0.0),
        };
        let mut rows = Vec::new();
        let mut x = start;
        loop {
            let ord = compare(&x, &stop);
            let past = match ord {
                Some(std::cmp::Ordering::Greater) => !descending,
                Some(std::cmp::Ordering::Less) => descending,
                Some(std::cmp::Ordering::Equal) => false,
                None => true,
            };
            if past {
                break;
            }
            if rows.len() >= MAX_RANGE_ROWS {
                return Err(binder.error(format!("the range has more than {MAX_RANGE_ROWS} rows")));
            }
            rows.push(vec![x.clone()]);
            let next = arith(BinOp::Add, &x, &step, ty);
            if next.is_null() || next == x {
                break;
            }
            x = next;
        }
        Ok(Table::new(vec![Column::new(column, ty)], rows))
    }

    pub(super) fn print(&self, items: &[NamedExpr], scope: &Scope) -> Result<Table, KqlError> {
        let binder = Binder::new(self, scope, &[], "print");
        let mut columns: Vec<Column> = Vec::new();
        let mut row = Vec::new();
        let cx = crate::kql::binder::Cx::constant(&self.env);
        for (i, item) in items.iter().enumerate() {
            for (name, b) in binder.item_columns(item, ItemOp::Extend)? {
                let name = name.unwrap_or_else(|| format!("print_{i}"));
                let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
                columns.push(Column::new(
                    crate::kql::binder::names::unique(&name, &taken),
                    b.ty,
                ));
                row.push(b.eval(&cx));
            }
        }
        Ok(Table::new(columns, vec![row]))
    }

    /// `union`: with `piped`, the operator form (`T | union U`).
    pub(crate) fn union(
        &self,
        spec: &UnionSpec,
        piped: Option<(String, Table)>,
        scope: &Scope,
    ) -> Result<Table, KqlError> {
        let mut inputs: Vec<(String, Table)> = Vec::new();
        if let Some(p) = piped {
            inputs.push(p);
        }
        for (i, e) in spec.tables.iter().enumerate() {
            match &e.kind {
                ExprKind::Name(pattern) if pattern.contains('*') => {
                    let mut names: Vec<String> = self
                        .store
                        .table_names(self.db)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|n| glob_match(pattern, n))
                        .collect();
                    names.sort();
                    for n in names {
                        let t = self.table_by_name(&n, scope, Some("union"))?;
                        inputs.push((n, t));
                    }
                }
                ExprKind::Name(n) => {
                    let t = self.table_by_name(n, scope, Some("union"))?;
                    inputs.push((n.clone(), t));
                }
                _ => {
                    let t = self.eval_tabular(e, scope)?;
                    let name = t.source.clone().unwrap_or_else(|| format!("union_arg{i}"));
                    inputs.push((name, t));
                }
            }
        }
        for (_, t) in &mut inputs {
            t.strip_hidden();
        }
        Ok(union_tables(spec, inputs))
    }
}

/// Combines tables: columns by name and type (outer: all of them, a name with several types
/// becoming `name_type`; inner: those every table has), rows in order.
fn union_tables(spec: &UnionSpec, inputs: Vec<(String, Table)>) -> Table {
    let mut keys: Vec<(String, KustoType)> = Vec::new();
    for (_, t) in &inputs {
        for c in &t.columns {
            if !keys.iter().any(|(n, ty)| *n == c.name && *ty == c.ty) {
                keys.push((c.name.clone(), c.ty));
            }
        }
    }
    if spec.inner {
        keys.retain(|(n, ty)| {
            inputs
                .iter()
                .all(|(_, t)| t.columns.iter().any(|c| c.name == *n && c.ty == *ty))
        });
    }
    let mut columns: Vec<Column> = keys
        .iter()
        .map(|(n, ty)| {
            let several = keys.iter().filter(|(m, _)| m == n).count() > 1;
            let name = if several {
                format!("{n}_{}", ty.name())
            } else {
                n.clone()
            };
            Column::new(name, *ty)
        })
        .collect();
    let mut rows: Vec<Row> = Vec::new();
    for (source, t) in &inputs {
        let map: Vec<Option<usize>> = keys
            .iter()
            .map(|(n, ty)| t.columns.iter().position(|c| c.name == *n && c.ty == *ty))
            .collect();
        for r in t.rows.iter() {
            let mut row: Row = Vec::with_capacity(keys.len() + 1);
            if spec.with_source.is_some() {
                row.push(Value::String(source.clone()));
            }
            row.extend(map.iter().zip(&keys).map(|(m, (_, ty))| match m {
                Some(i) => r.get(*i).cloned().unwrap_or(Value::Null),
                None => crate::kql::scalar::missing(*ty),
            }));
            rows.push(row);
        }
    }
    if let Some(src) = &spec.with_source {
        columns.insert(0, Column::new(src.clone(), KustoType::String));
    }
    Table {
        columns,
        rows: Arc::new(rows),
        name: None,
        source: None,
    }
}
