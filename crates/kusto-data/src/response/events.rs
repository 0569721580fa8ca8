//! Events produced by the streaming v2 parser.

use std::sync::Arc;

use crate::error::OneApiError;

use super::table::{Column, KustoTable, Row, TableKind};

/// `DataSetHeader`: the first frame of a v2 response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DataSetHeader {
    /// `Version`, e.g. `v2.0`.
    pub version: String,
    /// `IsProgressive`.
    pub is_progressive: bool,
    /// `IsFragmented` (absent on older servers: `false`).
    pub is_fragmented: bool,
    /// `ErrorReportingPlacement` (`InData`, `EndOfTable`, `EndOfDataset`), when sent.
    pub error_reporting_placement: Option<String>,
}

/// `DataSetCompletion`: the last frame of a v2 response.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct DataSetCompletion {
    /// `HasErrors`.
    pub has_errors: bool,
    /// `Cancelled`.
    pub cancelled: bool,
    /// `OneApiErrors`.
    pub errors: Vec<OneApiError>,
}

/// The start of a table: a `DataTable` frame (its metadata) or a `TableHeader` frame.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TableHeader {
    /// `TableId`.
    pub table_id: i64,
    /// `TableKind`.
    pub kind: TableKind,
    /// `TableName`.
    pub name: String,
    /// `Columns`, shared with every batch of the table.
    pub columns: Arc<[Column]>,
    /// True for `TableHeader` (rows follow in `TableFragment` frames), false for `DataTable`.
    pub fragmented: bool,
}

/// The end of a table: the end of a `DataTable` frame or a `TableCompletion` frame.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TableCompletion {
    /// `TableId`.
    pub table_id: i64,
    /// Rows delivered for the table (after `DataReplace`, the rows of the latest replacement).
    pub rows_received: u64,
    /// `RowCount` of a `TableCompletion` frame (absent for `DataTable`).
    pub row_count: Option<u64>,
    /// `OneApiErrors` of a `TableCompletion` frame (`EndOfTable` error placement).
    pub errors: Vec<OneApiError>,
}

/// What the v2 parser reports, in response order.
///
/// A consumer sees, for each table, [`V2Event::TableStart`], then any number of
/// [`V2Event::Rows`] (each at most the configured batch size), [`V2Event::RowErrors`],
/// [`V2Event::Replace`] and [`V2Event::Progress`], then [`V2Event::TableEnd`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum V2Event {
    /// The `DataSetHeader` frame.
    DataSetHeader(DataSetHeader),
    /// A table starts.
    TableStart(TableHeader),
    /// A batch of typed rows of a table.
    Rows {
        /// The table.
        table_id: i64,
        /// The rows, typed by the table's columns.
        rows: Vec<Row>,
    },
    /// A `DataReplace` fragment starts: **discard every row received so far for this table**;
    /// the rows that follow replace them (progressive mode refines aggregates this way). A
    /// consumer that cannot take rows back (it already wrote them out) should avoid
    /// progressive mode, which is the only mode where the service sends `DataReplace`.
    Replace {
        /// The table.
        table_id: i64,
    },
    /// An error object in place of a row (`InData` error placement). Rows before it are valid;
    /// the response will end with [`Error::PartialFailure`](crate::Error::PartialFailure).
    RowErrors {
        /// The table.
        table_id: i64,
        /// How many rows of the table preceded the error object.
        row_index: u64,
        /// The errors.
        errors: Vec<OneApiError>,
    },
    /// A `TableProgress` frame.
    Progress {
        /// The table.
        table_id: i64,
        /// Percent done, 0 to 100.
        progress: f64,
    },
    /// A batch of rows of a primary result decoded by the columnar path, as an Arrow
    /// [`RecordBatch`](arrow::record_batch::RecordBatch) (schema:
    /// [`arrow_schema`](super::arrow_schema)); only when the path was chosen with
    /// [`V2Parser::set_arrow_output`](super::V2Parser::set_arrow_output) (cargo feature `arrow`).
    #[cfg(feature = "arrow")]
    RecordBatch {
        /// The table.
        table_id: i64,
        /// The rows.
        batch: arrow::record_batch::RecordBatch,
    },
    /// A chunk of rows of a primary result, decoded straight into a column-major
    /// [`KustoTable`] (no [`KustoValue`](crate::types::KustoValue) per cell); only when the
    /// stream was asked for tables with
    /// [`V2EventStream::primary_tables`](super::V2EventStream::primary_tables). The chunks of
    /// one table follow one another; a [`V2Event::Replace`] discards the chunks before it.
    Table {
        /// The table.
        table_id: i64,
        /// The rows of this chunk.
        table: KustoTable,
    },
    /// A table ends.
    TableEnd(TableCompletion),
    /// The `DataSetCompletion` frame.
    DataSetCompletion(DataSetCompletion),
}
