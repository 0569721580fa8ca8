//! The error type of this crate.
//!
//! One [`Error`] enum whose variants are decisions a caller can act on, and beside it the full
//! service error ([`ServiceError`], with the Kusto OneApi error object [`OneApiError`]) reachable
//! through [`Error::as_service_error`]. [`Error::is_transient`] and [`Error::is_permanent`]
//! classify any error once, in one place. Messages never contain a secret: URLs are shown
//! without their query string.
//!
//! ```no_run
//! # async fn run(client: kusto_data::KustoClient) {
//! match client.query("Samples", "StormEvents | count").await {
//!     Ok(data) => println!("{} tables", data.tables().len()),
//!     Err(error) if error.is_transient() => eprintln!("try again later: {error}"),
//!     Err(error) => match error.as_service_error() {
//!         Some(service) => eprintln!("the service refused it ({}): {error}", service.status),
//!         None => eprintln!("{error}"),
//!     },
//! }
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `kusto-data`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument or a configuration value is not valid. Retrying cannot help.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The service answered with an HTTP error status (4xx or 5xx, including 429 throttling).
    #[error(transparent)]
    Service(Box<ServiceError>),

    /// The request could not be sent, or the connection failed while the response was read.
    #[error("network error talking to {endpoint}: {message}")]
    Network {
        /// The endpoint, without its query string.
        endpoint: String,
        /// What failed.
        message: String,
        /// At which step of the exchange the failure happened: this tells whether the request
        /// can have reached the service ([`Error::may_have_reached_service`]).
        phase: NetworkPhase,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// No (complete) answer arrived within the client-side timeout.
    #[error("no response from {endpoint} within {timeout:?}")]
    Timeout {
        /// The endpoint, without its query string.
        endpoint: String,
        /// The timeout that expired.
        timeout: Duration,
    },

    /// The response does not follow the protocol (bad JSON, missing fields, truncated body).
    #[error("malformed response{}: {message}", .offset.map(|o| format!(" at byte {o}")).unwrap_or_default())]
    MalformedResponse {
        /// What is wrong.
        message: String,
        /// Byte offset in the response body where the problem was found, when known.
        offset: Option<u64>,
    },

    /// The response went past a size limit of the client: the whole answer above
    /// [`KustoClientBuilder::max_response_bytes`](crate::KustoClientBuilder::max_response_bytes),
    /// or one JSON value (a row, a cell, a frame's metadata) above
    /// [`ParserOptions::with_max_value_bytes`](crate::response::ParserOptions::with_max_value_bytes).
    /// Reading stopped there, so memory stays bounded whatever the server sends. Retrying the
    /// same request cannot help; raise the limit if the answer is legitimate.
    #[error("response too large: {message}")]
    ResponseTooLarge {
        /// The limit that was exceeded, in bytes (of decompressed body).
        limit: u64,
        /// What exceeded it and which setting raises it.
        message: String,
    },

    /// A local I/O operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The query failed part-way: the service reported errors inside a successful (HTTP 200)
    /// response. The rows received before the failure stay reachable through
    /// [`PartialFailure::data`](crate::response::PartialFailure::data).
    #[error(transparent)]
    PartialFailure(Box<crate::response::PartialFailure>),

    /// A value could not be converted to the Rust or Arrow type asked for (typed getters, serde
    /// rows, Arrow conversion).
    #[error(transparent)]
    Conversion(Box<ConversionError>),

    /// A table has no column with the given name, or fewer columns than the given index.
    #[error("table {table:?} has no column {column}")]
    ColumnNotFound {
        /// The column asked for: its name, or `#index`.
        column: String,
        /// The table's name.
        table: String,
    },

    /// A connection string could not be parsed or built.
    #[error(transparent)]
    ConnectionString(#[from] crate::connection_string::ConnectionStringError),

    /// No token could be obtained.
    #[error(transparent)]
    Auth(Box<crate::auth::AuthError>),

    /// The target host is not a trusted Kusto endpoint, so no token is sent to it.
    #[error(
        "can't communicate with '{host}': it is not a trusted Kusto endpoint{}; allow it for \
         this client with TrustedEndpoints::allow_host or allow_suffix (or an override policy) \
         in the client's options, see https://aka.ms/kustotrustedendpoints",
        .login_endpoint.as_deref().map(|l| format!(" for the login endpoint {l}")).unwrap_or_default()
    )]
    UntrustedEndpoint {
        /// The host that was refused.
        host: String,
        /// The login endpoint named by the cluster's cloud info, when it was fetched.
        login_endpoint: Option<String>,
    },
}

/// The step of an HTTP exchange at which a network error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkPhase {
    /// No connection could be made (refused, unreachable, TLS failure, connect timeout): the
    /// request never left the client.
    Connect,
    /// The connection was made but sending the request failed: the service may or may not
    /// have received all of it.
    Send,
    /// The request was sent and the connection failed while the answer was awaited or read:
    /// the service may have acted on it.
    Response,
    /// The service answered with a success status (2xx), then the connection failed, or the
    /// time ran out, while the body of that answer was read: the service acted on the request;
    /// only (the rest of) its answer is lost.
    AfterSuccess,
}

impl Error {
    /// The HTTP status of the service's answer, when it answered with an error status.
    pub fn status(&self) -> Option<u16> {
        self.as_service_error().map(|e| e.status)
    }

    /// True when no (complete) answer arrived within the client-side timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// True when no connection to the service could be made (the request was not sent).
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            Error::Network {
                phase: NetworkPhase::Connect,
                ..
            }
        )
    }

    /// True when the request can have reached the service, so that sending it again may make
    /// the service act twice (ingest the same rows twice, for instance). False only when the
    /// failure certainly happened before anything was sent: a connection that could not be
    /// made, a refused or invalid argument, an untrusted endpoint, or no token.
    pub fn may_have_reached_service(&self) -> bool {
        match self {
            Error::Network { phase, .. } => *phase != NetworkPhase::Connect,
            Error::InvalidArgument(_)
            | Error::ConnectionString(_)
            | Error::Auth(_)
            | Error::UntrustedEndpoint { .. }
            | Error::Io(_) => false,
            Error::Service(_)
            | Error::Timeout { .. }
            | Error::MalformedResponse { .. }
            | Error::ResponseTooLarge { .. }
            | Error::PartialFailure(_)
            | Error::Conversion(_)
            | Error::ColumnNotFound { .. } => true,
        }
    }

    /// True when the service certainly acted on the request although the call failed: it
    /// answered with a success status and the body of that answer was lost
    /// ([`NetworkPhase::AfterSuccess`]). A caller that needs the answer's content (an
    /// operation id, say) does not have it; a caller that only needs to know whether the
    /// request took effect does.
    pub fn took_effect(&self) -> bool {
        matches!(
            self,
            Error::Network {
                phase: NetworkPhase::AfterSuccess,
                ..
            }
        )
    }

    /// The service error, when the service answered with an error status.
    pub fn as_service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            _ => None,
        }
    }

    /// True when the same request may succeed if it is sent again later: throttling, 5xx,
    /// timeouts, network failures, and service errors marked `@permanent: false`.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Service(e) => e.is_transient(),
            Error::Network { .. } | Error::Timeout { .. } => true,
            Error::PartialFailure(failure) => failure.is_transient(),
            Error::Auth(e) => e.is_transient(),
            Error::InvalidArgument(_)
            | Error::MalformedResponse { .. }
            | Error::ResponseTooLarge { .. }
            | Error::Io(_)
            | Error::Conversion(_)
            | Error::ColumnNotFound { .. }
            | Error::ConnectionString(_)
            | Error::UntrustedEndpoint { .. } => false,
        }
    }

    /// True when sending the same request again cannot succeed.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }
}

/// A value that cannot be converted to the type asked for: names the row, the column, the
/// Kusto type and the Rust (or Arrow) type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConversionError {
    /// Index of the row in its table or batch, when the error concerns one row.
    pub row: Option<usize>,
    /// The column's name (empty when the error is not about one column, e.g. a missing field).
    pub column: String,
    /// The column's Kusto type name.
    pub kusto_type: String,
    /// The Rust or Arrow type asked for.
    pub rust_type: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot convert")?;
        if let Some(row) = self.row {
            write!(f, " row {row}")?;
        }
        if !self.column.is_empty() {
            write!(f, " column '{}'", self.column)?;
        }
        if !self.kusto_type.is_empty() {
            write!(f, " (Kusto {})", self.kusto_type)?;
        }
        if !self.rust_type.is_empty() {
            write!(f, " to {}", self.rust_type)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConversionError {}

impl From<ConversionError> for Error {
    fn from(value: ConversionError) -> Self {
        Error::Conversion(Box::new(value))
    }
}

impl From<ServiceError> for Error {
    fn from(value: ServiceError) -> Self {
        Error::Service(Box::new(value))
    }
}

/// An HTTP error answer of the Kusto service.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceError {
    /// HTTP status code.
    pub status: u16,
    /// The endpoint that answered, without its query string.
    pub endpoint: String,
    /// The OneApi error object, when the body carried one.
    pub error: Option<OneApiError>,
    /// The body text when it was not a OneApi error (plain text, HTML, empty), cut to 4 KiB.
    pub body: Option<String>,
    /// The `x-ms-client-request-id` of the request.
    pub client_request_id: Option<String>,
    /// The `x-ms-activity-id` the service returned.
    pub activity_id: Option<String>,
    /// The delay the service asked for in `Retry-After` (429, 503).
    pub retry_after: Option<Duration>,
}

impl ServiceError {
    /// Creates a service error for `status` answered by `endpoint`.
    pub fn new(status: u16, endpoint: impl Into<String>) -> Self {
        ServiceError {
            status,
            endpoint: endpoint.into(),
            error: None,
            body: None,
            client_request_id: None,
            activity_id: None,
            retry_after: None,
        }
    }

    /// The Kusto error code (`code` of the OneApi error), e.g. `General_BadRequest`.
    pub fn code(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.code.as_str())
    }

    /// True for HTTP 429.
    pub fn is_throttled(&self) -> bool {
        self.status == 429
    }

    /// Transient unless the service said otherwise: `@permanent` decides when present, else
    /// 408, 429 and 5xx are transient and every other status is permanent.
    pub fn is_transient(&self) -> bool {
        if let Some(permanent) = self.error.as_ref().and_then(|e| e.permanent) {
            return !permanent;
        }
        matches!(self.status, 408 | 429) || self.status >= 500
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {}", self.endpoint, self.status)?;
        if let Some(error) = &self.error {
            write!(f, ": {error}")?;
        } else if let Some(body) = self.body.as_deref().filter(|b| !b.trim().is_empty()) {
            write!(f, ": {}", body.trim())?;
        }
        if let Some(id) = &self.client_request_id {
            write!(f, " (client request id {id}")?;
            if let Some(activity) = &self.activity_id {
                write!(f, ", activity id {activity}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

/// The Kusto "OneApi" error object: the `error` member of an error body, of a partial-failure
/// row or of a `OneApiErrors` array.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OneApiError {
    /// `code`: short error code, e.g. `General_BadRequest`, `LimitsExceeded`.
    pub code: String,
    /// `message`: generic human text.
    pub message: String,
    /// `@type`: the .NET exception type name.
    pub error_type: Option<String>,
    /// `@message`: the detailed message that explains the failure.
    pub description: Option<String>,
    /// `@permanent`: whether retrying can help. `None` when the service did not say.
    pub permanent: Option<bool>,
    /// `@context`: correlation data (activity id, client request id, timestamp, ...).
    pub context: Map<String, Value>,
    /// `innererror`, when present.
    pub inner: Option<Box<OneApiError>>,
}

impl OneApiError {
    /// Reads a OneApi error from JSON: either `{"error": {...}}` or the inner object itself.
    /// Returns `None` when the value has neither `code` nor `message`.
    pub fn from_json(value: &Value) -> Option<Self> {
        let object = value.get("error").unwrap_or(value).as_object()?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        let code = text("code");
        let message = text("message");
        if code.is_none() && message.is_none() {
            return None;
        }
        Some(OneApiError {
            code: code.unwrap_or_default(),
            message: message.unwrap_or_default(),
            error_type: text("@type"),
            description: text("@message"),
            permanent: object.get("@permanent").and_then(Value::as_bool),
            context: object
                .get("@context")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            inner: object
                .get("innererror")
                .and_then(OneApiError::from_json)
                .map(Box::new),
        })
    }

    /// The most detailed message available: `@message`, else `message`.
    pub fn detail(&self) -> &str {
        self.description
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(&self.message)
    }

    /// The activity id from `@context`, when present.
    pub fn activity_id(&self) -> Option<&str> {
        self.context.get("activityId").and_then(Value::as_str)
    }
}

impl fmt::Display for OneApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code.is_empty() {
            f.write_str(self.detail())
        } else {
            write!(f, "{}: {}", self.code, self.detail())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_api_error_reads_every_field() {
        let body = json!({"error": {"code": "General_BadRequest", "message": "Request is invalid.",
            "@type": "Kusto.Data.Exceptions.KustoBadRequestException",
            "@message": "Semantic error: x", "@permanent": true,
            "@context": {"activityId": "a-1"},
            "innererror": {"code": "SEM0100", "message": "inner"}}});
        let error = OneApiError::from_json(&body).unwrap();
        assert_eq!(error.code, "General_BadRequest");
        assert_eq!(error.detail(), "Semantic error: x");
        assert_eq!(error.permanent, Some(true));
        assert_eq!(error.activity_id(), Some("a-1"));
        assert_eq!(error.inner.unwrap().code, "SEM0100");
        assert!(OneApiError::from_json(&json!({"error": {}})).is_none());
    }

    #[test]
    fn permanent_flag_overrides_status() {
        let mut error = ServiceError::new(500, "https://x/v2/rest/query");
        assert!(error.is_transient());
        error.error =
            OneApiError::from_json(&json!({"code": "X", "message": "m", "@permanent": true}));
        assert!(!error.is_transient());
        let error = ServiceError::new(400, "https://x/v2/rest/query");
        assert!(Error::from(error).is_permanent());
        assert!(ServiceError::new(429, "e").is_transient());
    }

    #[test]
    fn conversion_and_missing_column_errors_are_permanent() {
        let conversion = Error::from(ConversionError {
            row: Some(3),
            column: "n".into(),
            kusto_type: "long".into(),
            rust_type: "u8".into(),
            message: "invalid value".into(),
        });
        assert!(conversion.is_permanent());
        assert_eq!(
            conversion.to_string(),
            "cannot convert row 3 column 'n' (Kusto long) to u8: invalid value"
        );
        let missing = Error::ColumnNotFound {
            column: "'x'".into(),
            table: "T".into(),
        };
        assert!(missing.is_permanent());
        assert_eq!(missing.to_string(), "table \"T\" has no column 'x'");
    }
}
