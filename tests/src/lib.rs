//! End-to-end tests across the Kusto SDK crates, run against `kusto-emulator` (and, for queued
//! ingestion, Azurite). The tests live in `tests/`; this library holds their shared harness.

use kusto_data::{ConnectionString, KustoClient, RetryPolicy};
use kusto_emulator::azurite::Azurite;
use kusto_emulator::{DataManagementOptions, Emulator, EmulatorHandle};
use kusto_ingest::{IngestProtocol, QueuedIngestClient};
use std::time::Duration;

pub mod classify;
pub mod shaped;

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

/// A running emulator with queued ingestion over a new Azurite, an engine client and a queued
/// ingestion client.
#[derive(Debug)]
pub struct IngestHarness {
    /// The emulator (and its Azurite).
    pub emulator: EmulatorHandle,
    /// A client of the engine, for commands and queries.
    pub client: KustoClient,
    /// The queued ingestion client.
    pub ingest: QueuedIngestClient,
    /// The test's database.
    pub database: String,
}

/// Storage retries that wait milliseconds: two attempts per request.
pub fn fast_storage_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(50))
        .with_deadline(Some(Duration::from_secs(10)))
}

/// Starts an emulator with queued ingestion (batching window 200 ms; REST API on when
/// `rest_api`) over a new Azurite, and a queued client using `protocol`.
pub async fn start_ingest(
    database: &str,
    rest_api: bool,
    protocol: IngestProtocol,
) -> IngestHarness {
    start_ingest_with(
        database,
        DataManagementOptions {
            batching_window: Duration::from_millis(200),
            rest_api,
            ..DataManagementOptions::default()
        },
        protocol,
    )
    .await
}

/// Like [`start_ingest`], with the data-management options given.
pub async fn start_ingest_with(
    database: &str,
    options: DataManagementOptions,
    protocol: IngestProtocol,
) -> IngestHarness {
    let azurite = Azurite::start()
        .await
        .unwrap_or_else(|e| panic!("Azurite must start (cargo xtask install-azurite): {e}"));
    let emulator = Emulator::builder()
        .database(database)
        .azurite(azurite)
        .data_management(options)
        .start()
        .await
        .unwrap_or_else(|e| panic!("the emulator must start: {e}"));
    let connection_string = ConnectionString::parse(&format!("{}/{database}", emulator.url()))
        .unwrap_or_else(|e| panic!("emulator URL: {e}"));
    let client = KustoClient::builder(connection_string.clone())
        .retry_policy(fast_retry())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let ingest = QueuedIngestClient::builder_from_kusto_client(client.clone())
        .protocol(protocol)
        .storage_retry_policy(fast_storage_retry())
        .build()
        .unwrap_or_else(|e| panic!("ingest client: {e}"));
    IngestHarness {
        emulator,
        client,
        ingest,
        database: database.to_owned(),
    }
}

/// Runs `query` (a `summarize count() by` of a string key) and returns the count of each key:
/// how the tests check that every source arrived once.
pub async fn count_by_key(
    client: &KustoClient,
    database: &str,
    query: &str,
) -> std::collections::BTreeMap<String, i64> {
    let data = client
        .query(database, query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    data.primary_result()
        .unwrap_or_else(|| panic!("{query}: no primary result"))
        .rows()
        .map(|row| {
            (
                row.get_string(0).unwrap().unwrap_or_default().to_owned(),
                row.get_i64(1).unwrap().unwrap_or_default(),
            )
        })
        .collect()
}

/// A Parquet file of columns `Src` (string), `N` (long) and `Name` (`p{N}`), one row per id.
pub fn parquet_of(src: &str, ids: &[i64]) -> Vec<u8> {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("Src", DataType::Utf8, false),
        Field::new("N", DataType::Int64, false),
        Field::new("Name", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![src; ids.len()])),
        Arc::new(Int64Array::from(ids.to_vec())),
        Arc::new(StringArray::from(
            ids.iter()
                .map(|i| Some(format!("p{i}")))
                .collect::<Vec<_>>(),
        )),
    ];
    let batch = arrow::record_batch::RecordBatch::try_new(Arc::clone(&schema), columns)
        .unwrap_or_else(|e| panic!("a record batch: {e}"));
    let mut file = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut file, schema, None)
        .unwrap_or_else(|e| panic!("a parquet writer: {e}"));
    writer
        .write(&batch)
        .unwrap_or_else(|e| panic!("parquet write: {e}"));
    writer
        .close()
        .unwrap_or_else(|e| panic!("parquet close: {e}"));
    file
}
