//! [`IngestionSource`]: what to ingest (a file, bytes, any `AsyncRead`, or an existing blob),
//! with its source id, its compression and its raw (uncompressed) size.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use kusto_data::Compression;
use tokio::io::AsyncRead;
use url::Url;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The data of a source.
pub(crate) enum SourceData {
    File(PathBuf),
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
    Reopen(OpenReader),
    Blob(Url),
}

/// Opens a fresh reader over the whole data of a [`IngestionSource::reopenable`] source.
pub(crate) type OpenReader = Arc<dyn Fn() -> BoxedReader + Send + Sync>;

/// A boxed async reader, as [`IngestionSource::reopenable`]'s function returns it.
pub type BoxedReader = Box<dyn AsyncRead + Send + Unpin>;

/// Something to ingest, with its id, compression and raw size.
///
/// | source | read again after a failed upload? | raw size sent |
/// |---|---|---|
/// | file | yes, from its start (it must not change meanwhile) | the file length; for `.gz` the gzip trailer, for `.zip` the central directory |
/// | bytes | yes | the length (of the decompressed data, for compressed bytes: the gzip trailer / zip directory) |
/// | `AsyncRead` | no: forward-only; a failed block is retried, a source that fits one block moves account whole | the bytes read, when not compressed; else the size given |
/// | reopenable reader | yes: a fresh reader from its start for each attempt | as for `AsyncRead` |
/// | blob URL | nothing is uploaded | the size given, if any |
///
/// The raw size is never a fixed guess: where the data cannot tell it (a compressed stream
/// without a given size), it is left out and the service measures it.
///
/// ```
/// use kusto_ingest::IngestionSource;
/// use kusto_data::Compression;
///
/// let from_file = IngestionSource::file("events.csv.gz"); // compression told by the name
/// let from_memory = IngestionSource::bytes("1,a\n2,b\n").with_name("rows.csv");
/// let from_reader = IngestionSource::reader(tokio::io::empty()).with_compression(Compression::None);
/// let from_blob = IngestionSource::blob("https://acct.blob.core.windows.net/c/b.csv.gz?sv=x&sig=y")?
///     .with_raw_size(1_048_576);
/// # Ok::<(), kusto_ingest::Error>(())
/// ```
pub struct IngestionSource {
    pub(crate) data: SourceData,
    pub(crate) source_id: Uuid,
    pub(crate) compression: Option<Compression>,
    pub(crate) raw_size: Option<u64>,
    pub(crate) name: Option<String>,
}

impl fmt::Debug for IngestionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = match &self.data {
            SourceData::File(path) => format!("file {}", path.display()),
            SourceData::Bytes(bytes) => format!("{} bytes", bytes.len()),
            SourceData::Reader(_) => "a reader".to_owned(),
            SourceData::Reopen(_) => "a reopenable reader".to_owned(),
            SourceData::Blob(url) => format!("blob {}", kusto_data::redact::url(url)),
        };
        f.debug_struct("IngestionSource")
            .field("data", &data)
            .field("source_id", &self.source_id)
            .field("compression", &self.compression)
            .field("raw_size", &self.raw_size)
            .finish()
    }
}

impl IngestionSource {
    pub(crate) fn with_data(data: SourceData) -> Self {
        IngestionSource {
            data,
            source_id: Uuid::new_v4(),
            compression: None,
            raw_size: None,
            name: None,
        }
    }

    /// A local file. Its compression is told by its name (`.gz`, `.zip`) unless set.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Self::with_data(SourceData::File(path.as_ref().to_path_buf()))
    }

    /// Bytes in memory (not compressed unless set).
    pub fn bytes(data: impl Into<Bytes>) -> Self {
        Self::with_data(SourceData::Bytes(data.into()))
    }

    /// Any async reader, read once (not compressed unless set).
    pub fn reader(reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Self::with_data(SourceData::Reader(Box::new(reader)))
    }

    /// Data produced by a reader that `open` creates afresh, from the data's start, for each
    /// attempt: a failed upload moves to the next storage account with a new reader instead
    /// of failing with [`Error::ForwardOnlySource`]. The data must be the same each time (the
    /// source id, and so the blob name, stays the same). Not compressed unless set.
    ///
    /// ```
    /// use kusto_ingest::IngestionSource;
    ///
    /// let rows: &'static [u8] = b"1,a\n2,b\n";
    /// let source = IngestionSource::reopenable(move || Box::new(rows)).with_name("rows.csv");
    /// ```
    pub fn reopenable(open: impl Fn() -> BoxedReader + Send + Sync + 'static) -> Self {
        Self::with_data(SourceData::Reopen(Arc::new(open)))
    }

    /// An existing blob, by its URL with a SAS (or with `;managed_identity=...` as the service
    /// documents). Nothing is uploaded; the service reads the blob itself.
    pub fn blob(url: &str) -> Result<Self> {
        if url.trim().is_empty() {
            return Err(Error::InvalidArgument("the blob URL is empty".to_owned()));
        }
        let parsed = Url::parse(url).map_err(|e| {
            Error::InvalidArgument(format!(
                "'{}' is not a blob URL: {e}",
                kusto_data::redact::urls_in(url)
            ))
        })?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not an http(s) blob URL",
                kusto_data::redact::urls_in(url)
            )));
        }
        if parsed
            .path_segments()
            .is_none_or(|mut s| s.next().is_none_or(str::is_empty))
        {
            return Err(Error::InvalidArgument(format!(
                "'{}' names no container and blob",
                kusto_data::redact::urls_in(url)
            )));
        }
        Ok(Self::with_data(SourceData::Blob(parsed)))
    }

    /// Uses `id` as the source id (default: a new random UUID). The id names the blob, tags the
    /// status and, over the queue protocol, is the message id the service reports back.
    #[must_use]
    pub fn with_source_id(mut self, id: Uuid) -> Self {
        self.source_id = id;
        self
    }

    /// States how the data is compressed (default: from the file or blob name; none for bytes
    /// and readers). Compressed data is uploaded as it is.
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// States the raw (uncompressed) size, sent as `RawDataSize` when the data cannot tell it.
    #[must_use]
    pub fn with_raw_size(mut self, bytes: u64) -> Self {
        self.raw_size = Some(bytes);
        self
    }

    /// The name used in the blob name (default: the file name, else `stream`).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The source id.
    pub fn source_id(&self) -> Uuid {
        self.source_id
    }

    /// True for a blob source (nothing to upload).
    pub fn is_blob(&self) -> bool {
        matches!(self.data, SourceData::Blob(_))
    }

    /// The compression of the data: the stated one, else told by the file or blob name.
    pub fn compression(&self) -> Compression {
        if let Some(compression) = self.compression {
            return compression;
        }
        match &self.data {
            SourceData::File(path) => Compression::from_file_name(&path.to_string_lossy()),
            SourceData::Blob(url) => Compression::from_file_name(url.path()),
            SourceData::Bytes(_) | SourceData::Reader(_) | SourceData::Reopen(_) => {
                Compression::None
            }
        }
    }

    /// The name put into the blob name: the stated one, else the file's name, else `stream`.
    pub(crate) fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match &self.data {
            SourceData::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".to_owned()),
            _ => "stream".to_owned(),
        }
    }
}

/// The uncompressed size told by a gzip file's trailer (ISIZE, the size modulo 2^32) and its
/// compressed length: the smallest size consistent with both, since deflate never shrinks data
/// below 1/1032 of its size and never grows it by more than a few bytes per 16 KiB block. Exact
/// below 4 GiB of data. The trailer of a multi-member file describes only its last member; the
/// size is then a lower bound of at least the compressed length.
pub(crate) fn gzip_raw_size(isize_field: u32, compressed_len: u64) -> u64 {
    let floor = compressed_len.saturating_sub(compressed_len / 1000 + 64);
    let mut size = u64::from(isize_field);
    while size < floor {
        size += 1 << 32;
    }
    size
}

/// The raw size of compressed data in memory: the gzip trailer, or the sum of a zip archive's
/// entries. `None` when the data does not tell (not the compression stated, truncated).
pub(crate) fn compressed_raw_size(data: &[u8], compression: Compression) -> Option<u64> {
    match compression {
        Compression::None => Some(data.len() as u64),
        Compression::GZip => {
            if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b {
                return None;
            }
            let tail: [u8; 4] = data[data.len() - 4..].try_into().ok()?;
            Some(gzip_raw_size(u32::from_le_bytes(tail), data.len() as u64))
        }
        Compression::Zip => zip_raw_size(std::io::Cursor::new(data)),
        // A compression this version does not know tells no size.
        _ => None,
    }
}

/// The sum of the uncompressed sizes of a zip archive's entries (its central directory).
pub(crate) fn zip_raw_size<R: std::io::Read + std::io::Seek>(reader: R) -> Option<u64> {
    let mut archive = zip::ZipArchive::new(reader).ok()?;
    let mut total = 0u64;
    for index in 0..archive.len() {
        total = total.saturating_add(archive.by_index_raw(index).ok()?.size());
    }
    Some(total)
}

/// The raw size of a compressed file, read from its trailer or central directory.
pub(crate) fn compressed_file_raw_size(path: &Path, compression: Compression) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    match compression {
        Compression::None => std::fs::metadata(path).ok().map(|m| m.len()),
        Compression::GZip => {
            let mut file = std::fs::File::open(path).ok()?;
            let len = file.metadata().ok()?.len();
            if len < 18 {
                return None;
            }
            let mut magic = [0u8; 2];
            file.read_exact(&mut magic).ok()?;
            if magic != [0x1f, 0x8b] {
                return None;
            }
            file.seek(SeekFrom::End(-4)).ok()?;
            let mut tail = [0u8; 4];
            file.read_exact(&mut tail).ok()?;
            Some(gzip_raw_size(u32::from_le_bytes(tail), len))
        }
        Compression::Zip => zip_raw_size(std::fs::File::open(path).ok()?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_raw_size_is_exact_from_the_trailer() {
        let data = vec![b'x'; 100_000];
        let compressed = gzip(&data);
        assert!(compressed.len() < 1000);
        assert_eq!(
            compressed_raw_size(&compressed, Compression::GZip),
            Some(100_000)
        );
        let random: Vec<u8> = (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(
            compressed_raw_size(&gzip(&random), Compression::GZip),
            Some(50_000)
        );
        assert_eq!(
            compressed_raw_size(b"not gzip at all....", Compression::GZip),
            None
        );
    }

    #[test]
    fn gzip_sizes_beyond_four_gib_use_the_compressed_length() {
        // 5 GiB of data that compressed to 4.5 GiB: the trailer says 1 GiB (mod 2^32).
        let raw = 5u64 << 30;
        let isize_field = (raw % (1 << 32)) as u32;
        assert_eq!(gzip_raw_size(isize_field, 9 * (1 << 29)), raw);
        // Small files are exact.
        assert_eq!(gzip_raw_size(10, 30), 10);
    }

    #[test]
    fn zip_raw_size_sums_the_entries() {
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default();
            writer.start_file("a.csv", options).unwrap();
            writer.write_all(&[b'a'; 1000]).unwrap();
            writer.start_file("b.csv", options).unwrap();
            writer.write_all(&[b'b'; 234]).unwrap();
            writer.finish().unwrap();
        }
        let bytes = buffer.into_inner();
        assert_eq!(compressed_raw_size(&bytes, Compression::Zip), Some(1234));
    }

    #[test]
    fn blob_urls_are_checked_and_never_shown_with_their_sas() {
        for bad in [
            "",
            "not a url",
            "ftp://x/c/b",
            "https://acct.blob.core.windows.net/",
        ] {
            let error = IngestionSource::blob(bad).unwrap_err();
            assert!(matches!(error, Error::InvalidArgument(_)), "{bad}: {error}");
        }
        let error = IngestionSource::blob("ftp://x/c/b?sig=SECRET").unwrap_err();
        assert!(!error.to_string().contains("SECRET"));
        let source =
            IngestionSource::blob("https://acct.blob.core.windows.net/c/b.csv.gz?sig=SECRET")
                .unwrap();
        assert!(!format!("{source:?}").contains("SECRET"));
        assert_eq!(source.compression(), Compression::GZip);
    }

    #[test]
    fn compression_and_names_come_from_the_file_name() {
        let source = IngestionSource::file("/data/events.json.zip");
        assert_eq!(source.compression(), Compression::Zip);
        assert_eq!(source.display_name(), "events.json.zip");
        let source = IngestionSource::bytes("x");
        assert_eq!(source.compression(), Compression::None);
        assert_eq!(source.display_name(), "stream");
    }
}
