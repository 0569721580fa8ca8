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

/// An `azurite` executable on PATH (as `npm install -g azurite` installs it) is run directly
/// when neither `--azurite-js` nor `KUSTO_AZURITE_JS` names a script; a named script that does
/// not exist is an error that says how to install Azurite.
#[test]
fn azurite_is_found_on_path_and_a_missing_script_says_how_to_install() {
    let repository_script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/azurite/node_modules/azurite/dist/src/azurite.js");
    let script = std::env::var_os("KUSTO_AZURITE_JS")
        .map(std::path::PathBuf::from)
        .unwrap_or(repository_script);
    let bin = std::env::temp_dir().join(format!("kusto-emulator-path-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&bin).unwrap();
    let marker = bin.join("ran");
    // A wrapper that records that it ran, then becomes Azurite (npm's global `azurite` is a
    // link to the script, whose shebang runs node).
    let wrapper = bin.join("azurite");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\nexec node '{}' \"$@\"\n",
            marker.display(),
            script.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kusto-emulator"));
    command
        .args(["--port", "0", "--azurite", "--no-storage-proxy"])
        .env("PATH", &path)
        .env_remove("KUSTO_AZURITE_JS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the URL line");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rows = runtime.block_on(resources(&url));
    assert_eq!(rows.len(), 7, "{rows:?}");
    let arguments = std::fs::read_to_string(&marker).expect("the azurite on PATH ran");
    assert!(arguments.contains("--inMemoryPersistence"), "{arguments}");
    stop(child);
    std::fs::remove_dir_all(&bin).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_kusto-emulator"))
        .args([
            "--port",
            "0",
            "--azurite",
            "--azurite-js",
            "/nonexistent/azurite.js",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no URL line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/azurite.js")
            && stderr.contains("npm install -g azurite@3.35.0")
            && stderr.contains("cargo xtask install-azurite"),
        "{stderr}"
    );
}
