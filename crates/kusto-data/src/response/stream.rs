//! Async adapters over the sans-IO parsers: from a body stream of byte chunks (e.g. the reqwest
//! body stream) to a stream of events, of row batches, or to a whole [`DataSet`].

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::{Error, Result};

#[cfg(feature = "arrow")]
use super::arrow_batch::{ArrowOptions, arrow_schema, to_record_batch};
use super::dataset::{DataSet, DataSetBuilder};
use super::events::V2Event;
use super::table::{Column, Row, RowRef, TableKind, row_ref, rows_iter};
use super::v1_stream::V1Reader;
use super::v2::{ParserOptions, V2Parser};
#[cfg(feature = "arrow")]
use arrow::record_batch::RecordBatch;

/// The parser driven by a body stream, behind a trait object so that [`V2EventStream`] can
/// reach the parser (to choose the columnar path) without naming the body's type.
trait EventSource: Send {
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<V2Event>>>;
    fn parser(&mut self) -> &mut V2Parser;
}

/// A stream of [`V2Event`]s parsed incrementally from a v2 response body.
///
/// The last item is `Err(Error::PartialFailure)` when the service reported errors, or another
/// error for a malformed or truncated body or a failing body stream; the stream ends after an
/// error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> kusto_data::Result<()> {
/// use futures::stream;
/// use kusto_data::response::V2EventStream;
/// let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
///  {"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T",
///   "Columns":[{"ColumnName":"n","ColumnType":"long"}],"Rows":[[1],[2],[3]]},
///  {"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
/// let chunks = body.as_bytes().chunks(5).map(|c| Ok::<_, kusto_data::Error>(bytes::Bytes::copy_from_slice(c)));
/// let data = V2EventStream::new(stream::iter(chunks.collect::<Vec<_>>())).collect_dataset().await?;
/// assert_eq!(data.primary_result().map(|t| t.len()), Some(3));
/// # Ok(()) }
/// ```
pub struct V2EventStream {
    inner: Box<dyn EventSource>,
}

impl std::fmt::Debug for V2EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("V2EventStream")
    }
}

struct Driver<S> {
    body: Pin<Box<S>>,
    parser: V2Parser,
    ended: bool,
    failed: bool,
}

impl<S, E> EventSource for Driver<S>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send,
    E: Into<Error>,
{
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<V2Event>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        loop {
            match self.parser.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Err(e) => {
                    self.failed = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Ok(None) if self.ended => return Poll::Ready(None),
                Ok(None) => match self.body.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(chunk))) => self.parser.feed(&chunk),
                    Poll::Ready(Some(Err(e))) => {
                        self.failed = true;
                        return Poll::Ready(Some(Err(e.into())));
                    }
                    Poll::Ready(None) => {
                        self.ended = true;
                        self.parser.end_of_input();
                    }
                },
            }
        }
    }

    fn parser(&mut self) -> &mut V2Parser {
        &mut self.parser
    }
}

impl V2EventStream {
    /// Parses `body` with default [`ParserOptions`].
    pub fn new<S, E>(body: S) -> Self
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + 'static,
        E: Into<Error>,
    {
        Self::with_options(body, ParserOptions::default())
    }

    /// Parses `body` with the given options (batch size).
    pub fn with_options<S, E>(body: S, options: ParserOptions) -> Self
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + 'static,
        E: Into<Error>,
    {
        let driver = Driver {
            body: Box::pin(body),
            parser: V2Parser::with_options(options),
            ended: false,
            failed: false,
        };
        V2EventStream {
            inner: Box::new(driver),
        }
    }

    /// Collects every table into a [`DataSet`]. On a partial failure the error carries the
    /// data received ([`PartialFailure::data`](super::PartialFailure::data)).
    pub async fn collect_dataset(mut self) -> Result<DataSet> {
        // Primary results that start from now on go straight into the tables' column buffers.
        self.inner.parser().collect_tables();
        let mut builder = DataSetBuilder::new();
        while let Some(event) = self.next().await {
            match event {
                Ok(event) => builder.push_from(event, self.inner.parser()),
                Err(e) => return Err(builder.attach(e)),
            }
        }
        Ok(builder.finish())
    }

    /// The next event, and the parser, for the adapters of sibling modules.
    pub(super) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<V2Event>>> {
        self.inner.poll_event(cx)
    }

    /// The parser under the stream.
    pub(super) fn parser(&mut self) -> &mut V2Parser {
        self.inner.parser()
    }

    /// The rows of the primary results only, as [`RowBatch`]es.
    pub fn primary_batches(self) -> RowBatchStream {
        RowBatchStream {
            events: self,
            tables: HashMap::new(),
            primary_only: true,
        }
    }

    /// The rows of every table, as [`RowBatch`]es.
    pub fn batches(self) -> RowBatchStream {
        RowBatchStream {
            events: self,
            tables: HashMap::new(),
            primary_only: false,
        }
    }
}

impl Stream for V2EventStream {
    type Item = Result<V2Event>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_event(cx)
    }
}

/// A batch of rows of one table, as delivered by a [`RowBatchStream`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RowBatch {
    /// `TableId`.
    pub table_id: i64,
    /// `TableName`.
    pub table_name: Arc<str>,
    /// `TableKind`.
    pub table_kind: TableKind,
    /// The table's columns.
    pub columns: Arc<[Column]>,
    /// The rows.
    pub rows: Vec<Row>,
    /// True for the first batch of a `DataReplace` fragment: discard every row received so far
    /// for this table before using this batch (it may be empty). See [`V2Event::Replace`].
    pub replaces_previous: bool,
}

impl RowBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `index` of the batch, with typed getters.
    pub fn row(&self, index: usize) -> Option<RowRef<'_>> {
        row_ref(&self.table_name, &self.columns, &self.rows, index)
    }

    /// Every row, with typed getters.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = RowRef<'_>> + '_ {
        rows_iter(&self.table_name, &self.columns, &self.rows)
    }
}

type BatchTable = (Arc<str>, TableKind, Arc<[Column]>, bool);

/// A stream of [`RowBatch`]es (see [`V2EventStream::primary_batches`]). Memory stays bounded by
/// the parser's batch size; the stream ends with `Err(Error::PartialFailure)` when the service
/// reported errors.
pub struct RowBatchStream {
    events: V2EventStream,
    /// Open tables: name, kind, columns, and whether a `DataReplace` is pending.
    tables: HashMap<i64, BatchTable>,
    primary_only: bool,
}

impl std::fmt::Debug for RowBatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowBatchStream")
    }
}

impl Stream for RowBatchStream {
    type Item = Result<RowBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let event = match self.events.inner.poll_event(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(event))) => event,
            };
            let primary_only = self.primary_only;
            match event {
                V2Event::TableStart(h) if !primary_only || h.kind == TableKind::PrimaryResult => {
                    self.tables
                        .insert(h.table_id, (h.name.into(), h.kind, h.columns, false));
                }
                V2Event::Replace { table_id } => {
                    if let Some(t) = self.tables.get_mut(&table_id) {
                        t.3 = true;
                    }
                }
                V2Event::Rows { table_id, rows } => {
                    if let Some(t) = self.tables.get_mut(&table_id) {
                        let replaces_previous = std::mem::take(&mut t.3);
                        return Poll::Ready(Some(Ok(RowBatch {
                            table_id,
                            table_name: Arc::clone(&t.0),
                            table_kind: t.1.clone(),
                            columns: Arc::clone(&t.2),
                            rows,
                            replaces_previous,
                        })));
                    }
                }
                V2Event::TableEnd(end) => {
                    // A replacement with no rows still tells the consumer to discard.
                    if let Some(t) = self.tables.remove(&end.table_id)
                        && t.3
                    {
                        return Poll::Ready(Some(Ok(RowBatch {
                            table_id: end.table_id,
                            table_name: t.0,
                            table_kind: t.1,
                            columns: t.2,
                            rows: Vec::new(),
                            replaces_previous: true,
                        })));
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(feature = "arrow")]
impl V2EventStream {
    /// The primary results as Arrow record batches, decoded by the **columnar path**: the rows
    /// go straight from the body's bytes into one Arrow array builder per column (see
    /// [`V2Parser::set_arrow_output`]), in batches of at most the parser options' batch size,
    /// so memory stays bounded whatever the result size. The values equal
    /// [`RowBatch::to_record_batch_with`] over [`primary_batches`](Self::primary_batches), in
    /// less time and with no [`KustoValue`](crate::types::KustoValue) per cell.
    ///
    /// Call it on a fresh stream (as [`KustoClient::execute_query_stream`] returns it). As with
    /// [`primary_batches`](Self::primary_batches), a table whose [`V2Event::TableStart`] was
    /// already taken from the stream is not delivered; a table the parser had already started
    /// in row mode (its events still queued) is converted with
    /// [`to_record_batch`](super::to_record_batch), which gives the same values.
    ///
    /// [`KustoClient::execute_query_stream`]: crate::KustoClient::execute_query_stream
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kusto_data::Result<()> {
    /// use futures::{TryStreamExt, stream};
    /// use kusto_data::response::{ArrowOptions, V2EventStream};
    /// let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
    ///  {"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T",
    ///   "Columns":[{"ColumnName":"n","ColumnType":"long"},{"ColumnName":"s","ColumnType":"string"}],
    ///   "Rows":[[1,"a"],[2,null],[3,"c"]]},
    ///  {"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
    /// let chunks = body.as_bytes().chunks(5).map(|c| Ok::<_, kusto_data::Error>(bytes::Bytes::copy_from_slice(c)));
    /// let batches: Vec<_> = V2EventStream::new(stream::iter(chunks.collect::<Vec<_>>()))
    ///     .primary_record_batches(ArrowOptions::new())
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(batches.iter().map(|b| b.batch.num_rows()).sum::<usize>(), 3);
    /// assert_eq!(batches[0].batch.schema().field(1).name(), "s");
    /// # Ok(()) }
    /// ```
    pub fn primary_record_batches(mut self, options: ArrowOptions) -> ArrowBatchStream {
        self.inner.parser().set_arrow_output(Some(options));
        ArrowBatchStream {
            events: self,
            tables: HashMap::new(),
            options,
        }
    }
}

/// An Arrow record batch of a primary result, as delivered by an [`ArrowBatchStream`]
/// (cargo feature `arrow`).
#[cfg(feature = "arrow")]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ArrowBatch {
    /// `TableId`.
    pub table_id: i64,
    /// `TableName`.
    pub table_name: Arc<str>,
    /// `TableKind` (always [`TableKind::PrimaryResult`] today).
    pub table_kind: TableKind,
    /// The rows; every batch of a table has the same schema ([`arrow_schema`](super::arrow_schema)).
    pub batch: RecordBatch,
    /// True for the first batch of a `DataReplace` fragment: discard every batch received so
    /// far for this table before using this one (it may be empty). See [`V2Event::Replace`].
    pub replaces_previous: bool,
}

/// A stream of [`ArrowBatch`]es of the primary results, decoded by the columnar path (see
/// [`V2EventStream::primary_record_batches`]). Memory stays bounded by the parser's batch
/// size; the stream ends with `Err(Error::PartialFailure)` when the service reported errors.
#[cfg(feature = "arrow")]
pub struct ArrowBatchStream {
    events: V2EventStream,
    tables: HashMap<i64, BatchTable>,
    options: ArrowOptions,
}

#[cfg(feature = "arrow")]
impl std::fmt::Debug for ArrowBatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArrowBatchStream")
    }
}

#[cfg(feature = "arrow")]
impl ArrowBatchStream {
    fn batch(&mut self, table_id: i64, batch: RecordBatch) -> Option<ArrowBatch> {
        let t = self.tables.get_mut(&table_id)?;
        Some(ArrowBatch {
            table_id,
            table_name: Arc::clone(&t.0),
            table_kind: t.1.clone(),
            batch,
            replaces_previous: std::mem::take(&mut t.3),
        })
    }
}

#[cfg(feature = "arrow")]
impl Stream for ArrowBatchStream {
    type Item = Result<ArrowBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let event = match self.events.inner.poll_event(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(event))) => event,
            };
            match event {
                V2Event::TableStart(h) if h.kind == TableKind::PrimaryResult => {
                    self.tables
                        .insert(h.table_id, (h.name.into(), h.kind, h.columns, false));
                }
                V2Event::Replace { table_id } => {
                    if let Some(t) = self.tables.get_mut(&table_id) {
                        t.3 = true;
                    }
                }
                V2Event::RecordBatch { table_id, batch } => {
                    if let Some(b) = self.batch(table_id, batch) {
                        return Poll::Ready(Some(Ok(b)));
                    }
                }
                V2Event::Rows { table_id, rows } => {
                    // A table that started before the columnar path was chosen.
                    let Some(t) = self.tables.get(&table_id) else {
                        continue;
                    };
                    let converted = to_record_batch(&t.2, &rows, &self.options);
                    match converted {
                        Ok(batch) => {
                            if let Some(b) = self.batch(table_id, batch) {
                                return Poll::Ready(Some(Ok(b)));
                            }
                        }
                        Err(e) => return Poll::Ready(Some(Err(e))),
                    }
                }
                V2Event::TableEnd(end) => {
                    // A replacement with no rows still tells the consumer to discard.
                    if let Some(t) = self.tables.remove(&end.table_id)
                        && t.3
                    {
                        let schema = Arc::new(arrow_schema(&t.2, &self.options));
                        return Poll::Ready(Some(Ok(ArrowBatch {
                            table_id: end.table_id,
                            table_name: t.0,
                            table_kind: t.1,
                            batch: RecordBatch::new_empty(schema),
                            replaces_previous: true,
                        })));
                    }
                }
                _ => {}
            }
        }
    }
}

/// Reads a v1 response body from a stream and parses it as [`parse_v1`](super::parse_v1) does, chunk by chunk:
/// the body is never held whole (only the unconsumed input, the row being decoded and the
/// decoded tables), so a management command that returns a large table needs about the memory
/// of its rows. No single JSON value may exceed the default
/// [`ParserOptions::max_value_bytes`](super::ParserOptions::max_value_bytes); see
/// [`read_v1_with_options`] to change it.
pub async fn read_v1<S, E>(body: S) -> Result<DataSet>
where
    S: Stream<Item = std::result::Result<Bytes, E>>,
    E: Into<Error>,
{
    read_v1_with_options(body, super::ParserOptions::default()).await
}

/// [`read_v1`] with the parser options' limit on a single JSON value
/// ([`ParserOptions::with_max_value_bytes`](super::ParserOptions::with_max_value_bytes)); the
/// batch options do not apply to v1 answers, which are collected whole.
pub async fn read_v1_with_options<S, E>(body: S, options: super::ParserOptions) -> Result<DataSet>
where
    S: Stream<Item = std::result::Result<Bytes, E>>,
    E: Into<Error>,
{
    let mut body = Box::pin(body);
    let mut reader = V1Reader::new(options.max_value_bytes());
    while let Some(chunk) = body.next().await {
        reader.feed(&chunk.map_err(Into::into)?)?;
    }
    reader.finish()
}
