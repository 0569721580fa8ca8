//! Canary secrets: an application key, a user password, user and application tokens, the tokens
//! a login endpoint issues, a certificate's private key and SAS signatures (a blob source's and
//! the emulator's own storage SAS) are set, and every client is driven through success and
//! through error paths (refused login, 503, dropped connections, malformed connection strings,
//! storage accounts refusing everything, a blob that does not exist) with `tracing` captured at
//! TRACE level for every crate, HTTP stack included. No canary may appear in any log line, nor
//! in the `Display` or `Debug` of any error, client, connection string or operation: neither
//! verbatim nor percent-encoded, JSON-escaped or base64 (`secrets/forms.rs`).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::response::IntoResponse;
use kusto_data::auth::{ApplicationCertificate, CloudInfo};
use kusto_data::{ConnectionString, DataFormat, KustoClient, RetryPolicy};
use kusto_e2e::{fast_storage_retry, start_ingest};
use kusto_emulator::{FaultAction, FaultRule};
use kusto_ingest::{
    IngestProtocol, IngestionProperties, IngestionSource, ManagedStreamingIngestClient,
    QueuedIngestClient, StreamingIngestClient,
};

#[path = "secrets/forms.rs"]
mod forms;
#[path = "secrets/interactive.rs"]
mod interactive;
#[path = "secrets/panics.rs"]
mod panics;

// Characters that percent-encoding, JSON escaping and base64 all change, so that a leak in any
// of those forms differs from the verbatim secret (forms.rs searches for every form).
const APP_KEY: &str = "CANARY+app\\key/7f3a9=";
const PASSWORD: &str = "CANARY+pass\"word/91c2=";
const USER_TOKEN: &str = "CANARY-usertoken-55d1";
const APP_TOKEN: &str = "CANARY-apptoken-0b7e";
const ISSUED_TOKEN: &str = "CANARY-issued-token-c3f0";
const BLOB_SIG: &str = "CANARY-sas-signature-2d8a";

/// Everything written by `tracing` in this test binary, at TRACE level for every target.
fn log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other subscriber in this test binary");
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The certificate's private key (each base64 line of it is a canary) followed by the
/// certificate, as one PEM text.
fn private_key() -> String {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/kusto-data/src/auth/tests/"
    );
    let key = std::fs::read_to_string(format!("{dir}key.pem")).unwrap();
    let cert = std::fs::read_to_string(format!("{dir}cert.pem")).unwrap();
    format!("{key}\n{cert}")
}

/// A login endpoint: issues [`ISSUED_TOKEN`] for every grant, or refuses every request with an
/// OAuth error when `refuse`, whose description repeats the request's form as it came (the
/// secrets in it percent-encoded).
async fn login_server(refuse: bool) -> String {
    let app = axum::Router::new().fallback(move |body: String| async move {
        if refuse {
            (
                axum::http::StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "invalid_client",
                    "error_description": format!(
                        "AADSTS7000215: Invalid client secret provided. Request: {body}"
                    ),
                })),
            )
                .into_response()
        } else {
            axum::Json(serde_json::json!({
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": ISSUED_TOKEN,
            }))
            .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A client of `emulator` for `cs` whose logins go to `login`, without retries.
fn client_with_login(
    cs: ConnectionString,
    emulator: &str,
    login: &str,
) -> kusto_data::Result<KustoClient> {
    KustoClient::builder(cs)
        .cloud_info(
            emulator,
            CloudInfo::public_cloud().with_login_endpoint(login.to_owned()),
        )
        .retry_policy(RetryPolicy::none())
        .build()
}

/// Connection strings of the methods that log in (application key, user and password,
/// certificate with `key`, the PEM of [`private_key`]).
fn logging_in(data_source: &str, key: &str) -> Vec<ConnectionString> {
    vec![
        ConnectionString::builder(data_source)
            .with_application_key("app-id", APP_KEY, "tenant-x")
            .build()
            .unwrap(),
        ConnectionString::builder(data_source)
            .with_user_password("someone@example.com", PASSWORD, "tenant-x")
            .build()
            .unwrap(),
        ConnectionString::builder(data_source)
            .with_application_certificate(
                "app-id",
                ApplicationCertificate::from_pem(key.to_owned()),
                "tenant-x",
            )
            .build()
            .unwrap(),
    ]
}

/// Connection strings with a user token, an application token, and an application key parsed
/// from text.
fn with_tokens(data_source: &str) -> Vec<ConnectionString> {
    vec![
        ConnectionString::builder(data_source)
            .with_user_token(USER_TOKEN)
            .build()
            .unwrap(),
        ConnectionString::builder(data_source)
            .with_application_token(APP_TOKEN)
            .build()
            .unwrap(),
        ConnectionString::parse(&format!(
            "Data Source={data_source};AppClientId=app-id;AppKey={APP_KEY};Authority Id=tenant-x"
        ))
        .unwrap(),
    ]
}

/// Malformed connection strings that carry secrets.
fn malformed(data_source: &str) -> Vec<String> {
    vec![
        format!("Data Source={data_source};AppKey={APP_KEY};Bogus Keyword=1"),
        format!("Data Source={data_source};Password={PASSWORD};User ID=u;AppKey"),
        format!("Data Source=not a url;UserToken={USER_TOKEN}"),
        format!(
            "Data Source={data_source};ApplicationToken={APP_TOKEN};ApplicationToken={APP_TOKEN}x"
        ),
    ]
}

/// The fixed canaries and each base64 line of the private key in `key` (the certificate after
/// it is public).
fn base_canaries(key: &str) -> Vec<String> {
    let mut canaries: Vec<String> = [
        APP_KEY,
        PASSWORD,
        USER_TOKEN,
        APP_TOKEN,
        ISSUED_TOKEN,
        BLOB_SIG,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let key_lines = key.split("-----END PRIVATE KEY-----").next().unwrap();
    for line in key_lines
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
    {
        canaries.push(line.to_owned());
    }
    canaries
}

/// The SAS signatures of every storage resource the emulator hands out.
fn storage_signatures(emulator: &kusto_emulator::EmulatorHandle) -> Vec<String> {
    emulator
        .data_management()
        .unwrap()
        .resources()
        .iter()
        .filter_map(|resource| {
            let (_, sig) = resource.url.query_pairs().find(|(k, _)| k == "sig")?;
            Some(sig.into_owned())
        })
        .collect()
}

/// What the test saw: texts of errors and values to search for canaries.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn value(&mut self, what: &str, value: &(impl std::fmt::Debug + ?Sized)) {
        self.0.push(format!("{what}: {value:?}"));
    }
    fn error<E: std::fmt::Display + std::fmt::Debug>(&mut self, what: &str, error: &E) {
        self.0.push(format!("{what}: {error} / {error:?}"));
    }
    fn result<T, E: std::fmt::Display + std::fmt::Debug>(
        &mut self,
        what: &str,
        result: &Result<T, E>,
    ) -> bool {
        match result {
            Ok(_) => true,
            Err(e) => {
                self.error(what, e);
                false
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line_an_error_or_a_debug_string() {
    let log = log();
    let h = start_ingest("Secrets", true, IngestProtocol::Auto).await;
    h.client
        .mgmt("Secrets", ".create table T (A:string, B:long)")
        .await
        .unwrap();
    let emulator = h.emulator.url().to_owned();
    let login = login_server(false).await;
    let refusing_login = login_server(true).await;
    let key = private_key();
    let mut seen = Seen::default();

    let with_login = |cs: ConnectionString, login: &str| client_with_login(cs, &emulator, login);
    let data_source = format!("{emulator}/Secrets");
    let logging_in = || logging_in(&data_source, &key);
    let mut connection_strings = logging_in();
    connection_strings.extend(with_tokens(&data_source));

    let properties = IngestionProperties::new("Secrets", "T", DataFormat::Csv).with_tracking();
    for (n, cs) in connection_strings.into_iter().enumerate() {
        seen.value("connection string", &cs);
        seen.0.push(format!("connection string display: {cs}"));
        // Success paths: query, command, streaming, queued and managed ingestion.
        let client = with_login(cs.clone(), &login).unwrap();
        seen.value("client", &client);
        let query = client.query("Secrets", "T | count").await;
        assert!(seen.result("query", &query), "connection string {n}");
        let streaming = StreamingIngestClient::from_kusto_client(client.clone());
        seen.value("streaming client", &streaming);
        let streamed = streaming
            .ingest(IngestionSource::bytes(format!("s{n},1\n")), &properties)
            .await;
        assert!(seen.result("streaming", &streamed), "connection string {n}");
        let queued = QueuedIngestClient::builder_from_kusto_client(client.clone())
            .storage_retry_policy(fast_storage_retry())
            .build()
            .unwrap();
        seen.value("queued client", &queued);
        let operation = queued
            .ingest(IngestionSource::bytes(format!("q{n},1\n")), &properties)
            .await;
        assert!(seen.result("queued", &operation), "connection string {n}");
        let operation = operation.unwrap();
        seen.value("operation", &operation);
        seen.0.push(
            serde_json::to_string(&operation).unwrap_or_else(|e| format!("not serialisable: {e}")),
        );
        let status = operation.wait(Duration::from_secs(60)).await;
        seen.result("status", &status);
        seen.value("status", &status);
        let managed = ManagedStreamingIngestClient::from_clients(streaming.clone(), queued.clone());
        seen.value("managed client", &managed);
        let result = managed
            .ingest(IngestionSource::bytes(format!("m{n},1\n")), &properties)
            .await;
        seen.result("managed", &result);
        seen.value("managed result", &result);

        // Error paths of the service: 503, 401, a dropped connection, a bad command.
        for action in [
            FaultAction::Status {
                status: 503,
                code: "ServiceUnavailable".into(),
                message: "injected".into(),
                permanent: false,
            },
            FaultAction::Status {
                status: 401,
                code: "Unauthorized".into(),
                message: "injected".into(),
                permanent: true,
            },
            FaultAction::Drop,
        ] {
            let id = h
                .emulator
                .faults()
                .add(FaultRule::new("*", action))
                .unwrap();
            let query = client.query("Secrets", "T").await;
            assert!(!seen.result("query under a fault", &query));
            let streamed = streaming
                .ingest(IngestionSource::bytes("x,1\n"), &properties)
                .await;
            assert!(!seen.result("streaming under a fault", &streamed));
            let managed = managed
                .ingest(IngestionSource::bytes("x,1\n"), &properties)
                .await;
            seen.result("managed under a fault", &managed);
            h.emulator.faults().remove(id);
        }
        let bad = client.mgmt("Secrets", ".no such command").await;
        assert!(!seen.result("bad command", &bad));

        // Storage refusing everything: uploads fail on every account.
        let dm = h.emulator.data_management().unwrap();
        let mut ids = Vec::new();
        for account in ["kustoemu1", "kustoemu2"] {
            let faults = dm.storage_faults(account).unwrap();
            let id = faults
                .add(FaultRule::new(
                    "*",
                    FaultAction::Status {
                        status: 403,
                        code: "AuthenticationFailed".into(),
                        message: "Server failed to authenticate the request.".into(),
                        permanent: true,
                    },
                ))
                .unwrap();
            ids.push((faults, id));
        }
        let refused = queued
            .ingest(IngestionSource::bytes("x,1\n"), &properties)
            .await;
        assert!(!seen.result("queued with storage refusing", &refused));
        for (faults, id) in ids {
            faults.remove(id);
        }

        // A blob source whose SAS is a canary, and which does not exist.
        let mut blob = dm
            .azurite()
            .container_sas_url("kustoemu1", "nosuchcontainer")
            .unwrap();
        blob.path_segments_mut().unwrap().push("missing.csv");
        blob.set_query(Some(&format!(
            "sv=2021-08-06&se=2099-01-01&sp=r&sig={BLOB_SIG}"
        )));
        let blob = blob.to_string();
        let source = IngestionSource::blob(&blob).unwrap();
        seen.value("blob source", &source);
        let streamed = streaming.ingest(source, &properties).await;
        seen.result("streaming from a missing blob", &streamed);
        let queued_blob = queued
            .ingest(IngestionSource::blob(&blob).unwrap(), &properties)
            .await;
        if let Ok(operation) = &queued_blob {
            let status = operation.wait(Duration::from_secs(60)).await;
            seen.result("status of a missing blob", &status);
            seen.value("status of a missing blob", &status);
        }
        seen.result("queued from a missing blob", &queued_blob);
    }

    // Refused logins, for each method that logs in.
    for cs in logging_in() {
        let client = with_login(cs, &refusing_login).unwrap();
        let query = client.query("Secrets", "T").await;
        assert!(!seen.result("refused login", &query));
    }

    // Malformed connection strings that carry secrets.
    for text in malformed(&data_source) {
        let parsed = ConnectionString::parse(&text);
        match &parsed {
            Ok(cs) => {
                seen.value("parsed", cs);
                seen.0.push(cs.to_string());
            }
            Err(e) => seen.error("malformed connection string", e),
        }
    }

    // The emulator's own SAS signatures are secrets too.
    let mut canaries = base_canaries(&key);
    canaries.extend(storage_signatures(&h.emulator));
    assert!(canaries.len() > 10);

    // A control: a value logged on purpose must be found, or the capture proves nothing.
    tokio::spawn(async { tracing::trace!(target: "hyper", "control CONTROL-7c1e") })
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(
        log.contains("CONTROL-7c1e"),
        "the TRACE capture does not see events of other tasks and crates"
    );
    assert!(
        log.lines().count() > 100,
        "the TRACE log is too short to prove anything: {} lines",
        log.lines().count()
    );
    assert!(seen.0.len() > 50, "{} texts", seen.0.len());
    if let Some(leak) = forms::find_leak(log.lines(), &canaries) {
        panic!("a secret is in the log: {leak}");
    }
    if let Some(leak) = forms::find_leak(seen.0.iter().map(String::as_str), &canaries) {
        panic!("a secret is in an error or a Debug string: {leak}");
    }
}
