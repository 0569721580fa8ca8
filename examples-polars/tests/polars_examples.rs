//! The Polars examples run green against the local emulator and print what they read.

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
fn query_polars_example() {
    let stdout = run(env!("CARGO_BIN_EXE_query_polars"));
    assert_prints(
        &stdout,
        &[
            "StartTime: datetime[ns, UTC]",
            "Duration: duration[ns]",
            "Injuries: i64",
            "2024-05-01 10:20:30.123456700 UTC | \"TEXAS\" | \"Hail\" | 2 | 15000.5 | 45m",
            "2024-05-04 23:59:59.999999900 UTC | \"OKLAHOMA\" | \"Hail\" | null | 300.25 | 5m 30s",
            "5 rows, 14 injuries in total, 1 rows without an injury count",
            "largest damage: 2500000",
        ],
    );
}

#[test]
fn polars_roundtrip_example() {
    let stdout = run(env!("CARGO_BIN_EXE_polars_roundtrip"));
    for expected in [
        ".create-merge table Frames (Id:long, Name:string, Score:real, At:datetime, Took:timespan, Tags:dynamic)",
        "status: Succeeded",
        "ids, datetimes and durations identical: true",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
