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
}

impl Outcome {
    /// True when the source was sent (and a resumed run must not send it again).
    pub(crate) fn was_sent(self) -> bool {
        !matches!(self, Outcome::Failed | Outcome::Canceled)
    }

    /// True when this outcome counts as a failure for the exit code.
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

/// The paths a report lists as sent: the last record of each path decides. A missing file is
/// an empty report (so that one command line serves the first run and the resumed ones); a line
/// that is not a record is an error (the report may not be what the user thinks).
pub(crate) fn sent_paths(path: &Path) -> Result<HashSet<String>, CliError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => {
            return Err(CliError::Other(format!(
                "cannot read the report {}: {e}",
                path.display()
            )));
        }
    };
    let mut last: HashMap<String, Outcome> = HashMap::new();
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
        last.insert(record.path, record.outcome);
    }
    Ok(last
        .into_iter()
        .filter(|(_, outcome)| outcome.was_sent())
        .map(|(path, _)| path)
        .collect())
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
        assert!(sent_paths(&path).unwrap().is_empty());
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
        let mut sent: Vec<_> = sent_paths(&path).unwrap().into_iter().collect();
        sent.sort();
        assert_eq!(sent, vec!["a", "d"]);
        std::fs::write(&path, "{\"not\":\"a record\"}\n").unwrap();
        assert!(sent_paths(&path).is_err());
    }
}
