//! Authentication: who the client is, and how it gets a token for a cluster.
//!
//! * [`Authentication`] is the "as whom" of a [`ConnectionString`](crate::ConnectionString):
//!   application key or certificate, user and password, managed identity, Azure CLI / developer
//!   tools, workload identity, a ready token, an async callback, any `azure_core`
//!   [`TokenCredential`](azure_core::credentials::TokenCredential), the device-code flow,
//!   interactive login in the browser ([`InteractiveLogin`]), the default chain, or no
//!   authentication at all.
//! * [`TokenProvider`] is the one abstraction every method is turned into. Implement it to plug in
//!   anything else.
//! * [`Authenticator`] is what a client uses: built once from a connection string, it validates
//!   each target against the [trusted endpoints](crate::trusted_endpoints), learns the cloud from
//!   `/v1/rest/auth/metadata` ([`CloudInfo`], fetched once per authority and kept in the
//!   authenticator, not in process-global state), computes the scope and hands out cached tokens.
//!
//! # Token cache
//!
//! Tokens are cached per scope inside each [`Authenticator`] (and its clones). A cached token is
//! reused while more than its *refresh margin* remains: 5 minutes, or half the token's lifetime
//! when that is shorter. Concurrent callers that find no usable token share one request to the
//! credential (single flight). A token past its expiry is never handed out: if a refresh fails
//! while the previous token still has at least 30 seconds left, that token is returned and the
//! failure is logged; otherwise the error is returned. Tokens without an expiry (static tokens,
//! callbacks that do not say) are not cached: the provider is asked every time.
//!
//! The refresh tokens of a person's sign-in ([`InteractiveLogin`]) are kept in a
//! [`SignInCache`]: in memory by default, shared by the clones of the settings, or also in a
//! [`RefreshTokenStore`] of your own that outlives the process (the `kusto` command keeps one in
//! the platform's keyring or in a file of the user's cache directory).
//!
//! # Plain http
//!
//! A token is never sent over plain `http://` except to a loopback host (`localhost`,
//! `127.0.0.0/8`, `::1`): [`AuthError::InsecureTransport`].

mod authentication;
mod authenticator;
#[cfg(feature = "interactive")]
mod browser;
mod cache;
#[cfg(feature = "certificate")]
mod certificate;
mod chain;
mod client_secret;
mod cloud_info;
mod device_code;
mod error;
mod identity;
mod interactive;
#[cfg(feature = "interactive")]
mod loopback;
mod oauth;
#[cfg(feature = "interactive")]
mod pkce;
mod sign_in;
mod user_password;
mod workload_identity;

#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use time::OffsetDateTime;

use crate::{Result, Secret};

pub use authentication::{
    ApplicationCertificate, Authentication, DefaultChain, ManagedIdentity, TokenCallback,
    WorkloadIdentity,
};
pub use authenticator::{Authenticator, AuthenticatorBuilder};
#[cfg(feature = "certificate")]
pub use certificate::CertificateProvider;
pub use chain::DefaultChainProvider;
pub use client_secret::ClientSecretProvider;
pub use cloud_info::CloudInfo;
pub use device_code::{DeviceCodeCallback, DeviceCodeInfo, DeviceCodeProvider};
pub use error::{AuthError, BoxError};
pub use identity::CredentialProvider;
pub use interactive::{DEFAULT_LOGIN_TIMEOUT, InteractiveLogin};
pub use sign_in::{RefreshTokenKey, RefreshTokenStore, SignInCache, StoredRefreshToken};
pub use user_password::UserPasswordProvider;

/// An access token and when it expires.
///
/// ```
/// use kusto_data::auth::AccessToken;
/// let token = AccessToken::new("eyJ0eXAi...", None);
/// assert_eq!(token.authorization_value().expose(), "Bearer eyJ0eXAi...");
/// assert_eq!(format!("{token:?}").contains("eyJ0"), false);
/// ```
#[derive(Clone)]
pub struct AccessToken {
    token: Secret,
    expires_on: Option<OffsetDateTime>,
    token_type: String,
}

impl AccessToken {
    /// A bearer token that expires at `expires_on` (`None`: unknown; such tokens are not cached).
    pub fn new(token: impl Into<Secret>, expires_on: Option<OffsetDateTime>) -> Self {
        AccessToken {
            token: token.into(),
            expires_on,
            token_type: "Bearer".to_owned(),
        }
    }

    /// Replaces the token type (default `Bearer`).
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = token_type.into();
        self
    }

    /// The token itself.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// When the token expires, if known.
    pub fn expires_on(&self) -> Option<OffsetDateTime> {
        self.expires_on
    }

    /// The token type, normally `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The value of the `Authorization` header: `"{token_type} {token}"`.
    pub fn authorization_value(&self) -> Secret {
        Secret::new(format!("{} {}", self.token_type, self.token.expose()))
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &self.token)
            .field("expires_on", &self.expires_on)
            .field("token_type", &self.token_type)
            .finish()
    }
}

impl From<azure_core::credentials::AccessToken> for AccessToken {
    fn from(value: azure_core::credentials::AccessToken) -> Self {
        AccessToken::new(value.token.secret().to_owned(), Some(value.expires_on))
    }
}

/// What a [`TokenProvider`] is asked for: the scopes, and the cloud the target cluster lives in
/// (its login endpoint, its Kusto client app id).
#[derive(Debug, Clone)]
pub struct TokenRequest {
    scopes: Vec<String>,
    cloud_info: Arc<CloudInfo>,
}

impl TokenRequest {
    /// A request for `scopes` in the cloud described by `cloud_info`.
    pub fn new(scopes: Vec<String>, cloud_info: impl Into<Arc<CloudInfo>>) -> Self {
        TokenRequest {
            scopes,
            cloud_info: cloud_info.into(),
        }
    }

    /// The OAuth scopes, e.g. `["https://kusto.kusto.windows.net/.default"]`.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The cloud of the target cluster.
    pub fn cloud_info(&self) -> &CloudInfo {
        &self.cloud_info
    }

    /// The scopes joined by spaces, as OAuth expects them in a form.
    pub(crate) fn scope_string(&self) -> String {
        self.scopes.join(" ")
    }
}

/// Gets access tokens. Every authentication method is turned into one of these; implement it to
/// plug in your own.
///
/// Implementations are called through [`Authenticator`], which caches the tokens they return
/// (when they carry an expiry) and makes sure concurrent callers share one call.
///
/// ```
/// use futures::future::BoxFuture;
/// use kusto_data::auth::{AccessToken, TokenProvider, TokenRequest};
///
/// #[derive(Debug)]
/// struct FromVault;
///
/// impl TokenProvider for FromVault {
///     fn token<'a>(
///         &'a self,
///         request: &'a TokenRequest,
///     ) -> BoxFuture<'a, kusto_data::Result<AccessToken>> {
///         Box::pin(async move {
///             let _scope = &request.scopes()[0];
///             Ok(AccessToken::new("token-from-somewhere", None))
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Gets a token for `request`.
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>>;
}

/// A provider that always returns the same token (the `User Token` / `Application Token`
/// keywords). The token is sent as is; it is not refreshed.
#[derive(Debug, Clone)]
pub struct StaticTokenProvider {
    token: Secret,
}

impl StaticTokenProvider {
    /// Wraps `token`.
    pub fn new(token: impl Into<Secret>) -> Self {
        StaticTokenProvider {
            token: token.into(),
        }
    }
}

impl TokenProvider for StaticTokenProvider {
    fn token<'a>(&'a self, _request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(std::future::ready(Ok(AccessToken::new(
            self.token.clone(),
            None,
        ))))
    }
}

/// Boxes an `async` block as the future a [`TokenProvider`] returns.
pub(crate) fn boxed<'a, T>(
    future: impl Future<Output = Result<T>> + Send + 'a,
) -> BoxFuture<'a, Result<T>> {
    Box::pin(future)
}
