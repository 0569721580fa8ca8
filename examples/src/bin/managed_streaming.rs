//! Managed streaming ingestion: small payloads are streamed, a payload over the streaming limit
//! goes queued with the bytes already read, and every decision of the client is printed.
//!
//! Runs against a local emulator with Azurite, or against `KUSTO_CLUSTER_URL` / `KUSTO_DATABASE`
//! (streaming ingestion must be enabled on the table there).

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use kusto_data::{DataFormat, KustoClient};
use kusto_examples::Target;
use kusto_ingest::{
    IngestionProperties, IngestionSource, ManagedEvent, ManagedIngestResult,
    ManagedStreamingIngestClient, ManagedStreamingPolicy,
};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("managed_streaming: {e}");
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
            ".create-merge table Events (Id:long, Kind:string)",
        )
        .await?;
    engine
        .mgmt(
            &database,
            ".alter table Events policy streamingingestion enable",
        )
        .await?;
    let client = ManagedStreamingIngestClient::builder(target.connection_string.clone())
        // A small limit, so that the example shows both paths without megabytes of data.
        .policy(ManagedStreamingPolicy::default().with_max_streaming_size(64 * 1024))
        .on_event(|event| match event {
            ManagedEvent::Streamed { source_id, attempt } => {
                println!("  {source_id}: streamed (attempt {attempt})")
            }
            ManagedEvent::Retrying {
                source_id, error, ..
            } => {
                println!("  {source_id}: retrying after {error}")
            }
            ManagedEvent::FellBack { source_id, reason } => {
                println!("  {source_id}: queued ({reason:?})")
            }
            ManagedEvent::Failed { source_id, error } => println!("  {source_id}: failed: {error}"),
            _ => {}
        })
        .build()?;
    // Tracked, so that a source that falls back to queued ingestion can be waited for.
    let properties = IngestionProperties::new(&database, "Events", DataFormat::Csv).with_tracking();
    let small: String = (0..100).map(|i| format!("{i},small\n")).collect();
    let large: String = (0..20_000).map(|i| format!("{i},large\n")).collect();
    let mut queued = Vec::new();
    for (name, data) in [("small", small), ("large", large)] {
        println!("{name}: {} bytes", data.len());
        match client
            .ingest(IngestionSource::bytes(data), &properties)
            .await?
        {
            ManagedIngestResult::Streamed(result) => {
                println!("  answer: {:?} records", result.consumed_records)
            }
            ManagedIngestResult::Queued(operation, _) => queued.push(operation),
        }
    }
    for operation in queued {
        // An error if the service reports a failure.
        let status = operation.wait(Duration::from_secs(300)).await?;
        println!("  queued ingestion: {}", status.sources[0].state);
    }
    let data = engine
        .query(
            &database,
            "Events | summarize count() by Kind | order by Kind asc",
        )
        .await?;
    for row in data.primary_result().ok_or("no result")?.rows() {
        println!(
            "{}: {} rows",
            row.get_string(0)?.unwrap_or_default(),
            row.get_i64(1)?.unwrap_or_default()
        );
    }
    target.stop().await;
    Ok(())
}
