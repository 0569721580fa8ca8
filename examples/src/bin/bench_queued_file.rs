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
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

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

/// The resident set and its peak, in bytes, from /proc/self/status.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident set to the current one (Linux: write 5 to clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Writes `size` bytes of CSV rows like the B3 workload: id, timestamp, guid-like text, enum,
/// float, bool and a quoted free-text field.
fn generate(path: &Path, size: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let states = ["TEXAS", "KANSAS", "OKLAHOMA", "NEBRASKA", "IOWA", "OHIO"];
    let mut written = 0u64;
    let mut i: u64 = 0;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while written < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let line = format!(
            "{i},2024-05-{:02}T{:02}:{:02}:{:02}.{:07}Z,{:08x}-{:04x}-4{:03x},{},{}.{:02},{},\"note {}, seen {} times\"\n",
            1 + (x % 28),
            (x >> 5) % 24,
            (x >> 11) % 60,
            (x >> 17) % 60,
            (x >> 23) % 10_000_000,
            x as u32,
            (x >> 32) as u16,
            (x >> 48) & 0xfff,
            states[(x % 6) as usize],
            (x >> 20) % 100_000,
            (x >> 40) % 100,
            x.is_multiple_of(2),
            (x >> 8) % 997,
            (x >> 3) % 50,
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    out.flush()
}

fn gzip_alone(path: &Path, level: u32) -> std::io::Result<(Duration, u64)> {
    let started = Instant::now();
    let mut input = std::fs::File::open(path)?;
    let mut encoder =
        flate2::write::GzEncoder::new(CountingSink(0), flate2::Compression::new(level));
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        encoder.write_all(&buffer[..n])?;
    }
    let sink = encoder.finish()?;
    Ok((started.elapsed(), sink.0))
}

struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
    generate(&path, size)?;
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
        .execute_mgmt("Bench", ".create table Big (Id:long, At:datetime, Key:string, State:string, Amount:real, Flag:bool, Note:string)", None)
        .await?;
    let ingest = QueuedIngestClient::builder_from_kusto_client(client.clone())
        .protocol(options.protocol)
        .upload_options(UploadOptions {
            compression_level: options.level,
            block_size: options.block_mb << 20,
            block_concurrency: options.concurrency,
            ..UploadOptions::default()
        })
        .build()?;
    // Resources, token and configuration fetched before the measurement.
    ingest.ingestion_resources().await?;
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
        let (gzip_time, compressed) = gzip_alone(&path, options.level)?;
        println!("gzip_alone_seconds={:.2}", gzip_time.as_secs_f64());
        println!("gzip_ratio={:.3}", compressed as f64 / size as f64);
        println!(
            "ingest_over_gzip={:.2}",
            elapsed.as_secs_f64() / gzip_time.as_secs_f64()
        );
    }
    Ok(())
}
