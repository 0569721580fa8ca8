//! Panics (issue 28): what a user sees when their code panics with our values in hand. The test
//! runs itself again as a child process (with `RUST_BACKTRACE=1`, output not captured), in which
//! user code calls `.unwrap()` and `.expect()` on failed results (malformed connection strings
//! with keys, passwords and tokens, refused logins, 401 and 503 answers, dropped connections,
//! storage refusing uploads, blob sources with a SAS that do not exist or are malformed,
//! certificates that are not usable keys), also inside a spawned task, and panics with the
//! `Debug` (`{:?}` and `{:#?}`) and `Display` of every value holding a secret: connection
//! strings and their builders, authentication settings, clients and their builders, the
//! authenticator, token providers, access tokens, blob sources, ingestion operations. The
//! parent searches the child's standard error (every panic message, with its backtrace) for
//! every canary in every form of `forms.rs`.

use std::fmt::Debug;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kusto_data::auth::{
    AccessToken, ApplicationCertificate, CertificateProvider, ClientSecretProvider,
    StaticTokenProvider, UserPasswordProvider,
};
use kusto_data::{ConnectionString, DataFormat, KustoClient, Secret};
use kusto_e2e::{fast_storage_retry, start_ingest};
use kusto_emulator::{Emulator, FaultAction, FaultRule};
use kusto_ingest::{
    IngestProtocol, IngestionProperties, IngestionSource, ManagedStreamingIngestClient,
    QueuedIngestClient, StreamingIngestClient,
};
use tokio::runtime::Runtime;

use super::{
    APP_KEY, APP_TOKEN, BLOB_SIG, PASSWORD, USER_TOKEN, base_canaries, client_with_login, forms,
    logging_in, login_server, malformed, private_key, storage_signatures, with_tokens,
};

/// Set in the child: the file it writes its canaries and its number of panics to.
const CHILD: &str = "KUSTO_SECRETS_PANIC_CHILD";
/// Panicked with on purpose: the parent must find it, or the capture proves nothing.
const CONTROL: &str = "CONTROL-panic-3b9d";

#[test]
fn no_secret_shows_in_a_panic() {
    match std::env::var_os(CHILD) {
        Some(out) => child(Path::new(&out)),
        None => parent(),
    }
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("child.json");
    let module = module_path!();
    let module = module.split_once("::").map_or(module, |(_, m)| m);
    let name = format!("{module}::no_secret_shows_in_a_panic");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--nocapture", "--test-threads=1"])
        .env(CHILD, &out)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            pipe.read_to_end(&mut text).unwrap();
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child process did not end within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let tail = |text: &str| {
        let tail: Vec<char> = text.chars().rev().take(3000).collect();
        tail.into_iter().rev().collect::<String>()
    };
    assert!(status.success(), "the child failed: {}", tail(&stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let canaries: Vec<String> = serde_json::from_value(report["canaries"].clone()).unwrap();
    let panics = report["panics"].as_u64().unwrap();
    assert!(canaries.len() > 10, "{} canaries", canaries.len());
    assert!(panics > 100, "{panics} panics");
    // Every panic is in the captured output, with its backtrace.
    let printed = stderr.matches("panicked at").count() as u64;
    assert_eq!(
        printed,
        panics,
        "panic messages on stderr: {}",
        tail(&stderr)
    );
    assert!(stderr.contains(CONTROL), "{}", tail(&stderr));
    assert!(stderr.contains("stack backtrace:"), "{}", tail(&stderr));
    for (what, text) in [("panic output", &stderr), ("standard output", &stdout)] {
        if let Some(leak) = forms::find_leak(text.lines(), &canaries) {
            panic!("a secret is in the child's {what}: {leak}");
        }
    }
}

/// The panics of the child, counted.
#[derive(Default)]
struct Panics(u64);

impl Panics {
    /// Runs `f`, which must panic as user code would; the default hook prints the panic.
    fn run(&mut self, what: &str, f: impl FnOnce()) {
        let result = catch_unwind(AssertUnwindSafe(f));
        assert!(result.is_err(), "{what}: did not panic");
        self.0 += 1;
    }

    /// `panic!` with the `Debug` of `value`, plain and pretty.
    fn debug(&mut self, what: &str, value: &(impl Debug + ?Sized)) {
        self.run(what, || panic!("{what}: {value:?}"));
        self.run(what, || panic!("{what}: {value:#?}"));
    }

    /// `.unwrap()` on a failed result.
    fn unwrap<T, E: Debug>(&mut self, what: &str, result: Result<T, E>) {
        assert!(result.is_err(), "{what}: succeeded");
        self.run(what, move || {
            let _value = result.unwrap();
        });
    }

    /// `.expect()` on a failed result.
    fn expect<T, E: Debug>(&mut self, what: &str, result: Result<T, E>) {
        assert!(result.is_err(), "{what}: succeeded");
        self.run(what, move || {
            let _value = result.expect(what);
        });
    }

    /// `.unwrap()` on a failed result inside a spawned task, then on the `JoinError` (which
    /// holds the task's panic message).
    fn unwrap_in_task<T: Send + 'static, E: Debug + Send + 'static>(
        &mut self,
        runtime: &Runtime,
        what: &str,
        result: Result<T, E>,
    ) {
        assert!(result.is_err(), "{what}: succeeded");
        let joined = runtime.block_on(runtime.spawn(async move {
            let _value = result.unwrap();
        }));
        self.0 += 1;
        self.unwrap(what, joined);
    }
}

fn child(out: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rt = &runtime;
    let mut p = Panics::default();
    p.run("control", || panic!("control {CONTROL}"));

    let h = rt.block_on(start_ingest("Panics", true, IngestProtocol::Auto));
    rt.block_on(async {
        h.client
            .mgmt("Panics", ".create table T (A:string, B:long)")
            .await
    })
    .unwrap();
    let emulator = h.emulator.url().to_owned();
    let (login, refusing) =
        rt.block_on(async { (login_server(false).await, login_server(true).await) });
    let key = private_key();
    let data_source = format!("{emulator}/Panics");
    let properties = IngestionProperties::new("Panics", "T", DataFormat::Csv).with_tracking();
    let mut connection_strings = logging_in(&data_source, &key);
    connection_strings.extend(with_tokens(&data_source));

    for (n, cs) in connection_strings.into_iter().enumerate() {
        p.debug("connection string", &cs);
        p.run("connection string", || panic!("connection string {cs}"));
        p.debug("authentication", cs.authentication());
        p.debug("unmasked connection string", &cs.to_unmasked_string());
        p.debug("client builder", &KustoClient::builder(cs.clone()));
        p.debug(
            "streaming builder",
            &StreamingIngestClient::builder(cs.clone()),
        );
        p.debug("queued builder", &QueuedIngestClient::builder(cs.clone()));
        p.debug(
            "managed builder",
            &ManagedStreamingIngestClient::builder(cs.clone()),
        );
        let client = client_with_login(cs.clone(), &emulator, &login).unwrap();
        p.debug("client", &client);
        p.debug("authenticator", client.authenticator());
        let target = client.cluster_url().clone();
        let token = rt.block_on(client.authenticator().token(&target));
        assert!(
            token.as_ref().is_ok_and(Option::is_some),
            "connection string {n}"
        );
        p.debug("access token", &token);
        p.debug(
            "authorization header",
            &rt.block_on(client.authenticator().authorization_header(&target)),
        );
        let streaming = StreamingIngestClient::from_kusto_client(client.clone());
        p.debug("streaming client", &streaming);
        let queued = QueuedIngestClient::builder_from_kusto_client(client.clone())
            .storage_retry_policy(fast_storage_retry())
            .build()
            .unwrap();
        p.debug("queued client", &queued);
        let managed = ManagedStreamingIngestClient::from_clients(streaming.clone(), queued.clone());
        p.debug("managed client", &managed);

        // The service failing: 503, 401, a dropped connection.
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
            p.unwrap(
                "query under a fault",
                rt.block_on(async { client.query("Panics", "T").await }),
            );
            let streamed =
                rt.block_on(streaming.ingest(IngestionSource::bytes("x,1\n"), &properties));
            p.expect("streaming under a fault", streamed);
            h.emulator.faults().remove(id);
        }

        // Storage refusing every upload.
        let dm = h.emulator.data_management().unwrap();
        let mut refusals = Vec::new();
        for account in ["kustoemu1", "kustoemu2"] {
            let faults = dm.storage_faults(account).unwrap();
            let rule = FaultRule::new(
                "*",
                FaultAction::Status {
                    status: 403,
                    code: "AuthenticationFailed".into(),
                    message: "Server failed to authenticate the request.".into(),
                    permanent: true,
                },
            );
            refusals.push((faults, faults.add(rule).unwrap()));
        }
        let refused = rt.block_on(queued.ingest(IngestionSource::bytes("x,1\n"), &properties));
        if n == 0 {
            p.unwrap_in_task(rt, "queued with storage refusing", refused);
        } else {
            p.unwrap("queued with storage refusing", refused);
        }
        for (faults, id) in refusals {
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
        p.debug("blob source", &IngestionSource::blob(&blob).unwrap());
        let streamed =
            rt.block_on(streaming.ingest(IngestionSource::blob(&blob).unwrap(), &properties));
        p.expect("streaming from a missing blob", streamed);
        let operation = rt
            .block_on(queued.ingest(IngestionSource::blob(&blob).unwrap(), &properties))
            .unwrap();
        p.debug("operation", &operation);
        let serialized = serde_json::to_string(&operation).unwrap();
        p.run("serialized operation", || panic!("{serialized}"));
        p.unwrap(
            "status of a missing blob",
            rt.block_on(operation.wait(Duration::from_secs(60))),
        );
    }

    // Refused logins.
    for (n, cs) in logging_in(&data_source, &key).into_iter().enumerate() {
        let client = client_with_login(cs, &emulator, &refusing).unwrap();
        let query = rt.block_on(async { client.query("Panics", "T").await });
        if n == 0 {
            p.unwrap_in_task(rt, "refused login", query);
        } else {
            p.expect("refused login", query);
        }
    }

    // An engine that requires another token than the one given.
    let strict = rt
        .block_on(
            Emulator::builder()
                .database("S")
                .require_token("the-right-token")
                .start(),
        )
        .unwrap();
    for cs in &with_tokens(&format!("{}/S", strict.url()))[..2] {
        let client = KustoClient::builder(cs.clone())
            .retry_policy(kusto_data::RetryPolicy::none())
            .build()
            .unwrap();
        p.unwrap(
            "wrong token",
            rt.block_on(async { client.query("S", "print 1").await }),
        );
        let streaming = StreamingIngestClient::from_kusto_client(client);
        let properties = IngestionProperties::new("S", "T", DataFormat::Csv);
        p.expect(
            "streaming with a wrong token",
            rt.block_on(streaming.ingest(IngestionSource::bytes("x,1\n"), &properties)),
        );
    }

    // Malformed connection strings, a bad data source, malformed blob URLs with a SAS.
    for text in malformed(&data_source) {
        p.unwrap(
            "malformed connection string",
            ConnectionString::parse(&text),
        );
    }
    p.unwrap(
        "bad data source",
        ConnectionString::builder("not a url")
            .with_user_password("u", PASSWORD, "t")
            .build(),
    );
    for url in [
        format!("https://acc ount.blob.core.windows.net/c/b.csv?sv=1&sig={BLOB_SIG}"),
        format!("ftp://account/c/b.csv?sv=1&sig={BLOB_SIG}"),
        format!("https://account.blob.core.windows.net/?sv=1&sig={BLOB_SIG}"),
        format!("https://account.blob.core.windows.net:99999/c/b?sig={BLOB_SIG}&sv=1"),
    ] {
        p.unwrap("malformed blob URL", IngestionSource::blob(&url));
    }

    // Token providers, tokens, certificates.
    let http = h.client.http_client().clone();
    p.debug(
        "client secret provider",
        &ClientSecretProvider::new(http.clone(), "app", APP_KEY, "t"),
    );
    p.debug(
        "password provider",
        &UserPasswordProvider::new(http.clone(), "u", PASSWORD, "t"),
    );
    let certificate = ApplicationCertificate::from_pem(key.clone());
    p.debug("certificate", &certificate);
    p.debug(
        "certificate provider",
        &CertificateProvider::new(http.clone(), "app", &certificate, "t").unwrap(),
    );
    p.debug(
        "static token provider",
        &StaticTokenProvider::new(APP_TOKEN),
    );
    p.debug("access token", &AccessToken::new(USER_TOKEN, None));
    p.debug("secret", &Secret::new(PASSWORD));
    // Keys that are not usable: a line cut, the end marker missing, the key without the
    // certificate and with a thumbprint that matches nothing.
    let body = key.split("-----END PRIVATE KEY-----").next().unwrap();
    let cut = body.replacen('\n', "\n!", 3);
    for pem in [cut, body.to_owned()] {
        let certificate = ApplicationCertificate::from_pem(format!("{pem}\n"));
        p.unwrap(
            "unusable certificate",
            CertificateProvider::new(http.clone(), "app", &certificate, "t"),
        );
    }

    let mut canaries = base_canaries(&key);
    canaries.extend(storage_signatures(&h.emulator));
    let report = serde_json::json!({ "canaries": canaries, "panics": p.0 });
    std::fs::write(out, report.to_string()).unwrap();
}
