//! The recorded python-SDK fixtures `deft.json`, `deft_with_progressive_result.json`,
//! `null_values.json` and `dynamic.json`: the fixture's rows are put into the emulator, queried
//! over HTTP with a plain client, and the v2 answer is compared with the recording: frame kinds,
//! secondary tables, column names and types, and every row value byte for byte.
//!
//! Where the recording's bytes are not what a current service writes for the same value, the
//! expected bytes are derived from the recording by one documented rule (never by asking the
//! emulator):
//!
//! * datetimes: the 2018 recording writes 7 fractional digits always (`01:01:01.0000000Z`);
//!   current servers, and the emulator, trim trailing zeros (`01:01:01Z`, kusto-protocol.md 3.7).
//!
//! Dynamic objects must keep the recorded key order: the workspace enables serde_json's
//! `preserve_order` feature, and `serde_json_keeps_the_key_order_of_objects` fails if it is lost.

mod common;

use common::*;
use kusto_emulator::{Column, KustoType, Value as KValue};
use serde_json::{Value, json};

/// Removes the whitespace outside string literals.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The raw texts of the top-level items of a minified JSON array or object.
fn items(container: &str) -> Vec<&str> {
    assert!(
        container.len() >= 2 && matches!(&container[..1], "[" | "{"),
        "not a container: {container}"
    );
    let inner = &container[1..container.len() - 1];
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for (i, b) in inner.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                out.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner.is_empty() {
        out.push(&inner[start..]);
    }
    out
}

/// The raw text of the value of `key` in a minified JSON object.
fn field<'a>(object: &'a str, key: &str) -> &'a str {
    let prefix = format!("\"{key}\":");
    items(object)
        .into_iter()
        .find_map(|item| item.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {key} in {object}"))
}

/// The frames of a recorded fixture, minified, with their parsed form.
fn recording(name: &str) -> Vec<(String, Value)> {
    array_elements(&fixture(name))
        .into_iter()
        .map(|raw| {
            let text = minify(&raw);
            let parsed = serde_json::from_str(&text).expect("fixture frame");
            (text, parsed)
        })
        .collect()
}

/// The frames of one of our answers: each line's raw text and its parsed form.
fn answer_frames(a: &Answer) -> Vec<(String, Value)> {
    frame_lines(&a.text).into_iter().zip(a.frames()).collect()
}

fn kinds(frames: &[(String, Value)]) -> Vec<String> {
    frames
        .iter()
        .map(|(_, f)| f["FrameType"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn table<'a>(frames: &'a [(String, Value)], kind: &str) -> &'a (String, Value) {
    frames
        .iter()
        .find(|(_, f)| f["TableKind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} table"))
}

#[test]
fn serde_json_keeps_the_key_order_of_objects() {
    assert!(
        objects_keep_key_order(),
        "serde_json's preserve_order feature must be on (workspace Cargo.toml)"
    );
}

/// Whether this build's serde_json keeps the key order of objects (`preserve_order`).
fn objects_keep_key_order() -> bool {
    let text = r#"{"b":1,"a":2}"#;
    serde_json::from_str::<Value>(text)
        .map(|v| v.to_string())
        .ok()
        == Some(text.to_string())
}

/// What a current service (and the emulator) writes for a value recorded as `raw` in a column
/// of type `ty`; see the module documentation for the two rules.
fn expected_bytes(raw: &str, ty: &str) -> String {
    match ty {
        "datetime" if raw != "null" => {
            let text: String = serde_json::from_str(raw).expect("a datetime string");
            let (whole, fraction) = text
                .strip_suffix('Z')
                .and_then(|t| t.split_once('.'))
                .unwrap_or((&text, ""));
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("\"{}Z\"", whole.trim_end_matches('Z'))
            } else {
                format!("\"{whole}.{fraction}Z\"")
            }
        }
        _ => raw.to_string(),
    }
}

/// Compares the rows of our primary table with the recorded one, value by value.
fn assert_rows_match(ours: &str, recorded: &str, types: &[String]) {
    let our_rows = items(field(ours, "Rows"));
    let recorded_rows = items(field(recorded, "Rows"));
    assert_eq!(our_rows.len(), recorded_rows.len(), "row count");
    for (r, (our_row, recorded_row)) in our_rows.iter().zip(&recorded_rows).enumerate() {
        let our_values = items(our_row);
        let recorded_values = items(recorded_row);
        assert_eq!(our_values.len(), types.len(), "row {r}: {our_row}");
        assert_eq!(
            recorded_values.len(),
            types.len(),
            "row {r}: {recorded_row}"
        );
        for (c, ty) in types.iter().enumerate() {
            assert_eq!(
                our_values[c],
                expected_bytes(recorded_values[c], ty),
                "row {r}, column {c} ({ty}); recorded {}",
                recorded_values[c]
            );
        }
    }
}

/// The `(name, type)` pairs of a recorded table.
fn column_types(frame: &Value) -> Vec<String> {
    columns(frame).into_iter().map(|(_, t)| t).collect()
}

/// A CSV field holding a recorded value: strings as their text, dynamic values as their JSON
/// text, other scalars as their JSON text, null as an empty field.
fn csv_field(raw: &str, ty: &str) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    if raw == "null" {
        return String::new();
    }
    if ty == "dynamic" {
        return quote(raw);
    }
    match serde_json::from_str::<Value>(raw).expect("a JSON scalar") {
        Value::String(s) => quote(&s),
        _ => raw.to_string(),
    }
}

/// The header, secondary tables and completion frame of our answer against a recording.
fn assert_frame_shapes_match(ours: &[(String, Value)], recorded: &[(String, Value)]) {
    // The recorded header comes from an older server (no IsFragmented / ErrorReportingPlacement):
    // its keys come first in ours, with the same values.
    let recorded_header = recorded[0].1.as_object().unwrap();
    let our_header = ours[0].1.as_object().unwrap();
    let our_keys: Vec<&String> = our_header.keys().collect();
    let header_keys = keys_in_order(&ours[0].0);
    assert_eq!(
        header_keys[..recorded_header.len()],
        keys_in_order(&recorded[0].0)[..],
        "{our_keys:?}"
    );
    for (k, v) in recorded_header {
        assert_eq!(&our_header[k], v, "DataSetHeader.{k}");
    }
    // Secondary tables: same names, kinds and column bytes.
    for kind in ["QueryProperties", "QueryCompletionInformation"] {
        let (our_text, our_frame) = table(ours, kind);
        let (recorded_text, recorded_frame) = table(recorded, kind);
        assert_eq!(
            our_frame["TableName"], recorded_frame["TableName"],
            "{kind}"
        );
        assert_eq!(
            field(our_text, "Columns"),
            field(recorded_text, "Columns"),
            "{kind}"
        );
    }
    // One Visualization row per primary table, and the QueryInfo/Stats rows as recorded.
    let props = &table(ours, "QueryProperties").1["Rows"];
    assert_eq!(props[0][0], 1);
    assert_eq!(props[0][1], "Visualization");
    let event_names = |frame: &Value| {
        frame["Rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[5].clone(), r[6].clone(), r[8].clone(), r[10].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        event_names(&table(ours, "QueryCompletionInformation").1),
        event_names(&table(recorded, "QueryCompletionInformation").1)
    );
    // DataSetCompletion byte for byte.
    assert_eq!(ours.last().unwrap().0, recorded.last().unwrap().0);
}

#[tokio::test]
async fn deft_rows_ingested_inline_come_back_as_recorded() {
    let recorded = recording("azure-kusto-python/deft.json");
    let (recorded_primary_text, recorded_primary) = table(&recorded, "PrimaryResult");
    let cols = columns(recorded_primary);
    let types = column_types(recorded_primary);
    assert_eq!(cols.len(), 19, "the recording's Deft schema");

    // `.create table` with the recorded schema, `.ingest inline` of the recorded rows as CSV.
    let emu = start().await;
    let schema: Vec<String> = cols.iter().map(|(n, t)| format!("{n}:{t}")).collect();
    let csv: Vec<String> = items(field(recorded_primary_text, "Rows"))
        .into_iter()
        .map(|row| {
            items(row)
                .into_iter()
                .zip(&types)
                .map(|(raw, ty)| csv_field(raw, ty))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_eq!(csv.len(), 11);
    table_with(&emu, "Emu", "Deft", &schema.join(", "), &csv.join("\n")).await;

    let a = query(&emu, "Emu", "Deft", json!({})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let ours = answer_frames(&a);
    assert_eq!(kinds(&ours), kinds(&recorded));
    assert_frame_shapes_match(&ours, &recorded);
    let (our_primary_text, our_primary) = table(&ours, "PrimaryResult");
    // The recording names its primary table after the queried table; current servers (and the
    // emulator) call it PrimaryResult unless the query names it (kusto-protocol.md 3.4).
    assert_eq!(recorded_primary["TableName"], "Deft");
    assert_eq!(our_primary["TableName"], "PrimaryResult");
    assert_eq!(our_primary["TableId"], recorded_primary["TableId"]);
    assert_eq!(
        field(our_primary_text, "Columns"),
        field(recorded_primary_text, "Columns"),
        "column names and types, byte for byte"
    );
    assert_rows_match(our_primary_text, recorded_primary_text, &types);
    // The rules of expected_bytes changed only what they document: one zero-fraction
    // datetime.
    assert!(our_primary_text.contains(r#""2014-01-01T01:01:01Z""#));
    assert!(our_primary_text.contains(r#""2015-01-01T01:01:01.0000001Z""#));
    assert!(our_primary_text.contains(r#""-2.00:00:02.0020002","",{"#));

    // deft_with_progressive_result.json holds the same table; its stray TableProgress frame
    // (kusto-protocol.md 3.3, 13.4) is a client concern: the emulator writes none outside
    // progressive mode, and the other frames are the same.
    let with_progress = recording("azure-kusto-python/deft_with_progressive_result.json");
    let mut without_progress = kinds(&with_progress);
    without_progress.retain(|k| k != "TableProgress");
    assert_eq!(kinds(&ours), without_progress);
    assert_eq!(kinds(&with_progress).len(), without_progress.len() + 1);
    let (progress_primary_text, progress_primary) = table(&with_progress, "PrimaryResult");
    assert_eq!(column_types(progress_primary), types);
    assert_rows_match(our_primary_text, progress_primary_text, &types);
}

#[tokio::test]
async fn null_values_in_every_type_are_written_as_recorded() {
    let recorded = recording("azure-kusto-python/null_values.json");
    let (recorded_text, recorded_primary) = table(&recorded, "PrimaryResult");
    let cols: Vec<Column> = columns(recorded_primary)
        .into_iter()
        .map(|(n, t)| Column::new(n, KustoType::parse(&t).expect("a Kusto type")))
        .collect();
    assert_eq!(cols.len(), 10, "all ten types");

    // Through the Store API a string column can hold a null, as in the recording.
    let emu = start().await;
    let store = emu.store();
    store.ensure_database("Emu").unwrap();
    store.create_table("Emu", "Nulls", &cols, false).unwrap();
    store
        .append_rows("Emu", "Nulls", vec![vec![KValue::Null; cols.len()]])
        .unwrap();
    let a = query(&emu, "Emu", "Nulls", json!({})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let ours = answer_frames(&a);
    assert_eq!(kinds(&ours), kinds(&recorded));
    assert_frame_shapes_match(&ours, &recorded);
    let (our_text, _) = table(&ours, "PrimaryResult");
    assert_eq!(field(our_text, "Columns"), field(recorded_text, "Columns"));
    assert_eq!(field(our_text, "Rows"), field(recorded_text, "Rows"));
    assert_eq!(
        field(our_text, "Rows"),
        "[[null,null,null,null,null,null,null,null,null,null]]"
    );

    // Ingested from CSV, an empty field is an empty string in a string column and null in
    // the others: what the service normally writes (kusto-protocol.md 3.7, 8.2).
    mgmt_ok(&emu, "Emu", ".ingest inline into table Nulls <|\n,,,,,,,,,").await;
    let rows = query_rows(&emu, "Emu", "Nulls | where isnotnull(String)").await;
    assert_eq!(
        rows,
        vec![json!([
            "", null, null, null, null, null, null, null, null, null
        ])]
    );
}

#[tokio::test]
async fn dynamic_values_printed_as_recorded() {
    let recorded = recording("azure-kusto-python/dynamic.json");
    let (recorded_text, recorded_primary) = table(&recorded, "PrimaryResult");
    let types = column_types(recorded_primary);
    assert_eq!(types, vec!["dynamic"; 6]);
    let emu = start().await;
    // A number, a string, a string that is not JSON, null, a string holding JSON text, and an
    // object: each as a dynamic literal.
    let csl = r#"print dynamic(123), dynamic("123"), dynamic("test bad json"), dynamic(null), dynamic("{\"rowId\":2,\"arr\":[0,2]}"), dynamic({"rowId":2,"arr":[0,2]})"#;
    let a = query(&emu, "Emu", csl, json!({})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let ours = answer_frames(&a);
    assert_eq!(kinds(&ours), kinds(&recorded));
    assert_frame_shapes_match(&ours, &recorded);
    let (our_text, our_primary) = table(&ours, "PrimaryResult");
    assert_eq!(our_primary["TableName"], recorded_primary["TableName"]);
    assert_eq!(field(our_text, "Columns"), field(recorded_text, "Columns"));
    assert_rows_match(our_text, recorded_text, &types);
}
