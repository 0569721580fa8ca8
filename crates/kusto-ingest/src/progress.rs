//! Progress of queued ingestion, by the byte: [`ProgressTracker`], given to
//! [`QueuedIngestClient::ingest_with_progress`](crate::QueuedIngestClient::ingest_with_progress)
//! or [`ingest_many_with_progress`](crate::QueuedIngestClient::ingest_many_with_progress),
//! publishes an [`IngestProgress`] (totals, and a [`SourceProgress`] per source in progress)
//! through a [`tokio::sync::watch`] channel.
//!
//! # What is reported, and how far
//!
//! Each source goes through the [`Phase`]s `Reading` -> `Uploading` -> `Submitting` ->
//! `Submitted`, or ends in `Failed`. While it uploads, its counters grow as the work is done:
//! bytes read from the source (per read of up to 1 MiB), bytes stored (per block, once storage
//! answered it), blocks stored and, once the block list (or the single `Put Blob`) is written,
//! blocks committed. A source that is a blob already is not uploaded: it goes from `Reading`
//! straight to `Submitting`.
//!
//! `Submitted` is the last phase the library reports: the service has the source queued, and
//! the ingest call returns its [`IngestionOperation`](crate::IngestionOperation). Whether and
//! when the rows arrive is decided later by the service (after its batching window, often
//! minutes), and only a status read can tell it; the library reads statuses only when asked
//! ([`IngestionOperation::wait`](crate::IngestionOperation::wait) and
//! [`status`](crate::IngestionOperation::status)), and those calls return the outcome
//! themselves. There is no "ingested" phase here because this channel could not report it
//! honestly for a caller who does not wait.
//!
//! A failed upload that moves to the next storage account starts again from the source's
//! beginning: that source's counters go back to zero and its [`SourceProgress::attempt`] grows
//! (the totals follow, so they can go down).
//!
//! # Why a watch channel
//!
//! A display wants the latest state at its own pace, not every event: a watch channel keeps one
//! value, so the uploads never wait for a slow reader and nothing queues up, and a reader that
//! subscribes late sees the current totals at once. A callback would run inside the upload
//! (a slow callback would slow the link down) and every caller would have to aggregate.
//!
//! # Cost
//!
//! Without a tracker ([`QueuedIngestClient::ingest`](crate::QueuedIngestClient::ingest) and
//! [`ingest_many`](crate::QueuedIngestClient::ingest_many)) the upload carries no reporter: each
//! report point is one test of an `Option`, with no allocation, lock or atomic operation. With a
//! tracker, a source's entry is allocated when it starts; each later report (per read chunk
//! and per block) is one uncontended write lock of the channel, without allocation (both are
//! checked by this module's tests), and wakes the channel's receivers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;
use uuid::Uuid;

/// Where a source is in its queued ingestion (see the [module](self) for what is reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// The call has started: the ingestion resources are fetched, the data is read (and
    /// compressed); no block is on its way yet.
    Reading,
    /// Blocks are on their way to storage; reading goes on meanwhile.
    Uploading,
    /// The blob is written (or the source was a blob already); the queue message or the REST
    /// request is being sent.
    Submitting,
    /// The service has the source, queued for ingestion: the call returned its operation. The
    /// last phase reported (the ingestion's outcome is read with
    /// [`IngestionOperation::wait`](crate::IngestionOperation::wait)).
    Submitted,
    /// The call ended without submitting the source: it returned an error (which says whether
    /// the source may have been submitted all the same, as
    /// [`Error::EnqueueAmbiguous`](crate::Error::EnqueueAmbiguous) does), or its future was
    /// dropped before it finished.
    Failed,
}

impl Phase {
    /// True for [`Submitted`](Phase::Submitted) and [`Failed`](Phase::Failed): nothing more is
    /// reported for the source.
    pub fn is_finished(self) -> bool {
        matches!(self, Phase::Submitted | Phase::Failed)
    }
}

/// The progress of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceProgress {
    /// The source id.
    pub source_id: Uuid,
    /// Where the source is.
    pub phase: Phase,
    /// The source's size in bytes, as it is read (a file's length, the length of bytes; a
    /// `.gz` file's compressed length), when known before reading; `None` for readers.
    pub size: Option<u64>,
    /// Bytes read from the source so far, as the source holds them. Reading runs ahead of the
    /// upload by at most the blocks held in memory ([`UploadOptions`](crate::UploadOptions)).
    pub bytes_read: u64,
    /// Bytes stored so far, as they are sent (gzip-compressed when the client compresses),
    /// counted when storage answers each block.
    pub bytes_uploaded: u64,
    /// The part of [`bytes_read`](Self::bytes_read) that the stored blocks hold: exact for data
    /// sent as it is; for data this client compresses, each block is credited with the raw
    /// bytes in proportion to the compression so far (gzip keeps some input before it
    /// writes output), and the rest when the blob is committed. Equal to `bytes_read` once the
    /// blob is committed. In the unit of [`size`](Self::size): what a progress bar shows.
    pub raw_bytes_uploaded: u64,
    /// Blocks stored so far (`Put Block` answered, or 1 for a blob written whole).
    pub blocks_uploaded: u64,
    /// Blocks in the committed blob: 0 until the block list (or the whole blob) is written.
    pub blocks_committed: u64,
    /// The upload attempt, from 1; each fail-over to the next storage account adds one and
    /// restarts the counters.
    pub attempt: u32,
}

impl SourceProgress {
    fn new(source_id: Uuid) -> Self {
        SourceProgress {
            source_id,
            phase: Phase::Reading,
            size: None,
            bytes_read: 0,
            bytes_uploaded: 0,
            raw_bytes_uploaded: 0,
            blocks_uploaded: 0,
            blocks_committed: 0,
            attempt: 1,
        }
    }
}

/// The progress of every source given to one [`ProgressTracker`]: totals, and each source that
/// is not finished.
///
/// The byte and block totals sum every source started, finished ones at their final values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestProgress {
    /// Sources started.
    pub sources_started: u64,
    /// Sources submitted ([`Phase::Submitted`]).
    pub sources_submitted: u64,
    /// Sources that failed ([`Phase::Failed`]).
    pub sources_failed: u64,
    /// The sum of the [`SourceProgress::size`]s known.
    pub known_size: u64,
    /// The sum of [`SourceProgress::bytes_read`].
    pub bytes_read: u64,
    /// The sum of [`SourceProgress::bytes_uploaded`].
    pub bytes_uploaded: u64,
    /// The sum of [`SourceProgress::raw_bytes_uploaded`].
    pub raw_bytes_uploaded: u64,
    /// The sum of [`SourceProgress::blocks_uploaded`].
    pub blocks_uploaded: u64,
    /// The sum of [`SourceProgress::blocks_committed`].
    pub blocks_committed: u64,
    /// The sources not finished yet (at most the concurrency of the calls).
    in_progress: HashMap<Uuid, SourceProgress>,
}

impl IngestProgress {
    /// Sources finished (submitted or failed).
    pub fn sources_done(&self) -> u64 {
        self.sources_submitted.saturating_add(self.sources_failed)
    }

    /// The sources started and not finished, in no particular order.
    pub fn in_progress(&self) -> impl Iterator<Item = &SourceProgress> {
        self.in_progress.values()
    }

    /// One source, while it is in progress (a finished source is only in the totals).
    pub fn source(&self, source_id: Uuid) -> Option<&SourceProgress> {
        self.in_progress.get(&source_id)
    }

    /// Adds `new` and takes away `old` from the totals.
    fn account(&mut self, old: Option<&SourceProgress>, new: &SourceProgress) {
        fn shift(total: &mut u64, old: u64, new: u64) {
            *total = total.saturating_sub(old).saturating_add(new);
        }
        let zero = SourceProgress::new(new.source_id);
        let old = old.unwrap_or(&zero);
        shift(
            &mut self.known_size,
            old.size.unwrap_or(0),
            new.size.unwrap_or(0),
        );
        shift(&mut self.bytes_read, old.bytes_read, new.bytes_read);
        shift(
            &mut self.bytes_uploaded,
            old.bytes_uploaded,
            new.bytes_uploaded,
        );
        shift(
            &mut self.raw_bytes_uploaded,
            old.raw_bytes_uploaded,
            new.raw_bytes_uploaded,
        );
        shift(
            &mut self.blocks_uploaded,
            old.blocks_uploaded,
            new.blocks_uploaded,
        );
        shift(
            &mut self.blocks_committed,
            old.blocks_committed,
            new.blocks_committed,
        );
    }

    /// Applies `change` to a source in progress; a finished source leaves the map for the
    /// totals. A source not in progress is left alone.
    fn apply(&mut self, source_id: Uuid, change: impl FnOnce(&mut SourceProgress)) {
        let Some(entry) = self.in_progress.get_mut(&source_id) else {
            return;
        };
        let old = entry.clone();
        change(entry);
        let new = entry.clone();
        self.account(Some(&old), &new);
        match new.phase {
            Phase::Submitted => self.sources_submitted = self.sources_submitted.saturating_add(1),
            Phase::Failed => self.sources_failed = self.sources_failed.saturating_add(1),
            _ => return,
        }
        self.in_progress.remove(&source_id);
    }
}

/// Follows the progress of queued ingestions: give it to
/// [`QueuedIngestClient::ingest_with_progress`](crate::QueuedIngestClient::ingest_with_progress)
/// or [`ingest_many_with_progress`](crate::QueuedIngestClient::ingest_many_with_progress) (one
/// tracker may serve many calls: it sums them), and read the [`IngestProgress`] from
/// [`subscribe`](Self::subscribe) or [`snapshot`](Self::snapshot). Cheap to clone (an `Arc`
/// inside). See the [module](self) for what is reported and what it costs.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use kusto_ingest::{
///     ConnectionString, DataFormat, IngestionProperties, IngestionSource, ProgressTracker,
///     QueuedIngestClient,
/// };
///
/// let client = QueuedIngestClient::new(ConnectionString::parse("http://127.0.0.1:8080")?)?;
/// let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv);
/// let progress = ProgressTracker::new();
/// let mut updates = progress.subscribe();
/// let ingest = client.ingest_with_progress(IngestionSource::file("big.csv"), &properties, &progress);
/// tokio::pin!(ingest);
/// let operation = loop {
///     tokio::select! {
///         result = &mut ingest => break result?,
///         Ok(()) = updates.changed() => {
///             let now = updates.borrow_and_update();
///             for source in now.in_progress() {
///                 eprintln!(
///                     "{:?}: {} of {:?} bytes read, {} stored ({} compressed, {} blocks)",
///                     source.phase,
///                     source.bytes_read,
///                     source.size,
///                     source.raw_bytes_uploaded,
///                     source.bytes_uploaded,
///                     source.blocks_uploaded,
///                 );
///             }
///         }
///     }
/// };
/// let totals = progress.snapshot();
/// assert_eq!(totals.sources_submitted, 1);
/// eprintln!("{} bytes read, {} stored", totals.bytes_read, totals.bytes_uploaded);
/// # let _ = operation;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ProgressTracker {
    sender: Arc<watch::Sender<IngestProgress>>,
}

impl Default for ProgressTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressTracker {
    /// A tracker with nothing started.
    pub fn new() -> Self {
        ProgressTracker {
            sender: Arc::new(watch::Sender::new(IngestProgress::default())),
        }
    }

    /// A receiver of every change (the channel keeps the latest value only: a slow reader
    /// skips states, and never slows the uploads down).
    pub fn subscribe(&self) -> watch::Receiver<IngestProgress> {
        self.sender.subscribe()
    }

    /// The progress now (a copy).
    pub fn snapshot(&self) -> IngestProgress {
        self.sender.borrow().clone()
    }

    /// Starts following a source (a source id given twice replaces the earlier entry).
    pub(crate) fn start(&self, source_id: Uuid) -> SourceReporter {
        self.sender.send_modify(|all| {
            let fresh = SourceProgress::new(source_id);
            let old = all.in_progress.insert(source_id, fresh.clone());
            all.account(old.as_ref(), &fresh);
            all.sources_started = all.sources_started.saturating_add(1);
        });
        SourceReporter {
            tracker: self.clone(),
            source_id,
            finished: AtomicBool::new(false),
        }
    }
}

/// Reports one source to its tracker; a reporter dropped before
/// [`finish`](SourceReporter::finish) marks the source failed.
#[derive(Debug)]
pub(crate) struct SourceReporter {
    tracker: ProgressTracker,
    source_id: Uuid,
    finished: AtomicBool,
}

impl SourceReporter {
    /// The id of the source reported.
    pub(crate) fn source_id(&self) -> Uuid {
        self.source_id
    }

    fn update(&self, change: impl FnOnce(&mut SourceProgress)) {
        self.tracker
            .sender
            .send_modify(|all| all.apply(self.source_id, change));
    }

    /// The call ended: submitted, or not.
    pub(crate) fn finish(&self, submitted: bool) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        self.update(|s| {
            s.phase = if submitted {
                Phase::Submitted
            } else {
                Phase::Failed
            };
        });
    }
}

impl Drop for SourceReporter {
    fn drop(&mut self) {
        self.finish(false);
    }
}

/// The reporter of an upload, if anyone listens: every method is a no-op without one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Report<'a>(pub(crate) Option<&'a SourceReporter>);

impl Report<'_> {
    /// No reporter.
    pub(crate) const NONE: Report<'static> = Report(None);

    /// Upload attempt `attempt` (from 1) starts, from the source's beginning: counters back
    /// to zero.
    pub(crate) fn attempt(self, attempt: u32, size: Option<u64>) {
        if let Some(reporter) = self.0 {
            reporter.update(|s| {
                *s = SourceProgress {
                    size,
                    attempt,
                    ..SourceProgress::new(s.source_id)
                };
            });
        }
    }

    /// `bytes` more were read from the source.
    pub(crate) fn read(self, bytes: u64) {
        if let Some(reporter) = self.0
            && bytes > 0
        {
            reporter.update(|s| s.bytes_read = s.bytes_read.saturating_add(bytes));
        }
    }

    /// A block (or the whole blob) is on its way.
    pub(crate) fn uploading(self) {
        if let Some(reporter) = self.0 {
            reporter.update(|s| {
                if s.phase == Phase::Reading {
                    s.phase = Phase::Uploading;
                }
            });
        }
    }

    /// Storage answered a block of `bytes` bytes, holding `raw` bytes of the source.
    pub(crate) fn block_uploaded(self, bytes: u64, raw: u64) {
        if let Some(reporter) = self.0 {
            reporter.update(|s| {
                s.bytes_uploaded = s.bytes_uploaded.saturating_add(bytes);
                s.raw_bytes_uploaded = s.raw_bytes_uploaded.saturating_add(raw).min(s.bytes_read);
                s.blocks_uploaded = s.blocks_uploaded.saturating_add(1);
            });
        }
    }

    /// The blob is committed with `blocks` blocks: every byte read is stored.
    pub(crate) fn committed(self, blocks: u64) {
        if let Some(reporter) = self.0 {
            reporter.update(|s| {
                s.blocks_committed = blocks;
                s.raw_bytes_uploaded = s.bytes_read;
            });
        }
    }

    /// The source moves to `phase`.
    pub(crate) fn phase(self, phase: Phase) {
        if let Some(reporter) = self.0 {
            reporter.update(|s| s.phase = phase);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the allocations of the current thread, to show that reports allocate nothing.
    #[allow(unsafe_code)]
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
        }

        struct Counting;

        // SAFETY: every call is passed on to the system allocator unchanged; the counter is a
        // const-initialised thread-local without destructor, which allocates nothing.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
                // SAFETY: the caller's contract is passed on.
                unsafe { System.alloc(layout) }
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: the caller's contract is passed on.
                unsafe { System.dealloc(ptr, layout) }
            }

            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
                // SAFETY: the caller's contract is passed on.
                unsafe { System.realloc(ptr, layout, new_size) }
            }
        }

        #[global_allocator]
        static COUNTING: Counting = Counting;

        /// Allocations made by this thread so far.
        pub(super) fn allocations() -> u64 {
            ALLOCATIONS.with(Cell::get)
        }
    }

    fn per_block_reports(report: Report<'_>) {
        for _ in 0..100 {
            report.read(1 << 20);
            report.uploading();
            report.block_uploaded(300_000, 1 << 20);
        }
        report.committed(100);
    }

    #[test]
    fn reports_without_a_tracker_do_nothing_and_allocate_nothing() {
        let probe = counting::allocations();
        drop(std::hint::black_box(vec![1_u8; 10]));
        assert!(counting::allocations() > probe, "the counter counts");
        let before = counting::allocations();
        per_block_reports(Report::NONE);
        assert_eq!(counting::allocations(), before);
    }

    #[test]
    fn reports_to_a_tracker_allocate_nothing_after_the_start() {
        let tracker = ProgressTracker::new();
        let mut listener = tracker.subscribe();
        let reporter = tracker.start(Uuid::new_v4());
        let before = counting::allocations();
        per_block_reports(Report(Some(&reporter)));
        let after = counting::allocations();
        assert_eq!(after, before, "allocations per block");
        assert!(listener.has_changed().unwrap_or(false));
        let seen = listener.borrow_and_update();
        assert_eq!(seen.bytes_read, 100 << 20);
        assert_eq!(seen.bytes_uploaded, 30_000_000);
        assert_eq!(seen.blocks_committed, 100);
    }

    #[test]
    fn totals_follow_the_sources_and_finished_ones_leave_the_map() {
        let tracker = ProgressTracker::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = tracker.start(a);
        let second = tracker.start(b);
        Report(Some(&first)).attempt(1, Some(1000));
        Report(Some(&first)).read(1000);
        Report(Some(&first)).uploading();
        Report(Some(&first)).block_uploaded(400, 600);
        Report(Some(&second)).attempt(1, None);
        Report(Some(&second)).read(50);

        let now = tracker.snapshot();
        assert_eq!(now.sources_started, 2);
        assert_eq!(now.known_size, 1000);
        assert_eq!(now.bytes_read, 1050);
        assert_eq!(now.bytes_uploaded, 400);
        assert_eq!(now.raw_bytes_uploaded, 600);
        let one = now.source(a).unwrap();
        assert_eq!(one.phase, Phase::Uploading);
        assert_eq!(one.blocks_uploaded, 1);
        assert_eq!(now.source(b).unwrap().phase, Phase::Reading);

        Report(Some(&first)).committed(1);
        Report(Some(&first)).phase(Phase::Submitting);
        first.finish(true);
        drop(second); // dropped unfinished: failed
        let end = tracker.snapshot();
        assert_eq!(end.in_progress().count(), 0);
        assert_eq!((end.sources_submitted, end.sources_failed), (1, 1));
        assert_eq!(end.sources_done(), 2);
        assert_eq!(
            end.raw_bytes_uploaded, 1000,
            "committed: all read is stored"
        );
        assert_eq!(end.blocks_committed, 1);
        assert_eq!(end.bytes_read, 1050, "finished sources stay in the totals");
    }

    #[test]
    fn a_fail_over_restarts_the_counters_and_counts_the_attempt() {
        let tracker = ProgressTracker::new();
        let id = Uuid::new_v4();
        let reporter = tracker.start(id);
        let report = Report(Some(&reporter));
        report.attempt(1, Some(10));
        report.read(10);
        report.uploading();
        report.block_uploaded(5, 10);
        report.attempt(2, Some(10));
        let now = tracker.snapshot();
        let source = now.source(id).unwrap();
        assert_eq!(source.attempt, 2);
        assert_eq!((source.bytes_read, source.bytes_uploaded), (0, 0));
        assert_eq!(source.phase, Phase::Reading);
        assert_eq!((now.bytes_read, now.known_size), (0, 10));
        reporter.finish(false);
        reporter.finish(true); // only the first end counts
        let end = tracker.snapshot();
        assert_eq!((end.sources_submitted, end.sources_failed), (0, 1));
    }
}
