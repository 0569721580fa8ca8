//! The REST ingestion protocol (kusto-protocol.md 1.5): configuration, queued submission and
//! operation status.

use serde_json::{Value as Json, json};

use super::DataManagement;
use super::message::parse_rest_request;
use super::worker::submit_rest;
use crate::errors::ServiceError;
use crate::store::Store;
use crate::time;

/// `GET /v1/rest/ingestion/configuration`.
pub(crate) fn configuration(dm: &DataManagement) -> String {
    let containers: Vec<Json> = dm
        .resource_urls("TempStorage")
        .into_iter()
        .map(|url| json!({ "path": url.as_str() }))
        .collect();
    json!({
        "containerSettings": {
            "containers": containers,
            "lakeFolders": [],
            "refreshInterval": "01:00:00",
            "preferredUploadMethod": "Storage",
        },
        "ingestionSettings": {
            "maxBlobsPerBatch": dm.options.max_blobs_per_batch,
            "maxDataSize": 6_442_450_944_u64,
            "preferredIngestionMethod": "Rest",
        },
    })
    .to_string()
}

fn bad_request(detail: impl Into<String>) -> ServiceError {
    ServiceError::new(
        400,
        "BadRequest",
        "Kusto.DataManagement.Exceptions.BadRequestException",
        detail,
        true,
    )
}

/// The canonical database name, or the error a submission gets.
fn database(dm: &DataManagement, store: &Store, name: &str) -> Result<String, ServiceError> {
    let found = if dm.auto_create_databases {
        store.ensure_database(name).ok()
    } else {
        store.database_name(name)
    };
    found.ok_or_else(|| {
        ServiceError::new(
            400,
            "BadRequest_DatabaseNotExist",
            "Kusto.DataManagement.Exceptions.DatabaseNotFoundException",
            format!("Database '{name}' was not found."),
            true,
        )
    })
}

/// `POST /v1/rest/ingestion/queued/{database}/{table}`: validates the whole request before
/// queuing anything, so that a rejected request ingests nothing.
pub(crate) fn submit(
    dm: &DataManagement,
    db: &str,
    table: &str,
    body: &[u8],
) -> Result<String, ServiceError> {
    let database = database(dm, &dm.store, db)?;
    if dm.store.table_schema(&database, table).is_err() {
        return Err(ServiceError::new(
            400,
            "BadRequest_TableNotExist",
            "Kusto.DataManagement.Exceptions.TableNotFoundException",
            format!("Table '{table}' was not found in database '{database}'."),
            true,
        ));
    }
    let request = parse_rest_request(body, &database, table, dm.options.max_blobs_per_batch)
        .map_err(bad_request)?;
    if crate::ingest::DataFormat::parse(&request.template.format).is_none() {
        return Err(bad_request(format!(
            "The format '{}' is not a known data format",
            request.template.format
        )));
    }
    let id = submit_rest(dm, request).map_err(|e| {
        ServiceError::new(
            503,
            "ServiceUnavailable",
            "Kusto.DataManagement.Exceptions.ServiceUnavailableException",
            e,
            false,
        )
    })?;
    Ok(json!({ "ingestionOperationId": id }).to_string())
}

/// `GET /v1/rest/ingestion/queued/{database}/{table}/{operationId}?details=`.
pub(crate) fn status(
    dm: &DataManagement,
    db: &str,
    table: &str,
    operation_id: &str,
    details: bool,
) -> Result<String, ServiceError> {
    let operations = dm.operations();
    let operation = operations
        .get(operation_id)
        .filter(|o| o.database.eq_ignore_ascii_case(db) && o.table == table)
        .ok_or_else(|| {
            ServiceError::new(
                404,
                "NotFound",
                "Kusto.DataManagement.Exceptions.OperationNotFoundException",
                format!(
                    "The ingestion operation '{operation_id}' of table '{db}.{table}' was not found."
                ),
                true,
            )
        })?;
    let count = |status: &str| {
        operation
            .blobs
            .iter()
            .filter(|b| b.status == status)
            .count()
    };
    let mut body = json!({
        "startTime": time::format_datetime(operation.start_time),
        "lastUpdated": time::format_datetime(operation.last_updated),
        "status": {
            "succeeded": count("Succeeded"),
            "failed": count("Failed"),
            "inProgress": count("InProgress") + count("Queued"),
            "canceled": count("Canceled"),
        },
    });
    if details {
        let blobs: Vec<Json> = operation
            .blobs
            .iter()
            .map(|b| {
                let mut blob = json!({
                    "sourceId": b.source_id.to_string(),
                    "url": b.url,
                    "status": b.status,
                    "startedAt": time::format_datetime(b.started_at),
                    "startTime": time::format_datetime(b.started_at),
                    "lastUpdateTime": time::format_datetime(b.last_update),
                    "lastUpdated": time::format_datetime(b.last_update),
                });
                if let (Some(failure), Some(object)) = (&b.failure, blob.as_object_mut()) {
                    object.insert("errorCode".into(), failure.code.into());
                    object.insert("failureStatus".into(), failure.status.as_str().into());
                    object.insert("details".into(), failure.details.clone().into());
                }
                blob
            })
            .collect();
        if let Some(object) = body.as_object_mut() {
            object.insert("details".into(), Json::Array(blobs));
        }
    }
    Ok(body.to_string())
}
