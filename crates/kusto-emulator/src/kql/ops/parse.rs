//! `parse`, `parse-where` and `parse-kv`.

use super::OpCx;
use crate::kql::KqlError;
use crate::kql::ast::{Expr, OpKind, ParseKind, ParsePart};
use crate::kql::eval::Table;

pub(super) fn parse(
    _cx: &OpCx<'_, '_>,
    _input: Table,
    _kind: ParseKind,
    _flags: Option<&str>,
    _source: &Expr,
    _pattern: &[ParsePart],
    _filter: bool,
) -> Result<Table, KqlError> {
    Err(KqlError::unsupported("'parse' operator"))
}

pub(super) fn parse_kv(_cx: &OpCx<'_, '_>, _input: Table, _op: &OpKind) -> Result<Table, KqlError> {
    Err(KqlError::unsupported("'parse-kv' operator"))
}
