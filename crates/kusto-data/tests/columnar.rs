//! The columnar path (rows decoded straight into Arrow builders) gives the same record batches
//! as the row path followed by `to_record_batch`: on every recorded fixture, and on generated
//! bodies with random tables, values, batch sizes and chunk boundaries.
//!
//! The reference is the row path fed **one byte at a time**: the parser then never holds a whole
//! row when it reaches the row's start, so the fast lane never runs and every row is decoded by
//! the serde decoder (`response/lane_tests.rs` checks that with the parser's row counts). The
//! paths under test are fed in larger chunks, where most rows take the fast lane.
#![cfg(feature = "arrow")]

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use kusto_data::Error;
use kusto_data::arrow::array::{Array, Float64Array, Int64Array, StringArray};
use kusto_data::arrow::record_batch::RecordBatch;
use kusto_data::response::{
    ArrowOptions, ArrowTimeUnit, Column, ParserOptions, TableKind, V2Event, V2EventStream,
    V2Parser, to_record_batch,
};
use rand::RngExt;

#[path = "support/bodies.rs"]
mod bodies;
use bodies::{columns_json, random_body, rows_json};

/// What a consumer sees, with the rows of primary results as record batches.
#[derive(Debug, PartialEq)]
enum Seen {
    Batch(i64, RecordBatch),
    /// Rows of other tables (not converted: they stay rows on both paths).
    Rows(i64, usize),
    Replace(i64),
    RowErrors(i64, u64),
    TableStart(i64),
    TableEnd(i64, u64),
    Other,
}

/// Why parsing ended, reduced to what both paths must agree on.
#[derive(Debug, PartialEq)]
enum End {
    Complete,
    PartialFailure(usize),
    Malformed,
    Conversion(Option<usize>, String),
    Other(String),
}

fn end_of(e: Error) -> End {
    match e {
        Error::PartialFailure(f) => End::PartialFailure(f.errors.len()),
        Error::MalformedResponse { .. } => End::Malformed,
        Error::Conversion(c) => End::Conversion(c.row, c.column),
        other => End::Other(other.to_string()),
    }
}

/// Parses `body` in the given chunks, on the columnar path when `arrow` is set; on the row path
/// primary-result rows are converted with `to_record_batch`.
fn run(
    body: &[u8],
    chunks: &[usize],
    parser_options: ParserOptions,
    options: ArrowOptions,
    columnar: bool,
) -> (Vec<Seen>, End) {
    let mut parser = V2Parser::with_options(parser_options);
    if columnar {
        parser.set_arrow_output(Some(options));
    }
    let mut seen = Vec::new();
    let mut tables: Vec<(i64, Arc<[Column]>, TableKind)> = Vec::new();
    let mut drain = |parser: &mut V2Parser, seen: &mut Vec<Seen>| -> Result<(), End> {
        loop {
            let event = match parser.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(()),
                Err(e) => return Err(end_of(e)),
            };
            seen.push(match event {
                V2Event::TableStart(h) => {
                    tables.push((h.table_id, h.columns.clone(), h.kind.clone()));
                    Seen::TableStart(h.table_id)
                }
                V2Event::Rows { table_id, rows } => {
                    let Some((_, columns, kind)) = tables.iter().rev().find(|t| t.0 == table_id)
                    else {
                        panic!("rows of an unknown table");
                    };
                    if *kind == TableKind::PrimaryResult {
                        match to_record_batch(columns, &rows, &options) {
                            Ok(batch) => Seen::Batch(table_id, batch),
                            Err(e) => return Err(end_of(e)),
                        }
                    } else {
                        Seen::Rows(table_id, rows.len())
                    }
                }
                V2Event::RecordBatch { table_id, batch } => Seen::Batch(table_id, batch),
                V2Event::Replace { table_id } => Seen::Replace(table_id),
                V2Event::RowErrors {
                    table_id,
                    row_index,
                    ..
                } => Seen::RowErrors(table_id, row_index),
                V2Event::TableEnd(end) => Seen::TableEnd(end.table_id, end.rows_received),
                _ => Seen::Other,
            });
        }
    };
    let mut at = 0;
    let mut sizes = chunks.iter().cycle();
    while at < body.len() {
        let n = (*sizes.next().unwrap_or(&body.len())).max(1);
        let end = (at + n).min(body.len());
        parser.feed(&body[at..end]);
        at = end;
        if let Err(e) = drain(&mut parser, &mut seen) {
            return (seen, e);
        }
    }
    parser.end_of_input();
    match drain(&mut parser, &mut seen) {
        Ok(()) => (seen, End::Complete),
        Err(e) => (seen, e),
    }
}

/// The reference: the row path (then `to_record_batch`) with the body fed one byte at a time,
/// so that no row takes the fast lane.
fn reference(body: &[u8], po: ParserOptions, o: ArrowOptions) -> (Vec<Seen>, End) {
    run(body, &[1], po, o, false)
}

fn assert_same(name: &str, body: &[u8], chunks: &[usize], po: ParserOptions, o: ArrowOptions) {
    let rows = reference(body, po, o);
    assert_eq!(
        run(body, chunks, po, o, false),
        rows,
        "{name}: chunks {chunks:?}, {po:?}, {o:?}: the row path differs from the reference"
    );
    let columnar = run(body, chunks, po, o, true);
    assert_eq!(
        columnar, rows,
        "{name}: chunks {chunks:?}, {po:?}, {o:?}: the columnar path differs from the row path"
    );
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    bodies::v2_fixtures(env!("CARGO_MANIFEST_DIR"))
}

const UNITS: [ArrowTimeUnit; 3] = [
    ArrowTimeUnit::Nanosecond,
    ArrowTimeUnit::Microsecond,
    ArrowTimeUnit::Ticks,
];

#[test]
fn every_v2_fixture_gives_the_same_batches_on_both_paths() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 10, "expected the recorded v2 fixtures");
    let mut batches = 0;
    for (name, body) in &fixtures {
        for unit in UNITS {
            let options = ArrowOptions::new().with_time_unit(unit);
            for chunks in [vec![body.len()], vec![1], vec![7, 3, 64], vec![4096]] {
                for batch_rows in [1, 3, 4096] {
                    let po = ParserOptions::new().with_batch_rows(batch_rows);
                    assert_same(name, body, &chunks, po, options);
                }
            }
        }
        let (seen, _) = run(
            body,
            &[body.len()],
            ParserOptions::new(),
            ArrowOptions::new(),
            true,
        );
        batches += seen.iter().filter(|s| matches!(s, Seen::Batch(..))).count();
    }
    // Not vacuous: the fixtures have primary results with rows.
    assert!(batches >= 10, "only {batches} batches");
}

#[test]
fn generated_bodies_give_the_same_batches_on_both_paths() {
    let mut rng = bodies::rng(0x5EED_0017);
    let mut batches = 0;
    for case in 0..300 {
        let body = random_body(&mut rng);
        let chunks: Vec<usize> = (0..rng.random_range(1..6))
            .map(|_| rng.random_range(1..200))
            .collect();
        let po = ParserOptions::new()
            .with_batch_rows(rng.random_range(1..12))
            .with_batch_bytes(rng.random_range(64..4096));
        let options = ArrowOptions::new().with_time_unit(UNITS[rng.random_range(0..3)]);
        let rows = reference(body.as_bytes(), po, options);
        let columnar = run(body.as_bytes(), &chunks, po, options, true);
        assert_eq!(columnar, rows, "case {case}: {body}");
        let fed = run(body.as_bytes(), &chunks, po, options, false);
        assert_eq!(fed, rows, "case {case}, row path: {body}");
        batches += columnar
            .0
            .iter()
            .filter(|s| matches!(s, Seen::Batch(..)))
            .count();
        // Generated values are valid, except datetimes and timespans that nanoseconds cannot
        // hold; both paths must then fail alike.
        assert!(
            matches!(
                columnar.1,
                End::Complete | End::PartialFailure(_) | End::Conversion(..)
            ),
            "case {case}: {:?}",
            columnar.1
        );
    }
    assert!(batches > 500, "only {batches} batches");
}

#[test]
fn bad_cells_fail_on_both_paths() {
    let mut rng = bodies::rng(17);
    for (ty, bad) in [
        ("int", "2147483648"),
        ("long", "9223372036854775808"),
        ("long", "1.5"),
        ("long", "\"x\""),
        ("bool", "2"),
        ("datetime", "\"2024-02-30T00:00:00Z\""),
        ("datetime", "12"),
        ("guid", "\"nope\""),
        ("real", "[1]"),
        ("real", "\"nan\""),
        ("decimal", "\"1.2.3\""),
        ("timespan", "1.5"),
    ] {
        let types = ["long", ty];
        let good = rows_json(&mut rng, &types, 3, false);
        let rows = format!("{},[1,{bad}]]", &good[..good.len() - 1]);
        let body = format!(
            r#"[{{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"}},{{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T","Columns":{},"Rows":{rows}}},{{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}}]"#,
            columns_json(&types)
        );
        let po = ParserOptions::new();
        let o = ArrowOptions::new();
        let (_, end) = run(body.as_bytes(), &[body.len()], po, o, true);
        assert_eq!(end, End::Malformed, "{ty} {bad}");
        assert_same(ty, body.as_bytes(), &[5], po, o);
    }
}

#[test]
fn out_of_range_times_are_the_same_conversion_error() {
    let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T","Columns":[{"ColumnName":"t","ColumnType":"datetime"}],"Rows":[["2000-01-01T00:00:00Z"],["0001-01-01T00:00:00Z"]]},
{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
    let po = ParserOptions::new();
    let (_, end) = run(body.as_bytes(), &[9], po, ArrowOptions::new(), true);
    assert_eq!(end, End::Conversion(Some(1), "t".into()));
    assert_same("range", body.as_bytes(), &[9], po, ArrowOptions::new());
    // Microseconds hold the full range.
    let micro = ArrowOptions::new().with_time_unit(ArrowTimeUnit::Microsecond);
    let (seen, end) = run(body.as_bytes(), &[9], po, micro, true);
    assert_eq!(end, End::Complete);
    assert!(
        seen.iter()
            .any(|s| matches!(s, Seen::Batch(_, b) if b.num_rows() == 2))
    );
}

fn chunked(
    body: &str,
    size: usize,
) -> impl futures::Stream<Item = kusto_data::Result<bytes::Bytes>> + use<> {
    let chunks: Vec<_> = body
        .as_bytes()
        .chunks(size)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

#[tokio::test]
async fn the_stream_api_gives_the_batches_of_the_row_api() {
    let mut rng = bodies::rng(99);
    let types = ["long", "real", "string", "dynamic", "datetime"];
    let body = format!(
        r#"[{{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"}},
{{"FrameType":"DataTable","TableId":0,"TableKind":"QueryProperties","TableName":"@ExtendedProperties","Columns":[{{"ColumnName":"Value","ColumnType":"dynamic"}}],"Rows":[[{{"Visualization":null}}]]}},
{{"FrameType":"TableHeader","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":{}}},
{{"FrameType":"TableFragment","TableFragmentType":"DataAppend","TableId":1,"Rows":{}}},
{{"FrameType":"TableFragment","TableFragmentType":"DataReplace","TableId":1,"Rows":{}}},
{{"FrameType":"TableCompletion","TableId":1,"RowCount":5}},
{{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}}]"#,
        columns_json(&types),
        rows_json(&mut rng, &types, 7, false),
        rows_json(&mut rng, &types, 5, false),
    );
    let po = ParserOptions::new().with_batch_rows(2);
    let options = ArrowOptions::new().with_time_unit(ArrowTimeUnit::Ticks);
    let columnar: Vec<_> = V2EventStream::with_options(chunked(&body, 13), po)
        .primary_record_batches(options)
        .try_collect()
        .await
        .unwrap();
    let rows: Vec<_> = V2EventStream::with_options(chunked(&body, 13), po)
        .primary_batches()
        .map(|b| {
            let b = b.unwrap();
            (
                b.to_record_batch_with(&options).unwrap(),
                b.replaces_previous,
            )
        })
        .collect()
        .await;
    let got: Vec<_> = columnar
        .iter()
        .map(|b| (b.batch.clone(), b.replaces_previous))
        .collect();
    assert_eq!(got, rows);
    // 7 rows in batches of 2, then the replacement's 5 rows.
    let sizes: Vec<_> = columnar.iter().map(|b| b.batch.num_rows()).collect();
    assert_eq!(sizes, [2, 2, 2, 1, 2, 2, 1]);
    assert!(columnar[4].replaces_previous && !columnar[5].replaces_previous);
    assert!(columnar.iter().all(|b| &*b.table_name == "PrimaryResult"));
}

#[test]
fn values_are_exact() {
    let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T","Columns":[{"ColumnName":"l","ColumnType":"long"},{"ColumnName":"r","ColumnType":"real"},{"ColumnName":"d","ColumnType":"decimal"},{"ColumnName":"dy","ColumnType":"dynamic"},{"ColumnName":"t","ColumnType":"datetime"}],
"Rows":[[9007199254740993,"NaN",12345678901234567890.123456789,{ "b" : 1, "a" : [1.50] },"2024-05-01T10:20:30.1234567Z"],
        [null,"-Infinity","12.3400","x\"y",null]]},
{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
    let mut parser = V2Parser::new();
    parser.set_arrow_output(Some(ArrowOptions::new()));
    parser.feed(body.as_bytes());
    parser.end_of_input();
    let mut batch = None;
    while let Some(event) = parser.next_event().unwrap() {
        if let V2Event::RecordBatch { batch: b, .. } = event {
            batch = Some(b);
        }
    }
    let batch = batch.unwrap();
    let l = batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!((l.value(0), l.is_null(1)), (9_007_199_254_740_993, true));
    let r = batch
        .column(1)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert!(r.value(0).is_nan());
    assert_eq!(r.value(1), f64::NEG_INFINITY);
    let d = batch
        .column(2)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(d.value(0), "12345678901234567890.123456789");
    assert_eq!(d.value(1), "12.3400");
    let dy = batch
        .column(3)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(dy.value(0), r#"{"b":1,"a":[1.5]}"#);
    assert_eq!(dy.value(1), r#""x\"y""#);
    let t = batch
        .column(4)
        .as_any()
        .downcast_ref::<kusto_data::arrow::array::TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(t.value(0), 1_714_558_830_123_456_700);
    assert!(t.is_null(1));
}

/// The tables a collection of `body` gives (`DataSetBuilder` fed in `chunks`, as
/// `collect_dataset` does), each as its name and its rows as `Debug` text (so that NaN compares
/// equal to NaN), next to the rows of the row path's events replayed by hand (`Rows` appended,
/// `Replace` clearing), and each collected table's record batch next to `to_record_batch` of the
/// replayed rows.
fn collected_and_replayed(body: &[u8], chunks: &[usize], po: ParserOptions) -> (String, String) {
    use kusto_data::response::{DataSetBuilder, Row};
    let mut parser = V2Parser::with_options(po);
    let mut builder = DataSetBuilder::new();
    // Per table: id, name, columns, rows.
    type Replayed = (i64, String, Arc<[Column]>, Vec<Row>);
    let mut replayed: Vec<Replayed> = Vec::new();
    let mut failed = None;
    let mut at = 0;
    let mut sizes = chunks.iter().cycle();
    let mut ended = false;
    while failed.is_none() {
        match parser.next_event() {
            Ok(Some(event)) => {
                match &event {
                    V2Event::TableStart(h) => {
                        replayed.push((h.table_id, h.name.clone(), h.columns.clone(), Vec::new()))
                    }
                    V2Event::Rows { table_id, rows } => {
                        if let Some(t) = replayed.iter_mut().find(|t| t.0 == *table_id) {
                            t.3.extend(rows.iter().cloned());
                        }
                    }
                    V2Event::Replace { table_id } => {
                        if let Some(t) = replayed.iter_mut().find(|t| t.0 == *table_id) {
                            t.3.clear();
                        }
                    }
                    _ => {}
                }
                builder.push(event);
            }
            Ok(None) if ended => break,
            Ok(None) if at < body.len() => {
                let end = (at + (*sizes.next().unwrap_or(&body.len())).max(1)).min(body.len());
                parser.feed(&body[at..end]);
                at = end;
            }
            Ok(None) => {
                parser.end_of_input();
                ended = true;
            }
            Err(e) => failed = Some(end_of(e)),
        }
    }
    let data = builder.finish();
    let collected: Vec<String> = data
        .tables()
        .iter()
        .map(|t| {
            let batch = t.to_record_batch().map_err(end_of);
            format!("{} {:?} {:?}", t.name(), t.to_rows(), batch)
        })
        .collect();
    let expected: Vec<String> = replayed
        .iter()
        .map(|(_, name, columns, rows)| {
            let batch = to_record_batch(columns, rows, &ArrowOptions::default()).map_err(end_of);
            format!("{name} {rows:?} {batch:?}")
        })
        .collect();
    (
        format!("{collected:#?} {failed:?}"),
        format!("{expected:#?} {failed:?}"),
    )
}

#[test]
fn collected_tables_hold_the_rows_of_the_row_path() {
    for (name, body) in fixtures() {
        for chunks in [&[usize::MAX][..], &[1], &[7, 300]] {
            let (collected, expected) = collected_and_replayed(&body, chunks, ParserOptions::new());
            assert_eq!(collected, expected, "{name}, chunks {chunks:?}");
        }
    }
    let mut rng = bodies::rng(0x5EED_C011);
    let mut rows = 0;
    for case in 0..300 {
        let body = random_body(&mut rng);
        let chunks: Vec<usize> = (0..rng.random_range(1..6))
            .map(|_| rng.random_range(1..200))
            .collect();
        let po = ParserOptions::new().with_batch_rows(rng.random_range(1..12));
        let (collected, expected) = collected_and_replayed(body.as_bytes(), &chunks, po);
        assert_eq!(collected, expected, "case {case}: {body}");
        rows += body.matches("],[").count();
    }
    assert!(rows > 1000, "only about {rows} rows generated");
}
