//! End-to-end tests across the Kusto SDK crates, run against `kusto-emulator` (and, for queued
//! ingestion, Azurite). The tests live in `tests/`; this library holds their shared harness.

use kusto_data::{ConnectionString, KustoClient, RetryPolicy};
use kusto_emulator::{Emulator, EmulatorHandle};
use std::time::Duration;

/// A running emulator and a client pointed at it.
#[derive(Debug)]
pub struct Harness {
    /// The emulator (stopped on drop).
    pub emulator: EmulatorHandle,
    /// A client of the emulator, with a fast retry policy.
    pub client: KustoClient,
    /// The test's database.
    pub database: String,
}

/// Starts an emulator with `database` and a client for it whose retries wait milliseconds.
pub async fn start(database: &str) -> Harness {
    let emulator = Emulator::builder()
        .database(database)
        .start()
        .await
        .unwrap_or_else(|e| panic!("the emulator must start: {e}"));
    let connection_string = ConnectionString::parse(&format!("{}/{database}", emulator.url()))
        .unwrap_or_else(|e| panic!("emulator URL: {e}"));
    let client = KustoClient::builder(connection_string)
        .retry_policy(fast_retry())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    Harness {
        emulator,
        client,
        database: database.to_owned(),
    }
}

/// A retry policy with the default number of attempts and millisecond backoffs.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(2))
        .with_max_backoff(Duration::from_millis(20))
}
