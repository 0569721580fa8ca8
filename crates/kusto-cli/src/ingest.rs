//! `kusto ingest`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use kusto_data::{Compression, ConnectionString, DataFormat};
use kusto_ingest::{
    IngestProtocol, IngestionOperation, IngestionProperties, IngestionSource, IngestionState,
    ManagedIngestResult, ManagedStreamingIngestClient, ProgressTracker, QueuedIngestClient,
    StreamingIngestClient, UploadOptions,
};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::blobs::{Container, redact};
use crate::cli::{IngestArgs, Mode, Protocol};
use crate::error::{CliError, Exit, is_auth_ingest};
use crate::pattern::CreationTimePattern;
use crate::progress::{ByteMeter, Progress, SourceAdder};
use crate::report::{Outcome, Record, ReportWriter, Resumed, now, read_report};
use crate::sources::{Origin, Source, expand};
use crate::unknown::{
    ADVICE, is_unknown, record_resolutions, resolve_report, tracked_operation, unknown_text,
};

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
    if args.wait {
        // --wait reads each source's status: the service must report it.
        properties = properties.with_tracking();
    }
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
        if let Some(bytes) = args.block_size {
            upload.block_size = bytes;
        }
        QueuedIngestClient::builder(cs.clone())
            .protocol(match args.protocol {
                Protocol::Auto => IngestProtocol::Auto,
                Protocol::Queue => IngestProtocol::Queue,
                Protocol::Rest => IngestProtocol::Rest,
            })
            .upload_options(upload)
            .ambiguity_resolution(args.resolve_within)
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

/// Sends one source; its bytes count in `meter` as its upload goes, and whole once sent.
async fn send(
    sender: Sender,
    plan: Plan,
    base: Arc<IngestionProperties>,
    mode: Mode,
    meter: ByteMeter,
) -> Sent {
    let sending = meter.start();
    let sent = send_one(sender, plan, base, mode, sending.tracker()).await;
    meter.sent(sending, sent.record.bytes.unwrap_or(0));
    sent
}

async fn send_one(
    sender: Sender,
    plan: Plan,
    base: Arc<IngestionProperties>,
    mode: Mode,
    progress: &ProgressTracker,
) -> Sent {
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
        Origin::Blob(url) => match IngestionSource::blob(url.expose()) {
            // The listed length is the raw size only when the blob is not compressed.
            Ok(source) => match plan.source.size {
                Some(size) if source.compression() == Compression::None => {
                    source.with_raw_size(size)
                }
                _ => source,
            },
            Err(error) => {
                record.error = Some(redact(&error.to_string()));
                return Sent {
                    record,
                    operation: None,
                    auth_failure: false,
                };
            }
        },
    };
    let source_id = source.source_id();
    record.source_id = Some(source_id);
    let mut operation = None;
    let result: Result<(), kusto_ingest::Error> = match &sender {
        Sender::Queued(client) => client
            .ingest_with_progress(source, &properties, progress)
            .await
            .map(|op| {
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
            record.error = Some(redact(&error.to_string()));
            if is_unknown(&error) {
                // It may be ingested: not a failure, and not to be sent again blindly.
                record.outcome = Outcome::Unknown;
                record.error = record.error.take().map(|text| unknown_text(&error, text));
                if let kusto_ingest::Error::EnqueueAmbiguous { source_id, .. } = &error
                    && properties.is_tracked()
                {
                    record.operation = Some(tracked_operation(
                        &properties.database,
                        &properties.table,
                        *source_id,
                    ));
                }
            }
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
            record.outcome = if status.skipped().next().is_some() {
                Outcome::Skipped
            } else {
                Outcome::Succeeded
            };
            let details: Vec<String> = status.skipped().filter_map(|s| s.details.clone()).collect();
            if !details.is_empty() {
                record.error = Some(details.join("; "));
            }
        }
        Err(kusto_ingest::Error::IngestionFailed(status)) => {
            let states: Vec<_> = status.failures().map(|s| s.state).collect();
            record.outcome = if states.contains(&IngestionState::Failed) {
                Outcome::Failed
            } else if states.contains(&IngestionState::PartiallySucceeded) {
                Outcome::PartiallySucceeded
            } else {
                Outcome::Canceled
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
        Err(error @ kusto_ingest::Error::NotTracked(_)) => {
            record.outcome = Outcome::Untracked;
            record.error = Some(error.to_string());
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
    let containers = containers(&args)?;
    let container_count = containers.len();
    let resumed = match &args.resume {
        Some(path) => read_report(path)?,
        None => Resumed::default(),
    };
    // Each container's listing starts now: a container that cannot be listed or has no
    // matching blob stops the run before anything is sent.
    let mut listings = Vec::with_capacity(containers.len());
    for container in containers {
        listings.push(start_listing(container).await?);
    }
    // The report's unknown sources are resolved (their status read once, when it can be)
    // before anything is sent; only those resolved as not ingested, or still unknown with
    // --resend-unknown, are sent again.
    let (already, resolved, cs) = resolve_report(&args, resumed).await?;
    let already: Arc<HashSet<String>> = Arc::new(already);
    let pattern = Arc::new(pattern);
    let local_found = sources.len();
    let local_plans: Vec<Plan> = sources
        .into_iter()
        .filter(|s| !already.contains(&s.key))
        .map(|source| plan(source, args.format, (*pattern).as_ref()))
        .collect();
    let local_skipped = local_found - local_plans.len();
    let local_count = local_plans.len() as u64;
    let local_bytes: u64 = local_plans.iter().filter_map(|p| p.source.size).sum();
    let blob_found = Arc::new(AtomicU64::new(0));
    let blob_skipped = Arc::new(AtomicU64::new(0));
    let listing_done = Arc::new(AtomicBool::new(false));
    let jobs = |adder: Option<SourceAdder>| -> BoxStream<'static, Result<Plan, CliError>> {
        let format = args.format;
        let pattern = Arc::clone(&pattern);
        let already = Arc::clone(&already);
        let blob_found = Arc::clone(&blob_found);
        let blob_skipped = Arc::clone(&blob_skipped);
        let listing_done = Arc::clone(&listing_done);
        let blobs = futures::stream::iter(listings)
            .flatten()
            .filter_map(move |item| {
                let job = match item {
                    Ok(source) if already.contains(&source.key) => {
                        blob_skipped.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Ok(source) => {
                        blob_found.fetch_add(1, Ordering::Relaxed);
                        if let Some(adder) = &adder {
                            adder.add(source.size);
                        }
                        Some(Ok(plan(source, format, (*pattern).as_ref())))
                    }
                    Err(error) => Some(Err(error)),
                };
                futures::future::ready(job)
            })
            .chain(
                futures::stream::once(async move {
                    listing_done.store(true, Ordering::SeqCst);
                    None
                })
                .filter_map(futures::future::ready),
            );
        futures::stream::iter(local_plans.into_iter().map(Ok))
            .chain(blobs)
            .boxed()
    };
    let skipped =
        |blob_skipped: &AtomicU64| local_skipped + blob_skipped.load(Ordering::Relaxed) as usize;

    if args.dry_run {
        let exit = dry_run(&args, jobs(None)).await;
        if let Ok(Exit::Success | Exit::SomeFailed) = exit {
            let skipped = skipped(&blob_skipped);
            if skipped > 0 {
                println!("# {skipped} source(s) skipped: already in the report");
            }
        }
        return exit;
    }

    let cs = match cs {
        Some(cs) => cs,
        None => crate::connect::connection_string(&args.cluster)?,
    };
    let sender = sender(&args, cs.clone())?;
    let report = match args.report.as_ref().or(args.resume.as_ref()) {
        Some(path) => Some(ReportWriter::open(path)?),
        None => None,
    };
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    // The resolved sources are skipped below; the exit code counts them.
    let (mut unknowns, mut failures) = record_resolutions(&resolved, report.as_ref())?;
    eprintln!(
        "kusto: {} mode, {} source(s){} into {}.{} on {}{}",
        mode_name(args.mode),
        local_count,
        if container_count > 0 {
            format!(" and the blobs of {container_count} container(s)")
        } else {
            String::new()
        },
        args.database,
        args.table,
        cs,
        if local_skipped > 0 {
            format!(" ({local_skipped} skipped: already in the report)")
        } else {
            String::new()
        }
    );

    let progress = Progress::start(
        args.progress,
        local_count,
        local_bytes,
        Duration::from_secs(args.progress_interval),
    );
    let jobs = jobs(Some(progress.adder()));
    let meter = progress.meter();

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
        jobs.take_while(move |_| futures::future::ready(!stop.load(Ordering::SeqCst)))
            .map(move |job| -> BoxFuture<'static, Result<Sent, CliError>> {
                match job {
                    Ok(plan) => {
                        started_count.fetch_add(1, Ordering::Relaxed);
                        send(sender.clone(), plan, Arc::clone(&base), mode, meter.clone())
                            .map(Ok)
                            .boxed()
                    }
                    Err(error) => futures::future::ready(Err(error)).boxed(),
                }
            })
            .buffer_unordered(usize::from(args.parallelism))
            .boxed()
    };

    let mut auth_error: Option<String> = None;
    let mut report_error: Option<CliError> = None;
    let mut listing_error: Option<CliError> = None;
    let mut waiters: JoinSet<Record> = JoinSet::new();
    let mut submissions_done = false;
    let mut waits_aborted = false;
    let mut pending_after_interrupt = 0_u64;

    let finish_record = |record: &Record,
                         counts: &mut BTreeMap<&'static str, u64>,
                         failures: &mut u64,
                         unknowns: &mut u64| {
        *counts.entry(outcome_name(record.outcome)).or_default() += 1;
        let failed = record.outcome.is_failure();
        let unknown = record.outcome == Outcome::Unknown;
        if unknown {
            *unknowns = unknowns.saturating_add(1);
        }
        if failed || unknown {
            *failures = failures.saturating_add(u64::from(failed));
            progress.note(&format!(
                "{} {}: {}",
                outcome_name(record.outcome),
                record.path,
                record.error.as_deref().unwrap_or("")
            ));
        }
        progress.source_done(failed);
    };

    loop {
        tokio::select! {
            next = submissions.next(), if !submissions_done => {
                if let Some(Err(error)) = next {
                    // A later page of a container listing failed: nothing more is started.
                    stop.store(true, Ordering::SeqCst);
                    listing_error.get_or_insert(error);
                } else if let Some(Ok(sent)) = next {
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
                        _ => finish_record(&sent.record, &mut counts, &mut failures, &mut unknowns),
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
                        finish_record(&record, &mut counts, &mut failures, &mut unknowns);
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
    let progress_bytes = progress.total_bytes();
    progress.finish();

    let total = local_count + blob_found.load(Ordering::Relaxed);
    let skipped = skipped(&blob_skipped);
    let total_found = total as usize + skipped;
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
    if container_count > 0 && !listing_done.load(Ordering::SeqCst) {
        parts.push("blob listing stopped before its end".to_owned());
    }
    eprintln!(
        "kusto: {total_found} sources: {} ({} in {:.1}s)",
        if parts.is_empty() {
            "nothing to do".to_owned()
        } else {
            parts.join(", ")
        },
        indicatif::HumanBytes(progress_bytes),
        started.elapsed().as_secs_f64()
    );
    if let Some(error) = report_error {
        return Err(error);
    }
    if let Some(error) = auth_error {
        return Err(CliError::Auth(error));
    }
    if let Some(error) = listing_error {
        return Err(error);
    }
    if interrupt.is_cancelled() && (not_started > 0 || pending_after_interrupt > 0) {
        return Ok(Exit::Interrupted);
    }
    if unknowns > 0 {
        eprintln!(
            "kusto: {unknowns} source(s) may or may not have been ingested (outcome unknown, see \
             the report): {ADVICE}"
        );
    }
    // Unknown wins over failed: a resumed run retries failed sources by itself, but settles
    // an unknown one only if its status can be read.
    Ok(if unknowns > 0 {
        Exit::Unknown
    } else if failures > 0 {
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
        Outcome::Skipped => "skipped by the service",
        Outcome::Untracked => "submitted, status unknown",
        Outcome::Unknown => "unknown (may or may not be ingested)",
    }
}

/// `--dry-run`: one tab-separated line per source on stdout, nothing sent.
async fn dry_run(
    args: &IngestArgs,
    mut jobs: BoxStream<'static, Result<Plan, CliError>>,
) -> Result<Exit, CliError> {
    println!(
        "# dry run into {}.{} ({} mode); nothing is sent",
        args.database,
        args.table,
        mode_name(args.mode)
    );
    let mut problems = 0;
    while let Some(job) = jobs.next().await {
        let plan = job?;
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
    Ok(if problems > 0 {
        Exit::SomeFailed
    } else {
        Exit::Success
    })
}

/// The blob containers among the sources (each distinct URL once).
fn containers(args: &IngestArgs) -> Result<Vec<Container>, CliError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for argument in args.sources.iter().filter(|a| crate::blobs::is_url(a)) {
        if seen.insert(argument.as_str()) {
            out.push(Container::parse(
                argument,
                args.blob_prefix.as_deref(),
                args.blob_pattern.as_ref(),
            )?);
        }
    }
    if out.is_empty() && (args.blob_prefix.is_some() || args.blob_pattern.is_some()) {
        return Err(CliError::Usage(
            "--blob-prefix and --blob-pattern apply to blob container sources (URLs); none is given"
                .to_owned(),
        ));
    }
    Ok(out)
}

/// Starts listing a container and waits for its first matching blob: a container that cannot
/// be listed, or has no matching blob, is an error before anything is sent.
async fn start_listing(
    container: Container,
) -> Result<futures::stream::Peekable<BoxStream<'static, Result<Source, CliError>>>, CliError> {
    let shown = container.shown();
    let mut listing = container.list()?.peekable();
    match std::pin::Pin::new(&mut listing).peek().await {
        None => Err(CliError::Usage(format!(
            "the blob container {shown} has no blob to ingest"
        ))),
        Some(Err(_)) => match listing.next().await {
            Some(Err(error)) => Err(error),
            _ => Err(CliError::Other(format!("listing {shown} failed"))),
        },
        Some(Ok(_)) => Ok(listing),
    }
}

/// A source with the format and creation time decided.
fn plan(source: Source, format: Option<DataFormat>, pattern: Option<&CreationTimePattern>) -> Plan {
    Plan {
        format: format_of(&source, format),
        creation_time: match pattern {
            Some(pattern) => pattern.creation_time(&source.key),
            None => Ok(None),
        },
        source,
    }
}
