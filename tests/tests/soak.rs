//! Soak: the SDK's client side runs a steady mixed workload against the emulator for a while,
//! and the resident memory of the client's process, sampled every second, must not trend up.
//!
//! # Two processes
//!
//! The emulator (with its Azurite) runs in a child process, so that the memory measured is the
//! client's alone: the emulator's store grows with every ingested row. The child is this test
//! binary again: the parent runs `current_exe() emulator_process_for_the_soak --exact
//! --nocapture` with `KUSTO_SOAK_CHILD=1`; that test (a no-op that passes when the variable is
//! not set) starts the emulator with queued ingestion over a new Azurite, prints
//! `KUSTO_SOAK_EMULATOR_URL=<url>` on its stdout, and returns when its stdin reaches its end.
//! The parent keeps the write end of that stdin: dropping the [`EmulatorProcess`] (at the end or
//! while a failing test unwinds) closes it, waits up to 30 s for the child to exit (which stops
//! its Azurite, started with kill-on-drop), and kills it after that. If the parent itself is
//! killed, its end of the pipe closes with it and the child exits the same way. The process and
//! the control API below live in `soak/emulator.rs`.
//!
//! The faults are set from the parent through the emulator's HTTP control API
//! (`POST /_emulator/faults`, `POST /_emulator/storage/kustoemu1/faults`), read back
//! (`GET`, with how often each rule applied) and removed (`DELETE`) at the end: a few percent of
//! queries, streaming ingestions and REST submissions fail with 503, 429 (with `Retry-After`)
//! or a dropped connection, and 2 % of the `PUT` requests to the first storage account (blob
//! uploads, status-table entries) with 503.
//!
//! # The workload
//!
//! [`TASKS`] tasks share one `KustoClient`, one streaming client and two queued clients (queue
//! and REST protocols) over it. Each task runs at most one operation every [`PACE`], in turn:
//! a collected query and a streamed query (`R`, [`QUERY_ROWS`] rows: each success must return
//! all of them), two streaming ingestions of [`ROWS`] rows into `T`, and a queued ingestion of
//! [`ROWS`] rows into `Q` (queue protocol, then REST) whose status is waited for (status table
//! tracking). At the end the rows per task are counted: for each task, table and client, the
//! rows must be at least those of the acknowledged ingestions and at most those plus the rows
//! of the ingestions whose outcome the error left unknown. Every kind of operation must have
//! succeeded at least once and at least one fault must have applied.
//!
//! # Errors by type
//!
//! Every error is classified by its type ([`kusto_e2e::classify`]): variant, HTTP status,
//! OneApi code, network phase, storage service and status, never by message text. An error is
//! expected when each failure it carries is one of the injected kinds ([`injected_data`],
//! [`injected_ingest`]); any other type fails the test.
//!
//! # Memory
//!
//! `VmRSS` of `/proc/self/status` is sampled every second. After a warm-up (a quarter of the
//! run, at least 5 s and at most 120 s) the least-squares slope of the samples (MiB per minute)
//! must stay at or below [`slope_bound`]: 6 MiB per minute plus 8 MiB spread over the span
//! measured (38 on the default 15 s, 7 on the 480 s of the long run); docs/reliability.md,
//! `## Load`, says how it was chosen. A leak of 1 MiB per second is a slope of 60.
//!
//! `KUSTO_SOAK_SECONDS` sets the duration (default 20 s, the form `cargo xtask test` runs);
//! `cargo xtask soak` runs 600 s. The figures are printed as one JSON line (`soak summary:
//! {...}`).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kusto_data::{ConnectionString, DataFormat, KustoClient};
use kusto_e2e::classify::{ErrorCounts, data_error_type, ingest_error_type};
use kusto_ingest::{
    Error as IngestError, IngestProtocol, IngestionProperties, IngestionSource, IngestionState,
    QueuedIngestClient, StreamingIngestClient,
};
use serde_json::{Value, json};

#[path = "soak/emulator.rs"]
mod emulator;
use emulator::{EmulatorProcess, set_faults, take_faults};

const DATABASE: &str = "Soak";
const CHILD_ENV: &str = "KUSTO_SOAK_CHILD";
const CHILD_TEST: &str = "emulator_process_for_the_soak";
const URL_LINE: &str = "KUSTO_SOAK_EMULATOR_URL=";
/// Concurrent tasks.
const TASKS: i64 = 12;
/// The shortest time between two operations of one task.
const PACE: Duration = Duration::from_millis(50);
/// Rows of each ingestion.
const ROWS: i64 = 10;
/// Rows of the table the queries read.
const QUERY_ROWS: usize = 1000;
/// The OneApi code of the injected 503s.
const INJECTED_CODE: &str = "SoakInjected";
/// The largest slope of the client's resident size after the warm-up, in MiB per minute, on a
/// long run; see [`slope_bound`].
const SLOPE_BOUND_MIB_PER_MINUTE: f64 = 6.0;
/// A rise of the resident size that is not a trend, in MiB (see [`slope_bound`]).
const TRANSIENT_MIB: f64 = 8.0;

/// The child's side: a no-op unless `KUSTO_SOAK_CHILD` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_process_for_the_soak() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let h = kusto_e2e::start_ingest(DATABASE, true, IngestProtocol::Rest).await;
    {
        // Not through `println!`: the test harness may capture that.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{URL_LINE}{}", h.emulator.url()).expect("stdout");
        out.flush().expect("stdout");
    }
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = done_tx.send(());
    });
    let _ = done_rx.await;
    h.emulator.shutdown().await;
}

/// True when a `kusto-data` error is one the faults inject: the injected 503, a 429, or a
/// dropped connection (a network error at any phase).
fn injected_data(error: &kusto_data::Error) -> bool {
    match error {
        kusto_data::Error::Service(e) => {
            (e.status == 503 && e.code() == Some(INJECTED_CODE)) || e.status == 429
        }
        kusto_data::Error::Network { .. } => true,
        _ => false,
    }
}

/// True when every failure a `kusto-ingest` error carries is an injected one.
fn injected_ingest(error: &IngestError) -> bool {
    match error {
        IngestError::Kusto(e) | IngestError::Ambiguous { cause: e, .. } => injected_data(e),
        IngestError::EnqueueAmbiguous { cause, .. }
        | IngestError::ForwardOnlySource { cause, .. } => injected_ingest(cause),
        IngestError::AllAccountsFailed { attempts, .. } => {
            !attempts.is_empty() && attempts.iter().all(injected_ingest)
        }
        IngestError::Storage { status, code, .. } => {
            *status == Some(503) && code.as_deref() == Some(INJECTED_CODE)
        }
        _ => false,
    }
}

/// True when the error leaves open whether the rows were ingested.
fn outcome_unknown(error: &IngestError) -> bool {
    match error {
        IngestError::Ambiguous { .. } | IngestError::EnqueueAmbiguous { .. } => true,
        IngestError::Kusto(e) => {
            e.may_have_reached_service() && !matches!(e, kusto_data::Error::Service(_))
        }
        IngestError::AllAccountsFailed { attempts, .. } => attempts.iter().any(outcome_unknown),
        IngestError::ForwardOnlySource { cause, .. } => outcome_unknown(cause),
        IngestError::Storage { status: None, .. } => true,
        _ => false,
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    QueryCollected,
    QueryStreamed,
    Streaming,
    QueuedQueue,
    QueuedRest,
}

const OP_NAMES: [&str; 5] = [
    "query_collected",
    "query_streamed",
    "streaming_ingest",
    "queued_ingest_queue_protocol_waited",
    "queued_ingest_rest_protocol_waited",
];

/// What one task did; small and fixed-size, so that the test's own bookkeeping does not grow.
#[derive(Debug, Default)]
struct TaskReport {
    succeeded: [u64; 5],
    failed: [u64; 5],
    /// Rows acknowledged, and rows of unknown outcome: `T` (streaming) then `Q` (queued).
    acknowledged: [i64; 2],
    unknown: [i64; 2],
    unexpected: u64,
    unexpected_examples: Vec<String>,
}

impl TaskReport {
    fn unexpected(&mut self, what: String) {
        self.unexpected += 1;
        if self.unexpected_examples.len() < 5 {
            self.unexpected_examples.push(what);
        }
    }

    fn ingest_error(&mut self, op: Op, table: usize, error: &IngestError, errors: &ErrorCounts) {
        self.failed[op as usize] += 1;
        errors.add(format!(
            "{}: {}",
            OP_NAMES[op as usize],
            ingest_error_type(error)
        ));
        if !injected_ingest(error) {
            self.unexpected(format!("{op:?}: {error}"));
        }
        if outcome_unknown(error) {
            self.unknown[table] += ROWS;
        }
    }
}

struct Clients {
    engine: KustoClient,
    streaming: StreamingIngestClient,
    queued_queue: QueuedIngestClient,
    queued_rest: QueuedIngestClient,
}

fn csv(task: i64, seq: i64) -> String {
    (0..ROWS)
        .map(|i| format!("{task},{seq},row {i} of {task}/{seq}\n"))
        .collect()
}

async fn one_op(
    clients: &Clients,
    op: Op,
    task: i64,
    seq: i64,
    r: &mut TaskReport,
    e: &ErrorCounts,
) {
    let i = op as usize;
    match op {
        Op::QueryCollected | Op::QueryStreamed => {
            let rows = match op {
                Op::QueryCollected => clients
                    .engine
                    .query(DATABASE, "R")
                    .await
                    .map(|data| data.primary_result().map_or(0, |t| t.len())),
                _ => streamed_rows(&clients.engine).await,
            };
            match rows {
                Ok(n) if n == QUERY_ROWS => r.succeeded[i] += 1,
                Ok(n) => r.unexpected(format!("{op:?}: {n} rows instead of {QUERY_ROWS}")),
                Err(error) => {
                    r.failed[i] += 1;
                    e.add(format!("{}: {}", OP_NAMES[i], data_error_type(&error)));
                    if !injected_data(&error) {
                        r.unexpected(format!("{op:?}: {error}"));
                    }
                }
            }
        }
        Op::Streaming => {
            let properties = IngestionProperties::new(DATABASE, "T", DataFormat::Csv);
            let source = IngestionSource::bytes(csv(task, seq));
            match clients.streaming.ingest(source, &properties).await {
                Ok(_) => {
                    r.succeeded[i] += 1;
                    r.acknowledged[0] += ROWS;
                }
                Err(error) => r.ingest_error(op, 0, &error, e),
            }
        }
        Op::QueuedQueue | Op::QueuedRest => {
            let client = match op {
                Op::QueuedQueue => &clients.queued_queue,
                _ => &clients.queued_rest,
            };
            let properties =
                IngestionProperties::new(DATABASE, "Q", DataFormat::Csv).with_tracking();
            let source = IngestionSource::bytes(csv(task, seq));
            let operation = match client.ingest(source, &properties).await {
                Ok(operation) => operation,
                Err(error) => return r.ingest_error(op, 1, &error, e),
            };
            match operation.wait(Duration::from_secs(120)).await {
                Ok(status)
                    if status
                        .sources
                        .iter()
                        .all(|s| s.state == IngestionState::Succeeded) =>
                {
                    r.succeeded[i] += 1;
                    r.acknowledged[1] += ROWS;
                }
                Ok(status) => r.unexpected(format!("{op:?}: final status {status:?}")),
                // Submitted, but its status entry was refused or its answer lost: it must
                // arrive all the same.
                Err(IngestError::NotTracked(_)) => {
                    r.succeeded[i] += 1;
                    r.acknowledged[1] += ROWS;
                    e.add(format!("{}: NotTracked (submitted)", OP_NAMES[i]));
                }
                Err(error) => {
                    // Submitted and the status is unreadable: the outcome is unknown.
                    r.failed[i] += 1;
                    r.unknown[1] += ROWS;
                    e.add(format!(
                        "{} (wait): {}",
                        OP_NAMES[i],
                        ingest_error_type(&error)
                    ));
                    if !injected_ingest(&error) {
                        r.unexpected(format!("{op:?} (wait): {error}"));
                    }
                }
            }
        }
    }
}

async fn streamed_rows(client: &KustoClient) -> Result<usize, kusto_data::Error> {
    let mut batches = client
        .query(DATABASE, "R")
        .stream()
        .await?
        .primary_batches();
    let mut rows = 0;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        if batch.replaces_previous {
            rows = 0;
        }
        rows += batch.len();
    }
    Ok(rows)
}

/// `VmRSS` of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status (the soak test measures memory on Linux)");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line in /proc/self/status");
    kib / 1024.0
}

/// The least-squares slope of `(seconds, MiB)` samples, in MiB per minute.
fn slope_mib_per_minute(samples: &[(f64, f64)]) -> f64 {
    let n = samples.len() as f64;
    let mean_t = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let mean_m = samples.iter().map(|s| s.1).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (t, m) in samples {
        covariance += (t - mean_t) * (m - mean_m);
        variance += (t - mean_t) * (t - mean_t);
    }
    covariance / variance * 60.0
}

async fn counts(client: &KustoClient, table: &str) -> BTreeMap<i64, i64> {
    let query = format!("{table} | summarize count() by Task");
    let data = client
        .query(DATABASE, &query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    data.primary_result()
        .unwrap_or_else(|| panic!("{query}: no primary result"))
        .rows()
        .map(|row| {
            let get = |i| row.get_i64(i).ok().flatten().unwrap_or(-1);
            (get(0), get(1))
        })
        .collect()
}

#[test]
fn the_slope_is_the_least_squares_fit() {
    let flat: Vec<(f64, f64)> = (0..60).map(|s| (s as f64, 50.0)).collect();
    assert_eq!(slope_mib_per_minute(&flat), 0.0);
    let leak: Vec<(f64, f64)> = (0..60).map(|s| (s as f64, 50.0 + s as f64)).collect();
    assert!((slope_mib_per_minute(&leak) - 60.0).abs() < 1e-9);
}

/// The slope bound for samples spanning `minutes` after the warm-up: [`SLOPE_BOUND_MIB_PER_MINUTE`]
/// plus [`TRANSIENT_MIB`] spread over the span (a rise of the heap that falls back later reads
/// as a trend on a short span, not on a long one).
fn slope_bound(minutes: f64) -> f64 {
    SLOPE_BOUND_MIB_PER_MINUTE + TRANSIENT_MIB / minutes
}

/// The resident-size figures of the summary, the slope and its bound.
fn memory(samples: &[(f64, f64)], seconds: u64) -> (Value, f64, f64) {
    let warmup = (seconds as f64 / 4.0).clamp(5.0, 120.0);
    let measured: Vec<(f64, f64)> = samples.iter().copied().filter(|s| s.0 >= warmup).collect();
    assert!(
        measured.len() >= 10,
        "only {} samples after the warm-up: run at least 15 s",
        measured.len()
    );
    let slope = slope_mib_per_minute(&measured);
    let span = (measured[measured.len() - 1].0 - measured[0].0) / 60.0;
    let bound = slope_bound(span);
    // The mean of each minute (of each tenth of a shorter run): the profile.
    let window = (seconds as f64 / 10.0).clamp(1.0, 60.0);
    let mut profile: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for (t, m) in samples {
        let slot = profile.entry((t / window) as u64).or_default();
        *slot = (slot.0 + m, slot.1 + 1.0);
    }
    let profile: Vec<f64> = profile.values().map(|(sum, n)| round1(sum / n)).collect();
    let figures = json!({
        "samples": samples.len(),
        "warmup_seconds": warmup,
        "samples_after_warmup": measured.len(),
        "rss_mib": {"start": round1(samples[0].1), "after_warmup": round1(measured[0].1),
                    "end": round1(samples[samples.len() - 1].1),
                    "peak": round1(samples.iter().map(|s| s.1).fold(0.0, f64::max))},
        "rss_mib_mean_per_window": {"window_seconds": window, "means": profile},
        "slope_mib_per_minute": (slope * 1000.0).round() / 1000.0,
        "slope_bound_mib_per_minute": (bound * 100.0).round() / 100.0,
    });
    (figures, slope, bound)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_memory_stays_flat_under_a_mixed_workload_with_faults() {
    let seconds: u64 = std::env::var("KUSTO_SOAK_SECONDS")
        .ok()
        .map(|v| {
            v.parse()
                .expect("KUSTO_SOAK_SECONDS is a number of seconds")
        })
        .unwrap_or(20);
    let emulator = EmulatorProcess::start();
    let url = emulator.url.clone();

    let cs = ConnectionString::parse(&format!("{url}/{DATABASE}")).expect("the emulator's URL");
    let engine = KustoClient::builder(cs)
        .retry_policy(kusto_e2e::fast_retry())
        .build()
        .expect("a client");
    let queued = |protocol| {
        QueuedIngestClient::builder_from_kusto_client(engine.clone())
            .protocol(protocol)
            .storage_retry_policy(kusto_e2e::fast_storage_retry())
            .build()
            .expect("a queued client")
    };
    let clients = Arc::new(Clients {
        streaming: StreamingIngestClient::from_kusto_client(engine.clone()),
        queued_queue: queued(IngestProtocol::Queue),
        queued_rest: queued(IngestProtocol::Rest),
        engine: engine.clone(),
    });
    for command in [
        ".create table T (Task:long, Seq:long, Text:string)",
        ".create table Q (Task:long, Seq:long, Text:string)",
        ".create table R (N:long)",
    ] {
        engine.mgmt(DATABASE, command).await.expect(command);
    }
    let rows: String = (1..=QUERY_ROWS).map(|n| format!("{n}\n")).collect();
    let properties = IngestionProperties::new(DATABASE, "R", DataFormat::Csv);
    (clients
        .streaming
        .ingest(IngestionSource::bytes(rows), &properties)
        .await)
        .expect("the query table");
    set_faults(&url);

    let errors = Arc::new(ErrorCounts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (clients, errors, stop) = (clients.clone(), errors.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut report = TaskReport::default();
            let mut pace = tokio::time::interval(PACE);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seq = 0i64;
            while !stop.load(Ordering::Relaxed) {
                pace.tick().await;
                seq += 1;
                let op = match (task + seq) % 6 {
                    0 => Op::QueryCollected,
                    1 => Op::QueryStreamed,
                    2 | 3 => Op::Streaming,
                    4 => Op::QueuedQueue,
                    _ => Op::QueuedRest,
                };
                one_op(&clients, op, task, seq, &mut report, &errors).await;
            }
            report
        }));
    }

    // Samples of (seconds since the start, MiB), one a second.
    let mut samples: Vec<(f64, f64)> = Vec::with_capacity(seconds as usize + 2);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let at = started.elapsed();
        samples.push((at.as_secs_f64(), rss_mib()));
        if at >= Duration::from_secs(seconds) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let joined = tokio::time::timeout(Duration::from_secs(240), futures::future::join_all(tasks))
        .await
        .expect("every task ends within 240 s of the stop signal: no hang");
    let elapsed = started.elapsed().as_secs_f64();
    let faults = take_faults(&url);

    // Per task and table (`T` streamed, `Q` queued): rows acknowledged, rows of unknown outcome.
    let mut total = TaskReport::default();
    let mut expected = [BTreeMap::new(), BTreeMap::new()];
    for (task, report) in joined.into_iter().enumerate() {
        let report = report.expect("no task panicked");
        for k in 0..OP_NAMES.len() {
            total.succeeded[k] += report.succeeded[k];
            total.failed[k] += report.failed[k];
        }
        for (t, table) in expected.iter_mut().enumerate() {
            table.insert(task as i64, (report.acknowledged[t], report.unknown[t]));
        }
        total.unexpected += report.unexpected;
        total.unexpected_examples.extend(report.unexpected_examples);
    }
    // Rows of sources submitted untracked (or of unknown outcome) may land after the stop: wait
    // until every task's acknowledged rows are there, or the deadline passes (then the check
    // below says what is missing).
    let deadline = Instant::now() + Duration::from_secs(120);
    let arrived = loop {
        let arrived = [counts(&engine, "T").await, counts(&engine, "Q").await];
        let complete = (0..2).all(|t| {
            (expected[t].iter()).all(|(task, (low, _))| arrived[t].get(task).unwrap_or(&0) >= low)
        });
        if complete || Instant::now() >= deadline {
            break arrived;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut count_mismatches = Vec::new();
    let mut rows = BTreeMap::new();
    for (t, table) in ["T (streaming)", "Q (queued)"].iter().enumerate() {
        let mut sums = [0i64; 3];
        for (task, (low, maybe)) in &expected[t] {
            let got = arrived[t].get(task).copied().unwrap_or(0);
            if got < *low || got > low + maybe {
                count_mismatches.push(format!(
                    "{table}, task {task}: {got} rows; acknowledged {low}, unknown outcome {maybe}"
                ));
            }
            sums = [sums[0] + low, sums[1] + maybe, sums[2] + got];
        }
        let [acknowledged, unknown, arrived] = sums;
        rows.insert(
            *table,
            json!({"acknowledged": acknowledged,
                                   "unknown_outcome": unknown, "arrived": arrived}),
        );
    }

    let (memory, slope, bound) = memory(&samples, seconds);
    let ops: BTreeMap<&str, Value> = (OP_NAMES.iter().enumerate())
        .map(|(k, name)| {
            (
                *name,
                json!({"ok": total.succeeded[k], "failed": total.failed[k]}),
            )
        })
        .collect();
    let summary = json!({
        "seconds": elapsed.round(),
        "tasks": TASKS,
        "memory": memory,
        "ops": ops,
        "rows": rows,
        "errors_by_type": errors.snapshot(),
        "unexpected_errors": total.unexpected,
        "faults_applied": faults,
    });
    eprintln!("soak summary: {summary}");
    drop(emulator);

    assert!(
        total.unexpected == 0,
        "{} unexpected results, e.g. {:#?}",
        total.unexpected,
        total.unexpected_examples
    );
    assert!(
        count_mismatches.is_empty(),
        "rows per task outside [acknowledged, acknowledged + unknown]: {count_mismatches:#?}"
    );
    for (k, name) in OP_NAMES.iter().enumerate() {
        assert!(
            total.succeeded[k] > 0,
            "no {name} succeeded: the workload is not real"
        );
    }
    assert!(
        faults.values().sum::<u64>() > 0,
        "no fault applied: the errors part proves nothing"
    );
    assert!(
        slope <= bound,
        "the client's resident size grows by {slope:.2} MiB per minute after the warm-up \
         (bound {bound:.2}); samples: {samples:?}"
    );
}
