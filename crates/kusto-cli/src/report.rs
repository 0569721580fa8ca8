//! The JSON-lines report of `kusto ingest` and `--resume`.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// What happened to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Outcome {
    /// Queued: uploaded and handed to the data-management service.
    Submitted,
    /// Streamed: the engine ingested it.
    Streamed,
    /// Managed mode fell back to queued ingestion (submitted).
    Queued,
    /// `--wait`: the service ingested it.
    Succeeded,
    /// `--wait`: the service ingested part of it.
    PartiallySucceeded,
    /// Not sent, or `--wait` found the service failed it.
    Failed,
    /// `--wait` timed out (or was interrupted) before the status was final.
    Pending,
    /// `--wait`: the service canceled it.
    Canceled,
    /// `--wait`: the service skipped it on purpose (an `--ingest-if-not-exists` tag matched,
    /// or no data).
    Skipped,
    /// `--wait`: submitted, but its status cannot be read (tracking could not be set up; the
    /// error says why).
    Untracked,
    /// May or may not have been ingested: the queue message, the REST submission or the
    /// streaming request went out and no answer came back (the error says which). Not a
    /// failure and not a success: `--resume` never sends it again blindly (it reads the status
    /// when it can; `--resend-unknown` sends it again), and the run exits with
    /// [`Exit::Unknown`](crate::error::Exit::Unknown).
    Unknown,
}

impl Outcome {
    /// True when the source was sent, or may have been (and a resumed run must not send it
    /// again without resolving it: [`Outcome::Unknown`]).
    pub(crate) fn was_sent(self) -> bool {
        !matches!(self, Outcome::Failed | Outcome::Canceled)
    }

    /// True when this outcome counts as a failure for the exit code ([`Outcome::Unknown`] has
    /// its own exit code and is not one).
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed
                | Outcome::Canceled
                | Outcome::PartiallySucceeded
                | Outcome::Pending
                | Outcome::Untracked
        )
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The source (the path as found, `-` for stdin).
    pub(crate) path: String,
    /// The source id (the blob name and status key of queued ingestion).
    pub(crate) source_id: Option<uuid::Uuid>,
    /// What happened.
    pub(crate) outcome: Outcome,
    /// The size of the source in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) bytes: Option<u64>,
    /// The format sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) format: Option<String>,
    /// The creation time sent (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) creation_time: Option<String>,
    /// Why it failed, or the fallback reason of managed mode (never a secret: the SDK's errors
    /// show URLs without their SAS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Why managed mode queued the source instead of streaming it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fallback: Option<String>,
    /// The ingestion operation (queued), to read its status later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) operation: Option<serde_json::Value>,
    /// `queued`, `streaming` or `managed`.
    pub(crate) mode: String,
    /// When the record was written (RFC 3339, UTC).
    pub(crate) time: String,
}

/// An append-only report file; every record is flushed as it is written.
#[derive(Debug)]
pub(crate) struct ReportWriter {
    file: Mutex<File>,
}

impl ReportWriter {
    /// Opens `path` for appending (created when missing).
    pub(crate) fn open(path: &Path) -> Result<Self, CliError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                CliError::Other(format!("cannot open the report {}: {e}", path.display()))
            })?;
        Ok(ReportWriter {
            file: Mutex::new(file),
        })
    }

    /// Appends one record as one line.
    pub(crate) fn write(&self, record: &Record) -> Result<(), CliError> {
        let mut line = serde_json::to_string(record)
            .map_err(|e| CliError::Other(format!("cannot encode a report record: {e}")))?;
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| CliError::Other("the report writer failed earlier".to_owned()))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| CliError::Other(format!("cannot write the report: {e}")))
    }
}

/// What a resumed run takes from a report: the last record of each path decides.
#[derive(Debug, Default)]
pub(crate) struct Resumed {
    /// The paths whose last record says sent ([`Outcome::was_sent`]), unknown ones included.
    pub(crate) sent: HashSet<String>,
    /// The last records whose outcome is [`Outcome::Unknown`] (old records included, see
    /// [`Record::effective_outcome`]), in the report's order.
    pub(crate) unknown: Vec<Record>,
}

impl Record {
    /// The outcome a resumed run acts on. Reports written before the `unknown` state existed
    /// recorded an unanswered queue post or streaming request as `failed` with the SDK's
    /// "may or may not have been" error text; such a record is read as unknown, so that an
    /// upgrade does not resend what the old run may have ingested.
    pub(crate) fn effective_outcome(&self) -> Outcome {
        match (&self.outcome, &self.error) {
            (Outcome::Failed, Some(error)) if error.contains(LEGACY_AMBIGUOUS) => Outcome::Unknown,
            (outcome, _) => *outcome,
        }
    }
}

/// The words of `kusto_ingest::Error::Ambiguous` and `EnqueueAmbiguous` in reports of versions
/// that recorded them as `failed`.
const LEGACY_AMBIGUOUS: &str = "may or may not have been";

/// Reads a report for `--resume`. A missing file is an empty report (so that one command line
/// serves the first run and the resumed ones); a line that is not a record is an error (the
/// report may not be what the user thinks), except a last line cut by a crash.
pub(crate) fn read_report(path: &Path) -> Result<Resumed, CliError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Resumed::default()),
        Err(e) => {
            return Err(CliError::Other(format!(
                "cannot read the report {}: {e}",
                path.display()
            )));
        }
    };
    let mut order: Vec<String> = Vec::new();
    let mut last: HashMap<String, Record> = HashMap::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| {
            CliError::Other(format!("cannot read the report {}: {e}", path.display()))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = match serde_json::from_str(&line) {
            Ok(record) => record,
            // A last line cut by a crash is not a record; it is ignored, earlier ones are not.
            Err(_) if line.ends_with('}') => {
                return Err(CliError::Usage(format!(
                    "{} line {} is not a report record",
                    path.display(),
                    number + 1
                )));
            }
            Err(_) => continue,
        };
        if !last.contains_key(&record.path) {
            order.push(record.path.clone());
        }
        last.insert(record.path.clone(), record);
    }
    let mut resumed = Resumed::default();
    for path in order {
        let Some(record) = last.remove(&path) else {
            continue;
        };
        let outcome = record.effective_outcome();
        if outcome.was_sent() {
            resumed.sent.insert(path);
        }
        if outcome == Outcome::Unknown {
            resumed.unknown.push(record);
        }
    }
    Ok(resumed)
}

/// Now, as RFC 3339.
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, outcome: Outcome) -> Record {
        Record {
            path: path.to_owned(),
            source_id: None,
            outcome,
            bytes: None,
            format: None,
            creation_time: None,
            error: None,
            fallback: None,
            operation: None,
            mode: "queued".to_owned(),
            time: now(),
        }
    }

    #[test]
    fn the_last_record_of_a_path_decides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        assert!(read_report(&path).unwrap().sent.is_empty());
        let writer = ReportWriter::open(&path).unwrap();
        writer.write(&record("a", Outcome::Submitted)).unwrap();
        writer.write(&record("a", Outcome::Succeeded)).unwrap();
        writer.write(&record("b", Outcome::Failed)).unwrap();
        writer.write(&record("c", Outcome::Submitted)).unwrap();
        writer.write(&record("c", Outcome::Failed)).unwrap();
        writer.write(&record("d", Outcome::Pending)).unwrap();
        drop(writer);
        // A line cut by a crash at the end.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"path\":\"e\",\"outc").unwrap();
        let mut sent: Vec<_> = read_report(&path).unwrap().sent.into_iter().collect();
        sent.sort();
        assert_eq!(sent, vec!["a", "d"]);
        std::fs::write(&path, "{\"not\":\"a record\"}\n").unwrap();
        assert!(read_report(&path).is_err());
    }

    #[test]
    fn unknown_round_trips_and_is_sent_but_not_a_failure() {
        let mut unknown = record("u", Outcome::Unknown);
        unknown.error = Some("no answer".to_owned());
        let line = serde_json::to_string(&unknown).unwrap();
        assert!(line.contains(r#""outcome":"unknown""#), "{line}");
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back.outcome, Outcome::Unknown);
        assert_eq!(back.error.as_deref(), Some("no answer"));
        assert!(Outcome::Unknown.was_sent());
        assert!(!Outcome::Unknown.is_failure());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let writer = ReportWriter::open(&path).unwrap();
        writer.write(&record("a", Outcome::Submitted)).unwrap();
        writer.write(&unknown).unwrap();
        // An unknown source resolved as ingested later: no longer unknown.
        writer.write(&record("b", Outcome::Unknown)).unwrap();
        writer.write(&record("b", Outcome::Succeeded)).unwrap();
        drop(writer);
        let resumed = read_report(&path).unwrap();
        let mut sent: Vec<_> = resumed.sent.into_iter().collect();
        sent.sort();
        assert_eq!(sent, vec!["a", "b", "u"]);
        let unknown: Vec<_> = resumed.unknown.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(unknown, vec!["u"]);
    }

    #[test]
    fn reports_of_earlier_versions_still_read() {
        // Lines as the version before the unknown state wrote them, byte for byte: an
        // ambiguous queue post was recorded as failed with the SDK's error text.
        let old = concat!(
            r#"{"path":"in/a.csv","source_id":"5b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1b","outcome":"submitted","bytes":4,"format":"csv","operation":{"database":"Db","table":"T","source_ids":["5b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1b"],"blobs":["http://127.0.0.1:1/c/b"],"tracking":{"kind":"none"}},"mode":"queued","time":"2026-01-02T03:04:05Z"}"#,
            "\n",
            r#"{"path":"in/b.csv","source_id":null,"outcome":"failed","error":"cannot tell the format of in/b.csv from its name; give --format","mode":"queued","time":"2026-01-02T03:04:05Z"}"#,
            "\n",
            r#"{"path":"in/c.csv","source_id":"0b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1c","outcome":"failed","bytes":4,"format":"csv","error":"the ingestion message of source 0b0e1c2a-8d7f-4e61-9a3b-2c4d6e8f0a1c may or may not have been queued (no answer from storage): queue storage request to account 'a' failed: connection closed","mode":"queued","time":"2026-01-02T03:04:05Z"}"#,
            "\n",
            r#"{"path":"in/d.csv","source_id":null,"outcome":"pending","error":"ingestion status still not final after 1s","mode":"queued","time":"2026-01-02T03:04:05Z"}"#,
            "\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        std::fs::write(&path, old).unwrap();
        let resumed = read_report(&path).unwrap();
        let mut sent: Vec<_> = resumed.sent.into_iter().collect();
        sent.sort();
        // b failed for a reason of its own and is tried again; c's post went unanswered.
        assert_eq!(sent, vec!["in/a.csv", "in/c.csv", "in/d.csv"]);
        assert_eq!(resumed.unknown.len(), 1);
        assert_eq!(resumed.unknown[0].path, "in/c.csv");
        assert_eq!(resumed.unknown[0].outcome, Outcome::Failed);
        assert_eq!(resumed.unknown[0].effective_outcome(), Outcome::Unknown);
    }
}
