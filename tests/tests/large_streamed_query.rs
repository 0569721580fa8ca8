//! A streamed query over HTTP of a generated v2 response of about 300 MB keeps the client's
//! memory bounded by its batch size.
//!
//! A loopback server produces the body on the fly (never held in memory) and `KustoClient`
//! streams it with `execute_query_stream`. Peak RSS (`VmHWM`) is read before and after; this is a
//! memory bound, not a timing assertion. Its own test binary, so no other test shares the peak.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::{StreamExt, stream};
use kusto_data::response::ParserOptions;
use kusto_data::{ConnectionString, KustoClient};

const ROWS: u64 = 1_500_000;

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn row(i: u64) -> String {
    format!(
        "[{i},\"row {i}: {}\",\"2024-05-01T10:20:30.{:07}Z\",{{\"k\":{i},\"v\":[1,2,3]}}]",
        "some text to make the row realistic, with a quote \\\" and é ".repeat(2),
        i % 10_000_000
    )
}

fn body(sent: Arc<AtomicU64>) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let head = concat!(
        r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"}"#,
        "\n,",
        r#"{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"id","ColumnType":"long"},{"ColumnName":"text","ColumnType":"string"},{"ColumnName":"t","ColumnType":"datetime"},{"ColumnName":"dy","ColumnType":"dynamic"}],"Rows":["#
    );
    stream::unfold(0u64, move |next| {
        let sent = sent.clone();
        async move {
            if next > ROWS {
                return None;
            }
            let mut chunk = String::with_capacity(80 * 1024);
            if next == 0 {
                chunk.push_str(head);
            }
            let end = (next + 500).min(ROWS);
            for i in next..end {
                if i > 0 {
                    chunk.push(',');
                }
                chunk.push_str(&row(i));
            }
            if end == ROWS {
                chunk.push_str(
                    "]}\n,{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}\n]",
                );
            }
            sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            let next = if end == ROWS { ROWS + 1 } else { end };
            Some((Ok(Bytes::from(chunk)), next))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_megabytes_stream_in_bounded_memory() {
    let sent = Arc::new(AtomicU64::new(0));
    let served = sent.clone();
    let app = axum::Router::new().fallback(move || {
        let sent = served.clone();
        async move { axum::body::Body::from_stream(body(sent)) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .parser_options(ParserOptions::new().with_batch_rows(1000))
        .build()
        .unwrap();
    let before = vm_hwm_kib();
    let mut batches = client
        .query("Db", "Big")
        .stream()
        .await
        .unwrap()
        .primary_batches();
    let (mut rows, mut ids) = (0u64, 0u64);
    while let Some(batch) = batches.next().await {
        let batch = batch.unwrap();
        assert!(batch.len() <= 1000);
        for row in batch.rows() {
            ids += row.get_i64(0).unwrap().unwrap() as u64;
            rows += 1;
        }
    }
    let growth_mib = (vm_hwm_kib().saturating_sub(before)) / 1024;
    let body_mib = sent.load(Ordering::Relaxed) / (1024 * 1024);
    assert_eq!(rows, ROWS);
    assert_eq!(ids, ROWS * (ROWS - 1) / 2, "every row arrived exactly once");
    assert!(body_mib > 250, "the body should be large: {body_mib} MiB");
    assert!(
        growth_mib < 64,
        "peak memory grew by {growth_mib} MiB while streaming {body_mib} MiB"
    );
    eprintln!("streamed {body_mib} MiB; peak memory grew by {growth_mib} MiB");
}
