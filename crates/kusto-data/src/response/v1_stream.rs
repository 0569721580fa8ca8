//! An incremental reader of v1 responses: the body is fed in chunks and only the unconsumed
//! input, the current row and the decoded tables are held (never the whole body), so a
//! management command that returns a large table needs the memory of its rows, not of its rows
//! plus its JSON text. The result is the one of [`parse_v1`](super::parse_v1).

use serde_json::Value;

use crate::error::{Error, Result};

use super::dataset::DataSet;
use super::decode::{RowElement, decode_row};
use super::partial::PartialError;
use super::scan::{
    QUOTED_START, Scan, ValueScanner, body_start, check_value_size, describe, is_ws, split_array,
};
use super::table::{Column, KustoTable, TableKind, parse_columns};
use super::v1::{assemble, row_errors};

/// The object a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The top-level object (`Tables`, `Exceptions`).
    Top,
    /// A table object (`TableName`, `Columns`, `Rows`).
    Table,
}

#[derive(Debug)]
enum State {
    Start,
    Key(Level, bool),
    KeyScan(Level, ValueScanner, usize),
    Colon(Level),
    Value(Level),
    ValueScan(Level, ValueScanner, usize),
    AfterValue(Level),
    TablesElem(bool),
    AfterTable,
    RowsElem(bool),
    RowScan(ValueScanner, usize),
    AfterRow,
    End,
}

#[derive(Debug, Default)]
struct OpenTable {
    name: Option<String>,
    columns: Option<Vec<Column>>,
    columns_at: u64,
    /// The rows decoded so far, kept by column (created at the first row).
    data: Option<KustoTable>,
    /// `Rows` that came before `Columns`: its JSON, decoded at the end of the table.
    buffered: Option<(Vec<u8>, u64)>,
}

/// The sans-IO v1 reader.
#[derive(Debug)]
pub(crate) struct V1Reader {
    buf: Vec<u8>,
    pos: usize,
    base: u64,
    state: State,
    key: String,
    input_done: bool,
    tables: Vec<KustoTable>,
    table: OpenTable,
    errors: Vec<PartialError>,
    exceptions: Option<Value>,
    tables_seen: bool,
    max_value_bytes: usize,
}

impl V1Reader {
    /// A reader that holds no single JSON value above `max_value_bytes` while it waits for the
    /// value's end.
    pub(crate) fn new(max_value_bytes: usize) -> Self {
        V1Reader {
            max_value_bytes,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            state: State::Start,
            key: String::new(),
            input_done: false,
            tables: Vec::new(),
            table: OpenTable::default(),
            errors: Vec::new(),
            exceptions: None,
            tables_seen: false,
        }
    }

    /// Consumes one chunk of the body.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        let keep = match &self.state {
            State::KeyScan(_, _, s) | State::ValueScan(_, _, s) | State::RowScan(_, s) => *s,
            _ => self.pos,
        };
        if keep > 0 && keep >= self.buf.len() - keep {
            self.buf.drain(..keep);
            self.pos -= keep;
            self.base += keep as u64;
            if let State::KeyScan(_, _, s) | State::ValueScan(_, _, s) | State::RowScan(_, s) =
                &mut self.state
            {
                *s -= keep;
            }
        }
        self.buf.extend_from_slice(chunk);
        self.run()
    }

    /// The body is complete: the data set.
    pub(crate) fn finish(mut self) -> Result<DataSet> {
        self.input_done = true;
        self.run()?;
        if !matches!(self.state, State::End) {
            let context = if matches!(self.state, State::Start) {
                "the body is empty"
            } else {
                "the body ends inside the JSON object"
            };
            return Err(self.malformed(self.buf.len(), format!("truncated v1 response: {context}")));
        }
        if !self.tables_seen {
            return Err(Error::MalformedResponse {
                message: "a v1 response has a Tables array".into(),
                offset: Some(0),
            });
        }
        assemble(self.tables, self.errors, self.exceptions.as_ref())
    }

    fn malformed(&self, at: usize, message: impl Into<String>) -> Error {
        Error::MalformedResponse {
            message: message.into(),
            offset: Some(self.base + at as u64),
        }
    }

    /// Runs the value scanner from `start`; `Some(end)` when the value is complete.
    fn scan(&mut self, scanner: &mut ValueScanner, start: usize) -> Result<Option<usize>> {
        match scanner.scan(&self.buf[start..]) {
            Ok(Scan::Done(len)) => Ok(Some(start + len)),
            Ok(Scan::More) => {
                self.pos = self.buf.len();
                check_value_size(self.buf.len() - start, self.max_value_bytes)?;
                Ok(None)
            }
            Err((i, message)) => Err(self.malformed(start + i, message)),
        }
    }

    fn run(&mut self) -> Result<()> {
        loop {
            while self.buf.get(self.pos).is_some_and(|b| is_ws(*b)) {
                self.pos += 1;
            }
            let Some(&b) = self.buf.get(self.pos) else {
                return Ok(());
            };
            let at = self.pos;
            let expect = |what: &str| format!("expected {what}, found {}", describe(b));
            match std::mem::replace(&mut self.state, State::End) {
                State::Start => {
                    if b == 0xEF && self.buf.get(at..at + 3) == Some(&[0xEF, 0xBB, 0xBF][..]) {
                        self.pos += 3;
                        self.state = State::Start;
                        continue;
                    }
                    if b == b'{' {
                        self.pos += 1;
                        self.state = State::Key(Level::Top, true);
                        continue;
                    }
                    // Quote the same bytes however the body was chunked: wait for them.
                    if !self.input_done && (self.buf.len() - at < QUOTED_START || b == 0xEF) {
                        self.state = State::Start;
                        return Ok(());
                    }
                    return Err(self.malformed(
                        at,
                        format!(
                            "a v1 response is a JSON object, but the body starts with {:?}",
                            body_start(&self.buf[at..])
                        ),
                    ));
                }
                State::Key(level, first) => match b {
                    b'"' => self.state = State::KeyScan(level, ValueScanner::default(), at),
                    b'}' if first => {
                        self.pos += 1;
                        self.close(level, at)?;
                    }
                    _ => return Err(self.malformed(at, expect("a key"))),
                },
                State::KeyScan(level, mut scanner, start) => {
                    match self.scan(&mut scanner, start)? {
                        None => {
                            self.state = State::KeyScan(level, scanner, start);
                            return Ok(());
                        }
                        Some(end) => {
                            self.key = serde_json::from_slice(&self.buf[start..end])
                                .map_err(|e| self.malformed(start, format!("bad key: {e}")))?;
                            self.pos = end;
                            self.state = State::Colon(level);
                        }
                    }
                }
                State::Colon(level) => {
                    if b != b':' {
                        return Err(self.malformed(at, expect("':'")));
                    }
                    self.pos += 1;
                    self.state = State::Value(level);
                }
                State::Value(level) => {
                    let streamed = match (level, self.key.as_str(), b) {
                        (Level::Top, "Tables", b'[') => {
                            self.tables_seen = true;
                            Some(State::TablesElem(true))
                        }
                        (Level::Table, "Rows", b'[') if self.table.columns.is_some() => {
                            Some(State::RowsElem(true))
                        }
                        _ => None,
                    };
                    match streamed {
                        Some(state) => {
                            self.pos += 1;
                            self.state = state;
                        }
                        None => {
                            self.state = State::ValueScan(level, ValueScanner::default(), at);
                        }
                    }
                }
                State::ValueScan(level, mut scanner, start) => {
                    match self.scan(&mut scanner, start)? {
                        None => {
                            self.state = State::ValueScan(level, scanner, start);
                            return Ok(());
                        }
                        Some(end) => {
                            self.pos = end;
                            self.value(level, start, end)?;
                            self.state = State::AfterValue(level);
                        }
                    }
                }
                State::AfterValue(level) => match b {
                    b',' => {
                        self.pos += 1;
                        self.state = State::Key(level, false);
                    }
                    b'}' => {
                        self.pos += 1;
                        self.close(level, at)?;
                    }
                    _ => return Err(self.malformed(at, expect("',' or '}'"))),
                },
                State::TablesElem(first) => match b {
                    b']' if first => {
                        self.pos += 1;
                        self.state = State::AfterValue(Level::Top);
                    }
                    b'{' => {
                        self.pos += 1;
                        self.table = OpenTable::default();
                        self.state = State::Key(Level::Table, true);
                    }
                    _ => return Err(self.malformed(at, expect("a table object"))),
                },
                State::AfterTable => match b {
                    b',' => {
                        self.pos += 1;
                        self.state = State::TablesElem(false);
                    }
                    b']' => {
                        self.pos += 1;
                        self.state = State::AfterValue(Level::Top);
                    }
                    _ => return Err(self.malformed(at, expect("',' or ']' after a table"))),
                },
                State::RowsElem(first) => {
                    if b == b']' && first {
                        self.pos += 1;
                        self.state = State::AfterValue(Level::Table);
                    } else {
                        self.state = State::RowScan(ValueScanner::default(), at);
                    }
                }
                State::RowScan(mut scanner, start) => match self.scan(&mut scanner, start)? {
                    None => {
                        self.state = State::RowScan(scanner, start);
                        return Ok(());
                    }
                    Some(end) => {
                        self.pos = end;
                        let buf = std::mem::take(&mut self.buf);
                        let result = self.row(&buf[start..end], self.base + start as u64);
                        self.buf = buf;
                        result?;
                        self.state = State::AfterRow;
                    }
                },
                State::AfterRow => match b {
                    b',' => {
                        self.pos += 1;
                        self.state = State::RowsElem(false);
                    }
                    b']' => {
                        self.pos += 1;
                        self.state = State::AfterValue(Level::Table);
                    }
                    _ => return Err(self.malformed(at, expect("',' or ']' between rows"))),
                },
                State::End => {
                    return Err(self.malformed(
                        at,
                        format!("unexpected {} after the end of the response", describe(b)),
                    ));
                }
            }
        }
    }

    /// A complete value of `key` at `level` (bytes `start..end`).
    fn value(&mut self, level: Level, start: usize, end: usize) -> Result<()> {
        let bytes = &self.buf[start..end];
        let at = self.base + start as u64;
        let index = self.tables.len();
        match (level, self.key.as_str()) {
            (Level::Top, "Exceptions") | (Level::Table, "TableName" | "Columns") => {
                let value: Value = serde_json::from_slice(bytes).map_err(|e| {
                    self.malformed(start, format!("bad JSON in {:?}: {e}", self.key))
                })?;
                match self.key.as_str() {
                    "Exceptions" => self.exceptions = (!value.is_null()).then_some(value),
                    "TableName" => self.table.name = value.as_str().map(str::to_owned),
                    _ => {
                        let name = self.table_name(index);
                        let columns =
                            parse_columns(Some(&value)).map_err(|m| Error::MalformedResponse {
                                message: format!("table {index} ({name}): {m}"),
                                offset: Some(at),
                            })?;
                        self.table.columns = Some(columns);
                        self.table.columns_at = at;
                    }
                }
            }
            (Level::Table, "Rows") if bytes != b"null" => {
                // Rows before Columns: decoded once the table's columns are known.
                self.table.buffered = Some((bytes.to_vec(), at));
            }
            (Level::Top, "error") => {
                // A OneApi error object inside a success answer (a proxy or gateway in between):
                // fail with its text rather than with "no Tables".
                let text = body_start(bytes);
                return Err(self.malformed(
                    start,
                    format!("the answer is an error object, not a v1 response: {text:?}"),
                ));
            }
            (Level::Top, "Tables") if bytes == b"null" => {}
            (Level::Top, "Tables") => {
                return Err(self.malformed(start, "Tables is not an array"));
            }
            _ => {
                serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| {
                    self.malformed(start, format!("bad JSON in {:?}: {e}", self.key))
                })?;
            }
        }
        Ok(())
    }

    fn table_name(&self, index: usize) -> String {
        self.table
            .name
            .clone()
            .unwrap_or_else(|| format!("Table_{index}"))
    }

    /// One row element of the open table.
    fn row(&mut self, bytes: &[u8], at: u64) -> Result<()> {
        let index = self.tables.len();
        let table = &mut self.table;
        let columns = table.columns.as_deref().unwrap_or_default();
        let row_count = table.data.as_ref().map_or(0, KustoTable::len);
        match decode_row(bytes, columns) {
            Ok(RowElement::Row(row)) => table
                .data
                .get_or_insert_with(|| {
                    KustoTable::empty(0, TableKind::PrimaryResult, String::new(), columns.into())
                })
                .push_row(row),
            Ok(RowElement::Errors(object)) => {
                row_errors(&mut self.errors, index as i64, row_count, &object);
            }
            Err((m, i)) => {
                return Err(Error::MalformedResponse {
                    message: format!(
                        "table {index} ({}), row {row_count}: {m}",
                        self.table_name(index),
                    ),
                    offset: Some(at + i as u64),
                });
            }
        }
        Ok(())
    }

    /// The object of `level` closed at `at`.
    fn close(&mut self, level: Level, at: usize) -> Result<()> {
        if level == Level::Top {
            self.state = State::End;
            return Ok(());
        }
        let index = self.tables.len();
        let name = self.table_name(index);
        if self.table.columns.is_none() {
            return Err(Error::MalformedResponse {
                message: format!("table {index} ({name}): Columns is missing or not an array"),
                offset: Some(self.base + at as u64),
            });
        }
        if let Some((bytes, at)) = self.table.buffered.take() {
            let ranges = split_array(&bytes).map_err(|(i, m)| Error::MalformedResponse {
                message: format!("table {index} ({name}): Rows: {m}"),
                offset: Some(at + i as u64),
            })?;
            for (start, end) in ranges {
                self.row(&bytes[start..end], at + start as u64)?;
            }
        }
        let table = std::mem::take(&mut self.table);
        let columns = table.columns.unwrap_or_default();
        let mut data = table.data.unwrap_or_else(|| {
            KustoTable::empty(0, TableKind::PrimaryResult, String::new(), columns.into())
        });
        data.id = index as i64;
        data.name = name;
        self.tables.push(data);
        self.state = State::AfterTable;
        Ok(())
    }
}
