//! Helpers of the data-management tests: an emulator over a fresh Azurite, and plain HTTP calls
//! to Kusto and to Azure Storage (blobs, queue messages, table entities), written here against
//! the REST APIs so that the emulator's own storage code is not what checks it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use kusto_emulator::azurite::Azurite;
use kusto_emulator::{DataManagementOptions, Emulator, EmulatorHandle};
use serde_json::{Value, json};
use url::Url;

pub const STORAGE_VERSION: &str = "2021-08-06";

/// An emulator with queued ingestion over a new Azurite (two accounts), batching window 300 ms.
pub async fn start() -> EmulatorHandle {
    start_with(DataManagementOptions {
        batching_window: Duration::from_millis(300),
        ..DataManagementOptions::default()
    })
    .await
}

pub async fn start_with(options: DataManagementOptions) -> EmulatorHandle {
    let azurite = Azurite::start()
        .await
        .expect("Azurite must start (cargo xtask install-azurite installs it)");
    Emulator::builder()
        .database("Emu")
        .azurite(azurite)
        .data_management(options)
        .start()
        .await
        .expect("the emulator starts with Azurite")
}

pub fn http() -> reqwest::Client {
    kusto_emulator::http_client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// POST /v1/rest/mgmt; returns status and JSON.
pub async fn mgmt_raw(emu: &EmulatorHandle, db: &str, csl: &str) -> (u16, Value) {
    let response = http()
        .post(format!("{}/v1/rest/mgmt", emu.url()))
        .header("Accept", "application/json")
        .json(&json!({"db": db, "csl": csl}))
        .send()
        .await
        .expect("mgmt request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, value)
}

/// A successful management command's first table's rows.
pub async fn mgmt(emu: &EmulatorHandle, db: &str, csl: &str) -> Vec<Vec<Value>> {
    let (status, value) = mgmt_raw(emu, db, csl).await;
    assert_eq!(status, 200, "{csl}: {value}");
    rows_of(&value)
}

fn rows_of(value: &Value) -> Vec<Vec<Value>> {
    value["Tables"][0]["Rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {value}"))
        .iter()
        .map(|r| r.as_array().expect("row").clone())
        .collect()
}

/// Rows of a query, through /v1/rest/query.
pub async fn query(emu: &EmulatorHandle, db: &str, csl: &str) -> Vec<Vec<Value>> {
    let response = http()
        .post(format!("{}/v1/rest/query", emu.url()))
        .header("Accept", "application/json")
        .json(&json!({"db": db, "csl": csl}))
        .send()
        .await
        .expect("query");
    assert_eq!(response.status().as_u16(), 200);
    rows_of(&response.json::<Value>().await.expect("json"))
}

pub async fn count(emu: &EmulatorHandle, db: &str, table: &str) -> i64 {
    query(emu, db, &format!("{table} | count")).await[0][0]
        .as_i64()
        .expect("count")
}

/// `.get ingestion resources` by kind.
pub async fn resources(emu: &EmulatorHandle) -> HashMap<String, Vec<Url>> {
    let mut out: HashMap<String, Vec<Url>> = HashMap::new();
    for row in mgmt(emu, "NetDefaultDB", ".get ingestion resources").await {
        let kind = row[0].as_str().expect("kind").to_owned();
        let url = Url::parse(row[1].as_str().expect("url")).expect("a URL");
        out.entry(kind).or_default().push(url);
    }
    out
}

pub async fn identity_token(emu: &EmulatorHandle) -> String {
    mgmt(emu, "NetDefaultDB", ".get kusto identity token").await[0][0]
        .as_str()
        .expect("token")
        .to_owned()
}

/// A resource URL with a path segment appended (the SAS query kept).
pub fn child(base: &Url, name: &str) -> Url {
    let mut url = base.clone();
    url.path_segments_mut().expect("path").push(name);
    url
}

pub async fn upload(container: &Url, name: &str, data: Vec<u8>) -> Url {
    let blob = child(container, name);
    let response = http()
        .put(blob.clone())
        .header("x-ms-version", STORAGE_VERSION)
        .header("x-ms-blob-type", "BlockBlob")
        .body(data)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 201, "upload {name}");
    blob
}

pub async fn blob_exists(blob: &Url) -> bool {
    let response = http()
        .head(blob.clone())
        .header("x-ms-version", STORAGE_VERSION)
        .send()
        .await
        .expect("head");
    response.status().is_success()
}

pub fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

pub async fn post_text(queue: &Url, text: &str) {
    let response = http()
        .post(child(queue, "messages"))
        .header("x-ms-version", STORAGE_VERSION)
        .body(format!(
            "<QueueMessage><MessageText>{text}</MessageText></QueueMessage>"
        ))
        .send()
        .await
        .expect("post message");
    assert_eq!(response.status().as_u16(), 201, "post message");
}

/// Posts an ingestion message, base64-encoded as the SDKs do.
pub async fn post_message(queue: &Url, message: &Value) {
    post_text(queue, &b64(&message.to_string())).await;
}

/// The decoded JSON of every message in a queue (peeked, left in place).
pub async fn peek_json(queue: &Url) -> Vec<Value> {
    let mut url = child(queue, "messages");
    url.query_pairs_mut()
        .append_pair("peekonly", "true")
        .append_pair("numofmessages", "32");
    let xml = http()
        .get(url)
        .header("x-ms-version", STORAGE_VERSION)
        .send()
        .await
        .expect("peek")
        .text()
        .await
        .expect("xml");
    xml.split("<MessageText>")
        .skip(1)
        .map(|part| {
            let text = part.split("</MessageText>").next().expect("closed");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_else(|e| panic!("not base64 ({e}): {text}"));
            serde_json::from_slice(&bytes).expect("JSON message")
        })
        .collect()
}

fn entity_url(table: &Url, partition_key: &str, row_key: &str) -> Url {
    let mut url = table.clone();
    let name = url
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_owned))
        .expect("table name");
    url.path_segments_mut().expect("path").pop().push(&format!(
        "{name}(PartitionKey='{partition_key}',RowKey='{row_key}')"
    ));
    url
}

/// Inserts an entity as a client does before enqueuing (Status Pending).
pub async fn insert_pending(table: &Url, partition_key: &str, row_key: &str) {
    let response = http()
        .post(table.clone())
        .header("x-ms-version", "2019-02-02")
        .header("content-type", "application/json")
        .header("accept", "application/json;odata=nometadata")
        .body(
            json!({"PartitionKey": partition_key, "RowKey": row_key, "Status": "Pending"})
                .to_string(),
        )
        .send()
        .await
        .expect("insert entity");
    assert_eq!(response.status().as_u16(), 201, "insert entity");
}

pub async fn entity(table: &Url, partition_key: &str, row_key: &str) -> Value {
    http()
        .get(entity_url(table, partition_key, row_key))
        .header("x-ms-version", "2019-02-02")
        .header("accept", "application/json;odata=nometadata")
        .send()
        .await
        .expect("get entity")
        .json()
        .await
        .expect("entity JSON")
}

/// Waits until `check` returns `Some`, or panics after `seconds` with `what`.
pub async fn wait_for<T, F, Fut>(seconds: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A queue message as the Python SDK writes it, with the given additional properties.
pub fn message(
    id: &str,
    blob: &Url,
    table: &str,
    token: &str,
    additional: Value,
    flush_immediately: bool,
) -> Value {
    let mut properties = json!({"authorizationContext": token});
    if let (Some(target), Some(extra)) = (properties.as_object_mut(), additional.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    json!({
        "BlobPath": blob.as_str(),
        "DatabaseName": "Emu",
        "TableName": table,
        "RetainBlobOnSuccess": true,
        "FlushImmediately": flush_immediately,
        "IgnoreSizeLimit": false,
        "ReportLevel": 2,
        "ReportMethod": 0,
        "SourceMessageCreationTime": "2026-11-24T03:15:05.995288",
        "Id": id,
        "ApplicationForTracing": "kusto-emulator-tests",
        "ClientVersionForTracing": "Kusto.Emulator.Tests:{0}",
        "AdditionalProperties": properties,
    })
}

/// A Parquet file of one row group with the given columns.
pub fn parquet_file(columns: Vec<(arrow::datatypes::Field, arrow::array::ArrayRef)>) -> Vec<u8> {
    let (fields, arrays): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    let batch = arrow::record_batch::RecordBatch::try_new(std::sync::Arc::clone(&schema), arrays)
        .expect("a record batch");
    let mut file = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut file, schema, None).expect("a parquet writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    file
}
