//! `KustoClient` against servers that misbehave on purpose, written byte by byte on a raw TCP
//! socket: a body without end (fast, and trickled), one JSON token of hundreds of megabytes, a gzip
//! bomb, invalid UTF-8, an error object inside a 200 answer. Each must end in a typed error,
//! within the configured time (the request's timeout) and memory (the client's
//! `max_response_bytes` and the parser's `max_value_bytes`), never a panic, a hang, or a
//! silently shortened result. (A redirect, never followed, is in `client.rs`.)

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use kusto_data::response::ParserOptions;
use kusto_data::{ClientRequestProperties, ConnectionString, Error, KustoClient, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server writes after the headers: a function of the connection that writes the body.
type Script = Arc<dyn Fn(TcpStream, Arc<AtomicU64>) -> BoxFuture + Send + Sync>;
type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A server that reads one request (headers and `Content-Length` body) per connection and runs
/// the script; returns its URL and the count of body bytes the script managed to write.
async fn serve(script: Script) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let script = script.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                if read_request(&mut socket).await {
                    script(socket, counter).await;
                }
            });
        }
    });
    (url, written)
}

async fn read_request(socket: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    socket.read_exact(&mut body).await.is_ok()
}

/// Writes `bytes` as one HTTP chunk; false once the client has gone.
async fn chunk(socket: &mut TcpStream, bytes: &[u8], written: &AtomicU64) -> bool {
    let mut frame = format!("{:x}\r\n", bytes.len()).into_bytes();
    frame.extend_from_slice(bytes);
    frame.extend_from_slice(b"\r\n");
    let ok = socket.write_all(&frame).await.is_ok();
    if ok {
        written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    ok
}

const CHUNKED_JSON: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n";

/// The start of a valid v2 answer, up to the first row of the primary table.
const V2_PREFIX: &str = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},{"FrameType":"DataTable","TableId":0,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"s","ColumnType":"string"}],"Rows":["#;

fn client(url: &str) -> kusto_data::KustoClientBuilder {
    KustoClient::builder(ConnectionString::parse(url).unwrap())
        .retry_policy(RetryPolicy::none())
        .timeout_margin(Duration::from_millis(500))
}

fn short_timeout() -> ClientRequestProperties {
    let mut properties = ClientRequestProperties::new();
    properties.set_server_timeout(Duration::from_secs(1));
    properties
}

/// Rows without end, as fast as the client takes them.
fn endless_rows() -> Script {
    Arc::new(|mut socket, written| {
        Box::pin(async move {
            let _ = socket.write_all(CHUNKED_JSON.as_bytes()).await;
            if !chunk(&mut socket, V2_PREFIX.as_bytes(), &written).await {
                return;
            }
            let rows = r#"["a row that never ends the table"],"#.repeat(2048);
            while chunk(&mut socket, rows.as_bytes(), &written).await {}
        })
    })
}

#[tokio::test]
async fn an_endless_body_stops_at_the_response_limit_when_collected() {
    let (url, written) = serve(endless_rows()).await;
    let limit = 8 << 20;
    let client = client(&url).max_response_bytes(limit).build().unwrap();
    let error = client.query("Db", "T").await.unwrap_err();
    match &error {
        Error::ResponseTooLarge { limit: l, message } => {
            assert_eq!(*l, limit);
            assert!(message.contains("max_response_bytes"), "{message}");
        }
        other => panic!("expected ResponseTooLarge, got {other}"),
    }
    assert!(!error.is_transient(), "the same request would fail again");
    // The client stopped reading: the server could not push much beyond the limit (socket
    // buffers and one chunk in flight), rather than writing for ever.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = written.load(Ordering::Relaxed);
    assert!(
        sent < limit + (16 << 20),
        "the server wrote {sent} bytes: reading did not stop"
    );
}

#[tokio::test]
async fn an_endless_body_is_a_timeout_when_streamed() {
    let (url, _) = serve(endless_rows()).await;
    let client = client(&url).build().unwrap();
    let properties = short_timeout();
    let mut rows = client
        .query("Db", "T")
        .properties(&properties)
        .stream()
        .await
        .unwrap()
        .primary_batches();
    let mut received = 0usize;
    let error = loop {
        match rows.next().await {
            Some(Ok(batch)) => received += batch.rows.len(),
            Some(Err(error)) => break error,
            None => panic!("an endless table ended without an error after {received} rows"),
        }
    };
    assert!(received > 0, "rows flowed before the deadline");
    match error {
        Error::Timeout { timeout, .. } => assert_eq!(timeout, Duration::from_millis(1500)),
        other => panic!("expected a timeout, got {other}"),
    }
}

#[tokio::test]
async fn a_trickled_body_is_a_timeout_not_a_hang() {
    // One byte every 50 ms: the connection is never idle long, the answer never completes.
    let script: Script = Arc::new(|mut socket, written| {
        Box::pin(async move {
            let _ = socket.write_all(CHUNKED_JSON.as_bytes()).await;
            if !chunk(&mut socket, V2_PREFIX.as_bytes(), &written).await {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if !chunk(&mut socket, b" ", &written).await {
                    return;
                }
            }
        })
    });
    let (url, _) = serve(script).await;
    let client = client(&url).build().unwrap();
    let properties = short_timeout();
    let error = client
        .query("Db", "T")
        .properties(&properties)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(error.is_transient());
}

/// One string cell that never closes: a single JSON token of `total` bytes.
fn huge_token(total: usize) -> Script {
    Arc::new(move |mut socket, written| {
        Box::pin(async move {
            let _ = socket.write_all(CHUNKED_JSON.as_bytes()).await;
            if !chunk(&mut socket, format!("{V2_PREFIX}[\"").as_bytes(), &written).await {
                return;
            }
            let block = vec![b'x'; 1 << 20];
            for _ in 0..total >> 20 {
                if !chunk(&mut socket, &block, &written).await {
                    return;
                }
            }
            let _ = chunk(&mut socket, b"\"]]}]", &written).await;
            let _ = socket.write_all(b"0\r\n\r\n").await;
        })
    })
}

#[tokio::test]
async fn a_huge_single_token_stops_at_the_value_limit() {
    let (url, written) = serve(huge_token(512 << 20)).await;
    let limit = 4 << 20;
    let client = client(&url)
        .parser_options(ParserOptions::new().with_max_value_bytes(limit))
        .build()
        .unwrap();
    for streamed in [false, true] {
        let error = if streamed {
            let mut batches = client
                .query("Db", "T")
                .stream()
                .await
                .unwrap()
                .primary_batches();
            loop {
                match batches.next().await {
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => break error,
                    None => panic!("the stream ended without an error"),
                }
            }
        } else {
            client.query("Db", "T").await.unwrap_err()
        };
        match &error {
            Error::ResponseTooLarge { limit: l, message } => {
                assert_eq!(*l, limit as u64);
                assert!(message.contains("max_value_bytes"), "{message}");
            }
            other => panic!("expected ResponseTooLarge, got {other}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = written.load(Ordering::Relaxed);
    assert!(
        sent < 2 * (limit as u64 + (16 << 20)),
        "the server wrote {sent} bytes of its 1 GiB: reading did not stop"
    );
}

#[tokio::test]
async fn a_management_answer_with_a_huge_token_stops_at_the_value_limit() {
    // The same attack on the v1 reader of management commands.
    let script: Script = Arc::new(|mut socket, written| {
        Box::pin(async move {
            let _ = socket.write_all(CHUNKED_JSON.as_bytes()).await;
            let start = r#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"s","DataType":"String","ColumnType":"string"}],"Rows":[[""#;
            if !chunk(&mut socket, start.as_bytes(), &written).await {
                return;
            }
            let block = vec![b'y'; 1 << 20];
            while chunk(&mut socket, &block, &written).await {}
        })
    });
    let (url, _) = serve(script).await;
    let client = client(&url)
        .parser_options(ParserOptions::new().with_max_value_bytes(2 << 20))
        .build()
        .unwrap();
    let error = client.mgmt("Db", ".show tables").await.unwrap_err();
    assert!(
        matches!(error, Error::ResponseTooLarge { limit, .. } if limit == 2 << 20),
        "{error}"
    );
}

#[tokio::test]
async fn a_gzip_bomb_is_counted_after_decompression() {
    // 256 MiB of rows inflated from a few hundred KiB: the limit counts what the parser would
    // hold, not what crossed the wire.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(V2_PREFIX.as_bytes()).unwrap();
    let rows = r#"["bomb"],"#.repeat(1 << 16);
    for _ in 0..(256 << 20) / rows.len() {
        encoder.write_all(rows.as_bytes()).unwrap();
    }
    let compressed = Arc::new(encoder.finish().unwrap());
    assert!(compressed.len() < 4 << 20, "{} bytes", compressed.len());
    let script: Script = Arc::new(move |mut socket, written| {
        let compressed = compressed.clone();
        Box::pin(async move {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n\
                 content-length: {}\r\n\r\n",
                compressed.len()
            );
            if socket.write_all(head.as_bytes()).await.is_ok()
                && socket.write_all(&compressed).await.is_ok()
            {
                written.fetch_add(compressed.len() as u64, Ordering::Relaxed);
            }
        })
    });
    let (url, _) = serve(script).await;
    let limit = 16 << 20;
    let client = client(&url).max_response_bytes(limit).build().unwrap();
    let error = client.query("Db", "T").await.unwrap_err();
    assert!(
        matches!(error, Error::ResponseTooLarge { limit: l, .. } if l == limit),
        "{error}"
    );
}

/// A complete answer with `Content-Length`.
fn answer(status: &'static str, body: Vec<u8>) -> Script {
    let body = Arc::new(body);
    Arc::new(move |mut socket, _| {
        let body = body.clone();
        Box::pin(async move {
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        })
    })
}

#[tokio::test]
async fn invalid_utf8_is_a_malformed_response() {
    let mut body = V2_PREFIX.as_bytes().to_vec();
    body.extend_from_slice(b"[\"caf\xC3\x28\"]]},");
    body.extend_from_slice(
        br#"{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#,
    );
    let (url, _) = serve(answer("200 OK", body)).await;
    let client = client(&url).build().unwrap();
    let error = client.query("Db", "T").await.unwrap_err();
    match &error {
        Error::MalformedResponse { offset, .. } => assert!(offset.is_some()),
        other => panic!("expected MalformedResponse, got {other}"),
    }
    assert!(!error.is_transient());
}

#[tokio::test]
async fn an_error_object_in_a_200_answer_is_a_typed_error_that_quotes_it() {
    let body = br#"{"error":{"code":"General_BadRequest","message":"boom from a proxy","@permanent":true}}"#;
    let (url, _) = serve(answer("200 OK", body.to_vec())).await;
    let client = client(&url).build().unwrap();
    let query = client.query("Db", "T").await.unwrap_err();
    let command = client.mgmt("Db", ".show tables").await.unwrap_err();
    for error in [query, command] {
        match &error {
            Error::MalformedResponse { message, .. } => {
                assert!(message.contains("boom from a proxy"), "{message}");
            }
            other => panic!("expected MalformedResponse, got {other}"),
        }
    }
}

#[tokio::test]
async fn a_body_cut_short_is_an_error_not_a_shorter_table() {
    // Headers promise 10,000 bytes; the connection closes after the first rows.
    let script: Script = Arc::new(|mut socket, _| {
        Box::pin(async move {
            let body = format!("{V2_PREFIX}[\"one\"],[\"two\"],");
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
            let _ = socket.shutdown().await;
        })
    });
    let (url, _) = serve(script).await;
    let client = client(&url).build().unwrap();
    let error = client.query("Db", "T").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Network { .. } | Error::MalformedResponse { .. }
        ),
        "{error}"
    );
}
