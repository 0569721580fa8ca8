//! [`Authentication`]: the "as whom" of a connection string, and the settings of each method.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use futures::future::BoxFuture;

use super::{
    AccessToken, AuthError, BoxError, DeviceCodeCallback, InteractiveLogin, TokenProvider,
    TokenRequest,
};
use crate::{Result, Secret};

/// How a client authenticates. Held by a [`ConnectionString`](crate::ConnectionString); turned
/// into a [`TokenProvider`] by the [`Authenticator`](super::Authenticator).
///
/// Only some methods can be written as connection-string text (see
/// [`Authentication::is_text_representable`]); the others (callbacks, credentials, managed
/// identity, ...) are set with a [`ConnectionStringBuilder`](crate::ConnectionStringBuilder).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Authentication {
    /// No `Authorization` header at all: for the local emulator and other unauthenticated
    /// endpoints (`AAD Federated Security=False`).
    None,
    /// The default chain: environment secret, workload identity, managed identity, developer
    /// tools (`AAD Federated Security=True` with no credential keywords, or an `https://` data
    /// source with no authentication keywords at all).
    DefaultChain(DefaultChain),
    /// A service principal with a client secret (`Application Client Id` + `Application Key` +
    /// `Authority Id`).
    ApplicationKey {
        /// Application (client) id.
        client_id: String,
        /// Client secret.
        key: Secret,
        /// Tenant id or domain.
        authority: String,
    },
    /// A service principal with a certificate (`Application Client Id` +
    /// `Application Certificate Blob` [+ `Application Certificate Thumbprint`] + `Authority Id`).
    /// Needs the cargo feature `certificate`.
    ApplicationCertificate {
        /// Application (client) id.
        client_id: String,
        /// The private key and certificate.
        certificate: ApplicationCertificate,
        /// Tenant id or domain.
        authority: String,
    },
    /// A user name and password (`User ID` + `Password` [+ `Authority Id`]), the OAuth resource
    /// owner password grant with the cloud's Kusto client app id. It cannot satisfy MFA;
    /// prefer any other method.
    UserPassword {
        /// The user principal name.
        user: String,
        /// The password.
        password: Secret,
        /// Tenant id or domain (`organizations` when not given).
        authority: String,
    },
    /// An Azure managed identity (App Service, VM, VMSS, AKS via IMDS).
    ManagedIdentity(ManagedIdentity),
    /// The Azure CLI (`az account get-access-token`), optionally for a given tenant.
    AzureCli {
        /// The tenant to get the token for; `None` uses the CLI's current tenant.
        tenant: Option<String>,
    },
    /// Developer tools: the Azure CLI, then the Azure Developer CLI (`azd`).
    DeveloperTools,
    /// Microsoft Entra Workload Identity on Kubernetes: the projected service-account token file,
    /// read for every token request, is sent as a client assertion to the cluster's login
    /// endpoint.
    WorkloadIdentity(WorkloadIdentity),
    /// A ready user token (`User Token`), sent as is.
    UserToken(Secret),
    /// A ready application token (`Application Token`), sent as is.
    ApplicationToken(Secret),
    /// An async callback that returns tokens.
    TokenCallback(TokenCallback),
    /// Any `azure_core` token credential (for example one of `azure_identity`).
    TokenCredential(Arc<dyn TokenCredential>),
    /// Any [`TokenProvider`].
    TokenProvider(Arc<dyn TokenProvider>),
    /// The OAuth device-code flow against the cloud's login endpoint with the cloud's Kusto client
    /// app id; `callback` shows the code to the user.
    DeviceCode {
        /// Tenant id or domain (`organizations` by default).
        authority: String,
        /// Shows the verification URL and the user code.
        callback: DeviceCodeCallback,
    },
    /// A person signs in: in the system browser (authorization code with PKCE, cargo feature
    /// `interactive`) or with a device code, the refresh token being kept in the settings'
    /// [`SignInCache`](super::SignInCache). See [`InteractiveLogin`].
    InteractiveLogin(InteractiveLogin),
}

impl Authentication {
    /// A short name of the method, for logs and `Debug` output, e.g. `application key`.
    pub fn method_name(&self) -> &'static str {
        match self {
            Authentication::None => "no authentication",
            Authentication::DefaultChain(_) => "default chain",
            Authentication::ApplicationKey { .. } => "application key",
            Authentication::ApplicationCertificate { .. } => "application certificate",
            Authentication::UserPassword { .. } => "user and password",
            Authentication::ManagedIdentity(_) => "managed identity",
            Authentication::AzureCli { .. } => "Azure CLI",
            Authentication::DeveloperTools => "developer tools",
            Authentication::WorkloadIdentity(_) => "workload identity",
            Authentication::UserToken(_) => "user token",
            Authentication::ApplicationToken(_) => "application token",
            Authentication::TokenCallback(_) => "token callback",
            Authentication::TokenCredential(_) => "token credential",
            Authentication::TokenProvider(_) => "token provider",
            Authentication::DeviceCode { .. } => "device code",
            Authentication::InteractiveLogin(_) => "interactive login",
        }
    }

    /// True when the method can be written as connection-string keywords (and so survives
    /// [`ConnectionString::to_unmasked_string`](crate::ConnectionString::to_unmasked_string)).
    pub fn is_text_representable(&self) -> bool {
        match self {
            Authentication::None
            | Authentication::DefaultChain(_)
            | Authentication::ApplicationKey { .. }
            | Authentication::ApplicationCertificate { .. }
            | Authentication::UserPassword { .. }
            | Authentication::UserToken(_)
            | Authentication::ApplicationToken(_) => true,
            Authentication::ManagedIdentity(_)
            | Authentication::AzureCli { .. }
            | Authentication::DeveloperTools
            | Authentication::WorkloadIdentity(_)
            | Authentication::TokenCallback(_)
            | Authentication::TokenCredential(_)
            | Authentication::TokenProvider(_)
            | Authentication::DeviceCode { .. }
            | Authentication::InteractiveLogin(_) => false,
        }
    }

    /// True for [`Authentication::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, Authentication::None)
    }
}

/// Which managed identity to use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ManagedIdentity {
    /// The system-assigned identity of the host.
    #[default]
    SystemAssigned,
    /// A user-assigned identity, by client id.
    ClientId(String),
    /// A user-assigned identity, by object (principal) id.
    ObjectId(String),
    /// A user-assigned identity, by Azure resource id (not supported on App Service).
    ResourceId(String),
}

/// Settings of workload identity. Each `None` is read from the environment (`AZURE_CLIENT_ID`,
/// `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`) when the authenticator is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkloadIdentity {
    /// Client id of the identity.
    pub client_id: Option<String>,
    /// Tenant id of the identity.
    pub tenant_id: Option<String>,
    /// Path of the Kubernetes service-account token file.
    pub token_file: Option<PathBuf>,
}

impl WorkloadIdentity {
    /// Settings read from the environment when the authenticator is built.
    pub fn from_environment() -> Self {
        Self::default()
    }

    /// Sets the client id of the identity.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the tenant id of the identity.
    #[must_use]
    pub fn with_tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets the path of the service-account token file.
    #[must_use]
    pub fn with_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = Some(path.into());
        self
    }
}

/// The private key (and optionally the public certificate) of a service principal, in PEM.
///
/// The private key is PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`), not
/// encrypted. The certificate thumbprint (hex SHA-1 of the DER certificate) is given, or computed
/// from a `BEGIN CERTIFICATE` block in the same PEM or in
/// [`with_public_certificate`](Self::with_public_certificate).
#[derive(Clone, Debug)]
pub struct ApplicationCertificate {
    pem: Secret,
    public_certificate: Option<String>,
    thumbprint: Option<Secret>,
    send_certificate_chain: bool,
}

impl ApplicationCertificate {
    /// A certificate from PEM text holding the private key (and possibly the certificate).
    pub fn from_pem(pem: impl Into<Secret>) -> Self {
        ApplicationCertificate {
            pem: pem.into(),
            public_certificate: None,
            thumbprint: None,
            send_certificate_chain: false,
        }
    }

    /// Sets the hex SHA-1 thumbprint of the certificate (the `Application Certificate
    /// Thumbprint` keyword).
    pub fn with_thumbprint(mut self, thumbprint: impl Into<Secret>) -> Self {
        self.thumbprint = Some(thumbprint.into());
        self
    }

    /// Sets the public certificate (PEM), used to compute the thumbprint and, with
    /// [`send_certificate_chain`](Self::send_certificate_chain), sent as `x5c`.
    pub fn with_public_certificate(mut self, pem: impl Into<String>) -> Self {
        self.public_certificate = Some(pem.into());
        self
    }

    /// Sends the public certificate with each token request (`x5c`), needed for subject
    /// name / issuer (SNI) authentication (`Application Certificate SendX5c`).
    pub fn send_certificate_chain(mut self, send: bool) -> Self {
        self.send_certificate_chain = send;
        self
    }

    /// The PEM text (private key, possibly followed by certificates).
    pub fn pem(&self) -> &Secret {
        &self.pem
    }

    /// The public certificate given separately, if any.
    pub fn public_certificate(&self) -> Option<&str> {
        self.public_certificate.as_deref()
    }

    /// The thumbprint given, if any.
    pub fn thumbprint(&self) -> Option<&Secret> {
        self.thumbprint.as_ref()
    }

    /// Whether the certificate is sent as `x5c`.
    pub fn sends_certificate_chain(&self) -> bool {
        self.send_certificate_chain
    }
}

/// The sources the default chain reads from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChainEnvironment {
    pub(crate) tenant_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) federated_token_file: Option<PathBuf>,
}

impl ChainEnvironment {
    pub(crate) fn from_vars<K: AsRef<str>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut env = ChainEnvironment::default();
        for (key, value) in vars {
            let value: String = value.into();
            if value.is_empty() {
                continue;
            }
            match key.as_ref() {
                "AZURE_TENANT_ID" => env.tenant_id = Some(value),
                "AZURE_CLIENT_ID" => env.client_id = Some(value),
                "AZURE_CLIENT_SECRET" => env.client_secret = Some(Secret::new(value)),
                "AZURE_FEDERATED_TOKEN_FILE" => env.federated_token_file = Some(value.into()),
                _ => {}
            }
        }
        env
    }

    pub(crate) fn from_process() -> Self {
        ChainEnvironment::from_vars(
            [
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_CLIENT_SECRET",
                "AZURE_FEDERATED_TOKEN_FILE",
            ]
            .into_iter()
            .filter_map(|key| std::env::var(key).ok().map(|value| (key, value))),
        )
    }
}

/// Settings of the default chain, tried in this order, the first credential that returns a
/// token being kept for the life of the authenticator:
///
/// 1. **environment secret**: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`
///    all set: client credentials against the cluster's login endpoint;
/// 2. **workload identity**: `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and
///    `AZURE_TENANT_ID` set;
/// 3. **managed identity** (user-assigned with `AZURE_CLIENT_ID` when it is set), unless
///    excluded;
/// 4. **developer tools**: Azure CLI, then Azure Developer CLI, unless excluded.
///
/// The environment is read when the [`Authenticator`](super::Authenticator) is built, unless
/// given with [`with_environment`](Self::with_environment).
#[derive(Debug, Clone)]
pub struct DefaultChain {
    pub(crate) environment: Option<ChainEnvironment>,
    pub(crate) managed_identity: bool,
    pub(crate) developer_tools: bool,
}

impl Default for DefaultChain {
    fn default() -> Self {
        DefaultChain {
            environment: None,
            managed_identity: true,
            developer_tools: true,
        }
    }
}

impl DefaultChain {
    /// The full chain, reading the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses these variables instead of the process environment (`AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_FEDERATED_TOKEN_FILE`; others ignored).
    pub fn with_environment<K: AsRef<str>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.environment = Some(ChainEnvironment::from_vars(vars));
        self
    }

    /// Leaves managed identity out of the chain (it probes the instance metadata service, which
    /// takes time off Azure).
    pub fn without_managed_identity(mut self) -> Self {
        self.managed_identity = false;
        self
    }

    /// Leaves the developer tools (Azure CLI, azd) out of the chain.
    pub fn without_developer_tools(mut self) -> Self {
        self.developer_tools = false;
        self
    }
}

type CallbackFn =
    dyn Fn(TokenRequest) -> BoxFuture<'static, Result<AccessToken, BoxError>> + Send + Sync;

/// An async function that returns tokens, usable as [`Authentication::TokenCallback`].
///
/// ```
/// use kusto_data::auth::{AccessToken, TokenCallback};
/// let callback = TokenCallback::new(|request| async move {
///     let _scope = request.scopes().join(" ");
///     Ok(AccessToken::new("a-token", None))
/// });
/// ```
#[derive(Clone)]
pub struct TokenCallback(Arc<CallbackFn>);

impl TokenCallback {
    /// Wraps `callback`. Return a token with an expiry to have it cached; without one the
    /// callback is called for every request.
    pub fn new<F, Fut>(callback: F) -> Self
    where
        F: Fn(TokenRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AccessToken, BoxError>> + Send + 'static,
    {
        TokenCallback(Arc::new(move |request| Box::pin(callback(request))))
    }
}

impl fmt::Debug for TokenCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCallback")
    }
}

impl TokenProvider for TokenCallback {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        let future = (self.0)(request.clone());
        Box::pin(async move {
            future.await.map_err(|source| {
                AuthError::Provider {
                    provider: "token callback".to_owned(),
                    message: source.to_string(),
                    transient: false,
                    source: Some(source),
                }
                .into()
            })
        })
    }
}
