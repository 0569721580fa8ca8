//! Every v2 fixture gives the same result whatever the chunking and batch size; truncated and
//! corrupted copies of every fixture give typed errors, never a panic.

use kusto_data::Error;
use kusto_data::response::{DataSet, DataSetBuilder, ParserOptions, V2Parser, parse_v1, parse_v2};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let root = format!("{}/../../fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    // The java file is an ingest-v2 configuration document, not a query answer; both parsers
    // reject it (tests/fixtures.rs), and its damaged copies must be rejected as cleanly.
    for dir in ["azure-kusto-python", "azure-kusto-rust", "azure-kusto-java"] {
        let entries = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap_or_else(|e| panic!("fixtures missing: {e}"));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert_eq!(out.len(), 16, "expected every recorded fixture");
    out
}

fn is_v1(body: &[u8]) -> bool {
    body.trim_ascii_start().starts_with(b"{")
}

/// A comparable rendering of a parse outcome (Debug, so NaN compares equal to NaN).
fn outcome(result: kusto_data::Result<DataSet>) -> String {
    match result {
        Ok(data) => format!("Ok({data:?})"),
        Err(Error::PartialFailure(f)) => format!("Partial({:?}, {:?})", f.errors, f.data()),
        Err(e) => format!("Err({e})"),
    }
}

/// The outcome of parsing `body` fed in `chunk`-byte pieces, collected like `parse_v2` does.
fn chunked_outcome(body: &[u8], chunk: usize, options: ParserOptions) -> String {
    let mut parser = V2Parser::with_options(options);
    let mut builder = DataSetBuilder::new();
    let drain = |parser: &mut V2Parser, builder: &mut DataSetBuilder| -> kusto_data::Result<()> {
        while let Some(event) = parser.next_event()? {
            builder.push(event);
        }
        Ok(())
    };
    let mut result = Ok(());
    for piece in body.chunks(chunk) {
        parser.feed(piece);
        result = drain(&mut parser, &mut builder);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        parser.end_of_input();
        result = drain(&mut parser, &mut builder);
    }
    match result {
        Ok(()) => format!("Ok({:?})", builder.finish()),
        Err(Error::PartialFailure(f)) => {
            format!("Partial({:?}, {:?})", f.errors, Some(&builder.finish()))
        }
        Err(e) => format!("Err({e})"),
    }
}

#[test]
fn every_chunk_size_and_batch_size_gives_the_same_result() {
    for (name, body) in fixtures().into_iter().filter(|(_, b)| !is_v1(b)) {
        let expected = outcome(parse_v2(&body));
        for chunk in [1, 2, 3, 7, 13, 64, 1000, body.len()] {
            for options in [
                ParserOptions::new(),
                ParserOptions::new().with_batch_rows(1),
                ParserOptions::new().with_batch_bytes(10),
            ] {
                let got = chunked_outcome(&body, chunk, options);
                assert_eq!(got, expected, "{name}: chunk {chunk}, {options:?}");
            }
        }
    }
}

#[test]
fn one_byte_chunks_give_the_same_events() {
    for (name, body) in fixtures().into_iter().filter(|(_, b)| !is_v1(b)) {
        let events = |chunk: usize| {
            let mut parser = V2Parser::new();
            let mut out = Vec::new();
            for piece in body.chunks(chunk) {
                parser.feed(piece);
                while let Ok(Some(e)) = parser.next_event() {
                    out.push(format!("{e:?}"));
                }
            }
            parser.end_of_input();
            loop {
                match parser.next_event() {
                    Ok(Some(e)) => out.push(format!("{e:?}")),
                    Ok(None) => break,
                    Err(e) => {
                        out.push(format!("error {e}"));
                        break;
                    }
                }
            }
            out
        };
        assert_eq!(events(1), events(body.len()), "{name}");
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    for (name, body) in fixtures() {
        let complete = body.trim_ascii_end().len();
        for cut in 0..complete {
            let prefix = &body[..cut];
            let result = if is_v1(&body) {
                parse_v1(prefix)
            } else {
                parse_v2(prefix)
            };
            match result {
                Err(Error::MalformedResponse {
                    offset: Some(offset),
                    ..
                }) => {
                    assert!(
                        offset <= cut as u64,
                        "{name} cut at {cut}: offset {offset} past the end"
                    );
                }
                other => panic!(
                    "{name} cut at {cut}: expected a malformed-response error, got {}",
                    outcome(other)
                ),
            }
        }
        // The complete body without its trailing whitespace parses as the body does.
        let full = &body[..complete];
        let parse = |b: &[u8]| {
            if is_v1(&body) {
                parse_v1(b)
            } else {
                parse_v2(b)
            }
        };
        assert_eq!(outcome(parse(full)), outcome(parse(&body)), "{name}");
    }
}

#[test]
fn corrupted_copies_give_typed_errors_never_a_panic() {
    for (name, body) in fixtures() {
        let parse = |b: &[u8]| {
            if is_v1(&body) {
                parse_v1(b)
            } else {
                parse_v2(b)
            }
        };
        // A structural corruption is always caught: the closing bracket of the body replaced.
        let mut broken = body.trim_ascii_end().to_vec();
        if let Some(last) = broken.last_mut() {
            *last = if *last == b']' { b'}' } else { b']' };
        }
        assert!(
            matches!(parse(&broken), Err(Error::MalformedResponse { .. })),
            "{name}: closing bracket"
        );
        // Byte substitutions all over the body: never a panic, any error is typed.
        let step = (body.len() / 400).max(1);
        for at in (0..body.len()).step_by(step) {
            for replacement in [b'x', b'{', b']', b'"', b'\\', b'9', 0xFF, b','] {
                let mut copy = body.clone();
                if copy[at] == replacement {
                    continue;
                }
                copy[at] = replacement;
                match parse(&copy) {
                    Ok(_)
                    | Err(Error::MalformedResponse { .. })
                    | Err(Error::PartialFailure(_)) => {}
                    Err(other) => panic!(
                        "{name}: byte {at} -> {replacement}: unexpected error kind {other:?}"
                    ),
                }
            }
        }
    }
}
