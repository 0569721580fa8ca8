//! The exact text a frame is written as (JSON lines and CSV), value by value, and the Parquet
//! output read back with the parquet crate. The round trip through the emulator is in
//! tests/tests/polars_roundtrip.rs; these pin the bytes.

use kusto_ingest_polars::polars::prelude::*;
use kusto_ingest_polars::{
    Error, FrameFormat, FrameOptions, NonFinite, create_table_command, kusto_type_of, mapping_for,
    write_frame,
};

fn text(frame: &DataFrame, format: FrameFormat, options: &FrameOptions) -> String {
    let mut out = Vec::new();
    write_frame(frame, format, options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn one_column(series: Series) -> DataFrame {
    let height = series.len();
    DataFrame::new(height, vec![Column::from(series)]).unwrap()
}

#[test]
fn scalars_in_json_lines_and_csv() {
    let frame = DataFrame::new(
        3,
        vec![
            Column::from(Series::new("i".into(), [Some(-5i64), None, Some(i64::MAX)])),
            Column::from(Series::new(
                "f".into(),
                [Some(0.1f64), Some(f64::NAN), Some(f64::NEG_INFINITY)],
            )),
            Column::from(Series::new("s".into(), [Some("a,\"b\"\n"), Some(""), None])),
            Column::from(Series::new("b".into(), [Some(true), None, Some(false)])),
            Column::from(
                Series::new("d".into(), [Some(1_234_500i128), Some(-5), None])
                    .into_decimal(10, 4)
                    .unwrap(),
            ),
        ],
    )
    .unwrap();
    let json = text(&frame, FrameFormat::Json, &FrameOptions::new());
    assert_eq!(
        json,
        concat!(
            "{\"i\":-5,\"f\":0.1,\"s\":\"a,\\\"b\\\"\\n\",\"b\":true,\"d\":\"123.4500\"}\n",
            "{\"i\":null,\"f\":\"NaN\",\"s\":\"\",\"b\":null,\"d\":\"-0.0005\"}\n",
            "{\"i\":9223372036854775807,\"f\":\"-Infinity\",\"s\":null,\"b\":false,\"d\":null}\n",
        )
    );
    let csv = text(&frame, FrameFormat::Csv, &FrameOptions::new());
    assert_eq!(
        csv,
        "-5,0.1,\"a,\"\"b\"\"\n\",true,123.4500\r\n,NaN,,,-0.0005\r\n9223372036854775807,-Infinity,,false,\r\n"
    );
    let nulls = FrameOptions::new().with_non_finite(NonFinite::Null);
    assert!(text(&frame, FrameFormat::Json, &nulls).contains("\"f\":null,\"s\":\"\""));
    assert!(text(&frame, FrameFormat::Csv, &nulls).contains("\r\n,,,,-0.0005\r\n"));
}

#[test]
fn times_are_utc_ticks_in_kusto_forms() {
    let frame = DataFrame::new(
        2,
        vec![
            Column::from(
                Series::new("t".into(), [1_700_000_000_123_456_789i64, -1])
                    .into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC)),
            ),
            Column::from(
                // A zone changes how Polars shows the instant, not the instant.
                Series::new("z".into(), [0i64, 1]).into_datetime(
                    TimeUnit::Milliseconds,
                    TimeZone::opt_try_new(Some("Europe/Paris")).unwrap(),
                ),
            ),
            Column::from(Series::new("day".into(), [-719_162i32, 2_932_896]).into_date()),
            Column::from(
                Series::new("span".into(), [-86_400_000_000_001i64, 90_061_001_000_000])
                    .into_duration(TimeUnit::Nanoseconds),
            ),
            Column::from(Series::new("tod".into(), [45_296_123_456_789i64, 0]).into_time()),
        ],
    )
    .unwrap();
    assert_eq!(
        text(&frame, FrameFormat::Json, &FrameOptions::new()),
        concat!(
            "{\"t\":\"2023-11-14T22:13:20.1234567Z\",\"z\":\"1970-01-01T00:00:00Z\",\"day\":\"0001-01-01T00:00:00Z\",\"span\":\"-1.00:00:00.0000001\",\"tod\":\"12:34:56.1234567\"}\n",
            "{\"t\":\"1969-12-31T23:59:59.9999999Z\",\"z\":\"1970-01-01T00:00:00.0010000Z\",\"day\":\"9999-12-31T00:00:00Z\",\"span\":\"1.01:01:01.0010000\",\"tod\":\"00:00:00\"}\n",
        )
    );
}

#[test]
fn nested_values_are_json_and_csv_quotes_them() {
    let mut list: ListChunked = vec![
        Some(
            Series::new("".into(), [0i64, 1_000_000_000])
                .into_datetime(TimeUnit::Nanoseconds, None),
        ),
        None,
    ]
    .into_iter()
    .collect();
    list.rename("times".into());
    let structs = StructChunked::from_series(
        "st".into(),
        2,
        [
            Series::new("x".into(), [Some(f64::NAN), Some(1.5)]),
            Series::new("y".into(), [Some("a\"b"), None]),
        ]
        .iter(),
    )
    .unwrap()
    .into_series();
    let frame = DataFrame::new(
        2,
        vec![Column::from(list.into_series()), Column::from(structs)],
    )
    .unwrap();
    assert_eq!(
        text(&frame, FrameFormat::Json, &FrameOptions::new()),
        concat!(
            "{\"times\":[\"1970-01-01T00:00:00Z\",\"1970-01-01T00:00:01Z\"],\"st\":{\"x\":\"NaN\",\"y\":\"a\\\"b\"}}\n",
            "{\"times\":null,\"st\":{\"x\":1.5,\"y\":null}}\n",
        )
    );
    assert_eq!(
        text(&frame, FrameFormat::Csv, &FrameOptions::new()),
        concat!(
            "\"[\"\"1970-01-01T00:00:00Z\"\",\"\"1970-01-01T00:00:01Z\"\"]\",\"{\"\"x\"\":\"\"NaN\"\",\"\"y\"\":\"\"a\\\"\"b\"\"}\"\r\n",
            ",\"{\"\"x\"\":1.5,\"\"y\"\":null}\"\r\n",
        )
    );
}

#[test]
fn many_chunks_give_the_same_bytes_as_one() {
    let rows = 10_000;
    let frame = DataFrame::new(
        rows,
        vec![
            Column::from(Series::new(
                "id".into(),
                (0..rows as i64).collect::<Vec<_>>(),
            )),
            Column::from(Series::new(
                "s".into(),
                (0..rows)
                    .map(|i| (i % 3 != 0).then(|| format!("v{i}")))
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    for format in [FrameFormat::Json, FrameFormat::Csv] {
        let whole = text(
            &frame,
            format,
            &FrameOptions::new().with_rows_per_chunk(rows),
        );
        let small = text(&frame, format, &FrameOptions::new().with_rows_per_chunk(7));
        assert_eq!(whole, small, "{format:?}");
        assert_eq!(whole.lines().count(), rows);
    }
}

#[test]
fn parquet_reads_back_with_the_same_values() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let rows = 5_000;
    let frame = DataFrame::new(
        rows,
        vec![
            Column::from(Series::new(
                "id".into(),
                (0..rows as i64).collect::<Vec<_>>(),
            )),
            Column::from(
                Series::new(
                    "t".into(),
                    (0..rows as i64)
                        .map(|i| i * 1_000_000_123)
                        .collect::<Vec<_>>(),
                )
                .into_datetime(TimeUnit::Nanoseconds, None),
            ),
        ],
    )
    .unwrap();
    let mut out = Vec::new();
    let options = FrameOptions::new()
        .with_rows_per_chunk(333)
        .with_parquet_row_group(1000);
    write_frame(&frame, FrameFormat::Parquet, &options, &mut out).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out)).unwrap();
    assert_eq!(reader.metadata().num_row_groups(), 5);
    let mut ids = Vec::new();
    let mut times = Vec::new();
    for batch in reader.build().unwrap() {
        let batch = batch.unwrap();
        use arrow::array::AsArray;
        ids.extend(
            batch
                .column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .values()
                .iter()
                .copied(),
        );
        times.extend(
            batch
                .column(1)
                .as_primitive::<arrow::datatypes::TimestampNanosecondType>()
                .values()
                .iter()
                .copied(),
        );
    }
    assert_eq!(ids, (0..rows as i64).collect::<Vec<_>>());
    // Rounded down to the 100 ns tick, as every format sends it.
    let expected: Vec<i64> = (0..rows as i64)
        .map(|i| (i * 1_000_000_123).div_euclid(100) * 100)
        .collect();
    assert_eq!(times, expected);
}

#[test]
fn helpers_describe_the_frame_in_kusto_terms() {
    let frame = DataFrame::new(
        1,
        vec![
            Column::from(Series::new("my id".into(), [1u32])),
            Column::from(
                Series::new("when".into(), [0i64]).into_datetime(TimeUnit::Microseconds, None),
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        create_table_command("T", &frame, true).unwrap(),
        ".create-merge table T ([\"my id\"]:long, when:datetime)"
    );
    let mapping = mapping_for(&frame, FrameFormat::Csv).unwrap();
    assert_eq!(mapping[1].ordinal, Some(1));
    let mapping = mapping_for(&frame, FrameFormat::Json).unwrap();
    assert_eq!(mapping[0].path.as_deref(), Some("$['my id']"));
    assert_eq!(
        kusto_type_of(&DataType::Time),
        Some(kusto_data::KustoType::TimeSpan)
    );
}

#[test]
fn values_kusto_cannot_hold_are_refused_naming_the_column() {
    let frame = one_column(Series::new("big".into(), [u64::MAX]));
    let error =
        write_frame(&frame, FrameFormat::Json, &FrameOptions::new(), Vec::new()).unwrap_err();
    assert!(
        matches!(&error, Error::OutOfRange { column, .. } if column == "big"),
        "{error}"
    );
    let frame =
        one_column(Series::new("d".into(), [i64::MAX]).into_duration(TimeUnit::Microseconds));
    let error =
        write_frame(&frame, FrameFormat::Csv, &FrameOptions::new(), Vec::new()).unwrap_err();
    assert!(error.to_string().contains("timespan range"), "{error}");
    let frame =
        one_column(Series::new("t".into(), [i64::MIN]).into_datetime(TimeUnit::Nanoseconds, None));
    let error =
        write_frame(&frame, FrameFormat::Json, &FrameOptions::new(), Vec::new()).unwrap_err();
    assert!(matches!(error, Error::OutOfRange { .. }), "{error}");
}
