//! Primary results streamed in column-major chunks: [`V2EventStream::primary_tables`].

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use crate::error::Result;

use super::events::V2Event;
use super::stream::V2EventStream;
use super::table::{Column, KustoTable, RowRef, TableKind};

/// A chunk of rows of a primary result, held column by column, as delivered by a
/// [`TableBatchStream`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TableBatch {
    /// The rows of this chunk, as a table with the result's id, kind, name and columns: read
    /// them with [`KustoTable::rows`] and [`RowRef`]'s typed getters, as serde rows with
    /// [`KustoTable::deserialize`], or convert them to Arrow.
    pub table: KustoTable,
    /// True for the first chunk of a `DataReplace` fragment: discard every row received so far
    /// for this table before using this chunk (it may be empty). See [`V2Event::Replace`].
    pub replaces_previous: bool,
}

impl TableBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the chunk has no rows.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Every row, with typed getters.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = RowRef<'_>> + '_ {
        self.table.rows()
    }
}

type OpenTable = (i64, TableKind, String, Arc<[Column]>, bool);

/// A stream of [`TableBatch`]es (see [`V2EventStream::primary_tables`]). Memory stays bounded by
/// the parser's batch size; the stream ends with `Err(Error::PartialFailure)` when the service
/// reported errors.
pub struct TableBatchStream {
    events: V2EventStream,
    /// Open primary tables by id: id, kind, name, columns, and whether a `DataReplace` is
    /// pending.
    tables: HashMap<i64, OpenTable>,
}

impl std::fmt::Debug for TableBatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TableBatchStream")
    }
}

impl V2EventStream {
    /// The rows of the primary results, in chunks held **column by column** (the parser's
    /// fast lane writes each cell straight into its column's buffer, as
    /// [`parse_v2`](super::parse_v2) does, with no [`KustoValue`](crate::types::KustoValue) per
    /// cell). Each chunk holds at most the parser options' batch size (rows or bytes), so
    /// memory stays bounded whatever the result size. The fastest way to read a large result
    /// row by row: typed getters ([`RowRef`]) or serde rows on each chunk's table.
    ///
    /// Call it on a fresh stream (as [`KustoClient::execute_query_stream`] returns it): a
    /// table whose [`V2Event::TableStart`] was already taken from the stream is not delivered;
    /// a table the parser had already started row by row comes in chunks made from its rows,
    /// with the same values.
    ///
    /// [`KustoClient::execute_query_stream`]: crate::KustoClient::execute_query_stream
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kusto_data::Result<()> {
    /// use futures::{TryStreamExt, stream};
    /// use kusto_data::response::V2EventStream;
    /// let body = r#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
    ///  {"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T",
    ///   "Columns":[{"ColumnName":"n","ColumnType":"long"},{"ColumnName":"s","ColumnType":"string"}],
    ///   "Rows":[[1,"a"],[2,null],[3,"c"]]},
    ///  {"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
    /// let chunks = body.as_bytes().chunks(7).map(|c| Ok::<_, kusto_data::Error>(bytes::Bytes::copy_from_slice(c)));
    /// let mut tables = V2EventStream::new(stream::iter(chunks.collect::<Vec<_>>())).primary_tables();
    /// let mut texts = Vec::new();
    /// while let Some(batch) = tables.try_next().await? {
    ///     for row in batch.rows() {
    ///         texts.push(row.get_string("s")?.map(str::to_owned));
    ///     }
    /// }
    /// assert_eq!(texts, [Some("a".to_owned()), None, Some("c".to_owned())]);
    /// # Ok(()) }
    /// ```
    pub fn primary_tables(mut self) -> TableBatchStream {
        self.parser().chunk_tables();
        TableBatchStream {
            events: self,
            tables: HashMap::new(),
        }
    }
}

impl Stream for TableBatchStream {
    type Item = Result<TableBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let event = match self.events.poll_event(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(event))) => event,
            };
            match event {
                V2Event::TableStart(h) if h.kind == TableKind::PrimaryResult => {
                    self.tables
                        .insert(h.table_id, (h.table_id, h.kind, h.name, h.columns, false));
                }
                V2Event::Replace { table_id } => {
                    if let Some(t) = self.tables.get_mut(&table_id) {
                        t.4 = true;
                    }
                }
                V2Event::Table { table_id, table } => {
                    if let Some(t) = self.tables.get_mut(&table_id) {
                        let replaces_previous = std::mem::take(&mut t.4);
                        return Poll::Ready(Some(Ok(TableBatch {
                            table,
                            replaces_previous,
                        })));
                    }
                }
                // A table the parser started row by row before the chunks were asked for.
                V2Event::Rows { table_id, rows } => {
                    if let Some(t) = self.tables.get_mut(&table_id) {
                        let replaces_previous = std::mem::take(&mut t.4);
                        let table =
                            KustoTable::new(t.0, t.1.clone(), t.2.clone(), Arc::clone(&t.3), rows);
                        return Poll::Ready(Some(table.map(|table| TableBatch {
                            table,
                            replaces_previous,
                        })));
                    }
                }
                V2Event::TableEnd(end) => {
                    // A replacement with no rows still tells the consumer to discard.
                    if let Some((id, kind, name, columns, true)) = self.tables.remove(&end.table_id)
                    {
                        return Poll::Ready(Some(Ok(TableBatch {
                            table: KustoTable::empty(id, kind, name, columns),
                            replaces_previous: true,
                        })));
                    }
                }
                _ => {}
            }
        }
    }
}
