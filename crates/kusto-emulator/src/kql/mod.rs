//! The emulator's KQL engine. A query flows through:
//!
//! ```text
//! text -> lexer.rs (tokens) -> parser/ (syntax tree of ast.rs, with positions)
//!      -> eval/ (statements, let scope, tabular sources)
//!           -> ops/ (one module per operator family), each binding its scalar expressions
//!              with binder/ (names, types, functions and aggregates resolved, semantic errors)
//!              against its input's schema, then evaluating them row by row
//!      -> result tables
//! ```
//!
//! Scalar functions are entries of one registry (`functions/`, a file per family) and
//! aggregates of another (`aggregates/`); value semantics (types, promotion, nulls,
//! conversions, arithmetic, text) are in `scalar.rs`. docs/emulator-kql.md lists what is
//! supported and how to add a function, an operator or a corpus case.

mod aggregates;
mod ast;
mod binder;
mod eval;
mod functions;
mod lexer;
mod literals;
mod ops;
mod params;
mod parser;
#[cfg(test)]
mod readme;
mod scalar;

pub(crate) use eval::ResultTable;
pub(crate) use eval::{run, run_script};
pub(crate) use lexer::{Tok, Token, tokenize_with};

/// Error code used for semantic errors that have no recorded real-service code: KQL features the
/// emulator does not implement, type mismatches, bad parameter values.
pub(crate) const SEM_UNSUPPORTED: &str = "SEM0001";

/// The hidden column that holds the ingestion time of each row of a table (for
/// `ingestion_time()`), present from the table source until an operator makes new rows, and
/// never part of a result.
pub(crate) const INGESTION_TIME_COLUMN: &str = "$IngestionTime";

/// A failure to run a query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum KqlError {
    /// The text is not valid KQL: `SYN0002` at a byte offset, naming the offending token.
    #[error(
        "Syntax error: SYN0002: A recognition error occurred. (offset {offset}, token '{token}')"
    )]
    Syntax {
        /// Byte offset of the offending token in the query text.
        offset: usize,
        /// The offending token's text (`<EOF>` at the end).
        token: String,
    },
    /// The query is KQL but cannot be bound or run.
    #[error("Semantic error: {code}: {message}")]
    Semantic {
        /// `SEM0100` (unresolved name), `SEM0260` (unknown function) or [`SEM_UNSUPPORTED`].
        code: &'static str,
        /// The message (without the `Semantic error: CODE: ` prefix).
        message: String,
    },
}

impl KqlError {
    pub(crate) fn semantic(code: &'static str, message: impl Into<String>) -> Self {
        KqlError::Semantic {
            code,
            message: message.into(),
        }
    }

    /// A real KQL feature the emulator does not run.
    pub(crate) fn unsupported(what: &str) -> Self {
        KqlError::semantic(
            SEM_UNSUPPORTED,
            format!(
                "{what} is not supported by the Kusto emulator (docs/emulator-kql.md lists what \
                 it runs)"
            ),
        )
    }

    /// As [`KqlError::unsupported`], naming the offset where the feature appears.
    pub(crate) fn unsupported_at(what: &str, offset: usize) -> Self {
        KqlError::semantic(
            SEM_UNSUPPORTED,
            format!(
                "{what} is not supported by the Kusto emulator (at offset {offset}; \
                 docs/emulator-kql.md lists what it runs)"
            ),
        )
    }
}

/// Converts a byte offset into the 1-based line and 0-based position within that line.
pub(crate) fn line_and_position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let position = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    (line, position)
}
