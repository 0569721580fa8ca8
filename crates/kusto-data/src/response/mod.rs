//! Query and management responses: the v2 streaming parser, the v1 parser, and the table model.
//!
//! # Layers
//! * [`V2Parser`]: the sans-IO core. Feed it byte chunks as they arrive, take [`V2Event`]s out.
//!   It never holds more than the unconsumed input, the row being assembled and one batch of
//!   rows ([`ParserOptions`]), whatever the result size.
//! * [`V2EventStream`]: the same over any `Stream<Item = Result<Bytes, E>>` (e.g. the reqwest
//!   body stream), with [`V2EventStream::primary_batches`] (a stream of [`RowBatch`]es) and
//!   [`V2EventStream::collect_dataset`] (every table in memory, a [`DataSet`]).
//! * [`parse_v2`] and [`parse_v1`] / [`read_v1`] for bodies already in memory / v1 answers.
//! * Three outputs: the table API ([`KustoTable`], [`RowRef`] typed getters), serde rows
//!   ([`KustoTable::deserialize`], [`RowBatch::deserialize`], see [`de`]) and, with the default
//!   feature `arrow`, Arrow record batches (`KustoTable::to_record_batch`,
//!   `RowBatch::to_record_batch`, see `arrow_batch` for the type mapping).
//! * The columnar path (feature `arrow`): `V2Parser::set_arrow_output` decodes the rows of
//!   primary results straight into Arrow builders, one per column, with no `KustoValue` per
//!   cell, and hands out `V2Event::RecordBatch`; `V2EventStream::primary_record_batches` and
//!   `KustoClient::execute_query_arrow` give the batches as a stream. Same values as
//!   `to_record_batch` over the row path, in less time.
//!
//! # How a collected table holds its data
//! A [`KustoTable`] (what [`parse_v2`], [`parse_v1`], [`read_v1`] and
//! [`V2EventStream::collect_dataset`] build) keeps each column in one typed buffer: fixed-size
//! values with a null bit for `bool`, `int`, `long`, `real`, `decimal`, `datetime`, `timespan`
//! and `guid`; one UTF-8 buffer with an offset per cell for `string`; compact JSON text for
//! `dynamic` and unknown types. A 1,000,000-row result is held in less memory than its JSON body
//! (a `Vec<KustoValue>` per row needed about nine times the body). [`parse_v2`] and
//! [`V2EventStream::collect_dataset`] fill the buffers of primary results straight from the
//! body's bytes (the parser's fast lane), with no [`KustoValue`](crate::types::KustoValue) per
//! cell on the way. The row API reads from the
//! buffers: the typed getters of [`RowRef`] copy fixed-size values and borrow strings;
//! [`RowRef::get`], [`RowRef::values`], [`KustoTable::to_rows`] and
//! [`KustoTable::column_values`] give owned [`KustoValue`](crate::types::KustoValue)s;
//! [`RowRef::get_dynamic`] parses the cell's JSON text on each call and
//! [`RowRef::get_dynamic_json`] borrows the text. A streamed [`RowBatch`] keeps its rows as
//! `Vec<KustoValue>` (its public `rows` field): batches are short-lived and bounded.
//!
//! # Errors inside a successful response
//! The service reports failures that happen after the response started in several places:
//! an error object in place of a row (`InData`), `TableCompletion.OneApiErrors` (`EndOfTable`),
//! `DataSetCompletion.OneApiErrors`/`HasErrors` (`EndOfDataset`), `Cancelled`, and
//! `QueryCompletionInformation` rows with `Level` below 4 (`deferpartialqueryfailures`). All of
//! them end parsing with [`Error::PartialFailure`](crate::Error::PartialFailure) once the whole
//! response was read; it lists every error with its [`ErrorPlacement`] and, for collected
//! results, holds the [`DataSet`] received ([`PartialFailure::data`]).
//!
//! # `DataReplace`
//! In progressive mode a `TableFragment` of type `DataReplace` replaces all rows received so far
//! for its table. The parser emits [`V2Event::Replace`] before the replacing rows, a
//! [`RowBatch`] carries [`RowBatch::replaces_previous`], and [`DataSet`] collection clears the
//! table. A streaming consumer that already wrote rows out must take them back on that signal.

#[cfg(feature = "arrow")]
mod columnar;
mod columns;
mod decode;
pub(crate) mod events;
mod lane;
#[cfg(test)]
mod lane_tests;
pub(crate) mod partial;
mod scan;
pub(crate) mod table;
mod v2;

pub use events::{DataSetCompletion, DataSetHeader, TableCompletion, TableHeader, V2Event};
pub use partial::{ErrorPlacement, PartialError, PartialFailure};
pub use table::{Column, ColumnIndex, KustoTable, Row, RowRef, TableKind};
pub use v2::{DEFAULT_MAX_VALUE_BYTES, ParserOptions, V2Parser};
mod dataset;
pub use dataset::{DataSet, DataSetBuilder, parse_v2, parse_v2_with};
mod stream;
mod table_stream;
mod v1;
mod v1_stream;
#[cfg(feature = "arrow")]
pub use stream::{ArrowBatch, ArrowBatchStream};
pub use stream::{RowBatch, RowBatchStream, V2EventStream, read_v1, read_v1_with_options};
pub use table_stream::{TableBatch, TableBatchStream};
pub use v1::parse_v1;
#[cfg(feature = "arrow")]
pub mod arrow_batch;
pub mod de;
#[cfg(feature = "arrow")]
pub use arrow_batch::{ArrowOptions, ArrowTimeUnit, arrow_schema, to_record_batch};
