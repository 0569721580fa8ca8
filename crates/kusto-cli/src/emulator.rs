//! `kusto emulator`.

use std::time::Duration;

use kusto_emulator::azurite::Azurite;
use kusto_emulator::signals::StopSignals;
use kusto_emulator::{DataManagementOptions, Emulator};

use crate::cli::EmulatorArgs;
use crate::error::{CliError, Exit};

/// Runs `kusto emulator` until Ctrl-C (or SIGTERM).
pub(crate) async fn run(args: EmulatorArgs) -> Result<Exit, CliError> {
    let azurite = Azurite::start().await.map_err(|e| {
        CliError::Other(format!(
            "Azurite could not start ({e}); install it with `cargo xtask install-azurite` or `npm install -g azurite`"
        ))
    })?;
    let mut builder = Emulator::builder()
        .port(args.port)
        .azurite(azurite)
        .data_management(DataManagementOptions {
            batching_window: Duration::from_millis(args.batching_window_ms),
            ..DataManagementOptions::default()
        });
    for database in &args.databases {
        builder = builder.database(database.clone());
    }
    let handle = builder
        .start()
        .await
        .map_err(|e| CliError::Other(format!("the emulator could not start: {e}")))?;
    // Installed before the URL is printed: whoever reads it may stop us at once.
    let stop = StopSignals::install();
    let url = handle.url().to_string();
    let url = url.trim_end_matches('/');
    println!("{url}");
    eprintln!(
        "kusto: emulator listening on {url} with queued ingestion over Azurite (Ctrl-C to stop)"
    );
    eprintln!("kusto: connection string: Data Source={url};Fed=False");
    eprintln!("kusto: try: kusto query --cluster {url} --database NetDefaultDB '.show databases'");
    eprintln!(
        "kusto:      kusto ingest --cluster {url} --database NetDefaultDB --table T --wait data.csv"
    );
    stop.wait().await;
    eprintln!("kusto: stopping the emulator");
    handle.shutdown().await;
    Ok(Exit::Success)
}
