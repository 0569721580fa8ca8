//! Client library for Azure Data Explorer (Kusto): *where* and *as whom* to connect, and how to
//! run queries and management commands.
//!
//! This crate is being built; see the repository README for what is available today.
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
pub mod connection_string;
pub mod data_format;
pub mod endpoints;
pub mod error;
mod secret;
pub mod trusted_endpoints;

pub use connection_string::{ConnectionString, ConnectionStringBuilder};
pub use data_format::{Compression, DataFormat, IngestionMappingKind};
pub use error::{Error, OneApiError, Result, ServiceError};
pub use secret::Secret;
