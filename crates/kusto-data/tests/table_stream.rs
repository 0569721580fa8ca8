//! `V2EventStream::primary_tables` (primary results in column-major chunks filled by the fast
//! lane) gives the rows of the row stream (`primary_batches`): on every recorded fixture and on
//! generated bodies with random tables, values, escapes, batch sizes and chunk boundaries, with
//! `DataReplace` applied and the same error at the end. The reference is the row stream fed
//! one byte at a time, so that every one of its rows goes through the serde decoder, never the
//! lane. Every chunk holds at most the batch size.

use futures::StreamExt;
use futures::stream;
use kusto_data::response::{ParserOptions, Row, V2EventStream};
use rand::RngExt;

#[path = "support/bodies.rs"]
mod bodies;

fn chunked(body: &[u8], sizes: &[usize]) -> V2EventStream {
    with_options(body, sizes, ParserOptions::new())
}

fn with_options(body: &[u8], sizes: &[usize], po: ParserOptions) -> V2EventStream {
    let mut chunks: Vec<kusto_data::Result<bytes::Bytes>> = Vec::new();
    let mut at = 0;
    let mut sizes = sizes.iter().cycle();
    while at < body.len() {
        let end = (at + (*sizes.next().unwrap_or(&1)).max(1)).min(body.len());
        chunks.push(Ok(bytes::Bytes::copy_from_slice(&body[at..end])));
        at = end;
    }
    V2EventStream::with_options(stream::iter(chunks), po)
}

/// Per primary table (in order of first rows): its name and rows, as `Debug` text (NaN equals
/// NaN there), then how the stream ended.
type Replayed = (Vec<(String, Vec<Row>)>, Option<String>);

fn table_of<'a>(tables: &'a mut Vec<(String, Vec<Row>)>, name: &str) -> &'a mut Vec<Row> {
    if let Some(i) = tables.iter().position(|t| t.0 == name) {
        return &mut tables[i].1;
    }
    tables.push((name.to_owned(), Vec::new()));
    &mut tables.last_mut().unwrap().1
}

fn row_stream(stream: V2EventStream) -> Replayed {
    futures::executor::block_on(async {
        let mut batches = stream.primary_batches();
        let mut tables = Vec::new();
        while let Some(batch) = batches.next().await {
            match batch {
                Ok(batch) => {
                    let rows = table_of(&mut tables, &batch.table_name);
                    if batch.replaces_previous {
                        rows.clear();
                    }
                    rows.extend(batch.rows);
                }
                Err(e) => return (tables, Some(format!("{e:?}"))),
            }
        }
        (tables, None)
    })
}

fn table_stream(stream: V2EventStream, batch_rows: usize) -> Replayed {
    futures::executor::block_on(async {
        let mut batches = stream.primary_tables();
        let mut tables = Vec::new();
        while let Some(batch) = batches.next().await {
            match batch {
                Ok(batch) => {
                    assert!(
                        batch.len() <= batch_rows,
                        "a chunk of {} rows, above the batch size {batch_rows}",
                        batch.len()
                    );
                    let rows = table_of(&mut tables, batch.table.name());
                    if batch.replaces_previous {
                        rows.clear();
                    }
                    rows.extend(batch.table.to_rows());
                }
                Err(e) => return (tables, Some(format!("{e:?}"))),
            }
        }
        (tables, None)
    })
}

fn assert_same(name: &str, body: &[u8], sizes: &[usize], batch_rows: usize) {
    let po = ParserOptions::new().with_batch_rows(batch_rows);
    let expected = row_stream(with_options(body, &[1], po));
    let got = table_stream(with_options(body, sizes, po), batch_rows);
    assert_eq!(
        format!("{got:?}"),
        format!("{expected:?}"),
        "{name}, chunks {sizes:?}, batch {batch_rows}"
    );
}

#[test]
fn every_v2_fixture_gives_the_rows_of_the_row_stream() {
    let fixtures = bodies::v2_fixtures(env!("CARGO_MANIFEST_DIR"));
    assert!(fixtures.len() > 10, "{} fixtures", fixtures.len());
    for (name, body) in &fixtures {
        for sizes in [&[usize::MAX][..], &[1], &[7, 300], &[65536]] {
            for batch_rows in [1, 3, 8192] {
                assert_same(name, body, sizes, batch_rows);
            }
        }
    }
}

#[test]
fn generated_bodies_give_the_rows_of_the_row_stream() {
    let mut rng = bodies::rng(0x7AB1_E5ED);
    let mut rows = 0;
    for case in 0..300 {
        let body = bodies::random_body(&mut rng);
        let sizes: Vec<usize> = (0..rng.random_range(1..6))
            .map(|_| rng.random_range(1..400))
            .collect();
        let batch_rows = rng.random_range(1..12);
        assert_same(
            &format!("case {case}: {body}"),
            body.as_bytes(),
            &sizes,
            batch_rows,
        );
        rows += body.matches("],[").count();
    }
    assert!(rows > 1000, "only about {rows} rows generated");
}

#[test]
fn a_table_already_started_row_by_row_comes_in_chunks_of_its_rows() {
    let body = br#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T","Columns":[{"ColumnName":"n","ColumnType":"long"}],"Rows":[[1],[2],[3]]},
{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
    let expected = row_stream(chunked(body, &[1]));
    // The whole body in one chunk: the parser reads every frame before the tables are asked
    // for only if an event was taken first; take the header event, then ask.
    let mut events = chunked(body, &[usize::MAX]);
    let first = futures::executor::block_on(events.next());
    assert!(matches!(
        first,
        Some(Ok(kusto_data::response::V2Event::DataSetHeader(_)))
    ));
    let got = table_stream(events, 8192);
    assert_eq!(format!("{got:?}"), format!("{expected:?}"));
}
