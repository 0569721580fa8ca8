//! The end-to-end demonstration run by `cargo xtask demo`.
//!
//! Starts Azurite (the Azure Storage emulator) and the Kusto emulator with queued ingestion over
//! it, then uses the SDK's `KustoClient` exactly as against a real cluster: creates a table,
//! ingests rows by streaming ingestion from memory and from a blob uploaded to Azurite, and by
//! queued ingestion (resources from `.get ingestion resources`, a blob in TempStorage, a message
//! on the ready queue, picked up by the emulator's data-management service), and queries them
//! back. The queued message is written by this demo with the emulator's storage helper, because
//! the SDK's queued client (`kusto-ingest`) is not built yet. Everything printed is read back from
//! the emulator; nothing is claimed that did not happen.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use kusto_data::client::StreamingIngestOptions;
use kusto_data::kql::QueryParameters;
use kusto_data::{ConnectionString, DataFormat, KustoClient};
use kusto_emulator::Emulator;
use kusto_emulator::azurite::Azurite;
use kusto_emulator::azurite::storage::{StorageClient, child_url};
use kusto_examples::render;

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
struct IngestionResource {
    resource_type_name: String,
    storage_root: String,
}

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

    let version = client.execute_mgmt(DATABASE, ".show version", None).await?;
    if let Some(table) = version.primary_result() {
        println!(".show version\n{}\n", render(table));
    }

    client
        .execute_mgmt(
            DATABASE,
            ".create table Storms (StartTime:datetime, State:string, EventType:string, \
             DamageProperty:decimal, Duration:timespan)",
            None,
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

    queued_ingest(&client, &storage).await?;

    let all = client
        .execute_query(DATABASE, "Storms | order by StartTime asc", None)
        .await?;
    let table = all.primary_result().ok_or("no primary result")?;
    println!("Storms | order by StartTime asc\n{}\n", render(table));

    let parameters = QueryParameters::new()
        .with("state", "TEXAS")?
        .with("min_damage", 1000_i64)?;
    let texas = client
        .execute_query_with_parameters(
            DATABASE,
            "Storms | where State == state and DamageProperty >= min_damage | project StartTime, EventType, DamageProperty",
            &parameters,
            None,
        )
        .await?;
    if let Some(table) = texas.primary_result() {
        println!(
            "with parameters state=\"TEXAS\", min_damage=1000 (sent apart from the query text)\n{}\n",
            render(table)
        );
    }

    let by_state = client
        .execute_query(
            DATABASE,
            "Storms | summarize Count = count() by State | order by Count desc",
            None,
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

/// Queued ingestion over the storage-queue protocol, as a cluster's data-management service
/// receives it.
async fn queued_ingest(
    client: &KustoClient,
    storage: &StorageClient,
) -> Result<(), Box<dyn Error>> {
    let resources: Vec<IngestionResource> = client
        .execute_mgmt("NetDefaultDB", ".get ingestion resources", None)
        .await?
        .primary_result()
        .ok_or("no ingestion resources")?
        .deserialize()?;
    let first = |kind: &str| -> Result<url::Url, Box<dyn Error>> {
        let resource = resources
            .iter()
            .find(|r| r.resource_type_name == kind)
            .ok_or_else(|| format!("no {kind} in .get ingestion resources"))?;
        Ok(url::Url::parse(&resource.storage_root)?)
    };
    let temp_storage = first("TempStorage")?;
    let ready_queue = first("SecuredReadyForAggregationQueue")?;
    let token = client
        .execute_mgmt("NetDefaultDB", ".get kusto identity token", None)
        .await?;
    let token = token
        .primary_result()
        .and_then(|t| t.rows().next())
        .and_then(|row| match row.get(0) {
            Ok(kusto_data::KustoValue::String(s)) => Some(s.clone()),
            _ => None,
        })
        .ok_or("no AuthorizationContext")?;
    println!(
        "\n.get ingestion resources: {} resources (SAS URLs only); .get kusto identity token: ok",
        resources.len()
    );

    let source_id = uuid::Uuid::new_v4();
    let blob = child_url(
        &temp_storage,
        &format!("{DATABASE}__Storms__{source_id}__storms-3.csv"),
    );
    storage
        .upload_blob(&blob, Bytes::from_static(THIRD_BATCH.as_bytes()))
        .await?;
    let message = serde_json::json!({
        "Id": source_id.to_string(),
        "BlobPath": blob.as_str(),
        "DatabaseName": DATABASE,
        "TableName": "Storms",
        "RetainBlobOnSuccess": true,
        "FlushImmediately": true,
        "ReportLevel": 2,
        "ReportMethod": 0,
        "AdditionalProperties": {"authorizationContext": token, "format": "csv"},
    });
    let text = base64::engine::general_purpose::STANDARD.encode(message.to_string());
    storage.send_message(&ready_queue, &text).await?;
    println!("queued 2 rows: blob uploaded to TempStorage, message posted to the ready queue");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let counts: Vec<RowCount> = client
            .execute_query(DATABASE, "Storms | count", None)
            .await?
            .primary_result()
            .ok_or("no primary result")?
            .deserialize()?;
        if counts.first().is_some_and(|c| c.count == 7) {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err("the queued rows did not arrive within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("the data-management service ingested the queued blob\n");
    Ok(())
}
