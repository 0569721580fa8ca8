//! User and password: the OAuth 2.0 resource-owner password grant.

use futures::future::BoxFuture;

use super::oauth::{OAuthResponse, endpoint_string, parse_token, post_form};
use super::{AccessToken, TokenProvider, TokenRequest, boxed};
use crate::{Result, Secret};

/// Gets tokens for a user with a password: `POST {LoginEndpoint}/{tenant}/oauth2/v2.0/token`
/// with `grant_type=password` and the cloud's `KustoClientAppId`.
///
/// This grant cannot satisfy multi-factor authentication or federated (ADFS) accounts, and
/// Microsoft discourages it. It exists because the `User ID` + `Password` keywords do; prefer
/// any other method.
#[derive(Debug, Clone)]
pub struct UserPasswordProvider {
    http: reqwest::Client,
    user: String,
    password: Secret,
    tenant: String,
}

impl UserPasswordProvider {
    /// A provider for `user` with `password` in `tenant` (`organizations` for any work account).
    pub fn new(
        http: reqwest::Client,
        user: impl Into<String>,
        password: impl Into<Secret>,
        tenant: impl Into<String>,
    ) -> Self {
        UserPasswordProvider {
            http,
            user: user.into(),
            password: password.into(),
            tenant: tenant.into(),
        }
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let cloud = request.cloud_info();
        let endpoint = cloud.oauth_endpoint(&self.tenant, "token")?;
        let scope = request.scope_string();
        let form = [
            ("grant_type", "password"),
            ("client_id", cloud.kusto_client_app_id.as_str()),
            ("username", self.user.as_str()),
            ("password", self.password.expose()),
            ("scope", scope.as_str()),
        ];
        match post_form(&self.http, &endpoint, &form, &[&self.password]).await? {
            OAuthResponse::Success(value) => parse_token(&value, &endpoint_string(&endpoint)),
            OAuthResponse::Failure(failure) => Err(failure.into_error()),
        }
    }
}

impl TokenProvider for UserPasswordProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}
