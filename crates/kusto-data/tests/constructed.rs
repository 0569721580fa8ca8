//! Constructed v2 and v1 bodies for the cases the recorded fixtures lack: the every-type example
//! of kusto-protocol.md 3.9, fragmented mode with `EndOfTable` errors, `EndOfDataset` errors,
//! `DataReplace`, cancellation, key order, unknown frames, and protocol violations.

use futures::{StreamExt, stream};
use kusto_data::response::{
    DataSet, ErrorPlacement, ParserOptions, RowBatch, TableKind, V2Event, V2EventStream, V2Parser,
    parse_v1, parse_v2, read_v1,
};
use kusto_data::types::{KustoType, KustoValue, Uuid};
use kusto_data::{Error, PartialFailure};
use serde_json::json;

const HEADER_FRAGMENTED: &str = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":true,"ErrorReportingPlacement":"EndOfTable"}"#;
const PROPERTIES: &str = r#",{"FrameType":"DataTable","TableId":0,"TableKind":"QueryProperties","TableName":"@ExtendedProperties","Columns":[{"ColumnName":"TableId","ColumnType":"int"},{"ColumnName":"Key","ColumnType":"string"},{"ColumnName":"Value","ColumnType":"dynamic"}],"Rows":[[1,"Visualization","{\"Visualization\":null,\"Title\":null,\"Accumulate\":false,\"IsQuerySorted\":false,\"Kind\":null}"]]}"#;
const ALL_TYPES_COLUMNS: &str = r#""Columns":[{"ColumnName":"b","ColumnType":"bool"},{"ColumnName":"i","ColumnType":"int"},{"ColumnName":"l","ColumnType":"long"},{"ColumnName":"r","ColumnType":"real"},{"ColumnName":"d","ColumnType":"decimal"},{"ColumnName":"s","ColumnType":"string"},{"ColumnName":"g","ColumnType":"guid"},{"ColumnName":"t","ColumnType":"datetime"},{"ColumnName":"ts","ColumnType":"timespan"},{"ColumnName":"dy","ColumnType":"dynamic"}]"#;
const ROW_1: &str = r#"[true,-7,9007199254740993,2.5,"12.3400","héllo \"q\"","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","2024-05-01T10:20:30.1234567Z","1.02:03:04.5000000",{"k":[1,"x"]}]"#;
const ROW_2: &str = r#"[null,null,null,"NaN",null,"",null,null,null,null]"#;
// The reference elides the ids with "…"; full values are used here so the guid column parses.
const QCI: &str = r#",{"FrameType":"DataTable","TableId":2,"TableKind":"QueryCompletionInformation","TableName":"QueryCompletionInformation","Columns":[{"ColumnName":"Timestamp","ColumnType":"datetime"},{"ColumnName":"ClientRequestId","ColumnType":"string"},{"ColumnName":"ActivityId","ColumnType":"guid"},{"ColumnName":"SubActivityId","ColumnType":"guid"},{"ColumnName":"ParentActivityId","ColumnType":"guid"},{"ColumnName":"Level","ColumnType":"int"},{"ColumnName":"LevelName","ColumnType":"string"},{"ColumnName":"StatusCode","ColumnType":"int"},{"ColumnName":"StatusCodeName","ColumnType":"string"},{"ColumnName":"EventType","ColumnType":"int"},{"ColumnName":"EventTypeName","ColumnType":"string"},{"ColumnName":"Payload","ColumnType":"string"}],"Rows":[["2024-05-01T10:20:31.0000000Z","KRC.execute;6f1e0000-0000-0000-0000-000000000000","0d4c0000-0000-0000-0000-000000000001","0d4c0000-0000-0000-0000-000000000002","0d4c0000-0000-0000-0000-000000000003",4,"Info",0,"S_OK (0)",4,"QueryInfo","{\"Count\":1,\"Text\":\"Query completed successfully\"}"]]}"#;
const LIMITS_ERROR: &str = r#"{"error":{"code":"LimitsExceeded","message":"Request is invalid and cannot be executed.","@type":"Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException","@message":"Query execution has exceeded the allowed limits (80DA0003): The results of this query exceed the set limit of 1 records, so not all records were returned (E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003).","@context":{"timestamp":"2024-05-01T10:20:31Z","clientRequestId":"KRC.execute;1","activityId":"a-1"},"@permanent":false}}"#;

/// The kusto-protocol.md 3.9 response: fragmented mode, every type, one frame per line.
fn example_fragmented() -> String {
    format!(
        "{HEADER_FRAGMENTED}\n{PROPERTIES}\n,{{\"FrameType\":\"TableHeader\",\"TableId\":1,\"TableKind\":\"PrimaryResult\",\"TableName\":\"PrimaryResult\",{ALL_TYPES_COLUMNS}}}\n,{{\"FrameType\":\"TableFragment\",\"TableFragmentType\":\"DataAppend\",\"TableId\":1,\"Rows\":[{ROW_1}]}}\n,{{\"FrameType\":\"TableFragment\",\"TableFragmentType\":\"DataAppend\",\"TableId\":1,\"Rows\":[{ROW_2}]}}\n,{{\"FrameType\":\"TableCompletion\",\"TableId\":1,\"RowCount\":2}}\n{QCI}\n,{{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}}\n]"
    )
}

/// The same table in the default (non-fragmented) mode.
fn example_plain() -> String {
    format!(
        "[{{\"FrameType\":\"DataSetHeader\",\"IsProgressive\":false,\"Version\":\"v2.0\",\"IsFragmented\":false,\"ErrorReportingPlacement\":\"InData\"}}{PROPERTIES},{{\"FrameType\":\"DataTable\",\"TableId\":1,\"TableKind\":\"PrimaryResult\",\"TableName\":\"PrimaryResult\",{ALL_TYPES_COLUMNS},\"Rows\":[{ROW_1},{ROW_2}]}}{QCI},{{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}}]"
    )
}

fn assert_every_type(data: &DataSet) {
    let t = data.primary_result().unwrap();
    assert_eq!((t.id(), t.len()), (1, 2));
    let r = t.row(0).unwrap();
    assert_eq!(r.get_bool("b").unwrap(), Some(true));
    assert_eq!(r.get_i32("i").unwrap(), Some(-7));
    assert_eq!(
        r.get_i64("l").unwrap(),
        Some(9_007_199_254_740_993),
        "not routed through f64"
    );
    assert_eq!(r.get_f64("r").unwrap(), Some(2.5));
    let d = r.get_decimal("d").unwrap().unwrap();
    assert_eq!(
        (d.mantissa(), d.scale(), d.to_string().as_str()),
        (123_400, 4, "12.3400")
    );
    assert_eq!(r.get_string("s").unwrap(), Some("héllo \"q\""));
    assert_eq!(
        r.get_guid("g").unwrap(),
        Some(Uuid::parse_str("c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d").unwrap())
    );
    let when = r.get_datetime("t").unwrap().unwrap();
    assert_eq!(when.unix_nanos(), 1_714_558_830_123_456_700);
    let span = r.get_timespan("ts").unwrap().unwrap();
    assert_eq!(
        span.ticks(),
        ((26 * 3600 + 3 * 60 + 4) * 10_000_000) + 5_000_000
    );
    assert_eq!(r.get_dynamic("dy").unwrap(), Some(json!({"k": [1, "x"]})));
    let nulls = t.row(1).unwrap();
    assert!(nulls.get_f64("r").unwrap().unwrap().is_nan());
    assert_eq!(nulls.get_string("s").unwrap(), Some(""));
    for column in ["b", "i", "l", "d", "g", "t", "ts", "dy"] {
        assert_eq!(nulls.get(column).unwrap(), KustoValue::Null, "{column}");
    }
    assert_eq!(
        data.query_completion_information()
            .unwrap()
            .row(0)
            .unwrap()
            .get_i32("Level")
            .unwrap(),
        Some(4)
    );
}

#[test]
fn protocol_example_with_every_type_in_both_modes() {
    let fragmented = parse_v2(example_fragmented().as_bytes()).unwrap();
    assert_every_type(&fragmented);
    let header = fragmented.header().unwrap();
    assert!(header.is_fragmented);
    assert_eq!(
        header.error_reporting_placement.as_deref(),
        Some("EndOfTable")
    );
    let plain = parse_v2(example_plain().as_bytes()).unwrap();
    assert_every_type(&plain);
    assert_eq!(
        format!("{:?}", plain.tables()),
        format!("{:?}", fragmented.tables())
    );
}

#[test]
fn fragmented_events_in_order() {
    let mut parser = V2Parser::new();
    parser.feed(example_fragmented().as_bytes());
    parser.end_of_input();
    let mut kinds = Vec::new();
    while let Some(event) = parser.next_event().unwrap() {
        kinds.push(match event {
            V2Event::DataSetHeader(_) => "header".to_owned(),
            V2Event::TableStart(h) => format!("start {} {}", h.table_id, h.fragmented),
            V2Event::Rows { table_id, rows } => format!("rows {table_id} {}", rows.len()),
            V2Event::TableEnd(end) => format!(
                "end {} {} {:?}",
                end.table_id, end.rows_received, end.row_count
            ),
            V2Event::DataSetCompletion(_) => "completion".to_owned(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        kinds,
        [
            "header",
            "start 0 false",
            "rows 0 1",
            "end 0 1 None",
            "start 1 true",
            "rows 1 1",
            "rows 1 1",
            "end 1 2 Some(2)",
            "start 2 false",
            "rows 2 1",
            "end 2 1 None",
            "completion"
        ]
    );
}

fn partial(result: kusto_data::Result<DataSet>) -> PartialFailure {
    match result {
        Err(Error::PartialFailure(f)) => *f,
        other => panic!("expected a partial failure, got {other:?}"),
    }
}

#[test]
fn end_of_table_errors_in_table_completion() {
    let body = format!(
        "{HEADER_FRAGMENTED}\n,{{\"FrameType\":\"TableHeader\",\"TableId\":1,\"TableKind\":\"PrimaryResult\",\"TableName\":\"PrimaryResult\",{ALL_TYPES_COLUMNS}}}\n,{{\"FrameType\":\"TableFragment\",\"TableFragmentType\":\"DataAppend\",\"TableId\":1,\"Rows\":[{ROW_1}]}}\n,{{\"FrameType\":\"TableCompletion\",\"TableId\":1,\"RowCount\":1,\"OneApiErrors\":[{LIMITS_ERROR}]}}\n,{{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":true,\"Cancelled\":false,\"OneApiErrors\":[{LIMITS_ERROR}]}}\n]"
    );
    let failure = partial(parse_v2(body.as_bytes()));
    assert_eq!(failure.errors.len(), 1);
    assert_eq!(
        failure.errors[0].placement,
        ErrorPlacement::TableCompletion { table_id: 1 }
    );
    assert_eq!(failure.errors[0].error.code, "LimitsExceeded");
    assert_eq!(failure.errors[0].error.activity_id(), Some("a-1"));
    assert!(failure.is_transient());
    assert_eq!(failure.data().unwrap().primary_result().unwrap().len(), 1);
    assert!(failure.to_string().contains("E_QUERY_RESULT_SET_TOO_LARGE"));
}

#[test]
fn end_of_dataset_errors_only_in_completion() {
    let permanent = LIMITS_ERROR.replace("\"@permanent\":false", "\"@permanent\":true");
    let body = format!(
        "[{{\"FrameType\":\"DataSetHeader\",\"IsProgressive\":false,\"Version\":\"v2.0\",\"IsFragmented\":false,\"ErrorReportingPlacement\":\"EndOfDataset\"}},{{\"FrameType\":\"DataTable\",\"TableId\":1,\"TableKind\":\"PrimaryResult\",\"TableName\":\"PrimaryResult\",\"Columns\":[{{\"ColumnName\":\"x\",\"ColumnType\":\"long\"}}],\"Rows\":[[1],[2]]}},{{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":true,\"Cancelled\":false,\"OneApiErrors\":[{permanent}]}}]"
    );
    let failure = partial(parse_v2(body.as_bytes()));
    assert_eq!(failure.errors.len(), 1);
    assert_eq!(
        failure.errors[0].placement,
        ErrorPlacement::DataSetCompletion
    );
    assert!(!failure.is_transient(), "@permanent: true");
    assert!(Error::PartialFailure(Box::new(failure.clone())).is_permanent());
    assert_eq!(failure.data().unwrap().primary_result().unwrap().len(), 2);
}

#[test]
fn cancelled_and_has_errors_without_details_are_failures() {
    let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":true}]"#;
    let failure = partial(parse_v2(body.as_bytes()));
    assert_eq!(failure.errors[0].placement, ErrorPlacement::Cancelled);
    let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},{"FrameType":"DataSetCompletion","HasErrors":true,"Cancelled":false}]"#;
    let failure = partial(parse_v2(body.as_bytes()));
    assert_eq!(
        failure.errors[0].placement,
        ErrorPlacement::DataSetCompletion
    );
}

const PROGRESSIVE: &str = r#"[{"FrameType":"DataSetHeader","IsProgressive":true,"Version":"v2.0"},
{"FrameType":"TableHeader","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"n","ColumnType":"long"}]},
{"FrameType":"TableFragment","TableFragmentType":"DataAppend","TableId":1,"Rows":[[1],[2]]},
{"FrameType":"TableProgress","TableId":1,"TableProgress":42.5},
{"FrameType":"TableFragment","TableFragmentType":"DataReplace","TableId":1,"Rows":[[10]]},
{"FrameType":"TableFragment","TableFragmentType":"DataAppend","TableId":1,"Rows":[[11]]},
{"FrameType":"TableCompletion","TableId":1,"RowCount":2},
{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;

#[test]
fn data_replace_discards_earlier_rows() {
    let data = parse_v2(PROGRESSIVE.as_bytes()).unwrap();
    let rows: Vec<i64> = data
        .primary_result()
        .unwrap()
        .rows()
        .map(|r| r.get_i64(0).unwrap().unwrap())
        .collect();
    assert_eq!(rows, [10, 11]);
    let mut parser = V2Parser::new();
    parser.feed(PROGRESSIVE.as_bytes());
    parser.end_of_input();
    let mut seen = Vec::new();
    while let Some(e) = parser.next_event().unwrap() {
        match e {
            V2Event::Replace { table_id } => seen.push(format!("replace {table_id}")),
            V2Event::Progress { progress, .. } => seen.push(format!("progress {progress}")),
            V2Event::Rows { rows, .. } => seen.push(format!("rows {}", rows.len())),
            V2Event::TableEnd(end) => seen.push(format!("end {}", end.rows_received)),
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            "rows 2",
            "progress 42.5",
            "replace 1",
            "rows 1",
            "rows 1",
            "end 2"
        ]
    );
}

fn chunks(
    body: &str,
    size: usize,
) -> impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send + 'static {
    let pieces: Vec<_> = body
        .as_bytes()
        .chunks(size)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(pieces)
}

#[tokio::test]
async fn async_batches_flag_replacements() {
    let batches: Vec<RowBatch> = V2EventStream::new(chunks(PROGRESSIVE, 3))
        .primary_batches()
        .map(|b| b.unwrap())
        .collect()
        .await;
    let summary: Vec<(bool, Vec<i64>)> = batches
        .iter()
        .map(|b| {
            (
                b.replaces_previous,
                b.rows().map(|r| r.get_i64("n").unwrap().unwrap()).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(false, vec![1, 2]), (true, vec![10]), (false, vec![11])]
    );
    // A replacement with no rows still yields a (empty) batch telling the consumer to discard.
    let empty_replace = PROGRESSIVE
        .replace(
            r#""DataReplace","TableId":1,"Rows":[[10]]"#,
            r#""DataReplace","TableId":1,"Rows":[]"#,
        )
        .replace(
            r#""DataAppend","TableId":1,"Rows":[[11]]"#,
            r#""DataAppend","TableId":1,"Rows":[]"#,
        );
    let batches: Vec<RowBatch> = V2EventStream::new(chunks(&empty_replace, 5))
        .primary_batches()
        .map(|b| b.unwrap())
        .collect()
        .await;
    assert_eq!(
        batches
            .iter()
            .map(|b| (b.replaces_previous, b.len()))
            .collect::<Vec<_>>(),
        [(false, 2), (true, 0)]
    );
}

#[tokio::test]
async fn async_collect_and_partial_failure_in_stream() {
    let data = V2EventStream::new(chunks(&example_fragmented(), 11))
        .collect_dataset()
        .await
        .unwrap();
    assert_every_type(&data);
    let failing = format!(
        "[{{\"FrameType\":\"DataSetHeader\",\"IsProgressive\":false,\"Version\":\"v2.0\"}},{{\"FrameType\":\"DataTable\",\"TableId\":1,\"TableKind\":\"PrimaryResult\",\"TableName\":\"PrimaryResult\",\"Columns\":[{{\"ColumnName\":\"x\",\"ColumnType\":\"long\"}}],\"Rows\":[[1],[2],{{\"OneApiErrors\":[{LIMITS_ERROR}]}}]}},{{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":true,\"Cancelled\":false,\"OneApiErrors\":[{LIMITS_ERROR}]}}]"
    );
    let items: Vec<_> =
        V2EventStream::with_options(chunks(&failing, 4), ParserOptions::new().with_batch_rows(1))
            .primary_batches()
            .collect()
            .await;
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0].as_ref().unwrap().rows,
        vec![vec![KustoValue::Long(1)]]
    );
    assert_eq!(
        items[1].as_ref().unwrap().rows,
        vec![vec![KustoValue::Long(2)]]
    );
    match &items[2] {
        Err(Error::PartialFailure(f)) => {
            assert_eq!(
                f.errors[0].placement,
                ErrorPlacement::Row {
                    table_id: 1,
                    row_index: 2
                }
            );
            assert!(
                f.data().is_none(),
                "streamed rows were delivered as batches"
            );
        }
        other => panic!("{other:?}"),
    }
    let failure = match V2EventStream::new(chunks(&failing, 4))
        .collect_dataset()
        .await
    {
        Err(Error::PartialFailure(f)) => f,
        other => panic!("{other:?}"),
    };
    assert_eq!(failure.data().unwrap().primary_result().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failing_body_stream_ends_the_event_stream_with_its_error() {
    let body = example_plain();
    let mut pieces: Vec<Result<bytes::Bytes, Error>> =
        vec![Ok(bytes::Bytes::copy_from_slice(&body.as_bytes()[..200]))];
    pieces.push(Err(Error::Network {
        endpoint: "https://x".into(),
        message: "connection reset".into(),
        phase: kusto_data::error::NetworkPhase::Response,
        source: None,
    }));
    let items: Vec<_> = V2EventStream::new(stream::iter(pieces)).collect().await;
    assert!(matches!(items.last(), Some(Err(Error::Network { .. }))));
    assert!(items[..items.len() - 1].iter().all(Result::is_ok));
    // A body that simply stops is a truncation.
    let cut = body.as_bytes()[..body.len() / 2].to_vec();
    let result = V2EventStream::new(stream::iter(vec![Ok::<_, Error>(bytes::Bytes::from(cut))]))
        .collect_dataset()
        .await;
    assert!(matches!(
        result,
        Err(Error::MalformedResponse {
            offset: Some(_),
            ..
        })
    ));
}

#[test]
fn key_order_rows_before_metadata_and_unknown_frames() {
    let body = format!(
        "[{{\"Version\":\"v2.0\",\"FrameType\":\"DataSetHeader\",\"IsProgressive\":false}},\n {{\"FrameType\":\"SomethingNew\",\"Rows\":[[1,{{\"a\":[1,2,{{}}]}}]],\"Nested\":{{\"x\":\"]}}\"}}}},\n {{\"Rows\":[{ROW_1},{ROW_2}],\"TableName\":\"PrimaryResult\",{ALL_TYPES_COLUMNS},\"FrameType\":\"DataTable\",\"TableKind\":\"PrimaryResult\",\"TableId\":1}}{QCI},\n  {{ \"Cancelled\" : false , \"HasErrors\" : false , \"FrameType\" : \"DataSetCompletion\" }}\n]\n"
    );
    let data = parse_v2(body.as_bytes()).unwrap();
    assert_every_type(&data);
    assert_eq!(data.tables().len(), 2);
    // Fragment rows before TableId are buffered too.
    let fragment_last = PROGRESSIVE.replace(
        r#""TableFragmentType":"DataReplace","TableId":1,"Rows":[[10]]"#,
        r#""Rows":[[10]],"TableId":1,"TableFragmentType":"DataReplace""#,
    );
    let rows: Vec<i64> = parse_v2(fragment_last.as_bytes())
        .unwrap()
        .primary_result()
        .unwrap()
        .rows()
        .map(|r| r.get_i64(0).unwrap().unwrap())
        .collect();
    assert_eq!(rows, [10, 11]);
}

#[test]
fn batches_respect_row_and_byte_limits() {
    let rows: Vec<String> = (0..5).map(|i| format!("[{i}]")).collect();
    let body = format!(
        "[{{\"FrameType\":\"DataSetHeader\",\"IsProgressive\":false,\"Version\":\"v2.0\"}},{{\"FrameType\":\"DataTable\",\"TableId\":1,\"TableKind\":\"PrimaryResult\",\"TableName\":\"T\",\"Columns\":[{{\"ColumnName\":\"n\",\"ColumnType\":\"long\"}}],\"Rows\":[{}]}},{{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":false,\"Cancelled\":false}}]",
        rows.join(",")
    );
    let sizes = |options: ParserOptions| {
        let mut parser = V2Parser::with_options(options);
        parser.feed(body.as_bytes());
        parser.end_of_input();
        let mut sizes = Vec::new();
        while let Some(e) = parser.next_event().unwrap() {
            if let V2Event::Rows { rows, .. } = e {
                sizes.push(rows.len());
            }
        }
        sizes
    };
    assert_eq!(sizes(ParserOptions::new().with_batch_rows(2)), [2, 2, 1]);
    assert_eq!(sizes(ParserOptions::new().with_batch_bytes(6)), [2, 2, 1]);
    assert_eq!(sizes(ParserOptions::new()), [5]);
}

#[test]
fn protocol_violations_are_malformed_responses() {
    let header = r#"{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"}"#;
    let completion = r#"{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}"#;
    let table = r#"{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T","Columns":[{"ColumnName":"n","ColumnType":"long"}],"Rows":[[1]]}"#;
    let cases = [
        (
            "Bad request: Control commands do not support api_version=v2".to_owned(),
            "body starts with",
        ),
        (String::new(), "empty"),
        (format!("[{table},{completion}]"), "before DataSetHeader"),
        (format!("[{header},{table}]"), "without a DataSetCompletion"),
        (format!("[{header},{completion}] x"), "after the end"),
        (
            format!("[{header},{completion},{table}]"),
            "after DataSetCompletion",
        ),
        (
            format!("[{header},{header},{completion}]"),
            "second DataSetHeader",
        ),
        (
            format!(
                "[{header},{{\"FrameType\":\"TableHeader\",\"TableId\":1,\"TableKind\":\"PrimaryResult\",\"TableName\":\"T\",\"Columns\":[]}},{completion}]"
            ),
            "no TableCompletion",
        ),
        (
            format!(
                "[{header},{{\"FrameType\":\"TableFragment\",\"TableFragmentType\":\"DataAppend\",\"TableId\":7,\"Rows\":[[1]]}},{completion}]"
            ),
            "no open TableHeader",
        ),
        (
            format!(
                "[{header},{},{completion}]",
                table.replace("[[1]]", "[[1,2]]")
            ),
            "more values",
        ),
        (
            format!(
                "[{header},{},{completion}]",
                table.replace("[[1]]", "[[\"one\"]]")
            ),
            "column 'n' (long)",
        ),
        (
            format!(
                "[{header},{},{completion}]",
                table.replace("\"TableId\":1,", "")
            ),
            "TableId",
        ),
        (
            format!("[{header},{{\"IsProgressive\":false}},{completion}]"),
            "without FrameType",
        ),
        (format!("[{header},{completion}"), "truncated"),
    ];
    for (body, expected) in cases {
        match parse_v2(body.as_bytes()) {
            Err(Error::MalformedResponse { message, offset }) => {
                assert!(message.contains(expected), "{body:?}: {message}");
                assert!(offset.is_some(), "{body:?}");
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[test]
fn v1_data_type_names_booleans_as_numbers_and_objects() {
    let body = r#"{"Tables":[{"TableName":"Table_0","Columns":[
        {"ColumnName":"b","DataType":"SByte"},{"ColumnName":"b2","DataType":"Boolean","ColumnType":"bool"},
        {"ColumnName":"i","DataType":"Int32"},{"ColumnName":"l","DataType":"Int64"},{"ColumnName":"r","DataType":"Double"},
        {"ColumnName":"s","DataType":"String"},{"ColumnName":"t","DataType":"DateTime"},{"ColumnName":"ts","DataType":"TimeSpan"},
        {"ColumnName":"g","DataType":"Guid"},{"ColumnName":"o","DataType":"Object"},{"ColumnName":"d","DataType":"SqlDecimal"}],
      "Rows":[[1,true,5,-9223372036854775808,"-Infinity",{"raw":1},"2024-01-01T00:00:00Z","-00:00:01","00000000-0000-0000-0000-000000000001",[1],"0.1"],
              [0,false,null,null,null,null,null,null,null,null,null]]}]}"#;
    let data = parse_v1(body.as_bytes()).unwrap();
    let t = data.primary_result().unwrap();
    let types: Vec<&KustoType> = t.columns().iter().map(|c| &c.column_type).collect();
    assert_eq!(
        types,
        [
            &KustoType::Bool,
            &KustoType::Bool,
            &KustoType::Int,
            &KustoType::Long,
            &KustoType::Real,
            &KustoType::String,
            &KustoType::DateTime,
            &KustoType::TimeSpan,
            &KustoType::Guid,
            &KustoType::Dynamic,
            &KustoType::Decimal
        ]
    );
    let r = t.row(0).unwrap();
    assert_eq!(r.get_bool("b").unwrap(), Some(true));
    assert_eq!(r.get_i64("l").unwrap(), Some(i64::MIN));
    assert_eq!(r.get_f64("r").unwrap(), Some(f64::NEG_INFINITY));
    assert_eq!(r.get_string("s").unwrap(), Some(r#"{"raw":1}"#));
    assert_eq!(r.get_timespan("ts").unwrap().unwrap().ticks(), -10_000_000);
    assert_eq!(r.get_dynamic("o").unwrap(), Some(json!([1])));
    assert_eq!(r.get_decimal("d").unwrap().unwrap().to_string(), "0.1");
    assert_eq!(t.row(1).unwrap().get_bool("b").unwrap(), Some(false));
}

#[test]
fn v1_bad_columns_are_malformed_at_their_offset() {
    for columns in [
        r#"[{"DataType":"Int64"}]"#,
        r#"[{"ColumnName":"x"}]"#,
        r#"{"ColumnName":"x"}"#,
    ] {
        let body = format!(r#"{{"Tables":[{{"TableName":"T","Columns":{columns},"Rows":[]}}]}}"#);
        match parse_v1(body.as_bytes()) {
            Err(Error::MalformedResponse {
                message,
                offset: Some(offset),
            }) => {
                assert_eq!(
                    &body[offset as usize..offset as usize + columns.len()],
                    columns,
                    "{message}"
                );
                assert!(message.contains("table 0 (T)"), "{message}");
            }
            other => panic!("{columns}: {other:?}"),
        }
    }
}

#[test]
fn v1_table_of_contents_variants() {
    let table = |name: &str, cols: &str, rows: &str| {
        format!(r#"{{"TableName":"{name}","Columns":[{cols}],"Rows":[{rows}]}}"#)
    };
    let one = r#"{"ColumnName":"x","DataType":"Int64","ColumnType":"long"}"#;
    let toc_cols = r#"{"ColumnName":"Ordinal","DataType":"Int64"},{"ColumnName":"Kind","DataType":"String"},{"ColumnName":"Name","DataType":"String"},{"ColumnName":"Id","DataType":"String"},{"ColumnName":"PrettyName","DataType":"String"}"#;
    // Two tables: primary result and query properties.
    let body = format!(
        r#"{{"Tables":[{},{}]}}"#,
        table("Table_0", one, "[1]"),
        table("Table_1", one, "[2]")
    );
    let kinds: Vec<TableKind> = parse_v1(body.as_bytes())
        .unwrap()
        .tables()
        .iter()
        .map(|t| t.kind().clone())
        .collect();
    assert_eq!(
        kinds,
        [TableKind::PrimaryResult, TableKind::QueryProperties]
    );
    // A TOC with an unknown kind is tolerated; two results before it.
    let toc_rows = r#"[0,"QueryResult","First","id",""],[1,"QueryResult","Second","id",""],[2,"QueryTraceLog","Trace","id",""],[3,"BrandNewKind","New","id",""]"#;
    let body = format!(
        r#"{{"Tables":[{},{},{},{},{}]}}"#,
        table("Table_0", one, "[1]"),
        table("Table_1", one, "[2]"),
        table("Table_2", one, "[3]"),
        table("Table_3", one, "[4]"),
        table("Table_4", toc_cols, toc_rows)
    );
    let data = parse_v1(body.as_bytes()).unwrap();
    let named: Vec<(&str, &TableKind)> =
        data.tables().iter().map(|t| (t.name(), t.kind())).collect();
    assert_eq!(
        named,
        [
            ("First", &TableKind::PrimaryResult),
            ("Second", &TableKind::PrimaryResult),
            ("Trace", &TableKind::QueryTraceLog),
            ("New", &TableKind::Other("BrandNewKind".into())),
            ("TableOfContents", &TableKind::TableOfContents),
        ]
    );
    assert_eq!(data.primary_results().count(), 2);
    // Three tables without a TOC: all primary results.
    let body = format!(
        r#"{{"Tables":[{},{},{}]}}"#,
        table("Table_0", one, "[1]"),
        table("Table_1", one, "[2]"),
        table("Table_2", one, "[3]")
    );
    assert_eq!(
        parse_v1(body.as_bytes()).unwrap().primary_results().count(),
        3
    );
}

#[tokio::test]
async fn v1_partial_failures() {
    let text = "Query execution has exceeded the allowed limits (80DA0003): ...\r\n[0]Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException: ...\r\nUnderlyingErrorCode=80DA0003";
    let body = json!({"Tables": [{"TableName": "Table_0", "Columns": [{"ColumnName": "x", "DataType": "Int64", "ColumnType": "long"}],
        "Rows": [[1], [2], {"Exceptions": [text]}]}], "Exceptions": [text]})
    .to_string();
    let failure = match read_v1(chunks(&body, 9)).await {
        Err(Error::PartialFailure(f)) => f,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        failure.errors.len(),
        1,
        "the top-level copy is not repeated"
    );
    assert_eq!(
        failure.errors[0].placement,
        ErrorPlacement::V1Row {
            table_id: 0,
            row_index: 2
        }
    );
    assert_eq!(
        failure.errors[0].error.message,
        "Query execution has exceeded the allowed limits (80DA0003): ..."
    );
    assert!(
        failure.errors[0]
            .error
            .detail()
            .contains("UnderlyingErrorCode=80DA0003")
    );
    assert_eq!(failure.data().unwrap().primary_result().unwrap().len(), 2);
    // Top-level only.
    let body = json!({"Tables": [{"TableName": "Table_0", "Columns": [{"ColumnName": "x", "DataType": "Int64"}], "Rows": [[1]]}], "Exceptions": ["boom"]}).to_string();
    let Err(Error::PartialFailure(f)) = parse_v1(body.as_bytes()) else {
        panic!()
    };
    assert_eq!(f.errors[0].placement, ErrorPlacement::V1Exceptions);
    // QueryStatus with severity 2 (deferred failure reported in the status table).
    let status_cols = r#"[{"ColumnName":"Timestamp","DataType":"DateTime"},{"ColumnName":"Severity","DataType":"Int32"},{"ColumnName":"SeverityName","DataType":"String"},{"ColumnName":"StatusCode","DataType":"Int32"},{"ColumnName":"StatusDescription","DataType":"String"},{"ColumnName":"Count","DataType":"Int32"},{"ColumnName":"RequestId","DataType":"Guid"},{"ColumnName":"ActivityId","DataType":"Guid"},{"ColumnName":"SubActivityId","DataType":"Guid"},{"ColumnName":"ClientActivityId","DataType":"String"}]"#;
    let toc = r#"{"TableName":"Table_3","Columns":[{"ColumnName":"Ordinal","DataType":"Int64"},{"ColumnName":"Kind","DataType":"String"},{"ColumnName":"Name","DataType":"String"},{"ColumnName":"Id","DataType":"String"},{"ColumnName":"PrettyName","DataType":"String"}],"Rows":[[0,"QueryResult","PrimaryResult","",""],[1,"QueryProperties","@ExtendedProperties","",""],[2,"QueryStatus","QueryStatus","",""]]}"#;
    let body = format!(
        r#"{{"Tables":[{{"TableName":"Table_0","Columns":[{{"ColumnName":"x","DataType":"Int64"}}],"Rows":[[1]]}},{{"TableName":"Table_1","Columns":[{{"ColumnName":"Value","DataType":"String"}}],"Rows":[["{{}}"]]}},{{"TableName":"Table_2","Columns":{status_cols},"Rows":[["2024-01-01T00:00:00Z",2,"Error",-2133196797,"Query result set too large",1,"00000000-0000-0000-0000-000000000001","00000000-0000-0000-0000-000000000002","00000000-0000-0000-0000-000000000003","KD2RunQuery;1"]]}},{toc}]}}"#
    );
    let Err(Error::PartialFailure(f)) = parse_v1(body.as_bytes()) else {
        panic!("{body}")
    };
    assert_eq!(
        f.errors[0].placement,
        ErrorPlacement::QueryCompletionInformation {
            table_id: 2,
            level: 2
        }
    );
    assert_eq!(f.errors[0].error.detail(), "Query result set too large");
    assert_eq!(f.errors[0].error.code, "Error");
}

#[test]
fn any_chunking_splits_multibyte_characters_and_escapes_safely() {
    let body = example_fragmented();
    assert!(body.contains("héllo \\\"q\\\""));
    let expected = format!("{:?}", parse_v2(body.as_bytes()).unwrap());
    for chunk in 1..=17 {
        let mut parser = V2Parser::new();
        let mut builder = kusto_data::response::DataSetBuilder::new();
        for piece in body.as_bytes().chunks(chunk) {
            parser.feed(piece);
            while let Some(event) = parser.next_event().unwrap() {
                builder.push(event);
            }
        }
        parser.end_of_input();
        while let Some(event) = parser.next_event().unwrap() {
            builder.push(event);
        }
        assert_eq!(
            format!("{:?}", builder.finish()),
            expected,
            "chunk size {chunk}"
        );
    }
}
