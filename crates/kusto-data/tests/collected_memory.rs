//! A collected result is held by column in about the memory of its values: `parse_v2` of a
//! generated body (the 10-column mix of the Q1 benchmark) may not raise the peak resident set by
//! more than 1.5x the body's size above the body itself (a `KustoValue` per cell needed about
//! nine times the body). A memory bound, not a timing assertion; its own test binary so that no
//! other test shares the process's peak. Linux only (`/proc/self`).
#![cfg(target_os = "linux")]

use kusto_data::response::parse_v2;

mod common;
use common::status_kib;

const ROWS: u64 = 300_000;

fn body() -> Vec<u8> {
    let mut s = String::from(concat!(
        r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"}"#,
        "\n,",
        r#"{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":["#,
        r#"{"ColumnName":"id","ColumnType":"long"},{"ColumnName":"text","ColumnType":"string"},"#,
        r#"{"ColumnName":"x","ColumnType":"real"},{"ColumnName":"t","ColumnType":"datetime"},"#,
        r#"{"ColumnName":"ts","ColumnType":"timespan"},{"ColumnName":"g","ColumnType":"guid"},"#,
        r#"{"ColumnName":"dy","ColumnType":"dynamic"},{"ColumnName":"b","ColumnType":"bool"},"#,
        r#"{"ColumnName":"n","ColumnType":"int"},{"ColumnName":"d","ColumnType":"decimal"}],"Rows":["#
    ));
    for i in 0..ROWS {
        if i > 0 {
            s.push(',');
        }
        let null = i % 7 == 3;
        s.push_str(&format!(
            "[{i},\"event {i}: request served from cache, status ok\",{},\"2024-05-01T10:20:30.{:07}Z\",\"{}.01:02:03.5000000\",\"00000000-0000-4000-8000-{:012x}\",{},{},{},\"{}.25\"]",
            i as f64 * 0.5,
            i % 10_000_000,
            i % 100,
            i,
            if null { "null".to_owned() } else { format!("{{\"k\":{i},\"tags\":[\"a\",\"b\"]}}") },
            i.is_multiple_of(2),
            if null { "null".to_owned() } else { (i % 1000).to_string() },
            i
        ));
    }
    s.push_str(
        "]}\n,{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}\n]",
    );
    s.into_bytes()
}

#[test]
fn parse_v2_holds_a_result_in_less_than_one_and_a_half_times_its_body() {
    let body = body();
    // Reset the peak to the current resident set (which holds the body).
    std::fs::write("/proc/self/clear_refs", "5").expect("clear_refs is writable on Linux");
    let before = status_kib("VmRSS:");
    let data = parse_v2(&body).expect("the generated body parses");
    let peak = status_kib("VmHWM:");
    let table = data.primary_result().expect("a primary result");
    assert_eq!(table.len(), ROWS as usize);
    // The values are there: spot checks on both ends and on a null row.
    let last = table.row(ROWS as usize - 1).expect("last row");
    assert_eq!(last.get_i64("id").unwrap(), Some(ROWS as i64 - 1));
    assert_eq!(
        last.get_decimal("d").unwrap().map(|d| d.to_string()),
        Some(format!("{}.25", ROWS - 1))
    );
    assert_eq!(
        last.get_string("text").unwrap(),
        Some(format!("event {}: request served from cache, status ok", ROWS - 1).as_str())
    );
    assert_eq!(
        table.row(3).unwrap().get_dynamic("dy").unwrap(),
        None,
        "row 3 has a null dynamic"
    );
    assert_eq!(
        table
            .row(4)
            .unwrap()
            .get_dynamic_json("dy")
            .unwrap()
            .as_deref(),
        Some(r#"{"k":4,"tags":["a","b"]}"#)
    );
    let added = (peak.saturating_sub(before)) * 1024;
    let ratio = added as f64 / body.len() as f64;
    eprintln!(
        "body {} bytes, {} rows; peak above the body {} bytes = {ratio:.2}x the body",
        body.len(),
        ROWS,
        added
    );
    assert!(
        ratio < 1.5,
        "parse_v2 raised the peak by {added} bytes, {ratio:.2}x the {}-byte body",
        body.len()
    );
    drop(data);
}
