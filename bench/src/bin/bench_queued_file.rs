//! Benchmark: queued ingestion of one large generated CSV file, with the client's peak memory,
//! next to a plain single-threaded gzip of the same file at the same level.
//!
//! ```text
//! cargo run --release -p kusto-examples --bin bench_queued_file -- [--size-mb 1024] [--level 3]
//!     [--block-mb 4] [--concurrency 2] [--protocol queue|rest] [--skip-gzip]
//! ```
//!
//! Azurite and the emulator run locally (the emulator in this process, with its storage proxy
//! off so that uploads go straight to Azurite, and a batching window long enough that the
//! service does not start ingesting the blob during the measurement). The time is that of the
//! `ingest` call (compress, upload, submit); the memory is the process's peak resident set
//! (`VmHWM`) during the call minus the resident set before it. Results are printed as one line
//! per figure; `docs/benchmarks.md` records them.

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kusto_bench::{gzip_file, memory, reset_peak, write_csv_file};

use kusto_data::{ConnectionString, DataFormat, KustoClient};
use kusto_emulator::azurite::Azurite;
use kusto_emulator::{DataManagementOptions, Emulator};
use kusto_ingest::{
    IngestProtocol, IngestionProperties, IngestionSource, QueuedIngestClient, ReportLevel,
    ReportMethod, UploadOptions,
};

struct Options {
    size_mb: u64,
    level: u32,
    block_mb: usize,
    concurrency: usize,
    protocol: IngestProtocol,
    skip_gzip: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        size_mb: 1024,
        level: 3,
        block_mb: 4,
        concurrency: 2,
        protocol: IngestProtocol::Queue,
        skip_gzip: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--size-mb" => options.size_mb = value()?.parse().map_err(|e| format!("{e}"))?,
            "--level" => options.level = value()?.parse().map_err(|e| format!("{e}"))?,
            "--block-mb" => options.block_mb = value()?.parse().map_err(|e| format!("{e}"))?,
            "--concurrency" => {
                options.concurrency = value()?.parse().map_err(|e| format!("{e}"))?
            }
            "--protocol" => {
                options.protocol = match value()?.as_str() {
                    "queue" => IngestProtocol::Queue,
                    "rest" => IngestProtocol::Rest,
                    other => return Err(format!("unknown protocol {other}")),
                }
            }
            "--skip-gzip" => options.skip_gzip = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_queued_file: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let options = parse_args()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big.csv");
    let size = options.size_mb << 20;
    write_csv_file(&path, size)?;
    let azurite = Azurite::start().await?;
    let emulator = Emulator::builder()
        .database("Bench")
        .azurite(azurite)
        .data_management(DataManagementOptions {
            batching_window: Duration::from_secs(600),
            storage_fault_proxy: false,
            max_source_bytes: usize::MAX,
            ..DataManagementOptions::default()
        })
        .start()
        .await?;
    let client = KustoClient::new(ConnectionString::parse(&format!(
        "{}/Bench",
        emulator.url()
    ))?)?;
    client
        .mgmt("Bench", ".create table Big (Id:long, At:datetime, Key:string, State:string, Amount:real, Flag:bool, Note:string)")
        .await?;
    let ingest = QueuedIngestClient::builder_from_kusto_client(client.clone())
        .protocol(options.protocol)
        .upload_options(
            UploadOptions::default()
                .with_compression_level(options.level)
                .with_block_size(options.block_mb << 20)
                .with_block_concurrency(options.concurrency),
        )
        .build()?;
    // Resources, token and configuration fetched before the measurement.
    ingest.warm_up().await?;
    let properties = IngestionProperties::new("Bench", "Big", DataFormat::Csv)
        .with_report(ReportLevel::None, ReportMethod::Queue);
    let (rss_before, _) = memory();
    reset_peak();
    let started = Instant::now();
    let operation = ingest
        .ingest(IngestionSource::file(&path), &properties)
        .await?;
    let elapsed = started.elapsed();
    let (_, peak) = memory();
    println!(
        "file_mb={} level={} block_mb={} concurrency={} protocol={:?}",
        options.size_mb, options.level, options.block_mb, options.concurrency, options.protocol
    );
    println!("ingest_seconds={:.2}", elapsed.as_secs_f64());
    println!(
        "ingest_mb_per_s={:.1}",
        size as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
    );
    println!("rss_before_mb={:.1}", rss_before as f64 / (1 << 20) as f64);
    println!("peak_rss_mb={:.1}", peak as f64 / (1 << 20) as f64);
    println!(
        "peak_added_mb={:.1}",
        peak.saturating_sub(rss_before) as f64 / (1 << 20) as f64
    );
    println!(
        "blob={}",
        operation
            .blob_paths()
            .first()
            .map(String::as_str)
            .unwrap_or("?")
    );
    emulator.shutdown().await;
    if !options.skip_gzip {
        let (gzip_time, compressed) = gzip_file(&path, options.level)?;
        println!("gzip_alone_seconds={:.2}", gzip_time.as_secs_f64());
        println!("gzip_ratio={:.3}", compressed as f64 / size as f64);
        println!(
            "ingest_over_gzip={:.2}",
            elapsed.as_secs_f64() / gzip_time.as_secs_f64()
        );
    }
    Ok(())
}
