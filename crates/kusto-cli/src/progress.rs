//! Progress on stderr: an indicatif bar on a terminal, plain periodic lines otherwise.
//!
//! Both show bytes: the bytes of the sources whose send call has returned (each counted whole,
//! whatever its outcome), plus, for the queued uploads under way, the bytes of the file that
//! the blocks stored so far hold, as `kusto_ingest`'s [`ProgressTracker`] reports them block by
//! block. So the bar moves inside one large file, and the rate and the ETA are by bytes.
//! Sources not uploaded by this command (blob URLs, streamed sources) count when they are sent.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kusto_ingest::{IngestProgress, Phase, ProgressTracker};
use tokio::sync::watch;

use crate::cli::ProgressMode;

/// How often the bar takes the bytes of the uploads under way.
const BAR_REFRESH: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct Counters {
    done: AtomicU64,
    failed: AtomicU64,
    /// Sources known so far (blob containers add theirs as they are listed).
    total: AtomicU64,
    /// Their bytes, as far as known.
    total_bytes: AtomicU64,
    /// The bytes moved: see [`Bytes`].
    bytes: Mutex<Bytes>,
}

/// The bytes moved: those of the sources sent, and the uploads under way.
#[derive(Debug, Default)]
struct Bytes {
    /// The bytes of the sources whose send call returned.
    sent: u64,
    /// The progress of the sources being sent, by a number of this run.
    uploads: HashMap<u64, watch::Receiver<IngestProgress>>,
    next: u64,
}

impl Counters {
    fn bytes(&self) -> std::sync::MutexGuard<'_, Bytes> {
        self.bytes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bytes moved so far, and the sources whose blocks are on their way.
    fn position(&self) -> (u64, usize) {
        let bytes = self.bytes();
        let mut moved = bytes.sent;
        let mut uploading = 0;
        for upload in bytes.uploads.values() {
            let now = upload.borrow();
            moved = moved.saturating_add(now.raw_bytes_uploaded);
            uploading += now
                .in_progress()
                .filter(|s| s.phase == Phase::Uploading)
                .count();
        }
        (moved, uploading)
    }
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

/// Counts the bytes of the sources as they are sent; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ByteMeter {
    counters: Arc<Counters>,
}

/// One source being sent, with the tracker its upload reports to.
#[derive(Debug)]
pub(crate) struct Sending {
    key: u64,
    tracker: ProgressTracker,
}

impl Sending {
    /// The tracker to give to the upload.
    pub(crate) fn tracker(&self) -> &ProgressTracker {
        &self.tracker
    }
}

impl ByteMeter {
    /// A source starts: its upload's bytes count from now on.
    pub(crate) fn start(&self) -> Sending {
        let tracker = ProgressTracker::new();
        let mut bytes = self.counters.bytes();
        let key = bytes.next;
        bytes.next = bytes.next.wrapping_add(1);
        bytes.uploads.insert(key, tracker.subscribe());
        Sending { key, tracker }
    }

    /// The source's send call returned: its `bytes` count whole, in place of its upload (in one
    /// step, so the position never dips in between; a source of unknown size, such as stdin,
    /// keeps the bytes its upload stored).
    pub(crate) fn sent(&self, sending: Sending, bytes: u64) {
        let mut counted = self.counters.bytes();
        let uploaded = counted
            .uploads
            .remove(&sending.key)
            .map_or(0, |upload| upload.borrow().raw_bytes_uploaded);
        counted.sent = counted.sent.saturating_add(bytes.max(uploaded));
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
        let ticker = if let Some(bar) = &bar {
            // The bar's position follows the bytes; indicatif derives the rate and ETA.
            let bar = bar.clone();
            let counters = Arc::clone(&counters);
            Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(BAR_REFRESH);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    bar.set_position(counters.position().0);
                }
            }))
        } else if lines {
            let counters = Arc::clone(&counters);
            let started = Instant::now();
            Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    eprintln!("kusto: {}", line(&counters, started.elapsed()));
                }
            }))
        } else {
            None
        };
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

    /// A handle that counts the bytes of the sources as they are sent.
    pub(crate) fn meter(&self) -> ByteMeter {
        ByteMeter {
            counters: Arc::clone(&self.counters),
        }
    }

    /// The bytes of the sources known so far.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.counters.total_bytes.load(Ordering::Relaxed)
    }

    /// One source reached its final record (its bytes were counted when it was sent).
    pub(crate) fn source_done(&self, failed: bool) {
        let done = self.counters.done.fetch_add(1, Ordering::Relaxed) + 1;
        let failed = if failed {
            self.counters.failed.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.counters.failed.load(Ordering::Relaxed)
        };
        if let Some(bar) = &self.bar {
            bar.set_position(self.counters.position().0);
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
            bar.set_position(self.counters.position().0);
            bar.finish();
        }
    }
}

fn line(counters: &Counters, elapsed: Duration) -> String {
    let total = counters.total.load(Ordering::Relaxed);
    let total_bytes = counters.total_bytes.load(Ordering::Relaxed);
    let done = counters.done.load(Ordering::Relaxed);
    let failed = counters.failed.load(Ordering::Relaxed);
    let (bytes, uploading) = counters.position();
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
    let uploading = if uploading > 0 {
        format!(", {uploading} uploading")
    } else {
        String::new()
    };
    format!(
        "{}, {} of {}, {}/s{eta}{uploading}",
        message(done, failed, total),
        HumanBytes(bytes),
        HumanBytes(total_bytes),
        HumanBytes(rate as u64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The position counts a source's stored blocks while it uploads, and the source whole once
    /// sent, in one step.
    #[test]
    fn the_position_follows_the_upload_and_then_the_source() {
        let counters = Arc::new(Counters::default());
        let meter = ByteMeter {
            counters: Arc::clone(&counters),
        };
        let sending = meter.start();
        // Nothing reported yet (what the upload reports to `sending.tracker()` is checked by
        // tests/terminal.rs).
        assert_eq!(counters.position(), (0, 0));
        meter.sent(sending, 1000);
        assert_eq!(counters.position(), (1000, 0));
        counters.total_bytes.store(4000, Ordering::Relaxed);
        let line = line(&counters, Duration::from_secs(1));
        assert!(line.contains("1000 B of 3.91 KiB"), "{line}");
        assert!(line.contains("ETA"), "{line}");
        assert!(!line.contains("uploading"), "{line}");
    }
}
