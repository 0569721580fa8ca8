//! [`ConnectionStringBuilder`]: one method per way of authenticating.

use std::future::Future;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;

use super::{
    ConnectionString, ConnectionStringError, Keyword, check_authority, check_transport,
    parse_data_source,
};
use crate::Secret;
use crate::auth::{
    AccessToken, ApplicationCertificate, Authentication, BoxError, DefaultChain,
    DeviceCodeCallback, DeviceCodeInfo, InteractiveLogin, ManagedIdentity, TokenCallback,
    TokenProvider, TokenRequest, WorkloadIdentity,
};

/// Builds a [`ConnectionString`], including authentication methods that have no keywords
/// (callbacks, credentials, managed identity, device code).
///
/// Errors (a malformed data source, an empty required value) are reported by
/// [`build`](Self::build); no method panics.
///
/// ```
/// use kusto_data::ConnectionString;
/// use kusto_data::auth::ManagedIdentity;
///
/// let cs = ConnectionString::builder("https://mycluster.westeurope.kusto.windows.net")
///     .database("Logs")
///     .application_name_for_tracing("ingest-service")
///     .with_managed_identity(ManagedIdentity::ClientId("0000-client-id".into()))
///     .build()?;
/// assert_eq!(cs.database(), Some("Logs"));
/// assert_eq!(cs.authentication().method_name(), "managed identity");
///
/// let emulator = ConnectionString::builder("http://localhost:8080").build()?;
/// assert!(emulator.authentication().is_none());
/// # Ok::<(), kusto_data::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ConnectionStringBuilder {
    data_source: String,
    database: Option<String>,
    application_name: Option<String>,
    user_name: Option<String>,
    login_hint: Option<String>,
    authority_id: Option<String>,
    authentication: Option<Authentication>,
}

impl ConnectionStringBuilder {
    /// A builder for the cluster at `data_source` (`https://host[:port][/database]`).
    pub fn new(data_source: impl Into<String>) -> Self {
        ConnectionStringBuilder {
            data_source: data_source.into(),
            database: None,
            application_name: None,
            user_name: None,
            login_hint: None,
            authority_id: None,
            authentication: None,
        }
    }

    /// Sets the database (wins over a database in the data source path).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Sets `Application Name for Tracing` (sent as `x-ms-app`).
    pub fn application_name_for_tracing(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Sets `User Name for Tracing` (sent as `x-ms-user`).
    pub fn user_name_for_tracing(mut self, name: impl Into<String>) -> Self {
        self.user_name = Some(name.into());
        self
    }

    /// Sets any [`Authentication`].
    pub fn with_authentication(mut self, authentication: Authentication) -> Self {
        self.authentication = Some(authentication);
        self
    }

    /// No authentication: no `Authorization` header (any scheme, any host).
    pub fn with_no_authentication(self) -> Self {
        self.with_authentication(Authentication::None)
    }

    /// The default chain (environment secret, workload identity, managed identity, developer
    /// tools), with `chain`'s settings.
    pub fn with_default_chain(self, chain: DefaultChain) -> Self {
        self.with_authentication(Authentication::DefaultChain(chain))
    }

    /// A service principal with a client secret.
    pub fn with_application_key(
        self,
        client_id: impl Into<String>,
        key: impl Into<Secret>,
        authority: impl Into<String>,
    ) -> Self {
        self.with_authentication(Authentication::ApplicationKey {
            client_id: client_id.into(),
            key: key.into(),
            authority: authority.into(),
        })
    }

    /// A service principal with a certificate (needs the cargo feature `certificate` when the
    /// authenticator is built).
    pub fn with_application_certificate(
        self,
        client_id: impl Into<String>,
        certificate: ApplicationCertificate,
        authority: impl Into<String>,
    ) -> Self {
        self.with_authentication(Authentication::ApplicationCertificate {
            client_id: client_id.into(),
            certificate,
            authority: authority.into(),
        })
    }

    /// A user name and password in `authority` (use [`DEFAULT_AUTHORITY`](super::DEFAULT_AUTHORITY) for any work
    /// account). Cannot satisfy MFA; prefer any other method.
    pub fn with_user_password(
        self,
        user: impl Into<String>,
        password: impl Into<Secret>,
        authority: impl Into<String>,
    ) -> Self {
        self.with_authentication(Authentication::UserPassword {
            user: user.into(),
            password: password.into(),
            authority: authority.into(),
        })
    }

    /// A managed identity (system-assigned or user-assigned).
    pub fn with_managed_identity(self, identity: ManagedIdentity) -> Self {
        self.with_authentication(Authentication::ManagedIdentity(identity))
    }

    /// The Azure CLI's signed-in account.
    pub fn with_azure_cli(self) -> Self {
        self.with_authentication(Authentication::AzureCli { tenant: None })
    }

    /// The Azure CLI's signed-in account, for `tenant`.
    pub fn with_azure_cli_in_tenant(self, tenant: impl Into<String>) -> Self {
        self.with_authentication(Authentication::AzureCli {
            tenant: Some(tenant.into()),
        })
    }

    /// Developer tools: the Azure CLI, then the Azure Developer CLI.
    pub fn with_developer_tools(self) -> Self {
        self.with_authentication(Authentication::DeveloperTools)
    }

    /// Workload identity on Kubernetes.
    pub fn with_workload_identity(self, settings: WorkloadIdentity) -> Self {
        self.with_authentication(Authentication::WorkloadIdentity(settings))
    }

    /// A ready user token, sent as is.
    pub fn with_user_token(self, token: impl Into<Secret>) -> Self {
        self.with_authentication(Authentication::UserToken(token.into()))
    }

    /// A ready application token, sent as is.
    pub fn with_application_token(self, token: impl Into<Secret>) -> Self {
        self.with_authentication(Authentication::ApplicationToken(token.into()))
    }

    /// An async callback that returns tokens (cached when they carry an expiry).
    pub fn with_token_callback<F, Fut>(self, callback: F) -> Self
    where
        F: Fn(TokenRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AccessToken, BoxError>> + Send + 'static,
    {
        self.with_authentication(Authentication::TokenCallback(TokenCallback::new(callback)))
    }

    /// Any `azure_core` token credential, e.g. one of `azure_identity`.
    pub fn with_token_credential(self, credential: Arc<dyn TokenCredential>) -> Self {
        self.with_authentication(Authentication::TokenCredential(credential))
    }

    /// Any [`TokenProvider`].
    pub fn with_token_provider(self, provider: Arc<dyn TokenProvider>) -> Self {
        self.with_authentication(Authentication::TokenProvider(provider))
    }

    /// The device-code flow in `authority` ([`DEFAULT_AUTHORITY`](super::DEFAULT_AUTHORITY) for any work account);
    /// `show` displays the code to the user.
    pub fn with_device_code(
        self,
        authority: impl Into<String>,
        show: impl Fn(&DeviceCodeInfo) + Send + Sync + 'static,
    ) -> Self {
        self.with_authentication(Authentication::DeviceCode {
            authority: authority.into(),
            callback: DeviceCodeCallback::new(show),
        })
    }

    /// Interactive login: a person signs in in the browser (or with a device code), see
    /// [`InteractiveLogin`]. The official SDKs' `with_interactive_login(user_id_hint,
    /// tenant_hint)`: the login hint and tenant are the settings', or else the `User ID` and
    /// `Authority Id` of the connection string this builder was made from.
    pub fn with_interactive_login(self, login: InteractiveLogin) -> Self {
        self.with_authentication(Authentication::InteractiveLogin(login))
    }

    /// Builds the connection string. Without an authentication method the rule of the
    /// [module documentation](super) applies (https: default chain; http on loopback: none;
    /// http elsewhere: an error).
    pub fn build(self) -> crate::Result<ConnectionString> {
        let (data_source, path_database) = parse_data_source(&self.data_source)?;
        let non_empty = |keyword: Keyword, value: &str| {
            if value.trim().is_empty() {
                Err(ConnectionStringError::EmptyValue { keyword })
            } else {
                Ok(())
            }
        };
        let authentication = match self.authentication {
            Some(Authentication::InteractiveLogin(mut login)) => {
                login.fill_from(self.authority_id.as_deref(), self.login_hint.as_deref());
                Authentication::InteractiveLogin(login)
            }
            Some(authentication) => authentication,
            None => {
                let host = data_source.host_str().unwrap_or_default();
                if data_source.scheme() == "https" {
                    Authentication::DefaultChain(DefaultChain::new())
                } else if crate::trusted_endpoints::is_loopback_host(host) {
                    Authentication::None
                } else {
                    return Err(ConnectionStringError::AuthenticationRequired {
                        host: host.to_owned(),
                    }
                    .into());
                }
            }
        };
        match &authentication {
            Authentication::ApplicationKey {
                client_id,
                key,
                authority,
            } => {
                non_empty(Keyword::ApplicationClientId, client_id)?;
                non_empty(Keyword::ApplicationKey, key.expose())?;
                check_authority(authority)?;
            }
            Authentication::ApplicationCertificate {
                client_id,
                certificate,
                authority,
            } => {
                non_empty(Keyword::ApplicationClientId, client_id)?;
                non_empty(
                    Keyword::ApplicationCertificateBlob,
                    certificate.pem().expose(),
                )?;
                check_authority(authority)?;
            }
            Authentication::UserPassword {
                user,
                password,
                authority,
            } => {
                non_empty(Keyword::UserId, user)?;
                non_empty(Keyword::Password, password.expose())?;
                check_authority(authority)?;
            }
            Authentication::UserToken(token) => non_empty(Keyword::UserToken, token.expose())?,
            Authentication::ApplicationToken(token) => {
                non_empty(Keyword::ApplicationToken, token.expose())?
            }
            Authentication::DeviceCode { authority, .. } => check_authority(authority)?,
            Authentication::InteractiveLogin(login) => {
                if let Some(tenant) = login.tenant() {
                    check_authority(tenant)?;
                }
                if let Some(hint) = login.login_hint() {
                    non_empty(Keyword::UserId, hint)?;
                }
            }
            Authentication::AzureCli {
                tenant: Some(tenant),
            } => check_authority(tenant)?,
            _ => {}
        }
        check_transport(&data_source, &authentication)?;
        let database = self.database.or(path_database);
        if let Some(db) = &database {
            non_empty(Keyword::InitialCatalog, db)?;
        }
        if let Some(tenant) = &self.authority_id {
            check_authority(tenant)?;
        }
        Ok(ConnectionString {
            data_source,
            database,
            application_name: self.application_name,
            user_name: self.user_name,
            login_hint: self.login_hint,
            authority_id: self.authority_id,
            authentication,
        })
    }
}

impl From<ConnectionString> for ConnectionStringBuilder {
    fn from(value: ConnectionString) -> Self {
        ConnectionStringBuilder {
            data_source: value.data_source.to_string(),
            database: value.database,
            application_name: value.application_name,
            user_name: value.user_name,
            login_hint: value.login_hint,
            authority_id: value.authority_id,
            authentication: Some(value.authentication),
        }
    }
}
