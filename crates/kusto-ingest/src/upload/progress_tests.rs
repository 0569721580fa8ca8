//! The progress an upload reports, checked against a block sink in memory.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use super::*;
use crate::progress::{Phase, ProgressTracker, SourceProgress};

/// Keeps the blocks, and what the progress said when each request started.
struct MemorySink {
    tracker: ProgressTracker,
    source_id: Uuid,
    blocks: Mutex<HashMap<Vec<u8>, Bytes>>,
    blob: Mutex<Option<Vec<u8>>>,
    seen: Mutex<Vec<(&'static str, SourceProgress)>>,
}

impl MemorySink {
    fn new(tracker: &ProgressTracker, source_id: Uuid) -> Self {
        MemorySink {
            tracker: tracker.clone(),
            source_id,
            blocks: Mutex::default(),
            blob: Mutex::default(),
            seen: Mutex::default(),
        }
    }

    fn note(&self, request: &'static str) {
        let now = self.tracker.snapshot();
        let source = now.source(self.source_id).expect("in progress").clone();
        self.seen.lock().unwrap().push((request, source));
    }

    fn seen(&self, request: &str) -> Vec<SourceProgress> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(r, _)| *r == request)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

impl BlockSink for MemorySink {
    async fn put(&self, data: Bytes) -> Result<()> {
        self.note("put");
        tokio::task::yield_now().await;
        *self.blob.lock().unwrap() = Some(data.to_vec());
        Ok(())
    }

    fn stage(
        &self,
        block_id: &[u8],
        data: Bytes,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        let id = block_id.to_vec();
        async move {
            self.note("stage");
            tokio::task::yield_now().await;
            self.blocks.lock().unwrap().insert(id, data);
            Ok(())
        }
    }

    async fn commit(&self, block_ids: Vec<Vec<u8>>) -> Result<()> {
        self.note("commit");
        let blocks = self.blocks.lock().unwrap();
        let mut blob = Vec::new();
        for id in &block_ids {
            blob.extend_from_slice(&blocks[id]);
        }
        *self.blob.lock().unwrap() = Some(blob);
        Ok(())
    }
}

/// CSV lines that gzip to about a third of their size.
fn rows(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 64);
    let mut state: u64 = 7;
    while out.len() < bytes {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.extend_from_slice(
            format!("{},{},event-{}\n", state >> 40, state % 977, state % 13).as_bytes(),
        );
    }
    out.truncate(bytes);
    out
}

async fn upload_to_memory(
    data: &[u8],
    compress: bool,
    block_size: usize,
) -> (MemorySink, IngestProgressAfter) {
    let tracker = ProgressTracker::new();
    let id = Uuid::new_v4();
    let reporter = tracker.start(id);
    let sink = MemorySink::new(&tracker, id);
    let options = UploadOptions::default().with_block_size(block_size);
    let progress = Report(Some(&reporter));
    progress.attempt(1, Some(data.len() as u64));
    let before = tracker.snapshot().source(id).unwrap().clone();
    let read = write_blob(
        &sink,
        std::io::Cursor::new(data.to_vec()),
        compress,
        &options,
        true,
        progress,
    )
    .await
    .unwrap_or_else(|_| panic!("the upload failed"));
    assert_eq!(read, data.len() as u64);
    let after = tracker.snapshot().source(id).unwrap().clone();
    (sink, IngestProgressAfter { before, after })
}

struct IngestProgressAfter {
    before: SourceProgress,
    after: SourceProgress,
}

fn non_decreasing(values: &[u64]) -> bool {
    values.windows(2).all(|w| w[0] <= w[1])
}

#[tokio::test]
async fn a_multi_block_upload_reports_bytes_as_blocks_complete() {
    let data = rows((3 << 20) + (1 << 19) + 123);
    let (sink, states) = upload_to_memory(&data, false, 256 << 10).await;
    assert_eq!(sink.blob.lock().unwrap().as_deref(), Some(&data[..]));
    let total = data.len() as u64;
    let blocks = total.div_ceil(256 << 10);

    assert_eq!(states.before.phase, Phase::Reading);
    assert_eq!(states.before.size, Some(total));
    assert_eq!(states.before.bytes_read, 0);
    let staged = sink.seen("stage");
    assert_eq!(staged.len() as u64, blocks);
    assert!(staged.iter().all(|s| s.phase == Phase::Uploading));
    let uploaded: Vec<u64> = staged.iter().map(|s| s.bytes_uploaded).collect();
    let read: Vec<u64> = staged.iter().map(|s| s.bytes_read).collect();
    assert!(non_decreasing(&uploaded), "{uploaded:?}");
    assert!(non_decreasing(&read), "{read:?}");
    let mut distinct = uploaded.clone();
    distinct.dedup();
    assert!(
        distinct.len() >= 5,
        "stored bytes reported as the blocks complete: {uploaded:?}"
    );
    assert!(
        read[0] > 0 && read[0] < total,
        "read reported while uploading: {read:?}"
    );
    // Sent as it is: the raw bytes stored are the bytes stored.
    assert!(
        staged
            .iter()
            .all(|s| s.raw_bytes_uploaded == s.bytes_uploaded)
    );
    assert!(staged.iter().all(|s| s.blocks_committed == 0));

    let commit = sink.seen("commit");
    assert_eq!(commit.len(), 1);
    assert_eq!(commit[0].bytes_uploaded, total);
    assert_eq!(commit[0].blocks_uploaded, blocks);
    assert_eq!(
        commit[0].blocks_committed, 0,
        "not committed before the commit"
    );

    let after = states.after;
    assert_eq!(after.phase, Phase::Uploading);
    assert_eq!(
        (
            after.bytes_read,
            after.bytes_uploaded,
            after.raw_bytes_uploaded
        ),
        (total, total, total)
    );
    assert_eq!(
        (after.blocks_uploaded, after.blocks_committed),
        (blocks, blocks)
    );
}

#[tokio::test]
async fn a_compressed_upload_credits_the_raw_bytes_block_by_block() {
    let data = rows(4 << 20);
    let (sink, states) = upload_to_memory(&data, true, 64 << 10).await;
    let blob = sink.blob.lock().unwrap().clone().unwrap();
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&blob[..])
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, data);
    let total = data.len() as u64;
    let compressed = blob.len() as u64;
    assert!(compressed < total / 2, "compressed {compressed} of {total}");

    let staged = sink.seen("stage");
    let raw: Vec<u64> = staged.iter().map(|s| s.raw_bytes_uploaded).collect();
    assert!(non_decreasing(&raw), "{raw:?}");
    assert!(
        staged
            .iter()
            .all(|s| s.raw_bytes_uploaded <= s.bytes_read && s.bytes_uploaded <= compressed)
    );
    let middle = &staged[staged.len() / 2];
    assert!(
        middle.raw_bytes_uploaded > total / 5 && middle.raw_bytes_uploaded < total,
        "half way: {middle:?}"
    );
    let commit = &sink.seen("commit")[0];
    assert_eq!(commit.bytes_uploaded, compressed);
    assert!(commit.raw_bytes_uploaded <= total);
    let after = states.after;
    assert_eq!(after.bytes_uploaded, compressed);
    assert_eq!(after.raw_bytes_uploaded, total);
    assert_eq!(after.blocks_committed, after.blocks_uploaded);
    assert_eq!(after.blocks_committed, staged.len() as u64);
}

#[tokio::test]
async fn a_single_block_is_put_whole_and_counted_once() {
    let data = rows(10_000);
    let (sink, states) = upload_to_memory(&data, false, 64 << 10).await;
    assert!(sink.seen("stage").is_empty());
    let put = sink.seen("put");
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].phase, Phase::Uploading);
    assert_eq!((put[0].bytes_read, put[0].bytes_uploaded), (10_000, 0));
    let after = states.after;
    assert_eq!(
        (
            after.bytes_uploaded,
            after.raw_bytes_uploaded,
            after.blocks_uploaded,
            after.blocks_committed
        ),
        (10_000, 10_000, 1, 1)
    );
}
