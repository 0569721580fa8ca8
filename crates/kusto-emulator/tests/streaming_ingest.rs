//! Streaming ingestion over HTTP: every supported format, gzip sniffing, mappings by name,
//! `sourceKind=uri`, limits, policies and failures recorded in `.show ingestion failures`.

mod common;

use std::io::Write;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use common::*;
use kusto_emulator::{Emulator, EmulatorHandle};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn ingest(
    emu: &EmulatorHandle,
    table: &str,
    query: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = client()
        .post(format!("{}/v1/rest/ingest/Emu/{table}?{query}", emu.url()))
        .header("Accept", "application/json")
        .body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    answer(request.send().await.expect("sent")).await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn table(emu: &EmulatorHandle, name: &str, schema: &str) {
    mgmt_ok(emu, "Emu", &format!(".create table {name} ({schema})")).await;
}

#[tokio::test]
async fn delimited_formats_and_the_success_body() {
    let emu = start().await;
    table(&emu, "T", "a:long, s:string, b:bool").await;
    let cases: [(&str, &[u8]); 7] = [
        ("csv", b"1,\"x,y\",true\r\n"),
        ("tsv", b"2\tt\t0\n"),
        ("tsve", b"3\ta\\tb\t1\n"),
        ("scsv", b"4;s;false\n"),
        ("psv", b"5|p|1\n"),
        ("sohsv", b"6\x01soh\x01true\n"),
        ("Csv", b"7,\"say \"\"hi\"\"\",\n"),
    ];
    for (format, body) in cases {
        let a = ingest(
            &emu,
            "T",
            &format!("streamFormat={format}"),
            body.to_vec(),
            &[],
        )
        .await;
        assert_eq!(a.status, 200, "{format}: {}", a.text);
        assert_eq!(
            a.json(),
            json!({"Tables":[{"TableName":"Table_0","Columns":[
                {"ColumnName":"ConsumedRecordsCount","DataType":"Int64","ColumnType":"long"},
                {"ColumnName":"UpdatePolicyStatus","DataType":"String","ColumnType":"string"},
                {"ColumnName":"UpdatePolicyFailureCode","DataType":"String","ColumnType":"string"},
                {"ColumnName":"UpdatePolicyFailureReason","DataType":"String","ColumnType":"string"}],
                "Rows":[[1,"Inactive","Unknown",null]]}]})
        );
    }
    assert_eq!(
        query_rows(&emu, "Emu", "T | order by a asc").await,
        vec![
            json!([1, "x,y", true]),
            json!([2, "t", false]),
            json!([3, "a\tb", true]),
            json!([4, "s", false]),
            json!([5, "p", true]),
            json!([6, "soh", true]),
            json!([7, "say \"hi\"", null]),
        ]
    );
    table(&emu, "Lines", "line:string").await;
    assert_eq!(
        ingest(
            &emu,
            "Lines",
            "streamFormat=txt",
            b"first, line\n\nsecond\n".to_vec(),
            &[]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        ingest(
            &emu,
            "Lines",
            "streamFormat=raw",
            b"all\nof it".to_vec(),
            &[]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        query_rows(&emu, "Emu", "Lines").await,
        vec![
            json!(["first, line"]),
            json!(["second"]),
            json!(["all\nof it"])
        ]
    );
}

#[tokio::test]
async fn gzip_is_detected_from_the_bytes() {
    let emu = start().await;
    table(&emu, "T", "a:long").await;
    // Compressed, with the header.
    assert_eq!(
        ingest(
            &emu,
            "T",
            "streamFormat=csv",
            gzip(b"1\n"),
            &[("Content-Encoding", "gzip")]
        )
        .await
        .status,
        200
    );
    // Compressed, without the header.
    assert_eq!(
        ingest(&emu, "T", "streamFormat=csv", gzip(b"2\n"), &[])
            .await
            .status,
        200
    );
    // Plain, with a lying header (as the Python SDK sends).
    assert_eq!(
        ingest(
            &emu,
            "T",
            "streamFormat=csv",
            b"3\n".to_vec(),
            &[("Content-Encoding", "gzip")]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        query_rows(&emu, "Emu", "T | order by a asc").await,
        vec![json!([1]), json!([2]), json!([3])]
    );
    let broken = ingest(
        &emu,
        "T",
        "streamFormat=csv",
        vec![0x1f, 0x8b, 1, 2, 3],
        &[],
    )
    .await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.error()["code"], "BadRequest_InvalidArchive");
}

#[tokio::test]
async fn json_formats_and_mappings_by_name() {
    let emu = start().await;
    table(
        &emu,
        "J",
        "id:long, name:string, at:datetime, tags:dynamic, src:string",
    )
    .await;
    let a = ingest(
        &emu,
        "J",
        "streamFormat=json",
        b"{\"id\":1,\"name\":\"a\",\"tags\":[1]}\n{\"id\":2}\r\n".to_vec(),
        &[],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        ingest(
            &emu,
            "J",
            "streamFormat=MultiJSON",
            b"[{\"id\":3},{\"id\":4}]\n{\n \"id\": 5\n}".to_vec(),
            &[]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        ingest(
            &emu,
            "J",
            "streamFormat=singlejson",
            b"{\"id\":6,\"at\":\"2024-01-01T00:00:00Z\"}".to_vec(),
            &[]
        )
        .await
        .status,
        200
    );
    mgmt_ok(
        &emu,
        "Emu",
        r#".create table J ingestion json mapping "m" '[{"column":"id","path":"$.x.id"},{"column":"name","path":"$[\'the name\']"},{"column":"at","path":"$.ts","transform":"DateTimeFromUnixSeconds"},{"column":"src","Properties":{"Transform":"SourceLocation"}},{"column":"tags","path":"$.x"}]'"#,
    )
    .await;
    let body = b"{\"x\":{\"id\":7},\"the name\":\"mapped\",\"ts\":1700000000}\n".to_vec();
    let a = ingest(&emu, "J", "streamFormat=json&mappingName=m", body, &[]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let rows = query_rows(&emu, "Emu", "J | order by id asc").await;
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0], json!([1, "a", null, [1], ""]));
    assert_eq!(rows[5], json!([6, "", "2024-01-01T00:00:00Z", null, ""]));
    assert_eq!(
        rows[6],
        json!([7, "mapped", "2023-11-14T22:13:20Z", {"id": 7}, "stream"])
    );
    // A mapping name that does not exist (or of another kind).
    let a = ingest(
        &emu,
        "J",
        "streamFormat=csv&mappingName=m",
        b"1".to_vec(),
        &[],
    )
    .await;
    assert_eq!(a.status, 400);
    let e = a.error();
    assert_eq!(e["code"], "BadRequest_MappingReferenceWasNotFound");
    assert_eq!(
        e["@type"],
        "Kusto.DataNode.Exceptions.StreamingIngestionRequestException"
    );
    assert_eq!(
        e["@message"],
        "Bad streaming ingestion request to Emu.J : Entity ID 'm' of kind 'MappingPersistent' was not found."
    );
    assert_eq!(e["@failureCode"], 400);
    // Malformed multijson fails whole; malformed json lines are ignored silently (documented
    // behaviour): the request succeeds and no failure is recorded.
    let a = ingest(
        &emu,
        "J",
        "streamFormat=multijson",
        b"{\"id\":8} {\"id\":".to_vec(),
        &[],
    )
    .await;
    assert_eq!(a.error()["code"], "BadRequest_InvalidBlob");
    let a = ingest(
        &emu,
        "J",
        "streamFormat=json",
        b"{\"id\":9}\n{oops\n".to_vec(),
        &[],
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        query_rows(&emu, "Emu", "J | where id >= 8 | project id").await,
        vec![json!([9])]
    );
    let failures = emu.store().ingestion_failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].error_code, "BadRequest_InvalidBlob");
}

#[tokio::test]
async fn parquet_by_name_and_by_field_mapping() {
    let emu = start().await;
    table(
        &emu,
        "P",
        "id:long, name:string, ok:bool, score:real, at:datetime",
    )
    .await;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("score", DataType::Float64, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
            Arc::new(StringArray::from(vec![Some("one"), None])),
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            Arc::new(Float64Array::from(vec![Some(0.5), Some(f64::NAN)])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_704_067_200_123_456),
                None,
            ])),
        ],
    )
    .unwrap();
    let mut file = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let a = ingest(
        &emu,
        "P",
        "streamFormat=parquet",
        file.clone(),
        &[("Content-Encoding", "gzip")],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    mgmt_ok(&emu, "Emu", r#".create table P ingestion parquet mapping "pm" '[{"column":"id","Properties":{"Field":"id"}},{"column":"name","Properties":{"Path":"$.name"}}]'"#).await;
    assert_eq!(
        ingest(&emu, "P", "streamFormat=parquet&mappingName=pm", file, &[])
            .await
            .status,
        200
    );
    assert_eq!(
        query_rows(&emu, "Emu", "P").await,
        vec![
            json!([1, "one", true, 0.5, "2024-01-01T00:00:00.123456Z"]),
            json!([2, "", null, "NaN", null]),
            json!([1, "one", null, null, null]),
            json!([2, "", null, null, null]),
        ]
    );
    let bad = ingest(
        &emu,
        "P",
        "streamFormat=parquet",
        b"PAR1 but not really".to_vec(),
        &[],
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error()["code"], "BadRequest_InvalidBlob");
}

/// A one-shot HTTP server returning `body` with `status` for every request.
async fn blob_server(status: u16, body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn source_kind_uri_downloads_the_blob() {
    let emu = start().await;
    table(&emu, "T", "a:long, s:string").await;
    let ok = blob_server(200, gzip(b"1,blob\n")).await;
    let body = json!({"sourceUri": format!("{ok}/container/data.csv.gz?sv=2021&sig=SECRET")})
        .to_string()
        .into_bytes();
    let a = ingest(
        &emu,
        "T",
        "streamFormat=csv&sourceKind=uri",
        body,
        &[("Content-Type", "application/json")],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(query_rows(&emu, "Emu", "T").await, vec![json!([1, "blob"])]);
    let missing = blob_server(404, Vec::new()).await;
    let body = json!({"SourceUri": format!("{missing}/c/nope.csv?sig=SECRET")})
        .to_string()
        .into_bytes();
    let a = ingest(&emu, "T", "streamFormat=csv&sourceKind=uri", body, &[]).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error()["code"], "Download_SourceNotFound");
    assert!(
        !a.text.contains("SECRET"),
        "the SAS is not echoed: {}",
        a.text
    );
    let a = ingest(
        &emu,
        "T",
        "streamFormat=csv&sourceKind=uri",
        b"{}".to_vec(),
        &[],
    )
    .await;
    assert_eq!(a.error()["code"], "BadRequest_EmptyBlobUri");
    let a = ingest(
        &emu,
        "T",
        "streamFormat=csv&sourceKind=uri",
        json!({"sourceUri": "https://acct.blob.core.windows.net/c/b"})
            .to_string()
            .into_bytes(),
        &[],
    )
    .await;
    assert_eq!(a.error()["code"], "BadRequest_InvalidBlobUri");
}

#[tokio::test]
async fn limits_policies_and_missing_entities() {
    let emu = start().await;
    table(&emu, "T", "a:string").await;
    // Body over 10 MiB: 413.
    let a = ingest(
        &emu,
        "T",
        "streamFormat=csv",
        vec![b'x'; 10 * 1024 * 1024 + 1],
        &[],
    )
    .await;
    assert_eq!(a.status, 413);
    assert_eq!(
        a.error()["@type"],
        "Kusto.Data.Exceptions.KustoRequestPayloadTooLargeException"
    );
    assert_eq!(a.error()["@permanent"], true);
    // Data over 4 MiB within the body cap (here: a small gzip of a large text).
    let big = vec![b'y'; 4 * 1024 * 1024 + 10];
    let a = ingest(&emu, "T", "streamFormat=raw", gzip(&big), &[]).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error()["code"], "Stream_InputStreamTooLarge");
    assert!(
        a.error()["@message"]
            .as_str()
            .unwrap()
            .contains("too large")
    );
    // Policy disabled on the table.
    mgmt_ok(
        &emu,
        "Emu",
        ".alter table T policy streamingingestion disable",
    )
    .await;
    let a = ingest(&emu, "T", "streamFormat=csv", b"x".to_vec(), &[]).await;
    assert_eq!(a.status, 400);
    let e = a.error();
    assert_eq!(e["code"], "BadRequest_StreamingIngestionPolicyNotEnabled");
    assert_eq!(
        e["@type"],
        "Kusto.DataNode.Exceptions.StreamingIngestionRequestException"
    );
    assert_eq!(e["@permanent"], true);
    assert!(e["@message"].as_str().unwrap().starts_with(
        "Bad streaming ingestion request to Emu.T : Streaming ingestion policy is not enabled"
    ));
    // Enabled on the table, disabled on the database: the table wins.
    mgmt_ok(
        &emu,
        "Emu",
        ".alter database Emu policy streamingingestion disable",
    )
    .await;
    mgmt_ok(
        &emu,
        "Emu",
        ".alter table T policy streamingingestion enable",
    )
    .await;
    assert_eq!(
        ingest(&emu, "T", "streamFormat=csv", b"x".to_vec(), &[])
            .await
            .status,
        200
    );
    // Missing table, missing format, unknown and unsupported formats.
    let a = ingest(&emu, "Nope", "streamFormat=csv", b"x".to_vec(), &[]).await;
    assert_eq!(a.error()["code"], "BadRequest_EntityNotFound");
    assert!(
        a.error()["@message"]
            .as_str()
            .unwrap()
            .ends_with("Entity ID 'Nope' of kind 'Table' was not found.")
    );
    assert_eq!(
        ingest(&emu, "T", "", b"x".to_vec(), &[]).await.error()["code"],
        "BadRequest_MalformedIngestionProperty"
    );
    assert_eq!(
        ingest(&emu, "T", "streamFormat=xml", b"x".to_vec(), &[])
            .await
            .error()["code"],
        "BadRequest_FormatNotSupported"
    );
    for format in ["avro", "apacheavro", "orc", "w3clogfile"] {
        let a = ingest(
            &emu,
            "T",
            &format!("streamFormat={format}"),
            b"x".to_vec(),
            &[],
        )
        .await;
        assert_eq!(
            a.error()["code"],
            "BadRequest_FormatNotSupported",
            "{format}"
        );
        assert!(
            a.error()["@message"]
                .as_str()
                .unwrap()
                .contains("not supported by the Kusto emulator")
        );
    }
    let a = ingest(&emu, "T", "streamFormat=csv", Vec::new(), &[]).await;
    assert_eq!(a.error()["code"], "Stream_NoDataToIngest");
    assert!(
        a.error()["@message"]
            .as_str()
            .unwrap()
            .contains("The input stream is empty after processing")
    );
    // Table names are URL-decoded (the database policy, disabled above, applies to a new table).
    table(&emu, "['My Table']", "a:long").await;
    assert_eq!(
        ingest(&emu, "My%20Table", "streamFormat=csv", b"1".to_vec(), &[])
            .await
            .status,
        400
    );
    mgmt_ok(
        &emu,
        "Emu",
        ".alter database Emu policy streamingingestion enable",
    )
    .await;
    assert_eq!(
        ingest(&emu, "My%20Table", "streamFormat=csv", b"1".to_vec(), &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn malformed_rows_are_failures_not_crashes() {
    let emu = start().await;
    table(&emu, "T", "a:long, b:string").await;
    let cases: [(&[u8], &str); 2] = [
        (b"1,x\n2\n", "Stream_WrongNumberOfFields"),
        (b"1,\"open\n", "Stream_ClosingQuoteMissing"),
    ];
    for (body, code) in cases {
        let a = ingest(
            &emu,
            "T",
            "streamFormat=csv",
            body.to_vec(),
            &[("x-ms-client-request-id", "KRC.ingest;1")],
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.error()["code"], code);
        assert_eq!(a.error()["@context"]["clientRequestId"], "KRC.ingest;1");
    }
    // Unparsable values are nulls, not failures.
    assert_eq!(
        ingest(
            &emu,
            "T",
            "streamFormat=csv",
            b"1.5,ok\nabc,ok2\n".to_vec(),
            &[]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        query_rows(&emu, "Emu", "T").await,
        vec![json!([null, "ok"]), json!([null, "ok2"])]
    );
    let shown = mgmt_ok(&emu, "Emu", ".show ingestion failures").await;
    let codes: Vec<Value> = shown.iter().map(|r| r[10].clone()).collect();
    assert_eq!(
        codes,
        [
            json!("Stream_WrongNumberOfFields"),
            json!("Stream_ClosingQuoteMissing")
        ]
    );
    assert!(
        shown
            .iter()
            .all(|r| r[8] == "StreamingIngestion" && r[4] == "stream")
    );
    let streaming = mgmt_ok(&emu, "Emu", ".show streamingingestion failures").await;
    assert_eq!(streaming.len(), 2);
    assert_eq!(streaming[0][9], "Stream_WrongNumberOfFields");
    assert_eq!(streaming[0][4]["Format"], "csv");
}

#[tokio::test]
async fn streaming_can_be_off_for_the_cluster() {
    let emu = Emulator::builder()
        .streaming_ingestion(false)
        .start()
        .await
        .unwrap();
    table(&emu, "T", "a:long").await;
    let a = ingest(&emu, "T", "streamFormat=csv", b"1".to_vec(), &[]).await;
    assert_eq!(a.status, 404);
    assert!(
        a.text.contains("StreamingIngestionDisabledForCluster")
            && a.text.contains("StreamingIngestionFunctionalityDisabled")
    );
    let emu = Emulator::builder()
        .streaming_policy_default(false)
        .start()
        .await
        .unwrap();
    table(&emu, "T", "a:long").await;
    assert_eq!(
        ingest(&emu, "T", "streamFormat=csv", b"1".to_vec(), &[])
            .await
            .error()["code"],
        "BadRequest_StreamingIngestionPolicyNotEnabled"
    );
    mgmt_ok(
        &emu,
        "Emu",
        ".alter database Emu policy streamingingestion enable",
    )
    .await;
    assert_eq!(
        ingest(&emu, "T", "streamFormat=csv", b"1".to_vec(), &[])
            .await
            .status,
        200
    );
}
