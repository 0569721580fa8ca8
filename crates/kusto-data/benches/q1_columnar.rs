//! Query results (issues 17 and 30): in one run, on the same generated bodies, the bare JSON
//! scan (serde_json `IgnoredAny`), the row path (`V2Parser` rows), the row stream
//! (`V2EventStream::primary_batches`, what `execute_query_stream` gives), the table stream
//! (`V2EventStream::primary_tables`: the same rows in column-major chunks), both streams with
//! every row read as a serde struct (mix only), the row path followed
//! by `to_record_batch`, the columnar path to Arrow, `parse_v2` into a `DataSet` (with its peak
//! memory) and serde rows read from it; prints the times and their ratios to the bare scan. Also
//! the floor of the row path: the same rows' `KustoValue`s cloned and dropped, with no parsing.
//!
//! ```text
//! cargo bench -p kusto-data --bench q1_columnar            # 1,000,000-row mix and two more bodies
//! Q1_ROWS=200000 Q1_REPEAT=5 cargo bench -p kusto-data --bench q1_columnar
//! Q1_ONLY=columnar cargo bench -p kusto-data --bench q1_columnar   # one measurement (profiling)
//! # Q1_ONLY: rows, stream, tables, serde_streams, floor, rows_to_arrow, columnar, parse_v2,
//! #          serde (or none)
//! ```
//! Each figure is the fastest of `Q1_REPEAT` runs (default 3). Peak memory is measured in a
//! child process (this binary again, with `Q1_PEAK_OF`): its peak resident set (`VmHWM`, reset
//! through `/proc/self/clear_refs` after the body was generated) above the resident set before
//! `parse_v2` (which holds the body): Linux only, `n/a` elsewhere.

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kusto_data::KustoValue;
use kusto_data::response::{
    ArrowOptions, ParserOptions, RowBatch, V2Event, V2EventStream, V2Parser, to_record_batch,
};
use kusto_data::types::{KustoDateTime, KustoDecimal, KustoTimespan, Uuid};

const CHUNK: usize = 64 * 1024;

fn header(columns: &[(&str, &str)]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|(n, t)| format!(r#"{{"ColumnName":"{n}","ColumnType":"{t}"}}"#))
        .collect();
    format!(
        concat!(
            r#"[{{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"}}"#,
            "\n,",
            r#"{{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{}],"Rows":["#
        ),
        cols.join(",")
    )
}

const FOOTER: &str =
    "]}\n,{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}\n]";

/// The 10-column mix of `benches/v2_parse.rs`: long, string, real, datetime, timespan, guid,
/// dynamic, bool, int, decimal.
fn mix(rows: u64) -> Vec<u8> {
    let mut s = header(&[
        ("id", "long"),
        ("text", "string"),
        ("x", "real"),
        ("t", "datetime"),
        ("ts", "timespan"),
        ("g", "guid"),
        ("dy", "dynamic"),
        ("b", "bool"),
        ("n", "int"),
        ("d", "decimal"),
    ]);
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "[{i},\"event {i}: request served from cache, status ok\",{},\"2024-05-01T10:20:30.{:07}Z\",\"{}.01:02:03.5000000\",\"00000000-0000-4000-8000-{:012x}\",{{\"k\":{i},\"tags\":[\"a\",\"b\"]}},{},{},\"{}.25\"]",
            i as f64 * 0.5,
            i % 10_000_000,
            i % 100,
            i,
            i.is_multiple_of(2),
            i % 1000,
            i
        ));
    }
    s.push_str(FOOTER);
    s.into_bytes()
}

/// A narrow numeric table: long, int, real, bool.
fn narrow(rows: u64) -> Vec<u8> {
    let mut s = header(&[("id", "long"), ("n", "int"), ("x", "real"), ("b", "bool")]);
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "[{},{},{},{}]",
            i * 7919,
            (i % 100_000) as i64 - 50_000,
            (i as f64) * 0.25 + 0.125,
            i % 3 == 0
        ));
    }
    s.push_str(FOOTER);
    s.into_bytes()
}

/// A wide string table: 20 string columns.
fn wide(rows: u64) -> Vec<u8> {
    let names: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    let cols: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "string")).collect();
    let mut s = header(&cols);
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        s.push('[');
        for c in 0..20 {
            if c > 0 {
                s.push(',');
            }
            s.push_str(&format!("\"value {c} of row {i}, some text\""));
        }
        s.push(']');
    }
    s.push_str(FOOTER);
    s.into_bytes()
}

/// Parses `body` in 64 KiB chunks; `on_event` sees every event. Returns the rows seen.
fn parse(body: &[u8], columnar: bool, mut on_event: impl FnMut(V2Event) -> usize) -> usize {
    let mut parser = V2Parser::with_options(ParserOptions::new().with_batch_rows(8192));
    if columnar {
        parser.set_arrow_output(Some(ArrowOptions::new()));
    }
    let mut rows = 0;
    let mut drain = |parser: &mut V2Parser| {
        while let Some(event) = parser.next_event().expect("valid body") {
            rows += on_event(event);
        }
    };
    for chunk in body.chunks(CHUNK) {
        parser.feed(chunk);
        drain(&mut parser);
    }
    parser.end_of_input();
    drain(&mut parser);
    rows
}

/// `body` in 64 KiB chunks as a `V2EventStream` with batches of 8192 rows.
fn events(body: &[u8]) -> V2EventStream {
    let chunks: Vec<kusto_data::Result<bytes::Bytes>> = body
        .chunks(CHUNK)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let options = ParserOptions::new().with_batch_rows(8192);
    V2EventStream::with_options(futures::stream::iter(chunks), options)
}

/// The row stream: `body` through `V2EventStream::primary_batches`; `on_batch` sees every batch
/// and answers the rows it read.
fn stream_rows(body: &[u8], mut on_batch: impl FnMut(&RowBatch) -> usize) -> usize {
    let mut batches = events(body).primary_batches();
    futures::executor::block_on(async {
        let mut rows = 0;
        while let Some(batch) = batches.next().await {
            rows += on_batch(&black_box(batch.expect("valid body")));
        }
        rows
    })
}

/// The table stream: `body` through `V2EventStream::primary_tables` (chunks of 8192 rows held
/// column by column); `on_chunk` sees every chunk and answers the rows it read.
fn stream_tables(body: &[u8], mut on_chunk: impl FnMut(&kusto_data::KustoTable) -> usize) -> usize {
    let mut tables = events(body).primary_tables();
    futures::executor::block_on(async {
        let mut rows = 0;
        while let Some(batch) = tables.next().await {
            rows += on_chunk(&black_box(batch.expect("valid body")).table);
        }
        rows
    })
}

/// Every row of a batch of the mix read as a serde struct (`MixRow`).
fn serde_rows(batch: &RowBatch) -> usize {
    batch
        .rows()
        .map(|row| {
            let row: MixRow<'_> = row.deserialize().expect("the mix's types");
            black_box(row);
        })
        .count()
}

/// The floor of the row path: `rows` rows made of clones of `sample`'s values, in batches of
/// 8192 that are dropped as the row path's are: the allocation and release of the values
/// alone, with no parsing.
fn clone_rows(sample: &[Vec<KustoValue>], rows: usize) -> usize {
    let mut n = 0;
    while n < rows {
        let batch: Vec<Vec<KustoValue>> = (n..(n + 8192).min(rows))
            .map(|i| sample[i % sample.len()].clone())
            .collect();
        n += black_box(batch).len();
    }
    n
}

/// One row of the 10-column mix, for serde (`dy` keeps only its `k`).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct MixRow<'a> {
    id: i64,
    text: &'a str,
    x: f64,
    t: KustoDateTime,
    ts: KustoTimespan,
    g: Uuid,
    dy: Option<Dy>,
    b: bool,
    n: Option<i32>,
    d: KustoDecimal,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Dy {
    k: i64,
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `f` and returns the peak resident memory above the resident memory before it (bytes).
fn peak_above(f: impl FnOnce()) -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let before = status_kib("VmRSS:")?;
    f();
    let peak = status_kib("VmHWM:")?;
    Some(peak.saturating_sub(before) * 1024)
}

/// The peak memory of `parse_v2` on body `name`, measured in a child process (this binary with
/// `Q1_PEAK_OF`) so that memory retained by the allocator from earlier runs does not hide it.
fn peak_in_child(name: &str, rows: u64) -> Option<u64> {
    let output = std::process::Command::new(std::env::current_exe().ok()?)
        .env("Q1_PEAK_OF", name)
        .env("Q1_ROWS", rows.to_string())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

/// The child of [`peak_in_child`]: generates the body and prints the peak above it.
fn peak_child(name: &str, rows: u64) {
    let Some((body, _)) = body_named(name, rows) else {
        return;
    };
    let peak = peak_above(|| {
        let data = kusto_data::response::parse_v2(black_box(&body)).expect("valid body");
        black_box(&data);
    });
    if let Some(peak) = peak {
        println!("{peak}");
    }
}

fn body_named(name: &str, rows: u64) -> Option<(Vec<u8>, u64)> {
    match name {
        "mix" => Some((mix(rows), rows)),
        "narrow" => Some((narrow(rows), rows)),
        "wide" => Some((wide(rows), rows)),
        _ => None,
    }
}

fn name_of(label: &str) -> &'static str {
    if label.starts_with("10-column") {
        "mix"
    } else if label.starts_with("narrow") {
        "narrow"
    } else {
        "wide"
    }
}

fn best(repeat: usize, mut f: impl FnMut()) -> Duration {
    (0..repeat)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn measure(name: &str, body: &[u8], rows: u64, repeat: usize, only: Option<&str>) {
    let mb = body.len() as f64 / 1e6;
    println!("\n{name}: {rows} rows, {mb:.1} MB");
    let want = |m: &str| only.is_none_or(|o| o == m);
    let bare = best(repeat, || {
        let _: serde::de::IgnoredAny = serde_json::from_slice(black_box(body)).expect("JSON");
    });
    let report = |label: &str, t: Duration, extra: &str| {
        let s = t.as_secs_f64();
        println!(
            "  {label:<28} {:>8.1} ms {:>8.1} MB/s {:>6.2}x bare{extra}",
            s * 1e3,
            mb / s,
            s / bare.as_secs_f64()
        );
    };
    report("bare scan (IgnoredAny)", bare, "");
    if want("rows") {
        let t = best(repeat, || {
            let n = parse(body, false, |e| match e {
                V2Event::Rows { rows, .. } => black_box(rows).len(),
                _ => 0,
            });
            assert_eq!(n as u64, rows);
        });
        report("row path (V2Parser)", t, "");
    }
    if want("stream") {
        let t = best(repeat, || {
            assert_eq!(stream_rows(body, RowBatch::len) as u64, rows);
        });
        report("row stream (primary_batches)", t, "");
    }
    if want("tables") {
        let t = best(repeat, || {
            assert_eq!(stream_tables(body, |t| t.len()) as u64, rows);
        });
        report("table stream (primary_tables)", t, "");
    }
    if want("serde_streams") && name_of(name) == "mix" {
        let t = best(repeat, || {
            assert_eq!(stream_rows(body, serde_rows) as u64, rows);
        });
        report("row stream + serde rows", t, "");
        let t = best(repeat, || {
            let n = stream_tables(body, |table| {
                let structs: Vec<MixRow<'_>> = table.deserialize().expect("the mix's types");
                black_box(structs).len()
            });
            assert_eq!(n as u64, rows);
        });
        report("table stream + serde rows", t, "");
    }
    if want("floor") {
        // The first 1000 rows' values, decoded once; the clock runs on their clones only.
        let mut sample = Vec::new();
        parse(body, false, |e| match e {
            V2Event::Rows { rows, .. } if sample.len() < 1000 => {
                sample.extend(rows.into_iter().take(1000));
                0
            }
            _ => 0,
        });
        let t = best(repeat, || {
            assert_eq!(clone_rows(&sample, rows as usize) as u64, rows);
        });
        report("row values alone (clones)", t, "");
    }
    if want("rows_to_arrow") {
        let options = ArrowOptions::new();
        let mut columns = None;
        let t = best(repeat, || {
            let n = parse(body, false, |e| match e {
                V2Event::TableStart(h) => {
                    columns = Some(h.columns);
                    0
                }
                V2Event::Rows { rows, .. } => {
                    let c = columns.as_deref().unwrap_or_default();
                    let b = to_record_batch(c, &rows, &options).expect("convertible");
                    black_box(b).num_rows()
                }
                _ => 0,
            });
            assert_eq!(n as u64, rows);
        });
        report("row path + to_record_batch", t, "");
    }
    if want("columnar") {
        let t = best(repeat, || {
            let n = parse(body, true, |e| match e {
                V2Event::RecordBatch { batch, .. } => black_box(batch).num_rows(),
                _ => 0,
            });
            assert_eq!(n as u64, rows);
        });
        report("columnar path to Arrow", t, "");
    }
    if want("parse_v2") {
        let t = best(repeat, || {
            let data = kusto_data::response::parse_v2(black_box(body)).expect("valid body");
            assert_eq!(data.primary_result().map(|t| t.len() as u64), Some(rows));
        });
        let peak = peak_in_child(name_of(name), rows);
        let extra = match peak {
            Some(p) => format!(
                ", peak {:.0} MB above the body ({:.2}x the body)",
                p as f64 / 1e6,
                p as f64 / body.len() as f64
            ),
            None => ", peak n/a".into(),
        };
        report("parse_v2 -> DataSet", t, &extra);
    }
    if want("serde") && name_of(name) == "mix" {
        let data = kusto_data::response::parse_v2(body).expect("valid body");
        let table = data.primary_result().expect("a primary result");
        let t = best(repeat, || {
            let structs: Vec<MixRow<'_>> = table.deserialize().expect("the mix's types");
            assert_eq!(black_box(structs).len() as u64, rows);
        });
        report("serde rows from the DataSet", t, " (after parse_v2)");
    }
}

fn main() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    // `cargo bench` passes `--bench`; other arguments are ignored.
    let rows = env("Q1_ROWS", 1_000_000);
    let repeat = env("Q1_REPEAT", 3) as usize;
    let only = std::env::var("Q1_ONLY").ok();
    let bodies = std::env::var("Q1_BODIES").unwrap_or_else(|_| "mix,narrow,wide".into());
    if let Ok(name) = std::env::var("Q1_PEAK_OF") {
        peak_child(&name, rows);
        return;
    }
    println!(
        "q1_columnar: fastest of {repeat} runs, 64 KiB chunks, batches of 8192 rows, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for name in bodies.split(',') {
        let n = match name {
            "narrow" => rows * 4,
            "wide" => rows / 4,
            _ => rows,
        };
        let Some((body, n)) = body_named(name, n) else {
            continue;
        };
        let label = match name {
            "mix" => "10-column mix",
            "narrow" => "narrow numeric (long, int, real, bool)",
            _ => "wide strings (20 string columns)",
        };
        measure(label, &body, n, repeat, only.as_deref());
    }
}
