//! The streaming ingestion policy of tables and databases (`.alter`, `.show`, `.delete`).

use super::{CommandContext, store_error};
use crate::errors::ServiceError;
use crate::v1::V1Table;
use crate::value::{KustoType, Value};

pub(super) fn policy_text(enabled: Option<bool>) -> Value {
    match enabled {
        Some(e) => Value::String(format!("{{\"IsEnabled\":{e},\"HintAllocatedRate\":null}}")),
        None => Value::Null,
    }
}

pub(super) fn policy_result(
    ctx: &CommandContext<'_>,
    kind: &str,
    name: &str,
    enabled: Option<bool>,
) -> Vec<V1Table> {
    let entity = if kind == "Table" {
        format!("[{}].[{name}]", ctx.db)
    } else {
        format!("[{name}]")
    };
    vec![V1Table::new(
        &[
            ("PolicyName", KustoType::String),
            ("EntityName", KustoType::String),
            ("Policy", KustoType::String),
            ("ChildEntities", KustoType::String),
            ("EntityType", KustoType::String),
        ],
        vec![vec![
            Value::String("StreamingIngestionPolicy".into()),
            Value::String(entity),
            policy_text(enabled),
            Value::String(String::new()),
            Value::String(kind.into()),
        ]],
    )]
}

pub(super) fn set_policy(
    ctx: &CommandContext<'_>,
    kind: &str,
    name: &str,
    enabled: Option<bool>,
) -> Result<Vec<V1Table>, ServiceError> {
    if kind == "Table" {
        ctx.store.set_table_streaming_policy(ctx.db, name, enabled)
    } else {
        ctx.store.set_database_streaming_policy(name, enabled)
    }
    .map_err(|e| store_error(&e))?;
    Ok(policy_result(ctx, kind, name, enabled))
}
