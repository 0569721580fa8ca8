//! The names Kusto gives to computed columns: an expression's derived name (`x` for `x`,
//! `a_b` for `a.b` and `a["b"]`, the first argument's for `bin(x, 1h)` and the `to*()`
//! conversions), and fresh names that do not collide (`Column1`, `x1`).

use crate::kql::ast::{Expr, ExprKind};
use crate::kql::functions::{Naming, registry};
use crate::value::Value;

/// The name derived from an expression, if it has one.
pub(crate) fn expr_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) if !n.starts_with('$') => Some(n.clone()),
        ExprKind::Member(target, m) => match &target.kind {
            ExprKind::Name(side) if side == "$left" || side == "$right" => Some(m.clone()),
            _ => expr_name(target).map(|n| format!("{n}_{m}")),
        },
        ExprKind::Index(target, index) => {
            let base = expr_name(target)?;
            match &index.kind {
                ExprKind::Literal(Value::String(s), _) => Some(format!("{base}_{s}")),
                ExprKind::Literal(Value::Long(i), _) => Some(format!("{base}_{i}")),
                _ => None,
            }
        }
        ExprKind::Call(f, args) => {
            let first_arg = registry()
                .get(f)
                .and_then(|o| o.first())
                .is_some_and(|d| d.naming == Naming::FirstArg);
            if first_arg {
                args.first().and_then(expr_name)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `base` if unused, else `base1`, `base2`, ... (the first free one).
pub(crate) fn unique(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    (1..)
        .map(|i| format!("{base}{i}"))
        .find(|n| !taken.iter().any(|t| t == n))
        .unwrap_or_else(|| base.to_string())
}

/// The next `ColumnN` not among `taken` (N from 1).
pub(crate) fn next_column_name(taken: &[String]) -> String {
    (1..)
        .map(|i| format!("Column{i}"))
        .find(|n| !taken.iter().any(|t| t == n))
        .unwrap_or_else(|| "Column".to_string())
}
