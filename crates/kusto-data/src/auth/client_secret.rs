//! Application key: the OAuth 2.0 client-credentials grant with a client secret.
//
// Why not `azure_identity`'s credential (`ClientSecretCredential`, a dependency already): checked
// against azure_identity 1.0, it fixes one authority host when it is built and accepts only https,
// while this provider sends each request to the login endpoint that the target cluster's
// `/v1/rest/auth/metadata` names (sovereign and private clouds, learnt per cluster); and an error
// answer that is not Entra's JSON (a proxy's 502 page) becomes a conversion error without its HTTP
// status there, where here it is `AuthError::TokenRequestFailed` with the status, the OAuth error
// code, description and correlation id (what `is_transient` classifies), with the secret scrubbed
// from any text kept. Managed identity and the developer-tool credentials, which do not depend on
// the cluster's cloud, are `azure_identity`'s (see `identity.rs`).

use futures::future::BoxFuture;

use super::oauth::{OAuthResponse, endpoint_string, parse_token, post_form};
use super::{AccessToken, TokenProvider, TokenRequest, boxed};
use crate::{Result, Secret};

/// Gets tokens for a service principal with a client secret: `POST
/// {LoginEndpoint}/{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`. The login
/// endpoint is the one of the target cluster's cloud.
#[derive(Debug, Clone)]
pub struct ClientSecretProvider {
    http: reqwest::Client,
    client_id: String,
    secret: Secret,
    tenant: String,
}

impl ClientSecretProvider {
    /// A provider for application `client_id` with `secret` in `tenant`, sending its requests
    /// with `http`.
    pub fn new(
        http: reqwest::Client,
        client_id: impl Into<String>,
        secret: impl Into<Secret>,
        tenant: impl Into<String>,
    ) -> Self {
        ClientSecretProvider {
            http,
            client_id: client_id.into(),
            secret: secret.into(),
            tenant: tenant.into(),
        }
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let endpoint = request.cloud_info().oauth_endpoint(&self.tenant, "token")?;
        let scope = request.scope_string();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose()),
            ("scope", scope.as_str()),
        ];
        match post_form(&self.http, &endpoint, &form, &[&self.secret]).await? {
            OAuthResponse::Success(value) => parse_token(&value, &endpoint_string(&endpoint)),
            OAuthResponse::Failure(failure) => Err(failure.into_error()),
        }
    }
}

impl TokenProvider for ClientSecretProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}
