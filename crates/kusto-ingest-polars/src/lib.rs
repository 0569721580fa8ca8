//! Polars integration for the Kusto SDK.
//!
//! Not implemented yet: this crate holds only its skeleton. It will provide
//! `ingest_from_dataframe` with exact datetime, duration and null handling, and conversion of
//! query results back into DataFrames. Polars is confined to this crate.
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
