//! Partial failures: errors the service reports inside a successful response.

use std::fmt;

use serde_json::Value;

use crate::error::OneApiError;
use crate::types::KustoValue;

use super::dataset::DataSet;
use super::table::{Column, find_column};

/// Where in the response an error of a [`PartialFailure`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorPlacement {
    /// A `{"OneApiErrors": [...]}` object in place of a row (v2 `InData` placement).
    Row {
        /// The table.
        table_id: i64,
        /// How many rows of the table preceded the error object.
        row_index: u64,
    },
    /// `OneApiErrors` of a `TableCompletion` frame (v2 `EndOfTable` placement).
    TableCompletion {
        /// The table.
        table_id: i64,
    },
    /// `OneApiErrors` of the `DataSetCompletion` frame (v2 `EndOfDataset` placement, also the
    /// summary every placement ends with), or `HasErrors: true` without details.
    DataSetCompletion,
    /// `Cancelled: true` in `DataSetCompletion`: the request was cancelled, results are cut short.
    Cancelled,
    /// A row of `QueryCompletionInformation` (v2) or `QueryStatus` (v1) with level/severity
    /// below 4 (error or warning): how `deferpartialqueryfailures=true` reports a failure.
    QueryCompletionInformation {
        /// The table.
        table_id: i64,
        /// `Level` (v2) or `Severity` (v1): 2 = error, 3 = warning.
        level: i32,
    },
    /// A `{"Exceptions": [...]}` object in place of a row of a v1 table.
    V1Row {
        /// The table (its position in the answer).
        table_id: i64,
        /// How many rows of the table preceded the error object.
        row_index: u64,
    },
    /// The top-level `Exceptions` array of a v1 answer.
    V1Exceptions,
}

/// One error of a [`PartialFailure`], with its placement.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PartialError {
    /// Where it was found.
    pub placement: ErrorPlacement,
    /// The error. v1 exception texts and completion-information rows are converted to a
    /// [`OneApiError`] whose `@message` (`description`) carries the full text.
    pub error: OneApiError,
}

/// The service reported errors inside an HTTP 200 response: the result is incomplete.
///
/// Carries every error with its placement and, when the whole response was collected in memory,
/// the data received ([`PartialFailure::data`]); streaming consumers have already received the
/// rows as events or batches before this error ends the stream.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PartialFailure {
    /// The errors, in the order they appeared. An error repeated in `DataSetCompletion` is listed
    /// once; `QueryCompletionInformation` rows are listed only when no other error was reported.
    pub errors: Vec<PartialError>,
    pub(crate) data: Option<Box<DataSet>>,
}

impl PartialFailure {
    pub(crate) fn new(errors: Vec<PartialError>) -> Self {
        PartialFailure { errors, data: None }
    }

    /// The data received before (and after) the failure, when the response was collected into
    /// a [`DataSet`]. `None` for streaming readers, which delivered the rows already.
    pub fn data(&self) -> Option<&DataSet> {
        self.data.as_deref()
    }

    /// Takes the data received out of the error.
    pub fn into_data(self) -> Option<DataSet> {
        self.data.map(|d| *d)
    }

    /// The OneApi errors.
    pub fn one_api_errors(&self) -> impl Iterator<Item = &OneApiError> {
        self.errors.iter().map(|e| &e.error)
    }

    /// Transient unless one of the errors says `@permanent: true` (partial failures such as
    /// `LimitsExceeded` or low memory are marked `@permanent: false`).
    pub fn is_transient(&self) -> bool {
        !self.errors.iter().any(|e| e.error.permanent == Some(true))
    }
}

impl fmt::Display for PartialFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the query failed part-way (partial results)")?;
        for (i, e) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{}", e.error)?;
        }
        Ok(())
    }
}

impl std::error::Error for PartialFailure {}

/// Reads a `OneApiErrors` array (`[{"error": {...}}, ...]`). Elements that are not OneApi
/// errors are kept as text so nothing is lost.
pub(crate) fn one_api_errors(value: &serde_json::Value) -> Vec<OneApiError> {
    match value {
        serde_json::Value::Array(items) => items.iter().map(to_one_api_error).collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![to_one_api_error(other)],
    }
}

fn to_one_api_error(value: &serde_json::Value) -> OneApiError {
    OneApiError::from_json(value).unwrap_or_else(|| text_error("", value.to_string()))
}

/// A OneApi error made from a text (v1 exceptions, completion-information rows).
pub(crate) fn text_error(code: &str, text: String) -> OneApiError {
    let message = text.lines().next().unwrap_or_default().trim().to_owned();
    OneApiError {
        code: code.to_owned(),
        message,
        error_type: None,
        description: Some(text),
        permanent: None,
        context: serde_json::Map::new(),
        inner: None,
    }
}

/// Column positions of a `QueryCompletionInformation` / `QueryStatus` table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QciColumns {
    level: usize,
    text: [Option<usize>; 5],
}

impl QciColumns {
    /// Recognises a completion-information table by its `Level` (v2) or `Severity` (v1) column.
    pub(crate) fn find(columns: &[Column]) -> Option<QciColumns> {
        let level = find_column(columns, "Level").or_else(|| find_column(columns, "Severity"))?;
        let col = |names: &[&str]| names.iter().find_map(|n| find_column(columns, n));
        Some(QciColumns {
            level,
            text: [
                col(&["EventTypeName", "SeverityName"]),
                col(&["Payload", "StatusDescription"]),
                col(&["StatusCodeName"]),
                col(&["ClientRequestId", "ClientActivityId"]),
                col(&["ActivityId"]),
            ],
        })
    }

    /// A deferred failure when the row's level is below 4 (error or warning).
    pub(crate) fn check(
        &self,
        row: &[KustoValue],
        placement: impl FnOnce(i32) -> ErrorPlacement,
    ) -> Option<PartialError> {
        let level = match row.get(self.level)? {
            KustoValue::Int(l) => i64::from(*l),
            KustoValue::Long(l) => *l,
            _ => return None,
        };
        if level >= 4 {
            return None;
        }
        let text = |i: Option<usize>| match i.and_then(|i| row.get(i)) {
            None | Some(KustoValue::Null) => String::new(),
            Some(KustoValue::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let [code, payload, status, crid, activity] = self.text.map(text);
        // Payload is JSON text like {"Count":1,"Text":"..."} for most events.
        let detail = serde_json::from_str::<Value>(&payload)
            .ok()
            .and_then(|v| v.get("Text").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(payload);
        let mut error = text_error(&code, detail);
        if !status.is_empty() {
            error.message = status;
        }
        if !crid.is_empty() {
            error
                .context
                .insert("clientRequestId".into(), Value::String(crid));
        }
        if !activity.is_empty() {
            error
                .context
                .insert("activityId".into(), Value::String(activity));
        }
        Some(PartialError {
            placement: placement(level as i32),
            error,
        })
    }
}
