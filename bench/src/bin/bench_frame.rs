//! Benchmark B1: `ingest_from_dataframe` of a generated Polars frame through the queued client,
//! next to encoding and gzipping the same frame alone at the same level (the limit).
//!
//! ```text
//! cargo run --release -p kusto-examples --bin bench_frame -- [--rows 1000000] [--level 3]
//!     [--format json|csv|parquet] [--skip-limit]
//! ```
//!
//! The frame has the issue's ten columns: i64, f64 with nulls, strings with commas, quotes and
//! non-ASCII text, bool with nulls, datetime (ns, UTC), duration, categorical, list of strings,
//! i32 and date. Azurite and the emulator run locally (the emulator in this process, its
//! storage proxy off). The time is that of the `ingest_from_dataframe` call (encode, compress,
//! upload, submit); the memory is the process's peak resident set (`VmHWM`) during the call
//! minus the resident set before it. Afterwards the rows in the table are counted: a fast
//! wrong answer fails.

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kusto_bench::{CountingSink, frame, memory, reset_peak};
use kusto_data::{ConnectionString, DataFormat, KustoClient};
use kusto_emulator::azurite::Azurite;
use kusto_emulator::{DataManagementOptions, Emulator};
use kusto_ingest::{
    IngestionProperties, QueuedIngestClient, ReportLevel, ReportMethod, UploadOptions,
};
use kusto_ingest_polars::{
    FrameFormat, FrameOptions, IngestFromDataFrame, create_table_command, write_frame,
};

struct Options {
    rows: usize,
    level: u32,
    format: FrameFormat,
    skip_limit: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        rows: 1_000_000,
        level: 3,
        format: FrameFormat::Json,
        skip_limit: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rows" => options.rows = value()?.parse().map_err(|e| format!("{e}"))?,
            "--level" => options.level = value()?.parse().map_err(|e| format!("{e}"))?,
            "--format" => {
                options.format = match value()?.as_str() {
                    "json" => FrameFormat::Json,
                    "csv" => FrameFormat::Csv,
                    "parquet" => FrameFormat::Parquet,
                    other => return Err(format!("unknown format {other}")),
                }
            }
            "--skip-limit" => options.skip_limit = true,
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
            eprintln!("bench_frame: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let options = parse_args()?;
    let data = frame(options.rows)?;
    let frame_options = FrameOptions::new().with_format(options.format);
    println!(
        "rows={} columns={} format={:?} level={} frame_mb={:.1}",
        data.height(),
        data.width(),
        options.format,
        options.level,
        data.estimated_size() as f64 / (1 << 20) as f64
    );
    if !options.skip_limit {
        // The limit: the same encoding, then gzip at the same level (Parquet: no gzip, as sent).
        let started = Instant::now();
        let mut plain = CountingSink(0);
        write_frame(&data, options.format, &frame_options, &mut plain)?;
        let encode = started.elapsed();
        let started = Instant::now();
        let compressed = if options.format == FrameFormat::Parquet {
            let mut sink = CountingSink(0);
            write_frame(&data, options.format, &frame_options, &mut sink)?;
            sink.0
        } else {
            let mut encoder = flate2::write::GzEncoder::new(
                CountingSink(0),
                flate2::Compression::new(options.level),
            );
            write_frame(&data, options.format, &frame_options, &mut encoder)?;
            encoder.finish()?.0
        };
        let limit = started.elapsed();
        println!("encoded_mb={:.1}", plain.0 as f64 / (1 << 20) as f64);
        println!("encode_alone_seconds={:.2}", encode.as_secs_f64());
        println!("encode_gzip_alone_seconds={:.2}", limit.as_secs_f64());
        println!("sent_mb={:.1}", compressed as f64 / (1 << 20) as f64);
    }

    let azurite = Azurite::start().await?;
    let emulator = Emulator::builder()
        .database("Bench")
        .azurite(azurite)
        .data_management(DataManagementOptions {
            batching_window: Duration::from_secs(1),
            storage_fault_proxy: false,
            ..DataManagementOptions::default()
        })
        .start()
        .await?;
    let client = KustoClient::new(ConnectionString::parse(&format!(
        "{}/Bench",
        emulator.url()
    ))?)?;
    client
        .mgmt("Bench", &create_table_command("Frame", &data, false)?)
        .await?;
    let ingest = QueuedIngestClient::builder_from_kusto_client(client.clone())
        .upload_options(UploadOptions::default().with_compression_level(options.level))
        .build()?;
    // Resources and configuration fetched before the measurement.
    ingest.warm_up().await?;
    let properties = IngestionProperties::new("Bench", "Frame", DataFormat::Json)
        .with_report(ReportLevel::None, ReportMethod::Queue);
    let (rss_before, _) = memory();
    reset_peak();
    let started = Instant::now();
    ingest
        .ingest_from_dataframe(&data, &properties, &frame_options)
        .await?;
    let elapsed = started.elapsed();
    let (_, peak) = memory();
    println!("ingest_seconds={:.2}", elapsed.as_secs_f64());
    println!("rss_before_mb={:.1}", rss_before as f64 / (1 << 20) as f64);
    println!(
        "peak_added_mb={:.1}",
        peak.saturating_sub(rss_before) as f64 / (1 << 20) as f64
    );
    // Correctness: every row arrives once.
    let deadline = Instant::now() + Duration::from_secs(300);
    let count = loop {
        let result = client.query("Bench", "Frame | count").await?;
        let count = result
            .primary_result()
            .and_then(|t| t.row(0))
            .and_then(|r| r.get_i64(0).ok().flatten())
            .unwrap_or(0);
        if count >= options.rows as i64 || Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!("rows_in_table={count}");
    if count != options.rows as i64 {
        let failures = client.mgmt("Bench", ".show ingestion failures").await?;
        if let Some(table) = failures.primary_result() {
            println!("{}", kusto_examples::render(table));
        }
    }
    emulator.shutdown().await;
    if count != options.rows as i64 {
        return Err(format!("expected {} rows in the table, found {count}", options.rows).into());
    }
    Ok(())
}
