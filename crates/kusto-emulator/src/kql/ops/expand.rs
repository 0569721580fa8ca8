//! `mv-expand` and `mv-apply`.

use super::OpCx;
use crate::kql::KqlError;
use crate::kql::ast::{ExpandItem, Expr, Operator};
use crate::kql::eval::Table;

pub(super) fn mv_expand(
    _cx: &OpCx<'_, '_>,
    _input: Table,
    _items: &[ExpandItem],
    _item_index: Option<&str>,
    _limit: Option<&Expr>,
    _array: bool,
) -> Result<Table, KqlError> {
    Err(KqlError::unsupported("'mv-expand' operator"))
}

pub(super) fn mv_apply(
    _cx: &OpCx<'_, '_>,
    _input: Table,
    _items: &[ExpandItem],
    _item_index: Option<&str>,
    _limit: Option<&Expr>,
    _on: &[Operator],
) -> Result<Table, KqlError> {
    Err(KqlError::unsupported("'mv-apply' operator"))
}
