//! `cargo xtask bench [--quick] [--pairs N] [--only B1,B4] [--rows N] [--b3-mb N]`: this SDK
//! side by side with the official Python SDK 6.0.4 on the same work, against one emulator with
//! Azurite, and against the limit each workload has on this machine (issue 15;
//! `docs/benchmarks.md` holds the table and reads it).
//!
//! 1. Builds the release binaries `bench_client` (kusto-bench) and `kusto-emulator`
//!    (`--quick`: the debug binaries the test step built) and the Python virtualenv of the
//!    conformance step (`tools/conformance/requirements.txt`: azure-kusto-data and
//!    azure-kusto-ingest 6.0.4 with pandas).
//! 2. Generates the input files under `target/bench/data` (`bench_client generate`).
//! 3. Starts one emulator with Azurite. For each workload and each pair, runs the Rust client
//!    (`bench_client run`) and the Python client (`tools/bench/python_client.py`), alternating
//!    which goes first, then the limit (`bench_client limit`); each in its own process, each
//!    into a fresh table. After every run the rows in the table are counted (a lost or doubled
//!    row fails the benchmark) and the table is dropped.
//! 4. Writes each run's JSON line to `target/bench/results.jsonl` and prints the table
//!    (`bench_client report`), also written to `target/bench/report.md`.
//!
//! `--quick` uses small sizes and one pair: a check that everything works and counts right,
//! run by `cargo xtask test`; its times mean nothing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::conformance::{Emulator, emulator_binary, ensure_venv};
use crate::{Result, azurite, cargo, record_step, run};

const DATABASE: &str = "Bench";
const FRAME_SCHEMA: &str = "(Id:long, Amount:real, Note:string, Flag:bool, At:datetime, \
     Span:timespan, State:string, Tags:dynamic, Count:int, Day:datetime)";
const CSV_SCHEMA: &str =
    "(Id:long, At:datetime, Key:string, State:string, Amount:real, Flag:bool, Note:string)";
const PAYLOAD_SCHEMA: &str = "(Payload:long, N:long, Text:string)";

/// Sizes of one benchmark run.
struct Sizes {
    pairs: usize,
    rows: u64,
    b2_files: u64,
    b2_kb: u64,
    b3_mb: u64,
    b5_requests: u64,
    b5_kb: u64,
}

/// What `bench_client generate` reported: rows per workload.
#[derive(Default)]
struct Expected {
    b2_rows: u64,
    b3_rows: u64,
    b5_rows: u64,
}

/// Runs `cargo xtask bench` with its arguments.
pub(crate) fn bench(root: &Path, args: &[String]) -> Result {
    let mut quick = false;
    let mut only: Vec<String> = ["B1", "B2", "B3", "B4", "B5"].map(String::from).to_vec();
    let mut pairs = None;
    let mut rows = None;
    let mut b3_mb = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut number = || -> Result<u64> {
            rest.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("bench: {arg} takes a number"))
        };
        match arg.as_str() {
            "--quick" => quick = true,
            "--pairs" => pairs = Some(number()? as usize),
            "--rows" => rows = Some(number()?),
            "--b3-mb" => b3_mb = Some(number()?),
            "--only" => {
                only = rest
                    .next()
                    .ok_or("bench: --only takes a list such as B1,B4")?
                    .split(',')
                    .map(|w| w.trim().to_ascii_uppercase())
                    .collect();
                if let Some(bad) = only
                    .iter()
                    .find(|w| !["B1", "B2", "B3", "B4", "B5"].contains(&w.as_str()))
                {
                    return Err(format!("bench: unknown workload {bad}"));
                }
            }
            other => return Err(format!("bench: unknown argument {other:?}")),
        }
    }
    let mut sizes = if quick {
        Sizes {
            pairs: 1,
            rows: 2_000,
            b2_files: 10,
            b2_kb: 20,
            b3_mb: 2,
            b5_requests: 20,
            b5_kb: 10,
        }
    } else {
        Sizes {
            pairs: 3,
            rows: 1_000_000,
            b2_files: 500,
            b2_kb: 100,
            // 1000 MiB (1.05 GB): under the 1 GiB a source may hold in the emulator (and in
            // the service's guidance for one queued source).
            b3_mb: 1000,
            b5_requests: 1000,
            b5_kb: 10,
        }
    };
    sizes.pairs = pairs.unwrap_or(sizes.pairs).max(1);
    sizes.rows = rows.unwrap_or(sizes.rows);
    sizes.b3_mb = b3_mb.unwrap_or(sizes.b3_mb);

    let azurite_script = azurite::ensure_installed(root)?;
    let python = ensure_venv(&root.join("tools").join("conformance"))?;
    let profile = if quick {
        // The test step builds both binaries (kusto-bench's and kusto-emulator's integration
        // tests need them); this is a no-op after it.
        let mut build = cargo();
        build
            .args(["test", "--workspace", "--no-run", "--quiet"])
            .args(crate::features::test_build_args(root)?);
        run("bench: build the debug binaries", build)?;
        "debug"
    } else {
        let mut build = cargo();
        build.args([
            "build",
            "--release",
            "-p",
            "kusto-bench",
            "--bin",
            "bench_client",
            "-p",
            "kusto-emulator",
            "--bin",
            "kusto-emulator",
        ]);
        run("bench: build the release binaries", build)?;
        "release"
    };
    let client = emulator_binary(root, profile)
        .with_file_name(format!("bench_client{}", std::env::consts::EXE_SUFFIX));
    let emulator_path = emulator_binary(root, profile);
    let work = target_dir(root).join(if quick { "bench-quick" } else { "bench" });
    let data = work.join("data");
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;

    let started = Instant::now();
    let mut generate = Command::new(&client);
    generate.args(["generate", "--dir"]).arg(&data).args([
        "--b2-files",
        &sizes.b2_files.to_string(),
        "--b2-kb",
        &sizes.b2_kb.to_string(),
        "--b3-mb",
        &sizes.b3_mb.to_string(),
        "--b5-requests",
        &sizes.b5_requests.to_string(),
        "--b5-kb",
        &sizes.b5_kb.to_string(),
    ]);
    let manifest = output_of(generate)?;
    let mut expected = Expected::default();
    for line in manifest.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().parse().unwrap_or(0);
        match key {
            "b2_rows" => expected.b2_rows = value,
            "b3_rows" => expected.b3_rows = value,
            "b5_rows" => expected.b5_rows = value,
            _ => {}
        }
    }
    record_step(
        "bench: generate the input files",
        started.elapsed().as_secs_f32(),
    );

    eprintln!(
        "\n==> bench: start {} with Azurite",
        emulator_path.display()
    );
    let emulator = Emulator::start(&emulator_path, &azurite_script)?;
    eprintln!("    emulator listening on {}", emulator.url);
    let session = Session {
        client,
        python,
        script: root.join("tools").join("bench").join("python_client.py"),
        url: emulator.url.clone(),
        data,
        results: work.join("results.jsonl"),
    };
    let outcome = session.run_all(&only, &sizes, &expected);
    emulator.stop();
    outcome?;

    let mut report = Command::new(&session.client);
    report.args(["report", "--results"]).arg(&session.results);
    let table = output_of(report)?;
    let report_path = work.join("report.md");
    fs::write(&report_path, &table).map_err(|e| format!("{}: {e}", report_path.display()))?;
    println!("{table}");
    eprintln!(
        "results: {} and {}",
        session.results.display(),
        report_path.display()
    );
    Ok(())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

/// Runs a command with its stdout captured (stderr shown); a non-zero exit is an error.
fn output_of(mut command: Command) -> Result<String> {
    let described = crate::describe(&command);
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{described}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "`{described}` failed ({}); its output:\n{stdout}",
            output.status
        ));
    }
    Ok(stdout)
}

struct Session {
    client: PathBuf,
    python: PathBuf,
    script: PathBuf,
    url: String,
    data: PathBuf,
    results: PathBuf,
}

impl Session {
    fn run_all(&self, only: &[String], sizes: &Sizes, expected: &Expected) -> Result {
        let _ = fs::remove_file(&self.results);
        for workload in only {
            let started = Instant::now();
            let (schema, rows) = match workload.as_str() {
                "B1" => (FRAME_SCHEMA, sizes.rows),
                "B2" => (CSV_SCHEMA, expected.b2_rows),
                "B3" => (CSV_SCHEMA, expected.b3_rows),
                "B4" => (FRAME_SCHEMA, sizes.rows),
                _ => (PAYLOAD_SCHEMA, expected.b5_rows),
            };
            // B4 queries one table, filled once by the Rust client.
            let b4_table = "B4_data";
            if workload == "B4" {
                self.mgmt(&format!(".drop table {b4_table} ifexists"))?;
                self.mgmt(&format!(".create table {b4_table} {FRAME_SCHEMA}"))?;
                self.client_run("rust", "B1", b4_table, sizes.rows)?;
                self.count(b4_table, sizes.rows)?;
            }
            for pair in 0..sizes.pairs {
                let order = if pair % 2 == 0 {
                    ["rust", "python", "limit"]
                } else {
                    ["python", "rust", "limit"]
                };
                for who in order {
                    let ingests = workload != "B4"
                        && (who != "limit" || ["B2", "B5"].contains(&workload.as_str()));
                    let table = if workload == "B4" {
                        b4_table.to_owned()
                    } else {
                        format!("{workload}_{who}_{pair}")
                    };
                    if ingests {
                        self.mgmt(&format!(".create table {table} {schema}"))?;
                    }
                    let line = self.client_run(who, workload, &table, rows)?;
                    if ingests {
                        self.count(&table, rows)?;
                        self.mgmt(&format!(".drop table {table}"))?;
                    }
                    let mut file = fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&self.results)
                        .map_err(|e| format!("{}: {e}", self.results.display()))?;
                    writeln!(file, "{{\"pair\":{pair},\"result\":{line}}}")
                        .map_err(|e| format!("{}: {e}", self.results.display()))?;
                }
            }
            if workload == "B4" {
                self.mgmt(&format!(".drop table {b4_table}"))?;
            }
            record_step(
                &format!("bench: {workload}, {} pair(s)", sizes.pairs),
                started.elapsed().as_secs_f32(),
            );
        }
        Ok(())
    }

    fn bench_client(&self) -> Command {
        let mut command = Command::new(&self.client);
        command.env("RUST_LOG", "off");
        command
    }

    fn mgmt(&self, text: &str) -> Result {
        let mut command = self.bench_client();
        command.args(["mgmt", "--url", &self.url, "--database", DATABASE, text]);
        output_of(command).map(|_| ())
    }

    fn count(&self, table: &str, rows: u64) -> Result {
        let mut command = self.bench_client();
        command.args([
            "count",
            "--url",
            &self.url,
            "--database",
            DATABASE,
            "--table",
            table,
            "--expect",
            &rows.to_string(),
        ]);
        let out = output_of(command)?;
        eprint!("    {out}");
        Ok(())
    }

    /// One run of one client; returns its result line (JSON).
    fn client_run(&self, who: &str, workload: &str, table: &str, rows: u64) -> Result<String> {
        let mut command = match who {
            "python" => {
                let mut command = Command::new(&self.python);
                command.arg(&self.script).arg(workload);
                command
            }
            _ => {
                let mut command = self.bench_client();
                command.args([if who == "limit" { "limit" } else { "run" }, workload]);
                command
            }
        };
        command
            .args(["--url", &self.url, "--database", DATABASE, "--table", table])
            .arg("--data")
            .arg(&self.data)
            .args(["--rows", &rows.to_string()]);
        eprintln!("\n==> bench: {workload} {who} ({table})");
        let out = output_of(command)?;
        let line = out
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !line.starts_with('{') || !line.ends_with('}') {
            return Err(format!(
                "{workload} {who}: the last line is not a JSON object: {line:?}"
            ));
        }
        eprintln!("    {line}");
        Ok(line)
    }
}
