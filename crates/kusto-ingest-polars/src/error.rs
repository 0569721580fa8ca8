//! The crate's error type.

use thiserror::Error;

/// A `Result` with this crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a frame could not be ingested or a result could not become a frame.
///
/// Every problem with the frame itself (a type Kusto cannot hold, a value outside Kusto's
/// range, a column that does not match the table) is found before anything is uploaded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A column's Polars type has no Kusto counterpart (or is refused by the options).
    #[error("column '{column}' has the Polars type {dtype}, which cannot be ingested: {reason}")]
    UnsupportedType {
        /// The column (a path such as `a.b` inside structs).
        column: String,
        /// The Polars type.
        dtype: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A value cannot be represented in Kusto (for example a datetime before year 1, or an
    /// unsigned integer above the largest `long`).
    #[error("column '{column}': {message}")]
    OutOfRange {
        /// The column.
        column: String,
        /// The value and the limit.
        message: String,
    },
    /// The frame does not match the table schema it was checked against.
    #[error("the frame does not match the table: {0}")]
    SchemaMismatch(String),
    /// An argument or option is not valid.
    #[error("{0}")]
    InvalidArgument(String),
    /// A query result cannot become a frame.
    #[error("column '{column}' cannot become a Polars column: {message}")]
    Conversion {
        /// The result column.
        column: String,
        /// Why.
        message: String,
    },
    /// Writing the encoded frame failed (the reader or writer it goes to failed or stopped).
    #[error("writing the frame failed: {0}")]
    Write(#[source] std::io::Error),
    /// An error from Polars.
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// An error from the ingestion.
    #[error(transparent)]
    Ingest(#[from] kusto_ingest::Error),
    /// An error from the query client or its result model.
    #[error(transparent)]
    Data(#[from] kusto_data::Error),
}
