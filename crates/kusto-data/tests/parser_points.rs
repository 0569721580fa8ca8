//! Parser points found when responses recorded by another SDK were fed to ours (issue 17,
//! section 4): the start of a body that is not JSON is quoted, the same whatever the chunking;
//! protocol versions other than v2.x are refused.

use futures::stream;
use kusto_data::Error;
use kusto_data::response::{V2Event, V2Parser, parse_v1, parse_v2, read_v1};

fn message(e: Error) -> (String, Option<u64>) {
    match e {
        Error::MalformedResponse { message, offset } => (message, offset),
        other => panic!("expected a malformed response, got {other:?}"),
    }
}

const GATEWAY: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

#[test]
fn a_v1_body_that_is_not_json_keeps_its_start_in_the_error() {
    let (m, offset) = message(parse_v1(format!("\n {GATEWAY}").as_bytes()).unwrap_err());
    assert!(m.contains("<title>502 Bad Gateway</title>"), "{m}");
    assert!(m.contains("starts with"), "{m}");
    assert_eq!(offset, Some(2));
    let (m, _) = message(parse_v1(b"upstream request timeout").unwrap_err());
    assert!(m.contains("\"upstream request timeout\""), "{m}");
    // A JSON object with bad content keeps serde_json's description.
    let (m, _) = message(parse_v1(br#"{"Tables": [1}"#).unwrap_err());
    assert!(m.starts_with("bad v1 response"), "{m}");
}

#[tokio::test]
async fn read_v1_quotes_the_start_too() {
    let chunks: Vec<kusto_data::Result<bytes::Bytes>> = GATEWAY
        .as_bytes()
        .chunks(3)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let (m, _) = message(read_v1(stream::iter(chunks)).await.unwrap_err());
    assert!(m.contains("502 Bad Gateway"), "{m}");
}

fn v2_error(body: &[u8], chunk: usize) -> (String, Option<u64>) {
    let mut parser = V2Parser::new();
    for c in body.chunks(chunk) {
        parser.feed(c);
        loop {
            match parser.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return message(e),
            }
        }
    }
    parser.end_of_input();
    loop {
        match parser.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error"),
            Err(e) => return message(e),
        }
    }
}

#[test]
fn the_quoted_start_of_a_v2_body_does_not_depend_on_chunking() {
    let long = format!("{GATEWAY}{GATEWAY}{GATEWAY}");
    for body in [long.as_str(), GATEWAY, "Service Unavailable", "  x"] {
        let whole = v2_error(body.as_bytes(), body.len());
        assert!(whole.0.contains("starts with"), "{}", whole.0);
        for chunk in [1, 2, 7, 64, 199, 200, 201] {
            assert_eq!(v2_error(body.as_bytes(), chunk), whole, "chunks of {chunk}");
        }
    }
    // At most 200 bytes are quoted, and all of a shorter body.
    let (m, _) = v2_error(long.as_bytes(), 1);
    assert!(m.contains(&format!("{:?}", &long[..200])), "{m}");
    assert!(!m.contains(&long[..201]), "{m}");
    let (m, _) = v2_error(b"Service Unavailable", 1);
    assert!(m.contains("\"Service Unavailable\""), "{m}");
}

fn with_version(version: Option<&str>) -> String {
    let version = version.map_or(String::new(), |v| format!(r#","Version":"{v}""#));
    format!(
        r#"[{{"FrameType":"DataSetHeader","IsProgressive":false{version}}},
{{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T","Columns":[{{"ColumnName":"n","ColumnType":"long"}}],"Rows":[[1]]}},
{{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}}]"#
    )
}

#[test]
fn versions_other_than_v2_are_refused() {
    for ok in [Some("v2.0"), Some("v2.1"), None] {
        let data = parse_v2(with_version(ok).as_bytes()).unwrap();
        assert_eq!(data.primary_result().map(|t| t.len()), Some(1), "{ok:?}");
    }
    for bad in ["v3.0", "v1.0", "v20.0", "2.0", "next"] {
        let (m, offset) = message(parse_v2(with_version(Some(bad)).as_bytes()).unwrap_err());
        assert!(m.contains(&format!("{bad:?}")), "{m}");
        assert_eq!(offset, Some(1));
    }
    // No rows are handed out before the refusal.
    let mut parser = V2Parser::new();
    parser.feed(with_version(Some("v3.0")).as_bytes());
    parser.end_of_input();
    loop {
        match parser.next_event() {
            Ok(Some(V2Event::Rows { .. })) => panic!("rows of an unknown protocol"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("accepted"),
            Err(_) => break,
        }
    }
}

fn chunks_of(body: &[u8], size: usize) -> Vec<kusto_data::Result<bytes::Bytes>> {
    body.chunks(size.max(1))
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect()
}

fn kind(r: &kusto_data::Result<kusto_data::response::DataSet>) -> String {
    match r {
        Ok(d) => format!("ok {}", d.tables().len()),
        Err(Error::PartialFailure(f)) => format!("partial {:?} {:?}", f.errors, f.data()),
        Err(Error::MalformedResponse { .. }) => "malformed".into(),
        Err(e) => format!("{e}"),
    }
}

#[tokio::test]
async fn read_v1_streams_to_the_result_of_parse_v1() {
    let root = format!("{}/../../fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut v1 = 0;
    for dir in ["azure-kusto-python", "azure-kusto-rust", "azure-kusto-java"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let body = std::fs::read(&path).unwrap();
            let whole = parse_v1(&body);
            if whole.is_ok() {
                v1 += 1;
            }
            for size in [1, 7, 64, 4096, body.len()] {
                let streamed = read_v1(stream::iter(chunks_of(&body, size))).await;
                match (&whole, &streamed) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{} in chunks of {size}", path.display()),
                    _ => assert_eq!(
                        kind(&whole),
                        kind(&streamed),
                        "{} in chunks of {size}",
                        path.display()
                    ),
                }
            }
            // Truncated copies are errors on both.
            for cut in [1, body.len() / 2, body.len().saturating_sub(2)] {
                let part = &body[..cut];
                let streamed = read_v1(stream::iter(chunks_of(part, 5))).await;
                assert_eq!(
                    parse_v1(part).is_err(),
                    streamed.is_err(),
                    "{}",
                    path.display()
                );
            }
        }
    }
    assert!(v1 >= 2, "expected v1 fixtures");
    // Rows before Columns, error rows, top-level exceptions and a table of contents.
    let body = br#"{"Tables":[{"Rows":[[1,"a"],{"Exceptions":["row failed"]}],"TableName":"T","Columns":[{"ColumnName":"n","ColumnType":"long"},{"ColumnName":"s","DataType":"String"}]},
      {"TableName":"P","Columns":[{"ColumnName":"Value","ColumnType":"string"}],"Rows":[["x"]]},
      {"TableName":"TOC","Columns":[{"ColumnName":"Ordinal","ColumnType":"long"},{"ColumnName":"Kind","ColumnType":"string"},{"ColumnName":"Name","ColumnType":"string"},{"ColumnName":"Id","ColumnType":"string"},{"ColumnName":"PrettyName","ColumnType":"string"}],"Rows":[[0,"QueryResult","PrimaryResult","",""],[1,"QueryProperties","@ExtendedProperties","",""]]}],
      "Exceptions":["top-level failure"]}"#;
    let whole = parse_v1(body);
    assert!(matches!(&whole, Err(Error::PartialFailure(f)) if f.errors.len() == 2));
    for size in [1, 3, 50] {
        let streamed = read_v1(stream::iter(chunks_of(body, size))).await;
        assert_eq!(kind(&streamed), kind(&whole), "chunks of {size}");
    }
}
