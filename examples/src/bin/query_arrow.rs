//! A query read as Arrow record batches: `KustoClient::execute_query_arrow` decodes the
//! response straight into Arrow builders as the bytes arrive (the columnar path), one batch at
//! a time, so the result never has to fit in memory. Each column carries its Kusto type in the
//! field metadata `kusto.type`; datetimes are `Timestamp(Nanosecond, "UTC")` by default,
//! timespans `Duration(Nanosecond)`, `dynamic` JSON text (see `kusto_data::response::arrow_batch`
//! for the whole table and the other time units).
//!
//! Runs against a local emulator with Azurite by default. To run it against a cluster, set
//! `KUSTO_CLUSTER_URL` to a URL (authenticates with the default chain: environment, workload
//! identity, managed identity, Azure CLI) or to a full connection string, and `KUSTO_DATABASE`
//! (default `Examples`). The example creates and fills a table `ExampleStorms` there.

use std::error::Error;
use std::process::ExitCode;

use futures::TryStreamExt;
use kusto_data::KustoClient;
use kusto_data::arrow::array::{Array, ArrayRef, AsArray};
use kusto_data::arrow::compute;
use kusto_data::arrow::datatypes::{Float64Type, Int64Type, TimestampNanosecondType};
use kusto_data::arrow::record_batch::RecordBatch;
use kusto_data::response::ArrowOptions;
use kusto_examples::{Target, create_sample_table};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("query_arrow: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start("Examples").await?;
    let client = KustoClient::new(target.connection_string.clone())?;
    create_sample_table(&client, &target.database).await?;

    let mut batches = client
        .query(&target.database, "ExampleStorms | order by StartTime asc")
        .arrow(ArrowOptions::new())
        .await?;
    let mut rows = 0;
    let mut injuries = 0;
    let mut damage = 0.0;
    while let Some(item) = batches.try_next().await? {
        let batch = &item.batch;
        if rows == 0 {
            println!("schema of {}:", item.table_name);
            for field in batch.schema().fields() {
                let kusto_type = field
                    .metadata()
                    .get("kusto.type")
                    .cloned()
                    .unwrap_or_default();
                println!(
                    "  {:<10} {:<30} kusto.type={kusto_type}",
                    field.name(),
                    field.data_type().to_string()
                );
            }
        }
        rows += batch.num_rows();
        // Typed access to a column: downcast it to its Arrow array type.
        let times = column(batch, "StartTime")?
            .as_primitive_opt::<TimestampNanosecondType>()
            .ok_or("StartTime is not a timestamp")?;
        let states = column(batch, "State")?
            .as_string_opt::<i32>()
            .ok_or("State is not a string")?;
        for i in 0..batch.num_rows() {
            println!("  {} ns since 1970: {}", times.value(i), states.value(i));
        }
        // Arrow compute kernels work on the columns directly (nulls are skipped).
        let injury_column = column(batch, "Injuries")?
            .as_primitive_opt::<Int64Type>()
            .ok_or("Injuries is not an Int64")?;
        injuries += compute::sum(injury_column).unwrap_or(0);
        let damage_column = column(batch, "Damage")?
            .as_primitive_opt::<Float64Type>()
            .ok_or("Damage is not a Float64")?;
        damage += compute::sum(damage_column).unwrap_or(0.0);
        println!(
            "  batch: {} rows, {} null Damage",
            batch.num_rows(),
            damage_column.null_count()
        );
    }
    println!("{rows} rows; total injuries {injuries}; total damage {damage}");
    target.stop().await;
    Ok(())
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column {name}"))
}
