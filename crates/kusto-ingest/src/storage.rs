//! Azure Storage as the ingestion needs it, through the official `azure_storage_blob` and
//! `azure_storage_queue` crates (blocks staged and committed, queue messages sent), and one small
//! client of our own for the status table on `azure_core`'s pipeline (no maintained Table crate
//! exists in the 1.x line). Every request goes through the `reqwest` client of the
//! `KustoClient`, so its proxy and timeouts apply to storage too. Clients are built from SAS URLs
//! only, never with a credential; errors show URLs without their SAS.
//!
//! Retries are the SDK's one [`RetryPolicy`] (the pipelines' own retry is off): every request
//! that may be sent again is retried on transient failures (408, 429, 5xx, a connection that
//! failed), with jitter and the `Retry-After` storage sends. A queue message is the exception:
//! it is resent only when it cannot have been stored.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use azure_core::http::{
    ClientOptions, Method, Pipeline, Request, RequestContent, RetryOptions, Transport,
};
use azure_storage_blob::models::BlockLookupList;
use azure_storage_blob::{BlockBlobClient, BlockBlobClientOptions};
use azure_storage_queue::models::QueueMessage;
use azure_storage_queue::{QueueClient, QueueClientOptions};
use bytes::Bytes;
use kusto_data::RetryPolicy;
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use crate::error::{Error, StorageService};
use crate::ranking::account_name;
use kusto_data::redact::url as without_query;

/// The retry policy of storage requests unless the client is given one: four attempts, 200 ms
/// doubling to 5 s, at most a minute; failing faster than requests to the service, because a
/// source that fails on one account moves to the next.
pub(crate) fn default_storage_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
        .with_deadline(Some(Duration::from_secs(60)))
}

/// True for a storage failure worth another attempt of the same request: 408, 429, 5xx, or no
/// answer (the connection could not be made or broke).
fn is_transient(error: &azure_core::Error) -> bool {
    match error.kind() {
        azure_core::error::ErrorKind::HttpResponse { status, .. } => {
            let status = u16::from(*status);
            matches!(status, 408 | 429) || status >= 500
        }
        azure_core::error::ErrorKind::Connection | azure_core::error::ErrorKind::Io => true,
        _ => false,
    }
}

/// The `Retry-After` of a storage error answer.
fn retry_after(error: &azure_core::Error) -> Option<Duration> {
    match error.kind() {
        azure_core::error::ErrorKind::HttpResponse {
            raw_response: Some(response),
            ..
        } => response
            .headers()
            .get_optional_str(&azure_core::http::headers::RETRY_AFTER)
            .and_then(RetryPolicy::parse_retry_after),
        _ => None,
    }
}

/// Storage clients sharing one HTTP client and retry policy.
#[derive(Clone)]
pub(crate) struct Storage {
    http: reqwest::Client,
    retry: RetryPolicy,
    table_pipeline: Arc<Pipeline>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Storage {
    pub(crate) fn new(http: reqwest::Client, retry: RetryPolicy) -> Self {
        let options = client_options(&http);
        let table_pipeline = Arc::new(Pipeline::new(
            Some("kusto-ingest"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            Vec::new(),
            None,
        ));
        Storage {
            http,
            retry,
            table_pipeline,
        }
    }

    fn options(&self) -> ClientOptions {
        client_options(&self.http)
    }

    /// Runs one storage request with the retry policy; `request` is called once per attempt.
    async fn retried<T, F, Fut>(&self, mut request: F) -> azure_core::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = azure_core::Result<T>>,
    {
        self.retry
            .run_with(|_| request(), is_transient, retry_after)
            .await
    }

    /// A block-blob client for `name` in the container at `container` (a SAS URL).
    pub(crate) fn blob(&self, container: &Url, name: &str) -> Result<BlobTarget, Error> {
        let mut url = container.clone();
        url.path_segments_mut()
            .map_err(|()| {
                storage_error(
                    StorageService::Blob,
                    container,
                    None,
                    None,
                    "the container URL cannot take a blob name",
                )
            })?
            .pop_if_empty()
            .push(name);
        let client = BlockBlobClient::new(
            url.clone(),
            None,
            Some(BlockBlobClientOptions {
                client_options: self.options(),
                ..Default::default()
            }),
        )
        .map_err(|e| from_azure(StorageService::Blob, &url, e))?;
        Ok(BlobTarget {
            client,
            url,
            storage: self.clone(),
        })
    }

    /// The size in bytes of the blob at `url` (a SAS URL), from its properties.
    pub(crate) async fn blob_size(&self, url: &Url) -> Result<Option<u64>, Error> {
        use azure_storage_blob::models::BlobClientGetPropertiesResultHeaders as _;
        let client = azure_storage_blob::BlobClient::new(
            url.clone(),
            None,
            Some(azure_storage_blob::BlobClientOptions {
                client_options: self.options(),
                ..Default::default()
            }),
        )
        .map_err(|e| from_azure(StorageService::Blob, url, e))?;
        let properties = self
            .retried(|| client.get_properties(None))
            .await
            .map_err(|e| from_azure(StorageService::Blob, url, e))?;
        properties
            .content_length()
            .map_err(|e| from_azure(StorageService::Blob, url, e))
    }

    fn queue(&self, queue: &Url) -> Result<QueueClient, Error> {
        QueueClient::new(
            queue.clone(),
            None,
            Some(QueueClientOptions {
                client_options: self.options(),
                ..Default::default()
            }),
        )
        .map_err(|e| from_azure(StorageService::Queue, queue, e))
    }

    /// Sends `text` (already encoded) to the queue at `queue` (a SAS URL).
    ///
    /// A message sent twice is ingested twice, so it is resent (with the retry policy's
    /// schedule) only where it cannot have been stored: the service answered with a transient
    /// error status, or the connection could not be made. A failure once the request may have
    /// gone out (the connection broke, no answer came) ends with [`SendFailure::MaybeSent`] and
    /// is never retried.
    pub(crate) async fn send_message(&self, queue: &Url, text: String) -> Result<(), SendFailure> {
        let client = self.queue(queue).map_err(SendFailure::NotSent)?;
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let content = RequestContent::try_from(QueueMessage {
                message_text: Some(text.clone()),
            })
            .map_err(|e| SendFailure::NotSent(from_azure(StorageService::Queue, queue, e)))?;
            let error = match client.send_message(content, None).await {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let not_sent = matches!(
                error.kind(),
                azure_core::error::ErrorKind::HttpResponse { .. }
                    | azure_core::error::ErrorKind::Connection
            );
            let (transient, after) = (is_transient(&error), retry_after(&error));
            let error = from_azure(StorageService::Queue, queue, error);
            if !not_sent {
                return Err(SendFailure::MaybeSent(error));
            }
            if !transient || attempt >= self.retry.max_attempts() {
                return Err(SendFailure::NotSent(error));
            }
            let delay = self.retry.delay(attempt, after);
            if !self.retry.allows(started.elapsed(), delay) {
                return Err(SendFailure::NotSent(error));
            }
            tracing::debug!(attempt, ?delay, %error, "the queue refused the message; resending");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Reads and optionally removes up to `count` messages of the queue at `queue`, returning
    /// their texts.
    pub(crate) async fn read_messages(
        &self,
        queue: &Url,
        count: u8,
        remove: bool,
    ) -> Result<Vec<String>, Error> {
        let client = self.queue(queue)?;
        let count = count.clamp(1, 32);
        let error = |e| from_azure(StorageService::Queue, queue, e);
        if !remove {
            let options = azure_storage_queue::models::QueueClientPeekMessagesOptions {
                number_of_messages: Some(i32::from(count)),
                ..Default::default()
            };
            let peeked = self
                .retried(|| client.peek_messages(Some(options.clone())))
                .await
                .map_err(error)?
                .into_model()
                .map_err(error)?;
            return Ok(peeked
                .items
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.message_text)
                .collect());
        }
        let options = azure_storage_queue::models::QueueClientReceiveMessagesOptions {
            number_of_messages: Some(i32::from(count)),
            ..Default::default()
        };
        let received = self
            .retried(|| client.receive_messages(Some(options.clone())))
            .await
            .map_err(error)?
            .into_model()
            .map_err(error)?;
        let mut texts = Vec::new();
        for message in received.items.unwrap_or_default() {
            if let (Some(id), Some(receipt)) = (&message.message_id, &message.pop_receipt) {
                self.retried(|| client.delete_message(id, receipt, None))
                    .await
                    .map_err(error)?;
            }
            if let Some(text) = message.message_text {
                texts.push(text);
            }
        }
        Ok(texts)
    }

    /// Writes `entity` (with its `PartitionKey` and `RowKey`) into the table at `table` (a SAS
    /// URL): Insert Or Replace Entity, so that a retried request is harmless.
    pub(crate) async fn insert_entity(
        &self,
        table: &Url,
        partition_key: &str,
        row_key: &str,
        entity: &Value,
    ) -> Result<(), Error> {
        let url = entity_url(table, partition_key, row_key)?;
        let body = Bytes::from(entity.to_string());
        self.retried(|| {
            let mut request = Request::new(url.clone(), Method::Put);
            table_headers(&mut request);
            request.insert_header("content-type", "application/json");
            request.set_body(body.clone());
            let pipeline = Arc::clone(&self.table_pipeline);
            async move {
                pipeline
                    .send(&azure_core::http::Context::new(), &mut request, None)
                    .await
            }
        })
        .await
        .map_err(|e| from_azure(StorageService::Table, table, e))?;
        Ok(())
    }

    /// Reads the entity of `partition_key` / `row_key` from the table at `table`.
    pub(crate) async fn get_entity(
        &self,
        table: &Url,
        partition_key: &str,
        row_key: &str,
    ) -> Result<Value, Error> {
        let url = entity_url(table, partition_key, row_key)?;
        let response = self
            .retried(|| {
                let mut request = Request::new(url.clone(), Method::Get);
                table_headers(&mut request);
                let pipeline = Arc::clone(&self.table_pipeline);
                async move {
                    pipeline
                        .send(&azure_core::http::Context::new(), &mut request, None)
                        .await
                }
            })
            .await
            .map_err(|e| from_azure(StorageService::Table, table, e))?;
        serde_json::from_slice(response.body()).map_err(|e| {
            Error::Protocol(format!(
                "the status entity of {} is not JSON: {e}",
                without_query(table)
            ))
        })
    }
}

fn table_headers(request: &mut Request) {
    request.insert_header("accept", "application/json;odata=nometadata");
    request.insert_header("x-ms-version", "2019-02-02");
    request.insert_header("dataserviceversion", "3.0");
}

/// The URL of one entity: the table's last path segment becomes
/// `Table(PartitionKey='..',RowKey='..')`, the SAS query kept.
fn entity_url(table: &Url, partition_key: &str, row_key: &str) -> Result<Url, Error> {
    let name = table
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            storage_error(
                StorageService::Table,
                table,
                None,
                None,
                "the status table URL names no table",
            )
        })?;
    let quote = |key: &str| key.replace('\'', "''");
    let mut url = table.clone();
    url.path_segments_mut()
        .map_err(|()| storage_error(StorageService::Table, table, None, None, "bad table URL"))?
        .pop()
        .push(&format!(
            "{name}(PartitionKey='{}',RowKey='{}')",
            quote(partition_key),
            quote(row_key)
        ));
    Ok(url)
}

/// Client options of every storage client: this client's transport, and no retry of the
/// pipeline's own (requests are retried with the SDK's [`RetryPolicy`]).
fn client_options(http: &reqwest::Client) -> ClientOptions {
    ClientOptions {
        transport: Some(Transport::new(Arc::new(http.clone()))),
        retry: RetryOptions::none(),
        ..Default::default()
    }
}

/// Why a queue message was not (known to be) sent.
#[derive(Debug)]
pub(crate) enum SendFailure {
    /// The message is not in the queue: the service refused it or could not be reached.
    NotSent(Error),
    /// The request may have reached the queue and the message may be stored.
    MaybeSent(Error),
}

/// A block blob being written.
pub(crate) struct BlobTarget {
    client: BlockBlobClient,
    url: Url,
    storage: Storage,
}

impl BlobTarget {
    /// The blob's URL, with the container's SAS.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// Writes the whole blob in one request.
    pub(crate) async fn put(&self, data: Bytes) -> Result<(), Error> {
        let length = data.len() as u64;
        self.storage
            .retried(|| {
                let options = azure_storage_blob::models::BlockBlobClientUploadOptions {
                    partition_size: std::num::NonZero::new(length.max(1)),
                    parallel: std::num::NonZero::new(1),
                    ..Default::default()
                };
                self.client.upload(data.clone().into(), Some(options))
            })
            .await
            .map_err(|e| from_azure(StorageService::Blob, &self.url, e))?;
        Ok(())
    }

    /// Stages one block.
    pub(crate) async fn stage(&self, block_id: &[u8], data: Bytes) -> Result<(), Error> {
        let length = data.len() as u64;
        self.storage
            .retried(|| {
                self.client
                    .stage_block(block_id, length, data.clone().into(), None)
            })
            .await
            .map_err(|e| from_azure(StorageService::Blob, &self.url, e))?;
        Ok(())
    }

    /// Commits the staged blocks in order.
    pub(crate) async fn commit(&self, block_ids: Vec<Vec<u8>>) -> Result<(), Error> {
        self.storage
            .retried(|| {
                let list = BlockLookupList {
                    latest: Some(block_ids.clone()),
                    ..Default::default()
                };
                let client = &self.client;
                async move {
                    let content = list.try_into()?;
                    client.commit_block_list(content, None).await
                }
            })
            .await
            .map_err(|e| from_azure(StorageService::Blob, &self.url, e))?;
        Ok(())
    }
}

fn storage_error(
    service: StorageService,
    url: &Url,
    status: Option<u16>,
    code: Option<String>,
    message: &str,
) -> Error {
    Error::Storage {
        service,
        account: account_name(url),
        status,
        code,
        message: format!("{}: {message}", without_query(url)),
    }
}

/// A storage error of the azure crates as this crate's error, without any URL query (SAS) in
/// its text.
pub(crate) fn from_azure(service: StorageService, url: &Url, error: azure_core::Error) -> Error {
    let (status, code) = match error.kind() {
        azure_core::error::ErrorKind::HttpResponse {
            status, error_code, ..
        } => (Some(u16::from(*status)), error_code.clone()),
        _ => (None, None),
    };
    let text = kusto_data::redact::urls_in(&error.to_string());
    storage_error(service, url, status, code, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_urls_quote_their_keys_and_keep_the_sas() {
        let table = Url::parse("http://127.0.0.1:1/acct/status?sv=1&tn=status&sig=x").unwrap();
        let url = entity_url(&table, "a'b", "c").unwrap();
        assert_eq!(url.path(), "/acct/status(PartitionKey='a''b',RowKey='c')");
        assert_eq!(url.query(), Some("sv=1&tn=status&sig=x"));
    }
}
