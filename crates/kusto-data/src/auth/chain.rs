//! The default chain: environment secret, workload identity, managed identity, developer tools.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

use super::authentication::ChainEnvironment;
use super::client_secret::ClientSecretProvider;
use super::identity::CredentialProvider;
use super::workload_identity::WorkloadIdentityProvider;
use super::{
    AccessToken, AuthError, DefaultChain, ManagedIdentity, TokenProvider, TokenRequest, boxed,
};
use crate::Result;

/// How long the first managed-identity attempt of the chain may take. Off Azure the instance
/// metadata service does not answer and `azure_identity` retries for more than a minute; this
/// bound keeps the chain moving on to the developer tools. Once managed identity has returned a
/// token it is used without this bound. Choose [`ManagedIdentity`] explicitly for hosts where the
/// first token may take longer.
const MANAGED_IDENTITY_PROBE: Duration = Duration::from_secs(3);

struct Source {
    name: &'static str,
    provider: std::result::Result<Arc<dyn TokenProvider>, String>,
    probe_timeout: Option<Duration>,
}

/// The [`TokenProvider`] of [`DefaultChain`]: tries each configured credential in order and
/// keeps the first one that returns a token.
pub struct DefaultChainProvider {
    sources: Vec<Source>,
    selected: Mutex<Option<usize>>,
}

impl std::fmt::Debug for DefaultChainProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|s| s.name).collect();
        f.debug_struct("DefaultChainProvider")
            .field("sources", &names)
            .finish_non_exhaustive()
    }
}

impl DefaultChainProvider {
    /// Builds the chain described by `chain`, reading the process environment unless `chain`
    /// carries its own, and sending token requests through `http`.
    pub fn new(chain: &DefaultChain, http: &reqwest::Client) -> Self {
        let env = chain
            .environment
            .clone()
            .unwrap_or_else(ChainEnvironment::from_process);
        let mut sources = Vec::new();
        if let (Some(tenant), Some(client_id), Some(secret)) =
            (&env.tenant_id, &env.client_id, &env.client_secret)
        {
            sources.push(Source {
                name: "EnvironmentClientSecret",
                provider: Ok(Arc::new(ClientSecretProvider::new(
                    http.clone(),
                    client_id.clone(),
                    secret.clone(),
                    tenant.clone(),
                ))),
                probe_timeout: None,
            });
        }
        if let (Some(file), Some(client_id), Some(tenant)) =
            (&env.federated_token_file, &env.client_id, &env.tenant_id)
        {
            sources.push(Source {
                name: "WorkloadIdentityCredential",
                provider: Ok(Arc::new(WorkloadIdentityProvider::new(
                    client_id.clone(),
                    tenant.clone(),
                    file.clone(),
                    http.clone(),
                ))),
                probe_timeout: None,
            });
        }
        if chain.managed_identity {
            let identity = env
                .client_id
                .clone()
                .map(ManagedIdentity::ClientId)
                .unwrap_or_default();
            sources.push(Source {
                name: "ManagedIdentityCredential",
                provider: CredentialProvider::managed_identity(&identity, http)
                    .map(|p| Arc::new(p) as Arc<dyn TokenProvider>)
                    .map_err(|e| e.to_string()),
                probe_timeout: Some(MANAGED_IDENTITY_PROBE),
            });
        }
        if chain.developer_tools {
            sources.push(Source {
                name: "DeveloperToolsCredential",
                provider: CredentialProvider::developer_tools()
                    .map(|p| Arc::new(p) as Arc<dyn TokenProvider>)
                    .map_err(|e| e.to_string()),
                probe_timeout: None,
            });
        }
        DefaultChainProvider {
            sources,
            selected: Mutex::new(None),
        }
    }

    /// The names of the credentials of the chain, in the order they are tried.
    pub fn source_names(&self) -> Vec<&'static str> {
        self.sources.iter().map(|s| s.name).collect()
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let selected = *self.selected.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Source {
            provider: Ok(provider),
            ..
        }) = selected.and_then(|i| self.sources.get(i))
        {
            return provider.token(request).await;
        }
        let mut attempts = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let provider = match &source.provider {
                Ok(provider) => provider,
                Err(message) => {
                    attempts.push((source.name.to_owned(), message.clone()));
                    continue;
                }
            };
            let result = match source.probe_timeout {
                Some(limit) => match tokio::time::timeout(limit, provider.token(request)).await {
                    Ok(result) => result,
                    Err(_) => {
                        attempts.push((
                            source.name.to_owned(),
                            format!("no answer within {limit:?}"),
                        ));
                        continue;
                    }
                },
                None => provider.token(request).await,
            };
            match result {
                Ok(token) => {
                    tracing::info!(
                        credential = source.name,
                        "default chain selected a credential"
                    );
                    *self.selected.lock().unwrap_or_else(|e| e.into_inner()) = Some(index);
                    return Ok(token);
                }
                Err(error) => attempts.push((source.name.to_owned(), error.to_string())),
            }
        }
        Err(AuthError::ChainExhausted { attempts }.into())
    }
}

impl TokenProvider for DefaultChainProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}
