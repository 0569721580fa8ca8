//! `StreamingIngestClient` and `ManagedStreamingIngestClient` against the emulator with fault
//! injection: every decision of the managed client, with the rows of every source counted, so
//! that none is missing and none doubled.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kusto_data::{Compression, ConnectionString, DataFormat, KustoClient};
use kusto_e2e::{IngestHarness, parquet_of, start_ingest};
use kusto_emulator::{FaultAction, FaultRule};
use kusto_ingest::{
    AmbiguousFailure, Error, FallbackReason, IngestProtocol, IngestionProperties, IngestionSource,
    ManagedEvent, ManagedIngestResult, ManagedStreamingIngestClient, ManagedStreamingPolicy,
    StreamingIngestClient,
};

const WAIT: Duration = Duration::from_secs(60);

async fn harness() -> IngestHarness {
    let h = start_ingest("Emu", true, IngestProtocol::Auto).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    command(
        &h,
        r#".create table T ingestion json mapping "J" '[{"column":"Src","Properties":{"Path":"$.s"}},{"column":"N","Properties":{"Path":"$.n"}},{"column":"Name","Properties":{"Path":"$.x"}}]'"#,
    )
    .await;
    h
}

async fn command(h: &IngestHarness, text: &str) {
    h.client
        .mgmt(&h.database, text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

async fn counts(h: &IngestHarness) -> BTreeMap<String, i64> {
    kusto_e2e::count_by_key(&h.client, &h.database, "T | summarize count() by Src").await
}

fn csv(src: &str, n: usize) -> String {
    (0..n).map(|i| format!("{src},{i},name {i}\n")).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// The Kusto error code of a service error.
fn code(error: &Error) -> Option<String> {
    match error {
        Error::Kusto(kusto) => kusto
            .as_service_error()
            .and_then(|s| s.code())
            .map(str::to_owned),
        _ => None,
    }
}

/// Tracked, so that a queued fallback can be waited on.
fn properties() -> IngestionProperties {
    IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking()
}

/// A managed client with millisecond backoffs that records its decisions.
fn managed(
    h: &IngestHarness,
    policy: ManagedStreamingPolicy,
) -> (ManagedStreamingIngestClient, Arc<Mutex<Vec<String>>>) {
    managed_over(h, h.client.clone(), policy)
}

fn managed_over(
    h: &IngestHarness,
    engine: KustoClient,
    policy: ManagedStreamingPolicy,
) -> (ManagedStreamingIngestClient, Arc<Mutex<Vec<String>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let client = ManagedStreamingIngestClient::builder_from_clients(
        StreamingIngestClient::from_kusto_client(engine),
        h.ingest.clone(),
    )
    .policy(policy)
    .on_event(move |event| {
        let text = match event {
            ManagedEvent::Streamed { attempt, .. } => format!("streamed {attempt}"),
            ManagedEvent::Retrying { attempt, .. } => format!("retrying {attempt}"),
            ManagedEvent::FellBack { reason, .. } => format!("queued {reason:?}"),
            ManagedEvent::Failed { .. } => "failed".to_owned(),
            _ => "other".to_owned(),
        };
        sink.lock().unwrap().push(text);
    })
    .build()
    .unwrap();
    (client, events)
}

fn fast_policy() -> ManagedStreamingPolicy {
    ManagedStreamingPolicy::default().with_retry(
        kusto_data::RetryPolicy::default()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(5))
            .with_max_backoff(Duration::from_millis(20)),
    )
}

fn events(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

async fn expect_queued(result: ManagedIngestResult, reason: FallbackReason) {
    match result {
        ManagedIngestResult::Queued(operation, why) => {
            assert_eq!(why, reason);
            let status = operation.wait(WAIT).await.unwrap();
            assert!(status.all_succeeded(), "{status:?}");
        }
        other => panic!("expected queued ({reason:?}), got {other:?}"),
    }
}

fn expect_streamed(result: &ManagedIngestResult) {
    assert!(
        matches!(result, ManagedIngestResult::Streamed(_)),
        "{result:?}"
    );
}

fn fault(h: &IngestHarness, rule: FaultRule) {
    h.emulator.faults().add(rule).unwrap();
}

fn status_fault(status: u16, code: &str, permanent: bool) -> FaultAction {
    FaultAction::Status {
        status,
        code: code.into(),
        message: "injected".into(),
        permanent,
    }
}

#[tokio::test]
async fn the_streaming_client_sends_every_format_and_refuses_what_it_cannot_honour() {
    let h = harness().await;
    let client = StreamingIngestClient::from_kusto_client(h.client.clone());
    // CSV from memory (gzip-compressed by the client).
    let result = client
        .ingest(IngestionSource::bytes(csv("csv", 3)), &properties())
        .await
        .unwrap();
    assert!(result.consumed_records.is_none_or(|n| n == 3), "{result:?}");
    // JSON lines from a file, with a mapping reference.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.json");
    std::fs::write(
        &path,
        "{\"s\":\"json\",\"n\":1,\"x\":\"a\"}\n{\"s\":\"json\",\"n\":2,\"x\":\"b\"}\n",
    )
    .unwrap();
    client
        .ingest(
            IngestionSource::file(&path),
            &IngestionProperties::new("Emu", "T", DataFormat::Json)
                .with_tracking()
                .with_mapping_reference("J"),
        )
        .await
        .unwrap();
    // gzip input sent as it is.
    let path = dir.path().join("rows.csv.gz");
    std::fs::write(&path, gzip(csv("gz", 4).as_bytes())).unwrap();
    client
        .ingest(IngestionSource::file(&path), &properties())
        .await
        .unwrap();
    // A reader.
    client
        .ingest(
            IngestionSource::reader(std::io::Cursor::new(csv("reader", 2).into_bytes())),
            &properties(),
        )
        .await
        .unwrap();
    // Parquet: binary, sent as it is.
    client
        .ingest(
            IngestionSource::bytes(parquet_of("parquet", &[1, 2, 3, 4, 5, 6])),
            &IngestionProperties::new("Emu", "T", DataFormat::Parquet).with_tracking(),
        )
        .await
        .unwrap();
    // A blob the service reads itself.
    let container = h
        .emulator
        .data_management()
        .unwrap()
        .resource_urls("TempStorage")[0]
        .clone();
    let mut blob = container.clone();
    blob.path_segments_mut().unwrap().push("s.csv");
    let response = h
        .client
        .http_client()
        .put(blob.clone())
        .header("x-ms-version", "2021-08-06")
        .header("x-ms-blob-type", "BlockBlob")
        .body(csv("blob", 5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    client
        .ingest(IngestionSource::blob(blob.as_str()).unwrap(), &properties())
        .await
        .unwrap();
    // What streaming cannot honour is refused, never silently dropped.
    let error = client
        .ingest(
            IngestionSource::bytes(csv("tagged", 1)),
            &properties().with_ingest_by_tag("x"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidProperty {
                field: "ingest_by_tags",
                ..
            }
        ),
        "{error}"
    );
    let error = client
        .ingest(
            IngestionSource::bytes(vec![b'P', b'K', 3, 4]).with_compression(Compression::Zip),
            &properties(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    let expected: BTreeMap<String, i64> = [
        ("blob", 5),
        ("csv", 3),
        ("gz", 4),
        ("json", 2),
        ("parquet", 6),
        ("reader", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts(&h).await, expected);
    h.emulator.shutdown().await;
}

/// A reader that counts the bytes it hands out.
struct Counting {
    data: std::io::Cursor<Vec<u8>>,
    read: Arc<AtomicUsize>,
}

impl tokio::io::AsyncRead for Counting {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.data).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.read.fetch_add(n, Ordering::SeqCst);
        poll
    }
}

#[tokio::test]
async fn small_sources_stream_and_large_ones_go_queued_without_a_second_read() {
    let h = harness().await;
    let (client, log) = managed(&h, fast_policy().with_max_streaming_size(64 << 10));
    let result = client
        .ingest(IngestionSource::bytes(csv("small", 10)), &properties())
        .await
        .unwrap();
    expect_streamed(&result);
    assert_eq!(events(&log), ["streamed 0"]);
    // 200 KB from a forward-only reader: the first 64 KiB + 1 byte are buffered, then chained
    // to the rest for the queued upload; every byte is read exactly once.
    let data = csv("large", 10_000).into_bytes();
    assert!(data.len() > 150_000);
    let read = Arc::new(AtomicUsize::new(0));
    let reader = Counting {
        data: std::io::Cursor::new(data.clone()),
        read: Arc::clone(&read),
    };
    let result = client
        .ingest(IngestionSource::reader(reader), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::TooLarge).await;
    assert_eq!(
        read.load(Ordering::SeqCst),
        data.len(),
        "each byte read once"
    );
    // Bytes over the limit go queued too.
    let result = client
        .ingest(IngestionSource::bytes(csv("bytes", 10_000)), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::TooLarge).await;
    // A large file goes queued by its length; properties streaming cannot honour go queued.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    std::fs::write(&path, csv("file", 6000)).unwrap();
    let result = client
        .ingest(IngestionSource::file(&path), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::TooLarge).await;
    let result = client
        .ingest(
            IngestionSource::bytes(csv("tagged", 3)),
            &properties().with_drop_by_tag("x"),
        )
        .await
        .unwrap();
    expect_queued(result, FallbackReason::Property("drop_by_tags")).await;
    // A highly compressible gzip file over the limit once decompressed goes queued too (Python
    // compares the compressed size and would stream it).
    let path = dir.path().join("big.csv.gz");
    std::fs::write(&path, gzip(csv("gzbig", 6000).as_bytes())).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 64 << 10);
    let result = client
        .ingest(IngestionSource::file(&path), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::TooLarge).await;
    let counts = counts(&h).await;
    assert_eq!(counts["small"], 10);
    assert_eq!(counts["large"], 10_000);
    assert_eq!(counts["bytes"], 10_000);
    assert_eq!(counts["file"], 6000);
    assert_eq!(counts["tagged"], 3);
    assert_eq!(counts["gzbig"], 6000);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn throttling_falls_back_and_the_table_stays_queued_for_the_backoff() {
    let h = harness().await;
    let (client, log) = managed(
        &h,
        fast_policy().with_throttle_backoff(Duration::from_millis(800)),
    );
    fault(
        &h,
        FaultRule::new(
            "/v1/rest/ingest/*",
            FaultAction::Throttle {
                retry_after_seconds: 1,
            },
        )
        .times(1),
    );
    let result = client
        .ingest(IngestionSource::bytes(csv("t1", 2)), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::Throttled).await;
    assert!(client.is_table_on_queued("Emu", "T"));
    // Within the back-off: queued without trying to stream.
    let result = client
        .ingest(IngestionSource::bytes(csv("t2", 2)), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::TableBackoff).await;
    assert_eq!(events(&log), ["queued Throttled", "queued TableBackoff"]);
    // After it: streaming again.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(!client.is_table_on_queued("Emu", "T"));
    let result = client
        .ingest(IngestionSource::bytes(csv("t3", 2)), &properties())
        .await
        .unwrap();
    expect_streamed(&result);
    let counts = counts(&h).await;
    for source in ["t1", "t2", "t3"] {
        assert_eq!(counts[source], 2, "{source}");
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn streaming_disabled_on_the_table_keeps_it_queued_or_fails_by_choice() {
    let h = harness().await;
    command(&h, ".alter table T policy streamingingestion disable").await;
    let (client, log) = managed(&h, fast_policy());
    let result = client
        .ingest(IngestionSource::bytes(csv("d1", 3)), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::StreamingDisabled).await;
    assert!(client.is_table_on_queued("Emu", "T"));
    assert_eq!(events(&log), ["queued StreamingDisabled"]);
    let (strict, _) = managed(&h, fast_policy().with_fail_when_streaming_disabled(true));
    let error = strict
        .ingest(IngestionSource::bytes(csv("d2", 3)), &properties())
        .await
        .unwrap_err();
    assert_eq!(
        code(&error).as_deref(),
        Some("BadRequest_StreamingIngestionPolicyNotEnabled"),
        "{error}"
    );
    let counts = counts(&h).await;
    assert_eq!(counts.get("d1"), Some(&3));
    assert_eq!(counts.get("d2"), None);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn permanent_errors_fail_after_one_attempt_and_transient_ones_recover() {
    let h = harness().await;
    let (client, log) = managed(&h, fast_policy());
    // A mapping that does not exist: permanent, one attempt, nothing queued.
    let error = client
        .ingest(
            IngestionSource::bytes("{\"s\":\"p\"}\n"),
            &IngestionProperties::new("Emu", "T", DataFormat::Json)
                .with_tracking()
                .with_mapping_reference("Nope"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(&error).as_deref(),
        Some("BadRequest_MappingReferenceWasNotFound"),
        "{error}"
    );
    assert_eq!(events(&log), ["failed"]);
    // Two 503s, then success on the third attempt.
    fault(
        &h,
        FaultRule::new(
            "/v1/rest/ingest/*",
            status_fault(503, "ServiceUnavailable", false),
        )
        .times(2),
    );
    let result = client
        .ingest(IngestionSource::bytes(csv("r", 4)), &properties())
        .await
        .unwrap();
    expect_streamed(&result);
    assert_eq!(events(&log), ["retrying 0", "retrying 1", "streamed 2"]);
    // 500s outlasting the attempts: queued, once.
    fault(
        &h,
        FaultRule::new(
            "/v1/rest/ingest/*",
            status_fault(500, "InternalServiceError", false),
        )
        .times(3),
    );
    let result = client
        .ingest(IngestionSource::bytes(csv("x", 5)), &properties())
        .await
        .unwrap();
    expect_queued(result, FallbackReason::RetriesExhausted).await;
    let counts = counts(&h).await;
    assert_eq!(counts["r"], 4);
    assert_eq!(counts["x"], 5);
    assert_eq!(counts.get("p"), None);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn requests_that_may_have_been_ingested_are_not_resent_unless_allowed() {
    let h = harness().await;
    // A dropped connection after the request was sent: by default a typed error, nothing
    // resent. (The emulator drops before ingesting, so nothing arrived.)
    let (client, log) = managed(&h, fast_policy());
    fault(
        &h,
        FaultRule::new("/v1/rest/ingest/*", FaultAction::Drop).times(1),
    );
    let error = client
        .ingest(IngestionSource::bytes(csv("drop", 2)), &properties())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Ambiguous { .. }), "{error}");
    assert_eq!(events(&log), ["failed"]);
    // The same with a policy that accepts possible duplicates: resent, arrives once here.
    let (retrying, log) = managed(&h, fast_policy().with_on_ambiguous(AmbiguousFailure::Retry));
    fault(
        &h,
        FaultRule::new("/v1/rest/ingest/*", FaultAction::Drop).times(1),
    );
    let result = retrying
        .ingest(IngestionSource::bytes(csv("dropretry", 2)), &properties())
        .await
        .unwrap();
    expect_streamed(&result);
    assert_eq!(events(&log), ["retrying 0", "streamed 1"]);
    // An answer slower than the client waits: a time-out after the request was sent.
    let impatient = KustoClient::builder(
        ConnectionString::parse(&format!("{}/Emu", h.emulator.url())).unwrap(),
    )
    .timeout_margin(Duration::from_millis(100))
    .build()
    .unwrap();
    let events_log = Arc::new(Mutex::new(Vec::new()));
    let (slow_client, _) = managed_over(&h, impatient.clone(), fast_policy());
    let slow_client = ManagedStreamingIngestClient::builder_from_clients(
        StreamingIngestClient::builder_from_kusto_client(impatient)
            .timeout(Duration::from_millis(400))
            .build()
            .unwrap(),
        slow_client.queued_client().clone(),
    )
    .policy(fast_policy())
    .on_event({
        let sink = Arc::clone(&events_log);
        move |_| sink.lock().unwrap().push(())
    })
    .build()
    .unwrap();
    fault(
        &h,
        FaultRule::new("/v1/rest/ingest/*", FaultAction::Delay)
            .delay(Duration::from_millis(1500))
            .times(1),
    );
    let error = slow_client
        .ingest(IngestionSource::bytes(csv("slow", 3)), &properties())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Ambiguous { .. }), "{error}");
    // The emulator abandons a request whose client went away; a real service may finish it.
    // Either way the rows are there at most once: nothing was resent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let counts = counts(&h).await;
    assert_eq!(counts.get("drop"), None);
    assert_eq!(counts["dropretry"], 2);
    assert!(
        counts.get("slow").is_none_or(|n| *n == 3),
        "never doubled: {counts:?}"
    );
    assert_eq!(events_log.lock().unwrap().len(), 1, "one decision: failed");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn blobs_stream_by_reference_when_small_and_go_queued_when_large() {
    let h = harness().await;
    let (client, _) = managed(&h, fast_policy().with_max_streaming_size(64 << 10));
    let container = h
        .emulator
        .data_management()
        .unwrap()
        .resource_urls("TempStorage")[0]
        .clone();
    let mut urls = Vec::new();
    for (name, body) in [
        ("small.csv", csv("bsmall", 3)),
        ("large.csv", csv("blarge", 6000)),
    ] {
        let mut blob = container.clone();
        blob.path_segments_mut().unwrap().push(name);
        let response = h
            .client
            .http_client()
            .put(blob.clone())
            .header("x-ms-version", "2021-08-06")
            .header("x-ms-blob-type", "BlockBlob")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        urls.push(blob);
    }
    // The size comes from the blob's properties when not given.
    let result = client
        .ingest(
            IngestionSource::blob(urls[0].as_str()).unwrap(),
            &properties(),
        )
        .await
        .unwrap();
    expect_streamed(&result);
    let result = client
        .ingest(
            IngestionSource::blob(urls[1].as_str()).unwrap(),
            &properties(),
        )
        .await
        .unwrap();
    expect_queued(result, FallbackReason::TooLarge).await;
    let counts = counts(&h).await;
    assert_eq!(counts["bsmall"], 3);
    assert_eq!(counts["blarge"], 6000);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn the_plain_streaming_client_tells_unknown_outcomes_from_failures_and_successes() {
    let h = harness().await;
    let client = StreamingIngestClient::from_kusto_client(h.client.clone());
    let plain = IngestionProperties::new("Emu", "T", DataFormat::Csv);
    // No answer after sending: the outcome is unknown (here nothing was ingested).
    fault(
        &h,
        FaultRule::new("/v1/rest/ingest/*", FaultAction::Drop).times(1),
    );
    let error = client
        .ingest(IngestionSource::bytes(csv("pdrop", 2)), &plain)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Ambiguous { cause, .. } if cause.may_have_reached_service()),
        "{error:?}"
    );
    // The success status arrived, then the answer was cut: the rows were committed.
    fault(
        &h,
        FaultRule::new("/v1/rest/ingest/*", FaultAction::Truncate).times(1),
    );
    client
        .ingest(IngestionSource::bytes(csv("pcut", 3)), &plain)
        .await
        .unwrap_or_else(|e| panic!("a cut answer after a success status is a success: {e}"));
    // Served, then nothing came back: unknown (here the rows arrived).
    fault(
        &h,
        FaultRule::new("/v1/rest/ingest/*", FaultAction::Lose).times(1),
    );
    let error = client
        .ingest(IngestionSource::bytes(csv("plose", 4)), &plain)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Ambiguous { .. }), "{error:?}");
    // An error status is a plain failure: nothing was ingested.
    fault(
        &h,
        FaultRule::new(
            "/v1/rest/ingest/*",
            status_fault(503, "ServiceUnavailable", false),
        )
        .times(1),
    );
    let error = client
        .ingest(IngestionSource::bytes(csv("p503", 5)), &plain)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Kusto(e) if e.status() == Some(503)),
        "{error:?}"
    );
    let counts = counts(&h).await;
    assert_eq!(counts.get("pdrop"), None, "{counts:?}");
    assert_eq!(counts.get("pcut"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("plose"), Some(&4), "{counts:?}");
    assert_eq!(counts.get("p503"), None, "{counts:?}");
    h.emulator.shutdown().await;
}
