//! The secrets of an interactive sign-in: the authorization code, the PKCE verifier and the
//! access and refresh tokens, issued by a fake authority (authorize endpoint redirecting to the
//! loopback listener, token endpoint checking the verifier against the challenge) to a client
//! whose "browser" is a callback following the URL. The client signs in, signs in silently with
//! the refresh token, and goes through refusals whose error descriptions echo every secret of
//! the request (as JSON and as plain text), a denied consent, and a sign-in nobody completes.
//! No secret may appear in the log, nor in the text or `Debug` of any error or value.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kusto_data::auth::{
    CloudInfo, InteractiveLogin, RefreshTokenKey, RefreshTokenStore, SignInCache,
    StoredRefreshToken,
};
use kusto_data::{ConnectionString, KustoClient, RetryPolicy};
use kusto_emulator::Emulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Seen, log};

#[path = "../../../crates/kusto-cli/tests/support/s256.rs"]
mod s256;

/// What the token endpoint does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Issue tokens (a code only with its verifier, a refresh token only if issued).
    Issue,
    /// Refuse with a JSON `invalid_grant` whose description repeats the request's form.
    RefuseJson,
    /// Answer 500 with a plain-text body repeating the request's form.
    RefuseText,
}

struct Authority {
    mode: Mutex<Mode>,
    deny: Mutex<bool>,
    n: AtomicUsize,
    /// code -> challenge
    pending: Mutex<HashMap<String, String>>,
    /// Every code, verifier, access and refresh token seen or issued.
    secrets: Mutex<Vec<String>>,
    grants: Mutex<Vec<String>>,
}

impl Authority {
    fn secret(&self, value: &str) {
        self.secrets.lock().unwrap().push(value.to_owned());
    }
}

async fn authorize(
    State(authority): State<Arc<Authority>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (Some(redirect), Some(state), Some(challenge)) = (
        query.get("redirect_uri"),
        query.get("state"),
        query.get("code_challenge"),
    ) else {
        return (StatusCode::BAD_REQUEST, "incomplete authorize request").into_response();
    };
    // The state is base64url: nothing to escape.
    if *authority.deny.lock().unwrap() {
        return Redirect::to(&format!(
            "{redirect}?error=access_denied&error_description=declined&state={state}"
        ))
        .into_response();
    }
    let code = format!(
        "CANARY-authcode-{}-9e1b",
        authority.n.fetch_add(1, Ordering::SeqCst)
    );
    authority.secret(&code);
    authority
        .pending
        .lock()
        .unwrap()
        .insert(code.clone(), challenge.clone());
    Redirect::to(&format!("{redirect}?code={code}&state={state}")).into_response()
}

async fn token(State(authority): State<Arc<Authority>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    let form: HashMap<String, String> = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect();
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    if let Some(verifier) = form.get("code_verifier") {
        authority.secret(verifier);
    }
    authority.grants.lock().unwrap().push(field("grant_type"));
    let echo = format!("the request was {form:?}");
    match *authority.mode.lock().unwrap() {
        Mode::RefuseJson => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({
                    "error": "invalid_grant",
                    "error_description": format!("AADSTS-ECHO {echo}"),
                })),
            )
                .into_response();
        }
        Mode::RefuseText => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("TEXT-ECHO {echo}"),
            )
                .into_response();
        }
        Mode::Issue => {}
    }
    let refused = match field("grant_type").as_str() {
        "authorization_code" => {
            let challenge = authority.pending.lock().unwrap().remove(&field("code"));
            challenge != Some(s256::challenge_of(&field("code_verifier")))
        }
        "refresh_token" => !authority
            .secrets
            .lock()
            .unwrap()
            .contains(&field("refresh_token")),
        _ => true,
    };
    if refused {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let n = authority.n.fetch_add(1, Ordering::SeqCst);
    let access = format!("CANARY-interactive-access-{n}-41d7");
    let refresh = format!("CANARY-interactive-refresh-{n}-41d7");
    authority.secret(&access);
    authority.secret(&refresh);
    axum::Json(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": access,
        "refresh_token": refresh,
        "refresh_token_expires_in": 86400,
    }))
    .into_response()
}

/// Percent-decoding of a form value (`+` is a space).
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A browser: GET `url` over HTTP/1.1 and follow redirects (at most 5).
async fn browse(mut url: String) {
    for _ in 0..5 {
        let Some(rest) = url.strip_prefix("http://") else {
            return;
        };
        // `http://localhost:1234?code=...` (the loopback redirect URI has no path) asks for
        // `/?code=...`.
        let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let Ok(mut stream) = tokio::net::TcpStream::connect(host).await else {
            return;
        };
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_err() {
            return;
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        let location = answer.lines().take_while(|l| !l.is_empty()).find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
        match location {
            Some(next) => url = next,
            None => return,
        }
    }
}

/// A store standing in for the `kusto` command's file or keyring.
#[derive(Debug, Default)]
struct Shelf(Mutex<HashMap<String, StoredRefreshToken>>);

impl RefreshTokenStore for Shelf {
    fn load(&self, key: &RefreshTokenKey) -> kusto_data::Result<Option<StoredRefreshToken>> {
        Ok(self.0.lock().unwrap().get(&key.id()).cloned())
    }
    fn save(&self, key: &RefreshTokenKey, token: &StoredRefreshToken) -> kusto_data::Result<()> {
        self.0.lock().unwrap().insert(key.id(), token.clone());
        Ok(())
    }
    fn remove(&self, key: &RefreshTokenKey) -> kusto_data::Result<()> {
        self.0.lock().unwrap().remove(&key.id());
        Ok(())
    }
}

#[test]
fn the_s256_helper_of_the_fake_authority_is_right() {
    s256::self_check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_of_an_interactive_sign_in_is_logged_or_shown() {
    let log = log();
    let emulator = Emulator::builder().database("S").start().await.unwrap();
    let target = emulator.url().trim_end_matches('/').to_owned();
    let authority = Arc::new(Authority {
        mode: Mutex::new(Mode::Issue),
        deny: Mutex::new(false),
        n: AtomicUsize::new(0),
        pending: Mutex::default(),
        secrets: Mutex::default(),
        grants: Mutex::default(),
    });
    let app = axum::Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            axum::routing::get(authorize),
        )
        .route("/{tenant}/oauth2/v2.0/token", axum::routing::post(token))
        .with_state(authority.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let login_endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let shelf = Arc::new(Shelf::default());
    let opened = Arc::new(AtomicUsize::new(0));
    let settings = |cache: SignInCache| {
        let opened = opened.clone();
        InteractiveLogin::browser()
            .with_login_hint("someone@example.com")
            .with_sign_in_cache(cache)
            .with_timeout(Duration::from_secs(60))
            .open_with(move |url| {
                opened.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(browse(url.to_owned()));
                Ok(())
            })
    };
    let connection_string = |login: InteractiveLogin| {
        ConnectionString::builder(format!("{target}/S"))
            .with_interactive_login(login)
            .build()
            .unwrap()
    };
    let client_of = |login: InteractiveLogin| {
        let cs = connection_string(login);
        KustoClient::builder(cs)
            .cloud_info(
                &target,
                CloudInfo::public_cloud().with_login_endpoint(login_endpoint.clone()),
            )
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    };
    let mut seen = Seen::default();

    // A sign-in through the browser, then a second client of the same cache signs in silently.
    let login = settings(SignInCache::with_store(shelf.clone()));
    let first = client_of(login.clone());
    let query = first.query("S", "print 1").await;
    assert!(seen.result("first query", &query));
    let second = client_of(login.clone());
    let query = second.query("S", "print 2").await;
    assert!(seen.result("silent query", &query));
    assert_eq!(opened.load(Ordering::SeqCst), 1);
    assert_eq!(
        *authority.grants.lock().unwrap(),
        ["authorization_code", "refresh_token"]
    );
    seen.value("settings", &login);
    seen.value("cache", login.sign_in_cache());
    seen.value("store", &shelf);
    seen.value("client", &first);
    let cs = connection_string(login.clone());
    seen.value("connection string", &cs);
    seen.0.push(format!("connection string display: {cs}"));
    seen.value("authentication", cs.authentication());
    seen.result("unmasked connection string", &cs.to_unmasked_string());
    let saved: Vec<(String, StoredRefreshToken)> = shelf
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(saved.len(), 1);
    assert!(saved[0].1.token().expose().starts_with("CANARY-"));
    seen.value("stored refresh token", &saved[0].1);
    seen.value("key id", &saved[0].0);

    // The token endpoint refuses, repeating the request (refresh token, code, verifier) in its
    // JSON error and in a plain-text error: a new process whose saved refresh token is refused
    // signs in again, and the code it gets is refused.
    for mode in [Mode::RefuseJson, Mode::RefuseText] {
        *authority.mode.lock().unwrap() = mode;
        let client = client_of(settings(SignInCache::with_store(shelf.clone())));
        let query = client.query("S", "print 3").await;
        assert!(!seen.result("refused sign-in", &query));
        let text = query.unwrap_err().to_string();
        let marker = if mode == Mode::RefuseJson {
            "AADSTS-ECHO"
        } else {
            "TEXT-ECHO"
        };
        assert!(
            text.contains(marker),
            "the service's description is shown: {text}"
        );
        // The next round starts from a saved sign-in again.
        *authority.mode.lock().unwrap() = Mode::Issue;
        let client = client_of(settings(SignInCache::with_store(shelf.clone())));
        assert!(seen.result("sign-in again", &client.query("S", "print 4").await));
    }
    let grants = authority.grants.lock().unwrap().clone();
    assert!(
        grants.iter().filter(|g| *g == "refresh_token").count() >= 3,
        "{grants:?}"
    );

    // A denied consent, and a sign-in nobody completes.
    *authority.deny.lock().unwrap() = true;
    let client = client_of(settings(SignInCache::in_memory()));
    assert!(!seen.result("denied consent", &client.query("S", "print 5").await));
    let nobody = InteractiveLogin::browser()
        .with_timeout(Duration::from_millis(200))
        .open_with(|_| Ok(()));
    let client = client_of(nobody);
    assert!(!seen.result("nobody signs in", &client.query("S", "print 6").await));

    let canaries = authority.secrets.lock().unwrap().clone();
    let verifiers = canaries
        .iter()
        .filter(|c| !c.starts_with("CANARY-"))
        .count();
    assert!(verifiers >= 3, "PKCE verifiers captured: {verifiers}");
    assert!(canaries.len() >= 14, "{canaries:?}");
    tokio::spawn(async { tracing::trace!(target: "hyper", "control CONTROL-interactive-5a2c") })
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(log.contains("CONTROL-interactive-5a2c"));
    assert!(seen.0.len() >= 12, "{} texts", seen.0.len());
    if let Some(leak) = super::forms::find_leak(log.lines(), &canaries) {
        panic!("a secret of the sign-in is in the log: {leak}");
    }
    if let Some(leak) = super::forms::find_leak(seen.0.iter().map(String::as_str), &canaries) {
        panic!("a secret of the sign-in is in an error or a Debug string: {leak}");
    }
}
