//! Table schemas: column lists of `.create table` and the schema results of `.show table`.

use super::CommandContext;
use super::cursor::Cursor;
use crate::errors::ServiceError;
use crate::kql::Tok;
use crate::store::Column;
use crate::v1::V1Table;
use crate::value::{KustoType, Value};

pub(super) fn schema_json(table: &str, columns: &[Column]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| {
            crate::errors::Obj::new()
                .str("Name", &c.name)
                .str("Type", c.ty.clr_type())
                .str("CslType", c.ty.name())
                .finish()
        })
        .collect();
    crate::errors::Obj::new()
        .str("Name", table)
        .raw("OrderedColumns", &format!("[{}]", cols.join(",")))
        .finish()
}

pub(super) fn table_schema_result(
    ctx: &CommandContext<'_>,
    table: &str,
    schema: String,
) -> Vec<V1Table> {
    vec![V1Table::new(
        &[
            ("TableName", KustoType::String),
            ("Schema", KustoType::String),
            ("DatabaseName", KustoType::String),
            ("Folder", KustoType::String),
            ("DocString", KustoType::String),
        ],
        vec![vec![
            Value::String(table.into()),
            Value::String(schema),
            Value::String(ctx.db.into()),
            Value::String(String::new()),
            Value::String(String::new()),
        ]],
    )]
}

pub(super) fn column_list(c: &mut Cursor<'_>) -> Result<Vec<Column>, ServiceError> {
    c.expect_punct("(")?;
    let mut columns = Vec::new();
    loop {
        let name = c.name()?;
        c.expect_punct(":")?;
        let ty = match c.peek().clone() {
            Tok::Ident(t) => KustoType::parse(&t).ok_or_else(|| c.syntax())?,
            _ => return Err(c.syntax()),
        };
        c.pos += 1;
        columns.push(Column::new(name, ty));
        if c.punct(")") {
            return Ok(columns);
        }
        c.expect_punct(",")?;
    }
}
