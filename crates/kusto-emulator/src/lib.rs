//! A local Azure Data Explorer (Kusto) stand-in that speaks the real wire protocol.
//!
//! `kusto-emulator` serves, on one loopback port, the engine and data-management paths of a Kusto
//! cluster: `/v2/rest/query` (v2 frames, default, fragmented and progressive modes, partial
//! failures in the three error placements), `/v1/rest/query` (v1 with @ExtendedProperties,
//! QueryStatus and TableOfContents), `/v1/rest/mgmt` (management commands, v1 results),
//! `/v1/rest/ingest/{db}/{table}` (streaming ingestion), `/v1/rest/auth/metadata` and, with
//! Azurite, the data-management side (`.get ingestion resources`, queued ingestion through storage
//! queues, `/v1/rest/ingestion/...`). Any Kusto client pointed at its URL works without special
//! cases; no Docker, cloud or credentials.
//!
//! It depends on none of the SDK crates of this repository: client and emulator are two
//! independent implementations of one protocol and check each other.
//!
//! # What it runs
//!
//! * Tables in memory ([`Store`]) with the ten Kusto types, databases created on first use.
//! * Management commands: `.create table`, `.create-merge table`, `.drop table`, `.show tables`,
//!   `.show table T schema as json` / `cslschema`, `.show databases`, `.show version`,
//!   `.create database` / `.drop database`, `.create table T ingestion <kind> mapping "m" '<json>'`,
//!   `.show table T ingestion [kind] mappings`, `.drop table T ingestion <kind> mapping "m"`,
//!   `.alter table|database X policy streamingingestion enable|disable|'<json>'`,
//!   `.show table|database X policy streamingingestion`, `.delete ... policy streamingingestion`,
//!   `.clear table T data`, `.ingest inline into table T [with (...)] <| data`,
//!   `.show ingestion failures`, `.show streamingingestion failures`.
//! * KQL with an engine of its own (lexer, parser, binder, evaluator): `let` statements (scalars,
//!   tables, user functions), `datatable`, `range`, `print`, `union`, `join` (every kind),
//!   `lookup`, `mv-expand`, `mv-apply`, `parse`, `parse-kv`, `summarize` with the usual
//!   aggregates, `make-series`, `top-nested`, window functions and the other common operators,
//!   Kusto's types, nulls and conversions; `declare query_parameters(...)` bound to the request's
//!   parameters. The README and docs/emulator-kql.md list what is supported. Anything else is a
//!   400 with the real error shape: a syntax error (`SYN0002` with line, position and token) or a
//!   semantic error naming the operator or function the emulator does not run.
//! * Streaming ingestion of csv, tsv, tsve, scsv, psv, sohsv, txt, raw, json, multijson,
//!   singlejson and parquet, gzip detected from the bytes, mappings by name, the
//!   4 MiB data and 10 MiB body limits, streaming policies. Avro, ORC and W3C logs are answered with
//!   a clear "not supported by the Kusto emulator" error. Invalid data is handled as the service
//!   documents ("Ingestion behavior of invalid data"): data that does not match its format
//!   (malformed `multijson`/`singlejson`, CSV records with another number of fields, a source
//!   without any valid record) fails whole, nothing ingested, and is recorded in
//!   `.show ingestion failures`; malformed records of the `json` format (JSON lines) are ignored
//!   and the ingestion succeeds (streaming answers 200, queued and REST report `Succeeded`);
//!   values that do not convert to their column's type are null.
//! * Fault injection ([`Faults`]): through `POST /_emulator/faults` or [`EmulatorHandle::faults`].
//! * Queued ingestion, when started with [`EmulatorBuilder::azurite`] ([`DataManagement`]): `.get ingestion
//!   resources` and `.get kusto identity token` with SAS URLs into Azurite (two accounts by
//!   default), a worker that reads the ready queues (base64 JSON messages, any key casing),
//!   downloads, decompresses (gzip, zip), maps and appends each source as a tagged extent
//!   (`ingestIfNotExists`, `drop-by:` with `.show table T extents` / `.drop extents`), and
//!   reports to the notification queues and the status table; the REST ingestion API
//!   (`/v1/rest/ingestion/...`); and a fault-injecting proxy in front of each storage account
//!   ([`DataManagement::storage_faults`], `POST /_emulator/storage/{account}/faults`).
//! * A shaped link ([`shaped`], [`EmulatorBuilder::shaped_link`]): latency, a bandwidth cap and
//!   loss between clients and every endpoint the emulator hands out.
//!
//! # Example
//!
//! ```
//! use kusto_emulator::{Column, Emulator, FaultAction, FaultRule, KustoType, Value};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! tokio::runtime::Runtime::new()?.block_on(async {
//!     let emulator = Emulator::builder().database("Emu").start().await?;
//!     // Point any Kusto client at this URL (engine and data-management endpoints alike).
//!     assert!(emulator.url().starts_with("http://127.0.0.1:"));
//!
//!     // Tables can also be prepared through the library.
//!     let store = emulator.store();
//!     store.create_table("Emu", "Events", &[Column::new("Id", KustoType::Long)], false)?;
//!     store.append_rows("Emu", "Events", vec![vec![Value::Long(1)], vec![Value::Long(2)]])?;
//!     assert_eq!(store.snapshot("Emu", "Events")?.rows.len(), 2);
//!
//!     // Make the next query fail with a transient 503.
//!     let rule = FaultRule::new(
//!         "/v2/rest/query",
//!         FaultAction::Status { status: 503, code: "ServiceUnavailable".into(),
//!                               message: "try again".into(), permanent: false },
//!     );
//!     emulator.faults().add(rule.times(1))?;
//!
//!     emulator.shutdown().await;
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! Queued ingestion over Azurite:
//!
//! ```no_run
//! use kusto_emulator::{DataManagementOptions, Emulator, azurite::Azurite};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let azurite = Azurite::start().await?; // see azurite::locate for where Azurite is found
//! let emulator = Emulator::builder()
//!     .azurite(azurite)
//!     .data_management(DataManagementOptions::default())
//!     .start()
//!     .await?;
//! let dm = emulator.data_management().expect("started with Azurite");
//! assert_eq!(dm.resource_urls("TempStorage").len(), 2);
//! emulator.shutdown().await; // also stops the Azurite it owns
//! # Ok(())
//! # }
//! ```
//!
//! The binary `kusto-emulator --port 8080` (0 = any free port) prints the URL as its first line
//! on stdout and stops cleanly on Ctrl-C or SIGTERM; `--azurite` adds queued ingestion over an
//! Azurite of its own, `--attach-azurite` over a running one.
#![deny(missing_docs)]
// A service error is built at most once per request and carries the whole OneApi body; boxing
// it would buy nothing measurable.
#![allow(clippy::result_large_err)]
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

pub mod azurite;
mod commands;
mod dm;
mod errors;
mod faults;
mod fetch;
// Entry points for the fuzz targets in `fuzz/`: hidden, not part of the API.
#[doc(hidden)]
pub mod fuzz;
mod handlers;
mod http_client;
mod ingest;
mod kql;
mod mapping;
mod parse_value;
mod request;
mod server;
pub mod shaped;
pub mod signals;
mod store;
mod time;
mod v1;
mod v2;
mod value;

pub use dm::{DataManagement, DataManagementOptions, IngestionResource};
pub use faults::{ActiveFault, FaultAction, FaultRule, Faults};
pub use http_client::http_client_builder;
pub use server::{Emulator, EmulatorBuilder, EmulatorError, EmulatorHandle};
pub use store::{
    AppendOutcome, Column, Extent, ExtentOptions, FailureKind, IngestionFailure, Row, Store,
    StoreError, TableSnapshot,
};
pub use value::{Decimal, KustoType, Value};
