//! Defaults that never fail where the official Python SDK succeeds, and outcomes that cannot be
//! mistaken: the REST configuration probe answered 403, 404, 500, with a body that is not a
//! configuration or cut short (the queued client falls back to the storage queues and ingests);
//! status tracking that cannot be set up (the source is ingested untracked); and a program
//! written as a new user writes it, with `?` everywhere, that fails when its ingestion fails.

use std::time::Duration;

use kusto_data::DataFormat;
use kusto_e2e::{IngestHarness, start_ingest};
use kusto_emulator::{FaultAction, FaultRule};
use kusto_ingest::{
    ActiveProtocol, Error, IngestProtocol, IngestionProperties, IngestionSource, IngestionState,
    QueuedIngestClient,
};

const WAIT: Duration = Duration::from_secs(60);
const CONFIGURATION: &str = "/v1/rest/ingestion/configuration";

async fn command(h: &IngestHarness, text: &str) {
    h.client
        .mgmt(&h.database, text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

/// Rows of `table` with `Src == src`, read until there are `expected` (or the deadline passes:
/// the last count is returned). Untracked ingestions can only be observed this way.
async fn rows_of(h: &IngestHarness, table: &str, src: &str, expected: i64) -> i64 {
    let query = format!("{table} | where Src == '{src}' | count");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let data = h
            .client
            .query(&h.database, &query)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        let count = data
            .primary_result()
            .and_then(|t| t.row(0))
            .and_then(|r| r.get_i64(0).ok().flatten())
            .unwrap_or(0);
        if count >= expected || tokio::time::Instant::now() >= deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn status(status: u16, code: &str) -> FaultAction {
    FaultAction::Status {
        status,
        code: code.to_owned(),
        message: format!("injected {status}"),
        permanent: status < 500,
    }
}

/// A cluster whose REST configuration endpoint misbehaves in each way a real one may: every
/// queued ingestion with default settings still ingests, over the storage queues, and the
/// probe is asked once per client (not retried, not repeated).
#[tokio::test]
async fn a_refused_or_broken_configuration_probe_falls_back_to_the_queues() {
    let h = start_ingest("Emu", true, IngestProtocol::Auto).await;
    command(&h, ".create table T (Src:string, N:long)").await;
    let cases = [
        ("forbidden", status(403, "Forbidden")),
        ("not-found", status(404, "NotFound")),
        ("server-error", status(500, "InternalServerError")),
        // A 200 whose body is JSON but no configuration.
        ("not-a-configuration", status(200, "NotAConfiguration")),
        // A 200 whose body is cut in the middle (the connection closes).
        ("cut-short", FaultAction::Truncate),
    ];
    for (case, action) in cases {
        h.emulator.faults().clear();
        h.emulator
            .faults()
            .add(FaultRule::new(CONFIGURATION, action).method("GET"))
            .unwrap();
        // A new client: defaults everywhere, as a first program has them.
        let client = QueuedIngestClient::builder_from_kusto_client(h.client.clone())
            .build()
            .unwrap();
        let properties = IngestionProperties::new("Emu", "T", DataFormat::Csv);
        for i in 0..2 {
            let operation = client
                .ingest(
                    IngestionSource::bytes(format!("{case},{i}\n{case},{i}\n")),
                    &properties,
                )
                .await
                .unwrap_or_else(|e| panic!("{case}: the ingestion must not fail: {e}"));
            assert!(!operation.is_tracked(), "{case}: untracked by default");
        }
        assert_eq!(
            client.active_protocol().await.unwrap(),
            ActiveProtocol::Queue,
            "{case}"
        );
        assert_eq!(rows_of(&h, "T", case, 4).await, 4, "{case}");
        let applied: u64 = h.emulator.faults().list().iter().map(|f| f.applied).sum();
        assert_eq!(applied, 1, "{case}: the probe is asked once per client");
    }
    // Without the fault the same code uses REST: the fallback above was the probe's doing.
    h.emulator.faults().clear();
    let client = QueuedIngestClient::builder_from_kusto_client(h.client.clone())
        .build()
        .unwrap();
    assert_eq!(
        client.active_protocol().await.unwrap(),
        ActiveProtocol::Rest
    );
    h.emulator.shutdown().await;
}

/// After `Auto` chose REST, a REST submission the service refuses (403) moves the client to
/// the queues for good, and the refused source is ingested through them.
#[tokio::test]
async fn a_refused_rest_submission_falls_back_to_the_queues() {
    let h = start_ingest("Emu", true, IngestProtocol::Auto).await;
    command(&h, ".create table T (Src:string, N:long)").await;
    assert_eq!(
        h.ingest.active_protocol().await.unwrap(),
        ActiveProtocol::Rest
    );
    h.emulator
        .faults()
        .add(FaultRule::new("/v1/rest/ingestion/queued/*", status(403, "Forbidden")).method("POST"))
        .unwrap();
    let properties = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    let operation = h
        .ingest
        .ingest(IngestionSource::bytes("refused,1\n"), &properties)
        .await
        .unwrap();
    assert!(operation.rest_operation_id().is_none());
    operation.wait(WAIT).await.unwrap();
    assert_eq!(
        h.ingest.active_protocol().await.unwrap(),
        ActiveProtocol::Queue
    );
    assert_eq!(rows_of(&h, "T", "refused", 1).await, 1);
    // An explicit protocol is the caller's choice: the refusal stands.
    let rest = QueuedIngestClient::builder_from_kusto_client(h.client.clone())
        .protocol(IngestProtocol::Rest)
        .build()
        .unwrap();
    let error = rest
        .ingest(IngestionSource::bytes("forced,1\n"), &properties)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Kusto(e) if e.status() == Some(403)),
        "{error}"
    );
    h.emulator.shutdown().await;
}

/// Tracking is optional: when its status entry cannot be written, the source is still
/// ingested, and waiting on it says why it cannot be followed.
#[tokio::test]
async fn tracking_that_cannot_be_set_up_never_fails_the_ingestion() {
    let h = start_ingest("Emu", false, IngestProtocol::Auto).await;
    command(&h, ".create table T (Src:string, N:long)").await;
    let dm = h.emulator.data_management().unwrap();
    let tables: Vec<_> = dm
        .resources()
        .iter()
        .filter(|r| r.kind == "IngestionsStatusTable")
        .cloned()
        .collect();
    assert!(!tables.is_empty());
    for table in &tables {
        let path = format!("{}*", table.url.path());
        dm.storage_faults(&table.account)
            .unwrap()
            .add(FaultRule::new(path, status(403, "AuthorizationFailure")))
            .unwrap();
    }
    let properties = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    let operation = h
        .ingest
        .ingest(
            IngestionSource::bytes("no-table,1\nno-table,2\n"),
            &properties,
        )
        .await
        .unwrap();
    assert!(!operation.is_tracked());
    let reason = operation.untracked_reason().unwrap();
    assert!(
        reason.contains("status entry could not be written"),
        "{reason}"
    );
    match operation.wait(WAIT).await {
        Err(Error::NotTracked(text)) => assert!(text.contains("403"), "{text}"),
        other => panic!("an untracked source cannot be waited on: {other:?}"),
    }
    assert_eq!(rows_of(&h, "T", "no-table", 2).await, 2);
    h.emulator.shutdown().await;
}

/// What a new user writes: `?` everywhere, no inspection of the status.
async fn first_program(
    client: &QueuedIngestClient,
    properties: &IngestionProperties,
    data: &'static str,
) -> Result<(), Box<dyn std::error::Error>> {
    let operation = client
        .ingest(IngestionSource::bytes(data), properties)
        .await?;
    operation.wait(WAIT).await?;
    Ok(())
}

async fn a_first_program_fails_when_its_ingestion_fails(rest_api: bool, protocol: IngestProtocol) {
    let h = start_ingest("Emu", rest_api, protocol).await;
    command(&h, ".create table T (Src:string, N:long)").await;
    let tracked = IngestionProperties::new("Emu", "T", DataFormat::Csv).with_tracking();
    first_program(&h.ingest, &tracked, "good,1\n")
        .await
        .unwrap_or_else(|e| panic!("a good ingestion: {e}"));
    assert_eq!(rows_of(&h, "T", "good", 1).await, 1);

    // A mapping that does not exist: the service fails the ingestion, and so does the program.
    let failing = tracked.clone().with_mapping_reference("NoSuchMapping");
    let error = first_program(&h.ingest, &failing, "bad,1\n")
        .await
        .expect_err("a failed ingestion must fail the program");
    match error.downcast_ref::<Error>() {
        Some(Error::IngestionFailed(status)) => {
            let source = &status.sources[0];
            assert_eq!(source.state, IngestionState::Failed);
            assert_eq!(
                source.error_code.as_deref(),
                Some("BadRequest_MappingReferenceWasNotFound")
            );
        }
        other => panic!("{other:?}"),
    }

    // Untracked (the default): waiting is an error that says why, never a guessed success.
    let untracked = IngestionProperties::new("Emu", "T", DataFormat::Csv);
    let error = first_program(&h.ingest, &untracked, "untracked,1\n")
        .await
        .expect_err("an untracked ingestion cannot be waited on");
    match error.downcast_ref::<Error>() {
        Some(Error::NotTracked(text)) => assert!(text.contains("with_tracking"), "{text}"),
        other => panic!("{other:?}"),
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn queue_protocol_a_first_program_fails_when_its_ingestion_fails() {
    a_first_program_fails_when_its_ingestion_fails(false, IngestProtocol::Auto).await;
}

#[tokio::test]
async fn rest_protocol_a_first_program_fails_when_its_ingestion_fails() {
    a_first_program_fails_when_its_ingestion_fails(true, IngestProtocol::Auto).await;
}
