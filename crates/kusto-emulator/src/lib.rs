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

mod commands;
mod errors;
pub mod faults;
mod fetch;
mod handlers;
pub mod ingest;
pub mod kql;
pub mod mapping;
pub mod parse_value;
mod request;
mod server;
pub mod store;
pub mod time;
mod v1;
mod v2;
pub mod value;

pub use faults::{ActiveFault, FaultAction, FaultRule, Faults};
pub use server::{Emulator, EmulatorBuilder, EmulatorError, EmulatorHandle};
pub use store::{Column, FailureKind, IngestionFailure, Store, StoreError};
pub use value::{KustoType, Value};
