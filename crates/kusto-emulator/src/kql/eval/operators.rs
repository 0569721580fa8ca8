//! Tabular operators: a pipeline run over the store (`where`, `project`, `take`, `order by`,
//! `summarize`, ...; the newer ones in `kql/tabular.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use super::ResultTable;
use super::expr::{Bound, Ctx};
use crate::kql::parser::{Aggregate, Expr, OpKind, Pipeline, Source};
use crate::kql::tabular::{self};
use crate::kql::{KqlError, SEM_UNSUPPORTED};
use crate::store::{Column, Row, Store, StoreError};
use crate::value::{KustoType, Value};

pub(super) fn run_pipeline(
    p: &Pipeline,
    params: &HashMap<String, (KustoType, Value)>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<ResultTable, KqlError> {
    let (mut columns, mut rows): (Vec<Column>, Arc<Vec<Row>>) = match &p.source {
        Source::Table { database, name } => {
            let target = database.as_deref().unwrap_or(db);
            let snapshot = tabular::table_rows(store, target, name, p);
            match snapshot {
                Ok(s) => s,
                Err(StoreError::DatabaseNotFound(d)) => {
                    return Err(KqlError::semantic(
                        "SEM0100",
                        format!(
                            "'database' operator: Failed to resolve database expression named '{d}'"
                        ),
                    ));
                }
                Err(_) => {
                    let message = match p.ops.first() {
                        None => format!(
                            "'table' operator: Failed to resolve table expression named '{name}'"
                        ),
                        Some(op) => format!(
                            "'{}' operator: Failed to resolve table or column expression named '{name}'",
                            op.name
                        ),
                    };
                    return Err(KqlError::semantic("SEM0100", message));
                }
            }
        }
        Source::Print(items) => {
            let ctx = Ctx {
                columns: &[],
                params,
                now,
                op: "print",
            };
            let mut columns = Vec::new();
            let mut row = Vec::new();
            for (i, (alias, expr)) in items.iter().enumerate() {
                let b = ctx.bind(expr)?;
                let ty = b.ty().unwrap_or(KustoType::String);
                columns.push(Column::new(
                    alias.clone().unwrap_or_else(|| format!("print_{i}")),
                    ty,
                ));
                row.push(b.eval(&[]));
            }
            (columns, Arc::new(vec![row]))
        }
    };
    for op in &p.ops {
        let ctx = Ctx {
            columns: &columns,
            params,
            now,
            op: op.name,
        };
        match &op.kind {
            OpKind::Count => {
                let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
                columns = vec![Column::new("Count", KustoType::Long)];
                rows = Arc::new(vec![vec![Value::Long(n)]]);
            }
            OpKind::Take(expr) => {
                let n = tabular::row_count(&ctx, expr)?;
                if n < rows.len() {
                    rows = Arc::new(rows.iter().take(n).cloned().collect());
                }
            }
            OpKind::Where(expr) => {
                let b = ctx.bind(expr)?;
                if b.ty().is_some_and(|t| t != KustoType::Bool) {
                    return Err(KqlError::semantic(
                        SEM_UNSUPPORTED,
                        "'where' operator: the predicate must be a boolean expression",
                    ));
                }
                rows = Arc::new(
                    rows.iter()
                        .filter(|r| b.eval(r) == Value::Bool(true))
                        .cloned()
                        .collect(),
                );
            }
            OpKind::Project(items) => {
                let bound: Vec<(String, Bound)> = items
                    .iter()
                    .map(|(n, e)| ctx.bind(e).map(|b| (n.clone(), b)))
                    .collect::<Result<_, _>>()?;
                let new_rows = rows
                    .iter()
                    .map(|r| bound.iter().map(|(_, b)| b.eval(r)).collect())
                    .collect();
                columns = bound
                    .iter()
                    .map(|(n, b)| Column::new(n.clone(), b.ty().unwrap_or(KustoType::String)))
                    .collect();
                rows = Arc::new(new_rows);
            }
            OpKind::Order(keys) => {
                let keys = tabular::bind_keys(&ctx, keys)?;
                let mut sorted: Vec<Row> = rows.as_ref().clone();
                tabular::sort_rows(&mut sorted, &keys);
                rows = Arc::new(sorted);
            }
            OpKind::Top { count, key } => {
                let n = tabular::row_count(&ctx, count)?;
                let keys = tabular::bind_keys(&ctx, std::slice::from_ref(key))?;
                let mut sorted: Vec<Row> = rows.as_ref().clone();
                tabular::sort_rows(&mut sorted, &keys);
                sorted.truncate(n);
                rows = Arc::new(sorted);
            }
            OpKind::Extend(items) => {
                let (mut new_columns, mut new_rows) = (columns.clone(), rows.as_ref().clone());
                tabular::extend(&ctx, items, &mut new_columns, &mut new_rows)?;
                (columns, rows) = (new_columns, Arc::new(new_rows));
            }
            OpKind::Distinct(names) => {
                let (c, r) = tabular::distinct(&ctx, names, &columns, &rows)?;
                columns = c;
                rows = Arc::new(r);
            }
            OpKind::ProjectAway(patterns) => {
                let (mut new_columns, mut new_rows) = (columns.clone(), rows.as_ref().clone());
                tabular::project_away(&ctx, patterns, &mut new_columns, &mut new_rows)?;
                (columns, rows) = (new_columns, Arc::new(new_rows));
            }
            OpKind::ProjectRename(pairs) => {
                let mut new_columns = columns.clone();
                tabular::project_rename(&ctx, pairs, &mut new_columns)?;
                columns = new_columns;
            }
            OpKind::Summarize { aggregates, by } => {
                let (c, r) = summarize(&ctx, aggregates, by, &rows)?;
                columns = c;
                rows = Arc::new(r);
            }
        }
    }
    let mut rows = Arc::try_unwrap(rows).unwrap_or_else(|shared| shared.as_ref().clone());
    tabular::strip_hidden(&mut columns, &mut rows);
    Ok(ResultTable {
        name: "PrimaryResult".to_string(),
        columns,
        rows,
    })
}

pub(super) type Summary = (Vec<Column>, Vec<Row>);

pub(super) fn summarize(
    ctx: &Ctx<'_>,
    aggregates: &[(Option<String>, Aggregate)],
    by: &[Expr],
    rows: &[Row],
) -> Result<Summary, KqlError> {
    let mut columns = Vec::new();
    let mut keys = Vec::new();
    for e in by {
        let Expr::Name(n) = e else {
            return Err(KqlError::unsupported(
                "A 'summarize ... by' expression other than a column name",
            ));
        };
        let b = ctx.bind(e)?;
        columns.push(Column::new(n.clone(), b.ty().unwrap_or(KustoType::String)));
        keys.push(b);
    }
    let mut aggs = Vec::new();
    for (alias, agg) in aggregates {
        let (prefix, arg) = match agg {
            Aggregate::Count => ("count", None),
            Aggregate::Sum(e) => ("sum", Some(e)),
            Aggregate::Min(e) => ("min", Some(e)),
            Aggregate::Max(e) => ("max", Some(e)),
            Aggregate::Avg(e) => ("avg", Some(e)),
        };
        let bound = arg.map(|e| ctx.bind(e)).transpose()?;
        let arg_name = match arg {
            Some(Expr::Name(n)) => n.clone(),
            _ => String::new(),
        };
        let in_ty = bound.as_ref().and_then(Bound::ty);
        let out_ty = match prefix {
            "count" => KustoType::Long,
            "avg" => KustoType::Real,
            "sum" => match in_ty {
                Some(KustoType::Int | KustoType::Long) => KustoType::Long,
                Some(KustoType::TimeSpan) => KustoType::TimeSpan,
                _ => KustoType::Real,
            },
            _ => in_ty.unwrap_or(KustoType::Real),
        };
        let name = alias
            .clone()
            .unwrap_or_else(|| format!("{prefix}_{arg_name}"));
        columns.push(Column::new(name, out_ty));
        aggs.push((prefix, bound, out_ty));
    }
    let mut groups: Vec<(Row, Vec<&Row>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let key: Row = keys.iter().map(|k| k.eval(row)).collect();
        let text = format!("{key:?}");
        match index.get(&text) {
            Some(&i) => groups[i].1.push(row),
            None => {
                index.insert(text, groups.len());
                groups.push((key, vec![row]));
            }
        }
    }
    if groups.is_empty() && keys.is_empty() {
        groups.push((Vec::new(), Vec::new()));
    }
    let out = groups
        .into_iter()
        .map(|(mut key, members)| {
            for (prefix, bound, out_ty) in &aggs {
                let values: Vec<Value> = match bound {
                    Some(b) => members
                        .iter()
                        .map(|r| b.eval(r))
                        .filter(|v| !v.is_null())
                        .collect(),
                    None => Vec::new(),
                };
                key.push(aggregate(prefix, &values, members.len(), *out_ty));
            }
            key
        })
        .collect();
    Ok((columns, out))
}

pub(super) fn aggregate(prefix: &str, values: &[Value], count: usize, out_ty: KustoType) -> Value {
    match prefix {
        "count" => Value::Long(i64::try_from(count).unwrap_or(i64::MAX)),
        "min" => values
            .iter()
            .min_by(|a, b| a.sort_cmp(b))
            .cloned()
            .unwrap_or(Value::Null),
        "max" => values
            .iter()
            .max_by(|a, b| a.sort_cmp(b))
            .cloned()
            .unwrap_or(Value::Null),
        _ => {
            let as_f64 = |v: &Value| match v {
                Value::Int(i) => f64::from(*i),
                Value::Long(l) => *l as f64,
                Value::Real(r) => *r,
                Value::Decimal(d) => d.to_f64(),
                Value::TimeSpan(t) => *t as f64,
                _ => 0.0,
            };
            if prefix == "avg" {
                if values.is_empty() {
                    return Value::Null;
                }
                return Value::Real(values.iter().map(as_f64).sum::<f64>() / values.len() as f64);
            }
            match out_ty {
                KustoType::Long | KustoType::TimeSpan => {
                    let mut sum: i64 = 0;
                    for v in values {
                        let x = match v {
                            Value::Int(i) => i64::from(*i),
                            Value::Long(l) | Value::TimeSpan(l) => *l,
                            _ => 0,
                        };
                        sum = sum.wrapping_add(x);
                    }
                    if out_ty == KustoType::Long {
                        Value::Long(sum)
                    } else {
                        Value::TimeSpan(sum)
                    }
                }
                _ => Value::Real(values.iter().map(as_f64).sum()),
            }
        }
    }
}
