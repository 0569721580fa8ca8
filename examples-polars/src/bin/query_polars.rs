//! A query read as a Polars DataFrame: `kusto_ingest_polars::query_dataframe` streams the
//! response through the columnar Arrow path into a frame (`long` to `Int64`, `real` to
//! `Float64`, `datetime` to `Datetime(ns, UTC)`, `timespan` to `Duration(ns)`, `dynamic` to
//! JSON text; the whole table is in `kusto_ingest_polars::results`).
//!
//! Runs against a local emulator with Azurite by default. To run it against a cluster, set
//! `KUSTO_CLUSTER_URL` to a URL (authenticates with the default chain: environment, workload
//! identity, managed identity, Azure CLI) or to a full connection string, and `KUSTO_DATABASE`
//! (default `Examples`). The example creates and fills a table `ExampleStorms` there.

use std::error::Error;
use std::process::ExitCode;

use kusto_data::KustoClient;
use kusto_examples::{Target, create_sample_table};
use kusto_ingest_polars::polars::prelude::*;
use kusto_ingest_polars::{ResultOptions, query_dataframe};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("query_polars: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start("Examples").await?;
    let client = KustoClient::new(target.connection_string.clone())?;
    create_sample_table(&client, &target.database).await?;

    let frame = query_dataframe(
        &client,
        &target.database,
        "ExampleStorms | project StartTime, State, EventType, Injuries, Damage, Duration | order by StartTime asc",
        &ResultOptions::new(),
    )
    .await?;
    for (name, dtype) in frame.schema().iter() {
        println!("{name}: {dtype}");
    }
    // (`println!("{frame}")` prints the table when polars' `fmt` feature is on; the SDK leaves
    // it off to build less. Here, row by row.)
    for i in 0..frame.height() {
        let cells = frame
            .columns()
            .iter()
            .map(|c| c.get(i).map(|v| v.to_string()))
            .collect::<PolarsResult<Vec<_>>>()?;
        println!("{}", cells.join(" | "));
    }
    // From here on it is an ordinary DataFrame.
    let injuries = frame.column("Injuries")?.i64()?;
    println!(
        "{} rows, {} injuries in total, {} rows without an injury count",
        frame.height(),
        injuries.sum().unwrap_or(0),
        injuries.null_count()
    );
    let damage = frame.column("Damage")?.f64()?;
    println!("largest damage: {}", damage.max().unwrap_or(f64::NAN));
    target.stop().await;
    Ok(())
}
