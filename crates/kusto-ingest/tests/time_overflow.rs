//! Settings and answers that once overflowed `Instant`/`Duration` arithmetic (issue 28): each
//! must give a result or a typed error, never a panic. The server is a loopback HTTP responder
//! on a thread of its own that answers every request from a script.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kusto_ingest::kusto_data::{ConnectionString, KustoClient, RetryPolicy};
use kusto_ingest::{
    DataFormat, IngestionOperation, IngestionProperties, IngestionSource, IngestionState,
    ManagedStreamingIngestClient, ManagedStreamingPolicy, QueuedIngestClient,
    StreamingIngestClient,
};

/// An answer: status line (e.g. `429 Too Many Requests`) and JSON body.
type Answer = (&'static str, String);

/// Serves every request with `script(n)` (n = 0, 1, ... in arrival order) and returns the URL
/// and the number of requests so far.
fn serve(script: impl Fn(usize) -> Answer + Send + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { return };
            let mut reader = BufReader::new(socket);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let (status, body) = script(counter.fetch_add(1, Ordering::SeqCst));
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    (url, count)
}

fn kusto_client(url: &str) -> KustoClient {
    KustoClient::builder(ConnectionString::parse(url).unwrap())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// `wait(Duration::MAX)` computed `now + Duration::MAX` and panicked before its first read; now
/// the deadline is far in the future and the wait ends when the source is final.
#[tokio::test]
async fn wait_without_a_limit_ends_when_the_source_is_final() {
    let id = uuid::Uuid::new_v4();
    let (url, requests) = serve(move |n| {
        let state = if n == 0 { "InProgress" } else { "Succeeded" };
        let body = serde_json::json!({"details": [{"sourceId": id.to_string(), "status": state}]});
        ("200 OK", body.to_string())
    });
    let client = QueuedIngestClient::builder_from_kusto_client(kusto_client(&url))
        .build()
        .unwrap();
    let operation: IngestionOperation = serde_json::from_value(serde_json::json!({
        "database": "Db", "table": "T", "source_ids": [id], "blobs": [],
        "tracking": {"kind": "rest", "operation_id": "op-1"},
    }))
    .unwrap();
    let operation = client.resume(operation);
    let status = operation.wait(Duration::MAX).await.unwrap();
    assert_eq!(status.sources[0].state, IngestionState::Succeeded);
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

/// A throttled stream (429) and a table whose streaming is disabled (404 without an error
/// body) keep the table on queued ingestion for the policy's period: `Duration::MAX` is kept as
/// "for a very long time", not an overflow of `Instant + Duration`.
#[tokio::test]
async fn huge_back_off_periods_keep_the_table_on_queued_without_overflow() {
    for (status, policy) in [
        (
            "429 Too Many Requests",
            ManagedStreamingPolicy::default().with_throttle_backoff(Duration::MAX),
        ),
        (
            "404 Not Found",
            ManagedStreamingPolicy::default().with_config_backoff(Duration::MAX),
        ),
    ] {
        // Streaming and the queued fallback's resource lookup both get this answer.
        let (url, requests) = serve(move |_| (status, String::new()));
        let streaming = StreamingIngestClient::builder_from_kusto_client(kusto_client(&url))
            .build()
            .unwrap();
        let queued = QueuedIngestClient::builder_from_kusto_client(kusto_client(&url))
            .build()
            .unwrap();
        let client = ManagedStreamingIngestClient::builder_from_clients(streaming, queued)
            .policy(policy.with_retry(RetryPolicy::none()))
            .build()
            .unwrap();
        let properties = IngestionProperties::new("Db", "T", DataFormat::Csv);
        let result = client
            .ingest(IngestionSource::bytes("a,1\n"), &properties)
            .await;
        assert!(result.is_err(), "{status}: the fallback has no resources");
        assert!(client.is_table_on_queued("Db", "T"), "{status}");
        assert!(requests.load(Ordering::SeqCst) >= 2, "{status}");
    }
}
