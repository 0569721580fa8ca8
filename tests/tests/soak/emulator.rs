//! The soak's emulator process (see the module documentation of `soak.rs`) and the emulator's
//! HTTP control API, through which the parent sets and reads the faults.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{CHILD_ENV, CHILD_TEST, INJECTED_CODE, URL_LINE};

/// The emulator's process; dropped: its stdin is closed, then it is waited for, then killed.
pub(crate) struct EmulatorProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub(crate) url: String,
}

impl EmulatorProcess {
    pub(crate) fn start() -> Self {
        let exe = std::env::current_exe().expect("the path of this test binary");
        let mut child = Command::new(exe)
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the emulator process starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the child's stdout is piped");
        // The guard exists before the wait, so that a failed wait still ends the child.
        let mut process = EmulatorProcess {
            child,
            stdin,
            url: String::new(),
        };
        let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
        // Reads the child's stdout to its end (so that it never blocks on a full pipe).
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = lines_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left) {
                Ok(line) => {
                    // The harness may have printed `test <name> ... ` before it on the line.
                    if let Some((_, url)) = line.split_once(URL_LINE) {
                        process.url = url.trim().to_owned();
                        return process;
                    }
                }
                Err(e) => panic!(
                    "the emulator process printed no URL within 180 s ({e}); its stderr above \
                     says why"
                ),
            }
        }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request to the emulator's control API (HTTP/1.0, so the body ends with the connection).
pub(crate) fn control(url: &str, method: &str, path: &str, body: &Value) -> Value {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the emulator");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send a control request");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("read the control answer");
    let text = String::from_utf8_lossy(&answer);
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{method} {path}: {head}\n{payload}"
    );
    serde_json::from_str(payload).unwrap_or_else(|e| panic!("{method} {path}: {e}: {payload}"))
}

fn injected_status(probability: f64) -> Value {
    json!({"action": "status", "status": 503, "code": INJECTED_CODE,
           "message": "injected by the soak test", "permanent": false,
           "probability": probability})
}

pub(crate) fn set_faults(url: &str) {
    let with_path = |path: &str, mut rule: Value| {
        rule["path"] = json!(path);
        rule
    };
    let throttle = json!({"action": "throttle", "retryAfterSeconds": 1, "probability": 0.01});
    let mut engine = Vec::new();
    for (path, drop) in [
        ("/v2/rest/query", 0.01),
        ("/v1/rest/ingest/*", 0.005),
        ("/v1/rest/ingestion/*", 0.005),
    ] {
        engine.push(with_path(path, injected_status(0.03)));
        engine.push(with_path(path, throttle.clone()));
        engine.push(with_path(
            path,
            json!({"action": "drop", "probability": drop}),
        ));
    }
    control(url, "POST", "/_emulator/faults", &Value::Array(engine));
    let mut upload = injected_status(0.02);
    upload["method"] = json!("PUT");
    control(
        url,
        "POST",
        "/_emulator/storage/kustoemu1/faults",
        &Value::Array(vec![with_path("*", upload)]),
    );
}

/// How often each kind of fault applied; then the rules are removed.
pub(crate) fn take_faults(url: &str) -> BTreeMap<String, u64> {
    let mut applied = BTreeMap::new();
    for (service, path) in [
        ("engine", "/_emulator/faults"),
        ("storage kustoemu1", "/_emulator/storage/kustoemu1/faults"),
    ] {
        let rules = control(url, "GET", path, &Value::Null);
        for rule in rules.as_array().into_iter().flatten() {
            let text = |key: &str| rule[key].as_str().unwrap_or("").to_owned();
            let status = rule["status"].as_u64().map(|s| format!(" {s}"));
            let kind = format!(
                "{service} {} {}{}",
                text("path"),
                text("action"),
                status.unwrap_or_default()
            );
            *applied.entry(kind).or_default() += rule["applied"].as_u64().unwrap_or(0);
        }
        control(url, "DELETE", path, &Value::Null);
    }
    applied
}
