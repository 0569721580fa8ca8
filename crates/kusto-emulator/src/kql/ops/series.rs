//! `make-series`.

use super::OpCx;
use crate::kql::KqlError;
use crate::kql::ast::OpKind;
use crate::kql::eval::Table;

pub(super) fn make_series(
    _cx: &OpCx<'_, '_>,
    _input: Table,
    _op: &OpKind,
) -> Result<Table, KqlError> {
    Err(KqlError::unsupported("'make-series' operator"))
}
