//! The frame as a stream of bytes: a writer thread converts a slice of rows at a time to Arrow
//! arrays, writes them as JSON lines, CSV or Parquet into buffers of about 1 MiB, and hands
//! each buffer to the async reader that kusto-ingest compresses and uploads. The channel holds
//! two buffers, so the whole frame is never encoded in memory and never written to a file;
//! when the reader is dropped (an upload failed), the thread stops at its next buffer.

use std::io;
use std::sync::Arc;

use arrow::array::ArrayRef;
use bytes::Bytes;
use kusto_ingest::BoxedReader;
use polars::prelude::DataFrame;
use tokio::sync::mpsc;
use tokio_util::io::StreamReader;

use crate::convert::to_arrow;
use crate::error::{Error, Result};
use crate::options::{BinaryEncoding, FrameFormat, NonFinite};
use crate::text::{Text, TextWriter};

/// Bytes handed to the uploader at a time.
const BUFFER: usize = 1 << 20;
/// Buffers waiting in the channel.
const IN_FLIGHT: usize = 2;

/// Everything the writer thread needs.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) frame: DataFrame,
    pub(crate) format: FrameFormat,
    pub(crate) non_finite: NonFinite,
    pub(crate) binary: BinaryEncoding,
    /// Write a CSV header line (the properties skip the first record).
    pub(crate) csv_header: bool,
    pub(crate) rows_per_chunk: Option<usize>,
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) parquet_row_group: usize,
}

/// Collects output and passes each full buffer on (to the reader, or to a writer).
pub(crate) struct Sink<'a> {
    buffer: Vec<u8>,
    pass_on: Box<dyn FnMut(Bytes) -> io::Result<()> + Send + 'a>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(pass_on: impl FnMut(Bytes) -> io::Result<()> + Send + 'a) -> Self {
        Sink {
            buffer: Vec::with_capacity(BUFFER + BUFFER / 4),
            pass_on: Box::new(pass_on),
        }
    }

    /// Passes on what is buffered.
    pub(crate) fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(BUFFER + BUFFER / 4));
        (self.pass_on)(Bytes::from(full))
    }

    fn send_if_full(&mut self) -> io::Result<()> {
        if self.buffer.len() >= BUFFER {
            self.send()?;
        }
        Ok(())
    }
}

impl io::Write for Sink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        self.send_if_full()?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A new reader over the whole frame, from its first row.
pub(crate) fn open(plan: Arc<Plan>) -> BoxedReader {
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(IN_FLIGHT);
    let errors = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("kusto-frame-writer".into())
        .spawn(move || {
            let mut sink = Sink::new(move |bytes| {
                tx.blocking_send(Ok(bytes)).map_err(|_| {
                    io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped reading")
                })
            });
            let result = write_frame(&plan, &mut sink).and_then(|()| sink.send().map_err(io_error));
            if let Err(error) = result {
                // Nobody listens any more when the reader was dropped: nothing to report.
                let _ = errors.blocking_send(Err(io::Error::other(error)));
            }
        });
    if let Err(error) = spawned {
        let _ = rx.try_recv();
        let failed = futures::stream::once(async move {
            Err::<Bytes, _>(io::Error::other(format!(
                "the frame writer could not start: {error}"
            )))
        });
        return Box::new(StreamReader::new(Box::pin(failed)));
    }
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Box::new(StreamReader::new(stream))
}

fn io_error(error: io::Error) -> Error {
    Error::Write(error)
}

/// The frame's column names.
fn names(frame: &DataFrame) -> Vec<String> {
    frame
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect()
}

/// Arrow arrays of `rows` rows from `offset`.
pub(crate) fn arrays(
    frame: &DataFrame,
    offset: usize,
    rows: usize,
    binary: BinaryEncoding,
) -> Result<Vec<ArrayRef>> {
    let slice = frame.slice(i64::try_from(offset).unwrap_or(i64::MAX), rows);
    slice
        .columns()
        .iter()
        .map(|c| {
            let series = c.as_materialized_series().rechunk();
            to_arrow(&series, c.name().as_str(), binary)
        })
        .collect()
}

/// Rows for the next chunk, from the bytes per row seen so far.
fn next_rows(fixed: Option<usize>, rows_done: usize, bytes_done: usize) -> usize {
    if let Some(rows) = fixed {
        return rows;
    }
    if rows_done == 0 || bytes_done == 0 {
        return 1024;
    }
    let per_row = bytes_done.div_ceil(rows_done).max(1);
    (BUFFER / per_row).clamp(64, 65_536)
}

pub(crate) fn write_frame(plan: &Plan, sink: &mut Sink<'_>) -> Result<()> {
    match plan.format {
        FrameFormat::Json => write_text(plan, sink, Text::JsonLines),
        FrameFormat::Csv => write_text(plan, sink, Text::Csv),
        #[cfg(feature = "parquet")]
        FrameFormat::Parquet => write_parquet(plan, sink),
        #[cfg(not(feature = "parquet"))]
        FrameFormat::Parquet => Err(Error::InvalidArgument(
            "Parquet needs the `parquet` feature of kusto-ingest-polars".into(),
        )),
    }
}

fn write_text(plan: &Plan, sink: &mut Sink<'_>, text: Text) -> Result<()> {
    let names = names(&plan.frame);
    let writer = TextWriter::new(text, plan.non_finite, &names);
    if plan.csv_header {
        TextWriter::write_csv_header(&names, &mut sink.buffer);
    }
    let height = plan.frame.height();
    let (mut offset, mut bytes) = (0usize, 0usize);
    while offset < height {
        let rows = next_rows(plan.rows_per_chunk, offset, bytes).min(height - offset);
        let arrays = arrays(&plan.frame, offset, rows, plan.binary)?;
        let before = sink.buffer.len();
        writer.write(&arrays, rows, &mut sink.buffer)?;
        bytes += sink.buffer.len() - before;
        offset += rows;
        sink.send_if_full().map_err(io_error)?;
    }
    Ok(())
}

#[cfg(feature = "parquet")]
fn write_parquet(plan: &Plan, sink: &mut Sink<'_>) -> Result<()> {
    use arrow::datatypes::{Field, Schema};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let height = plan.frame.height();
    let parquet_error = |e: parquet::errors::ParquetError| {
        Error::InvalidArgument(format!("writing Parquet failed: {e}"))
    };
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(plan.parquet_row_group))
        .build();
    let mut writer: Option<ArrowWriter<&mut Sink<'_>>> = None;
    let mut offset = 0usize;
    let rows_per_chunk = plan.rows_per_chunk.unwrap_or(8192);
    let mut sink = Some(sink);
    while offset < height {
        let rows = rows_per_chunk.min(height - offset);
        let arrays = arrays(&plan.frame, offset, rows, plan.binary)?;
        let fields: Vec<Field> = plan
            .frame
            .columns()
            .iter()
            .zip(&arrays)
            .map(|(c, a)| Field::new(c.name().as_str(), a.data_type().clone(), true))
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| {
            Error::InvalidArgument(format!("internal: building an Arrow batch failed: {e}"))
        })?;
        if writer.is_none()
            && let Some(sink) = sink.take()
        {
            writer = Some(
                ArrowWriter::try_new(sink, batch.schema(), Some(properties.clone()))
                    .map_err(parquet_error)?,
            );
        }
        if let Some(writer) = writer.as_mut() {
            writer.write(&batch).map_err(parquet_error)?;
        }
        offset += rows;
    }
    if let Some(writer) = writer {
        writer.close().map_err(parquet_error)?;
    }
    Ok(())
}
