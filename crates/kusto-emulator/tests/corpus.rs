//! The KQL corpus: every case of `tests/corpus/*.kql` runs through the emulator's query
//! endpoint (`/v2/rest/query`), and its first primary result table must be the expected one:
//! column names, column types and rows as the v2 response encodes them.
//!
//! A case is a query, a line `---`, the expected schema (`name:type, ...`) and one JSON array
//! per row; cases are separated by a line `===`. Instead of a schema, `error: text` expects a
//! failure whose message contains `text`. Lines starting with `#` before the query are
//! comments; `#! unordered` compares the rows as a multiset (for operators whose row order
//! Kusto does not define), and `#! gap: reason` marks a documented behaviour the emulator does
//! not have yet (the case must then fail; it is counted, and reported, as not passing).
//! docs/emulator-kql.md describes the format.

mod common;

use std::path::PathBuf;

use common::{frames, query, start};
use serde_json::{Value, json};

#[derive(Debug)]
struct Case {
    file: String,
    line: usize,
    query: String,
    expected: Expected,
    unordered: bool,
    gap: Option<String>,
}

#[derive(Debug)]
enum Expected {
    Table {
        columns: Vec<(String, String)>,
        rows: Vec<Value>,
    },
    Error(String),
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Splits `name:type, ...` (names may be `['quoted']`).
fn parse_schema(line: &str) -> Result<Vec<(String, String)>, String> {
    if line.trim().is_empty() {
        return Ok(Vec::new());
    }
    line.split(',')
        .map(|part| {
            let (name, ty) = part
                .trim()
                .rsplit_once(':')
                .ok_or_else(|| format!("'{part}' is not name:type"))?;
            let name = name
                .trim()
                .trim_start_matches("['")
                .trim_end_matches("']")
                .to_string();
            Ok((name, ty.trim().to_string()))
        })
        .collect()
}

fn parse_case(file: &str, line: usize, text: &str) -> Result<Case, String> {
    let (head, expected) = text
        .split_once("\n---\n")
        .or_else(|| text.split_once("\n---"))
        .ok_or_else(|| format!("{file}:{line}: no '---' line"))?;
    let mut unordered = false;
    let mut gap = None;
    let mut query_lines = Vec::new();
    for l in head.lines() {
        let t = l.trim();
        if query_lines.is_empty() && t.starts_with('#') {
            if t == "#! unordered" {
                unordered = true;
            } else if let Some(reason) = t.strip_prefix("#! gap:") {
                gap = Some(reason.trim().to_string());
            }
            continue;
        }
        if query_lines.is_empty() && t.is_empty() {
            continue;
        }
        query_lines.push(l);
    }
    let query = query_lines.join("\n").trim().to_string();
    let mut lines = expected.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    let expected = if let Some(e) = first.trim().strip_prefix("error:") {
        Expected::Error(e.trim().to_string())
    } else {
        let columns = parse_schema(first).map_err(|e| format!("{file}:{line}: {e}"))?;
        let rows = lines
            .map(|l| {
                serde_json::from_str::<Value>(l.trim())
                    .map_err(|e| format!("{file}:{line}: row {l:?} is not JSON: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Expected::Table { columns, rows }
    };
    Ok(Case {
        file: file.to_string(),
        line,
        query,
        expected,
        unordered,
        gap,
    })
}

fn load() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "kql"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("readable corpus file");
        let mut start_line = 1;
        let mut block = String::new();
        for (i, l) in text.lines().enumerate() {
            if l.trim() == "===" {
                if !block.trim().is_empty() {
                    cases.push(
                        parse_case(&name, start_line, &block).unwrap_or_else(|e| panic!("{e}")),
                    );
                }
                block.clear();
                start_line = i + 2;
            } else {
                block.push_str(l);
                block.push('\n');
            }
        }
        if !block.trim().is_empty() {
            cases.push(parse_case(&name, start_line, &block).unwrap_or_else(|e| panic!("{e}")));
        }
    }
    cases
}

/// JSON values equal, numbers compared as numbers (`1` and `1.0` are equal).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2))
        }
        _ => a == b,
    }
}

/// `None` when the answer is the expected one, else what differs.
async fn check(emu: &kusto_emulator::EmulatorHandle, case: &Case) -> Option<String> {
    let a = query(emu, "Corpus", &case.query, json!({})).await;
    match &case.expected {
        Expected::Error(text) => {
            if a.status == 200 {
                return Some(format!("expected an error containing {text:?}, got 200"));
            }
            let message = a.error()["@message"].as_str().unwrap_or("").to_string();
            (!message.contains(text.as_str()))
                .then(|| format!("expected an error containing {text:?}, got {message}"))
        }
        Expected::Table { columns, rows } => {
            if a.status != 200 {
                let message = a.json()["error"]["@message"].clone();
                return Some(format!("status {}: {message}", a.status));
            }
            let Some(table) = frames(&a.text)
                .into_iter()
                .find(|f| f["FrameType"] == "DataTable" && f["TableKind"] == "PrimaryResult")
            else {
                return Some("no primary result".into());
            };
            let got_columns: Vec<(String, String)> = table["Columns"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            (
                                c["ColumnName"].as_str().unwrap_or("").to_string(),
                                c["ColumnType"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if &got_columns != columns {
                return Some(format!("columns {got_columns:?}, expected {columns:?}"));
            }
            let got_rows: Vec<Value> = table["Rows"].as_array().cloned().unwrap_or_default();
            let equal = if case.unordered {
                let mut left: Vec<&Value> = got_rows.iter().collect();
                got_rows.len() == rows.len()
                    && rows
                        .iter()
                        .all(|r| match left.iter().position(|g| same(g, r)) {
                            Some(i) => {
                                left.remove(i);
                                true
                            }
                            None => false,
                        })
            } else {
                got_rows.len() == rows.len() && got_rows.iter().zip(rows).all(|(g, r)| same(g, r))
            };
            (!equal).then(|| {
                let shown: Vec<String> = got_rows.iter().map(Value::to_string).collect();
                format!("rows\n    {}", shown.join("\n    "))
            })
        }
    }
}

#[tokio::test]
async fn corpus() {
    let cases = load();
    assert!(cases.len() > 10, "the corpus is loaded");
    let emu = start().await;
    let mut failures = Vec::new();
    let mut unexpected_passes = Vec::new();
    let mut gaps = 0;
    for case in &cases {
        let outcome = check(&emu, case).await;
        match (&case.gap, outcome) {
            (None, Some(why)) => failures.push(format!(
                "{}:{}: {}\n  {why}",
                case.file,
                case.line,
                case.query.replace('\n', "\n  ")
            )),
            (Some(_), None) => unexpected_passes.push(format!("{}:{}", case.file, case.line)),
            (Some(_), Some(_)) => gaps += 1,
            (None, None) => {}
        }
    }
    let passing = cases.len() - failures.len() - gaps;
    eprintln!(
        "KQL corpus: {passing} of {} cases pass ({gaps} documented gaps)",
        cases.len()
    );
    assert!(
        unexpected_passes.is_empty(),
        "cases marked as gaps now pass (remove the '#! gap' line): {unexpected_passes:?}"
    );
    assert!(
        failures.is_empty(),
        "{} corpus cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    emu.shutdown().await;
}
