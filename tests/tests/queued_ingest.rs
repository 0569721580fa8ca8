//! `kusto-ingest`'s `QueuedIngestClient` against the emulator's data-management service over
//! Azurite, in both protocol modes: every source kind and the format families arrive with the
//! exact rows, properties are honoured, bad input fails with the service's error code, and a
//! failing storage account loses and doubles nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use futures::StreamExt;
use kusto_data::{Compression, DataFormat};
use kusto_e2e::{IngestHarness, parquet_of, start_ingest, start_ingest_with};
use kusto_emulator::DataManagementOptions;
use kusto_emulator::{FaultAction, FaultRule};
use kusto_ingest::{
    ActiveProtocol, ColumnMapping, Error, IngestProtocol, IngestionOperation, IngestionProperties,
    IngestionSource, IngestionState, NotificationKind, ReportLevel, ReportMethod, UploadOptions,
};

const WAIT: Duration = Duration::from_secs(60);

async fn command(h: &IngestHarness, text: &str) {
    h.client
        .mgmt(&h.database, text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

/// Rows per source: `T | summarize count() by Src`.
async fn counts(h: &IngestHarness, table: &str) -> BTreeMap<String, i64> {
    let data = h
        .client
        .query(&h.database, &format!("{table} | summarize count() by Src"))
        .await
        .unwrap();
    let table = data.primary_result().unwrap();
    table
        .rows()
        .map(|row| {
            (
                row.get_string(0).unwrap().unwrap_or_default().to_owned(),
                row.get_i64(1).unwrap().unwrap_or_default(),
            )
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buffer);
    writer
        .start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(data).unwrap();
    writer.finish().unwrap();
    buffer.into_inner()
}

async fn wait_succeeded(operation: &IngestionOperation, what: &str) {
    let status = operation
        .wait(WAIT)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(status.all_succeeded(), "{what}: {status:?}");
}

async fn every_source_kind_and_format(protocol: IngestProtocol, rest_api: bool) {
    let h = start_ingest("Emu", rest_api, protocol).await;
    let expected = if rest_api {
        ActiveProtocol::Rest
    } else {
        ActiveProtocol::Queue
    };
    assert_eq!(h.ingest.active_protocol().await.unwrap(), expected);
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    command(
        &h,
        r#".create table T ingestion csv mapping "Reordered" '[{"column":"Src","Properties":{"Ordinal":"2"}},{"column":"N","Properties":{"Ordinal":"0"}},{"column":"Name","Properties":{"Ordinal":"1"}}]'"#,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let csv = |src: &str, n: i64| -> String {
        (0..n)
            .map(|i| format!("{src},{i},\"name, {i}\"\n"))
            .collect()
    };
    let base = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    let mut operations = Vec::new();

    // A CSV file with a header line.
    let path = dir.path().join("plain.csv");
    std::fs::write(&path, format!("Src,N,Name\n{}", csv("file-csv", 3))).unwrap();
    let properties = base.clone().with_ignore_first_record(true);
    operations.push((
        "file-csv",
        h.ingest
            .ingest(IngestionSource::file(&path), &properties)
            .await
            .unwrap(),
    ));

    // A gzip file, uploaded as it is, with tags and a creation time.
    let path = dir.path().join("rows.csv.gz");
    std::fs::write(&path, gzip(csv("file-gz", 5).as_bytes())).unwrap();
    let created = time::macros::datetime!(2020-02-03 04:05:06 UTC);
    let tagged = base
        .clone()
        .with_ingest_by_tag("batch-7")
        .with_drop_by_tag("old")
        .with_tag("plain")
        .with_creation_time(created);
    operations.push((
        "file-gz",
        h.ingest
            .ingest(IngestionSource::file(&path), &tagged)
            .await
            .unwrap(),
    ));

    // A zip archive.
    let path = dir.path().join("archive.zip");
    std::fs::write(&path, zip_of("inner.csv", csv("file-zip", 4).as_bytes())).unwrap();
    operations.push((
        "file-zip",
        h.ingest
            .ingest(IngestionSource::file(&path), &base)
            .await
            .unwrap(),
    ));

    // JSON lines from memory with an inline mapping.
    let json: String = (0..6)
        .map(|i| format!("{{\"s\":\"bytes-json\",\"n\":{i},\"x\":{{\"name\":\"j{i}\"}}}}\n"))
        .collect();
    let json_properties = IngestionProperties::new("Emu", "T", DataFormat::Json)
        .with_tracking()
        .with_mapping(vec![
            ColumnMapping::json("Src", "string", "$.s"),
            ColumnMapping::json("N", "long", "$.n"),
            ColumnMapping::json("Name", "string", "$.x.name"),
        ]);
    operations.push((
        "bytes-json",
        h.ingest
            .ingest(IngestionSource::bytes(json), &json_properties)
            .await
            .unwrap(),
    ));

    // A forward-only reader with a mapping reference (columns reordered).
    let reordered: String = (0..7).map(|i| format!("{i},r{i},reader-csv\n")).collect();
    let reader = std::io::Cursor::new(reordered.into_bytes());
    operations.push((
        "reader-csv",
        h.ingest
            .ingest(
                IngestionSource::reader(reader),
                &base.clone().with_mapping_reference("Reordered"),
            )
            .await
            .unwrap(),
    ));

    // Parquet bytes: binary, not compressed by the client.
    let parquet = parquet_of("bytes-parquet", &[10, 20]);
    operations.push((
        "bytes-parquet",
        h.ingest
            .ingest(
                IngestionSource::bytes(parquet).with_name("data.parquet"),
                &IngestionProperties::new("Emu", "T", DataFormat::Parquet).with_tracking(),
            )
            .await
            .unwrap(),
    ));

    // An existing blob: uploaded by someone else into a container, then only its URL travels.
    let container = h
        .emulator
        .data_management()
        .unwrap()
        .resource_urls("TempStorage")[0]
        .clone();
    let mut blob = container.clone();
    blob.path_segments_mut().unwrap().push("external.csv.gz");
    let response = h
        .client
        .http_client()
        .put(blob.clone())
        .header("x-ms-version", "2021-08-06")
        .header("x-ms-blob-type", "BlockBlob")
        .body(gzip(csv("blob", 2).as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    operations.push((
        "blob",
        h.ingest
            .ingest(IngestionSource::blob(blob.as_str()).unwrap(), &base)
            .await
            .unwrap(),
    ));

    for (what, operation) in &operations {
        wait_succeeded(operation, what).await;
    }
    let expected: BTreeMap<String, i64> = [
        ("blob", 2),
        ("bytes-json", 6),
        ("bytes-parquet", 2),
        ("file-csv", 3),
        ("file-gz", 5),
        ("file-zip", 4),
        ("reader-csv", 7),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts(&h, "T").await, expected);

    // Values, not only counts: the mapping reference put each field in its column, the inline
    // JSON mapping read the nested path, and commas inside quotes stayed in the name.
    let data = h
        .client
        .query("Emu", "T | where Src == 'reader-csv' or Src == 'bytes-json' or Src == 'file-csv' | order by Src asc, N asc | project Src, N, Name")
        .await
        .unwrap();
    let rows: Vec<(String, i64, String)> = data
        .primary_result()
        .unwrap()
        .rows()
        .map(|r| {
            (
                r.get_string(0).unwrap().unwrap().to_owned(),
                r.get_i64(1).unwrap().unwrap(),
                r.get_string(2).unwrap().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(rows[0], ("bytes-json".into(), 0, "j0".into()));
    assert_eq!(rows[6], ("file-csv".into(), 0, "name, 0".into()));
    assert_eq!(rows[9], ("reader-csv".into(), 0, "r0".into()));
    assert_eq!(rows.len(), 6 + 3 + 7);

    // Tags and creation time reached the extent.
    let extents = h
        .client
        .mgmt(
            "Emu",
            ".show table T extents where tags has 'ingest-by:batch-7'",
        )
        .await
        .unwrap();
    let extents = extents.primary_result().unwrap();
    assert_eq!(extents.len(), 1);
    let row = extents.row(0).unwrap();
    let tags = row.get_string("Tags").unwrap().unwrap();
    for tag in ["plain", "drop-by:old", "ingest-by:batch-7"] {
        assert!(tags.contains(tag), "{tags}");
    }
    assert_eq!(
        row.get_datetime("MinCreatedOn")
            .unwrap()
            .unwrap()
            .to_string(),
        "2020-02-03T04:05:06Z"
    );

    // ingest-if-not-exists: the same tag again is skipped, nothing doubled.
    let again = base.clone().with_ingest_if_not_exists("batch-7");
    let path = dir.path().join("again.csv");
    std::fs::write(&path, csv("file-gz", 5)).unwrap();
    let operation = h
        .ingest
        .ingest(IngestionSource::file(&path), &again)
        .await
        .unwrap();
    let status = operation.wait(WAIT).await.unwrap();
    // The status table says Skipped; the REST API knows no such state and says Succeeded.
    let skipped = if rest_api {
        IngestionState::Succeeded
    } else {
        IngestionState::Skipped
    };
    assert_eq!(status.sources[0].state, skipped, "{status:?}");
    assert_eq!(counts(&h, "T").await["file-gz"], 5);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn queue_protocol_every_source_kind_and_format() {
    every_source_kind_and_format(IngestProtocol::Auto, false).await;
}

#[tokio::test]
async fn rest_protocol_every_source_kind_and_format() {
    every_source_kind_and_format(IngestProtocol::Auto, true).await;
}

async fn failures_carry_the_service_error_code(protocol: IngestProtocol) {
    let h = start_ingest("Emu", true, protocol).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    // A mapping reference that does not exist.
    let missing = IngestionProperties::new("Emu", "T", DataFormat::Csv)
        .with_tracking()
        .with_mapping_reference("NoSuchMapping");
    let operation = h
        .ingest
        .ingest(IngestionSource::bytes("a,1,x\n"), &missing)
        .await
        .unwrap();
    // A failed ingestion is an error of `wait`, carrying every source's status.
    let status = match operation.wait(WAIT).await {
        Err(Error::IngestionFailed(status)) => status,
        other => panic!("a failed ingestion must be an error: {other:?}"),
    };
    let source = &status.sources[0];
    assert_eq!(source.state, IngestionState::Failed, "{status:?}");
    assert_eq!(
        source.error_code.as_deref(),
        Some("BadRequest_MappingReferenceWasNotFound"),
        "{status:?}"
    );
    assert_eq!(source.failure_status.as_deref(), Some("Permanent"));
    // Data that is not the format said: text declared as Parquet.
    let operation = h
        .ingest
        .ingest(
            IngestionSource::bytes("this is not parquet"),
            &IngestionProperties::new("Emu", "T", DataFormat::Parquet).with_tracking(),
        )
        .await
        .unwrap();
    let status = match operation.wait(WAIT).await {
        Err(Error::IngestionFailed(status)) => status,
        other => panic!("a failed ingestion must be an error: {other:?}"),
    };
    assert_eq!(
        status.sources[0].state,
        IngestionState::Failed,
        "{status:?}"
    );
    assert!(status.sources[0].error_code.is_some());
    assert_eq!(counts(&h, "T").await.len(), 0);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn queue_protocol_failures_carry_the_service_error_code() {
    failures_carry_the_service_error_code(IngestProtocol::Queue).await;
}

#[tokio::test]
async fn rest_protocol_failures_carry_the_service_error_code() {
    failures_carry_the_service_error_code(IngestProtocol::Rest).await;
}

#[tokio::test]
async fn operations_resume_in_another_client_and_large_sources_go_in_blocks() {
    let h = start_ingest("Emu", false, IngestProtocol::Auto).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    // 3 MB of CSV in 256 KiB blocks (compressed, so fewer blocks), uncompressed too.
    let rows = 60_000;
    let data: String = (0..rows)
        .map(|i| format!("big,{i},row number {i}\n"))
        .collect();
    let small_blocks =
        kusto_ingest::QueuedIngestClient::builder_from_kusto_client(h.client.clone())
            .upload_options(
                UploadOptions::default()
                    .with_block_size(64 << 10)
                    .with_compression_level(1),
            )
            .build()
            .unwrap();
    let operation = small_blocks
        .ingest(
            IngestionSource::bytes(data.clone()),
            &IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking(),
        )
        .await
        .unwrap();
    // Parquet is not compressed by the client: raw blocks.
    let ids: Vec<i64> = (0..40_000).collect();
    let parquet = small_blocks
        .ingest(
            IngestionSource::bytes(parquet_of("big-parquet", &ids)),
            &IngestionProperties::new("Emu", "T", DataFormat::Parquet).with_tracking(),
        )
        .await
        .unwrap();
    // The operation travels as JSON to a client that never saw it.
    let text = serde_json::to_string(&operation).unwrap();
    assert!(!text.contains("sig="), "{text}");
    let restored: IngestionOperation = serde_json::from_str(&text).unwrap();
    assert!(restored.status().await.is_err(), "not attached yet");
    let other = kusto_ingest::QueuedIngestClient::builder_from_kusto_client(h.client.clone())
        .build()
        .unwrap();
    let restored = other.resume(restored);
    wait_succeeded(&restored, "resumed").await;
    wait_succeeded(&parquet, "parquet").await;
    let counts = counts(&h, "T").await;
    assert_eq!(counts["big"], rows);
    assert_eq!(counts["big-parquet"], 40_000);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_a_typed_error_and_nothing_is_sent() {
    let h = start_ingest("Emu", false, IngestProtocol::Queue).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    let base = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    // A file that does not exist.
    let error = h
        .ingest
        .ingest(IngestionSource::file("/no/such/file.csv"), &base)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Source { .. }), "{error}");
    // A mapping that does not fit the format.
    let error = h
        .ingest
        .ingest(
            IngestionSource::bytes("x"),
            &base
                .clone()
                .with_mapping(vec![ColumnMapping::json("Src", "string", "$.s")]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidProperty {
                field: "mapping",
                ..
            }
        ),
        "{error}"
    );
    // A message over the queue's 64 KB limit (a huge inline mapping), refused before upload.
    let columns: Vec<ColumnMapping> = (0..3000)
        .map(|i| ColumnMapping::csv(format!("Column{i}"), "string", i))
        .collect();
    let error = h
        .ingest
        .ingest(
            IngestionSource::bytes("x"),
            &base.clone().with_mapping(columns),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::MessageTooLarge { .. }), "{error}");
    // A reader that fails part-way.
    struct Failing(usize);
    impl tokio::io::AsyncRead for Failing {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.0 == 0 {
                return std::task::Poll::Ready(Err(std::io::Error::other("disk on fire")));
            }
            self.0 -= 1;
            buf.put_slice(b"r,1,x\n");
            std::task::Poll::Ready(Ok(()))
        }
    }
    let error = h
        .ingest
        .ingest(IngestionSource::reader(Failing(3)), &base)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Read(_)), "{error}");
    // A blob URL that is not one.
    assert!(IngestionSource::blob("").is_err());
    // Nothing of the above was queued.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(counts(&h, "T").await.len(), 0);
    assert_eq!(h.emulator.data_management().unwrap().pending_sources(), 0);
    h.emulator.shutdown().await;
}

/// 200 sources while one storage account answers 500 to everything: every source arrives exactly
/// once, and the ranking moves away from the failing account.
async fn failing_account(protocol: IngestProtocol, rest_api: bool) {
    let h = start_ingest("Emu", rest_api, protocol).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    let dm = h.emulator.data_management().unwrap();
    let faults = dm.storage_faults("kustoemu2").unwrap();
    faults
        .add(FaultRule::new(
            "/kustoemu2/*",
            FaultAction::Status {
                status: 500,
                code: "InternalError".into(),
                message: "injected".into(),
                permanent: false,
            },
        ))
        .unwrap();
    let sources = 200;
    let stream = futures::stream::iter((0..sources).map(|i| {
        let rows: String = (0..=(i % 5)).map(|r| format!("s{i},{r},x\n")).collect();
        IngestionSource::bytes(rows)
    }));
    let properties = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    let mut outcomes = h.ingest.ingest_many(stream, properties, 8).await.unwrap();
    let mut operations = Vec::new();
    while let Some(outcome) = outcomes.next().await {
        let operation = outcome
            .result
            .unwrap_or_else(|e| panic!("source {}: {e}", outcome.source_id));
        operations.push(operation);
    }
    assert_eq!(operations.len(), sources);
    for operation in &operations {
        wait_succeeded(operation, "source").await;
    }
    let counts = counts(&h, "T").await;
    assert_eq!(counts.len(), sources, "every source arrived");
    for i in 0..sources {
        assert_eq!(counts[&format!("s{i}")], (i % 5) as i64 + 1, "source s{i}");
    }
    let rank = kusto_ingest::__test_support::storage_account_rank(&h.ingest, "kustoemu2");
    assert!(rank < 0.3, "the failing account ranks {rank}");
    assert!(kusto_ingest::__test_support::storage_account_rank(&h.ingest, "kustoemu1") > 0.9);
    // The ranking moved away: far fewer than one attempt per source reached the bad account.
    let applied: u64 = faults.list().iter().map(|f| f.applied).sum();
    assert!(
        applied < sources as u64,
        "{applied} requests hit the failing account"
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn queue_protocol_survives_a_failing_storage_account() {
    failing_account(IngestProtocol::Queue, false).await;
}

#[tokio::test]
async fn rest_protocol_survives_a_failing_storage_account() {
    failing_account(IngestProtocol::Rest, true).await;
}

#[tokio::test]
async fn compressed_sources_keep_their_compression() {
    // Bytes said to be gzip are uploaded as they are (the blob name ends in .gz).
    let h = start_ingest("Emu", true, IngestProtocol::Rest).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    let source =
        IngestionSource::bytes(gzip(b"gz,1,a\ngz,2,b\n")).with_compression(Compression::GZip);
    let operation = h
        .ingest
        .ingest(
            source,
            &IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking(),
        )
        .await
        .unwrap();
    assert!(operation.blob_paths()[0].ends_with(".gz"));
    wait_succeeded(&operation, "gzip bytes").await;
    assert_eq!(counts(&h, "T").await["gz"], 2);
    h.emulator.shutdown().await;
}

fn fail_account(h: &IngestHarness, account: &str) {
    h.emulator
        .data_management()
        .unwrap()
        .storage_faults(account)
        .unwrap()
        .add(FaultRule::new(
            format!("/{account}/*"),
            FaultAction::Status {
                status: 503,
                code: "ServerBusy".into(),
                message: "injected".into(),
                permanent: false,
            },
        ))
        .unwrap();
}

#[tokio::test]
async fn forward_only_readers_move_account_only_while_held_whole() {
    let h = start_ingest("Emu", false, IngestProtocol::Queue).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    let small_blocks =
        kusto_ingest::QueuedIngestClient::builder_from_kusto_client(h.client.clone())
            .storage_retry_policy(kusto_e2e::fast_storage_retry())
            .upload_options(UploadOptions::default().with_block_size(64 << 10))
            .build()
            .unwrap();
    let properties = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    let big: String = (0..60_000)
        .map(|i| format!("big,{i},{i:x}{i:o}\n"))
        .collect();
    // One failing account: a small reader is held whole and always arrives, whichever account
    // is tried first.
    fail_account(&h, "kustoemu2");
    for i in 0..4 {
        let reader = std::io::Cursor::new(format!("small{i},1,x\n").into_bytes());
        let operation = small_blocks
            .ingest(IngestionSource::reader(reader), &properties)
            .await
            .unwrap();
        wait_succeeded(&operation, "small reader").await;
    }
    // Every account failing: a small reader is tried on each, a large one fails on the first
    // with the typed forward-only error (its first blocks are gone).
    fail_account(&h, "kustoemu1");
    let reader = std::io::Cursor::new(b"small,1,x\n".to_vec());
    let error = small_blocks
        .ingest(IngestionSource::reader(reader), &properties)
        .await
        .unwrap_err();
    match &error {
        Error::AllAccountsFailed {
            what: "upload",
            attempts,
        } => assert_eq!(attempts.len(), 2),
        other => panic!("{other}"),
    }
    assert!(error.is_transient());
    // Storage errors name the account and status, never the SAS.
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("sig="), "{text}");
        assert!(!text.contains("se="), "{text}");
    }
    assert!(error.to_string().contains("503"), "{error}");
    let reader = std::io::Cursor::new(gzip(big.as_bytes()));
    let error = small_blocks
        .ingest(
            IngestionSource::reader(reader)
                .with_compression(Compression::GZip)
                .with_name("big.csv.gz"),
            &properties,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ForwardOnlySource { .. }), "{error}");
    // A file is read again from its start on each account.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    std::fs::write(&path, &big).unwrap();
    let error = small_blocks
        .ingest(IngestionSource::file(&path), &properties)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::AllAccountsFailed { attempts, .. } if attempts.len() == 2),
        "{error}"
    );
    let counts = counts(&h, "T").await;
    assert_eq!(counts.len(), 4, "{counts:?}");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn notifications_waits_and_forced_protocols() {
    let h = start_ingest_with(
        "Emu",
        DataManagementOptions {
            batching_window: Duration::from_secs(30),
            rest_api: false,
            ..DataManagementOptions::default()
        },
        IngestProtocol::Queue,
    )
    .await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    // Not final before the batching window ends: wait gives up at its deadline.
    let batched = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    let operation = h
        .ingest
        .ingest(IngestionSource::bytes("w,1,x\n"), &batched)
        .await
        .unwrap();
    let error = operation
        .wait(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::WaitTimeout(_)), "{error}");
    assert_eq!(
        operation.status().await.unwrap().sources[0].state,
        IngestionState::Pending
    );
    // Reports to the notification queues only: untracked, and visible in the queues.
    let to_queues = IngestionProperties::new("Emu", "T", DataFormat::Csv)
        .with_tracking()
        .with_flush_immediately(true)
        .with_report(ReportLevel::FailuresAndSuccesses, ReportMethod::Queue);
    let operation = h
        .ingest
        .ingest(IngestionSource::bytes("q,1,x\n"), &to_queues)
        .await
        .unwrap();
    assert!(!operation.is_tracked());
    assert!(
        matches!(operation.status().await, Err(Error::NotTracked(_))),
        "an untracked operation has no status to read"
    );
    let source_id = operation.source_ids()[0];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = h
            .ingest
            .read_notifications(NotificationKind::Success, 32, false)
            .await
            .unwrap();
        if let Some(found) = seen.iter().find(|n| n.ingestion_source_id == source_id) {
            assert_eq!(found.table, "T");
            assert!(!found.ingestion_source_path.contains("sig="));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no success notification"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A cluster without the REST API: forcing REST is a typed error, Auto uses queues.
    let rest = kusto_ingest::QueuedIngestClient::builder_from_kusto_client(h.client.clone())
        .protocol(IngestProtocol::Rest)
        .build()
        .unwrap();
    let error = rest
        .ingest(IngestionSource::bytes("r,1,x\n"), &to_queues)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::MissingResource(_)), "{error}");
    let auto = kusto_ingest::QueuedIngestClient::builder_from_kusto_client(h.client.clone())
        .build()
        .unwrap();
    assert_eq!(auto.active_protocol().await.unwrap(), ActiveProtocol::Queue);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_file_that_grows_during_its_upload_is_refused() {
    let h = start_ingest("Emu", false, IngestProtocol::Queue).await;
    command(&h, ".create table T (Src:string, N:long, Name:string)").await;
    let dm = h.emulator.data_management().unwrap();
    // The first block uploads of each account wait half a second, so that reading stalls early.
    for account in ["kustoemu1", "kustoemu2"] {
        dm.storage_faults(account)
            .unwrap()
            .add(
                FaultRule::new(format!("/{account}/*"), FaultAction::Delay)
                    .method("PUT")
                    .delay(Duration::from_millis(500))
                    .times(2),
            )
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.csv");
    let rows: String = (0..400_000).map(|i| format!("grow,{i},{i:x}\n")).collect();
    assert!(rows.len() > 6 << 20);
    std::fs::write(&path, &rows).unwrap();
    let client = kusto_ingest::QueuedIngestClient::builder_from_kusto_client(h.client.clone())
        .upload_options(UploadOptions::default().with_block_size(64 << 10))
        .build()
        .unwrap();
    let task = {
        let path = path.clone();
        tokio::spawn(async move {
            client
                .ingest(
                    IngestionSource::file(&path),
                    &IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking(),
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"grow,-1,late\n").unwrap();
    drop(file);
    let error = task.await.unwrap().unwrap_err();
    match &error {
        Error::Source { message, .. } => assert!(message.contains("changed size"), "{error}"),
        other => panic!("{other}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counts(&h, "T").await.len(), 0, "nothing was queued");
    h.emulator.shutdown().await;
}
