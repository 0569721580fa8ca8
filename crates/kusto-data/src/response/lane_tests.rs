//! Differential tests of the fast lane, in the crate so that they can read the parser's row
//! counts. The reference is the row path fed **one byte at a time**: the parser then never holds
//! a whole row when it reaches the row's start, so no row takes the lane and every row is
//! decoded by the serde decoder (checked below: the reference's lane count is zero). The paths
//! under test are fed in larger chunks, where most rows take the lane (checked too, so that the
//! comparisons are not vacuous):
//!
//! * the row path's events ([`V2Event::Rows`] and the rest), event for event;
//! * collected tables ([`parse_v2`], [`V2EventStream::collect_dataset`], a parser collecting
//!   tables itself): every table's rows, its dynamic values' JSON text, and the data a partial
//!   failure carries, against the reference's rows collected by [`DataSetBuilder::push`].
//!
//! on every recorded fixture and on generated bodies (`tests/support/bodies.rs`) with random
//! chunk boundaries and batch sizes, and on bad cells (same errors). The Arrow path is compared
//! with the same reference in `tests/columnar.rs`.

use std::fmt::Write as _;

use crate::Error;

use super::{DataSet, DataSetBuilder, ParserOptions, V2Event, V2EventStream, V2Parser, parse_v2};

// Shared with the integration tests, where its items are public.
#[path = "../../tests/support/bodies.rs"]
#[allow(unreachable_pub)]
mod bodies;

use bodies::{columns_json, rows_json};

/// Feeds `body` to `parser` in `chunks` (cycled; `usize::MAX` for the whole body), handing each
/// event to `on_event`: the error that ended parsing, if any.
fn drive(
    parser: &mut V2Parser,
    body: &[u8],
    chunks: &[usize],
    mut on_event: impl FnMut(&mut V2Parser, V2Event),
) -> Option<Error> {
    let mut sizes = chunks.iter().cycle();
    let (mut at, mut ended) = (0, false);
    loop {
        match parser.next_event() {
            Ok(Some(event)) => on_event(parser, event),
            Ok(None) if ended => return None,
            Ok(None) if at < body.len() => {
                let n = (*sizes.next().unwrap_or(&usize::MAX)).max(1);
                let end = at.saturating_add(n).min(body.len());
                parser.feed(&body[at..end]);
                at = end;
            }
            Ok(None) => {
                parser.end_of_input();
                ended = true;
            }
            Err(e) => return Some(e),
        }
    }
}

/// What one run saw, as text (so that NaN equals NaN), and the parser's row counts.
struct Seen {
    text: String,
    lane_rows: u64,
    decoded_rows: u64,
}

/// The row path: every event as `Debug` text, then the error.
fn rows(body: &[u8], chunks: &[usize], po: ParserOptions) -> Seen {
    let mut parser = V2Parser::with_options(po);
    let mut text = String::new();
    let error = drive(&mut parser, body, chunks, |_, event| {
        let _ = writeln!(text, "{event:?}");
    });
    let _ = write!(text, "end: {error:?}");
    let (lane_rows, decoded_rows) = parser.row_counts();
    Seen {
        text,
        lane_rows,
        decoded_rows,
    }
}

/// Every table of a data set: header, columns, rows, and the JSON text of dynamic cells.
fn dataset_text(data: &DataSet) -> String {
    let mut text = format!("{:?}\n{:?}\n", data.header(), data.completion());
    for t in data.tables() {
        let _ = writeln!(
            text,
            "table {} {} {:?} {:?}: {} rows\n{:?}",
            t.id(),
            t.kind(),
            t.name(),
            t.columns(),
            t.len(),
            t.to_rows()
        );
        for row in t.rows() {
            for i in 0..row.len() {
                if let Ok(Some(json)) = row.get_dynamic_json(i) {
                    let _ = write!(text, "{json} ");
                }
            }
        }
    }
    text
}

/// How collection ended: the data set or the error, with the data a partial failure carries.
fn collected_text(result: Result<DataSet, Error>) -> String {
    match result {
        Ok(data) => format!("complete\n{}", dataset_text(&data)),
        Err(Error::PartialFailure(f)) => format!(
            "partial failure {:?}\n{}",
            f.errors,
            f.data.as_deref().map(dataset_text).unwrap_or_default()
        ),
        Err(e) => format!("error {e:?}"),
    }
}

/// The reference's collection: the row path fed one byte at a time, its events collected by
/// [`DataSetBuilder::push`] (a `Vec<KustoValue>` per row into the column buffers).
fn reference_collected(body: &[u8], po: ParserOptions) -> (String, Seen) {
    let mut parser = V2Parser::with_options(po);
    let mut builder = DataSetBuilder::new();
    let error = drive(&mut parser, body, &[1], |_, event| builder.push(event));
    let result = match error {
        None => Ok(builder.finish()),
        Some(e) => Err(builder.attach(e)),
    };
    let (lane_rows, decoded_rows) = parser.row_counts();
    let text = collected_text(result);
    (
        text.clone(),
        Seen {
            text,
            lane_rows,
            decoded_rows,
        },
    )
}

/// A parser collecting tables itself (as `parse_v2` does), fed in `chunks`.
fn collected(body: &[u8], chunks: &[usize], po: ParserOptions) -> Seen {
    let mut parser = V2Parser::with_options(po);
    parser.collect_tables();
    let mut builder = DataSetBuilder::new();
    let error = drive(&mut parser, body, chunks, |p, event| {
        builder.push_from(event, p)
    });
    let result = match error {
        None => Ok(builder.finish()),
        Some(e) => Err(builder.attach(e)),
    };
    let (lane_rows, decoded_rows) = parser.row_counts();
    Seen {
        text: collected_text(result),
        lane_rows,
        decoded_rows,
    }
}

/// Lane and serde row counts of the runs under test.
#[derive(Debug, Default)]
struct Counts {
    lane: u64,
    decoded: u64,
}

/// Checks every path against the reference on one body; adds the row counts of the runs under
/// test to `counts`.
fn check(name: &str, body: &[u8], chunks: &[usize], po: ParserOptions, counts: &mut Counts) {
    let reference = rows(body, &[1], po);
    assert_eq!(
        reference.lane_rows, 0,
        "{name}: the reference took the lane"
    );
    let fed = rows(body, chunks, po);
    assert_eq!(
        fed.text, reference.text,
        "{name}: chunks {chunks:?}, {po:?}: the row path differs from the reference"
    );
    let (expected, collected_reference) = reference_collected(body, po);
    assert_eq!(collected_reference.lane_rows, 0, "{name}");
    assert_eq!(collected_reference.decoded_rows, reference.decoded_rows);
    let got = collected(body, chunks, po);
    assert_eq!(
        got.text, expected,
        "{name}: chunks {chunks:?}, {po:?}: the collected tables differ from the reference"
    );
    for seen in [&fed, &got] {
        counts.lane += seen.lane_rows;
        counts.decoded += seen.decoded_rows;
    }
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let root = format!("{}/../../fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["azure-kusto-python", "azure-kusto-rust"] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
            panic!("the fixtures are in {root}/{dir}");
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let body = std::fs::read(&path).unwrap_or_default();
            // v2 bodies only (a JSON array of frames).
            if path.extension().is_some_and(|e| e == "json")
                && body.trim_ascii_start().starts_with(b"[")
            {
                out.push((path.display().to_string(), body));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_gives_the_reference_rows_and_tables_in_any_chunks() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 10, "expected the recorded v2 fixtures");
    let mut counts = Counts::default();
    for (name, body) in &fixtures {
        for chunks in [&[usize::MAX][..], &[7, 3, 64], &[4096], &[2]] {
            for batch_rows in [1, 3, 4096] {
                let po = ParserOptions::new().with_batch_rows(batch_rows);
                check(name, body, chunks, po, &mut counts);
            }
        }
        // parse_v2 itself (256 KiB chunks: the whole of a fixture).
        let (expected, _) = reference_collected(body, ParserOptions::new());
        assert_eq!(collected_text(parse_v2(body)), expected, "{name}: parse_v2");
    }
    // Not vacuous: the lane took rows, and the serde decoder took the rows cut by a chunk
    // boundary (and the error rows and odd cells of the fixtures).
    assert!(counts.lane > 300, "{counts:?}");
    assert!(counts.decoded > 1000, "{counts:?}");
}

#[test]
fn generated_bodies_give_the_reference_rows_and_tables_in_any_chunks() {
    let mut rng = bodies::rng(0x1A4E_0030);
    let mut counts = Counts::default();
    for case in 0..300 {
        let body = bodies::random_body(&mut rng);
        let chunks: Vec<usize> = (0..bodies::pick_index(&mut rng, 1, 6))
            .map(|_| bodies::pick_index(&mut rng, 1, 400))
            .collect();
        let po = ParserOptions::new()
            .with_batch_rows(bodies::pick_index(&mut rng, 1, 12))
            .with_batch_bytes(bodies::pick_index(&mut rng, 64, 4096));
        check(
            &format!("case {case}: {body}"),
            body.as_bytes(),
            &chunks,
            po,
            &mut counts,
        );
    }
    assert!(counts.lane > 2000, "{counts:?}");
    assert!(counts.decoded > 2000, "{counts:?}");
}

#[test]
fn bad_cells_fail_alike_on_every_path() {
    let mut rng = bodies::rng(30);
    let mut counts = Counts::default();
    for (ty, bad) in [
        ("int", "2147483648"),
        ("long", "9223372036854775808"),
        ("long", "1.5"),
        ("long", "\"x\""),
        ("bool", "2"),
        ("datetime", "\"2024-02-30T00:00:00Z\""),
        ("datetime", "\"2024-02-01T00:00:00.1234567890Z\""),
        ("datetime", "12"),
        ("timespan", "\"24:00:00\""),
        ("guid", "\"nope\""),
        ("real", "[1]"),
        ("real", "\"nan\""),
        ("real", "1e400"),
        ("decimal", "\"1.2.3\""),
        ("decimal", "\"123456789012345678901234567890123456789\""),
        ("dynamic", "{\"a\":1,}"),
        ("string", "[1,]"),
        ("timespan", "1.5"),
    ] {
        let types = ["long", ty, "string"];
        let good = rows_json(&mut rng, &types, 3, false);
        let table_rows = format!("{},[1,{bad},\"x\"]]", &good[..good.len() - 1]);
        let body = format!(
            r#"[{{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"}},{{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T","Columns":{},"Rows":{table_rows}}},{{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}}]"#,
            columns_json(&types)
        );
        let seen = rows(body.as_bytes(), &[usize::MAX], ParserOptions::new());
        assert!(
            seen.text.contains("MalformedResponse"),
            "{ty} {bad}: {}",
            seen.text
        );
        for chunks in [&[usize::MAX][..], &[5]] {
            check(
                &format!("{ty} {bad}"),
                body.as_bytes(),
                chunks,
                ParserOptions::new(),
                &mut counts,
            );
        }
    }
    assert!(counts.lane > 0, "{counts:?}");
}

#[tokio::test]
async fn collect_dataset_gives_the_tables_of_parse_v2() {
    let mut rng = bodies::rng(0x0C01_1EC7);
    for case in 0..40 {
        let body = bodies::random_body(&mut rng);
        let (expected, _) = reference_collected(body.as_bytes(), ParserOptions::new());
        assert_eq!(
            collected_text(parse_v2(body.as_bytes())),
            expected,
            "case {case}: parse_v2: {body}"
        );
        let size = bodies::pick_index(&mut rng, 1, 300);
        let chunks: Vec<Result<bytes::Bytes, Error>> = body
            .as_bytes()
            .chunks(size)
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        let data = V2EventStream::new(futures::stream::iter(chunks))
            .collect_dataset()
            .await;
        assert_eq!(
            collected_text(data),
            expected,
            "case {case}: collect_dataset: {body}"
        );
    }
}
