//! Workload identity against the loopback login server: the token file is sent as a client
//! assertion, read again for every token request (the kubelet rotates it), and never shown.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::server::{Server, oauth_error, token_answer};
use super::{assert_no_canary, authenticator, bearer, target};
use crate::auth::{AuthError, DefaultChain, WorkloadIdentity};
use crate::{ConnectionString, Error};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn workload_cs(token_file: &Path) -> ConnectionString {
    ConnectionString::builder(super::TARGET)
        .with_workload_identity(WorkloadIdentity {
            client_id: Some("wi-client".into()),
            tenant_id: Some("wi-tenant".into()),
            token_file: Some(token_file.to_owned()),
        })
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_token_file_is_the_client_assertion_and_is_read_again_on_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "CANARY-FEDERATED-1\n").unwrap();
    let server = Server::start(|_, i| token_answer(&format!("wi-{i}"), 3600)).await;
    let cs = workload_cs(&file);
    let auth = authenticator(&cs, &server);
    assert_eq!(auth.method_name(), "workload identity");
    assert_eq!(bearer(&auth).await, "Bearer wi-0");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/wi-tenant/oauth2/v2.0/token");
    assert_eq!(request.form["grant_type"], "client_credentials");
    assert_eq!(request.form["client_id"], "wi-client");
    assert_eq!(request.form["client_assertion_type"], JWT_BEARER);
    assert_eq!(request.form["client_assertion"], "CANARY-FEDERATED-1");
    assert_eq!(
        request.form["scope"],
        "https://kusto.kusto.windows.net/.default"
    );
    assert!(!request.form.contains_key("client_secret"));

    // Cached until the refresh margin; then the rotated file is read and sent.
    auth.authorization_header(&target()).await.unwrap();
    assert_eq!(server.count("/token"), 1);
    std::fs::write(&file, "CANARY-FEDERATED-2").unwrap();
    tokio::time::advance(Duration::from_secs(3600 - 60)).await;
    assert_eq!(bearer(&auth).await, "Bearer wi-1");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].form["client_assertion"], "CANARY-FEDERATED-2");
    assert_no_canary(&format!("{auth:?} {cs:?} {cs}"));
}

#[tokio::test]
async fn unusable_token_files_are_typed_errors_that_name_the_file() {
    let server = Server::start(|_, i| token_answer(&format!("wi-{i}"), 3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, " \n").unwrap();
    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let huge = dir.path().join("huge");
    std::fs::write(&huge, vec![b'a'; 70 * 1024]).unwrap();
    for (file, what) in [
        (&missing, "No such file"),
        (&empty, "empty"),
        (&binary, "not UTF-8"),
        (&huge, "larger than"),
    ] {
        let auth = authenticator(&workload_cs(file), &server);
        let error = auth.authorization_header(&target()).await.unwrap_err();
        match &error {
            Error::Auth(e) => match &**e {
                AuthError::Provider {
                    provider,
                    transient,
                    ..
                } => {
                    assert_eq!(provider, "WorkloadIdentityCredential");
                    assert!(!transient);
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        let message = error.to_string();
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains(what), "{message}");
    }
    // None of them reached the login endpoint.
    assert_eq!(server.count("/token"), 0);
}

#[tokio::test]
async fn a_refused_assertion_is_a_typed_error_without_the_assertion() {
    // A login service that quotes the assertion back must not make it leak.
    let server = Server::start(|request, _| {
        let echoed = request.form.get("client_assertion").cloned();
        let mut answer = oauth_error(
            401,
            "invalid_client",
            &format!("AADSTS700213: no matching federated identity for {echoed:?}"),
        );
        answer.1["correlation_id"] = json!("corr-wi");
        answer
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "CANARY-FEDERATED-JWT").unwrap();
    let auth = authenticator(&workload_cs(&file), &server);
    let error = auth.authorization_header(&target()).await.unwrap_err();
    match &error {
        Error::Auth(e) => match &**e {
            AuthError::TokenRequestFailed {
                status,
                error,
                correlation_id,
                ..
            } => {
                assert_eq!(*status, 401);
                assert_eq!(error, "invalid_client");
                assert_eq!(correlation_id.as_deref(), Some("corr-wi"));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("AADSTS700213"), "{error}");
    assert_no_canary(&format!("{error} {error:?}"));
}

#[tokio::test]
async fn the_default_chain_uses_workload_identity_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "CANARY-FEDERATED-ENV").unwrap();
    let server = Server::start(|_, i| token_answer(&format!("wi-{i}"), 3600)).await;
    let cs = ConnectionString::builder(super::TARGET)
        .with_default_chain(
            DefaultChain::new()
                .with_environment([
                    ("AZURE_TENANT_ID", "env-tenant"),
                    ("AZURE_CLIENT_ID", "env-client"),
                    ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
                ])
                .without_managed_identity()
                .without_developer_tools(),
        )
        .build()
        .unwrap();
    let auth = authenticator(&cs, &server);
    assert_eq!(bearer(&auth).await, "Bearer wi-0");
    let request = &server.requests()[0];
    assert_eq!(request.path, "/env-tenant/oauth2/v2.0/token");
    assert_eq!(request.form["client_id"], "env-client");
    assert_eq!(request.form["client_assertion"], "CANARY-FEDERATED-ENV");
    assert_no_canary(&format!("{auth:?} {cs:?}"));
}
