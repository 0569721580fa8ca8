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
    for expected in [
        "status: Succeeded",
        "5 files ingested",
        "s1     | 2024-05-01T10:00:00Z | 20.5",
        "s2     | 2024-05-01T10:01:00Z | 19.25",
        "batch  | 2024-05-02T00:04:00Z | 4",
        "7 rows",
    ] {
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
fn streaming_ingest_example() {
    let stdout = run(env!("CARGO_BIN_EXE_streaming_ingest"));
    for expected in [
        "CSV from memory: source",
        "Some(2) records",
        "JSON file with a mapping reference: source",
        "s1     | 2024-05-01T10:00:00Z | 20.5",
        "s3     | 2024-05-01T10:01:00Z | 21",
        "s1     | 2024-05-01T10:02:00Z | 20.75",
        "4 rows",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn bulk_directory_example() {
    let stdout = run(env!("CARGO_BIN_EXE_bulk_directory"));
    for expected in [
        "12 CSV files in",
        "12 files submitted, 0 failed",
        "day-01.csv: Succeeded",
        "day-12.csv: Succeeded",
        "ExampleBulk: 36 rows, sum of Value 2394",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
