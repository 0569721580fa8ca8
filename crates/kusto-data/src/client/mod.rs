//! The query and management client, and the settings of each request.

pub(crate) mod properties;
// The tracing headers are wired in with the HTTP client.
#[allow(dead_code)]
mod tracing_headers;
#[allow(dead_code)]
mod transport;

pub use properties::{
    ClientRequestProperties, MAX_SERVER_TIMEOUT, OPTION_DEFER_PARTIAL_QUERY_FAILURES,
    OPTION_NO_REQUEST_TIMEOUT, OPTION_READONLY, OPTION_SERVER_TIMEOUT,
};
pub use tracing_headers::format_tracing_fields;
