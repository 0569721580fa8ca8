//! Queued ingestion over Azurite with the storage-queue protocol, driven with plain HTTP calls:
//! `.get ingestion resources`, blobs uploaded through the handed-out SAS URLs, base64 JSON
//! messages posted to the ready queues, and then the exact rows via queries, the status-table
//! entity and the notification-queue messages.

mod dm_common;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field};
use dm_common::*;
use kusto_emulator::DataManagementOptions;
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

const SCHEMA: &str = ".create table Events (Id:long, Name:string, At:datetime, Score:real)";

fn parquet_events() -> Vec<u8> {
    parquet_file(vec![
        (
            Field::new("id", DataType::Int64, false),
            Arc::new(Int64Array::from(vec![20, 21])) as ArrayRef,
        ),
        (
            Field::new("name", DataType::Utf8, true),
            Arc::new(StringArray::from(vec![Some("pq-a"), None])),
        ),
        (
            Field::new("score", DataType::Float64, true),
            Arc::new(Float64Array::from(vec![Some(2.5), Some(-1.0)])),
        ),
    ])
}

fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
        zip.finish().unwrap();
    }
    out.into_inner()
}

#[tokio::test]
async fn resources_identity_token_and_sas_only() {
    let emu = start().await;
    let resources = resources(&emu).await;
    for (kind, expected) in [
        ("SecuredReadyForAggregationQueue", 2),
        ("TempStorage", 2),
        ("FailedIngestionsQueue", 1),
        ("SuccessfulIngestionsQueue", 1),
        ("IngestionsStatusTable", 1),
    ] {
        let urls = &resources[kind];
        assert_eq!(urls.len(), expected, "{kind}: {urls:?}");
        for url in urls {
            let query = url.query().unwrap_or_default();
            assert!(query.contains("sig="), "{kind} has no SAS: {url}");
            assert!(query.contains("sr=") || query.contains("tn=") || kind.contains("Queue"));
        }
    }
    // The two ready queues and containers are in the two accounts.
    let accounts = |kind: &str| -> Vec<String> {
        resources[kind]
            .iter()
            .map(|u| u.path_segments().unwrap().next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(accounts("TempStorage"), ["kustoemu1", "kustoemu2"]);
    assert_eq!(
        accounts("SecuredReadyForAggregationQueue"),
        ["kustoemu1", "kustoemu2"]
    );
    // No account key appears anywhere in the answer.
    let (_, raw) = mgmt_raw(&emu, "NetDefaultDB", ".get ingestion resources").await;
    let dm = emu.data_management().unwrap();
    for account in dm.azurite().accounts() {
        assert!(!raw.to_string().contains(&account.key.to_base64()));
    }
    // The Java and Node spellings.
    assert_eq!(
        mgmt(&emu, "NetDefaultDB", ".show ingestion resources")
            .await
            .len(),
        7
    );
    assert_eq!(
        mgmt(
            &emu,
            "NetDefaultDB",
            ".get ingestion resources with (EnableBlobCors='true', EnableQueueCors='true', EnableTableCors='true')"
        )
        .await
        .len(),
        7
    );
    let (status, body) = mgmt_raw(&emu, "NetDefaultDB", ".get kusto identity token").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["Tables"][0]["Columns"][0]["ColumnName"],
        "AuthorizationContext"
    );
    assert_eq!(
        body["Tables"][0]["Rows"][0][0].as_str().unwrap(),
        dm.authorization_context()
    );
    // A container SAS does not open the other account.
    let container = &resources["TempStorage"][0];
    let mut other = container.clone();
    other.set_path("/kustoemu2/elsewhere/x.csv");
    let refused = http()
        .put(other)
        .header("x-ms-version", STORAGE_VERSION)
        .header("x-ms-blob-type", "BlockBlob")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    // Debug output never carries a SAS.
    let debug = format!("{dm:?}");
    assert!(!debug.contains("sig="), "{debug}");
    emu.shutdown().await;
}

/// Regression: with databases not created on first use (`--no-auto-create`), every SDK's
/// `.get ingestion resources` to `NetDefaultDB` failed with `BadRequest_DatabaseNotExist`. The
/// data-management commands answer whatever databases exist, and create none.
#[tokio::test]
async fn data_management_commands_need_no_database_without_auto_create() {
    let azurite = kusto_emulator::azurite::Azurite::start()
        .await
        .expect("Azurite must start (cargo xtask install-azurite installs it)");
    let emu = kusto_emulator::Emulator::builder()
        .database("Emu")
        .auto_create_databases(false)
        .azurite(azurite)
        .data_management(DataManagementOptions::default())
        .start()
        .await
        .expect("the emulator starts with Azurite");
    for csl in [".get ingestion resources", ".get kusto identity token"] {
        let (status, body) = mgmt_raw(&emu, "NetDefaultDB", csl).await;
        assert_eq!(status, 200, "{csl}: {body}");
    }
    assert_eq!(resources(&emu).await["TempStorage"].len(), 2);
    // Engine commands still need the database, and none was created.
    let (status, body) = mgmt_raw(&emu, "NetDefaultDB", ".show tables").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BadRequest_DatabaseNotExist");
    let databases = mgmt(&emu, "Emu", ".show databases").await;
    assert!(
        databases.iter().all(|r| r[0] != "NetDefaultDB"),
        "{databases:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn without_azurite_the_commands_say_what_is_missing() {
    let emu = kusto_emulator::Emulator::builder().start().await.unwrap();
    let (status, body) = mgmt_raw(&emu, "NetDefaultDB", ".get ingestion resources").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["@message"]
            .as_str()
            .unwrap()
            .contains("Azurite"),
        "{body}"
    );
    let answer = http()
        .get(format!("{}/v1/rest/ingestion/configuration", emu.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
}

#[tokio::test]
async fn csv_json_and_parquet_blobs_arrive_with_status_and_notifications() {
    let emu = start().await;
    mgmt(&emu, "Emu", SCHEMA).await;
    mgmt(
        &emu,
        "Emu",
        r#".create table Events ingestion csv mapping "EventsCsv" '[{"column":"Id","Properties":{"Ordinal":"1"}},{"column":"Name","Properties":{"Ordinal":"0"}},{"column":"At","Properties":{"Ordinal":"2"}},{"column":"Score","Properties":{"Ordinal":"3"}}]'"#,
    )
    .await;
    let resources = resources(&emu).await;
    let token = identity_token(&emu).await;
    let containers = &resources["TempStorage"];
    let queues = &resources["SecuredReadyForAggregationQueue"];
    let status_table = &resources["IngestionsStatusTable"][0];

    // CSV, gzip-compressed, columns reordered by a mapping reference, with a header line.
    let csv =
        "name,id,at,score\nalpha,1,2024-05-01T10:20:30.1234567Z,0.5\n\"b,eta\",2,2024-05-02,\n";
    let csv_blob = upload(
        &containers[0],
        "Emu__Events__csv.csv.gz",
        gzip(csv.as_bytes()),
    )
    .await;
    let csv_id = Uuid::new_v4().to_string();
    insert_pending(status_table, &csv_id, &csv_id).await;
    let mut csv_message = message(
        &csv_id,
        &csv_blob,
        "Events",
        &token,
        json!({"format": "csv", "ingestionMappingReference": "EventsCsv", "ingestionMappingType": "Csv", "ignoreFirstRecord": true}),
        true,
    );
    csv_message["ReportMethod"] = json!(2);
    csv_message["IngestionStatusInTable"] = json!({
        "TableConnectionString": status_table.as_str(),
        "PartitionKey": csv_id,
        "RowKey": csv_id,
    });
    post_message(&queues[1], &csv_message).await;

    // JSON lines with an inline mapping, posted to the other account's queue.
    let json_lines = "{\"e\":{\"id\":10,\"who\":\"json-a\"},\"t\":\"2024-06-01T00:00:00Z\",\"s\":1.25}\n{\"e\":{\"id\":11,\"who\":null},\"t\":null,\"s\":\"NaN\"}\n";
    let json_blob = upload(
        &containers[1],
        "Emu__Events__x.json",
        json_lines.as_bytes().to_vec(),
    )
    .await;
    let json_id = Uuid::new_v4().to_string();
    let mapping = json!([
        {"column": "Id", "Properties": {"Path": "$.e.id"}},
        {"column": "Name", "Properties": {"Path": "$.e.who"}},
        {"column": "At", "Properties": {"Path": "$.t"}},
        {"column": "Score", "Properties": {"Path": "$.s"}},
    ]);
    post_message(
        &queues[0],
        &message(
            &json_id,
            &json_blob,
            "Events",
            &token,
            json!({"format": "json", "ingestionMapping": mapping.to_string(), "ingestionMappingType": "Json"}),
            true,
        ),
    )
    .await;

    // Parquet with an inline mapping of paths (the At column is not mapped: null).
    let parquet_blob = upload(&containers[0], "Emu__Events__p.parquet", parquet_events()).await;
    let parquet_id = Uuid::new_v4().to_string();
    let parquet_mapping = json!([
        {"column": "Id", "Properties": {"Path": "$.id"}},
        {"column": "Name", "Properties": {"Path": "$.name"}},
        {"column": "Score", "Properties": {"Path": "$.score"}},
    ]);
    post_message(
        &queues[0],
        &message(
            &parquet_id,
            &parquet_blob,
            "Events",
            &token,
            json!({"format": "parquet", "ingestionMapping": parquet_mapping.to_string(), "ingestionMappingType": "Parquet"}),
            true,
        ),
    )
    .await;

    wait_for(30, "six rows", || async {
        (count(&emu, "Emu", "Events").await == 6).then_some(())
    })
    .await;
    let rows = query(&emu, "Emu", "Events | order by Id asc").await;
    assert_eq!(
        rows,
        vec![
            vec![
                json!(1),
                json!("alpha"),
                json!("2024-05-01T10:20:30.1234567Z"),
                json!(0.5)
            ],
            vec![
                json!(2),
                json!("b,eta"),
                json!("2024-05-02T00:00:00Z"),
                Value::Null
            ],
            vec![
                json!(10),
                json!("json-a"),
                json!("2024-06-01T00:00:00Z"),
                json!(1.25)
            ],
            // Kusto strings are never null: a missing string is empty.
            vec![json!(11), json!(""), Value::Null, json!("NaN")],
            vec![json!(20), json!("pq-a"), Value::Null, json!(2.5)],
            vec![json!(21), json!(""), Value::Null, json!(-1.0)],
        ]
    );

    // The status entity went from Pending to Succeeded.
    let entity = wait_for(10, "the status entity", || async {
        let e = entity(status_table, &csv_id, &csv_id).await;
        (e["Status"] != "Pending").then_some(e)
    })
    .await;
    assert_eq!(entity["Status"], "Succeeded", "{entity}");
    assert_eq!(entity["IngestionSourceId"], csv_id);
    assert_eq!(entity["Database"], "Emu");
    assert_eq!(entity["Table"], "Events");
    assert_eq!(entity["ErrorCode"], "");
    assert!(
        !entity["IngestionSourcePath"]
            .as_str()
            .unwrap()
            .contains('?')
    );

    // One success notification per source (ReportLevel 2), none on the failure queue.
    let success = wait_for(10, "three success notifications", || async {
        let m = peek_json(&resources["SuccessfulIngestionsQueue"][0]).await;
        (m.len() >= 3).then_some(m)
    })
    .await;
    let mut ids: Vec<&str> = success
        .iter()
        .map(|m| m["IngestionSourceId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![csv_id.as_str(), json_id.as_str(), parquet_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    for m in &success {
        assert_eq!(m["Database"], "Emu");
        assert!(m["SucceededOn"].as_str().unwrap().ends_with('Z'));
        assert!(!m["IngestionSourcePath"].as_str().unwrap().contains("sig="));
    }
    assert!(
        peek_json(&resources["FailedIngestionsQueue"][0])
            .await
            .is_empty()
    );
    // The ready queues are empty again, and the blobs were kept (RetainBlobOnSuccess).
    for queue in queues {
        assert!(peek_json(queue).await.is_empty());
    }
    assert!(blob_exists(&csv_blob).await);
    emu.shutdown().await;
}

#[tokio::test]
async fn batching_tags_creation_time_zip_and_blob_deletion() {
    let emu = start().await;
    mgmt(&emu, "Emu", SCHEMA).await;
    let resources = resources(&emu).await;
    let token = identity_token(&emu).await;
    let container = &resources["TempStorage"][1];
    let queue = &resources["SecuredReadyForAggregationQueue"][1];

    // Two sources without FlushImmediately: batched, both arrive; tags and creation time kept.
    let a = upload(container, "a.csv", b"1,a,,\n".to_vec()).await;
    let b = upload(container, "b.csv.zip", zip_of("b.csv", b"2,b,,\n3,c,,\n")).await;
    let mut first = message(
        &Uuid::new_v4().to_string(),
        &a,
        "Events",
        &token,
        json!({"tags": "[\"drop-by:old\",\"ingest-by:load-1\"]", "creationTime": "2020-01-01T00:00:00Z"}),
        false,
    );
    first["RetainBlobOnSuccess"] = json!(false);
    post_message(queue, &first).await;
    post_message(
        queue,
        &message(
            &Uuid::new_v4().to_string(),
            &b,
            "Events",
            &token,
            json!({"tags": "[\"keep\"]"}),
            false,
        ),
    )
    .await;
    wait_for(30, "the batched rows", || async {
        (count(&emu, "Emu", "Events").await == 3).then_some(())
    })
    .await;
    let extents = mgmt(&emu, "Emu", ".show table Events extents").await;
    assert_eq!(extents.len(), 2, "{extents:?}");
    let tagged = extents
        .iter()
        .find(|e| e[6].as_str().unwrap().contains("drop-by:old"))
        .expect("the tagged extent");
    assert_eq!(tagged[3], "2020-01-01T00:00:00Z");
    assert_eq!(tagged[4], 1);
    assert_eq!(tagged[6], "drop-by:old\r\ningest-by:load-1");
    // RetainBlobOnSuccess false: the blob is gone; the other was kept.
    wait_for(10, "the blob to be deleted", || async {
        (!blob_exists(&a).await).then_some(())
    })
    .await;
    assert!(blob_exists(&b).await);

    // ingestIfNotExists with an existing ingest-by tag: Skipped, nothing appended.
    let again = upload(container, "again.csv", b"9,dup,,\n".to_vec()).await;
    let skipped_id = Uuid::new_v4().to_string();
    let status_table = &resources["IngestionsStatusTable"][0];
    let mut skipped = message(
        &skipped_id,
        &again,
        "Events",
        &token,
        json!({"ingestIfNotExists": "[\"load-1\"]", "tags": "[\"ingest-by:load-1\"]"}),
        true,
    );
    skipped["ReportMethod"] = json!("Table");
    skipped["IngestionStatusInTable"] = json!({"TableConnectionString": status_table.as_str(), "PartitionKey": skipped_id, "RowKey": "00000000-0000-0000-0000-000000000000"});
    insert_pending(
        status_table,
        &skipped_id,
        "00000000-0000-0000-0000-000000000000",
    )
    .await;
    post_message(queue, &skipped).await;
    let entity = wait_for(10, "the skipped status", || async {
        let e = entity(
            status_table,
            &skipped_id,
            "00000000-0000-0000-0000-000000000000",
        )
        .await;
        (e["Status"] != "Pending").then_some(e)
    })
    .await;
    assert_eq!(entity["Status"], "Skipped", "{entity}");
    assert_eq!(count(&emu, "Emu", "Events").await, 3);

    // drop-by: the tagged extent and its rows go away.
    let dropped = mgmt(
        &emu,
        "Emu",
        ".drop extents <| .show table Events extents where tags has 'drop-by:old'",
    )
    .await;
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        query(&emu, "Emu", "Events | order by Id asc | project Id").await,
        vec![vec![json!(2)], vec![json!(3)]]
    );
    assert!(
        mgmt(
            &emu,
            "Emu",
            ".show table Events extents where tags !has 'keep'"
        )
        .await
        .is_empty()
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_sources_fail_with_the_right_codes_and_nothing_else_breaks() {
    let emu = start().await;
    mgmt(&emu, "Emu", SCHEMA).await;
    let resources = resources(&emu).await;
    let token = identity_token(&emu).await;
    let container = &resources["TempStorage"][0];
    let queue = &resources["SecuredReadyForAggregationQueue"][0];
    let status_table = &resources["IngestionsStatusTable"][0];
    let dm = emu.data_management().unwrap();

    // An expired SAS for the container: signed with the account key, valid until yesterday.
    let blob_for_expired = upload(container, "expired.csv", b"5,e,,\n".to_vec()).await;
    let account = &dm.azurite().accounts()[0];
    let container_name = container
        .path_segments()
        .unwrap()
        .nth(1)
        .unwrap()
        .to_owned();
    let expired_sas = kusto_emulator::azurite::sas::container_sas(
        &account.name,
        &account.key,
        &container_name,
        kusto_emulator::azurite::Permissions("r"),
        time::OffsetDateTime::now_utc() - Duration::from_secs(24 * 3600),
    );
    let mut expired = blob_for_expired.clone();
    expired.set_query(Some(&expired_sas));

    let bad_csv = upload(container, "bad.csv", b"1,a,,\n2,b\n".to_vec()).await;
    let good = upload(container, "good.csv", b"7,fine,,\n".to_vec()).await;
    let missing = child(container, "no-such-blob.csv");
    let cases: Vec<(&str, Url, Value, &str)> = vec![
        (
            "bad csv",
            bad_csv.clone(),
            json!({}),
            "Stream_WrongNumberOfFields",
        ),
        (
            "wrong mapping",
            good.clone(),
            json!({"ingestionMappingReference": "NoSuchMapping"}),
            "BadRequest_MappingReferenceWasNotFound",
        ),
        (
            "inconsistent mapping",
            good.clone(),
            json!({"format": "json", "ingestionMapping": "[{\"column\":\"Id\",\"Properties\":{\"Ordinal\":\"0\"}}]", "ingestionMappingType": "Csv"}),
            "BadRequest_InconsistentMapping",
        ),
        (
            "missing blob",
            missing,
            json!({}),
            "Download_SourceNotFound",
        ),
        ("expired SAS", expired, json!({}), "Download_Forbidden"),
        (
            "unknown format",
            good.clone(),
            json!({"format": "nosuchformat"}),
            "BadRequest_FormatNotSupported",
        ),
    ];
    let mut ids = Vec::new();
    for (what, blob, extra, code) in &cases {
        let id = Uuid::new_v4().to_string();
        insert_pending(status_table, &id, &id).await;
        let mut m = message(&id, blob, "Events", &token, extra.clone(), true);
        m["ReportMethod"] = json!("QueueAndTable");
        m["IngestionStatusInTable"] = json!({"TableConnectionString": status_table.as_str(), "PartitionKey": id, "RowKey": id});
        post_message(queue, &m).await;
        ids.push((id, *what, *code));
    }
    // A message for a table that does not exist, one without the identity token, and garbage.
    let no_table = Uuid::new_v4().to_string();
    post_message(
        queue,
        &message(&no_table, &good, "NoSuchTable", &token, json!({}), true),
    )
    .await;
    let no_token = Uuid::new_v4().to_string();
    post_message(
        queue,
        &message(&no_token, &good, "Events", "forged", json!({}), true),
    )
    .await;
    post_text(queue, "bm90IGpzb24=").await;

    for (id, what, code) in &ids {
        let e = wait_for(20, what, || async {
            let e = entity(status_table, id, id).await;
            (e["Status"] != "Pending").then_some(e)
        })
        .await;
        assert_eq!(e["Status"], "Failed", "{what}: {e}");
        assert_eq!(e["ErrorCode"], *code, "{what}: {e}");
        assert_eq!(e["FailureStatus"], "Permanent", "{what}");
        assert!(!e["Details"].as_str().unwrap().is_empty());
    }
    let failures = wait_for(20, "eight failure notifications", || async {
        let m = peek_json(&resources["FailedIngestionsQueue"][0]).await;
        (m.len() >= 8).then_some(m)
    })
    .await;
    let code_of = |id: &str| -> String {
        failures
            .iter()
            .find(|m| m["IngestionSourceId"] == id)
            .map(|m| m["ErrorCode"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no failure message for {id}"))
    };
    assert_eq!(code_of(&no_table), "BadRequest_TableNotExist");
    assert_eq!(code_of(&no_token), "BadRequest_InvalidKustoIdentityToken");
    for m in &failures {
        assert_eq!(m["FailureStatus"], "Permanent");
        assert_eq!(m["ShouldRetry"], false);
        assert!(m["FailedOn"].is_string() && m["Details"].is_string());
    }
    // Every failure is in `.show ingestion failures`, the garbage message too.
    let listed = wait_for(10, "the corrupted message failure", || async {
        let rows = mgmt(&emu, "Emu", ".show ingestion failures").await;
        (rows.len() >= 9).then_some(rows)
    })
    .await;
    let text = format!("{listed:?}");
    for code in [
        "Stream_WrongNumberOfFields",
        "BadRequest_MappingReferenceWasNotFound",
        "Download_SourceNotFound",
        "Download_Forbidden",
        "BadRequest_CorruptedMessage",
        "BadRequest_TableNotExist",
    ] {
        assert!(text.contains(code), "{code} missing from {text}");
    }
    assert!(!text.contains("sig="), "a SAS leaked into failures: {text}");
    // Nothing was half-ingested, and a good source after all of that still arrives.
    assert_eq!(count(&emu, "Emu", "Events").await, 0);
    post_message(
        queue,
        &message(
            &Uuid::new_v4().to_string(),
            &good,
            "Events",
            &token,
            json!({}),
            true,
        ),
    )
    .await;
    wait_for(20, "the good row", || async {
        (count(&emu, "Emu", "Events").await == 1).then_some(())
    })
    .await;
    emu.shutdown().await;
}

#[tokio::test]
async fn report_level_none_and_failures_only_are_honoured() {
    let emu = start_with(DataManagementOptions {
        batching_window: Duration::from_millis(100),
        ..DataManagementOptions::default()
    })
    .await;
    mgmt(&emu, "Emu", SCHEMA).await;
    let resources = resources(&emu).await;
    let token = identity_token(&emu).await;
    let container = &resources["TempStorage"][0];
    let queue = &resources["SecuredReadyForAggregationQueue"][0];
    let good = upload(container, "ok.csv", b"1,x,,\n".to_vec()).await;
    let missing = child(container, "absent.csv");
    // FailuresOnly (the default): a success posts nothing, a failure posts.
    let mut ok = message(
        &Uuid::new_v4().to_string(),
        &good,
        "Events",
        &token,
        json!({}),
        true,
    );
    ok.as_object_mut().unwrap().remove("ReportLevel");
    post_message(queue, &ok).await;
    // None: even a failure posts nothing.
    let mut silent = message(
        &Uuid::new_v4().to_string(),
        &missing,
        "Events",
        &token,
        json!({}),
        true,
    );
    silent["ReportLevel"] = json!(1);
    post_message(queue, &silent).await;
    let loud_id = Uuid::new_v4().to_string();
    let mut loud = message(&loud_id, &missing, "Events", &token, json!({}), true);
    loud["ReportLevel"] = json!("FailuresOnly");
    post_message(queue, &loud).await;
    wait_for(20, "all three processed", || async {
        let ready = peek_json(queue).await;
        let failures = mgmt(&emu, "Emu", ".show ingestion failures").await;
        (ready.is_empty() && failures.len() == 2 && count(&emu, "Emu", "Events").await == 1)
            .then_some(())
    })
    .await;
    let failed = peek_json(&resources["FailedIngestionsQueue"][0]).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["IngestionSourceId"], loud_id.as_str());
    assert!(
        peek_json(&resources["SuccessfulIngestionsQueue"][0])
            .await
            .is_empty()
    );
    emu.shutdown().await;
}

#[tokio::test]
/// The service documents that malformed records of the `json` format (JSON lines) are ignored
/// and the ingestion succeeds without an error ("Ingestion behavior of invalid data"): the good
/// lines are ingested and the source is `Succeeded`, with nothing on the failure queue.
async fn malformed_json_lines_are_ignored_and_the_source_succeeds() {
    let emu = start().await;
    mgmt(&emu, "Emu", SCHEMA).await;
    let resources = resources(&emu).await;
    let token = identity_token(&emu).await;
    let status_table = &resources["IngestionsStatusTable"][0];
    let blob = upload(
        &resources["TempStorage"][0],
        "partial.json",
        b"{\"Id\":1,\"Name\":\"ok\"}\n{broken\n{\"Id\":2,\"Name\":\"also ok\"}\n".to_vec(),
    )
    .await;
    let id = Uuid::new_v4().to_string();
    insert_pending(status_table, &id, &id).await;
    let mut m = message(
        &id,
        &blob,
        "Events",
        &token,
        json!({"format": "json"}),
        true,
    );
    m["ReportMethod"] = json!(2);
    m["IngestionStatusInTable"] =
        json!({"TableConnectionString": status_table.as_str(), "PartitionKey": id, "RowKey": id});
    post_message(&resources["SecuredReadyForAggregationQueue"][0], &m).await;
    let e = wait_for(20, "the final status", || async {
        let e = entity(status_table, &id, &id).await;
        (e["Status"] != "Pending").then_some(e)
    })
    .await;
    assert_eq!(e["Status"], "Succeeded", "{e}");
    assert_eq!(count(&emu, "Emu", "Events").await, 2);
    assert!(
        peek_json(&resources["FailedIngestionsQueue"][0])
            .await
            .is_empty()
    );
    // A multijson source with the same malformed record fails whole.
    let blob = upload(
        &resources["TempStorage"][0],
        "broken.multijson",
        b"{\"Id\":3,\"Name\":\"x\"} {broken".to_vec(),
    )
    .await;
    let id = Uuid::new_v4().to_string();
    insert_pending(status_table, &id, &id).await;
    let mut m = message(
        &id,
        &blob,
        "Events",
        &token,
        json!({"format": "multijson"}),
        true,
    );
    m["ReportMethod"] = json!(2);
    m["IngestionStatusInTable"] =
        json!({"TableConnectionString": status_table.as_str(), "PartitionKey": id, "RowKey": id});
    post_message(&resources["SecuredReadyForAggregationQueue"][0], &m).await;
    let e = wait_for(20, "the final status", || async {
        let e = entity(status_table, &id, &id).await;
        (e["Status"] != "Pending").then_some(e)
    })
    .await;
    assert_eq!(e["Status"], "Failed", "{e}");
    assert_eq!(e["ErrorCode"], "BadRequest_InvalidBlob", "{e}");
    assert_eq!(count(&emu, "Emu", "Events").await, 2);
    emu.shutdown().await;
}
