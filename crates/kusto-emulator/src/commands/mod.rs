//! Management ("dot") commands, answered in the v1 format (kusto-protocol.md 4.1 and 4.2).

mod cursor;
mod extents;
mod ingestion;
mod mappings;
mod policies;
mod tables;

use serde_json::Value as Json;
use uuid::Uuid;

use crate::dm::DataManagement;
use crate::errors::ServiceError;
use crate::kql::{Tok, tokenize_with};
use crate::mapping::{IngestionMapping, MappingKind, mapping_to_text, parse_mapping};
use crate::store::{Store, StoreError};
use crate::time;
use crate::v1::V1Table;
use crate::value::{KustoType, Value};
use cursor::Cursor;
use extents::extents_command;
use ingestion::{
    data_management, fnv128, ingest_inline, ingestion_failures, ingestion_resources,
    streaming_failures,
};
use mappings::mappings_result;
use policies::{policy_result, set_policy};
use tables::{column_list, schema_json, table_schema_result};

/// What a command needs from its request and the emulator.
#[derive(Debug)]
pub(crate) struct CommandContext<'a> {
    pub(crate) store: &'a Store,
    pub(crate) db: &'a str,
    pub(crate) activity_id: Uuid,
    pub(crate) now: i64,
    /// The version printed by `.show version`.
    pub(crate) version: &'static str,
    /// The data-management service, when the emulator runs with Azurite.
    pub(crate) dm: Option<&'a DataManagement>,
}

/// Maps a store error to the service error a command returns.
pub(crate) fn store_error(e: &StoreError) -> ServiceError {
    let text = e.to_string();
    match e {
        StoreError::DatabaseNotFound(_) => ServiceError::new(
            400,
            "BadRequest_DatabaseNotExist",
            "Kusto.Data.Exceptions.DatabaseNotFoundException",
            text,
            true,
        ),
        StoreError::TableNotFound { .. } => ServiceError::new(
            400,
            "BadRequest_EntityNotFound",
            "Kusto.Data.Exceptions.EntityNotFoundException",
            text,
            true,
        ),
        StoreError::InvalidName(_) => ServiceError::new(
            400,
            "BadRequest_EntityNameIsNotValid",
            "Kusto.Data.Exceptions.EntityNameIsNotValidException",
            text,
            true,
        ),
        _ => ServiceError::bad_request(text),
    }
}

/// Runs a management command.
pub(crate) fn execute(
    ctx: &CommandContext<'_>,
    command: &str,
) -> Result<Vec<V1Table>, ServiceError> {
    let trimmed = command.trim();
    if let Some(result) = extents_command(ctx, trimmed) {
        return result;
    }
    let (head, inline_data) = match trimmed.find("<|") {
        Some(i) => (&trimmed[..i], Some(&trimmed[i + 2..])),
        None => (trimmed, None),
    };
    let tokens =
        tokenize_with(head, false).map_err(|_| ServiceError::command_syntax(command, ""))?;
    let mut c = Cursor {
        tokens,
        pos: 0,
        command,
    };
    c.expect_punct(".")?;
    let verb = match c.peek().clone() {
        Tok::Ident(v) => v.to_ascii_lowercase(),
        _ => return Err(c.syntax()),
    };
    c.pos += 1;
    let result = match verb.as_str() {
        "show" => show(ctx, &mut c)?,
        "create" | "create-merge" | "create-or-alter" => create(ctx, &mut c, verb != "create")?,
        "drop" => drop(ctx, &mut c)?,
        "alter" => alter(ctx, &mut c)?,
        "delete" => {
            let (kind, name) = entity(&mut c)?;
            c.expect_word("policy")?;
            c.expect_word("streamingingestion")?;
            c.end()?;
            set_policy(ctx, kind, &name, None)?
        }
        "clear" => {
            c.expect_word("table")?;
            let table = c.name()?;
            c.expect_word("data")?;
            c.end()?;
            let removed = ctx
                .store
                .clear_table(ctx.db, &table)
                .map_err(|e| store_error(&e))?;
            vec![V1Table::new(
                &[
                    ("TableName", KustoType::String),
                    ("DatabaseName", KustoType::String),
                    ("RemovedRowCount", KustoType::Long),
                ],
                vec![vec![
                    Value::String(table),
                    Value::String(ctx.db.into()),
                    Value::Long(removed as i64),
                ]],
            )]
        }
        "ingest" => {
            let data = inline_data.ok_or_else(|| c.syntax())?;
            ingest_inline(ctx, &mut c, data)?
        }
        "get" => {
            if c.word("ingestion") {
                c.expect_word("resources")?;
                c.with_properties()?;
                c.end()?;
                ingestion_resources(ctx)?
            } else {
                c.expect_word("kusto")?;
                c.expect_word("identity")?;
                c.expect_word("token")?;
                c.end()?;
                let dm = data_management(ctx)?;
                vec![V1Table::new(
                    &[("AuthorizationContext", KustoType::String)],
                    vec![vec![Value::String(dm.authorization_context().to_owned())]],
                )]
            }
        }
        _ => return Err(c.syntax()),
    };
    Ok(result)
}

fn entity(c: &mut Cursor<'_>) -> Result<(&'static str, String), ServiceError> {
    if c.word("table") {
        Ok(("Table", c.name()?))
    } else if c.word("database") {
        Ok(("Database", c.name()?))
    } else {
        Err(c.syntax())
    }
}

fn show(ctx: &CommandContext<'_>, c: &mut Cursor<'_>) -> Result<Vec<V1Table>, ServiceError> {
    if c.word("version") {
        c.end()?;
        return Ok(vec![V1Table::new(
            &[
                ("BuildVersion", KustoType::String),
                ("BuildTime", KustoType::DateTime),
                ("ServiceType", KustoType::String),
                ("ProductVersion", KustoType::String),
            ],
            vec![vec![
                Value::String(format!("{}.0", ctx.version)),
                Value::DateTime(time::ticks_from_parts(2026, 1, 1, 0, 0, 0, 0).unwrap_or(0)),
                Value::String("Engine".into()),
                Value::String(format!("KustoEmulator_{}", ctx.version)),
            ]],
        )]);
    }
    if c.word("databases") {
        c.end()?;
        let rows = ctx
            .store
            .database_names()
            .into_iter()
            .map(|name| {
                let id = Uuid::from_u128(fnv128(&name.to_lowercase()));
                vec![
                    Value::String(name.clone()),
                    Value::String("volatile".into()),
                    Value::String("v1.0".into()),
                    Value::Bool(name.eq_ignore_ascii_case(ctx.db)),
                    Value::String("ReadWrite".into()),
                    Value::String(String::new()),
                    Value::Bool(false),
                    Value::Guid(id),
                    Value::String(String::new()),
                ]
            })
            .collect();
        return Ok(vec![V1Table::new(
            &[
                ("DatabaseName", KustoType::String),
                ("PersistentStorage", KustoType::String),
                ("Version", KustoType::String),
                ("IsCurrent", KustoType::Bool),
                ("DatabaseAccessMode", KustoType::String),
                ("PrettyName", KustoType::String),
                ("ReservedSlot1", KustoType::Bool),
                ("DatabaseId", KustoType::Guid),
                ("InTransitionTo", KustoType::String),
            ],
            rows,
        )]);
    }
    if c.word("tables") {
        c.word("details");
        c.end()?;
        let names = ctx.store.table_names(ctx.db).map_err(|e| store_error(&e))?;
        return Ok(vec![V1Table::new(
            &[
                ("TableName", KustoType::String),
                ("DatabaseName", KustoType::String),
                ("Folder", KustoType::String),
                ("DocString", KustoType::String),
            ],
            names
                .into_iter()
                .map(|n| {
                    vec![
                        Value::String(n),
                        Value::String(ctx.db.into()),
                        Value::String(String::new()),
                        Value::String(String::new()),
                    ]
                })
                .collect(),
        )]);
    }
    if c.word("ingestion") {
        if c.word("resources") {
            c.with_properties()?;
            c.end()?;
            return ingestion_resources(ctx);
        }
        c.expect_word("failures")?;
        c.end()?;
        return Ok(vec![ingestion_failures(ctx.store)]);
    }
    if c.word("streamingingestion") {
        c.expect_word("failures")?;
        c.end()?;
        return Ok(vec![streaming_failures(ctx.store)]);
    }
    if c.word("database") {
        let name = match c.peek() {
            Tok::Ident(w) if w == "policy" => ctx.db.to_string(),
            _ => c.name()?,
        };
        c.expect_word("policy")?;
        c.expect_word("streamingingestion")?;
        c.end()?;
        let policy = ctx
            .store
            .database_streaming_policy(&name)
            .map_err(|e| store_error(&e))?;
        return Ok(policy_result(ctx, "Database", &name, policy));
    }
    c.expect_word("table")?;
    let table = c.name()?;
    if c.word("schema") {
        c.expect_word("as")?;
        c.expect_word("json")?;
        c.end()?;
        let columns = ctx
            .store
            .table_schema(ctx.db, &table)
            .map_err(|e| store_error(&e))?;
        return Ok(table_schema_result(
            ctx,
            &table,
            schema_json(&table, &columns),
        ));
    }
    if c.word("cslschema") {
        c.end()?;
        let columns = ctx
            .store
            .table_schema(ctx.db, &table)
            .map_err(|e| store_error(&e))?;
        let schema = columns
            .iter()
            .map(|c| format!("{}:{}", c.name, c.ty))
            .collect::<Vec<_>>()
            .join(",");
        return Ok(table_schema_result(ctx, &table, schema));
    }
    if c.word("policy") {
        c.expect_word("streamingingestion")?;
        c.end()?;
        let (policy, _) = ctx
            .store
            .streaming_policies(ctx.db, &table)
            .map_err(|e| store_error(&e))?;
        return Ok(policy_result(ctx, "Table", &table, policy));
    }
    c.expect_word("ingestion")?;
    let kind = match c.peek().clone() {
        Tok::Ident(w) if w != "mappings" => {
            c.pos += 1;
            Some(MappingKind::parse(&w).ok_or_else(|| c.syntax())?)
        }
        _ => None,
    };
    c.expect_word("mappings")?;
    c.end()?;
    let mappings = ctx
        .store
        .mappings(ctx.db, &table, kind)
        .map_err(|e| store_error(&e))?;
    Ok(mappings_result(ctx, &table, &mappings))
}

fn create(
    ctx: &CommandContext<'_>,
    c: &mut Cursor<'_>,
    merge: bool,
) -> Result<Vec<V1Table>, ServiceError> {
    if c.word("database") {
        let name = c.name()?;
        if c.word("persist") {
            while *c.peek() != Tok::Eof && !matches!(c.peek(), Tok::Ident(w) if w == "ifnotexists")
            {
                c.pos += 1;
            }
        } else {
            c.word("volatile");
        }
        c.word("ifnotexists");
        c.end()?;
        let canonical = ctx
            .store
            .ensure_database(&name)
            .map_err(|e| store_error(&e))?;
        return Ok(vec![V1Table::new(
            &[
                ("DatabaseName", KustoType::String),
                ("PersistentStorage", KustoType::String),
                ("Version", KustoType::String),
                ("IsCurrent", KustoType::Bool),
                ("DatabaseAccessMode", KustoType::String),
                ("PrettyName", KustoType::String),
                ("DatabaseId", KustoType::Guid),
            ],
            vec![vec![
                Value::String(canonical.clone()),
                Value::String("volatile".into()),
                Value::String("v1.0".into()),
                Value::Bool(false),
                Value::String("ReadWrite".into()),
                Value::String(String::new()),
                Value::Guid(Uuid::from_u128(fnv128(&canonical.to_lowercase()))),
            ]],
        )]);
    }
    c.expect_word("table")?;
    let table = c.name()?;
    if c.word("ingestion") {
        let kind_word = c.name()?;
        let kind = MappingKind::parse(&kind_word).ok_or_else(|| c.syntax())?;
        c.expect_word("mapping")?;
        let name = c.name()?;
        let text = c.string()?;
        c.end()?;
        let elements = parse_mapping(&text, kind).map_err(|m| {
            ServiceError::new(
                400,
                "BadRequest_InvalidMapping",
                "Kusto.Data.Exceptions.MappingNotValidException",
                format!("Mapping '{name}' is not valid: {m}"),
                true,
            )
        })?;
        let mapping = IngestionMapping {
            name: name.clone(),
            kind,
            text: mapping_to_text(&elements),
            elements,
            last_updated: ctx.now,
        };
        ctx.store
            .create_mapping(ctx.db, &table, mapping.clone())
            .map_err(|e| store_error(&e))?;
        return Ok(mappings_result(ctx, &table, &[mapping]));
    }
    let columns = column_list(c)?;
    c.with_properties()?;
    c.end()?;
    let result = ctx
        .store
        .create_table(ctx.db, &table, &columns, merge)
        .map_err(|e| store_error(&e))?;
    Ok(table_schema_result(
        ctx,
        &table,
        schema_json(&table, &result),
    ))
}

fn drop(ctx: &CommandContext<'_>, c: &mut Cursor<'_>) -> Result<Vec<V1Table>, ServiceError> {
    if c.word("database") {
        let name = c.name()?;
        let if_exists = c.word("ifexists");
        c.end()?;
        if !ctx.store.drop_database(&name) && !if_exists {
            return Err(store_error(&StoreError::DatabaseNotFound(name)));
        }
        return Ok(vec![V1Table::new(
            &[("DatabaseName", KustoType::String)],
            vec![vec![Value::String(name)]],
        )]);
    }
    c.expect_word("table")?;
    let table = c.name()?;
    if c.word("ingestion") {
        let kind = MappingKind::parse(&c.name()?).ok_or_else(|| c.syntax())?;
        c.expect_word("mapping")?;
        let name = c.name()?;
        c.end()?;
        let dropped = ctx
            .store
            .drop_mapping(ctx.db, &table, &name, kind)
            .map_err(|e| store_error(&e))?;
        if !dropped {
            return Err(ServiceError::new(
                400,
                "BadRequest_MappingReferenceWasNotFound",
                "Kusto.Data.Exceptions.MappingNotFoundException",
                format!("Entity ID '{name}' of kind 'MappingPersistent' was not found."),
                true,
            ));
        }
        let rest = ctx
            .store
            .mappings(ctx.db, &table, None)
            .map_err(|e| store_error(&e))?;
        return Ok(mappings_result(ctx, &table, &rest));
    }
    let if_exists = c.word("ifexists");
    c.end()?;
    ctx.store
        .drop_table(ctx.db, &table, if_exists)
        .map_err(|e| store_error(&e))?;
    let names = ctx.store.table_names(ctx.db).map_err(|e| store_error(&e))?;
    Ok(vec![V1Table::new(
        &[
            ("TableName", KustoType::String),
            ("DatabaseName", KustoType::String),
        ],
        names
            .into_iter()
            .map(|n| vec![Value::String(n), Value::String(ctx.db.into())])
            .collect(),
    )])
}

fn alter(ctx: &CommandContext<'_>, c: &mut Cursor<'_>) -> Result<Vec<V1Table>, ServiceError> {
    let (kind, name) = entity(c)?;
    c.expect_word("policy")?;
    c.expect_word("streamingingestion")?;
    let enabled = if c.word("enable") {
        true
    } else if c.word("disable") {
        false
    } else {
        let text = c.string()?;
        let json: Json = serde_json::from_str(&text).map_err(|e| {
            ServiceError::bad_request(format!(
                "The streaming ingestion policy is not valid JSON: {e}"
            ))
        })?;
        json.as_object()
            .and_then(|o| crate::mapping::get_ci(o, "IsEnabled"))
            .and_then(Json::as_bool)
            .ok_or_else(|| {
                ServiceError::bad_request(
                    "The streaming ingestion policy must have a boolean 'IsEnabled'",
                )
            })?
    };
    c.end()?;
    set_policy(ctx, kind, &name, Some(enabled))
}

#[cfg(test)]
mod tests {
    use super::extents::split_word;
    use super::*;

    fn context(store: &Store) -> CommandContext<'_> {
        CommandContext {
            store,
            db: "Emu",
            activity_id: Uuid::nil(),
            now: time::now_ticks(),
            version: "0.0.0",
            dm: None,
        }
    }

    fn store() -> Store {
        let store = Store::new();
        store.ensure_database("Emu").unwrap();
        store
    }

    #[test]
    fn split_word_does_not_slice_inside_a_character() {
        // Regression: `lower[i..]` panicked when `i` was the second byte of `é`.
        assert_eq!(split_word(".create table Café (a:long)", "where"), None);
        assert_eq!(
            split_word(".show table Café extents where tags has 'é'", "where"),
            Some((".show table Café extents ", " tags has 'é'"))
        );
        assert_eq!(
            split_word("Ünïcödé WHERE x", "where"),
            Some(("Ünïcödé ", " x"))
        );
        // Inside quotes, or glued to a (non-ASCII) letter, it is not the word.
        assert_eq!(split_word("'where' éwhere whereé", "where"), None);
        assert_eq!(split_word("😀where", "where"), None);
        assert_eq!(split_word("😀 where", "where"), Some(("😀 ", "")));
    }

    #[test]
    fn a_table_with_a_non_ascii_name_is_created_and_listed() {
        let store = store();
        let ctx = context(&store);
        let tables = execute(&ctx, ".create table Café (a:long, Größe:string)").unwrap();
        assert_eq!(tables[0].rows[0][0], Value::String("Café".into()));
        execute(&ctx, ".ingest inline into table Café <| 1,groß").unwrap();
        assert_eq!(store.snapshot("Emu", "Café").unwrap().rows.len(), 1);
        let extents = execute(&ctx, ".show table Café extents where tags !has 'ü'").unwrap();
        assert_eq!(extents[0].rows.len(), 1);
        let dropped = execute(
            &ctx,
            ".drop extents <| .show table Café extents where tags !has 'ü'",
        )
        .unwrap();
        assert_eq!(dropped[0].rows.len(), 1);
    }

    /// Every command, with a multi-byte character inserted at every character boundary (and
    /// cut at every boundary), is answered with a result or an error, never a panic.
    #[test]
    fn no_command_panics_on_multi_byte_characters() {
        let commands = [
            ".create table T (a:long, b:string)",
            ".create-merge table T (c:real) with (folder='x')",
            ".show table T extents where tags has 'x' and tags !contains \"y\"",
            ".drop extents <| .show table T extents where tags has 'x'",
            ".ingest inline into table T with (format='csv') <| 1,x",
            ".create table T ingestion csv mapping 'm' '[{\"column\":\"a\",\"Properties\":{\"Ordinal\":\"0\"}}]'",
            ".alter table T policy streamingingestion '{\"IsEnabled\":true}'",
            ".show table T schema as json",
            ".show tables",
            ".clear table T data",
            ".drop table T ifexists",
        ];
        for command in commands {
            for insert in ["é", "€", "😀", "\u{301}"] {
                let boundaries: Vec<usize> = command
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([command.len()])
                    .collect();
                for &at in &boundaries {
                    let variant = format!("{}{insert}{}", &command[..at], &command[at..]);
                    let cut = format!("{}{insert}", &command[..at]);
                    for text in [variant, cut] {
                        let store = store();
                        let ctx = context(&store);
                        let _ = execute(&ctx, ".create table T (a:long, b:string)");
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                let _ = execute(&ctx, &text);
                            }));
                        assert!(outcome.is_ok(), "panicked on {text:?}");
                    }
                }
            }
        }
    }
}
