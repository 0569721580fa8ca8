//! Sources whose outcome is unknown: which errors mean "may or may not have been ingested",
//! and how `--resume` resolves such a source before it decides whether to send it again.
//!
//! | error | unknown because | `--resume` can read |
//! |---|---|---|
//! | `EnqueueAmbiguous` (queued, queue protocol) | the queue message went out, no answer came back | the status-table entry, when the run tracked it (`--wait`) |
//! | REST submission without an answer (`Kusto(Network)` after the connection was made, `Kusto(Timeout)`, to `/v1/rest/ingestion/queued/...`) | the submission went out, no answer (and no operation id) came back | nothing: the operation id was in the lost answer |
//! | streaming request without an answer (`Kusto(Network)` after the connection was made, `Kusto(Timeout)`, to `/v1/rest/ingest/...`; `Ambiguous` from managed mode) | the streaming request went out, no answer came back | nothing: streaming ingestion keeps no status |
//!
//! A source the service answered about, with an error, failed: it was not ingested. A REST
//! batch failure (`BatchFailed`) comes only from `ingest_many`, which this command does not
//! use: each source is submitted on its own, so its own error is classified.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use kusto_data::ConnectionString;
use kusto_ingest::{IngestionOperation, IngestionState, QueuedIngestClient, SourceStatus};
use uuid::Uuid;

use crate::cli::IngestArgs;
use crate::error::CliError;
use crate::report::{Outcome, Record, ReportWriter, Resumed, now};

/// How long `--resume` waits for the status of one unknown source (one read, not a poll).
pub(crate) const RESOLVE_TIMEOUT: Duration = Duration::from_secs(60);

/// The paths of the requests that ingest: a REST queued-ingestion submission
/// (`POST /v1/rest/ingestion/queued/{db}/{table}`) and a streaming ingestion
/// (`POST /v1/rest/ingest/{db}/{table}`). Other requests (ingestion resources, identity token,
/// configuration) ingest nothing, whatever their answer.
const INGESTING_PATHS: [&str; 2] = ["/v1/rest/ingestion/queued/", "/v1/rest/ingest/"];

/// What the user can do about a source that stays unknown.
pub(crate) const ADVICE: &str = "check the table for its rows; to send it again, run with \
     --resume FILE --resend-unknown";

/// True when `error` means that the source may or may not have been ingested.
pub(crate) fn is_unknown(error: &kusto_ingest::Error) -> bool {
    use kusto_ingest::Error;
    match error {
        Error::Ambiguous { .. } | Error::EnqueueAmbiguous { .. } => true,
        Error::Kusto(error) => is_unanswered_ingestion(error),
        Error::AllAccountsFailed { attempts, .. } => attempts.iter().any(is_unknown),
        _ => false,
    }
}

/// The report's error text of an unknown outcome: the SDK's ambiguous errors say so
/// themselves; a request without an answer is introduced as such.
pub(crate) fn unknown_text(error: &kusto_ingest::Error, text: String) -> String {
    match error {
        kusto_ingest::Error::Ambiguous { .. } | kusto_ingest::Error::EnqueueAmbiguous { .. } => {
            text
        }
        _ => format!(
            "the source may or may not have been ingested (the request went out and no answer \
             came back): {text}"
        ),
    }
}

/// A REST submission or a streaming request that went out and got no (complete) answer: the
/// connection broke after it was made, or no answer came in time. (The streaming client
/// reports these as `Kusto` errors; only the managed client turns them into `Ambiguous`.)
fn is_unanswered_ingestion(error: &kusto_data::Error) -> bool {
    let endpoint = match error {
        kusto_data::Error::Network { endpoint, .. }
        | kusto_data::Error::Timeout { endpoint, .. } => endpoint,
        _ => return false,
    };
    error.may_have_reached_service() && INGESTING_PATHS.iter().any(|p| endpoint.contains(p))
}

/// The operation whose status tells the outcome of a source whose queue message got no answer,
/// when the run asked for tracking: its status-table entry was written (as `Pending`) before
/// the message was posted, and the service updates it if the message reached the queue.
///
/// `kusto_ingest::Error::EnqueueAmbiguous` carries no operation, so this is the operation's
/// serialized form (the form `IngestionOperation` documents for storing it and reading its
/// status later) built from what the run knows. The status table is left for the reading
/// client to choose: its first status table, the one the message's entry was written to.
pub(crate) fn tracked_operation(database: &str, table: &str, source_id: Uuid) -> serde_json::Value {
    serde_json::json!({
        "database": database,
        "table": table,
        "source_ids": [source_id],
        "blobs": [],
        "tracking": { "kind": "table", "table": "" },
    })
}

/// What `--resume` decided about a source whose last record was unknown.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The new record (resolved, or unknown again with the reason).
    pub(crate) record: Record,
    /// True when the source is sent again in this run.
    pub(crate) resend: bool,
}

/// Resolves each unknown record: reads its status once when it can (at most `parallelism`
/// at a time, each within [`RESOLVE_TIMEOUT`]). A source resolved as not ingested (failed,
/// canceled) is sent again; one still unknown only with `resend_unknown`.
pub(crate) async fn resolve_all(
    cs: &ConnectionString,
    unknown: Vec<Record>,
    resend_unknown: bool,
    parallelism: usize,
) -> Vec<Resolved> {
    let readable = unknown.iter().any(|r| operation_of(r).is_ok());
    let client = if readable {
        Some(QueuedIngestClient::new(cs.clone()).map_err(|e| e.to_string()))
    } else {
        None
    };
    futures::stream::iter(unknown)
        .map(|record| {
            let client = client.clone();
            async move {
                let record = resolve(client, record, RESOLVE_TIMEOUT, resend_unknown).await;
                let resend = match record.outcome {
                    Outcome::Failed | Outcome::Canceled => true,
                    Outcome::Unknown => resend_unknown,
                    _ => false,
                };
                Resolved { record, resend }
            }
        })
        .buffered(parallelism.max(1))
        .collect()
        .await
}

/// What `--resume` takes from the report: the paths not to send (sent, or unknown and not to
/// be sent again), the resolutions of the unknown sources, and the connection string when it
/// was needed to read statuses. In a dry run nothing is read: unknown sources are not listed,
/// or with `--resend-unknown` they are.
pub(crate) async fn resolve_report(
    args: &IngestArgs,
    resumed: Resumed,
) -> Result<(HashSet<String>, Vec<Resolved>, Option<ConnectionString>), CliError> {
    let mut skip = resumed.sent;
    if resumed.unknown.is_empty() {
        return Ok((skip, Vec::new(), None));
    }
    if args.dry_run {
        if args.resend_unknown {
            for record in &resumed.unknown {
                skip.remove(&record.path);
            }
        }
        return Ok((skip, Vec::new(), None));
    }
    let cs = crate::connect::connection_string(&args.cluster)?;
    let resolved = resolve_all(
        &cs,
        resumed.unknown,
        args.resend_unknown,
        usize::from(args.parallelism),
    )
    .await;
    for resolution in resolved.iter().filter(|r| r.resend) {
        skip.remove(&resolution.record.path);
    }
    Ok((skip, resolved, Some(cs)))
}

/// Writes the resolutions to the report and prints what they found; returns how many sources
/// stay unknown and how many failed (partially ingested), those not sent again in this run.
pub(crate) fn record_resolutions(
    resolved: &[Resolved],
    report: Option<&ReportWriter>,
) -> Result<(u64, u64), CliError> {
    if resolved.is_empty() {
        return Ok((0, 0));
    }
    let (mut unknowns, mut failures) = (0_u64, 0_u64);
    for resolution in resolved {
        if let Some(report) = report {
            report.write(&resolution.record)?;
        }
        // A source sent again counts by the outcome of this run's attempt.
        if resolution.resend {
            continue;
        }
        let outcome = resolution.record.outcome;
        if outcome == Outcome::Unknown {
            unknowns = unknowns.saturating_add(1);
        } else if outcome.is_failure() {
            failures = failures.saturating_add(1);
        }
    }
    eprintln!("kusto: {}", summary(resolved));
    Ok((unknowns, failures))
}

/// One line on what `--resume` found out about the report's unknown sources.
fn summary(resolved: &[Resolved]) -> String {
    let count = |keep: &dyn Fn(&Resolved) -> bool| resolved.iter().filter(|r| keep(r)).count();
    let unknown = |r: &Resolved| r.record.outcome == Outcome::Unknown;
    let still = count(&|r| unknown(r) && !r.resend);
    let forced = count(&|r| unknown(r) && r.resend);
    let not_ingested = count(&|r| !unknown(r) && r.resend);
    let settled = count(&|r| !unknown(r) && !r.resend);
    let mut text = format!(
        "{} source(s) of the report had an unknown outcome: {settled} settled by their status \
         (not sent again), {not_ingested} not ingested (sent again)",
        resolved.len()
    );
    if forced > 0 {
        text.push_str(&format!(
            ", {forced} still unknown and sent again (--resend-unknown)"
        ));
    }
    if still > 0 {
        text.push_str(&format!(
            ", {still} still unknown and not sent again ({ADVICE})"
        ));
    }
    text
}

/// The tracked operation of an unknown record, or why there is none.
fn operation_of(record: &Record) -> Result<IngestionOperation, String> {
    let Some(value) = &record.operation else {
        return Err(
            "no status was recorded for it (queued ingestion tracks each source only with \
             --wait; a streamed source has no status)"
                .to_owned(),
        );
    };
    let operation: IngestionOperation = serde_json::from_value(value.clone())
        .map_err(|e| format!("its recorded operation cannot be read: {e}"))?;
    match operation.untracked_reason() {
        Some(reason) => Err(format!("it is not tracked: {reason}")),
        None => Ok(operation),
    }
}

/// Reads the status of one unknown source once and turns it into a new record.
async fn resolve(
    client: Option<Result<QueuedIngestClient, String>>,
    record: Record,
    timeout: Duration,
    resend_unknown: bool,
) -> Record {
    let mut out = record.clone();
    out.outcome = Outcome::Unknown;
    let why = match (operation_of(&record), client) {
        (Err(why), _) => why,
        (Ok(_), None) => "no client to read its status".to_owned(),
        (Ok(_), Some(Err(error))) => format!("no client to read its status: {error}"),
        (Ok(operation), Some(Ok(client))) => {
            let operation = client.resume(operation);
            match tokio::time::timeout(timeout, operation.status()).await {
                Ok(Ok(status)) => {
                    let source = status
                        .sources
                        .iter()
                        .find(|s| Some(s.source_id) == record.source_id)
                        .or(status.sources.first());
                    match source {
                        Some(source) => match settled(source.state, details(source)) {
                            Some((outcome, error)) => {
                                out.outcome = outcome;
                                out.error = error;
                                out.time = now();
                                return out;
                            }
                            None => format!(
                                "its status is still {} (the service has not reported it: the \
                                 message may never have reached the queue, or is not processed \
                                 yet)",
                                source.state
                            ),
                        },
                        None => "the status lists no source".to_owned(),
                    }
                }
                Ok(Err(error)) => format!("its status could not be read: {error}"),
                Err(_) => format!("its status could not be read within {timeout:?}"),
            }
        }
    };
    let decision = if resend_unknown {
        "sent again as asked (--resend-unknown)".to_owned()
    } else {
        format!("not sent again: {ADVICE}")
    };
    out.error = Some(format!(
        "outcome still unknown ({why}); {decision}; first error: {}",
        record.error.as_deref().unwrap_or("none recorded")
    ));
    out.time = now();
    out
}

/// The service's error code and details of a source, when it gave any.
fn details(source: &SourceStatus) -> Option<String> {
    let text = [source.error_code.as_deref(), source.details.as_deref()]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    (!text.is_empty()).then_some(text)
}

/// The outcome a status settles, with its details; `None` while it says nothing about the
/// message having reached the service (`Pending`: the entry as the client wrote it).
fn settled(state: IngestionState, details: Option<String>) -> Option<(Outcome, Option<String>)> {
    Some(match state {
        IngestionState::Succeeded => (Outcome::Succeeded, None),
        IngestionState::Skipped => (Outcome::Skipped, details),
        IngestionState::PartiallySucceeded => (Outcome::PartiallySucceeded, details),
        IngestionState::Failed => (Outcome::Failed, details),
        IngestionState::Canceled => (Outcome::Canceled, details),
        // The service has it: it was handed over (the message reached the queue).
        IngestionState::Queued | IngestionState::InProgress => (Outcome::Submitted, None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown_record(operation: Option<serde_json::Value>) -> Record {
        Record {
            path: "in/a.csv".to_owned(),
            source_id: Some(Uuid::new_v4()),
            outcome: Outcome::Unknown,
            bytes: Some(4),
            format: Some("csv".to_owned()),
            creation_time: None,
            error: Some("no answer".to_owned()),
            fallback: None,
            operation,
            mode: "queued".to_owned(),
            time: now(),
        }
    }

    #[test]
    fn ambiguous_errors_are_unknown_and_answered_ones_are_not() {
        let id = Uuid::new_v4();
        let storage = |status: Option<u16>| kusto_ingest::Error::Storage {
            service: kusto_ingest::StorageService::Queue,
            account: "a".to_owned(),
            status,
            code: None,
            message: "connection closed".to_owned(),
        };
        let enqueue = kusto_ingest::Error::EnqueueAmbiguous {
            source_id: id,
            cause: Box::new(storage(None)),
        };
        assert!(is_unknown(&enqueue));
        assert!(!is_unknown(&storage(Some(500))));
        assert!(!is_unknown(&kusto_ingest::Error::AllAccountsFailed {
            what: "enqueue",
            attempts: vec![storage(Some(503)), storage(None)],
        }));
        let timeout = |endpoint: &str| {
            kusto_ingest::Error::Kusto(kusto_data::Error::Timeout {
                endpoint: endpoint.to_owned(),
                timeout: Duration::from_secs(1),
            })
        };
        assert!(is_unknown(&timeout(
            "https://ingest-c.kusto.windows.net/v1/rest/ingestion/queued/Db/T"
        )));
        assert!(is_unknown(&timeout(
            "https://c.kusto.windows.net/v1/rest/ingest/Db/T"
        )));
        // Fetching the ingestion resources sends nothing to ingest.
        assert!(!is_unknown(&timeout(
            "https://ingest-c.kusto.windows.net/v1/rest/mgmt"
        )));
        assert!(!is_unknown(&kusto_ingest::Error::Kusto(
            kusto_data::Error::Service(Box::new(kusto_data::ServiceError::new(
                500,
                "https://ingest-c.kusto.windows.net/v1/rest/ingestion/queued/Db/T",
            )))
        )));
    }

    #[test]
    fn the_built_operation_is_tracked_by_the_status_table() {
        let id = Uuid::new_v4();
        let operation: IngestionOperation =
            serde_json::from_value(tracked_operation("Db", "T", id)).unwrap();
        assert!(operation.is_tracked());
        assert_eq!(operation.source_ids(), &[id]);
        assert_eq!(operation.database(), "Db");
        assert_eq!(operation.table(), "T");
        assert!(operation.rest_operation_id().is_none());
    }

    #[tokio::test]
    async fn records_without_a_status_stay_unknown_and_are_not_resent() {
        let cs = ConnectionString::parse("Data Source=http://127.0.0.1:9").unwrap();
        let untracked = unknown_record(None);
        let resolved = resolve_all(&cs, vec![untracked.clone()], false, 4).await;
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].record.outcome, Outcome::Unknown);
        assert!(!resolved[0].resend);
        let error = resolved[0].record.error.as_deref().unwrap();
        assert!(error.contains("--resend-unknown"), "{error}");
        assert!(error.contains("no answer"), "{error}");
        // Sent again only on request.
        let resolved = resolve_all(&cs, vec![untracked], true, 4).await;
        assert_eq!(resolved[0].record.outcome, Outcome::Unknown);
        assert!(resolved[0].resend);
        let error = resolved[0].record.error.as_deref().unwrap();
        assert!(error.contains("sent again as asked"), "{error}");
    }

    #[test]
    fn statuses_settle_or_leave_the_outcome_unknown() {
        let detail = || Some("E: bad".to_owned());
        assert_eq!(
            settled(IngestionState::Succeeded, detail()),
            Some((Outcome::Succeeded, None))
        );
        assert_eq!(
            settled(IngestionState::Failed, detail()),
            Some((Outcome::Failed, detail()))
        );
        assert_eq!(
            settled(IngestionState::Skipped, None),
            Some((Outcome::Skipped, None))
        );
        assert_eq!(
            settled(IngestionState::PartiallySucceeded, detail()),
            Some((Outcome::PartiallySucceeded, detail()))
        );
        assert_eq!(
            settled(IngestionState::Canceled, None),
            Some((Outcome::Canceled, None))
        );
        assert_eq!(
            settled(IngestionState::InProgress, None),
            Some((Outcome::Submitted, None))
        );
        assert_eq!(settled(IngestionState::Pending, detail()), None);
    }
}
