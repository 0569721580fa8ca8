//! Tests over a shaped link: the emulator and its storage endpoints behind latency and a
//! bandwidth cap ([`kusto_emulator::shaped`]), started by the test, its settings printed.

use kusto_data::{ConnectionString, KustoClient};
use kusto_emulator::azurite::Azurite;
use kusto_emulator::shaped::LinkShape;
use kusto_emulator::{DataManagementOptions, Emulator};
use kusto_ingest::{IngestProtocol, QueuedIngestClient, UploadOptions};
use std::time::Duration;

use crate::{IngestHarness, fast_retry};

/// Starts Azurite and an emulator with queued ingestion (batching window 200 ms, REST API on)
/// whose engine and storage endpoints are all behind one shaped link with `shape`, and clients
/// that reach them through it (the queued client uploads with `upload`). Prints the link's
/// settings on stderr.
pub async fn start_shaped_ingest(
    database: &str,
    shape: LinkShape,
    protocol: IngestProtocol,
    upload: UploadOptions,
) -> IngestHarness {
    let azurite = Azurite::start()
        .await
        .unwrap_or_else(|e| panic!("Azurite must start (cargo xtask install-azurite): {e}"));
    let emulator = Emulator::builder()
        .database(database)
        .azurite(azurite)
        .data_management(DataManagementOptions {
            batching_window: Duration::from_millis(200),
            ..DataManagementOptions::default()
        })
        .shaped_link(shape)
        .start()
        .await
        .unwrap_or_else(|e| panic!("the emulator must start: {e}"));
    let link = emulator
        .link()
        .unwrap_or_else(|| panic!("the emulator was started with a shaped link"));
    eprintln!(
        "shaped link: {} (engine {} and every storage endpoint behind it)",
        link.shape(),
        emulator.url()
    );
    let connection_string = ConnectionString::parse(&format!("{}/{database}", emulator.url()))
        .unwrap_or_else(|e| panic!("emulator URL: {e}"));
    let client = KustoClient::builder(connection_string)
        .retry_policy(fast_retry())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let ingest = QueuedIngestClient::builder_from_kusto_client(client.clone())
        .protocol(protocol)
        .upload_options(upload)
        .build()
        .unwrap_or_else(|e| panic!("ingest client: {e}"));
    IngestHarness {
        emulator,
        client,
        ingest,
        database: database.to_owned(),
    }
}
