//! Load: 64 tasks share one `KustoClient` (and one streaming client over it) and run queries and
//! streaming ingestions against the emulator for a bounded time while a few requests fail by
//! injection. No task may hang (the whole run has a deadline), no error may appear other than
//! the injected ones (and only after the client's retries gave up; errors are told apart by
//! type, [`kusto_e2e::classify`]: a service error with HTTP 503 and the injected OneApi code
//! [`INJECTED_CODE`], never by message text), every acknowledged
//! ingestion must be in the table exactly once, and the process's memory must stay flat once
//! warm: the resident size at the end may exceed the size after the first quarter by at most
//! 64 MiB (the emulator's own store grows by a few MiB of rows meanwhile).
//!
//! `KUSTO_LOAD_SECONDS` sets the duration (default 8 s; the figures in docs/reliability.md come
//! from longer runs).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kusto_data::DataFormat;
use kusto_e2e::classify::{ErrorCounts, data_error_type, ingest_error_type, service_error};
use kusto_emulator::{FaultAction, FaultRule};
use kusto_ingest::{IngestionProperties, IngestionSource, StreamingIngestClient};

const TASKS: usize = 64;
const ROWS_PER_INGESTION: usize = 10;
/// The OneApi code of the injected 503s: what tells them from any other error.
const INJECTED_CODE: &str = "LoadTestInjected";

/// True for the injected failure: HTTP 503 with [`INJECTED_CODE`].
fn is_injected(error: Option<&kusto_data::ServiceError>) -> bool {
    error.is_some_and(|e| e.status == 503 && e.code() == Some(INJECTED_CODE))
}

/// Resident set size of this process, from `/proc/self/statm` (Linux).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm (Linux)");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages in statm");
    pages * 4096
}

#[derive(Default)]
struct Tally {
    queries: AtomicU64,
    ingestions: AtomicU64,
    injected_errors: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_share_one_client_without_errors_hangs_or_growth() {
    let seconds: u64 = std::env::var("KUSTO_LOAD_SECONDS")
        .ok()
        .map(|v| v.parse().expect("KUSTO_LOAD_SECONDS is a number"))
        .unwrap_or(8);
    let h = kusto_e2e::start("Load").await;
    h.client
        .mgmt("Load", ".create table T (Task:long, Seq:long, Text:string)")
        .await
        .unwrap();
    let faults = h.emulator.faults();
    let injected = FaultAction::Status {
        status: 503,
        code: INJECTED_CODE.into(),
        message: "injected by the load test".into(),
        permanent: false,
    };
    faults
        .add(FaultRule::new("/v2/rest/query", injected.clone()).probability(0.02))
        .unwrap();
    faults
        .add(FaultRule::new("/v1/rest/ingest/*", injected).probability(0.02))
        .unwrap();

    let client = h.client.clone();
    let streaming = StreamingIngestClient::from_kusto_client(client.clone());
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeMap::<i64, i64>::new()));
    let unexpected = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let errors = Arc::new(ErrorCounts::default());

    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS as i64 {
        let (client, streaming) = (client.clone(), streaming.clone());
        let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
        let (acknowledged, unexpected) = (Arc::clone(&acknowledged), Arc::clone(&unexpected));
        let errors = Arc::clone(&errors);
        tasks.push(tokio::spawn(async move {
            let properties = IngestionProperties::new("Load", "T", DataFormat::Csv);
            let mut seq = 0i64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                if seq % 2 == 0 {
                    let query = format!("T | where Task == {task} | count");
                    match client.query("Load", &query).await {
                        Ok(data) => {
                            let count = data.primary_result().map(|t| t.len()).unwrap_or(0);
                            if count != 1 {
                                unexpected
                                    .lock()
                                    .unwrap()
                                    .push(format!("task {task}: count gave {count} rows"));
                            }
                            tally.queries.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errors.add(format!("query: {}", data_error_type(&e)));
                            if is_injected(e.as_service_error()) {
                                tally.injected_errors.fetch_add(1, Ordering::Relaxed);
                            } else {
                                unexpected.lock().unwrap().push(format!("query: {e}"));
                            }
                        }
                    }
                } else {
                    let csv: String = (0..ROWS_PER_INGESTION)
                        .map(|i| format!("{task},{seq},row {i} of {task}/{seq}\n"))
                        .collect();
                    match streaming
                        .ingest(IngestionSource::bytes(csv), &properties)
                        .await
                    {
                        Ok(_) => {
                            *acknowledged.lock().unwrap().entry(task).or_default() +=
                                ROWS_PER_INGESTION as i64;
                            tally.ingestions.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errors.add(format!("ingest: {}", ingest_error_type(&e)));
                            if is_injected(service_error(&e)) {
                                tally.injected_errors.fetch_add(1, Ordering::Relaxed);
                            } else {
                                unexpected.lock().unwrap().push(format!("ingest: {e}"));
                            }
                        }
                    }
                }
            }
        }));
    }

    let run = Duration::from_secs(seconds);
    tokio::time::sleep(run / 4).await;
    let warm = rss_bytes();
    tokio::time::sleep(run - run / 4).await;
    stop.store(true, Ordering::Relaxed);
    let joined = tokio::time::timeout(Duration::from_secs(120), futures::future::join_all(tasks))
        .await
        .expect("every task finishes within 120 s of the stop signal: no deadlock");
    for result in joined {
        result.expect("no task panicked");
    }
    let end = rss_bytes();
    let elapsed = started.elapsed();
    faults.clear();

    let counts = h
        .client
        .query("Load", "T | summarize count() by Task")
        .await
        .unwrap();
    let arrived: BTreeMap<i64, i64> = counts
        .primary_result()
        .unwrap()
        .rows()
        .map(|row| {
            (
                row.get_i64(0).unwrap().unwrap(),
                row.get_i64(1).unwrap().unwrap(),
            )
        })
        .collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    let unexpected = unexpected.lock().unwrap().clone();
    let queries = tally.queries.load(Ordering::Relaxed);
    let ingestions = tally.ingestions.load(Ordering::Relaxed);
    eprintln!(
        "load summary: {{\"tasks\": {TASKS}, \"seconds\": {:.1}, \"queries\": {queries}, \
         \"ingestions\": {ingestions}, \"requests_per_second\": {:.0}, \"injected_errors_after_retries\": {}, \
         \"unexpected_errors\": {}, \"errors_by_type\": {}, \"rss_warm_mib\": {:.1}, \"rss_end_mib\": {:.1}}}",
        elapsed.as_secs_f64(),
        (queries + ingestions) as f64 / elapsed.as_secs_f64(),
        tally.injected_errors.load(Ordering::Relaxed),
        unexpected.len(),
        serde_json::json!(errors.snapshot()),
        warm as f64 / 1048576.0,
        end as f64 / 1048576.0,
    );
    assert!(
        unexpected.is_empty(),
        "errors beyond the injected ones: {unexpected:#?}"
    );
    assert!(queries > 0 && ingestions > 0, "no work was done");
    assert_eq!(
        arrived, acknowledged,
        "rows per task in the table differ from the acknowledged ingestions"
    );
    assert!(
        end <= warm + (64 << 20),
        "memory grew from {warm} to {end} bytes after warm-up"
    );
}
