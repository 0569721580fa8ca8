//! `kusto ingest` in a terminal: the binary runs in a pseudo-terminal (portable-pty, so no
//! tmux or other system package is needed), its output is fed to a terminal emulator (vt100)
//! and the screens it showed are checked: the progress bar updating, then the final summary.
//! The bar moves by bytes inside one large file as its blocks are stored; the plain lines of
//! `--progress lines` show the same.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{Env, KUSTO, start};
use kusto_emulator::{FaultAction, FaultRule};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const ROWS: u16 = 30;
const COLS: u16 = 120;

/// `k` of the first `k/N sources done` on the screen.
fn done_count(screen: &str, total: u32) -> Option<u32> {
    let marker = format!("/{total} sources done");
    let line = screen.lines().find(|l| l.contains(&marker))?;
    let end = line.find(&marker)?;
    let start = line[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    line[start..end].parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_bar_updates_and_the_summary_shows() {
    let env = start("Db").await;
    env.command(".create table T (Src:string, N:long)").await;
    let total = 150_u32;
    for i in 0..total {
        env.write(&format!("in/f{i:03}.csv"), &format!("f{i},1\nf{i},2\n"));
    }
    env.write("in/broken.what", "x\n");

    let (code, screens) = run_in_pty(
        &env,
        &[
            "ingest",
            "--cluster",
            &env.url,
            "--database",
            "Db",
            "--table",
            "T",
            "in",
            "--parallelism",
            "1",
        ],
    )
    .await;
    let last = screens.last().cloned().unwrap_or_default();
    assert_eq!(code, 1, "one source fails:\n{last}");

    // The bar was drawn at intermediate states, counting up.
    let counts: Vec<u32> = screens
        .iter()
        .filter_map(|s| done_count(s, total + 1))
        .collect();
    let intermediate: Vec<u32> = counts
        .iter()
        .copied()
        .filter(|&k| k > 0 && k < total + 1)
        .collect();
    assert!(
        intermediate.len() >= 2,
        "the bar should show several intermediate counts, saw {counts:?}; last screen:\n{last}"
    );
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "the count only goes up: {counts:?}"
    );
    let drawn = screens
        .iter()
        .find(|s| done_count(s, total + 1).is_some_and(|k| k > 0 && k <= total))
        .unwrap();
    assert!(drawn.contains('[') && drawn.contains('='), "a bar: {drawn}");
    assert!(drawn.contains("ETA"), "{drawn}");
    assert!(drawn.contains("B/s"), "a rate: {drawn}");

    // The final screen: the failure printed above the bar, the full bar, and the summary.
    assert!(
        last.contains("failed in/broken.what: cannot tell the format"),
        "{last}"
    );
    assert!(last.contains("151/151 sources done, 1 failed"), "{last}");
    assert!(
        last.contains("151 sources: 1 failed, 150 submitted"),
        "{last}"
    );
    // Every submitted row arrives (the service ingests after its batching window).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while env.count("T").await < 300 {
        assert!(tokio::time::Instant::now() < deadline, "rows missing");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(env.count("T").await, 300);
}

/// Runs `kusto` with `args` in a pseudo-terminal in the scratch directory of `env`; returns its
/// exit code and each distinct screen it showed.
async fn run_in_pty(env: &Env, args: &[&str]) -> (u32, Vec<String>) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(KUSTO);
    command.args(args);
    command.cwd(env.dir.path());
    command.env("TERM", "xterm-256color");
    command.env_remove("KUSTO_CLUSTER");
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();

    // Read everything the terminal shows, keeping each distinct screen.
    let screens = tokio::task::spawn_blocking(move || {
        let mut parser = vt100::Parser::new(ROWS, COLS, 0);
        let mut screens: Vec<String> = Vec::new();
        let mut buffer = [0_u8; 4096];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => break, // EOF, or EIO once the child has exited (Linux)
                Ok(n) => {
                    parser.process(&buffer[..n]);
                    let screen = parser.screen().contents();
                    if screens.last() != Some(&screen) {
                        screens.push(screen);
                    }
                }
            }
        }
        screens
    });
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    let screens = tokio::time::timeout(Duration::from_secs(60), screens)
        .await
        .expect("the terminal output ends")
        .unwrap();
    drop(pty.master);
    (status.exit_code(), screens)
}

/// A CSV file of `bytes` bytes (whole lines of `big,N`) and its number of rows. The numbers
/// are pseudo-random, so that gzip leaves about 45 % of the size: many blocks to upload.
fn big_csv(bytes: usize) -> (String, i64) {
    let mut out = String::with_capacity(bytes + 32);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rows = 0;
    loop {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let line = format!("big,{}\n", state >> 2);
        if out.len() + line.len() > bytes {
            break;
        }
        out.push_str(&line);
        rows += 1;
    }
    (out, rows)
}

/// Every block upload (each `PUT` to storage) waits `delay` at the emulator's storage proxy:
/// a slow link, so that the upload of one file spans many progress refreshes however fast or
/// loaded the machine is (the delay is a lower bound; no time is asserted).
fn slow_block_uploads(env: &Env, delay: Duration) {
    let dm = env.emulator.data_management().unwrap();
    for account in ["kustoemu1", "kustoemu2"] {
        dm.storage_faults(account)
            .unwrap_or_else(|| panic!("no fault proxy for {account}"))
            .add(
                FaultRule::new("*", FaultAction::Delay)
                    .method("PUT")
                    .delay(delay),
            )
            .unwrap();
    }
}

/// The bytes of a size as indicatif shows it (`0 B`, `64.00 KiB`, `1.50 MiB`).
fn bytes_of(text: &str) -> Option<f64> {
    let (number, unit) = text.trim().split_once(' ')?;
    let factor = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * factor)
}

/// The bytes done that the bar of `screen` shows (`] 1.50 MiB/6.00 MiB ...`).
fn bar_bytes(screen: &str) -> Option<f64> {
    let line = screen.lines().find(|l| l.contains(" sources done"))?;
    let after_bar = &line[line.rfind("] ")? + 2..];
    bytes_of(after_bar.split('/').next()?)
}

const BIG: usize = 6 << 20;

/// One large file: the bar advances while the file uploads, before the source is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bar_advances_inside_one_large_file() {
    let env = start("Db").await;
    env.command(".create table T (Src:string, N:long)").await;
    let (content, rows) = big_csv(BIG);
    env.write("big.csv", &content);
    slow_block_uploads(&env, Duration::from_millis(150));

    let (code, screens) = run_in_pty(
        &env,
        &[
            "ingest",
            "--cluster",
            &env.url,
            "--database",
            "Db",
            "--table",
            "T",
            "big.csv",
            "--block-size",
            "64K",
        ],
    )
    .await;
    let last = screens.last().cloned().unwrap_or_default();
    assert_eq!(code, 0, "{last}");

    // Every bar drawn while the one source was not done yet, with the bytes it showed.
    let total = content.len() as f64;
    let before_done: Vec<f64> = screens
        .iter()
        .filter(|s| done_count(s, 1) == Some(0))
        .filter_map(|s| bar_bytes(s))
        .collect();
    let mut inside: Vec<f64> = before_done
        .iter()
        .copied()
        .filter(|&b| b > 0.0 && b < total * 0.999)
        .collect();
    inside.dedup();
    eprintln!("byte counts shown inside the file: {inside:?} of {total}");
    assert!(
        inside.len() >= 2,
        "the bar should show at least two byte counts inside the file before it is done, saw \
         {before_done:?}; last screen:\n{last}"
    );
    assert!(
        before_done.windows(2).all(|w| w[0] <= w[1]),
        "the bytes only go up: {before_done:?}"
    );
    let drawn = screens
        .iter()
        .find(|s| done_count(s, 1) == Some(0) && bar_bytes(s).is_some_and(|b| b > 0.0))
        .unwrap();
    assert!(
        drawn.contains("6.00 MiB"),
        "the file's size is the total: {drawn}"
    );
    assert!(drawn.contains("B/s") && drawn.contains("ETA"), "{drawn}");

    assert!(last.contains("1/1 sources done, 0 failed"), "{last}");
    assert!(last.contains("1 sources: 1 submitted (6.00 MiB"), "{last}");
    wait_for_rows(&env, "T", rows).await;
}

/// `--progress lines`: the plain lines show the bytes of the file under way, before it is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_lines_show_the_bytes_inside_one_large_file() {
    let env = start("Db").await;
    env.command(".create table T (Src:string, N:long)").await;
    let (content, rows) = big_csv(BIG);
    env.write("big.csv", &content);
    slow_block_uploads(&env, Duration::from_millis(150));

    let mut args = env.ingest_args("T");
    args.extend([
        "big.csv",
        "--block-size",
        "64K",
        "--progress",
        "lines",
        "--progress-interval",
        "1",
    ]);
    let run = env.kusto(&args, None).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let total = content.len() as f64;
    // kusto: 0/1 sources done, 0 failed, 1.50 MiB of 6.00 MiB, 700.00 KiB/s, ETA 6s, 1 uploading
    let inside: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("kusto: 0/1 sources done, 0 failed, "))
        .filter(|l| {
            l.split(", ")
                .nth(2)
                .and_then(|part| part.split(" of ").next())
                .and_then(bytes_of)
                .is_some_and(|b| b > 0.0 && b < total * 0.999)
        })
        .collect();
    eprintln!("lines inside the file: {inside:#?}");
    assert!(
        !inside.is_empty(),
        "a line should show bytes of the file under way:\n{}",
        run.stderr
    );
    assert!(
        inside.iter().all(|l| l.contains(" of 6.00 MiB, ")
            && l.contains("/s")
            && l.ends_with(", 1 uploading")),
        "{inside:?}"
    );
    assert!(
        run.stderr.contains("1 sources: 1 submitted (6.00 MiB"),
        "{}",
        run.stderr
    );
    wait_for_rows(&env, "T", rows).await;
}

/// Waits until `table` has `rows` rows (the service ingests after its batching window).
async fn wait_for_rows(env: &Env, table: &str, rows: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let count = env.count(table).await;
        if count == rows {
            return;
        }
        assert!(count < rows, "{table} has {count} rows, more than {rows}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "{table} has {count} rows, not {rows}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
