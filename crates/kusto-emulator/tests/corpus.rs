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
//!
//! Files named `docs_*.kql` hold examples of the KQL documentation with the output the pages
//! publish; pages print reals rounded (often to 15 significant digits), so in those files a
//! real matches when it is within a relative 1e-9 of the published one.
//!
//! `KQL_CORPUS_FILTER=text` runs only the files whose name contains `text`;
//! `KQL_CORPUS_REPORT=1` prints every case's outcome and the counts (passing, wrong result,
//! error, panic) instead of failing on the first differences.

mod common;

use std::path::PathBuf;

use common::{frames, post, start};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Case {
    file: String,
    approx: bool,
    line: usize,
    query: String,
    expected: Expected,
    unordered: bool,
    gap: Option<String>,
}

#[derive(Debug, Clone)]
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
        approx: file.starts_with("docs_"),
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
        .filter(|p| {
            std::env::var("KQL_CORPUS_FILTER").map_or(true, |f| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(f.as_str()))
            })
        })
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

/// JSON values equal, numbers compared as numbers (`1` and `1.0` are equal); with `approx`,
/// reals within a relative 1e-9.
fn same(a: &Value, b: &Value, approx: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_f64(), y.as_f64()) {
                (Some(p), Some(q)) if approx => {
                    p == q || (p - q).abs() <= 1e-9 * p.abs().max(q.abs())
                }
                (p, q) => p == q,
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q, approx))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2, approx))
        }
        _ => a == b,
    }
}

/// How a case came out when it did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    /// A result, but not the expected one (or an error where another error was expected).
    Wrong,
    /// An error where a table was expected.
    Error,
    /// The engine panicked (the request failed without an answer).
    Panic,
}

/// `None` when the answer is the expected one, else how and what differs.
async fn check(url: String, case: Case) -> Option<(Miss, String)> {
    let a = post(
        &format!("{url}/v2/rest/query"),
        json!({"db": "Corpus", "csl": case.query, "properties": {"Options": {}}}),
    )
    .await;
    match &case.expected {
        Expected::Error(text) => {
            if a.status == 200 {
                return Some((
                    Miss::Wrong,
                    format!("expected an error containing {text:?}, got 200"),
                ));
            }
            let message = a.error()["@message"].as_str().unwrap_or("").to_string();
            (!message.contains(text.as_str())).then(|| {
                (
                    Miss::Wrong,
                    format!("expected an error containing {text:?}, got {message}"),
                )
            })
        }
        Expected::Table { columns, rows } => {
            if a.status != 200 {
                let message = a.json()["error"]["@message"].clone();
                return Some((Miss::Error, format!("status {}: {message}", a.status)));
            }
            let Some(table) = frames(&a.text)
                .into_iter()
                .find(|f| f["FrameType"] == "DataTable" && f["TableKind"] == "PrimaryResult")
            else {
                return Some((Miss::Wrong, "no primary result".into()));
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
            let got_rows: Vec<Value> = table["Rows"].as_array().cloned().unwrap_or_default();
            let shown = || {
                let shown: Vec<String> = got_rows.iter().map(Value::to_string).collect();
                format!("rows\n    {}", shown.join("\n    "))
            };
            if &got_columns != columns {
                return Some((
                    Miss::Wrong,
                    format!(
                        "columns {got_columns:?}, expected {columns:?}\n  {}",
                        shown()
                    ),
                ));
            }
            let equal = if case.unordered {
                let mut left: Vec<&Value> = got_rows.iter().collect();
                got_rows.len() == rows.len()
                    && rows.iter().all(|r| {
                        match left.iter().position(|g| same(g, r, case.approx)) {
                            Some(i) => {
                                left.remove(i);
                                true
                            }
                            None => false,
                        }
                    })
            } else {
                got_rows.len() == rows.len()
                    && got_rows
                        .iter()
                        .zip(rows)
                        .all(|(g, r)| same(g, r, case.approx))
            };
            (!equal).then(|| (Miss::Wrong, shown()))
        }
    }
}

#[tokio::test]
async fn corpus() {
    let cases = load();
    let filtered = std::env::var("KQL_CORPUS_FILTER").is_ok();
    assert!(filtered || cases.len() > 10, "the corpus is loaded");
    let report = std::env::var("KQL_CORPUS_REPORT").is_ok();
    let emu = start().await;
    let url = emu.url().to_string();
    let mut failures = Vec::new();
    let mut unexpected_passes = Vec::new();
    let mut gaps = 0;
    let mut counts = [0usize; 4];
    for case in &cases {
        // A panic in the engine drops the connection, and the request helper panics: the
        // case runs as a task of its own so that the panic is counted, not fatal here.
        let outcome = tokio::spawn(check(url.clone(), case.clone()))
            .await
            .unwrap_or_else(|e| Some((Miss::Panic, format!("the request failed: {e}"))));
        let slot = match &outcome {
            None => 0,
            Some((Miss::Wrong, _)) => 1,
            Some((Miss::Error, _)) => 2,
            Some((Miss::Panic, _)) => 3,
        };
        counts[slot] += 1;
        if report {
            let what = ["pass", "wrong", "error", "panic"][slot];
            let why = outcome.as_ref().map(|(_, w)| w.as_str()).unwrap_or("");
            eprintln!(
                "[{what}] {}:{}: {}\n  {why}",
                case.file,
                case.line,
                case.query.replace('\n', "\n  ")
            );
        }
        match (&case.gap, outcome) {
            (None, Some((_, why))) => failures.push(format!(
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
        "KQL corpus: {passing} of {} cases pass ({gaps} documented gaps); outcomes: {} exact, \
         {} wrong result, {} error, {} panic",
        cases.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    emu.shutdown().await;
    if report {
        return;
    }
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
}
