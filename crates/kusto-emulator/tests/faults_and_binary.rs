//! Fault injection (control endpoint and library API), shutdown, and the `kusto-emulator` binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kusto_emulator::{Emulator, FaultAction, FaultRule};
use serde_json::json;

async fn add(emu: &kusto_emulator::EmulatorHandle, rule: serde_json::Value) -> Answer {
    answer(
        client()
            .post(format!("{}/_emulator/faults", emu.url()))
            .json(&rule)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn status_faults_with_permanence_and_counts() {
    let emu = start().await;
    let a = add(&emu, json!({"path": "/v2/rest/query", "action": "status", "status": 503, "code": "ServiceUnavailable", "message": "try later", "permanent": false, "times": 2})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["ids"], json!([1]));
    for _ in 0..2 {
        let q = query(&emu, "Emu", "print 1", json!({})).await;
        assert_eq!(q.status, 503);
        let e = q.error();
        assert_eq!(e["code"], "ServiceUnavailable");
        assert_eq!(e["@message"], "try later");
        assert_eq!(e["@permanent"], false);
        assert!(q.headers.contains_key("x-ms-activity-id"));
    }
    assert_eq!(
        query(&emu, "Emu", "print 1", json!({})).await.status,
        200,
        "used up after two"
    );
    let listed = answer(
        client()
            .get(format!("{}/_emulator/faults", emu.url()))
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(listed[0]["applied"], 2);
    assert_eq!(listed[0]["remaining"], 0);
    // Permanent 400, only for POST on the mgmt path; other paths untouched.
    add(&emu, json!({"path": "/v1/rest/mgmt", "method": "POST", "action": "status", "status": 400, "permanent": true})).await;
    let m = mgmt(&emu, "Emu", ".show version").await;
    assert_eq!(m.status, 400);
    assert_eq!(m.error()["@permanent"], true);
    assert_eq!(m.error()["code"], "InjectedFault");
    assert_eq!(query(&emu, "Emu", "print 1", json!({})).await.status, 200);
    let cleared = answer(
        client()
            .delete(format!("{}/_emulator/faults", emu.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cleared.json()["removed"], 2);
    assert_eq!(mgmt(&emu, "Emu", ".show version").await.status, 200);
}

#[tokio::test]
async fn throttling_delay_and_dropped_connections() {
    let emu = start().await;
    add(&emu, json!({"path": "/v1/rest/ingest/*", "action": "throttle", "retryAfterSeconds": 7, "times": 1})).await;
    let t = answer(
        client()
            .post(format!(
                "{}/v1/rest/ingest/Emu/T?streamFormat=csv",
                emu.url()
            ))
            .body("1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(t.status, 429);
    assert_eq!(t.headers["retry-after"], "7");
    assert_eq!(t.error()["code"], "TooManyRequests");
    assert_eq!(
        t.error()["@type"],
        "Kusto.Data.Exceptions.KustoRequestThrottledException"
    );
    assert_eq!(t.error()["@permanent"], false);

    let id = emu
        .faults()
        .add(
            FaultRule::new("/v2/rest/query", FaultAction::Delay)
                .delay(Duration::from_millis(300))
                .times(1),
        )
        .unwrap();
    let started = Instant::now();
    let q = query(&emu, "Emu", "print 1", json!({})).await;
    assert_eq!(q.status, 200, "a delayed request is served");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the answer waited for the delay"
    );
    let rule = emu
        .faults()
        .list()
        .into_iter()
        .find(|f| f.id == id)
        .unwrap();
    assert_eq!((rule.applied, rule.remaining), (1, Some(0)));
    assert!(emu.faults().remove(id));

    emu.faults()
        .add(FaultRule::new("/v1/rest/mgmt", FaultAction::Drop).times(1))
        .unwrap();
    let dropped = client()
        .post(format!("{}/v1/rest/mgmt", emu.url()))
        .body(json!({"db": "Emu", "csl": ".show version"}).to_string())
        .send()
        .await;
    let err = dropped.expect_err("the connection is dropped");
    assert!(!err.is_status(), "{err}");
    assert_eq!(
        mgmt(&emu, "Emu", ".show version").await.status,
        200,
        "next request served"
    );
}

#[tokio::test]
async fn probability_and_invalid_rules() {
    let emu = start().await;
    emu.faults()
        .add(FaultRule::new("*", FaultAction::Drop).probability(0.0))
        .unwrap();
    for _ in 0..5 {
        assert_eq!(query(&emu, "Emu", "print 1", json!({})).await.status, 200);
    }
    emu.faults().clear();
    emu.faults()
        .add(
            FaultRule::new(
                "/v2/*",
                FaultAction::Throttle {
                    retry_after_seconds: 1,
                },
            )
            .probability(1.0),
        )
        .unwrap();
    assert_eq!(query(&emu, "Emu", "print 1", json!({})).await.status, 429);
    assert_eq!(
        add(&emu, json!({"path": "*", "action": "explode"}))
            .await
            .status,
        400
    );
    assert_eq!(
        add(
            &emu,
            json!({"path": "*", "action": "drop", "probability": 3})
        )
        .await
        .status,
        400
    );
    assert_eq!(add(&emu, json!([{"path": "/a", "action": "drop"}, {"path": "/b", "action": "delay", "delayMs": 1}])).await.json()["ids"], json!([3, 4]), "ids keep counting after clear");
    let del = answer(
        client()
            .delete(format!("{}/_emulator/faults/3", emu.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(del.status, 200);
    assert_eq!(
        answer(
            client()
                .delete(format!("{}/_emulator/faults/3", emu.url()))
                .send()
                .await
                .unwrap()
        )
        .await
        .status,
        404
    );
    // The control endpoints are never faulted.
    let health = answer(
        client()
            .get(format!("{}/_emulator/health", emu.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn a_probability_between_zero_and_one_faults_some_requests_and_not_others() {
    let emu = start().await;
    let id = emu
        .faults()
        .add(
            FaultRule::new(
                "/v2/rest/query",
                FaultAction::Status {
                    status: 503,
                    code: "ServiceUnavailable".into(),
                    message: "coin flip".into(),
                    permanent: false,
                },
            )
            .probability(0.5),
        )
        .unwrap();
    let (mut faulted, mut served) = (0u64, 0u64);
    for _ in 0..200 {
        let a = query(&emu, "Emu", "print 1", json!({})).await;
        match a.status {
            503 => {
                assert_eq!(a.error()["@message"], "coin flip");
                faulted += 1;
            }
            200 => {
                assert_eq!(a.frames()[2]["Rows"], json!([[1]]));
                served += 1;
            }
            other => panic!("unexpected status {other}: {}", a.text),
        }
    }
    // Each outcome has probability 2^-200 of never happening: both must be seen.
    assert!(
        faulted > 0 && served > 0,
        "faulted {faulted}, served {served}"
    );
    let rule = emu
        .faults()
        .list()
        .into_iter()
        .find(|f| f.id == id)
        .unwrap();
    assert_eq!(rule.applied, faulted, "only the faulted requests count");
    assert_eq!(rule.remaining, None);
}

#[tokio::test]
async fn a_library_status_fault_can_be_permanent() {
    let emu = start().await;
    emu.faults()
        .add(
            FaultRule::new(
                "/v1/rest/mgmt",
                FaultAction::Status {
                    status: 403,
                    code: "Forbidden".into(),
                    message: "no access for you".into(),
                    permanent: true,
                },
            )
            .method("POST")
            .times(1),
        )
        .unwrap();
    let a = mgmt(&emu, "Emu", ".show version").await;
    assert_eq!(a.status, 403, "{}", a.text);
    let e = a.error();
    assert_eq!(e["code"], "Forbidden");
    assert_eq!(e["@message"], "no access for you");
    assert_eq!(e["@permanent"], true);
    assert_eq!(e["@type"], "Kusto.Emulator.InjectedFaultException");
    assert!(a.headers.contains_key("x-ms-activity-id"));
    assert_eq!(
        mgmt(&emu, "Emu", ".show version").await.status,
        200,
        "used up after one"
    );
}

/// A client that gives up long before `DELAY`.
fn impatient_client() -> reqwest::Client {
    kusto_emulator::http_client_builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap()
}

const DELAY: Duration = Duration::from_millis(1500);

/// Sends `print 1` to /v2/rest/query with `client`.
async fn send_query(
    client: &reqwest::Client,
    emu: &kusto_emulator::EmulatorHandle,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{}/v2/rest/query", emu.url()))
        .body(json!({"db": "Emu", "csl": "print 1"}).to_string())
        .send()
        .await
}

#[tokio::test]
async fn a_delay_precedes_the_status_throttle_and_drop_actions() {
    let emu = start().await;
    let actions = [
        FaultAction::Status {
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "slow and failing".into(),
            permanent: false,
        },
        FaultAction::Throttle {
            retry_after_seconds: 4,
        },
        FaultAction::Drop,
    ];
    for action in actions {
        let id = emu
            .faults()
            .add(
                FaultRule::new("/v2/rest/query", action.clone())
                    .delay(DELAY)
                    .times(2),
            )
            .unwrap();
        // The answer (or the dropped connection) comes only after the delay: a client with a
        // shorter timeout times out instead of seeing the action.
        let early = send_query(&impatient_client(), &emu).await;
        let err = early.expect_err("the answer is delayed");
        assert!(err.is_timeout(), "{action:?}: {err}");
        // A patient client sees the action, after at least roughly the delay.
        let started = Instant::now();
        let late = send_query(&client(), &emu).await;
        assert!(
            started.elapsed() >= DELAY - Duration::from_millis(50),
            "{action:?}: waited {:?}",
            started.elapsed()
        );
        match &action {
            FaultAction::Status { .. } => {
                let a = answer(late.unwrap()).await;
                assert_eq!(a.status, 503);
                assert_eq!(a.error()["@message"], "slow and failing");
            }
            FaultAction::Throttle { .. } => {
                let a = answer(late.unwrap()).await;
                assert_eq!(a.status, 429);
                assert_eq!(a.headers["retry-after"], "4");
                assert_eq!(a.error()["code"], "TooManyRequests");
            }
            _ => {
                let err = late.expect_err("the connection is dropped");
                assert!(!err.is_timeout() && !err.is_status(), "{err}");
            }
        }
        let rule = emu
            .faults()
            .list()
            .into_iter()
            .find(|f| f.id == id)
            .unwrap();
        assert_eq!((rule.applied, rule.remaining), (2, Some(0)), "{action:?}");
        // Used up: the next request is served normally.
        let next = answer(send_query(&client(), &emu).await.unwrap()).await;
        assert_eq!(next.status, 200, "{action:?}: {}", next.text);
        assert!(emu.faults().remove(id));
    }
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let emu = Emulator::builder().start().await.unwrap();
    let url = emu.url().to_string();
    assert_eq!(query(&emu, "Emu", "print 1", json!({})).await.status, 200);
    emu.shutdown().await;
    let after = client()
        .post(format!("{url}/v2/rest/query"))
        .body("{}")
        .send()
        .await;
    assert!(after.is_err(), "no listener after shutdown");
}

/// Starts the binary, checks that it serves, sends it `signal` (a `kill` signal name) and
/// requires a clean exit.
fn run_binary_until(signal: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kusto-emulator"))
        .args(["--port", "0", "--database", "Preset"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = runtime.block_on(async {
        client()
            .post(format!("{url}/v1/rest/mgmt"))
            .body(json!({"db": "Preset", "csl": ".show databases"}).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(answer.contains("\"Preset\""), "{answer}");
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "clean exit on SIG{signal}: {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the emulator did not stop on SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Stopped means stopped listening.
        let after = runtime.block_on(async {
            client()
                .post(format!("{url}/v1/rest/mgmt"))
                .body("{}")
                .send()
                .await
        });
        assert!(after.is_err(), "no listener after SIG{signal}");
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn binary_prints_its_url_and_stops_on_sigterm() {
    run_binary_until("TERM");
    let bad = Command::new(env!("CARGO_BIN_EXE_kusto-emulator"))
        .args(["--port", "nope"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("invalid value 'nope' for '--port <PORT>'"),
        "{stderr}"
    );
}

/// The options are parsed by clap: `--help` describes every option, `--version` prints the
/// version, and bad arguments are clap errors (exit code 2) that name the argument.
#[test]
fn binary_help_version_and_argument_errors_are_clap_s() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kusto-emulator"))
            .args(args)
            .output()
            .unwrap()
    };
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Usage: kusto-emulator [OPTIONS]"), "{text}");
    for option in [
        "-p, --port <PORT>",
        "--host <ADDR>",
        "--database <NAME>",
        "--no-auto-create",
        "--streaming-policy-default <POLICY>",
        "--no-streaming-ingestion",
        "--azurite",
        "--azurite-js <PATH>",
        "--attach-azurite <BLOB,QUEUE,TABLE>",
        "--batching-window-ms <MS>",
        "--no-rest-ingestion",
        "--no-storage-proxy",
        "-V, --version",
    ] {
        assert!(text.contains(option), "--help lists {option}: {text}");
    }
    assert!(text.contains("[default: 8080]"), "{text}");
    assert!(text.contains("[default: 1000]"), "{text}");
    assert!(
        text.contains("- enabled:") && text.contains("- disabled:"),
        "{text}"
    );

    let version = run(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("kusto-emulator {}", env!("CARGO_PKG_VERSION"))
    );

    for (args, expected) in [
        (&["--frobnicate"][..], "unexpected argument '--frobnicate'"),
        (&["--port"][..], "a value is required for '--port <PORT>'"),
        (
            &["--streaming-policy-default", "maybe"][..],
            "invalid value 'maybe' for '--streaming-policy-default <POLICY>'",
        ),
        (
            &[
                "--azurite",
                "--attach-azurite",
                "http://a,http://b,http://c",
            ][..],
            "cannot be used with",
        ),
        (
            &["--azurite-js", "/x/azurite.js"][..],
            "the following required arguments were not provided",
        ),
        (
            &["--host", "localhost:1"][..],
            "invalid value 'localhost:1'",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: no URL line");
    }
}

/// The old parser's spellings keep working: `-p`, the policy aliases, a repeated option (the
/// last one wins) and a repeated `--database`.
#[test]
fn binary_keeps_the_old_option_spellings() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kusto-emulator"))
        .args([
            "-p",
            "1",
            "--port",
            "0",
            "--database",
            "A",
            "--database",
            "B",
        ])
        .args(["--streaming-policy-default", "true"])
        .args(["--streaming-policy-default", "disable", "--no-auto-create"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (databases, streamed, unknown) = runtime.block_on(async {
        let mgmt = |db: &'static str, csl: &'static str| {
            let url = url.clone();
            async move {
                client()
                    .post(format!("{url}/v1/rest/mgmt"))
                    .body(json!({"db": db, "csl": csl}).to_string())
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        mgmt("A", ".create table T (a:long)").await;
        let streamed = client()
            .post(format!("{url}/v1/rest/ingest/A/T?streamFormat=Csv"))
            .body("1\n")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (
            mgmt("A", ".show databases").await,
            streamed,
            mgmt("Nope", ".show tables").await,
        )
    });
    assert!(
        databases.contains("\"A\"") && databases.contains("\"B\""),
        "{databases}"
    );
    // `--streaming-policy-default disable` (the last of the two) applies.
    assert!(
        streamed.contains("StreamingIngestionPolicyNotEnabled"),
        "{streamed}"
    );
    assert!(unknown.contains("BadRequest_DatabaseNotExist"), "{unknown}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Ctrl-C in a terminal delivers SIGINT.
#[test]
fn binary_stops_cleanly_on_sigint() {
    run_binary_until("INT");
}
