//! `cargo xtask demo` must keep working: run the demo binary and check what it printed.

use std::process::Command;

#[test]
fn the_demo_ingests_and_reads_back_every_row() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .output()
        .expect("the demo binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    for expected in [
        "created table Storms",
        "ingested 3 rows by streaming ingestion from memory",
        "ingested 2 rows by streaming ingestion from a blob in Azurite",
        ".get ingestion resources: 7 resources",
        "over the storage-queue protocol: blob",
        "over the REST protocol: blob",
        "-> Succeeded",
        "the data-management service ingested the queued blobs",
        "2024-05-06T21:10:00Z         | KANSAS   | Flood",
        "2024-05-01T10:20:30.1234567Z | TEXAS    | Hail",
        "  TEXAS      3",
        "  KANSAS     2",
        "7 rows ingested and read back.",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
