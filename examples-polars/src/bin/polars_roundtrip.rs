//! A Polars DataFrame into Kusto and back: the table created from the frame's schema, the frame
//! ingested with `QueuedIngestClient` (JSON lines; every value exact, 100 ns datetimes, negative
//! durations, lists as `dynamic`), the status waited for, and the table queried back as a
//! DataFrame with the matching dtypes.
//!
//! Runs against a local emulator with Azurite, or against `KUSTO_CLUSTER_URL` / `KUSTO_DATABASE`.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use kusto_data::{DataFormat, KustoClient};
use kusto_examples::Target;
use kusto_ingest::{IngestionProperties, QueuedIngestClient};
use kusto_ingest_polars::polars::prelude::*;
use kusto_ingest_polars::{
    FrameOptions, IngestFromDataFrame, ResultOptions, create_table_command, query_dataframe,
};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("polars_roundtrip: {e}");
            ExitCode::FAILURE
        }
    }
}

fn frame() -> PolarsResult<DataFrame> {
    let mut tags: ListChunked = vec![
        Some(Series::new("".into(), ["red", "big"])),
        Some(Series::new("".into(), ["blue"])),
        None,
    ]
    .into_iter()
    .collect();
    tags.rename("Tags".into());
    let columns = vec![
        Series::new("Id".into(), [1i64, 2, 3]),
        Series::new("Name".into(), ["Zoë", "comma, \"quote\"", "日本"]),
        Series::new("Score".into(), [Some(0.1f64), Some(f64::NAN), None]),
        Series::new(
            "At".into(),
            [1_700_000_000_123_456_700i64, 0, -1_000_000_000],
        )
        .into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC)),
        Series::new("Took".into(), [1_500_000_000i64, -86_400_000_000_000, 100])
            .into_duration(TimeUnit::Nanoseconds),
        tags.into_series(),
    ];
    DataFrame::new(3, columns.into_iter().map(Column::from).collect())
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start("Examples").await?;
    let engine = KustoClient::new(target.connection_string.clone())?;
    let frame = frame()?;
    println!("sent:\n{frame}");

    let create = create_table_command("Frames", &frame, true)?;
    println!("{create}");
    engine.mgmt(&target.database, &create).await?;

    let ingest = QueuedIngestClient::new(target.connection_string.clone())?;
    let properties =
        IngestionProperties::new(&target.database, "Frames", DataFormat::Json).with_tracking();
    let operation = ingest
        .ingest_from_dataframe(&frame, &properties, &FrameOptions::new())
        .await?;
    // An error if the service reports a failure.
    let status = operation.wait(Duration::from_secs(120)).await?;
    println!("status: {}", status.sources[0].state);

    let back = query_dataframe(
        &engine,
        &target.database,
        "Frames | order by Id asc",
        &ResultOptions::new(),
    )
    .await?;
    println!("received:\n{back}");
    let same = ["Id", "At", "Took"]
        .iter()
        .all(|c| match (frame.column(c), back.column(c)) {
            (Ok(a), Ok(b)) => a
                .as_materialized_series()
                .equals_missing(b.as_materialized_series()),
            _ => false,
        });
    println!("ids, datetimes and durations identical: {same}");
    target.stop().await;
    if !same {
        return Err("the frame read back differs".into());
    }
    Ok(())
}
