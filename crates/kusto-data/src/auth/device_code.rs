//! The OAuth 2.0 device authorization grant (RFC 8628) against the cloud's login endpoint.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::Value;
use time::OffsetDateTime;

use super::oauth::{OAuthResponse, endpoint_string, number, parse_token, post_form};
use super::{AccessToken, AuthError, TokenProvider, TokenRequest, boxed};
use crate::{Error, Result, Secret};

/// What the user must do to sign in: open `verification_uri` and enter `user_code` before
/// `expires_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCodeInfo {
    /// The page where the user enters the code, e.g. `https://microsoft.com/devicelogin`.
    pub verification_uri: String,
    /// The code to enter.
    pub user_code: String,
    /// When the code stops working.
    pub expires_on: OffsetDateTime,
    /// The login service's own instruction text (or one built from the two values above).
    pub message: String,
}

/// Shows a [`DeviceCodeInfo`] to the user (print it, put it in a UI, ...).
///
/// ```
/// use kusto_data::auth::DeviceCodeCallback;
/// let callback = DeviceCodeCallback::new(|info| eprintln!("{}", info.message));
/// ```
#[derive(Clone)]
pub struct DeviceCodeCallback(Arc<dyn Fn(&DeviceCodeInfo) + Send + Sync>);

impl DeviceCodeCallback {
    /// Wraps `callback`.
    pub fn new(callback: impl Fn(&DeviceCodeInfo) + Send + Sync + 'static) -> Self {
        DeviceCodeCallback(Arc::new(callback))
    }

    fn call(&self, info: &DeviceCodeInfo) {
        (self.0)(info)
    }
}

impl fmt::Debug for DeviceCodeCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCodeCallback")
    }
}

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Seconds added to the polling interval on each `slow_down` answer (RFC 8628 section 3.5).
const SLOW_DOWN_STEP: u64 = 5;

/// Signs a user in with the device-code flow.
///
/// 1. `POST {LoginEndpoint}/{tenant}/oauth2/v2.0/devicecode` with the cloud's `KustoClientAppId`
///    and the scope (plus `offline_access`);
/// 2. the callback shows the code;
/// 3. `POST .../token` every `interval` seconds until the user has signed in:
///    `authorization_pending` keeps polling, `slow_down` adds 5 seconds to the interval,
///    `expired_token` gives [`AuthError::DeviceCodeExpired`], `authorization_declined` /
///    `access_denied` give [`AuthError::DeviceCodeDeclined`].
///
/// The refresh token of the sign-in is kept in the provider (per login endpoint), so later tokens
/// are refreshed without asking the user again; only when the refresh token is refused
/// (`invalid_grant`) does the flow start over.
#[derive(Debug)]
pub struct DeviceCodeProvider {
    http: reqwest::Client,
    tenant: String,
    callback: DeviceCodeCallback,
    refresh_tokens: Mutex<HashMap<String, Secret>>,
}

impl DeviceCodeProvider {
    /// A provider for `tenant` (`organizations` for any work account) that shows codes with
    /// `callback`.
    pub fn new(
        http: reqwest::Client,
        tenant: impl Into<String>,
        callback: DeviceCodeCallback,
    ) -> Self {
        DeviceCodeProvider {
            http,
            tenant: tenant.into(),
            callback,
            refresh_tokens: Mutex::default(),
        }
    }

    fn scope(request: &TokenRequest) -> String {
        format!("{} offline_access", request.scope_string())
    }

    fn remember(&self, login: &str, value: &Value) {
        if let Some(refresh) = value.get("refresh_token").and_then(Value::as_str) {
            self.refresh_tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(login.to_owned(), Secret::new(refresh));
        }
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let cloud = request.cloud_info();
        let login = cloud.login_endpoint().to_owned();
        let refresh = self
            .refresh_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&login)
            .cloned();
        if let Some(refresh) = refresh {
            match self.refresh(request, &refresh).await? {
                Some(token) => return Ok(token),
                None => {
                    tracing::info!("refresh token refused; starting the device-code flow again");
                }
            }
        }
        self.device_flow(request).await
    }

    /// Redeems the refresh token; `None` when the login service refuses it (`invalid_grant`).
    async fn refresh(
        &self,
        request: &TokenRequest,
        refresh: &Secret,
    ) -> Result<Option<AccessToken>> {
        let cloud = request.cloud_info();
        let endpoint = cloud.oauth_endpoint(&self.tenant, "token")?;
        let scope = Self::scope(request);
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", cloud.kusto_client_app_id.as_str()),
            ("refresh_token", refresh.expose()),
            ("scope", scope.as_str()),
        ];
        match post_form(&self.http, &endpoint, &form, &[refresh]).await? {
            OAuthResponse::Success(value) => {
                self.remember(cloud.login_endpoint(), &value);
                parse_token(&value, &endpoint_string(&endpoint)).map(Some)
            }
            OAuthResponse::Failure(failure) if failure.error == "invalid_grant" => {
                self.refresh_tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(cloud.login_endpoint());
                Ok(None)
            }
            OAuthResponse::Failure(failure) => Err(failure.into_error()),
        }
    }

    /// The refresh token the last sign-in or refresh at `login` returned, taken out of the
    /// provider (for [`InteractiveLogin`](super::InteractiveLogin)'s cache).
    pub(crate) fn take_refresh_token(&self, login: &str) -> Option<Secret> {
        self.refresh_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(login)
    }

    pub(crate) async fn device_flow(&self, request: &TokenRequest) -> Result<AccessToken> {
        let cloud = request.cloud_info();
        let code_endpoint = cloud.oauth_endpoint(&self.tenant, "devicecode")?;
        let token_endpoint = cloud.oauth_endpoint(&self.tenant, "token")?;
        let scope = Self::scope(request);
        let form = [
            ("client_id", cloud.kusto_client_app_id.as_str()),
            ("scope", scope.as_str()),
        ];
        let value = match post_form(&self.http, &code_endpoint, &form, &[]).await? {
            OAuthResponse::Success(value) => value,
            OAuthResponse::Failure(failure) => return Err(failure.into_error()),
        };
        let code_endpoint_text = endpoint_string(&code_endpoint);
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let missing = |what: &str| Error::MalformedResponse {
            message: format!("{code_endpoint_text} answered without {what}"),
            offset: None,
        };
        let device_code = Secret::new(text("device_code").ok_or_else(|| missing("device_code"))?);
        let user_code = text("user_code").ok_or_else(|| missing("user_code"))?;
        let verification_uri = text("verification_uri")
            .or_else(|| text("verification_url"))
            .ok_or_else(|| missing("verification_uri"))?;
        // Bounded so that no answer can overflow the clocks: a code lives at most a day and
        // the service cannot ask for more than a minute between polls.
        let expires_in = number(value.get("expires_in"))
            .unwrap_or(900)
            .clamp(0, 86_400) as u64;
        let mut interval = number(value.get("interval")).unwrap_or(5).clamp(0, 60) as u64;
        let message = text("message").unwrap_or_else(|| {
            format!("To sign in, open {verification_uri} and enter the code {user_code}.")
        });
        let info = DeviceCodeInfo {
            verification_uri,
            user_code,
            expires_on: OffsetDateTime::now_utc()
                .saturating_add(time::Duration::seconds(expires_in as i64)),
            message,
        };
        self.callback.call(&info);

        let deadline = crate::time_math::deadline_after(std::time::Duration::from_secs(expires_in));
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
            if tokio::time::Instant::now() >= deadline {
                return Err(AuthError::DeviceCodeExpired.into());
            }
            let form = [
                ("grant_type", DEVICE_CODE_GRANT),
                ("client_id", cloud.kusto_client_app_id.as_str()),
                ("device_code", device_code.expose()),
            ];
            match post_form(&self.http, &token_endpoint, &form, &[&device_code]).await? {
                OAuthResponse::Success(value) => {
                    self.remember(cloud.login_endpoint(), &value);
                    return parse_token(&value, &endpoint_string(&token_endpoint));
                }
                OAuthResponse::Failure(failure) => match failure.error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" => interval += SLOW_DOWN_STEP,
                    "expired_token" | "code_expired" => {
                        return Err(AuthError::DeviceCodeExpired.into());
                    }
                    "authorization_declined" | "access_denied" => {
                        return Err(AuthError::DeviceCodeDeclined {
                            error: failure.error,
                        }
                        .into());
                    }
                    _ => return Err(failure.into_error()),
                },
            }
        }
    }
}

impl TokenProvider for DeviceCodeProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}
