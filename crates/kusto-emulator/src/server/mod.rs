//! The HTTP front end: the builder, the running handle and the shared state; the accept loop,
//! correlation headers, gzip and fault injection are in `listener.rs`, the `/_emulator` control
//! endpoints in `control.rs`.

mod control;
mod listener;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::azurite::{Azurite, AzuriteError};
use crate::dm::{DataManagement, DataManagementOptions};
use crate::faults::Faults;
use crate::shaped::{LinkShape, ShapedLink};
use crate::store::Store;

use listener::handle;
pub(crate) use listener::{BodyError, DropConnection, Reply, RequestInfo, read_body, serve_http};

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
    /// The shaped link could not start (settings out of range, or no port to listen on).
    #[error("the shaped link did not start: {0}")]
    Link(String),
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
    link: Option<LinkShape>,
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
            link: None,
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

    /// Serve queued ingestion (the data-management service, [`DataManagement`](crate::DataManagement)) over this Azurite:
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

    /// Puts every endpoint the emulator hands out behind one [`ShapedLink`] with these
    /// settings: its own URL ([`EmulatorHandle::url`]) and, with Azurite, the storage URLs of
    /// `.get ingestion resources` and of the REST ingestion configuration (through the storage
    /// proxies, so [`DataManagementOptions::storage_fault_proxy`] must stay on for storage to be
    /// shaped). All endpoints share the link's bandwidth; the data-management service itself
    /// reaches storage directly. The settings are logged (`tracing`, info) when it starts.
    pub fn shaped_link(mut self, shape: LinkShape) -> Self {
        self.link = Some(shape);
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
        let link = match self.link {
            Some(shape) => Some(Arc::new(
                ShapedLink::new(shape).map_err(|e| EmulatorError::Link(e.to_string()))?,
            )),
            None => None,
        };
        let dm = match self.azurite {
            Some(azurite) => Some(
                DataManagement::start(
                    azurite,
                    self.dm_options,
                    Arc::clone(&store),
                    self.config.auto_create_databases,
                    link.as_deref(),
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
        let public = match &link {
            Some(link) => link
                .forward(local)
                .await
                .map_err(|e| EmulatorError::Link(e.to_string()))?,
            None => local,
        };
        let url = match public.ip() {
            IpAddr::V6(ip) => format!("http://[{ip}]:{}", public.port()),
            IpAddr::V4(ip) => format!("http://{ip}:{}", public.port()),
        };
        match &link {
            Some(link) => {
                tracing::info!(%url, shape = %link.shape(), "kusto emulator listening behind a shaped link")
            }
            None => tracing::info!(%url, "kusto emulator listening"),
        }
        Ok(EmulatorHandle {
            url,
            addr: local,
            store,
            faults,
            dm,
            link,
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
    link: Option<Arc<ShapedLink>>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The base URL, e.g. `http://127.0.0.1:49152` (serves engine and data-management paths;
    /// behind the shaped link when [`EmulatorBuilder::shaped_link`] set one).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address (not shaped: the link's own address is in [`EmulatorHandle::url`]).
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

    /// The shaped link in front of the endpoints ([`EmulatorBuilder::shaped_link`]), with its
    /// settings and counters.
    pub fn link(&self) -> Option<&Arc<ShapedLink>> {
        self.link.as_ref()
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
        if let Some(link) = self.link.take() {
            link.stop().await;
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
