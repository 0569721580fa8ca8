//! A result far larger than you would want in memory, read in bounded memory:
//! `KustoClient::execute_query_stream` parses the response as its bytes arrive and hands out
//! batches of rows (`primary_batches`); each batch is dropped before the next is parsed, so
//! memory is bounded by the batch size set with `ParserOptions`, whatever the number of rows.
//!
//! Against the local emulator (the default) the example first streams 200,000 rows into a table
//! `ExampleBig` with `StreamingIngestClient`, then queries them back. Against a cluster
//! (`KUSTO_CLUSTER_URL` set to a URL or a connection string, `KUSTO_DATABASE`) it queries
//! `range` instead, which the emulator does not run, and ingests nothing.

use std::error::Error;
use std::process::ExitCode;

use futures::TryStreamExt;
use kusto_data::response::ParserOptions;
use kusto_data::{DataFormat, KustoClient};
use kusto_examples::Target;
use kusto_ingest::{IngestionProperties, IngestionSource, StreamingIngestClient};

const ROWS: i64 = 200_000;
const BATCH_ROWS: usize = 10_000;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("large_streamed_query: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start("Examples").await?;
    // Batches of at most 10,000 rows (the default is larger; smaller batches, less memory).
    let client = KustoClient::builder(target.connection_string.clone())
        .parser_options(ParserOptions::new().with_batch_rows(BATCH_ROWS))
        .build()?;

    let query = if target.is_local() {
        fill_table(&client, &target.database).await?;
        "ExampleBig".to_owned()
    } else {
        format!(
            "range Id from 0 to {} step 1 | extend Name = strcat('row-', Id), Value = Id * 0.5",
            ROWS - 1
        )
    };

    let mut batches = client
        .query(&target.database, &query)
        .stream()
        .await?
        .primary_batches();
    let (mut rows, mut count, mut largest, mut id_sum, mut value_sum) = (0_i64, 0, 0, 0_i64, 0.0);
    while let Some(batch) = batches.try_next().await? {
        if batch.replaces_previous {
            // A progressive response replaced what was sent so far (never for this query).
            (rows, id_sum, value_sum) = (0, 0, 0.0);
        }
        count += 1;
        largest = largest.max(batch.len());
        for row in batch.rows() {
            id_sum += row.get_i64("Id")?.unwrap_or(0);
            value_sum += row.get_f64("Value")?.unwrap_or(0.0);
        }
        rows += batch.len() as i64;
    }
    println!("{rows} rows in {count} batches, at most {largest} rows in memory at once");
    println!("sum of Id: {id_sum} (expected {})", ROWS * (ROWS - 1) / 2);
    println!("sum of Value: {value_sum}");
    target.stop().await;
    if rows != ROWS || largest > BATCH_ROWS {
        return Err("the stream did not deliver what was expected".into());
    }
    Ok(())
}

/// Streams `ROWS` rows into `ExampleBig`, 50,000 rows (about 1.3 MB) per request: streaming
/// ingestion takes at most 4 MiB of data per request.
async fn fill_table(client: &KustoClient, database: &str) -> Result<(), Box<dyn Error>> {
    client
        .mgmt(
            database,
            ".create-merge table ExampleBig (Id:long, Name:string, Value:real)",
        )
        .await?;
    client
        .mgmt(database, ".clear table ExampleBig data")
        .await?;
    let ingest = StreamingIngestClient::from_kusto_client(client.clone());
    let properties = IngestionProperties::new(database, "ExampleBig", DataFormat::Csv);
    for start in (0..ROWS).step_by(50_000) {
        let chunk: String = (start..(start + 50_000).min(ROWS))
            .map(|i| format!("{i},row-{i},{}\n", i as f64 * 0.5))
            .collect();
        ingest
            .ingest(IngestionSource::bytes(chunk), &properties)
            .await?;
    }
    println!("streamed {ROWS} rows into ExampleBig");
    Ok(())
}
