//! The query and management client, and the settings of each request.

mod kusto_client;
pub(crate) mod properties;
mod tracing_headers;
mod transport;

pub use kusto_client::{
    API_VERSION, DEFAULT_MGMT_TIMEOUT, DEFAULT_QUERY_TIMEOUT, DEFAULT_REST_TIMEOUT,
    DEFAULT_STREAMING_INGEST_TIMEOUT, DEFAULT_TIMEOUT_MARGIN, KustoClient, KustoClientBuilder,
    MAX_STREAMING_BODY, RestMethod, RestRequest, RestResponse, StreamingIngestOptions,
};
pub use properties::{
    ClientRequestProperties, MAX_SERVER_TIMEOUT, OPTION_DEFER_PARTIAL_QUERY_FAILURES,
    OPTION_NO_REQUEST_TIMEOUT, OPTION_READONLY, OPTION_SERVER_TIMEOUT,
};
pub use tracing_headers::format_tracing_fields;
