//! The `kusto-emulator` binary with queued ingestion: `--azurite` starts (and stops) its own
//! Azurite, `--attach-azurite` uses one that is already running and leaves it running.
#![cfg(unix)]

mod dm_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kusto_emulator::azurite::{Azurite, AzuriteOptions};
use serde_json::{Value, json};

fn spawn(args: &[&str], env: &[(&str, String)]) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kusto-emulator"));
    command
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the URL line");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    (child, url)
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "clean exit: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "the emulator did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn resources(url: &str) -> Vec<(String, url::Url)> {
    let body: Value = dm_common::http()
        .post(format!("{url}/v1/rest/mgmt"))
        .json(&json!({"db": "NetDefaultDB", "csl": ".get ingestion resources"}))
        .send()
        .await
        .expect("mgmt")
        .json()
        .await
        .expect("json");
    body["Tables"][0]["Rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                url::Url::parse(r[1].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn azurite_flag_starts_and_stops_its_own_azurite() {
    let (child, url) = spawn(&["--azurite", "--no-storage-proxy"], &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rows = runtime.block_on(resources(&url));
    assert_eq!(rows.len(), 7, "{rows:?}");
    let blob_port = rows
        .iter()
        .find(|(kind, _)| kind == "TempStorage")
        .and_then(|(_, u)| u.port())
        .expect("a container URL with a port");
    assert!(listening(blob_port));
    stop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while listening(blob_port) {
        assert!(
            Instant::now() < deadline,
            "Azurite still listens after the emulator stopped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn attach_flag_uses_a_running_azurite_and_leaves_it_running() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let azurite = runtime
        .block_on(Azurite::start_with(AzuriteOptions {
            accounts: vec!["attached1".into()],
            ..AzuriteOptions::default()
        }))
        .expect("Azurite starts");
    let endpoints = azurite.endpoints().clone();
    let accounts = azurite
        .accounts()
        .iter()
        .map(|a| format!("{}:{}", a.name, a.key.to_base64()))
        .collect::<Vec<_>>()
        .join(";");
    let services = format!("{},{},{}", endpoints.blob, endpoints.queue, endpoints.table);
    let (child, url) = spawn(
        &["--attach-azurite", &services],
        &[("AZURITE_ACCOUNTS", accounts)],
    );
    let rows = runtime.block_on(resources(&url));
    assert_eq!(rows.len(), 5, "one account: {rows:?}");
    assert!(
        rows.iter()
            .all(|(_, u)| u.path().starts_with("/attached1/")),
        "{rows:?}"
    );
    stop(child);
    assert!(listening(endpoints.blob.port().unwrap()));

    // Bad flags are errors, not panics.
    let output = Command::new(env!("CARGO_BIN_EXE_kusto-emulator"))
        .args(["--attach-azurite", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("three URLs"));
    runtime.block_on(azurite.stop());
}
