//! A tiny loopback HTTP server standing in for the login endpoint and the metadata endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::Semaphore;
use url::Url;

/// One request the server received.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) form: HashMap<String, String>,
    #[allow(dead_code)]
    pub(super) headers: HeaderMap,
}

/// What the server answers: status and JSON body (`Value::Null` for an empty body, a
/// `Value::String` for a raw text body).
pub(super) type Responder = Arc<dyn Fn(&Recorded, usize) -> (u16, Value) + Send + Sync>;

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    responder: Responder,
    /// When set, each request waits for a permit before being answered.
    gate: Option<Arc<Semaphore>>,
    arrived: tokio::sync::watch::Sender<usize>,
}

pub(super) struct Server {
    pub(super) url: Url,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = url::form_urlencoded::parse(&body).into_owned().collect();
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        form,
        headers,
    };
    let index = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(recorded.clone());
        requests.iter().filter(|r| r.path == recorded.path).count() - 1
    };
    shared.arrived.send_modify(|n| *n += 1);
    if let Some(gate) = &shared.gate {
        gate.acquire().await.unwrap().forget();
    }
    let (status, body) = (shared.responder)(&recorded, index);
    let status = StatusCode::from_u16(status).unwrap();
    match body {
        Value::Null => status.into_response(),
        Value::String(text) => (status, text).into_response(),
        json => (status, axum::Json(json)).into_response(),
    }
}

impl Server {
    pub(super) async fn start(
        responder: impl Fn(&Recorded, usize) -> (u16, Value) + Send + Sync + 'static,
    ) -> Server {
        Self::start_with_gate(responder, None).await
    }

    pub(super) async fn start_with_gate(
        responder: impl Fn(&Recorded, usize) -> (u16, Value) + Send + Sync + 'static,
        gate: Option<Arc<Semaphore>>,
    ) -> Server {
        let shared = Arc::new(Shared {
            requests: Mutex::default(),
            responder: Arc::new(responder),
            gate,
            arrived: tokio::sync::watch::Sender::new(0),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a loopback port for the test server");
        let address = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("test server failed");
        });
        Server {
            url: Url::parse(&format!("http://{address}")).unwrap(),
            shared,
            task,
        }
    }

    pub(super) fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The number of requests whose path ends with `suffix`.
    pub(super) fn count(&self, suffix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .count()
    }

    /// Waits (with a 30-second deadline) until `n` requests have arrived, answered or not.
    pub(super) async fn wait_for_arrivals(&self, n: usize) {
        let mut arrived = self.shared.arrived.subscribe();
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            arrived.wait_for(|count| *count >= n),
        )
        .await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "only {} of {n} requests arrived",
            *self.shared.arrived.borrow()
        );
    }
}

/// A token answer of the login service.
pub(super) fn token_answer(token: &str, expires_in: i64) -> (u16, Value) {
    (
        200,
        serde_json::json!({
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }),
    )
}

/// An OAuth error answer.
pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> (u16, Value) {
    (
        status,
        serde_json::json!({
            "error": error,
            "error_description": description,
            "error_codes": [7000215],
            "correlation_id": "corr-1",
            "trace_id": "trace-1",
        }),
    )
}
