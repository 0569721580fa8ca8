//! Client credentials (application key), user/password and the default chain's environment
//! secret against the loopback login server: request shape, caching, refresh, expiry, errors,
//! single flight.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::server::{Server, oauth_error, token_answer};
use super::{assert_no_canary, authenticator, bearer, target};
use crate::auth::{AuthError, DefaultChain};
use crate::{ConnectionString, Error};

fn app_key_cs() -> ConnectionString {
    ConnectionString::builder(super::TARGET)
        .with_application_key("app-id", "CANARY-SECRET", "tenant-x")
        .build()
        .unwrap()
}

fn token_server_answer(index: usize) -> (u16, Value) {
    token_answer(&format!("tok-{index}"), 3600)
}

#[tokio::test(start_paused = true)]
async fn client_credentials_are_posted_cached_and_refreshed_before_expiry() {
    let server = Server::start(|_, i| token_server_answer(i)).await;
    let auth = authenticator(&app_key_cs(), &server);
    let header = auth.authorization_header(&target()).await.unwrap().unwrap();
    assert_eq!(header.expose(), "Bearer tok-0");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/tenant-x/oauth2/v2.0/token");
    assert_eq!(request.form["grant_type"], "client_credentials");
    assert_eq!(request.form["client_id"], "app-id");
    assert_eq!(request.form["client_secret"], "CANARY-SECRET");
    assert_eq!(
        request.form["scope"],
        "https://kusto.kusto.windows.net/.default"
    );

    // Cached, also for clones.
    let clone = auth.clone();
    assert_eq!(bearer(&clone).await, "Bearer tok-0");
    assert_eq!(server.count("/token"), 1);

    // Still more than 5 minutes left: cached.
    tokio::time::advance(Duration::from_secs(3600 - 310)).await;
    assert_eq!(bearer(&auth).await, "Bearer tok-0");
    assert_eq!(server.count("/token"), 1);
    // Less than 5 minutes left: refreshed.
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(bearer(&auth).await, "Bearer tok-1");
    assert_eq!(server.count("/token"), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let gate = Arc::new(Semaphore::new(0));
    let server = Server::start_with_gate(|_, i| token_server_answer(i), Some(gate.clone())).await;
    let auth = authenticator(&app_key_cs(), &server);
    let (a, b) = (auth.clone(), auth.clone());
    let target = target();
    // `join!` polls every future once before any completes: the first caller sends the token
    // request and holds it (the server waits for the gate); the other two wait for that one.
    let (first, second, third, ()) = tokio::join!(
        a.authorization_header(&target),
        b.authorization_header(&target),
        auth.authorization_header(&target),
        async {
            server.wait_for_arrivals(1).await;
            gate.add_permits(10);
        }
    );
    for header in [first, second, third] {
        assert_eq!(header.unwrap().unwrap().expose(), "Bearer tok-0");
    }
    assert_eq!(server.count("/token"), 1, "{:?}", server.requests());
}

#[tokio::test]
async fn a_token_that_is_already_expired_is_never_handed_out() {
    let server = Server::start(|_, i| match i {
        0 => token_answer("expired-now", 0),
        1 => (
            200,
            json!({"access_token": "expired-long-ago", "expires_on": 1_000_000}),
        ),
        _ => token_answer("good", 3600),
    })
    .await;
    let auth = authenticator(&app_key_cs(), &server);
    for _ in 0..2 {
        let error = auth.authorization_header(&target()).await.unwrap_err();
        assert!(
            matches!(&error, Error::Auth(e) if matches!(**e, AuthError::ExpiredToken { .. })),
            "{error:?}"
        );
        assert!(!error.is_transient());
    }
    assert_eq!(bearer(&auth).await, "Bearer good");
    assert_eq!(server.count("/token"), 3);
}

#[tokio::test(start_paused = true)]
async fn an_expired_cached_token_is_not_returned_when_the_refresh_fails() {
    let server = Server::start(|_, i| match i {
        0 => token_answer("first", 3600),
        _ => oauth_error(503, "temporarily_unavailable", "try later"),
    })
    .await;
    let auth = authenticator(&app_key_cs(), &server);
    assert_eq!(bearer(&auth).await, "Bearer first");
    // In the refresh window, the refresh fails but the token still has minutes left.
    tokio::time::advance(Duration::from_secs(3600 - 120)).await;
    assert_eq!(bearer(&auth).await, "Bearer first");
    assert_eq!(server.count("/token"), 2);
    // Past expiry: the failure is returned, never the expired token.
    tokio::time::advance(Duration::from_secs(121)).await;
    let error = auth.authorization_header(&target()).await.unwrap_err();
    match &error {
        Error::Auth(e) => match &**e {
            AuthError::TokenRequestFailed { status, error, .. } => {
                assert_eq!(*status, 503);
                assert_eq!(error, "temporarily_unavailable");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(error.is_transient());
    assert_eq!(server.count("/token"), 3);
}

#[tokio::test]
async fn oauth_errors_are_typed_and_never_show_the_secret() {
    let server = Server::start(|_, _| {
        oauth_error(
            401,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided: CANARY-SECRET",
        )
    })
    .await;
    let auth = authenticator(&app_key_cs(), &server);
    let error = auth.authorization_header(&target()).await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert_no_canary(&text);
    assert_eq!(
        error.to_string(),
        format!(
            "the token endpoint {}tenant-x/oauth2/v2.0/token refused the request (HTTP 401, \
             invalid_client): AADSTS7000215: Invalid client secret provided: **** (correlation id corr-1)",
            server.url
        )
    );
    assert!(error.is_permanent());
    assert_no_canary(&format!("{auth:?}"));

    // A non-JSON error body is kept as text, also scrubbed.
    let server =
        Server::start(|_, _| (502, Value::String("bad gateway CANARY-SECRET".into()))).await;
    let error = authenticator(&app_key_cs(), &server)
        .authorization_header(&target())
        .await
        .unwrap_err();
    assert_no_canary(&format!("{error} {error:?}"));
    assert!(
        error
            .to_string()
            .contains("HTTP 502, http_error): bad gateway ****"),
        "{error}"
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn malformed_token_answers_and_network_failures_are_typed() {
    let server = Server::start(|_, i| match i {
        0 => (200, Value::String("<html>not json</html>".into())),
        1 => (200, json!({"token_type": "Bearer", "expires_in": 3600})),
        2 => (200, json!({"access_token": "t", "expires_in": i64::MAX})),
        _ => (200, json!({"access_token": "t", "expires_in": "3600"})),
    })
    .await;
    let auth = authenticator(&app_key_cs(), &server);
    for _ in 0..3 {
        let error = auth.authorization_header(&target()).await.unwrap_err();
        assert!(
            matches!(error, Error::MalformedResponse { .. }),
            "{error:?}"
        );
    }
    // `expires_in` as a string is accepted.
    assert_eq!(bearer(&auth).await, "Bearer t");

    // Nothing listens on the login endpoint.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let auth = crate::auth::Authenticator::builder(&app_key_cs(), super::http())
        .cloud_info(
            super::TARGET,
            crate::auth::CloudInfo::public_cloud().with_login_endpoint(format!("http://{address}")),
        )
        .build()
        .unwrap();
    let error = auth.authorization_header(&target()).await.unwrap_err();
    assert!(matches!(error, Error::Network { .. }), "{error:?}");
    assert!(error.is_transient());
    assert_no_canary(&format!("{error} {error:?}"));
}

#[tokio::test]
async fn user_and_password_use_the_cloud_client_app_id() {
    let server = Server::start(|_, i| token_server_answer(i)).await;
    let cs = ConnectionString::parse(&format!(
        "Data Source={};User ID=alice@contoso.com;Password=CANARY-PW",
        super::TARGET
    ))
    .unwrap();
    let auth = authenticator(&cs, &server);
    assert_eq!(bearer(&auth).await, "Bearer tok-0");
    let request = &server.requests()[0];
    assert_eq!(request.path, "/organizations/oauth2/v2.0/token");
    assert_eq!(request.form["grant_type"], "password");
    assert_eq!(
        request.form["client_id"],
        "db662dc1-0cfe-4e1c-a843-19a68e65be58"
    );
    assert_eq!(request.form["username"], "alice@contoso.com");
    assert_eq!(request.form["password"], "CANARY-PW");
    assert_eq!(
        request.form["scope"],
        "https://kusto.kusto.windows.net/.default"
    );
    assert_no_canary(&format!("{auth:?} {cs:?} {cs}"));
}

#[tokio::test]
async fn the_default_chain_uses_the_environment_secret_and_keeps_it() {
    let server = Server::start(|_, i| token_server_answer(i)).await;
    let chain = DefaultChain::new()
        .with_environment([
            ("AZURE_TENANT_ID", "env-tenant"),
            ("AZURE_CLIENT_ID", "env-client"),
            ("AZURE_CLIENT_SECRET", "CANARY-ENV-SECRET"),
            ("UNRELATED", "x"),
        ])
        .without_managed_identity()
        .without_developer_tools();
    let cs = ConnectionString::builder(super::TARGET)
        .with_default_chain(chain.clone())
        .build()
        .unwrap();
    let auth = authenticator(&cs, &server);
    assert_eq!(auth.method_name(), "default chain");
    assert_eq!(bearer(&auth).await, "Bearer tok-0");
    let request = &server.requests()[0];
    assert_eq!(request.path, "/env-tenant/oauth2/v2.0/token");
    assert_eq!(request.form["client_id"], "env-client");
    assert_eq!(request.form["client_secret"], "CANARY-ENV-SECRET");
    assert_no_canary(&format!("{auth:?} {cs:?} {chain:?}"));
    let provider = crate::auth::DefaultChainProvider::new(&chain, &super::http());
    assert_eq!(provider.source_names(), ["EnvironmentClientSecret"]);
    let full = crate::auth::DefaultChainProvider::new(
        &DefaultChain::new().with_environment([
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
        ]),
        &super::http(),
    );
    assert_eq!(
        full.source_names(),
        [
            "EnvironmentClientSecret",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential",
            "DeveloperToolsCredential"
        ]
    );
}

#[tokio::test]
async fn an_exhausted_chain_reports_every_attempt() {
    let server =
        Server::start(|_, _| oauth_error(400, "invalid_request", "AADSTS90002: tenant not found"))
            .await;
    let empty = ConnectionString::builder(super::TARGET)
        .with_default_chain(
            DefaultChain::new()
                .with_environment(Vec::<(String, String)>::new())
                .without_managed_identity()
                .without_developer_tools(),
        )
        .build()
        .unwrap();
    let error = authenticator(&empty, &server)
        .authorization_header(&target())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "no credential of the default chain could get a token: no credential is configured"
    );

    let cs = ConnectionString::builder(super::TARGET)
        .with_default_chain(
            DefaultChain::new()
                .with_environment([
                    ("AZURE_TENANT_ID", "t"),
                    ("AZURE_CLIENT_ID", "c"),
                    ("AZURE_CLIENT_SECRET", "CANARY-S"),
                ])
                .without_managed_identity()
                .without_developer_tools(),
        )
        .build()
        .unwrap();
    let error = authenticator(&cs, &server)
        .authorization_header(&target())
        .await
        .unwrap_err();
    match &error {
        Error::Auth(e) => match &**e {
            AuthError::ChainExhausted { attempts } => {
                assert_eq!(attempts.len(), 1);
                assert_eq!(attempts[0].0, "EnvironmentClientSecret");
                assert!(attempts[0].1.contains("AADSTS90002"), "{}", attempts[0].1);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_no_canary(&format!("{error} {error:?}"));
}
