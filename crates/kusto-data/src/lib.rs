//! Client library for Azure Data Explorer (Kusto): *where* and *as whom* to connect, and how to
//! run queries and management commands and read their results.
//!
//! | task | start here |
//! |---|---|
//! | say where and as whom to connect | [`ConnectionString`], [`ConnectionStringBuilder`], [`auth`] |
//! | run queries and management commands | [`KustoClient`], [`ClientRequestProperties`] |
//! | put values into a query safely | [`kql::QueryParameters`], [`kql::string_literal`], [`kql::quote_identifier`] |
//! | read results | [`DataSet`], [`KustoTable`], typed getters on [`response::RowRef`], serde rows ([`KustoTable::deserialize`]) |
//! | results larger than memory | [`KustoRequest::stream`] and [`response::V2EventStream`] (row by row, fastest: [`primary_tables`](response::V2EventStream::primary_tables)) |
//! | Arrow record batches (feature `arrow`, on by default) | [`response::arrow_batch`] |
//! | decide what to do about an error | [`Error::is_transient`], [`Error::as_service_error`], [`RetryPolicy`] |
//! | formats and ingest endpoints | [`DataFormat`], [`endpoints`] |
//!
//! ```no_run
//! # async fn run() -> kusto_data::Result<()> {
//! use kusto_data::{ConnectionString, KustoClient};
//!
//! // A local emulator needs no authentication; a real cluster would use e.g.
//! // `ConnectionString::builder(url).with_azure_cli().build()?`.
//! let client = KustoClient::new(ConnectionString::parse("http://127.0.0.1:8080/Samples")?)?;
//! let data = client.query("Samples", "StormEvents | take 3").await?;
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "PascalCase")]
//! struct Storm { state: String, damage_property: Option<i64> }
//! let storms: Vec<Storm> = data.primary_result().map(|t| t.deserialize()).transpose()?.unwrap_or_default();
//! # Ok(()) }
//! ```
//!
//! # Main types
//!
//! * [`ConnectionString`] (parsed from the official SDKs' keywords, or built with
//!   [`ConnectionString::builder`]) says where and as whom; [`auth::Authentication`] lists every
//!   method, [`auth::TokenProvider`] plugs in your own.
//! * [`KustoClient`] (cheap to clone; one per cluster) runs queries
//!   ([`query`](KustoClient::query)) and management commands ([`mgmt`](KustoClient::mgmt)):
//!   each is a [`KustoRequest`] whose options (request properties, typed parameters) are
//!   methods, awaited to collect the tables or read as a stream
//!   ([`stream`](KustoRequest::stream), `arrow`); [`KustoClientBuilder`] sets the HTTP
//!   client, proxy, retry policy, trusted endpoints and parser options.
//! * [`DataSet`] holds every table of a response; [`KustoTable`] one table, whose rows
//!   ([`response::RowRef`]) have typed getters and deserialize with serde; [`KustoValue`] is one
//!   cell. A collected table keeps its data by column, in typed buffers (about the size of the
//!   values; see [`response`]).
//!
//! # Type mappings
//!
//! * Kusto to Rust values (and what serde rows accept): the table in [`types`].
//! * Kusto to Arrow: the table in [`response::arrow_batch`] (`datetime` as
//!   `Timestamp(Nanosecond, "UTC")`, `timespan` as `Duration(Nanosecond)`, `guid` as
//!   `FixedSizeBinary(16)`, `dynamic` and `decimal` as `Utf8`; other time units by
//!   [`response::ArrowOptions`]).
//! * Rust values into queries: [`kql::QueryParameters`] writes each value as a typed KQL literal
//!   and the `declare query_parameters(...)` statement for it.
//!
//! # Errors and retries
//!
//! Every fallible call returns [`Error`]: one enum whose variants say what a caller can act on
//! (a service answer with its HTTP status and Kusto OneApi error, [`Error::PartialFailure`] with
//! the rows received before the failure, a network failure and whether the request may have
//! reached the service, a timeout, an authentication failure, a malformed response, a value
//! that does not convert). [`Error::is_transient`] and [`Error::is_permanent`] classify any of
//! them from typed facts (status, `@permanent`), never from message text.
//!
//! Queries and read-only management commands (`.show`, `.get`) are retried on transient errors
//! with the client's [`RetryPolicy`] (default: 4 attempts, exponential backoff with jitter from
//! 1 s, at most 2 minutes overall; a `Retry-After` from the service is honoured). Commands
//! that change state are sent once, unless the request's [`ClientRequestProperties`] carry a
//! retry policy. Set a policy per client with [`KustoClientBuilder::retry_policy`], per request
//! with [`ClientRequestProperties::set_retry_policy`]; [`RetryPolicy::none`] turns retries off.
//! A streamed query retries only the sending of the request: once rows flow, a failure ends
//! the stream with an error.
//!
//! # Cargo features
//!
//! | Feature | Default | What it does |
//! |---|---|---|
//! | `arrow` | yes | Arrow output; adds the `arrow` crate |
//! | `rustls` | yes | TLS through rustls with the aws-lc-rs crypto provider and the platform's certificate verifier (reqwest's default) |
//! | `rustls-ring` | no | TLS through rustls with the ring crypto provider and the platform's certificate verifier: no aws-lc build (the slowest dependency to compile, and it needs a C toolchain) |
//! | `certificate` | no | application-certificate authentication; adds the pure-Rust `rsa`, `sha1`, `sha2`, `pem-rfc7468` crates |
//!
//! To avoid building aws-lc:
//! `kusto-data = { version = "0.1", default-features = false, features = ["arrow", "rustls-ring"] }`.
//! With `rustls-ring`, a crypto provider the application installed as the process default
//! (`rustls::crypto::CryptoProvider::install_default`) is used instead of ring; with both
//! `rustls` and `rustls-ring`, aws-lc-rs is used. Without either TLS feature only `http://`
//! URLs work (enough for the local emulator). A client given through
//! [`KustoClientBuilder::http_client`] keeps its own TLS settings.
//! With `rustls-ring` and no installed provider, reqwest's own `reqwest::Client::new()` panics
//! (reqwest then has no provider of its own): build the application's other reqwest clients
//! from [`client::http_client_builder`], which every [`KustoClient`] starts from.
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

pub mod auth;
pub mod client;
pub mod connection_string;
pub mod data_format;
pub mod endpoints;
pub mod error;
pub mod kql;
pub mod redact;
pub mod response;
mod retry;
mod secret;
pub mod time_math;
pub mod trusted_endpoints;
pub mod types;

/// The `arrow` crate this crate's Arrow output is built with (feature `arrow`).
#[cfg(feature = "arrow")]
pub use arrow;
pub use client::{ClientRequestProperties, KustoClient, KustoClientBuilder, KustoRequest};
pub use connection_string::{ConnectionString, ConnectionStringBuilder};
pub use data_format::{Compression, DataFormat, IngestionMappingKind};
pub use error::{ConversionError, Error, NetworkPhase, OneApiError, Result, ServiceError};
pub use response::{DataSet, KustoTable, PartialFailure};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue};
