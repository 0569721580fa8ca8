//! `kusto-ingest-polars` through the emulator and Azurite: one frame with every Polars type the
//! crate writes, nulls in every column and extreme values, ingested with each client (queued,
//! streaming, managed streaming) in each format (JSON lines, CSV, Parquet), queried back and
//! compared value by value with what was sent; and query results back into frames with the
//! documented dtypes.

use std::str::FromStr;
use std::time::Duration;

use kusto_data::response::ArrowTimeUnit;
use kusto_data::{DataFormat, KustoDateTime, KustoDecimal, KustoTable, KustoValue};
use kusto_e2e::{IngestHarness, start_ingest};
use kusto_emulator::{FaultAction, FaultRule};
use kusto_ingest::{
    IngestProtocol, IngestionProperties, ManagedIngestResult, ManagedStreamingIngestClient,
    StreamingIngestClient,
};
use kusto_ingest_polars::polars::prelude::*;
use kusto_ingest_polars::{
    BinaryEncoding, DecimalAs, Error, FrameFormat, FrameOptions, IngestFromDataFrame, NonFinite,
    ResultOptions, TableSchema, create_table_command, dataframe_from_table, frame_source,
    query_dataframe,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const ROWS: usize = 6;

fn i64s(name: &str, values: [Option<i64>; ROWS]) -> Series {
    Series::new(name.into(), values.to_vec())
}

fn list_of(name: &str, rows: Vec<Option<Series>>) -> Series {
    let mut list: ListChunked = rows.into_iter().collect();
    list.rename(name.into());
    list.into_series()
}

/// The frame: row 5 is null in every column but `id`.
fn every_type() -> DataFrame {
    let utc = Some(TimeZone::UTC);
    let kolkata = TimeZone::opt_try_new(Some("Asia/Kolkata")).unwrap();
    let columns: Vec<Series> = vec![
        Series::new("id".into(), [0i64, 1, 2, 3, 4, 5]),
        Series::new(
            "i8".into(),
            [
                Some(i8::MIN),
                Some(-1),
                Some(0),
                Some(i8::MAX),
                Some(7),
                None,
            ],
        ),
        Series::new(
            "i16".into(),
            [
                Some(i16::MIN),
                Some(-1),
                Some(0),
                Some(i16::MAX),
                Some(7),
                None,
            ],
        ),
        Series::new(
            "i32".into(),
            [
                Some(i32::MIN),
                Some(-1),
                Some(0),
                Some(i32::MAX),
                Some(7),
                None,
            ],
        ),
        i64s(
            "i64",
            [
                Some(i64::MIN),
                Some(-1),
                Some(0),
                Some(i64::MAX),
                Some(7),
                None,
            ],
        ),
        Series::new(
            "u8".into(),
            [Some(0u8), Some(255), Some(1), Some(2), Some(3), None],
        ),
        Series::new(
            "u16".into(),
            [Some(0u16), Some(65535), Some(1), Some(2), Some(3), None],
        ),
        Series::new(
            "u32".into(),
            [Some(0u32), Some(u32::MAX), Some(1), Some(2), Some(3), None],
        ),
        Series::new(
            "u64".into(),
            [
                Some(0u64),
                Some(i64::MAX as u64),
                Some(1),
                Some(2),
                Some(3),
                None,
            ],
        ),
        Series::new(
            "f32".into(),
            [
                Some(1.5f32),
                Some(-0.1),
                Some(f32::NAN),
                Some(f32::INFINITY),
                Some(f32::MIN_POSITIVE),
                None,
            ],
        ),
        Series::new(
            "f64".into(),
            [
                Some(0.1f64),
                Some(-f64::MAX),
                Some(f64::NAN),
                Some(f64::NEG_INFINITY),
                Some(5e-324),
                None,
            ],
        ),
        Series::new(
            "b".into(),
            [
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(true),
                None,
            ],
        ),
        Series::new(
            "s".into(),
            [
                Some(""),
                Some("a,b \"q\"\nline2\r\nx"),
                Some("Café ☕ 日本 🎉"),
                Some(" lead and trail "),
                Some("tab\there\\back"),
                None,
            ],
        ),
        Series::new(
            "cat".into(),
            [Some("x"), Some("y"), Some("x"), Some("z"), Some("y"), None],
        )
        .cast(&DataType::from_categories(Categories::global()))
        .unwrap(),
        Series::new(
            "en".into(),
            [
                Some("lo"),
                Some("hi"),
                Some("hi"),
                Some("lo"),
                Some("lo"),
                None,
            ],
        )
        .cast(&DataType::from_frozen_categories(
            FrozenCategories::new(["lo", "hi"]).unwrap(),
        ))
        .unwrap(),
        i64s(
            "dt_ns",
            [
                Some(i64::MIN + 100),
                Some(i64::MAX),
                Some(0),
                Some(-1),
                Some(1_700_000_000_123_456_789),
                None,
            ],
        )
        .into_datetime(TimeUnit::Nanoseconds, utc.clone()),
        i64s(
            "dt_us",
            [
                Some(-62_135_596_800_000_000),
                Some(253_402_300_799_999_999),
                Some(0),
                Some(-1),
                Some(1_582_934_400_000_001),
                None,
            ],
        )
        .into_datetime(TimeUnit::Microseconds, None),
        i64s(
            "dt_ms",
            [
                Some(0),
                Some(1),
                Some(-1),
                Some(86_400_000),
                Some(1_700_000_000_000),
                None,
            ],
        )
        .into_datetime(TimeUnit::Milliseconds, kolkata),
        Series::new(
            "date".into(),
            [
                Some(-719_162i32),
                Some(2_932_896),
                Some(0),
                Some(-1),
                Some(11_016),
                None,
            ],
        )
        .into_date(),
        i64s(
            "time",
            [
                Some(0),
                Some(86_399_999_999_999),
                Some(45_296_123_456_789),
                Some(1),
                Some(99),
                None,
            ],
        )
        .into_time(),
        i64s(
            "dur_ns",
            [
                Some(-1),
                Some(i64::MAX),
                Some(-86_400_000_000_001),
                Some(0),
                Some(123_456_789_012_345),
                None,
            ],
        )
        .into_duration(TimeUnit::Nanoseconds),
        i64s(
            "dur_us",
            [
                Some(-1),
                Some(922_337_203_685_477_580),
                Some(-922_337_203_685_477_580),
                Some(1_000_000),
                Some(0),
                None,
            ],
        )
        .into_duration(TimeUnit::Microseconds),
        i64s(
            "dur_ms",
            [
                Some(-1),
                Some(1000),
                Some(0),
                Some(86_400_000),
                Some(-90_061_001),
                None,
            ],
        )
        .into_duration(TimeUnit::Milliseconds),
        Series::new(
            "dec".into(),
            [
                Some(123_400i128),
                Some(-1),
                Some(12_345_678_901_234_567_890_123_456),
                Some(0),
                Some(99_999_999),
                None,
            ],
        )
        .into_decimal(30, 4)
        .unwrap(),
        Series::new(
            "bin".into(),
            [
                Some(&b"\x00\xff"[..]),
                Some(&b""[..]),
                Some(&b"hello"[..]),
                Some(&b"\x01\x02\x03"[..]),
                Some(&b"x"[..]),
                None,
            ],
        ),
        list_of(
            "list_s",
            vec![
                Some(Series::new("".into(), ["a", "b"])),
                Some(Series::new_empty("".into(), &DataType::String)),
                Some(Series::new("".into(), [Some("x,y\"z"), None])),
                Some(Series::new("".into(), ["ünï"])),
                Some(Series::new("".into(), ["nested\nline"])),
                None,
            ],
        ),
        list_of(
            "list_i",
            vec![
                Some(Series::new("".into(), [Some(1i64), None, Some(3)])),
                Some(Series::new("".into(), [i64::MIN])),
                Some(Series::new_empty("".into(), &DataType::Int64)),
                Some(Series::new("".into(), [0i64])),
                Some(Series::new("".into(), [42i64, 43])),
                None,
            ],
        ),
        list_of(
            "arr",
            vec![
                Some(Series::new("".into(), [1.5f64, -2.0])),
                Some(Series::new("".into(), [0.25f64, 1e10])),
                Some(Series::new("".into(), [3.0f64, 4.0])),
                Some(Series::new("".into(), [-0.5f64, 0.5])),
                Some(Series::new("".into(), [1.0f64, 2.0])),
                None,
            ],
        )
        .cast(&DataType::Array(Box::new(DataType::Float64), 2))
        .unwrap(),
        StructChunked::from_series(
            "st".into(),
            ROWS,
            [
                i64s("a", [Some(1), None, Some(-5), Some(0), Some(7), Some(9)]),
                Series::new(
                    "b".into(),
                    [
                        Some("x"),
                        Some("y,\"z\""),
                        None,
                        Some(""),
                        Some("é"),
                        Some("hidden"),
                    ],
                ),
            ]
            .iter(),
        )
        .unwrap()
        .with_outer_validity(Some(
            [true, true, true, true, true, false].into_iter().collect(),
        ))
        .into_series(),
    ];
    DataFrame::new(ROWS, columns.into_iter().map(Column::from).collect()).unwrap()
}

fn ticks(text: &str) -> Value {
    json!(KustoDateTime::from_str(text).unwrap().unix_ticks())
}

/// What Kusto must hold, per column, in canonical form (see [`canonical`]).
fn expected() -> Vec<(&'static str, Vec<Value>)> {
    let n = Value::Null;
    vec![
        (
            "id",
            vec![json!(0), json!(1), json!(2), json!(3), json!(4), json!(5)],
        ),
        (
            "i8",
            vec![
                json!(-128),
                json!(-1),
                json!(0),
                json!(127),
                json!(7),
                n.clone(),
            ],
        ),
        (
            "i16",
            vec![
                json!(-32768),
                json!(-1),
                json!(0),
                json!(32767),
                json!(7),
                n.clone(),
            ],
        ),
        (
            "i32",
            vec![
                json!(i32::MIN),
                json!(-1),
                json!(0),
                json!(i32::MAX),
                json!(7),
                n.clone(),
            ],
        ),
        (
            "i64",
            vec![
                json!(i64::MIN),
                json!(-1),
                json!(0),
                json!(i64::MAX),
                json!(7),
                n.clone(),
            ],
        ),
        (
            "u8",
            vec![
                json!(0),
                json!(255),
                json!(1),
                json!(2),
                json!(3),
                n.clone(),
            ],
        ),
        (
            "u16",
            vec![
                json!(0),
                json!(65535),
                json!(1),
                json!(2),
                json!(3),
                n.clone(),
            ],
        ),
        (
            "u32",
            vec![
                json!(0),
                json!(u32::MAX),
                json!(1),
                json!(2),
                json!(3),
                n.clone(),
            ],
        ),
        (
            "u64",
            vec![
                json!(0),
                json!(i64::MAX),
                json!(1),
                json!(2),
                json!(3),
                n.clone(),
            ],
        ),
        // An f32 arrives as the double of its shortest text (what a reader of the frame sees).
        (
            "f32",
            vec![
                json!(1.5),
                json!(-0.1),
                json!("NaN"),
                json!("Infinity"),
                json!(1.1754944e-38),
                n.clone(),
            ],
        ),
        (
            "f64",
            vec![
                json!(0.1),
                json!(-f64::MAX),
                json!("NaN"),
                json!("-Infinity"),
                json!(5e-324),
                n.clone(),
            ],
        ),
        (
            "b",
            vec![
                json!(true),
                json!(false),
                json!(true),
                json!(false),
                json!(true),
                n.clone(),
            ],
        ),
        // Kusto strings have no null: a null string is the empty string.
        (
            "s",
            vec![
                json!(""),
                json!("a,b \"q\"\nline2\r\nx"),
                json!("Café ☕ 日本 🎉"),
                json!(" lead and trail "),
                json!("tab\there\\back"),
                json!(""),
            ],
        ),
        (
            "cat",
            vec![
                json!("x"),
                json!("y"),
                json!("x"),
                json!("z"),
                json!("y"),
                json!(""),
            ],
        ),
        (
            "en",
            vec![
                json!("lo"),
                json!("hi"),
                json!("hi"),
                json!("lo"),
                json!("lo"),
                json!(""),
            ],
        ),
        (
            "dt_ns",
            vec![
                json!((i64::MIN + 100).div_euclid(100)),
                ticks("2262-04-11T23:47:16.8547758Z"),
                ticks("1970-01-01T00:00:00Z"),
                ticks("1969-12-31T23:59:59.9999999Z"),
                ticks("2023-11-14T22:13:20.1234567Z"),
                n.clone(),
            ],
        ),
        (
            "dt_us",
            vec![
                ticks("0001-01-01T00:00:00Z"),
                ticks("9999-12-31T23:59:59.999999Z"),
                json!(0),
                json!(-10),
                ticks("2020-02-29T00:00:00.000001Z"),
                n.clone(),
            ],
        ),
        (
            "dt_ms",
            vec![
                json!(0),
                json!(10_000),
                json!(-10_000),
                ticks("1970-01-02T00:00:00Z"),
                ticks("2023-11-14T22:13:20Z"),
                n.clone(),
            ],
        ),
        (
            "date",
            vec![
                ticks("0001-01-01T00:00:00Z"),
                ticks("9999-12-31T00:00:00Z"),
                json!(0),
                ticks("1969-12-31T00:00:00Z"),
                ticks("2000-02-29T00:00:00Z"),
                n.clone(),
            ],
        ),
        (
            "time",
            vec![
                json!(0),
                json!(863_999_999_999i64),
                json!(452_961_234_567i64),
                json!(0),
                json!(0),
                n.clone(),
            ],
        ),
        (
            "dur_ns",
            vec![
                json!(-1),
                json!(92_233_720_368_547_758i64),
                json!(-864_000_000_001i64),
                json!(0),
                json!(1_234_567_890_123i64),
                n.clone(),
            ],
        ),
        (
            "dur_us",
            vec![
                json!(-10),
                json!(9_223_372_036_854_775_800i64),
                json!(-9_223_372_036_854_775_800i64),
                json!(10_000_000),
                json!(0),
                n.clone(),
            ],
        ),
        (
            "dur_ms",
            vec![
                json!(-10_000),
                json!(10_000_000),
                json!(0),
                json!(864_000_000_000i64),
                json!(-900_610_010_000i64),
                n.clone(),
            ],
        ),
        (
            "dec",
            vec![
                json!("12.34"),
                json!("-0.0001"),
                json!("1234567890123456789012.3456"),
                json!("0"),
                json!("9999.9999"),
                n.clone(),
            ],
        ),
        (
            "bin",
            vec![
                json!("AP8="),
                json!(""),
                json!("aGVsbG8="),
                json!("AQID"),
                json!("eA=="),
                json!(""),
            ],
        ),
        (
            "list_s",
            vec![
                json!(["a", "b"]),
                json!([]),
                json!(["x,y\"z", null]),
                json!(["ünï"]),
                json!(["nested\nline"]),
                n.clone(),
            ],
        ),
        (
            "list_i",
            vec![
                json!([1, null, 3]),
                json!([i64::MIN]),
                json!([]),
                json!([0]),
                json!([42, 43]),
                n.clone(),
            ],
        ),
        (
            "arr",
            vec![
                json!([1.5, -2.0]),
                json!([0.25, 1e10]),
                json!([3.0, 4.0]),
                json!([-0.5, 0.5]),
                json!([1.0, 2.0]),
                n.clone(),
            ],
        ),
        (
            "st",
            vec![
                json!({"a": 1, "b": "x"}),
                json!({"a": null, "b": "y,\"z\""}),
                json!({"a": -5, "b": null}),
                json!({"a": 0, "b": ""}),
                json!({"a": 7, "b": "é"}),
                n,
            ],
        ),
    ]
}

/// Numbers as f64 when they have a fraction, so that `1.5` and `1.5` compare whatever the JSON
/// number's representation; everything else as it is.
fn normalise_json(value: &Value) -> Value {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                json!(f as i64)
            } else {
                json!(f)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(normalise_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalise_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Removes trailing zeros of a decimal's fraction: `12.3400` and `12.34` are one value.
fn normalise_decimal(value: KustoDecimal) -> String {
    let text = value.to_string();
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A Kusto value in the canonical form of [`expected`]: datetimes as Unix ticks, timespans as
/// ticks, decimals as normalised text, non-finite reals as their names, dynamic as JSON.
fn canonical(value: &KustoValue) -> Value {
    match value {
        KustoValue::Null => Value::Null,
        KustoValue::Bool(b) => json!(b),
        KustoValue::Int(i) => json!(i),
        KustoValue::Long(i) => json!(i),
        KustoValue::Real(f) if f.is_nan() => json!("NaN"),
        KustoValue::Real(f) if f.is_infinite() => {
            json!(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        KustoValue::Real(f) => json!(f),
        KustoValue::Decimal(d) => json!(normalise_decimal(*d)),
        KustoValue::String(s) => json!(s),
        KustoValue::DateTime(d) => json!(d.unix_ticks()),
        KustoValue::TimeSpan(t) => json!(t.ticks()),
        KustoValue::Guid(g) => json!(g.to_string()),
        KustoValue::Dynamic(v) => normalise_json(v),
        _ => json!(format!("{value:?}")),
    }
}

async fn command(h: &IngestHarness, text: &str) {
    h.client
        .mgmt(&h.database, text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

async fn query(h: &IngestHarness, text: &str) -> KustoTable {
    let data = h
        .client
        .query(&h.database, text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    data.primary_result().unwrap().clone()
}

/// Compares the table's rows (ordered by id) with [`expected`], value by value.
async fn assert_table_holds_frame(h: &IngestHarness, table: &str, what: &str) {
    let result = query(h, &format!("{table} | order by id asc")).await;
    assert_eq!(result.len(), ROWS, "{what}: row count");
    let mut problems = Vec::new();
    for (column, values) in expected() {
        let index = result
            .column_index(column)
            .unwrap_or_else(|| panic!("{what}: column {column} missing"));
        for (row, want) in values.iter().enumerate() {
            let got = canonical(&result.row(row).unwrap().get(index).unwrap());
            if normalise_json(want) != got {
                problems.push(format!("{column}[{row}]: want {want}, got {got}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{what}: {} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

async fn wait_rows(h: &IngestHarness, table: &str, rows: usize) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let count = query(h, &format!("{table} | count")).await;
        let n = count.row(0).unwrap().get_i64(0).unwrap().unwrap_or(0);
        if n as usize >= rows || std::time::Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dtype_round_trips_with_each_client_and_format() {
    let h = start_ingest("Frames", false, IngestProtocol::Queue).await;
    let frame = every_type();
    let streaming = StreamingIngestClient::from_kusto_client(h.client.clone());
    let managed = ManagedStreamingIngestClient::from_clients(
        StreamingIngestClient::from_kusto_client(h.client.clone()),
        h.ingest.clone(),
    );
    for format in [FrameFormat::Json, FrameFormat::Csv, FrameFormat::Parquet] {
        for client in ["queued", "streaming", "managed"] {
            let table = format!("T_{client}_{format:?}");
            command(&h, &create_table_command(&table, &frame, false).unwrap()).await;
            // The properties say CSV; the explicit format wins and the properties sent carry it.
            let properties =
                IngestionProperties::new(&h.database, &table, DataFormat::Csv).with_tracking();
            let options = FrameOptions::new().with_format(format);
            let what = format!("{client} {format:?}");
            match client {
                "queued" => {
                    let operation = h
                        .ingest
                        .ingest_from_dataframe(&frame, &properties, &options)
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    let status = operation.wait(WAIT).await.unwrap();
                    assert!(status.all_succeeded(), "{what}: {status:?}");
                }
                "streaming" => {
                    streaming
                        .ingest_from_dataframe(&frame, &properties, &options)
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                }
                _ => {
                    let result = managed
                        .ingest_from_dataframe(&frame, &properties, &options)
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert!(
                        matches!(result, ManagedIngestResult::Streamed(_)),
                        "{what}: {result:?}"
                    );
                }
            }
            wait_rows(&h, &table, ROWS).await;
            assert_table_holds_frame(&h, &table, &what).await;
        }
    }
    // The caller's properties are not changed by the format choice.
    let properties = IngestionProperties::new(&h.database, "T_queued_Json", DataFormat::Csv);
    let (_, sent) = frame_source(
        &frame,
        &properties,
        &FrameOptions::new().with_format(FrameFormat::Json),
    )
    .unwrap();
    assert_eq!(sent.format, DataFormat::Json);
    assert_eq!(properties.format, DataFormat::Csv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_results_become_frames_with_the_documented_dtypes() {
    let h = start_ingest("Frames", false, IngestProtocol::Queue).await;
    let frame = every_type();
    command(&h, &create_table_command("T", &frame, false).unwrap()).await;
    let streaming = StreamingIngestClient::from_kusto_client(h.client.clone());
    let properties = IngestionProperties::new(&h.database, "T", DataFormat::Json);
    streaming
        .ingest_from_dataframe(&frame, &properties, &FrameOptions::new())
        .await
        .unwrap();

    // Microsecond datetimes: the frame holds years 1 and 9999, beyond nanoseconds' range.
    let options = ResultOptions::new().with_time_unit(ArrowTimeUnit::Microsecond);
    let back = query_dataframe(&h.client, &h.database, "T | order by id asc", &options)
        .await
        .unwrap();
    assert_eq!(back.height(), ROWS);
    let dtype = |name: &str| back.column(name).unwrap().dtype().clone();
    assert_eq!(dtype("i8"), DataType::Int32);
    assert_eq!(dtype("i64"), DataType::Int64);
    assert_eq!(dtype("f64"), DataType::Float64);
    assert_eq!(dtype("b"), DataType::Boolean);
    assert_eq!(dtype("s"), DataType::String);
    assert_eq!(
        dtype("dt_us"),
        DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    assert_eq!(dtype("dur_ms"), DataType::Duration(TimeUnit::Microseconds));
    assert_eq!(dtype("dec"), DataType::Decimal(38, 4));
    assert_eq!(dtype("list_i"), DataType::String);
    // Values: the same as the frame where the types match.
    let i64_back: Vec<Option<i64>> = back.column("i64").unwrap().i64().unwrap().iter().collect();
    assert_eq!(
        i64_back,
        vec![
            Some(i64::MIN),
            Some(-1),
            Some(0),
            Some(i64::MAX),
            Some(7),
            None
        ]
    );
    let dt_back: Vec<Option<i64>> = back
        .column("dt_us")
        .unwrap()
        .datetime()
        .unwrap()
        .physical()
        .iter()
        .collect();
    let dt_sent: Vec<Option<i64>> = frame
        .column("dt_us")
        .unwrap()
        .datetime()
        .unwrap()
        .physical()
        .iter()
        .collect();
    assert_eq!(dt_back, dt_sent);
    let dec_back: Vec<Option<i128>> = back
        .column("dec")
        .unwrap()
        .decimal()
        .unwrap()
        .physical()
        .iter()
        .collect();
    let dec_sent: Vec<Option<i128>> = frame
        .column("dec")
        .unwrap()
        .decimal()
        .unwrap()
        .physical()
        .iter()
        .collect();
    assert_eq!(dec_back, dec_sent);
    let f64_back: Vec<Option<f64>> = back.column("f64").unwrap().f64().unwrap().iter().collect();
    assert!(
        f64_back[2].unwrap().is_nan()
            && f64_back[3] == Some(f64::NEG_INFINITY)
            && f64_back[5].is_none()
    );
    let list_back: Vec<Option<&str>> = back
        .column("list_i")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(list_back[0].unwrap()).unwrap(),
        json!([1, null, 3])
    );
    assert_eq!(list_back[5], None);

    // Nanosecond datetimes (the default) cannot hold year 1: a typed error, not a wrong value.
    let error = query_dataframe(
        &h.client,
        &h.database,
        "T | project dt_us",
        &ResultOptions::new(),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("dt_us"), "{error}");

    // From a collected table, with decimals as text and nanosecond durations.
    let table = query(&h, "T | order by id asc | project id, dec, dur_ns, dt_ns").await;
    let frame_back = dataframe_from_table(
        &table,
        &ResultOptions::new().with_decimal(DecimalAs::String),
    )
    .unwrap();
    assert_eq!(frame_back.column("dec").unwrap().dtype(), &DataType::String);
    assert_eq!(
        frame_back.column("dur_ns").unwrap().dtype(),
        &DataType::Duration(TimeUnit::Nanoseconds)
    );
    let dur: Vec<Option<i64>> = frame_back
        .column("dur_ns")
        .unwrap()
        .duration()
        .unwrap()
        .physical()
        .iter()
        .collect();
    assert_eq!(
        dur[2],
        Some(-86_400_000_000_100),
        "floored to the 100 ns tick"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_fail_before_anything_is_sent() {
    let h = start_ingest("Frames", false, IngestProtocol::Queue).await;
    command(&h, ".create table T (id:long, name:string)").await;
    let properties = IngestionProperties::new(&h.database, "T", DataFormat::Json);

    let too_big =
        DataFrame::new(1, vec![Column::from(Series::new("id".into(), [u64::MAX]))]).unwrap();
    let error = h
        .ingest
        .ingest_from_dataframe(&too_big, &properties, &FrameOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::OutOfRange { column, .. } if column == "id"),
        "{error}"
    );

    let before_year_1 = DataFrame::new(
        1,
        vec![Column::from(
            Series::new("t".into(), [-62_135_596_800_001i64])
                .into_datetime(TimeUnit::Milliseconds, None),
        )],
    )
    .unwrap();
    let error = h
        .ingest
        .ingest_from_dataframe(&before_year_1, &properties, &FrameOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::OutOfRange { column, .. } if column == "t"),
        "{error}"
    );

    let binary =
        DataFrame::new(1, vec![Column::from(Series::new("b".into(), [&b"x"[..]]))]).unwrap();
    let refuse = FrameOptions::new().with_binary(BinaryEncoding::Refuse);
    let error = h
        .ingest
        .ingest_from_dataframe(&binary, &properties, &refuse)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnsupportedType { .. }), "{error}");

    let empty = DataFrame::new(
        0,
        vec![Column::from(Series::new_empty(
            "id".into(),
            &DataType::Int64,
        ))],
    )
    .unwrap();
    let error = h
        .ingest
        .ingest_from_dataframe(&empty, &properties, &FrameOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");

    let avro = IngestionProperties::new(&h.database, "T", DataFormat::Avro);
    let ok = DataFrame::new(1, vec![Column::from(Series::new("id".into(), [1i64]))]).unwrap();
    let error = h
        .ingest
        .ingest_from_dataframe(&ok, &avro, &FrameOptions::new())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("json, csv or parquet"),
        "{error}"
    );

    // A schema read from the cluster: a wrong type, an unknown column, and a CSV order problem.
    let schema = kusto_ingest_polars::table_schema(&h.client, &h.database, "T")
        .await
        .unwrap();
    assert_eq!(
        schema,
        TableSchema::new([
            ("id".to_owned(), kusto_data::KustoType::Long),
            ("name".to_owned(), kusto_data::KustoType::String)
        ])
    );
    let mismatched = DataFrame::new(
        1,
        vec![
            Column::from(Series::new("name".into(), [1.5f64])),
            Column::from(Series::new("id".into(), [1i64])),
            Column::from(Series::new("extra".into(), ["x"])),
        ],
    )
    .unwrap();
    let csv = FrameOptions::new()
        .with_format(FrameFormat::Csv)
        .with_table_schema(schema);
    let error = h
        .ingest
        .ingest_from_dataframe(&mismatched, &properties, &csv)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::SchemaMismatch(_)), "{text}");
    for part in [
        "'name' is f64",
        "'extra' is not a column",
        "'id' is column 2 of the frame but column 1",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }

    // Nothing reached the table.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = query(&h, "T | count").await;
    assert_eq!(count.row(0).unwrap().get_i64(0).unwrap(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_frame_is_written_in_chunks_and_non_finite_floats_can_be_nulls() {
    let h = start_ingest("Frames", false, IngestProtocol::Queue).await;
    command(&h, ".create table Big (id:long, x:real, s:string)").await;
    let rows = 200_000usize;
    let ids: Vec<i64> = (0..rows as i64).collect();
    let xs: Vec<f64> = (0..rows)
        .map(|i| {
            if i % 1000 == 0 {
                f64::NAN
            } else {
                i as f64 / 8.0
            }
        })
        .collect();
    let ss: Vec<String> = (0..rows).map(|i| format!("row {i}, \"quoted\"")).collect();
    let frame = DataFrame::new(
        rows,
        vec![
            Column::from(Series::new("id".into(), ids)),
            Column::from(Series::new("x".into(), xs)),
            Column::from(Series::new("s".into(), ss)),
        ],
    )
    .unwrap();
    let properties = IngestionProperties::new(&h.database, "Big", DataFormat::Csv).with_tracking();
    // Small chunks: many slices of the frame, each converted and written on its own.
    let options = FrameOptions::new()
        .with_rows_per_chunk(997)
        .with_non_finite(NonFinite::Null);
    let operation = h
        .ingest
        .ingest_from_dataframe(&frame, &properties, &options)
        .await
        .unwrap();
    assert!(operation.wait(WAIT).await.unwrap().all_succeeded());
    let summary = query(&h, "Big | summarize n = count(), total = sum(id)").await;
    let row = summary.row(0).unwrap();
    assert_eq!(row.get_i64(0).unwrap(), Some(rows as i64), "every row once");
    assert_eq!(
        row.get_i64(1).unwrap(),
        Some((rows as i64 - 1) * rows as i64 / 2)
    );
    let doubled = query(
        &h,
        "Big | summarize c = count() by id | where c != 1 | count",
    )
    .await;
    assert_eq!(
        doubled.row(0).unwrap().get_i64(0).unwrap(),
        Some(0),
        "no row doubled"
    );
    let nulls = query(&h, "Big | where isnull(x) | count").await;
    assert_eq!(
        nulls.row(0).unwrap().get_i64(0).unwrap(),
        Some((rows / 1000) as i64),
        "NaN written as null"
    );
    let last = query(&h, "Big | where id == 199999 | project s").await;
    assert_eq!(
        last.row(0).unwrap().get_string(0).unwrap(),
        Some("row 199999, \"quoted\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_starts_the_frame_again_on_the_next_account() {
    let h = start_ingest("Frames", false, IngestProtocol::Queue).await;
    command(&h, ".create table W (Src:string, N:long, Name:string)").await;
    command(&h, ".create table F (id:long, s:string)").await;
    let client = kusto_ingest::QueuedIngestClient::builder_from_kusto_client(h.client.clone())
        .storage_retry_policy(kusto_e2e::fast_storage_retry())
        .upload_options(
            kusto_ingest::UploadOptions::default()
                .with_block_size(64 << 10)
                .with_block_concurrency(1),
        )
        .build()
        .unwrap();
    let dm = h.emulator.data_management().unwrap();
    // Warm-up: kustoemu2 fails, so this client ranks kustoemu1 first.
    let busy = |account: &str| {
        FaultRule::new(
            format!("/{account}/*"),
            FaultAction::Status {
                status: 503,
                code: "ServerBusy".into(),
                message: "injected".into(),
                permanent: false,
            },
        )
    };
    let second = dm.storage_faults("kustoemu2").unwrap();
    second.add(busy("kustoemu2")).unwrap();
    let warm = IngestionProperties::new(&h.database, "W", DataFormat::Csv);
    for i in 0..10 {
        client
            .ingest(
                kusto_ingest::IngestionSource::bytes(format!("w{i},1,x\n")),
                &warm,
            )
            .await
            .unwrap();
    }
    second.clear();
    assert!(
        kusto_ingest::__test_support::storage_account_rank(&client, "kustoemu2")
            < kusto_ingest::__test_support::storage_account_rank(&client, "kustoemu1")
    );
    // Now the first upload to kustoemu1 fails (both tries of its first block): the frame must
    // start again from its first row on the next container, and arrive once.
    let first = dm.storage_faults("kustoemu1").unwrap();
    first.add(busy("kustoemu1").method("PUT").times(2)).unwrap();
    let rows = 50_000usize;
    let frame = DataFrame::new(
        rows,
        vec![
            Column::from(Series::new(
                "id".into(),
                (0..rows as i64).collect::<Vec<_>>(),
            )),
            Column::from(Series::new(
                "s".into(),
                (0..rows).map(|i| format!("value {i}")).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let properties = IngestionProperties::new(&h.database, "F", DataFormat::Json).with_tracking();
    let operation = client
        .ingest_from_dataframe(
            &frame,
            &properties,
            &FrameOptions::new().with_format(FrameFormat::Csv),
        )
        .await
        .unwrap();
    assert!(operation.wait(WAIT).await.unwrap().all_succeeded());
    let applied: u64 = first.list().iter().map(|f| f.applied).sum();
    assert_eq!(applied, 2, "the first account's upload failed");
    let summary = query(&h, "F | summarize n = count(), total = sum(id)").await;
    let row = summary.row(0).unwrap();
    assert_eq!(row.get_i64(0).unwrap(), Some(rows as i64));
    assert_eq!(
        row.get_i64(1).unwrap(),
        Some((rows as i64 - 1) * rows as i64 / 2)
    );
}
