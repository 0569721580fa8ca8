//! `kusto-emulator`: runs the local Kusto emulator until Ctrl-C (or SIGTERM).
//!
//! ```text
//! kusto-emulator [--port 8080] [--host 127.0.0.1] [--database NAME]... [--no-auto-create]
//!                [--streaming-policy-default enabled|disabled] [--no-streaming-ingestion]
//! ```
//!
//! The first line on stdout is the URL (`http://127.0.0.1:PORT`), so that scripts started with
//! `--port 0` can read it. Logs go to stderr (`RUST_LOG` filters them).

use std::net::IpAddr;
use std::process::ExitCode;

use kusto_emulator::Emulator;

const USAGE: &str = "usage: kusto-emulator [--port PORT] [--host ADDR] [--database NAME]... \
[--no-auto-create] [--streaming-policy-default enabled|disabled] [--no-streaming-ingestion]\n\n\
  --port PORT     port to listen on (0 = any free port; default 8080)\n\
  --host ADDR     address to listen on (default 127.0.0.1)\n\
  --database NAME create this database at start (repeatable)\n\
  --no-auto-create            unknown databases are errors instead of being created on first use\n\
  --streaming-policy-default  policy of tables and databases that set none (default enabled)\n\
  --no-streaming-ingestion    answer 404 on /v1/rest/ingest, as a cluster without the feature\n\n\
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
        let handle = builder.start().await.map_err(|e| e.to_string())?;
        println!("{}", handle.url());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        eprintln!(
            "kusto-emulator: listening on {} (Ctrl-C to stop)",
            handle.url()
        );
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
