//! `join` and `lookup`.

use super::OpCx;
use crate::kql::KqlError;
use crate::kql::ast::{Expr, JoinKey, JoinKind};
use crate::kql::eval::Table;

pub(super) fn join(
    _cx: &OpCx<'_, '_>,
    _left: Table,
    _kind: JoinKind,
    _right: &Expr,
    _on: &[JoinKey],
) -> Result<Table, KqlError> {
    Err(KqlError::unsupported("'join' operator"))
}

pub(super) fn lookup(
    _cx: &OpCx<'_, '_>,
    _left: Table,
    _left_outer: bool,
    _right: &Expr,
    _on: &[JoinKey],
) -> Result<Table, KqlError> {
    Err(KqlError::unsupported("'lookup' operator"))
}
