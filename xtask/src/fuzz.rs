//! `cargo xtask fuzz [--seconds N] [--timeout S] [target...]`: live fuzzing with cargo-fuzz
//! (libFuzzer).
//!
//! Runs each target of `fuzz/fuzz_targets/` (all of them when none is named) for N seconds
//! (default 60), one after the other, with a nightly toolchain (libFuzzer's instrumentation
//! needs it). Every input has a time limit of S seconds (default 10, libFuzzer's `-timeout`):
//! an input that takes longer is a finding like a crash (libFuzzer stops, writes it to
//! `fuzz/artifacts/<target>/timeout-*` and the command fails), so a hang or a parser quadratic
//! in its input's length is found, not only a panic. `CARGO_TARGET_DIR` is honoured. New inputs go to `fuzz/corpus-work/<target>/` (not committed); the committed
//! corpus `fuzz/corpus/<target>/` and the crash regressions `fuzz/regressions/<target>/` are
//! read as seeds and left unchanged. A crash fails the command and leaves its input in
//! `fuzz/artifacts/<target>/`. Without a nightly toolchain this is an error, not a skip: the
//! stable replay of the committed inputs is part of `cargo test` (crate `kusto-fuzz-targets`).
//!
//! cargo-fuzz is installed with `cargo install cargo-fuzz --locked` when missing.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Result, root, run};

/// Flags of libFuzzer used for every run besides the time limits.
const RSS_LIMIT: &str = "-rss_limit_mb=2048";
/// The default time limit of one input, in seconds (libFuzzer's own default is 1200).
const INPUT_TIMEOUT: u64 = 10;

pub(crate) fn fuzz(args: &[String]) -> Result {
    let mut seconds: u64 = 60;
    let mut timeout = INPUT_TIMEOUT;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: {value:?} is not a number of seconds"))?;
            }
            "--timeout" => {
                let value = args.next().ok_or("--timeout needs a number")?;
                timeout = value.parse().ok().filter(|t| *t > 0).ok_or_else(|| {
                    format!("--timeout: {value:?} is not a number of seconds > 0")
                })?;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            target => targets.push(target.to_owned()),
        }
    }
    let root = root();
    let fuzz_dir = root.join("fuzz");
    let all = list_targets(&fuzz_dir)?;
    if targets.is_empty() {
        targets = all.clone();
    }
    if let Some(unknown) = targets.iter().find(|t| !all.contains(t)) {
        return Err(format!(
            "no fuzz target {unknown:?}; the targets are: {}",
            all.join(", ")
        ));
    }
    if !nightly_available() {
        return Err(
            "fuzzing needs a nightly Rust toolchain (libFuzzer's instrumentation), and \
             `rustup run nightly rustc` does not work here. Install one with `rustup toolchain \
             install nightly`, or replay the committed corpus under stable with \
             `cargo test -p kusto-fuzz-targets`."
                .into(),
        );
    }
    ensure_cargo_fuzz()?;
    for target in &targets {
        let work = fuzz_dir.join("corpus-work").join(target);
        std::fs::create_dir_all(&work)
            .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        let mut command = Command::new("rustup");
        command.current_dir(&root);
        command.args(["run", "nightly", "cargo", "fuzz", "run", target]);
        command.arg(&work);
        for seeds in ["corpus", "regressions"] {
            let dir = fuzz_dir.join(seeds).join(target);
            if dir.is_dir() {
                command.arg(dir);
            }
        }
        command.args([
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            format!("-timeout={timeout}"),
            RSS_LIMIT.to_owned(),
            "-print_final_stats=1".to_owned(),
        ]);
        run(
            &format!("fuzz {target} for {seconds} s (at most {timeout} s per input)"),
            command,
        )?;
    }
    eprintln!(
        "\nno crash and no input over the time limit. To refresh a committed corpus after a long run: copy fuzz/corpus-work/<target> \
         into fuzz/corpus/<target>, then `cargo +nightly fuzz cmin <target>` (see docs/reliability.md)."
    );
    Ok(())
}

/// The targets: the file stems of `fuzz/fuzz_targets/*.rs`, sorted.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut targets: Vec<String> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    targets.sort();
    Ok(targets)
}

fn quiet(mut command: Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn nightly_available() -> bool {
    let mut command = Command::new("rustup");
    command.args(["run", "nightly", "rustc", "--version"]);
    quiet(command)
}

fn ensure_cargo_fuzz() -> Result {
    let mut check = Command::new("rustup");
    check.args(["run", "nightly", "cargo", "fuzz", "--version"]);
    if quiet(check) {
        return Ok(());
    }
    let mut install = Command::new("cargo");
    install.args(["install", "cargo-fuzz", "--locked"]);
    run("install cargo-fuzz", install)
}
