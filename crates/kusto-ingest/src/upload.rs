//! Uploads: a source read once, compressed as it streams (gzip, when the format calls for it and
//! the data is not compressed already), cut into blocks, and written as a block blob into a
//! container of the best-ranked storage account.
//!
//! Memory is bounded whatever the source size: at most `concurrency` blocks are being staged
//! while one more is filled, so an upload holds about `(concurrency + 1) x block_size` bytes
//! plus one read buffer (with the defaults, 2 x 4 MiB + 4 MiB + 1 MiB). Data that fits one block
//! is written with a single `Put Blob`; larger data with `Put Block` calls and a `Put Block
//! List`.
//!
//! A failed upload moves to the next container in ranked order (each attempt recorded in the
//! ranking): a file or bytes restart from their beginning; a forward-only reader can move only
//! while everything read from it is still in memory (it fit one block); otherwise the upload
//! fails with [`Error::ForwardOnlySource`], after the storage client has retried the failing
//! block itself.
//!
//! Progress ([`crate::progress`]) is reported at fixed points: each read chunk, each block
//! handed to storage and answered (with the raw bytes it holds, see `RawShare`), the commit, and
//! the start of each attempt. Without a tracker each point is a test of an `Option`.

use std::io::Write;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kusto_data::{Compression, DataFormat};
use tokio::io::{AsyncRead, AsyncReadExt};
use url::Url;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::progress::Report;
use crate::properties::IngestionProperties;
use crate::ranking::{RankedAccounts, account_name};
use crate::source::{IngestionSource, SourceData, compressed_file_raw_size, compressed_raw_size};
use crate::storage::Storage;

/// The gzip level used by default: level 3 of zlib-rs compresses about 86 MB/s per core to a
/// ratio of 0.342 on generated CSV, against 55 MB/s and 0.333 at level 6 and a poor 0.50 at
/// level 1.
pub(crate) const DEFAULT_COMPRESSION_LEVEL: u32 = 3;
/// The block size of uploads (4 MiB).
const DEFAULT_BLOCK_SIZE: usize = 4 << 20;
/// Blocks of one upload staged at once.
const DEFAULT_BLOCK_CONCURRENCY: usize = 2;
/// Storage accounts tried for one source.
const DEFAULT_MAX_ACCOUNTS: usize = 3;

const READ_CHUNK: usize = 1 << 20;

/// How a [`QueuedIngestClient`](crate::QueuedIngestClient) uploads and submits sources.
///
/// Memory is bounded whatever the source size: an upload holds about
/// `(block_concurrency + 1) x block_size` bytes plus a 1 MiB read buffer (with the defaults,
/// 2 x 4 MiB + 4 MiB + 1 MiB). Data that fits one block is written with a single `Put Blob`.
///
/// ```
/// use kusto_ingest::UploadOptions;
/// let options = UploadOptions::default().with_compression_level(1).with_block_size(8 << 20);
/// assert_eq!(options.block_concurrency, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOptions {
    /// gzip level 0-9 (default 3: about 86 MB/s per core for a ratio of 0.34 on CSV, against
    /// 55 MB/s and 0.33 at level 6).
    pub compression_level: u32,
    /// Block size in bytes (default 4 MiB; at least 64 KiB, at most 100 MiB).
    pub block_size: usize,
    /// Blocks staged at once per upload (default 2).
    pub block_concurrency: usize,
    /// Storage accounts a source is tried on, in rank order, for its upload and for its queue
    /// message (default 3, at most the accounts there are). Each request is first retried on
    /// its account by the client's retry policy; moving to the next account is a fail-over.
    pub max_accounts: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            compression_level: DEFAULT_COMPRESSION_LEVEL,
            block_size: DEFAULT_BLOCK_SIZE,
            block_concurrency: DEFAULT_BLOCK_CONCURRENCY,
            max_accounts: DEFAULT_MAX_ACCOUNTS,
        }
    }
}

impl UploadOptions {
    /// Sets the gzip level (0-9).
    #[must_use]
    pub fn with_compression_level(mut self, level: u32) -> Self {
        self.compression_level = level;
        self
    }

    /// Sets the block size in bytes (64 KiB to 100 MiB).
    #[must_use]
    pub fn with_block_size(mut self, bytes: usize) -> Self {
        self.block_size = bytes;
        self
    }

    /// Sets how many blocks of one upload are staged at once.
    #[must_use]
    pub fn with_block_concurrency(mut self, blocks: usize) -> Self {
        self.block_concurrency = blocks;
        self
    }

    /// Sets how many storage accounts a source is tried on.
    #[must_use]
    pub fn with_max_accounts(mut self, accounts: usize) -> Self {
        self.max_accounts = accounts;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.compression_level > 9 {
            return Err(Error::InvalidArgument(format!(
                "the gzip level must be 0 to 9, not {}",
                self.compression_level
            )));
        }
        if !(64 << 10..=100 << 20).contains(&self.block_size) {
            return Err(Error::InvalidArgument(format!(
                "the block size must be 64 KiB to 100 MiB, not {} bytes",
                self.block_size
            )));
        }
        if self.block_concurrency == 0 || self.max_accounts == 0 {
            return Err(Error::InvalidArgument(
                "block concurrency and the storage accounts tried must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// A source written to a blob.
#[derive(Debug, Clone)]
pub(crate) struct Uploaded {
    /// The blob URL with the container's SAS.
    pub(crate) url: Url,
    /// The raw (uncompressed) size, where the data tells it.
    pub(crate) raw_size: Option<u64>,
}

/// What one upload attempt left behind when it failed.
enum Failed {
    /// The input can be read again from its start (file, bytes) or is wholly in memory.
    Retry(Error, Option<(Bytes, u64)>),
    /// Part of a forward-only input is gone.
    Fatal(Error),
}

/// The input of an upload attempt.
enum Input {
    File(std::path::PathBuf, u64),
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
    Reopen(crate::source::OpenReader),
}

/// The blob name of a source: `{db}__{table}__{source id}__{name}`, with `.gz` when this
/// client compresses it, and the compression suffix when the name lacks it.
pub(crate) fn blob_name(
    database: &str,
    table: &str,
    source_id: Uuid,
    name: &str,
    format: DataFormat,
    compress: bool,
    compression: Compression,
) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut blob = format!("{database}__{table}__{source_id}__{clean}");
    if clean == "stream" {
        blob.push('.');
        blob.push_str(format.wire_name());
    }
    let lower = blob.to_ascii_lowercase();
    if compress {
        blob.push_str(".gz");
    } else if compression != Compression::None && !lower.ends_with(compression.suffix()) {
        blob.push_str(compression.suffix());
    }
    blob
}

/// What an upload needs from its client.
pub(crate) struct Uploader<'a> {
    pub(crate) storage: &'a Storage,
    pub(crate) ranking: &'a RankedAccounts,
    pub(crate) options: &'a UploadOptions,
    /// Called after a storage authorization failure (the resources are fetched again).
    pub(crate) on_auth_failure: &'a (dyn Fn() + Send + Sync),
    /// Where the upload's progress goes, if anyone listens.
    pub(crate) progress: Report<'a>,
}

/// Uploads `source` to one of `containers`, trying them in ranked order.
pub(crate) async fn upload(
    uploader: &Uploader<'_>,
    containers: &[Url],
    source: IngestionSource,
    properties: &IngestionProperties,
) -> Result<Uploaded> {
    let Uploader {
        storage,
        ranking,
        options,
        on_auth_failure,
        progress,
    } = *uploader;
    let (database, table, format) = (
        properties.database.as_str(),
        properties.table.as_str(),
        properties.format,
    );
    if containers.is_empty() {
        return Err(Error::MissingResource("TempStorage containers"));
    }
    let compression = source.compression();
    let compress = format.compress_before_upload() && compression == Compression::None;
    let name = blob_name(
        database,
        table,
        source.source_id,
        &source.display_name(),
        format,
        compress,
        compression,
    );
    let source_id = source.source_id;
    let given_raw_size = source.raw_size;
    let mut input = match source.data {
        SourceData::File(path) => {
            let metadata = tokio::fs::metadata(&path)
                .await
                .map_err(|e| Error::file(&path, "the file cannot be opened", e))?;
            if !metadata.is_file() {
                return Err(Error::Source {
                    path,
                    message: "not a regular file".to_owned(),
                    source: None,
                });
            }
            Input::File(path, metadata.len())
        }
        SourceData::Bytes(bytes) => Input::Bytes(bytes),
        SourceData::Reader(reader) => Input::Reader(reader),
        SourceData::Reopen(open) => Input::Reopen(open),
        SourceData::Blob(_) => {
            return Err(Error::InvalidArgument(
                "a blob source is not uploaded".to_owned(),
            ));
        }
    };
    // The raw size the data tells by itself, for compressed files and bytes.
    let compressed_raw = match (&input, compression) {
        (_, Compression::None) => None,
        (Input::File(path, _), compression) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || compressed_file_raw_size(&path, compression))
                .await
                .ok()
                .flatten()
        }
        (Input::Bytes(bytes), compression) => compressed_raw_size(bytes, compression),
        (Input::Reader(_) | Input::Reopen(_), _) => None,
    };
    let order = ranking.order(containers);
    let attempts = options.max_accounts.min(order.len()).max(1);
    let mut errors = Vec::new();
    let mut held: Option<(Bytes, u64)> = None;
    let size = match &input {
        Input::File(_, length) => Some(*length),
        Input::Bytes(bytes) => Some(bytes.len() as u64),
        Input::Reader(_) | Input::Reopen(_) => None,
    };
    for (attempt, container) in (1_u32..).zip(order.iter().take(attempts)) {
        let account = account_name(container);
        let target = storage.blob(container, &name)?;
        progress.attempt(attempt, size);
        let result = match (&mut input, held.take()) {
            (_, Some((block, raw))) => {
                progress.read(raw);
                put_whole(&target, block, raw, progress).await
            }
            (Input::File(path, length), None) => {
                let file = tokio::fs::File::open(&*path)
                    .await
                    .map_err(|e| Error::file(path, "the file cannot be opened", e))?;
                let result = write_blob(&target, file, compress, options, true, progress).await;
                match result {
                    Ok(read) if read != *length => {
                        return Err(Error::Source {
                            path: path.clone(),
                            message: format!(
                                "the file changed size during the upload ({length} bytes before, \
                                 {read} read)"
                            ),
                            source: None,
                        });
                    }
                    Err(Failed::Fatal(Error::Read(e))) => {
                        return Err(Error::file(path, "reading the file failed", e));
                    }
                    other => other,
                }
            }
            (Input::Bytes(bytes), None) => {
                write_blob(
                    &target,
                    std::io::Cursor::new(bytes.clone()),
                    compress,
                    options,
                    true,
                    progress,
                )
                .await
            }
            (Input::Reader(reader), None) => {
                write_blob(&target, reader, compress, options, false, progress).await
            }
            (Input::Reopen(open), None) => {
                write_blob(&target, open(), compress, options, true, progress).await
            }
        };
        match result {
            Ok(read) => {
                ranking.record(&account, true);
                let raw_size = if compression == Compression::None {
                    Some(read)
                } else {
                    compressed_raw.or(given_raw_size)
                };
                return Ok(Uploaded {
                    url: target.url().clone(),
                    raw_size,
                });
            }
            Err(Failed::Retry(error, block)) => {
                ranking.record(&account, false);
                if error.is_storage_authorization_failure() {
                    on_auth_failure();
                }
                tracing::debug!(%error, account, "upload failed; trying the next container");
                if matches!(input, Input::Reader(_)) && block.is_none() {
                    return Err(Error::ForwardOnlySource {
                        source_id,
                        cause: Box::new(error),
                    });
                }
                held = block;
                errors.push(error);
            }
            Err(Failed::Fatal(error)) => {
                if matches!(error, Error::Storage { .. }) {
                    ranking.record(&account, false);
                    if error.is_storage_authorization_failure() {
                        on_auth_failure();
                    }
                    return Err(Error::ForwardOnlySource {
                        source_id,
                        cause: Box::new(error),
                    });
                }
                return Err(error);
            }
        }
    }
    Err(Error::AllAccountsFailed {
        what: "upload",
        attempts: errors,
    })
}

/// Where the blocks of an upload go: a block blob (or, in tests, memory).
pub(crate) trait BlockSink: Sync {
    /// Writes the whole blob in one request.
    fn put(&self, data: Bytes) -> impl std::future::Future<Output = Result<()>> + Send;
    /// Stages one block.
    fn stage(
        &self,
        block_id: &[u8],
        data: Bytes,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
    /// Commits the staged blocks in order.
    fn commit(
        &self,
        block_ids: Vec<Vec<u8>>,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

impl BlockSink for crate::storage::BlobTarget {
    fn put(&self, data: Bytes) -> impl std::future::Future<Output = Result<()>> + Send {
        crate::storage::BlobTarget::put(self, data)
    }

    fn stage(
        &self,
        block_id: &[u8],
        data: Bytes,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        crate::storage::BlobTarget::stage(self, block_id, data)
    }

    fn commit(
        &self,
        block_ids: Vec<Vec<u8>>,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        crate::storage::BlobTarget::commit(self, block_ids)
    }
}

async fn put_whole<T: BlockSink>(
    target: &T,
    block: Bytes,
    raw: u64,
    progress: Report<'_>,
) -> Result<u64, Failed> {
    progress.uploading();
    let length = block.len() as u64;
    match target.put(block.clone()).await {
        Ok(()) => {
            progress.block_uploaded(length, raw);
            progress.committed(1);
            Ok(raw)
        }
        Err(error) => Err(Failed::Retry(error, Some((block, raw)))),
    }
}

/// Streams `reader` through the encoder into the blob; returns the number of raw bytes read.
async fn write_blob<R: AsyncRead + Unpin, T: BlockSink>(
    target: &T,
    mut reader: R,
    compress: bool,
    options: &UploadOptions,
    replayable: bool,
    progress: Report<'_>,
) -> Result<u64, Failed> {
    let block_size = options.block_size;
    let mut encoder = compress.then(|| {
        flate2::write::GzEncoder::new(
            Vec::with_capacity(READ_CHUNK),
            flate2::Compression::new(options.compression_level),
        )
    });
    let mut current = BytesMut::with_capacity(block_size);
    // The first full block is held back: if nothing follows it, it goes in one request.
    let mut pending: Option<(Bytes, u64)> = None;
    let mut block_ids: Vec<Vec<u8>> = Vec::new();
    let mut in_flight = FuturesUnordered::new();
    let mut raw: u64 = 0;
    // Which raw bytes each block holds, for the progress: see `RawShare`.
    let mut share = RawShare::default();
    let mut buffer = vec![0u8; READ_CHUNK];
    let fail = |error: Error| {
        if replayable {
            Failed::Retry(error, None)
        } else {
            Failed::Fatal(error)
        }
    };
    loop {
        // Reading and compressing the next chunk happens while the staged blocks upload
        // (`while_uploading` polls both), so a slow link and a slow gzip overlap.
        let next = async {
            let n = read_full(&mut reader, &mut buffer)
                .await
                .map_err(|e| Failed::Fatal(Error::Read(e)))?;
            let finished = n == 0;
            let before = current.len();
            match encoder.take() {
                Some(mut gz) => {
                    let chunk = buffer[..n].to_vec();
                    tracing::trace!(bytes = n, "chunk compression started");
                    let (gz, output) = tokio::task::spawn_blocking(move || {
                        let result = if finished {
                            gz.try_finish()
                        } else {
                            gz.write_all(&chunk)
                        }
                        .map(|()| std::mem::take(gz.get_mut()));
                        (gz, result)
                    })
                    .await
                    .map_err(|e| Failed::Fatal(Error::Read(std::io::Error::other(e))))?;
                    tracing::trace!(bytes = n, "chunk compression finished");
                    current.extend_from_slice(&output.map_err(|e| Failed::Fatal(Error::Read(e)))?);
                    encoder = Some(gz);
                }
                None => current.extend_from_slice(&buffer[..n]),
            }
            Ok::<(usize, usize), Failed>((n, current.len().saturating_sub(before)))
        };
        let (n, produced) = while_uploading(&mut in_flight, next, &fail).await??;
        raw += n as u64;
        share.produced(n as u64, produced as u64);
        progress.read(n as u64);
        let finished = n == 0;
        while current.len() >= block_size {
            let block = current.split_to(block_size).freeze();
            let block_raw = share.cut(block.len() as u64);
            if pending.is_none() && block_ids.is_empty() {
                pending = Some((block, block_raw));
                continue;
            }
            if let Some(first) = pending.take() {
                stage(&mut in_flight, &mut block_ids, target, first, progress);
            }
            stage(
                &mut in_flight,
                &mut block_ids,
                target,
                (block, block_raw),
                progress,
            );
            while in_flight.len() >= options.block_concurrency {
                if let Some(result) = in_flight.next().await {
                    result.map_err(fail)?;
                }
            }
        }
        if finished {
            break;
        }
    }
    let rest = current.split().freeze();
    let rest_raw = share.cut(rest.len() as u64);
    if block_ids.is_empty() {
        let whole = match pending.take() {
            None => Some(rest.clone()),
            Some((first, _)) if rest.is_empty() => Some(first),
            Some(first) => {
                stage(&mut in_flight, &mut block_ids, target, first, progress);
                None
            }
        };
        if let Some(block) = whole {
            return put_whole(target, block, raw, progress).await;
        }
    } else if let Some(first) = pending.take() {
        stage(&mut in_flight, &mut block_ids, target, first, progress);
    }
    if !rest.is_empty() {
        stage(
            &mut in_flight,
            &mut block_ids,
            target,
            (rest, rest_raw),
            progress,
        );
    }
    while let Some(result) = in_flight.next().await {
        result.map_err(fail)?;
    }
    let blocks = block_ids.len() as u64;
    target.commit(block_ids).await.map_err(fail)?;
    progress.committed(blocks);
    Ok(raw)
}

/// Credits each block with the raw bytes it holds, for the progress: data sent as it is maps
/// byte for byte; compressed data in proportion to what the encoder turned out so far (gzip
/// holds some input back, so a block is credited with a little less than it holds, and the
/// last block with the rest).
#[derive(Debug, Default)]
struct RawShare {
    /// Raw bytes read so far.
    raw: u64,
    /// Bytes the encoder produced so far.
    produced: u64,
    /// Bytes cut into blocks so far.
    cut: u64,
    /// Raw bytes credited to blocks so far.
    credited: u64,
}

impl RawShare {
    fn produced(&mut self, raw: u64, produced: u64) {
        self.raw = self.raw.saturating_add(raw);
        self.produced = self.produced.saturating_add(produced);
    }

    /// The raw bytes of the next block, of `length` bytes.
    fn cut(&mut self, length: u64) -> u64 {
        self.cut = self.cut.saturating_add(length).min(self.produced);
        let end = if self.produced == 0 {
            self.raw
        } else {
            let scaled = u128::from(self.raw) * u128::from(self.cut) / u128::from(self.produced);
            u64::try_from(scaled).unwrap_or(u64::MAX).min(self.raw)
        };
        let share = end.saturating_sub(self.credited);
        self.credited = self.credited.max(end);
        share
    }
}

/// Awaits `work` while driving the staged block uploads: each upload connects, sends and takes
/// its answer while the next chunk is read and compressed, instead of waiting until the loop
/// needs a free slot. The first upload that fails ends the wait with its error (`work` is
/// dropped; a compression running in a blocking task finishes and is discarded).
async fn while_uploading<'a, T>(
    in_flight: &mut FuturesUnordered<StageFuture<'a>>,
    work: impl std::future::Future<Output = T>,
    fail: &impl Fn(Error) -> Failed,
) -> Result<T, Failed> {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        while let std::task::Poll::Ready(Some(result)) = in_flight.poll_next_unpin(cx) {
            if let Err(error) = result {
                return std::task::Poll::Ready(Err(fail(error)));
            }
        }
        work.as_mut().poll(cx).map(Ok)
    })
    .await
}

type StageFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

/// Stages `block` (with the raw bytes it holds, for the progress).
fn stage<'a, T: BlockSink>(
    in_flight: &mut FuturesUnordered<StageFuture<'a>>,
    block_ids: &mut Vec<Vec<u8>>,
    target: &'a T,
    (block, raw): (Bytes, u64),
    progress: Report<'a>,
) {
    let id = format!("{:016}", block_ids.len()).into_bytes();
    block_ids.push(id.clone());
    progress.uploading();
    let index = block_ids.len();
    in_flight.push(Box::pin(async move {
        let length = block.len() as u64;
        tracing::trace!(block = index, bytes = length, "block upload started");
        target.stage(&id, block).await?;
        tracing::trace!(block = index, "block upload finished");
        progress.block_uploaded(length, raw);
        Ok(())
    }));
}

/// Reads until `buffer` is full or the input ends.
async fn read_full<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = reader.read(&mut buffer[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The uploads in flight are driven while the next chunk is prepared: here the preparation
    /// can only finish after an upload has, so without them being polled it would never end.
    #[tokio::test]
    async fn staged_uploads_progress_while_the_next_chunk_is_prepared() {
        let (uploaded, upload_done) = tokio::sync::oneshot::channel::<()>();
        let mut in_flight: FuturesUnordered<StageFuture<'static>> = FuturesUnordered::new();
        in_flight.push(Box::pin(async move {
            tokio::task::yield_now().await;
            let _ = uploaded.send(());
            Ok(())
        }));
        let next_chunk = async { upload_done.await.is_ok() };
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            while_uploading(&mut in_flight, next_chunk, &Failed::Fatal),
        )
        .await
        .expect("the upload in flight was not driven while the next chunk was prepared");
        assert_eq!(waited.ok(), Some(true));
        assert!(in_flight.is_empty(), "the finished upload left its slot");
    }

    /// An upload that fails ends the wait with its error, without waiting for the chunk.
    #[tokio::test]
    async fn a_failed_upload_ends_the_wait() {
        let mut in_flight: FuturesUnordered<StageFuture<'static>> = FuturesUnordered::new();
        in_flight.push(Box::pin(async {
            Err(Error::InvalidArgument("refused block".to_owned()))
        }));
        let never = std::future::pending::<()>();
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            while_uploading(&mut in_flight, never, &Failed::Fatal),
        )
        .await
        .expect("a failed upload did not end the wait");
        match waited {
            Err(Failed::Fatal(Error::InvalidArgument(message))) => {
                assert_eq!(message, "refused block");
            }
            _ => panic!("the upload's error was not returned"),
        }
    }
}

/// The progress an upload reports, checked against a block sink in memory.
#[cfg(test)]
mod progress_tests;
