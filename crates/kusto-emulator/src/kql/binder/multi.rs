//! Functions that produce several columns (`series_stats`, `series_fit_line`,
//! `series_fit_2lines`) as a whole item of `extend`, `project` or `print`. Each reads its
//! values from the bag of its `_dynamic` twin, one column per documented statistic:
//!
//! - `| extend series_stats(x)` adds every column, named `series_stats_x_min`, ... (the
//!   function, the argument's derived name and the statistic);
//! - `| extend (a, b) = series_stats(x)` names the first columns and, as the reference says
//!   for `extend`, keeps only those; `project` keeps the rest under their default names (the
//!   series_fit_2lines page);
//! - more names than the function has columns is a semantic error, and so is any other use of
//!   such a function (an argument or operand: it has no single value).

use std::rc::Rc;

use super::names::expr_name;
use super::{Binder, Bound, BoundKind};
use crate::kql::KqlError;
use crate::kql::ast::{ExprKind, NamedExpr};
use crate::kql::functions::registry;
use crate::value::KustoType;

/// A function producing several columns: its `_dynamic` twin and its columns in order (the
/// name's suffix, the path of the value in the twin's bag, the column's type).
pub(crate) struct MultiColumn {
    pub(crate) name: &'static str,
    pub(crate) source: &'static str,
    pub(crate) columns: &'static [(&'static str, &'static [&'static str], KustoType)],
}

use KustoType::{Dynamic as D, Long as L, Real as R};

/// The documented multi-column functions, their columns in the reference's order.
pub(crate) const MULTI_COLUMN: &[MultiColumn] = &[
    MultiColumn {
        name: "series_stats",
        source: "series_stats_dynamic",
        columns: &[
            ("min", &["min"], R),
            ("min_idx", &["min_idx"], L),
            ("max", &["max"], R),
            ("max_idx", &["max_idx"], L),
            ("avg", &["avg"], R),
            ("stdev", &["stdev"], R),
            ("variance", &["variance"], R),
        ],
    },
    MultiColumn {
        name: "series_fit_line",
        source: "series_fit_line_dynamic",
        columns: &[
            ("rsquare", &["rsquare"], R),
            ("slope", &["slope"], R),
            ("variance", &["variance"], R),
            ("rvariance", &["rvariance"], R),
            ("interception", &["interception"], R),
            ("line_fit", &["line_fit"], D),
        ],
    },
    MultiColumn {
        name: "series_fit_2lines",
        source: "series_fit_2lines_dynamic",
        columns: &[
            ("rsquare", &["rsquare"], R),
            ("split_idx", &["split_idx"], L),
            ("variance", &["variance"], R),
            ("rvariance", &["rvariance"], R),
            ("line_fit", &["line_fit"], D),
            ("right_rsquare", &["right", "rsquare"], R),
            ("right_slope", &["right", "slope"], R),
            ("right_interception", &["right", "interception"], R),
            ("right_variance", &["right", "variance"], R),
            ("right_rvariance", &["right", "rvariance"], R),
            ("left_rsquare", &["left", "rsquare"], R),
            ("left_slope", &["left", "slope"], R),
            ("left_interception", &["left", "interception"], R),
            ("left_variance", &["left", "variance"], R),
            ("left_rvariance", &["left", "rvariance"], R),
        ],
    },
];

/// The multi-column function of this name, if it is one.
pub(crate) fn multi_column(name: &str) -> Option<&'static MultiColumn> {
    MULTI_COLUMN.iter().find(|m| m.name == name)
}

/// Which operator an item belongs to: `project` keeps the unnamed columns of a partly named
/// tuple, `extend` (and `print`) drop them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemOp {
    Project,
    Extend,
}

impl Binder<'_, '_> {
    /// The columns an item of `extend`, `project` or `print` produces: (its name if it has one,
    /// its expression). One column for an ordinary expression, several for a multi-column
    /// function. A column without a name gets the operator's fallback (`Column1`, ...).
    pub(crate) fn item_columns(
        &self,
        item: &NamedExpr,
        op: ItemOp,
    ) -> Result<Vec<(Option<String>, Bound)>, KqlError> {
        if let ExprKind::Call(name, args) = &item.expr.kind
            && self.scope.lookup(name).is_none()
            && let Some(multi) = multi_column(name)
        {
            return self.multi_columns(multi, args, &item.names, op);
        }
        if item.names.len() > 1 {
            return Err(self.error(format!(
                "the expression produces one column, but {} names are given ({})",
                item.names.len(),
                item.names.join(", ")
            )));
        }
        let bound = self.bind(&item.expr)?;
        let name = item
            .names
            .first()
            .cloned()
            .or_else(|| expr_name(&item.expr));
        Ok(vec![(name, bound)])
    }

    fn multi_columns(
        &self,
        multi: &MultiColumn,
        args: &[crate::kql::ast::Expr],
        names: &[String],
        op: ItemOp,
    ) -> Result<Vec<(Option<String>, Bound)>, KqlError> {
        if names.len() > multi.columns.len() {
            return Err(self.error(format!(
                "{}() produces {} columns, but {} names are given ({})",
                multi.name,
                multi.columns.len(),
                names.len(),
                names.join(", ")
            )));
        }
        // The twin from the registry (a `let` of the twin's name does not replace it here);
        // errors name the function the query called.
        let overloads = registry()
            .get(multi.source)
            .ok_or_else(|| self.error(format!("{}() is not available", multi.name)))?;
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            bound.push(self.bind(a)?);
        }
        let types: Vec<KustoType> = bound.iter().map(|b| b.ty).collect();
        let Some(f) = overloads.iter().find(|f| f.accepts(&types)) else {
            return Err(self.signature_error(multi.name, overloads, &types));
        };
        let source = Rc::new(Bound::new(BoundKind::Call(f, bound), KustoType::Dynamic));
        let base = match args.first().and_then(expr_name) {
            Some(arg) => format!("{}_{arg}", multi.name),
            None => multi.name.to_string(),
        };
        let keep = if names.is_empty() || op == ItemOp::Project {
            multi.columns.len()
        } else {
            names.len()
        };
        let mut out = Vec::with_capacity(keep);
        for (i, (suffix, path, ty)) in multi.columns.iter().take(keep).enumerate() {
            let mut value = Bound::new(BoundKind::Shared(Rc::clone(&source)), KustoType::Dynamic);
            for key in *path {
                value = Bound::new(
                    BoundKind::Member(Box::new(value), (*key).to_string()),
                    KustoType::Dynamic,
                );
            }
            let convert = match ty {
                KustoType::Real => Some("todouble"),
                KustoType::Long => Some("tolong"),
                _ => None,
            };
            if let Some(f) = convert
                .and_then(|c| registry().get(c))
                .and_then(|o| o.first())
            {
                value = Bound::new(BoundKind::Call(f, vec![value]), *ty);
            }
            let name = names
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("{base}_{suffix}"));
            out.push((Some(name), value));
        }
        Ok(out)
    }
}

#[test]
fn every_multi_column_function_is_a_special_form_with_a_registered_twin() {
    for m in MULTI_COLUMN {
        assert!(
            super::calls::SPECIAL_FORMS.contains(&m.name),
            "{} must be listed in SPECIAL_FORMS",
            m.name
        );
        assert!(
            registry().get(m.source).is_some(),
            "{} is not registered",
            m.source
        );
    }
}
