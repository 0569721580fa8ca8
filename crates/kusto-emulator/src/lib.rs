//! A local Azure Data Explorer (Kusto) stand-in that speaks the real wire protocol.
//!
//! Not implemented yet: this crate holds only its skeleton. It depends on none of the SDK crates:
//! client and emulator are two independent implementations of one protocol and check each other.
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

pub mod azurite;
