//! Interactive login: a person signs in, in the system browser (the OAuth 2.0
//! authorization-code flow with PKCE and a loopback redirect, cargo feature `interactive`) or
//! with a device code; the refresh token of the sign-in is kept in a [`SignInCache`] and used
//! silently until the login service refuses it.

use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use time::OffsetDateTime;

use super::device_code::DeviceCodeProvider;
use super::oauth::{OAuthResponse, endpoint_string, number, parse_token, post_form};
use super::sign_in::{DEFAULT_REFRESH_LIFETIME, RefreshTokenKey, SignInCache, StoredRefreshToken};
use super::{AccessToken, BoxError, DeviceCodeCallback, TokenProvider, TokenRequest, boxed};
use crate::connection_string::DEFAULT_AUTHORITY;
use crate::{Result, Secret};

/// How long the browser sign-in waits for the person by default.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

type OpenUrlFn = dyn Fn(&str) -> std::result::Result<(), BoxError> + Send + Sync;

/// An application's own way of showing the sign-in page.
#[derive(Clone)]
pub(crate) struct OpenUrlCallback(Arc<OpenUrlFn>);

impl OpenUrlCallback {
    #[cfg_attr(not(feature = "interactive"), allow(dead_code))]
    pub(crate) fn call(&self, url: &str) -> std::result::Result<(), BoxError> {
        (self.0)(url)
    }
}

/// How the sign-in page is shown.
#[derive(Clone)]
#[cfg_attr(not(feature = "interactive"), allow(dead_code))]
pub(crate) enum Opener {
    /// The system browser.
    System,
    /// `program args... URL`.
    Command {
        program: OsString,
        args: Vec<OsString>,
    },
    /// The application's callback.
    Callback(OpenUrlCallback),
}

/// How the person is asked to sign in.
#[derive(Clone)]
enum Prompt {
    Browser(Opener),
    DeviceCode(DeviceCodeCallback),
}

/// The settings of an interactive login (the official SDKs' `with_interactive_login` /
/// `WithAadUserPromptAuthentication` / `withUserPrompt`), used as
/// [`Authentication::InteractiveLogin`](super::Authentication::InteractiveLogin).
///
/// * [`InteractiveLogin::browser`]: the person signs in in the system browser. The OAuth 2.0
///   authorization-code flow with PKCE (`S256`) against the login endpoint of the cluster's cloud
///   (from its cloud info) with the cloud's Kusto client app id; the browser is sent back to
///   `http://localhost:{port}` where a listener on a free loopback port takes the code and shows
///   a page saying the window can be closed. Needs the cargo feature `interactive`.
/// * [`InteractiveLogin::device_code`]: the device-code flow (a code to enter on any device).
///
/// Both keep the refresh token of the sign-in in a [`SignInCache`] (in memory by default, shared
/// by every clone of these settings, so the engine and data-management clients of one
/// connection string sign in once) and redeem it silently for later tokens; only when the login
/// service refuses it (`invalid_grant`, `interaction_required`) or it expires is the person asked
/// again.
///
/// ```
/// use kusto_data::ConnectionString;
/// use kusto_data::auth::InteractiveLogin;
///
/// let cs = ConnectionString::builder("https://mycluster.westeurope.kusto.windows.net")
///     .with_interactive_login(
///         InteractiveLogin::browser()
///             .with_login_hint("alice@contoso.com")
///             .with_tenant("contoso.com"),
///     )
///     .build()?;
/// assert_eq!(cs.authentication().method_name(), "interactive login");
/// assert_eq!(
///     cs.to_string(),
///     "Data Source=https://mycluster.westeurope.kusto.windows.net;AAD Federated Security=True;\
///      User ID=alice@contoso.com;Authority Id=contoso.com"
/// );
/// # Ok::<(), kusto_data::Error>(())
/// ```
#[derive(Clone)]
pub struct InteractiveLogin {
    tenant: Option<String>,
    login_hint: Option<String>,
    prompt: Prompt,
    timeout: Duration,
    cache: SignInCache,
}

impl fmt::Debug for InteractiveLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prompt = match &self.prompt {
            Prompt::Browser(Opener::System) => "system browser".to_owned(),
            Prompt::Browser(Opener::Command { program, .. }) => {
                format!("command {}", program.to_string_lossy())
            }
            Prompt::Browser(Opener::Callback(_)) => "callback".to_owned(),
            Prompt::DeviceCode(_) => "device code".to_owned(),
        };
        f.debug_struct("InteractiveLogin")
            .field("tenant", &self.tenant)
            .field("login_hint", &self.login_hint)
            .field("prompt", &prompt)
            .field("timeout", &self.timeout)
            .field("cache", &self.cache)
            .finish()
    }
}

impl Default for InteractiveLogin {
    fn default() -> Self {
        Self::browser()
    }
}

impl InteractiveLogin {
    /// Sign-in in the system browser, in any work or school account's tenant
    /// (`organizations`), waiting at most [`DEFAULT_LOGIN_TIMEOUT`], with an in-memory cache.
    pub fn browser() -> Self {
        InteractiveLogin {
            tenant: None,
            login_hint: None,
            prompt: Prompt::Browser(Opener::System),
            timeout: DEFAULT_LOGIN_TIMEOUT,
            cache: SignInCache::in_memory(),
        }
    }

    /// Sign-in with a device code, shown by `callback`.
    pub fn device_code(callback: DeviceCodeCallback) -> Self {
        InteractiveLogin {
            prompt: Prompt::DeviceCode(callback),
            ..Self::browser()
        }
    }

    /// The tenant (id or domain) to sign in to (`Authority Id`; default `organizations`).
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The account to propose (`User ID` without a password: the login hint). Refresh tokens
    /// are kept per login hint.
    pub fn with_login_hint(mut self, login_hint: impl Into<String>) -> Self {
        self.login_hint = Some(login_hint.into());
        self
    }

    /// How long the browser sign-in waits for the redirect before
    /// [`AuthError::InteractiveLoginTimedOut`](super::AuthError::InteractiveLoginTimedOut).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where refresh tokens are kept (default: a new in-memory cache).
    pub fn with_sign_in_cache(mut self, cache: SignInCache) -> Self {
        self.cache = cache;
        self
    }

    /// Opens the sign-in page by running `program` with `args` followed by the URL, instead of
    /// the system browser: a particular browser, a script, or `echo` on a remote terminal (the
    /// command's output goes to standard error). The sign-in fails at once when the command
    /// cannot be started or exits with a failure status; a status of success keeps waiting for
    /// the redirect.
    pub fn open_with_command<I, A>(mut self, program: impl Into<OsString>, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        self.prompt = Prompt::Browser(Opener::Command {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Shows the sign-in page with `open` instead of the system browser (an application's own
    /// web view, a message to the person). An error from it fails the sign-in at once.
    pub fn open_with(
        mut self,
        open: impl Fn(&str) -> std::result::Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.prompt = Prompt::Browser(Opener::Callback(OpenUrlCallback(Arc::new(open))));
        self
    }

    /// The tenant given, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The login hint given, if any.
    pub fn login_hint(&self) -> Option<&str> {
        self.login_hint.as_deref()
    }

    /// The browser sign-in's timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The cache of refresh tokens.
    pub fn sign_in_cache(&self) -> &SignInCache {
        &self.cache
    }

    /// True for the browser sign-in, false for the device code.
    pub fn uses_browser(&self) -> bool {
        matches!(self.prompt, Prompt::Browser(_))
    }

    /// Fills the tenant and login hint from a connection string's `Authority Id` and `User ID`
    /// where these settings have none.
    pub(crate) fn fill_from(&mut self, tenant: Option<&str>, login_hint: Option<&str>) {
        if self.tenant.is_none() {
            self.tenant = tenant.map(str::to_owned);
        }
        if self.login_hint.is_none() {
            self.login_hint = login_hint.map(str::to_owned);
        }
    }

    fn tenant_or_default(&self) -> &str {
        self.tenant.as_deref().unwrap_or(DEFAULT_AUTHORITY)
    }
}

/// The [`TokenProvider`] of [`InteractiveLogin`].
#[derive(Debug)]
pub(crate) struct InteractiveLoginProvider {
    http: reqwest::Client,
    settings: InteractiveLogin,
}

impl InteractiveLoginProvider {
    /// A provider; the browser sign-in needs the cargo feature `interactive`.
    pub(crate) fn new(http: reqwest::Client, settings: InteractiveLogin) -> Result<Self> {
        #[cfg(not(feature = "interactive"))]
        if settings.uses_browser() {
            return Err(super::AuthError::FeatureDisabled {
                method: "interactive browser login",
                feature: "interactive",
            }
            .into());
        }
        Ok(InteractiveLoginProvider { http, settings })
    }

    fn scope(request: &TokenRequest) -> String {
        format!("{} offline_access", request.scope_string())
    }

    fn key(&self, request: &TokenRequest) -> RefreshTokenKey {
        let cloud = request.cloud_info();
        RefreshTokenKey::new(
            cloud.login_endpoint(),
            self.settings.tenant_or_default(),
            cloud.kusto_client_app_id.as_str(),
            self.settings.login_hint.clone(),
        )
    }

    /// Keeps the refresh token of a token answer.
    fn keep(&self, key: &RefreshTokenKey, value: &Value) {
        let Some(refresh) = value
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return;
        };
        self.keep_token(
            key,
            Secret::new(refresh),
            number(value.get("refresh_token_expires_in")),
        );
    }

    fn keep_token(&self, key: &RefreshTokenKey, refresh: Secret, lifetime: Option<i64>) {
        let lifetime = lifetime
            .filter(|s| *s > 0)
            .map(|s| time::Duration::seconds(s.min(DEFAULT_REFRESH_LIFETIME.whole_seconds())))
            .unwrap_or(DEFAULT_REFRESH_LIFETIME);
        let expires_on = OffsetDateTime::now_utc().saturating_add(lifetime);
        self.settings
            .cache
            .put(key, StoredRefreshToken::new(refresh, expires_on));
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let key = self.key(request);
        // One sign-in at a time per cache: a second client waits and then redeems the first
        // one's refresh token instead of prompting again.
        let _gate = self.settings.cache.lock().await;
        if let Some(stored) = self.settings.cache.get(&key) {
            if let Some(token) = self.redeem(request, &key, &stored).await? {
                return Ok(token);
            }
            tracing::info!("the saved sign-in was refused; asking the person to sign in again");
        }
        match &self.settings.prompt {
            Prompt::DeviceCode(callback) => {
                let cloud = request.cloud_info();
                let provider = DeviceCodeProvider::new(
                    self.http.clone(),
                    self.settings.tenant_or_default(),
                    callback.clone(),
                );
                let token = provider.device_flow(request).await?;
                if let Some(refresh) = provider.take_refresh_token(cloud.login_endpoint()) {
                    self.keep_token(&key, refresh, None);
                }
                Ok(token)
            }
            #[cfg(feature = "interactive")]
            Prompt::Browser(opener) => {
                let (value, endpoint) = self.browser_flow(request, opener).await?;
                self.keep(&key, &value);
                parse_token(&value, &endpoint)
            }
            #[cfg(not(feature = "interactive"))]
            Prompt::Browser(_) => Err(super::AuthError::FeatureDisabled {
                method: "interactive browser login",
                feature: "interactive",
            }
            .into()),
        }
    }

    /// Redeems a refresh token; `None` when the login service wants the person to sign in again.
    async fn redeem(
        &self,
        request: &TokenRequest,
        key: &RefreshTokenKey,
        stored: &StoredRefreshToken,
    ) -> Result<Option<AccessToken>> {
        let cloud = request.cloud_info();
        let endpoint = cloud.oauth_endpoint(self.settings.tenant_or_default(), "token")?;
        let scope = Self::scope(request);
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", cloud.kusto_client_app_id.as_str()),
            ("refresh_token", stored.token().expose()),
            ("scope", scope.as_str()),
        ];
        match post_form(&self.http, &endpoint, &form, &[stored.token()]).await? {
            OAuthResponse::Success(value) => {
                self.keep(key, &value);
                parse_token(&value, &endpoint_string(&endpoint)).map(Some)
            }
            OAuthResponse::Failure(failure)
                if matches!(
                    failure.error.as_str(),
                    "invalid_grant" | "interaction_required"
                ) =>
            {
                self.settings.cache.forget(key);
                Ok(None)
            }
            OAuthResponse::Failure(failure) => Err(failure.into_error()),
        }
    }

    /// The browser sign-in: returns the token answer and the token endpoint (for messages).
    #[cfg(feature = "interactive")]
    async fn browser_flow(
        &self,
        request: &TokenRequest,
        opener: &Opener,
    ) -> Result<(Value, String)> {
        use super::AuthError;
        use super::browser::{Launched, launch};
        use super::loopback::Loopback;
        use super::pkce::{Pkce, new_state};

        let cloud = request.cloud_info();
        let tenant = self.settings.tenant_or_default();
        let mut url = cloud.oauth_endpoint(tenant, "authorize")?;
        let token_endpoint = cloud.oauth_endpoint(tenant, "token")?;
        let loopback = Loopback::bind().await?;
        let redirect_uri = format!("http://localhost:{}", loopback.port());
        let pkce = Pkce::new();
        let state = new_state();
        let scope = Self::scope(request);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &cloud.kusto_client_app_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("response_mode", "query")
                .append_pair("scope", &scope)
                .append_pair("state", &state)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("prompt", "select_account");
            if let Some(hint) = &self.settings.login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        let url = url.to_string();
        let unavailable = |reason: String| AuthError::BrowserUnavailable {
            url: url.clone(),
            reason,
        };
        let launched = launch(opener, &url).await.map_err(unavailable)?;
        let wait = loopback.wait(state);
        let timeout = self.settings.timeout;
        let code = tokio::time::timeout(timeout, async {
            match launched {
                Launched::Done => wait.await,
                Launched::Command(mut child) => {
                    tokio::pin!(wait);
                    tokio::select! {
                        biased;
                        code = &mut wait => code,
                        status = child.wait() => match status {
                            Ok(status) if status.success() => wait.await,
                            Ok(status) => Err(unavailable(format!(
                                "the command that opens the page exited with {status}"
                            ))
                            .into()),
                            Err(e) => Err(unavailable(format!(
                                "the command that opens the page failed: {e}"
                            ))
                            .into()),
                        },
                    }
                }
            }
        })
        .await
        .map_err(|_| AuthError::InteractiveLoginTimedOut {
            seconds: timeout.as_secs(),
        })??;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", cloud.kusto_client_app_id.as_str()),
            ("code", code.expose()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", pkce.verifier.expose()),
            ("scope", scope.as_str()),
        ];
        match post_form(&self.http, &token_endpoint, &form, &[&code, &pkce.verifier]).await? {
            OAuthResponse::Success(value) => Ok((value, endpoint_string(&token_endpoint))),
            OAuthResponse::Failure(failure) => Err(failure.into_error()),
        }
    }
}

impl TokenProvider for InteractiveLoginProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}
