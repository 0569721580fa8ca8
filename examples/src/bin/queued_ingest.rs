//! Queued ingestion of CSV files with `kusto-ingest`: one file with a header line and a mapping
//! reference, waited for until it succeeds; then a directory of files with `ingest_many`, each
//! source's outcome printed as it completes.
//!
//! Runs against a local emulator with Azurite, or against `KUSTO_CLUSTER_URL` / `KUSTO_DATABASE`.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use kusto_data::{DataFormat, KustoClient};
use kusto_examples::{Target, render};
use kusto_ingest::{IngestionProperties, IngestionSource, QueuedIngestClient};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("queued_ingest: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start("Examples").await?;
    let database = target.database.clone();
    let engine = KustoClient::new(target.connection_string.clone())?;
    engine
        .mgmt(
            &database,
            ".create-merge table Readings (Sensor:string, At:datetime, Value:real)",
        )
        .await?;
    // The file's columns are At, Sensor, Value: the mapping puts them in place. (On a real
    // cluster, `.create-or-alter` lets the example run twice; the emulator knows `.create`.)
    engine
        .mgmt(&database, r#".create table Readings ingestion csv mapping "ReadingsCsv" '[{"column":"At","Properties":{"Ordinal":"0"}},{"column":"Sensor","Properties":{"Ordinal":"1"}},{"column":"Value","Properties":{"Ordinal":"2"}}]'"#)
        .await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("readings.csv");
    std::fs::write(
        &path,
        "At,Sensor,Value\n2024-05-01T10:00:00Z,s1,20.5\n2024-05-01T10:01:00Z,s2,19.25\n",
    )?;

    // `QueuedIngestClient::new(connection_string)` derives the ingest- endpoint of a real
    // cluster; the emulator serves both on one URL.
    let ingest = QueuedIngestClient::new(target.connection_string.clone())?;
    let properties = IngestionProperties::new(&database, "Readings", DataFormat::Csv)
        .with_mapping_reference("ReadingsCsv")
        .with_ignore_first_record(true)
        .with_flush_immediately(true)
        // Ask the service to report each source's outcome, so that it can be waited for (one
        // status entry per source: leave it off for high volumes).
        .with_tracking();
    let operation = ingest
        .ingest(IngestionSource::file(&path), &properties)
        .await?;
    println!(
        "submitted {} over {:?}",
        operation.source_ids()[0],
        ingest.active_protocol().await?
    );
    // An error if the service reports a failure: `?` is enough.
    let status = operation.wait(Duration::from_secs(300)).await?;
    println!("status: {}", status.sources[0].state);

    // Many files at once: at most 4 uploads in flight, outcomes as they complete.
    let mut files = Vec::new();
    for i in 0..5 {
        let path = dir.path().join(format!("batch-{i}.csv"));
        std::fs::write(&path, format!("2024-05-02T00:0{i}:00Z,batch,{i}\n"))?;
        files.push(IngestionSource::file(path));
    }
    let mut outcomes = ingest
        .ingest_many(
            futures::stream::iter(files),
            properties.with_ignore_first_record(false),
            4,
        )
        .await?;
    let mut operations = Vec::new();
    while let Some(outcome) = outcomes.next().await {
        let operation = outcome.result?;
        println!("submitted {}", outcome.source_id);
        operations.push(operation);
    }
    for operation in &operations {
        operation.wait(Duration::from_secs(300)).await?;
    }
    println!("{} files ingested", operations.len());

    let data = engine
        .query(&database, "Readings | order by At asc")
        .await?;
    let table = data.primary_result().ok_or("no result")?;
    println!("{}", render(table));
    println!("{} rows", table.len());
    target.stop().await;
    Ok(())
}
