//! Management ("dot") commands, answered in the v1 format (kusto-protocol.md 4.1 and 4.2).

use serde_json::Value as Json;
use uuid::Uuid;

use crate::dm::DataManagement;
use crate::errors::ServiceError;
use crate::ingest::{self, DataFormat, IngestRequest};
use crate::kql::{Tok, tokenize_with};
use crate::mapping::{IngestionMapping, MappingKind, mapping_to_text, parse_mapping};
use crate::store::{Column, Extent, FailureKind, IngestionFailure, Store, StoreError};
use crate::time;
use crate::v1::V1Table;
use crate::value::{KustoType, Value};

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

struct Cursor<'a> {
    tokens: Vec<crate::kql::Token>,
    pos: usize,
    command: &'a str,
}

impl Cursor<'_> {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn syntax(&self) -> ServiceError {
        ServiceError::command_syntax(self.command, "")
    }

    fn word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Tok::Ident(x) if x.eq_ignore_ascii_case(w)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<(), ServiceError> {
        if self.word(w) {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    fn punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Tok::Punct(x) if *x == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), ServiceError> {
        if self.punct(p) {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    fn name(&mut self) -> Result<String, ServiceError> {
        match self.peek().clone() {
            Tok::Ident(s) | Tok::QuotedIdent(s) | Tok::Str(s) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.syntax()),
        }
    }

    fn string(&mut self) -> Result<String, ServiceError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.syntax()),
        }
    }

    fn end(&self) -> Result<(), ServiceError> {
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    /// `with (k=v, ...)` → pairs with lower-cased keys.
    fn with_properties(&mut self) -> Result<Vec<(String, String)>, ServiceError> {
        let mut out = Vec::new();
        if !self.word("with") {
            return Ok(out);
        }
        self.expect_punct("(")?;
        loop {
            let key = self.name()?.to_ascii_lowercase();
            self.expect_punct("=")?;
            let value = match self.peek().clone() {
                Tok::Str(s) | Tok::Ident(s) | Tok::QuotedIdent(s) => s,
                Tok::Long(l) => l.to_string(),
                Tok::Real(r) => r.to_string(),
                Tok::Typed(n, raw) => format!("{n}({raw})"),
                _ => return Err(self.syntax()),
            };
            self.pos += 1;
            out.push((key, value));
            if self.punct(")") {
                return Ok(out);
            }
            self.expect_punct(",")?;
        }
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

fn data_management<'a>(ctx: &CommandContext<'a>) -> Result<&'a DataManagement, ServiceError> {
    ctx.dm.ok_or_else(|| {
        ServiceError::new(
            400,
            "BadRequest_NotSupported",
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "Queued ingestion is not available: this Kusto emulator runs without storage. Start it \
             with Azurite (EmulatorBuilder::azurite, or kusto-emulator --azurite) to get ingestion \
             resources.",
            true,
        )
    })
}

/// `.get ingestion resources` / `.show ingestion resources` (kusto-protocol.md 6.2).
fn ingestion_resources(ctx: &CommandContext<'_>) -> Result<Vec<V1Table>, ServiceError> {
    let dm = data_management(ctx)?;
    let rows = dm
        .resources()
        .iter()
        .map(|r| {
            vec![
                Value::String(r.kind.to_owned()),
                Value::String(r.url.to_string()),
            ]
        })
        .collect();
    Ok(vec![V1Table::new(
        &[
            ("ResourceTypeName", KustoType::String),
            ("StorageRoot", KustoType::String),
        ],
        rows,
    )])
}

/// A condition of `.show table T extents where tags ...`.
#[derive(Debug, Clone, PartialEq)]
struct TagCondition {
    contains: bool,
    negated: bool,
    value: String,
}

impl TagCondition {
    fn matches(&self, extent: &Extent) -> bool {
        let value = self.value.to_lowercase();
        let found = extent.tags.iter().any(|tag| {
            let tag = tag.to_lowercase();
            if self.contains {
                tag.contains(&value)
            } else {
                tag == value
            }
        });
        found != self.negated
    }
}

/// Splits `text` at the first whole word `word` (ASCII case-insensitive) outside quotes.
///
/// `word` is ASCII. The scan compares bytes, never slices `text` at an arbitrary byte: a
/// multi-byte character (`.create table Café ...`) is skipped byte by byte, and a match can only
/// start on an ASCII byte, which is always a character boundary. A word touching a non-ASCII
/// letter (`éwhere`) is part of a longer identifier, not the word.
fn split_word<'t>(text: &'t str, word: &str) -> Option<(&'t str, &'t str)> {
    let bytes = text.as_bytes();
    let word = word.as_bytes();
    // Any byte of a non-ASCII character counts as part of an identifier (Kusto identifiers may
    // contain Unicode letters).
    let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || !b.is_ascii();
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if bytes
                .get(i..i + word.len())
                .is_some_and(|candidate| candidate.eq_ignore_ascii_case(word))
                && (i == 0 || !is_word_byte(bytes[i - 1]))
                && bytes.get(i + word.len()).is_none_or(|n| !is_word_byte(*n)) =>
            {
                return Some((text.get(..i)?, text.get(i + word.len()..)?));
            }
            None => {}
        }
    }
    None
}

/// Parses `tags has|!has|contains|!contains 'value' [and ...]`.
fn tag_conditions(text: &str, command: &str) -> Result<Vec<TagCondition>, ServiceError> {
    let syntax = || ServiceError::command_syntax(command, "");
    let mut conditions = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let after = rest
            .get(..4)
            .filter(|w| w.eq_ignore_ascii_case("tags"))
            .map(|_| rest[4..].trim_start())
            .ok_or_else(syntax)?;
        let op_end = after
            .find(|c: char| c.is_whitespace() || c == '\'' || c == '"')
            .ok_or_else(syntax)?;
        let (contains, negated) = match after[..op_end].to_ascii_lowercase().as_str() {
            "has" => (false, false),
            "!has" => (false, true),
            "contains" => (true, false),
            "!contains" => (true, true),
            _ => return Err(syntax()),
        };
        let literal = after[op_end..].trim_start();
        let quote = literal
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(syntax)?;
        let close = literal[1..].find(quote).ok_or_else(syntax)? + 1;
        conditions.push(TagCondition {
            contains,
            negated,
            value: literal[1..close].to_owned(),
        });
        rest = literal[close + 1..].trim_start();
        if rest.is_empty() {
            return Ok(conditions);
        }
        rest = rest
            .get(..3)
            .filter(|w| w.eq_ignore_ascii_case("and"))
            .map(|_| rest[3..].trim_start())
            .ok_or_else(syntax)?;
    }
}

/// Parses `.show table T extents [where tags ...]`: the table and the conditions.
fn parse_show_extents(
    text: &str,
    command: &str,
) -> Result<Option<(String, Vec<TagCondition>)>, ServiceError> {
    let (head, filter) = match split_word(text, "where") {
        Some((head, filter)) => (head, Some(filter)),
        None => (text, None),
    };
    let Ok(tokens) = tokenize_with(head, false) else {
        return Ok(None);
    };
    let mut c = Cursor {
        tokens,
        pos: 0,
        command,
    };
    if !(c.punct(".") && c.word("show") && c.word("table")) {
        return Ok(None);
    }
    let Ok(table) = c.name() else {
        return Ok(None);
    };
    if !c.word("extents") {
        return Ok(None);
    }
    c.end()?;
    let conditions = match filter {
        Some(filter) => tag_conditions(filter, command)?,
        None => Vec::new(),
    };
    Ok(Some((table, conditions)))
}

/// `.show table T extents [where tags ...]` and `.drop extents <| .show table T extents where
/// tags ...`; `None` for any other command.
fn extents_command(
    ctx: &CommandContext<'_>,
    command: &str,
) -> Option<Result<Vec<V1Table>, ServiceError>> {
    let drop = match command.split_once("<|") {
        Some((head, tail)) => {
            let words: Vec<String> = head
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect();
            if words != [".drop", "extents"] {
                return None;
            }
            Some(tail.trim())
        }
        None => None,
    };
    let show = drop.unwrap_or(command);
    let parsed = match parse_show_extents(show, command) {
        Ok(Some(parsed)) => parsed,
        Ok(None) if drop.is_some() => return Some(Err(ServiceError::command_syntax(command, ""))),
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    let (table, conditions) = parsed;
    let selected = |e: &Extent| conditions.iter().all(|c| c.matches(e));
    Some(if drop.is_some() {
        ctx.store
            .drop_extents(ctx.db, &table, selected)
            .map_err(|e| store_error(&e))
            .map(|dropped| {
                vec![V1Table::new(
                    &[
                        ("ExtentId", KustoType::Guid),
                        ("TableName", KustoType::String),
                        ("CreatedOn", KustoType::DateTime),
                    ],
                    dropped
                        .into_iter()
                        .map(|e| {
                            vec![
                                Value::Guid(e.id),
                                Value::String(table.clone()),
                                Value::DateTime(e.created_on),
                            ]
                        })
                        .collect(),
                )]
            })
    } else {
        ctx.store
            .extents(ctx.db, &table)
            .map_err(|e| store_error(&e))
            .map(|extents| {
                vec![V1Table::new(
                    &[
                        ("ExtentId", KustoType::Guid),
                        ("DatabaseName", KustoType::String),
                        ("TableName", KustoType::String),
                        ("MaxCreatedOn", KustoType::DateTime),
                        ("RowCount", KustoType::Long),
                        ("MinCreatedOn", KustoType::DateTime),
                        ("Tags", KustoType::String),
                    ],
                    extents
                        .into_iter()
                        .filter(|e| selected(e))
                        .map(|e| {
                            vec![
                                Value::Guid(e.id),
                                Value::String(ctx.db.to_owned()),
                                Value::String(table.clone()),
                                Value::DateTime(e.created_on),
                                Value::Long(i64::try_from(e.row_count).unwrap_or(i64::MAX)),
                                Value::DateTime(e.created_on),
                                Value::String(e.tags.join("\r\n")),
                            ]
                        })
                        .collect(),
                )]
            })
    })
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

fn schema_json(table: &str, columns: &[Column]) -> String {
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

fn table_schema_result(ctx: &CommandContext<'_>, table: &str, schema: String) -> Vec<V1Table> {
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

fn mappings_result(
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

fn policy_text(enabled: Option<bool>) -> Value {
    match enabled {
        Some(e) => Value::String(format!("{{\"IsEnabled\":{e},\"HintAllocatedRate\":null}}")),
        None => Value::Null,
    }
}

fn policy_result(
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

fn fnv128(text: &str) -> u128 {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in text.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    hash
}

fn ingestion_failures(store: &Store) -> V1Table {
    V1Table::new(
        &[
            ("OperationId", KustoType::Guid),
            ("Database", KustoType::String),
            ("Table", KustoType::String),
            ("FailedOn", KustoType::DateTime),
            ("IngestionSourcePath", KustoType::String),
            ("Details", KustoType::String),
            ("FailureKind", KustoType::String),
            ("RootActivityId", KustoType::Guid),
            ("OperationKind", KustoType::String),
            ("OriginatesFromUpdatePolicy", KustoType::Bool),
            ("ErrorCode", KustoType::String),
            ("Principal", KustoType::String),
            ("ShouldRetry", KustoType::Bool),
            ("User", KustoType::String),
            ("IngestionProperties", KustoType::String),
            ("NumberOfSources", KustoType::Int),
        ],
        store
            .ingestion_failures()
            .into_iter()
            .map(|f| {
                vec![
                    Value::Guid(f.operation_id),
                    Value::String(f.database),
                    Value::String(f.table),
                    Value::DateTime(f.failed_on),
                    Value::String(f.ingestion_source_path),
                    Value::String(f.details),
                    Value::String(f.failure_kind.as_str().into()),
                    Value::Guid(f.root_activity_id),
                    Value::String(f.operation_kind),
                    Value::Bool(false),
                    Value::String(f.error_code),
                    Value::String(String::new()),
                    Value::Bool(f.should_retry),
                    Value::String(String::new()),
                    Value::String(f.ingestion_properties),
                    Value::Int(1),
                ]
            })
            .collect(),
    )
}

fn streaming_failures(store: &Store) -> V1Table {
    V1Table::new(
        &[
            ("Database", KustoType::String),
            ("Table", KustoType::String),
            ("Principal", KustoType::String),
            ("RootActivityId", KustoType::Guid),
            ("IngestionProperties", KustoType::Dynamic),
            ("Count", KustoType::Long),
            ("FirstFailureOn", KustoType::DateTime),
            ("LastFailureOn", KustoType::DateTime),
            ("FailureKind", KustoType::String),
            ("ErrorCode", KustoType::String),
            ("Details", KustoType::String),
        ],
        store
            .ingestion_failures()
            .into_iter()
            .filter(|f| f.operation_kind == "StreamingIngestion")
            .map(|f| {
                vec![
                    Value::String(f.database),
                    Value::String(f.table),
                    Value::String(String::new()),
                    Value::Guid(f.root_activity_id),
                    Value::Dynamic(
                        serde_json::from_str(&f.ingestion_properties).unwrap_or(Json::Null),
                    ),
                    Value::Long(1),
                    Value::DateTime(f.failed_on),
                    Value::DateTime(f.failed_on),
                    Value::String(f.failure_kind.as_str().into()),
                    Value::String(f.error_code),
                    Value::String(f.details),
                ]
            })
            .collect(),
    )
}

fn column_list(c: &mut Cursor<'_>) -> Result<Vec<Column>, ServiceError> {
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

fn set_policy(
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

fn ingest_inline(
    ctx: &CommandContext<'_>,
    c: &mut Cursor<'_>,
    data: &str,
) -> Result<Vec<V1Table>, ServiceError> {
    c.expect_word("inline")?;
    c.expect_word("into")?;
    c.expect_word("table")?;
    let table = c.name()?;
    let props = c.with_properties()?;
    c.end()?;
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let format_name = get("format").unwrap_or_else(|| "csv".into());
    let format = DataFormat::parse(&format_name).ok_or_else(|| {
        ServiceError::new(
            400,
            "BadRequest_FormatNotSupported",
            "Kusto.Data.Exceptions.FormatNotSupportedException",
            format!("The format '{format_name}' is not a known data format"),
            true,
        )
    })?;
    let mapping = match (get("ingestionmapping"), get("ingestionmappingreference")) {
        (Some(text), _) => Some(parse_mapping(&text, format.mapping_kind()).map_err(|m| {
            ServiceError::new(
                400,
                "BadRequest_InvalidMapping",
                "Kusto.Data.Exceptions.MappingNotValidException",
                m,
                true,
            )
        })?),
        (None, Some(name)) => Some(
            ctx.store
                .find_mapping(ctx.db, &table, &name, Some(format.mapping_kind()))
                .map_err(|e| store_error(&e))?
                .ok_or_else(|| {
                    ServiceError::new(
                        400,
                        "BadRequest_MappingReferenceWasNotFound",
                        "Kusto.Data.Exceptions.MappingNotFoundException",
                        format!("Entity ID '{name}' of kind 'MappingPersistent' was not found."),
                        true,
                    )
                })?
                .elements,
        ),
        _ => None,
    };
    let body = data.trim_start_matches([' ', '\t']);
    let body = body
        .strip_prefix("\r\n")
        .or_else(|| body.strip_prefix('\n'))
        .unwrap_or(body);
    let ignore_first = get("ignorefirstrecord").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    ctx.store
        .table_schema(ctx.db, &table)
        .map_err(|e| store_error(&e))?;
    let request = IngestRequest {
        database: ctx.db,
        table: &table,
        format,
        data: body.as_bytes(),
        mapping: mapping.as_deref(),
        ignore_first_record: ignore_first,
        source: "inline",
    };
    let operation_id = Uuid::new_v4();
    let properties =
        serde_json::json!({"Format": format_name, "IgnoreFirstRecord": ignore_first}).to_string();
    let record = |code: &str, details: String, kind: FailureKind| {
        ctx.store.record_ingestion_failure(IngestionFailure {
            operation_id,
            database: ctx.db.to_string(),
            table: table.clone(),
            failed_on: time::now_ticks(),
            ingestion_source_path: "inline".into(),
            details,
            failure_kind: kind,
            root_activity_id: ctx.activity_id,
            operation_kind: "DataIngestPull".into(),
            error_code: code.to_string(),
            should_retry: kind == FailureKind::Transient,
            ingestion_properties: properties.clone(),
        });
    };
    match ingest::ingest(ctx.store, &request) {
        Ok(outcome) => {
            if !outcome.skipped.is_empty() {
                record(
                    "BadRequest_UnexpectedCharacterInInputStream",
                    format!("Skipped malformed records: {}", outcome.skipped.join("; ")),
                    FailureKind::Permanent,
                );
            }
            Ok(vec![V1Table::new(
                &[
                    ("ExtentId", KustoType::Guid),
                    ("ItemLoaded", KustoType::String),
                    ("Duration", KustoType::TimeSpan),
                    ("HasErrors", KustoType::Bool),
                    ("OperationId", KustoType::Guid),
                ],
                vec![vec![
                    Value::Guid(Uuid::new_v4()),
                    Value::String("inline".into()),
                    Value::TimeSpan(time::now_ticks().saturating_sub(ctx.now).max(0)),
                    Value::Bool(!outcome.skipped.is_empty()),
                    Value::Guid(operation_id),
                ]],
            )])
        }
        Err(failure) => {
            record(
                failure.code,
                failure.details.clone(),
                FailureKind::Permanent,
            );
            let mut e = ServiceError::bad_request(format!(
                "Ingestion failed ({}): {}",
                failure.code, failure.details
            ));
            e.code = failure.code.to_string();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
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
