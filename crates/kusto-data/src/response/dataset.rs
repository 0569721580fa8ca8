//! [`DataSet`]: every table of a response, in memory.

use std::collections::HashMap;

use crate::error::{Error, Result};

use super::events::{DataSetCompletion, DataSetHeader, V2Event};
use super::table::{KustoTable, TableKind};
use super::v2::{ParserOptions, V2Parser};

/// All the tables of a response, collected in memory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataSet {
    pub(crate) header: Option<DataSetHeader>,
    pub(crate) tables: Vec<KustoTable>,
    pub(crate) completion: Option<DataSetCompletion>,
}

impl DataSet {
    /// The `DataSetHeader` (v2 only).
    pub fn header(&self) -> Option<&DataSetHeader> {
        self.header.as_ref()
    }

    /// The `DataSetCompletion` (v2 only).
    pub fn completion(&self) -> Option<&DataSetCompletion> {
        self.completion.as_ref()
    }

    /// Every table, in response order.
    pub fn tables(&self) -> &[KustoTable] {
        &self.tables
    }

    /// Takes the tables out.
    pub fn into_tables(self) -> Vec<KustoTable> {
        self.tables
    }

    /// The tables of kind [`TableKind::PrimaryResult`]: the results of the query (several for
    /// batches of statements and `fork`).
    pub fn primary_results(&self) -> impl Iterator<Item = &KustoTable> {
        self.tables
            .iter()
            .filter(|t| t.kind == TableKind::PrimaryResult)
    }

    /// The first primary result.
    pub fn primary_result(&self) -> Option<&KustoTable> {
        self.primary_results().next()
    }

    /// Takes the primary results out.
    pub fn into_primary_results(self) -> Vec<KustoTable> {
        self.tables
            .into_iter()
            .filter(|t| t.kind == TableKind::PrimaryResult)
            .collect()
    }

    /// The `@ExtendedProperties` table (kind [`TableKind::QueryProperties`]).
    pub fn query_properties(&self) -> Option<&KustoTable> {
        self.tables
            .iter()
            .find(|t| t.kind == TableKind::QueryProperties)
    }

    /// The `QueryCompletionInformation` table (v2), or the `QueryStatus` table (v1).
    pub fn query_completion_information(&self) -> Option<&KustoTable> {
        self.tables
            .iter()
            .find(|t| t.kind == TableKind::QueryCompletionInformation)
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&KustoTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Builds a [`DataSet`] from [`V2Event`]s (what [`parse_v2`] and
/// [`V2EventStream::collect_dataset`](super::V2EventStream::collect_dataset) use).
#[derive(Debug, Default)]
pub struct DataSetBuilder {
    data: DataSet,
    index: HashMap<i64, usize>,
}

impl DataSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event: rows are appended to their table, `Replace` clears it.
    pub fn push(&mut self, event: V2Event) {
        match event {
            V2Event::DataSetHeader(h) => self.data.header = Some(h),
            V2Event::TableStart(h) => {
                self.index.insert(h.table_id, self.data.tables.len());
                self.data
                    .tables
                    .push(KustoTable::empty(h.table_id, h.kind, h.name, h.columns));
            }
            V2Event::Rows { table_id, rows } => {
                if let Some(t) = self.table_mut(table_id) {
                    rows.into_iter().for_each(|row| t.push_row(row));
                }
            }
            V2Event::Table { table_id, table } => {
                if let Some(t) = self.table_mut(table_id) {
                    table.rows().for_each(|row| t.push_row(row.values()));
                }
            }
            V2Event::Replace { table_id } => {
                if let Some(t) = self.table_mut(table_id) {
                    t.clear_rows();
                }
            }
            V2Event::DataSetCompletion(c) => self.data.completion = Some(c),
            V2Event::RowErrors { .. } | V2Event::Progress { .. } | V2Event::TableEnd(_) => {}
            // Columnar batches are not collected (a parser in row mode feeds the builder).
            #[cfg(feature = "arrow")]
            V2Event::RecordBatch { .. } => {}
        }
    }

    /// [`push`](Self::push) for the events of a parser that collects tables itself
    /// ([`V2Parser::collect_tables`]): a table's end brings the table it collected.
    pub(crate) fn push_from(&mut self, event: V2Event, parser: &mut V2Parser) {
        if let V2Event::TableEnd(end) = &event
            && let Some(table) = parser.take_collected(end.table_id)
            && let Some(slot) = self.table_mut(end.table_id)
        {
            *slot = table;
        }
        self.push(event);
    }

    fn table_mut(&mut self, id: i64) -> Option<&mut KustoTable> {
        let i = *self.index.get(&id)?;
        self.data.tables.get_mut(i)
    }

    /// The data set built so far.
    pub fn finish(self) -> DataSet {
        self.data
    }

    /// Attaches the data collected so far to a partial failure; other errors pass through.
    pub(crate) fn attach(self, error: Error) -> Error {
        match error {
            Error::PartialFailure(mut failure) => {
                failure.data = Some(Box::new(self.finish()));
                Error::PartialFailure(failure)
            }
            other => other,
        }
    }
}

/// Parses a complete v2 response held in memory.
///
/// Errors: [`Error::MalformedResponse`] with the byte offset; [`Error::PartialFailure`] carrying
/// the [`DataSet`] received when the service reported errors.
pub fn parse_v2(body: &[u8]) -> Result<DataSet> {
    parse_v2_with(body, ParserOptions::default())
}

/// [`parse_v2`] with explicit parser options.
pub fn parse_v2_with(body: &[u8], options: ParserOptions) -> Result<DataSet> {
    // The body is fed in chunks: the parser copies what it is fed into its own buffer, so
    // feeding the whole body would hold it twice.
    const CHUNK: usize = 256 * 1024;
    let mut parser = V2Parser::with_options(options);
    // Primary results go straight into the tables' column buffers.
    parser.collect_tables();
    let mut builder = DataSetBuilder::new();
    let mut chunks = body.chunks(CHUNK);
    let mut ended = false;
    loop {
        match parser.next_event() {
            Ok(Some(event)) => builder.push_from(event, &mut parser),
            Ok(None) => match chunks.next() {
                Some(chunk) => parser.feed(chunk),
                None if ended => return Ok(builder.finish()),
                None => {
                    parser.end_of_input();
                    ended = true;
                }
            },
            Err(e) => return Err(builder.attach(e)),
        }
    }
}
