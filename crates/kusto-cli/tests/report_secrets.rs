//! The `kusto` command's files and output hold no secret (issue 28): runs of `kusto ingest`
//! (queued with `--wait`, streaming, managed; `--resume`) and `kusto query` with an application
//! key (from the environment and in the connection string), a user password and a user token,
//! against a login endpoint that issues a token (a canary too) or refuses with a description
//! repeating the request's form, with blob containers whose SAS is real or forged, a blob the
//! service cannot ingest, storage refusing uploads, and streaming requests and queue posts
//! without an answer. Every file the runs write (the reports, `--out`, anything under the
//! working directory and the home and cache directories given to them) and their standard
//! output and error are searched for every canary, verbatim, percent-encoded, JSON-escaped and
//! base64 (`tests/tests/secrets/forms.rs`, shared with the SDK's secrets suite).

mod common;

#[path = "../../../tests/tests/secrets/forms.rs"]
mod forms;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{Env, KUSTO, Run, expect_code, start};
use kusto_emulator::azurite::storage::{StorageClient, child_url};
use kusto_emulator::{FaultAction, FaultRule};
use serde_json::json;

// Characters that percent-encoding, JSON escaping and base64 all change.
const APP_KEY: &str = "CANARY+cli\\appkey/4c1d=";
const APP_KEY_ENV: &str = "CANARY+cli\"envkey/8b2e=";
const PASSWORD: &str = "CANARY+cli\\password/3f9a=";
const USER_TOKEN: &str = "CANARY-cli-usertoken-6d0e";
const ISSUED_TOKEN: &str = "CANARY-cli-issued-token-1a7c";
const FORGED_SIG: &str = "CANARY-cli-forged-sig-9e4b";

/// The cluster as the command sees it: `/v1/rest/auth/metadata` names this server as the login
/// endpoint, whose token endpoint issues [`ISSUED_TOKEN`] for the right key or password (or
/// refuses everything, repeating the request's form); every other request must carry that
/// token and is forwarded to the emulator.
struct Front {
    url: String,
    emulator: String,
    refuse: AtomicBool,
    http: reqwest::Client,
}

async fn front(State(front): State<Arc<Front>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    if path == "/v1/rest/auth/metadata" {
        return axum::Json(json!({"AzureAD": {
            "LoginEndpoint": front.url,
            "LoginMfaRequired": false,
            "KustoClientAppId": "db662dc1-0cfe-4e1c-a843-19a68e65be58",
            "KustoClientRedirectUri": "http://localhost",
            "KustoServiceResourceId": "https://kusto.kusto.windows.net",
            "FirstPartyAuthorityUrl": format!("{}/tenant-x", front.url),
        }, "dSTS": null}))
        .into_response();
    }
    if path.ends_with("/oauth2/v2.0/token") {
        return token(&front, &body);
    }
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {ISSUED_TOKEN}")) {
        return (StatusCode::UNAUTHORIZED, "the issued token is required").into_response();
    }
    let mut forwarded = front
        .http
        .request(parts.method, format!("{}{path}", front.emulator))
        .body(body);
    for (name, value) in &parts.headers {
        if ![
            header::HOST,
            header::CONTENT_LENGTH,
            header::AUTHORIZATION,
            header::ACCEPT_ENCODING,
            header::CONNECTION,
        ]
        .contains(name)
        {
            forwarded = forwarded.header(name.clone(), value.clone());
        }
    }
    let answer = match forwarded.send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let Ok(bytes) = answer.bytes().await else {
        return (StatusCode::BAD_GATEWAY, "the emulator's answer was cut").into_response();
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

fn token(front: &Front, body: &Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map_or("", String::as_str);
    let right = match field("grant_type") {
        "client_credentials" => [APP_KEY, APP_KEY_ENV].contains(&field("client_secret")),
        "password" => field("password") == PASSWORD,
        _ => false,
    };
    if front.refuse.load(Ordering::SeqCst) || !right {
        let echo = String::from_utf8_lossy(body);
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: Invalid client secret. Request: {echo}"),
            })),
        )
            .into_response();
    }
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": ISSUED_TOKEN,
    }))
    .into_response()
}

/// Starts the front of `env`'s emulator; returns it and its URL.
async fn start_front(env: &Env) -> Arc<Front> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = Arc::new(Front {
        url: format!("http://{}", listener.local_addr().unwrap()),
        emulator: env.url.clone(),
        refuse: AtomicBool::new(false),
        http: kusto_emulator::http_client_builder().build().unwrap(),
    });
    let app = axum::Router::new()
        .fallback(front)
        .with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    state
}

/// Runs `kusto` in `env`'s scratch directory with the home and cache directories inside it
/// (so that any file it writes there is searched too) and the extra environment `vars`.
async fn kusto(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let home = env.dir.path().join("home");
    let mut command = tokio::process::Command::new(KUSTO);
    command
        .args(args)
        .current_dir(env.dir.path())
        .env_remove("KUSTO_CLUSTER")
        .env_remove("KUSTO_CLIENT_SECRET")
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("TMPDIR", home.join("tmp"))
        .env("KUSTO_TOKEN_CACHE", "file")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in vars {
        command.env(name, value);
    }
    std::fs::create_dir_all(home.join("tmp")).unwrap();
    let output = tokio::time::timeout(Duration::from_secs(300), command.output())
        .await
        .unwrap_or_else(|_| panic!("kusto {args:?} did not end within 5 minutes"))
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every file under `dir` but those under `skip`.
fn files_under(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.starts_with(skip) {
            continue;
        }
        if path.is_dir() {
            files_under(&path, skip, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_reports_files_or_output_of_the_kusto_command() {
    let env = start("Db").await;
    env.command(".create table T (A:string, B:long)").await;
    let front = start_front(&env).await;
    for i in 0..3 {
        env.write(&format!("in/{i}.csv"), &format!("f{i},{i}\n"));
    }
    let table = ["--database", "Db", "--table", "T", "--progress", "none"];
    let ingest = |cluster: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "ingest".to_owned(),
            "--cluster".to_owned(),
            cluster.to_owned(),
        ];
        args.extend(table.iter().map(|s| (*s).to_owned()));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let app_key_cs = format!(
        "Data Source={};AppClientId=app-id;AppKey={APP_KEY};Authority Id=tenant-x",
        front.url
    );
    let password_cs = format!(
        "Data Source={};User ID=someone@example.com;Password={PASSWORD};Authority Id=tenant-x",
        front.url
    );
    let user_token_cs = format!("Data Source={};User Token={USER_TOKEN}", env.url);
    let app_key_env = [("KUSTO_CLIENT_SECRET", APP_KEY_ENV)];
    let mut runs: Vec<(String, Run)> = Vec::new();
    // `codes`: the exit codes expected (the first one shown when another comes).
    let mut run = async |what: &str, args: Vec<String>, vars: &[(&str, &str)], codes: &[i32]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = kusto(&env, &args, vars).await;
        if !codes.contains(&run.code) {
            expect_code(&run, codes[0]);
        }
        runs.push((what.to_owned(), run));
    };

    // Signed in with an application key (from the environment, and in the connection string)
    // and with a password: queued with --wait, streaming, managed; and queries.
    let by_env = [
        "--auth",
        "app-key",
        "--client-id",
        "app-id",
        "--authority",
        "tenant-x",
    ];
    let mut args = ingest(&front.url, &by_env);
    args.extend(["in", "--wait", "--timeout", "2m", "--report", "a.jsonl"].map(String::from));
    run("queued, key from the environment", args, &app_key_env, &[0]).await;
    let mut args = ingest(
        &app_key_cs,
        &["in", "--mode", "streaming", "--report", "b.jsonl"],
    );
    args.push("--parallelism=2".to_owned());
    run("streaming, key in the connection string", args, &[], &[0]).await;
    let args = ingest(
        &password_cs,
        &["in", "--mode", "managed", "--report", "c.jsonl"],
    );
    run("managed, password", args, &[], &[0]).await;
    let query = |cluster: &str, text: &str| -> Vec<String> {
        [
            "query",
            "--cluster",
            cluster,
            "--database",
            "Db",
            text,
            "--output",
            "jsonl",
        ]
        .map(String::from)
        .to_vec()
    };
    let mut args = query(&app_key_cs, "T | count");
    args.extend(["--out", "count.jsonl"].map(String::from));
    run("query to a file", args, &[], &[0]).await;
    run(
        "bad query",
        query(&password_cs, "T | no such operator"),
        &[],
        &[4],
    )
    .await;

    // The login endpoint refuses, repeating the request (the key or password in it).
    front.refuse.store(true, Ordering::SeqCst);
    let mut args = ingest(&front.url, &by_env);
    args.extend(["in", "--report", "d.jsonl"].map(String::from));
    run("refused key from the environment", args, &app_key_env, &[3]).await;
    let args = ingest(
        &app_key_cs,
        &["in", "--mode", "streaming", "--report", "d.jsonl"],
    );
    run("refused key in the connection string", args, &[], &[3]).await;
    let args = ingest(&password_cs, &["in", "--report", "d.jsonl"]);
    run("refused password", args, &[], &[3]).await;
    run("refused query", query(&app_key_cs, "T | count"), &[], &[3]).await;
    front.refuse.store(false, Ordering::SeqCst);

    // A blob container with a real SAS: one blob ingests, one cannot be (not Parquet); then
    // resumed (the failed one is tried again). A container with a forged SAS is refused.
    let dm = env.emulator.data_management().unwrap();
    let azurite = dm.azurite();
    let account = azurite.accounts()[0].name.clone();
    azurite.create_container(&account, "source").await.unwrap();
    let container = azurite.container_sas_url(&account, "source").unwrap();
    let container_sig = container
        .query_pairs()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let storage = StorageClient::new();
    for (name, content) in [("good.csv", "g,1\n"), ("bad.parquet", "not parquet at all")] {
        storage
            .upload_blob(
                &child_url(&container, name),
                content.as_bytes().to_vec().into(),
            )
            .await
            .unwrap();
    }
    let blob_args = [container.as_str(), "--wait", "--timeout", "2m"];
    let mut args = ingest(&user_token_cs, &blob_args);
    args.extend(["--report", "e.jsonl"].map(String::from));
    run("blobs, one failing", args, &[], &[1]).await;
    let mut args = ingest(&user_token_cs, &blob_args);
    args.extend(["--resume", "e.jsonl"].map(String::from));
    run("blobs resumed", args, &[], &[1]).await;
    let mut forged = container.clone();
    forged.set_query(Some(&format!("sv=2021-08-06&sp=rl&sig={FORGED_SIG}")));
    let args = ingest(&user_token_cs, &[forged.as_str(), "--report", "e.jsonl"]);
    run("forged SAS", args, &[], &[3]).await;

    // Storage refusing every upload; queue posts and streaming requests without an answer.
    let accounts = ["kustoemu1", "kustoemu2"];
    let refuse_all = FaultAction::Status {
        status: 403,
        code: "AuthenticationFailed".into(),
        message: "Server failed to authenticate the request.".into(),
        permanent: true,
    };
    for account in accounts {
        let faults = dm.storage_faults(account).unwrap();
        faults.add(FaultRule::new("*", refuse_all.clone())).unwrap();
    }
    let args = ingest(&user_token_cs, &["in", "--report", "f.jsonl"]);
    run("storage refusing", args, &[], &[1]).await;
    for account in accounts {
        let faults = dm.storage_faults(account).unwrap();
        faults.clear();
        faults
            .add(FaultRule::new("*/messages", FaultAction::Drop).method("POST"))
            .unwrap();
    }
    let args = ingest(&user_token_cs, &["in", "--wait", "--report", "g.jsonl"]);
    // The client may find the message in its status entry (then 0) or not (6): either way
    // its texts are searched.
    run("queue posts unanswered", args, &[], &[6, 0]).await;
    let args = ingest(&user_token_cs, &["in", "--wait", "--resume", "g.jsonl"]);
    run("queue posts unanswered, resumed", args, &[], &[6, 0]).await;
    for account in accounts {
        dm.storage_faults(account).unwrap().clear();
    }
    env.emulator
        .faults()
        .add(FaultRule::new("/v1/rest/ingest/*", FaultAction::Drop).method("POST"))
        .unwrap();
    let args = ingest(
        &user_token_cs,
        &["in", "--mode", "streaming", "--report", "h.jsonl"],
    );
    run("streaming unanswered", args, &[], &[6]).await;
    let args = ingest(
        &user_token_cs,
        &["in", "--mode", "streaming", "--resume", "h.jsonl"],
    );
    run("streaming unanswered, resumed", args, &[], &[6]).await;
    env.emulator.faults().clear();

    // What was written: the reports hold a record for every source of every run.
    let mut files = Vec::new();
    files_under(env.dir.path(), &env.dir.path().join("in"), &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(env.dir.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    for report in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        let records = env.report(&format!("{report}.jsonl"));
        assert!(records.len() >= 2, "{report}.jsonl: {records:?}");
    }
    assert!(names.contains(&"count.jsonl".to_owned()), "{names:?}");
    let e = std::fs::read_to_string(env.dir.path().join("e.jsonl")).unwrap();
    assert!(e.contains("failed") && e.contains("bad.parquet"), "{e}");
    assert!(runs.iter().any(|(_, r)| r.stderr.contains("AADSTS7000215")));

    let mut canaries: Vec<String> = [
        APP_KEY,
        APP_KEY_ENV,
        PASSWORD,
        USER_TOKEN,
        ISSUED_TOKEN,
        FORGED_SIG,
    ]
    .map(String::from)
    .to_vec();
    canaries.push(container_sig);
    for resource in dm.resources() {
        if let Some((_, sig)) = resource.url.query_pairs().find(|(k, _)| k == "sig") {
            canaries.push(sig.into_owned());
        }
    }
    for file in &files {
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
        if let Some(leak) = forms::find_leak(text.lines(), &canaries) {
            panic!("a secret is in {}: {leak}", file.display());
        }
    }
    for (what, run) in &runs {
        let texts = run.stdout.lines().chain(run.stderr.lines());
        if let Some(leak) = forms::find_leak(texts, &canaries) {
            panic!("a secret is in the output of `{what}`: {leak}");
        }
    }
}
