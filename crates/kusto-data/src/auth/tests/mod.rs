//! Tests of the authentication flows against a loopback server standing in for the login
//! endpoint and the metadata endpoint.

mod authenticator;
#[cfg(feature = "certificate")]
mod certificate;
mod client_secret;
mod cloud_info;
mod device_code;
#[cfg(feature = "interactive")]
mod interactive;
mod server;
mod workload_identity;

use super::{Authenticator, CloudInfo};
use crate::ConnectionString;
use server::Server;

/// The "cluster" of most tests: a loopback address that is never contacted, because its cloud
/// info is given (pointing at the test login server).
const TARGET: &str = "http://127.0.0.1:9/";

fn target() -> url::Url {
    url::Url::parse(TARGET).unwrap()
}

/// Public-cloud info whose login endpoint is `server`.
fn cloud(server: &Server) -> CloudInfo {
    CloudInfo::public_cloud().with_login_endpoint(server.url.as_str().trim_end_matches('/'))
}

/// The HTTP client of the tests: no pooled connections, so that a test server closing an idle
/// connection (or paused time expiring it) cannot race with its reuse.
fn http() -> reqwest::Client {
    crate::client::http_client_builder()
        .unwrap()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// An authenticator for `cs` whose cluster [`TARGET`] lives in the cloud of `server`.
fn authenticator(cs: &ConnectionString, server: &Server) -> Authenticator {
    Authenticator::builder(cs, http())
        .cloud_info(TARGET, cloud(server))
        .build()
        .unwrap()
}

/// The `Authorization` header `auth` gives for [`TARGET`] (which must have one).
async fn bearer(auth: &Authenticator) -> String {
    auth.authorization_header(&target())
        .await
        .unwrap()
        .expect("an Authorization header")
        .expose()
        .to_owned()
}

/// Searches `text` for secret canaries.
fn assert_no_canary(text: &str) {
    assert!(!text.contains("CANARY"), "a secret leaked: {text}");
}
