//! `kusto`: bulk ingestion with progress and a report, queries, and a local emulator for Azure
//! Data Explorer (Kusto).
//!
//! ```text
//! kusto ingest   --cluster <URL|CONNECTION STRING> --database D --table T [OPTIONS] SOURCES...
//! kusto query    --cluster <URL|CONNECTION STRING> --database D [--output table|csv|jsonl|arrow|parquet] "<query or .command>"
//! kusto emulator [--port N] [--database D]...
//! kusto logout
//! ```
//!
//! `kusto <command> --help` describes every option. In short:
//!
//! * **ingest** sends files, directories (recursively), glob patterns (`'data/**/*.csv'`, quoted
//!   so that the shell leaves them alone), standard input (`-`) and blob containers (a container
//!   URL with a SAS, optionally a prefix and `--blob-pattern`; listed page by page, never
//!   downloaded: only blob URLs travel, see `kusto ingest --help`) to a table, by queued
//!   ingestion (default), streaming ingestion or managed streaming ingestion. Each source's
//!   outcome goes to a JSON-lines report (`--report FILE`) that a later run can resume from
//!   (`--resume FILE`): sources the report lists as sent are skipped, and sources whose outcome
//!   is unknown (no answer to their submission) are not sent again unless their status shows
//!   they were not ingested (`--resend-unknown` sends them anyway; see `kusto ingest --help`).
//!   `--dry-run` lists what would be sent and sends nothing. A creation time can be read from each path
//!   (`--creation-time-pattern`, see [`pattern`]). Progress is a bar on a terminal and plain
//!   periodic lines otherwise; Ctrl-C stops starting sources, lets the running ones finish and
//!   flushes the report.
//! * **query** runs a query (or a management command, text starting with `.`) and writes the
//!   primary result as an aligned table (the default on a terminal), CSV (the default
//!   otherwise), JSON lines, an Arrow IPC file or a Parquet file (Snappy), to stdout or `--out FILE`.
//! * **emulator** starts the local Kusto emulator with Azurite (queued ingestion included) and
//!   prints its URL as the first line on stdout; it runs until Ctrl-C.
//!
//! # Authentication
//!
//! `--cluster` takes a URL (`https://mycluster.westeurope.kusto.windows.net`) or a connection
//! string (`Data Source=...;Fed=True;...`); the connection string's own method applies unless
//! `--auth` chooses one: `az-cli`, `managed-identity` (`--client-id` for a user-assigned
//! identity), `browser` (interactive login in the system browser; `--login-hint`,
//! `--authority`, `--browser-command`), `device-code`, `app-key` (`--client-id`,
//! `--authority`, and the secret from the environment variable named by `--secret-env`,
//! `KUSTO_CLIENT_SECRET` by default) or `none` (the local emulator). `browser` and
//! `device-code` keep the sign-in between runs (`--token-cache`, see [`token_cache`] for what is
//! stored where); `kusto logout` forgets it. A URL without `--auth` uses the SDK's default: the default credential
//! chain for `https`, no authentication for `http` on loopback. Secrets are never printed: the
//! connection string is shown masked.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything succeeded (every source sent, or with `--wait` ingested) |
//! | 1 | some sources failed (the others were sent; the report says which) |
//! | 2 | usage error: bad arguments, a path or pattern that matches nothing, a blob container with no matching blob, stdin without `--format`, a missing secret variable (a file whose format its name does not tell is a failed source, 1) |
//! | 3 | authentication failure (no token, or the service answered 401/403, or the storage service refused to list a blob container: a bad or expired SAS); ingestion stops starting sources |
//! | 4 | any other error (the cluster cannot be reached, a query failed, the report cannot be written) |
//! | 5 | interrupted by Ctrl-C: sources not yet started were skipped; the report lists what was sent |
//! | 6 | some sources may or may not have been ingested (outcome `unknown` in the report: a queue message, REST submission or streaming request got no answer); `--resume` does not send them again unless their status shows they were not ingested, or `--resend-unknown` is given. Wins over 1 when a run has both |

// Time arithmetic that cannot panic (issue 28): `kusto_data::time_math` and clippy.toml.
#![cfg_attr(
    not(test),
    warn(clippy::arithmetic_side_effects, clippy::unchecked_time_subtraction)
)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod blobs;
mod cli;
mod connect;
mod emulator;
mod error;
mod ingest;
pub mod pattern;
mod progress;
mod query;
mod report;
mod sources;
mod token_cache;
mod unknown;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{CliError, Exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kusto: could not start the async runtime: {e}");
            return ExitCode::from(Exit::Other as u8);
        }
    };
    let result: Result<Exit, CliError> = runtime.block_on(async move {
        match cli.command {
            Command::Ingest(args) => ingest::run(*args).await,
            Command::Query(args) => query::run(args).await,
            Command::Emulator(args) => emulator::run(args).await,
            Command::Logout(args) => token_cache::logout(args),
        }
    });
    let exit = match result {
        Ok(exit) => exit,
        Err(error) => {
            eprintln!("kusto: {error}");
            error.exit()
        }
    };
    ExitCode::from(exit as u8)
}
