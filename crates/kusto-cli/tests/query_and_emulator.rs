//! `kusto query` output formats compared with the data, authentication failures (exit 3, no
//! secret printed) and `kusto emulator`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{KUSTO, env_of, expect_code, run_in, start};
use kusto_emulator::Emulator;

const DATA: &str = "plain,1,1.5,true\n\"comma, and \"\"quote\"\"\",2,,false\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_output_in_each_format() {
    let env = start("Db").await;
    env.command(".create table Q (S:string, N:long, R:real, B:bool)")
        .await;
    env.write("q.csv", DATA);
    let mut args = env.ingest_args("Q");
    args.extend(["q.csv", "--mode", "streaming"]);
    expect_code(&env.kusto(&args, None).await, 0);

    let query = |output: &'static str| {
        vec![
            "query",
            "--cluster",
            env.url.as_str(),
            "--database",
            "Db",
            "Q | order by N asc",
            "--output",
            output,
        ]
    };
    let run = env.kusto(&query("csv"), None).await;
    expect_code(&run, 0);
    assert_eq!(
        run.stdout,
        "S,N,R,B\nplain,1,1.5,true\n\"comma, and \"\"quote\"\"\",2,,false\n"
    );
    // Without --output and with stdout not a terminal: CSV too.
    let mut default_args = query("csv");
    default_args.truncate(6);
    assert_eq!(env.kusto(&default_args, None).await.stdout, run.stdout);

    let run = env.kusto(&query("jsonl"), None).await;
    expect_code(&run, 0);
    let rows: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows,
        vec![
            serde_json::json!({"S": "plain", "N": 1, "R": 1.5, "B": true}),
            serde_json::json!({"S": "comma, and \"quote\"", "N": 2, "R": null, "B": false}),
        ]
    );

    let run = env.kusto(&query("table"), None).await;
    expect_code(&run, 0);
    assert_eq!(
        run.stdout,
        concat!(
            "S                  | N | R   | B\n",
            "-------------------+---+-----+------\n",
            "plain              | 1 | 1.5 | true\n",
            "comma, and \"quote\" | 2 |     | false\n",
            "(2 rows)\n"
        )
    );

    let mut args = query("arrow");
    args.extend(["--out", "q.arrow"]);
    let run = env.kusto(&args, None).await;
    expect_code(&run, 0);
    assert!(run.stdout.is_empty());
    let file = std::fs::File::open(env.dir.path().join("q.arrow")).unwrap();
    let reader = arrow::ipc::reader::FileReader::try_new(file, None).unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let batch = &batches[0];
    assert_eq!(batch.num_rows(), 2);
    let names: Vec<_> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["S", "N", "R", "B"]);
    let s = arrow::array::cast::as_string_array(batch.column(0));
    assert_eq!(s.value(1), "comma, and \"quote\"");
    let r = batch
        .column(2)
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .unwrap();
    assert_eq!(r.value(0), 1.5);
    assert!(arrow::array::Array::is_null(r, 1));

    // A management command.
    let run = env
        .kusto(
            &[
                "query",
                "-c",
                &env.url,
                "-d",
                "Db",
                ".show tables",
                "-o",
                "csv",
            ],
            None,
        )
        .await;
    expect_code(&run, 0);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("Q,")),
        "{}",
        run.stdout
    );

    // A failing query: exit 4 with the service's message.
    let run = env
        .kusto(
            &["query", "-c", &env.url, "-d", "Db", "NoSuchTable | take 1"],
            None,
        )
        .await;
    expect_code(&run, 4);
    assert!(run.stderr.contains("NoSuchTable"), "{}", run.stderr);
}

/// Reads every record batch of a Parquet file.
fn read_parquet(path: &std::path::Path) -> Vec<arrow::record_batch::RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_output_in_parquet_to_a_file_and_stdout() {
    use arrow::array::{
        Array, BooleanArray, DurationNanosecondArray, FixedSizeBinaryArray, Float64Array,
        Int32Array, Int64Array, StringArray, TimestampNanosecondArray,
    };
    use arrow::datatypes::{DataType, TimeUnit};

    let env = start("Db").await;
    env.command(
        ".create table P (S:string, N:long, I:int, R:real, B:bool, D:datetime, T:timespan, \
         G:guid, M:decimal, Y:dynamic)",
    )
    .await;
    env.write(
        "p.csv",
        concat!(
            "plain,1,10,1.5,true,2024-03-01T12:30:00.1234567Z,01:02:03,",
            "11111111-2222-3333-4444-555555555555,12.3400,\"{\"\"a\"\":[1,2]}\"\n",
            "\"comma, and \"\"quote\"\"\",2,,,false,,,,,\n",
        ),
    );
    let mut args = env.ingest_args("P");
    args.extend(["p.csv", "--mode", "streaming"]);
    expect_code(&env.kusto(&args, None).await, 0);

    let query = [
        "query",
        "--cluster",
        env.url.as_str(),
        "--database",
        "Db",
        "P | order by N asc",
        "--output",
        "parquet",
    ];
    let mut to_file = query.to_vec();
    to_file.extend(["--out", "p.parquet"]);
    let run = env.kusto(&to_file, None).await;
    expect_code(&run, 0);
    assert!(run.stdout.is_empty());
    let from_file = read_parquet(&env.dir.path().join("p.parquet"));

    // To stdout: the same bytes' worth of data (read back from what the pipe carried).
    let output = std::process::Command::new(KUSTO)
        .args(query)
        .env_remove("KUSTO_CLUSTER")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(&output.stdout[..4], b"PAR1");
    let piped = env.dir.path().join("piped.parquet");
    std::fs::write(&piped, &output.stdout).unwrap();
    let from_stdout = read_parquet(&piped);

    for batches in [from_file, from_stdout] {
        assert_eq!(batches.len(), 1);
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), 2);
        let schema = batch.schema();
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["S", "N", "I", "R", "B", "D", "T", "G", "M", "Y"]);
        assert_eq!(
            schema.field(5).data_type(),
            &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        );
        assert_eq!(
            schema.field(6).data_type(),
            &DataType::Duration(TimeUnit::Nanosecond)
        );
        let column = |i: usize| batch.column(i).as_any();
        let s = column(0).downcast_ref::<StringArray>().unwrap();
        assert_eq!(s.value(0), "plain");
        assert_eq!(s.value(1), "comma, and \"quote\"");
        let n = column(1).downcast_ref::<Int64Array>().unwrap();
        assert_eq!((n.value(0), n.value(1)), (1, 2));
        let i = column(2).downcast_ref::<Int32Array>().unwrap();
        assert_eq!(i.value(0), 10);
        assert!(i.is_null(1));
        let r = column(3).downcast_ref::<Float64Array>().unwrap();
        assert_eq!(r.value(0), 1.5);
        assert!(r.is_null(1));
        let b = column(4).downcast_ref::<BooleanArray>().unwrap();
        assert!(b.value(0));
        assert!(!b.value(1));
        let d = column(5)
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        // 2024-03-01T12:30:00.1234567Z in nanoseconds since the Unix epoch.
        assert_eq!(d.value(0), 1_709_296_200_123_456_700);
        assert!(d.is_null(1));
        let t = column(6).downcast_ref::<DurationNanosecondArray>().unwrap();
        assert_eq!(t.value(0), 3_723_000_000_000);
        assert!(t.is_null(1));
        let g = column(7).downcast_ref::<FixedSizeBinaryArray>().unwrap();
        assert_eq!(
            g.value(0),
            [
                0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55,
                0x55, 0x55
            ]
        );
        assert!(g.is_null(1));
        let m = column(8).downcast_ref::<StringArray>().unwrap();
        assert_eq!(m.value(0), "12.3400");
        assert!(m.is_null(1));
        let y = column(9).downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(y.value(0)).unwrap(),
            serde_json::json!({"a": [1, 2]})
        );
        assert!(y.is_null(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_exit_3_and_secrets_stay_hidden() {
    let emulator = Emulator::builder()
        .database("Db")
        .require_token("the-right-token")
        .start()
        .await
        .unwrap();
    let env = env_of(emulator, "Db");
    let wrong = format!("Data Source={};Application Token=wrong-token-4711", env.url);
    let right = format!("Data Source={};Application Token=the-right-token", env.url);

    let run = env
        .kusto(&["query", "-c", &wrong, "-d", "Db", "print 1"], None)
        .await;
    expect_code(&run, 3);
    assert!(!run.stderr.contains("wrong-token-4711"), "{}", run.stderr);
    // Not even --help shows a connection string given through the environment.
    let help = std::process::Command::new(KUSTO)
        .args(["query", "--help"])
        .env("KUSTO_CLUSTER", &wrong)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("wrong-token-4711"));
    let run = env
        .kusto(&["query", "-c", &right, "-d", "Db", "print x = 1"], None)
        .await;
    expect_code(&run, 0);
    assert_eq!(run.stdout, "x\n1\n");

    // Ingestion stops at the first refused source; the connection string is shown masked.
    for i in 0..20 {
        env.write(&format!("in/{i:02}.csv"), "a,1\n");
    }
    let run = env
        .kusto(
            &[
                "ingest",
                "-c",
                &wrong,
                "-d",
                "Db",
                "-t",
                "T",
                "in",
                "--mode",
                "streaming",
                "--parallelism",
                "1",
                "--report",
                "r.jsonl",
            ],
            None,
        )
        .await;
    expect_code(&run, 3);
    assert!(
        run.stderr.contains("authentication failed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Application Token="), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-token-4711"), "{}", run.stderr);
    let report = std::fs::read_to_string(env.dir.path().join("r.jsonl")).unwrap();
    assert!(!report.contains("wrong-token-4711"));
    assert!(report.lines().count() < 20, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_command_serves_until_interrupted() {
    let mut child = std::process::Command::new(KUSTO)
        .args(["emulator", "--port", "0", "--database", "Local"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line.trim().to_owned()
    });
    let url = tokio::time::timeout(Duration::from_secs(120), url)
        .await
        .expect("the emulator prints its URL")
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.csv"), "a,1\nb,2\n").unwrap();
    let create = run_in(
        dir.path(),
        &[
            "query",
            "-c",
            &url,
            "-d",
            "Local",
            ".create table T (S:string, N:long)",
        ],
        None,
    )
    .await;
    expect_code(&create, 0);
    // Queued ingestion works: the emulator runs with Azurite.
    let ingest = run_in(
        dir.path(),
        &[
            "ingest", "-c", &url, "-d", "Local", "-t", "T", "x.csv", "--wait",
        ],
        None,
    )
    .await;
    expect_code(&ingest, 0);
    let count = run_in(
        dir.path(),
        &["query", "-c", &url, "-d", "Local", "T | count"],
        None,
    )
    .await;
    assert_eq!(count.stdout, "Count\n2\n");

    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
