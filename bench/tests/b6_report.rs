//! `bench_client report` on B6 entries (issue 27): runs over a shaped link get rows of their
//! own, apart from B2 and B3 over loopback, and B6a's limit is the larger of the gzip alone and
//! the compressed bytes at the link's speed.

use std::process::Command;

fn entry(
    pair: u32,
    link: Option<(&str, u64)>,
    client: &str,
    workload: &str,
    seconds: f64,
    details: &str,
) -> String {
    let result = format!(
        "{{\"client\":\"{client}\",\"workload\":\"{workload}\",\"seconds\":{seconds},\
         \"rss_before_mb\":10,\"peak_rss_mb\":20,\"added_mb\":10,\"details\":{details}}}"
    );
    match link {
        Some((label, bits)) => format!(
            "{{\"pair\":{pair},\"link\":\"{label}\",\"link_bits\":{bits},\"result\":{result}}}"
        ),
        None => format!("{{\"pair\":{pair},\"result\":{result}}}"),
    }
}

#[test]
fn b6_rows_stand_apart_and_b6a_is_bounded_by_the_link_or_the_gzip() {
    let slow = Some(("40 ms, 200 Mbit/s", 200_000_000));
    let fast = Some(("5 ms, 1000 Mbit/s", 1_000_000_000));
    // 50,000,000 compressed bytes: 2.00 s at 200 Mbit/s (above the 1.00 s gzip), 0.40 s at
    // 1 Gbit/s (below it).
    let gzip = r#"{"compressed_bytes":50000000}"#;
    let lines = [
        entry(0, None, "rust", "B3", 9.0, "{}"),
        entry(0, None, "python", "B3", 27.0, "{}"),
        entry(0, None, "limit", "B3", 1.0, gzip),
        entry(0, slow, "rust", "B3", 3.0, "{}"),
        entry(0, slow, "python", "B3", 12.0, "{}"),
        entry(0, slow, "limit", "B3", 1.0, gzip),
        entry(0, fast, "rust", "B3", 1.5, "{}"),
        entry(0, fast, "python", "B3", 6.0, "{}"),
        entry(0, fast, "limit", "B3", 1.0, gzip),
        entry(0, slow, "rust", "B2", 8.0, "{}"),
        entry(0, slow, "python", "B2", 40.0, "{}"),
        entry(0, slow, "limit", "B2", 4.0, "{}"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_bench_client"))
        .args(["report", "--results"])
        .arg(&path)
        .output()
        .expect("bench_client runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "report failed:\n{stdout}");
    let row = |label: &str| -> String {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row {label:?} in:\n{stdout}"))
            .to_owned()
    };
    // Loopback B3: the gzip alone, 9 s against 1 s.
    let b3 = row("B3");
    assert!(
        b3.contains("| 27.00 | 9.00 | 3.0x") && b3.ends_with("| 1.00 | 9.00x |"),
        "{b3}"
    );
    // Over 200 Mbit/s the link bounds: 2.00 s, Rust 3.00 s = 1.50x.
    let slow_row = row("B6a (B3 over 40 ms, 200 Mbit/s)");
    assert!(slow_row.contains("| 12.00 | 3.00 | 4.0x"), "{slow_row}");
    assert!(slow_row.ends_with("| 2.00 | 1.50x |"), "{slow_row}");
    // Over 1 Gbit/s the gzip bounds: 1.00 s, Rust 1.50 s.
    let fast_row = row("B6a (B3 over 5 ms, 1000 Mbit/s)");
    assert!(fast_row.ends_with("| 1.00 | 1.50x |"), "{fast_row}");
    let b2 = row("B6b (B2 over 40 ms, 200 Mbit/s)");
    assert!(
        b2.contains("| 40.00 | 8.00 | 5.0x") && b2.ends_with("| 4.00 | 2.00x |"),
        "{b2}"
    );
    assert!(
        stdout.contains("limit = max(gzip alone 1.00 s, compressed bytes at link speed 2.00 s)"),
        "{stdout}"
    );
}
