//! Where the parser's rows go: decoded by the fast lane straight from the buffer when it can,
//! else sliced out by the scanner and decoded by the serde decoders, and delivered to the open
//! table's [`Sink`]: `Rows` batches, a collected [`KustoTable`], or Arrow builders.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};

use super::super::decode::{RowElement, decode_row};
use super::super::events::V2Event;
use super::super::lane;
use super::super::partial::{ErrorPlacement, PartialError, one_api_errors, text_error};
use super::super::table::{Column, KustoTable, Row, TableKind};
use super::V2Parser;
#[cfg(feature = "arrow")]
use super::{super::columnar::AppendError, ColumnarBuilder};

/// Where the rows of an open table go.
#[derive(Debug)]
pub(super) enum Sink {
    /// [`V2Event::Rows`] batches of [`Row`]s (the row path).
    Rows,
    /// A table collected inside the parser ([`V2Parser::collect_tables`]).
    Collect(Box<KustoTable>),
    /// A table filled as [`Sink::Collect`] is, handed out in chunks of at most the batch size
    /// as [`V2Event::Table`] ([`V2Parser::chunk_tables`]).
    Chunks(Box<KustoTable>),
    /// Arrow builders ([`V2Parser::set_arrow_output`]), emptied into
    /// [`V2Event::RecordBatch`]es.
    #[cfg(feature = "arrow")]
    Arrow(ColumnarBuilder),
}

impl V2Parser {
    /// Collects primary results inside the parser (what [`parse_v2`](super::super::parse_v2)
    /// and [`collect_dataset`](super::super::V2EventStream::collect_dataset) use): the rows of
    /// every `PrimaryResult` table that starts after this call go straight into a
    /// [`KustoTable`]'s column buffers, with no [`V2Event::Rows`] and no
    /// [`KustoValue`](crate::types::KustoValue) per cell; the table is handed out by
    /// [`V2Parser::take_collected`] once its [`V2Event::TableEnd`] is queued. Other tables still
    /// come as [`V2Event::Rows`].
    pub(crate) fn collect_tables(&mut self) {
        self.collect = true;
    }

    /// Delivers primary results in column-major chunks: the rows of every `PrimaryResult` table
    /// that starts after this call go straight into a [`KustoTable`]'s column buffers (as with
    /// [`V2Parser::collect_tables`], no [`KustoValue`](crate::types::KustoValue) per cell),
    /// handed out as a [`V2Event::Table`] whenever it holds the options' batch size (rows or
    /// bytes), before a row error, and at the table's end. Other tables still come as
    /// [`V2Event::Rows`].
    pub(crate) fn chunk_tables(&mut self) {
        self.chunks = true;
    }

    /// The collected table `id` that ended (see [`V2Parser::collect_tables`]), if there is one.
    pub(crate) fn take_collected(&mut self, id: i64) -> Option<KustoTable> {
        let i = self.collected.iter().position(|t| t.id == id)?;
        Some(self.collected.remove(i))
    }

    /// Rows decoded so far by the fast lane and by the serde decoders.
    #[cfg(test)]
    pub(crate) fn row_counts(&self) -> (u64, u64) {
        (self.lane_rows, self.decoded_rows)
    }

    /// Reports how the rows were decoded (a `debug` event: many rows outside the fast lane
    /// explain a slow parse).
    pub(super) fn debug_rows(&self) {
        tracing::debug!(
            lane_rows = self.lane_rows,
            decoded_rows = self.decoded_rows,
            "v2 response parsed: rows decoded by the fast lane and by the serde decoders"
        );
    }

    /// The sink of a table that starts.
    pub(super) fn sink_for(
        &self,
        id: i64,
        kind: &TableKind,
        name: &str,
        columns: &Arc<[Column]>,
    ) -> Sink {
        if *kind != TableKind::PrimaryResult {
            return Sink::Rows;
        }
        if self.collect || self.chunks {
            let table = KustoTable::empty(id, kind.clone(), name.to_owned(), Arc::clone(columns));
            return if self.collect {
                Sink::Collect(Box::new(table))
            } else {
                Sink::Chunks(Box::new(table))
            };
        }
        #[cfg(feature = "arrow")]
        if let Some(options) = self.arrow_output {
            let builder =
                ColumnarBuilder::new(Arc::clone(columns), options, self.options.batch_rows);
            return Sink::Arrow(builder);
        }
        Sink::Rows
    }

    /// Decodes one row element (bytes `start..end` of the buffer) of table `id`.
    pub(super) fn on_row(&mut self, id: i64, start: usize, end: usize) -> Result<()> {
        let offset = self.base + start as u64;
        // The buffer is moved out while the row is decoded so `self` can record the result.
        let buf = std::mem::take(&mut self.buf);
        let bytes = buf.get(start..end).unwrap_or_default();
        let result = self.row_bytes(id, bytes, offset);
        self.buf = buf;
        result
    }

    /// Decodes one row element with the serde decoders: into the table's Arrow builders when
    /// the columnar path applies to it, else into a [`Row`].
    pub(super) fn row_bytes(&mut self, id: i64, bytes: &[u8], offset: u64) -> Result<()> {
        self.decoded_rows += 1;
        #[cfg(feature = "arrow")]
        if bytes.first() == Some(&b'[')
            && self
                .tables
                .get(&id)
                .is_some_and(|t| matches!(t.sink, Sink::Arrow(_)))
        {
            return self.columnar_row(id, bytes, offset);
        }
        self.handle_row(id, bytes.len(), offset, |columns| {
            decode_row(bytes, columns)
        })
    }

    /// [`V2Parser::fast_row`] for as many rows as follow one another in the buffer (`],[`), until
    /// a batch is ready, a row is not complete, or a row needs the scanner: the end of the last
    /// row decoded, `None` when the first was not.
    pub(super) fn fast_rows(&mut self, mut at: usize) -> Result<Option<usize>> {
        let mut last = None;
        while let Some(end) = self.fast_row(at)? {
            last = Some(end);
            if !self.events.is_empty() || self.buf.get(end..end + 2) != Some(b",[") {
                break;
            }
            at = end + 1;
        }
        Ok(last)
    }

    /// The fast lane, tried before a row is scanned: decodes the row starting at `at` straight
    /// from the buffer when it is complete there and the lane understands it (one pass, no scan
    /// first). `Some(end)` when it did; `None` leaves the row to the scanner.
    fn fast_row(&mut self, at: usize) -> Result<Option<usize>> {
        let Some(id) = self.target else {
            return Ok(None);
        };
        // The buffer is moved out while the row is decoded so `self` can record the result.
        let buf = std::mem::take(&mut self.buf);
        let bytes = buf.get(at..).unwrap_or_default();
        let result = self.lane_row(id, bytes, self.base + at as u64);
        self.buf = buf;
        if let Ok(Some(_)) = result {
            self.lane_rows += 1;
        }
        Ok(result?.map(|len| at + len))
    }

    /// The fast lane on the row at the start of `bytes` of table `id`, into the table's sink:
    /// the row's length, `None` when the lane appended nothing.
    fn lane_row(&mut self, id: i64, bytes: &[u8], offset: u64) -> Result<Option<usize>> {
        // The offset names the row in the errors of the Arrow builders.
        #[cfg(not(feature = "arrow"))]
        let _ = offset;
        if self.batch_table != Some(id) {
            self.flush()?;
            self.batch_table = Some(id);
        }
        let Some(table) = self.tables.get_mut(&id) else {
            return Ok(None);
        };
        let len = match &mut table.sink {
            #[cfg(feature = "arrow")]
            Sink::Arrow(_) => return self.columnar_append(id, offset, |b| b.append_fast(bytes)),
            Sink::Collect(t) | Sink::Chunks(t) => {
                let Some(row) = lane::read_row(bytes, &table.lanes, &mut self.scratch) else {
                    return Ok(None);
                };
                if !t.push_cells(&self.scratch.cells, row) {
                    return Ok(None);
                }
                table.rows_received += 1;
                let len = row.len();
                self.chunk_grew(id, len)?;
                return Ok(Some(len));
            }
            Sink::Rows => {
                let Some(row) = lane::read_row(bytes, &table.lanes, &mut self.scratch) else {
                    return Ok(None);
                };
                let Some(values) = lane::values(&mut self.scratch, row) else {
                    return Ok(None);
                };
                table.rows_received += 1;
                self.accept_row(id, values, row.len())?;
                row.len()
            }
        };
        Ok(Some(len))
    }

    #[cfg(feature = "arrow")]
    fn columnar_row(&mut self, id: i64, bytes: &[u8], offset: u64) -> Result<()> {
        self.columnar_append(id, offset, |builder| {
            builder.append_row(bytes).map(|()| Some(bytes.len()))
        })
        .map(drop)
    }

    /// Appends one row of table `id` to its Arrow builders with `append` (which answers the
    /// row's length, or `None` when it appended nothing), then batches.
    #[cfg(feature = "arrow")]
    fn columnar_append(
        &mut self,
        id: i64,
        offset: u64,
        append: impl FnOnce(&mut ColumnarBuilder) -> std::result::Result<Option<usize>, AppendError>,
    ) -> Result<Option<usize>> {
        if self.batch_table != Some(id) {
            self.flush()?;
            self.batch_table = Some(id);
        }
        let Some(table) = self.tables.get_mut(&id) else {
            return Err(Error::MalformedResponse {
                message: format!("rows for unknown table {id}"),
                offset: Some(offset),
            });
        };
        let index = table.rows_received;
        let Sink::Arrow(builder) = &mut table.sink else {
            return Ok(None);
        };
        let len = match append(builder) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(None),
            Err(AppendError::Conversion(e)) => return Err(e),
            Err(AppendError::Malformed(message, at)) => {
                return Err(Error::MalformedResponse {
                    message: format!("table {id} ({}), row {index}: {message}", table.name),
                    offset: Some(offset + at as u64),
                });
            }
        };
        table.rows_received += 1;
        let full = builder.len() >= self.options.batch_rows;
        self.batch_bytes += len;
        if full || self.batch_bytes >= self.options.batch_bytes {
            self.flush()?;
        }
        Ok(Some(len))
    }

    /// A row element decoded by `decode` (a row, or an error object in place of a row).
    fn handle_row(
        &mut self,
        id: i64,
        len: usize,
        offset: u64,
        decode: impl FnOnce(&[Column]) -> std::result::Result<RowElement, (String, usize)>,
    ) -> Result<()> {
        let Some(table) = self.tables.get_mut(&id) else {
            return Err(Error::MalformedResponse {
                message: format!("rows for unknown table {id}"),
                offset: Some(offset),
            });
        };
        let index = table.rows_received;
        match decode(&table.columns) {
            Ok(RowElement::Row(row)) => {
                table.rows_received += 1;
                if let Sink::Collect(t) | Sink::Chunks(t) = &mut table.sink {
                    t.push_row(row);
                    return self.chunk_grew(id, len);
                }
                self.accept_row(id, row, len)
            }
            Ok(RowElement::Errors(object)) => {
                let errors = match object.get("OneApiErrors") {
                    Some(v) => one_api_errors(v),
                    None => vec![text_error("", Value::Object(object.clone()).to_string())],
                };
                self.flush()?;
                for error in &errors {
                    self.errors.push(PartialError {
                        placement: ErrorPlacement::Row {
                            table_id: id,
                            row_index: index,
                        },
                        error: error.clone(),
                    });
                }
                self.events.push_back(V2Event::RowErrors {
                    table_id: id,
                    row_index: index,
                    errors,
                });
                Ok(())
            }
            Err((message, at)) => Err(Error::MalformedResponse {
                message: format!("table {id} ({}), row {index}: {message}", table.name),
                offset: Some(offset + at as u64),
            }),
        }
    }

    /// A decoded row of table `id` (`len` bytes of JSON) for the row path: checked when it is
    /// completion information, then batched.
    fn accept_row(&mut self, id: i64, row: Row, len: usize) -> Result<()> {
        if let Some(qci) = self.tables.get(&id).and_then(|t| t.qci.as_ref())
            && let Some(e) = qci.check(&row, |level| ErrorPlacement::QueryCompletionInformation {
                table_id: id,
                level,
            })
        {
            self.deferred.push(e);
        }
        if self.batch_table != Some(id) {
            self.flush()?;
            self.batch_table = Some(id);
        }
        self.batch.push(row);
        self.batch_bytes += len;
        if self.batch.len() >= self.options.batch_rows
            || self.batch_bytes >= self.options.batch_bytes
        {
            self.flush()?;
        }
        Ok(())
    }

    /// A row of `len` bytes was appended to table `id`'s sink: a chunked table that reached
    /// the batch size is handed out.
    fn chunk_grew(&mut self, id: i64, len: usize) -> Result<()> {
        let Some(Sink::Chunks(t)) = self.tables.get(&id).map(|t| &t.sink) else {
            return Ok(());
        };
        let rows = t.len();
        if self.batch_table != Some(id) {
            self.flush()?;
            self.batch_table = Some(id);
        }
        self.batch_bytes += len;
        if rows >= self.options.batch_rows || self.batch_bytes >= self.options.batch_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Emits the rows batched so far (row path, chunked tables and Arrow builders).
    pub(super) fn flush(&mut self) -> Result<()> {
        if let Some(id) = self.batch_table
            && let Some(Sink::Chunks(t)) = self.tables.get_mut(&id).map(|t| &mut t.sink)
            && !t.is_empty()
        {
            let next = KustoTable::empty(
                t.id(),
                t.kind().clone(),
                t.name().to_owned(),
                t.columns_arc(),
            );
            let table = std::mem::replace(&mut **t, next);
            self.events.push_back(V2Event::Table {
                table_id: id,
                table,
            });
        }
        if let Some(id) = self.batch_table
            && !self.batch.is_empty()
        {
            let rows = std::mem::take(&mut self.batch);
            self.events.push_back(V2Event::Rows { table_id: id, rows });
        }
        #[cfg(feature = "arrow")]
        if let Some(id) = self.batch_table
            && let Some(Sink::Arrow(builder)) = self.tables.get_mut(&id).map(|t| &mut t.sink)
            && builder.len() > 0
        {
            let batch = builder.finish_batch()?;
            self.events.push_back(V2Event::RecordBatch {
                table_id: id,
                batch,
            });
        }
        self.batch_bytes = 0;
        Ok(())
    }
}
