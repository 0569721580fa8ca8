//! Settings and answers that once overflowed, or could overflow, `Instant`/`Duration` arithmetic
//! (issue 28): a huge `Retry-After`, a huge timeout margin or server timeout, huge retry
//! settings. Each gives a result or a typed error, never a panic. The server is a loopback HTTP
//! responder on a thread of its own that answers every request from a script.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kusto_data::{ClientRequestProperties, ConnectionString, Error, KustoClient, RetryPolicy};

/// Serves every request with `(status line, extra headers, body)` and returns the URL and the
/// number of requests so far.
fn serve(
    status: &'static str,
    headers: &'static str,
    body: &'static str,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { return };
            let mut reader = BufReader::new(socket);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut request_body = vec![0; length];
            if reader.read_exact(&mut request_body).is_err() {
                continue;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    (url, count)
}

const V2_ONE_ROW: &str = concat!(
    r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},"#,
    r#"{"FrameType":"DataTable","TableId":0,"TableKind":"PrimaryResult","TableName":"PrimaryResult","#,
    r#""Columns":[{"ColumnName":"x","ColumnType":"long"}],"Rows":[[1]]},"#,
    r#"{"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#
);

/// `Retry-After: 99999999999` (about 3,000 years): read as a day at most, and with the policy's
/// 60 s deadline no retry is even started; the error carries the capped value.
#[tokio::test]
async fn a_huge_retry_after_is_capped_and_ends_the_retries() {
    let (url, requests) = serve(
        "429 Too Many Requests",
        "retry-after: 99999999999\r\n",
        r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
    );
    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(5)
                .with_deadline(Some(Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let error = client.query("Db", "T").await.unwrap_err();
    let service = error
        .as_service_error()
        .unwrap_or_else(|| panic!("a service error, got {error}"));
    assert_eq!(service.status, 429);
    assert_eq!(service.retry_after, Some(Duration::from_secs(86_400)));
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    assert!(error.is_transient());
    assert!(!matches!(error, Error::Timeout { .. }));
}

/// The request's timeout is the server timeout plus the client's margin: a margin of
/// `Duration::MAX` (a caller's setting) overflowed `Duration + Duration` and panicked; now the
/// sum saturates and the query runs.
#[tokio::test]
async fn a_huge_timeout_margin_and_server_timeout_do_not_overflow() {
    let (url, requests) = serve("200 OK", "", V2_ONE_ROW);
    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .retry_policy(RetryPolicy::none())
        .timeout_margin(Duration::MAX)
        .build()
        .unwrap();
    let data = client.query("Db", "T").await.unwrap();
    assert_eq!(data.primary_result().unwrap().len(), 1);
    // The largest server timeout a caller can ask for (capped by the properties at the
    // service's maximum), plus the margin.
    let mut properties = ClientRequestProperties::new();
    properties.set_server_timeout(Duration::MAX);
    let data = client
        .query("Db", "T")
        .properties(&properties)
        .await
        .unwrap();
    assert_eq!(data.primary_result().unwrap().len(), 1);
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

/// Retry settings at their extremes (an initial back-off of `Duration::MAX`, a multiplier of
/// `f64::MAX`, `u32::MAX` attempts, a deadline of `Duration::MAX`, a `Retry-After` of
/// `Duration::MAX`): every delay is computed and slept without a panic, on tokio's paused clock.
#[tokio::test(start_paused = true)]
async fn huge_retry_settings_do_not_overflow() {
    for policy in [
        RetryPolicy::default()
            .with_initial_backoff(Duration::MAX)
            .with_max_backoff(Duration::from_secs(3)),
        RetryPolicy::default()
            .with_initial_backoff(Duration::from_secs(1))
            .with_multiplier(f64::MAX)
            .with_max_backoff(Duration::from_secs(3)),
    ] {
        // No overall deadline: a back-off of `Duration::MAX` asked with every error is
        // waited for (tokio sleeps it as 30 years on the paused clock), not an overflow.
        let policy = policy.with_max_attempts(u32::MAX).with_deadline(None);
        let start = tokio::time::Instant::now();
        let result: Result<u32, String> = policy
            .run_with(
                |n| async move {
                    if n < 4 {
                        Err(format!("attempt {n} fails"))
                    } else {
                        Ok(n)
                    }
                },
                |_| true,
                |_| Some(Duration::MAX),
            )
            .await;
        assert_eq!(result, Ok(4));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(3 * 86_400), "{waited:?}");
    }
    // No Retry-After: the waits are the capped back-offs, at most 3 s each.
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::MAX)
        .with_max_backoff(Duration::from_secs(3))
        .with_max_attempts(4)
        .with_deadline(Some(Duration::MAX));
    let start = tokio::time::Instant::now();
    let result: Result<(), String> = policy
        .run_with(|_| async { Err("no".to_owned()) }, |_| true, |_| None)
        .await;
    assert!(result.is_err());
    let waited = start.elapsed();
    assert!(waited <= Duration::from_secs(9), "{waited:?}");
    assert!(waited >= Duration::from_millis(4_500), "{waited:?}");
}
