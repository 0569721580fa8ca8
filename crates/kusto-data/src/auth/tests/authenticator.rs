//! The authenticator: trusted endpoints for every method, plain http, no authentication,
//! callbacks, credentials, and the azure_identity adapters.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use url::Url;

use super::assert_no_canary;
use crate::auth::{
    AccessToken, AuthError, Authentication, Authenticator, CloudInfo, ManagedIdentity,
    TokenProvider, TokenRequest, WorkloadIdentity,
};
use crate::trusted_endpoints::TrustedEndpoints;
use crate::{ConnectionString, Error};

/// A client with the TLS set-up of this build's features (`reqwest::Client::new()` panics with
/// `rustls-ring`).
fn plain_http() -> reqwest::Client {
    crate::client::http_client_builder()
        .unwrap()
        .build()
        .unwrap()
}

/// A provider that counts its calls and returns `CANARY-TOKEN-<n>`.
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
    scopes: std::sync::Mutex<Vec<String>>,
}

impl TokenProvider for Counting {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, crate::Result<AccessToken>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.scopes
            .lock()
            .unwrap()
            .extend(request.scopes().iter().cloned());
        Box::pin(async move { Ok(AccessToken::new(format!("CANARY-TOKEN-{n}"), None)) })
    }
}

#[derive(Debug)]
struct FakeCredential {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl azure_core::credentials::TokenCredential for FakeCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(azure_core::credentials::AccessToken::new(
            format!("cred:{}", scopes.join(",")),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

/// An authenticator for `authentication` whose clusters all get public-cloud info without a
/// metadata request.
fn offline(authentication: Authentication, host: &str, policy: TrustedEndpoints) -> Authenticator {
    let cs = ConnectionString::builder(format!("https://{host}"))
        .with_authentication(authentication)
        .build()
        .unwrap();
    Authenticator::builder(&cs, plain_http())
        .trusted_endpoints(policy)
        .cloud_info(&format!("https://{host}"), CloudInfo::public_cloud())
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_method_is_checked_against_the_trusted_endpoints_before_any_token_is_made() {
    let counting = Arc::new(Counting::default());
    let callback_calls = Arc::new(AtomicUsize::new(0));
    let c = callback_calls.clone();
    let credential = Arc::new(FakeCredential {
        calls: AtomicUsize::new(0),
    });
    // A token file for workload identity; if that credential ran, it would read it and call
    // the login endpoint.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "CANARY-FEDERATED-JWT").unwrap();
    #[allow(unused_mut)]
    let mut methods = vec![
        Authentication::ManagedIdentity(ManagedIdentity::SystemAssigned),
        Authentication::ManagedIdentity(ManagedIdentity::ClientId("c".into())),
        Authentication::AzureCli { tenant: None },
        Authentication::DeveloperTools,
        Authentication::WorkloadIdentity(WorkloadIdentity {
            client_id: Some("client".into()),
            tenant_id: Some("tenant".into()),
            token_file: Some(token_file),
        }),
        Authentication::UserToken("CANARY-U".into()),
        Authentication::ApplicationToken("CANARY-A".into()),
        Authentication::TokenProvider(counting.clone()),
        Authentication::TokenCallback(crate::auth::TokenCallback::new(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            async { Ok(AccessToken::new("CANARY-CB", None)) }
        })),
        Authentication::TokenCredential(credential.clone()),
        Authentication::ApplicationKey {
            client_id: "a".into(),
            key: "CANARY-K".into(),
            authority: "t".into(),
        },
        Authentication::UserPassword {
            user: "u".into(),
            password: "CANARY-P".into(),
            authority: "t".into(),
        },
        Authentication::DeviceCode {
            authority: "organizations".into(),
            callback: crate::auth::DeviceCodeCallback::new(|_| panic!("must not be called")),
        },
        Authentication::DefaultChain(
            crate::auth::DefaultChain::new()
                .with_environment([("AZURE_CLIENT_SECRET", "CANARY-E")])
                .without_developer_tools()
                .without_managed_identity(),
        ),
        Authentication::DefaultChain(crate::auth::DefaultChain::new()),
    ];
    #[cfg(feature = "certificate")]
    methods.push(Authentication::ApplicationCertificate {
        client_id: "a".into(),
        certificate: crate::auth::ApplicationCertificate::from_pem(include_str!("key.pem"))
            .with_public_certificate(include_str!("cert.pem")),
        authority: "t".into(),
    });
    let mut names: Vec<&str> = methods.iter().map(Authentication::method_name).collect();
    names.sort_unstable();
    names.dedup();
    // Every way of authenticating except `None`, which has no token to protect.
    assert_eq!(
        names.len(),
        if cfg!(feature = "certificate") {
            14
        } else {
            13
        }
    );
    for method in methods {
        let name = method.method_name();
        // An unknown host: refused from the host alone.
        let auth = offline(method.clone(), "evil.example.com", TrustedEndpoints::new());
        // A refusal is immediate; a credential that ran would take longer (or succeed).
        let error = tokio::time::timeout(
            Duration::from_secs(20),
            auth.authorization_header(&url("https://evil.example.com/v2/rest/query")),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: the credential ran instead of being refused"))
        .unwrap_err();
        assert!(
            matches!(&error, Error::UntrustedEndpoint { host, login_endpoint: None } if host == "evil.example.com"),
            "{name}: {error:?}"
        );
        assert_no_canary(&format!("{error} {error:?} {auth:?}"));
        // A public-cloud host whose cloud info names another cloud's login endpoint.
        let cs = ConnectionString::builder("https://mycluster.kusto.windows.net")
            .with_authentication(method.clone())
            .build()
            .unwrap();
        let auth = Authenticator::builder(&cs, plain_http())
            .cloud_info(
                "https://mycluster.kusto.windows.net",
                CloudInfo::public_cloud().with_login_endpoint("https://login.microsoftonline.us"),
            )
            .build()
            .unwrap();
        let error = tokio::time::timeout(
            Duration::from_secs(20),
            auth.authorization_header(cs.data_source()),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: the credential ran instead of being refused"))
        .unwrap_err();
        assert!(
            matches!(&error, Error::UntrustedEndpoint { login_endpoint: Some(l), .. } if l == "https://login.microsoftonline.us"),
            "{name}: {error:?}"
        );
    }
    assert_eq!(counting.calls.load(Ordering::SeqCst), 0);
    assert_eq!(callback_calls.load(Ordering::SeqCst), 0);
    assert_eq!(credential.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn static_tokens_callbacks_providers_and_credentials_produce_headers() {
    let host = "mycluster.westeurope.kusto.windows.net";
    let target = url(&format!("https://{host}/v1/rest/mgmt"));
    let policy = TrustedEndpoints::new;

    let auth = offline(Authentication::UserToken("user-tok".into()), host, policy());
    assert_eq!(
        auth.authorization_header(&target)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "Bearer user-tok"
    );
    let auth = offline(
        Authentication::ApplicationToken("app-tok".into()),
        host,
        policy(),
    );
    assert_eq!(
        auth.authorization_header(&target)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "Bearer app-tok"
    );

    // Callbacks see the scope and cloud; a token without expiry is asked for every time, one
    // with an expiry is cached.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let cs = ConnectionString::builder(format!("https://{host}"))
        .with_token_callback(move |request: TokenRequest| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push((
                    request.scopes().to_vec(),
                    request.cloud_info().login_endpoint.clone(),
                ));
                let n = s.lock().unwrap().len();
                let expiry =
                    (n > 1).then(|| time::OffsetDateTime::now_utc() + time::Duration::hours(1));
                Ok(AccessToken::new(format!("cb-{n}"), expiry).with_token_type("PoP"))
            }
        })
        .build()
        .unwrap();
    let auth = Authenticator::builder(&cs, plain_http())
        .cloud_info(&format!("https://{host}"), CloudInfo::public_cloud())
        .build()
        .unwrap();
    assert_eq!(
        auth.authorization_header(&target)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "PoP cb-1"
    );
    assert_eq!(
        auth.authorization_header(&target)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "PoP cb-2"
    );
    assert_eq!(
        auth.authorization_header(&target)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "PoP cb-2"
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(
        seen.lock().unwrap()[0],
        (
            vec!["https://kusto.kusto.windows.net/.default".to_owned()],
            "https://login.microsoftonline.com".to_owned()
        )
    );

    // A failing callback is a typed error.
    let cs = ConnectionString::builder(format!("https://{host}"))
        .with_token_callback(|_| async { Err("vault unreachable".into()) })
        .build()
        .unwrap();
    let auth = Authenticator::builder(&cs, plain_http())
        .cloud_info(&format!("https://{host}"), CloudInfo::public_cloud())
        .build()
        .unwrap();
    let error = auth.authorization_header(&target).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "token callback failed to get a token: vault unreachable"
    );
    assert!(error.is_permanent());

    // Any TokenCredential; cached by its expiry.
    let credential = Arc::new(FakeCredential {
        calls: AtomicUsize::new(0),
    });
    let auth = offline(
        Authentication::TokenCredential(credential.clone()),
        host,
        policy(),
    );
    for _ in 0..3 {
        assert_eq!(
            auth.authorization_header(&target)
                .await
                .unwrap()
                .unwrap()
                .expose(),
            "Bearer cred:https://kusto.kusto.windows.net/.default"
        );
    }
    assert_eq!(credential.calls.load(Ordering::SeqCst), 1);

    // Any TokenProvider.
    let counting = Arc::new(Counting::default());
    let auth = offline(
        Authentication::TokenProvider(counting.clone()),
        host,
        policy(),
    );
    let token = auth.token(&target).await.unwrap().unwrap();
    assert_eq!(token.token().expose(), "CANARY-TOKEN-0");
    assert_eq!(
        counting.scopes.lock().unwrap().as_slice(),
        ["https://kusto.kusto.windows.net/.default"]
    );
    assert_no_canary(&format!("{token:?} {auth:?}"));
}

#[tokio::test]
async fn additional_hosts_and_override_policies_are_per_client() {
    let target = url("https://adx.contoso.internal/v2/rest/query");
    let allowed = offline(
        Authentication::UserToken("t".into()),
        "adx.contoso.internal",
        TrustedEndpoints::new().allow_suffix(".contoso.internal"),
    );
    assert_eq!(
        allowed
            .authorization_header(&target)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "Bearer t"
    );
    let override_policy = offline(
        Authentication::UserToken("t".into()),
        "adx.contoso.internal",
        TrustedEndpoints::new().with_override_policy(|host| host == "adx.contoso.internal"),
    );
    assert!(override_policy.authorization_header(&target).await.is_ok());
    // A client without the rule refuses the same host: nothing is process-global.
    let default = offline(
        Authentication::UserToken("t".into()),
        "adx.contoso.internal",
        TrustedEndpoints::new(),
    );
    let error = default.authorization_header(&target).await.unwrap_err();
    assert!(
        matches!(error, Error::UntrustedEndpoint { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("'adx.contoso.internal'"),
        "{error}"
    );
}

/// A TCP listener that counts connections and closes them at once.
async fn counting_listener() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (address, count)
}

#[tokio::test]
async fn cloud_info_is_fetched_only_for_hosts_of_the_built_in_list() {
    let (address, connections) = counting_listener().await;
    let http = crate::client::http_client_builder()
        .unwrap()
        .resolve("evil.example.com", address)
        .resolve("mycluster.kusto.windows.net", address)
        .build()
        .unwrap();
    let port = address.port();
    for (host, contacted) in [
        ("evil.example.com", false),
        ("mycluster.kusto.windows.net", true),
    ] {
        let before = connections.load(Ordering::SeqCst);
        let cs = ConnectionString::builder(format!("https://{host}:{port}"))
            .with_user_token("CANARY-T")
            .build()
            .unwrap();
        let auth = Authenticator::new(&cs, http.clone()).unwrap();
        let error = auth
            .authorization_header(cs.data_source())
            .await
            .unwrap_err();
        let after = connections.load(Ordering::SeqCst);
        if contacted {
            // The metadata request reached the (fake) cluster and failed there (no TLS).
            assert!(matches!(error, Error::Network { .. }), "{error:?}");
            assert!(after > before, "{host} was not contacted");
        } else {
            assert!(
                matches!(error, Error::UntrustedEndpoint { .. }),
                "{error:?}"
            );
            assert_eq!(after, before, "{host} was contacted");
        }
        assert_no_canary(&format!("{error} {error:?}"));
    }
}

#[tokio::test]
async fn tokens_never_go_over_plain_http_except_to_loopback() {
    let auth = offline(
        Authentication::UserToken("t".into()),
        "mycluster.kusto.windows.net",
        TrustedEndpoints::allow_all(),
    );
    let error = auth
        .authorization_header(&url("http://mycluster.kusto.windows.net/v2/rest/query"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Auth(e) if matches!(&**e, AuthError::InsecureTransport { host } if host == "mycluster.kusto.windows.net")),
        "{error:?}"
    );
    let error = auth
        .authorization_header(&url("ftp://x/"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    // Loopback over http is fine (the emulator).
    let cs = ConnectionString::builder("http://localhost:8080")
        .with_user_token("t")
        .build()
        .unwrap();
    let auth = Authenticator::builder(&cs, plain_http())
        .cloud_info("http://localhost:8080", CloudInfo::public_cloud())
        .build()
        .unwrap();
    assert_eq!(
        auth.authorization_header(cs.data_source())
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "Bearer t"
    );
}

#[tokio::test]
async fn no_authentication_sends_nothing_and_contacts_nothing() {
    let (address, connections) = counting_listener().await;
    let cs: ConnectionString = format!("http://127.0.0.1:{}", address.port())
        .parse()
        .unwrap();
    let auth = Authenticator::new(&cs, plain_http()).unwrap();
    assert!(auth.is_anonymous());
    assert_eq!(auth.method_name(), "no authentication");
    assert!(
        auth.authorization_header(cs.data_source())
            .await
            .unwrap()
            .is_none()
    );
    // Even for a host nobody trusts: there is no token to protect.
    assert!(
        auth.authorization_header(&url("http://evil.example.com/"))
            .await
            .unwrap()
            .is_none()
    );
    tokio::task::yield_now().await;
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn azure_identity_credentials_are_built() {
    let host = "mycluster.kusto.windows.net";
    for (method, name) in [
        (
            Authentication::ManagedIdentity(ManagedIdentity::SystemAssigned),
            "managed identity",
        ),
        (
            Authentication::ManagedIdentity(ManagedIdentity::ClientId("c".into())),
            "managed identity",
        ),
        (
            Authentication::ManagedIdentity(ManagedIdentity::ObjectId("o".into())),
            "managed identity",
        ),
        (Authentication::AzureCli { tenant: None }, "Azure CLI"),
        (
            Authentication::AzureCli {
                tenant: Some("contoso.onmicrosoft.com".into()),
            },
            "Azure CLI",
        ),
        (Authentication::DeveloperTools, "developer tools"),
    ] {
        let auth = offline(method, host, TrustedEndpoints::new());
        assert_eq!(auth.method_name(), name);
        assert!(!auth.is_anonymous());
    }
}

#[cfg(not(feature = "certificate"))]
#[test]
fn certificate_authentication_needs_the_feature() {
    let cs = ConnectionString::builder("https://mycluster.kusto.windows.net")
        .with_application_certificate(
            "a",
            crate::auth::ApplicationCertificate::from_pem("CANARY-PEM"),
            "t",
        )
        .build()
        .unwrap();
    let error = Authenticator::new(&cs, plain_http()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "application certificate authentication needs the cargo feature `certificate` of kusto-data"
    );
}

#[test]
fn debug_output_names_the_method_and_hides_secrets() {
    let cs = ConnectionString::builder("https://mycluster.kusto.windows.net")
        .with_application_key("app", "CANARY-KEY", "tenant")
        .build()
        .unwrap();
    let auth = Authenticator::builder(&cs, plain_http())
        .trusted_endpoints(TrustedEndpoints::new().allow_host("extra.example"));
    assert_no_canary(&format!("{auth:?}"));
    let auth = auth.build().unwrap();
    let debug = format!("{auth:?}");
    assert_no_canary(&debug);
    assert!(debug.contains("application key"), "{debug}");
    assert!(debug.contains("extra.example"), "{debug}");
}
