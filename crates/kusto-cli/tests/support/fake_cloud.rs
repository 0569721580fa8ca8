//! A fake cloud for `kusto --auth browser`: one local HTTP server that is at once
//!
//! * the cluster's `/v1/rest/auth/metadata`, naming this server as the cloud's login endpoint;
//! * the login endpoint: `/{tenant}/oauth2/v2.0/authorize` redirects the browser to the loopback
//!   `redirect_uri` with a code and the request's `state` (or `error=access_denied` when told to
//!   deny), and `/{tenant}/oauth2/v2.0/token` redeems a code only with the PKCE verifier of its
//!   challenge and the same redirect URI, and a refresh token only if it issued it; each answer
//!   has a new access token and a new refresh token;
//! * the cluster: every other request must carry `Authorization: Bearer <an access token it
//!   issued>` (401 otherwise) and is forwarded to an emulator.
//!
//! And a fake browser: a shell script, given to `--browser-command`, that appends the URL to a
//! file, with a task following every new URL (redirects included) as a browser would.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kusto_emulator::{Emulator, EmulatorHandle};
use serde_json::json;

use super::s256::challenge_of;

/// What the fake cloud saw and issued.
#[derive(Default)]
pub struct Record {
    /// The tenant and query of each authorize request.
    pub authorizations: Vec<(String, HashMap<String, String>)>,
    /// The form of each token request.
    pub grants: Vec<HashMap<String, String>>,
    /// Every access token issued.
    pub access_tokens: Vec<String>,
    /// Every refresh token issued.
    pub refresh_tokens: Vec<String>,
    /// The refresh tokens before this index are refused (revoked).
    pub revoked_before: usize,
    /// Every authorization code issued.
    pub codes: Vec<String>,
    /// The bearer token of each request forwarded to the emulator.
    pub bearers: Vec<String>,
}

impl Record {
    /// The `grant_type` of each token request, in order.
    pub fn grant_types(&self) -> Vec<String> {
        self.grants
            .iter()
            .map(|g| g.get("grant_type").cloned().unwrap_or_default())
            .collect()
    }

    /// Every secret the sign-ins involved: codes, PKCE verifiers, access and refresh tokens.
    pub fn secrets(&self) -> Vec<String> {
        let verifiers = self
            .grants
            .iter()
            .filter_map(|g| g.get("code_verifier").cloned());
        self.access_tokens
            .iter()
            .chain(&self.refresh_tokens)
            .chain(&self.codes)
            .cloned()
            .chain(verifiers)
            .collect()
    }
}

struct CloudState {
    url: String,
    emulator_url: String,
    http: reqwest::Client,
    deny: AtomicBool,
    issued: AtomicUsize,
    /// code -> (challenge, redirect_uri)
    pending: Mutex<HashMap<String, (String, String)>>,
    record: Mutex<Record>,
}

/// The running fake cloud (the emulator behind it included).
pub struct Cloud {
    /// `http://127.0.0.1:port`: the cluster URL and the login endpoint.
    pub url: String,
    state: Arc<CloudState>,
    task: tokio::task::JoinHandle<()>,
    _emulator: EmulatorHandle,
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Cloud {
    /// Starts an emulator with the database `database` and the fake cloud in front of it.
    pub async fn start(database: &str) -> Cloud {
        let emulator = Emulator::builder()
            .database(database)
            .start()
            .await
            .unwrap_or_else(|e| panic!("the emulator must start: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(CloudState {
            url: url.clone(),
            emulator_url: emulator.url().trim_end_matches('/').to_owned(),
            http: kusto_emulator::http_client_builder().build().unwrap(),
            deny: AtomicBool::new(false),
            issued: AtomicUsize::new(0),
            pending: Mutex::default(),
            record: Mutex::default(),
        });
        let app = Router::new()
            .route("/v1/rest/auth/metadata", get(metadata))
            .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .fallback(forward)
            .with_state(state.clone());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Cloud {
            url,
            state,
            task,
            _emulator: emulator,
        }
    }

    /// From now on the authorize endpoint answers `access_denied` (or approves again).
    pub fn deny_consent(&self, deny: bool) {
        self.state.deny.store(deny, Ordering::SeqCst);
    }

    /// The token endpoint refuses every refresh token issued so far (`invalid_grant`).
    pub fn revoke_refresh_tokens(&self) {
        let mut record = self.record();
        record.revoked_before = record.refresh_tokens.len();
    }

    /// What was seen and issued so far.
    pub fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.state.record.lock().unwrap()
    }
}

async fn metadata(State(state): State<Arc<CloudState>>) -> Response {
    axum::Json(json!({"AzureAD": {
        "LoginEndpoint": state.url,
        "LoginMfaRequired": false,
        "KustoClientAppId": "db662dc1-0cfe-4e1c-a843-19a68e65be58",
        "KustoClientRedirectUri": "http://localhost",
        "KustoServiceResourceId": "https://kusto.kusto.windows.net",
        "FirstPartyAuthorityUrl": format!("{}/f8cdef31-a31e-4b4a-93e4-5f571e91255a", state.url),
    }, "dSTS": null}))
    .into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, message.to_owned()).into_response()
}

async fn authorize(
    State(state): State<Arc<CloudState>>,
    UrlPath(tenant): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state
        .record
        .lock()
        .unwrap()
        .authorizations
        .push((tenant, query.clone()));
    let (Some(redirect), Some(state_value), Some(challenge)) = (
        query.get("redirect_uri"),
        query.get("state"),
        query.get("code_challenge"),
    ) else {
        return bad_request("redirect_uri, state and code_challenge are required");
    };
    if query.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return bad_request("code_challenge_method must be S256");
    }
    let state_value =
        url::form_urlencoded::byte_serialize(state_value.as_bytes()).collect::<String>();
    if state.deny.load(Ordering::SeqCst) {
        return Redirect::to(&format!(
            "{redirect}?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state={state_value}"
        ))
        .into_response();
    }
    let n = state.issued.fetch_add(1, Ordering::SeqCst);
    let code = format!("fake-code-{n}-{}", uuid::Uuid::new_v4().simple());
    state
        .pending
        .lock()
        .unwrap()
        .insert(code.clone(), (challenge.clone(), redirect.clone()));
    state.record.lock().unwrap().codes.push(code.clone());
    Redirect::to(&format!("{redirect}?code={code}&state={state_value}")).into_response()
}

fn invalid_grant(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

async fn token(State(state): State<Arc<CloudState>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    state.record.lock().unwrap().grants.push(form.clone());
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    match field("grant_type") {
        "authorization_code" => {
            let Some((challenge, redirect)) = state.pending.lock().unwrap().remove(field("code"))
            else {
                return invalid_grant("AADSTS70008: unknown or already redeemed code");
            };
            if challenge_of(field("code_verifier")) != challenge {
                return invalid_grant("AADSTS501481: The Code_Verifier does not match");
            }
            if field("redirect_uri") != redirect {
                return invalid_grant("AADSTS50011: the redirect URI differs");
            }
        }
        "refresh_token" => {
            let record = state.record.lock().unwrap();
            if !record.refresh_tokens[record.revoked_before..]
                .iter()
                .any(|t| t == field("refresh_token"))
            {
                return invalid_grant("AADSTS700082: The refresh token has expired");
            }
        }
        _ => return invalid_grant("unsupported grant type"),
    }
    let n = state.issued.fetch_add(1, Ordering::SeqCst);
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let access = format!("fake-access-{n}-{tag}");
    let refresh = format!("fake-refresh-{n}-{tag}");
    let mut record = state.record.lock().unwrap();
    record.access_tokens.push(access.clone());
    record.refresh_tokens.push(refresh.clone());
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": access,
        "refresh_token": refresh,
    }))
    .into_response()
}

/// The cluster: checks the bearer token, then forwards the request to the emulator.
async fn forward(State(state): State<Arc<CloudState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    {
        let mut record = state.record.lock().unwrap();
        match bearer {
            Some(token) if record.access_tokens.contains(&token) => record.bearers.push(token),
            _ => {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": {"code": "Unauthorized",
                        "message": "a bearer token issued by the fake authority is required"}})),
                )
                    .into_response();
            }
        }
    }
    let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
        return bad_request("unreadable body");
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if ![
            header::HOST,
            header::CONTENT_LENGTH,
            header::AUTHORIZATION,
            header::ACCEPT_ENCODING,
            header::CONNECTION,
        ]
        .contains(name)
        {
            headers.append(name.clone(), value.clone());
        }
    }
    let answer = state
        .http
        .request(parts.method, format!("{}{path}", state.emulator_url))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let Ok(bytes) = answer.bytes().await else {
        return (StatusCode::BAD_GATEWAY, "the emulator's answer was cut").into_response();
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// The fake browser: `sh <script> URL` appends the URL to a file; a task follows each new URL.
pub struct Browser {
    /// The value of `--browser-command`.
    pub command: String,
    log: PathBuf,
    pages: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Browser {
    /// A browser whose script and log live in `dir` (a path without spaces or quotes).
    pub fn start(dir: &Path) -> Browser {
        let script = dir.join("browser.sh");
        let log = dir.join("opened.log");
        std::fs::write(
            &script,
            format!("printf '%s\\n' \"$1\" >> '{}'\n", log.display()),
        )
        .unwrap();
        let pages = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(follow_every_url(log.clone(), pages.clone()));
        Browser {
            command: format!("sh {}", script.display()),
            log,
            pages,
            task,
        }
    }

    /// The URLs the command was given so far (complete lines only).
    pub fn opened(&self) -> Vec<String> {
        complete_lines(&self.log)
    }

    /// Waits (at most 30 s) until `n` pages have been loaded, and returns them.
    pub async fn pages(&self, n: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let pages = self.pages.lock().unwrap().clone();
            if pages.len() >= n {
                return pages;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} sign-in pages were loaded",
                pages.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn complete_lines(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn follow_every_url(log: PathBuf, pages: Arc<Mutex<Vec<String>>>) {
    let http = kusto_emulator::http_client_builder().build().unwrap();
    let mut followed = 0;
    loop {
        let urls = complete_lines(&log);
        for url in urls.into_iter().skip(followed) {
            followed += 1;
            let (http, pages) = (http.clone(), pages.clone());
            tokio::spawn(async move {
                // A browser: GET the sign-in URL, follow the redirect to the loopback listener.
                let page = match http.get(&url).send().await {
                    Ok(response) => response
                        .text()
                        .await
                        .unwrap_or_else(|e| format!("unreadable page: {e}")),
                    Err(e) => format!("the browser failed: {e}"),
                };
                pages.lock().unwrap().push(page);
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
