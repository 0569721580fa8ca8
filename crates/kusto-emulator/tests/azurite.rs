//! Azurite management: start, accounts, resources, SAS URLs that work and SAS URLs that do not.

use std::time::Duration;

use kusto_emulator::azurite::{Azurite, AzuriteOptions};

fn with_path(url: &url::Url, extra: &str) -> url::Url {
    let mut url = url.clone();
    let path = format!("{}/{extra}", url.path());
    url.set_path(&path);
    url
}

#[tokio::test]
async fn resources_and_sas_urls_work_against_azurite() {
    let azurite = Azurite::start()
        .await
        .expect("Azurite must start (cargo xtask install-azurite)");
    assert_eq!(azurite.accounts().len(), 2);
    let http = kusto_emulator::http_client_builder().build().unwrap();
    for account in ["kustoemu1", "kustoemu2"] {
        azurite
            .create_container(account, "ingest-temp")
            .await
            .unwrap();
        // Creating twice is not an error.
        azurite
            .create_container(account, "ingest-temp")
            .await
            .unwrap();
        azurite
            .create_queue(account, "readyforaggregation-secured")
            .await
            .unwrap();
        azurite
            .create_table(account, "ingestionsstatus")
            .await
            .unwrap();
        azurite
            .create_table(account, "ingestionsstatus")
            .await
            .unwrap();

        // A blob uploaded through the container SAS reads back.
        let container = azurite.container_sas_url(account, "ingest-temp").unwrap();
        assert!(container.query().unwrap().contains("sr=c"));
        let blob = with_path(&container, "dir/a b.csv");
        let put = http
            .put(blob.clone())
            .header("x-ms-blob-type", "BlockBlob")
            .header("x-ms-version", "2021-08-06")
            .body("a,1\nb,2\n")
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 201, "{}", put.text().await.unwrap());
        let got = http.get(blob).send().await.unwrap();
        assert_eq!(got.status().as_u16(), 200);
        assert_eq!(got.text().await.unwrap(), "a,1\nb,2\n");

        // A message posted through the queue SAS can be peeked.
        let queue = azurite
            .queue_sas_url(account, "readyforaggregation-secured")
            .unwrap();
        let messages = with_path(&queue, "messages");
        let post = http
            .post(messages.clone())
            .header("x-ms-version", "2021-08-06")
            .body("<QueueMessage><MessageText>aGVsbG8=</MessageText></QueueMessage>")
            .send()
            .await
            .unwrap();
        assert_eq!(
            post.status().as_u16(),
            201,
            "{}",
            post.text().await.unwrap()
        );
        let mut peek = messages.clone();
        peek.query_pairs_mut().append_pair("peekonly", "true");
        let peeked = http
            .get(peek)
            .header("x-ms-version", "2021-08-06")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(peeked.contains("aGVsbG8="), "{peeked}");

        // An entity inserted through the table SAS reads back.
        let table = azurite.table_sas_url(account, "ingestionsstatus").unwrap();
        assert!(table.query().unwrap().contains("tn=ingestionsstatus"));
        let insert = http
            .post(table.clone())
            .header("x-ms-version", "2019-02-02")
            .header("content-type", "application/json")
            .header("accept", "application/json;odata=nometadata")
            .body(r#"{"PartitionKey":"p","RowKey":"r","Status":"Pending"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(
            insert.status().as_u16(),
            201,
            "{}",
            insert.text().await.unwrap()
        );
    }

    // A SAS for one container does not open another, and a tampered signature is refused.
    let container = azurite
        .container_sas_url("kustoemu1", "ingest-temp")
        .unwrap();
    let mut other = container.clone();
    other.set_path("/kustoemu1/other-container/x.csv");
    let refused = http
        .put(other)
        .header("x-ms-blob-type", "BlockBlob")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let tampered = container.as_str().replace("sp=racwdl", "sp=racwdlx");
    let refused = http
        .put(with_path(&url::Url::parse(&tampered).unwrap(), "y.csv"))
        .header("x-ms-blob-type", "BlockBlob")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    // Keys never show up in Debug output.
    let debug = format!("{azurite:?}");
    for account in azurite.accounts() {
        assert!(!debug.contains(&account.key.to_base64()));
    }
    assert!(
        azurite
            .create_container("nosuchaccount", "c")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn dropping_azurite_stops_it_and_bad_options_are_typed_errors() {
    let azurite = Azurite::start_with(AzuriteOptions {
        accounts: vec!["single1".into()],
        ..AzuriteOptions::default()
    })
    .await
    .unwrap();
    let port = azurite.endpoints().blob.port().unwrap();
    drop(azurite);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Azurite still listens after drop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bad = Azurite::start_with(AzuriteOptions {
        accounts: vec!["Bad_Name".into()],
        ..AzuriteOptions::default()
    })
    .await;
    assert!(bad.is_err());
    let missing = Azurite::start_with(AzuriteOptions {
        script: Some("/nonexistent/azurite.js".into()),
        ..AzuriteOptions::default()
    })
    .await
    .unwrap_err();
    assert!(
        missing.to_string().contains("cargo xtask install-azurite"),
        "{missing}"
    );
}

#[tokio::test]
async fn storage_client_round_trips_blobs_messages_and_entities() {
    use kusto_emulator::azurite::storage::{StorageClient, StorageErrorKind, child_url};
    let azurite = Azurite::start().await.unwrap();
    let storage = StorageClient::new();
    azurite.create_container("kustoemu2", "data").await.unwrap();
    azurite.create_queue("kustoemu2", "queue1").await.unwrap();
    azurite.create_table("kustoemu2", "status").await.unwrap();

    let container = azurite.container_sas_url("kustoemu2", "data").unwrap();
    let blob = child_url(&container, "x.json");
    storage
        .upload_blob(&blob, "{\"a\":1}".into())
        .await
        .unwrap();
    assert_eq!(
        &storage.download_blob(&blob).await.unwrap()[..],
        b"{\"a\":1}"
    );
    storage.delete_blob(&blob).await.unwrap();
    let missing = storage.download_blob(&blob).await.unwrap_err();
    assert_eq!(missing.kind, StorageErrorKind::NotFound);
    assert!(!missing.to_string().contains("sig="), "{missing}");

    let queue = azurite.queue_sas_url("kustoemu2", "queue1").unwrap();
    storage
        .send_message(&queue, "<tricky & text>")
        .await
        .unwrap();
    assert_eq!(
        storage.peek_messages(&queue, 5).await.unwrap()[0].text,
        "<tricky & text>"
    );
    let received = storage
        .receive_messages(&queue, 32, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].dequeue_count, 1);
    storage.delete_message(&queue, &received[0]).await.unwrap();
    assert!(storage.peek_messages(&queue, 5).await.unwrap().is_empty());

    let table = azurite.table_sas_url("kustoemu2", "status").unwrap();
    assert_eq!(storage.get_entity(&table, "p", "r'1").await.unwrap(), None);
    let mut properties = serde_json::Map::new();
    properties.insert("Status".into(), "Pending".into());
    storage
        .merge_entity(&table, "p", "r'1", &properties)
        .await
        .unwrap();
    properties.insert("Status".into(), "Succeeded".into());
    properties.insert("ErrorCode".into(), "".into());
    storage
        .merge_entity(&table, "p", "r'1", &properties)
        .await
        .unwrap();
    let entity = storage
        .get_entity(&table, "p", "r'1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entity["Status"], "Succeeded");
    assert_eq!(entity["RowKey"], "r'1");
}

#[test]
fn azurite_stops_when_a_test_panics() {
    let (ports_tx, ports_rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let azurite = Azurite::start().await.unwrap();
            let e = azurite.endpoints();
            ports_tx
                .send([e.blob.port(), e.queue.port(), e.table.port()])
                .unwrap();
            panic!("a failing test");
        });
    })
    .join();
    assert!(outcome.is_err(), "the thread panicked");
    let ports = ports_rx.recv().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for port in ports.into_iter().flatten() {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "Azurite still listens on {port} after the panic"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Azurite runs in its default strict mode (not `--loose`): a request that relies on a storage
/// feature Azurite does not implement (here a CRC64 content hash) is refused (Azurite answers
/// `500 FeatureNotSupported`) instead of being accepted without the check, so that a client
/// depending on it notices in tests. Ordinary uploads with SAS URLs are accepted.
#[tokio::test]
async fn azurite_runs_in_strict_mode() {
    use kusto_emulator::azurite::storage::child_url;
    let azurite = Azurite::start_with(AzuriteOptions {
        accounts: vec!["strict1".into()],
        ..AzuriteOptions::default()
    })
    .await
    .unwrap();
    azurite.create_container("strict1", "data").await.unwrap();
    let container = azurite.container_sas_url("strict1", "data").unwrap();
    let http = kusto_emulator::http_client_builder().build().unwrap();
    let upload = |name: &str, crc64: bool| {
        let mut request = http
            .put(child_url(&container, name))
            .header("x-ms-blob-type", "BlockBlob")
            .header("x-ms-version", "2021-08-06")
            .body("a,b\n");
        if crc64 {
            request = request.header("x-ms-content-crc64", "AAAAAAAAAAA=");
        }
        request.send()
    };
    let plain = upload("plain.csv", false).await.unwrap();
    assert_eq!(plain.status(), 201);
    let strict = upload("crc64.csv", true).await.unwrap();
    assert_eq!(
        strict.status(),
        500,
        "strict mode refuses x-ms-content-crc64"
    );
    let body = strict.text().await.unwrap();
    assert!(
        body.contains("FeatureNotSupported") && body.contains("x-ms-content-crc64"),
        "{body}"
    );
    azurite.stop().await;
}
