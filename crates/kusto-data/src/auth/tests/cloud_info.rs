//! Cloud info: `/v1/rest/auth/metadata` once per authority, defaults, errors, overrides, scope.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::server::{Server, token_answer};
use crate::auth::{Authenticator, CloudInfo};
use crate::{ConnectionString, Error};

fn metadata(server_url: &str, mfa: bool) -> Value {
    json!({"AzureAD": {
        "LoginEndpoint": server_url.trim_end_matches('/'),
        "LoginMfaRequired": mfa,
        "KustoClientAppId": "client-app-x",
        "KustoClientRedirectUri": "https://microsoft/kustoclient",
        "KustoServiceResourceId": "https://kusto.kusto.windows.net",
        "FirstPartyAuthorityUrl": "https://login.example/first-party"
    }})
}

fn app_key(server: &Server) -> ConnectionString {
    ConnectionString::builder(server.url.as_str())
        .with_application_key("app", "CANARY-K", "tenant")
        .build()
        .unwrap()
}

#[tokio::test]
async fn metadata_is_fetched_once_per_authority_and_drives_the_scope() {
    let gate = Arc::new(Semaphore::new(0));
    // The server is both the cluster (metadata) and its login endpoint.
    let url = Arc::new(std::sync::OnceLock::<String>::new());
    let u = url.clone();
    let server = Server::start_with_gate(
        move |request, index| {
            if request.path == "/v1/rest/auth/metadata" {
                (200, metadata(u.get().unwrap(), true))
            } else {
                token_answer(&format!("tok-{index}"), 3600)
            }
        },
        Some(gate.clone()),
    )
    .await;
    url.set(server.url.to_string()).unwrap();
    let auth = Authenticator::new(&app_key(&server), super::http()).unwrap();
    let target = server.url.clone();
    let (a, b, ()) = tokio::join!(
        auth.authorization_header(&target),
        auth.cloud_info(&target),
        async {
            server.wait_for_arrivals(1).await;
            gate.add_permits(100);
        }
    );
    assert_eq!(a.unwrap().unwrap().expose(), "Bearer tok-0");
    let info = b.unwrap();
    assert!(info.login_mfa_required);
    assert_eq!(info.kusto_client_app_id, "client-app-x");
    assert_eq!(
        info.first_party_authority_url,
        "https://login.example/first-party"
    );
    assert_eq!(info.scope(), "https://kusto.kustomfa.windows.net/.default");
    // Again, with another path on the same authority: still one metadata request.
    let other_path = target.join("/v2/rest/query").unwrap();
    auth.authorization_header(&other_path).await.unwrap();
    assert_eq!(server.count("/v1/rest/auth/metadata"), 1);
    let requests = server.requests();
    assert_eq!(requests[0].path, "/v1/rest/auth/metadata");
    assert_eq!(requests[0].method, "GET");
    let token_request = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/token"))
        .unwrap();
    assert_eq!(
        token_request.form["scope"],
        "https://kusto.kustomfa.windows.net/.default"
    );
    assert_eq!(server.count("/token"), 1);
}

#[tokio::test]
async fn not_found_and_null_mean_public_cloud_defaults() {
    for answer in [
        (404, Value::Null),
        (200, json!({"AzureAD": null})),
        (200, json!({})),
    ] {
        let a = answer.clone();
        let server = Server::start(move |_, _| a.clone()).await;
        let auth = Authenticator::new(&app_key(&server), super::http()).unwrap();
        let info = auth.cloud_info(&server.url).await.unwrap();
        assert_eq!(*info, CloudInfo::public_cloud(), "{answer:?}");
        assert_eq!(info.login_endpoint, "https://login.microsoftonline.com");
        assert_eq!(
            info.kusto_client_app_id,
            "db662dc1-0cfe-4e1c-a843-19a68e65be58"
        );
        assert_eq!(info.kusto_client_redirect_uri, "http://localhost");
        assert_eq!(
            info.kusto_service_resource_id,
            "https://kusto.kusto.windows.net"
        );
        assert_eq!(
            info.first_party_authority_url,
            "https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a"
        );
    }
}

#[tokio::test]
async fn other_answers_are_typed_errors_and_are_not_cached() {
    let server = Server::start(|_, i| match i {
        0 => (
            500,
            json!({"error": {"code": "Internal", "message": "boom", "@permanent": false}}),
        ),
        1 => (403, Value::String("forbidden".into())),
        2 => (200, Value::String("not json".into())),
        3 => (
            200,
            json!({"AzureAD": {"LoginEndpoint": "https://login.example"}}),
        ),
        4 => (200, json!({"AzureAD": "a string"})),
        _ => (200, metadata("https://login.microsoftonline.com", false)),
    })
    .await;
    let auth = Authenticator::new(&app_key(&server), super::http()).unwrap();
    let target = &server.url;

    let error = auth.cloud_info(target).await.unwrap_err();
    let service = error.as_service_error().unwrap();
    assert_eq!(service.status, 500);
    assert_eq!(service.code(), Some("Internal"));
    assert!(service.endpoint.ends_with("/v1/rest/auth/metadata"));
    assert!(error.is_transient());

    let error = auth.cloud_info(target).await.unwrap_err();
    let service = error.as_service_error().unwrap();
    assert_eq!(service.status, 403);
    assert_eq!(service.body.as_deref(), Some("forbidden"));
    assert!(error.is_permanent());

    for expected in ["not JSON", "no KustoServiceResourceId", "AzureAD object"] {
        let error = auth.cloud_info(target).await.unwrap_err();
        assert!(
            matches!(error, Error::MalformedResponse { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(expected), "{error}");
    }
    // Failures were not remembered: the sixth request succeeds and is then cached.
    let info = auth.cloud_info(target).await.unwrap();
    assert_eq!(info.login_endpoint, "https://login.microsoftonline.com");
    auth.cloud_info(target).await.unwrap();
    assert_eq!(server.count("/v1/rest/auth/metadata"), 6);
}

#[tokio::test]
async fn overrides_are_per_authority_and_replace_the_fetch() {
    let server =
        Server::start(|_, _| (200, metadata("https://login.microsoftonline.com", false))).await;
    let other = Server::start(|_, _| (404, Value::Null)).await;
    let custom = CloudInfo::public_cloud().with_login_endpoint("https://login.private.example");
    let auth = Authenticator::builder(&app_key(&server), super::http())
        .cloud_info(&format!("{}some/path", server.url), custom.clone())
        .build()
        .unwrap();
    assert_eq!(*auth.cloud_info(&server.url).await.unwrap(), custom);
    assert_eq!(server.count("/v1/rest/auth/metadata"), 0);
    // Another authority is fetched.
    assert_eq!(
        *auth.cloud_info(&other.url).await.unwrap(),
        CloudInfo::public_cloud()
    );
    assert_eq!(other.count("/v1/rest/auth/metadata"), 1);
    // A bad authority is an error at build time.
    let error = Authenticator::builder(&app_key(&server), super::http())
        .cloud_info("not a url", custom)
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
}

#[test]
fn scope_follows_the_mfa_rule() {
    let mut info = CloudInfo::public_cloud();
    assert_eq!(info.scope(), "https://kusto.kusto.windows.net/.default");
    info.kusto_service_resource_id = "https://kusto.kusto.usgovcloudapi.net/".into();
    assert_eq!(
        info.scope(),
        "https://kusto.kusto.usgovcloudapi.net/.default"
    );
    info.login_mfa_required = true;
    assert_eq!(
        info.scope(),
        "https://kusto.kustomfa.usgovcloudapi.net/.default"
    );
    info.kusto_service_resource_id = "https://help.kusto.windows.net".into();
    assert_eq!(info.resource(), "https://help.kustomfa.windows.net");
    info.kusto_service_resource_id = "https://api.example.com".into();
    assert_eq!(info.scope(), "https://api.example.com/.default");
}

#[test]
fn login_endpoints_must_be_https_except_on_loopback() {
    let info = CloudInfo::public_cloud();
    assert_eq!(
        info.oauth_endpoint("t", "token").unwrap().as_str(),
        "https://login.microsoftonline.com/t/oauth2/v2.0/token"
    );
    let local = CloudInfo::public_cloud().with_login_endpoint("http://127.0.0.1:5000/");
    assert_eq!(
        local.oauth_endpoint("t", "devicecode").unwrap().as_str(),
        "http://127.0.0.1:5000/t/oauth2/v2.0/devicecode"
    );
    let plain = CloudInfo::public_cloud().with_login_endpoint("http://login.example.com");
    assert!(matches!(
        plain.oauth_endpoint("t", "token"),
        Err(Error::InvalidArgument(_))
    ));
    let broken = CloudInfo::public_cloud().with_login_endpoint("no scheme");
    assert!(matches!(
        broken.oauth_endpoint("t", "token"),
        Err(Error::InvalidArgument(_))
    ));
    // The tenant is one path segment: nothing that would point the request elsewhere.
    for tenant in ["", "a/b", "..", ".", "t?x=1", "t#f", "t%2F", "t x", "évil"] {
        let error = info.oauth_endpoint(tenant, "token").unwrap_err();
        assert!(matches!(error, Error::InvalidArgument(_)), "{tenant:?}");
        assert!(error.to_string().contains("Authority Id"), "{error}");
    }
    for tenant in [
        "organizations",
        "common",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "contoso.onmicrosoft.com",
        "my_tenant",
    ] {
        assert_eq!(
            info.oauth_endpoint(tenant, "token").unwrap().as_str(),
            format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
        );
    }
}
