//! `kusto ingest` when queue posts get no answer: the sources are reported as `unknown` with
//! exit code 6, and `--resume` does not send them again unless their status shows they were
//! not ingested, or `--resend-unknown` is given. The emulator's storage proxy loses the answer
//! of every queue post (`Truncate`: the message reaches Azurite's queue, the answer is lost,
//! which is the ambiguous case) or drops the connection before forwarding (`Drop`: the message
//! is not queued, and the client cannot know it either).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Env, Run, expect_code, last_outcomes, start};
use kusto_emulator::{FaultAction, FaultRule};

const ACCOUNTS: [&str; 2] = ["kustoemu1", "kustoemu2"];

/// Every queue post of every storage account meets `action`.
fn fail_queue_posts(env: &Env, action: FaultAction) {
    let dm = env.emulator.data_management().unwrap();
    for account in ACCOUNTS {
        dm.storage_faults(account)
            .unwrap_or_else(|| panic!("no fault proxy for {account}"))
            .add(FaultRule::new("*/messages", action.clone()).method("POST"))
            .unwrap();
    }
}

fn clear_faults(env: &Env) {
    let dm = env.emulator.data_management().unwrap();
    for account in ACCOUNTS {
        dm.storage_faults(account).unwrap().clear();
    }
}

/// Waits until `table` has `rows` rows and the data-management service has reported every
/// source it took (so that the status entries are final).
async fn wait_for_rows(env: &Env, table: &str, rows: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let dm = env.emulator.data_management().unwrap();
    loop {
        let count = env.count(table).await;
        if count == rows && dm.pending_sources() == 0 {
            return;
        }
        assert!(count <= rows, "{table} has {count} rows, more than {rows}");
        assert!(
            Instant::now() < deadline,
            "{table} has {count} rows, not {rows}, after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Rows per source (the first column names the file).
async fn rows_by_source(env: &Env, table: &str) -> BTreeMap<String, i64> {
    let data = env
        .command(&format!("{table} | summarize n = count() by Src"))
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

/// `files` files of 2 rows under `dir/`, each row naming its file.
fn write_files(env: &Env, dir: &str, files: usize) {
    for i in 0..files {
        env.write(
            &format!("{dir}/f{i}.csv"),
            &format!("{dir}{i},1\n{dir}{i},2\n"),
        );
    }
}

fn expected(dir: &str, files: usize, each: i64) -> BTreeMap<String, i64> {
    (0..files).map(|i| (format!("{dir}{i}"), each)).collect()
}

async fn ingest(env: &Env, table: &str, extra: &[&str]) -> Run {
    let mut args = env.ingest_args(table);
    args.extend(["--protocol", "queue", "--progress", "none"]);
    args.extend(extra);
    env.kusto(&args, None).await
}

fn outcomes(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_queue_posts_are_unknown_and_resume_does_not_resend_them() {
    let env = start("Db").await;
    for table in ["TZ", "TA", "TB", "TC"] {
        env.command(&format!(".create table {table} (Src:string, N:long)"))
            .await;
    }

    // 0. Tracked (--wait), answers lost: the client finds each message taken in its status
    // entry within --resolve-within, so the sources are not unknown: they succeed, once.
    write_files(&env, "z", 2);
    fail_queue_posts(&env, FaultAction::Truncate);
    let run = ingest(&env, "TZ", &["z", "--wait", "--report", "z.jsonl"]).await;
    expect_code(&run, 0);
    let last = last_outcomes(&env.report("z.jsonl"));
    assert_eq!(last.len(), 2, "{last:#?}");
    assert!(
        last.values().all(|r| r["outcome"] == "succeeded"),
        "{last:#?}"
    );
    wait_for_rows(&env, "TZ", 4).await;
    assert_eq!(rows_by_source(&env, "TZ").await, expected("z", 2, 2));

    // A. The same with the look turned off (--resolve-within 0): unknown, exit 6; the
    // messages were queued, so the resumed run reads their status, records them as succeeded
    // and sends nothing.
    write_files(&env, "a", 3);
    let run = ingest(
        &env,
        "TA",
        &[
            "a",
            "--wait",
            "--resolve-within",
            "0",
            "--report",
            "a.jsonl",
        ],
    )
    .await;
    expect_code(&run, 6);
    assert!(run.stderr.contains("3 unknown"), "{}", run.stderr);
    assert!(run.stderr.contains("--resend-unknown"), "{}", run.stderr);
    let records = env.report("a.jsonl");
    assert_eq!(outcomes(&records), vec!["unknown"; 3], "{records:#?}");
    for record in &records {
        let error = record["error"].as_str().unwrap();
        assert!(error.contains("may or may not have been queued"), "{error}");
        assert_eq!(record["operation"]["tracking"]["kind"], "table", "{record}");
        assert!(record["source_id"].is_string());
    }
    wait_for_rows(&env, "TA", 6).await;
    clear_faults(&env);
    let run = ingest(&env, "TA", &["a", "--resume", "a.jsonl"]).await;
    expect_code(&run, 0);
    assert!(
        run.stderr.contains(
            "3 source(s) of the report had an unknown outcome: 3 settled by their status"
        ),
        "{}",
        run.stderr
    );
    let records = env.report("a.jsonl");
    assert_eq!(records.len(), 6, "{records:#?}");
    let last = last_outcomes(&records);
    assert!(
        last.values().all(|r| r["outcome"] == "succeeded"),
        "{last:#?}"
    );
    assert_eq!(rows_by_source(&env, "TA").await, expected("a", 3, 2));

    // B. Tracked, connection dropped before the queue saw the message: the status entry stays
    // Pending through --resolve-within, so the source is unknown; the resumed run cannot
    // settle it and does not send it (exit 6 again); --resend-unknown sends it, and each
    // source arrives once.
    write_files(&env, "b", 2);
    fail_queue_posts(&env, FaultAction::Drop);
    let run = ingest(
        &env,
        "TB",
        &[
            "b",
            "--wait",
            "--resolve-within",
            "2s",
            "--report",
            "b.jsonl",
        ],
    )
    .await;
    expect_code(&run, 6);
    assert_eq!(outcomes(&env.report("b.jsonl")), vec!["unknown"; 2]);
    clear_faults(&env);
    let run = ingest(&env, "TB", &["b", "--wait", "--resume", "b.jsonl"]).await;
    expect_code(&run, 6);
    assert!(
        run.stderr.contains("2 still unknown and not sent again"),
        "{}",
        run.stderr
    );
    let records = env.report("b.jsonl");
    assert_eq!(outcomes(&records), vec!["unknown"; 4], "{records:#?}");
    let error = records[3]["error"].as_str().unwrap();
    assert!(error.contains("Pending"), "{error}");
    assert!(error.contains("--resend-unknown"), "{error}");
    assert_eq!(env.count("TB").await, 0, "nothing was sent again");
    let run = ingest(
        &env,
        "TB",
        &["b", "--wait", "--resume", "b.jsonl", "--resend-unknown"],
    )
    .await;
    expect_code(&run, 0);
    assert!(
        run.stderr
            .contains("2 still unknown and sent again (--resend-unknown)"),
        "{}",
        run.stderr
    );
    let last = last_outcomes(&env.report("b.jsonl"));
    assert!(
        last.values().all(|r| r["outcome"] == "succeeded"),
        "{last:#?}"
    );
    assert_eq!(rows_by_source(&env, "TB").await, expected("b", 2, 2));

    // C. Untracked (no --wait), answers lost: no status to read, so the resumed run reports
    // them as unknown again (exit 6) and sends nothing; --resend-unknown sends them again, as
    // asked (the table then holds each source twice: that is why it is an explicit choice).
    write_files(&env, "c", 2);
    fail_queue_posts(&env, FaultAction::Truncate);
    let run = ingest(&env, "TC", &["c", "--report", "c.jsonl"]).await;
    expect_code(&run, 6);
    let records = env.report("c.jsonl");
    assert_eq!(outcomes(&records), vec!["unknown"; 2]);
    assert!(records.iter().all(|r| r.get("operation").is_none()));
    wait_for_rows(&env, "TC", 4).await;
    clear_faults(&env);
    let run = ingest(&env, "TC", &["c", "--resume", "c.jsonl"]).await;
    expect_code(&run, 6);
    let records = env.report("c.jsonl");
    assert_eq!(outcomes(&records), vec!["unknown"; 4], "{records:#?}");
    assert!(
        records[3]["error"]
            .as_str()
            .unwrap()
            .contains("no status was recorded"),
        "{}",
        records[3]
    );
    assert_eq!(rows_by_source(&env, "TC").await, expected("c", 2, 2));
    let run = ingest(
        &env,
        "TC",
        &["c", "--resume", "c.jsonl", "--resend-unknown"],
    )
    .await;
    expect_code(&run, 0);
    let last = last_outcomes(&env.report("c.jsonl"));
    assert!(
        last.values().all(|r| r["outcome"] == "submitted"),
        "{last:#?}"
    );
    wait_for_rows(&env, "TC", 8).await;
    assert_eq!(rows_by_source(&env, "TC").await, expected("c", 2, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_submissions_without_an_answer_are_unknown_and_not_resent() {
    let env = start("Db").await;
    env.command(".create table TR (Src:string, N:long)").await;
    let rest = |dir: &'static str, report: [&'static str; 2]| {
        let mut args = env.ingest_args("TR");
        args.extend([dir, "--protocol", "rest", "--progress", "none"]);
        args.extend(report);
        args
    };

    // The emulator takes the submission and answers 200, then the answer is cut: the success
    // status says the blobs were taken, so they are submitted (not unknown), once.
    write_files(&env, "t", 2);
    env.emulator
        .faults()
        .add(FaultRule::new("/v1/rest/ingestion/queued/*", FaultAction::Truncate).method("POST"))
        .unwrap();
    let run = env.kusto(&rest("t", ["--report", "t.jsonl"]), None).await;
    expect_code(&run, 0);
    assert_eq!(outcomes(&env.report("t.jsonl")), vec!["submitted"; 2]);
    wait_for_rows(&env, "TR", 4).await;
    env.emulator.faults().clear();

    // The connection is dropped without an answer: the submission may or may not have been
    // taken (here it was not), so the sources are unknown.
    write_files(&env, "r", 2);
    env.emulator
        .faults()
        .add(FaultRule::new("/v1/rest/ingestion/queued/*", FaultAction::Drop).method("POST"))
        .unwrap();
    let run = env.kusto(&rest("r", ["--report", "r.jsonl"]), None).await;
    expect_code(&run, 6);
    let records = env.report("r.jsonl");
    assert_eq!(outcomes(&records), vec!["unknown"; 2], "{records:#?}");
    for record in &records {
        let error = record["error"].as_str().unwrap();
        assert!(error.contains("/v1/rest/ingestion/queued/"), "{error}");
        assert!(
            error.contains("may or may not have been ingested"),
            "{error}"
        );
        assert!(record.get("operation").is_none(), "{record}");
    }
    env.emulator.faults().clear();

    // No operation id came back: nothing to read, nothing sent again.
    let run = env.kusto(&rest("r", ["--resume", "r.jsonl"]), None).await;
    expect_code(&run, 6);
    assert_eq!(outcomes(&env.report("r.jsonl")), vec!["unknown"; 4]);
    assert_eq!(rows_by_source(&env, "TR").await, expected("t", 2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_sources_without_an_answer_are_unknown_and_not_resent() {
    let env = start("Db").await;
    env.command(".create table TS (Src:string, N:long)").await;
    env.command(".alter table TS policy streamingingestion enable")
        .await;
    let streaming = |dir: &'static str, report: [&'static str; 2]| {
        let mut args = env.ingest_args("TS");
        args.extend([dir, "--mode", "streaming", "--progress", "none"]);
        args.extend(report);
        args
    };

    // The engine ingests the rows and answers 200, then the answer is cut: the success status
    // says the rows were committed, so the sources are streamed (not unknown), once.
    write_files(&env, "t", 2);
    env.emulator
        .faults()
        .add(FaultRule::new("/v1/rest/ingest/*", FaultAction::Truncate).method("POST"))
        .unwrap();
    let run = env
        .kusto(&streaming("t", ["--report", "t.jsonl"]), None)
        .await;
    expect_code(&run, 0);
    assert_eq!(outcomes(&env.report("t.jsonl")), vec!["streamed"; 2]);
    assert_eq!(rows_by_source(&env, "TS").await, expected("t", 2, 2));
    env.emulator.faults().clear();

    // The connection is dropped without an answer: unknown (here nothing was ingested).
    write_files(&env, "s", 2);
    env.emulator
        .faults()
        .add(FaultRule::new("/v1/rest/ingest/*", FaultAction::Drop).method("POST"))
        .unwrap();
    let run = env
        .kusto(&streaming("s", ["--report", "s.jsonl"]), None)
        .await;
    expect_code(&run, 6);
    let records = env.report("s.jsonl");
    assert_eq!(outcomes(&records), vec!["unknown"; 2], "{records:#?}");
    for record in &records {
        let error = record["error"].as_str().unwrap();
        assert!(
            error.contains("may or may not have been ingested"),
            "{error}"
        );
    }
    env.emulator.faults().clear();

    // Streaming keeps no status: nothing to read, nothing sent again.
    let run = env
        .kusto(&streaming("s", ["--resume", "s.jsonl"]), None)
        .await;
    expect_code(&run, 6);
    assert_eq!(outcomes(&env.report("s.jsonl")), vec!["unknown"; 4]);
    assert_eq!(rows_by_source(&env, "TS").await, expected("t", 2, 2));
}
