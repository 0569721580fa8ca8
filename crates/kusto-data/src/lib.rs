//! Client library for Azure Data Explorer (Kusto): *where* and *as whom* to connect, and how to
//! run queries and management commands and read their results.
//!
//! | task | start here |
//! |---|---|
//! | say where and as whom to connect | [`ConnectionString`], [`ConnectionStringBuilder`], [`auth`] |
//! | run queries and management commands | [`KustoClient`], [`ClientRequestProperties`] |
//! | put values into a query safely | [`kql::QueryParameters`], [`kql::string_literal`], [`kql::quote_identifier`] |
//! | read results | [`DataSet`], [`KustoTable`], typed getters on [`response::RowRef`], serde rows ([`KustoTable::deserialize`]) |
//! | results larger than memory | [`KustoClient::execute_query_stream`] and [`response::V2EventStream`] |
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
//! let data = client.execute_query("Samples", "StormEvents | take 3", None).await?;
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "PascalCase")]
//! struct Storm { state: String, damage_property: Option<i64> }
//! let storms: Vec<Storm> = data.primary_result().map(|t| t.deserialize()).transpose()?.unwrap_or_default();
//! # Ok(()) }
//! ```
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
//! `docs/migrating-from-python.md` maps the Python SDK's names to these.
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
pub mod response;
mod retry;
mod secret;
pub mod trusted_endpoints;
pub mod types;

/// The `arrow` crate this crate's Arrow output is built with (feature `arrow`).
#[cfg(feature = "arrow")]
pub use arrow;
pub use client::{ClientRequestProperties, KustoClient, KustoClientBuilder};
pub use connection_string::{ConnectionString, ConnectionStringBuilder};
pub use data_format::{Compression, DataFormat, IngestionMappingKind};
pub use error::{ConversionError, Error, NetworkPhase, OneApiError, Result, ServiceError};
pub use response::{DataSet, KustoTable, PartialFailure};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue};
