//! The HTTP front end: builder, running handle, accept loop, correlation headers, gzip, fault
//! injection and the `/_emulator` control endpoints.

use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use crate::azurite::{Azurite, AzuriteError};
use crate::dm::{DataManagement, DataManagementOptions};
use crate::errors::{Correlation, ServiceError};
use crate::faults::{FaultAction, FaultRule, Faults};
use crate::handlers;
use crate::store::Store;

/// A bearer token the emulator requires when the token check is on. Never shown in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(****)")
    }
}

/// Settings of a running emulator.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) auto_create_databases: bool,
    pub(crate) default_database: String,
    pub(crate) streaming_ingestion: bool,
    pub(crate) streaming_policy_default: bool,
    pub(crate) token: Option<Token>,
    pub(crate) fragment_rows: usize,
    pub(crate) max_request_body: usize,
}

/// Shared state of the handlers.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) store: Arc<Store>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) config: Config,
    pub(crate) dm: Option<Arc<DataManagement>>,
    /// The client that downloads `sourceKind=uri` blobs.
    pub(crate) http: reqwest::Client,
}

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listener could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A database name given to the builder is invalid.
    #[error("invalid database name '{0}'")]
    InvalidDatabase(String),
    /// The data-management service could not set up its storage.
    #[error("the data-management service did not start: {0}")]
    DataManagement(#[from] AzuriteError),
}

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: `127.0.0.1`, any free port, databases created on first use,
    /// streaming ingestion on (cluster feature and default policy), no token check.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
#[derive(Debug)]
pub struct EmulatorBuilder {
    host: IpAddr,
    port: u16,
    store: Option<Arc<Store>>,
    databases: Vec<String>,
    config: Config,
    azurite: Option<Arc<Azurite>>,
    dm_options: DataManagementOptions,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            store: None,
            databases: Vec::new(),
            config: Config {
                auto_create_databases: true,
                default_database: "NetDefaultDB".to_string(),
                streaming_ingestion: true,
                streaming_policy_default: true,
                token: None,
                fragment_rows: 1000,
                max_request_body: 64 * 1024 * 1024,
            },
            azurite: None,
            dm_options: DataManagementOptions::default(),
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (default `127.0.0.1`).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Use this store (to share tables with other components, e.g. a data-management worker).
    pub fn store(mut self, store: Arc<Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Create this database at start.
    pub fn database(mut self, name: impl Into<String>) -> Self {
        self.databases.push(name.into());
        self
    }

    /// Create databases on first use by a request (default `true`); when off, unknown databases
    /// are errors and databases come from [`EmulatorBuilder::database`] or `.create database`.
    pub fn auto_create_databases(mut self, on: bool) -> Self {
        self.config.auto_create_databases = on;
        self
    }

    /// The database of requests that name none (default `NetDefaultDB`).
    pub fn default_database(mut self, name: impl Into<String>) -> Self {
        self.config.default_database = name.into();
        self
    }

    /// Whether the cluster offers streaming ingestion at all (default `true`; when off,
    /// `/v1/rest/ingest` answers 404 as a cluster without the feature).
    pub fn streaming_ingestion(mut self, on: bool) -> Self {
        self.config.streaming_ingestion = on;
        self
    }

    /// The streaming-ingestion policy of tables and databases that set none (default `true`,
    /// unlike a real cluster, so that local development needs no policy command).
    pub fn streaming_policy_default(mut self, enabled: bool) -> Self {
        self.config.streaming_policy_default = enabled;
        self
    }

    /// Require `Authorization: Bearer <token>` on every Kusto request (401 otherwise).
    pub fn require_token(mut self, token: impl Into<String>) -> Self {
        self.config.token = Some(Token(token.into()));
        self
    }

    /// Rows per `TableFragment` in fragmented and progressive responses (default 1000).
    pub fn fragment_rows(mut self, rows: usize) -> Self {
        self.config.fragment_rows = rows.max(1);
        self
    }

    /// Largest query or command body accepted (default 64 MiB; larger bodies get 413).
    /// Streaming ingestion has its own 10 MiB body limit, as the service.
    pub fn max_request_body(mut self, bytes: usize) -> Self {
        self.config.max_request_body = bytes;
        self
    }

    /// Serve queued ingestion (the data-management service, [`crate::dm`]) over this Azurite:
    /// `.get ingestion resources`, the queue worker, status reporting and the REST ingestion
    /// API. Without Azurite those commands and paths answer as a cluster without them.
    pub fn azurite(mut self, azurite: impl Into<Arc<Azurite>>) -> Self {
        self.azurite = Some(azurite.into());
        self
    }

    /// Settings of the data-management service (used with [`EmulatorBuilder::azurite`]).
    pub fn data_management(mut self, options: DataManagementOptions) -> Self {
        self.dm_options = options;
        self
    }

    /// Binds the listener and starts serving.
    pub async fn start(self) -> Result<EmulatorHandle, EmulatorError> {
        let store = self.store.unwrap_or_default();
        for db in &self.databases {
            store
                .ensure_database(db)
                .map_err(|_| EmulatorError::InvalidDatabase(db.clone()))?;
        }
        let addr = SocketAddr::new(self.host, self.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let faults = Arc::new(Faults::default());
        let dm = match self.azurite {
            Some(azurite) => Some(
                DataManagement::start(
                    azurite,
                    self.dm_options,
                    Arc::clone(&store),
                    self.config.auto_create_databases,
                )
                .await?,
            ),
            None => None,
        };
        let state = Arc::new(State {
            store: Arc::clone(&store),
            faults: Arc::clone(&faults),
            config: self.config,
            dm: dm.clone(),
            http: crate::fetch::client(),
        });
        let (shutdown, signal) = watch::channel(false);
        let task = tokio::spawn(serve_http(
            listener,
            move |req| handle(Arc::clone(&state), req),
            signal,
            Duration::from_secs(5),
        ));
        let url = match local.ip() {
            IpAddr::V6(ip) => format!("http://[{ip}]:{}", local.port()),
            IpAddr::V4(ip) => format!("http://{ip}:{}", local.port()),
        };
        tracing::info!(%url, "kusto emulator listening");
        Ok(EmulatorHandle {
            url,
            addr: local,
            store,
            faults,
            dm,
            shutdown,
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops the server (without waiting); [`EmulatorHandle::shutdown`]
/// stops it and waits until open connections are finished.
#[derive(Debug)]
pub struct EmulatorHandle {
    url: String,
    addr: SocketAddr,
    store: Arc<Store>,
    faults: Arc<Faults>,
    dm: Option<Arc<DataManagement>>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The base URL, e.g. `http://127.0.0.1:49152` (serves engine and data-management paths).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The tables behind the emulator.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The fault rules.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    /// The data-management service, when started with [`EmulatorBuilder::azurite`].
    pub fn data_management(&self) -> Option<&Arc<DataManagement>> {
        self.dm.as_ref()
    }

    /// Stops accepting, lets open requests finish (at most 5 s), stops the data-management
    /// worker (letting sources being ingested finish, at most 10 s) and returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(dm) = self.dm.take() {
            dm.stop().await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(dm) = &self.dm {
            dm.signal_stop();
        }
    }
}

/// Serves HTTP/1.1 connections from `listener` with `handler` until `signal` turns true, then
/// lets open connections finish for at most `drain` (used by the emulator and the storage proxy).
pub(crate) async fn serve_http<H, Fut, B>(
    listener: TcpListener,
    handler: H,
    mut signal: watch::Receiver<bool>,
    drain: Duration,
) where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<B>, DropConnection>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = signal.changed() => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let handler = handler.clone();
                let mut conn_signal = signal.clone();
                connections.spawn(async move {
                    let service = service_fn(handler);
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        result = conn.as_mut() => {
                            if let Err(e) = result {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        }
                        _ = conn_signal.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// A response before correlation headers and compression.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: &'static str,
    pub(crate) retry_after: Option<u64>,
}

pub(crate) const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    pub(crate) fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body: body.into_bytes(),
            content_type: JSON,
            retry_after: None,
        }
    }

    pub(crate) fn error(e: &ServiceError, corr: &Correlation, accept_json: bool) -> Reply {
        if e.gateway && !accept_json {
            return Reply {
                status: e.status,
                body: e.to_text().into_bytes(),
                content_type: "text/plain; charset=utf-8",
                retry_after: None,
            };
        }
        Reply {
            retry_after: e.retry_after,
            ..Reply::json(e.status, e.to_json(corr))
        }
    }
}

/// Facts about the incoming request that every handler needs.
#[derive(Debug)]
pub(crate) struct RequestInfo {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) corr: Correlation,
    pub(crate) accept_json: bool,
}

fn activity_type(path: &str) -> &'static str {
    if path.starts_with("/v1/rest/ingestion/") {
        "DN.DM.RestIngestion"
    } else if path.starts_with("/v1/rest/mgmt") {
        "DN.FE.ExecuteControlCommand"
    } else if path.starts_with("/v1/rest/ingest/") {
        "DN.FE.StreamingIngest"
    } else {
        "DN.FE.ExecuteQuery"
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let client_request_id = header("x-ms-client-request-id")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let accept_gzip =
        header("accept-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("gzip"));
    let accept_json =
        header("accept").is_some_and(|v| v.to_ascii_lowercase().contains("application/json"));
    let path = parts.uri.path().to_string();
    let incoming = RequestInfo {
        method: parts.method.clone(),
        query: parts.uri.query().unwrap_or("").to_string(),
        corr: Correlation {
            client_request_id,
            activity_id: Uuid::new_v4(),
            activity_type: activity_type(&path),
        },
        path,
        headers: headers.clone(),
        accept_json,
    };
    let span = tracing::debug_span!("request", method = %incoming.method, path = %incoming.path, client_request_id = %incoming.corr.client_request_id);
    let _guard = span.enter();
    let reply = if incoming.path.starts_with("/_emulator/") || incoming.path == "/_emulator" {
        control(&state, &incoming, body).await
    } else {
        match state.faults.check(incoming.method.as_str(), &incoming.path) {
            Some(decision) => {
                if let Some(delay) = decision.delay {
                    tokio::time::sleep(delay).await;
                }
                match decision.action {
                    FaultAction::Drop => return Err(DropConnection),
                    FaultAction::Throttle {
                        retry_after_seconds,
                    } => Reply::error(
                        &ServiceError::throttled(retry_after_seconds),
                        &incoming.corr,
                        true,
                    ),
                    FaultAction::Status {
                        status,
                        code,
                        message,
                        permanent,
                    } => {
                        let mut e = ServiceError::new(
                            status,
                            &code,
                            "Kusto.Emulator.InjectedFaultException",
                            message,
                            permanent,
                        );
                        if status == 429 {
                            e.retry_after = Some(1);
                        }
                        Reply::error(&e, &incoming.corr, true)
                    }
                    FaultAction::Delay => serve(&state, &incoming, body).await,
                }
            }
            None => serve(&state, &incoming, body).await,
        }
    };
    Ok(finish(reply, &incoming.corr, accept_gzip))
}

async fn serve(state: &State, incoming: &RequestInfo, body: Incoming) -> Reply {
    // The metadata endpoint is fetched before authenticating, so it never needs a token.
    let needs_token = incoming.path != "/v1/rest/auth/metadata";
    if let Some(token) = state.config.token.as_ref().filter(|_| needs_token) {
        let expected = format!("Bearer {}", token.0);
        let given = incoming
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            let e = ServiceError::new(
                401,
                "Unauthorized",
                "Kusto.Data.Exceptions.KustoRequestDeniedException",
                "The request is not authorized: a valid bearer token is required",
                true,
            );
            return Reply::error(&e, &incoming.corr, true);
        }
    }
    handlers::route(state, incoming, body).await
}

fn finish(reply: Reply, corr: &Correlation, accept_gzip: bool) -> Response<Full<Bytes>> {
    let mut body = reply.body;
    let mut gzipped = false;
    if accept_gzip && !body.is_empty() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(3));
        if encoder.write_all(&body).is_ok()
            && let Ok(compressed) = encoder.finish()
        {
            body = compressed;
            gzipped = true;
        }
    }
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&corr.client_request_id) {
        h.insert("x-ms-client-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&corr.activity_id.to_string()) {
        h.insert("x-ms-activity-id", v);
    }
    if gzipped {
        h.insert(
            http::header::CONTENT_ENCODING,
            HeaderValue::from_static("gzip"),
        );
    }
    if let Some(seconds) = reply.retry_after
        && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
    {
        h.insert(http::header::RETRY_AFTER, v);
    }
    response
}

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge,
    Io(String),
}

/// Reads a request body up to `limit` bytes. A larger body is drained (up to a hard cap) so that
/// the client finishes sending and reads the 413.
pub(crate) async fn read_body(mut body: Incoming, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let mut total: usize = 0;
    let hard_cap = limit.saturating_mul(4).saturating_add(1 << 20);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Io(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= limit {
                out.extend_from_slice(&data);
            } else if total > hard_cap {
                return Err(BodyError::TooLarge);
            }
        }
    }
    if total > limit {
        Err(BodyError::TooLarge)
    } else {
        Ok(out)
    }
}

async fn control(state: &State, incoming: &RequestInfo, body: Incoming) -> Reply {
    let mut path = incoming.path.trim_end_matches('/').to_owned();
    let not_found = || {
        Reply::json(
            404,
            "{\"error\":\"unknown emulator control endpoint\"}".into(),
        )
    };
    // `/_emulator/storage/{account}/faults[/{id}]`: the rules of an account's storage proxy,
    // with the same verbs and bodies as the emulator's own `/_emulator/faults`.
    let mut faults: &Faults = &state.faults;
    if let Some(rest) = path.strip_prefix("/_emulator/storage/") {
        let (account, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(account_faults) = state.dm.as_ref().and_then(|dm| dm.storage_faults(account))
        else {
            return Reply::json(
                404,
                serde_json::json!({"error": format!("no storage proxy for account '{account}' (is the emulator started with Azurite and the proxy on?)")}).to_string(),
            );
        };
        faults = account_faults;
        path = format!("/_emulator/{tail}");
    }
    let path = path.as_str();
    match (&incoming.method, path) {
        (&Method::GET, "/_emulator/health") => Reply::json(200, "{\"status\":\"ok\"}".into()),
        (&Method::GET, "/_emulator/faults") => Reply::json(
            200,
            serde_json::to_string(&faults.list()).unwrap_or_else(|_| "[]".into()),
        ),
        (&Method::DELETE, "/_emulator/faults") => {
            let removed = faults.list().len();
            faults.clear();
            Reply::json(200, format!("{{\"removed\":{removed}}}"))
        }
        (&Method::POST, "/_emulator/faults") => {
            let bytes = match read_body(body, 1 << 20).await {
                Ok(b) => b,
                Err(_) => {
                    return Reply::json(400, "{\"error\":\"the body could not be read\"}".into());
                }
            };
            let rules: Vec<FaultRule> = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(serde_json::Value::Array(items)) => {
                    match items
                        .into_iter()
                        .map(serde_json::from_value)
                        .collect::<Result<Vec<_>, _>>()
                    {
                        Ok(r) => r,
                        Err(e) => {
                            return Reply::json(
                                400,
                                serde_json::json!({"error": e.to_string()}).to_string(),
                            );
                        }
                    }
                }
                Ok(one) => match serde_json::from_value(one) {
                    Ok(r) => vec![r],
                    Err(e) => {
                        return Reply::json(
                            400,
                            serde_json::json!({"error": e.to_string()}).to_string(),
                        );
                    }
                },
                Err(e) => {
                    return Reply::json(
                        400,
                        serde_json::json!({"error": format!("invalid JSON: {e}")}).to_string(),
                    );
                }
            };
            let mut ids = Vec::new();
            for rule in rules {
                match faults.add(rule) {
                    Ok(id) => ids.push(id),
                    Err(e) => return Reply::json(400, serde_json::json!({"error": e}).to_string()),
                }
            }
            Reply::json(200, serde_json::json!({"ids": ids}).to_string())
        }
        (&Method::DELETE, p) => match p
            .strip_prefix("/_emulator/faults/")
            .and_then(|id| id.parse::<u64>().ok())
        {
            Some(id) if faults.remove(id) => Reply::json(200, format!("{{\"removed\":{id}}}")),
            _ => not_found(),
        },
        _ => not_found(),
    }
}
