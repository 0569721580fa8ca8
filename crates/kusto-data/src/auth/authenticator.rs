//! [`Authenticator`]: the one entry point a client uses to authenticate its requests.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use url::Url;

use super::cache::TokenCache;
use super::chain::DefaultChainProvider;
use super::client_secret::ClientSecretProvider;
use super::cloud_info::{CloudInfoCache, authority_key};
use super::device_code::DeviceCodeProvider;
use super::identity::CredentialProvider;
use super::oauth::endpoint_string;
use super::user_password::UserPasswordProvider;
use super::workload_identity::WorkloadIdentityProvider;
use super::{
    AccessToken, AuthError, Authentication, CloudInfo, StaticTokenProvider, TokenProvider,
    TokenRequest, WorkloadIdentity,
};
use crate::trusted_endpoints::{TrustDecision, TrustedEndpoints, is_loopback_host};
use crate::{ConnectionString, Error, Result, Secret};

/// Authenticates the requests of one client: validates each target against the trusted
/// endpoints, learns the target's cloud (once per authority), computes the scope and returns
/// a cached token.
///
/// Cheap to clone (an `Arc` inside); clones share the cloud-info and token caches. `Debug`
/// shows the method, never a secret.
///
/// ```no_run
/// # async fn run() -> kusto_data::Result<()> {
/// use kusto_data::ConnectionString;
/// use kusto_data::auth::Authenticator;
///
/// let cs: ConnectionString = "Data Source=https://help.kusto.windows.net;Fed=True".parse()?;
/// // reqwest::Client::new() works too, except with the `rustls-ring` feature (see
/// // kusto_data::client::http_client_builder).
/// let http = kusto_data::client::http_client_builder()?.build().expect("an HTTP client");
/// let auth = Authenticator::new(&cs, http)?;
/// let header = auth.authorization_header(cs.data_source()).await?;
/// assert!(header.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    method: &'static str,
    provider: Option<Arc<dyn TokenProvider>>,
    http: reqwest::Client,
    trusted: TrustedEndpoints,
    clouds: CloudInfoCache,
    tokens: TokenCache,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("method", &self.inner.method)
            .field("trusted_endpoints", &self.inner.trusted)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Authenticator`] with a trusted-endpoint policy and cloud-info overrides.
#[must_use]
pub struct AuthenticatorBuilder {
    authentication: Authentication,
    http: reqwest::Client,
    trusted: TrustedEndpoints,
    overrides: HashMap<String, Arc<CloudInfo>>,
    error: Option<Error>,
}

impl fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .field("method", &self.authentication.method_name())
            .field("trusted_endpoints", &self.trusted)
            .field("cloud_info_overrides", &self.overrides.keys())
            .finish_non_exhaustive()
    }
}

impl AuthenticatorBuilder {
    /// Sets the trusted-endpoint policy (default: the built-in list).
    pub fn trusted_endpoints(mut self, policy: TrustedEndpoints) -> Self {
        self.trusted = policy;
        self
    }

    /// Uses `info` for the clusters at `authority` (`https://host[:port]`; a path is ignored)
    /// instead of fetching `/v1/rest/auth/metadata` from them.
    pub fn cloud_info(mut self, authority: &str, info: CloudInfo) -> Self {
        match Url::parse(authority)
            .map_err(|e| Error::InvalidArgument(format!("cloud info authority '{authority}': {e}")))
            .and_then(|url| authority_key(&url))
        {
            Ok(key) => {
                self.overrides.insert(key, Arc::new(info));
            }
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// Builds the authenticator: creates the credential of the connection string's method.
    pub fn build(self) -> Result<Authenticator> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let provider = provider_for(&self.authentication, &self.http)?;
        Ok(Authenticator {
            inner: Arc::new(Inner {
                method: self.authentication.method_name(),
                provider,
                http: self.http,
                trusted: self.trusted,
                clouds: CloudInfoCache::new(self.overrides),
                tokens: TokenCache::default(),
            }),
        })
    }
}

fn require(value: Option<String>, what: &str, variable: &str) -> Result<String> {
    value.ok_or_else(|| {
        AuthError::Provider {
            provider: "WorkloadIdentityCredential".to_owned(),
            message: format!("no {what}: set it in WorkloadIdentity or in {variable}"),
            transient: false,
            source: None,
        }
        .into()
    })
}

fn workload_identity(
    settings: &WorkloadIdentity,
    http: &reqwest::Client,
) -> Result<WorkloadIdentityProvider> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let client_id = require(
        settings
            .client_id
            .clone()
            .or_else(|| var("AZURE_CLIENT_ID")),
        "client id",
        "AZURE_CLIENT_ID",
    )?;
    let tenant_id = require(
        settings
            .tenant_id
            .clone()
            .or_else(|| var("AZURE_TENANT_ID")),
        "tenant id",
        "AZURE_TENANT_ID",
    )?;
    let token_file = require(
        settings
            .token_file
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .or_else(|| var("AZURE_FEDERATED_TOKEN_FILE")),
        "token file",
        "AZURE_FEDERATED_TOKEN_FILE",
    )?;
    Ok(WorkloadIdentityProvider::new(
        client_id,
        tenant_id,
        PathBuf::from(token_file),
        http.clone(),
    ))
}

fn provider_for(
    authentication: &Authentication,
    http: &reqwest::Client,
) -> Result<Option<Arc<dyn TokenProvider>>> {
    let provider: Arc<dyn TokenProvider> = match authentication {
        Authentication::None => return Ok(None),
        Authentication::DefaultChain(chain) => Arc::new(DefaultChainProvider::new(chain, http)),
        Authentication::ApplicationKey {
            client_id,
            key,
            authority,
        } => Arc::new(ClientSecretProvider::new(
            http.clone(),
            client_id.clone(),
            key.clone(),
            authority.clone(),
        )),
        #[cfg(feature = "certificate")]
        Authentication::ApplicationCertificate {
            client_id,
            certificate,
            authority,
        } => Arc::new(super::CertificateProvider::new(
            http.clone(),
            client_id.clone(),
            certificate,
            authority.clone(),
        )?),
        #[cfg(not(feature = "certificate"))]
        Authentication::ApplicationCertificate { .. } => {
            return Err(AuthError::FeatureDisabled {
                method: "application certificate",
                feature: "certificate",
            }
            .into());
        }
        Authentication::UserPassword {
            user,
            password,
            authority,
        } => Arc::new(UserPasswordProvider::new(
            http.clone(),
            user.clone(),
            password.clone(),
            authority.clone(),
        )),
        Authentication::ManagedIdentity(identity) => {
            Arc::new(CredentialProvider::managed_identity(identity, http)?)
        }
        Authentication::AzureCli { tenant } => {
            Arc::new(CredentialProvider::azure_cli(tenant.as_deref())?)
        }
        Authentication::DeveloperTools => Arc::new(CredentialProvider::developer_tools()?),
        Authentication::WorkloadIdentity(settings) => Arc::new(workload_identity(settings, http)?),
        Authentication::UserToken(token) | Authentication::ApplicationToken(token) => {
            Arc::new(StaticTokenProvider::new(token.clone()))
        }
        Authentication::TokenCallback(callback) => Arc::new(callback.clone()),
        Authentication::TokenCredential(credential) => {
            Arc::new(CredentialProvider::new(credential.clone()))
        }
        Authentication::TokenProvider(provider) => provider.clone(),
        Authentication::DeviceCode {
            authority,
            callback,
        } => Arc::new(DeviceCodeProvider::new(
            http.clone(),
            authority.clone(),
            callback.clone(),
        )),
        Authentication::InteractiveLogin(settings) => Arc::new(
            super::interactive::InteractiveLoginProvider::new(http.clone(), settings.clone())?,
        ),
    };
    Ok(Some(provider))
}

impl Authenticator {
    /// An authenticator for `connection_string`'s authentication, sending its own requests
    /// (cloud info, token endpoints) through `http`, with the built-in trusted endpoints.
    pub fn new(connection_string: &ConnectionString, http: reqwest::Client) -> Result<Self> {
        Self::builder(connection_string, http).build()
    }

    /// A builder, to set the trusted-endpoint policy and cloud-info overrides.
    pub fn builder(
        connection_string: &ConnectionString,
        http: reqwest::Client,
    ) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            authentication: connection_string.authentication().clone(),
            http,
            trusted: TrustedEndpoints::default(),
            overrides: HashMap::new(),
            error: None,
        }
    }

    /// The authentication method, e.g. `application key`.
    pub fn method_name(&self) -> &'static str {
        self.inner.method
    }

    /// True when requests carry no `Authorization` header.
    pub fn is_anonymous(&self) -> bool {
        self.inner.provider.is_none()
    }

    /// The trusted-endpoint policy.
    pub fn trusted_endpoints(&self) -> &TrustedEndpoints {
        &self.inner.trusted
    }

    /// The cloud info of `target`'s authority: an override, a cached answer, or a fetch of
    /// `/v1/rest/auth/metadata` (once per authority; concurrent callers share it).
    pub async fn cloud_info(&self, target: &Url) -> Result<Arc<CloudInfo>> {
        self.inner.clouds.get(&self.inner.http, target).await
    }

    /// A token for `target`, or `None` without authentication. See
    /// [`authorization_header`](Self::authorization_header).
    pub async fn token(&self, target: &Url) -> Result<Option<AccessToken>> {
        let Some(provider) = &self.inner.provider else {
            return Ok(None);
        };
        let host = target.host_str().ok_or_else(|| {
            Error::InvalidArgument(format!("'{}' has no host", endpoint_string(target)))
        })?;
        match target.scheme() {
            "https" => {}
            "http" if is_loopback_host(host) => {}
            "http" => {
                return Err(AuthError::InsecureTransport {
                    host: host.to_owned(),
                }
                .into());
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unsupported scheme '{other}' in {}",
                    endpoint_string(target)
                )));
            }
        }
        let cloud = match self.inner.trusted.precheck(host)? {
            TrustDecision::Trusted => self.cloud_info(target).await?,
            TrustDecision::NeedsLoginEndpoint => {
                let cloud = self.cloud_info(target).await?;
                self.inner
                    .trusted
                    .check_login_endpoint(host, cloud.login_endpoint())?;
                cloud
            }
            TrustDecision::Untrusted => {
                return Err(Error::UntrustedEndpoint {
                    host: host.to_owned(),
                    login_endpoint: None,
                });
            }
        };
        let scope = cloud.scope();
        let key = format!("{} {}", cloud.login_endpoint(), scope);
        let request = TokenRequest::new(vec![scope], cloud);
        let token = self
            .inner
            .tokens
            .get(&key, self.inner.method, || provider.token(&request))
            .await?;
        Ok(Some(token))
    }

    /// The value of the `Authorization` header for a request to `target` (`Bearer ...`), or
    /// `None` without authentication.
    ///
    /// Checks, in order: a token never goes over plain http except to loopback
    /// ([`AuthError::InsecureTransport`]); the host is trusted ([`Error::UntrustedEndpoint`],
    /// fetching cloud info only for hosts of the built-in list); then the cloud info gives the
    /// scope and the token comes from the cache or the credential.
    pub async fn authorization_header(&self, target: &Url) -> Result<Option<Secret>> {
        Ok(self
            .token(target)
            .await?
            .map(|token| token.authorization_value()))
    }
}
