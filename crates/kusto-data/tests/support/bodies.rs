//! Generated v2 bodies for the differential tests: random tables (every column type, nulls,
//! unusual but valid JSON for each type, escapes and whitespace that the fast lane leaves to the
//! serde decoders), data tables and fragmented tables with `DataReplace`, error rows now and
//! then. Shared by `tests/columnar.rs` and the crate's own `response/lane_tests.rs` (through
//! `#[path]`), so that every path is checked on the same kind of input.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A seeded generator.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub const TYPES: [&str; 11] = [
    "bool",
    "int",
    "long",
    "real",
    "decimal",
    "string",
    "guid",
    "datetime",
    "timespan",
    "dynamic",
    "unknowntype",
];

/// A number in `lo..hi`.
pub fn pick_index(rng: &mut StdRng, lo: usize, hi: usize) -> usize {
    rng.random_range(lo..hi)
}

pub fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A random JSON value valid for a column of type `ty` (nulls included).
pub fn cell(rng: &mut StdRng, ty: &str) -> String {
    if rng.random_range(0..8) == 0 {
        return "null".into();
    }
    match ty {
        "bool" => pick(rng, &["true", "false", "0", "1"]).into(),
        "int" => match rng.random_range(0..4) {
            0 => pick(rng, &["2147483647", "-2147483648", "0", "-0", "3.0"]).into(),
            _ => rng.random_range(-100_000i32..100_000).to_string(),
        },
        "long" => match rng.random_range(0..4) {
            0 => pick(
                rng,
                &[
                    "9223372036854775807",
                    "-9223372036854775808",
                    "9007199254740993",
                    "1e3",
                    "-42.0",
                ],
            )
            .into(),
            _ => rng.random::<i64>().to_string(),
        },
        "real" => match rng.random_range(0..5) {
            0 => pick(
                rng,
                &[
                    "\"NaN\"",
                    "\"Infinity\"",
                    "\"-Infinity\"",
                    "\"+Infinity\"",
                    "1.7976931348623157e308",
                    "5e-324",
                    "-0.0",
                    "18446744073709551615",
                    "0.1",
                ],
            )
            .into(),
            1 => rng.random_range(-1000i64..1000).to_string(),
            _ => format!("{:?}", rng.random::<f64>() * 1e6 - 5e5),
        },
        "decimal" => match rng.random_range(0..4) {
            0 => pick(
                rng,
                &[
                    "\"12.3400\"",
                    "\"\"",
                    "12345678901234567890.123456789",
                    "\"-0.000001\"",
                    "7",
                    "\"0.50\"",
                    "1.5e3",
                    "\"-0\"",
                    "-0.0",
                ],
            )
            .into(),
            _ => format!(
                "\"{}.{:04}\"",
                rng.random_range(-99_999i64..99_999),
                rng.random_range(0..10_000)
            ),
        },
        "string" => match rng.random_range(0..6) {
            0 => pick(
                rng,
                &[
                    "\"\"",
                    "\"h\\u00e9llo \\\"q\\\" \\\\ \\n\\t\"",
                    "\"日本語 ✓\"",
                    "{\"raw\":[1,2]}",
                    "12",
                    "true",
                    "\"\\ud83d\\ude00\"",
                ],
            )
            .into(),
            _ => format!("\"text {}\"", rng.random::<u32>()),
        },
        "guid" => match rng.random_range(0..6) {
            0 => "\"\"".into(),
            _ => format!(
                "\"{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}\"",
                rng.random::<u32>(),
                rng.random::<u16>(),
                rng.random_range(0..0x1000u32),
                rng.random_range(0..0x1000u32),
                rng.random_range(0..(1u64 << 48))
            ),
        },
        "datetime" => match rng.random_range(0..6) {
            0 => pick(
                rng,
                &[
                    "\"\"",
                    "\"2024-02-29T23:59:59.9999999Z\"",
                    "\"1970-01-01T00:00:00Z\"",
                    "\"2016-01-01T01:01:01.0000002Z\"",
                    "\"2021-12-22T11:43:00Z\"",
                    "\"2018-05-01T09:32:38.916566Z\"",
                    "\"2024-05-01 10:20:30Z\"",
                    "\"2024-05-01T10:20:30.123456789Z\"",
                    "\"2024-05-01T10:20\"",
                ],
            )
            .into(),
            _ => format!(
                "\"{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z\"",
                rng.random_range(1700..2260),
                rng.random_range(1..13),
                rng.random_range(1..29),
                rng.random_range(0..24),
                rng.random_range(0..60),
                rng.random_range(0..60),
                rng.random_range(0..10_000_000)
            ),
        },
        "timespan" => match rng.random_range(0..5) {
            0 => pick(rng, &["\"\"", "\"-1.00:00:00.0000001\"", "600000000", "-5"]).into(),
            _ => format!(
                "\"{}{}.{:02}:{:02}:{:02}.{:07}\"",
                pick(rng, &["", "-"]),
                rng.random_range(0..10_000),
                rng.random_range(0..24),
                rng.random_range(0..60),
                rng.random_range(0..60),
                rng.random_range(0..10_000_000)
            ),
        },
        _ => pick(
            rng,
            &[
                "{\"k\":1,\"tags\":[\"a\",\"b\"]}",
                "{ \"z\" : 1 , \"a\" : [ 1.50, 2e2, -0 ] }",
                "[]",
                "\"\"",
                "\"s \\\"q\\\" \\u0041\"",
                "1.0",
                "-12",
                "18446744073709551615",
                "true",
                "{\"nested\":{\"x\":null,\"y\":\"\\u00e9\"}}",
            ],
        )
        .into(),
    }
}

pub fn columns_json(types: &[&str]) -> String {
    let cols: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!(r#"{{"ColumnName":"c{i}","ColumnType":"{t}"}}"#))
        .collect();
    format!("[{}]", cols.join(","))
}

pub fn rows_json(rng: &mut StdRng, types: &[&str], n: usize, error_row: bool) -> String {
    let mut rows = Vec::new();
    for _ in 0..n {
        let cells: Vec<String> = types.iter().map(|t| cell(rng, t)).collect();
        let ws = pick(rng, &["", " ", "\n"]);
        rows.push(format!("[{ws}{}{ws}]", cells.join(&format!(",{ws}"))));
    }
    if error_row {
        let at = rng.random_range(0..=rows.len());
        rows.insert(
            at,
            r#"{"OneApiErrors":[{"error":{"code":"LimitsExceeded","message":"m","@permanent":false}}]}"#
                .into(),
        );
    }
    format!("[{}]", rows.join(","))
}

/// A random v2 body: data tables and fragmented tables (with `DataReplace`), primary results
/// and other kinds, error rows now and then.
pub fn random_body(rng: &mut StdRng) -> String {
    let mut frames = vec![
        r#"{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":true,"ErrorReportingPlacement":"InData"}"#.to_owned(),
    ];
    let tables = rng.random_range(1..4);
    for id in 0..tables {
        let ncols = rng.random_range(0..8);
        let types: Vec<&str> = (0..ncols).map(|_| pick(rng, &TYPES)).collect();
        let kind = if id == 0 || rng.random_bool(0.6) {
            "PrimaryResult"
        } else {
            "QueryProperties"
        };
        let error_row = rng.random_range(0..10) == 0;
        if rng.random_bool(0.5) {
            let n = rng.random_range(0..30);
            frames.push(format!(
                r#"{{"FrameType":"DataTable","TableId":{id},"TableKind":"{kind}","TableName":"T{id}","Columns":{},"Rows":{}}}"#,
                columns_json(&types),
                rows_json(rng, &types, n, error_row)
            ));
        } else {
            frames.push(format!(
                r#"{{"FrameType":"TableHeader","TableId":{id},"TableKind":"{kind}","TableName":"T{id}","Columns":{}}}"#,
                columns_json(&types)
            ));
            for _ in 0..rng.random_range(0..4) {
                let kind = if rng.random_range(0..4) == 0 {
                    "DataReplace"
                } else {
                    "DataAppend"
                };
                let n = rng.random_range(0..20);
                frames.push(format!(
                    r#"{{"FrameType":"TableFragment","TableFragmentType":"{kind}","TableId":{id},"Rows":{}}}"#,
                    rows_json(rng, &types, n, false)
                ));
            }
            frames.push(format!(
                r#"{{"FrameType":"TableCompletion","TableId":{id},"RowCount":0}}"#
            ));
        }
    }
    frames.push(r#"{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}"#.into());
    format!("[{}]", frames.join(",\n"))
}

/// The recorded v2 bodies (a JSON array of frames) of the workspace's fixtures, by path, sorted;
/// `manifest_dir` is the crate's `CARGO_MANIFEST_DIR`.
#[allow(dead_code)]
pub fn v2_fixtures(manifest_dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = format!("{manifest_dir}/../../fixtures");
    let mut out = Vec::new();
    for dir in ["azure-kusto-python", "azure-kusto-rust"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            let body = std::fs::read(&path).unwrap();
            if path.extension().is_some_and(|e| e == "json")
                && body.trim_ascii_start().starts_with(b"[")
            {
                out.push((path.display().to_string(), body));
            }
        }
    }
    out.sort();
    out
}
