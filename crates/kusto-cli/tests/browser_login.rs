//! `kusto --auth browser` end to end: the built binary signs in through a fake browser against a
//! fake authority (authorization code with PKCE, loopback redirect), queries an emulator behind
//! a front that checks the bearer token, keeps the refresh token in its cache file
//! (`--token-cache file` under a scratch HOME/XDG_CACHE_HOME) and uses it silently in the next
//! run; `kusto logout` forgets it; a corrupted cache file means a new sign-in, not a failure.

#[path = "support/fake_cloud.rs"]
mod fake_cloud;
#[path = "support/s256.rs"]
mod s256;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fake_cloud::{Browser, Cloud};

const KUSTO: &str = env!("CARGO_BIN_EXE_kusto");
const QUERY: &str = "print answer = 6 * 7";

/// A scratch home (the cache directory of the runs) and the fake browser.
struct Home {
    dir: tempfile::TempDir,
    browser: Browser,
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let browser = Browser::start(dir.path());
        Home { dir, browser }
    }

    /// `$XDG_CACHE_HOME/kusto-rs/sign-ins.json`.
    fn cache_file(&self) -> PathBuf {
        self.dir
            .path()
            .join("cache")
            .join("kusto-rs")
            .join("sign-ins.json")
    }

    /// Runs `kusto args...` with this home and no ambient cluster, browser or cache setting.
    async fn kusto(&self, args: &[&str]) -> Run {
        let mut command = tokio::process::Command::new(KUSTO);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env_remove("KUSTO_CLUSTER")
            .env_remove("KUSTO_BROWSER_COMMAND")
            .env_remove("KUSTO_TOKEN_CACHE")
            .env_remove("BROWSER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command.spawn().unwrap();
        let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kusto {args:?} did not end within 2 minutes"))
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `kusto query` of [`QUERY`] with `--auth browser` through the fake browser.
    async fn query(&self, cloud: &Cloud, token_cache: &str) -> Run {
        self.kusto(&[
            "query",
            "--cluster",
            &cloud.url,
            "--database",
            "Db",
            "--auth",
            "browser",
            "--browser-command",
            &self.browser.command,
            "--token-cache",
            token_cache,
            QUERY,
            "--output",
            "csv",
        ])
        .await
    }
}

fn expect_answer(run: &Run) {
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, "answer\n42\n", "{run:#?}");
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The cache file: owner-only, holding the latest refresh token and no other secret.
fn check_cache_file(home: &Home, cloud: &Cloud) -> serde_json::Value {
    let path = home.cache_file();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} must exist: {e}", path.display()));
    #[cfg(unix)]
    assert_eq!(mode_of(&path), 0o600, "{}", path.display());
    let record = cloud.record();
    let latest = record.refresh_tokens.last().unwrap();
    for secret in record.secrets() {
        assert_eq!(
            text.contains(&secret),
            &secret == latest,
            "the cache file holds {secret}: {text}"
        );
    }
    // No file of the home (temporary files included) holds an access token, a code or a
    // verifier.
    let others: Vec<String> = record
        .secrets()
        .into_iter()
        .filter(|s| !record.refresh_tokens.contains(s))
        .collect();
    for file in files_under(home.dir.path()) {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for secret in &others {
            assert!(
                !content.contains(secret.as_str()),
                "{} holds {secret}",
                file.display()
            );
        }
    }
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(index["version"], 1, "{text}");
    let sign_ins = index["sign_ins"].as_array().unwrap();
    assert_eq!(sign_ins.len(), 1, "{text}");
    assert_eq!(sign_ins[0]["login_endpoint"], cloud.url.as_str(), "{text}");
    assert_eq!(sign_ins[0]["refresh_token"], latest.as_str(), "{text}");
    index
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// No output of any run shows a code, verifier or token.
fn check_no_secret_printed(runs: &[&Run], cloud: &Cloud) {
    let secrets = cloud.record().secrets();
    assert!(secrets.len() >= 4, "{secrets:?}");
    for run in runs {
        for secret in &secrets {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{secret} printed: {run:#?}"
            );
        }
    }
}

#[test]
fn the_s256_helper_of_the_fake_authority_is_right() {
    s256::self_check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_once_then_silently_until_logout_or_a_corrupted_cache() {
    let cloud = Cloud::start("Db").await;
    let home = Home::new();

    // First run: the browser is opened, the code redeemed with the PKCE verifier.
    let first = home.query(&cloud, "file").await;
    expect_answer(&first);
    assert_eq!(home.browser.opened().len(), 1);
    let page = &home.browser.pages(1).await[0];
    assert!(page.contains("You can close this window"), "{page}");
    {
        let record = cloud.record();
        assert_eq!(record.grant_types(), ["authorization_code"]);
        let (tenant, query) = &record.authorizations[0];
        assert_eq!(tenant, "organizations");
        assert_eq!(query["response_type"], "code");
        assert!(query["redirect_uri"].starts_with("http://localhost:"));
        assert!(query["scope"].ends_with(" offline_access"), "{query:?}");
        assert_eq!(record.bearers, [record.access_tokens[0].clone()]);
    }
    let opened = &home.browser.opened()[0];
    assert!(
        opened.starts_with(&format!(
            "{}/organizations/oauth2/v2.0/authorize?",
            cloud.url
        )),
        "{opened}"
    );
    check_cache_file(&home, &cloud);

    // Second run, same cache: no browser; the saved refresh token is redeemed.
    let second = home.query(&cloud, "file").await;
    expect_answer(&second);
    assert_eq!(home.browser.opened().len(), 1, "{second:#?}");
    {
        let record = cloud.record();
        assert_eq!(
            record.grant_types(),
            ["authorization_code", "refresh_token"]
        );
        assert_eq!(record.grants[1]["refresh_token"], record.refresh_tokens[0]);
        assert_eq!(record.bearers.last(), record.access_tokens.get(1));
    }
    // The rotated refresh token replaced the first one.
    check_cache_file(&home, &cloud);

    // `kusto logout` removes the file; the next run signs in through the browser again.
    let logout = home.kusto(&["logout"]).await;
    assert_eq!(logout.code, 0, "{logout:#?}");
    assert!(
        logout.stderr.contains("forgot 1 saved sign-in"),
        "{logout:#?}"
    );
    assert!(!home.cache_file().exists());
    let third = home.query(&cloud, "file").await;
    expect_answer(&third);
    assert_eq!(home.browser.opened().len(), 2, "{third:#?}");
    assert_eq!(
        cloud.record().grant_types(),
        ["authorization_code", "refresh_token", "authorization_code"]
    );
    check_cache_file(&home, &cloud);

    // A corrupted cache file: reported, then a new sign-in that rewrites it.
    std::fs::write(
        home.cache_file(),
        "{\"version\":1,\"sign_ins\":[{\"login_endpo",
    )
    .unwrap();
    let fourth = home.query(&cloud, "file").await;
    expect_answer(&fourth);
    assert!(
        fourth.stderr.contains("ignoring the saved sign-ins"),
        "{fourth:#?}"
    );
    assert_eq!(home.browser.opened().len(), 3, "{fourth:#?}");
    assert_eq!(
        cloud.record().grant_types().last().map(String::as_str),
        Some("authorization_code")
    );
    check_cache_file(&home, &cloud);
    assert_eq!(home.browser.pages(3).await.len(), 3);

    // A refresh token the login service no longer honours: a new sign-in, not a failure.
    cloud.revoke_refresh_tokens();
    let fifth = home.query(&cloud, "file").await;
    expect_answer(&fifth);
    assert_eq!(home.browser.opened().len(), 4, "{fifth:#?}");
    assert_eq!(
        cloud.record().grant_types()[4..],
        ["refresh_token", "authorization_code"]
    );
    check_cache_file(&home, &cloud);

    check_no_secret_printed(&[&first, &second, &logout, &third, &fourth, &fifth], &cloud);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_consent_fails_cleanly_and_off_saves_nothing() {
    let cloud = Cloud::start("Db").await;
    let home = Home::new();

    cloud.deny_consent(true);
    let denied = home.query(&cloud, "file").await;
    assert_eq!(denied.code, 3, "{denied:#?}");
    assert!(denied.stdout.is_empty(), "{denied:#?}");
    assert!(denied.stderr.contains("access_denied"), "{denied:#?}");
    assert!(
        home.browser.pages(1).await[0].contains("The sign-in failed: access_denied"),
        "{:?}",
        home.browser.pages(1).await
    );
    assert!(cloud.record().grants.is_empty());
    assert!(!home.cache_file().exists());

    // `--token-cache off`: the sign-in works and nothing is written.
    cloud.deny_consent(false);
    let off = home.query(&cloud, "off").await;
    expect_answer(&off);
    assert_eq!(home.browser.opened().len(), 2);
    assert_eq!(cloud.record().grant_types(), ["authorization_code"]);
    assert!(!home.cache_file().exists());
    assert!(!home.cache_file().parent().unwrap().exists());
    check_no_secret_printed(&[&denied, &off], &cloud);
}
