//! [`StreamingIngestClient`]: low-latency ingestion of small payloads straight into the engine
//! (`POST /v1/rest/ingest/{database}/{table}`), through `kusto-data`'s client.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use kusto_data::client::StreamingIngestOptions;
use kusto_data::endpoints::engine_endpoint;
use kusto_data::{ClientRequestProperties, Compression, ConnectionString, DataSet, KustoClient};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::properties::{IngestionMapping, IngestionProperties};
use crate::source::{IngestionSource, SourceData};

/// The largest request body of streaming ingestion (10 MiB).
pub(crate) const MAX_STREAMING_BODY: usize = kusto_data::client::MAX_STREAMING_BODY;

/// What the service answered to a streaming ingestion.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamingResult {
    /// The source id.
    pub source_id: Uuid,
    /// `ConsumedRecordsCount`: the records the service ingested, when it reported it. Fewer
    /// than the source held means that some were dropped (malformed records are skipped by
    /// some formats).
    pub consumed_records: Option<i64>,
    /// `UpdatePolicyStatus`, when reported.
    pub update_policy_status: Option<String>,
    /// `UpdatePolicyFailureCode`, when reported.
    pub update_policy_failure_code: Option<String>,
    /// `UpdatePolicyFailureReason`, when reported.
    pub update_policy_failure_reason: Option<String>,
}

impl StreamingResult {
    fn from_answer(source_id: Uuid, answer: Option<&DataSet>) -> Self {
        let mut result = StreamingResult {
            source_id,
            consumed_records: None,
            update_policy_status: None,
            update_policy_failure_code: None,
            update_policy_failure_reason: None,
        };
        let Some(row) = answer
            .and_then(|a| a.tables().first())
            .and_then(|t| t.rows().next())
        else {
            return result;
        };
        let text = |name: &str| {
            row.get_string(name)
                .ok()
                .flatten()
                .map(str::to_owned)
                .filter(|s| !s.is_empty())
        };
        result.consumed_records = row.get_i64("ConsumedRecordsCount").ok().flatten();
        result.update_policy_status = text("UpdatePolicyStatus");
        result.update_policy_failure_code = text("UpdatePolicyFailureCode");
        result.update_policy_failure_reason = text("UpdatePolicyFailureReason");
        result
    }
}

/// The body of a streaming request, read from a source.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    /// The bytes sent.
    pub(crate) body: Bytes,
    /// True when the body is gzip.
    pub(crate) gzip: bool,
}

/// Streaming ingestion into one cluster's engine. Cheap to clone.
///
/// Text formats are gzip-compressed before they are sent; binary formats and gzip input go as
/// they are. Zip input is refused (the streaming endpoint reads no archives). A blob source is
/// sent as a reference (`sourceKind=uri`): the service reads the blob itself. The body may hold
/// at most 10 MiB; larger sources are refused before anything is sent.
///
/// Streaming ingestion honours only the format and a mapping *reference*. Properties it cannot
/// honour (an inline mapping, tags, `ingest_if_not_exists`, a creation time, a zip pattern,
/// `ignore_first_record`, a validation policy, additional properties) are refused with
/// [`Error::InvalidProperty`]; [`ManagedStreamingIngestClient`](crate::ManagedStreamingIngestClient)
/// sends such sources queued. Nothing is retried here: the service may have ingested a body
/// whose answer was lost, so the managed client decides about retries.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use kusto_ingest::{
///     ConnectionString, DataFormat, IngestionProperties, IngestionSource, StreamingIngestClient,
/// };
///
/// let client = StreamingIngestClient::new(ConnectionString::parse("http://127.0.0.1:8080")?)?;
/// let properties = IngestionProperties::new("Samples", "Events", DataFormat::Json);
/// let result = client
///     .ingest(IngestionSource::bytes("{\"Id\":1}\n"), &properties)
///     .await?;
/// println!("{:?} records", result.consumed_records);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StreamingIngestClient {
    kusto: KustoClient,
    timeout: Option<Duration>,
}

impl fmt::Debug for StreamingIngestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingIngestClient")
            .field("kusto", &self.kusto)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Builds a [`StreamingIngestClient`].
#[derive(Debug)]
#[must_use]
pub struct StreamingIngestClientBuilder {
    kusto: std::result::Result<KustoClient, kusto_data::Error>,
    timeout: Option<Duration>,
}

impl StreamingIngestClientBuilder {
    /// The server timeout of each request (default 10 minutes); the client waits this long
    /// plus the `KustoClient`'s margin.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<StreamingIngestClient> {
        Ok(StreamingIngestClient {
            kusto: self.kusto?,
            timeout: self.timeout,
        })
    }
}

impl StreamingIngestClient {
    /// A client for the engine of `connection_string`; a data-management URL
    /// (`https://ingest-...`) is turned into the engine's.
    pub fn new(connection_string: ConnectionString) -> Result<Self> {
        Self::builder(connection_string).build()
    }

    /// A client over an engine `KustoClient` (its authentication, HTTP client, trusted
    /// endpoints), with default settings.
    pub fn from_kusto_client(engine_client: KustoClient) -> Self {
        StreamingIngestClient {
            kusto: engine_client,
            timeout: None,
        }
    }

    /// A builder for the engine of `connection_string` (derived as in [`new`](Self::new)).
    pub fn builder(connection_string: ConnectionString) -> StreamingIngestClientBuilder {
        let kusto = engine_endpoint(connection_string.data_source())
            .and_then(|url| KustoClient::new(connection_string.with_data_source(&url)));
        StreamingIngestClientBuilder {
            kusto,
            timeout: None,
        }
    }

    /// A builder over an engine `KustoClient`.
    pub fn builder_from_kusto_client(engine_client: KustoClient) -> StreamingIngestClientBuilder {
        StreamingIngestClientBuilder {
            kusto: Ok(engine_client),
            timeout: None,
        }
    }

    /// The engine client.
    pub fn kusto_client(&self) -> &KustoClient {
        &self.kusto
    }

    /// Streams one source into the table.
    ///
    /// A request that went out and got no usable answer (the connection failed after sending,
    /// the time ran out, the answer could not be read) fails with [`Error::Ambiguous`]: the
    /// rows may or may not have been ingested, and the call is not repeated. An answer with a
    /// success status whose body was then lost is a success (the status says the rows were
    /// committed). A request that could not be sent at all is [`Error::Kusto`].
    pub async fn ingest(
        &self,
        source: IngestionSource,
        properties: &IngestionProperties,
    ) -> Result<StreamingResult> {
        check_streamable(properties)?;
        let source_id = source.source_id;
        let request_id = format!("KRS.executeStreamingIngest;{source_id}");
        let result = if let SourceData::Blob(url) = &source.data {
            self.send_blob(url.as_str(), source_id, properties, request_id)
                .await
        } else {
            let payload = read_payload(source, properties, MAX_STREAMING_BODY).await?;
            self.send(&payload, source_id, properties, request_id).await
        };
        result.map_err(|error| unanswered_is_ambiguous(error, source_id))
    }

    /// Sends one payload with the given client request id.
    pub(crate) async fn send(
        &self,
        payload: &Payload,
        source_id: Uuid,
        properties: &IngestionProperties,
        request_id: String,
    ) -> Result<StreamingResult> {
        let options = self.options(properties, request_id, payload.gzip);
        let answer = self
            .kusto
            .execute_streaming_ingest(
                &properties.database,
                &properties.table,
                payload.body.clone(),
                properties.format,
                &options,
            )
            .await?;
        Ok(StreamingResult::from_answer(source_id, answer.as_ref()))
    }

    /// Streams from a blob reference.
    pub(crate) async fn send_blob(
        &self,
        url: &str,
        source_id: Uuid,
        properties: &IngestionProperties,
        request_id: String,
    ) -> Result<StreamingResult> {
        let options = self.options(properties, request_id, false);
        let answer = self
            .kusto
            .execute_streaming_ingest_from_blob(
                &properties.database,
                &properties.table,
                url,
                properties.format,
                &options,
            )
            .await?;
        Ok(StreamingResult::from_answer(source_id, answer.as_ref()))
    }

    fn options(
        &self,
        properties: &IngestionProperties,
        request_id: String,
        gzip: bool,
    ) -> StreamingIngestOptions {
        let mut request = ClientRequestProperties::new();
        request.set_client_request_id(request_id);
        if let Some(timeout) = self.timeout {
            request.set_server_timeout(timeout);
        }
        let options = StreamingIngestOptions::new()
            .with_compressed(gzip)
            .with_properties(request);
        match &properties.mapping {
            Some(IngestionMapping::Reference(name)) => options.with_mapping_name(name.clone()),
            _ => options,
        }
    }
}

/// [`Error::Ambiguous`] for a failure after the request may have reached the service without
/// an answer saying what it did (a network failure after connecting, a time-out, an answer that
/// cannot be read); every other error as it is.
fn unanswered_is_ambiguous(error: Error, source_id: Uuid) -> Error {
    match error {
        Error::Kusto(
            cause @ (kusto_data::Error::Network { .. }
            | kusto_data::Error::Timeout { .. }
            | kusto_data::Error::MalformedResponse { .. }),
        ) if cause.may_have_reached_service() => Error::Ambiguous { source_id, cause },
        other => other,
    }
}

/// The first property streaming ingestion cannot honour, by field name.
pub(crate) fn unstreamable_property(properties: &IngestionProperties) -> Option<&'static str> {
    if matches!(properties.mapping, Some(IngestionMapping::Columns(_))) {
        Some("mapping")
    } else if !properties.ingest_if_not_exists.is_empty() {
        Some("ingest_if_not_exists")
    } else if !properties.ingest_by_tags.is_empty() {
        Some("ingest_by_tags")
    } else if !properties.drop_by_tags.is_empty() {
        Some("drop_by_tags")
    } else if !properties.additional_tags.is_empty() {
        Some("additional_tags")
    } else if properties.creation_time.is_some() {
        Some("creation_time")
    } else if properties.zip_pattern.is_some() {
        Some("zip_pattern")
    } else if properties.ignore_first_record {
        Some("ignore_first_record")
    } else if properties.validation_policy.is_some() {
        Some("validation_policy")
    } else if !properties.additional_properties.is_empty() {
        Some("additional_properties")
    } else {
        None
    }
}

fn check_streamable(properties: &IngestionProperties) -> Result<()> {
    properties.validate()?;
    match unstreamable_property(properties) {
        Some(field) => Err(Error::property(
            field,
            "streaming ingestion cannot honour this property; use queued ingestion (the managed \
             client does so by itself)",
        )),
        None => Ok(()),
    }
}

/// Reads a source into a streaming body of at most `limit` bytes, compressing it when the
/// format calls for it. Larger sources are an error.
async fn read_payload(
    source: IngestionSource,
    properties: &IngestionProperties,
    limit: usize,
) -> Result<Payload> {
    let compression = source.compression();
    if compression == Compression::Zip {
        return Err(Error::InvalidArgument(
            "streaming ingestion reads no zip archives; use queued ingestion".to_owned(),
        ));
    }
    let data = match source.data {
        SourceData::Bytes(bytes) => bytes,
        SourceData::File(path) => {
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| Error::file(&path, "the file cannot be opened", e))?;
            read_at_most(file, limit as u64 + 1)
                .await
                .map_err(|e| Error::file(&path, "reading the file failed", e))?
        }
        SourceData::Reader(reader) => read_at_most(reader, limit as u64 + 1)
            .await
            .map_err(Error::Read)?,
        SourceData::Reopen(open) => read_at_most(open(), limit as u64 + 1)
            .await
            .map_err(Error::Read)?,
        SourceData::Blob(_) => {
            return Err(Error::InvalidArgument(
                "a blob source has no payload".to_owned(),
            ));
        }
    };
    let payload = make_payload(data, compression, properties).await?;
    if payload.body.len() > limit {
        return Err(Error::InvalidArgument(format!(
            "the streaming body would exceed {limit} bytes; use queued ingestion"
        )));
    }
    Ok(payload)
}

/// Bodies up to this size are compressed (or inflated to count their raw size) on the async
/// task itself: it takes well under a millisecond, less than handing it to a blocking task, and
/// a blocking task per small body grows tokio's blocking pool (and the process's memory: a
/// load test of 64 tasks streaming small bodies grew 72 MiB) for nothing.
const INLINE_CPU_BYTES: usize = 64 * 1024;

/// Runs `work` on `bytes` of input inline when they are few, else in a blocking task, off the
/// executor.
pub(crate) async fn cpu_work<T: Send + 'static>(
    bytes: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    if bytes <= INLINE_CPU_BYTES {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Read(std::io::Error::other(e)))
}

/// Compresses `data` when the format calls for it and it is not gzip already. The compression
/// of a large body (up to the 10 MiB a streaming body may hold) runs in a blocking task, off the
/// executor.
pub(crate) async fn make_payload(
    data: Bytes,
    compression: Compression,
    properties: &IngestionProperties,
) -> Result<Payload> {
    match compression {
        Compression::GZip => Ok(Payload {
            body: data,
            gzip: true,
        }),
        Compression::None if properties.format.compress_before_upload() => {
            let body = cpu_work(data.len(), move || {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 3 + 64),
                    flate2::Compression::new(crate::upload::DEFAULT_COMPRESSION_LEVEL),
                );
                encoder.write_all(&data)?;
                encoder.finish()
            })
            .await?
            .map_err(Error::Read)?;
            Ok(Payload {
                body: Bytes::from(body),
                gzip: true,
            })
        }
        Compression::None => Ok(Payload {
            body: data,
            gzip: false,
        }),
        Compression::Zip => Err(Error::InvalidArgument(
            "streaming ingestion reads no zip archives; use queued ingestion".to_owned(),
        )),
        other => Err(Error::InvalidArgument(format!(
            "streaming ingestion cannot send {other:?} data; use queued ingestion"
        ))),
    }
}

/// Reads at most `limit` bytes.
pub(crate) async fn read_at_most<R: tokio::io::AsyncRead + Unpin>(
    reader: R,
    limit: u64,
) -> std::io::Result<Bytes> {
    let mut data = Vec::new();
    reader.take(limit).read_to_end(&mut data).await?;
    Ok(Bytes::from(data))
}
