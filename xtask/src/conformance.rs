//! `cargo xtask conformance`: the official Python SDK against the Kusto emulator.
//!
//! 1. Creates the virtualenv `tools/conformance/.venv` with `python3 -m venv` and installs the
//!    pinned `tools/conformance/requirements.txt` (azure-kusto-data and azure-kusto-ingest 6.0.4,
//!    pandas), only when the venv is missing or the requirements changed since the last install
//!    (a copy is kept in the venv as a stamp).
//! 2. Builds the `kusto-emulator` binary and starts it on port 0 with `--azurite` (queued
//!    ingestion over the pinned Azurite, installed when missing), reading its URL from the
//!    first line of its stdout.
//! 3. Runs `tools/conformance/test_conformance.py <url>` (queries, commands, streaming) and
//!    `tools/conformance/test_ingest_conformance.py <url>` (queued, streaming and managed
//!    streaming ingestion of files, streams and DataFrames) and
//!    `tools/conformance/test_dataframe_fidelity.py <url>` (which values Python's
//!    `ingest_from_dataframe` changes); each exits non-zero on a failure.
//! 4. Stops the emulator (SIGTERM, then kill after a deadline), also when a step failed.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Result, azurite, cargo, run};

const STAMP: &str = ".requirements.installed";

/// Runs the whole conformance step.
pub(crate) fn run_conformance(root: &Path) -> Result {
    let dir = root.join("tools").join("conformance");
    let python = ensure_venv(&dir)?;
    let azurite_script = azurite::ensure_installed(root)?;

    let mut build = cargo();
    // Built as the test step builds it (`cargo test --no-run` over the workspace with the test
    // build's features, features.rs), so that after `cargo xtask test`'s test step this is a no-op instead of a
    // second build of every dependency with other features.
    build
        .args(["test", "--workspace", "--no-run", "--quiet"])
        .args(crate::features::test_build_args(root)?);
    run("conformance: build the kusto-emulator binary", build)?;

    let binary = emulator_binary(root, "debug");
    eprintln!("\n==> conformance: start {} --port 0", binary.display());
    let emulator = Emulator::start(&binary, &azurite_script)?;
    eprintln!("    emulator listening on {}", emulator.url);

    let mut data = Command::new(&python);
    data.arg(dir.join("test_conformance.py"))
        .arg(&emulator.url)
        .current_dir(&dir);
    let data_result = run(
        "conformance: azure-kusto-data 6.0.4 (Python) against the emulator",
        data,
    );
    let mut ingest = Command::new(&python);
    ingest
        .arg(dir.join("test_ingest_conformance.py"))
        .arg(&emulator.url)
        .current_dir(&dir);
    let ingest_result = run(
        "conformance: azure-kusto-ingest 6.0.4 (Python) against the emulator and Azurite",
        ingest,
    );
    let mut frames = Command::new(&python);
    frames
        .arg(dir.join("test_dataframe_fidelity.py"))
        .arg(&emulator.url)
        .current_dir(&dir);
    let frames_result = run(
        "conformance: what azure-kusto-ingest 6.0.4's ingest_from_dataframe changes (pandas)",
        frames,
    );
    emulator.stop();
    data_result.and(ingest_result).and(frames_result)
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn system_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        let ok = Command::new(candidate)
            .args([
                "-c",
                "import sys, venv; sys.exit(0 if sys.version_info >= (3, 8) else 1)",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(candidate.to_string());
        }
    }
    Err("conformance needs Python 3.8 or later with the venv module (python3 -m venv); none was found on PATH".into())
}

/// Creates or refreshes the venv; returns its interpreter.
pub(crate) fn ensure_venv(dir: &Path) -> Result<PathBuf> {
    let venv = dir.join(".venv");
    let python = venv_python(&venv);
    let requirements_path = dir.join("requirements.txt");
    let requirements = fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    let stamp = venv.join(STAMP);
    let installed = fs::read_to_string(&stamp).ok();
    if python.exists() && installed.as_deref() == Some(requirements.as_str()) {
        eprintln!(
            "\n==> conformance: virtualenv {} is up to date with requirements.txt",
            venv.display()
        );
        return Ok(python);
    }
    if venv.exists() {
        eprintln!(
            "\n==> conformance: requirements changed (or the venv is incomplete); recreating {}",
            venv.display()
        );
        fs::remove_dir_all(&venv).map_err(|e| format!("cannot remove {}: {e}", venv.display()))?;
    }
    let mut create = Command::new(system_python()?);
    create.args(["-m", "venv"]).arg(&venv);
    run("conformance: create the virtualenv", create)?;
    let mut install = Command::new(&python);
    install
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "-r",
        ])
        .arg(&requirements_path);
    run(
        "conformance: install tools/conformance/requirements.txt",
        install,
    )?;
    fs::write(&stamp, &requirements)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python)
}

/// The `kusto-emulator` binary of a build profile's directory (`debug` or `release`).
pub(crate) fn emulator_binary(root: &Path, profile: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let name = if cfg!(windows) {
        "kusto-emulator.exe"
    } else {
        "kusto-emulator"
    };
    target.join(profile).join(name)
}

/// The running emulator process; killed on drop if not stopped.
pub(crate) struct Emulator {
    child: Option<Child>,
    /// Where it listens.
    pub(crate) url: String,
}

impl Emulator {
    pub(crate) fn start(binary: &Path, azurite_script: &Path) -> Result<Emulator> {
        let mut child = Command::new(binary)
            .args(["--port", "0", "--azurite", "--batching-window-ms", "200"])
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
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut emulator = Emulator {
            child: Some(child),
            url: String::new(),
        };
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

    pub(crate) fn stop(mut self) {
        if let Some(child) = self.child.take() {
            stop_child(child);
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop_child(child);
        }
    }
}

fn stop_child(mut child: Child) {
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
