//! Adapters from `azure_core` token credentials (and the `azure_identity` 1.x ones: managed
//! identity, Azure CLI, developer tools) to [`TokenProvider`].

use std::fmt;
use std::sync::Arc;

use ::azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, DeveloperToolsCredential,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use futures::future::BoxFuture;

use super::{AccessToken, AuthError, ManagedIdentity, TokenProvider, TokenRequest, boxed};
use crate::Result;

/// `azure_core` client options that send through `http` (so proxies and timeouts of the user's
/// client apply).
fn client_options(http: &reqwest::Client) -> ClientOptions {
    ClientOptions {
        transport: Some(Transport::new(Arc::new(http.clone()))),
        ..ClientOptions::default()
    }
}

/// Any `azure_core` [`TokenCredential`] as a [`TokenProvider`].
///
/// ```
/// # fn main() -> kusto_data::Result<()> {
/// use kusto_data::auth::CredentialProvider;
/// let cli = CredentialProvider::azure_cli(None)?;
/// assert_eq!(format!("{cli:?}"), "CredentialProvider(\"AzureCliCredential\")");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CredentialProvider {
    name: String,
    credential: Arc<dyn TokenCredential>,
}

impl fmt::Debug for CredentialProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CredentialProvider")
            .field(&self.name)
            .finish()
    }
}

impl CredentialProvider {
    /// Wraps `credential`.
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self::named("TokenCredential", credential)
    }

    /// Wraps `credential`, naming it `name` in errors and logs.
    pub fn named(name: impl Into<String>, credential: Arc<dyn TokenCredential>) -> Self {
        CredentialProvider {
            name: name.into(),
            credential,
        }
    }

    /// `azure_identity`'s `ManagedIdentityCredential` (App Service and IMDS), sending through
    /// `http`.
    pub fn managed_identity(identity: &ManagedIdentity, http: &reqwest::Client) -> Result<Self> {
        const NAME: &str = "ManagedIdentityCredential";
        let user_assigned_id = match identity {
            ManagedIdentity::SystemAssigned => None,
            ManagedIdentity::ClientId(id) => Some(UserAssignedId::ClientId(id.clone())),
            ManagedIdentity::ObjectId(id) => Some(UserAssignedId::ObjectId(id.clone())),
            ManagedIdentity::ResourceId(id) => Some(UserAssignedId::ResourceId(id.clone())),
        };
        let options = ManagedIdentityCredentialOptions {
            user_assigned_id,
            client_options: client_options(http),
        };
        let credential = ManagedIdentityCredential::new(Some(options))
            .map_err(|e| AuthError::from_azure(NAME, e))?;
        Ok(Self::named(NAME, credential))
    }

    /// `azure_identity`'s `AzureCliCredential` (`az account get-access-token`), for `tenant`
    /// or the CLI's current tenant.
    pub fn azure_cli(tenant: Option<&str>) -> Result<Self> {
        const NAME: &str = "AzureCliCredential";
        let options = AzureCliCredentialOptions {
            tenant_id: tenant.map(str::to_owned),
            ..AzureCliCredentialOptions::default()
        };
        let credential =
            AzureCliCredential::new(Some(options)).map_err(|e| AuthError::from_azure(NAME, e))?;
        Ok(Self::named(NAME, credential))
    }

    /// `azure_identity`'s `DeveloperToolsCredential`: Azure CLI, then Azure Developer CLI.
    pub fn developer_tools() -> Result<Self> {
        const NAME: &str = "DeveloperToolsCredential";
        let credential =
            DeveloperToolsCredential::new(None).map_err(|e| AuthError::from_azure(NAME, e))?;
        Ok(Self::named(NAME, credential))
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let scopes: Vec<&str> = request.scopes().iter().map(String::as_str).collect();
        self.credential
            .get_token(&scopes, None)
            .await
            .map(AccessToken::from)
            .map_err(|e| AuthError::from_azure(&self.name, e).into())
    }
}

impl TokenProvider for CredentialProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}
