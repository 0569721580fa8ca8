//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! * `test`: installs what the tests need (Azurite through `npm ci` in `tools/azurite`), then runs
//!   the format check, clippy with warnings denied, every test of the workspace (doctests
//!   included), the `kusto` command part of the demo, the Python conformance runs, the benchmark
//!   harness at small sizes (`bench --quick`) and the documentation build with warnings denied,
//!   and prints each step's time. `.ci/run` runs exactly this.
//! * `demo`: the end-to-end demonstration against local services.
//! * `conformance`: the official Python SDK (azure-kusto-data 6.0.4, in the virtualenv
//!   `tools/conformance/.venv`) against the `kusto-emulator` binary; also run by `test`.
//! * `bench`: this SDK side by side with the Python SDK on the workloads of issue 15 (see
//!   `bench.rs`); `bench --quick` (small sizes, correctness only) is also run by `test`.
//! * `chaos`, `fuzz`, `soak`: the long chaos run, the fuzz targets and the 10-minute soak
//!   (docs/reliability.md).
//!
//! Only the standard library is used, so that this crate builds in a second on a fresh clone.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::Instant;

/// Each step's name and duration in seconds, for the summary printed at the end.
static STEP_TIMES: Mutex<Vec<(String, f32)>> = Mutex::new(Vec::new());

fn record_step(step: &str, seconds: f32) {
    if let Ok(mut times) = STEP_TIMES.lock() {
        times.push((step.to_owned(), seconds));
    }
}

/// Prints how long each step took (also when a step failed).
fn print_step_times() {
    let Ok(times) = STEP_TIMES.lock() else {
        return;
    };
    if times.is_empty() {
        return;
    }
    eprintln!("\nstep times:");
    let mut total = 0.0;
    for (step, seconds) in times.iter() {
        eprintln!("  {seconds:>8.1} s  {step}");
        total += seconds;
    }
    eprintln!("  {total:>8.1} s  total");
}

mod azurite;
mod bench;
mod conformance;
mod features;
mod fuzz;
mod soak;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo(),
        Some("conformance") => conformance::run_conformance(&root()),
        Some("install-azurite") => azurite::ensure_installed(&root()).map(|_| ()),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("chaos") => chaos(&args[1..]),
        Some("soak") => soak::soak(&args[1..]),
        Some("bench") => bench::bench(&root(), &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 test             format check, clippy, all tests, doc build (what CI runs)\n  \
                 demo             run the local end-to-end demonstration\n  \
                 conformance      the official Python SDK against the Kusto emulator\n  \
                 fuzz [--seconds N] [--timeout S] [target...]  run the cargo-fuzz targets (needs nightly;\n                   an input slower than S seconds, default 10, is a finding)\n  \
                 chaos [--sources N]  the long chaos run (default 5000 sources; docs/reliability.md)\n  \
                 soak [--seconds N]   the soak: client memory under a mixed workload (default 600 s)\n  \
                 bench [--quick] [--pairs N] [--only B1,B4] [--rows N] [--b3-mb N]\n                  \
                 this SDK against the official Python SDK 6.0.4 (docs/benchmarks.md)\n  \
                 install-azurite  install the pinned Azurite into tools/azurite (npm ci)"
            );
            return ExitCode::from(2);
        }
    };
    print_step_times();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

fn cargo() -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    // In CI every build starts from nothing and is never edited: incremental compilation only
    // costs time and disk there (2.2 GB of target/debug/incremental on a clean clone). A
    // developer's own runs keep it (and an explicit CARGO_INCREMENTAL wins).
    if env::var_os("CI").is_some() && env::var_os("CARGO_INCREMENTAL").is_none() {
        command.env("CARGO_INCREMENTAL", "0");
    }
    command
}

/// Runs a command to completion, echoing it first; a non-zero exit is an error.
fn run(step: &str, mut command: Command) -> Result {
    eprintln!("\n==> {step}\n    $ {}", describe(&command));
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| format!("{step}: could not start `{}`: {e}", describe(&command)))?;
    let elapsed = started.elapsed().as_secs_f32();
    record_step(step, elapsed);
    if status.success() {
        eprintln!("    ok ({elapsed:.1} s)");
        Ok(())
    } else {
        Err(format!("{step} failed ({status}) after {elapsed:.1} s"))
    }
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// The crates published to crates.io; every other member has `publish = false`.
const PUBLISHABLE: [&str; 5] = [
    "kusto-data",
    "kusto-ingest",
    "kusto-ingest-polars",
    "kusto-emulator",
    "kusto-cli",
];

fn test() -> Result {
    let root = root();
    let azurite = azurite::ensure_installed(&root)?;

    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run("format check", fmt)?;

    let mut clippy = cargo();
    clippy.args(["clippy", "--workspace", "--all-targets", "--all-features"]);
    clippy.args(["--", "-D", "warnings"]);
    run("clippy, all features (warnings denied)", clippy)?;

    let mut minimal = cargo();
    minimal.args([
        "clippy",
        "-p",
        "kusto-data",
        "--all-targets",
        "--no-default-features",
    ]);
    minimal.args(["--", "-D", "warnings"]);
    run("clippy, kusto-data without default features", minimal)?;

    features_pass_through()?;

    // Every feature but the aws-lc TLS provider (features.rs says why); the steps below that
    // reuse this build ask for the same set.
    let test_features = features::test_build_args(&root)?;
    no_aws_lc(
        "no aws-lc in the test build",
        &["--workspace", "--edges", "normal,build,dev"],
        &test_features,
    )?;
    let mut tests = cargo();
    tests
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(&test_features)
        .env(azurite::ENV_VAR, &azurite);
    run("tests (unit, integration and doctests)", tests)?;

    // The demo binary is run by the tests of kusto-examples; this runs the demo's `kusto` part
    // with the `kusto` binary the test step built for kusto-cli's integration tests. Building it
    // again with `cargo build` would not reuse that build (dev-dependencies unify other features
    // into a test build) and cost minutes.
    cli_demo(&azurite)?;

    conformance::run_conformance(&root)?;

    // The benchmark harness at small sizes: every workload of both SDKs runs and counts right.
    bench::bench(&root, &["--quick".to_owned()])?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run("documentation build (warnings denied)", doc)?;

    // The publishable crates package: manifests, readmes and the files they include are
    // complete, and the path dependencies between them resolve (cargo packages them together
    // into a local registry). Without verification: it would build every crate again from its
    // package with its own features; the steps above compile and test the same sources.
    let mut package = cargo();
    package.args(["package", "--no-verify", "--allow-dirty"]);
    for krate in PUBLISHABLE {
        package.args(["-p", krate]);
    }
    run("cargo package of the publishable crates", package)?;

    eprintln!("\nall checks passed");
    Ok(())
}

/// The ingest crates built with `rustls-ring` (and no other default feature) pull no aws-lc:
/// the user's TLS choice passes through kusto-ingest and kusto-ingest-polars to kusto-data. Then
/// they are linted so built (their tests run with `rustls-ring` in the test step).
fn features_pass_through() -> Result {
    let ring = [
        "--no-default-features",
        "--features",
        "kusto-ingest/rustls-ring,kusto-ingest-polars/rustls-ring",
    ];
    no_aws_lc(
        "no aws-lc in the ingest crates built with rustls-ring",
        &[
            "-p",
            "kusto-ingest",
            "-p",
            "kusto-ingest-polars",
            "--edges",
            "normal,build",
        ],
        &ring,
    )?;

    let mut clippy = cargo();
    clippy
        .args(["clippy", "-p", "kusto-ingest", "-p", "kusto-ingest-polars"])
        .args(["--all-targets"])
        .args(ring)
        .args(["--", "-D", "warnings"]);
    run("clippy, the ingest crates with rustls-ring only", clippy)
}

/// `cargo tree <selection> <features> --invert aws-lc-sys` finds nothing.
fn no_aws_lc<S: AsRef<std::ffi::OsStr>>(step: &str, selection: &[&str], features: &[S]) -> Result {
    let mut tree = cargo();
    tree.arg("tree")
        .args(selection)
        .args(features)
        .args(["--invert", "aws-lc-sys"]);
    eprintln!("\n==> {step}\n    $ {}", describe(&tree));
    let output = tree
        .output()
        .map_err(|e| format!("{step}: could not start `{}`: {e}", describe(&tree)))?;
    let found = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    // `cargo tree --invert P` fails with "did not match any packages" when P is not in the
    // resolved graph: that is the outcome wanted here.
    let absent = !output.status.success() && errors.contains("did not match any packages");
    if !absent {
        if !output.status.success() {
            return Err(format!("{step}: cargo tree failed: {errors}"));
        }
        return Err(format!("{step}: aws-lc-sys is in the build:\n{found}"));
    }
    eprintln!("    ok (aws-lc-sys not in the tree)");
    Ok(())
}

/// The long form of the chaos test (`tests/tests/chaos.rs`): thousands of sources ingested under
/// random faults, then counted; its summary line is what docs/reliability.md records.
fn chaos(args: &[String]) -> Result {
    let mut sources = "5000".to_owned();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--sources" => {
                sources = rest
                    .next()
                    .filter(|n| n.parse::<u64>().is_ok())
                    .ok_or("--sources takes a number")?
                    .clone();
            }
            other => return Err(format!("chaos: unknown argument {other:?}")),
        }
    }
    let azurite = azurite::ensure_installed(&root())?;
    let mut test = cargo();
    test.args([
        "test",
        "-p",
        "kusto-e2e",
        "--test",
        "chaos",
        "--",
        "--nocapture",
    ])
    .env(azurite::ENV_VAR, &azurite)
    .env("KUSTO_CHAOS_SOURCES", &sources);
    run(
        &format!("chaos: {sources} sources under random faults"),
        test,
    )
}

fn demo() -> Result {
    let root = root();
    let azurite = azurite::ensure_installed(&root)?;
    // One build of both binaries: one feature resolution, so the crates they share are built
    // once (a separate `cargo build` of the `kusto` binary after `cargo run` of the demo rebuilt
    // them with other features, 5 minutes on a clean clone).
    let mut build = cargo();
    build.args([
        "build",
        "--quiet",
        "--package",
        "kusto-examples",
        "--bin",
        "demo",
        "--package",
        "kusto-cli",
        "--bin",
        "kusto",
    ]);
    run("demo: build the demo and the kusto command", build)?;
    let mut demo = Command::new(debug_binary("demo"));
    demo.current_dir(&root).env(azurite::ENV_VAR, &azurite);
    run(
        "demo: Azurite and the Kusto emulator, data ingested and queried back",
        demo,
    )?;
    cli_demo(&azurite)
}

/// A binary of this workspace in the debug profile of the target directory.
fn debug_binary(name: &str) -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target
        .join("debug")
        .join(format!("{name}{}", env::consts::EXE_SUFFIX))
}

/// The `kusto` command: `kusto emulator` in the background, sample files ingested with
/// `kusto ingest --wait`, and `kusto query` of what arrived, with the binary a previous step
/// built (it must exist).
fn cli_demo(azurite: &Path) -> Result {
    let kusto = debug_binary("kusto");
    if !kusto.is_file() {
        return Err(format!(
            "{} was not built by an earlier step (the demo's build, or kusto-cli's tests)",
            kusto.display()
        ));
    }
    let mut emulator = Command::new(&kusto)
        .args(["emulator", "--port", "0"])
        .env(azurite::ENV_VAR, azurite)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `kusto emulator`: {e}"))?;
    let result = cli_demo_steps(&kusto, &mut emulator);
    // Ctrl-C for a clean stop (its Azurite stops with it); kill if that is not possible.
    let stopped = Command::new("kill")
        .args(["-INT", &emulator.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    if !stopped {
        let _ = emulator.kill();
    }
    let _ = emulator.wait();
    result
}

fn cli_demo_steps(kusto: &Path, emulator: &mut std::process::Child) -> Result {
    use std::io::BufRead;
    let stdout = emulator
        .stdout
        .take()
        .ok_or("`kusto emulator` has no stdout")?;
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|e| format!("reading the emulator's URL: {e}"))?;
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| format!("`kusto emulator` printed no URL: {first:?}"))?
        .to_owned();
    eprintln!("\n`kusto emulator` listening at {url}");
    let data = env::temp_dir().join(format!("kusto-demo-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let states = ["TEXAS", "KANSAS", "OKLAHOMA", "NEBRASKA"];
    for day in 1..=3 {
        let dir = data.join("2024").join("05").join(format!("{day:02}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (i, state) in states.iter().enumerate() {
            let rows: String = (0..25)
                .map(|n| format!("{state},{day},{i},{n}\n"))
                .collect();
            std::fs::write(dir.join(format!("{state}.csv")), rows)
                .map_err(|e| format!("writing demo data: {e}"))?;
        }
    }
    let kusto_command = |args: &[&str]| {
        let mut command = Command::new(kusto);
        command.args(args);
        command
    };
    run(
        "demo: kusto query (create the table)",
        kusto_command(&[
            "query",
            "-c",
            &url,
            "-d",
            "Demo",
            ".create table Readings (State:string, Day:int, File:int, N:long)",
        ]),
    )?;
    let pattern = data.join("**").join("*.csv");
    let report = data.join("report.jsonl");
    run(
        "demo: kusto ingest (12 files, creation time from the path, wait for the outcome)",
        kusto_command(&[
            "ingest",
            "-c",
            &url,
            "-d",
            "Demo",
            "-t",
            "Readings",
            &pattern.to_string_lossy(),
            "--creation-time-pattern",
            "{yyyy}/{MM}/{dd}",
            "--wait",
            "--report",
            &report.to_string_lossy(),
        ]),
    )?;
    run(
        "demo: kusto query (rows per state)",
        kusto_command(&[
            "query",
            "-c",
            &url,
            "-d",
            "Demo",
            "-o",
            "table",
            "Readings | summarize count() by State | order by State asc",
        ]),
    )
}
