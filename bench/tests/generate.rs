//! `bench_client generate` writes the same bytes on every run (every client of a benchmark run
//! must get the same input), and the row counts it reports are the rows it wrote. The test also
//! makes `cargo test` build `bench_client`, which `cargo xtask bench --quick` then runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn generate(dir: &Path) -> BTreeMap<String, u64> {
    let output = Command::new(env!("CARGO_BIN_EXE_bench_client"))
        .args(["generate", "--dir"])
        .arg(dir)
        .args(["--b2-files", "3", "--b2-kb", "4", "--b3-mb", "1"])
        .args(["--b5-requests", "2", "--b5-kb", "2"])
        .output()
        .expect("bench_client runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "generate failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.parse().expect("a number")))
        .collect()
}

fn lines(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .expect("a generated file")
        .lines()
        .count() as u64
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for sub in ["b2", "b5"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub))
            .expect("a generated directory")
            .map(|e| e.expect("an entry").path())
            .collect();
        names.sort();
        for name in names {
            let bytes = std::fs::read(&name).expect("a generated file");
            all.push((format!("{sub}/{}", name.display()), bytes));
        }
    }
    all.push(("b3".into(), std::fs::read(dir.join("b3.csv")).expect("b3")));
    all
}

#[test]
fn generate_is_deterministic_and_counts_what_it_wrote() {
    let first = tempfile::tempdir().expect("a temp dir");
    let second = tempfile::tempdir().expect("a temp dir");
    let counts = generate(first.path());
    assert_eq!(counts, generate(second.path()));

    let b2: u64 = (0..3)
        .map(|i| lines(&first.path().join("b2").join(format!("{i:05}.csv"))))
        .sum();
    assert_eq!(counts["b2_rows"], b2);
    assert_eq!(counts["b3_rows"], lines(&first.path().join("b3.csv")));
    let b5: u64 = (0..2)
        .map(|i| lines(&first.path().join("b5").join(format!("{i:05}.csv"))))
        .sum();
    assert_eq!(counts["b5_rows"], b5);
    assert!(counts["b3_rows"] > 0 && b2 > 0 && b5 > 0);

    let (a, b) = (files(first.path()), files(second.path()));
    assert_eq!(a.len(), b.len());
    for ((_, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "the two runs wrote different bytes");
    }
}
