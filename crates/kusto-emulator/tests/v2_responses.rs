//! v2 query responses over HTTP, compared with the recorded fixtures: frame sequences, key order,
//! secondary tables, value formatting, fragmented and progressive modes, partial failures.

mod common;

use common::*;
use kusto_emulator::Emulator;
use serde_json::{Value, json};

const ALL_TYPES: &str = "b:bool, i:int, l:long, r:real, d:decimal, s:string, g:guid, t:datetime, ts:timespan, dy:dynamic";
const ALL_TYPES_CSV: &str = "true,-7,9007199254740993,2.5,12.3400,\"h\u{e9}llo \"\"q\"\"\",C9B2D3A4-5E6F-4A1B-8C2D-3E4F5A6B7C8D,2024-05-01T10:20:30.1234567Z,1.02:03:04.5000000,\"{\"\"k\"\":[1,\"\"x\"\"]}\"\n,,,NaN,,,,,,";

fn kinds(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["FrameType"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Frames of a fixture, as (raw text, parsed) pairs.
fn fixture_frames(name: &str) -> Vec<(String, Value)> {
    array_elements(&fixture(name))
        .into_iter()
        .map(|t| {
            let v: Value = serde_json::from_str(&t).expect("fixture frame");
            (t, v)
        })
        .collect()
}

async fn events(emu: &kusto_emulator::EmulatorHandle) {
    let csv: Vec<String> = (1..=5).map(|i| format!("{i}")).collect();
    table_with(emu, "Emu", "X", "x:long", &csv.join("\n")).await;
}

#[tokio::test]
async fn default_mode_matches_the_recorded_sequence_and_key_order() {
    let emu = start().await;
    table_with(&emu, "Emu", "T", "print_0:string", "").await;
    let a = query(&emu, "Emu", "T | take 0", json!({})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "application/json; charset=utf-8");
    let ours = a.frames();
    let recorded = fixture_frames("azure-kusto-python/zero_results.json");
    assert_eq!(
        kinds(&ours),
        recorded
            .iter()
            .map(|(_, v)| v["FrameType"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        frame_lines(&a.text)[0],
        r#"{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"}"#
    );
    // Recorded keys come first and in the same order (older servers omit the last two of the header).
    for (line, (text, _)) in frame_lines(&a.text).iter().zip(&recorded) {
        let ours = keys_in_order(line);
        let theirs = keys_in_order(text);
        assert!(
            theirs.len() >= 3 && theirs[0] == "FrameType",
            "recorded keys: {theirs:?}"
        );
        assert_eq!(&ours[..theirs.len()], &theirs[..], "key order of {line}");
    }
    // Secondary tables: same names, kinds and columns as recorded.
    for i in [1usize, 3] {
        assert_eq!(ours[i]["TableName"], recorded[i].1["TableName"]);
        assert_eq!(ours[i]["TableKind"], recorded[i].1["TableKind"]);
        assert_eq!(columns(&ours[i]), columns(&recorded[i].1));
    }
    assert_eq!(ours[1]["TableId"], 0);
    assert_eq!(ours[3]["TableId"], 2);
    let props_row = &ours[1]["Rows"][0];
    assert_eq!(props_row[0], 1);
    assert_eq!(props_row[1], "Visualization");
    assert_eq!(
        props_row[2], recorded[1].1["Rows"][0][2],
        "Visualization JSON text as recorded"
    );
    let qci = ours[3]["Rows"].as_array().unwrap();
    let recorded_qci = recorded[3].1["Rows"].as_array().unwrap();
    let names = |rows: &[Value]| {
        rows.iter()
            .map(|r| (r[5].clone(), r[6].clone(), r[8].clone(), r[10].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(qci), names(recorded_qci));
    assert_eq!(ours[2]["Rows"], json!([]));
    assert_eq!(
        ours[4],
        json!({"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false})
    );
}

#[tokio::test]
async fn values_are_formatted_as_the_service_writes_them() {
    let emu = Emulator::builder().fragment_rows(1).start().await.unwrap();
    table_with(&emu, "Emu", "AllTypes", ALL_TYPES, ALL_TYPES_CSV).await;
    let a = query(
        &emu,
        "Emu",
        "AllTypes",
        json!({"results_v2_fragment_primary_tables": true}),
    )
    .await;
    let lines = frame_lines(&a.text);
    // The constructed example of kusto-protocol.md 3.9, byte for byte.
    assert_eq!(
        lines[2],
        r#"{"FrameType":"TableHeader","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"b","ColumnType":"bool"},{"ColumnName":"i","ColumnType":"int"},{"ColumnName":"l","ColumnType":"long"},{"ColumnName":"r","ColumnType":"real"},{"ColumnName":"d","ColumnType":"decimal"},{"ColumnName":"s","ColumnType":"string"},{"ColumnName":"g","ColumnType":"guid"},{"ColumnName":"t","ColumnType":"datetime"},{"ColumnName":"ts","ColumnType":"timespan"},{"ColumnName":"dy","ColumnType":"dynamic"}]}"#
    );
    assert_eq!(
        lines[3],
        "{\"FrameType\":\"TableFragment\",\"TableFragmentType\":\"DataAppend\",\"TableId\":1,\"Rows\":[[true,-7,9007199254740993,2.5,\"12.3400\",\"h\u{e9}llo \\\"q\\\"\",\"c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d\",\"2024-05-01T10:20:30.1234567Z\",\"1.02:03:04.5000000\",{\"k\":[1,\"x\"]}]]}"
    );
    assert_eq!(
        lines[4],
        r#"{"FrameType":"TableFragment","TableFragmentType":"DataAppend","TableId":1,"Rows":[[null,null,null,"NaN",null,"",null,null,null,null]]}"#
    );
    assert_eq!(
        lines[5],
        r#"{"FrameType":"TableCompletion","TableId":1,"RowCount":2}"#
    );
    // Trimmed datetimes, negative and zero timespans, infinities.
    table_with(
        &emu,
        "Emu",
        "More",
        "t:datetime, ts:timespan, r:real",
        "2007-01-01,-2.00:00:02.0020002,Infinity\n2024-12-29T15:44:26.426308Z,00:00:00,-Infinity",
    )
    .await;
    let rows = query_rows(&emu, "Emu", "More").await;
    assert_eq!(
        rows,
        vec![
            json!(["2007-01-01T00:00:00Z", "-2.00:00:02.0020002", "Infinity"]),
            json!(["2024-12-29T15:44:26.426308Z", "00:00:00", "-Infinity"])
        ]
    );
}

#[tokio::test]
async fn progressive_mode_matches_the_recorded_sequence() {
    let emu = start().await;
    events(&emu).await;
    let a = query(
        &emu,
        "Emu",
        "X",
        json!({"results_progressive_enabled": true}),
    )
    .await;
    let ours = a.frames();
    let recorded = fixture_frames("azure-kusto-python/progressive_result.json");
    assert_eq!(
        kinds(&ours),
        recorded
            .iter()
            .map(|(_, v)| v["FrameType"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    for (line, (text, _)) in frame_lines(&a.text).iter().zip(&recorded) {
        let ours = keys_in_order(line);
        let theirs = keys_in_order(text);
        assert!(
            theirs.len() >= 3 && theirs[0] == "FrameType",
            "recorded keys: {theirs:?}"
        );
        assert_eq!(&ours[..theirs.len()], &theirs[..], "key order of {line}");
    }
    assert_eq!(ours[0]["IsProgressive"], true);
    assert_eq!(ours[3]["Rows"], json!([[1], [2], [3], [4], [5]]));
    assert_eq!(ours[4]["TableProgress"], 100.0);
    assert_eq!(
        ours[5],
        json!({"FrameType":"TableCompletion","TableId":1,"RowCount":5})
    );
    assert_eq!(columns(&ours[6]), columns(&recorded[6].1));
}

#[tokio::test]
async fn fragmented_mode_splits_rows_and_numbers_tables() {
    let emu = Emulator::builder().fragment_rows(2).start().await.unwrap();
    events(&emu).await;
    let a = query(
        &emu,
        "Emu",
        "X | order by x asc; X | count",
        json!({"results_v2_fragment_primary_tables": true}),
    )
    .await;
    let f = a.frames();
    assert_eq!(
        kinds(&f),
        [
            "DataSetHeader",
            "DataTable",
            "TableHeader",
            "TableFragment",
            "TableFragment",
            "TableFragment",
            "TableCompletion",
            "TableHeader",
            "TableFragment",
            "TableCompletion",
            "DataTable",
            "DataSetCompletion"
        ]
    );
    assert_eq!(f[0]["IsFragmented"], true);
    assert_eq!(f[3]["Rows"], json!([[1], [2]]));
    assert_eq!(f[5]["Rows"], json!([[5]]));
    assert_eq!(f[6]["RowCount"], 5);
    assert_eq!(f[7]["TableId"], 2);
    assert_eq!(f[8]["Rows"], json!([[5]]));
    assert_eq!(f[10]["TableId"], 3);
    assert_eq!(f[10]["TableKind"], "QueryCompletionInformation");
    assert_eq!(
        f[1]["Rows"].as_array().unwrap().len(),
        2,
        "one Visualization row per primary table"
    );
    // An empty result still has one (empty) fragment.
    let empty = query(
        &emu,
        "Emu",
        "X | take 0",
        json!({"results_v2_fragment_primary_tables": true}),
    )
    .await
    .frames();
    assert_eq!(
        kinds(&empty)[2..5],
        ["TableHeader", "TableFragment", "TableCompletion"]
    );
    assert_eq!(empty[4]["RowCount"], 0);
}

#[tokio::test]
async fn in_data_partial_failure_matches_the_recorded_shape() {
    let emu = start().await;
    table_with(&emu, "Emu", "X", "x:long", "1\n2\n3\n4\n5\n6\n7").await;
    let a = query(&emu, "Emu", "X", json!({"truncationmaxrecords": 5})).await;
    assert_eq!(a.status, 200);
    let ours = a.frames();
    let recorded = fixture_frames("azure-kusto-python/query_partial_results_defer_is_false.json");
    assert_eq!(
        kinds(&ours),
        recorded
            .iter()
            .map(|(_, v)| v["FrameType"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    let rows = ours[2]["Rows"].as_array().unwrap();
    let recorded_rows = recorded[2].1["Rows"].as_array().unwrap();
    assert_eq!(rows.len(), recorded_rows.len());
    assert_eq!(rows[..5], recorded_rows[..5]);
    let ours_err = &rows[5]["OneApiErrors"][0]["error"];
    let theirs_err = &recorded_rows[5]["OneApiErrors"][0]["error"];
    for key in ["code", "message", "@type", "@permanent"] {
        assert_eq!(ours_err[key], theirs_err[key], "{key}");
    }
    assert!(
        ours_err["@message"]
            .as_str()
            .unwrap()
            .starts_with("Query execution has exceeded the allowed limits (80DA0003): ")
    );
    assert!(
        ours_err["@message"]
            .as_str()
            .unwrap()
            .contains("E_QUERY_RESULT_SET_TOO_LARGE")
    );
    // Key order of the error object and of DataSetCompletion as recorded.
    let line = &frame_lines(&a.text)[3];
    assert_eq!(keys_in_order(line), keys_in_order(&recorded[3].0));
    let err_text = serde_json::to_string(&ours[3]["OneApiErrors"][0]["error"]).unwrap();
    assert!(line.contains("{\"error\":{\"code\":\"LimitsExceeded\",\"message\":\"Request is invalid and cannot be executed.\",\"@type\":"), "{line}");
    assert!(err_text.contains("@context"));
    assert_eq!(ours[3]["HasErrors"], true);
    assert_eq!(
        ours[3]["OneApiErrors"][0]["error"]["code"],
        "LimitsExceeded"
    );
}

#[tokio::test]
async fn deferred_partial_failure_matches_the_recorded_shape() {
    let emu = start().await;
    table_with(&emu, "Emu", "X", "x:long", "1\n2\n3\n4\n5\n6\n7").await;
    let ours = query(
        &emu,
        "Emu",
        "X",
        json!({"truncationmaxrecords": 5, "deferpartialqueryfailures": true}),
    )
    .await
    .frames();
    let recorded = fixture_frames("azure-kusto-python/query_partial_results_defer_is_true.json");
    assert_eq!(
        kinds(&ours),
        recorded
            .iter()
            .map(|(_, v)| v["FrameType"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(ours[2]["Rows"], recorded[2].1["Rows"]);
    let first = &ours[3]["Rows"][0];
    let theirs = &recorded[3].1["Rows"][0];
    for i in [5usize, 6, 7, 8, 9, 10] {
        assert_eq!(first[i], theirs[i], "QueryCompletionInformation column {i}");
    }
    assert_eq!(
        ours[4],
        json!({"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false})
    );
}

#[tokio::test]
async fn end_of_table_and_end_of_dataset_placements() {
    let emu = start().await;
    events(&emu).await;
    let opts = json!({"truncationmaxrecords": 2, "results_v2_fragment_primary_tables": true, "results_error_reporting_placement": "end_of_table"});
    let f = query(&emu, "Emu", "X", opts).await.frames();
    assert_eq!(f[0]["ErrorReportingPlacement"], "EndOfTable");
    let completion = f
        .iter()
        .find(|x| x["FrameType"] == "TableCompletion")
        .unwrap();
    assert_eq!(completion["RowCount"], 2);
    assert_eq!(
        completion["OneApiErrors"][0]["error"]["code"],
        "LimitsExceeded"
    );
    let fragments: Vec<&Value> = f
        .iter()
        .filter(|x| x["FrameType"] == "TableFragment")
        .collect();
    assert!(
        fragments
            .iter()
            .all(|x| x["Rows"].as_array().unwrap().iter().all(Value::is_array))
    );
    let completion_errors = completion["OneApiErrors"].clone();
    let dataset = f.last().unwrap();
    assert_eq!(dataset["FrameType"], "DataSetCompletion");
    assert_eq!(dataset["HasErrors"], true);
    assert_eq!(
        dataset["OneApiErrors"], completion_errors,
        "DataSetCompletion repeats the TableCompletion's error"
    );
    assert!(
        completion_errors[0]["error"]["@message"]
            .as_str()
            .unwrap()
            .contains("2 records"),
        "{completion_errors}"
    );

    let opts =
        json!({"truncationmaxrecords": 2, "results_error_reporting_placement": "EndOfDataset"});
    let f = query(&emu, "Emu", "X", opts).await.frames();
    assert_eq!(f[0]["ErrorReportingPlacement"], "EndOfDataset");
    assert_eq!(f[2]["Rows"], json!([[1], [2]]));
    assert_eq!(
        f.last().unwrap()["OneApiErrors"][0]["error"]["code"],
        "LimitsExceeded"
    );

    // In-data placement in fragmented mode: the error row ends the last fragment.
    let opts = json!({"truncationmaxrecords": 2, "results_v2_fragment_primary_tables": true});
    let f = query(&emu, "Emu", "X", opts).await.frames();
    let last_fragment = f
        .iter()
        .rev()
        .find(|x| x["FrameType"] == "TableFragment")
        .unwrap();
    assert_eq!(
        last_fragment["Rows"][2]["OneApiErrors"][0]["error"]["code"],
        "LimitsExceeded"
    );

    let bad = query(
        &emu,
        "Emu",
        "X",
        json!({"results_error_reporting_placement": "sideways"}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error()["code"], "General_BadRequest");
}

#[tokio::test]
async fn truncation_options() {
    let emu = start().await;
    events(&emu).await;
    let f = query(&emu, "Emu", "X", json!({"notruncation": true}))
        .await
        .frames();
    assert_eq!(f[2]["Rows"].as_array().unwrap().len(), 5);
    assert_eq!(f.last().unwrap()["HasErrors"], false);
    // A max set together with notruncation wins.
    let f = query(
        &emu,
        "Emu",
        "X",
        json!({"notruncation": true, "truncationmaxrecords": "3"}),
    )
    .await
    .frames();
    assert_eq!(f.last().unwrap()["HasErrors"], true);
    // `set` statements in the query text override the request's options.
    let f = query(
        &emu,
        "Emu",
        "set truncationmaxrecords = 10; X",
        json!({"truncationmaxrecords": "3"}),
    )
    .await
    .frames();
    assert_eq!(f[2]["Rows"].as_array().unwrap().len(), 5);
    assert_eq!(f.last().unwrap()["HasErrors"], false);
    let f = query(&emu, "Emu", "set truncationmaxrecords=2;\nX", json!({}))
        .await
        .frames();
    assert_eq!(f.last().unwrap()["HasErrors"], true);
    let f = query(
        &emu,
        "Emu",
        "set notruncation; X",
        json!({"truncationmaxrecords": "3"}),
    )
    .await
    .frames();
    assert_eq!(f.last().unwrap()["HasErrors"], true, "an explicit max wins");
    // Size limit: each row `[n]` is 3 bytes.
    let f = query(&emu, "Emu", "X", json!({"truncationmaxsize": 7}))
        .await
        .frames();
    let rows = f[2]["Rows"].as_array().unwrap();
    assert_eq!(rows[..2], [json!([1]), json!([2])]);
    assert!(
        rows[2]["OneApiErrors"][0]["error"]["@message"]
            .as_str()
            .unwrap()
            .contains("7 bytes")
    );
    // query_take_max_records caps silently.
    let f = query(&emu, "Emu", "X", json!({"query_take_max_records": 2}))
        .await
        .frames();
    assert_eq!(f[2]["Rows"], json!([[1], [2]]));
    assert_eq!(f.last().unwrap()["HasErrors"], false);
}

#[tokio::test]
async fn correlation_headers_and_gzip() {
    let emu = start().await;
    events(&emu).await;
    let raw = kusto_emulator::http_client_builder()
        .no_gzip()
        .build()
        .unwrap();
    let response = raw
        .post(format!("{}/v2/rest/query", emu.url()))
        .header("x-ms-client-request-id", "KRC.execute;test-1")
        .header("Accept-Encoding", "gzip")
        .body(json!({"db": "Emu", "csl": "X | count"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-ms-client-request-id"],
        "KRC.execute;test-1"
    );
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let activity = response.headers()["x-ms-activity-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(uuid::Uuid::parse_str(&activity).is_ok());
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let f = frames(&text);
    assert_eq!(f[2]["Rows"], json!([[5]]));
    let qci = f
        .iter()
        .find(|x| x["TableKind"] == "QueryCompletionInformation")
        .unwrap();
    assert_eq!(qci["Rows"][0][1], "KRC.execute;test-1");
    assert_eq!(qci["Rows"][0][2], activity.as_str());
    // Without Accept-Encoding: plain, and a request id is generated.
    let plain = raw
        .post(format!("{}/v2/rest/query", emu.url()))
        .body(json!({"db": "Emu", "csl": "X | count"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(!plain.headers()["x-ms-client-request-id"].is_empty());
}

/// The error objects that are rows (in-data markers) of the fragments and tables of `frames`.
fn in_data_errors(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f["FrameType"] == "TableFragment" || f["TableKind"] == "PrimaryResult")
        .flat_map(|f| f["Rows"].as_array().cloned().unwrap_or_default())
        .filter(|r| !r.is_array())
        .collect()
}

fn data_rows(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f["FrameType"] == "TableFragment" || f["TableKind"] == "PrimaryResult")
        .flat_map(|f| f["Rows"].as_array().cloned().unwrap_or_default())
        .filter(Value::is_array)
        .collect()
}

fn assert_limits_error(errors: &Value, context: &str) {
    let e = &errors[0]["error"];
    assert_eq!(
        errors.as_array().map(Vec::len),
        Some(1),
        "{context}: {errors}"
    );
    assert_eq!(e["code"], "LimitsExceeded", "{context}");
    assert_eq!(
        e["@type"], "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException",
        "{context}"
    );
    assert_eq!(e["@permanent"], false, "{context}");
    assert!(
        e["@message"]
            .as_str()
            .unwrap()
            .contains("E_QUERY_RESULT_SET_TOO_LARGE"),
        "{context}"
    );
}

#[tokio::test]
async fn end_of_table_placement_without_fragments_reports_at_the_end_of_the_dataset() {
    // kusto-protocol.md 3.8: EndOfTable puts the error in the TableCompletion frame, which only
    // fragmented and progressive tables have; DataSetCompletion repeats it in every mode. So a
    // whole DataTable carries no marker and the error is in DataSetCompletion alone.
    let emu = start().await;
    events(&emu).await;
    let opts =
        json!({"truncationmaxrecords": 2, "results_error_reporting_placement": "end_of_table"});
    let a = query(&emu, "Emu", "X", opts).await;
    assert_eq!(a.status, 200);
    let f = a.frames();
    assert_eq!(
        kinds(&f),
        [
            "DataSetHeader",
            "DataTable",
            "DataTable",
            "DataSetCompletion"
        ],
        "as recorded for a reported partial failure: no QueryCompletionInformation"
    );
    assert_eq!(
        frame_lines(&a.text)[0],
        r#"{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"EndOfTable"}"#
    );
    assert_eq!(f[2]["TableKind"], "PrimaryResult");
    assert_eq!(f[2]["Rows"], json!([[1], [2]]), "only data rows");
    assert_eq!(f[3]["HasErrors"], true);
    assert_eq!(f[3]["Cancelled"], false);
    assert_limits_error(&f[3]["OneApiErrors"], "non-fragmented EndOfTable");
    assert_eq!(
        keys_in_order(&frame_lines(&a.text)[3]),
        ["FrameType", "HasErrors", "Cancelled", "OneApiErrors"]
    );
}

#[tokio::test]
async fn progressive_mode_with_truncation_in_each_placement() {
    let emu = Emulator::builder().fragment_rows(1).start().await.unwrap();
    events(&emu).await;
    let progressive = |extra: Value| {
        let mut opts = json!({"results_progressive_enabled": true, "truncationmaxrecords": 2});
        for (k, v) in extra.as_object().unwrap() {
            opts[k] = v.clone();
        }
        opts
    };
    let table_frames = [
        "DataSetHeader",
        "DataTable",
        "TableHeader",
        "TableFragment",
        "TableProgress",
        "TableFragment",
        "TableProgress",
        "TableCompletion",
    ];

    // InData (the default): the error object ends the last fragment.
    let f = query(&emu, "Emu", "X", progressive(json!({})))
        .await
        .frames();
    assert_eq!(kinds(&f)[..8], table_frames);
    assert_eq!(kinds(&f)[8..], ["DataSetCompletion"]);
    assert_eq!(f[0]["IsProgressive"], true);
    assert_eq!(f[0]["ErrorReportingPlacement"], "InData");
    assert_eq!(f[3]["Rows"], json!([[1]]));
    assert_eq!(f[5]["Rows"][0], json!([2]));
    let markers = in_data_errors(&f);
    assert_eq!(markers.len(), 1);
    assert_eq!(f[5]["Rows"][1], markers[0], "the marker is the last row");
    assert_limits_error(&markers[0]["OneApiErrors"], "progressive InData");
    assert_eq!(f[6]["TableProgress"], 100.0);
    assert_eq!(
        f[7],
        json!({"FrameType":"TableCompletion","TableId":1,"RowCount":2})
    );
    assert_eq!(f[8]["HasErrors"], true);
    assert_eq!(f[8]["OneApiErrors"], markers[0]["OneApiErrors"]);

    // EndOfTable: the error is in TableCompletion and DataSetCompletion, not in the rows.
    let f = query(
        &emu,
        "Emu",
        "X",
        progressive(json!({"results_error_reporting_placement": "end_of_table"})),
    )
    .await
    .frames();
    assert_eq!(kinds(&f)[..8], table_frames);
    assert_eq!(kinds(&f)[8..], ["DataSetCompletion"]);
    assert_eq!(f[0]["ErrorReportingPlacement"], "EndOfTable");
    assert!(in_data_errors(&f).is_empty());
    assert_eq!(data_rows(&f), [json!([1]), json!([2])]);
    assert_eq!(f[7]["RowCount"], 2);
    assert_limits_error(&f[7]["OneApiErrors"], "progressive EndOfTable");
    assert_eq!(f[8]["HasErrors"], true);
    assert_eq!(f[8]["OneApiErrors"], f[7]["OneApiErrors"]);

    // EndOfDataset: only DataSetCompletion has it.
    let f = query(
        &emu,
        "Emu",
        "X",
        progressive(json!({"results_error_reporting_placement": "end_of_dataset"})),
    )
    .await
    .frames();
    assert_eq!(kinds(&f)[..8], table_frames);
    assert_eq!(f[0]["ErrorReportingPlacement"], "EndOfDataset");
    assert!(in_data_errors(&f).is_empty());
    assert!(f[7].get("OneApiErrors").is_none(), "{}", f[7]);
    assert_eq!(data_rows(&f), [json!([1]), json!([2])]);
    assert_eq!(f[8]["HasErrors"], true);
    assert_limits_error(&f[8]["OneApiErrors"], "progressive EndOfDataset");

    // Deferred: no markers anywhere, the failure only in QueryCompletionInformation.
    let f = query(
        &emu,
        "Emu",
        "X",
        progressive(json!({"deferpartialqueryfailures": true})),
    )
    .await
    .frames();
    assert_eq!(kinds(&f)[..8], table_frames);
    assert_eq!(kinds(&f)[8..], ["DataTable", "DataSetCompletion"]);
    assert!(in_data_errors(&f).is_empty());
    assert!(f[7].get("OneApiErrors").is_none());
    assert_eq!(
        f[9],
        json!({"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false})
    );
    let qci = &f[8];
    assert_eq!(qci["TableKind"], "QueryCompletionInformation");
    assert_eq!(qci["Rows"][0][5], 2);
    assert_eq!(qci["Rows"][0][10], "QueryLimitsExceeded");
}
