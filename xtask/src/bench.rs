//! `cargo xtask bench [--quick] [--pairs N] [--only B1,B6] [--rows N] [--b3-mb N]`: this SDK
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
//!
//! B6 (issue 27; part of a full run, not of `--quick` unless named with `--only B6`) repeats
//! B3 (B6a) and B2 (B6b) over a shaped link ([`LINKS`]: 40 ms round trip and 200 Mbit/s, then
//! 5 ms and 1 Gbit/s): for each link one more emulator is started with `--link-rtt-ms` and
//! `--link-mbit`, so that the engine URL and every storage URL it hands out go through the
//! link (`kusto_emulator::shaped`), and the three sides run through it as above. B6a's limit is
//! the larger of the gzip alone and the compressed bytes at the link's speed (the report
//! computes it from the `limit B3` run), B6b's the raw uploads through the link.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::conformance::{Emulator, emulator_binary, ensure_venv};
use crate::{Result, azurite, cargo, record_step, run};

const DATABASE: &str = "Bench";
const FRAME_SCHEMA: &str = "(Id:long, Amount:real, Note:string, Flag:bool, At:datetime, \
     Span:timespan, State:string, Tags:dynamic, Count:int, Day:datetime)";
const CSV_SCHEMA: &str =
    "(Id:long, At:datetime, Key:string, State:string, Amount:real, Flag:bool, Note:string)";
const PAYLOAD_SCHEMA: &str = "(Payload:long, N:long, Text:string)";
/// B6's links: round trip in milliseconds, megabits per second each way.
const LINKS: [(u64, u64); 2] = [(40, 200), (5, 1000)];
const WORKLOADS: [&str; 6] = ["B1", "B2", "B3", "B4", "B5", "B6"];

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
    let mut only: Option<Vec<String>> = None;
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
                let list: Vec<String> = rest
                    .next()
                    .ok_or("bench: --only takes a list such as B1,B4")?
                    .split(',')
                    .map(|w| w.trim().to_ascii_uppercase())
                    .collect();
                if let Some(bad) = list.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
                    return Err(format!("bench: unknown workload {bad}"));
                }
                only = Some(list);
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
    // B6 (two more emulators, 1000 MiB twice more per pair) is part of a full run only.
    let only = only.unwrap_or_else(|| {
        let count = if quick { 5 } else { 6 };
        WORKLOADS[..count].iter().map(|w| w.to_string()).collect()
    });
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

    let mut session = Session {
        client,
        python,
        script: root.join("tools").join("bench").join("python_client.py"),
        url: String::new(),
        data,
        results: work.join("results.jsonl"),
    };
    let _ = fs::remove_file(&session.results);
    let plain: Vec<String> = only.iter().filter(|w| *w != "B6").cloned().collect();
    if !plain.is_empty() {
        eprintln!(
            "\n==> bench: start {} with Azurite",
            emulator_path.display()
        );
        let emulator = Emulator::start(&emulator_path, &azurite_script)?;
        eprintln!("    emulator listening on {}", emulator.url);
        session.url = emulator.url.clone();
        let outcome = session.run_all(&plain, &sizes, &expected);
        emulator.stop();
        outcome?;
    }
    if only.iter().any(|w| w == "B6") {
        for (rtt_ms, mbit) in LINKS {
            let started = Instant::now();
            eprintln!(
                "\n==> bench: B6, start {} with Azurite behind a link of {rtt_ms} ms round trip, \
                 {mbit} Mbit/s each way",
                emulator_path.display()
            );
            let start = || -> Result<ShapedEmulator> {
                let emulator =
                    ShapedEmulator::start(&emulator_path, &azurite_script, rtt_ms, mbit)?;
                eprintln!("    emulator listening on {} (shaped)", emulator.url);
                Ok(emulator)
            };
            session.run_b6(&sizes, &expected, rtt_ms, mbit, start)?;
            record_step(
                &format!(
                    "bench: B6 over {rtt_ms} ms / {mbit} Mbit/s, {} pair(s)",
                    sizes.pairs
                ),
                started.elapsed().as_secs_f32(),
            );
        }
    }

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
                    self.record(&format!("{{\"pair\":{pair},\"result\":{line}}}"))?;
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

    fn record(&self, entry: &str) -> Result {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.results)
            .map_err(|e| format!("{}: {e}", self.results.display()))?;
        writeln!(file, "{entry}").map_err(|e| format!("{}: {e}", self.results.display()))
    }

    /// B6 over one link: B3 (B6a) then B2 (B6b), each side through the link, pairs
    /// alternating as in [`Session::run_all`]; entries carry the link. `start` starts an
    /// emulator behind the link: a fresh one for every 1000 MiB ingestion, because the emulator
    /// does not give a dropped table's memory back (measured: 3 M rows take 3.5 GB of resident
    /// memory, 3.3 GB of it still held after `.drop table`, 6.1 GB after a second such
    /// ingestion), so two 10 M-row ingestions in one process exhaust this 24 GiB machine.
    fn run_b6(
        &mut self,
        sizes: &Sizes,
        expected: &Expected,
        rtt_ms: u64,
        mbit: u64,
        start: impl Fn() -> Result<ShapedEmulator>,
    ) -> Result {
        let mut emulator: Option<ShapedEmulator> = None;
        for (workload, rows) in [("B3", expected.b3_rows), ("B2", expected.b2_rows)] {
            for pair in 0..sizes.pairs {
                let order = if pair % 2 == 0 {
                    ["rust", "python", "limit"]
                } else {
                    ["python", "rust", "limit"]
                };
                for who in order {
                    // B3's limit is the gzip alone (no I/O); B2's uploads through the link.
                    let ingests = who != "limit" || workload == "B2";
                    let table = format!("B6_{workload}_{who}_{pair}_{rtt_ms}ms");
                    if emulator.is_none() || (ingests && workload == "B3") {
                        if let Some(old) = emulator.take() {
                            old.stop();
                        }
                        let fresh = start()?;
                        self.url = fresh.url.clone();
                        emulator = Some(fresh);
                    }
                    if ingests {
                        self.mgmt(&format!(".create table {table} {CSV_SCHEMA}"))?;
                    }
                    let line = self.client_run(who, workload, &table, rows)?;
                    if ingests {
                        self.count(&table, rows)?;
                        self.mgmt(&format!(".drop table {table}"))?;
                    }
                    self.record(&format!(
                        "{{\"pair\":{pair},\"link\":\"{rtt_ms} ms, {mbit} Mbit/s\",\
                         \"link_bits\":{},\"result\":{line}}}",
                        mbit * 1_000_000
                    ))?;
                }
            }
        }
        if let Some(emulator) = emulator {
            emulator.stop();
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

/// An emulator process with Azurite behind a shaped link (B6); stopped with SIGTERM (so that
/// it stops its Azurite), killed after 10 s.
struct ShapedEmulator {
    child: Option<Child>,
    url: String,
}

impl ShapedEmulator {
    fn start(binary: &Path, azurite_script: &Path, rtt_ms: u64, mbit: u64) -> Result<Self> {
        let mut child = Command::new(binary)
            .args(["--port", "0", "--azurite", "--batching-window-ms", "200"])
            .args(["--link-rtt-ms", &rtt_ms.to_string()])
            .args(["--link-mbit", &mbit.to_string()])
            .env(azurite::ENV_VAR, azurite_script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the emulator's stdout is not captured")?;
        let mut emulator = ShapedEmulator {
            child: Some(child),
            url: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "the emulator did not print its URL within 60 s".to_string())?;
        let url = line.trim().to_string();
        if !url.starts_with("http://") {
            return Err(format!("the emulator's first line is not a URL: {url:?}"));
        }
        emulator.url = url;
        Ok(emulator)
    }

    fn stop(mut self) {
        self.stop_child();
    }

    fn stop_child(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    eprintln!("    emulator stopped ({status})");
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("    emulator killed");
    }
}

impl Drop for ShapedEmulator {
    fn drop(&mut self) {
        self.stop_child();
    }
}
