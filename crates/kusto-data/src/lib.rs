//! Client library for Azure Data Explorer (Kusto): *where* and *as whom* to connect, and how to
//! run queries and management commands.
//!
//! This crate is being built; see the repository README for what is available today.
//!
//! Results: [`response`] parses v2 query responses incrementally (sans-IO core, async stream
//! adapters, bounded memory) and v1 management answers into tables with typed getters, serde
//! rows and (feature `arrow`, on by default) Arrow record batches; [`types`] holds the Kusto
//! values and the Kusto ⇄ Rust mapping table.
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
pub use error::{ConversionError, Error, OneApiError, Result, ServiceError};
pub use response::{DataSet, KustoTable, PartialFailure};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue};
