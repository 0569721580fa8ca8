//! A local Azure Data Explorer (Kusto) stand-in that speaks the real wire protocol.
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

pub mod kql;
pub mod mapping;
pub mod parse_value;
pub mod store;
pub mod time;
pub mod value;
