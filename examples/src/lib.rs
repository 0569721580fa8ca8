//! Runnable examples for the Kusto SDK for Rust. They run against the local emulator by default.
//!
//! | example | what it shows | run it |
//! |---|---|---|
//! | `demo` | Azurite and the emulator started locally; a table created; data ingested by streaming, from memory and from a blob in Azurite, and queued over both protocols; queried back with parameters, as typed rows and as structs | `cargo xtask demo` |
//! | `queued_ingest` | a CSV file with a header and a mapping reference ingested with `QueuedIngestClient`, its status waited for, the rows queried back; many files with `ingest_many` | `cargo run -p kusto-examples --bin queued_ingest` |
//! | `polars_roundtrip` | a Polars DataFrame into a table created from its schema (`ingest_from_dataframe`, queued, status waited for) and queried back as a DataFrame with the same dtypes | `cargo run -p kusto-examples --bin polars_roundtrip` |
//! | `managed_streaming` | small payloads streamed, a large one sent queued by the same `ManagedStreamingIngestClient`, each decision printed | `cargo run -p kusto-examples --bin managed_streaming` |
//!
//! The ingestion examples run against a local emulator with Azurite by default; set
//! `KUSTO_CLUSTER_URL` (a cluster URL or a full connection string; a bare `https://` URL uses the
//! default credential chain) and `KUSTO_DATABASE` to run them against a real cluster.

use std::error::Error;

use kusto_data::{ConnectionString, KustoTable};
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
        if let Ok(url) = std::env::var("KUSTO_CLUSTER_URL") {
            let database = std::env::var("KUSTO_DATABASE").unwrap_or_else(|_| database.to_owned());
            return Ok(Target {
                connection_string: ConnectionString::parse(&url)?,
                database,
                emulator: None,
            });
        }
        let azurite = Azurite::start().await?;
        let emulator = Emulator::builder()
            .database(database)
            .azurite(azurite)
            .data_management(DataManagementOptions {
                batching_window: std::time::Duration::from_millis(300),
                ..DataManagementOptions::default()
            })
            .start()
            .await?;
        Ok(Target {
            connection_string: ConnectionString::parse(emulator.url())?,
            database: database.to_owned(),
            emulator: Some(emulator),
        })
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
