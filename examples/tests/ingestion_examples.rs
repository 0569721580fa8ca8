//! The ingestion examples run green against the local emulator and print what they did.

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

#[test]
fn queued_ingest_example() {
    let stdout = run(env!("CARGO_BIN_EXE_queued_ingest"));
    for expected in ["status: Succeeded", "5 files ingested", "7 rows"] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn managed_streaming_example() {
    let stdout = run(env!("CARGO_BIN_EXE_managed_streaming"));
    for expected in [
        "streamed (attempt 0)",
        "queued (TooLarge)",
        "queued ingestion: Succeeded",
        "large: 20000 rows",
        "small: 100 rows",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
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
