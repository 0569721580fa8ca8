//! Benchmark: streaming ingestion of many small payloads through `StreamingIngestClient`, next
//! to raw HTTP POSTs of the same compressed bodies to the same emulator, in one run.
//!
//! ```text
//! cargo run --release -p kusto-examples --bin bench_streaming -- [--requests 1000] [--size-kb 10]
//!     [--pairs 3] [--concurrency 1]
//! ```
//!
//! Each pair runs the SDK loop and the raw loop once each (A B A B ...), alternating which goes
//! first; every loop sends `--requests` payloads of `--size-kb` KiB of CSV with at most
//! `--concurrency` in flight. Both loops start from the raw CSV: the SDK gzips it itself, the raw
//! loop gzips each payload at the same level (3) and posts it with the headers the service needs;
//! with `--precompressed` the raw loop posts bodies gzipped before the clock starts instead.
//! After every loop the rows in the table are counted, so a fast wrong answer fails.

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use kusto_bench::{gzip, payload};
use kusto_data::{ConnectionString, DataFormat, KustoClient};
use kusto_emulator::Emulator;
use kusto_ingest::{IngestionProperties, IngestionSource, StreamingIngestClient};

struct Options {
    requests: usize,
    size_kb: usize,
    pairs: usize,
    concurrency: usize,
    precompressed: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        requests: 1000,
        size_kb: 10,
        pairs: 3,
        concurrency: 1,
        precompressed: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--precompressed" {
            options.precompressed = true;
            continue;
        }
        let value: usize = args
            .next()
            .ok_or(format!("{arg} needs a value"))?
            .parse()
            .map_err(|e| format!("{arg}: {e}"))?;
        match arg.as_str() {
            "--requests" => options.requests = value,
            "--size-kb" => options.size_kb = value,
            "--pairs" => options.pairs = value,
            "--concurrency" => options.concurrency = value.max(1),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

async fn count(client: &KustoClient) -> Result<i64, Box<dyn Error>> {
    let data = client.query("Bench", "S | count").await?;
    let table = data.primary_result().ok_or("no result")?;
    Ok(table
        .rows()
        .next()
        .and_then(|r| r.get_i64(0).ok().flatten())
        .unwrap_or(0))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_streaming: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let options = parse_args()?;
    let emulator = Emulator::builder().database("Bench").start().await?;
    let client = KustoClient::new(ConnectionString::parse(&format!(
        "{}/Bench",
        emulator.url()
    ))?)?;
    client
        .mgmt("Bench", ".create table S (I:long, N:long, Text:string)")
        .await?;
    let payloads: Vec<String> = (0..options.requests)
        .map(|i| payload(i, options.size_kb * 1024))
        .collect();
    let rows_per_round: i64 = payloads.iter().map(|p| p.lines().count() as i64).sum();
    let bodies: Vec<Bytes> = payloads
        .iter()
        .map(|p| gzip(p.as_bytes(), 3).map(Bytes::from))
        .collect::<Result<_, _>>()?;
    let streaming = StreamingIngestClient::from_kusto_client(client.clone());
    let properties = IngestionProperties::new("Bench", "S", DataFormat::Csv);
    let http = kusto_emulator::http_client_builder().build()?;
    let url = format!("{}/v1/rest/ingest/Bench/S?streamFormat=csv", emulator.url());
    let mut sdk_times = Vec::new();
    let mut raw_times = Vec::new();
    let mut expected = 0i64;
    for pair in 0..options.pairs {
        for sdk_first in [pair % 2 == 0, pair % 2 != 0] {
            let started = Instant::now();
            if sdk_first {
                let results: Vec<_> = futures::stream::iter(payloads.iter().cloned())
                    .map(|p| {
                        let streaming = streaming.clone();
                        let properties = properties.clone();
                        async move {
                            streaming
                                .ingest(IngestionSource::bytes(p), &properties)
                                .await
                        }
                    })
                    .buffer_unordered(options.concurrency)
                    .collect()
                    .await;
                for result in results {
                    result?;
                }
                sdk_times.push(started.elapsed());
            } else {
                let results: Vec<_> = futures::stream::iter(bodies.iter().cloned().zip(&payloads))
                    .map(|(body, text)| {
                        let body = if options.precompressed {
                            body
                        } else {
                            gzip(text.as_bytes(), 3).map(Bytes::from).unwrap_or(body)
                        };
                        let request = http
                            .post(&url)
                            .header("content-encoding", "gzip")
                            .header("content-type", "application/octet-stream")
                            .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
                            .body(body);
                        async move {
                            let response = request.send().await?;
                            let status = response.status();
                            let _ = response.bytes().await?;
                            Ok::<_, reqwest::Error>(status)
                        }
                    })
                    .buffer_unordered(options.concurrency)
                    .collect()
                    .await;
                for result in results {
                    let status = result?;
                    if !status.is_success() {
                        return Err(format!("raw POST answered {status}").into());
                    }
                }
                raw_times.push(started.elapsed());
            }
            expected += rows_per_round;
            let rows = count(&client).await?;
            if rows != expected {
                return Err(format!("{rows} rows in the table, {expected} expected").into());
            }
        }
    }
    let per_second = |d: &Duration| options.requests as f64 / d.as_secs_f64();
    let mut ratios: Vec<f64> = sdk_times
        .iter()
        .zip(&raw_times)
        .map(|(s, r)| s.as_secs_f64() / r.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "requests={} size_kb={} pairs={} concurrency={} raw_precompressed={}",
        options.requests,
        options.size_kb,
        options.pairs,
        options.concurrency,
        options.precompressed
    );
    println!(
        "sdk_requests_per_s={:.0} (each pair: {})",
        median(sdk_times.iter().map(per_second).collect()),
        sdk_times
            .iter()
            .map(|d| format!("{:.0}", per_second(d)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "raw_requests_per_s={:.0} (each pair: {})",
        median(raw_times.iter().map(per_second).collect()),
        raw_times
            .iter()
            .map(|d| format!("{:.0}", per_second(d)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "sdk_over_raw_median={:.3} min={:.3} max={:.3}",
        median(ratios.clone()),
        ratios.first().copied().unwrap_or(0.0),
        ratios.last().copied().unwrap_or(0.0)
    );
    println!("rows_checked={expected}");
    emulator.shutdown().await;
    Ok(())
}
