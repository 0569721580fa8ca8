//! A fault-injecting reverse proxy in front of Azurite, one listener per storage account and
//! service, so that the SAS URLs handed to clients can be made to fail for one account while
//! the other works.
//!
//! Requests are forwarded unchanged (method, path, query, headers, streamed body) to the Azurite
//! service; the answer is streamed back. Before forwarding, the account's [`Faults`] are checked
//! against the request path (`/<account>/<container or queue or table>/...`):
//!
//! * `status`: answered with that status, the storage error XML (`<Error><Code>` = the rule's
//!   `code`) and the `x-ms-error-code` header;
//! * `throttle`: 503 `ServerBusy` with `Retry-After`, as storage throttles;
//! * `delay`: the answer waits (long enough delays look like time-outs to clients);
//! * `drop`: the connection is closed without an answer.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;

use crate::faults::{FaultAction, Faults};
use crate::server::{DropConnection, serve_http};

type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Which storage service a listener fronts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Service {
    Blob,
    Queue,
    Table,
}

/// The proxies of every account, with their fault rules.
pub(crate) struct StorageProxy {
    /// `127.0.0.1:port` of a listener → the Azurite service it forwards to.
    routes: HashMap<String, Url>,
    /// (account, service) → the proxy's base URL (`http://127.0.0.1:port`).
    bases: HashMap<(String, Service), Url>,
    faults: HashMap<String, Arc<Faults>>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<JoinSet<()>>,
}

impl fmt::Debug for StorageProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageProxy")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

struct Route {
    upstream: Url,
    faults: Arc<Faults>,
    http: reqwest::Client,
}

impl StorageProxy {
    /// Starts one listener per account and service.
    pub(crate) async fn start(
        accounts: &[String],
        upstreams: &[(Service, Url)],
        link: Option<&crate::shaped::ShapedLink>,
    ) -> std::io::Result<StorageProxy> {
        let (shutdown, signal) = watch::channel(false);
        let http = crate::http_client_builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .build()
            .unwrap_or_default();
        let mut proxy = StorageProxy {
            routes: HashMap::new(),
            bases: HashMap::new(),
            faults: HashMap::new(),
            shutdown,
            tasks: Mutex::new(JoinSet::new()),
        };
        for account in accounts {
            let faults = Arc::new(Faults::default());
            proxy.faults.insert(account.clone(), Arc::clone(&faults));
            for (service, upstream) in upstreams {
                let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
                let mut addr = listener.local_addr()?;
                if let Some(link) = link {
                    // Clients reach this listener through the shaped link.
                    addr = link.forward(addr).await?;
                }
                let authority = addr.to_string();
                let base = Url::parse(&format!("http://{authority}/")).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
                })?;
                proxy.routes.insert(authority, upstream.clone());
                proxy.bases.insert((account.clone(), *service), base);
                let route = Arc::new(Route {
                    upstream: upstream.clone(),
                    faults: Arc::clone(&faults),
                    http: http.clone(),
                });
                proxy
                    .tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .spawn(serve_http(
                        listener,
                        move |req| forward(Arc::clone(&route), req),
                        signal.clone(),
                        Duration::from_secs(2),
                    ));
            }
        }
        Ok(proxy)
    }

    /// The base URL clients use for an account's service.
    pub(crate) fn base(&self, account: &str, service: Service) -> Option<&Url> {
        self.bases.get(&(account.to_owned(), service))
    }

    /// The fault rules of an account.
    pub(crate) fn faults(&self, account: &str) -> Option<&Arc<Faults>> {
        self.faults.get(account)
    }

    /// Rewrites a URL that points at one of the proxies to the Azurite service behind it, so
    /// that the data-management service reaches storage directly. Other URLs are returned as is.
    pub(crate) fn direct(&self, url: &Url) -> Url {
        let authority = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => return url.clone(),
        };
        let Some(upstream) = self.routes.get(&authority) else {
            return url.clone();
        };
        let mut direct = url.clone();
        let _ = direct.set_host(upstream.host_str());
        let _ = direct.set_port(upstream.port());
        direct
    }

    /// Tells every listener to stop, without waiting.
    pub(crate) fn signal_stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Stops every listener.
    pub(crate) async fn stop(&self) {
        let _ = self.shutdown.send(true);
        let mut tasks =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        while tasks.join_next().await.is_some() {}
    }
}

impl Drop for StorageProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn full(status: StatusCode, body: String, headers: &[(&'static str, String)]) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, v);
        }
    }
    response
}

fn storage_error(status: u16, code: &str, message: &str) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}\nRequestId:{request_id}</Message></Error>",
        quick_xml::escape::escape(code),
        quick_xml::escape::escape(message)
    );
    full(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        xml,
        &[
            ("content-type", "application/xml".to_owned()),
            ("x-ms-error-code", code.to_owned()),
            ("x-ms-request-id", request_id),
        ],
    )
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

async fn forward(
    route: Arc<Route>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let path = req.uri().path().to_owned();
    let mut truncate = false;
    if let Some(decision) = route.faults.check(req.method().as_str(), &path) {
        if let Some(delay) = decision.delay {
            tokio::time::sleep(delay).await;
        }
        match decision.action {
            FaultAction::Drop => return Err(DropConnection),
            FaultAction::Throttle {
                retry_after_seconds,
            } => {
                let mut response = storage_error(
                    503,
                    "ServerBusy",
                    "The server is busy (a fault injected by the Kusto emulator's storage proxy).",
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
                    response.headers_mut().insert("retry-after", v);
                }
                return Ok(response);
            }
            FaultAction::Status {
                status,
                code,
                message,
                ..
            } => return Ok(storage_error(status, &code, &message)),
            FaultAction::Delay => {}
            FaultAction::Truncate | FaultAction::Lose => truncate = true,
        }
    }
    let mut target = route.upstream.clone();
    target.set_path(&path);
    target.set_query(req.uri().query());
    let (parts, body) = req.into_parts();
    let mut request = route
        .http
        .request(parts.method, target)
        .body(reqwest::Body::wrap(body));
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Ok(storage_error(
                502,
                "ProxyUpstreamUnreachable",
                &format!("Azurite did not answer: {}", e.without_url()),
            ));
        }
    };
    if truncate {
        // Azurite acted on the request; its answer is lost on the way back.
        return Err(DropConnection);
    }
    let answer: http::Response<reqwest::Body> = answer.into();
    let (mut parts, body) = answer.into_parts();
    for name in HOP_BY_HOP {
        parts.headers.remove(*name);
    }
    Ok(Response::from_parts(
        parts,
        body.map_err(Into::into).boxed(),
    ))
}
