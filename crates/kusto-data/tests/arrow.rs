//! Arrow conversion of every Kusto type.
#![cfg(feature = "arrow")]

use kusto_data::Error;
use kusto_data::arrow::array::{
    Array, BooleanArray, DurationMicrosecondArray, DurationNanosecondArray, FixedSizeBinaryArray,
    Float64Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    TimestampNanosecondArray,
};
use kusto_data::arrow::datatypes::{DataType, TimeUnit};
use kusto_data::response::{ArrowOptions, ArrowTimeUnit, Column, KustoTable, TableKind, parse_v2};
use kusto_data::types::{KustoDateTime, KustoType, KustoValue};

fn every_type_table() -> KustoTable {
    let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"b","ColumnType":"bool"},{"ColumnName":"i","ColumnType":"int"},{"ColumnName":"l","ColumnType":"long"},{"ColumnName":"r","ColumnType":"real"},{"ColumnName":"d","ColumnType":"decimal"},{"ColumnName":"s","ColumnType":"string"},{"ColumnName":"g","ColumnType":"guid"},{"ColumnName":"t","ColumnType":"datetime"},{"ColumnName":"ts","ColumnType":"timespan"},{"ColumnName":"dy","ColumnType":"dynamic"},{"ColumnName":"u","ColumnType":"missing"}],
"Rows":[[true,-7,9007199254740993,2.5,"12.3400","héllo","c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d","2024-05-01T10:20:30.1234567Z","-1.02:03:04.5000001",{"k":[1,"x"]},"raw"],
        [null,null,null,"NaN",null,"",null,null,null,null,null]]},
{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
    parse_v2(body.as_bytes())
        .unwrap()
        .into_primary_results()
        .remove(0)
}

#[test]
fn every_type_with_the_default_options() {
    let table = every_type_table();
    let batch = table.to_record_batch().unwrap();
    assert_eq!((batch.num_rows(), batch.num_columns()), (2, 11));
    let schema = batch.schema();
    let types: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Boolean,
            DataType::Int32,
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Utf8,
            DataType::FixedSizeBinary(16),
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            DataType::Duration(TimeUnit::Nanosecond),
            DataType::Utf8,
            DataType::Utf8,
        ]
    );
    assert!(schema.fields().iter().all(|f| f.is_nullable()));
    assert_eq!(
        schema
            .field(4)
            .metadata()
            .get("kusto.type")
            .map(String::as_str),
        Some("decimal")
    );
    assert_eq!(
        schema
            .field(6)
            .metadata()
            .get("ARROW:extension:name")
            .map(String::as_str),
        Some("arrow.uuid")
    );
    assert_eq!(
        schema
            .field(9)
            .metadata()
            .get("ARROW:extension:name")
            .map(String::as_str),
        Some("arrow.json")
    );

    let col = |i: usize| batch.column(i).clone();
    let b = col(0);
    let b = b.as_any().downcast_ref::<BooleanArray>().unwrap();
    assert!(b.value(0) && b.is_null(1));
    assert_eq!(
        col(1)
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap()
            .value(0),
        -7
    );
    assert_eq!(
        col(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0),
        9_007_199_254_740_993
    );
    let r = col(3);
    let r = r.as_any().downcast_ref::<Float64Array>().unwrap();
    assert_eq!(r.value(0), 2.5);
    assert!(r.value(1).is_nan() && !r.is_null(1));
    let d = col(4);
    assert_eq!(
        d.as_any().downcast_ref::<StringArray>().unwrap().value(0),
        "12.3400"
    );
    assert!(d.is_null(1));
    let s = col(5);
    let s = s.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!((s.value(0), s.value(1), s.is_null(1)), ("héllo", "", false));
    let g = col(6);
    let g = g.as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    assert_eq!(
        g.value(0),
        [
            0xc9, 0xb2, 0xd3, 0xa4, 0x5e, 0x6f, 0x4a, 0x1b, 0x8c, 0x2d, 0x3e, 0x4f, 0x5a, 0x6b,
            0x7c, 0x8d
        ]
    );
    assert!(g.is_null(1));
    let t = col(7);
    let t = t
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(t.value(0), 1_714_558_830_123_456_700);
    assert!(t.is_null(1));
    let ts = col(8);
    let ts = ts
        .as_any()
        .downcast_ref::<DurationNanosecondArray>()
        .unwrap();
    assert_eq!(
        ts.value(0),
        -((26 * 3600 + 3 * 60 + 4) * 1_000_000_000 + 500_000_100)
    );
    let dy = col(9);
    assert_eq!(
        dy.as_any().downcast_ref::<StringArray>().unwrap().value(0),
        r#"{"k":[1,"x"]}"#
    );
    assert_eq!(
        col(10)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0),
        r#""raw""#
    );
}

#[test]
fn other_time_units_cover_the_full_range() {
    let columns = vec![
        Column::new("t", KustoType::DateTime),
        Column::new("ts", KustoType::TimeSpan),
    ];
    let rows = vec![
        vec![
            KustoValue::DateTime(KustoDateTime::MIN),
            KustoValue::TimeSpan(kusto_data::KustoTimespan::from_ticks(i64::MAX)),
        ],
        vec![
            KustoValue::DateTime("9999-12-31T23:59:59.9999999Z".parse().unwrap()),
            KustoValue::TimeSpan(kusto_data::KustoTimespan::from_ticks(-15)),
        ],
    ];
    let table = KustoTable::new(1, TableKind::PrimaryResult, "T", columns, rows).unwrap();

    match table.to_record_batch() {
        Err(Error::Conversion(e)) => {
            assert_eq!(
                (e.row, e.column.as_str(), e.kusto_type.as_str()),
                (Some(0), "t", "datetime")
            );
            assert!(
                e.message.contains("ArrowTimeUnit::Microsecond"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }

    let micro = table
        .to_record_batch_with(&ArrowOptions::new().with_time_unit(ArrowTimeUnit::Microsecond))
        .unwrap();
    let t = micro
        .column(0)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap();
    assert_eq!(t.value(0), -62_135_596_800_000_000);
    assert_eq!(t.value(1), 253_402_300_799_999_999);
    let ts = micro
        .column(1)
        .as_any()
        .downcast_ref::<DurationMicrosecondArray>()
        .unwrap();
    assert_eq!(ts.value(0), i64::MAX / 10);
    assert_eq!(ts.value(1), -2, "rounded down");

    let ticks = table
        .to_record_batch_with(&ArrowOptions::new().with_time_unit(ArrowTimeUnit::Ticks))
        .unwrap();
    assert_eq!(ticks.schema().field(0).data_type(), &DataType::Int64);
    let t = ticks
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(t.value(0), KustoDateTime::MIN.unix_ticks());
    assert_eq!(t.value(1), 2_534_023_007_999_999_999);
    let ts = ticks
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!((ts.value(0), ts.value(1)), (i64::MAX, -15));
}

#[test]
fn empty_tables_and_zero_columns() {
    let table = KustoTable::new(
        1,
        TableKind::PrimaryResult,
        "T",
        vec![Column::new("a", KustoType::Guid)],
        vec![],
    )
    .unwrap();
    let batch = table.to_record_batch().unwrap();
    assert_eq!((batch.num_rows(), batch.num_columns()), (0, 1));
    let table = KustoTable::new(
        1,
        TableKind::PrimaryResult,
        "T",
        Vec::<Column>::new(),
        vec![vec![], vec![]],
    )
    .unwrap();
    assert_eq!(table.to_record_batch().unwrap().num_rows(), 2);
}

#[test]
fn a_value_of_the_wrong_type_is_a_conversion_error() {
    let table = KustoTable::new(
        1,
        TableKind::PrimaryResult,
        "T",
        vec![Column::new("n", KustoType::Long)],
        vec![vec!["text".into()]],
    )
    .unwrap();
    match table.to_record_batch() {
        Err(Error::Conversion(e)) => assert_eq!(
            (e.row, e.column.as_str(), e.rust_type.as_str()),
            (Some(0), "n", "Arrow Int64")
        ),
        other => panic!("{other:?}"),
    }
}
