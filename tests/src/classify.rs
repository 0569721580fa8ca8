//! Errors classified by their type, never by their message text.
//!
//! [`data_error_type`] and [`ingest_error_type`] map an error to a short key built only from its
//! variant and the typed fields a caller decides on: the HTTP status and OneApi code of a service
//! error, the phase of a network error, the service, status and code of a storage error, and the
//! type of the cause for the wrapping variants (`Kusto`, `Ambiguous`, `EnqueueAmbiguous`,
//! `AllAccountsFailed`, ...). The load and soak tests count their errors by these keys; which
//! errors a test expects it decides with a `match` on the error itself (see
//! [`service_error`]). Both enums are `#[non_exhaustive]`: a variant added later maps to
//! `Other(...)`, which no test expects, so that a new kind of error is noticed, not absorbed.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use kusto_data::{Error as DataError, ServiceError};
use kusto_ingest::Error as IngestError;

/// The type key of a `kusto-data` error, e.g. `Service(503,ServiceUnavailable)`,
/// `Network(Response)` or `Timeout`.
pub fn data_error_type(error: &DataError) -> String {
    match error {
        DataError::InvalidArgument(_) => "InvalidArgument".to_owned(),
        DataError::Service(e) => format!("Service({},{})", e.status, e.code().unwrap_or("-")),
        DataError::Network { phase, .. } => format!("Network({phase:?})"),
        DataError::Timeout { .. } => "Timeout".to_owned(),
        DataError::MalformedResponse { .. } => "MalformedResponse".to_owned(),
        DataError::ResponseTooLarge { .. } => "ResponseTooLarge".to_owned(),
        DataError::Io(e) => format!("Io({:?})", e.kind()),
        DataError::PartialFailure(_) => "PartialFailure".to_owned(),
        DataError::Conversion(_) => "Conversion".to_owned(),
        DataError::ColumnNotFound { .. } => "ColumnNotFound".to_owned(),
        DataError::ConnectionString(_) => "ConnectionString".to_owned(),
        DataError::Auth(_) => "Auth".to_owned(),
        DataError::UntrustedEndpoint { .. } => "UntrustedEndpoint".to_owned(),
        _ => "Other(kusto-data)".to_owned(),
    }
}

/// The type key of a `kusto-ingest` error, e.g. `Kusto.Service(429,TooManyRequests)`,
/// `Storage(blob,503,ServerBusy)` or `EnqueueAmbiguous(Storage(queue,-,-))`.
pub fn ingest_error_type(error: &IngestError) -> String {
    match error {
        IngestError::InvalidProperty { field, .. } => format!("InvalidProperty({field})"),
        IngestError::InvalidArgument(_) => "InvalidArgument".to_owned(),
        IngestError::Source { .. } => "Source".to_owned(),
        IngestError::Read(e) => format!("Read({:?})", e.kind()),
        IngestError::Kusto(e) => format!("Kusto.{}", data_error_type(e)),
        IngestError::Storage {
            service,
            status,
            code,
            ..
        } => format!(
            "Storage({service},{},{})",
            status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            code.as_deref().unwrap_or("-")
        ),
        IngestError::AllAccountsFailed { what, attempts } => format!(
            "AllAccountsFailed({what},last={})",
            attempts
                .last()
                .map_or_else(|| "-".to_owned(), ingest_error_type)
        ),
        IngestError::ForwardOnlySource { cause, .. } => {
            format!("ForwardOnlySource({})", ingest_error_type(cause))
        }
        IngestError::Ambiguous { cause, .. } => format!("Ambiguous({})", data_error_type(cause)),
        IngestError::EnqueueAmbiguous { cause, .. } => {
            format!("EnqueueAmbiguous({})", ingest_error_type(cause))
        }
        IngestError::MissingResource(what) => format!("MissingResource({what})"),
        IngestError::MessageTooLarge { .. } => "MessageTooLarge".to_owned(),
        IngestError::BatchFailed { transient, .. } => format!("BatchFailed(transient={transient})"),
        IngestError::Protocol(_) => "Protocol".to_owned(),
        IngestError::NotTracked(_) => "NotTracked".to_owned(),
        IngestError::IngestionFailed(status) => {
            let codes: Vec<&str> = status
                .failures()
                .map(|s| s.error_code.as_deref().unwrap_or("-"))
                .collect();
            format!("IngestionFailed({})", codes.join("|"))
        }
        IngestError::WaitTimeout(_) => "WaitTimeout".to_owned(),
        _ => "Other(kusto-ingest)".to_owned(),
    }
}

/// The service error of a `kusto-ingest` error that wraps one directly (`Kusto(Service(..))`).
pub fn service_error(error: &IngestError) -> Option<&ServiceError> {
    match error {
        IngestError::Kusto(e) => e.as_service_error(),
        _ => None,
    }
}

/// Error counts by type key, shared by concurrent tasks. The keys are few (one per type), so
/// the map stays small however long a test runs.
#[derive(Debug, Default)]
pub struct ErrorCounts(Mutex<BTreeMap<String, u64>>);

impl ErrorCounts {
    /// Counts one error of type `key`.
    pub fn add(&self, key: String) {
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kusto_data::{NetworkPhase, OneApiError};

    fn service(status: u16, code: &str) -> DataError {
        let mut e = ServiceError::new(status, "http://localhost/v2/rest/query");
        e.error = OneApiError::from_json(&serde_json::json!({
            "error": {"code": code, "message": "text"}
        }));
        DataError::Service(Box::new(e))
    }

    #[test]
    fn keys_come_from_variants_and_typed_fields() {
        assert_eq!(
            data_error_type(&service(503, "ServiceUnavailable")),
            "Service(503,ServiceUnavailable)"
        );
        let network = DataError::Network {
            endpoint: "http://localhost".into(),
            message: "Service(429,TooManyRequests) in the text changes nothing".into(),
            phase: NetworkPhase::Response,
            source: None,
        };
        assert_eq!(data_error_type(&network), "Network(Response)");
        let wrapped = IngestError::Kusto(service(429, "TooManyRequests"));
        assert_eq!(
            ingest_error_type(&wrapped),
            "Kusto.Service(429,TooManyRequests)"
        );
        assert_eq!(service_error(&wrapped).map(|e| e.status), Some(429));
        let storage = IngestError::Storage {
            service: kusto_ingest::StorageService::Queue,
            account: "a".into(),
            status: None,
            code: None,
            message: "Storage(blob,503,X)".into(),
        };
        let ambiguous = IngestError::EnqueueAmbiguous {
            source_id: Default::default(),
            cause: Box::new(storage),
        };
        assert_eq!(
            ingest_error_type(&ambiguous),
            "EnqueueAmbiguous(Storage(queue,-,-))"
        );
        assert_eq!(service_error(&ambiguous).map(|e| e.status), None);
    }

    #[test]
    fn counts_add_up_by_key() {
        let counts = ErrorCounts::default();
        counts.add("Timeout".into());
        counts.add("Timeout".into());
        counts.add("Network(Connect)".into());
        let snapshot = counts.snapshot();
        assert_eq!(snapshot.get("Timeout"), Some(&2));
        assert_eq!(snapshot.get("Network(Connect)"), Some(&1));
        assert_eq!(snapshot.len(), 2);
    }
}
