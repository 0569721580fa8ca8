//! Streaming ingestion with `StreamingIngestClient`: small payloads go straight to the engine
//! (no storage, no queue) and are queryable when the call returns. Here: CSV bytes from memory,
//! then a JSON-lines file whose nested fields a mapping takes by JSON path. Streaming ingestion
//! takes mappings by reference (created on the table) only: an inline mapping is refused with a
//! typed error before anything is sent, as are tags and other properties the service's
//! streaming endpoint ignores.
//!
//! Runs against a local emulator with Azurite by default. To run it against a cluster, set
//! `KUSTO_CLUSTER_URL` to a URL (authenticates with the default chain: environment, workload
//! identity, managed identity, Azure CLI) or to a full connection string, and `KUSTO_DATABASE`
//! (default `Examples`). Streaming ingestion must be enabled on the cluster; the example enables
//! the policy on its table `ExampleReadings`.

use std::error::Error;
use std::process::ExitCode;

use kusto_data::{DataFormat, KustoClient};
use kusto_examples::{Target, render};
use kusto_ingest::{IngestionProperties, IngestionSource, StreamingIngestClient};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("streaming_ingest: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start("Examples").await?;
    let database = target.database.clone();
    let engine = KustoClient::new(target.connection_string.clone())?;
    for command in [
        ".create-merge table ExampleReadings (Sensor:string, At:datetime, Value:real)",
        ".alter table ExampleReadings policy streamingingestion enable",
        ".clear table ExampleReadings data",
    ] {
        engine.mgmt(&database, command).await?;
    }
    // `.create-or-alter` lets the example run twice on a cluster; the emulator knows `.create`.
    let verb = if target.is_local() {
        "create"
    } else {
        "create-or-alter"
    };
    let mapping = r#"'[{"column":"Sensor","Properties":{"Path":"$.device.id"}},{"column":"At","Properties":{"Path":"$.time"}},{"column":"Value","Properties":{"Path":"$.reading.celsius"}}]'"#;
    engine
        .mgmt(&database, &format!(".{verb} table ExampleReadings ingestion json mapping \"ExampleReadingsJson\" {mapping}"))
        .await?;
    let client = StreamingIngestClient::new(target.connection_string.clone())?;

    // From memory: CSV in the table's column order.
    let csv = "s1,2024-05-01T10:00:00Z,20.5\ns2,2024-05-01T10:00:00Z,19.25\n";
    let properties = IngestionProperties::new(&database, "ExampleReadings", DataFormat::Csv);
    let result = client
        .ingest(IngestionSource::bytes(csv), &properties)
        .await?;
    println!(
        "CSV from memory: source {}, {:?} records",
        result.source_id, result.consumed_records
    );

    // From a file: JSON lines whose fields are nested, placed by the mapping.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("readings.json");
    std::fs::write(
        &path,
        concat!(
            r#"{"device":{"id":"s3"},"time":"2024-05-01T10:01:00Z","reading":{"celsius":21.0}}"#,
            "\n",
            r#"{"device":{"id":"s1"},"time":"2024-05-01T10:02:00Z","reading":{"celsius":20.75}}"#,
            "\n",
        ),
    )?;
    let properties = IngestionProperties::new(&database, "ExampleReadings", DataFormat::Json)
        .with_mapping_reference("ExampleReadingsJson");
    let result = client
        .ingest(IngestionSource::file(&path), &properties)
        .await?;
    println!(
        "JSON file with a mapping reference: source {}, {:?} records",
        result.source_id, result.consumed_records
    );

    // No waiting: streamed rows are there as soon as the call returns.
    let data = engine
        .query(&database, "ExampleReadings | order by At asc, Sensor asc")
        .await?;
    let table = data.primary_result().ok_or("no result")?;
    println!("{}", render(table));
    println!("{} rows", table.len());
    target.stop().await;
    Ok(())
}
