//! Queued ingestion through the REST protocol (kusto-protocol.md 1.5), driven with plain HTTP:
//! configuration, submission of CSV, JSON and Parquet blobs with mappings, status with and
//! without details, validation errors, and the switch that turns the API off.

mod dm_common;

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field};
use dm_common::*;
use kusto_emulator::DataManagementOptions;
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

async fn configuration(emu: &kusto_emulator::EmulatorHandle) -> Value {
    let answer = http()
        .get(format!("{}/v1/rest/ingestion/configuration", emu.url()))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    answer.json().await.unwrap()
}

async fn submit(emu: &kusto_emulator::EmulatorHandle, table: &str, body: &Value) -> (u16, Value) {
    let answer = http()
        .post(format!(
            "{}/v1/rest/ingestion/queued/Emu/{table}",
            emu.url()
        ))
        .header("Accept", "application/json")
        .header("x-ms-client-request-id", "KIC.execute;test")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

async fn status(
    emu: &kusto_emulator::EmulatorHandle,
    table: &str,
    id: &str,
    details: bool,
) -> (u16, Value) {
    let answer = http()
        .get(format!(
            "{}/v1/rest/ingestion/queued/Emu/{table}/{id}?details={details}",
            emu.url()
        ))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

fn containers(config: &Value) -> Vec<Url> {
    config["containerSettings"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Url::parse(c["path"].as_str().unwrap()).unwrap())
        .collect()
}

fn parquet_rows() -> Vec<u8> {
    parquet_file(vec![
        (
            Field::new("key", DataType::Int64, false),
            Arc::new(Int64Array::from(vec![30, 31])) as ArrayRef,
        ),
        (
            Field::new("label", DataType::Utf8, true),
            Arc::new(StringArray::from(vec![Some("p30"), Some("p31")])),
        ),
    ])
}

/// Every key of a JSON value, as dotted paths (array elements share their array's path).
fn key_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}.{k}");
                out.push(path.clone());
                key_paths(v, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, prefix, out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn configuration_has_the_shape_of_the_recorded_one() {
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/azure-kusto-java/config-response.json"),
        )
        .expect("the recorded configuration"),
    )
    .unwrap();
    let emu = start().await;
    let ours = configuration(&emu).await;
    let (mut expected, mut actual) = (Vec::new(), Vec::new());
    key_paths(&recorded, "", &mut expected);
    key_paths(&ours, "", &mut actual);
    // The emulator has no OneLake folders: its `lakeFolders` is an empty array.
    expected.retain(|p| !p.starts_with(".containerSettings.lakeFolders."));
    expected.sort();
    expected.dedup();
    actual.sort();
    actual.dedup();
    assert_eq!(actual, expected);
    for (path, value) in [
        (
            "/ingestionSettings/maxBlobsPerBatch",
            &recorded["ingestionSettings"]["maxBlobsPerBatch"],
        ),
        (
            "/ingestionSettings/maxDataSize",
            &recorded["ingestionSettings"]["maxDataSize"],
        ),
        (
            "/containerSettings/refreshInterval",
            &recorded["containerSettings"]["refreshInterval"],
        ),
    ] {
        assert_eq!(ours.pointer(path), Some(value), "{path}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn configuration_submission_status_and_rows() {
    let emu = start().await;
    mgmt(&emu, "Emu", ".create table Items (Id:long, Label:string)").await;
    mgmt(
        &emu,
        "Emu",
        r#".create table Items ingestion json mapping "ItemsJson" '[{"column":"Id","Properties":{"Path":"$.item.id"}},{"column":"Label","Properties":{"Path":"$.item.label"}}]'"#,
    )
    .await;
    let config = configuration(&emu).await;
    let containers = containers(&config);
    assert_eq!(containers.len(), 2, "{config}");
    assert!(
        containers
            .iter()
            .all(|c| c.query().unwrap().contains("sig="))
    );
    assert_eq!(config["ingestionSettings"]["maxBlobsPerBatch"], 20);
    assert_eq!(
        config["ingestionSettings"]["preferredIngestionMethod"],
        "Rest"
    );
    assert_eq!(config["containerSettings"]["refreshInterval"], "01:00:00");

    // CSV (gzip) in one account, a second CSV in the other, one request.
    let csv1 = upload(
        &containers[0],
        "items1.csv.gz",
        gzip(b"Id,Label\n1,one\n2,two\n"),
    )
    .await;
    let csv2 = upload(
        &containers[1],
        "items2.csv",
        b"Id,Label\n3,three\n".to_vec(),
    )
    .await;
    let ids = [Uuid::new_v4(), Uuid::new_v4()];
    let (code, answer) = submit(
        &emu,
        "Items",
        &json!({
            "timestamp": "2025-10-01T12:00:00Z",
            "blobs": [
                {"url": csv1.as_str(), "sourceId": ids[0].to_string(), "rawSize": 24},
                {"url": csv2.as_str(), "sourceId": ids[1].to_string()},
            ],
            "properties": {"format": "csv", "enableTracking": true, "ignoreFirstRecord": true,
                           "tags": ["ingest-by:rest-1"], "someFutureKey": {"x": 1}},
        }),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    let operation = answer["ingestionOperationId"].as_str().unwrap().to_owned();
    assert!(!operation.is_empty());
    let done = wait_for(30, "the CSV operation", || async {
        let (_, s) = status(&emu, "Items", &operation, true).await;
        (s["status"]["inProgress"] == 0).then_some(s)
    })
    .await;
    assert_eq!(done["status"]["succeeded"], 2, "{done}");
    assert_eq!(done["status"]["failed"], 0);
    assert_eq!(done["status"]["canceled"], 0);
    let details = done["details"].as_array().unwrap();
    assert_eq!(details.len(), 2);
    for (blob, id) in details.iter().zip(ids) {
        assert_eq!(blob["sourceId"], id.to_string());
        assert_eq!(blob["status"], "Succeeded");
        assert!(blob["startedAt"].is_string() && blob["startTime"].is_string());
        assert!(blob["lastUpdateTime"].is_string() && blob["lastUpdated"].is_string());
        assert!(!blob["url"].as_str().unwrap().contains('?'));
        assert!(blob.get("errorCode").is_none());
    }
    // Without details: counters only.
    let (_, brief) = status(&emu, "Items", &operation, false).await;
    assert!(brief.get("details").is_none());
    assert!(brief["startTime"].is_string() && brief["lastUpdated"].is_string());

    // JSON with a mapping reference, untracked: the id is empty, the rows still arrive.
    let json_blob = upload(
        &containers[1],
        "items.json",
        b"{\"item\":{\"id\":10,\"label\":\"ten\"}}\n{\"item\":{\"id\":11,\"label\":\"eleven\"}}\n"
            .to_vec(),
    )
    .await;
    let (code, answer) = submit(
        &emu,
        "Items",
        &json!({"blobs": [{"url": json_blob.as_str()}],
                "properties": {"format": "multijson", "ingestionMappingReference": "ItemsJson", "skipBatching": true}}),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["ingestionOperationId"], "");

    // Parquet with an inline mapping.
    let parquet_blob = upload(&containers[0], "items.parquet", parquet_rows()).await;
    let mapping = json!([
        {"column": "Id", "Properties": {"Path": "$.key"}},
        {"column": "Label", "Properties": {"Path": "$.label"}},
    ]);
    let (code, answer) = submit(
        &emu,
        "Items",
        &json!({"blobs": [{"url": parquet_blob.as_str()}],
                "properties": {"format": "parquet", "ingestionMapping": mapping.to_string(), "enableTracking": true}}),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    wait_for(30, "all seven rows", || async {
        (count(&emu, "Emu", "Items").await == 7).then_some(())
    })
    .await;
    assert_eq!(
        query(&emu, "Emu", "Items | order by Id asc").await,
        vec![
            vec![json!(1), json!("one")],
            vec![json!(2), json!("two")],
            vec![json!(3), json!("three")],
            vec![json!(10), json!("ten")],
            vec![json!(11), json!("eleven")],
            vec![json!(30), json!("p30")],
            vec![json!(31), json!("p31")],
        ]
    );
    // The tags of the REST request reached the extents.
    let extents = mgmt(
        &emu,
        "Emu",
        ".show table Items extents where tags has 'ingest-by:rest-1'",
    )
    .await;
    assert_eq!(extents.len(), 2);
    // deleteAfterDownload false (the default): the blobs were kept.
    assert!(blob_exists(&csv1).await);
    emu.shutdown().await;
}

#[tokio::test]
async fn failed_blobs_are_reported_per_blob() {
    let emu = start().await;
    mgmt(&emu, "Emu", ".create table Items (Id:long, Label:string)").await;
    let config = configuration(&emu).await;
    let containers = containers(&config);
    let good = upload(&containers[0], "good.csv", b"1,a\n".to_vec()).await;
    let bad = upload(&containers[0], "bad.csv", b"1,a\n2\n".to_vec()).await;
    let missing = child(&containers[1], "missing.csv");
    let (code, answer) = submit(
        &emu,
        "Items",
        &json!({"blobs": [{"url": good.as_str()}, {"url": bad.as_str()}, {"url": missing.as_str()}],
                "properties": {"format": "csv", "enableTracking": true, "deleteAfterDownload": true}}),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    let operation = answer["ingestionOperationId"].as_str().unwrap().to_owned();
    let done = wait_for(30, "the operation", || async {
        let (_, s) = status(&emu, "Items", &operation, true).await;
        (s["status"]["inProgress"] == 0).then_some(s)
    })
    .await;
    assert_eq!(done["status"]["succeeded"], 1, "{done}");
    assert_eq!(done["status"]["failed"], 2);
    let details = done["details"].as_array().unwrap();
    assert_eq!(details[0]["status"], "Succeeded");
    assert_eq!(details[1]["status"], "Failed");
    assert_eq!(details[1]["errorCode"], "Stream_WrongNumberOfFields");
    assert_eq!(details[1]["failureStatus"], "Permanent");
    assert!(details[1]["details"].as_str().unwrap().contains("fields"));
    assert_eq!(details[2]["errorCode"], "Download_SourceNotFound");
    assert_eq!(count(&emu, "Emu", "Items").await, 1);
    // deleteAfterDownload: the ingested blob is gone, the failed one is kept.
    assert!(!blob_exists(&good).await);
    assert!(blob_exists(&bad).await);
    let failures = mgmt(&emu, "Emu", ".show ingestion failures").await;
    assert_eq!(failures.len(), 2, "{failures:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn invalid_requests_are_rejected_before_anything_is_queued() {
    let emu = start_with(DataManagementOptions {
        max_blobs_per_batch: 2,
        ..DataManagementOptions::default()
    })
    .await;
    mgmt(&emu, "Emu", ".create table Items (Id:long, Label:string)").await;
    let config = configuration(&emu).await;
    assert_eq!(config["ingestionSettings"]["maxBlobsPerBatch"], 2);
    let blob = upload(&containers(&config)[0], "x.csv", b"1,a\n".to_vec()).await;
    let url = blob.as_str();
    let cases = [
        (json!({"blobs": [{"url": url}]}), "properties"),
        (json!({"blobs": [{"url": url}], "properties": {}}), "format"),
        (
            json!({"blobs": [], "properties": {"format": "csv"}}),
            "empty",
        ),
        (
            json!({"blobs": [{"url": url}, {"url": format!("{url}&again=1")}], "properties": {"format": "csv"}}),
            "repeats",
        ),
        (
            json!({"blobs": [{"url": "http://h/1"}, {"url": "http://h/2"}, {"url": "http://h/3"}], "properties": {"format": "csv"}}),
            "maxBlobsPerBatch",
        ),
        (
            json!({"blobs": [{"url": url}], "properties": {"format": "nosuch"}}),
            "not a known data format",
        ),
        (
            json!({"blobs": [{"url": url, "format": "json"}], "properties": {"format": "csv"}}),
            "one format per request",
        ),
    ];
    for (body, expected) in cases {
        let (code, answer) = submit(&emu, "Items", &body).await;
        assert_eq!(code, 400, "{body}: {answer}");
        let message = answer["error"]["@message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {answer}");
        assert_eq!(answer["error"]["@permanent"], true);
    }
    let not_json = http()
        .post(format!("{}/v1/rest/ingestion/queued/Emu/Items", emu.url()))
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 400);
    let (code, answer) = submit(
        &emu,
        "NoSuchTable",
        &json!({"blobs": [{"url": url}], "properties": {"format": "csv"}}),
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(answer["error"]["code"], "BadRequest_TableNotExist");
    // Unknown operation: 404; wrong method: 405.
    let (code, _) = status(&emu, "Items", "no-such-operation", true).await;
    assert_eq!(code, 404);
    let wrong = http()
        .delete(format!("{}/v1/rest/ingestion/configuration", emu.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
    // Validation happens before anything is queued: no operation exists for them.
    assert!(emu.data_management().unwrap().pending_sources() == 0);
    assert_eq!(count(&emu, "Emu", "Items").await, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_rest_api_can_be_switched_off() {
    let emu = start_with(DataManagementOptions {
        rest_api: false,
        ..DataManagementOptions::default()
    })
    .await;
    for (method, path) in [
        (reqwest::Method::GET, "/v1/rest/ingestion/configuration"),
        (reqwest::Method::POST, "/v1/rest/ingestion/queued/Emu/T"),
        (reqwest::Method::GET, "/v1/rest/ingestion/queued/Emu/T/x"),
    ] {
        let answer = http()
            .request(method, format!("{}{path}", emu.url()))
            .header("Accept", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 404, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "NotFound");
    }
    // The queue protocol still works.
    assert_eq!(resources(&emu).await["TempStorage"].len(), 2);
    emu.shutdown().await;
}
