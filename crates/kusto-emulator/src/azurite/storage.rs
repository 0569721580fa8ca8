//! A minimal Azure Storage client over plain HTTP and SAS URLs: blobs, queue messages and table
//! entities, as the data-management worker (and tests) need them.
//!
//! Every call takes a resource URL that carries its SAS, exactly as handed out by
//! `.get ingestion resources` or found in an ingestion message. Messages never print the SAS:
//! URLs are shown without their query string.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};
use url::Url;

/// The storage API version sent with every request.
const VERSION: &str = "2021-08-06";
/// The table API version (the one Azure Tables documents for JSON payloads).
const TABLE_VERSION: &str = "2019-02-02";

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} {url}: {kind:?}: {message}")]
pub struct StorageError {
    /// What was attempted (`download blob`, `post message`, ...).
    pub operation: &'static str,
    /// The resource URL without its SAS.
    pub url: String,
    /// The class of failure.
    pub kind: StorageErrorKind,
    /// Details: status and storage error code, or the transport error.
    pub message: String,
}

/// The class of a storage failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// 404: the blob, queue, message or entity does not exist.
    NotFound,
    /// 403: the SAS is invalid, expired or lacks the permission.
    Forbidden,
    /// 412 / 409: a condition failed (stale ETag, entity exists).
    Conflict,
    /// Other 4xx.
    BadRequest,
    /// 5xx, 408, 429: the service may succeed later.
    Transient,
    /// The connection failed or timed out.
    Network,
}

/// The URL without query string, safe to show.
pub fn without_sas(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

/// Appends a path segment to a resource URL, keeping its SAS query.
pub fn child_url(base: &Url, segment: &str) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(segment);
    }
    url
}

/// A received queue message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// `MessageId`.
    pub id: String,
    /// `PopReceipt` (needed to delete); empty for peeked messages.
    pub pop_receipt: String,
    /// `DequeueCount`.
    pub dequeue_count: u32,
    /// `MessageText`, XML-unescaped (still base64 when the sender encoded it).
    pub text: String,
}

/// A storage client over one HTTP connection pool.
#[derive(Debug, Clone)]
pub struct StorageClient {
    http: reqwest::Client,
}

impl Default for StorageClient {
    fn default() -> Self {
        Self::new()
    }
}

impl StorageClient {
    /// A client with 10 s connect and 60 s request timeouts.
    pub fn new() -> Self {
        let http = crate::http_client_builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .build()
            .unwrap_or_default();
        StorageClient { http }
    }

    async fn send(
        &self,
        operation: &'static str,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, StorageError> {
        let fail = |kind, message: String| StorageError {
            operation,
            url: without_sas(url),
            kind,
            message,
        };
        let response = request
            .send()
            .await
            .map_err(|e| fail(StorageErrorKind::Network, e.without_url().to_string()))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let code = response
            .headers()
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let kind = match status {
            404 => StorageErrorKind::NotFound,
            403 => StorageErrorKind::Forbidden,
            409 | 412 => StorageErrorKind::Conflict,
            408 | 429 => StorageErrorKind::Transient,
            s if s >= 500 => StorageErrorKind::Transient,
            _ => StorageErrorKind::BadRequest,
        };
        Err(fail(
            kind,
            format!("HTTP {status} {code}").trim().to_owned(),
        ))
    }

    /// Downloads a whole blob.
    pub async fn download_blob(&self, blob: &Url) -> Result<Bytes, StorageError> {
        let request = self.http.get(blob.clone()).header("x-ms-version", VERSION);
        let response = self.send("download blob", blob, request).await?;
        response.bytes().await.map_err(|e| StorageError {
            operation: "download blob",
            url: without_sas(blob),
            kind: StorageErrorKind::Network,
            message: e.without_url().to_string(),
        })
    }

    /// Uploads a block blob in one request (replacing any existing blob).
    pub async fn upload_blob(&self, blob: &Url, data: Bytes) -> Result<(), StorageError> {
        let request = self
            .http
            .put(blob.clone())
            .header("x-ms-version", VERSION)
            .header("x-ms-blob-type", "BlockBlob")
            .body(data);
        self.send("upload blob", blob, request).await.map(|_| ())
    }

    /// Deletes a blob.
    pub async fn delete_blob(&self, blob: &Url) -> Result<(), StorageError> {
        let request = self
            .http
            .delete(blob.clone())
            .header("x-ms-version", VERSION);
        self.send("delete blob", blob, request).await.map(|_| ())
    }

    /// Posts a message (the text is sent as given; Kusto messages are base64 JSON).
    pub async fn send_message(&self, queue: &Url, text: &str) -> Result<(), StorageError> {
        let url = child_url(queue, "messages");
        let body = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            quick_xml::escape::escape(text)
        );
        let request = self
            .http
            .post(url.clone())
            .header("x-ms-version", VERSION)
            .body(body);
        self.send("post message", &url, request).await.map(|_| ())
    }

    /// Receives up to `max` (1..=32) messages, hiding them for `visibility`.
    pub async fn receive_messages(
        &self,
        queue: &Url,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StorageError> {
        let mut url = child_url(queue, "messages");
        url.query_pairs_mut()
            .append_pair("numofmessages", &max.clamp(1, 32).to_string())
            .append_pair(
                "visibilitytimeout",
                &visibility.as_secs().max(1).to_string(),
            );
        self.list_messages("receive messages", &url).await
    }

    /// Peeks at up to `max` (1..=32) messages without hiding them.
    pub async fn peek_messages(
        &self,
        queue: &Url,
        max: u32,
    ) -> Result<Vec<QueueMessage>, StorageError> {
        let mut url = child_url(queue, "messages");
        url.query_pairs_mut()
            .append_pair("peekonly", "true")
            .append_pair("numofmessages", &max.clamp(1, 32).to_string());
        self.list_messages("peek messages", &url).await
    }

    async fn list_messages(
        &self,
        operation: &'static str,
        url: &Url,
    ) -> Result<Vec<QueueMessage>, StorageError> {
        let request = self.http.get(url.clone()).header("x-ms-version", VERSION);
        let response = self.send(operation, url, request).await?;
        let text = response.text().await.map_err(|e| StorageError {
            operation,
            url: without_sas(url),
            kind: StorageErrorKind::Network,
            message: e.without_url().to_string(),
        })?;
        Ok(parse_messages(&text))
    }

    /// Deletes a received message.
    pub async fn delete_message(
        &self,
        queue: &Url,
        message: &QueueMessage,
    ) -> Result<(), StorageError> {
        let mut url = child_url(&child_url(queue, "messages"), &message.id);
        url.query_pairs_mut()
            .append_pair("popreceipt", &message.pop_receipt);
        let request = self
            .http
            .delete(url.clone())
            .header("x-ms-version", VERSION);
        self.send("delete message", &url, request).await.map(|_| ())
    }

    fn entity_url(table: &Url, partition_key: &str, row_key: &str) -> Url {
        let mut url = table.clone();
        let name = url
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_owned))
            .unwrap_or_default();
        let entity = format!(
            "{name}(PartitionKey='{}',RowKey='{}')",
            partition_key.replace('\'', "''"),
            row_key.replace('\'', "''")
        );
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop().push(&entity);
        }
        url
    }

    /// Inserts or merges an entity (PATCH without `If-Match`).
    pub async fn merge_entity(
        &self,
        table: &Url,
        partition_key: &str,
        row_key: &str,
        properties: &Map<String, Value>,
    ) -> Result<(), StorageError> {
        let url = Self::entity_url(table, partition_key, row_key);
        let request = self
            .http
            .patch(url.clone())
            .header("x-ms-version", TABLE_VERSION)
            .header("dataserviceversion", "3.0")
            .header("accept", "application/json;odata=nometadata")
            .header("content-type", "application/json")
            .body(Value::Object(properties.clone()).to_string());
        self.send("merge entity", &url, request).await.map(|_| ())
    }

    /// Reads an entity; `None` when it does not exist.
    pub async fn get_entity(
        &self,
        table: &Url,
        partition_key: &str,
        row_key: &str,
    ) -> Result<Option<Map<String, Value>>, StorageError> {
        let url = Self::entity_url(table, partition_key, row_key);
        let request = self
            .http
            .get(url.clone())
            .header("x-ms-version", TABLE_VERSION)
            .header("dataserviceversion", "3.0")
            .header("accept", "application/json;odata=nometadata");
        let response = match self.send("get entity", &url, request).await {
            Ok(response) => response,
            Err(e) if e.kind == StorageErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let text = response.text().await.unwrap_or_default();
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            _ => Err(StorageError {
                operation: "get entity",
                url: without_sas(&url),
                kind: StorageErrorKind::BadRequest,
                message: "the entity is not a JSON object".to_owned(),
            }),
        }
    }
}

/// XML text unescaped (`&amp;`, `&#65;`, ...); the text as is when it holds a malformed or
/// unknown entity.
fn xml_unescape(text: &str) -> String {
    quick_xml::escape::unescape(text)
        .map(|t| t.into_owned())
        .unwrap_or_else(|_| text.to_owned())
}

fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// Reads the `QueueMessagesList` XML of a receive or peek answer.
fn parse_messages(xml: &str) -> Vec<QueueMessage> {
    xml.split("<QueueMessage>")
        .skip(1)
        .filter_map(|part| {
            let body = part.split("</QueueMessage>").next()?;
            Some(QueueMessage {
                id: xml_unescape(element(body, "MessageId")?),
                pop_receipt: element(body, "PopReceipt")
                    .map(xml_unescape)
                    .unwrap_or_default(),
                dequeue_count: element(body, "DequeueCount")
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or(0),
                text: element(body, "MessageText")
                    .map(xml_unescape)
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_xml_is_read_and_unescaped() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList>\
            <QueueMessage><MessageId>id-1</MessageId><InsertionTime>x</InsertionTime>\
            <PopReceipt>p&amp;1</PopReceipt><DequeueCount>2</DequeueCount>\
            <MessageText>a&lt;b&gt;&#65;&#x42;&amp;</MessageText></QueueMessage>\
            <QueueMessage><MessageId>id-2</MessageId><MessageText></MessageText></QueueMessage>\
            </QueueMessagesList>";
        let messages = parse_messages(xml);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].id, "id-1");
        assert_eq!(messages[0].pop_receipt, "p&1");
        assert_eq!(messages[0].dequeue_count, 2);
        assert_eq!(messages[0].text, "a<b>AB&");
        assert_eq!(messages[1].text, "");
        assert_eq!(xml_unescape("&bogus; &"), "&bogus; &");
        assert_eq!(xml_unescape(&quick_xml::escape::escape("<&'\">")), "<&'\">");
    }

    #[test]
    fn entity_and_child_urls_keep_the_sas() {
        let table = Url::parse("http://127.0.0.1:1/acct/status?sv=1&tn=status&sig=x").unwrap();
        let entity = StorageClient::entity_url(&table, "p'1", "r");
        assert_eq!(
            entity.path(),
            "/acct/status(PartitionKey='p''1',RowKey='r')"
        );
        assert_eq!(entity.query(), table.query());
        let queue = Url::parse("http://127.0.0.1:1/acct/q?sig=y").unwrap();
        assert_eq!(
            child_url(&queue, "messages").as_str(),
            "http://127.0.0.1:1/acct/q/messages?sig=y"
        );
        assert_eq!(without_sas(&queue), "http://127.0.0.1:1/acct/q");
    }
}
