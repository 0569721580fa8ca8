//! The worker of the data-management service: polls the ready queues, batches, ingests one
//! source at a time into the store and reports the outcome.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;
use uuid::Uuid;

use super::message::{
    IngestionSpec, MessageError, QueuedMessage, ReportLevel, ReportMethod, StatusTableRef,
    parse_queue_message,
};
use super::report::{
    FailureStatus, SourceFailure, SourceResult, failure_message, source_path, status_entity,
    success_message,
};
use super::{BlobState, DataManagement};
use crate::azurite::storage::{QueueMessage, StorageErrorKind, without_sas};
use crate::ingest::{self, DataFormat, IngestRequest};
use crate::mapping::{MappingKind, parse_mapping};
use crate::store::{AppendOutcome, ExtentOptions, FailureKind, IngestionFailure};
use crate::time;

/// A message that came back this many times is not tried again.
const MAX_DEQUEUE_COUNT: u32 = 5;
/// Sources ingested at the same time.
const CONCURRENT_SOURCES: usize = 4;

/// Where a source came from, and so where its outcome goes.
// One value per source being ingested: the size difference of the variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Origin {
    /// A queue message (deleted once the outcome is reported).
    Queue {
        queue: Url,
        message: QueueMessage,
        report_level: ReportLevel,
        report_method: ReportMethod,
        status_table: Option<StatusTableRef>,
    },
    /// A blob of a REST submission.
    Rest {
        operation_id: Option<String>,
        index: usize,
    },
}

/// One source waiting to be ingested.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) spec: IngestionSpec,
    pub(crate) origin: Origin,
}

impl Job {
    fn from_queue(parsed: QueuedMessage, queue: &Url, message: QueueMessage) -> Job {
        Job {
            spec: parsed.spec,
            origin: Origin::Queue {
                queue: queue.clone(),
                message,
                report_level: parsed.report_level,
                report_method: parsed.report_method,
                status_table: parsed.status_table,
            },
        }
    }
}

/// Starts the pollers (one per ready queue) and the batcher.
pub(crate) fn spawn(
    dm: &Arc<DataManagement>,
    receiver: mpsc::UnboundedReceiver<Job>,
    signal: watch::Receiver<bool>,
) {
    let mut tasks = dm
        .tasks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for queue in &dm.ready_queues {
        tasks.spawn(poll(Arc::clone(dm), queue.clone(), signal.clone()));
    }
    tasks.spawn(batcher(Arc::clone(dm), receiver, signal));
}

/// Waits for `duration` or the shutdown signal; `true` when shutting down.
async fn pause(duration: Duration, signal: &mut watch::Receiver<bool>) -> bool {
    if *signal.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(duration) => *signal.borrow(),
        _ = signal.changed() => true,
    }
}

async fn poll(dm: Arc<DataManagement>, queue: Url, mut signal: watch::Receiver<bool>) {
    loop {
        if *signal.borrow() {
            return;
        }
        let received = tokio::select! {
            r = dm.storage.receive_messages(&queue, 32, dm.options.visibility_timeout) => r,
            _ = signal.changed() => return,
        };
        match received {
            Ok(messages) if !messages.is_empty() => {
                for message in messages {
                    accept(&dm, &queue, message).await;
                }
            }
            Ok(_) => {
                if pause(dm.options.poll_interval, &mut signal).await {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "polling a ready queue failed");
                if pause(Duration::from_secs(1), &mut signal).await {
                    return;
                }
            }
        }
    }
}

/// Reads a received message and hands it to the batcher, or reports why it cannot be ingested.
async fn accept(dm: &Arc<DataManagement>, queue: &Url, message: QueueMessage) {
    let parsed = parse_queue_message(&message.text).and_then(|m| {
        if message.dequeue_count > MAX_DEQUEUE_COUNT {
            Err(MessageError {
                code: "General_RetryAttemptsExceeded",
                details: format!(
                    "The message was dequeued {} times without completing",
                    message.dequeue_count
                ),
                partial: Some(Box::new(m)),
            })
        } else {
            Ok(m)
        }
    });
    match parsed {
        Ok(parsed) => {
            if !dm.enqueue(Job::from_queue(parsed, queue, message)) {
                // Shutting down: the message stays in the queue and becomes visible again.
                tracing::debug!("a message was not ingested: shutting down");
            }
        }
        Err(e) => {
            let status = if e.code == "General_RetryAttemptsExceeded" {
                FailureStatus::Exhausted
            } else {
                FailureStatus::Permanent
            };
            let failure = SourceFailure {
                code: e.code,
                details: e.details,
                status,
            };
            match e.partial {
                Some(partial) => {
                    let job = Job::from_queue(*partial, queue, message);
                    finish(dm, &job, SourceResult::Failed(failure)).await;
                }
                None => {
                    dm.store.record_ingestion_failure(IngestionFailure {
                        operation_id: Uuid::new_v4(),
                        database: String::new(),
                        table: String::new(),
                        failed_on: time::now_ticks(),
                        ingestion_source_path: format!("queue message {}", message.id),
                        details: failure.details,
                        failure_kind: FailureKind::Permanent,
                        root_activity_id: Uuid::new_v4(),
                        operation_kind: "DataIngestPull".to_owned(),
                        error_code: failure.code.to_owned(),
                        should_retry: false,
                        ingestion_properties: String::new(),
                    });
                    delete_message(dm, queue, &message).await;
                }
            }
        }
    }
}

async fn batcher(
    dm: Arc<DataManagement>,
    mut receiver: mpsc::UnboundedReceiver<Job>,
    mut signal: watch::Receiver<bool>,
) {
    let mut pending: HashMap<(String, String), (Instant, Vec<Job>)> = HashMap::new();
    let mut running = JoinSet::new();
    let permits = Arc::new(Semaphore::new(CONCURRENT_SOURCES));
    let run = |running: &mut JoinSet<()>, jobs: Vec<Job>| {
        let dm = Arc::clone(&dm);
        let permits = Arc::clone(&permits);
        running.spawn(async move {
            for job in jobs {
                let Ok(_permit) = permits.acquire().await else {
                    return;
                };
                let result = ingest_source(&dm, &job).await;
                finish(&dm, &job, result).await;
                dm.source_done();
            }
        });
    };
    loop {
        let next = pending.values().map(|(deadline, _)| *deadline).min();
        tokio::select! {
            _ = signal.changed() => break,
            job = receiver.recv() => match job {
                None => break,
                Some(job) if job.spec.flush_immediately => run(&mut running, vec![job]),
                Some(job) => {
                    let key = (job.spec.database.to_lowercase(), job.spec.table.clone());
                    pending
                        .entry(key)
                        .or_insert_with(|| (batch_deadline(dm.options.batching_window), Vec::new()))
                        .1
                        .push(job);
                }
            },
            _ = async {
                match next {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            } => {
                let now = Instant::now();
                let due: Vec<_> = pending
                    .iter()
                    .filter(|(_, (deadline, _))| *deadline <= now)
                    .map(|(key, _)| key.clone())
                    .collect();
                for key in due {
                    if let Some((_, jobs)) = pending.remove(&key) {
                        run(&mut running, jobs);
                    }
                }
            }
        }
        while running.try_join_next().is_some() {}
    }
    // Sources being ingested finish; batched ones not started stay in their queues.
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        running.abort_all();
    }
}

fn set_rest_state(
    dm: &DataManagement,
    job: &Job,
    status: &'static str,
    failure: Option<SourceFailure>,
) {
    let Origin::Rest {
        operation_id: Some(id),
        index,
    } = &job.origin
    else {
        return;
    };
    let now = time::now_ticks();
    let mut operations = dm.operations();
    if let Some(operation) = operations.get_mut(id) {
        operation.last_updated = now;
        if let Some(blob) = operation.blobs.get_mut(*index) {
            if blob.status == "Queued" {
                blob.started_at = now;
            }
            blob.status = status;
            blob.last_update = now;
            blob.failure = failure;
        }
    }
}

/// Parses a mapping kind name as sent in `ingestionMappingType`.
fn mapping_kind(name: &str) -> Option<MappingKind> {
    MappingKind::parse(name)
}

/// Downloads, decompresses, parses and appends one source.
async fn ingest_source(dm: &DataManagement, job: &Job) -> SourceResult {
    set_rest_state(dm, job, "InProgress", None);
    let spec = &job.spec;
    let fail = |code: &'static str, details: String| {
        SourceResult::Failed(SourceFailure::permanent(code, details))
    };
    if matches!(job.origin, Origin::Queue { .. })
        && dm.options.require_authorization_context
        && spec.authorization_context.as_deref() != Some(dm.authorization_context())
    {
        return fail(
            "BadRequest_InvalidKustoIdentityToken",
            "The message's authorizationContext is missing or is not the token of '.get kusto identity token'".to_owned(),
        );
    }
    let database = if dm.auto_create_databases {
        dm.store.ensure_database(&spec.database).ok()
    } else {
        dm.store.database_name(&spec.database)
    };
    let Some(database) = database else {
        return fail(
            "BadRequest_DatabaseNotExist",
            format!("Database '{}' was not found.", spec.database),
        );
    };
    let Ok(_columns) = dm.store.table_schema(&database, &spec.table) else {
        return fail(
            "BadRequest_TableNotExist",
            format!(
                "Table '{}' was not found in database '{database}'.",
                spec.table
            ),
        );
    };
    let Some(format) = DataFormat::parse(&spec.format) else {
        return fail(
            "BadRequest_FormatNotSupported",
            format!("The format '{}' is not a known data format", spec.format),
        );
    };
    let kind = match spec.mapping_kind.as_deref() {
        None => format.mapping_kind(),
        Some(name) => match mapping_kind(name) {
            Some(kind) if kind == format.mapping_kind() => kind,
            Some(kind) => {
                return fail(
                    "BadRequest_InconsistentMapping",
                    format!(
                        "The mapping kind '{}' does not fit the format '{}' (expected '{}')",
                        kind.name(),
                        spec.format,
                        format.mapping_kind().name()
                    ),
                );
            }
            None => {
                return fail(
                    "BadRequest_InvalidMapping",
                    format!("'{name}' is not a mapping kind"),
                );
            }
        },
    };
    let mapping = match (&spec.mapping, &spec.mapping_reference) {
        (Some(text), _) => match parse_mapping(text, kind) {
            Ok(elements) => Some(elements),
            Err(e) => {
                return fail(
                    "BadRequest_InvalidMapping",
                    format!("The mapping is invalid: {e}"),
                );
            }
        },
        (None, Some(name)) => match dm
            .store
            .find_mapping(&database, &spec.table, name, Some(kind))
        {
            Ok(Some(mapping)) => Some(mapping.elements),
            _ => {
                return fail(
                    "BadRequest_MappingReferenceWasNotFound",
                    format!(
                        "Mapping reference '{name}' of kind '{}' in table '{}' was not found.",
                        kind.name(),
                        spec.table
                    ),
                );
            }
        },
        (None, None) => None,
    };
    let url = match Url::parse(spec.blob_url.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => dm.direct(&url),
        _ => {
            return fail(
                "BadRequest_InvalidBlobUri",
                format!("'{}' is not a valid blob URL", source_path(spec)),
            );
        }
    };
    let data = match download(dm, &url).await {
        Ok(data) => data,
        Err(failure) => return SourceResult::Failed(failure),
    };
    if data.is_empty() {
        return fail(
            "BadRequest_EmptyBlob",
            format!("The blob '{}' is empty", without_sas(&url)),
        );
    }
    let limit = if spec.ignore_size_limit {
        usize::MAX / 2
    } else {
        dm.options.max_source_bytes
    };
    let data = match ingest::decompress_archive(&data, limit) {
        Ok(data) => data,
        Err(f) => return fail(f.code, f.details),
    };
    let shown = source_path(spec);
    let request = IngestRequest {
        database: &database,
        table: &spec.table,
        format,
        data: &data,
        mapping: mapping.as_deref(),
        ignore_first_record: spec.ignore_first_record,
        source: &shown,
    };
    let options = ExtentOptions {
        tags: spec.tags.clone(),
        created_on: spec.creation_time,
        ingest_if_not_exists: spec.ingest_if_not_exists.clone(),
    };
    let result = match ingest::ingest_extent(&dm.store, &request, &options) {
        Ok((_, AppendOutcome::Skipped { tag })) => SourceResult::Skipped {
            details: format!(
                "Nothing was ingested: an extent with the tag '{tag}' already exists (ingestIfNotExists)"
            ),
        },
        Ok((_, AppendOutcome::Appended { rows, .. })) => SourceResult::Succeeded { rows },
        Err(f) => SourceResult::Failed(SourceFailure {
            code: f.code,
            details: f.details,
            status: if f.permanent {
                FailureStatus::Permanent
            } else {
                FailureStatus::Transient
            },
        }),
    };
    if !spec.retain_blob
        && !matches!(result, SourceResult::Failed(_))
        && let Err(e) = dm.storage.delete_blob(&url).await
    {
        tracing::warn!(error = %e, "deleting an ingested blob failed");
    }
    result
}

/// Downloads a blob, retrying transient failures.
async fn download(dm: &DataManagement, url: &Url) -> Result<bytes::Bytes, SourceFailure> {
    let attempts = dm.options.download_attempts.max(1);
    let mut delay = Duration::from_millis(200);
    let mut last = String::new();
    for attempt in 1..=attempts {
        match dm.storage.download_blob(url).await {
            Ok(data) => return Ok(data),
            Err(e) => {
                let permanent = match e.kind {
                    StorageErrorKind::NotFound => Some("Download_SourceNotFound"),
                    StorageErrorKind::Forbidden => Some("Download_Forbidden"),
                    StorageErrorKind::BadRequest | StorageErrorKind::Conflict => {
                        Some("Download_BadRequest")
                    }
                    StorageErrorKind::Transient | StorageErrorKind::Network => None,
                };
                if let Some(code) = permanent {
                    return Err(SourceFailure::permanent(
                        code,
                        format!("Downloading the blob failed: {e}"),
                    ));
                }
                last = e.to_string();
                if attempt < attempts {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }
    Err(SourceFailure {
        code: "General_RetryAttemptsExceeded",
        details: format!(
            "Downloading the blob failed {attempts} times with transient errors; the last: {last}"
        ),
        status: FailureStatus::Exhausted,
    })
}

/// Records and reports the outcome of a source, then removes its message from the queue.
async fn finish(dm: &DataManagement, job: &Job, result: SourceResult) {
    let spec = &job.spec;
    let operation_id = Uuid::new_v4();
    let activity_id = Uuid::new_v4();
    if let Some(failure) = result.failure() {
        let transient = failure.status != FailureStatus::Permanent;
        dm.store.record_ingestion_failure(IngestionFailure {
            operation_id,
            database: spec.database.clone(),
            table: spec.table.clone(),
            failed_on: time::now_ticks(),
            ingestion_source_path: source_path(spec),
            details: failure.details.clone(),
            failure_kind: if transient {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            },
            root_activity_id: activity_id,
            operation_kind: "DataIngestPull".to_owned(),
            error_code: failure.code.to_owned(),
            should_retry: transient,
            ingestion_properties: spec.properties_text.clone(),
        });
    }
    match &job.origin {
        Origin::Rest { .. } => {
            // Per-blob statuses of the REST protocol know no partial success: rows were
            // ingested, so it counts as Succeeded (the skipped records are in
            // `.show ingestion failures`).
            match &result {
                SourceResult::Failed(failure) => {
                    set_rest_state(dm, job, "Failed", Some(failure.clone()));
                }
                _ => set_rest_state(dm, job, "Succeeded", None),
            }
        }
        Origin::Queue {
            queue,
            message,
            report_level,
            report_method,
            status_table,
        } => {
            if *report_level != ReportLevel::None {
                if report_method.to_queue() {
                    let text = match result.failure() {
                        Some(failure) => Some((
                            &dm.failed_queue,
                            failure_message(spec, failure, operation_id, activity_id),
                        )),
                        None if *report_level == ReportLevel::FailuresAndSuccesses => Some((
                            &dm.success_queue,
                            success_message(spec, operation_id, activity_id),
                        )),
                        None => None,
                    };
                    if let Some((target, text)) = text
                        && let Err(e) =
                            with_retries(|| dm.storage.send_message(target, &text)).await
                    {
                        tracing::warn!(error = %e, "posting an ingestion notification failed");
                    }
                }
                if report_method.to_table()
                    && let Some(reference) = status_table
                {
                    write_status(
                        dm,
                        reference,
                        &status_entity(spec, &result, operation_id, activity_id),
                    )
                    .await;
                }
            }
            delete_message(dm, queue, message).await;
        }
    }
}

async fn write_status(
    dm: &DataManagement,
    reference: &StatusTableRef,
    entity: &serde_json::Map<String, serde_json::Value>,
) {
    let Ok(url) = Url::parse(&reference.table_url) else {
        tracing::warn!("the status table URL of a message is not a URL");
        return;
    };
    let url = dm.direct(&url);
    if let Err(e) = with_retries(|| {
        dm.storage
            .merge_entity(&url, &reference.partition_key, &reference.row_key, entity)
    })
    .await
    {
        tracing::warn!(error = %e, "updating an ingestion status entity failed");
    }
}

async fn delete_message(dm: &DataManagement, queue: &Url, message: &QueueMessage) {
    if let Err(e) = with_retries(|| dm.storage.delete_message(queue, message)).await {
        tracing::warn!(error = %e, "deleting a processed queue message failed");
    }
}

/// Runs a storage call up to three times while it fails transiently.
async fn with_retries<F, Fut>(call: F) -> Result<(), crate::azurite::storage::StorageError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::azurite::storage::StorageError>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(()) => return Ok(()),
            Err(e)
                if attempt < 3
                    && matches!(
                        e.kind,
                        StorageErrorKind::Transient | StorageErrorKind::Network
                    ) =>
            {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Queues the blobs of a REST submission; returns the operation id ("" when untracked).
pub(crate) fn submit_rest(
    dm: &DataManagement,
    request: super::message::RestRequest,
) -> Result<String, String> {
    let now = time::now_ticks();
    let operation_id = request.enable_tracking.then(|| Uuid::new_v4().to_string());
    if let Some(id) = &operation_id {
        let blobs = request
            .blobs
            .iter()
            .map(|b| BlobState {
                source_id: b.source_id,
                url: b.url.split('?').next().unwrap_or_default().to_owned(),
                status: "Queued",
                started_at: now,
                last_update: now,
                failure: None,
            })
            .collect();
        dm.operations().insert(
            id.clone(),
            super::Operation {
                database: request.template.database.clone(),
                table: request.template.table.clone(),
                start_time: now,
                last_updated: now,
                blobs,
            },
        );
    }
    for (index, blob) in request.blobs.into_iter().enumerate() {
        let mut spec = request.template.clone();
        spec.blob_url = blob.url;
        spec.source_id = blob.source_id;
        spec.raw_size = blob.raw_size;
        let job = Job {
            spec,
            origin: Origin::Rest {
                operation_id: operation_id.clone(),
                index,
            },
        };
        if !dm.enqueue(job) {
            return Err("the data-management service is shutting down".to_owned());
        }
    }
    Ok(operation_id.unwrap_or_default())
}

/// When a batch opened now is flushed: `window` from now, at most 30 years (a window of
/// `--batching-window-ms 18446744073709551615` overflowed `Instant + Duration`).
fn batch_deadline(window: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(window.min(Duration::from_secs(30 * 365 * 86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod batch_deadline_tests {
    use super::*;

    #[test]
    fn the_largest_window_is_a_far_deadline_not_an_overflow() {
        let before = Instant::now();
        let deadline = batch_deadline(Duration::MAX);
        assert!(deadline.duration_since(before) >= Duration::from_secs(29 * 365 * 86_400));
        assert!(batch_deadline(Duration::from_secs(1)) > before);
    }
}
