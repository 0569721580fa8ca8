//! The KQL subset the emulator runs: a table (or `print`), piped through `count`, `take`/`limit`,
//! `project`, `project-away` (names and `*` wildcards), `project-rename`, `extend`, `where`,
//! `order by`/`sort by`, `top N by`, `distinct` and `summarize`, with `declare
//! query_parameters(...)` bound to the request's parameters (kusto-protocol.md 10.4).
//!
//! Scalar expressions: literals, columns, parameters; `==`, `!=`, `<`, `<=`, `>`, `>=`, `=~`,
//! `!~`; the string operators `contains`, `startswith`, `endswith` and `has` (whole terms), each
//! with its case-sensitive `_cs` and negated `!` forms; `in`, `!in`, `in~`, `!in~`; `and`, `or`,
//! `not()`; arithmetic `+ - * / %` and unary `-` with KQL's typing (int, long and real promote to
//! the wider type; datetime and timespan combine as `datetime - datetime = timespan`, `datetime ±
//! timespan`, `timespan * number`, `timespan / number`, `timespan / timespan = real`; integer
//! division by zero is null); `isnull`, `isnotnull`, `isempty`, `isnotempty`, `now()`, `ago()`,
//! `ingestion_time()` (when the row's extent was ingested; null once `project`, `summarize`,
//! `distinct` or `count` made new rows) and the `to*()` conversions.
//!
//! Anything else is rejected with the error shapes of a real cluster: a syntax error
//! (`SYN0002`, with line, position and token) for text that is not KQL, a semantic error naming
//! the operator or function for KQL the emulator does not implement.

mod eval;
mod lexer;
mod parser;
mod tabular;

pub(crate) use eval::ResultTable;
pub(crate) use eval::{run, run_script};
pub(crate) use lexer::{Tok, Token, tokenize_with};

/// Error code used for semantic errors that have no recorded real-service code: KQL features the
/// emulator does not implement, type mismatches, bad parameter values.
pub(crate) const SEM_UNSUPPORTED: &str = "SEM0001";

/// Real KQL operators (and statements) that the emulator does not implement: they get a semantic
/// error naming them instead of a syntax error.
pub(crate) const UNSUPPORTED_OPERATORS: [&str; 35] = [
    "as",
    "consume",
    "evaluate",
    "externaldata",
    "facet",
    "find",
    "fork",
    "getschema",
    "invoke",
    "join",
    "lookup",
    "make-series",
    "mv-apply",
    "mv-expand",
    "parse",
    "parse-where",
    "parse-kv",
    "partition",
    "project-keep",
    "project-reorder",
    "reduce",
    "render",
    "sample",
    "sample-distinct",
    "scan",
    "search",
    "serialize",
    "top-hitters",
    "top-nested",
    "union",
    "range",
    "datatable",
    "materialize",
    "macro-expand",
    "summarize-bin",
];

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

    pub(crate) fn unsupported(what: &str) -> Self {
        KqlError::semantic(
            SEM_UNSUPPORTED,
            format!(
                "{what} is not supported by the Kusto emulator (it runs count, take, limit, \
                 project, project-away, project-rename, extend, where, order by, sort by, top, \
                 distinct, summarize and print)"
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
