//! Interactive login against a fake authority: an authorize endpoint that redirects to the
//! loopback listener (with a code, an error, or a forged state) and a token endpoint that checks
//! the PKCE verifier against the challenge. The "browser" is a command the test supplies
//! (`sh`, writing the URL it is given to a file) whose URL the test then follows like a browser
//! would, or a callback doing the same.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::{TARGET, http, target};
use crate::auth::{
    AuthError, Authenticator, CloudInfo, DeviceCodeCallback, InteractiveLogin, RefreshTokenKey,
    RefreshTokenStore, SignInCache, StoredRefreshToken,
};
use crate::{ConnectionString, Error};

/// What the authorize endpoint does with the next sign-ins.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Consent {
    Approve,
    Deny,
    ForgeState,
}

#[derive(Default)]
struct Authority {
    consent: Mutex<Option<Consent>>,
    /// The authorize requests' query parameters.
    authorizations: Mutex<Vec<HashMap<String, String>>>,
    /// code -> (challenge, redirect_uri)
    codes: Mutex<HashMap<String, (String, String)>>,
    /// The token requests' forms.
    grants: Mutex<Vec<HashMap<String, String>>>,
    refresh_tokens: Mutex<Vec<String>>,
    issued: AtomicUsize,
}

impl Authority {
    fn grant_types(&self) -> Vec<String> {
        self.grants
            .lock()
            .unwrap()
            .iter()
            .map(|g| g["grant_type"].clone())
            .collect()
    }

    fn issue(&self) -> Response {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let refresh = format!("CANARY-refresh-{n}");
        self.refresh_tokens.lock().unwrap().push(refresh.clone());
        Json(json!({
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": format!("CANARY-access-{n}"),
            "refresh_token": refresh,
        }))
        .into_response()
    }
}

fn invalid_grant(description: &str) -> Response {
    (
        axum::http::StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

async fn authorize(
    State(authority): State<Arc<Authority>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    authority.authorizations.lock().unwrap().push(query.clone());
    let consent = authority
        .consent
        .lock()
        .unwrap()
        .unwrap_or(Consent::Approve);
    let redirect = &query["redirect_uri"];
    let state = &query["state"];
    let location = match consent {
        Consent::Approve => {
            let code = format!("CANARY-code-{}", authority.codes.lock().unwrap().len());
            authority.codes.lock().unwrap().insert(
                code.clone(),
                (query["code_challenge"].clone(), redirect.clone()),
            );
            format!("{redirect}?code={code}&state={state}&session_state=s")
        }
        Consent::Deny => format!(
            "{redirect}?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state={state}"
        ),
        Consent::ForgeState => format!("{redirect}?code=CANARY-code-forged&state=forged"),
    };
    Redirect::to(&location).into_response()
}

async fn token(State(authority): State<Arc<Authority>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    authority.grants.lock().unwrap().push(form.clone());
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some((challenge, redirect)) = authority.codes.lock().unwrap().remove(&form["code"])
            else {
                return invalid_grant("unknown or used code");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            if crate::auth::pkce::challenge_of(&verifier) != challenge {
                return invalid_grant("AADSTS501481: The Code_Verifier does not match");
            }
            if form.get("redirect_uri") != Some(&redirect) {
                return invalid_grant("redirect_uri differs");
            }
            authority.issue()
        }
        Some("refresh_token") => {
            let known = authority.refresh_tokens.lock().unwrap();
            if !known.contains(&form["refresh_token"]) {
                return invalid_grant("AADSTS700082: The refresh token has expired");
            }
            drop(known);
            authority.issue()
        }
        _ => invalid_grant("unsupported grant"),
    }
}

struct Fake {
    url: String,
    authority: Arc<Authority>,
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start() -> Fake {
        let authority = Arc::new(Authority::default());
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .with_state(authority.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake {
            url,
            authority,
            dir: tempfile::tempdir().unwrap(),
            task,
        }
    }

    fn consent(&self, consent: Consent) {
        *self.authority.consent.lock().unwrap() = Some(consent);
    }

    fn authenticator(&self, login: InteractiveLogin) -> Authenticator {
        let cs = ConnectionString::builder(TARGET)
            .with_interactive_login(login)
            .build()
            .unwrap();
        Authenticator::builder(&cs, http())
            .cloud_info(
                TARGET,
                CloudInfo::public_cloud().with_login_endpoint(self.url.clone()),
            )
            .build()
            .unwrap()
    }

    /// The fake browser command: `sh` writes the URL it is given to a new file of the
    /// scratch directory; [`Fake::follow_next`] reads it and follows it.
    fn browser_command(&self, login: InteractiveLogin) -> InteractiveLogin {
        let file = self.dir.path().join("url");
        let _ = std::fs::remove_file(&file);
        login.open_with_command(
            "sh",
            [
                "-c".to_owned(),
                "printf '%s' \"$1\" > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"".to_owned(),
                file.to_string_lossy().into_owned(),
            ],
        )
    }

    /// Waits for the URL the command was given and follows it, redirects included; returns
    /// the page the loopback listener answered.
    fn follow_next(&self) -> tokio::task::JoinHandle<String> {
        let file = self.dir.path().join("url");
        tokio::spawn(async move { follow(&wait_for_file(&file).await).await })
    }
}

async fn wait_for_file(file: &Path) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the browser command was not run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a browser does with the sign-in URL: GET it and follow the redirects.
async fn follow(url: &str) -> String {
    let response = http().get(url).send().await.unwrap();
    response.text().await.unwrap()
}

/// A callback "browser" that follows the URL in a task and counts its calls.
fn callback_browser(login: InteractiveLogin, calls: Arc<AtomicUsize>) -> InteractiveLogin {
    login.open_with(move |url| {
        calls.fetch_add(1, Ordering::SeqCst);
        let url = url.to_owned();
        tokio::spawn(async move { follow(&url).await });
        Ok(())
    })
}

fn auth_error(error: &Error) -> &AuthError {
    match error {
        Error::Auth(e) => e,
        other => panic!("not an authentication error: {other}"),
    }
}

async fn bearer_of(auth: &Authenticator) -> Result<String, Error> {
    Ok(auth
        .authorization_header(&target())
        .await?
        .expect("an Authorization header")
        .expose()
        .to_owned())
}

#[tokio::test]
async fn signs_in_through_the_browser_with_pkce() {
    let fake = Fake::start().await;
    let login = fake.browser_command(
        InteractiveLogin::browser()
            .with_login_hint("alice@contoso.com")
            .with_tenant("contoso.com"),
    );
    let auth = fake.authenticator(login);
    let page = fake.follow_next();
    assert_eq!(bearer_of(&auth).await.unwrap(), "Bearer CANARY-access-0");
    let page = page.await.unwrap();
    assert!(page.contains("You can close this window"), "{page}");

    let authorizations = fake.authority.authorizations.lock().unwrap().clone();
    let query = &authorizations[0];
    let cloud = CloudInfo::public_cloud();
    assert_eq!(query["client_id"], cloud.kusto_client_app_id);
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["login_hint"], "alice@contoso.com");
    assert_eq!(query["prompt"], "select_account");
    assert_eq!(
        query["scope"],
        "https://kusto.kusto.windows.net/.default offline_access"
    );
    assert!(query["redirect_uri"].starts_with("http://localhost:"));
    assert_eq!(query["code_challenge"].len(), 43);
    let grants = fake.authority.grants.lock().unwrap().clone();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["grant_type"], "authorization_code");
    assert_eq!(grants[0]["code_verifier"].len(), 43);
    // The second token comes from the authenticator's cache: no new sign-in, no request.
    assert_eq!(bearer_of(&auth).await.unwrap(), "Bearer CANARY-access-0");
    assert_eq!(fake.authority.grant_types(), ["authorization_code"]);
}

#[tokio::test]
async fn a_denied_consent_is_a_clear_error() {
    let fake = Fake::start().await;
    fake.consent(Consent::Deny);
    let auth = fake.authenticator(fake.browser_command(InteractiveLogin::browser()));
    let page = fake.follow_next();
    let error = bearer_of(&auth).await.unwrap_err();
    assert!(
        matches!(auth_error(&error), AuthError::InteractiveLoginFailed { error, .. } if error == "access_denied"),
        "{error}"
    );
    assert!(
        error.to_string().contains("User declined to consent"),
        "{error}"
    );
    assert!(
        page.await
            .unwrap()
            .contains("The sign-in failed: access_denied")
    );
    assert!(fake.authority.grants.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_state_is_refused_and_no_code_is_redeemed() {
    let fake = Fake::start().await;
    fake.consent(Consent::ForgeState);
    let auth = fake.authenticator(fake.browser_command(InteractiveLogin::browser()));
    let page = fake.follow_next();
    let error = bearer_of(&auth).await.unwrap_err();
    assert!(
        matches!(auth_error(&error), AuthError::InteractiveLoginStateMismatch),
        "{error}"
    );
    assert!(
        page.await
            .unwrap()
            .contains("does not belong to the sign-in")
    );
    assert!(fake.authority.grants.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_sign_in_times_out_when_nobody_signs_in() {
    let fake = Fake::start().await;
    // `true` takes the URL and does nothing with it, successfully.
    let login = InteractiveLogin::browser()
        .open_with_command("true", Vec::<String>::new())
        .with_timeout(Duration::from_millis(300));
    let error = bearer_of(&fake.authenticator(login)).await.unwrap_err();
    assert!(
        matches!(
            auth_error(&error),
            AuthError::InteractiveLoginTimedOut { .. }
        ),
        "{error}"
    );
    assert!(fake.authority.authorizations.lock().unwrap().is_empty());
}

#[tokio::test]
async fn no_browser_is_an_error_that_shows_the_url() {
    let fake = Fake::start().await;
    for (program, reason) in [
        ("/nonexistent/browser-of-the-test", "could not run"),
        ("false", "exited with"),
    ] {
        let login = InteractiveLogin::browser().open_with_command(program, Vec::<String>::new());
        let error = bearer_of(&fake.authenticator(login)).await.unwrap_err();
        let AuthError::BrowserUnavailable { url, .. } = auth_error(&error) else {
            panic!("{error}");
        };
        assert!(url.starts_with(&format!(
            "{}/organizations/oauth2/v2.0/authorize?",
            fake.url
        )));
        let text = error.to_string();
        assert!(
            text.contains(reason) && text.contains(url.as_str()),
            "{text}"
        );
    }
    let login = InteractiveLogin::browser().open_with(|_| Err("no display".into()));
    let error = bearer_of(&fake.authenticator(login)).await.unwrap_err();
    assert!(error.to_string().contains("no display"), "{error}");
}

#[tokio::test]
async fn the_refresh_token_is_used_silently_until_it_is_refused() {
    let fake = Fake::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let login = callback_browser(InteractiveLogin::browser(), calls.clone());
    assert_eq!(
        bearer_of(&fake.authenticator(login.clone())).await.unwrap(),
        "Bearer CANARY-access-0"
    );
    // A second client of the same settings (a clone: the same cache) signs in silently.
    assert_eq!(
        bearer_of(&fake.authenticator(login.clone())).await.unwrap(),
        "Bearer CANARY-access-1"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        fake.authority.grant_types(),
        ["authorization_code", "refresh_token"]
    );
    // The refresh token used was the first one issued; the rotated one is kept.
    assert_eq!(
        fake.authority.grants.lock().unwrap()[1]["refresh_token"],
        "CANARY-refresh-0"
    );
    // The login service forgets every refresh token: the person is asked again.
    fake.authority.refresh_tokens.lock().unwrap().clear();
    assert_eq!(
        bearer_of(&fake.authenticator(login.clone())).await.unwrap(),
        "Bearer CANARY-access-2"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        fake.authority.grant_types(),
        [
            "authorization_code",
            "refresh_token",
            "refresh_token",
            "authorization_code"
        ]
    );
}

#[tokio::test]
async fn concurrent_clients_sharing_a_cache_prompt_once() {
    let fake = Fake::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let login = callback_browser(InteractiveLogin::browser(), calls.clone());
    let (a, b) = (
        fake.authenticator(login.clone()),
        fake.authenticator(login.clone()),
    );
    let (x, y) = tokio::join!(bearer_of(&a), bearer_of(&b));
    let mut tokens = [x.unwrap(), y.unwrap()];
    tokens.sort();
    assert_eq!(tokens, ["Bearer CANARY-access-0", "Bearer CANARY-access-1"]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A store standing in for a file or keyring that outlives the process.
#[derive(Debug, Default)]
struct Shelf(Mutex<HashMap<String, StoredRefreshToken>>);

impl RefreshTokenStore for Shelf {
    fn load(&self, key: &RefreshTokenKey) -> crate::Result<Option<StoredRefreshToken>> {
        Ok(self.0.lock().unwrap().get(&key.id()).cloned())
    }
    fn save(&self, key: &RefreshTokenKey, token: &StoredRefreshToken) -> crate::Result<()> {
        self.0.lock().unwrap().insert(key.id(), token.clone());
        Ok(())
    }
    fn remove(&self, key: &RefreshTokenKey) -> crate::Result<()> {
        self.0.lock().unwrap().remove(&key.id());
        Ok(())
    }
}

#[tokio::test]
async fn a_store_carries_the_sign_in_to_the_next_process() {
    let fake = Fake::start().await;
    let shelf = Arc::new(Shelf::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let first = callback_browser(InteractiveLogin::browser(), calls.clone())
        .with_login_hint("alice@contoso.com")
        .with_sign_in_cache(SignInCache::with_store(shelf.clone()));
    bearer_of(&fake.authenticator(first)).await.unwrap();
    let saved = shelf.0.lock().unwrap().clone();
    let key = format!(
        "{} | organizations | {} | alice@contoso.com",
        fake.url,
        CloudInfo::public_cloud().kusto_client_app_id
    );
    assert_eq!(saved[&key].token().expose(), "CANARY-refresh-0");
    assert!(saved[&key].expires_on() > time::OffsetDateTime::now_utc() + time::Duration::days(89));
    // "The next process": new settings and a new cache over the same store; a browser that
    // would fail.
    let next = InteractiveLogin::browser()
        .open_with(|_| Err("the browser must not be opened".into()))
        .with_login_hint("alice@contoso.com")
        .with_sign_in_cache(SignInCache::with_store(shelf.clone()));
    assert_eq!(
        bearer_of(&fake.authenticator(next)).await.unwrap(),
        "Bearer CANARY-access-1"
    );
    assert_eq!(
        shelf.0.lock().unwrap()[&key].token().expose(),
        "CANARY-refresh-1"
    );
    // Another account's sign-in is not used for this one.
    let other = InteractiveLogin::browser()
        .open_with(|_| Err("asked".into()))
        .with_login_hint("bob@contoso.com")
        .with_sign_in_cache(SignInCache::with_store(shelf.clone()));
    let error = bearer_of(&fake.authenticator(other)).await.unwrap_err();
    assert!(error.to_string().contains("asked"), "{error}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn device_code_sign_ins_use_the_cache_too() {
    // A login server with device-code endpoints: one code, approved at the first poll.
    let shown = Arc::new(AtomicUsize::new(0));
    let counter = shown.clone();
    let device = super::server::Server::start(move |request, _| {
        if request.path.ends_with("/devicecode") {
            return (
                200,
                json!({"device_code": "CANARY-dc", "user_code": "U", "verification_uri": "https://x",
                       "expires_in": 60, "interval": 0}),
            );
        }
        match request.form.get("grant_type").map(String::as_str) {
            Some("refresh_token") if request.form["refresh_token"] == "CANARY-refresh-dc" => (
                200,
                json!({"access_token": "CANARY-access-refreshed", "expires_in": 3600}),
            ),
            _ => (
                200,
                json!({"access_token": "CANARY-access-dc", "expires_in": 3600,
                       "refresh_token": "CANARY-refresh-dc"}),
            ),
        }
    })
    .await;
    let login = InteractiveLogin::device_code(DeviceCodeCallback::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let authenticator = |login: InteractiveLogin| {
        let cs = ConnectionString::builder(TARGET)
            .with_interactive_login(login)
            .build()
            .unwrap();
        Authenticator::builder(&cs, http())
            .cloud_info(TARGET, super::cloud(&device))
            .build()
            .unwrap()
    };
    assert_eq!(
        bearer_of(&authenticator(login.clone())).await.unwrap(),
        "Bearer CANARY-access-dc"
    );
    assert_eq!(
        bearer_of(&authenticator(login.clone())).await.unwrap(),
        "Bearer CANARY-access-refreshed"
    );
    assert_eq!(shown.load(Ordering::SeqCst), 1);
}

#[test]
fn settings_print_no_secret_and_fill_from_the_connection_string() {
    let cs: ConnectionString =
        "Data Source=https://help.kusto.windows.net;User ID=alice@contoso.com;Authority Id=contoso.com"
            .parse()
            .unwrap();
    let cs = crate::ConnectionStringBuilder::from(cs)
        .with_interactive_login(InteractiveLogin::browser())
        .build()
        .unwrap();
    let crate::auth::Authentication::InteractiveLogin(login) = cs.authentication() else {
        panic!("{cs:?}");
    };
    assert_eq!(login.login_hint(), Some("alice@contoso.com"));
    assert_eq!(login.tenant(), Some("contoso.com"));
    assert_eq!(cs.authority_id(), Some("contoso.com"));
    assert!(cs.to_unmasked_string().is_err());
    let bad = ConnectionString::builder(TARGET)
        .with_interactive_login(InteractiveLogin::browser().with_tenant("a/b"))
        .build();
    assert!(bad.is_err());
}
