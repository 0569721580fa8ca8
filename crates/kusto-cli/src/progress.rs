//! Progress on stderr: an indicatif bar on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ProgressMode;

#[derive(Debug, Default)]
struct Counters {
    done: AtomicU64,
    failed: AtomicU64,
    bytes: AtomicU64,
    /// Sources known so far (blob containers add theirs as they are listed).
    total: AtomicU64,
    /// Their bytes, as far as known.
    total_bytes: AtomicU64,
}

/// The progress of one ingestion run.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    counters: Arc<Counters>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

/// Adds sources found after the start (the blobs of a container, as it is listed).
#[derive(Debug, Clone)]
pub(crate) struct SourceAdder {
    bar: Option<ProgressBar>,
    counters: Arc<Counters>,
}

impl SourceAdder {
    /// One more source of `bytes` bytes (when known).
    pub(crate) fn add(&self, bytes: Option<u64>) {
        let bytes = bytes.unwrap_or(0);
        self.counters.total.fetch_add(1, Ordering::Relaxed);
        let total_bytes = self
            .counters
            .total_bytes
            .fetch_add(bytes, Ordering::Relaxed)
            + bytes;
        if let Some(bar) = &self.bar {
            bar.set_length(total_bytes.max(1));
            bar.set_message(message(
                self.counters.done.load(Ordering::Relaxed),
                self.counters.failed.load(Ordering::Relaxed),
                self.counters.total.load(Ordering::Relaxed),
            ));
        }
    }
}

fn message(done: u64, failed: u64, total: u64) -> String {
    format!("{done}/{total} sources done, {failed} failed")
}

impl Progress {
    /// Starts showing progress for `total` sources of `total_bytes` bytes.
    pub(crate) fn start(
        mode: ProgressMode,
        total: u64,
        total_bytes: u64,
        interval: Duration,
    ) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let counters = Arc::new(Counters {
            total: AtomicU64::new(total),
            total_bytes: AtomicU64::new(total_bytes),
            ..Counters::default()
        });
        let (bar, lines) = match mode {
            ProgressMode::Auto if terminal => (true, false),
            ProgressMode::Bar => (true, false),
            ProgressMode::Auto | ProgressMode::Lines => (false, true),
            ProgressMode::None => (false, false),
        };
        let bar = bar.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total_bytes.max(1)),
                ProgressDrawTarget::stderr(),
            );
            let style = ProgressStyle::with_template(
                "{spinner} {msg} [{bar:24}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(message(0, 0, total));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let ticker = lines.then(|| {
            let counters = Arc::clone(&counters);
            let started = Instant::now();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    eprintln!("kusto: {}", line(&counters, started.elapsed()));
                }
            })
        });
        Progress {
            bar,
            counters,
            ticker,
        }
    }

    /// A handle that adds sources found later.
    pub(crate) fn adder(&self) -> SourceAdder {
        SourceAdder {
            bar: self.bar.clone(),
            counters: Arc::clone(&self.counters),
        }
    }

    /// The bytes of the sources known so far.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.counters.total_bytes.load(Ordering::Relaxed)
    }

    /// One source reached its final record.
    pub(crate) fn source_done(&self, bytes: u64, failed: bool) {
        let done = self.counters.done.fetch_add(1, Ordering::Relaxed) + 1;
        let failed = if failed {
            self.counters.failed.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.counters.failed.load(Ordering::Relaxed)
        };
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            bar.set_message(message(
                done,
                failed,
                self.counters.total.load(Ordering::Relaxed),
            ));
        }
    }

    /// A line shown above the bar (or on its own line without one).
    pub(crate) fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("kusto: {text}")),
            None => eprintln!("kusto: {text}"),
        }
    }

    /// Stops the display (the bar stays on screen in its final state).
    pub(crate) fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish();
        }
    }
}

fn line(counters: &Counters, elapsed: Duration) -> String {
    let total = counters.total.load(Ordering::Relaxed);
    let total_bytes = counters.total_bytes.load(Ordering::Relaxed);
    let done = counters.done.load(Ordering::Relaxed);
    let failed = counters.failed.load(Ordering::Relaxed);
    let bytes = counters.bytes.load(Ordering::Relaxed);
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = bytes as f64 / seconds;
    let eta = if bytes > 0 && total_bytes > bytes {
        let left = (total_bytes - bytes) as f64 / rate.max(1.0);
        format!(
            ", ETA {}",
            HumanDuration(kusto_data::time_math::secs_f64(left.min(1e9)))
        )
    } else {
        String::new()
    };
    format!(
        "{}, {} of {}, {}/s{eta}",
        message(done, failed, total),
        HumanBytes(bytes),
        HumanBytes(total_bytes),
        HumanBytes(rate as u64),
    )
}
