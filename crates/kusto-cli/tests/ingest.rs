//! `kusto ingest` against the emulator and Azurite: bulk ingestion with a glob and a
//! creation-time pattern, the report, a resumed run, `--wait`, each mode, stdin, `--dry-run`,
//! Ctrl-C and the exit codes.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Env, expect_code, last_outcomes, start};

const DAYS: [&str; 4] = ["2021/01/05", "2021/02/10", "2022/03/15", "2022/04/20"];

/// 200 CSV files of 3 rows under `data/yyyy/MM/dd/`, 50 per day, and a file whose format
/// cannot be told from its name.
fn write_bulk(env: &Env) {
    for i in 0..200 {
        let day = DAYS[i % 4];
        let rows: String = (0..3).map(|n| format!("f{i},{n}\n")).collect();
        env.write(&format!("data/{day}/f{i:03}.csv"), &rows);
    }
    env.write("data/2021/01/05/notes.unknown", "f999,1\n");
}

/// Rows per extent creation day: `.show table T extents`.
async fn rows_by_creation_day(env: &Env, table: &str) -> BTreeMap<String, i64> {
    let data = env.command(&format!(".show table {table} extents")).await;
    let mut days = BTreeMap::new();
    for row in data.primary_result().unwrap().rows() {
        let created = row.get("MinCreatedOn").unwrap().to_string();
        let rows = row.get_i64("RowCount").unwrap().unwrap();
        *days.entry(created[..10].to_owned()).or_default() += rows;
    }
    days
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_glob_with_creation_time_wait_report_and_resume() {
    let env = start("Db").await;
    env.command(".create table T (Src:string, N:long)").await;
    write_bulk(&env);

    let mut args = env.ingest_args("T");
    args.extend([
        "data/**/*",
        "--creation-time-pattern",
        "{yyyy}/{MM}/{dd}",
        "--wait",
        "--timeout",
        "120s",
        "--parallelism",
        "16",
        "--report",
        "report.jsonl",
        "--progress",
        "lines",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 1); // one source failed
    assert!(
        run.stderr.contains("201 sources: 1 failed, 200 succeeded"),
        "{}",
        run.stderr
    );

    // Exactly the rows of the 200 files, each with its path's creation time.
    assert_eq!(env.count("T").await, 600);
    let days = rows_by_creation_day(&env, "T").await;
    let expected: BTreeMap<String, i64> = [
        ("2021-01-05", 150),
        ("2021-02-10", 150),
        ("2022-03-15", 150),
        ("2022-04-20", 150),
    ]
    .into_iter()
    .map(|(d, n)| (d.to_owned(), n))
    .collect();
    assert_eq!(days, expected);

    // The report: a submitted and a succeeded record per file, a failed one for the bad file.
    let records = env.report("report.jsonl");
    assert_eq!(records.len(), 401);
    let last = last_outcomes(&records);
    assert_eq!(last.len(), 201);
    let bad = &last["data/2021/01/05/notes.unknown"];
    assert_eq!(bad["outcome"], "failed");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("cannot tell the format"),
        "{bad}"
    );
    let good = &last["data/2022/04/20/f003.csv"];
    assert_eq!(good["outcome"], "succeeded", "{good}");
    assert_eq!(good["creation_time"], "2022-04-20T00:00:00Z");
    assert_eq!(good["format"], "csv");
    assert!(good["operation"].is_object(), "{good}");
    assert!(good["source_id"].is_string());
    let submitted = records
        .iter()
        .filter(|r| r["outcome"] == "submitted")
        .count();
    assert_eq!(submitted, 200);

    // A resumed run skips the 200 files the report lists and tries the bad one again.
    let mut args = env.ingest_args("T");
    args.extend([
        "data/**/*",
        "--wait",
        "--resume",
        "report.jsonl",
        "--progress",
        "none",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 1);
    assert!(
        run.stderr
            .contains("201 sources: 1 failed, 200 skipped (already in the report)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        env.count("T").await,
        600,
        "a resumed run must not double rows"
    );
    // Its records went to the same report.
    assert_eq!(env.report("report.jsonl").len(), 402);

    // With the format given, the last source goes in too; then nothing is left.
    let mut args = env.ingest_args("T");
    args.extend([
        "data/**/*",
        "--format",
        "csv",
        "--wait",
        "--resume",
        "report.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert_eq!(env.count("T").await, 601);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert!(run.stderr.contains("201 skipped"), "{}", run.stderr);
    assert_eq!(env.count("T").await, 601);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mode_stdin_and_a_bad_mapping() {
    let env = start("Db").await;
    env.command(".create table T (Src:string, N:long)").await;
    for (name, rows) in [("a.csv", 2), ("b.csv", 3)] {
        let text: String = (0..rows).map(|n| format!("{name},{n}\n")).collect();
        env.write(&format!("in/{name}"), &text);
    }

    // Streaming: each file streamed.
    let mut args = env.ingest_args("T");
    args.extend(["in", "--mode", "streaming", "--report", "streaming.jsonl"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    let last = last_outcomes(&env.report("streaming.jsonl"));
    assert_eq!(last.len(), 2);
    assert!(
        last.values().all(|r| r["outcome"] == "streamed"),
        "{last:?}"
    );
    assert_eq!(env.count("T").await, 5);

    // Managed: small files are streamed.
    let mut args = env.ingest_args("T");
    args.extend(["in", "--mode", "managed", "--report", "managed.jsonl"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    let last = last_outcomes(&env.report("managed.jsonl"));
    assert!(
        last.values().all(|r| r["outcome"] == "streamed"),
        "{last:?}"
    );
    assert_eq!(env.count("T").await, 10);

    // Managed with a property streaming cannot honour (an ingest-by tag): queued, waited for.
    let mut args = env.ingest_args("T");
    args.extend([
        "in/a.csv",
        "--mode",
        "managed",
        "--ingest-by",
        "batch-1",
        "--wait",
        "--report",
        "managed-queued.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    let records = env.report("managed-queued.jsonl");
    assert_eq!(records[0]["outcome"], "queued", "{records:?}");
    assert!(records[0]["fallback"].is_string());
    assert_eq!(records[1]["outcome"], "succeeded", "{records:?}");
    assert_eq!(env.count("T").await, 12);

    // Queued from stdin, waited for.
    let mut args = env.ingest_args("T");
    args.extend(["-", "--format", "csv", "--wait", "--report", "stdin.jsonl"]);
    let run = env.kusto(&args, Some(b"stdin,1\nstdin,2\nstdin,3\n")).await;
    expect_code(&run, 0);
    let last = last_outcomes(&env.report("stdin.jsonl"));
    assert_eq!(last["-"]["outcome"], "succeeded");
    let data = env.command("T | where Src == 'stdin' | count").await;
    let n = data
        .primary_result()
        .unwrap()
        .row(0)
        .unwrap()
        .get_i64(0)
        .unwrap();
    assert_eq!(n, Some(3));

    // Stdin needs --format: a usage error, nothing sent.
    let mut args = env.ingest_args("T");
    args.push("-");
    let run = env.kusto(&args, Some(b"x,1\n")).await;
    expect_code(&run, 2);

    // A mapping that does not exist: queued + --wait records the service's failure.
    let mut args = env.ingest_args("T");
    args.extend([
        "in/a.csv",
        "--mapping",
        "NoSuchMapping",
        "--wait",
        "--report",
        "mapping.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 1);
    let last = last_outcomes(&env.report("mapping.jsonl"));
    let record = &last["in/a.csv"];
    assert_eq!(record["outcome"], "failed", "{record}");
    assert!(
        record["error"].as_str().unwrap().contains("Mapping"),
        "{record}"
    );
    // The same in streaming mode fails at once.
    let mut args = env.ingest_args("T");
    args.extend([
        "in/a.csv",
        "--mode",
        "streaming",
        "--mapping",
        "NoSuchMapping",
        "--report",
        "mapping-streaming.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 1);
    let last = last_outcomes(&env.report("mapping-streaming.jsonl"));
    assert_eq!(last["in/a.csv"]["outcome"], "failed");
    assert_eq!(env.count("T").await, 15);

    // --wait that times out: the source is pending (exit 1), and a resumed run skips it.
    let mut args = env.ingest_args("T");
    args.extend([
        "in/b.csv",
        "--wait",
        "--timeout",
        "1ms",
        "--report",
        "pending.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 1);
    let last = last_outcomes(&env.report("pending.jsonl"));
    assert_eq!(last["in/b.csv"]["outcome"], "pending", "{last:?}");
    let mut args = env.ingest_args("T");
    args.extend(["in/b.csv", "--resume", "pending.jsonl"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert!(run.stderr.contains("1 skipped"), "{}", run.stderr);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while env.count("T").await < 18 {
        assert!(tokio::time::Instant::now() < deadline, "rows missing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.count("T").await,
        18,
        "the pending source was not sent twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_nothing_and_usage_errors_exit_2() {
    let env = start("Db").await;
    env.command(".create table T (Src:string, N:long)").await;
    env.write("d/2020/05/06/x.csv", "a,1\n");
    env.write("d/y.json", "{}\n");
    env.write("d/z.bin", "?\n");

    let mut args = env.ingest_args("T");
    args.extend([
        "d",
        "--dry-run",
        "--creation-time-pattern",
        "'d/'yyyy'/'MM'/'dd",
        "--report",
        "dry.jsonl",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 1); // z.bin would fail
    let lines: Vec<&str> = run.stdout.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        vec![
            "ingest\td/2020/05/06/x.csv\tcsv\t4\t2020-05-06T00:00:00Z",
            "ingest\td/y.json\tjson\t3\t-",
            "fail\td/z.bin\tcannot tell the format of d/z.bin from its name; give --format",
        ],
        "{}",
        run.stdout
    );
    assert_eq!(env.count("T").await, 0);
    let extents = env.command(".show table T extents").await;
    assert_eq!(extents.primary_result().unwrap().len(), 0);
    assert!(
        !env.dir.path().join("dry.jsonl").exists(),
        "a dry run writes no report"
    );

    for bad in [
        vec!["missing.csv"],
        vec!["nothing/*.csv"],
        vec!["d", "--creation-time-pattern", "{yyyy}/{QQ}"],
        vec!["d", "--format", "excel"],
        vec!["d", "--parallelism", "0"],
    ] {
        let mut args = env.ingest_args("T");
        args.extend(bad.iter().copied());
        let run = env.kusto(&args, None).await;
        expect_code(&run, 2);
    }
    // --auth app-key reads the secret from the environment; without it, a usage error that
    // names the variable.
    let mut args = env.ingest_args("T");
    args.extend([
        "d",
        "--auth",
        "app-key",
        "--client-id",
        "00000000-0000-0000-0000-000000000001",
        "--authority",
        "contoso.onmicrosoft.com",
        "--secret-env",
        "KUSTO_TEST_SECRET_THAT_IS_NOT_SET",
    ]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 2);
    assert!(run.stderr.contains("KUSTO_TEST_SECRET_THAT_IS_NOT_SET"));
    assert_eq!(env.count("T").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_and_a_resumed_run_completes() {
    let env = start("Db").await;
    env.command(".create table T (Src:string, N:long)").await;
    write_bulk(&env);
    std::fs::remove_file(env.dir.path().join("data/2021/01/05/notes.unknown")).unwrap();

    let mut args: Vec<String> = env.ingest_args("T").iter().map(|s| s.to_string()).collect();
    args.extend(
        [
            "data",
            "--parallelism",
            "1",
            "--report",
            "r.jsonl",
            "--progress",
            "none",
        ]
        .map(String::from),
    );
    let child = tokio::process::Command::new(common::KUSTO)
        .args(&args)
        .current_dir(env.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    // Wait (with a deadline) until a few sources are in the report, then press Ctrl-C.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while env.report("r.jsonl").len() < 5 {
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap();
    let records = env.report("r.jsonl");
    eprintln!(
        "the interrupted run exited with {code} after {} records",
        records.len()
    );
    // Interrupted (5) unless the run had finished already (0); every record is a submission.
    assert!(
        code == 5 || (code == 0 && records.len() == 200),
        "{code}: {stderr}"
    );
    assert!(
        records.iter().all(|r| r["outcome"] == "submitted"),
        "{records:?}"
    );
    if code == 5 {
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(stderr.contains("not started"), "{stderr}");
        assert!(records.len() < 200);
    }

    // The resumed run sends the rest; every row arrives once.
    let mut args = env.ingest_args("T");
    args.extend(["data", "--resume", "r.jsonl", "--wait"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while env.count("T").await < 600 {
        assert!(tokio::time::Instant::now() < deadline, "rows missing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give the service a last batching window, then check nothing was doubled.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.count("T").await, 600);
    assert_eq!(last_outcomes(&env.report("r.jsonl")).len(), 200);
}
