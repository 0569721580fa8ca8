//! Ingestion into Azure Data Explorer (Kusto).
//!
//! Not implemented yet: this crate holds only its skeleton. It will provide queued ingestion over
//! storage queues and over the REST protocol, streaming ingestion, managed streaming with fall-back
//! to queued ingestion, and status tracking, all built on `kusto-data`.
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
