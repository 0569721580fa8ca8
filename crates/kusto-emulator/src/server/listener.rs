//! The accept loop and the request path every call takes: routing, correlation headers, fault
//! injection, body limits and gzip.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::{State, control::control};
use crate::errors::{Correlation, ServiceError};
use crate::faults::FaultAction;
use crate::handlers;

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

pub(super) fn activity_type(path: &str) -> &'static str {
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

pub(super) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<ReplyBody>, DropConnection> {
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
                    FaultAction::Lose => {
                        let _answer = serve(&state, &incoming, body).await;
                        return Err(DropConnection);
                    }
                    FaultAction::Truncate => {
                        let reply = serve(&state, &incoming, body).await;
                        let mut response = finish(reply, &incoming.corr, accept_gzip);
                        response.body_mut().cut = true;
                        return Ok(response);
                    }
                }
            }
            None => serve(&state, &incoming, body).await,
        }
    };
    Ok(finish(reply, &incoming.corr, accept_gzip))
}

pub(super) async fn serve(state: &State, incoming: &RequestInfo, body: Incoming) -> Reply {
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

/// The body of an emulator answer: all of it, or (fault `truncate`) its first half followed by a
/// failure, which makes hyper close the connection short of the `Content-Length` it announced.
/// Before the failure the body waits a moment, so that hyper sends what it has buffered (the
/// status line, the headers, the first half): without the pause a small answer would be lost
/// whole.
#[derive(Debug)]
pub(crate) struct ReplyBody {
    data: Option<Bytes>,
    len: u64,
    pub(crate) cut: bool,
    pause: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

/// How long a cut answer waits for hyper to send its beginning before the connection is closed.
const CUT_PAUSE: Duration = Duration::from_millis(20);

impl ReplyBody {
    fn new(data: Bytes) -> Self {
        ReplyBody {
            len: data.len() as u64,
            data: Some(data),
            cut: false,
            pause: None,
        }
    }
}

impl hyper::body::Body for ReplyBody {
    type Data = Bytes;
    type Error = DropConnection;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, DropConnection>>> {
        let cut = self.cut;
        if let Some(mut data) = self.data.take() {
            if !cut {
                return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(data))));
            }
            data.truncate(data.len() / 2);
            self.pause = Some(Box::pin(tokio::time::sleep(CUT_PAUSE)));
            if !data.is_empty() {
                return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(data))));
            }
        }
        if cut {
            if let Some(pause) = self.pause.as_mut()
                && std::future::Future::poll(pause.as_mut(), cx).is_pending()
            {
                return std::task::Poll::Pending;
            }
            self.cut = false;
            return std::task::Poll::Ready(Some(Err(DropConnection)));
        }
        std::task::Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && !self.cut
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len)
    }
}

pub(super) fn finish(reply: Reply, corr: &Correlation, accept_gzip: bool) -> Response<ReplyBody> {
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
    let mut response = Response::new(ReplyBody::new(Bytes::from(body)));
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
