//! The harness of the `kusto` binary's tests: an emulator (with Azurite for queued ingestion)
//! started in the test, and the built binary run against it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use kusto_data::{ConnectionString, KustoClient};
use kusto_emulator::azurite::Azurite;
use kusto_emulator::{DataManagementOptions, Emulator, EmulatorHandle};
use tokio::io::AsyncWriteExt;

/// The binary under test.
pub const KUSTO: &str = env!("CARGO_BIN_EXE_kusto");

/// A running emulator, a client of it and a scratch directory.
pub struct Env {
    pub emulator: EmulatorHandle,
    pub client: KustoClient,
    pub url: String,
    pub database: String,
    pub dir: tempfile::TempDir,
}

/// Starts an emulator with queued ingestion over a new Azurite (batching window 200 ms).
pub async fn start(database: &str) -> Env {
    let azurite = Azurite::start()
        .await
        .unwrap_or_else(|e| panic!("Azurite must start (cargo xtask install-azurite): {e}"));
    let emulator = Emulator::builder()
        .database(database)
        .azurite(azurite)
        .data_management(DataManagementOptions {
            batching_window: Duration::from_millis(200),
            ..DataManagementOptions::default()
        })
        .start()
        .await
        .unwrap_or_else(|e| panic!("the emulator must start: {e}"));
    env_of(emulator, database)
}

/// Wraps a started emulator.
pub fn env_of(emulator: EmulatorHandle, database: &str) -> Env {
    let url = emulator.url().trim_end_matches('/').to_owned();
    let client =
        KustoClient::new(ConnectionString::parse(&format!("{url}/{database}")).unwrap()).unwrap();
    Env {
        emulator,
        client,
        url,
        database: database.to_owned(),
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    /// Runs a management command or query, panicking on failure.
    pub async fn command(&self, text: &str) -> kusto_data::DataSet {
        self.client
            .execute(&self.database, text)
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// `T | count`.
    pub async fn count(&self, table: &str) -> i64 {
        let data = self.command(&format!("{table} | count")).await;
        data.primary_result()
            .unwrap()
            .row(0)
            .unwrap()
            .get_i64(0)
            .unwrap()
            .unwrap()
    }

    /// Runs `kusto` with `args` in the scratch directory (stdin: `input`, or nothing).
    pub async fn kusto(&self, args: &[&str], input: Option<&[u8]>) -> Run {
        run_in(self.dir.path(), args, input).await
    }

    /// The common arguments of an ingestion into `table`.
    pub fn ingest_args<'a>(&'a self, table: &'a str) -> Vec<&'a str> {
        vec![
            "ingest",
            "--cluster",
            &self.url,
            "--database",
            &self.database,
            "--table",
            table,
        ]
    }

    /// The JSON records of a report file in the scratch directory.
    pub fn report(&self, name: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    /// Writes a file under the scratch directory, creating its directories.
    pub fn write(&self, relative: &str, content: &str) {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `kusto` in `dir`.
pub async fn run_in(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Run {
    let mut command = tokio::process::Command::new(KUSTO);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("KUSTO_CLUSTER")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).await.unwrap();
        drop(stdin);
    }
    let output: Output = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kusto {args:?} did not end within 5 minutes"))
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Asserts the exit code, showing the run when it differs.
pub fn expect_code(run: &Run, code: i32) {
    assert_eq!(run.code, code, "unexpected exit code: {run:#?}");
}

/// Outcomes of the last record of each path.
pub fn last_outcomes(
    records: &[serde_json::Value],
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut last = std::collections::BTreeMap::new();
    for record in records {
        last.insert(record["path"].as_str().unwrap().to_owned(), record.clone());
    }
    last
}
