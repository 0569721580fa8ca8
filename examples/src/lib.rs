//! Runnable examples for the Kusto SDK for Rust. They run against the local emulator by default.
//!
//! | example | what it shows |
//! |---|---|
//! | `query_rows` | a query read row by row with typed getters, nulls as `None`; typed query parameters |
//! | `query_serde` | rows into `#[derive(Deserialize)]` structs by column name, tuples by position |
//! | `query_arrow` | `KustoClient::execute_query_arrow`: Arrow record batches from the columnar path |
//! | `large_streamed_query` | 200,000 rows through `execute_query_stream` in bounded batches |
//! | `queued_ingest` | a CSV file with a header and a mapping reference ingested with `QueuedIngestClient`, its status waited for, the rows queried back; many files with `ingest_many` |
//! | `streaming_ingest` | `StreamingIngestClient`: CSV from memory, a JSON-lines file with a JSON-path mapping |
//! | `managed_streaming` | small payloads streamed, a large one sent queued by the same `ManagedStreamingIngestClient`, each decision printed |
//! | `bulk_directory` | every CSV file of a directory with `ingest_many`, each file's status waited for |
//! | `custom_auth_and_retries` | a custom `TokenProvider`; `RetryPolicy` per client and per request; what is retried and what is not |
//! | `demo` | all of it at once (`cargo xtask demo`) |
//!
//! The Polars examples (`query_polars`, `polars_roundtrip`) are in the package
//! `kusto-examples-polars` (`examples-polars/`), so that these examples, and the demo, build
//! without Polars.
//!
//! Run one with `cargo run -p kusto-examples --bin NAME`; `cargo test -p kusto-examples` runs
//! them all and checks what they print. They run against a local emulator with Azurite started
//! in-process by default; set `KUSTO_CLUSTER_URL` (a cluster URL, which authenticates with the
//! default credential chain, or a full connection string) and `KUSTO_DATABASE` (default
//! `Examples`) to run them against a real cluster.

use std::error::Error;

use kusto_data::{ConnectionString, KustoClient, KustoTable};
use kusto_emulator::azurite::Azurite;
use kusto_emulator::{DataManagementOptions, Emulator, EmulatorHandle};

/// Where an example runs: a real cluster from the environment, or a local emulator.
#[derive(Debug)]
pub struct Target {
    /// The connection string to use.
    pub connection_string: ConnectionString,
    /// The database to use.
    pub database: String,
    emulator: Option<EmulatorHandle>,
}

impl Target {
    /// `KUSTO_CLUSTER_URL` and `KUSTO_DATABASE` when set; otherwise Azurite and the emulator
    /// started here with `database` (stopped by [`Target::stop`]).
    pub async fn start(database: &str) -> Result<Target, Box<dyn Error>> {
        Target::start_with(database, None).await
    }

    /// As [`Target::start`], but a local emulator answers 401 to any request without
    /// `Authorization: Bearer <token>` (for the authentication example).
    pub async fn start_requiring_token(
        database: &str,
        token: &str,
    ) -> Result<Target, Box<dyn Error>> {
        Target::start_with(database, Some(token)).await
    }

    async fn start_with(database: &str, token: Option<&str>) -> Result<Target, Box<dyn Error>> {
        if let Ok(url) = std::env::var("KUSTO_CLUSTER_URL") {
            let database = std::env::var("KUSTO_DATABASE").unwrap_or_else(|_| database.to_owned());
            return Ok(Target {
                connection_string: ConnectionString::parse(&url)?,
                database,
                emulator: None,
            });
        }
        let azurite = Azurite::start().await?;
        let mut builder = Emulator::builder()
            .database(database)
            .azurite(azurite)
            .data_management(DataManagementOptions {
                batching_window: std::time::Duration::from_millis(300),
                ..DataManagementOptions::default()
            });
        if let Some(token) = token {
            builder = builder.require_token(token);
        }
        let emulator = builder.start().await?;
        Ok(Target {
            connection_string: ConnectionString::parse(emulator.url())?,
            database: database.to_owned(),
            emulator: Some(emulator),
        })
    }

    /// The local emulator, when one was started (for fault injection).
    pub fn emulator(&self) -> Option<&EmulatorHandle> {
        self.emulator.as_ref()
    }

    /// True when running against the local emulator.
    pub fn is_local(&self) -> bool {
        self.emulator.is_some()
    }

    /// Stops the local emulator, if one was started.
    pub async fn stop(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}

/// Creates (or empties) the table `ExampleStorms` and fills it with five rows of every common
/// Kusto type, with `.ingest inline` (fine for examples; use an ingest client for real data).
/// The query examples read it back.
pub async fn create_sample_table(
    client: &KustoClient,
    database: &str,
) -> Result<(), Box<dyn Error>> {
    client
        .mgmt(
            database,
            ".create-merge table ExampleStorms (StartTime:datetime, State:string, \
             EventType:string, Injuries:long, Damage:real, Duration:timespan, Confirmed:bool, \
             Details:dynamic)",
        )
        .await?;
    client
        .mgmt(database, ".clear table ExampleStorms data")
        .await?;
    client.mgmt(database, SAMPLE_ROWS).await?;
    Ok(())
}

const SAMPLE_ROWS: &str = r#".ingest inline into table ExampleStorms <|
2024-05-01T10:20:30.1234567Z,TEXAS,Hail,2,15000.5,00:45:00,true,"{""size_cm"":4}"
2024-05-02T08:00:00Z,KANSAS,Tornado,11,2500000,01:10:00,true,"{""scale"":""EF2""}"
2024-05-03T17:45:00Z,TEXAS,Flood,0,,1.02:00:00,false,"{""rivers"":[""Brazos"",""Colorado""]}"
2024-05-04T23:59:59.9999999Z,OKLAHOMA,Hail,,300.25,00:05:30,true,
2024-05-06T21:10:00Z,KANSAS,Flood,1,42000,12:00:00,false,"{""rivers"":[""Kansas""]}""#;

/// Renders a table as aligned text columns (for printing in examples).
pub fn render(table: &KustoTable) -> String {
    let headers: Vec<String> = table.columns().iter().map(|c| c.name.clone()).collect();
    let cells: Vec<Vec<String>> = table
        .rows()
        .map(|row| row.values().iter().map(|v| v.to_string()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |values: &[String]| {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(&headers)];
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    out.extend(cells.iter().map(|row| line(row)));
    out.join("\n")
}
