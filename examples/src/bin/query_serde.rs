//! A query read as Rust structs with serde: `#[derive(Deserialize)]` fields are matched to
//! columns by name (`rename_all`, `rename` and unknown columns ignored work as in any serde
//! format), nulls need `Option`, `datetime` and `timespan` columns read exactly into
//! `KustoDateTime` / `KustoTimespan`, and `dynamic` columns into any type their JSON fits.
//!
//! Runs against a local emulator with Azurite by default. To run it against a cluster, set
//! `KUSTO_CLUSTER_URL` to a URL (authenticates with the default chain: environment, workload
//! identity, managed identity, Azure CLI) or to a full connection string, and `KUSTO_DATABASE`
//! (default `Examples`). The example creates and fills a table `ExampleStorms` there.

use std::error::Error;
use std::process::ExitCode;

use kusto_data::KustoClient;
use kusto_data::types::{KustoDateTime, KustoTimespan};
use kusto_examples::{Target, create_sample_table};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Storm {
    start_time: KustoDateTime,
    state: String,
    event_type: String,
    injuries: Option<i64>,
    damage: Option<f64>,
    duration: KustoTimespan,
    confirmed: bool,
    details: Option<Details>,
}

/// The `dynamic` column, read into a struct of its own.
#[derive(Deserialize)]
struct Details {
    size_cm: Option<i64>,
    scale: Option<String>,
    #[serde(default)]
    rivers: Vec<String>,
}

/// Tuples read rows by position.
type StateCount = (String, i64);

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("query_serde: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start("Examples").await?;
    let client = KustoClient::new(target.connection_string.clone())?;
    create_sample_table(&client, &target.database).await?;

    let data = client
        .query(&target.database, "ExampleStorms | order by StartTime asc")
        .await?;
    let storms: Vec<Storm> = data
        .primary_result()
        .ok_or("no primary result")?
        .deserialize()?;
    for s in &storms {
        let details = match &s.details {
            Some(Details {
                size_cm: Some(cm), ..
            }) => format!("hail of {cm} cm"),
            Some(Details {
                scale: Some(scale), ..
            }) => format!("scale {scale}"),
            Some(Details { rivers, .. }) => format!("rivers {rivers:?}"),
            None => "no details".to_owned(),
        };
        println!(
            "{} {:<8} {:<7} injuries={:?} damage={:?} lasted {} confirmed={}: {details}",
            s.start_time, s.state, s.event_type, s.injuries, s.damage, s.duration, s.confirmed
        );
    }
    let rivers: Vec<&str> = storms
        .iter()
        .filter_map(|s| s.details.as_ref())
        .flat_map(|d| d.rivers.iter().map(String::as_str))
        .collect();
    println!("rivers that flooded: {rivers:?}");

    let data = client
        .query(
            &target.database,
            "ExampleStorms | summarize count() by State | order by State asc",
        )
        .await?;
    let counts: Vec<StateCount> = data
        .primary_result()
        .ok_or("no primary result")?
        .deserialize()?;
    println!("events by state: {counts:?}");

    // A struct that does not fit the columns is an error naming the row, column and types.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        #[serde(rename = "State")]
        state: i64,
    }
    let error = data
        .primary_result()
        .ok_or("no primary result")?
        .deserialize::<Wrong>()
        .err()
        .ok_or("expected a conversion error")?;
    println!("wrong struct: {error}");
    target.stop().await;
    Ok(())
}
