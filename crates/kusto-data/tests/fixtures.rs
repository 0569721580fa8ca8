//! Every recorded response in `fixtures/` parses to the values it holds.

use kusto_data::response::{DataSet, ErrorPlacement, TableKind, parse_v1, parse_v2};
use kusto_data::types::{KustoDateTime, KustoTimespan, KustoType, KustoValue, Uuid};
use kusto_data::{Error, PartialFailure};
use serde_json::json;

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read fixture {full}: {e}"))
}

fn v2(path: &str) -> DataSet {
    parse_v2(&fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn partial(result: kusto_data::Result<DataSet>) -> PartialFailure {
    match result {
        Err(Error::PartialFailure(f)) => *f,
        other => panic!("expected a partial failure, got {other:?}"),
    }
}

fn dt(s: &str) -> KustoValue {
    KustoValue::DateTime(s.parse().unwrap())
}

fn ts(s: &str) -> KustoValue {
    KustoValue::TimeSpan(s.parse().unwrap())
}

fn assert_deft(data: &DataSet) {
    assert_eq!(data.tables().len(), 3);
    let props = data.query_properties().unwrap();
    assert_eq!((props.id(), props.name()), (0, "@ExtendedProperties"));
    let value = props.row(0).unwrap().get_dynamic("Value").unwrap().unwrap();
    assert!(
        value
            .as_str()
            .unwrap()
            .starts_with("{\"Visualization\":null")
    );

    let t = data.primary_result().unwrap();
    assert_eq!((t.id(), t.name(), t.len()), (1, "Deft", 11));
    let types: Vec<_> = t.columns().iter().map(|c| c.column_type.clone()).collect();
    assert_eq!(types[0], KustoType::Int);
    assert_eq!(types[12], KustoType::DateTime);
    assert_eq!(types[16], KustoType::TimeSpan);
    assert_eq!(types[18], KustoType::Dynamic);

    // Row 0: nulls everywhere except strings, which the service sends as "".
    let r0 = t.row(0).unwrap();
    assert_eq!(r0.get_i32("rownumber").unwrap(), None);
    assert_eq!(r0.get_string("rowguid").unwrap(), Some(""));
    assert_eq!(r0.get_f64("xdouble").unwrap(), None);
    assert_eq!(r0.get_bool("xbool").unwrap(), None);
    assert_eq!(r0.get_i64("xint64").unwrap(), None);
    assert_eq!(r0.get_datetime("xdate").unwrap(), None);
    assert_eq!(r0.get_timespan("xtime").unwrap(), None);
    assert_eq!(
        r0.get("xdynamicWithNulls").unwrap(),
        KustoValue::Dynamic(json!(""))
    );

    // Row 3 (rownumber 2): negative timespan with days, 7-digit datetime, dynamic object.
    let r3 = t.row(3).unwrap();
    assert_eq!(r3.get_i32("rownumber").unwrap(), Some(2));
    assert_eq!(
        r3.get_string("rowguid").unwrap(),
        Some("00000002-0000-0000-0001-020304050607")
    );
    assert_eq!(r3.get_f64("xdouble").unwrap(), Some(2.0002));
    assert_eq!(r3.get_bool("xbool").unwrap(), Some(false));
    assert_eq!(r3.get_i64("xuint64").unwrap(), Some(2));
    assert_eq!(r3.get("xdate").unwrap(), dt("2016-01-01T01:01:01.0000002Z"));
    let xdate = r3.get_datetime("xdate").unwrap().unwrap();
    assert_eq!(
        xdate.ticks() % 10_000_000,
        2,
        "the 7th fractional digit is kept"
    );
    let xtime = r3.get_timespan("xtime").unwrap().unwrap();
    assert_eq!(
        xtime.ticks(),
        -(2 * 864_000_000_000 + 2 * 10_000_000 + 20_002)
    );
    assert_eq!(xtime.to_string(), "-2.00:00:02.0020002");
    assert_eq!(
        r3.get_dynamic("xdynamicWithNulls").unwrap(),
        Some(json!({"rowId": 2, "arr": [0, 2]}))
    );
    assert_eq!(r3.get_string("xnumberAsText").unwrap(), Some("2"));

    let r10 = t.row(10).unwrap();
    assert_eq!(r10.get_i32(0).unwrap(), Some(9));
    assert_eq!(r10.get("xtime").unwrap(), ts("9.00:00:09.0090009"));
    assert_eq!(
        r10.get("xdate").unwrap(),
        dt("2023-01-01T01:01:01.0000009Z")
    );

    let qci = data.query_completion_information().unwrap();
    assert_eq!(qci.len(), 2);
    let info = qci.row(0).unwrap();
    assert_eq!(info.get_i32("Level").unwrap(), Some(4));
    assert_eq!(
        info.get_guid("ActivityId").unwrap(),
        Some(Uuid::parse_str("eeac049e-8a7d-4188-b797-6b5f2c9f9526").unwrap())
    );
    assert_eq!(
        info.get("Timestamp").unwrap(),
        dt("2018-04-30T12:25:11.0778067Z")
    );
    let completion = data.completion().unwrap();
    assert!(!completion.has_errors && !completion.cancelled);
}

#[test]
fn deft_classic_v2() {
    let data = v2("azure-kusto-python/deft.json");
    assert_deft(&data);
    let header = data.header().unwrap();
    assert_eq!(
        (
            header.version.as_str(),
            header.is_progressive,
            header.is_fragmented
        ),
        ("v2.0", false, false)
    );
}

#[test]
fn alternative_key_order_gives_the_same_data() {
    let data = v2("azure-kusto-python/alternative_order.json");
    assert_deft(&data);
    assert_eq!(data.tables(), v2("azure-kusto-python/deft.json").tables());
}

#[test]
fn stray_table_progress_is_skipped() {
    let data = v2("azure-kusto-python/deft_with_progressive_result.json");
    assert_deft(&data);
}

#[test]
fn progressive_frames_keep_the_primary_result() {
    let data = v2("azure-kusto-python/progressive_result.json");
    assert!(data.header().unwrap().is_progressive);
    let t = data.primary_result().unwrap();
    assert_eq!(
        (t.id(), t.name(), t.len(), t.columns().len()),
        (1, "PrimaryResult", 5, 22)
    );
    let r0 = t.row(0).unwrap();
    assert_eq!(r0.get("StartTime").unwrap(), dt("2007-01-01T00:00:00Z"));
    assert_eq!(r0.get_i32("EpisodeId").unwrap(), Some(2592));
    assert_eq!(r0.get_string("State").unwrap(), Some("NORTH CAROLINA"));
    assert_eq!(r0.get_f64("BeginLon").unwrap(), Some(-81.63));
    let summary = r0.get_dynamic("StormSummary").unwrap().unwrap();
    assert_eq!(summary["Details"]["Location"], json!("NORTH CAROLINA"));
    assert_eq!(summary["StartTime"], json!("2007-01-01T00:00:00.0000000Z"));
    let r1 = t.row(1).unwrap();
    assert_eq!(r1.get("EndTime").unwrap(), dt("2007-01-01T05:00:00Z"));
    assert_eq!(r1.get_f64("BeginLat").unwrap(), None);
    assert_eq!(data.query_completion_information().unwrap().len(), 2);
}

#[test]
fn dynamic_values_keep_their_json_kind() {
    let data = v2("azure-kusto-python/dynamic.json");
    let row = data.primary_result().unwrap().row(0).unwrap();
    let values = row.values();
    assert_eq!(values[0], KustoValue::Dynamic(json!(123)));
    assert_eq!(values[1], KustoValue::Dynamic(json!("123")));
    assert_eq!(values[2], KustoValue::Dynamic(json!("test bad json")));
    assert_eq!(values[3], KustoValue::Null);
    // A string that holds JSON text stays a string: it is indistinguishable from a dynamic string.
    assert_eq!(
        values[4],
        KustoValue::Dynamic(json!("{\"rowId\":2,\"arr\":[0,2]}"))
    );
    assert_eq!(
        values[5],
        KustoValue::Dynamic(json!({"rowId": 2, "arr": [0, 2]}))
    );
    // The service's key order is kept (equality above ignores it; the text does not).
    let KustoValue::Dynamic(object) = &values[5] else {
        panic!("a dynamic object");
    };
    assert_eq!(object.to_string(), r#"{"rowId":2,"arr":[0,2]}"#);
}

#[test]
fn null_of_every_type() {
    let data = v2("azure-kusto-python/null_values.json");
    let t = data.primary_result().unwrap();
    assert_eq!(t.name(), "PrimaryResultName");
    let expected = [
        "string", "int", "bool", "datetime", "dynamic", "guid", "long", "real", "timespan",
        "decimal",
    ];
    let types: Vec<String> = t
        .columns()
        .iter()
        .map(|c| c.column_type.to_string())
        .collect();
    assert_eq!(types, expected);
    assert!(t.row(0).unwrap().values().iter().all(KustoValue::is_null));
    let row = t.row(0).unwrap();
    assert_eq!(row.get_decimal("Decimal").unwrap(), None);
    assert_eq!(row.get_guid("Guid").unwrap(), None);
    // The properties table of this file is all nulls too.
    assert!(
        data.query_properties()
            .unwrap()
            .row(0)
            .unwrap()
            .values()
            .iter()
            .all(KustoValue::is_null)
    );
}

#[test]
fn nullable_bools() {
    let data = v2("azure-kusto-python/pandas_bool.json");
    let t = data.primary_result().unwrap();
    let values: Vec<Option<bool>> = t.rows().map(|r| r.get_bool("xbool").unwrap()).collect();
    assert_eq!(values, [None, Some(true), Some(false)]);
}

#[test]
fn zero_rows() {
    let data = v2("azure-kusto-python/zero_results.json");
    let t = data.primary_result().unwrap();
    assert!(t.is_empty());
    assert_eq!(t.columns()[0].name, "print_0");
}

#[test]
fn in_data_partial_failure_keeps_the_rows() {
    let failure = partial(parse_v2(&fixture(
        "azure-kusto-python/query_partial_results_defer_is_false.json",
    )));
    assert_eq!(
        failure.errors.len(),
        1,
        "the DataSetCompletion copy is not repeated"
    );
    let e = &failure.errors[0];
    assert_eq!(
        e.placement,
        ErrorPlacement::Row {
            table_id: 1,
            row_index: 5
        }
    );
    assert_eq!(e.error.code, "LimitsExceeded");
    assert_eq!(
        e.error.error_type.as_deref(),
        Some("Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException")
    );
    assert_eq!(e.error.permanent, Some(false));
    assert!(failure.is_transient());
    assert!(Error::PartialFailure(Box::new(failure.clone())).is_transient());
    let data = failure.data().unwrap();
    let rows: Vec<i64> = data
        .primary_result()
        .unwrap()
        .rows()
        .map(|r| r.get_i64("x").unwrap().unwrap())
        .collect();
    assert_eq!(rows, [1, 2, 3, 4, 5]);
    assert!(data.completion().unwrap().has_errors);
}

#[test]
fn deferred_partial_failure_from_query_completion_information() {
    let failure = partial(parse_v2(&fixture(
        "azure-kusto-python/query_partial_results_defer_is_true.json",
    )));
    assert_eq!(failure.errors.len(), 1);
    let e = &failure.errors[0];
    assert_eq!(
        e.placement,
        ErrorPlacement::QueryCompletionInformation {
            table_id: 2,
            level: 2
        }
    );
    assert_eq!(e.error.code, "QueryLimitsExceeded");
    assert!(
        e.error.detail().contains("E_QUERY_RESULT_SET_TOO_LARGE"),
        "{}",
        e.error.detail()
    );
    assert!(e.error.message.contains("-2133196797"));
    assert_eq!(
        e.error.activity_id(),
        Some("031555a6-3a4f-4766-b3c3-fd28bf5d8ad6")
    );
    let data = failure.into_data().unwrap();
    assert_eq!(data.primary_result().unwrap().len(), 5);
    assert!(!data.completion().unwrap().has_errors);
}

#[test]
fn rust_dataframe_edge_values() {
    let data = v2("azure-kusto-rust/dataframe.json");
    let t = data.primary_result().unwrap();
    assert_eq!((t.name(), t.len()), ("temp", 8));
    let real = |i: usize| t.row(i).unwrap().get_f64("RecordReal").unwrap().unwrap();
    assert!(real(1).is_nan());
    assert_eq!(real(2), f64::INFINITY);
    assert_eq!(real(3), f64::NEG_INFINITY);
    let r1 = t.row(1).unwrap();
    assert_eq!(
        r1.get_datetime("RecordTime").unwrap().unwrap().unix_nanos(),
        -9_223_372_036_000_000_000
    );
    assert_eq!(r1.get("RecordOffset").unwrap(), ts("1.01:01:01"));
    let last = t.row(7).unwrap();
    assert_eq!(last.get_string("RecordName").unwrap(), None);
    // Empty strings in datetime/timespan columns carry no value: read as null.
    assert_eq!(last.get_datetime("RecordTime").unwrap(), None);
    assert_eq!(last.get_timespan("RecordOffset").unwrap(), None);
    assert_eq!(last.get_bool("RecordBool").unwrap(), Some(false));
    assert_eq!(last.get_f64("RecordReal").unwrap(), Some(0.0));
}

#[test]
fn python_dataframe_rejects_its_year_zero_row_but_reads_the_rest() {
    // The hand-made file holds a datetime in year 0000 (outside Kusto's 0001-9999 range), a
    // final row with 6 values for 13 columns, and an unknown column type "missing".
    let body = fixture("azure-kusto-python/dataframe.json");
    match parse_v2(&body) {
        Err(Error::MalformedResponse {
            message,
            offset: Some(offset),
        }) => {
            assert!(
                message.contains("row 1")
                    && message.contains("RecordTime")
                    && message.contains("0000-01-01"),
                "{message}"
            );
            let before = String::from_utf8_lossy(&body[offset as usize - 30..offset as usize]);
            assert!(before.contains("0000-01-01T00:00:00Z"), "{before}");
        }
        other => panic!("{other:?}"),
    }
    // Its decimal column also holds "NaN"/"Infinity", which a Kusto decimal cannot be:
    let decimal_nan = body_with(&body, "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z");
    match parse_v2(decimal_nan.as_bytes()) {
        Err(Error::MalformedResponse { message, .. }) => assert!(
            message.contains("RecordDecimal") && message.contains("NaN"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // With year 0001, the decimal column typed as real and the short row removed, every other
    // value is read.
    let text = body_with(&body, "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z");
    let text = text.replacen(
        "\"ColumnName\": \"RecordDecimal\",\n        \"ColumnType\": \"decimal\"",
        "\"ColumnName\": \"RecordDecimal\",\n        \"ColumnType\": \"real\"",
        1,
    );
    let start = text
        .rfind(",\n      [\n        null")
        .expect("the short row");
    let end = start + text[start..].find(']').unwrap() + 1;
    let fixed = format!("{}{}", &text[..start], &text[end..]);
    let data = parse_v2(fixed.as_bytes()).unwrap();
    let t = data.primary_result().unwrap();
    assert_eq!(t.len(), 7);
    assert_eq!(
        t.columns()[12].column_type,
        KustoType::Other("missing".into())
    );
    assert_eq!(
        t.columns()[9].column_type,
        KustoType::Real,
        "double is an alias of real"
    );
    let r0 = t.row(0).unwrap();
    assert_eq!(
        r0.get("MissingType").unwrap(),
        KustoValue::Dynamic(json!("miss"))
    );
    assert_eq!(r0.get_f64("RecordDecimal").unwrap(), Some(1.2));
    assert_eq!(
        t.row(2).unwrap().get_f64("RecordDecimal").unwrap(),
        Some(f64::INFINITY)
    );
    assert_eq!(r0.get_i64("RecordLong").unwrap(), Some(92_233_720_368));
    assert_eq!(
        t.row(1).unwrap().get_datetime("RecordTime").unwrap(),
        Some(KustoDateTime::MIN)
    );
    assert_eq!(
        t.row(2)
            .unwrap()
            .get_datetime("RecordTime")
            .unwrap()
            .unwrap()
            .to_string(),
        "9999-12-31T23:59:59Z"
    );
    assert_eq!(
        t.row(5).unwrap().get_timespan("RecordOffset").unwrap(),
        Some(KustoTimespan::from_ticks(600_000_000))
    );
    assert_eq!(
        t.row(6).unwrap().get("RecordOffset").unwrap(),
        ts("1.01:01:01")
    );
    assert!(
        t.row(1)
            .unwrap()
            .get_f64("RecordDouble")
            .unwrap()
            .unwrap()
            .is_nan()
    );
}

fn body_with(body: &[u8], from: &str, to: &str) -> String {
    String::from_utf8(body.to_vec()).unwrap().replace(from, to)
}

fn assert_admin_then_query(data: &DataSet) {
    let kinds: Vec<(&str, &TableKind)> =
        data.tables().iter().map(|t| (t.name(), t.kind())).collect();
    assert_eq!(
        kinds,
        [
            ("PrimaryResult", &TableKind::PrimaryResult),
            ("@ExtendedProperties", &TableKind::QueryProperties),
            ("QueryStatus", &TableKind::QueryCompletionInformation),
            ("TableOfContents", &TableKind::TableOfContents),
        ]
    );
    let t = data.primary_result().unwrap();
    let names: Vec<&str> = t
        .rows()
        .map(|r| r.get_string("TableName").unwrap().unwrap())
        .collect();
    assert_eq!(names, ["KustoLogs", "LiorTmp"]);
    assert_eq!(
        t.columns()[0].column_type,
        KustoType::String,
        "DataType String"
    );
    let status = data.query_completion_information().unwrap();
    assert_eq!(status.columns()[0].column_type, KustoType::DateTime);
    assert_eq!(status.columns()[1].column_type, KustoType::Int);
    assert_eq!(status.columns()[6].column_type, KustoType::Guid);
    let r0 = status.row(0).unwrap();
    assert_eq!(
        r0.get("Timestamp").unwrap(),
        dt("2018-08-12T09:13:19.5200972Z")
    );
    assert_eq!(r0.get_i32("Severity").unwrap(), Some(4));
    // A raw JSON object in a string column is kept as its JSON text.
    let description = status
        .row(1)
        .unwrap()
        .get_string("StatusDescription")
        .unwrap()
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(description).unwrap();
    assert_eq!(parsed["dataset_statistics"][0]["table_row_count"], json!(2));
    let toc = &data.tables()[3];
    assert_eq!(toc.row(2).unwrap().get_i64("Ordinal").unwrap(), Some(2));
}

#[test]
fn v1_table_of_contents() {
    assert_admin_then_query(&parse_v1(&fixture("azure-kusto-python/adminthenquery.json")).unwrap());
    assert_admin_then_query(&parse_v1(&fixture("azure-kusto-rust/adminthenquery.json")).unwrap());
}

#[test]
fn v1_show_version_without_column_type() {
    let data = parse_v1(&fixture("azure-kusto-python/versionshowcommandresult.json")).unwrap();
    assert_eq!(data.tables().len(), 1);
    let t = data.primary_result().unwrap();
    assert_eq!(t.name(), "Table_0");
    let r = t.row(0).unwrap();
    assert_eq!(
        r.get_string("BuildVersion").unwrap(),
        Some("1.0.6693.14577")
    );
    assert_eq!(r.get("BuildTime").unwrap(), dt("2018-04-29T08:05:54Z"));
    assert_eq!(r.get_string("ServiceType").unwrap(), Some("Engine"));
}

#[test]
fn ingest_v2_configuration_is_not_a_query_response() {
    // The java fixture is an ingest-v2 configuration document, not a query answer: both parsers
    // reject it with a typed error instead of guessing.
    let body = fixture("azure-kusto-java/config-response.json");
    assert!(matches!(
        parse_v2(&body),
        Err(Error::MalformedResponse {
            offset: Some(0),
            ..
        })
    ));
    assert!(matches!(
        parse_v1(&body),
        Err(Error::MalformedResponse { .. })
    ));
}
