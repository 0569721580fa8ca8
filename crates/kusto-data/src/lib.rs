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

pub mod error;
pub mod response;
mod secret;
pub mod types;

pub use error::{ConversionError, Error, OneApiError, Result, ServiceError};
pub use response::{DataSet, KustoTable, PartialFailure};
/// The `arrow` crate this crate's Arrow output is built with (feature `arrow`).
#[cfg(feature = "arrow")]
pub use arrow;
pub use types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue};
pub use secret::Secret;
