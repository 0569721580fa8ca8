//! The fault-injecting storage proxy: one account fails (5xx, 503 ServerBusy, delays, dropped
//! connections) while the other works, through the library and the control endpoint; the
//! data-management service itself reaches storage directly.

mod dm_common;

use std::time::Duration;

use dm_common::*;
use kusto_emulator::{DataManagementOptions, FaultAction, FaultRule};
use serde_json::json;
use uuid::Uuid;

async fn try_upload(container: &url::Url, name: &str) -> Result<reqwest::Response, reqwest::Error> {
    http()
        .put(child(container, name))
        .header("x-ms-version", STORAGE_VERSION)
        .header("x-ms-blob-type", "BlockBlob")
        .timeout(Duration::from_secs(2))
        .body("1,a\n")
        .send()
        .await
}

/// The HTTP status of an upload that gets an answer.
async fn upload_status(container: &url::Url, name: &str) -> u16 {
    try_upload(container, name)
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

#[tokio::test]
async fn one_account_fails_while_the_other_works() {
    let emu = start().await;
    let resources = resources(&emu).await;
    let containers = &resources["TempStorage"];
    let dm = emu.data_management().unwrap();
    let faults = dm
        .storage_faults("kustoemu1")
        .expect("a proxy for kustoemu1");
    assert!(dm.storage_faults("nosuchaccount").is_none());

    // 500 with a storage error body on every request of account 1.
    let rule = faults
        .add(FaultRule::new(
            "/kustoemu1/*",
            FaultAction::Status {
                status: 500,
                code: "InternalError".into(),
                message: "injected".into(),
                permanent: false,
            },
        ))
        .unwrap();
    let failed = try_upload(&containers[0], "a.csv").await.unwrap();
    assert_eq!(failed.status().as_u16(), 500);
    assert_eq!(failed.headers()["x-ms-error-code"], "InternalError");
    let body = failed.text().await.unwrap();
    assert!(body.contains("<Code>InternalError</Code>"), "{body}");
    // Account 2 is untouched, and so are its queues.
    assert_eq!(upload_status(&containers[1], "b.csv").await, 201);
    post_text(&resources["SecuredReadyForAggregationQueue"][1], "aGVsbG8=").await;
    assert!(faults.remove(rule));

    // Throttling: 503 ServerBusy with Retry-After, twice, then through.
    faults
        .add(
            FaultRule::new(
                "/kustoemu1/*",
                FaultAction::Throttle {
                    retry_after_seconds: 2,
                },
            )
            .times(2),
        )
        .unwrap();
    for _ in 0..2 {
        let busy = try_upload(&containers[0], "c.csv").await.unwrap();
        assert_eq!(busy.status().as_u16(), 503);
        assert_eq!(busy.headers()["x-ms-error-code"], "ServerBusy");
        assert_eq!(busy.headers()["retry-after"], "2");
    }
    assert_eq!(upload_status(&containers[0], "c.csv").await, 201);

    // A dropped connection, then a delay longer than the client waits (a time-out).
    faults
        .add(FaultRule::new("/kustoemu1/*", FaultAction::Drop).times(1))
        .unwrap();
    let dropped = try_upload(&containers[0], "d.csv").await.unwrap_err();
    assert!(!dropped.is_status(), "{dropped}");
    faults
        .add(
            FaultRule::new("/kustoemu1/*", FaultAction::Delay)
                .delay(Duration::from_secs(5))
                .times(1),
        )
        .unwrap();
    let slow = try_upload(&containers[0], "e.csv").await.unwrap_err();
    assert!(slow.is_timeout(), "{slow}");
    // The uses were counted.
    let listed = faults.list();
    assert!(
        listed
            .iter()
            .all(|f| f.remaining == Some(0) || f.remaining.is_none())
    );
    assert_eq!(listed.iter().map(|f| f.applied).sum::<u64>(), 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn control_endpoint_and_direct_storage_for_the_service() {
    let emu = start().await;
    mgmt(&emu, "Emu", ".create table T (Id:long, Name:string)").await;
    let resources = resources(&emu).await;
    let token = identity_token(&emu).await;
    let blob = upload(&resources["TempStorage"][0], "t.csv", b"1,a\n".to_vec()).await;

    // Break account 1 for clients through the control endpoint.
    let added = http()
        .post(format!("{}/_emulator/storage/kustoemu1/faults", emu.url()))
        .json(&json!({"path": "*", "action": "status", "status": 503, "code": "ServerBusy"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 200);
    let listed: serde_json::Value = http()
        .get(format!("{}/_emulator/storage/kustoemu1/faults", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        upload_status(&resources["TempStorage"][0], "x.csv").await,
        503
    );
    let unknown = http()
        .get(format!("{}/_emulator/storage/nosuch/faults", emu.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);

    // The service downloads the account-1 blob directly, so a message posted to account 2
    // still ingests it while clients cannot reach account 1.
    post_message(
        &resources["SecuredReadyForAggregationQueue"][1],
        &message(
            &Uuid::new_v4().to_string(),
            &blob,
            "T",
            &token,
            json!({}),
            true,
        ),
    )
    .await;
    wait_for(20, "the row from account 1", || async {
        (count(&emu, "Emu", "T").await == 1).then_some(())
    })
    .await;

    let cleared = http()
        .delete(format!("{}/_emulator/storage/kustoemu1/faults", emu.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status().as_u16(), 200);
    assert_eq!(
        upload_status(&resources["TempStorage"][0], "x.csv").await,
        201
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn without_the_proxy_urls_point_at_azurite() {
    let emu = start_with(DataManagementOptions {
        storage_fault_proxy: false,
        ..DataManagementOptions::default()
    })
    .await;
    let dm = emu.data_management().unwrap();
    let blob_port = dm.azurite().endpoints().blob.port();
    let resources = resources(&emu).await;
    assert_eq!(resources["TempStorage"][0].port(), blob_port);
    assert!(dm.storage_faults("kustoemu1").is_none());
    assert_eq!(
        upload_status(&resources["TempStorage"][1], "x.csv").await,
        201
    );
    emu.shutdown().await;
}
