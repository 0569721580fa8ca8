//! Bulk ingestion of a directory: every `*.csv` file in it (or `*.csv.gz`, sent as is) queued
//! with `QueuedIngestClient::ingest_many`, at most 4 uploads at a time, each file's outcome
//! printed as it completes, then every ingestion waited for. A file that cannot be read or
//! uploaded fails alone; the others go on.
//!
//! `cargo run -p kusto-examples --bin bulk_directory -- DIR` ingests the CSV files of `DIR`
//! (columns `Sensor, At, Value`) into the table `ExampleBulk`; without `DIR`, the example writes
//! 12 sample files (3 rows each) to a temporary directory first. For directories of any size,
//! with progress, a report and resume, the `kusto ingest` command does the same at scale.
//!
//! Runs against a local emulator with Azurite by default. To run it against a cluster, set
//! `KUSTO_CLUSTER_URL` to a URL (authenticates with the default chain: environment, workload
//! identity, managed identity, Azure CLI) or to a full connection string, and `KUSTO_DATABASE`
//! (default `Examples`).

use std::collections::HashMap;
use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use kusto_data::{DataFormat, KustoClient};
use kusto_examples::Target;
use kusto_ingest::{IngestionProperties, IngestionSource, QueuedIngestClient};
use uuid::Uuid;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bulk_directory: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    // The directory: the first argument, or sample files in a temporary directory.
    let samples = tempfile::tempdir()?;
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => {
            for day in 1..=12 {
                let rows: String = (0..3)
                    .map(|i| format!("s{i},2024-05-{day:02}T12:00:00Z,{}.5\n", day * 10 + i))
                    .collect();
                std::fs::write(samples.path().join(format!("day-{day:02}.csv")), rows)?;
            }
            samples.path().to_owned()
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".csv") || name.ends_with(".csv.gz")
        })
        .collect();
    files.sort();
    println!("{} CSV files in {}", files.len(), dir.display());

    let target = Target::start("Examples").await?;
    let engine = KustoClient::new(target.connection_string.clone())?;
    for command in [
        ".create-merge table ExampleBulk (Sensor:string, At:datetime, Value:real)",
        ".clear table ExampleBulk data",
    ] {
        engine.mgmt(&target.database, command).await?;
    }

    // Our own source ids, to tell which file each outcome is about.
    let mut names = HashMap::new();
    let sources: Vec<IngestionSource> = files
        .iter()
        .map(|path| {
            let id = Uuid::new_v4();
            names.insert(
                id,
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
            IngestionSource::file(path).with_source_id(id)
        })
        .collect();
    let client = QueuedIngestClient::new(target.connection_string.clone())?;
    let properties = IngestionProperties::new(&target.database, "ExampleBulk", DataFormat::Csv)
        .with_flush_immediately(true)
        // One status entry per file, so that each can be waited for.
        .with_tracking();
    let mut outcomes = client
        .ingest_many(futures::stream::iter(sources), properties, 4)
        .await?;
    let mut submitted = Vec::new();
    let mut failed = 0;
    while let Some(outcome) = outcomes.next().await {
        let name = names.get(&outcome.source_id).map_or("?", String::as_str);
        match outcome.result {
            Ok(operation) => submitted.push((name.to_owned(), operation)),
            Err(e) => {
                failed += 1;
                println!("{name}: not sent: {e}");
            }
        }
    }
    println!("{} files submitted, {failed} failed", submitted.len());

    // Queued ingestion is asynchronous: wait for the service to report each file.
    submitted.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, operation) in &submitted {
        match operation.wait(Duration::from_secs(300)).await {
            Ok(status) => println!("{name}: {}", status.sources[0].state),
            Err(kusto_ingest::Error::IngestionFailed(status)) => {
                println!("{name}: {status}");
                failed += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }

    let data = engine
        .query(
            &target.database,
            "ExampleBulk | summarize Rows = count(), Total = sum(Value)",
        )
        .await?;
    if let Some(row) = data.primary_result().and_then(|t| t.row(0)) {
        println!(
            "ExampleBulk: {} rows, sum of Value {}",
            row.get_i64("Rows")?.unwrap_or(0),
            row.get_f64("Total")?.unwrap_or(0.0)
        );
    }
    target.stop().await;
    if failed > 0 {
        return Err(format!("{failed} files failed").into());
    }
    Ok(())
}
