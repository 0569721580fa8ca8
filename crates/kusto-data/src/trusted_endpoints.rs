//! Trusted endpoints: the hosts a token may be sent to.
//!
//! Before any token leaves the process, for **every** authentication method, the target host is
//! checked (by [`Authenticator`](crate::auth::Authenticator)):
//!
//! 1. a loopback host (`localhost`, `127.0.0.0/8`, `::1`) is always trusted;
//! 2. with an override policy ([`TrustedEndpoints::with_override_policy`]), the host is trusted
//!    when the policy says so or it matches an additional rule; the built-in list is **not**
//!    consulted;
//! 3. otherwise a host matching an additional rule ([`TrustedEndpoints::allow_host`],
//!    [`TrustedEndpoints::allow_suffix`]) is trusted;
//! 4. otherwise the host must match the built-in list of some cloud: if it matches none, it is
//!    refused **without** contacting it; if it does, the cluster's cloud info
//!    (`/v1/rest/auth/metadata`) is fetched and the host must match the list of the cloud whose
//!    login endpoint the cluster names.
//!
//! The built-in list is the allow-list shared by the official SDKs, embedded from
//! `trusted_endpoints.json`. The policy is a value given to each client, never process-global.
//! A refused host is an [`Error::UntrustedEndpoint`] that names the host and how to allow it.
//!
//! ```
//! use kusto_data::trusted_endpoints::{TrustDecision, TrustedEndpoints};
//! let policy = TrustedEndpoints::new().allow_suffix(".contoso.internal");
//! assert_eq!(policy.precheck("localhost").unwrap(), TrustDecision::Trusted);
//! assert_eq!(policy.precheck("adx.contoso.internal").unwrap(), TrustDecision::Trusted);
//! assert_eq!(
//!     policy.precheck("help.kusto.windows.net").unwrap(),
//!     TrustDecision::NeedsLoginEndpoint
//! );
//! assert!(policy.check_login_endpoint("help.kusto.windows.net", "https://login.microsoftonline.com").is_ok());
//! assert!(policy.check_login_endpoint("help.kusto.windows.net", "https://login.microsoftonline.us").is_err());
//! assert_eq!(policy.precheck("evil.example.com").unwrap(), TrustDecision::Untrusted);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use url::Url;

use crate::{Error, Result};

/// A rule that matches a host: exactly, or by suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRule {
    pattern: String,
    exact: bool,
}

impl MatchRule {
    /// Matches exactly `host` (case-insensitive).
    pub fn host(host: impl AsRef<str>) -> Self {
        MatchRule {
            pattern: normalize_host(host.as_ref()),
            exact: true,
        }
    }

    /// Matches every host that ends with `suffix` (case-insensitive), e.g. `.contoso.net`.
    pub fn suffix(suffix: impl AsRef<str>) -> Self {
        MatchRule {
            pattern: normalize_host(suffix.as_ref()),
            exact: false,
        }
    }

    /// True when `host` matches.
    pub fn matches(&self, host: &str) -> bool {
        let host = normalize_host(host);
        if self.pattern.is_empty() {
            return false;
        }
        if self.exact {
            host == self.pattern
        } else {
            host.ends_with(&self.pattern)
        }
    }
}

/// The outcome of [`TrustedEndpoints::precheck`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustDecision {
    /// Trusted without further checks (loopback, override policy, additional rule).
    Trusted,
    /// In the built-in list of at least one cloud: trusted if the cluster's login endpoint is
    /// that of a cloud whose list matches ([`TrustedEndpoints::check_login_endpoint`]).
    NeedsLoginEndpoint,
    /// Refused; the host is not contacted.
    Untrusted,
}

type OverridePolicy = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The trusted-endpoint policy of one client: the built-in list plus additional rules, or an
/// override policy. Cheap to clone.
#[derive(Clone, Default)]
pub struct TrustedEndpoints {
    additional: Vec<MatchRule>,
    override_policy: Option<OverridePolicy>,
}

impl fmt::Debug for TrustedEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedEndpoints")
            .field("additional", &self.additional)
            .field("override_policy", &self.override_policy.is_some())
            .finish()
    }
}

impl TrustedEndpoints {
    /// The built-in list only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts every host. For private endpoints with custom DNS names, proxies, and tests; a
    /// token then goes wherever the connection string points.
    pub fn allow_all() -> Self {
        Self::new().with_override_policy(|_| true)
    }

    /// Also trusts exactly `host`.
    pub fn allow_host(self, host: impl AsRef<str>) -> Self {
        self.allow(MatchRule::host(host))
    }

    /// Also trusts every host ending with `suffix`.
    pub fn allow_suffix(self, suffix: impl AsRef<str>) -> Self {
        self.allow(MatchRule::suffix(suffix))
    }

    /// Also trusts the hosts `rule` matches.
    pub fn allow(mut self, rule: MatchRule) -> Self {
        self.additional.push(rule);
        self
    }

    /// Replaces the built-in list by `policy`: a host is trusted when it is loopback, `policy`
    /// returns true for it, or it matches an additional rule.
    pub fn with_override_policy(
        mut self,
        policy: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.override_policy = Some(Arc::new(policy));
        self
    }

    /// The additional rules.
    pub fn additional_rules(&self) -> &[MatchRule] {
        &self.additional
    }

    /// Decides what can be decided from the host alone (steps 1 to 4 of the
    /// [module documentation](self) before cloud info is needed).
    pub fn precheck(&self, host: &str) -> Result<TrustDecision> {
        if is_loopback_host(host) {
            return Ok(TrustDecision::Trusted);
        }
        if let Some(policy) = &self.override_policy {
            let host = normalize_host(host);
            return Ok(if policy(&host) || self.matches_additional(&host) {
                TrustDecision::Trusted
            } else {
                TrustDecision::Untrusted
            });
        }
        if self.matches_additional(host) {
            return Ok(TrustDecision::Trusted);
        }
        let table = well_known()?;
        Ok(if table.iter().any(|cloud| cloud.matches(host)) {
            TrustDecision::NeedsLoginEndpoint
        } else {
            TrustDecision::Untrusted
        })
    }

    /// Checks `host` against the built-in list of the cloud whose login endpoint is
    /// `login_endpoint` (after [`precheck`](Self::precheck) said
    /// [`TrustDecision::NeedsLoginEndpoint`]).
    pub fn check_login_endpoint(&self, host: &str, login_endpoint: &str) -> Result<()> {
        let login = normalize_login(login_endpoint);
        let trusted = well_known()?
            .iter()
            .any(|cloud| cloud.login == login && cloud.matches(host));
        if trusted {
            Ok(())
        } else {
            Err(Error::UntrustedEndpoint {
                host: normalize_host(host),
                login_endpoint: Some(login),
            })
        }
    }

    /// The whole decision for `host` in the cloud of `login_endpoint`.
    pub fn validate(&self, host: &str, login_endpoint: &str) -> Result<()> {
        match self.precheck(host)? {
            TrustDecision::Trusted => Ok(()),
            TrustDecision::NeedsLoginEndpoint => self.check_login_endpoint(host, login_endpoint),
            TrustDecision::Untrusted => Err(Error::UntrustedEndpoint {
                host: normalize_host(host),
                login_endpoint: None,
            }),
        }
    }

    fn matches_additional(&self, host: &str) -> bool {
        self.additional.iter().any(|rule| rule.matches(host))
    }
}

/// Lower case, without a trailing `.` and without IPv6 brackets.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('.');
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.to_ascii_lowercase()
}

fn normalize_login(login: &str) -> String {
    login.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// True for `localhost`, any IPv4 address in `127.0.0.0/8` and `::1` (with or without brackets).
pub fn is_loopback_host(host: &str) -> bool {
    let host = normalize_host(host);
    if host == "localhost" {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// True when `url`'s host is loopback.
pub(crate) fn is_loopback_url(url: &Url) -> bool {
    url.host_str().is_some_and(is_loopback_host)
}

/// The login endpoints of the built-in list, e.g. `https://login.microsoftonline.com`.
pub fn well_known_login_endpoints() -> Result<Vec<String>> {
    Ok(well_known()?.iter().map(|c| c.login.clone()).collect())
}

#[derive(Debug)]
struct Cloud {
    login: String,
    suffixes: Vec<String>,
    hostnames: Vec<String>,
}

impl Cloud {
    fn matches(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.hostnames.contains(&host) || self.suffixes.iter().any(|s| host.ends_with(s.as_str()))
    }
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "AllowedEndpointsByLogin")]
    by_login: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "AllowedKustoSuffixes")]
    suffixes: Vec<String>,
    #[serde(rename = "AllowedKustoHostnames")]
    hostnames: Vec<String>,
}

static WELL_KNOWN: LazyLock<std::result::Result<Vec<Cloud>, String>> = LazyLock::new(|| {
    let file: File = serde_json::from_str(include_str!("trusted_endpoints.json"))
        .map_err(|e| format!("the embedded trusted_endpoints.json is invalid: {e}"))?;
    Ok(file
        .by_login
        .into_iter()
        .map(|(login, entry)| Cloud {
            login: normalize_login(&login),
            suffixes: entry.suffixes.iter().map(|s| normalize_host(s)).collect(),
            hostnames: entry.hostnames.iter().map(|s| normalize_host(s)).collect(),
        })
        .collect())
});

fn well_known() -> Result<&'static [Cloud]> {
    WELL_KNOWN
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| Error::InvalidArgument(e.clone()))
}

#[cfg(test)]
mod tests;
