//! `KustoClient` against a loopback HTTP server that records every request and answers from a
//! script: headers, bodies, routing, retries, errors, timeouts, redirects, streaming ingestion.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use kusto_data::response::ParserOptions;
use kusto_data::{
    ClientRequestProperties, ConnectionString, DataFormat, Error, KustoClient, RetryPolicy,
    client::StreamingIngestOptions, kql::QueryParameters,
};
use serde_json::Value;

#[derive(Debug, Clone)]
struct Recorded {
    /// The request target as sent: absolute-form (`http://host/path`) when sent to a proxy.
    uri: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone)]
enum Answer {
    Ok(&'static str, String),
    Status(u16, Vec<(&'static str, String)>, String),
    /// A JSON body sent with this `Content-Encoding`.
    Encoded(&'static str, Vec<u8>),
    Hang,
}

#[derive(Clone, Default)]
struct Server {
    requests: Arc<Mutex<Vec<Recorded>>>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
}

impl Server {
    fn answer(&self, answer: Answer) -> &Self {
        self.answers.lock().unwrap().push_back(answer);
        self
    }
    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn handle(State(server): State<Server>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    server.requests.lock().unwrap().push(Recorded {
        uri: parts.uri.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    });
    let answer = server.answers.lock().unwrap().pop_front();
    match answer {
        Some(Answer::Ok(content_type, body)) => {
            ([("content-type", content_type)], body).into_response()
        }
        Some(Answer::Status(status, headers, body)) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Some(Answer::Encoded(encoding, body)) => (
            [
                ("content-type", "application/json"),
                ("content-encoding", encoding),
            ],
            body,
        )
            .into_response(),
        Some(Answer::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "no scripted answer").into_response(),
    }
}

async fn start() -> (Server, String) {
    let server = Server::default();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (server, url)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn client(url: &str) -> KustoClient {
    KustoClient::builder(ConnectionString::parse(&format!("{url}/Db1")).unwrap())
        .retry_policy(fast_retry())
        .application_name("client-tests")
        .user_name("tester")
        .build()
        .unwrap()
}

const V1_VERSION: &str = "azure-kusto-python/versionshowcommandresult.json";
const V2_DEFT: &str = "azure-kusto-python/deft.json";

fn one_api(code: &str, permanent: bool) -> String {
    format!(
        r#"{{"error":{{"code":"{code}","message":"Request is invalid.","@type":"Kusto.Data.Exceptions.KustoBadRequestException","@message":"Semantic error: SEM0100: 'T' not found","@permanent":{permanent},"@context":{{"activityId":"act-1"}}}}}}"#
    )
}

#[tokio::test]
async fn a_query_carries_the_protocol_headers_and_body() {
    let (server, url) = start().await;
    server.answer(Answer::Ok("application/json", fixture(V2_DEFT)));
    let client = client(&url);
    assert_eq!(client.default_database(), Some("Db1"));
    let mut properties = ClientRequestProperties::new();
    properties.set_option("servertimeout", "00:01:00");
    let data = client
        .query("", "Deft | take 10")
        .properties(&properties)
        .await
        .unwrap();
    assert!(data.primary_result().unwrap().len() > 1);

    let request = &server.requests()[0];
    assert_eq!(request.path, "/v2/rest/query");
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("accept"), "application/json");
    assert_eq!(header("content-type"), "application/json; charset=utf-8");
    assert_eq!(header("x-ms-version"), "2024-12-12");
    assert_eq!(header("x-ms-app"), "client-tests");
    assert_eq!(header("x-ms-user"), "tester");
    assert!(header("x-ms-client-version").starts_with("Kusto.Rust.Client:{"));
    let id = header("x-ms-client-request-id");
    let uuid = id.strip_prefix("KRC.execute;").unwrap();
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{id}");
    assert!(header("accept-encoding").contains("gzip"));
    assert!(request.headers.get("authorization").is_none());
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["db"], "Db1", "an empty database means the default one");
    assert_eq!(body["csl"], "Deft | take 10");
    assert_eq!(body["properties"]["Options"]["servertimeout"], "00:01:00");
}

#[tokio::test]
async fn parameters_request_ids_and_overrides_reach_the_service() {
    let (server, url) = start().await;
    server.answer(Answer::Ok("application/json", fixture(V2_DEFT)));
    let client = client(&url);
    let parameters = QueryParameters::new()
        .with("name", "x\"; .drop table T")
        .unwrap();
    let mut properties = ClientRequestProperties::new();
    properties
        .set_client_request_id("MyApp.run;1")
        .set_application("override-app")
        .set_user("Jürgen");
    client
        .query("Other", "T | where c == name")
        .properties(&properties)
        .parameters(&parameters)
        .await
        .unwrap();
    let request = &server.requests()[0];
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["db"], "Other");
    assert_eq!(
        body["csl"],
        "declare query_parameters(name:string);\nT | where c == name"
    );
    assert_eq!(
        body["properties"]["Parameters"]["name"],
        r#""x\"; .drop table T""#
    );
    assert_eq!(request.headers["x-ms-client-request-id"], "MyApp.run;1");
    assert_eq!(request.headers["x-ms-app"], "override-app");
    assert_eq!(request.headers["x-ms-user"], "J?rgen");
}

#[tokio::test]
async fn management_commands_and_routing() {
    let (server, url) = start().await;
    let client = client(&url);
    server.answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    let data = client.execute("Db1", "  .show version").await.unwrap();
    assert_eq!(
        data.primary_result()
            .unwrap()
            .row(0)
            .unwrap()
            .get_string("ServiceType")
            .unwrap(),
        Some("Engine")
    );
    server.answer(Answer::Ok("application/json", fixture(V2_DEFT)));
    client.execute("Db1", "Deft").await.unwrap();
    server.answer(Answer::Ok(
        "application/json",
        fixture("azure-kusto-python/adminthenquery.json"),
    ));
    let v1 = client.query("Db1", "T").v1().await.unwrap();
    assert!(!v1.tables().is_empty());
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/rest/mgmt", "/v2/rest/query", "/v1/rest/query"]);
}

#[tokio::test]
async fn throttled_queries_and_readonly_commands_are_retried_others_are_not() {
    let (server, url) = start().await;
    let client = client(&url);
    let throttled = || {
        Answer::Status(
            429,
            vec![("retry-after", "0".to_owned())],
            one_api("TooManyRequests", false),
        )
    };
    server
        .answer(throttled())
        .answer(Answer::Ok("application/json", fixture(V2_DEFT)));
    client.query("Db1", "Deft").await.unwrap();
    assert_eq!(server.requests().len(), 2);

    server
        .answer(throttled())
        .answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    client.mgmt("Db1", ".show version").await.unwrap();
    assert_eq!(server.requests().len(), 4);

    server.answer(throttled());
    let error = client
        .mgmt("Db1", ".append T <| print 1")
        .await
        .unwrap_err();
    assert_eq!(
        server.requests().len(),
        5,
        "a state-changing command is sent once"
    );
    let service = error.as_service_error().unwrap();
    assert!(service.is_throttled());
    assert_eq!(service.retry_after, Some(Duration::ZERO));
    assert!(error.is_transient());

    // Opting in per request.
    server
        .answer(throttled())
        .answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    let mut properties = ClientRequestProperties::new();
    properties.set_retry_policy(fast_retry());
    client
        .mgmt("Db1", ".append T <| print 1")
        .properties(&properties)
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 7);

    // Attempts are bounded.
    for _ in 0..4 {
        server.answer(throttled());
    }
    client.query("Db1", "Deft").await.unwrap_err();
    assert_eq!(server.requests().len(), 11);

    // `.get ...` commands only read, and so does any command sent with `request_readonly`.
    server
        .answer(throttled())
        .answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    client
        .mgmt("Db1", ".get ingestion resources")
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 13);
    server
        .answer(throttled())
        .answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    let mut readonly = ClientRequestProperties::new();
    readonly.set_option("request_readonly", true);
    client
        .mgmt("Db1", ".execute database script <| .show tables")
        .properties(&readonly)
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 15);
    let body: Value = serde_json::from_slice(&server.requests()[14].body).unwrap();
    assert_eq!(body["properties"]["Options"]["request_readonly"], true);
}

#[tokio::test]
async fn service_errors_are_typed_and_permanent_ones_not_retried() {
    let (server, url) = start().await;
    let client = client(&url);
    server.answer(Answer::Status(
        400,
        vec![("x-ms-activity-id", "act-9".to_owned())],
        one_api("General_BadRequest", true),
    ));
    let error = client.query("Db1", "T").await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    let service = error.as_service_error().unwrap();
    assert_eq!(service.status, 400);
    assert_eq!(service.code(), Some("General_BadRequest"));
    assert_eq!(service.activity_id.as_deref(), Some("act-9"));
    assert!(
        service
            .client_request_id
            .as_deref()
            .unwrap()
            .starts_with("KRC.execute;")
    );
    assert!(error.is_permanent());
    assert!(error.to_string().contains("SEM0100"), "{error}");

    // A plain-text body is kept as text; a 5xx is transient and retried.
    for _ in 0..4 {
        server.answer(Answer::Status(
            503,
            vec![],
            "Service Unavailable".to_owned(),
        ));
    }
    let error = client.query("Db1", "T").await.unwrap_err();
    assert_eq!(server.requests().len(), 5);
    let service = error.as_service_error().unwrap();
    assert_eq!(service.body.as_deref(), Some("Service Unavailable"));
    assert!(error.is_transient());

    // A partial failure is returned with its rows and is not retried.
    server.answer(Answer::Ok(
        "application/json",
        fixture("azure-kusto-python/query_partial_results_defer_is_false.json"),
    ));
    let error = client.query("Db1", "T").await.unwrap_err();
    assert_eq!(server.requests().len(), 6);
    let Error::PartialFailure(failure) = error else {
        panic!("expected a partial failure, got {error}");
    };
    assert_eq!(failure.data().unwrap().primary_result().unwrap().len(), 5);
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let (server, url) = start().await;
    let client = client(&url);
    server.answer(Answer::Status(
        307,
        vec![("location", format!("{url}/elsewhere"))],
        String::new(),
    ));
    let error = client.mgmt("Db1", ".drop table T").await.unwrap_err();
    assert_eq!(error.as_service_error().unwrap().status, 307);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_hanging_server_is_a_timeout() {
    let (server, url) = start().await;
    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .retry_policy(RetryPolicy::none())
        .timeout_margin(Duration::from_millis(200))
        .build()
        .unwrap();
    server.answer(Answer::Hang);
    let mut properties = ClientRequestProperties::new();
    properties.set_server_timeout(Duration::from_millis(300));
    let error = client
        .query("Db1", "T")
        .properties(&properties)
        .await
        .unwrap_err();
    match error {
        Error::Timeout { timeout, .. } => assert_eq!(timeout, Duration::from_millis(500)),
        other => panic!("expected a timeout, got {other}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_transient_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.query("Db1", "T").await.unwrap_err();
    assert!(matches!(error, Error::Network { .. }), "{error}");
    assert!(error.is_transient());
    assert!(error.is_connect());
    assert!(!error.is_timeout());
    assert!(
        !error.may_have_reached_service(),
        "nothing was sent: safe to resend"
    );
}

#[tokio::test]
async fn errors_tell_whether_the_request_can_have_reached_the_service() {
    let (server, url) = start().await;
    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .retry_policy(RetryPolicy::none())
        .timeout_margin(Duration::from_millis(200))
        .build()
        .unwrap();
    // A hanging answer: the request was sent, it may have been acted on.
    server.answer(Answer::Hang);
    let mut properties = ClientRequestProperties::new();
    properties.set_server_timeout(Duration::from_millis(100));
    let error = client
        .mgmt("Db1", ".append T <| print 1")
        .properties(&properties)
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(error.may_have_reached_service());
    assert_eq!(error.status(), None);
    // An answer with an error status reached the service, and says which.
    server.answer(Answer::Status(409, vec![], one_api("Conflict", true)));
    let error = client
        .mgmt("Db1", ".append T <| print 1")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(409));
    assert!(error.may_have_reached_service());
    assert!(!error.is_connect());
    // A bad argument never left the client.
    let error = Error::InvalidArgument("x".into());
    assert!(!error.may_have_reached_service());
}

#[tokio::test]
async fn rest_requests_share_authentication_headers_retries_and_errors() {
    use kusto_data::client::RestRequest;
    let (server, url) = start().await;
    let client = client(&url);
    // A GET is idempotent: a 503 is retried, then the JSON answer is read.
    server
        .answer(Answer::Status(
            503,
            vec![],
            one_api("ServiceUnavailable", false),
        ))
        .answer(Answer::Ok(
            "application/json",
            r#"{"containerSettings":{"containers":[]}}"#.to_owned(),
        ));
    let response = client
        .execute_rest(
            RestRequest::get(["v1", "rest", "ingestion", "configuration"])
                .request_id_prefix("KIC.test;"),
        )
        .await
        .unwrap();
    let json: Value = response.json().unwrap();
    assert!(json["containerSettings"]["containers"].is_array());
    assert!(response.client_request_id.starts_with("KIC.test;"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let last = &requests[1];
    assert_eq!(last.path, "/v1/rest/ingestion/configuration");
    for header in [
        "x-ms-client-request-id",
        "x-ms-version",
        "x-ms-app",
        "x-ms-user",
        "x-ms-client-version",
    ] {
        assert!(last.headers.contains_key(header), "{header}");
    }
    // A POST is sent once; its path segments are escaped; a 404 is typed by its status.
    server.answer(Answer::Status(404, vec![], one_api("NotFound", true)));
    let body = serde_json::json!({"blobs": []});
    let error = client
        .execute_rest(RestRequest::post(
            ["v1", "rest", "ingestion", "queued", "My Db", "T/1"],
            &body,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].path, "/v1/rest/ingestion/queued/My%20Db/T%2F1");
    assert_eq!(
        serde_json::from_slice::<Value>(&requests[2].body).unwrap(),
        body
    );
    assert_eq!(
        requests[2].headers["content-type"],
        "application/json; charset=utf-8"
    );
    // A success body that is not JSON is a typed error quoting its start.
    server.answer(Answer::Ok("text/html", "<html>gateway</html>".to_owned()));
    let response = client
        .execute_rest(RestRequest::get(["v1", "x"]).query("details", "true"))
        .await
        .unwrap();
    assert_eq!(server.requests()[3].query.as_deref(), Some("details=true"));
    match response.json::<Value>() {
        Err(Error::MalformedResponse { message, .. }) => {
            assert!(message.contains("<html>"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_streamed_query_yields_bounded_batches() {
    let (server, url) = start().await;
    server.answer(Answer::Ok("application/json", fixture(V2_DEFT)));
    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .parser_options(ParserOptions::new().with_batch_rows(2))
        .build()
        .unwrap();
    let mut batches = client
        .query("Db1", "Deft")
        .stream()
        .await
        .unwrap()
        .primary_batches();
    let expected = kusto_data::response::parse_v2(fixture(V2_DEFT).as_bytes())
        .unwrap()
        .primary_result()
        .unwrap()
        .len();
    let mut rows = 0;
    while let Some(batch) = batches.next().await {
        let batch = batch.unwrap();
        assert!(batch.len() <= 2);
        rows += batch.len();
    }
    assert_eq!(rows, expected);
}

#[cfg(feature = "arrow")]
#[tokio::test]
async fn a_query_gives_arrow_batches_from_the_columnar_path_in_one_call() {
    use kusto_data::response::ArrowOptions;
    let (server, url) = start().await;
    server.answer(Answer::Ok("application/json", fixture(V2_DEFT)));
    let client = KustoClient::builder(ConnectionString::parse(&url).unwrap())
        .parser_options(ParserOptions::new().with_batch_rows(4))
        .build()
        .unwrap();
    let mut batches = client
        .query("Db1", "Deft")
        .arrow(ArrowOptions::new())
        .await
        .unwrap();
    let table = kusto_data::response::parse_v2(fixture(V2_DEFT).as_bytes())
        .unwrap()
        .into_primary_results()
        .remove(0);
    let mut got = Vec::new();
    while let Some(batch) = batches.next().await {
        let batch = batch.unwrap();
        assert!(batch.batch.num_rows() <= 4);
        assert_eq!(&*batch.table_name, table.name());
        got.push(batch.batch);
    }
    let schema = got[0].schema();
    let all = kusto_data::arrow::compute::concat_batches(&schema, &got).unwrap();
    assert_eq!(all, table.to_record_batch().unwrap());
}

#[tokio::test]
async fn a_user_token_is_sent_to_a_loopback_cluster() {
    let (server, url) = start().await;
    // The cloud info of the cluster is asked for first; 404 means public-cloud defaults.
    server
        .answer(Answer::Status(404, vec![], String::new()))
        .answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    let cs = ConnectionString::builder(&url)
        .with_user_token("canary-token-123")
        .build()
        .unwrap();
    let client = KustoClient::new(cs).unwrap();
    assert!(!format!("{client:?}").contains("canary"));
    client.mgmt("Db1", ".show version").await.unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].path, "/v1/rest/auth/metadata");
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(
        requests[1].headers["authorization"],
        "Bearer canary-token-123"
    );
}

#[tokio::test]
async fn streaming_ingestion_request_shape() {
    let (server, url) = start().await;
    let client = client(&url);
    server.answer(Answer::Ok("application/json", String::new()));
    let options = StreamingIngestOptions::new()
        .with_mapping_name("map 1")
        .with_compressed(true);
    let answer = client
        .execute_streaming_ingest(
            "My Db",
            "T/1",
            Bytes::from_static(b"\x1f\x8b..."),
            DataFormat::Csv,
            &options,
        )
        .await
        .unwrap();
    assert!(answer.is_none());
    let request = &server.requests()[0];
    assert_eq!(request.path, "/v1/rest/ingest/My%20Db/T%2F1");
    assert_eq!(
        request.query.as_deref(),
        Some("streamFormat=csv&mappingName=map+1")
    );
    assert_eq!(request.headers["content-encoding"], "gzip");
    assert!(
        request.headers["x-ms-client-request-id"]
            .to_str()
            .unwrap()
            .starts_with("KRC.executeStreamingIngest;")
    );
    assert_eq!(&request.body[..], b"\x1f\x8b...");

    server.answer(Answer::Ok(
        "application/json",
        r#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"ConsumedRecordsCount","DataType":"Int64","ColumnType":"long"}],"Rows":[[3]]}]}"#.to_owned(),
    ));
    let answer = client
        .execute_streaming_ingest_from_blob(
            "Db1",
            "T",
            "https://acct.blob.core.windows.net/c/b.csv?sig=x",
            DataFormat::Json,
            &StreamingIngestOptions::default(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        answer
            .primary_result()
            .unwrap()
            .row(0)
            .unwrap()
            .get_i64(0)
            .unwrap(),
        Some(3)
    );
    let request = &server.requests()[1];
    assert_eq!(
        request.query.as_deref(),
        Some("streamFormat=json&sourceKind=uri")
    );
    assert!(request.headers.get("content-encoding").is_none());
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body["sourceUri"],
        "https://acct.blob.core.windows.net/c/b.csv?sig=x"
    );

    let too_big = Bytes::from(vec![b'a'; kusto_data::client::MAX_STREAMING_BODY + 1]);
    let error = client
        .execute_streaming_ingest(
            "Db1",
            "T",
            too_big,
            DataFormat::Csv,
            &StreamingIngestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)));
    assert_eq!(
        server.requests().len(),
        2,
        "an oversized body is never sent"
    );
}

/// `data` as stored (uncompressed) deflate blocks: the framing of a compressed stream, written
/// without a compressor.
fn stored_blocks(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunks = data.chunks(65_535).peekable();
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none())); // BFINAL on the last block, BTYPE 00
        let len = chunk.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(chunk);
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A gzip member (RFC 1952) holding `data`.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(stored_blocks(data));
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

/// A zlib stream (RFC 1950), which is what HTTP `Content-Encoding: deflate` carries.
fn zlib(data: &[u8]) -> Vec<u8> {
    let (mut a, mut b) = (1_u32, 0_u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    let mut out = vec![0x78, 0x01];
    out.extend(stored_blocks(data));
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

#[tokio::test]
async fn gzip_and_deflate_answers_are_decoded() {
    let (server, url) = start().await;
    let client = client(&url);
    let deft = fixture(V2_DEFT);
    let expected = format!(
        "{:?}",
        kusto_data::response::parse_v2(deft.as_bytes())
            .unwrap()
            .tables()
    );
    for (encoding, body) in [
        ("gzip", gzip(deft.as_bytes())),
        ("deflate", zlib(deft.as_bytes())),
    ] {
        assert_ne!(body, deft.as_bytes());
        server.answer(Answer::Encoded(encoding, body));
        let data = client.query("Db1", "Deft").await.unwrap();
        assert_eq!(format!("{:?}", data.tables()), expected, "{encoding}");
    }
    server.answer(Answer::Encoded(
        "gzip",
        gzip(fixture(V1_VERSION).as_bytes()),
    ));
    let data = client.mgmt("Db1", ".show version").await.unwrap();
    assert_eq!(
        data.primary_result()
            .unwrap()
            .row(0)
            .unwrap()
            .get_string("BuildVersion")
            .unwrap(),
        Some("1.0.6693.14577")
    );
    for request in server.requests() {
        let accepted = request.headers["accept-encoding"].to_str().unwrap();
        assert!(
            accepted.contains("gzip") && accepted.contains("deflate"),
            "{accepted}"
        );
    }
    // A body that claims gzip but is not is a typed error, not a panic or garbage rows.
    server.answer(Answer::Encoded("gzip", b"[not gzip at all]".to_vec()));
    let error = client
        .query("Db1", "Deft")
        .properties(&no_retry())
        .await
        .unwrap_err();
    match &error {
        Error::Network { message, .. } => {
            assert!(message.contains("decompressed"), "{message}")
        }
        other => panic!("expected a network error, got {other:?}"),
    }
}

fn no_retry() -> ClientRequestProperties {
    let mut properties = ClientRequestProperties::new();
    properties.set_retry_policy(RetryPolicy::none());
    properties
}

/// A loopback address nothing listens on.
fn dead_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy() {
    let (proxy, proxy_url) = start().await;
    proxy.answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    // The cluster's address has no listener: only the proxy can answer.
    let cluster = format!("http://{}", dead_address());
    let client = KustoClient::builder(ConnectionString::parse(&format!("{cluster}/Db1")).unwrap())
        .proxy(reqwest::Proxy::http(&proxy_url).unwrap())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let data = client.mgmt("Db1", ".show version").await.unwrap();
    assert_eq!(data.tables().len(), 1);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    // A request to a proxy names the whole target URL (absolute form).
    assert_eq!(requests[0].uri, format!("{cluster}/v1/rest/mgmt"));
    assert_eq!(
        requests[0].headers["host"],
        cluster.trim_start_matches("http://")
    );
}

#[tokio::test]
async fn a_user_supplied_http_client_is_used() {
    let (server, url) = start().await;
    server.answer(Answer::Ok("application/json", fixture(V1_VERSION)));
    let mut defaults = reqwest::header::HeaderMap::new();
    defaults.insert(
        "x-from-my-client",
        reqwest::header::HeaderValue::from_static("yes"),
    );
    let http = kusto_data::client::http_client_builder()
        .unwrap()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(defaults)
        .user_agent("my-agent/1.0")
        .build()
        .unwrap();
    // The builder's own proxy belongs to the client it would build; with a client given it is
    // ignored (this one points nowhere, so using it would fail the request).
    let client = KustoClient::builder(ConnectionString::parse(&format!("{url}/Db1")).unwrap())
        .http_client(http)
        .proxy(reqwest::Proxy::all(format!("http://{}", dead_address())).unwrap())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    client.mgmt("Db1", ".show version").await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.uri, "/v1/rest/mgmt",
        "sent directly, not to a proxy"
    );
    assert_eq!(request.headers["x-from-my-client"], "yes");
    assert_eq!(request.headers["user-agent"], "my-agent/1.0");
    // The protocol headers are still the SDK's.
    assert!(
        request.headers["x-ms-client-request-id"]
            .to_str()
            .unwrap()
            .starts_with("KRC.execute;")
    );
    assert_eq!(request.headers["x-ms-version"], "2024-12-12");
}

#[test]
fn the_client_and_its_futures_can_move_across_threads() {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send>(_: &T) {}
    send_sync_clone::<KustoClient>();
    send_sync_clone::<ConnectionString>();
    let client = KustoClient::new(ConnectionString::parse("http://127.0.0.1:1").unwrap()).unwrap();
    let properties = ClientRequestProperties::new();
    send(&client.query("Db", "T").properties(&properties));
    send(&client.query("Db", "T").stream());
    send(&client.mgmt("Db", ".show tables"));
    send(&client.execute_streaming_ingest(
        "Db",
        "T",
        Bytes::new(),
        DataFormat::Csv,
        &StreamingIngestOptions::default(),
    ));
}
