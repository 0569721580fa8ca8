//! Ingestion mappings: the result of `.show table T ingestion mappings` and of the
//! `.create` / `.drop ... ingestion mapping` commands.

use super::CommandContext;
use crate::mapping::IngestionMapping;
use crate::v1::V1Table;
use crate::value::{KustoType, Value};

pub(super) fn mappings_result(
    ctx: &CommandContext<'_>,
    table: &str,
    mappings: &[IngestionMapping],
) -> Vec<V1Table> {
    vec![V1Table::new(
        &[
            ("Name", KustoType::String),
            ("Kind", KustoType::String),
            ("Mapping", KustoType::String),
            ("LastUpdatedOn", KustoType::DateTime),
            ("Database", KustoType::String),
            ("Table", KustoType::String),
        ],
        mappings
            .iter()
            .map(|m| {
                vec![
                    Value::String(m.name.clone()),
                    Value::String(m.kind.name().into()),
                    Value::String(m.text.clone()),
                    Value::DateTime(m.last_updated),
                    Value::String(ctx.db.into()),
                    Value::String(table.into()),
                ]
            })
            .collect(),
    )]
}
