//! The query and management client ([`KustoClient`], built with [`KustoClientBuilder`]), each
//! request it sends ([`KustoRequest`]) and the settings of a request
//! ([`ClientRequestProperties`]); [`RestRequest`] for other REST endpoints of a cluster.
//!
//! ```no_run
//! # async fn run() -> kusto_data::Result<()> {
//! use std::time::Duration;
//! use kusto_data::{ClientRequestProperties, ConnectionString, KustoClient, RetryPolicy};
//!
//! let client = KustoClient::builder(ConnectionString::parse("http://127.0.0.1:8080/Samples")?)
//!     .retry_policy(RetryPolicy::default().with_max_attempts(6))
//!     .build()?;
//! let mut properties = ClientRequestProperties::new();
//! properties.set_server_timeout(Duration::from_secs(60));
//! let data = client
//!     .query("Samples", "StormEvents | count")
//!     .properties(&properties)
//!     .await?;
//! # Ok(()) }
//! ```

mod http;
mod kusto_client;
pub(crate) mod properties;
mod request;
mod tracing_headers;
pub(crate) mod transport;

pub use http::http_client_builder;
pub use kusto_client::{
    API_VERSION, DEFAULT_MGMT_TIMEOUT, DEFAULT_QUERY_TIMEOUT, DEFAULT_REST_TIMEOUT,
    DEFAULT_STREAMING_INGEST_TIMEOUT, DEFAULT_TIMEOUT_MARGIN, KustoClient, KustoClientBuilder,
    MAX_STREAMING_BODY, RestMethod, RestRequest, RestResponse, StreamingIngestOptions,
};
pub use properties::{
    ClientRequestProperties, MAX_SERVER_TIMEOUT, OPTION_DEFER_PARTIAL_QUERY_FAILURES,
    OPTION_NO_REQUEST_TIMEOUT, OPTION_READONLY, OPTION_SERVER_TIMEOUT,
};
pub use request::KustoRequest;
pub use tracing_headers::format_tracing_fields;
