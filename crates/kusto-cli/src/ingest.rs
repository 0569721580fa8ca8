//! `kusto ingest`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kusto_data::{ConnectionString, DataFormat};
use kusto_ingest::{
    IngestProtocol, IngestionOperation, IngestionProperties, IngestionSource, ManagedIngestResult,
    ManagedStreamingIngestClient, QueuedIngestClient, SourceState, StreamingIngestClient,
    UploadOptions,
};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::{IngestArgs, Mode, Protocol};
use crate::error::{CliError, Exit, is_auth_ingest};
use crate::pattern::CreationTimePattern;
use crate::progress::Progress;
use crate::report::{Outcome, Record, ReportWriter, now, sent_paths};
use crate::sources::{Origin, Source, expand};

/// A source with what the run decided about it.
#[derive(Debug)]
struct Plan {
    source: Source,
    format: Result<DataFormat, String>,
    creation_time: Result<Option<OffsetDateTime>, String>,
}

impl Plan {
    fn problem(&self) -> Option<&str> {
        self.format
            .as_ref()
            .err()
            .or(self.creation_time.as_ref().err())
            .map(String::as_str)
    }
}

/// The client of the chosen mode.
#[derive(Debug, Clone)]
enum Sender {
    Queued(QueuedIngestClient),
    Streaming(StreamingIngestClient),
    Managed(ManagedStreamingIngestClient),
}

/// What sending one source gave.
struct Sent {
    record: Record,
    operation: Option<IngestionOperation>,
    auth_failure: bool,
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Queued => "queued",
        Mode::Streaming => "streaming",
        Mode::Managed => "managed",
    }
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn format_of(source: &Source, given: Option<DataFormat>) -> Result<DataFormat, String> {
    if let Some(format) = given {
        return Ok(format);
    }
    DataFormat::from_file_name(&source.key).ok_or_else(|| {
        format!(
            "cannot tell the format of {} from its name; give --format",
            source.key
        )
    })
}

fn base_properties(args: &IngestArgs) -> Result<IngestionProperties, CliError> {
    let mut properties = IngestionProperties::new(
        args.database.clone(),
        args.table.clone(),
        args.format.unwrap_or(DataFormat::Csv),
    );
    if let Some(mapping) = &args.mapping {
        properties = properties.with_mapping_reference(mapping.clone());
    }
    for tag in &args.tag {
        properties = properties.with_tag(tag.clone());
    }
    for tag in &args.ingest_by {
        properties = properties.with_ingest_by_tag(tag.clone());
    }
    for tag in &args.drop_by {
        properties = properties.with_drop_by_tag(tag.clone());
    }
    for tag in &args.ingest_if_not_exists {
        properties = properties.with_ingest_if_not_exists(tag.clone());
    }
    properties = properties.with_ignore_first_record(args.ignore_first_record);
    properties
        .validate()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(properties)
}

fn sender(args: &IngestArgs, cs: ConnectionString) -> Result<Sender, CliError> {
    let build_error = |e: kusto_ingest::Error| CliError::Usage(format!("--cluster: {e}"));
    let queued = || -> Result<QueuedIngestClient, CliError> {
        let mut upload = UploadOptions::default();
        if let Some(level) = args.compression_level {
            upload.compression_level = level;
        }
        QueuedIngestClient::builder(cs.clone())
            .protocol(match args.protocol {
                Protocol::Auto => IngestProtocol::Auto,
                Protocol::Queue => IngestProtocol::Queue,
                Protocol::Rest => IngestProtocol::Rest,
            })
            .upload_options(upload)
            .build()
            .map_err(build_error)
    };
    Ok(match args.mode {
        Mode::Queued => Sender::Queued(queued()?),
        Mode::Streaming => {
            Sender::Streaming(StreamingIngestClient::new(cs.clone()).map_err(build_error)?)
        }
        Mode::Managed => Sender::Managed(ManagedStreamingIngestClient::from_clients(
            StreamingIngestClient::new(cs.clone()).map_err(build_error)?,
            queued()?,
        )),
    })
}

fn record(plan: &Plan, mode: Mode, outcome: Outcome) -> Record {
    Record {
        path: plan.source.key.clone(),
        source_id: None,
        outcome,
        bytes: plan.source.size,
        format: plan.format.as_ref().ok().map(|f| f.wire_name().to_owned()),
        creation_time: plan
            .creation_time
            .as_ref()
            .ok()
            .copied()
            .flatten()
            .map(rfc3339),
        error: None,
        fallback: None,
        operation: None,
        mode: mode_name(mode).to_owned(),
        time: now(),
    }
}

async fn send(sender: Sender, plan: Plan, base: Arc<IngestionProperties>, mode: Mode) -> Sent {
    let mut record = record(&plan, mode, Outcome::Failed);
    if let Some(problem) = plan.problem() {
        record.error = Some(problem.to_owned());
        return Sent {
            record,
            operation: None,
            auth_failure: false,
        };
    }
    let mut properties = (*base).clone();
    if let Ok(format) = plan.format {
        properties.format = format;
    }
    if let Ok(Some(time)) = plan.creation_time {
        properties.creation_time = Some(time);
    }
    let source = match &plan.source.origin {
        Origin::File(path) => IngestionSource::file(path),
        Origin::Stdin => IngestionSource::reader(tokio::io::stdin()).with_name("stdin"),
    };
    let source_id = source.source_id();
    record.source_id = Some(source_id);
    let mut operation = None;
    let result: Result<(), kusto_ingest::Error> = match &sender {
        Sender::Queued(client) => client.ingest(source, &properties).await.map(|op| {
            record.outcome = Outcome::Submitted;
            operation = Some(op);
        }),
        Sender::Streaming(client) => client.ingest(source, &properties).await.map(|_| {
            record.outcome = Outcome::Streamed;
        }),
        Sender::Managed(client) => {
            client
                .ingest(source, &properties)
                .await
                .map(|result| match result {
                    ManagedIngestResult::Streamed(_) => record.outcome = Outcome::Streamed,
                    ManagedIngestResult::Queued(op, reason) => {
                        record.outcome = Outcome::Queued;
                        record.fallback = Some(format!("{reason:?}"));
                        operation = Some(op);
                    }
                })
        }
    };
    let mut auth_failure = false;
    match result {
        Ok(()) => {
            record.operation = operation
                .as_ref()
                .and_then(|op| serde_json::to_value(op).ok());
        }
        Err(error) => {
            auth_failure = is_auth_ingest(&error);
            record.error = Some(error.to_string());
        }
    }
    Sent {
        record,
        operation,
        auth_failure,
    }
}

/// Waits for an operation's final status and turns it into the source's last record.
async fn wait(mut record: Record, operation: IngestionOperation, timeout: Duration) -> Record {
    record.time = now();
    match operation.wait(timeout).await {
        Ok(status) => {
            let states: Vec<_> = status.sources.iter().map(|s| s.state).collect();
            record.outcome = if status.succeeded() {
                Outcome::Succeeded
            } else if states.contains(&SourceState::PartiallySucceeded) {
                Outcome::PartiallySucceeded
            } else if states.contains(&SourceState::Canceled) {
                Outcome::Canceled
            } else {
                Outcome::Failed
            };
            let details: Vec<String> = status
                .failures()
                .map(|f| {
                    [f.error_code.as_deref(), f.details.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": ")
                })
                .filter(|d| !d.is_empty())
                .collect();
            if !details.is_empty() {
                record.error = Some(details.join("; "));
            }
        }
        Err(error) => {
            record.outcome = Outcome::Pending;
            record.error = Some(error.to_string());
        }
    }
    record.time = now();
    record
}

/// Runs `kusto ingest`.
pub(crate) async fn run(args: IngestArgs) -> Result<Exit, CliError> {
    let started = Instant::now();
    let pattern = args
        .creation_time_pattern
        .as_deref()
        .map(CreationTimePattern::parse)
        .transpose()
        .map_err(|e| CliError::Usage(format!("--creation-time-pattern: {e}")))?;
    let base = base_properties(&args)?;
    let sources = expand(&args.sources)?;
    if args.format.is_none() && sources.iter().any(|s| s.origin == Origin::Stdin) {
        return Err(CliError::Usage(
            "standard input (-) needs --format".to_owned(),
        ));
    }
    let already: HashSet<String> = match &args.resume {
        Some(path) => sent_paths(path)?,
        None => HashSet::new(),
    };
    let total_found = sources.len();
    let plans: Vec<Plan> = sources
        .into_iter()
        .filter(|s| !already.contains(&s.key))
        .map(|source| Plan {
            format: format_of(&source, args.format),
            creation_time: match &pattern {
                Some(pattern) => pattern.creation_time(&source.key),
                None => Ok(None),
            },
            source,
        })
        .collect();
    let skipped = total_found - plans.len();

    if args.dry_run {
        return Ok(dry_run(&args, &plans, skipped));
    }

    let cs = crate::connect::connection_string(&args.cluster)?;
    let sender = sender(&args, cs.clone())?;
    let report = match args.report.as_ref().or(args.resume.as_ref()) {
        Some(path) => Some(ReportWriter::open(path)?),
        None => None,
    };
    eprintln!(
        "kusto: {} mode, {} source(s) into {}.{} on {}{}",
        mode_name(args.mode),
        plans.len(),
        args.database,
        args.table,
        cs,
        if skipped > 0 {
            format!(" ({skipped} skipped: already in the report)")
        } else {
            String::new()
        }
    );

    let total = plans.len() as u64;
    let total_bytes: u64 = plans.iter().filter_map(|p| p.source.size).sum();
    let progress = Progress::start(
        args.progress,
        total,
        total_bytes,
        Duration::from_secs(args.progress_interval),
    );

    let interrupt = CancellationToken::new();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let interrupt = interrupt.clone();
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                interrupt.cancel();
                eprintln!(
                    "\nkusto: interrupted: no new sources are started; running ones finish (Ctrl-C again to quit now)"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(Exit::Interrupted as i32);
                }
            }
        });
    }

    let base = Arc::new(base);
    let mode = args.mode;
    let started_count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut submissions = {
        let stop = Arc::clone(&stop);
        let started_count = Arc::clone(&started_count);
        let sender = sender.clone();
        futures::stream::iter(plans)
            .take_while(move |_| futures::future::ready(!stop.load(Ordering::SeqCst)))
            .map(move |plan| {
                started_count.fetch_add(1, Ordering::Relaxed);
                send(sender.clone(), plan, Arc::clone(&base), mode)
            })
            .buffer_unordered(usize::from(args.parallelism))
            .boxed()
    };

    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut failures = 0_u64;
    let mut auth_error: Option<String> = None;
    let mut report_error: Option<CliError> = None;
    let mut waiters: JoinSet<Record> = JoinSet::new();
    let mut submissions_done = false;
    let mut waits_aborted = false;
    let mut pending_after_interrupt = 0_u64;

    let finish_record =
        |record: &Record, counts: &mut BTreeMap<&'static str, u64>, failures: &mut u64| {
            *counts.entry(outcome_name(record.outcome)).or_default() += 1;
            let failed = record.outcome.is_failure();
            if failed {
                *failures += 1;
                progress.note(&format!(
                    "{} {}: {}",
                    outcome_name(record.outcome),
                    record.path,
                    record.error.as_deref().unwrap_or("")
                ));
            }
            progress.source_done(record.bytes.unwrap_or(0), failed);
        };

    loop {
        tokio::select! {
            next = submissions.next(), if !submissions_done => {
                if let Some(sent) = next {
                    if let Some(report) = &report
                        && let Err(e) = report.write(&sent.record)
                    {
                        stop.store(true, Ordering::SeqCst);
                        report_error.get_or_insert(e);
                    }
                    if sent.auth_failure && auth_error.is_none() {
                        stop.store(true, Ordering::SeqCst);
                        auth_error = sent.record.error.clone();
                    }
                    match sent.operation {
                        Some(operation) if args.wait && !interrupt.is_cancelled() => {
                            waiters.spawn(wait(sent.record, operation, args.timeout));
                        }
                        _ => finish_record(&sent.record, &mut counts, &mut failures),
                    }
                } else {
                    submissions_done = true;
                }
            }
            Some(joined) = waiters.join_next(), if !waiters.is_empty() => {
                match joined {
                    Ok(record) => {
                        if let Some(report) = &report
                            && let Err(e) = report.write(&record)
                        {
                            report_error.get_or_insert(e);
                        }
                        finish_record(&record, &mut counts, &mut failures);
                    }
                    Err(_) => pending_after_interrupt += 1,
                }
            }
            _ = interrupt.cancelled(), if !waits_aborted => {
                waits_aborted = true;
                waiters.abort_all();
            }
            else => break,
        }
        if submissions_done && waiters.is_empty() {
            break;
        }
    }
    progress.finish();

    let not_started = total - started_count.load(Ordering::Relaxed);
    let mut parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    if pending_after_interrupt > 0 {
        parts.push(format!(
            "{pending_after_interrupt} submitted (wait interrupted)"
        ));
    }
    if not_started > 0 {
        parts.push(format!("{not_started} not started"));
    }
    if skipped > 0 {
        parts.push(format!("{skipped} skipped (already in the report)"));
    }
    eprintln!(
        "kusto: {total_found} sources: {} ({} in {:.1}s)",
        if parts.is_empty() {
            "nothing to do".to_owned()
        } else {
            parts.join(", ")
        },
        indicatif::HumanBytes(total_bytes),
        started.elapsed().as_secs_f64()
    );
    if let Some(error) = report_error {
        return Err(error);
    }
    if let Some(error) = auth_error {
        return Err(CliError::Auth(error));
    }
    if interrupt.is_cancelled() && (not_started > 0 || pending_after_interrupt > 0) {
        return Ok(Exit::Interrupted);
    }
    Ok(if failures > 0 {
        Exit::SomeFailed
    } else {
        Exit::Success
    })
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Submitted => "submitted",
        Outcome::Streamed => "streamed",
        Outcome::Queued => "queued (managed fallback)",
        Outcome::Succeeded => "succeeded",
        Outcome::PartiallySucceeded => "partially succeeded",
        Outcome::Failed => "failed",
        Outcome::Pending => "pending (wait timed out)",
        Outcome::Canceled => "canceled",
    }
}

/// `--dry-run`: one tab-separated line per source on stdout, nothing sent.
fn dry_run(args: &IngestArgs, plans: &[Plan], skipped: usize) -> Exit {
    println!(
        "# dry run: {} source(s) into {}.{} ({} mode); nothing is sent",
        plans.len(),
        args.database,
        args.table,
        mode_name(args.mode)
    );
    let mut problems = 0;
    for plan in plans {
        match plan.problem() {
            Some(problem) => {
                problems += 1;
                println!("fail\t{}\t{problem}", plan.source.key);
            }
            None => println!(
                "ingest\t{}\t{}\t{}\t{}",
                plan.source.key,
                plan.format.as_ref().map(|f| f.wire_name()).unwrap_or("?"),
                plan.source
                    .size
                    .map_or_else(|| "?".to_owned(), |s| s.to_string()),
                plan.creation_time
                    .as_ref()
                    .ok()
                    .copied()
                    .flatten()
                    .map_or_else(|| "-".to_owned(), rfc3339)
            ),
        }
    }
    if skipped > 0 {
        println!("# {skipped} source(s) skipped: already in the report");
    }
    if problems > 0 {
        Exit::SomeFailed
    } else {
        Exit::Success
    }
}
