//! A query read as rows with typed getters: `get_datetime`, `get_string`, `get_i64`, `get_f64`,
//! `get_timespan`, `get_bool`, `get_dynamic`, by column name or position. Nulls are `None`; a
//! getter of the wrong type is an error naming the row and column, never a silent conversion.
//! Values are exact: 100 ns datetimes, `i64` never through `f64`. Then the same query with a
//! typed parameter, whose value travels beside the query text.
//!
//! Runs against a local emulator with Azurite by default. To run it against a cluster, set
//! `KUSTO_CLUSTER_URL` to a URL (authenticates with the default chain: environment, workload
//! identity, managed identity, Azure CLI) or to a full connection string, and `KUSTO_DATABASE`
//! (default `Examples`). The example creates and fills a table `ExampleStorms` there.

use std::error::Error;
use std::process::ExitCode;

use kusto_data::KustoClient;
use kusto_data::kql::QueryParameters;
use kusto_examples::{Target, create_sample_table};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("query_rows: {e}");
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
    let table = data.primary_result().ok_or("no primary result")?;
    println!(
        "{} rows, columns: {:?}",
        table.len(),
        table.columns().iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    for row in table.rows() {
        // By name...
        let at = row.get_datetime("StartTime")?.ok_or("StartTime is null")?;
        let state = row.get_string("State")?.unwrap_or_default();
        let injuries = row.get_i64("Injuries")?;
        let damage = row.get_f64("Damage")?;
        // ...or by position.
        let duration = row.get_timespan(5)?;
        let confirmed = row.get_bool(6)?.unwrap_or(false);
        let details = row.get_dynamic("Details")?;
        println!(
            "{at} {state:<8} injuries={} damage={} lasted={} confirmed={confirmed} details={}",
            injuries.map_or("null".into(), |n| n.to_string()),
            damage.map_or("null".into(), |d| d.to_string()),
            duration.map_or("null".into(), |d| d.to_string()),
            details.map_or("null".into(), |d| d.to_string()),
        );
    }
    // A getter of the wrong type is an error, not a conversion.
    if let Some(row) = table.row(0) {
        let error = row.get_i64("State").err().ok_or("expected a type error")?;
        println!("wrong getter: {error}");
    }

    // Values go into a query as parameters, never spliced into its text.
    let parameters = QueryParameters::new().with("state", "KANSAS")?;
    let data = client
        .query(&target.database, "ExampleStorms | where State == state | summarize Events = count(), Injuries = sum(Injuries) by State").parameters(&parameters)
        .await?;
    for row in data.primary_result().ok_or("no primary result")?.rows() {
        println!(
            "{}: {} events, {} injuries",
            row.get_string("State")?.unwrap_or_default(),
            row.get_i64("Events")?.unwrap_or_default(),
            row.get_i64("Injuries")?.unwrap_or_default()
        );
    }
    target.stop().await;
    Ok(())
}
