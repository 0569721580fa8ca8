//! `kusto-emulator`: runs the local Kusto emulator until Ctrl-C (or SIGTERM).
//!
//! ```text
//! kusto-emulator [--port 8080] [--host 127.0.0.1] [--database NAME]... [--no-auto-create]
//!                [--streaming-policy-default enabled|disabled] [--no-streaming-ingestion]
//!                [--azurite | --attach-azurite BLOB,QUEUE,TABLE] [--batching-window-ms N]
//!                [--no-rest-ingestion] [--no-storage-proxy]
//! ```
//!
//! The first line on stdout is the URL (`http://127.0.0.1:PORT`), so that scripts started with
//! `--port 0` can read it. Logs go to stderr (`RUST_LOG` filters them).
//!
//! With `--azurite` the emulator starts its own Azurite (found through `KUSTO_AZURITE_JS` or
//! this repository's `tools/azurite`, installed by `cargo xtask install-azurite`) with two
//! storage accounts and serves queued ingestion; the Azurite stops with the emulator. With
//! `--attach-azurite` it uses an Azurite that is already running, given the base URLs of its
//! three services, and the accounts of the `AZURITE_ACCOUNTS` variable (`name:key[;name:key]`,
//! as Azurite reads it; Azurite's well-known `devstoreaccount1` when unset).

use std::net::IpAddr;
use std::process::ExitCode;

use std::time::Duration;

use kusto_emulator::azurite::{AccountKey, Azurite, AzuriteEndpoints, StorageAccount};
use kusto_emulator::{DataManagementOptions, Emulator};

/// Azurite's documented development account key.
const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How the data-management service gets its storage.
enum Storage {
    None,
    Start,
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
        _ => Err("--attach-azurite needs three URLs: BLOB,QUEUE,TABLE".to_owned()),
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

const USAGE: &str = "usage: kusto-emulator [--port PORT] [--host ADDR] [--database NAME]... \
[--no-auto-create] [--streaming-policy-default enabled|disabled] [--no-streaming-ingestion] \
[--azurite | --attach-azurite BLOB,QUEUE,TABLE] [--batching-window-ms N] [--no-rest-ingestion] \
[--no-storage-proxy]\n\n\
  --port PORT     port to listen on (0 = any free port; default 8080)\n\
  --host ADDR     address to listen on (default 127.0.0.1)\n\
  --database NAME create this database at start (repeatable)\n\
  --no-auto-create            unknown databases are errors instead of being created on first use\n\
  --streaming-policy-default  policy of tables and databases that set none (default enabled)\n\
  --no-streaming-ingestion    answer 404 on /v1/rest/ingest, as a cluster without the feature\n\
  --azurite                   start Azurite (tools/azurite or KUSTO_AZURITE_JS) and serve queued ingestion\n\
  --attach-azurite B,Q,T      serve queued ingestion over a running Azurite (accounts from AZURITE_ACCOUNTS)\n\
  --batching-window-ms N      how long queued sources wait to be batched (default 1000)\n\
  --no-rest-ingestion         answer 404 on /v1/rest/ingestion, as a cluster without the REST API\n\
  --no-storage-proxy          hand out Azurite's own URLs instead of the fault-injecting proxy's\n\n\
The first line printed on stdout is the URL. Stop with Ctrl-C.";

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
    let mut builder = Emulator::builder().port(8080);
    let mut storage = Storage::None;
    let mut dm_options = DataManagementOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--port" | "-p" => {
                let v = value("--port")?;
                builder = builder.port(v.parse().map_err(|_| format!("invalid port '{v}'"))?);
            }
            "--host" => {
                let v = value("--host")?;
                builder = builder.host(
                    v.parse::<IpAddr>()
                        .map_err(|_| format!("invalid address '{v}'"))?,
                );
            }
            "--database" => builder = builder.database(value("--database")?),
            "--no-auto-create" => builder = builder.auto_create_databases(false),
            "--no-streaming-ingestion" => builder = builder.streaming_ingestion(false),
            "--streaming-policy-default" => {
                let v = value("--streaming-policy-default")?;
                let enabled = match v.as_str() {
                    "enabled" | "enable" | "true" => true,
                    "disabled" | "disable" | "false" => false,
                    _ => return Err(format!("invalid policy '{v}' (enabled or disabled)")),
                };
                builder = builder.streaming_policy_default(enabled);
            }
            "--azurite" => storage = Storage::Start,
            "--attach-azurite" => {
                storage = Storage::Attach(Box::new(attach_endpoints(&value("--attach-azurite")?)?));
            }
            "--batching-window-ms" => {
                let v = value("--batching-window-ms")?;
                let ms: u64 = v
                    .parse()
                    .map_err(|_| format!("invalid milliseconds '{v}'"))?;
                dm_options.batching_window = Duration::from_millis(ms);
            }
            "--no-rest-ingestion" => dm_options.rest_api = false,
            "--no-storage-proxy" => dm_options.storage_fault_proxy = false,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument '{other}'\n\n{USAGE}")),
        }
    }
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
            Storage::Start => {
                let azurite = Azurite::start()
                    .await
                    .map_err(|e| format!("--azurite: {e}"))?;
                builder.azurite(azurite).data_management(dm_options)
            }
            Storage::Attach(endpoints) => builder
                .azurite(Azurite::attach(*endpoints, accounts_from_env()?))
                .data_management(dm_options),
        };
        let handle = builder.start().await.map_err(|e| e.to_string())?;
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
        wait_for_signal().await;
        eprintln!("kusto-emulator: stopping");
        handle.shutdown().await;
        eprintln!("kusto-emulator: stopped");
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
