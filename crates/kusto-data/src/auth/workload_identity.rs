//! Workload identity: the OAuth 2.0 client-credentials grant with a federated client assertion
//! (the Kubernetes service-account token that Microsoft Entra Workload ID projects into a file).
//
// Why not `azure_identity`'s credential (`WorkloadIdentityCredential`, a dependency already):
// checked against azure_identity 1.0, it fixes one authority host when it is built and accepts only
// https, while this provider sends each request to the login endpoint that the target cluster's
// `/v1/rest/auth/metadata` names (sovereign and private clouds, learnt per cluster); and an error
// answer that is not Entra's JSON (a proxy's 502 page) becomes a conversion error without its HTTP
// status there, where here it is `AuthError::TokenRequestFailed` with the status, the OAuth error
// code, description and correlation id (what `is_transient` classifies), with the secret scrubbed
// from any text kept. Managed identity and the developer-tool credentials, which do not depend on
// the cluster's cloud, are `azure_identity`'s (see `identity.rs`).

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::oauth::{OAuthResponse, endpoint_string, parse_token, post_form};
use super::{AccessToken, AuthError, TokenProvider, TokenRequest, boxed};
use crate::{Result, Secret};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest token file accepted (projected service-account tokens are a few KiB).
const MAX_TOKEN_FILE: u64 = 64 * 1024;

const NAME: &str = "WorkloadIdentityCredential";

/// Gets tokens for a workload identity: `POST {LoginEndpoint}/{tenant}/oauth2/v2.0/token` with
/// `grant_type=client_credentials` and the content of the token file as a `jwt-bearer` client
/// assertion. The file is read for every token request, because the kubelet rotates it; the
/// login endpoint is the one of the target cluster's cloud.
#[derive(Debug)]
pub(crate) struct WorkloadIdentityProvider {
    client_id: String,
    tenant_id: String,
    token_file: PathBuf,
    http: reqwest::Client,
}

impl WorkloadIdentityProvider {
    pub(crate) fn new(
        client_id: String,
        tenant_id: String,
        token_file: PathBuf,
        http: reqwest::Client,
    ) -> Self {
        WorkloadIdentityProvider {
            client_id,
            tenant_id,
            token_file,
            http,
        }
    }

    fn file_error(&self, message: String) -> crate::Error {
        AuthError::Provider {
            provider: NAME.to_owned(),
            message: format!("token file {}: {message}", self.token_file.display()),
            transient: false,
            source: None,
        }
        .into()
    }

    /// The federated token, read now. Its content is never put into an error.
    async fn assertion(&self) -> Result<Secret> {
        let metadata = tokio::fs::metadata(&self.token_file)
            .await
            .map_err(|e| self.file_error(e.to_string()))?;
        if metadata.len() > MAX_TOKEN_FILE {
            return Err(self.file_error(format!(
                "larger than {MAX_TOKEN_FILE} bytes, not a service-account token"
            )));
        }
        let bytes = tokio::fs::read(&self.token_file)
            .await
            .map_err(|e| self.file_error(e.to_string()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| self.file_error("not UTF-8 text".to_owned()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(self.file_error("empty".to_owned()));
        }
        Ok(Secret::new(token))
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let endpoint = request
            .cloud_info()
            .oauth_endpoint(&self.tenant_id, "token")?;
        let assertion = self.assertion().await?;
        let scope = request.scope_string();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.expose()),
            ("scope", scope.as_str()),
        ];
        match post_form(&self.http, &endpoint, &form, &[&assertion]).await? {
            OAuthResponse::Success(value) => parse_token(&value, &endpoint_string(&endpoint)),
            OAuthResponse::Failure(failure) => Err(failure.into_error()),
        }
    }
}

impl TokenProvider for WorkloadIdentityProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}
