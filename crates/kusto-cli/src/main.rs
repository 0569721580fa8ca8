//! The `kusto` command-line tool.
//!
//! Not implemented yet: it will offer bulk ingestion with progress, queries and status. Until then
//! it says so and exits with a failure code, so that no script mistakes it for a working tool.

#![deny(missing_docs)]

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("kusto: no commands are implemented yet; see the repository README");
    ExitCode::from(2)
}
