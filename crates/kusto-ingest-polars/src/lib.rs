//! Polars DataFrames into Azure Data Explorer (Kusto), exactly, and query results back as
//! DataFrames.
//!
//! # Quick start
//!
//! One `use` line (this crate re-exports the types of kusto-ingest and kusto-data its API takes,
//! and both crates whole, as [`kusto_ingest`] and [`kusto_data`]):
//!
//! ```no_run
//! use kusto_ingest_polars::polars::prelude::*;
//! use kusto_ingest_polars::{
//!     ConnectionString, DataFormat, FrameOptions, IngestFromDataFrame, IngestionProperties,
//!     KustoClient, QueuedIngestClient, ResultOptions, query_dataframe,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ingest = QueuedIngestClient::new(ConnectionString::parse(
//!     "Data Source=https://ingest-mycluster.kusto.windows.net;Fed=True",
//! )?)?;
//! let frame = df!("id" => [1i64, 2], "name" => ["a", "b"])?;
//! let properties = IngestionProperties::new("MyDatabase", "Events", DataFormat::Json);
//! ingest
//!     .ingest_from_dataframe(&frame, &properties, &FrameOptions::new())
//!     .await?;
//!
//! let engine = KustoClient::new(ConnectionString::parse(
//!     "Data Source=https://mycluster.kusto.windows.net;Fed=True",
//! )?)?;
//! let back = query_dataframe(&engine, "MyDatabase", "Events", &ResultOptions::new()).await?;
//! println!("{back}");
//! # Ok(())
//! # }
//! ```
//!
//! # Frames into Kusto
//!
//! [`IngestFromDataFrame::ingest_from_dataframe`] works on the queued, streaming and
//! managed-streaming clients of kusto-ingest; [`frame_source`] gives the source and properties
//! for anything else (such as [`kusto_ingest::QueuedIngestClient::ingest_many`]). Uploading,
//! retries and status stay in kusto-ingest; this crate only turns a frame into a source.
//!
//! **Format.** The explicit [`FrameOptions::with_format`], else the properties' format (`json`
//! or `multijson`: JSON lines; `csv`; `parquet`); any other format is refused. The properties'
//! format is never ignored, and the caller's properties are never changed: the ones sent are a
//! copy with the frame's format.
//!
//! **Memory.** A writer thread converts a slice of rows at a time (sized for about 1 MiB of
//! output) to Arrow arrays, writes them as JSON lines, CSV or Parquet, and hands 1 MiB buffers
//! to kusto-ingest, which gzips (JSON, CSV) and uploads them block by block. At most two
//! buffers wait between the two; the frame is never encoded whole in memory nor written to a
//! temporary file. An upload that fails on one storage account starts again from the first
//! row on the next.
//!
//! **Checks first.** The Kusto type of every column, the range of every datetime, date,
//! duration and unsigned integer column, and (with [`FrameOptions::with_table_schema`]) the
//! table's columns are checked before anything is sent; a problem is an [`Error`](enum@Error) naming the
//! column, never a half-ingested frame or a silently changed value.
//!
//! | Polars type | Kusto type | written as |
//! |---|---|---|
//! | `Boolean` | `bool` | `true` / `false` |
//! | `Int8`, `Int16`, `Int32`, `UInt8`, `UInt16` | `int` | the number |
//! | `Int64`, `UInt32`; `UInt64` and `Int128` within ±2^63 | `long` | the number; a larger value is [`Error::OutOfRange`] |
//! | `Float16`, `Float32`, `Float64` | `real` | shortest round-trip text (an `f32` as the double of its shortest text: `-0.1f32` is `-0.1`, in every format); NaN and ±infinity kept as `NaN` / `Infinity` / `-Infinity` (or null with [`NonFinite::Null`]) |
//! | `Decimal(p, s)` | `decimal` | the exact decimal text (Kusto keeps 34 significant digits) |
//! | `String`, `Categorical`, `Enum` | `string` | the text (categories as their strings) |
//! | `Binary` | `string` | base64 ([`BinaryEncoding::Base64`]) or refused ([`BinaryEncoding::Refuse`]) |
//! | `Date` | `datetime` | midnight UTC of the day |
//! | `Datetime(unit, tz)` | `datetime` | the UTC instant (Polars stores UTC whatever the zone), to Kusto's 100 ns; nanoseconds below 100 ns are truncated toward the past; outside 0001-01-01..9999-12-31 is [`Error::OutOfRange`] |
//! | `Duration(unit)` | `timespan` | `[-][d.]hh:mm:ss[.fffffff]`, negative too, 100 ns precision (truncated toward the past) |
//! | `Time` | `timespan` | time since midnight |
//! | `List`, `Array`, `Struct` | `dynamic` | JSON arrays and objects (real nested JSON in JSON lines and Parquet, JSON text in CSV); nested datetimes, durations and decimals as their text, non-finite floats as strings |
//! | `Null` | `string` | null |
//! | null in any type | null | JSON `null`, an empty CSV field, a Parquet null |
//!
//! Kusto `string` columns have no null: a null string arrives as the empty string (a fact of
//! Kusto, the same for every client).
//!
//! # Results into frames
//!
//! [`query_dataframe`], [`dataframe_from_table`], [`dataframe_from_record_batch`] and
//! [`dataframe_from_stream`]; the type table is in the [`results`] module.
//!
//! # Helpers
//!
//! [`create_table_command`] (`.create table` / `.create-merge table` text for a frame),
//! [`mapping_for`] (an inline mapping for a frame), [`kusto_type_of`], and [`TableSchema`] with
//! [`table_schema`] to read a table's schema from the cluster.
//!
//! # Errors and retries
//!
//! [`Error`](enum@Error) says which column and why for a frame that cannot be sent as it is
//! ([`Error::UnsupportedType`], [`Error::OutOfRange`], [`Error::SchemaMismatch`]), and wraps
//! the errors of Polars, of kusto-ingest ([`Error::Ingest`]) and of kusto-data
//! ([`Error::Data`]). This crate retries nothing itself: uploads, account fail-over, status and
//! managed-streaming fall-back are kusto-ingest's, queries kusto-data's, with their policies.
//!
//! # Polars versions and features
//!
//! The crate is built with and tested against polars 0.55 (re-exported as [`polars`]; use it,
//! or the same polars version, so that the `DataFrame` types are one type). It enables only
//! the polars data-type features it reads (`dtype-*`, `timezones`): no lazy engine, no polars
//! IO. The cargo feature `parquet` (default) adds Parquet output through the arrow-rs `parquet`
//! crate.
// Time arithmetic that cannot panic (issue 28): `kusto_data::time_math` and clippy.toml.
#![cfg_attr(
    not(test),
    warn(clippy::arithmetic_side_effects, clippy::unchecked_time_subtraction)
)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]

pub use polars;

/// The `kusto-ingest` crate this crate is built with.
pub use kusto_ingest;
/// The `kusto-data` crate this crate is built with.
pub use kusto_ingest::kusto_data;
pub use kusto_ingest::{
    ConnectionString, DataFormat, IngestionOperation, IngestionProperties, KustoClient,
    ManagedIngestResult, ManagedStreamingIngestClient, QueuedIngestClient, StreamingIngestClient,
    StreamingResult,
};

mod convert;
mod error;
mod ingest;
mod options;
mod pipeline;
pub mod results;
mod schema;
mod text;

pub use error::{Error, Result};
pub use ingest::{IngestFromDataFrame, frame_source, write_frame};
pub use options::{BinaryEncoding, FrameFormat, FrameOptions, NonFinite};
pub use results::{
    DecimalAs, ResultOptions, dataframe_from_record_batch, dataframe_from_stream,
    dataframe_from_table, query_dataframe,
};
pub use schema::{TableSchema, create_table_command, kusto_type_of, mapping_for, table_schema};
