//! The query examples and the authentication example run green against the local emulator and
//! print the rows they read.

use std::process::Command;

fn run(binary: &str) -> String {
    let output = Command::new(binary)
        .env_remove("KUSTO_CLUSTER_URL")
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "failed:\n{stdout}\n{stderr}");
    stdout
}

fn assert_prints(stdout: &str, expected: &[&str]) {
    for expected in expected {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn query_rows_example() {
    let stdout = run(env!("CARGO_BIN_EXE_query_rows"));
    assert_prints(
        &stdout,
        &[
            "5 rows, columns: [\"StartTime\", \"State\", \"EventType\", \"Injuries\", \"Damage\", \"Duration\", \"Confirmed\", \"Details\"]",
            "2024-05-01T10:20:30.1234567Z TEXAS    injuries=2 damage=15000.5 lasted=00:45:00 confirmed=true details={\"size_cm\":4}",
            "2024-05-03T17:45:00Z TEXAS    injuries=0 damage=null lasted=1.02:00:00 confirmed=false details={\"rivers\":[\"Brazos\",\"Colorado\"]}",
            "2024-05-04T23:59:59.9999999Z OKLAHOMA injuries=null damage=300.25 lasted=00:05:30 confirmed=true details=null",
            "wrong getter: cannot convert row 0 column 'State' (Kusto string) to i64",
            "KANSAS: 2 events, 12 injuries",
        ],
    );
}

#[test]
fn query_serde_example() {
    let stdout = run(env!("CARGO_BIN_EXE_query_serde"));
    assert_prints(
        &stdout,
        &[
            "2024-05-01T10:20:30.1234567Z TEXAS    Hail    injuries=Some(2) damage=Some(15000.5) lasted 00:45:00 confirmed=true: hail of 4 cm",
            "2024-05-02T08:00:00Z KANSAS   Tornado injuries=Some(11) damage=Some(2500000.0) lasted 01:10:00 confirmed=true: scale EF2",
            "2024-05-04T23:59:59.9999999Z OKLAHOMA Hail    injuries=None damage=Some(300.25) lasted 00:05:30 confirmed=true: no details",
            "rivers that flooded: [\"Brazos\", \"Colorado\", \"Kansas\"]",
            "events by state: [(\"KANSAS\", 2), (\"OKLAHOMA\", 1), (\"TEXAS\", 2)]",
            "wrong struct: cannot convert row 0 column 'State' (Kusto string) to i64",
        ],
    );
}

#[test]
fn query_arrow_example() {
    let stdout = run(env!("CARGO_BIN_EXE_query_arrow"));
    assert_prints(
        &stdout,
        &[
            "StartTime  Timestamp(ns, \"UTC\")           kusto.type=datetime",
            "Duration   Duration(ns)                   kusto.type=timespan",
            "Details    Utf8                           kusto.type=dynamic",
            "1714558830123456700 ns since 1970: TEXAS",
            "1714867199999999900 ns since 1970: OKLAHOMA",
            "5 rows; total injuries 14; total damage 2557300.75",
        ],
    );
}

#[test]
fn large_streamed_query_example() {
    let stdout = run(env!("CARGO_BIN_EXE_large_streamed_query"));
    assert_prints(
        &stdout,
        &[
            "streamed 200000 rows into ExampleBig",
            "200000 rows in 20 batches, at most 10000 rows in memory at once",
            "sum of Id: 19999900000 (expected 19999900000)",
            "sum of Value: 9999950000",
        ],
    );
}

#[test]
fn custom_auth_and_retries_example() {
    let stdout = run(env!("CARGO_BIN_EXE_custom_auth_and_retries"));
    assert_prints(
        &stdout,
        &[
            "without a token: transient=false permanent=true",
            "HTTP 401",
            "token provider asked for scopes [\"https://kusto.kusto.windows.net/.default\"]",
            "after two 503s: Answer = Some(42) in 3 requests",
            "after a 429: succeeded in 2 requests, waited at least 1 s: true",
            "RetryPolicy::none(): failed after 1 request, transient=true",
            "a bad query: 1 request, transient=false permanent=true",
            "SYN0002",
        ],
    );
}
