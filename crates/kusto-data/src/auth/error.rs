//! Authentication errors.

use std::fmt;

/// A boxed error from user code or a dependency.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a token could not be obtained. Carried by [`Error::Auth`](crate::Error::Auth).
///
/// No variant carries a secret: token endpoints are shown without query strings, and only the
/// OAuth error code and description returned by the login service are kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The login endpoint answered a token request with an OAuth error.
    #[error(
        "the token endpoint {endpoint} refused the request (HTTP {status}, {error}){}{}",
        .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
        .correlation_id.as_deref().map(|c| format!(" (correlation id {c})")).unwrap_or_default()
    )]
    TokenRequestFailed {
        /// The token endpoint, without its query string.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_client`, or `http_error` when the body had none.
        error: String,
        /// The OAuth `error_description`, cut to 1 KiB.
        description: Option<String>,
        /// The `correlation_id` the login service returned.
        correlation_id: Option<String>,
    },

    /// The device code expired before the user completed the sign-in.
    #[error("the device code expired before the sign-in was completed")]
    DeviceCodeExpired,

    /// The user declined the device-code sign-in.
    #[error("the device-code sign-in was declined ({error})")]
    DeviceCodeDeclined {
        /// The OAuth error code (`authorization_declined` or `access_denied`).
        error: String,
    },

    /// A credential (azure_identity, a callback, a custom provider) failed.
    #[error("{provider} failed to get a token: {message}")]
    Provider {
        /// Which credential failed, e.g. `ManagedIdentityCredential`.
        provider: String,
        /// What it said.
        message: String,
        /// True when trying again later may succeed.
        transient: bool,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// Every credential of the default chain failed.
    #[error("no credential of the default chain could get a token: {}", ChainAttempts(.attempts))]
    ChainExhausted {
        /// `(credential, message)` for each credential tried, in order.
        attempts: Vec<(String, String)>,
    },

    /// A token would have been sent over plain `http://` to a host that is not loopback.
    #[error(
        "refusing to send a token over plain http to '{host}': use https://, or connect without \
         authentication (`AAD Federated Security=False`, ConnectionStringBuilder::with_no_authentication)"
    )]
    InsecureTransport {
        /// The host.
        host: String,
    },

    /// The authentication method needs a cargo feature of `kusto-data` that is not enabled.
    #[error("{method} authentication needs the cargo feature `{feature}` of kusto-data")]
    FeatureDisabled {
        /// The authentication method.
        method: &'static str,
        /// The feature to enable.
        feature: &'static str,
    },

    /// The application certificate or its private key cannot be used.
    #[error("invalid application certificate: {0}")]
    InvalidCertificate(String),

    /// Interactive login: the sign-in page could not be shown (no browser, the command given
    /// could not be run or failed). `url` is the page the person would have opened.
    #[error(
        "could not open the sign-in page ({reason}); the page was {url} (give a command that \
         opens it, e.g. `kusto --browser-command`, or sign in with a device code)"
    )]
    BrowserUnavailable {
        /// The sign-in URL (it carries no secret).
        url: String,
        /// Why the page could not be shown.
        reason: String,
    },

    /// Interactive login: the person did not complete the sign-in in time.
    #[error("the interactive sign-in was not completed within {seconds} seconds")]
    InteractiveLoginTimedOut {
        /// The timeout, in seconds.
        seconds: u64,
    },

    /// Interactive login: the login service redirected back with an OAuth error (the person
    /// declined consent, an administrator blocked the application, ...).
    #[error(
        "the interactive sign-in failed: {error}{}",
        .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    InteractiveLoginFailed {
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// The `error_description`, cut to 1 KiB.
        description: Option<String>,
    },

    /// Interactive login: the redirect carried another `state` than the sign-in in progress
    /// (a stale browser tab, or a page trying to inject its own sign-in); it was refused.
    #[error(
        "the interactive sign-in was refused: the redirect's state parameter does not match the \
         sign-in in progress"
    )]
    InteractiveLoginStateMismatch,

    /// A credential returned a token that has already expired.
    #[error("{provider} returned a token that has already expired")]
    ExpiredToken {
        /// The credential.
        provider: String,
    },
}

struct ChainAttempts<'a>(&'a [(String, String)]);

impl fmt::Display for ChainAttempts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no credential is configured");
        }
        for (i, (name, message)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{name}: {message}")?;
        }
        Ok(())
    }
}

impl AuthError {
    /// True when asking again later may succeed: the login service was throttled or failed
    /// (429, 5xx, `temporarily_unavailable`), or a credential said so.
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::TokenRequestFailed { status, error, .. } => {
                *status == 429 || *status >= 500 || error == "temporarily_unavailable"
            }
            AuthError::Provider { transient, .. } => *transient,
            AuthError::ChainExhausted { .. }
            | AuthError::DeviceCodeExpired
            | AuthError::DeviceCodeDeclined { .. }
            | AuthError::InsecureTransport { .. }
            | AuthError::FeatureDisabled { .. }
            | AuthError::InvalidCertificate(_)
            | AuthError::ExpiredToken { .. }
            | AuthError::BrowserUnavailable { .. }
            | AuthError::InteractiveLoginTimedOut { .. }
            | AuthError::InteractiveLoginFailed { .. }
            | AuthError::InteractiveLoginStateMismatch => false,
        }
    }

    /// An error of `azure_identity` / `azure_core` credential named `provider`.
    pub(crate) fn from_azure(provider: &str, error: azure_core::Error) -> Self {
        use azure_core::error::ErrorKind;
        let transient = match error.kind() {
            ErrorKind::Io | ErrorKind::Connection => true,
            ErrorKind::HttpResponse { status, .. } => {
                let status = u16::from(*status);
                status == 429 || status >= 500
            }
            _ => false,
        };
        AuthError::Provider {
            provider: provider.to_owned(),
            message: error.to_string(),
            transient,
            source: Some(Box::new(error)),
        }
    }
}

impl From<AuthError> for crate::Error {
    fn from(value: AuthError) -> Self {
        crate::Error::Auth(Box::new(value))
    }
}
