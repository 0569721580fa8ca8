//! `.show table T extents [where tags ...]` and `.drop extents <| ...`.

use super::cursor::Cursor;
use super::{CommandContext, store_error};
use crate::errors::ServiceError;
use crate::kql::tokenize_with;
use crate::store::Extent;
use crate::v1::V1Table;
use crate::value::{KustoType, Value};

/// A condition of `.show table T extents where tags ...`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TagCondition {
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
pub(super) fn split_word<'t>(text: &'t str, word: &str) -> Option<(&'t str, &'t str)> {
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
pub(super) fn tag_conditions(text: &str, command: &str) -> Result<Vec<TagCondition>, ServiceError> {
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
pub(super) fn parse_show_extents(
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
pub(super) fn extents_command(
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
