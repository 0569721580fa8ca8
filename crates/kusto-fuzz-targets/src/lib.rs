//! Bodies of the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer), one function per target.
//!
//! Each function takes the fuzzer's bytes, runs one parser of the SDK or the emulator and
//! panics when a property is broken: a panic inside the parser, or a stronger oracle where one
//! is cheap (chunked and whole parses agree, `Display` then parse gives the value back, secrets
//! never printed, what the emulator writes is read by the SDK). The libFuzzer harness in
//! `fuzz/fuzz_targets/` calls these functions; this crate's tests replay the committed corpus
//! (`fuzz/corpus/<target>/`) and the crash regressions (`fuzz/regressions/<target>/`) under
//! stable Rust, so `cargo test` keeps every input that ever crashed a target.
//!
//! | target | function |
//! |---|---|
//! | `connection_string` | [`connection_string`] |
//! | `v2_response_streamed` | [`v2_response_streamed`] |
//! | `v1_response` | [`v1_response`] |
//! | `kusto_values` | [`kusto_values`] |
//! | `ingestion_mapping_json` | [`ingestion_mapping_json`] |
//! | `emulator_request` | [`emulator_request`] |
//! | `emulator_commands` | [`emulator_commands`] |
//! | `emulator_ingest` | [`emulator_ingest`] |
//! | `emulator_kql` | [`emulator_kql`] |
//! | `scalar_parsers` | [`scalar_parsers()`] (its input's runs: [`scalar_parsers::expand`]) |
#![deny(missing_docs)]
#![allow(clippy::panic)]

use std::str::FromStr;

use bytes::Bytes;
use kusto_data::auth::Authentication;
use kusto_data::response::{DataSetBuilder, V2Parser, parse_v1, parse_v2, read_v1};
use kusto_data::{ConnectionString, Error, KustoDateTime, KustoDecimal, KustoTimespan, KustoValue};
use kusto_emulator::fuzz as emu;
use kusto_emulator::{Column, KustoType, Store};

mod emulator_kql;
pub use emulator_kql::emulator_kql;
pub mod scalar_parsers;
pub use scalar_parsers::scalar_parsers;

/// The body of a fuzz target: panics when the input breaks a property.
pub type Target = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus` and `fuzz/regressions`) and body.
pub const TARGETS: &[(&str, Target)] = &[
    ("connection_string", connection_string),
    ("v2_response_streamed", v2_response_streamed),
    ("v1_response", v1_response),
    ("kusto_values", kusto_values),
    ("ingestion_mapping_json", ingestion_mapping_json),
    ("emulator_request", emulator_request),
    ("emulator_commands", emulator_commands),
    ("emulator_ingest", emulator_ingest),
    ("emulator_kql", emulator_kql),
    ("scalar_parsers", scalar_parsers),
];

/// A small deterministic generator (xorshift64*), seeded from the input, for chunk sizes.
struct Chunker(u64);

impl Chunker {
    fn new(seed: &[u8]) -> Self {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for &b in seed {
            s = (s ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
        Chunker(s | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Splits `body` at random boundaries: mostly tiny chunks (1-16 bytes), sometimes empty
    /// ones, sometimes up to 4 KiB.
    fn split<'a>(&mut self, body: &'a [u8]) -> Vec<&'a [u8]> {
        let mut chunks = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let r = self.next();
            let len = match r % 8 {
                0 => 0,
                1 => (r >> 8) as usize % 4096 + 1,
                _ => (r >> 8) as usize % 16 + 1,
            };
            let len = len.min(rest.len());
            let (chunk, tail) = rest.split_at(len);
            chunks.push(chunk);
            rest = tail;
        }
        chunks
    }
}

/// The first byte seeds the chunking; the rest is the body.
fn seed_and_body(data: &[u8]) -> (&[u8], &[u8]) {
    match data.split_first() {
        Some((seed, body)) => (std::slice::from_ref(seed), body),
        None => (&[], &[]),
    }
}

/// `Debug` text of a parse result for comparing two parses: `Error::MalformedResponse` keeps
/// only its variant (the message may name the chunk where the problem was seen).
fn outcome(result: &Result<kusto_data::DataSet, Error>) -> String {
    match result {
        Ok(data) => format!("Ok({data:?})"),
        Err(Error::MalformedResponse { .. }) => "MalformedResponse".to_owned(),
        Err(Error::PartialFailure(failure)) => format!("PartialFailure({failure:?})"),
        Err(other) => format!("Err({other:?})"),
    }
}

/// `connection_string`: [`ConnectionString::parse`] never panics; a parsed string prints a
/// canonical form that parses to the same connection string (`to_unmasked_string` is a fixed
/// point); no secret (password, application key, user or application token) appears in
/// `Display` or `Debug`, checked by replacing each secret with a canary and parsing again.
pub fn connection_string(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cs) = ConnectionString::parse(text) else {
        return;
    };
    let _ = (cs.to_string(), format!("{cs:?}"));
    let Ok(unmasked) = cs.to_unmasked_string() else {
        return;
    };
    let unmasked = unmasked.expose().to_owned();
    let again = ConnectionString::parse(&unmasked)
        .unwrap_or_else(|e| panic!("the canonical form {unmasked:?} does not parse: {e}"));
    let unmasked_again = again
        .to_unmasked_string()
        .unwrap_or_else(|e| panic!("the canonical form {unmasked:?} is not printable: {e}"));
    assert_eq!(
        unmasked,
        unmasked_again.expose(),
        "canonical form is not a fixed point"
    );
    assert_eq!(
        cs.to_string(),
        again.to_string(),
        "Display changed by a round trip"
    );

    // The secrets, by keyword: replace each value with a canary the input cannot contain.
    const CANARY: &str = "Zq7CanaryS3cretXw";
    if text.contains(CANARY) {
        return;
    }
    let secrets: Vec<(&str, String)> = match cs.authentication() {
        Authentication::ApplicationKey { key, .. } => {
            vec![("Application Key", key.expose().to_owned())]
        }
        Authentication::UserPassword { password, .. } => {
            vec![("Password", password.expose().to_owned())]
        }
        Authentication::UserToken(t) => vec![("User Token", t.expose().to_owned())],
        Authentication::ApplicationToken(t) => vec![("Application Token", t.expose().to_owned())],
        _ => Vec::new(),
    };
    let mut canaried = unmasked.clone();
    for (keyword, secret) in &secrets {
        let from = format!("{keyword}={secret}");
        if !canaried.contains(&from) {
            panic!("canonical form {unmasked:?} does not hold {keyword}");
        }
        canaried = canaried.replace(&from, &format!("{keyword}={CANARY}"));
    }
    if secrets.is_empty() {
        return;
    }
    let cs = ConnectionString::parse(&canaried)
        .unwrap_or_else(|e| panic!("{canaried:?} does not parse: {e}"));
    let shown = cs.to_string();
    let debug = format!("{cs:?}");
    assert!(!shown.contains(CANARY), "a secret in Display: {shown}");
    assert!(!debug.contains(CANARY), "a secret in Debug: {debug}");
    assert!(
        cs.to_unmasked_string()
            .is_ok_and(|s| s.expose().contains(CANARY)),
        "the unmasked form lost the secret"
    );
}

/// `v2_response_streamed`: the v2 parser fed the body in random chunks (first input byte seeds
/// the boundaries; empty chunks included) gives the same data set, or the same kind of error,
/// as [`parse_v2`] over the whole body. Never a panic.
pub fn v2_response_streamed(data: &[u8]) {
    let (seed, body) = seed_and_body(data);
    let whole = parse_v2(body);
    let mut parser = V2Parser::new();
    let mut builder = DataSetBuilder::new();
    let mut chunker = Chunker::new(seed);
    let mut failed = None;
    'feed: for chunk in chunker.split(body) {
        parser.feed(chunk);
        loop {
            match parser.next_event() {
                Ok(Some(event)) => builder.push(event),
                Ok(None) => break,
                Err(e) => {
                    failed = Some(e);
                    break 'feed;
                }
            }
        }
    }
    let chunked = match failed {
        Some(e) => Err(e),
        None => {
            parser.end_of_input();
            loop {
                match parser.next_event() {
                    Ok(Some(event)) => builder.push(event),
                    Ok(None) => break Ok(builder.finish()),
                    Err(e) => break Err(e),
                }
            }
        }
    };
    // A chunked parse that failed has no data attached (the builder is not consulted here):
    // compare the kind of failure and, for successes, the whole data set.
    match (&whole, &chunked) {
        (Ok(_), Ok(_)) => assert_eq!(outcome(&whole), outcome(&chunked), "chunked != whole"),
        (Err(a), Err(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "chunked error {b:?} != whole error {a:?}"
        ),
        _ => panic!(
            "whole {} but chunked {}",
            outcome(&whole),
            outcome(&chunked)
        ),
    }
}

/// `v1_response`: [`read_v1`] over the body in random chunks agrees with [`parse_v1`] over the
/// whole body (same data set, same partial failure, or both malformed). Never a panic.
pub fn v1_response(data: &[u8]) {
    let (seed, body) = seed_and_body(data);
    let whole = parse_v1(body);
    let chunks: Vec<Result<Bytes, Error>> = Chunker::new(seed)
        .split(body)
        .into_iter()
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let streamed = futures::executor::block_on(read_v1(futures::stream::iter(chunks)));
    assert_eq!(
        outcome(&whole),
        outcome(&streamed),
        "read_v1 in chunks and parse_v1 disagree"
    );
}

/// A one-column v2 body whose single cell is `cell` (raw JSON).
fn v2_cell_body(ty: &str, cell: &str) -> String {
    format!(
        concat!(
            r#"[{{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"}},"#,
            r#"{{"FrameType":"DataTable","TableId":0,"TableKind":"PrimaryResult","TableName":"PrimaryResult","#,
            r#""Columns":[{{"ColumnName":"c","ColumnType":"{}"}}],"Rows":[[{}]]}},"#,
            r#"{{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}}]"#
        ),
        ty, cell
    )
}

/// The single cell of a v2 body, as the response decoder read it.
fn decode_cell(ty: &str, cell: &str) -> Option<Result<KustoValue, Error>> {
    let body = v2_cell_body(ty, cell);
    match parse_v2(body.as_bytes()) {
        Ok(data) => {
            let table = data.primary_result()?;
            let row = table.row(0)?;
            row.get(0).ok().map(Ok)
        }
        Err(e) => Some(Err(e)),
    }
}

fn round_trip<T>(text: &str)
where
    T: FromStr + std::fmt::Display + std::fmt::Debug + PartialEq,
{
    if let Ok(value) = text.parse::<T>() {
        let shown = value.to_string();
        let again = shown
            .parse::<T>()
            .unwrap_or_else(|_| panic!("{shown:?} (printed from {text:?}) does not parse"));
        assert_eq!(value, again, "{text:?} -> {shown:?} -> {again:?}");
        assert_eq!(shown, again.to_string(), "Display is not a fixed point");
    }
}

/// `kusto_values`: the first byte picks the type, the rest is the text.
///
/// * `datetime`, `timespan`, `decimal`: `FromStr` never panics; a parsed value prints (`Display`)
///   a text that parses back to the same value and prints the same again; the value the
///   response decoder reads from a v2 cell holding the text as a JSON string is the `FromStr`
///   value (or null for the empty string).
/// * `dynamic`: the text as a v2 `dynamic` cell decodes to exactly the JSON value serde_json
///   reads from it, and a `long`/`real`/`int`/`bool`/`guid`/`string` cell never panics.
pub fn kusto_values(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    match selector % 4 {
        0 => {
            round_trip::<KustoDateTime>(text);
            check_cell(
                "datetime",
                &quoted,
                text,
                text.parse::<KustoDateTime>().ok().map(KustoValue::DateTime),
            );
        }
        1 => {
            round_trip::<KustoTimespan>(text);
            check_cell(
                "timespan",
                &quoted,
                text,
                text.parse::<KustoTimespan>().ok().map(KustoValue::TimeSpan),
            );
        }
        2 => {
            round_trip::<KustoDecimal>(text);
            check_cell(
                "decimal",
                &quoted,
                text,
                text.parse::<KustoDecimal>().ok().map(KustoValue::Decimal),
            );
        }
        _ => {
            let expected: Option<serde_json::Value> = serde_json::from_str(text).ok();
            if let Some(expected) = expected {
                match decode_cell("dynamic", text) {
                    Some(Ok(KustoValue::Dynamic(v))) => assert_eq!(v, expected, "dynamic cell"),
                    Some(Ok(KustoValue::Null)) => assert!(expected.is_null(), "null cell"),
                    other => panic!("dynamic cell {text:?} read as {other:?}"),
                }
                for ty in ["long", "int", "real", "bool", "guid", "string", "timespan"] {
                    let _ = decode_cell(ty, text);
                }
            }
        }
    }
}

/// The decoder reads the text as a JSON string cell of type `ty` exactly as `FromStr` does.
fn check_cell(ty: &str, quoted: &str, text: &str, parsed: Option<KustoValue>) {
    let decoded = decode_cell(ty, quoted);
    match (&decoded, parsed) {
        (Some(Ok(KustoValue::Null)), _) if text.is_empty() => {}
        (Some(Ok(v)), Some(p)) => assert_eq!(*v, p, "{ty} cell {text:?}"),
        (Some(Err(_)), None) => {}
        (d, p) => panic!("{ty} cell {text:?}: decoder {d:?}, FromStr {p:?}"),
    }
}

const KINDS: [&str; 7] = [
    "csv",
    "json",
    "avro",
    "apacheavro",
    "parquet",
    "orc",
    "w3clogfile",
];

/// `ingestion_mapping_json`: the first byte picks the mapping kind, the rest is the mapping's
/// JSON text. The emulator's mapping parser never panics, and a mapping it accepts, written
/// back in the current format, parses to the same mapping (the canonical text is a fixed point).
pub fn ingestion_mapping_json(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    if let Ok(canonical) = emu::mapping_canonical(text, kind) {
        let again = emu::mapping_canonical(&canonical, kind).unwrap_or_else(|e| {
            panic!("canonical mapping {canonical:?} (from {text:?}) is rejected: {e}")
        });
        assert_eq!(
            canonical, again,
            "canonical mapping text is not a fixed point"
        );
    }
}

/// The database every emulator target works in.
pub const DB: &str = "FuzzDb";
/// The table the emulator targets seed: one column of every type.
const TABLE: &str = "T";

/// A store with database `FuzzDb` and table `T` (a column of every type, three rows), as the
/// emulator targets use.
pub fn seeded_store() -> Store {
    let store = Store::new();
    let db = store
        .ensure_database(DB)
        .unwrap_or_else(|e| panic!("database: {e}"));
    let columns: Vec<Column> = KustoType::ALL
        .iter()
        .enumerate()
        .map(|(i, ty)| Column::new(format!("c{i}_{}", ty.name()), *ty))
        .collect();
    store
        .create_table(&db, TABLE, &columns, false)
        .unwrap_or_else(|e| panic!("table: {e}"));
    let line = "true,1,2,3.5,4.25,text,2024-01-02T03:04:05.1234567Z,1.02:03:04,\
                11111111-2222-3333-4444-555555555555,\"{\"\"a\"\":[1,2]}\"\n";
    emu::ingest(
        &store,
        DB,
        TABLE,
        "csv",
        line.repeat(3).as_bytes(),
        None,
        false,
    )
    .unwrap_or_else(|e| panic!("seed rows: {e}"));
    store
}

/// What the SDK reads from a v1 body the emulator wrote: anything but a malformed response.
fn sdk_reads_v1(body: &str, what: &str) {
    if let Err(Error::MalformedResponse { message, .. }) = parse_v1(body.as_bytes()) {
        panic!("the SDK cannot read the emulator's answer to {what:?}: {message}\n{body}");
    }
}

/// `emulator_request`: the first byte picks a POST body (JSON, gzip detected) or a GET query
/// string; the rest is that body. The emulator's request parser never panics; a parsed request
/// runs as the handlers run it (a command when the text starts with `.`, else a query) against
/// a seeded store, never panics, and a command's v1 answer is read by the SDK's v1 parser.
pub fn emulator_request(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let parsed = if selector % 2 == 0 {
        emu::parse_request_body(rest)
    } else {
        match std::str::from_utf8(rest) {
            Ok(q) => emu::parse_request_query(q),
            Err(_) => return,
        }
    };
    let Ok(request) = parsed else {
        return;
    };
    let store = seeded_store();
    let db = request.db.as_deref().unwrap_or(DB);
    if request.csl.trim_start().starts_with('.') {
        if let Ok(body) = emu::run_command(&store, db, &request.csl) {
            sdk_reads_v1(&body, &request.csl);
        }
    } else {
        let _ = emu::run_query(&store, db, &request.csl, &request.parameters);
    }
}

/// `emulator_commands`: each line of the input runs, in order, against one seeded store: a
/// management command when it starts with `.`, else a KQL query. Never a panic; every command's
/// v1 answer is read by the SDK's v1 parser; after all lines `.show tables` still answers.
pub fn emulator_commands(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let store = seeded_store();
    for line in text.split('\n').take(16) {
        if line.trim_start().starts_with('.') {
            if let Ok(body) = emu::run_command(&store, DB, line) {
                sdk_reads_v1(&body, line);
            }
        } else {
            let _ = emu::run_query(&store, DB, line, "{}");
        }
    }
    let tables = emu::run_command(&store, DB, ".show tables")
        .unwrap_or_else(|e| panic!(".show tables fails after the commands: {e}"));
    sdk_reads_v1(&tables, ".show tables");
}

const FORMATS: [&str; 11] = [
    "csv",
    "tsv",
    "tsve",
    "scsv",
    "psv",
    "sohsv",
    "txt",
    "raw",
    "json",
    "multijson",
    "singlejson",
];

fn row_count(store: &Store) -> usize {
    store
        .snapshot(DB, TABLE)
        .map(|s| s.rows.len())
        .unwrap_or_else(|e| panic!("snapshot: {e}"))
}

/// `emulator_ingest`: the first byte picks the format (CSV family, txt, raw, JSON family) and
/// whether the first record is a header; when the rest holds a NUL byte, the text before it is
/// an inline mapping. Ingestion into a table with a column of every type never panics and is
/// all or nothing: on success the table gained exactly the rows reported, on failure none.
pub fn emulator_ingest(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(selector & 0x7f) % FORMATS.len()];
    let ignore_first = selector & 0x80 != 0;
    let (mapping, payload) = match rest.iter().position(|&b| b == 0) {
        Some(i) => match std::str::from_utf8(&rest[..i]) {
            Ok(m) => (Some(m), &rest[i + 1..]),
            Err(_) => (None, rest),
        },
        None => (None, rest),
    };
    let store = seeded_store();
    let before = row_count(&store);
    let result = emu::ingest(&store, DB, TABLE, format, payload, mapping, ignore_first);
    let after = row_count(&store);
    match result {
        Ok(rows) => assert_eq!(after, before + rows, "ingested {rows} rows"),
        Err(e) => assert_eq!(after, before, "a failed ingestion ({e}) changed the table"),
    }
}
