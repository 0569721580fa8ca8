//! The trusted-endpoint policy seen through `KustoClient`: configured per client, checked before
//! any request carrying a token is sent, with loopback always allowed.
//!
//! The "clusters" are host names resolved to a loopback TCP listener that counts connections and
//! closes them (so an attempted request fails with a network error after the TLS handshake
//! fails): a refused host is one the listener never hears from.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kusto_data::auth::CloudInfo;
use kusto_data::trusted_endpoints::TrustedEndpoints;
use kusto_data::{ConnectionString, Error, KustoClient, RetryPolicy};

async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
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

struct Setup {
    port: u16,
    connections: Arc<AtomicUsize>,
    http: reqwest::Client,
}

impl Setup {
    async fn new() -> Setup {
        let (address, connections) = counting_listener().await;
        let http = kusto_data::client::http_client_builder()
            .unwrap()
            .resolve("adx.contoso.internal", address)
            .resolve("mycluster.kusto.windows.net", address)
            .resolve("localhost", address)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Setup {
            port: address.port(),
            connections,
            http,
        }
    }

    /// A client for `host` with a user token, the given policy (`None`: the default), and
    /// cloud info given for the host so that the only request is the query itself.
    fn client(&self, host: &str, policy: Option<TrustedEndpoints>, login: &str) -> KustoClient {
        let authority = format!("https://{host}:{}", self.port);
        let cs = ConnectionString::builder(authority.as_str())
            .with_user_token("CANARY-TOKEN")
            .build()
            .unwrap();
        let mut builder = KustoClient::builder(cs)
            .http_client(self.http.clone())
            .retry_policy(RetryPolicy::none())
            .cloud_info(
                authority,
                CloudInfo::public_cloud().with_login_endpoint(login),
            );
        if let Some(policy) = policy {
            builder = builder.trusted_endpoints(policy);
        }
        builder.build().unwrap()
    }

    /// Runs a query and returns its error and whether the listener was contacted.
    async fn query(&self, client: &KustoClient) -> (Error, bool) {
        let before = self.connections.load(Ordering::SeqCst);
        let error = client.query("db", "T | take 1").await.unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(!text.contains("CANARY"), "the token leaked: {text}");
        (error, self.connections.load(Ordering::SeqCst) > before)
    }
}

const PUBLIC_LOGIN: &str = "https://login.microsoftonline.com";

#[tokio::test]
async fn an_unknown_host_is_refused_without_being_contacted() {
    let setup = Setup::new().await;
    let client = setup.client("adx.contoso.internal", None, PUBLIC_LOGIN);
    let (error, contacted) = setup.query(&client).await;
    assert!(!contacted, "a refused host was contacted");
    match &error {
        Error::UntrustedEndpoint {
            host,
            login_endpoint,
        } => {
            assert_eq!(host, "adx.contoso.internal");
            assert_eq!(login_endpoint, &None);
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("'adx.contoso.internal'"), "{message}");
    assert!(
        message.contains("TrustedEndpoints::allow_host"),
        "{message}"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn additional_hosts_and_override_policies_belong_to_one_client() {
    let setup = Setup::new().await;
    let host = "adx.contoso.internal";
    let default = setup.client(host, None, PUBLIC_LOGIN);
    let by_host = setup.client(
        host,
        Some(TrustedEndpoints::new().allow_host(host)),
        PUBLIC_LOGIN,
    );
    let by_suffix = setup.client(
        host,
        Some(TrustedEndpoints::new().allow_suffix(".contoso.internal")),
        PUBLIC_LOGIN,
    );
    let by_override = setup.client(
        host,
        Some(TrustedEndpoints::new().with_override_policy(|h| h == "adx.contoso.internal")),
        PUBLIC_LOGIN,
    );
    for (name, client) in [
        ("allow_host", &by_host),
        ("allow_suffix", &by_suffix),
        ("override policy", &by_override),
    ] {
        let (error, contacted) = setup.query(client).await;
        assert!(contacted, "{name}: the request was not sent");
        assert!(
            !matches!(error, Error::UntrustedEndpoint { .. }),
            "{name}: {error:?}"
        );
    }
    // The client without the rule still refuses the host: nothing is process-global.
    let (error, contacted) = setup.query(&default).await;
    assert!(!contacted);
    assert!(
        matches!(error, Error::UntrustedEndpoint { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_known_host_in_the_wrong_cloud_is_refused_and_an_override_replaces_the_list() {
    let setup = Setup::new().await;
    let host = "mycluster.kusto.windows.net";
    // The public-cloud host, in a cluster whose cloud info names the US government login.
    let wrong_cloud = setup.client(host, None, "https://login.microsoftonline.us");
    let (error, contacted) = setup.query(&wrong_cloud).await;
    assert!(!contacted);
    assert!(
        matches!(&error, Error::UntrustedEndpoint { login_endpoint: Some(l), .. }
            if l == "https://login.microsoftonline.us"),
        "{error:?}"
    );
    // In its own cloud it is trusted.
    let (error, contacted) = setup.query(&setup.client(host, None, PUBLIC_LOGIN)).await;
    assert!(contacted);
    assert!(
        !matches!(error, Error::UntrustedEndpoint { .. }),
        "{error:?}"
    );
    // An override policy that says no wins over the built-in list.
    let refusing = setup.client(
        host,
        Some(TrustedEndpoints::new().with_override_policy(|_| false)),
        PUBLIC_LOGIN,
    );
    let (error, contacted) = setup.query(&refusing).await;
    assert!(!contacted);
    assert!(
        matches!(error, Error::UntrustedEndpoint { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn loopback_is_trusted_even_by_a_policy_that_refuses_everything() {
    let setup = Setup::new().await;
    for host in ["127.0.0.1", "localhost"] {
        let client = setup.client(
            host,
            Some(TrustedEndpoints::new().with_override_policy(|_| false)),
            PUBLIC_LOGIN,
        );
        let (error, contacted) = setup.query(&client).await;
        assert!(contacted, "{host}: {error:?}");
        assert!(
            !matches!(error, Error::UntrustedEndpoint { .. }),
            "{host}: {error:?}"
        );
    }
}
