//! The Rust side of `cargo xtask bench` (issue 15): one workload per process against an
//! emulator that `xtask` started, so that each client's time and memory are its own.
//!
//! ```text
//! bench_client generate --dir DIR [--b2-files 500] [--b2-kb 100] [--b3-mb 1024]
//!                       [--b5-requests 1000] [--b5-kb 10]
//! bench_client mgmt  --url URL --database DB COMMAND
//! bench_client count --url URL --database DB --table T --expect N [--timeout-s 900]
//! bench_client run   WORKLOAD --url URL --database DB --table T --data DIR [--rows N]
//!                    [--level 3] [--concurrency 8]
//! bench_client limit WORKLOAD (same options)
//! bench_client report --results FILE
//! ```
//!
//! `run` and `limit` print, as their last line, one JSON object: `client` (`rust` or `limit`),
//! `workload`, `seconds` (the timed region), `rss_before_mb`, `peak_rss_mb`, `added_mb` and
//! `details`. The Python side (`tools/bench/python_client.py`) prints the same object. The
//! timed region starts before the client is created and ends when its last call returns.
//!
//! | workload | `run` (this SDK) | `limit` (the bound measured in the same run) |
//! |---|---|---|
//! | B1 | `ingest_from_dataframe` of the generated frame (JSON lines, gzip `--level`), queued | the same encoding into gzip at the same level, one thread, no I/O |
//! | B2 | `ingest_many` of every file in `DIR/b2`, `--concurrency` at a time, queued | each file `Put Blob` as it is and its queue message posted, same concurrency |
//! | B3 | `ingest` of `DIR/b3.csv`, queued | gzip of the file alone at the same level, one thread |
//! | B4 | the table queried to Arrow batches, then to a Polars frame | a `serde_json` scan (`IgnoredAny`) of the same response body |
//! | B5 | `StreamingIngestClient::ingest` of each payload in `DIR/b5`, one at a time | a plain `reqwest` POST of each payload, gzipped in the loop at the same level |
//!
//! Queued ingestion uses the storage-queue protocol, as the Python SDK 6.0.4 does.
//!
//! `report` also reads B6's entries (`cargo xtask bench` runs B3 and B2 through an emulator
//! behind a shaped link; the entries carry `link` and `link_bits`): B6a is B3 over a link, its
//! limit the larger of the gzip alone and the compressed bytes at the link's speed; B6b is B2
//! over a link, its limit the raw uploads through the same link.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures::StreamExt;
use kusto_bench::{
    CountingSink, XorShift, gzip, gzip_file, memory, mib, reset_peak, write_csv_rows,
};
use kusto_data::response::ArrowOptions;
use kusto_data::{ConnectionString, DataFormat, KustoClient};
use kusto_ingest::{
    IngestProtocol, IngestionProperties, IngestionSource, QueuedIngestClient,
    StreamingIngestClient, UploadOptions,
};
use kusto_ingest_polars::{
    FrameFormat, FrameOptions, IngestFromDataFrame, ResultOptions, query_dataframe, write_frame,
};
use serde_json::{Value, json};

type BoxResult<T> = Result<T, Box<dyn Error>>;

/// `--name value` options after the subcommand (and the workload, if any).
struct Args {
    positional: Vec<String>,
    named: BTreeMap<String, String>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> BoxResult<Args> {
        let mut positional = Vec::new();
        let mut named = BTreeMap::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let value = args.next().ok_or(format!("--{name} needs a value"))?;
                named.insert(name.to_owned(), value);
            } else {
                positional.push(arg);
            }
        }
        Ok(Args { positional, named })
    }

    fn get(&self, name: &str) -> BoxResult<&str> {
        self.named
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> BoxResult<T> {
        match self.named.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: {v:?} is not a number").into()),
        }
    }
}

/// What every `run` and `limit` needs.
struct Job {
    workload: String,
    url: String,
    database: String,
    table: String,
    data: PathBuf,
    rows: usize,
    level: u32,
    concurrency: usize,
}

impl Job {
    fn from_args(args: &Args) -> BoxResult<Job> {
        Ok(Job {
            workload: args
                .positional
                .get(1)
                .ok_or("a workload (B1 to B5) is required")?
                .to_ascii_uppercase(),
            url: args.get("url")?.trim_end_matches('/').to_owned(),
            database: args.get("database")?.to_owned(),
            table: args.get("table")?.to_owned(),
            data: PathBuf::from(args.named.get("data").map_or(".", String::as_str)),
            rows: args.number("rows", 1_000_000)?,
            level: args.number(
                "level",
                kusto_ingest::UploadOptions::default().compression_level,
            )?,
            concurrency: args.number("concurrency", 8)?,
        })
    }

    fn client(&self) -> BoxResult<KustoClient> {
        Ok(KustoClient::new(ConnectionString::parse(&self.url)?)?)
    }

    fn queued(&self) -> BoxResult<QueuedIngestClient> {
        Ok(
            QueuedIngestClient::builder_from_kusto_client(self.client()?)
                .protocol(IngestProtocol::Queue)
                .upload_options(UploadOptions::default().with_compression_level(self.level))
                .build()?,
        )
    }

    fn properties(&self, format: DataFormat) -> IngestionProperties {
        IngestionProperties::new(&self.database, &self.table, format)
    }
}

/// The timed region's figures.
struct Measured {
    seconds: f64,
    rss_before: u64,
    peak: u64,
}

/// Starts the clock and the memory watch.
struct Watch {
    started: Instant,
    rss_before: u64,
}

impl Watch {
    fn start() -> Watch {
        let (rss_before, _) = memory();
        reset_peak();
        Watch {
            started: Instant::now(),
            rss_before,
        }
    }

    fn stop(self) -> Measured {
        let seconds = self.started.elapsed().as_secs_f64();
        let (_, peak) = memory();
        Measured {
            seconds,
            rss_before: self.rss_before,
            peak,
        }
    }
}

fn result_line(client: &str, job: &Job, measured: &Measured, details: Value) -> String {
    json!({
        "client": client,
        "workload": job.workload,
        "seconds": measured.seconds,
        "rss_before_mb": mib(measured.rss_before),
        "peak_rss_mb": mib(measured.peak),
        "added_mb": mib(measured.peak.saturating_sub(measured.rss_before)),
        "details": details,
    })
    .to_string()
}

/// The files of a directory with the given extension, sorted by name.
fn files_in(dir: &Path, extension: &str) -> BoxResult<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no .{extension} files in {}", dir.display()).into());
    }
    Ok(files)
}

fn read_all(files: &[PathBuf]) -> BoxResult<Vec<Bytes>> {
    files
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(Bytes::from)
                .map_err(|e| format!("{}: {e}", p.display()).into())
        })
        .collect()
}

#[tokio::main]
async fn main() -> ExitCode {
    match dispatch().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch() -> BoxResult<()> {
    let args = Args::parse(std::env::args().skip(1))?;
    match args.positional.first().map(String::as_str) {
        Some("generate") => generate(&args),
        Some("mgmt") => mgmt(&args).await,
        Some("count") => count(&args).await,
        Some("run") => {
            let job = Job::from_args(&args)?;
            println!("{}", run(&job).await?);
            Ok(())
        }
        Some("limit") => {
            let job = Job::from_args(&args)?;
            println!("{}", limit(&job).await?);
            Ok(())
        }
        Some("report") => report(Path::new(args.get("results")?)),
        _ => Err("usage: bench_client generate|mgmt|count|run|limit|report ... (see the source's header)".into()),
    }
}

/// Writes the input files and prints how many rows each workload holds (`name=value` lines).
fn generate(args: &Args) -> BoxResult<()> {
    let dir = PathBuf::from(args.get("dir")?);
    let b2_files: usize = args.number("b2-files", 500)?;
    let b2_kb: u64 = args.number("b2-kb", 100)?;
    let b3_mb: u64 = args.number("b3-mb", 1024)?;
    let b5_requests: usize = args.number("b5-requests", 1000)?;
    let b5_kb: usize = args.number("b5-kb", 10)?;
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["b2", "b5"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let mut random = XorShift::default();
    let mut b2_rows = 0;
    let mut b2_bytes = 0;
    for i in 0..b2_files {
        let mut out = Vec::with_capacity((b2_kb as usize + 1) << 10);
        let (bytes, rows) = write_csv_rows(&mut out, b2_kb << 10, b2_rows, &mut random)?;
        std::fs::write(dir.join("b2").join(format!("{i:05}.csv")), out)?;
        b2_rows += rows;
        b2_bytes += bytes;
    }
    let b3_rows = kusto_bench::write_csv_file(&dir.join("b3.csv"), b3_mb << 20)?;
    let mut b5_rows = 0;
    for i in 0..b5_requests {
        let text = kusto_bench::payload(i, b5_kb << 10);
        b5_rows += text.lines().count() as u64;
        std::fs::write(dir.join("b5").join(format!("{i:05}.csv")), text)?;
    }
    println!("b2_rows={b2_rows}");
    println!("b2_bytes={b2_bytes}");
    println!("b3_rows={b3_rows}");
    println!("b3_bytes={}", b3_mb << 20);
    println!("b5_rows={b5_rows}");
    Ok(())
}

async fn mgmt(args: &Args) -> BoxResult<()> {
    let client = KustoClient::new(ConnectionString::parse(args.get("url")?)?)?;
    let command = args.positional.get(1).ok_or("a command is required")?;
    client.mgmt(args.get("database")?, command).await?;
    Ok(())
}

async fn table_count(client: &KustoClient, database: &str, table: &str) -> BoxResult<i64> {
    let result = client.query(database, &format!("{table} | count")).await?;
    let table = result.primary_result().ok_or("a count without a table")?;
    Ok(table
        .row(0)
        .and_then(|r| r.get_i64(0).ok().flatten())
        .unwrap_or(0))
}

/// Waits until the table holds `--expect` rows, then checks that no more arrive: a lost or
/// doubled row fails the benchmark.
async fn count(args: &Args) -> BoxResult<()> {
    let client = KustoClient::new(ConnectionString::parse(args.get("url")?)?)?;
    let database = args.get("database")?;
    let table = args.get("table")?;
    let expect: i64 = args.number("expect", -1)?;
    let deadline = Instant::now() + Duration::from_secs(args.number("timeout-s", 900)?);
    let mut rows = table_count(&client, database, table).await?;
    while rows < expect && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rows = table_count(&client, database, table).await?;
    }
    if rows == expect {
        // Anything sent twice would land in a later batch.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        rows = table_count(&client, database, table).await?;
    }
    if rows != expect {
        let failures = client.mgmt(database, ".show ingestion failures").await?;
        if let Some(failures) = failures.primary_result() {
            eprintln!("{}", kusto_examples::render(failures));
        }
        return Err(format!("{table}: {rows} rows, {expect} expected").into());
    }
    println!("{table}: {rows} rows, as expected");
    Ok(())
}

async fn run(job: &Job) -> BoxResult<String> {
    match job.workload.as_str() {
        "B1" => {
            let frame = kusto_bench::frame(job.rows)?;
            let options = FrameOptions::new();
            let properties = job.properties(DataFormat::Json);
            let watch = Watch::start();
            job.queued()?
                .ingest_from_dataframe(&frame, &properties, &options)
                .await?;
            let measured = watch.stop();
            Ok(result_line(
                "rust",
                job,
                &measured,
                json!({"rows": job.rows, "format": "json", "gzip_level": job.level}),
            ))
        }
        "B2" => {
            let files = files_in(&job.data.join("b2"), "csv")?;
            let count = files.len();
            let bytes: u64 = files
                .iter()
                .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
                .sum();
            let properties = job.properties(DataFormat::Csv);
            let watch = Watch::start();
            let ingest = job.queued()?;
            let sources = futures::stream::iter(files.into_iter().map(IngestionSource::file));
            let mut outcomes = ingest
                .ingest_many(sources, properties, job.concurrency)
                .await?;
            let mut done = 0;
            while let Some(outcome) = outcomes.next().await {
                outcome.result?;
                done += 1;
            }
            let measured = watch.stop();
            if done != count {
                return Err(format!("{done} of {count} files ingested").into());
            }
            Ok(result_line(
                "rust",
                job,
                &measured,
                json!({"files": count, "bytes": bytes, "concurrency": job.concurrency,
                       "gzip_level": job.level}),
            ))
        }
        "B3" => {
            let path = job.data.join("b3.csv");
            let bytes = std::fs::metadata(&path)?.len();
            let properties = job.properties(DataFormat::Csv);
            let watch = Watch::start();
            job.queued()?
                .ingest(IngestionSource::file(&path), &properties)
                .await?;
            let measured = watch.stop();
            Ok(result_line(
                "rust",
                job,
                &measured,
                json!({"bytes": bytes, "gzip_level": job.level}),
            ))
        }
        "B4" => {
            let query = format!("set notruncation; {}", job.table);
            let watch = Watch::start();
            let client = job.client()?;
            let started = Instant::now();
            let mut batches = client
                .query(&job.database, &query)
                .arrow(ArrowOptions::default())
                .await?;
            let mut arrow_rows = 0;
            while let Some(batch) = batches.next().await {
                arrow_rows += batch?.batch.num_rows();
            }
            let arrow_seconds = started.elapsed().as_secs_f64();
            let started = Instant::now();
            let frame =
                query_dataframe(&client, &job.database, &query, &ResultOptions::new()).await?;
            let frame_seconds = started.elapsed().as_secs_f64();
            let mut measured = watch.stop();
            // The figure compared with Python's query + frame: the query to a Polars frame.
            measured.seconds = frame_seconds;
            if arrow_rows != job.rows || frame.height() != job.rows {
                return Err(format!(
                    "{} rows to Arrow and {} to Polars, {} expected",
                    arrow_rows,
                    frame.height(),
                    job.rows
                )
                .into());
            }
            Ok(result_line(
                "rust",
                job,
                &measured,
                json!({"rows": frame.height(), "columns": frame.width(),
                       "arrow_seconds": arrow_seconds, "polars_seconds": frame_seconds}),
            ))
        }
        "B5" => {
            let files = files_in(&job.data.join("b5"), "csv")?;
            let payloads = read_all(&files)?;
            let bytes: usize = payloads.iter().map(Bytes::len).sum();
            let properties = job.properties(DataFormat::Csv);
            let watch = Watch::start();
            let streaming = StreamingIngestClient::from_kusto_client(job.client()?);
            for payload in &payloads {
                streaming
                    .ingest(IngestionSource::bytes(payload.clone()), &properties)
                    .await?;
            }
            let measured = watch.stop();
            Ok(result_line(
                "rust",
                job,
                &measured,
                json!({"requests": payloads.len(), "bytes": bytes, "gzip_level": job.level}),
            ))
        }
        other => Err(format!("unknown workload {other}").into()),
    }
}

async fn limit(job: &Job) -> BoxResult<String> {
    match job.workload.as_str() {
        "B1" => {
            let frame = kusto_bench::frame(job.rows)?;
            let options = FrameOptions::new();
            let watch = Watch::start();
            let mut encoder =
                flate2::write::GzEncoder::new(CountingSink(0), flate2::Compression::new(job.level));
            write_frame(&frame, FrameFormat::Json, &options, &mut encoder)?;
            let sent = encoder.finish()?.0;
            let measured = watch.stop();
            Ok(result_line(
                "limit",
                job,
                &measured,
                json!({"what": "JSON lines + gzip of the frame, one thread",
                       "gzip_level": job.level, "compressed_bytes": sent}),
            ))
        }
        "B2" => raw_uploads(job).await,
        "B3" => {
            let path = job.data.join("b3.csv");
            let watch = Watch::start();
            let (_, compressed) = gzip_file(&path, job.level)?;
            let measured = watch.stop();
            Ok(result_line(
                "limit",
                job,
                &measured,
                json!({"what": "gzip of the file alone, one thread", "gzip_level": job.level,
                       "compressed_bytes": compressed}),
            ))
        }
        "B4" => {
            // The same request as the clients' (which ask for gzip), then once more without
            // compression: the time the service takes to produce and send the body, which no
            // client can beat, next to the scan of the bytes.
            let http = kusto_emulator::http_client_builder().build()?;
            let fetch = |encoding: Option<&'static str>| {
                let mut request = http
                    .post(format!("{}/v2/rest/query", job.url))
                    .header("content-type", "application/json")
                    .body(
                        json!({"db": job.database,
                               "csl": format!("set notruncation; {}", job.table)})
                        .to_string(),
                    );
                if let Some(encoding) = encoding {
                    request = request.header("accept-encoding", encoding);
                }
                async move {
                    let started = Instant::now();
                    let body = request.send().await?.error_for_status()?.bytes().await?;
                    Ok::<_, reqwest::Error>((body, started.elapsed().as_secs_f64()))
                }
            };
            let (body, download_gzip) = fetch(None).await?;
            let (_, download_identity) = fetch(Some("identity")).await?;
            let watch = Watch::start();
            serde_json::from_slice::<serde::de::IgnoredAny>(&body)?;
            let measured = watch.stop();
            Ok(result_line(
                "limit",
                job,
                &measured,
                json!({"what": "serde_json IgnoredAny scan of the response body",
                       "body_bytes": body.len(),
                       "download_gzip_seconds": download_gzip,
                       "download_identity_seconds": download_identity}),
            ))
        }
        "B5" => {
            let files = files_in(&job.data.join("b5"), "csv")?;
            let payloads = read_all(&files)?;
            let http = kusto_emulator::http_client_builder().build()?;
            let url = format!(
                "{}/v1/rest/ingest/{}/{}?streamFormat=csv",
                job.url, job.database, job.table
            );
            let watch = Watch::start();
            for payload in &payloads {
                let body = gzip(payload, job.level)?;
                let response = http
                    .post(&url)
                    .header("content-encoding", "gzip")
                    .header("content-type", "application/octet-stream")
                    .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
                    .body(body)
                    .send()
                    .await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if !status.is_success() {
                    return Err(format!("raw POST answered {status}").into());
                }
            }
            let measured = watch.stop();
            Ok(result_line(
                "limit",
                job,
                &measured,
                json!({"what": "reqwest POST of each payload, gzipped in the loop",
                       "requests": payloads.len(), "gzip_level": job.level}),
            ))
        }
        other => Err(format!("unknown workload {other}").into()),
    }
}

/// The SAS URLs of `.get ingestion resources` that the raw uploads use.
struct Resources {
    containers: Vec<reqwest::Url>,
    ready_queues: Vec<reqwest::Url>,
}

async fn ingestion_resources(dm: &kusto_ingest::KustoClient) -> BoxResult<Resources> {
    let data = dm.mgmt("NetDefaultDB", ".get ingestion resources").await?;
    let mut resources = Resources {
        containers: Vec::new(),
        ready_queues: Vec::new(),
    };
    for row in data.primary_result().ok_or("no resources")?.rows() {
        let kind = row.get_string("ResourceTypeName")?.unwrap_or_default();
        let root = row.get_string("StorageRoot")?.unwrap_or_default();
        match kind {
            "TempStorage" => resources.containers.push(reqwest::Url::parse(root)?),
            "SecuredReadyForAggregationQueue" => {
                resources.ready_queues.push(reqwest::Url::parse(root)?)
            }
            _ => {}
        }
    }
    Ok(resources)
}

/// B2's bound: each file read, uploaded with one `Put Blob` as it is (no compression) and its
/// ingestion message posted to a queue, `--concurrency` files at a time, round robin over the
/// containers and queues the service hands out. The messages are real, so the rows land and
/// are counted like the SDK's.
async fn raw_uploads(job: &Job) -> BoxResult<String> {
    let files = files_in(&job.data.join("b2"), "csv")?;
    let ingest = job.queued()?;
    let resources = ingestion_resources(ingest.kusto_client()).await?;
    let token_table = ingest
        .kusto_client()
        .mgmt("NetDefaultDB", ".get kusto identity token")
        .await?;
    let token = token_table
        .primary_result()
        .and_then(|t| t.row(0))
        .and_then(|r| r.get_string("AuthorizationContext").ok().flatten())
        .ok_or("no identity token")?
        .to_owned();
    if resources.containers.is_empty() || resources.ready_queues.is_empty() {
        return Err("the service handed out no containers or queues".into());
    }
    let http = kusto_emulator::http_client_builder().build()?;
    let count = files.len();
    let watch = Watch::start();
    let results: Vec<BoxResult<()>> = futures::stream::iter(files.into_iter().enumerate())
        .map(|(i, path)| {
            let mut blob = resources.containers[i % resources.containers.len()].clone();
            let mut queue = resources.ready_queues[i % resources.ready_queues.len()].clone();
            let http = http.clone();
            let token = token.clone();
            async move {
                let data = tokio::fs::read(&path).await?;
                let size = data.len();
                let name = format!("{}.csv", uuid::Uuid::new_v4());
                blob.path_segments_mut()
                    .map_err(|_| "a container URL without a path")?
                    .push(&name);
                let put = http
                    .put(blob.clone())
                    .header("x-ms-blob-type", "BlockBlob")
                    .header("x-ms-version", "2021-12-02")
                    .body(data)
                    .send()
                    .await?;
                if !put.status().is_success() {
                    return Err(format!("Put Blob answered {}", put.status()).into());
                }
                let message = json!({
                    "Id": uuid::Uuid::new_v4(),
                    "BlobPath": blob.as_str(),
                    "RawDataSize": size,
                    "DatabaseName": job.database,
                    "TableName": job.table,
                    "RetainBlobOnSuccess": true,
                    "FlushImmediately": false,
                    "ReportLevel": 0,
                    "ReportMethod": 0,
                    "AdditionalProperties": {"authorizationContext": token, "format": "csv"},
                });
                let text = base64::engine::general_purpose::STANDARD.encode(message.to_string());
                queue
                    .path_segments_mut()
                    .map_err(|_| "a queue URL without a path")?
                    .push("messages");
                let post = http
                    .post(queue)
                    .header("x-ms-version", "2021-12-02")
                    .body(format!(
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>{text}</MessageText></QueueMessage>"
                    ))
                    .send()
                    .await?;
                if !post.status().is_success() {
                    return Err(format!("Put Message answered {}", post.status()).into());
                }
                Ok(())
            }
        })
        .buffer_unordered(job.concurrency.max(1))
        .collect()
        .await;
    let measured = watch.stop();
    for result in results {
        result?;
    }
    Ok(result_line(
        "limit",
        job,
        &measured,
        json!({"what": "Put Blob of each file as it is + its queue message",
               "files": count, "concurrency": job.concurrency}),
    ))
}

/// One run's result as `xtask` recorded it: `{"pair": N, "result": {...}}`.
struct Entry {
    pair: u64,
    client: String,
    workload: String,
    seconds: f64,
    peak_mb: f64,
    added_mb: f64,
    details: Value,
    /// B6: the shaped link the run went through, and its bits per second.
    link: Option<String>,
    link_bits: Option<f64>,
}

impl Entry {
    /// The time a limit entry stands for: B6a's is the larger of the gzip alone and the
    /// compressed bytes at the link's speed.
    fn limit_seconds(&self) -> f64 {
        match (self.workload.as_str(), self.link_bits) {
            ("B3", Some(_)) => self.seconds.max(self.wire_seconds()),
            _ => self.seconds,
        }
    }

    /// B6a: the compressed bytes at the link's speed.
    fn wire_seconds(&self) -> f64 {
        let bytes = self.details["compressed_bytes"]
            .as_f64()
            .unwrap_or(f64::NAN);
        bytes * 8.0 / self.link_bits.unwrap_or(f64::NAN)
    }
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn spread(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.is_empty() {
        "-".into()
    } else {
        format!("{min:.2}–{max:.2}")
    }
}

/// Prints the markdown table of a results file: per workload, the medians of each client, the
/// Python/Rust time ratio pair by pair (median and spread), and the Rust figure against the
/// limit.
fn report(path: &Path) -> BoxResult<()> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value = serde_json::from_str(line)?;
        let result = &value["result"];
        entries.push(Entry {
            pair: value["pair"].as_u64().unwrap_or(0),
            client: result["client"].as_str().unwrap_or("?").to_owned(),
            workload: result["workload"].as_str().unwrap_or("?").to_owned(),
            seconds: result["seconds"].as_f64().unwrap_or(f64::NAN),
            peak_mb: result["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
            added_mb: result["added_mb"].as_f64().unwrap_or(f64::NAN),
            details: result["details"].clone(),
            link: value["link"].as_str().map(str::to_owned),
            link_bits: value["link_bits"].as_f64(),
        });
    }
    println!(
        "| id | Python s (median) | Rust s (median) | Python / Rust, pair by pair: median (spread) | \
         Python peak RSS MB | Rust peak RSS MB | Rust added MB | limit s (median) | Rust / limit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // B1 to B5 in order, then B6's rows (B3 and B2 over each link) in the order they ran.
    let mut keys: Vec<(&str, Option<&str>)> = entries
        .iter()
        .filter(|e| e.link.is_none())
        .map(|e| (e.workload.as_str(), None))
        .collect();
    keys.sort();
    for e in &entries {
        if let Some(link) = &e.link {
            keys.push((e.workload.as_str(), Some(link.as_str())));
        }
    }
    let mut seen = Vec::new();
    keys.retain(|k| {
        let new = !seen.contains(k);
        seen.push(*k);
        new
    });
    let mut wire_lines = Vec::new();
    for (workload, link) in keys {
        let of = |client: &str| -> Vec<&Entry> {
            entries
                .iter()
                .filter(|e| {
                    e.workload == workload && e.link.as_deref() == link && e.client == client
                })
                .collect()
        };
        let label = match (link, workload) {
            (None, _) => workload.to_owned(),
            (Some(link), "B3") => format!("B6a (B3 over {link})"),
            (Some(link), _) => format!("B6b ({workload} over {link})"),
        };
        let (python, rust, limit) = (of("python"), of("rust"), of("limit"));
        let field = |list: &[&Entry], f: fn(&Entry) -> f64| -> f64 {
            median(&mut list.iter().map(|e| f(e)).collect::<Vec<_>>())
        };
        let ratios: Vec<f64> = rust
            .iter()
            .filter_map(|r| {
                python
                    .iter()
                    .find(|p| p.pair == r.pair)
                    .map(|p| p.seconds / r.seconds)
            })
            .collect();
        let rust_limit = if workload == "B4" {
            // The Arrow path against the bare scan.
            median(
                &mut rust
                    .iter()
                    .filter_map(|e| e.details["arrow_seconds"].as_f64())
                    .collect::<Vec<_>>(),
            ) / field(&limit, |e| e.seconds)
        } else {
            field(&rust, |e| e.seconds) / field(&limit, Entry::limit_seconds)
        };
        if link.is_some() && workload == "B3" {
            wire_lines.push(format!(
                "{label}: limit = max(gzip alone {:.2} s, compressed bytes at link speed {:.2} s)",
                field(&limit, |e| e.seconds),
                field(&limit, Entry::wire_seconds)
            ));
        }
        println!(
            "| {label} | {:.2} | {:.2} | {:.1}x ({}) | {:.0} | {:.0} | {:.0} | {:.2} | {:.2}x |",
            field(&python, |e| e.seconds),
            field(&rust, |e| e.seconds),
            median(&mut ratios.clone()),
            spread(&ratios),
            field(&python, |e| e.peak_mb),
            field(&rust, |e| e.peak_mb),
            field(&rust, |e| e.added_mb),
            field(&limit, Entry::limit_seconds),
            rust_limit,
        );
    }
    if !wire_lines.is_empty() {
        println!();
        for line in &wire_lines {
            println!("{line}");
        }
    }
    let detail = |client: &str, key: &str| {
        median(
            &mut entries
                .iter()
                .filter(|e| e.workload == "B4" && e.client == client)
                .filter_map(|e| e.details[key].as_f64())
                .collect::<Vec<_>>(),
        )
    };
    let download = detail("limit", "download_gzip_seconds");
    if download.is_finite() {
        let arrow = detail("rust", "arrow_seconds");
        println!();
        println!(
            "B4 medians: the response downloaded alone (gzip, as the clients ask) {download:.2} s, \
             without compression {:.2} s; the Rust query to Arrow {arrow:.2} s = {:.2}x the \
             download; Python's execute_query {:.2} s and dataframe_from_result_table {:.2} s.",
            detail("limit", "download_identity_seconds"),
            arrow / download,
            detail("python", "query_seconds"),
            detail("python", "frame_seconds"),
        );
    }
    println!();
    println!("Every run, as recorded:");
    println!();
    for e in &entries {
        let over = e
            .link
            .as_deref()
            .map(|l| format!(" (B6, over {l})"))
            .unwrap_or_default();
        println!(
            "- pair {} {}{over} {}: {:.3} s, peak {:.0} MB (+{:.0} MB), {}",
            e.pair, e.workload, e.client, e.seconds, e.peak_mb, e.added_mb, e.details
        );
    }
    Ok(())
}
