//! Progress by the byte (`kusto_ingest::progress`) of a successful `ingest_many_with_progress`
//! against the emulator, over both protocols: multi-block sources report growing byte counts
//! while they upload, and the final totals hold every source submitted, every raw byte uploaded
//! and every block committed; the rows arrive exactly once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kusto_data::DataFormat;
use kusto_e2e::start_ingest;
use kusto_ingest::progress::ProgressTracker;
use kusto_ingest::{
    IngestProtocol, IngestionProperties, IngestionSource, QueuedIngestClient, UploadOptions,
};

/// Rows of one source: about `rows` * 60 bytes, each row naming the source.
fn csv(src: &str, rows: usize) -> String {
    (0..rows)
        .map(|i| format!("{src},{i},{:056}\n", i.wrapping_mul(2_654_435_761)))
        .collect()
}

async fn progress_over(protocol: IngestProtocol, rest_api: bool) {
    let h = start_ingest("Emu", rest_api, protocol).await;
    h.client
        .mgmt("Emu", ".create table T (Src:string, N:long, Pad:string)")
        .await
        .unwrap();
    // gzip level 0 stores the bytes as they are, so a source of ~300 KB takes several blocks
    // of 64 KiB.
    let client = QueuedIngestClient::builder_from_kusto_client(h.ingest.kusto_client().clone())
        .protocol(protocol)
        .upload_options(
            UploadOptions::default()
                .with_compression_level(0)
                .with_block_size(64 << 10),
        )
        .build()
        .unwrap();
    let sources: Vec<(String, String)> = (0..4)
        .map(|i| {
            let src = format!("p{i}");
            let body = csv(&src, 5000);
            (src, body)
        })
        .collect();
    let total: u64 = sources.iter().map(|(_, b)| b.len() as u64).sum();
    let tracker = ProgressTracker::new();
    let mut watch = tracker.subscribe();
    let values = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&values);
    let watcher = tokio::spawn(async move {
        while watch.changed().await.is_ok() {
            let now = watch.borrow_and_update().clone();
            sink.lock()
                .unwrap()
                .push((now.raw_bytes_uploaded, now.sources_done()));
        }
    });
    let stream = futures::stream::iter(
        sources
            .iter()
            .map(|(_, body)| IngestionSource::bytes(body.clone()))
            .collect::<Vec<_>>(),
    );
    let properties = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    let mut outcomes = client
        .ingest_many_with_progress(stream, properties, 2, &tracker)
        .await
        .unwrap();
    let mut operations = Vec::new();
    while let Some(outcome) = outcomes.next().await {
        operations.push(outcome.result.unwrap());
    }
    let last = tracker.snapshot();
    watcher.abort();
    let values = values.lock().unwrap().clone();

    assert_eq!(last.sources_started, 4, "{last:?}");
    assert_eq!(last.sources_submitted, 4, "{last:?}");
    assert_eq!(last.sources_failed, 0, "{last:?}");
    assert_eq!(last.in_progress().count(), 0, "{last:?}");
    assert_eq!(last.raw_bytes_uploaded, total, "{last:?}");
    assert_eq!(last.bytes_read, total, "{last:?}");
    assert!(last.bytes_uploaded >= total, "stored bytes: {last:?}");
    assert!(
        last.blocks_committed >= 4 * 4,
        "each source takes several blocks: {last:?}"
    );
    // Byte counts were seen strictly between nothing and everything while sources were still
    // under way (the totals are reported per block, not only per source), and never went back.
    let inside = values
        .iter()
        .filter(|(bytes, done)| *done < 4 && *bytes > 0 && *bytes < total)
        .count();
    assert!(inside > 0, "progress inside the uploads: {values:?}");
    assert!(
        values.windows(2).all(|w| w[0].0 <= w[1].0),
        "never backwards: {values:?}"
    );

    for operation in &operations {
        let status = operation.wait(Duration::from_secs(60)).await.unwrap();
        assert!(status.all_succeeded(), "{status:?}");
    }
    let counts: BTreeMap<String, i64> =
        kusto_e2e::count_by_key(&h.client, "Emu", "T | summarize count() by Src").await;
    for (src, _) in &sources {
        assert_eq!(counts.get(src), Some(&5000), "{src}: {counts:?}");
    }
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_protocol_reports_progress_by_the_byte() {
    progress_over(IngestProtocol::Queue, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_protocol_reports_progress_by_the_byte() {
    progress_over(IngestProtocol::Rest, true).await;
}
