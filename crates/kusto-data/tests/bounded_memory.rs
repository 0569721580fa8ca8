//! Streaming a v2 response of several hundred MB keeps memory bounded by the batch size.
//!
//! The body is produced on the fly by a generator stream (never held in memory) and parsed by
//! the async adapter; peak RSS (`VmHWM` in /proc/self/status) is read before and after. This is
//! a memory bound, not a timing assertion. It lives in its own test binary so no other test
//! shares the process's peak.

use bytes::Bytes;
use futures::{StreamExt, stream};
use kusto_data::Error;
use kusto_data::response::{ParserOptions, V2EventStream};

mod common;
use common::status_kib;

const ROWS: u64 = 1_800_000;
const CHUNK: usize = 64 * 1024;

fn row(i: u64) -> String {
    format!(
        "[{i},\"row {i} with some text to make it realistic, quote \\\" and unicode é\",{},\"2024-05-01T10:20:30.{:07}Z\",\"{}.01:02:03.0000000\",\"00000000-0000-4000-8000-{:012x}\",{{\"k\":{i},\"arr\":[1,2,3]}},{}]",
        i as f64 * 0.5,
        i % 10_000_000,
        i % 100,
        i,
        i.is_multiple_of(2)
    )
}

/// The body, generated chunk by chunk; also returns its total size through `size`.
fn body(
    size: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> impl futures::Stream<Item = Result<Bytes, Error>> + Send + 'static {
    let head = concat!(
        r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"}"#,
        "\n,",
        r#"{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"id","ColumnType":"long"},{"ColumnName":"text","ColumnType":"string"},{"ColumnName":"x","ColumnType":"real"},{"ColumnName":"t","ColumnType":"datetime"},{"ColumnName":"ts","ColumnType":"timespan"},{"ColumnName":"g","ColumnType":"guid"},{"ColumnName":"dy","ColumnType":"dynamic"},{"ColumnName":"b","ColumnType":"bool"}],"Rows":["#
    );
    let tail =
        "]}\n,{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}\n]";
    stream::unfold((0u64, false), move |(next, done)| {
        let size = size.clone();
        async move {
            if done {
                return None;
            }
            let mut chunk = String::with_capacity(CHUNK + 512);
            if next == 0 {
                chunk.push_str(head);
            }
            let mut i = next;
            while chunk.len() < CHUNK && i < ROWS {
                if i > 0 {
                    chunk.push(',');
                }
                chunk.push_str(&row(i));
                i += 1;
            }
            let finished = i == ROWS;
            if finished {
                chunk.push_str(tail);
            }
            size.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
            Some((Ok(Bytes::from(chunk)), (i, finished)))
        }
    })
}

#[tokio::test(flavor = "current_thread")]
async fn streaming_hundreds_of_mb_keeps_peak_memory_bounded() {
    let size = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let hwm_before = status_kib("VmHWM:");
    let options = ParserOptions::new().with_batch_rows(1000);
    let mut batches = V2EventStream::with_options(body(size.clone()), options).primary_batches();
    let (mut rows, mut id_sum, mut max_batch) = (0u64, 0i128, 0usize);
    while let Some(batch) = batches.next().await {
        let batch = batch.unwrap();
        max_batch = max_batch.max(batch.len());
        for r in batch.rows() {
            id_sum += i128::from(r.get_i64("id").unwrap().unwrap());
        }
        rows += batch.len() as u64;
    }
    let hwm_after = status_kib("VmHWM:");
    let rss_after = status_kib("VmRSS:");
    let body_mib = size.load(std::sync::atomic::Ordering::Relaxed) / (1 << 20);
    let growth_mib = hwm_after.saturating_sub(hwm_before) / 1024;
    eprintln!(
        "body {body_mib} MiB, {rows} rows; VmHWM {hwm_before} KiB -> {hwm_after} KiB (+{growth_mib} MiB), VmRSS {rss_after} KiB"
    );
    assert_eq!(rows, ROWS);
    assert_eq!(id_sum, i128::from(ROWS) * i128::from(ROWS - 1) / 2);
    assert_eq!(max_batch, 1000);
    assert!(
        body_mib >= 300,
        "the body must be several hundred MB, was {body_mib} MiB"
    );
    assert!(
        growth_mib < 32,
        "peak memory grew by {growth_mib} MiB while streaming a {body_mib} MiB body"
    );
}
