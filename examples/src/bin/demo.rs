//! The end-to-end demonstration run by `cargo xtask demo`.
//!
//! Starts Azurite (the Azure Storage emulator) and the Kusto emulator with queued ingestion over
//! it, then uses the SDK's `KustoClient` exactly as against a real cluster: creates a table,
//! ingests rows by streaming ingestion from memory and from a blob uploaded to Azurite, and by
//! queued ingestion with `kusto-ingest`'s `QueuedIngestClient` over both protocols of the
//! emulator's data-management service (storage queues and the REST API), waiting for each
//! ingestion's final status, and queries them back. Everything printed is read back from the
//! emulator; nothing is claimed that did not happen.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use kusto_data::client::StreamingIngestOptions;
use kusto_data::kql::QueryParameters;
use kusto_data::{ConnectionString, DataFormat, KustoClient};
use kusto_emulator::Emulator;
use kusto_emulator::azurite::Azurite;
use kusto_emulator::azurite::storage::{StorageClient, child_url};
use kusto_examples::render;
use kusto_ingest::{IngestProtocol, IngestionProperties, IngestionSource, QueuedIngestClient};

const DATABASE: &str = "Demo";

const FIRST_BATCH: &str = "\
2024-05-01T10:20:30.1234567Z,TEXAS,Hail,12000.50,00:35:00
2024-05-01T11:05:00Z,KANSAS,Tornado,250000,01:10:30
2024-05-02T08:00:00Z,TEXAS,Flood,,12:00:00
";

const SECOND_BATCH: &str = "\
2024-05-03T16:45:10.5Z,OKLAHOMA,Tornado,1750000,00:20:00
2024-05-04T02:30:00Z,TEXAS,Thunderstorm Wind,5000,00:05:00
";

const THIRD_BATCH: &str = "\
2024-05-05T13:00:00Z,NEBRASKA,Hail,800,00:15:00
2024-05-06T21:10:00Z,KANSAS,Flood,64000.25,1.06:00:00
";

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RowCount {
    count: i64,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StormsByState {
    state: String,
    count: i64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let azurite = Azurite::start().await?;
    println!(
        "Azurite (Azure Storage emulator) listening: blob {}, queue {}, table {}",
        azurite.endpoints().blob,
        azurite.endpoints().queue,
        azurite.endpoints().table
    );
    let storage = StorageClient::new();
    let account = azurite
        .accounts()
        .first()
        .map(|a| a.name.clone())
        .ok_or("Azurite has no storage account")?;
    azurite.create_container(&account, "demo-data").await?;
    let container = azurite.container_sas_url(&account, "demo-data")?;
    let emulator = Emulator::builder()
        .database(DATABASE)
        .azurite(azurite)
        .start()
        .await?;
    println!(
        "Kusto emulator listening: {} (engine, and data management over Azurite)\n",
        emulator.url()
    );

    // The same code works against a real cluster with e.g.
    // `ConnectionString::builder(url).with_azure_cli().build()?`.
    let connection_string = ConnectionString::parse(&format!("{}/{DATABASE}", emulator.url()))?;
    let client = KustoClient::new(connection_string)?;

    let version = client.mgmt(DATABASE, ".show version").await?;
    if let Some(table) = version.primary_result() {
        println!(".show version\n{}\n", render(table));
    }

    client
        .mgmt(
            DATABASE,
            ".create table Storms (StartTime:datetime, State:string, EventType:string, \
             DamageProperty:decimal, Duration:timespan)",
        )
        .await?;
    println!("created table Storms");

    client
        .execute_streaming_ingest(
            DATABASE,
            "Storms",
            Bytes::from_static(FIRST_BATCH.as_bytes()),
            DataFormat::Csv,
            &StreamingIngestOptions::default(),
        )
        .await?;
    println!("ingested 3 rows by streaming ingestion from memory");

    let blob = child_url(&container, "storms-2.csv");
    storage
        .upload_blob(&blob, Bytes::from_static(SECOND_BATCH.as_bytes()))
        .await?;
    client
        .execute_streaming_ingest_from_blob(
            DATABASE,
            "Storms",
            blob.as_str(),
            DataFormat::Csv,
            &StreamingIngestOptions::default(),
        )
        .await?;
    println!("ingested 2 rows by streaming ingestion from a blob in Azurite (SAS URL)");

    queued_ingest(&client).await?;

    let all = client
        .query(DATABASE, "Storms | order by StartTime asc")
        .await?;
    let table = all.primary_result().ok_or("no primary result")?;
    println!("Storms | order by StartTime asc\n{}\n", render(table));

    let parameters = QueryParameters::new()
        .with("state", "TEXAS")?
        .with("min_damage", 1000_i64)?;
    let texas = client
        .query(DATABASE, "Storms | where State == state and DamageProperty >= min_damage | project StartTime, EventType, DamageProperty").parameters(&parameters)
        .await?;
    if let Some(table) = texas.primary_result() {
        println!(
            "with parameters state=\"TEXAS\", min_damage=1000 (sent apart from the query text)\n{}\n",
            render(table)
        );
    }

    let by_state = client
        .query(
            DATABASE,
            "Storms | summarize Count = count() by State | order by Count desc",
        )
        .await?;
    let rows: Vec<StormsByState> = by_state
        .primary_result()
        .ok_or("no primary result")?
        .deserialize()?;
    println!("storms per state, deserialized into Rust structs:");
    for row in &rows {
        println!("  {:<10} {}", row.state, row.count);
    }
    let total: i64 = rows.iter().map(|r| r.count).sum();
    println!("\n{total} rows ingested and read back.");

    emulator.shutdown().await;
    Ok(())
}

/// Queued ingestion with `kusto-ingest`'s `QueuedIngestClient`, once over each protocol of the
/// data-management service: storage queues and the REST ingestion API.
async fn queued_ingest(client: &KustoClient) -> Result<(), Box<dyn Error>> {
    let mut rows = THIRD_BATCH.lines();
    for (protocol, name) in [
        (IngestProtocol::Queue, "storage-queue protocol"),
        (IngestProtocol::Rest, "REST protocol"),
    ] {
        let ingest = QueuedIngestClient::builder_from_kusto_client(client.clone())
            .protocol(protocol)
            .build()?;
        if protocol == IngestProtocol::Queue {
            let resources = ingest
                .kusto_client()
                .mgmt("NetDefaultDB", ".get ingestion resources")
                .await?;
            let count = resources.primary_result().map_or(0, |t| t.len());
            println!("\n.get ingestion resources: {count} resources (SAS URLs only)");
        }
        let row = rows.next().ok_or("no row left")?;
        let properties = IngestionProperties::new(DATABASE, "Storms", DataFormat::Csv)
            .with_flush_immediately(true)
            .with_tracking();
        let operation = ingest
            .ingest(
                IngestionSource::bytes(format!("{row}\n")).with_name("storms-3.csv"),
                &properties,
            )
            .await?;
        // An error unless the service reports success.
        let status = operation.wait(Duration::from_secs(30)).await?;
        let state = status
            .sources
            .first()
            .map(|s| s.state.to_string())
            .unwrap_or_default();
        println!(
            "queued 1 row over the {name}: blob {} -> {state}",
            operation
                .blob_paths()
                .first()
                .map(String::as_str)
                .unwrap_or("?")
        );
    }
    let counts: Vec<RowCount> = client
        .query(DATABASE, "Storms | count")
        .await?
        .primary_result()
        .ok_or("no primary result")?
        .deserialize()?;
    if counts.first().is_none_or(|c| c.count != 7) {
        return Err("the queued rows did not arrive".into());
    }
    println!("the data-management service ingested the queued blobs\n");
    Ok(())
}
