//! Cloud info: `GET /v1/rest/auth/metadata`, once per authority.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use super::oauth::endpoint_string;
use crate::client::transport::{read_limited, service_error, transport_error};
use crate::{Error, Result};

/// What a cluster says about the cloud it lives in (the `AzureAD` object of
/// `GET /v1/rest/auth/metadata`).
///
/// ```
/// use kusto_data::auth::CloudInfo;
/// let public = CloudInfo::public_cloud();
/// assert_eq!(public.scope(), "https://kusto.kusto.windows.net/.default");
/// let mut mfa = public.clone();
/// mfa.login_mfa_required = true;
/// assert_eq!(mfa.scope(), "https://kusto.kustomfa.windows.net/.default");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloudInfo {
    /// `LoginEndpoint`, e.g. `https://login.microsoftonline.com`.
    pub login_endpoint: String,
    /// `LoginMfaRequired`: when true the scope uses `.kustomfa.` instead of `.kusto.`.
    pub login_mfa_required: bool,
    /// `KustoClientAppId`: the public client used for user flows (device code, user/password).
    pub kusto_client_app_id: String,
    /// `KustoClientRedirectUri`.
    pub kusto_client_redirect_uri: String,
    /// `KustoServiceResourceId`, e.g. `https://kusto.kusto.windows.net`.
    pub kusto_service_resource_id: String,
    /// `FirstPartyAuthorityUrl`.
    pub first_party_authority_url: String,
}

impl Default for CloudInfo {
    fn default() -> Self {
        Self::public_cloud()
    }
}

impl CloudInfo {
    /// The public-cloud defaults, used when the metadata endpoint answers 404 or
    /// `"AzureAD": null`.
    pub fn public_cloud() -> Self {
        CloudInfo {
            login_endpoint: "https://login.microsoftonline.com".to_owned(),
            login_mfa_required: false,
            kusto_client_app_id: "db662dc1-0cfe-4e1c-a843-19a68e65be58".to_owned(),
            kusto_client_redirect_uri: "http://localhost".to_owned(),
            kusto_service_resource_id: "https://kusto.kusto.windows.net".to_owned(),
            first_party_authority_url:
                "https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a".to_owned(),
        }
    }

    /// The public-cloud defaults with another login endpoint (a test login server, a private
    /// cloud).
    pub fn with_login_endpoint(mut self, login_endpoint: impl Into<String>) -> Self {
        self.login_endpoint = login_endpoint.into();
        self
    }

    /// The resource id of the service, after the MFA rule: when `LoginMfaRequired`, every
    /// `.kusto.` becomes `.kustomfa.`. Without a trailing `/`.
    pub fn resource(&self) -> String {
        let resource = self.kusto_service_resource_id.trim_end_matches('/');
        if self.login_mfa_required {
            resource.replace(".kusto.", ".kustomfa.")
        } else {
            resource.to_owned()
        }
    }

    /// The OAuth scope: `<resource>/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.resource())
    }

    /// The login endpoint without a trailing `/`.
    pub fn login_endpoint(&self) -> &str {
        self.login_endpoint.trim_end_matches('/')
    }

    /// `{LoginEndpoint}/{tenant}/oauth2/v2.0/{leaf}`, refusing plain http to non-loopback hosts
    /// and a tenant that is not one path segment (a tenant id or domain name).
    pub(crate) fn oauth_endpoint(&self, tenant: &str, leaf: &str) -> Result<Url> {
        crate::connection_string::check_authority(tenant)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let text = format!("{}/{}/oauth2/v2.0/{leaf}", self.login_endpoint(), tenant);
        let url = Url::parse(&text).map_err(|e| {
            Error::InvalidArgument(format!(
                "login endpoint '{}' with tenant '{tenant}' is not a valid URL: {e}",
                self.login_endpoint()
            ))
        })?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if crate::trusted_endpoints::is_loopback_url(&url) => Ok(url),
            _ => Err(Error::InvalidArgument(format!(
                "login endpoint '{}' must use https:// (plain http only on loopback)",
                self.login_endpoint()
            ))),
        }
    }

    /// Reads the body of a 200 answer of the metadata endpoint.
    pub(crate) fn from_metadata(body: &[u8]) -> Result<Self> {
        let value: Value = serde_json::from_slice(body).map_err(|e| Error::MalformedResponse {
            message: format!("auth metadata is not JSON: {e}"),
            offset: None,
        })?;
        let azure_ad = match value.get("AzureAD") {
            None | Some(Value::Null) => return Ok(CloudInfo::public_cloud()),
            Some(v) => v.clone(),
        };
        let raw: RawCloudInfo =
            serde_json::from_value(azure_ad).map_err(|e| Error::MalformedResponse {
                message: format!("auth metadata AzureAD object: {e}"),
                offset: None,
            })?;
        let defaults = CloudInfo::public_cloud();
        let required = |value: Option<String>, name: &str| {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Error::MalformedResponse {
                    message: format!("auth metadata AzureAD object has no {name}"),
                    offset: None,
                })
        };
        Ok(CloudInfo {
            login_endpoint: required(raw.login_endpoint, "LoginEndpoint")?,
            login_mfa_required: raw.login_mfa_required.unwrap_or(false),
            kusto_client_app_id: raw
                .kusto_client_app_id
                .unwrap_or(defaults.kusto_client_app_id),
            kusto_client_redirect_uri: raw
                .kusto_client_redirect_uri
                .unwrap_or(defaults.kusto_client_redirect_uri),
            kusto_service_resource_id: required(
                raw.kusto_service_resource_id,
                "KustoServiceResourceId",
            )?,
            first_party_authority_url: raw
                .first_party_authority_url
                .unwrap_or(defaults.first_party_authority_url),
        })
    }

    /// `GET {scheme}://{host[:port]}/v1/rest/auth/metadata`, without authentication.
    pub(crate) async fn fetch(http: &reqwest::Client, target: &Url) -> Result<Self> {
        let url = metadata_url(target)?;
        let endpoint = endpoint_string(&url);
        tracing::debug!(%endpoint, "fetching cloud info");
        let response = http
            .get(url.clone())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| transport_error(e, &endpoint, None))?;
        let status = response.status().as_u16();
        if response.url() != &url {
            return Err(Error::MalformedResponse {
                message: format!(
                    "{endpoint} redirected to {}; the metadata endpoint is not followed across \
                     redirects",
                    endpoint_string(response.url())
                ),
                offset: None,
            });
        }
        match status {
            200 => {
                let body = read_limited(response, &endpoint, 1 << 20)
                    .await
                    .into_result()?;
                CloudInfo::from_metadata(&body)
            }
            404 => Ok(CloudInfo::public_cloud()),
            _ => Err(service_error(response, &endpoint, None).await),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawCloudInfo {
    login_endpoint: Option<String>,
    login_mfa_required: Option<bool>,
    kusto_client_app_id: Option<String>,
    kusto_client_redirect_uri: Option<String>,
    kusto_service_resource_id: Option<String>,
    first_party_authority_url: Option<String>,
}

/// `scheme://host[:port]`, lower case: the key of the cloud-info cache.
pub(crate) fn authority_key(url: &Url) -> Result<String> {
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Ok(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Err(Error::InvalidArgument(format!(
            "'{}' has no host: cannot get cloud info for it",
            endpoint_string(url)
        ))),
    }
}

fn metadata_url(target: &Url) -> Result<Url> {
    let authority = authority_key(target)?;
    Url::parse(&format!("{authority}/v1/rest/auth/metadata"))
        .map_err(|e| Error::InvalidArgument(format!("metadata URL for {authority}: {e}")))
}

/// Cloud info per authority: user overrides first, then one fetch per authority (concurrent
/// callers share it; failures are not remembered).
#[derive(Debug, Default)]
pub(crate) struct CloudInfoCache {
    overrides: HashMap<String, Arc<CloudInfo>>,
    fetched: Mutex<HashMap<String, Arc<OnceCell<Arc<CloudInfo>>>>>,
}

impl CloudInfoCache {
    pub(crate) fn new(overrides: HashMap<String, Arc<CloudInfo>>) -> Self {
        CloudInfoCache {
            overrides,
            fetched: Mutex::default(),
        }
    }

    pub(crate) async fn get(&self, http: &reqwest::Client, target: &Url) -> Result<Arc<CloudInfo>> {
        let key = authority_key(target)?;
        if let Some(info) = self.overrides.get(&key) {
            return Ok(info.clone());
        }
        let cell = {
            let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
            fetched.entry(key).or_default().clone()
        };
        cell.get_or_try_init(|| async { CloudInfo::fetch(http, target).await.map(Arc::new) })
            .await
            .cloned()
    }
}
