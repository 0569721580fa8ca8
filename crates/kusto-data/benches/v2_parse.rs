//! v2 response parsing throughput: body bytes to typed rows, and to Arrow record batches (through
//! rows, and on the columnar path).
//!
//! Run with `cargo bench -p kusto-data --bench v2_parse`; the figures are in docs/benchmarks.md.
//! `benches/q1_columnar.rs` compares every path with a bare JSON scan in one run.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kusto_data::response::{
    ArrowOptions, Column, ParserOptions, V2Event, V2Parser, to_record_batch,
};

const CHUNK: usize = 64 * 1024;

/// A realistic mixed-type primary result: long, string, real, datetime, timespan, guid,
/// dynamic, bool, int, decimal.
fn body(rows: u64) -> Vec<u8> {
    let mut s = String::from(concat!(
        r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"}"#,
        "\n,",
        r#"{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"id","ColumnType":"long"},{"ColumnName":"text","ColumnType":"string"},{"ColumnName":"x","ColumnType":"real"},{"ColumnName":"t","ColumnType":"datetime"},{"ColumnName":"ts","ColumnType":"timespan"},{"ColumnName":"g","ColumnType":"guid"},{"ColumnName":"dy","ColumnType":"dynamic"},{"ColumnName":"b","ColumnType":"bool"},{"ColumnName":"n","ColumnType":"int"},{"ColumnName":"d","ColumnType":"decimal"}],"Rows":["#
    ));
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
    s.push_str(
        "]}\n,{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}\n]",
    );
    s.into_bytes()
}

fn parse(
    body: &[u8],
    mut on_batch: impl FnMut(&[Column], Vec<Vec<kusto_data::KustoValue>>),
) -> usize {
    let mut parser = V2Parser::with_options(ParserOptions::new().with_batch_rows(8192));
    let mut columns: Vec<Column> = Vec::new();
    let mut rows = 0;
    let mut handle = |parser: &mut V2Parser| {
        while let Some(event) = parser.next_event().expect("valid body") {
            match event {
                V2Event::TableStart(h) => columns = h.columns.to_vec(),
                V2Event::Rows { rows: batch, .. } => {
                    rows += batch.len();
                    on_batch(&columns, batch);
                }
                _ => {}
            }
        }
    };
    for chunk in body.chunks(CHUNK) {
        parser.feed(chunk);
        handle(&mut parser);
    }
    parser.end_of_input();
    handle(&mut parser);
    rows
}

fn v2_parse(c: &mut Criterion) {
    let rows = 200_000;
    let body = body(rows);
    let mut group = c.benchmark_group("v2_parse");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.sample_size(10);
    group.bench_function("to_rows", |b| {
        b.iter(|| {
            let n = parse(black_box(&body), |_, batch| drop(black_box(batch)));
            assert_eq!(n as u64, rows);
        })
    });
    let options = ArrowOptions::new();
    group.bench_function("to_arrow", |b| {
        b.iter(|| {
            let mut arrow_rows = 0;
            parse(black_box(&body), |columns, batch| {
                let record_batch = to_record_batch(columns, &batch, &options).expect("convertible");
                arrow_rows += record_batch.num_rows();
                black_box(record_batch);
            });
            assert_eq!(arrow_rows as u64, rows);
        })
    });
    group.bench_function("to_arrow_columnar", |b| {
        b.iter(|| {
            let mut parser = V2Parser::with_options(ParserOptions::new().with_batch_rows(8192));
            parser.set_arrow_output(Some(options));
            let mut arrow_rows = 0;
            let mut drain = |parser: &mut V2Parser| {
                while let Some(event) = parser.next_event().expect("valid body") {
                    if let V2Event::RecordBatch { batch, .. } = event {
                        arrow_rows += batch.num_rows();
                        black_box(batch);
                    }
                }
            };
            for chunk in black_box(&body).chunks(CHUNK) {
                parser.feed(chunk);
                drain(&mut parser);
            }
            parser.end_of_input();
            drain(&mut parser);
            assert_eq!(arrow_rows as u64, rows);
        })
    });
    group.bench_function("collect_dataset", |b| {
        b.iter(|| {
            let data = kusto_data::response::parse_v2(black_box(&body)).expect("valid body");
            assert_eq!(data.primary_result().map(|t| t.len() as u64), Some(rows));
        })
    });
    group.finish();
}

criterion_group!(benches, v2_parse);
criterion_main!(benches);
