//! Helpers shared by the integration tests: start an emulator, send requests with a plain HTTP
//! client, split v2 bodies into frames, read the key order of recorded fixtures.
#![allow(dead_code)]

use std::path::PathBuf;

use kusto_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use serde_json::{Value, json};

pub async fn start() -> EmulatorHandle {
    start_with(Emulator::builder()).await
}

pub async fn start_with(builder: EmulatorBuilder) -> EmulatorHandle {
    builder.start().await.expect("the emulator starts")
}

pub fn client() -> reqwest::Client {
    kusto_emulator::http_client_builder()
        .build()
        .expect("client")
}

/// The text of a response and its status.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The v2 frames, checking the one-frame-per-line layout.
    pub fn frames(&self) -> Vec<Value> {
        frames(&self.text)
    }

    /// The OneApi `error` object of an error body.
    pub fn error(&self) -> Value {
        self.json()["error"].clone()
    }
}

pub async fn post(url: &str, body: Value) -> Answer {
    post_with(url, body, &[]).await
}

pub async fn post_with(url: &str, body: Value, headers: &[(&str, &str)]) -> Answer {
    let mut request = client()
        .post(url)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body.to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    answer(request.send().await.expect("request sent")).await
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    Answer {
        status,
        headers,
        text,
    }
}

/// POST /v2/rest/query.
pub async fn query(emu: &EmulatorHandle, db: &str, csl: &str, options: Value) -> Answer {
    post(
        &format!("{}/v2/rest/query", emu.url()),
        json!({"db": db, "csl": csl, "properties": {"Options": options}}),
    )
    .await
}

/// POST /v1/rest/mgmt.
pub async fn mgmt(emu: &EmulatorHandle, db: &str, csl: &str) -> Answer {
    post(
        &format!("{}/v1/rest/mgmt", emu.url()),
        json!({"db": db, "csl": csl}),
    )
    .await
}

/// POST /v1/rest/mgmt and require success; returns the rows of table 0.
pub async fn mgmt_ok(emu: &EmulatorHandle, db: &str, csl: &str) -> Vec<Value> {
    let a = mgmt(emu, db, csl).await;
    assert_eq!(a.status, 200, "{csl}: {}", a.text);
    a.json()["Tables"][0]["Rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Rows of the (single) primary result of a default-mode v2 query.
pub async fn query_rows(emu: &EmulatorHandle, db: &str, csl: &str) -> Vec<Value> {
    let a = query(emu, db, csl, json!({})).await;
    assert_eq!(a.status, 200, "{csl}: {}", a.text);
    let frames = a.frames();
    let primary: Vec<&Value> = frames
        .iter()
        .filter(|f| f["FrameType"] == "DataTable" && f["TableKind"] == "PrimaryResult")
        .collect();
    assert_eq!(primary.len(), 1, "one primary result for {csl}");
    primary[0]["Rows"].as_array().cloned().unwrap_or_default()
}

/// Splits a v2 body into frames, asserting the line layout of kusto-protocol.md 3.1.
pub fn frames(text: &str) -> Vec<Value> {
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        lines.len() >= 3,
        "at least header, completion and the closing bracket: {text}"
    );
    assert_eq!(*lines.last().unwrap(), "]", "last line is ]");
    let mut out = Vec::new();
    for (i, line) in lines[..lines.len() - 1].iter().enumerate() {
        let prefix = if i == 0 { '[' } else { ',' };
        assert!(
            line.starts_with(prefix),
            "line {i} starts with {prefix}: {line}"
        );
        out.push(
            serde_json::from_str(&line[1..]).unwrap_or_else(|e| panic!("frame {i} ({e}): {line}")),
        );
    }
    // The whole body is also one valid JSON array.
    let whole: Value = serde_json::from_str(text).expect("the body is a JSON array");
    assert_eq!(whole.as_array().map(Vec::len), Some(out.len()));
    out
}

/// The frame lines of a v2 body (without the leading `[`/`,`).
pub fn frame_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    lines[..lines.len() - 1]
        .iter()
        .map(|l| l[1..].to_string())
        .collect()
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// A recorded fixture's text.
pub fn fixture(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()))
}

/// The keys of the top-level JSON object in `text`, in the order written. A small scanner, so
/// that the order is not lost to a map type.
pub fn keys_in_order(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut keys = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    let mut expect_key = false;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1 && bytes[i] == b'{';
            }
            b'}' | b']' => depth -= 1,
            b',' if depth == 1 => expect_key = true,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if depth == 1 && expect_key {
                    keys.push(text[start..i].to_string());
                    expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    keys
}

/// The raw text of each element of a top-level JSON array (fixtures are pretty-printed).
pub fn array_elements(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth == 2 {
                    start = i;
                }
            }
            b'}' | b']' => {
                if depth == 2 {
                    out.push(text[start..=i].to_string());
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `[(ColumnName, ColumnType)]` of a table frame.
pub fn columns(frame: &Value) -> Vec<(String, String)> {
    frame["Columns"]
        .as_array()
        .expect("Columns")
        .iter()
        .map(|c| {
            (
                c["ColumnName"].as_str().unwrap_or_default().to_string(),
                c["ColumnType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Creates a table and fills it with CSV through `.ingest inline`.
pub async fn table_with(emu: &EmulatorHandle, db: &str, table: &str, schema: &str, csv: &str) {
    mgmt_ok(emu, db, &format!(".create table {table} ({schema})")).await;
    if !csv.is_empty() {
        mgmt_ok(
            emu,
            db,
            &format!(".ingest inline into table {table} <|\n{csv}"),
        )
        .await;
    }
}
