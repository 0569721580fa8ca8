//! `kusto-emulator`: runs the local Kusto emulator until Ctrl-C (or SIGTERM).
//!
//! ```text
//! kusto-emulator [--port 8080] [--host 127.0.0.1] [--database NAME]... [--no-auto-create]
//!                [--streaming-policy-default enabled|disabled] [--no-streaming-ingestion]
//!                [--azurite [--azurite-js PATH] | --attach-azurite BLOB,QUEUE,TABLE]
//!                [--batching-window-ms N] [--no-rest-ingestion] [--no-storage-proxy]
//!                [--link-rtt-ms MS [--link-mbit MBIT] [--link-loss FRACTION]]
//! ```
//!
//! `kusto-emulator --help` describes every option; `--version` prints the version. The first
//! line on stdout is the URL (`http://127.0.0.1:PORT`), so that scripts started with `--port 0`
//! can read it. Logs go to stderr (`RUST_LOG` filters them).
//!
//! With `--azurite` the emulator starts its own Azurite with two storage accounts and serves
//! queued ingestion; the Azurite stops with the emulator. Azurite is found through
//! `--azurite-js`, `KUSTO_AZURITE_JS`, an `azurite` executable on `PATH` (`npm install -g
//! azurite@3.35.0`) or this repository's `tools/azurite` (`cargo xtask install-azurite`), in this
//! order. With `--attach-azurite` it uses an Azurite that is already running, given the base URLs
//! of its three services, and the accounts of the `AZURITE_ACCOUNTS` variable
//! (`name:key[;name:key]`, as Azurite reads it; Azurite's well-known `devstoreaccount1` when
//! unset).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kusto_emulator::azurite::{
    AccountKey, Azurite, AzuriteEndpoints, AzuriteOptions, StorageAccount,
};
use kusto_emulator::shaped::LinkShape;
use kusto_emulator::signals::StopSignals;
use kusto_emulator::{DataManagementOptions, Emulator};

/// Azurite's documented development account key.
const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How the data-management service gets its storage.
enum Storage {
    None,
    /// Start Azurite, from this script if given.
    Start(Option<PathBuf>),
    Attach(Box<AzuriteEndpoints>),
}

fn attach_endpoints(value: &str) -> Result<AzuriteEndpoints, String> {
    let urls: Vec<url::Url> = value
        .split(',')
        .map(|u| url::Url::parse(u.trim()).map_err(|e| format!("invalid Azurite URL '{u}': {e}")))
        .collect::<Result<_, _>>()?;
    match urls.as_slice() {
        [blob, queue, table] => Ok(AzuriteEndpoints {
            blob: blob.clone(),
            queue: queue.clone(),
            table: table.clone(),
        }),
        _ => Err(format!(
            "expected three URLs (BLOB,QUEUE,TABLE), got {}",
            urls.len()
        )),
    }
}

fn accounts_from_env() -> Result<Vec<StorageAccount>, String> {
    let Ok(text) = std::env::var("AZURITE_ACCOUNTS") else {
        return Ok(vec![StorageAccount {
            name: "devstoreaccount1".to_owned(),
            key: AccountKey::from_base64(DEV_ACCOUNT_KEY)
                .ok_or("the development account key is not base64")?,
        }]);
    };
    text.split(';')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let mut fields = part.trim().split(':');
            let name = fields.next().unwrap_or_default().to_owned();
            let key = fields
                .next()
                .and_then(AccountKey::from_base64)
                .ok_or_else(|| {
                    format!("AZURITE_ACCOUNTS: account '{name}' has no valid base64 key")
                })?;
            Ok(StorageAccount { name, key })
        })
        .collect()
}

/// A local Azure Data Explorer (Kusto) emulator: the engine and data-management endpoints over
/// in-memory tables, for development and tests.
///
/// The first line printed on stdout is the URL (`http://127.0.0.1:PORT`); logs go to stderr
/// (`RUST_LOG` filters them). Stop with Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "kusto-emulator", version, args_override_self = true)]
struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(short, long, value_name = "PORT", default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Create this database at start (repeatable).
    #[arg(long = "database", value_name = "NAME")]
    databases: Vec<String>,
    /// Unknown databases are errors instead of being created on first use.
    #[arg(long)]
    no_auto_create: bool,
    /// Streaming ingestion policy of tables and databases that set none.
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = Policy::Enabled)]
    streaming_policy_default: Policy,
    /// Answer 404 on /v1/rest/ingest, as a cluster without streaming ingestion.
    #[arg(long)]
    no_streaming_ingestion: bool,
    /// Start Azurite and serve queued ingestion over it (Azurite is found through
    /// --azurite-js, KUSTO_AZURITE_JS, an `azurite` on PATH or this repository's tools/azurite).
    #[arg(long, conflicts_with = "attach_azurite")]
    azurite: bool,
    /// Azurite's entry script (.../azurite/dist/src/azurite.js) for --azurite, run with node.
    #[arg(long, value_name = "PATH", requires = "azurite")]
    azurite_js: Option<PathBuf>,
    /// Serve queued ingestion over a running Azurite, given the base URLs of its blob, queue and
    /// table services (accounts from AZURITE_ACCOUNTS, `name:key;...`; Azurite's
    /// devstoreaccount1 when unset).
    #[arg(long, value_name = "BLOB,QUEUE,TABLE", value_parser = attach_endpoints)]
    attach_azurite: Option<AzuriteEndpoints>,
    /// How long queued sources wait to be batched, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = default_batching_window_ms())]
    batching_window_ms: u64,
    /// Answer 404 on /v1/rest/ingestion, as a cluster without the REST ingestion API.
    #[arg(long)]
    no_rest_ingestion: bool,
    /// Hand out Azurite's own URLs instead of those of the fault-injecting storage proxy.
    #[arg(long)]
    no_storage_proxy: bool,
    /// Put the URL and every storage URL handed out behind a shaped link with this round trip,
    /// in milliseconds (kusto_emulator::shaped; the settings are printed on stderr).
    #[arg(long, value_name = "MS")]
    link_rtt_ms: Option<u64>,
    /// Bandwidth of the shaped link, megabits per second each way (requires --link-rtt-ms).
    #[arg(long, value_name = "MBIT", requires = "link_rtt_ms")]
    link_mbit: Option<u64>,
    /// Fraction of chunks of the shaped link delayed as lost (requires --link-rtt-ms).
    #[arg(long, value_name = "FRACTION", requires = "link_rtt_ms")]
    link_loss: Option<f64>,
}

/// The value of `--streaming-policy-default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Policy {
    /// Streaming ingestion is enabled.
    #[value(aliases = ["enable", "true"])]
    Enabled,
    /// Streaming ingestion is disabled.
    #[value(aliases = ["disable", "false"])]
    Disabled,
}

fn default_batching_window_ms() -> u64 {
    u64::try_from(DataManagementOptions::default().batching_window.as_millis()).unwrap_or(u64::MAX)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kusto-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse();
    let mut builder = Emulator::builder()
        .port(args.port)
        .host(args.host)
        .streaming_policy_default(args.streaming_policy_default == Policy::Enabled);
    for database in args.databases {
        builder = builder.database(database);
    }
    if args.no_auto_create {
        builder = builder.auto_create_databases(false);
    }
    if args.no_streaming_ingestion {
        builder = builder.streaming_ingestion(false);
    }
    if let Some(rtt) = args.link_rtt_ms {
        let mut shape = LinkShape::new(Duration::from_millis(rtt));
        if let Some(mbit) = args.link_mbit {
            shape = shape.bandwidth_mbit(mbit);
        }
        if let Some(loss) = args.link_loss {
            shape = shape.loss(loss);
        }
        eprintln!("kusto-emulator: shaped link: {shape}");
        builder = builder.shaped_link(shape);
    }
    let storage = match (args.azurite, args.attach_azurite) {
        (_, Some(endpoints)) => Storage::Attach(Box::new(endpoints)),
        (true, None) => Storage::Start(args.azurite_js),
        (false, None) => Storage::None,
    };
    let dm_options = DataManagementOptions {
        batching_window: Duration::from_millis(args.batching_window_ms),
        rest_api: !args.no_rest_ingestion,
        storage_fault_proxy: !args.no_storage_proxy,
        ..DataManagementOptions::default()
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("could not start the runtime: {e}"))?;
    runtime.block_on(async move {
        builder = match storage {
            Storage::None => builder,
            Storage::Start(script) => {
                let azurite = Azurite::start_with(AzuriteOptions {
                    script,
                    ..AzuriteOptions::default()
                })
                .await
                .map_err(|e| format!("--azurite: {e}"))?;
                builder.azurite(azurite).data_management(dm_options)
            }
            Storage::Attach(endpoints) => builder
                .azurite(Azurite::attach(*endpoints, accounts_from_env()?))
                .data_management(dm_options),
        };
        let handle = builder.start().await.map_err(|e| e.to_string())?;
        // The handlers are installed before the URL is printed: whoever reads the URL may stop
        // the emulator at once, and a signal that arrives before its handler kills the process
        // instead of stopping it cleanly (seen under load in the SIGTERM test).
        let stop = StopSignals::install();
        println!("{}", handle.url());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        eprintln!(
            "kusto-emulator: listening on {} (Ctrl-C to stop)",
            handle.url()
        );
        if let Some(dm) = handle.data_management() {
            let endpoints = dm.azurite().endpoints();
            eprintln!(
                "kusto-emulator: queued ingestion over Azurite (blob {}, queue {}, table {})",
                endpoints.blob, endpoints.queue, endpoints.table
            );
        }
        stop.wait().await;
        eprintln!("kusto-emulator: stopping");
        handle.shutdown().await;
        eprintln!("kusto-emulator: stopped");
        Ok(())
    })
}
