//! `kusto-data`'s `KustoClient` against `kusto-emulator`: two independent implementations of the
//! protocol checking each other over real HTTP.

use bytes::Bytes;
use futures::StreamExt;
use kusto_data::client::StreamingIngestOptions;
use kusto_data::kql::QueryParameters;
use kusto_data::{
    ClientRequestProperties, DataFormat, Error, KustoDateTime, KustoDecimal, KustoTimespan,
};
use kusto_e2e::start;
use kusto_emulator::{FaultAction, FaultRule};

const SCHEMA: &str = "(b:bool, i:int, l:long, r:real, d:decimal, s:string, g:guid, t:datetime, \
                      ts:timespan, dy:dynamic)";

/// Three rows: ordinary values, extremes, and nulls (empty fields).
const CSV: &str = "\
true,-7,9223372036854775807,2.5,12.3400000000000000000000001,\"h\u{e9}llo \"\"q\"\"\",c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d,2024-05-01T10:20:30.1234567Z,1.02:03:04.5000000,\"{\"\"k\"\":[1,\"\"x\"\"]}\"
false,2147483647,-9223372036854775808,NaN,-0.5,,00000000-0000-0000-0000-000000000000,0001-01-01T00:00:00Z,-00:00:02.0020002,[]
,,,,,,,,,
";

async fn prepared(database: &str) -> kusto_e2e::Harness {
    let harness = start(database).await;
    harness
        .client
        .mgmt(database, &format!(".create table AllTypes {SCHEMA}"))
        .await
        .unwrap();
    let answer = harness
        .client
        .execute_streaming_ingest(
            database,
            "AllTypes",
            Bytes::from_static(CSV.as_bytes()),
            DataFormat::Csv,
            &StreamingIngestOptions::default(),
        )
        .await
        .unwrap();
    // The emulator answers like the service: one v1 table, when it sends a body at all.
    if let Some(answer) = answer {
        assert!(!answer.tables().is_empty());
    }
    harness
}

#[tokio::test]
async fn every_type_round_trips_exactly() {
    let h = prepared("Types").await;
    let data = h
        .client
        .query("Types", "AllTypes | order by i asc")
        .await
        .unwrap();
    let table = data.primary_result().unwrap();
    assert_eq!(table.len(), 3);
    // `order by i asc` puts the null row first in the emulator, as in Kusto (nulls first).
    let rows: Vec<_> = table.rows().collect();
    let nulls = rows
        .iter()
        .find(|r| r.get_i32("i").unwrap().is_none())
        .unwrap();
    for column in ["b", "i", "l", "r", "d", "g", "t", "ts", "dy"] {
        assert!(
            nulls.get(column).unwrap().is_null(),
            "{column} should be null"
        );
    }
    assert_eq!(nulls.get_string("s").unwrap(), Some(""));

    let first = rows
        .iter()
        .find(|r| r.get_i32("i").unwrap() == Some(-7))
        .unwrap();
    assert_eq!(first.get_bool("b").unwrap(), Some(true));
    assert_eq!(first.get_i64("l").unwrap(), Some(i64::MAX));
    assert_eq!(first.get_f64("r").unwrap(), Some(2.5));
    assert_eq!(
        first.get_decimal("d").unwrap(),
        Some(
            "12.3400000000000000000000001"
                .parse::<KustoDecimal>()
                .unwrap()
        )
    );
    assert_eq!(first.get_string("s").unwrap(), Some("h\u{e9}llo \"q\""));
    assert_eq!(
        first.get_guid("g").unwrap().unwrap().to_string(),
        "c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
    );
    assert_eq!(
        first.get_datetime("t").unwrap(),
        Some(
            "2024-05-01T10:20:30.1234567Z"
                .parse::<KustoDateTime>()
                .unwrap()
        )
    );
    assert_eq!(
        first.get_timespan("ts").unwrap(),
        Some("1.02:03:04.5000000".parse::<KustoTimespan>().unwrap())
    );
    assert_eq!(
        first.get_dynamic("dy").unwrap(),
        Some(serde_json::json!({"k": [1, "x"]}))
    );

    let second = rows
        .iter()
        .find(|r| r.get_i32("i").unwrap() == Some(i32::MAX))
        .unwrap();
    assert_eq!(second.get_i64("l").unwrap(), Some(i64::MIN));
    assert!(second.get_f64("r").unwrap().unwrap().is_nan());
    assert_eq!(
        second.get_datetime("t").unwrap(),
        Some("0001-01-01T00:00:00Z".parse::<KustoDateTime>().unwrap())
    );
    assert_eq!(
        second.get_timespan("ts").unwrap().unwrap().ticks(),
        -20_020_002
    );
    assert_eq!(
        second.get_dynamic("dy").unwrap(),
        Some(serde_json::json!([]))
    );
}

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Typed {
    i: Option<i32>,
    l: Option<i64>,
    s: String,
    b: Option<bool>,
}

#[tokio::test]
async fn rows_deserialize_into_structs_and_arrow() {
    let h = prepared("Serde").await;
    let data = h
        .client
        .query(
            "Serde",
            "AllTypes | where isnotnull(i) | project i, l, s, b | order by i asc",
        )
        .await
        .unwrap();
    let table = data.primary_result().unwrap();
    let rows: Vec<Typed> = table.deserialize().unwrap();
    assert_eq!(
        rows,
        vec![
            Typed {
                i: Some(-7),
                l: Some(i64::MAX),
                s: "h\u{e9}llo \"q\"".into(),
                b: Some(true)
            },
            Typed {
                i: Some(i32::MAX),
                l: Some(i64::MIN),
                s: String::new(),
                b: Some(false)
            },
        ]
    );
    let batch = table.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(batch.num_columns(), 4);
    assert_eq!(batch.schema().field(1).name(), "l");
}

#[tokio::test]
async fn parameters_cannot_inject() {
    let h = prepared("Params").await;
    let hostile = "x\" or 1==1 or s == \"";
    let parameters = QueryParameters::new()
        .with("needle", hostile)
        .unwrap()
        .with("lower", -100_i64)
        .unwrap();
    let data = h
        .client
        .query(
            "Params",
            "AllTypes | where s == needle and l > lower | count",
        )
        .parameters(&parameters)
        .await
        .unwrap();
    let count = data
        .primary_result()
        .unwrap()
        .row(0)
        .unwrap()
        .get_i64(0)
        .unwrap();
    assert_eq!(
        count,
        Some(0),
        "the hostile text is a value, not query text"
    );

    let parameters = QueryParameters::new()
        .with("needle", "h\u{e9}llo \"q\"")
        .unwrap();
    let data = h
        .client
        .query("Params", "AllTypes | where s == needle | count")
        .parameters(&parameters)
        .await
        .unwrap();
    assert_eq!(
        data.primary_result()
            .unwrap()
            .row(0)
            .unwrap()
            .get_i64(0)
            .unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn hostile_parameter_values_come_back_as_values() {
    let h = start("Hostile").await;
    let attacks = [
        "\"; .drop table AllTypes; print \"",
        "x\" | union (print s = \"injected\") | where \"\" == \"",
        "' | take 100 //",
        "\\\" | print 1 //",
        "line\nbreak | where 1 == 1",
        "\r\n.drop database Hostile",
        "h@\"x\"",
        "```fenced```",
        ")",
        "\u{2028}é\u{7f}\u{0}",
        // Above U+FFFF: sent as a surrogate pair, read back as one character.
        "\u{1f600} and \u{10ffff}",
        "",
    ];
    for attack in attacks {
        let parameters = QueryParameters::new().with("v", attack).unwrap();
        let data = h
            .client
            .query("Hostile", "print s = v")
            .parameters(&parameters)
            .await
            .unwrap_or_else(|e| panic!("{attack:?}: {e}"));
        let table = data.primary_result().unwrap();
        assert_eq!(
            (table.len(), table.columns().len()),
            (1, 1),
            "{attack:?}: exactly the one column and row the query makes"
        );
        assert_eq!(
            table.row(0).unwrap().get_string("s").unwrap(),
            Some(attack),
            "the value arrives unchanged"
        );
    }
}

#[tokio::test]
async fn fragmented_and_progressive_modes_give_the_same_rows() {
    let h = prepared("Modes").await;
    let plain = h.client.query("Modes", "AllTypes").await.unwrap();
    for option in [
        "results_v2_fragment_primary_tables",
        "results_progressive_enabled",
    ] {
        let mut properties = ClientRequestProperties::new();
        properties.set_option(option, true);
        properties.set_option("results_v2_newlines_between_frames", true);
        let data = h
            .client
            .query("Modes", "AllTypes")
            .properties(&properties)
            .await
            .unwrap();
        // Compared through Debug, because NaN != NaN.
        assert_eq!(
            format!("{:?}", data.primary_result().unwrap().to_rows()),
            format!("{:?}", plain.primary_result().unwrap().to_rows()),
            "{option}"
        );
    }
}

#[tokio::test]
async fn truncation_is_a_partial_failure_in_every_placement() {
    let h = prepared("Limits").await;
    for placement in [None, Some("end_of_table"), Some("end_of_dataset")] {
        let mut properties = ClientRequestProperties::new();
        properties.set_option("truncationmaxrecords", 1);
        if let Some(placement) = placement {
            properties.set_option("results_error_reporting_placement", placement);
            properties.set_option("results_v2_fragment_primary_tables", true);
        }
        let error = h
            .client
            .query("Limits", "AllTypes")
            .properties(&properties)
            .await
            .unwrap_err();
        let Error::PartialFailure(failure) = error else {
            panic!("{placement:?}: expected a partial failure, got {error}");
        };
        assert!(
            failure
                .errors
                .iter()
                .any(|e| e.error.code == "LimitsExceeded"),
            "{placement:?}: {failure:?}"
        );
        let received = failure.data().unwrap().primary_result().unwrap().len();
        assert_eq!(
            received, 1,
            "{placement:?}: the row before the limit is kept"
        );
    }

    // With deferred failures there is no marker in the data, but the completion information
    // still reports the failure: never a silent truncation.
    let mut properties = ClientRequestProperties::new();
    properties.set_option("truncationmaxrecords", 1);
    properties.set_option("deferpartialqueryfailures", true);
    let error = h
        .client
        .query("Limits", "AllTypes")
        .properties(&properties)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::PartialFailure(_)), "{error}");
}

#[tokio::test]
async fn semantic_errors_are_permanent_service_errors() {
    let h = start("Errors").await;
    let error = h
        .client
        .query("Errors", "NoSuchTable | take 1")
        .await
        .unwrap_err();
    let service = error.as_service_error().unwrap();
    assert_eq!(service.status, 400);
    assert_eq!(service.code(), Some("General_BadRequest"));
    assert!(error.is_permanent());
    assert!(error.to_string().contains("NoSuchTable"), "{error}");
    assert!(service.activity_id.is_some());

    let error = h
        .client
        .mgmt("Errors", ".frobnicate everything")
        .await
        .unwrap_err();
    assert_eq!(error.as_service_error().unwrap().status, 400);
}

#[tokio::test]
async fn injected_faults_are_retried_or_surfaced() {
    let h = prepared("Faults").await;
    let faults = h.emulator.faults();

    faults
        .add(
            FaultRule::new(
                "/v2/rest/query",
                FaultAction::Throttle {
                    retry_after_seconds: 0,
                },
            )
            .times(2),
        )
        .unwrap();
    let data = h.client.query("Faults", "AllTypes | count").await.unwrap();
    assert_eq!(
        data.primary_result()
            .unwrap()
            .row(0)
            .unwrap()
            .get_i64(0)
            .unwrap(),
        Some(3)
    );

    faults
        .add(FaultRule::new("/v2/rest/query", FaultAction::Drop).times(1))
        .unwrap();
    h.client.query("Faults", "AllTypes | count").await.unwrap();

    faults
        .add(
            FaultRule::new(
                "/v2/rest/query",
                FaultAction::Status {
                    status: 500,
                    code: "Internal".into(),
                    message: "broken".into(),
                    permanent: true,
                },
            )
            .times(1),
        )
        .unwrap();
    let error = h.client.query("Faults", "AllTypes").await.unwrap_err();
    assert!(
        error.is_permanent(),
        "@permanent: true wins over the 5xx status"
    );

    // A command that changes state is not retried: one throttled attempt, one error.
    faults
        .add(
            FaultRule::new(
                "/v1/rest/mgmt",
                FaultAction::Throttle {
                    retry_after_seconds: 0,
                },
            )
            .times(1),
        )
        .unwrap();
    let error = h
        .client
        .mgmt("Faults", ".clear table AllTypes data")
        .await
        .unwrap_err();
    assert!(error.as_service_error().unwrap().is_throttled());
    let count = h.client.query("Faults", "AllTypes | count").await.unwrap();
    assert_eq!(
        count
            .primary_result()
            .unwrap()
            .row(0)
            .unwrap()
            .get_i64(0)
            .unwrap(),
        Some(3)
    );
}

#[tokio::test]
async fn a_streamed_query_delivers_every_row_in_batches() {
    let h = start("Stream").await;
    h.client
        .mgmt("Stream", ".create table Numbers (n:long, s:string)")
        .await
        .unwrap();
    let mut csv = String::new();
    for n in 0..5000 {
        csv.push_str(&format!("{n},row {n}\n"));
    }
    h.client
        .execute_streaming_ingest(
            "Stream",
            "Numbers",
            Bytes::from(csv),
            DataFormat::Csv,
            &StreamingIngestOptions::default(),
        )
        .await
        .unwrap();
    let mut batches = h
        .client
        .query("Stream", "Numbers | order by n asc")
        .stream()
        .await
        .unwrap()
        .primary_batches();
    let mut next = 0_i64;
    while let Some(batch) = batches.next().await {
        for row in batch.unwrap().rows() {
            assert_eq!(row.get_i64("n").unwrap(), Some(next));
            next += 1;
        }
    }
    assert_eq!(next, 5000);
}

#[tokio::test]
async fn streaming_ingestion_errors_are_typed() {
    let h = start("Streaming").await;
    h.client
        .mgmt("Streaming", ".create table T (a:long)")
        .await
        .unwrap();
    h.client
        .mgmt(
            "Streaming",
            ".alter table T policy streamingingestion disable",
        )
        .await
        .unwrap();
    let error = h
        .client
        .execute_streaming_ingest(
            "Streaming",
            "T",
            Bytes::from_static(b"1\n"),
            DataFormat::Csv,
            &StreamingIngestOptions::default(),
        )
        .await
        .unwrap_err();
    let service = error.as_service_error().unwrap();
    assert_eq!(service.status, 400);
    assert!(error.is_permanent());

    let error = h
        .client
        .execute_streaming_ingest(
            "Streaming",
            "Missing",
            Bytes::from_static(b"1\n"),
            DataFormat::Csv,
            &StreamingIngestOptions::new().with_mapping_name("nope"),
        )
        .await
        .unwrap_err();
    assert!(error.is_permanent(), "{error}");
}
