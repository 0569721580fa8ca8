//! `cargo xtask soak [--seconds N]`: the long form of the soak test (`tests/tests/soak.rs`).
//!
//! The SDK's clients run a steady mixed workload (collected and streamed queries, streaming
//! ingestion, queued ingestion over both protocols with status waits, injected faults) against
//! the emulator in a separate process for N seconds (default 600), while the resident size of
//! the client's process is sampled every second; the test fails when its slope after the
//! warm-up exceeds the bound stated in the test, or on any error of a type the faults do not
//! explain. Its summary line (`soak summary: {...}`) is what docs/reliability.md records. The
//! short form (20 s) is a normal test of kusto-e2e, run by `cargo xtask test`.

use crate::{Result, azurite, cargo, root, run};

/// The default duration of the long run, in seconds.
const DEFAULT_SECONDS: u64 = 600;

pub(crate) fn soak(args: &[String]) -> Result {
    let mut seconds = DEFAULT_SECONDS;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = rest.next().ok_or("--seconds takes a number of seconds")?;
                seconds = value
                    .parse()
                    .ok()
                    .filter(|s| *s >= 15)
                    .ok_or_else(|| format!("--seconds: {value:?} is not a number of seconds of at least 15 (the warm-up takes 5)"))?;
            }
            other => return Err(format!("soak: unknown argument {other:?}")),
        }
    }
    let azurite = azurite::ensure_installed(&root())?;
    let mut test = cargo();
    test.args([
        "test",
        "-p",
        "kusto-e2e",
        "--test",
        "soak",
        "--",
        "--nocapture",
    ])
    .env(azurite::ENV_VAR, &azurite)
    .env("KUSTO_SOAK_SECONDS", seconds.to_string());
    run(
        &format!("soak: {seconds} s of mixed workload, client memory sampled"),
        test,
    )
}
