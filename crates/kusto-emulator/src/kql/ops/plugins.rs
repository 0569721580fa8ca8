//! `evaluate` with the plugins the emulator runs: `bag_unpack` (a column per property of a
//! bag column, typed when every value of the property has one type, else `dynamic`) and
//! `narrow` (every cell as a row of `Row`, `Column`, `Value`). Other plugins are a semantic
//! error naming them.

use std::sync::Arc;

use serde_json::Value as Json;

use super::OpCx;
use crate::kql::ast::Expr;
use crate::kql::binder::names::unique;
use crate::kql::eval::Table;
use crate::kql::scalar::{missing, to_text, undynamic};
use crate::kql::{INGESTION_TIME_COLUMN, KqlError};
use crate::store::{Column, Row};
use crate::value::{KustoType, Value};

pub(super) fn evaluate(
    cx: &OpCx<'_, '_>,
    input: Table,
    plugin: &str,
    args: &[Expr],
) -> Result<Table, KqlError> {
    match plugin {
        "bag_unpack" => bag_unpack(cx, input, args),
        "narrow" => Ok(narrow(input)),
        other => Err(KqlError::unsupported(&format!(
            "The plugin 'evaluate {other}'"
        ))),
    }
}

/// The type a property's JSON value has in a column.
fn json_type(j: &Json) -> KustoType {
    match j {
        Json::Bool(_) => KustoType::Bool,
        Json::Number(n) if n.is_i64() || n.is_u64() => KustoType::Long,
        Json::Number(_) => KustoType::Real,
        Json::String(_) => KustoType::String,
        _ => KustoType::Dynamic,
    }
}

fn bag_unpack(cx: &OpCx<'_, '_>, mut input: Table, args: &[Expr]) -> Result<Table, KqlError> {
    input.strip_hidden();
    let Some(first) = args.first() else {
        return Err(cx.error("bag_unpack() expects the column to unpack"));
    };
    let column = match &first.kind {
        crate::kql::ast::ExprKind::Name(n) => n.clone(),
        _ => return Err(cx.error("bag_unpack(): the first argument must be a column")),
    };
    let Some(at) = input.columns.iter().position(|c| c.name == column) else {
        return Err(cx.binder(&input.columns).unresolved(&column));
    };
    let prefix = match args.get(1) {
        Some(e) => to_text(&cx.binder(&[]).constant(e)?.0),
        None => String::new(),
    };
    // Properties in the order they first appear, with their common type.
    let mut keys: Vec<(String, Option<KustoType>)> = Vec::new();
    for row in input.rows.iter() {
        if let Some(Value::Dynamic(Json::Object(map))) = row.get(at) {
            for (k, v) in map {
                if v.is_null() {
                    if !keys.iter().any(|(n, _)| n == k) {
                        keys.push((k.clone(), None));
                    }
                    continue;
                }
                let t = json_type(v);
                match keys.iter_mut().find(|(n, _)| n == k) {
                    Some((_, ty)) => {
                        *ty = match ty {
                            None => Some(t),
                            Some(u) if *u == t => Some(t),
                            Some(_) => Some(KustoType::Dynamic),
                        }
                    }
                    None => keys.push((k.clone(), Some(t))),
                }
            }
        }
    }
    let mut columns: Vec<Column> = input
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| *i != at && c.name != INGESTION_TIME_COLUMN)
        .map(|(_, c)| c.clone())
        .collect();
    let kept = columns.len();
    for (k, ty) in &keys {
        let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let name = format!("{prefix}{k}");
        if taken.contains(&name) {
            return Err(cx.error(format!(
                "bag_unpack(): the property '{k}' conflicts with the column '{name}'"
            )));
        }
        columns.push(Column::new(
            unique(&name, &taken),
            ty.unwrap_or(KustoType::Dynamic),
        ));
    }
    let rows: Vec<Row> = input
        .rows
        .iter()
        .map(|r| {
            let mut out: Row = r
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != at)
                .map(|(_, v)| v.clone())
                .collect();
            out.truncate(kept);
            for (i, (k, _)) in keys.iter().enumerate() {
                let ty = columns[kept + i].ty;
                let v = match r.get(at) {
                    Some(Value::Dynamic(Json::Object(map))) => match map.get(k) {
                        Some(Json::Null) | None => missing(ty),
                        Some(j) if ty == KustoType::Dynamic => Value::Dynamic(j.clone()),
                        Some(j) => undynamic(&Value::Dynamic(j.clone())),
                    },
                    _ => missing(ty),
                };
                out.push(v);
            }
            out
        })
        .collect();
    Ok(Table {
        columns,
        rows: Arc::new(rows),
        name: input.name,
        source: input.source,
    })
}

fn narrow(mut input: Table) -> Table {
    input.strip_hidden();
    let mut rows = Vec::new();
    for (i, r) in input.rows.iter().enumerate() {
        for (c, v) in input.columns.iter().zip(r) {
            rows.push(vec![
                Value::Int(i32::try_from(i).unwrap_or(i32::MAX)),
                Value::String(c.name.clone()),
                Value::String(to_text(v)),
            ]);
        }
    }
    Table::new(
        vec![
            Column::new("Row", KustoType::Int),
            Column::new("Column", KustoType::String),
            Column::new("Value", KustoType::String),
        ],
        rows,
    )
}
