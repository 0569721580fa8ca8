//! `kusto ingest` of blob container sources against the emulator and Azurite: the container is
//! listed (with a prefix and a pattern) and never downloaded by the client, only the matching
//! blobs are ingested, each once, the report lists them by their URLs without the SAS, a
//! resumed run skips what the report lists, and the SAS signature never shows.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Env, env_of, expect_code, last_outcomes};
use futures::StreamExt;
use kusto_emulator::azurite::Azurite;
use kusto_emulator::azurite::storage::{StorageClient, child_url};
use kusto_emulator::{DataManagementOptions, Emulator};
use url::Url;

/// An emulator over an Azurite that the test can also use, and the Azurite.
async fn start_with_azurite() -> (Env, Arc<Azurite>) {
    let azurite = Arc::new(
        Azurite::start()
            .await
            .unwrap_or_else(|e| panic!("Azurite must start (cargo xtask install-azurite): {e}")),
    );
    let emulator = Emulator::builder()
        .database("Db")
        .azurite(Arc::clone(&azurite))
        .data_management(DataManagementOptions {
            batching_window: Duration::from_millis(200),
            ..DataManagementOptions::default()
        })
        .start()
        .await
        .unwrap_or_else(|e| panic!("the emulator must start: {e}"));
    (env_of(emulator, "Db"), azurite)
}

/// A new container with a read/list SAS: its URL with the SAS.
async fn container(azurite: &Azurite, name: &str) -> Url {
    let account = azurite.accounts()[0].name.clone();
    azurite.create_container(&account, name).await.unwrap();
    azurite.container_sas_url(&account, name).unwrap()
}

/// The URL of a blob (`/`-separated name) in a container, with the container's SAS.
fn blob_url(container: &Url, name: &str) -> Url {
    name.split('/')
        .fold(container.clone(), |url, segment| child_url(&url, segment))
}

/// Uploads blobs (name, content), a few at a time.
async fn upload(container: &Url, blobs: Vec<(String, String)>) {
    let storage = StorageClient::new();
    futures::stream::iter(blobs)
        .map(|(name, content)| {
            let storage = storage.clone();
            let url = blob_url(container, &name);
            async move {
                storage
                    .upload_blob(&url, content.into_bytes().into())
                    .await
                    .unwrap_or_else(|e| panic!("upload {name}: {e}"));
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// The value of the SAS signature of a URL.
fn signature(url: &Url) -> String {
    url.query_pairs()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// The URL without its query: how the CLI names a blob.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

/// Asserts that neither the text nor its percent-encoded form holds the signature.
fn assert_no_secret(text: &str, sig: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(sig.as_bytes()).collect();
    assert!(
        !text.contains(sig) && !text.contains(&encoded),
        "the SAS signature shows in: {text}"
    );
}

/// `Src, N` rows of a table, sorted.
async fn rows(env: &Env, table: &str) -> Vec<(String, i64)> {
    let data = env
        .command(&format!("{table} | order by Src asc, N asc"))
        .await;
    data.primary_result()
        .unwrap()
        .rows()
        .map(|row| {
            (
                row.get_string(0).unwrap().unwrap().to_owned(),
                row.get_i64(1).unwrap().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_container_with_a_prefix_and_a_pattern_then_resumed() {
    let (env, azurite) = start_with_azurite().await;
    env.command(".create table T (Src:string, N:long)").await;
    let source = container(&azurite, "source").await;
    let sig = signature(&source);
    upload(
        &source,
        vec![
            ("in/a.csv".into(), "a,1\na,2\n".into()),
            ("in/b.csv".into(), "b,3\n".into()),
            ("in/sub/c.csv".into(), "c,4\n".into()),
            ("in/d.json".into(), "{\"Src\":\"d\",\"N\":5}\n".into()),
            ("other/e.csv".into(), "e,6\n".into()),
            ("inbox.csv".into(), "x,7\n".into()),
        ],
    )
    .await;
    let base = shown(&source);

    // --blob-prefix and --blob-pattern: only in/a.csv and in/b.csv.
    let mut args = env.ingest_args("T");
    args.extend([
        source.as_str(),
        "--blob-prefix",
        "in/",
        "--blob-pattern",
        "in/*.csv",
        "--wait",
        "--timeout",
        "2m",
        "--report",
        "blobs.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert_no_secret(&run.stderr, &sig);
    assert_no_secret(&run.stdout, &sig);
    assert!(
        run.stderr.contains("2 sources: 2 succeeded"),
        "{}",
        run.stderr
    );
    assert_eq!(
        rows(&env, "T").await,
        [("a".into(), 1), ("a".into(), 2), ("b".into(), 3)]
    );
    let report = std::fs::read_to_string(env.dir.path().join("blobs.jsonl")).unwrap();
    assert_no_secret(&report, &sig);
    let records = env.report("blobs.jsonl");
    let last = last_outcomes(&records);
    assert_eq!(
        last.keys().cloned().collect::<Vec<_>>(),
        [format!("{base}/in/a.csv"), format!("{base}/in/b.csv")]
    );
    for record in last.values() {
        assert_eq!(record["outcome"], "succeeded", "{record}");
        assert_eq!(record["format"], "csv", "{record}");
        assert_eq!(record["mode"], "queued", "{record}");
    }
    assert_eq!(last[&format!("{base}/in/a.csv")]["bytes"], 8);
    // Each source was submitted once, then its final status recorded.
    assert_eq!(records.len(), 4, "{records:?}");

    // Resumed with the prefix as a path after the container and no pattern: in/a.csv and
    // in/b.csv are skipped, in/sub/c.csv and in/d.json (JSON, from its name) are ingested;
    // other/e.csv and inbox.csv stay out.
    let mut with_path = blob_url(&source, "in/");
    with_path.set_query(source.query());
    let mut args = env.ingest_args("T");
    args.extend([
        with_path.as_str(),
        "--wait",
        "--timeout",
        "2m",
        "--resume",
        "blobs.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert_no_secret(&run.stderr, &sig);
    assert!(
        run.stderr
            .contains("4 sources: 2 succeeded, 2 skipped (already in the report)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        rows(&env, "T").await,
        [
            ("a".into(), 1),
            ("a".into(), 2),
            ("b".into(), 3),
            ("c".into(), 4),
            ("d".into(), 5)
        ]
    );
    let report = std::fs::read_to_string(env.dir.path().join("blobs.jsonl")).unwrap();
    assert_no_secret(&report, &sig);
    let last = last_outcomes(&env.report("blobs.jsonl"));
    assert_eq!(last.len(), 4);
    assert_eq!(last[&format!("{base}/in/d.json")]["format"], "json");
    assert!(
        last.values().all(|r| r["outcome"] == "succeeded"),
        "{last:?}"
    );

    // Streaming mode passes the blob by reference too.
    env.command(".create table S (Src:string, N:long)").await;
    let mut args = env.ingest_args("S");
    args.extend([
        source.as_str(),
        "--blob-pattern",
        "other/*",
        "--mode",
        "streaming",
        "--report",
        "streaming.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert_eq!(rows(&env, "S").await, [("e".into(), 6)]);
    let last = last_outcomes(&env.report("streaming.jsonl"));
    assert_eq!(last[&format!("{base}/other/e.csv")]["outcome"], "streamed");

    // Managed mode: a small blob is streamed by reference (its listed size is under the limit).
    let mut args = env.ingest_args("S");
    args.extend([
        source.as_str(),
        "--blob-pattern",
        "inbox.csv",
        "--mode",
        "managed",
        "--report",
        "managed.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert_no_secret(&run.stderr, &sig);
    assert_eq!(rows(&env, "S").await, [("e".into(), 6), ("x".into(), 7)]);
    let report = std::fs::read_to_string(env.dir.path().join("managed.jsonl")).unwrap();
    assert_no_secret(&report, &sig);
    let last = last_outcomes(&env.report("managed.jsonl"));
    assert_eq!(last[&format!("{base}/inbox.csv")]["outcome"], "streamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_container_is_listed_page_by_page_and_errors_hide_the_signature() {
    let (env, azurite) = start_with_azurite().await;
    env.command(".create table T (Src:string, N:long)").await;
    let source = container(&azurite, "many").await;
    let sig = signature(&source);
    // More than one page of the service's listing (5000 names per page).
    let count = 5_123;
    let blobs: Vec<(String, String)> = (0..count)
        .map(|i| (format!("part-{i:05}.csv"), format!("p,{i}\n")))
        .chain([("readme.md".to_owned(), "not data".to_owned())])
        .collect();
    upload(&source, blobs).await;
    let base = shown(&source);

    let mut args = env.ingest_args("T");
    args.extend([source.as_str(), "--blob-pattern", "*.csv", "--dry-run"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert_no_secret(&run.stdout, &sig);
    let listed: Vec<&str> = run.stdout.lines().filter(|l| !l.starts_with('#')).collect();
    let expected: Vec<String> = (0..count)
        .map(|i| {
            format!(
                "ingest\t{base}/part-{i:05}.csv\tcsv\t{}\t-",
                format!("p,{i}\n").len()
            )
        })
        .collect();
    assert_eq!(listed.len(), expected.len());
    assert_eq!(listed, expected);
    assert_eq!(env.count("T").await, 0);

    // A container with no matching blob: a usage error, nothing sent.
    let mut args = env.ingest_args("T");
    args.extend([source.as_str(), "--blob-prefix", "nothing/"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 2);
    assert!(
        run.stderr.contains("has no blob to ingest"),
        "{}",
        run.stderr
    );

    // A SAS whose signature the service refuses: an authentication failure (3) that shows
    // neither the refused signature nor the real one.
    let forged_sig = "Zm9yZ2VkLXNpZ25hdHVyZS0xMjM0NTY3ODkwYWJjZGVm";
    let mut forged = source.clone();
    let pairs: Vec<(String, String)> = source
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "sig" {
                forged_sig.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let mut args = env.ingest_args("T");
    args.extend([forged.as_str(), "--report", "forged.jsonl"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 3);
    assert!(run.stderr.contains("HTTP 403"), "{}", run.stderr);
    assert!(run.stderr.contains(&base), "{}", run.stderr);
    assert_no_secret(&run.stderr, forged_sig);
    assert_no_secret(&run.stderr, &sig);
    assert_eq!(env.count("T").await, 0);
}
