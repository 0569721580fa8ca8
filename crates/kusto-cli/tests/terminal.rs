//! `kusto ingest` in a terminal: the binary runs in a pseudo-terminal (portable-pty, so no
//! tmux or other system package is needed), its output is fed to a terminal emulator (vt100)
//! and the screens it showed are checked: the progress bar updating, then the final summary.

mod common;

use std::io::Read;

use common::{KUSTO, start};
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

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(KUSTO);
    command.args([
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
    ]);
    command.cwd(env.dir.path());
    command.env("TERM", "xterm-256color");
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
    let screens = tokio::time::timeout(std::time::Duration::from_secs(60), screens)
        .await
        .expect("the terminal output ends")
        .unwrap();
    drop(pty.master);
    let last = screens.last().cloned().unwrap_or_default();
    assert_eq!(status.exit_code(), 1, "one source fails:\n{last}");

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
