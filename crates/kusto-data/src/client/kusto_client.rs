//! [`KustoClient`]: queries, management commands and streaming ingestion over HTTP.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use tracing::Instrument;

use super::properties::ClientRequestProperties;
use super::request::KustoRequest;
use super::tracing_headers::{client_version, default_application, default_user, header_safe};
use super::transport::{BodyStream, service_error, transport_error};
use crate::auth::{Authenticator, CloudInfo};
use crate::connection_string::{ConnectionString, DEFAULT_DATABASE};
use crate::data_format::DataFormat;
use crate::error::{Error, NetworkPhase, Result};
use crate::response::{DataSet, ParserOptions, V2EventStream, read_v1_with_options};
use crate::retry::RetryPolicy;
use crate::trusted_endpoints::TrustedEndpoints;

/// The `x-ms-version` this client speaks.
pub const API_VERSION: &str = "2024-12-12";
/// Server timeout of queries when the request does not set one (the service's default).
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(4 * 60);
/// Server timeout of management commands when the request does not set one (the service's
/// default).
pub const DEFAULT_MGMT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Timeout of streaming ingestion requests.
pub const DEFAULT_STREAMING_INGEST_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// What the client waits beyond the server timeout before giving up itself, so that the
/// service's own, more informative timeout error arrives first.
pub const DEFAULT_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);
/// The largest request body the service accepts for streaming ingestion (10 MiB); larger bodies
/// are refused before they are sent.
pub const MAX_STREAMING_BODY: usize = 10 * 1024 * 1024;

/// The REST endpoint a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    QueryV2,
    QueryV1,
    Management,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::QueryV2 => "v2/rest/query",
            Endpoint::QueryV1 => "v1/rest/query",
            Endpoint::Management => "v1/rest/mgmt",
        }
    }

    fn default_timeout(self) -> Duration {
        match self {
            Endpoint::QueryV2 | Endpoint::QueryV1 => DEFAULT_QUERY_TIMEOUT,
            Endpoint::Management => DEFAULT_MGMT_TIMEOUT,
        }
    }
}

/// Timeout of [`KustoClient::execute_rest`] requests when their properties set none.
pub const DEFAULT_REST_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP method of a [`RestRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestMethod {
    /// `GET`.
    Get,
    /// `POST` with a JSON body.
    Post,
}

/// A request to a REST endpoint of the cluster, sent by [`KustoClient::execute_rest`].
#[derive(Debug, Clone)]
pub struct RestRequest {
    method: RestMethod,
    path: Vec<String>,
    query: Vec<(String, String)>,
    body: Option<Bytes>,
    properties: Option<ClientRequestProperties>,
    idempotent: bool,
    request_id_prefix: String,
    max_body: usize,
}

impl RestRequest {
    /// A `GET` of the path made of `segments` (each percent-encoded as one path segment), below
    /// the cluster URL. Idempotent, so retried on transient failures.
    pub fn get<I, S>(segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RestRequest {
            method: RestMethod::Get,
            path: segments.into_iter().map(Into::into).collect(),
            query: Vec::new(),
            body: None,
            properties: None,
            idempotent: true,
            request_id_prefix: "KRC.executeRest;".to_owned(),
            max_body: 64 << 20,
        }
    }

    /// A `POST` of `body` (JSON) to the path made of `segments`. Not idempotent unless marked so.
    pub fn post<I, S>(segments: I, body: &serde_json::Value) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut request = Self::get(segments);
        request.method = RestMethod::Post;
        request.body = Some(Bytes::from(body.to_string()));
        request.idempotent = false;
        request
    }

    /// Adds a query-string parameter.
    #[must_use]
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Request properties: client request id, application and user for tracing, server
    /// timeout (`servertimeout`) and retry policy. Their options are not sent.
    #[must_use]
    pub fn properties(mut self, properties: ClientRequestProperties) -> Self {
        self.properties = Some(properties);
        self
    }

    /// Whether sending the request twice is harmless, so that transient failures are retried
    /// with the client's policy.
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The prefix of the generated client request id (default `KRC.executeRest;`); a uuid
    /// follows it.
    #[must_use]
    pub fn request_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.request_id_prefix = prefix.into();
        self
    }

    /// The largest success body read (default 64 MiB).
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The method.
    pub fn method(&self) -> RestMethod {
        self.method
    }

    /// The path segments.
    pub fn path(&self) -> &[String] {
        &self.path
    }
}

/// A successful (2xx) answer of [`KustoClient::execute_rest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestResponse {
    /// The HTTP status.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
    /// The client request id the request was sent with.
    pub client_request_id: String,
}

impl RestResponse {
    /// The body parsed as JSON into `T`; a body that does not parse is
    /// [`Error::MalformedResponse`] quoting its start.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let text = String::from_utf8_lossy(&self.body);
            let start: String = text.chars().take(200).collect();
            Error::MalformedResponse {
                message: format!(
                    "the answer is not the JSON expected ({e}); it starts with {start:?}"
                ),
                offset: None,
            }
        })
    }
}

/// Options of a streaming-ingestion request ([`KustoClient::execute_streaming_ingest`]).
///
/// ```
/// use kusto_data::client::StreamingIngestOptions;
/// let options = StreamingIngestOptions::new().with_mapping_name("EventsJson").with_compressed(true);
/// assert!(options.compressed);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StreamingIngestOptions {
    /// Name of an ingestion mapping created on the table beforehand (`mappingName`). Inline
    /// mappings are not supported by streaming ingestion.
    pub mapping_name: Option<String>,
    /// True when the body is already gzip-compressed (sent with `Content-Encoding: gzip`).
    pub compressed: bool,
    /// Request id, tracing names and timeout (`servertimeout`); its options are not sent.
    pub properties: Option<ClientRequestProperties>,
}

impl StreamingIngestOptions {
    /// No mapping, an uncompressed body, default request properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses the mapping named `name`, created on the table beforehand.
    #[must_use]
    pub fn with_mapping_name(mut self, name: impl Into<String>) -> Self {
        self.mapping_name = Some(name.into());
        self
    }

    /// States whether the body is gzip-compressed.
    #[must_use]
    pub fn with_compressed(mut self, compressed: bool) -> Self {
        self.compressed = compressed;
        self
    }

    /// Sets the request properties (request id, tracing names, timeout).
    #[must_use]
    pub fn with_properties(mut self, properties: ClientRequestProperties) -> Self {
        self.properties = Some(properties);
        self
    }
}

/// The client for queries, management commands and streaming ingestion against one cluster.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`; create one per cluster and share it. Every
/// request authenticates through the connection string's method, after the cluster's host has
/// been checked against the trusted endpoints; carries the tracing headers (`x-ms-app`,
/// `x-ms-user`, `x-ms-client-version`) and a client request id (`KRC.execute;<uuid>` unless
/// the request properties give one); never follows redirects; and waits for the server timeout
/// plus a margin (30 s by default) before giving up.
///
/// Queries and read-only management commands (`.show ...`, `.get ...`, or `request_readonly`)
/// are retried on transient failures with the client's [`RetryPolicy`]; other commands only
/// when the request's properties carry a retry policy.
///
/// ```no_run
/// # async fn run() -> kusto_data::Result<()> {
/// use kusto_data::{ConnectionString, KustoClient};
///
/// let client = KustoClient::new(ConnectionString::parse("http://127.0.0.1:8080/Samples")?)?;
/// let data = client.query("Samples", "StormEvents | take 10").await?;
/// for row in data.primary_result().into_iter().flat_map(|t| t.rows()) {
///     println!("{:?}", row.get_string("State")?);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KustoClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    cluster: Url,
    database: Option<String>,
    authenticator: Authenticator,
    retry: RetryPolicy,
    timeout_margin: Duration,
    parser: ParserOptions,
    max_response: Option<u64>,
    application: String,
    user: String,
    client_version: String,
}

impl fmt::Debug for KustoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KustoClient")
            .field("cluster", &crate::redact::url(&self.inner.cluster))
            .field("database", &self.inner.database)
            .field("authentication", &self.inner.authenticator.method_name())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`KustoClient`]. Every method records the first error; [`build`](Self::build)
/// reports it, so a builder never panics.
#[must_use]
pub struct KustoClientBuilder {
    connection_string: ConnectionString,
    http: Option<reqwest::Client>,
    proxy: Option<reqwest::Proxy>,
    connect_timeout: Duration,
    trusted: Option<TrustedEndpoints>,
    cloud_infos: Vec<(String, CloudInfo)>,
    retry: RetryPolicy,
    timeout_margin: Duration,
    parser: ParserOptions,
    max_response: Option<u64>,
    application: Option<String>,
    user: Option<String>,
}

impl fmt::Debug for KustoClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KustoClientBuilder")
            .field("connection_string", &self.connection_string)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl KustoClientBuilder {
    /// Uses this `reqwest` client for every request (the cluster, cloud info and token
    /// endpoints). Build it with `redirect(reqwest::redirect::Policy::none())`: a login endpoint
    /// that redirects must not receive a secret twice. Proxy and connect-timeout settings of
    /// this builder are then ignored, since they belong to the client given.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Sends every request through this proxy.
    pub fn proxy(mut self, proxy: reqwest::Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// How long to wait for a TCP/TLS connection (default 20 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The trusted-endpoint policy of this client (default: the built-in list of Kusto hosts;
    /// loopback hosts are always allowed).
    pub fn trusted_endpoints(mut self, policy: TrustedEndpoints) -> Self {
        self.trusted = Some(policy);
        self
    }

    /// Uses `info` for clusters at `authority` (`https://host[:port]`) instead of fetching
    /// `/v1/rest/auth/metadata`.
    pub fn cloud_info(mut self, authority: impl Into<String>, info: CloudInfo) -> Self {
        self.cloud_infos.push((authority.into(), info));
        self
    }

    /// The retry policy of queries and read-only commands (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long beyond the server timeout the client waits before it gives up (default 30 s).
    pub fn timeout_margin(mut self, margin: Duration) -> Self {
        self.timeout_margin = margin;
        self
    }

    /// Limits of streamed results: rows and bytes per batch. Memory held by a streamed query
    /// is bounded by these, whatever the size of the result.
    pub fn parser_options(mut self, options: ParserOptions) -> Self {
        self.parser = options;
        self
    }

    /// The application name sent in `x-ms-app` (default: the connection string's
    /// `Application Name for Tracing`, else the executable's name).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application = Some(name.into());
        self
    }

    /// The user name sent in `x-ms-user` (default: the connection string's
    /// `User Name for Tracing`, else the OS user).
    pub fn user_name(mut self, name: impl Into<String>) -> Self {
        self.user = Some(name.into());
        self
    }

    /// The most bytes any one answer may have, counted after decompression (default: no
    /// limit). Past it, reading stops with [`Error::ResponseTooLarge`]: a server that sends
    /// without end, or a small gzip body that inflates to gigabytes, costs at most this much
    /// memory in a collected call (an awaited [`KustoClient::query`] or [`KustoClient::mgmt`],
    /// streaming ingestion). It applies to streamed queries too, where memory is bounded anyway,
    /// so leave it unset to stream results of any size. Whatever this setting, no single JSON
    /// value may exceed [`ParserOptions::max_value_bytes`], and the whole answer must arrive
    /// within the request's timeout (the server timeout plus the margin).
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response = Some(bytes);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<KustoClient> {
        let http = match self.http {
            Some(http) => http,
            None => {
                let mut builder = super::http::http_client_builder()?
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(self.connect_timeout)
                    .pool_idle_timeout(Duration::from_secs(90))
                    .tcp_keepalive(Duration::from_secs(30));
                if let Some(proxy) = self.proxy {
                    builder = builder.proxy(proxy);
                }
                builder.build().map_err(|e| {
                    Error::InvalidArgument(format!("cannot build the HTTP client: {e}"))
                })?
            }
        };
        let cs = &self.connection_string;
        let mut auth = Authenticator::builder(cs, http.clone());
        if let Some(trusted) = self.trusted {
            auth = auth.trusted_endpoints(trusted);
        }
        for (authority, info) in self.cloud_infos {
            auth = auth.cloud_info(&authority, info);
        }
        let authenticator = auth.build()?;
        let mut cluster = cs.data_source().clone();
        cluster.set_query(None);
        cluster.set_fragment(None);
        if !cluster.path().ends_with('/') {
            let path = format!("{}/", cluster.path());
            cluster.set_path(&path);
        }
        let application = self
            .application
            .or_else(|| cs.application_name_for_tracing().map(str::to_owned))
            .unwrap_or_else(default_application);
        let user = self
            .user
            .or_else(|| cs.user_name_for_tracing().map(str::to_owned))
            .unwrap_or_else(default_user);
        Ok(KustoClient {
            inner: Arc::new(Inner {
                http,
                database: cs.database().map(str::to_owned),
                cluster,
                authenticator,
                retry: self.retry,
                timeout_margin: self.timeout_margin,
                parser: self.parser,
                max_response: self.max_response,
                application,
                user,
                client_version: client_version(),
            }),
        })
    }
}

/// True when a management command only reads, so sending it twice is harmless: its verb is
/// `.show` (`.show tables`, `.show version`, ...) or `.get` (`.get ingestion resources`,
/// `.get kusto identity token`).
fn is_readonly_command(command: &str) -> bool {
    let verb = command
        .trim_start()
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or_default();
    verb.eq_ignore_ascii_case(".show") || verb.eq_ignore_ascii_case(".get")
}

/// How long the client waits for the response of a request to `endpoint`: the server timeout
/// the properties ask for (`servertimeout` in any spelling, or `norequesttimeout`), else the
/// service's default for the endpoint (4 min for queries, 10 min for management commands), plus
/// `margin`.
fn client_timeout(
    endpoint: Endpoint,
    properties: Option<&ClientRequestProperties>,
    margin: Duration,
) -> Result<Duration> {
    let server_timeout = match properties {
        Some(p) => p.server_timeout()?,
        None => None,
    }
    .unwrap_or_else(|| endpoint.default_timeout());
    Ok(server_timeout.saturating_add(margin))
}

impl KustoClient {
    /// A client for the cluster of `connection_string` with default settings.
    pub fn new(connection_string: ConnectionString) -> Result<Self> {
        Self::builder(connection_string).build()
    }

    /// A builder for a client of the cluster of `connection_string`.
    pub fn builder(connection_string: ConnectionString) -> KustoClientBuilder {
        KustoClientBuilder {
            connection_string,
            http: None,
            proxy: None,
            connect_timeout: Duration::from_secs(20),
            trusted: None,
            cloud_infos: Vec::new(),
            retry: RetryPolicy::default(),
            timeout_margin: DEFAULT_TIMEOUT_MARGIN,
            parser: ParserOptions::default(),
            max_response: None,
            application: None,
            user: None,
        }
    }

    /// The cluster URL requests go to.
    pub fn cluster_url(&self) -> &Url {
        &self.inner.cluster
    }

    /// The database of the connection string, if it names one.
    pub fn default_database(&self) -> Option<&str> {
        self.inner.database.as_deref()
    }

    /// The application name sent in `x-ms-app`.
    pub fn application_name(&self) -> &str {
        &self.inner.application
    }

    /// The client version sent in `x-ms-client-version`.
    pub fn client_version(&self) -> &str {
        &self.inner.client_version
    }

    /// The HTTP client every request of this client goes through (its proxy and timeouts); the
    /// ingestion clients of `kusto-ingest` send their storage requests through it too.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The authenticator (cloud info, tokens) of this client.
    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    /// A query (`POST /v2/rest/query`) of `database`, to be awaited (every table collected
    /// into a [`DataSet`]) or read as a stream; options are added with the methods of
    /// [`KustoRequest`]. An empty `database` means the connection string's.
    ///
    /// ```no_run
    /// # async fn run(client: kusto_data::KustoClient) -> kusto_data::Result<()> {
    /// let data = client.query("Samples", "StormEvents | take 10").await?;
    /// # Ok(()) }
    /// ```
    pub fn query<'a>(&'a self, database: &'a str, query: &'a str) -> KustoRequest<'a> {
        KustoRequest::query(self, database, query)
    }

    /// A management command (`POST /v1/rest/mgmt`), to be awaited. Retried on transient
    /// failures only when it is read-only (`.show ...`, `.get ...` or `request_readonly`) or its
    /// properties carry a retry policy.
    ///
    /// ```no_run
    /// # async fn run(client: kusto_data::KustoClient) -> kusto_data::Result<()> {
    /// let tables = client.mgmt("Samples", ".show tables").await?;
    /// # Ok(()) }
    /// ```
    pub fn mgmt<'a>(&'a self, database: &'a str, command: &'a str) -> KustoRequest<'a> {
        KustoRequest::command(self, database, command)
    }

    /// `text` as a management command when it starts with `.`, else as a query.
    pub fn execute<'a>(&'a self, database: &'a str, text: &'a str) -> KustoRequest<'a> {
        if text.trim_start().starts_with('.') {
            self.mgmt(database, text)
        } else {
            self.query(database, text)
        }
    }

    /// Sends a query and returns its answer as a stream of events.
    #[doc(hidden)]
    #[deprecated(note = "use `client.query(database, query).stream()`")]
    pub async fn execute_query_stream(
        &self,
        database: &str,
        query: &str,
        properties: Option<&ClientRequestProperties>,
    ) -> Result<V2EventStream> {
        self.stream(database, query, properties).await
    }

    /// Sends a query and returns the response as a stream of events; only the sending of the
    /// request is retried.
    pub(super) async fn stream(
        &self,
        database: &str,
        query: &str,
        properties: Option<&ClientRequestProperties>,
    ) -> Result<V2EventStream> {
        let retry = self.retry_for(properties, true);
        let timeout = client_timeout(Endpoint::QueryV2, properties, self.inner.timeout_margin)?;
        let response = retry
            .run(
                |_| self.send(Endpoint::QueryV2, database, query, properties),
                is_retryable,
            )
            .await?;
        Ok(self.v2_events(response, timeout))
    }

    /// Streaming ingestion (`POST /v1/rest/ingest/{database}/{table}`) of one body of data in
    /// `format`. The body must fit the service's 10 MiB request limit (and 4 MB of uncompressed
    /// data); larger bodies are refused before sending. Not retried: the service may have
    /// ingested a body whose answer was lost, so retrying is the caller's decision (the
    /// ingestion clients of `kusto-ingest` make it). Returns the service's v1 answer, if it
    /// sent one.
    pub async fn execute_streaming_ingest(
        &self,
        database: &str,
        table: &str,
        data: Bytes,
        format: DataFormat,
        options: &StreamingIngestOptions,
    ) -> Result<Option<DataSet>> {
        if data.len() > MAX_STREAMING_BODY {
            return Err(Error::InvalidArgument(format!(
                "a streaming ingestion body may hold at most {MAX_STREAMING_BODY} bytes, this one \
                 has {}; use queued ingestion",
                data.len()
            )));
        }
        let url = self.streaming_url(database, table, format, options, false)?;
        let content_type = HeaderValue::from_static("application/octet-stream");
        self.send_streaming(
            url,
            data,
            content_type,
            options,
            "KRC.executeStreamingIngest;",
        )
        .await
    }

    /// Streaming ingestion from a blob (`sourceKind=uri`): the service reads the blob at
    /// `blob_url` (with its SAS) itself.
    pub async fn execute_streaming_ingest_from_blob(
        &self,
        database: &str,
        table: &str,
        blob_url: &str,
        format: DataFormat,
        options: &StreamingIngestOptions,
    ) -> Result<Option<DataSet>> {
        let url = self.streaming_url(database, table, format, options, true)?;
        let body = Bytes::from(json!({ "sourceUri": blob_url }).to_string());
        let content_type = HeaderValue::from_static("application/json; charset=utf-8");
        let options = StreamingIngestOptions {
            compressed: false,
            ..options.clone()
        };
        self.send_streaming(
            url,
            body,
            content_type,
            &options,
            "KRC.executeStreamingIngestFromBlob;",
        )
        .await
    }

    /// Sends a request to another REST endpoint of the cluster, such as the REST ingestion API
    /// of the data-management service (`GET /v1/rest/ingestion/configuration`,
    /// `POST /v1/rest/ingestion/queued/{database}/{table}`, the operation status), with the same
    /// authentication, trusted-endpoint check, tracing headers, client request id, timeouts and
    /// error classification as queries.
    ///
    /// A request marked [`idempotent`](RestRequest::idempotent) (every `GET` by default) is
    /// retried on transient failures with the client's [`RetryPolicy`]; others only when the
    /// request's properties carry a retry policy. An answer outside 2xx is
    /// [`Error::Service`] (its [`status`](Error::status) tells e.g. 404 from 429); a success
    /// body larger than [`RestRequest::max_body`] is refused.
    ///
    /// ```no_run
    /// # async fn run(client: kusto_data::KustoClient) -> kusto_data::Result<()> {
    /// use kusto_data::client::RestRequest;
    /// let response = client
    ///     .execute_rest(RestRequest::get(["v1", "rest", "ingestion", "configuration"]))
    ///     .await?;
    /// let configuration: serde_json::Value = response.json()?;
    /// # Ok(()) }
    /// ```
    pub async fn execute_rest(&self, request: RestRequest) -> Result<RestResponse> {
        let properties = request.properties.as_ref();
        let retry = self.retry_for(properties, request.idempotent);
        retry.run(|_| self.send_rest(&request), is_retryable).await
    }

    async fn send_rest(&self, request: &RestRequest) -> Result<RestResponse> {
        let mut url = self.endpoint_url("")?;
        {
            let mut segments = url.path_segments_mut().map_err(|()| {
                Error::InvalidArgument(format!(
                    "the cluster URL {} cannot take a path",
                    crate::redact::url(&self.inner.cluster)
                ))
            })?;
            segments.pop_if_empty();
            for segment in &request.path {
                segments.push(segment);
            }
        }
        if !request.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &request.query {
                pairs.append_pair(name, value);
            }
        }
        let properties = request.properties.as_ref();
        let request_id = properties
            .and_then(ClientRequestProperties::client_request_id)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}{}", request.request_id_prefix, uuid::Uuid::new_v4()));
        let timeout = properties
            .map(ClientRequestProperties::server_timeout)
            .transpose()?
            .flatten()
            .unwrap_or(DEFAULT_REST_TIMEOUT)
            .saturating_add(self.inner.timeout_margin);
        let mut headers = self.headers(&request_id, properties)?;
        let body = match &request.body {
            Some(body) => {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
                Some(reqwest::Body::from(body.clone()))
            }
            None => None,
        };
        let method = match request.method {
            RestMethod::Get => reqwest::Method::GET,
            RestMethod::Post => reqwest::Method::POST,
        };
        let span = tracing::debug_span!(
            "kusto.rest",
            path = %request.path.join("/"),
            client_request_id = %request_id
        );
        let max_body = request.max_body;
        async {
            let response = self
                .send_http(method, url, headers, body, timeout, &request_id)
                .await?;
            let status = response.status().as_u16();
            let mut stream = Box::pin(self.body(response, timeout));
            let mut bytes = Vec::new();
            while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
                let chunk = chunk.map_err(|e| answer_cut(e, status))?;
                if bytes.len() + chunk.len() > max_body {
                    return Err(Error::MalformedResponse {
                        message: format!("the answer is larger than {max_body} bytes"),
                        offset: Some(bytes.len() as u64),
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(RestResponse {
                status,
                body: Bytes::from(bytes),
                client_request_id: request_id.clone(),
            })
        }
        .instrument(span)
        .await
    }

    /// Sends a query or command and reads its whole answer. Queries may be sent twice, and
    /// management commands when they only read.
    pub(super) async fn collect(
        &self,
        endpoint: Endpoint,
        database: &str,
        text: &str,
        properties: Option<&ClientRequestProperties>,
    ) -> Result<DataSet> {
        let idempotent = match endpoint {
            Endpoint::QueryV2 | Endpoint::QueryV1 => true,
            Endpoint::Management => {
                is_readonly_command(text) || properties.is_some_and(|p| p.is_readonly())
            }
        };
        self.collect_with(endpoint, database, text, properties, idempotent)
            .await
    }

    /// Sends a request and reads its whole answer, retrying transient failures of the whole
    /// exchange when the request may be sent twice.
    async fn collect_with(
        &self,
        endpoint: Endpoint,
        database: &str,
        text: &str,
        properties: Option<&ClientRequestProperties>,
        idempotent: bool,
    ) -> Result<DataSet> {
        let retry = self.retry_for(properties, idempotent);
        let timeout = client_timeout(endpoint, properties, self.inner.timeout_margin)?;
        retry
            .run(
                |_| async {
                    let response = self.send(endpoint, database, text, properties).await?;
                    match endpoint {
                        Endpoint::QueryV2 => {
                            self.v2_events(response, timeout).collect_dataset().await
                        }
                        Endpoint::QueryV1 | Endpoint::Management => {
                            read_v1_with_options(self.body(response, timeout), self.inner.parser)
                                .await
                        }
                    }
                },
                is_retryable,
            )
            .await
    }

    fn streaming_url(
        &self,
        database: &str,
        table: &str,
        format: DataFormat,
        options: &StreamingIngestOptions,
        from_blob: bool,
    ) -> Result<Url> {
        let mut url = self.endpoint_url("v1/rest/ingest")?;
        url.path_segments_mut()
            .map_err(|()| {
                Error::InvalidArgument(format!(
                    "the cluster URL {} cannot take a path",
                    crate::redact::url(&self.inner.cluster)
                ))
            })?
            .pop_if_empty()
            .push(self.database_or_default(database))
            .push(table);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("streamFormat", format.wire_name());
            if let Some(mapping) = options.mapping_name.as_deref().filter(|m| !m.is_empty()) {
                query.append_pair("mappingName", mapping);
            }
            if from_blob {
                query.append_pair("sourceKind", "uri");
            }
        }
        Ok(url)
    }

    async fn send_streaming(
        &self,
        url: Url,
        body: Bytes,
        content_type: HeaderValue,
        options: &StreamingIngestOptions,
        request_id_prefix: &str,
    ) -> Result<Option<DataSet>> {
        let properties = options.properties.as_ref();
        let request_id = properties
            .and_then(ClientRequestProperties::client_request_id)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{request_id_prefix}{}", uuid::Uuid::new_v4()));
        let timeout = properties
            .map(ClientRequestProperties::server_timeout)
            .transpose()?
            .flatten()
            .unwrap_or(DEFAULT_STREAMING_INGEST_TIMEOUT)
            .saturating_add(self.inner.timeout_margin);
        let mut headers = self.headers(&request_id, properties)?;
        headers.insert(reqwest::header::CONTENT_TYPE, content_type);
        if options.compressed {
            headers.insert(
                reqwest::header::CONTENT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
        }
        let span = tracing::debug_span!("kusto.streaming_ingest", client_request_id = %request_id);
        async {
            let response = self
                .post(url, headers, body.into(), timeout, &request_id)
                .await?;
            let mut body = Box::pin(self.body(response, timeout));
            let mut bytes = Vec::new();
            while let Some(chunk) = futures::StreamExt::next(&mut body).await {
                match chunk {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(error @ (Error::Network { .. } | Error::Timeout { .. })) => {
                        // The success status is the service's word that the rows were
                        // committed; only the answer's body (statistics) is lost.
                        tracing::warn!(
                            client_request_id = %request_id,
                            %error,
                            "streaming ingestion answered with a success status, then its answer \
                             was cut: the data was ingested; the answer's body is lost"
                        );
                        return Ok(None);
                    }
                    Err(error) => return Err(error),
                }
            }
            // An empty success body is a valid answer of streaming ingestion.
            if bytes.iter().all(u8::is_ascii_whitespace) {
                Ok(None)
            } else {
                crate::response::parse_v1(&bytes).map(Some)
            }
        }
        .instrument(span)
        .await
    }

    fn retry_for(
        &self,
        properties: Option<&ClientRequestProperties>,
        idempotent: bool,
    ) -> RetryPolicy {
        match properties.and_then(ClientRequestProperties::retry_policy) {
            Some(policy) => policy.clone(),
            None if idempotent => self.inner.retry.clone(),
            None => RetryPolicy::none(),
        }
    }

    fn database_or_default<'a>(&'a self, database: &'a str) -> &'a str {
        if database.is_empty() {
            self.inner.database.as_deref().unwrap_or(DEFAULT_DATABASE)
        } else {
            database
        }
    }

    fn endpoint_url(&self, path: &str) -> Result<Url> {
        self.inner.cluster.join(path).map_err(|e| {
            Error::InvalidArgument(format!(
                "cannot build the request URL from {}: {e}",
                crate::redact::url(&self.inner.cluster)
            ))
        })
    }

    fn headers(
        &self,
        request_id: &str,
        properties: Option<&ClientRequestProperties>,
    ) -> Result<HeaderMap> {
        let application = properties
            .and_then(ClientRequestProperties::application)
            .unwrap_or(&self.inner.application);
        let user = properties
            .and_then(ClientRequestProperties::user)
            .unwrap_or(&self.inner.user);
        let mut headers = HeaderMap::new();
        let mut set = |name: &'static str, value: &str| -> Result<()> {
            let value = HeaderValue::from_str(&header_safe(value)).map_err(|e| {
                Error::InvalidArgument(format!("the value of header {name} is not valid: {e}"))
            })?;
            headers.insert(HeaderName::from_static(name), value);
            Ok(())
        };
        set("accept", "application/json")?;
        set("x-ms-version", API_VERSION)?;
        set("x-ms-client-request-id", request_id)?;
        set("x-ms-app", application)?;
        set("x-ms-user", user)?;
        set("x-ms-client-version", &self.inner.client_version)?;
        Ok(headers)
    }

    /// Sends a query or command and returns the response once its status is a success.
    async fn send(
        &self,
        endpoint: Endpoint,
        database: &str,
        text: &str,
        properties: Option<&ClientRequestProperties>,
    ) -> Result<reqwest::Response> {
        let url = self.endpoint_url(endpoint.path())?;
        let request_id = properties
            .and_then(ClientRequestProperties::client_request_id)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("KRC.execute;{}", uuid::Uuid::new_v4()));
        let timeout = client_timeout(endpoint, properties, self.inner.timeout_margin)?;
        let mut body = json!({"db": self.database_or_default(database), "csl": text});
        if let Some(properties) = properties {
            body["properties"] = properties.to_json();
        }
        let mut headers = self.headers(&request_id, properties)?;
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let span = tracing::debug_span!(
            "kusto.request",
            endpoint = endpoint.path(),
            client_request_id = %request_id
        );
        self.post(url, headers, body.to_string().into(), timeout, &request_id)
            .instrument(span)
            .await
    }

    /// Authenticates and posts; the timeout covers the wait for the response headers.
    async fn post(
        &self,
        url: Url,
        headers: HeaderMap,
        body: reqwest::Body,
        timeout: Duration,
        request_id: &str,
    ) -> Result<reqwest::Response> {
        self.send_http(
            reqwest::Method::POST,
            url,
            headers,
            Some(body),
            timeout,
            request_id,
        )
        .await
    }

    /// Authenticates and sends; the timeout covers the wait for the response headers.
    async fn send_http(
        &self,
        method: reqwest::Method,
        url: Url,
        mut headers: HeaderMap,
        body: Option<reqwest::Body>,
        timeout: Duration,
        request_id: &str,
    ) -> Result<reqwest::Response> {
        let shown = crate::redact::url(&url);
        if let Some(authorization) = self.inner.authenticator.authorization_header(&url).await? {
            let mut value = HeaderValue::from_str(authorization.expose()).map_err(|_| {
                Error::InvalidArgument("the access token is not a valid header value".to_owned())
            })?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let mut request = self.inner.http.request(method, url).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => {
                return Err(Error::Timeout {
                    endpoint: shown,
                    timeout,
                });
            }
            Ok(Err(error)) => return Err(transport_error(error, &shown, Some(timeout))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        tracing::debug!(status = status.as_u16(), "response");
        if status.is_success() {
            Ok(response)
        } else {
            Err(service_error(response, &shown, Some(request_id)).await)
        }
    }

    /// The body of an answer: it must be complete within `timeout` (the request's own: the
    /// server timeout plus the margin) of the headers, and within the client's size limit.
    fn body(&self, response: reqwest::Response, timeout: Duration) -> BodyStream {
        let endpoint = crate::redact::url(response.url());
        BodyStream::new(response, timeout, self.inner.max_response, endpoint)
    }

    fn v2_events(&self, response: reqwest::Response, timeout: Duration) -> V2EventStream {
        V2EventStream::with_options(self.body(response, timeout), self.inner.parser)
    }
}

/// A failure while the body of a success answer (HTTP `status`, 2xx) was read: a network error
/// or a time-out becomes a [`NetworkPhase::AfterSuccess`] network error, which says that the
/// service acted on the request; other errors (a size limit) are kept.
fn answer_cut(error: Error, status: u16) -> Error {
    match error {
        Error::Network {
            endpoint,
            message,
            source,
            ..
        } => Error::Network {
            endpoint,
            message: format!(
                "the service answered {status} (success), then {message}: the request took \
                 effect, its answer is lost"
            ),
            phase: NetworkPhase::AfterSuccess,
            source,
        },
        Error::Timeout { endpoint, timeout } => Error::Network {
            endpoint,
            message: format!(
                "the service answered {status} (success), then its answer's body did not \
                 arrive within {timeout:?}: the request took effect, its answer is lost"
            ),
            phase: NetworkPhase::AfterSuccess,
            source: None,
        },
        other => other,
    }
}

/// Errors worth another attempt: transient service, network and timeout errors. A partial
/// failure is not retried: the same query would hit the same limit again.
fn is_retryable(error: &Error) -> bool {
    !matches!(error, Error::PartialFailure(_)) && error.is_transient()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readonly_commands_are_recognised() {
        assert!(is_readonly_command(".show tables"));
        assert!(is_readonly_command("  .SHOW version"));
        assert!(is_readonly_command(
            ".show\ttables | where TableName == 'x'"
        ));
        assert!(is_readonly_command(".get ingestion resources"));
        assert!(is_readonly_command(".get kusto identity token"));
        assert!(!is_readonly_command(".append T <| print 1"));
        assert!(!is_readonly_command(".set-or-append T <| print 1"));
        assert!(!is_readonly_command(".showfoo"));
        assert!(!is_readonly_command(".sh"));
        assert!(!is_readonly_command("show tables"));
        assert!(!is_readonly_command(""));
    }

    #[test]
    fn client_timeout_is_the_server_timeout_plus_the_margin() {
        let margin = DEFAULT_TIMEOUT_MARGIN;
        let secs = Duration::from_secs;
        // Service defaults: 4 min for queries (v2 and v1), 10 min for commands; plus 30 s.
        assert_eq!(
            client_timeout(Endpoint::QueryV2, None, margin).unwrap(),
            secs(4 * 60 + 30)
        );
        assert_eq!(
            client_timeout(Endpoint::QueryV1, None, margin).unwrap(),
            secs(4 * 60 + 30)
        );
        assert_eq!(
            client_timeout(Endpoint::Management, None, margin).unwrap(),
            secs(10 * 60 + 30)
        );
        let empty = ClientRequestProperties::new();
        assert_eq!(
            client_timeout(Endpoint::Management, Some(&empty), margin).unwrap(),
            secs(630)
        );
        // `servertimeout` in each spelling of the protocol reference replaces the default.
        for (spelling, seconds) in [
            ("00:04:00", 240),
            ("0:04:00", 240),
            ("50m", 3000),
            ("01:00:00.0000000", 3600),
            ("00:00:10", 10),
        ] {
            let mut properties = ClientRequestProperties::new();
            properties.set_option("servertimeout", spelling);
            for endpoint in [Endpoint::QueryV2, Endpoint::Management] {
                assert_eq!(
                    client_timeout(endpoint, Some(&properties), margin).unwrap(),
                    secs(seconds + 30),
                    "{spelling}"
                );
            }
        }
        // Above the one hour maximum it is clamped; `norequesttimeout` means the maximum.
        let mut properties = ClientRequestProperties::new();
        properties.set_option("servertimeout", "2.00:00:00");
        assert_eq!(
            client_timeout(Endpoint::QueryV2, Some(&properties), margin).unwrap(),
            secs(3630)
        );
        let mut properties = ClientRequestProperties::new();
        properties.set_option("norequesttimeout", true);
        assert_eq!(
            client_timeout(Endpoint::QueryV2, Some(&properties), margin).unwrap(),
            secs(3630)
        );
        // The margin is configurable; a bad value is a typed error, not a default.
        assert_eq!(
            client_timeout(Endpoint::QueryV2, None, Duration::ZERO).unwrap(),
            secs(240)
        );
        let mut properties = ClientRequestProperties::new();
        properties.set_option("servertimeout", "whenever");
        assert!(matches!(
            client_timeout(Endpoint::QueryV2, Some(&properties), margin),
            Err(Error::InvalidArgument(_))
        ));
    }
}
