//! The SDK over a shaped link (issue 27): the emulator's engine endpoint and every storage
//! endpoint behind 40 ms of round trip and 200 Mbit/s ([`kusto_emulator::shaped`]). A multi-block
//! queued upload completes and its rows arrive exactly once, in both protocols and with loss;
//! streaming ingestion and queries go through the same link.
//!
//! A trace of the upload's own events (`kusto_ingest::upload` at `trace` level) shows block
//! uploads finishing over the link while the next chunk is being compressed: read, compress and
//! upload overlap.
//!
//! The link guarantees lower bounds only (a round trip takes at least its RTT), so the tests
//! assert those and what the link carried, never how long the SDK took.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use kusto_data::DataFormat;
use kusto_e2e::shaped::start_shaped_ingest;
use kusto_e2e::{IngestHarness, count_by_key};
use kusto_emulator::shaped::LinkShape;
use kusto_ingest::{
    IngestProtocol, IngestionProperties, IngestionSource, StreamingIngestClient, UploadOptions,
};

const WAIT: Duration = Duration::from_secs(120);
const RTT: Duration = Duration::from_millis(40);
const BLOCK: usize = 256 << 10;

fn link() -> LinkShape {
    LinkShape::new(RTT).bandwidth_mbit(200)
}

fn upload() -> UploadOptions {
    UploadOptions::default()
        .with_block_size(BLOCK)
        .with_compression_level(1)
}

/// `rows` CSV rows `src,N,<32 hex digits>`: the digits are pseudo-random so that the gzipped
/// upload stays several blocks long.
fn csv(src: &str, rows: u64) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut out = Vec::with_capacity(rows as usize * 48);
    for i in 0..rows {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let other = state.rotate_left(29) ^ i;
        writeln!(out, "{src},{i},{state:016x}{other:016x}").unwrap();
    }
    out
}

fn gzip_len(data: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap().len()
}

async fn command(h: &IngestHarness, text: &str) {
    h.client
        .mgmt(&h.database, text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

/// Rows of `T` that appear more than once (by `Src` and `N`), counted by the emulator.
async fn doubled(h: &IngestHarness) -> i64 {
    let query = "T | summarize c = count() by Src, N | where c != 1 | count";
    let data = h
        .client
        .query(&h.database, query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    let table = data.primary_result().unwrap();
    let row = table.rows().next().unwrap();
    row.get_i64(0).unwrap().unwrap()
}

/// A file of a few MiB queued in 256 KiB blocks over the link: it completes, its rows arrive
/// exactly once, and its compressed bytes crossed the link.
async fn multi_block_upload(protocol: IngestProtocol, shape: LinkShape) {
    let h = start_shaped_ingest("Emu", shape, protocol, upload()).await;
    command(&h, ".create table T (Src:string, N:long, Hex:string)").await;
    let rows = 100_000u64;
    let data = csv("queued", rows);
    let compressed = gzip_len(&data);
    let blocks = compressed.div_ceil(BLOCK);
    eprintln!(
        "{} bytes of CSV, {compressed} gzipped at level 1: about {blocks} blocks of {BLOCK}",
        data.len()
    );
    assert!(
        blocks >= 4,
        "the upload must take several blocks, not {blocks}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queued.csv");
    std::fs::write(&path, &data).unwrap();

    let before = h.emulator.link().unwrap().stats();
    let started = Instant::now();
    let operation = h
        .ingest
        .ingest(
            IngestionSource::file(&path),
            &IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking(),
        )
        .await
        .unwrap_or_else(|e| panic!("queued over the shaped link: {e}"));
    let status = operation
        .wait(WAIT)
        .await
        .unwrap_or_else(|e| panic!("waiting over the shaped link: {e}"));
    assert!(status.all_succeeded(), "{status:?}");
    let after = h.emulator.link().unwrap().stats();
    eprintln!(
        "queued ({protocol:?}) in {:?}; the link carried {} bytes up, {} down, {} connections, {} chunks retransmitted",
        started.elapsed(),
        after.bytes_up - before.bytes_up,
        after.bytes_down - before.bytes_down,
        after.connections,
        after.retransmitted_chunks
    );
    // The blocks went through the link, not around it.
    assert!(
        after.bytes_up - before.bytes_up >= compressed as u64,
        "{} bytes up, the upload alone is {compressed}",
        after.bytes_up - before.bytes_up
    );

    let counts = count_by_key(&h.client, "Emu", "T | summarize count() by Src").await;
    assert_eq!(counts, BTreeMap::from([("queued".to_owned(), rows as i64)]));
    assert_eq!(doubled(&h).await, 0, "rows ingested twice");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_multi_block_queued_upload_over_40_ms_arrives_once() {
    multi_block_upload(IngestProtocol::Queue, link()).await;
}

#[tokio::test]
async fn a_multi_block_rest_upload_over_a_lossy_link_arrives_once() {
    multi_block_upload(IngestProtocol::Rest, link().loss(0.02)).await;
}

#[tokio::test]
async fn streaming_ingestion_and_queries_over_40_ms() {
    let h = start_shaped_ingest("Emu", link(), IngestProtocol::Auto, upload()).await;
    command(&h, ".create table T (Src:string, N:long, Hex:string)").await;
    let streaming = StreamingIngestClient::builder_from_kusto_client(h.client.clone())
        .build()
        .unwrap();
    let rows = 20_000u64;
    let data = csv("streamed", rows);
    let before = h.emulator.link().unwrap().stats();
    streaming
        .ingest(
            IngestionSource::bytes(data.clone()),
            &IngestionProperties::new("Emu", "T", DataFormat::Csv),
        )
        .await
        .unwrap_or_else(|e| panic!("streaming over the shaped link: {e}"));
    let after = h.emulator.link().unwrap().stats();
    // The payload (gzipped by the client) crossed the link.
    assert!(
        after.bytes_up - before.bytes_up >= gzip_len(&data) as u64 / 2,
        "{} bytes up",
        after.bytes_up - before.bytes_up
    );

    // A query is a round trip over the link at least; its answer crosses it.
    let started = Instant::now();
    let counts = count_by_key(&h.client, "Emu", "T | summarize count() by Src").await;
    let took = started.elapsed();
    assert_eq!(
        counts,
        BTreeMap::from([("streamed".to_owned(), rows as i64)])
    );
    assert!(
        took >= RTT,
        "a query answered in {took:?}, below the link's {RTT:?}"
    );

    let before = h.emulator.link().unwrap().stats();
    let data = h
        .client
        .query("Emu", "T | where N < 5000 | project N, Hex")
        .await
        .unwrap();
    let table = data.primary_result().unwrap();
    let mut seen: Vec<i64> = table
        .rows()
        .map(|r| r.get_i64(0).unwrap().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..5000).collect::<Vec<i64>>());
    let down = h.emulator.link().unwrap().stats().bytes_down - before.bytes_down;
    // 5,000 rows, each with a different 64-bit value in its digits: at least 40,000 bytes
    // even gzipped.
    assert!(down >= 40_000, "the answer took {down} bytes down");
    assert_eq!(doubled(&h).await, 0);
    h.emulator.shutdown().await;
}

/// The upload's trace events, in the order they happened (one thread: the test's runtime).
#[derive(Clone, Default)]
struct UploadTrace(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for UploadTrace {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "kusto_ingest::upload" {
            return;
        }
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.lock().unwrap().push(message.0);
    }
}

/// Over 40 ms and 200 Mbit/s, a file of many blocks: block uploads finish while a chunk is
/// being compressed (the uploads are driven during compression, not parked behind it), and
/// compression starts while uploads are in flight.
#[tokio::test]
async fn block_uploads_finish_while_the_next_chunk_is_compressed() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    let trace = UploadTrace::default();
    let subscriber = tracing_subscriber::registry().with(
        trace
            .clone()
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let h = start_shaped_ingest("Emu", link(), IngestProtocol::Queue, upload()).await;
    command(&h, ".create table T (Src:string, N:long, Hex:string)").await;
    let rows = 600_000u64;
    let data = csv("traced", rows);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traced.csv");
    std::fs::write(&path, &data).unwrap();
    let operation = h
        .ingest
        .ingest(
            IngestionSource::file(&path),
            &IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking(),
        )
        .await
        .unwrap_or_else(|e| panic!("queued over the shaped link: {e}"));
    let events = trace.0.lock().unwrap().clone();
    // Walk the events in order: uploads in flight, and whether a chunk is being compressed.
    let (mut in_flight, mut compressing) = (0i64, false);
    let (mut started_during_uploads, mut finished_during_compression) = (0, 0);
    let (mut blocks, mut chunks) = (0, 0);
    for event in &events {
        match event.as_str() {
            "block upload started" => {
                in_flight += 1;
                blocks += 1;
            }
            "block upload finished" => {
                in_flight -= 1;
                finished_during_compression += usize::from(compressing);
            }
            "chunk compression started" => {
                compressing = true;
                chunks += 1;
                started_during_uploads += usize::from(in_flight > 0);
            }
            "chunk compression finished" => compressing = false,
            _ => {}
        }
    }
    eprintln!(
        "trace: {chunks} chunks compressed, {blocks} blocks uploaded; {started_during_uploads} \
         compressions started with uploads in flight, {finished_during_compression} uploads \
         finished during a compression"
    );
    assert!(blocks >= 4 && chunks >= 4, "{events:?}");
    assert!(started_during_uploads > 0, "{events:?}");
    assert!(finished_during_compression > 0, "{events:?}");
    let status = operation.wait(WAIT).await.unwrap();
    assert!(status.all_succeeded(), "{status:?}");
    let counts = count_by_key(&h.client, "Emu", "T | summarize count() by Src").await;
    assert_eq!(counts, BTreeMap::from([("traced".to_owned(), rows as i64)]));
    h.emulator.shutdown().await;
}
