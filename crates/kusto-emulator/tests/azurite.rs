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
    let http = reqwest::Client::new();
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
