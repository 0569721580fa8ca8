//! The sans-IO, incremental parser of v2 query responses (`/v2/rest/query`).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

use super::events::{DataSetCompletion, DataSetHeader, TableCompletion, TableHeader, V2Event};
use super::lane::{Lane, Scratch};
use super::partial::{
    ErrorPlacement, PartialError, PartialFailure, QciColumns, one_api_errors, text_error,
};
use super::scan::{
    QUOTED_START, Scan, ValueScanner, body_start, check_value_size, describe, is_ws, split_array,
};
use super::table::{Column, KustoTable, Row, TableKind, parse_columns};
#[cfg(feature = "arrow")]
use super::{arrow_batch::ArrowOptions, columnar::ColumnarBuilder};

mod rows;
use rows::Sink;

/// Limits of the streaming parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserOptions {
    batch_rows: usize,
    batch_bytes: usize,
    max_value_bytes: usize,
}

/// The default of [`ParserOptions::max_value_bytes`]: 256 MiB.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 256 << 20;

impl Default for ParserOptions {
    /// Batches of at most 4096 rows or 4 MiB of row JSON; no single JSON value above 256 MiB.
    fn default() -> Self {
        ParserOptions {
            batch_rows: 4096,
            batch_bytes: 4 << 20,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
        }
    }
}

impl ParserOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most rows per [`V2Event::Rows`] batch (at least 1).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// A batch is emitted as soon as its rows' JSON reaches this many bytes (at least one row
    /// per batch, however large).
    pub fn with_batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes.max(1);
        self
    }

    /// The largest single JSON value the parser holds while it waits for the value's end: one
    /// row of a table, or one piece of frame metadata (default [`DEFAULT_MAX_VALUE_BYTES`], at
    /// least 1 KiB). Kusto's own values are far smaller (a string or dynamic value is limited
    /// to a few MB by the service), so only a broken or hostile server reaches it; the parser
    /// then fails with [`Error::ResponseTooLarge`] instead of buffering without end. Rows are
    /// decoded one at a time, so the limit does not bound the size of a table.
    pub fn with_max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes.max(1024);
        self
    }

    /// The largest single JSON value (see [`with_max_value_bytes`](Self::with_max_value_bytes)).
    pub fn max_value_bytes(&self) -> usize {
        self.max_value_bytes
    }

    /// Most rows per batch.
    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// Most bytes of row JSON per batch.
    pub fn batch_bytes(&self) -> usize {
        self.batch_bytes
    }
}

#[derive(Debug)]
enum State {
    Start,
    /// After `[`: a frame or `]`.
    ArrayStart,
    /// After `,` between frames: a frame.
    FrameStart,
    /// After a frame: `,` or `]`.
    AfterFrame,
    /// In a frame, expecting a key (or `}` when `first`).
    Key {
        first: bool,
    },
    KeyScan(ValueScanner, usize),
    Colon,
    Value,
    ValueScan(ValueScanner, usize),
    RowsOpen,
    RowsElem {
        first: bool,
    },
    RowScan(ValueScanner, usize),
    RowsAfterElem,
    AfterValue,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueMode {
    Generic,
    StreamRows,
    BufferRows,
}

#[derive(Debug, Default)]
struct Frame {
    start: u64,
    frame_type: Option<String>,
    fields: Map<String, Value>,
    key: String,
    rows: Option<(Vec<u8>, u64)>,
    streamed: bool,
}

/// The hasher of the open-table map, looked up once per row: table ids are integers, so one
/// multiplication spreads them (SipHash's resistance to chosen keys buys nothing for the few
/// tables of one response, and cost about 5 % of the columnar path on narrow rows).
#[derive(Debug, Default, Clone, Copy)]
struct TableIdHasher(u64);

impl Hasher for TableIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i64(&mut self, n: i64) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[derive(Debug)]
struct OpenTable {
    name: String,
    columns: Arc<[Column]>,
    rows_received: u64,
    qci: Option<QciColumns>,
    /// How the fast lane reads each column.
    lanes: Vec<Lane>,
    /// Where the table's rows go.
    sink: Sink,
}

/// The sans-IO, incremental parser of v2 query responses (`/v2/rest/query`).
///
/// [`V2Parser`] is fed the body in chunks of any size ([`V2Parser::feed`]) and hands out
/// [`V2Event`]s ([`V2Parser::next_event`]). It never needs the whole body nor a whole frame: the
/// `Rows` array of a `DataTable` or `TableFragment` frame is sliced element by element by a
/// structural scanner and each row is decoded (typed by the columns) as soon as its last byte
/// arrives. Every other frame value (small metadata) is buffered and parsed with `serde_json`.
///
/// Memory held by the parser is the unconsumed input, the row being assembled and one batch of
/// rows, bounded by [`ParserOptions::batch_rows`] and [`ParserOptions::batch_bytes`], whatever
/// the size of the result.
///
/// # Tolerance
/// * Frames may be separated by newlines (`results_v2_newlines_between_frames`) or not, with any
///   whitespace anywhere.
/// * Frame keys may come in any order. Rows are streamed when the frame's type and, for a
///   `DataTable`, its `TableId`, `TableKind`, `TableName` and `Columns` (for a `TableFragment`, its
///   `TableId` and `TableFragmentType`) came before `Rows`, as the service always sends them;
///   otherwise the frame's rows are **buffered until the end of the frame** and then decoded.
/// * Unknown frame types are skipped (their JSON is still validated).
/// * `DataSetHeader.Version`: `v2.0` and any other `v2.<minor>` are read (a minor version may
///   add frame types and fields, which are skipped); a missing `Version` is read as `v2.0`.
///   Any other version (`v1.0`, `v3.0`, text) is a different protocol, which must not be
///   misread silently: [`Error::MalformedResponse`] at the header frame.
/// * Errors in every placement are collected; once the response is complete,
///   [`V2Parser::next_event`] returns [`Error::PartialFailure`] instead of `Ok(None)`.
///
/// ```
/// use kusto_data::response::{V2Event, V2Parser};
/// let body = br#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
///   {"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T",
///    "Columns":[{"ColumnName":"n","ColumnType":"long"}],"Rows":[[1],[2]]},
///   {"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
/// let mut parser = V2Parser::new();
/// let mut rows = 0;
/// for chunk in body.chunks(7) {
///     parser.feed(chunk);
///     while let Some(event) = parser.next_event()? {
///         if let V2Event::Rows { rows: batch, .. } = event { rows += batch.len(); }
///     }
/// }
/// parser.end_of_input();
/// while let Some(_event) = parser.next_event()? {}
/// assert_eq!(rows, 2);
/// # Ok::<(), kusto_data::Error>(())
/// ```
#[derive(Debug)]
pub struct V2Parser {
    options: ParserOptions,
    buf: Vec<u8>,
    pos: usize,
    base: u64,
    state: State,
    mode: ValueMode,
    input_done: bool,
    done: bool,
    events: VecDeque<V2Event>,
    header_seen: bool,
    completion_seen: bool,
    tables: HashMap<i64, OpenTable, BuildHasherDefault<TableIdHasher>>,
    frame: Frame,
    target: Option<i64>,
    batch: Vec<Row>,
    batch_bytes: usize,
    batch_table: Option<i64>,
    errors: Vec<PartialError>,
    deferred: Vec<PartialError>,
    #[cfg(feature = "arrow")]
    arrow_output: Option<ArrowOptions>,
    /// Primary results are collected into [`KustoTable`]s inside the parser
    /// ([`V2Parser::collect_tables`]).
    collect: bool,
    /// Primary results are delivered as [`V2Event::Table`] chunks ([`V2Parser::chunk_tables`]).
    chunks: bool,
    /// Collected tables that ended, until [`V2Parser::take_collected`] takes them.
    collected: Vec<KustoTable>,
    /// The row being read by the fast lane (for the row path and collected tables).
    scratch: Scratch,
    /// Rows decoded by the fast lane, and by the serde decoders (see `debug_rows`).
    lane_rows: u64,
    decoded_rows: u64,
}

impl Default for V2Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl V2Parser {
    /// A parser with default [`ParserOptions`].
    pub fn new() -> Self {
        Self::with_options(ParserOptions::default())
    }

    /// A parser with the given limits.
    pub fn with_options(options: ParserOptions) -> Self {
        V2Parser {
            options,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            state: State::Start,
            mode: ValueMode::Generic,
            input_done: false,
            done: false,
            events: VecDeque::new(),
            header_seen: false,
            completion_seen: false,
            tables: HashMap::default(),
            frame: Frame::default(),
            target: None,
            batch: Vec::new(),
            batch_bytes: 0,
            batch_table: None,
            errors: Vec::new(),
            deferred: Vec::new(),
            #[cfg(feature = "arrow")]
            arrow_output: None,
            collect: false,
            chunks: false,
            collected: Vec::new(),
            scratch: Scratch::default(),
            lane_rows: 0,
            decoded_rows: 0,
        }
    }

    /// The options in use.
    pub fn options(&self) -> ParserOptions {
        self.options
    }

    /// Chooses the columnar path for primary results (cargo feature `arrow`).
    ///
    /// With `Some(options)`, the rows of every `PrimaryResult` table that starts after this call
    /// are decoded straight into Arrow array builders, one per column, typed by the table's
    /// columns, and delivered as [`V2Event::RecordBatch`] instead of [`V2Event::Rows`]: no
    /// [`KustoValue`](crate::types::KustoValue) is built per cell. The values are exactly those
    /// of [`to_record_batch`](super::to_record_batch) over the rows of the row path, and batches
    /// are cut at the same places ([`ParserOptions`]). Other tables (query properties,
    /// completion information) still come as [`V2Event::Rows`]. `None` (the default) restores
    /// row output for tables that start afterwards.
    ///
    /// [`DataSetBuilder`](super::DataSetBuilder) ignores [`V2Event::RecordBatch`]: collect a
    /// [`DataSet`](super::DataSet) from a parser in row mode.
    ///
    /// ```
    /// use kusto_data::response::{ArrowOptions, V2Event, V2Parser};
    /// let body = br#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
    ///   {"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"T",
    ///    "Columns":[{"ColumnName":"n","ColumnType":"long"}],"Rows":[[1],[null]]},
    ///   {"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
    /// let mut parser = V2Parser::new();
    /// parser.set_arrow_output(Some(ArrowOptions::new()));
    /// parser.feed(body);
    /// parser.end_of_input();
    /// let mut rows = 0;
    /// while let Some(event) = parser.next_event()? {
    ///     if let V2Event::RecordBatch { batch, .. } = event {
    ///         rows += batch.num_rows();
    ///         assert_eq!(batch.column(0).null_count(), 1);
    ///     }
    /// }
    /// assert_eq!(rows, 2);
    /// # Ok::<(), kusto_data::Error>(())
    /// ```
    #[cfg(feature = "arrow")]
    pub fn set_arrow_output(&mut self, options: Option<ArrowOptions>) {
        self.arrow_output = options;
    }

    /// The Arrow options of the columnar path, when it is on
    /// ([`set_arrow_output`](Self::set_arrow_output)).
    #[cfg(feature = "arrow")]
    pub fn arrow_output(&self) -> Option<ArrowOptions> {
        self.arrow_output
    }

    /// Hands the next chunk of the body to the parser. Chunks may split the body anywhere,
    /// including inside strings, escapes and multi-byte characters.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(chunk);
    }

    /// Says that the body is complete: no more [`feed`](Self::feed) calls will follow.
    pub fn end_of_input(&mut self) {
        self.input_done = true;
    }

    /// Bytes of the body consumed so far (the offset used in error messages).
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The next event. `Ok(None)` means that more input is needed or, after
    /// [`end_of_input`](Self::end_of_input), that the response is complete and had no errors.
    ///
    /// Errors: [`Error::MalformedResponse`] (with the byte offset) for bad JSON, protocol
    /// violations and truncation; [`Error::PartialFailure`] once the whole response was read when
    /// the service reported errors in any placement. After an error the parser is finished.
    pub fn next_event(&mut self) -> Result<Option<V2Event>> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(Some(event));
            }
            if self.done {
                return Ok(None);
            }
            let before = (self.pos, self.buf.len());
            if let Err(e) = self.run() {
                self.done = true;
                return Err(e);
            }
            if !self.events.is_empty() {
                continue;
            }
            if (self.pos, self.buf.len()) != before && self.pos < self.buf.len() {
                continue;
            }
            if !self.input_done {
                return Ok(None);
            }
            self.done = true;
            return self.finish().map(|()| None);
        }
    }

    fn malformed(&self, at: usize, message: impl Into<String>) -> Error {
        Error::MalformedResponse {
            message: message.into(),
            offset: Some(self.base + at as u64),
        }
    }

    fn compact(&mut self) {
        let keep = match &self.state {
            State::KeyScan(_, s) | State::ValueScan(_, s) | State::RowScan(_, s) => *s,
            _ => self.pos,
        };
        if keep == 0 || keep < self.buf.len() - keep {
            return;
        }
        self.buf.drain(..keep);
        self.pos -= keep;
        self.base += keep as u64;
        match &mut self.state {
            State::KeyScan(_, s) | State::ValueScan(_, s) | State::RowScan(_, s) => *s -= keep,
            _ => {}
        }
    }

    fn skip_ws(&mut self) -> Option<u8> {
        while let Some(&b) = self.buf.get(self.pos) {
            if !is_ws(b) {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Advances until an event is queued or the input is exhausted.
    fn run(&mut self) -> Result<()> {
        while self.events.is_empty() {
            let Some(b) = self.skip_ws() else {
                return Ok(());
            };
            let at = self.pos;
            match std::mem::replace(&mut self.state, State::End) {
                State::Start => {
                    if b == 0xEF {
                        // UTF-8 byte order mark.
                        if self.buf.len() < at + 3 {
                            self.state = State::Start;
                            return Ok(());
                        }
                        if self.buf.get(at..at + 3) == Some(&[0xEF, 0xBB, 0xBF][..]) {
                            self.pos += 3;
                            self.state = State::Start;
                            continue;
                        }
                    }
                    if b != b'[' {
                        // Quote the same bytes however the body was chunked: wait for them.
                        if !self.input_done && self.buf.len() - at < QUOTED_START {
                            self.state = State::Start;
                            return Ok(());
                        }
                        let text = body_start(&self.buf[at..]);
                        return Err(self.malformed(at, format!("a v2 response is a JSON array of frames, but the body starts with {text:?}")));
                    }
                    self.pos += 1;
                    self.state = State::ArrayStart;
                }
                State::ArrayStart | State::FrameStart => {
                    if b == b'{' {
                        self.pos += 1;
                        self.frame = Frame {
                            start: self.base + at as u64,
                            ..Frame::default()
                        };
                        self.state = State::Key { first: true };
                    } else {
                        return Err(self.malformed(
                            at,
                            format!("expected a frame object, found {}", describe(b)),
                        ));
                    }
                }
                State::AfterFrame => match b {
                    b',' => {
                        self.pos += 1;
                        self.state = State::FrameStart;
                    }
                    b']' => {
                        self.pos += 1;
                        self.state = State::End;
                        self.end_of_frames(at)?;
                    }
                    _ => {
                        return Err(self.malformed(
                            at,
                            format!("expected ',' or ']' after a frame, found {}", describe(b)),
                        ));
                    }
                },
                State::Key { first } => match b {
                    b'"' => self.state = State::KeyScan(ValueScanner::default(), at),
                    b'}' if first => {
                        self.pos += 1;
                        self.end_frame(at)?;
                        self.state = State::AfterFrame;
                    }
                    _ => {
                        return Err(self.malformed(
                            at,
                            format!("expected a frame key, found {}", describe(b)),
                        ));
                    }
                },
                State::KeyScan(mut scanner, start) => match self.scan(&mut scanner, start)? {
                    None => {
                        self.state = State::KeyScan(scanner, start);
                        return Ok(());
                    }
                    Some(end) => {
                        let key: String = serde_json::from_slice(&self.buf[start..end])
                            .map_err(|e| self.malformed(start, format!("bad frame key: {e}")))?;
                        self.pos = end;
                        self.mode = self.mode_for(&key);
                        self.frame.key = key;
                        self.state = State::Colon;
                    }
                },
                State::Colon => {
                    if b != b':' {
                        return Err(self.malformed(
                            at,
                            format!("expected ':' after a key, found {}", describe(b)),
                        ));
                    }
                    self.pos += 1;
                    self.state = State::Value;
                }
                State::Value => {
                    if self.mode == ValueMode::StreamRows {
                        self.start_streaming(at)?;
                        self.state = State::RowsOpen;
                    } else {
                        self.state = State::ValueScan(ValueScanner::default(), at);
                    }
                }
                State::ValueScan(mut scanner, start) => match self.scan(&mut scanner, start)? {
                    None => {
                        self.state = State::ValueScan(scanner, start);
                        return Ok(());
                    }
                    Some(end) => {
                        self.pos = end;
                        self.on_value(start, end)?;
                        self.state = State::AfterValue;
                    }
                },
                State::RowsOpen => {
                    if b != b'[' {
                        return Err(self.malformed(
                            at,
                            format!("Rows must be an array, found {}", describe(b)),
                        ));
                    }
                    self.pos += 1;
                    self.state = State::RowsElem { first: true };
                }
                State::RowsElem { first } => {
                    if b == b']' && first {
                        self.pos += 1;
                        self.flush()?;
                        self.state = State::AfterValue;
                    } else {
                        if b == b'['
                            && let Some(end) = self.fast_rows(at)?
                        {
                            self.pos = end;
                            self.state = State::RowsAfterElem;
                            continue;
                        }
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
                        self.state = State::RowsAfterElem;
                        let id = self.target.unwrap_or_default();
                        self.on_row(id, start, end)?;
                    }
                },
                State::RowsAfterElem => match b {
                    b',' => {
                        self.pos += 1;
                        self.state = State::RowsElem { first: false };
                    }
                    b']' => {
                        self.pos += 1;
                        self.flush()?;
                        self.state = State::AfterValue;
                    }
                    _ => {
                        return Err(self.malformed(
                            at,
                            format!("expected ',' or ']' between rows, found {}", describe(b)),
                        ));
                    }
                },
                State::AfterValue => match b {
                    b',' => {
                        self.pos += 1;
                        self.state = State::Key { first: false };
                    }
                    b'}' => {
                        self.pos += 1;
                        self.end_frame(at)?;
                        self.state = State::AfterFrame;
                    }
                    _ => {
                        return Err(self.malformed(
                            at,
                            format!("expected ',' or '}}' in a frame, found {}", describe(b)),
                        ));
                    }
                },
                State::End => {
                    return Err(self.malformed(
                        at,
                        format!("unexpected {} after the end of the response", describe(b)),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Runs the scanner over the value starting at `start`; `Some(end)` when complete.
    fn scan(&mut self, scanner: &mut ValueScanner, start: usize) -> Result<Option<usize>> {
        match scanner.scan(&self.buf[start..]) {
            Ok(Scan::Done(len)) => Ok(Some(start + len)),
            Ok(Scan::More) => {
                self.pos = self.buf.len();
                check_value_size(self.buf.len() - start, self.options.max_value_bytes)?;
                Ok(None)
            }
            Err((i, message)) => Err(self.malformed(start + i, message)),
        }
    }

    fn mode_for(&self, key: &str) -> ValueMode {
        if key != "Rows" {
            return ValueMode::Generic;
        }
        let f = &self.frame.fields;
        match self.frame.frame_type.as_deref() {
            Some("DataTable") => {
                if ["TableId", "TableKind", "TableName", "Columns"]
                    .iter()
                    .all(|k| f.contains_key(*k))
                {
                    ValueMode::StreamRows
                } else {
                    ValueMode::BufferRows
                }
            }
            Some("TableFragment") => {
                if f.contains_key("TableId") && f.contains_key("TableFragmentType") {
                    ValueMode::StreamRows
                } else {
                    ValueMode::BufferRows
                }
            }
            None => ValueMode::BufferRows,
            Some(_) => ValueMode::Generic,
        }
    }

    fn on_value(&mut self, start: usize, end: usize) -> Result<()> {
        let key = std::mem::take(&mut self.frame.key);
        if self.mode == ValueMode::BufferRows {
            self.frame.rows = Some((self.buf[start..end].to_vec(), self.base + start as u64));
            return Ok(());
        }
        let value: Value = serde_json::from_slice(&self.buf[start..end])
            .map_err(|e| self.malformed(start, format!("bad JSON in frame key {key:?}: {e}")))?;
        if key == "FrameType" {
            match value.as_str() {
                Some(t) => self.frame.frame_type = Some(t.to_owned()),
                None => return Err(self.malformed(start, "FrameType is not a string")),
            }
        }
        self.frame.fields.insert(key, value);
        Ok(())
    }

    /// `Rows` of a frame whose metadata is known: announce the table (or fragment) and stream.
    fn start_streaming(&mut self, at: usize) -> Result<()> {
        let offset = self.base + at as u64;
        self.frame.streamed = true;
        let id = self.table_id(offset)?;
        if self.frame.frame_type.as_deref() == Some("DataTable") {
            self.open_table(offset, false)?;
        } else {
            self.start_fragment(id, offset)?;
        }
        self.target = Some(id);
        Ok(())
    }

    fn table_id(&self, offset: u64) -> Result<i64> {
        self.frame
            .fields
            .get("TableId")
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::MalformedResponse {
                message: format!(
                    "{} frame without an integer TableId",
                    self.frame.frame_type.as_deref().unwrap_or("table")
                ),
                offset: Some(offset),
            })
    }

    fn require_header(&self, offset: u64) -> Result<()> {
        if !self.header_seen {
            return Err(Error::MalformedResponse {
                message: format!(
                    "{} frame before DataSetHeader",
                    self.frame.frame_type.as_deref().unwrap_or("a")
                ),
                offset: Some(offset),
            });
        }
        if self.completion_seen {
            return Err(Error::MalformedResponse {
                message: "frame after DataSetCompletion".into(),
                offset: Some(offset),
            });
        }
        Ok(())
    }

    /// Registers the table of a `DataTable` or `TableHeader` frame and queues `TableStart`.
    fn open_table(&mut self, offset: u64, fragmented: bool) -> Result<()> {
        self.require_header(offset)?;
        let id = self.table_id(offset)?;
        let f = &self.frame.fields;
        let text = |k: &str| {
            f.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (kind, name) = (TableKind::parse(&text("TableKind")), text("TableName"));
        let columns =
            parse_columns(f.get("Columns")).map_err(|message| Error::MalformedResponse {
                message: format!("table {id} ({name}): {message}"),
                offset: Some(offset),
            })?;
        if self.tables.contains_key(&id) {
            return Err(Error::MalformedResponse {
                message: format!("table {id} ({name}) started twice"),
                offset: Some(offset),
            });
        }
        let columns: Arc<[Column]> = columns.into();
        let qci = (kind == TableKind::QueryCompletionInformation)
            .then(|| QciColumns::find(&columns))
            .flatten();
        let sink = self.sink_for(id, &kind, &name, &columns);
        self.tables.insert(
            id,
            OpenTable {
                name: name.clone(),
                columns: Arc::clone(&columns),
                rows_received: 0,
                qci,
                lanes: columns
                    .iter()
                    .map(|c| match sink {
                        Sink::Rows => Lane::for_values(&c.column_type),
                        _ => Lane::of(&c.column_type),
                    })
                    .collect(),
                sink,
            },
        );
        self.events.push_back(V2Event::TableStart(TableHeader {
            table_id: id,
            kind,
            name,
            columns,
            fragmented,
        }));
        Ok(())
    }

    fn start_fragment(&mut self, id: i64, offset: u64) -> Result<()> {
        self.require_header(offset)?;
        let replace = match self
            .frame
            .fields
            .get("TableFragmentType")
            .and_then(Value::as_str)
        {
            Some("DataReplace") => true,
            Some("DataAppend") | None => false,
            Some(other) => {
                return Err(Error::MalformedResponse {
                    message: format!("unknown TableFragmentType {other:?}"),
                    offset: Some(offset),
                });
            }
        };
        let Some(table) = self.tables.get_mut(&id) else {
            return Err(Error::MalformedResponse {
                message: format!("TableFragment for table {id}, which has no open TableHeader"),
                offset: Some(offset),
            });
        };
        if replace {
            table.rows_received = 0;
            if let Sink::Collect(t) | Sink::Chunks(t) = &mut table.sink {
                t.clear_rows();
            }
            self.flush()?;
            self.events.push_back(V2Event::Replace { table_id: id });
        }
        Ok(())
    }

    /// The frame closed at `at` (the `}`): act on it.
    fn end_frame(&mut self, at: usize) -> Result<()> {
        let frame = std::mem::take(&mut self.frame);
        let offset = frame.start;
        let Some(frame_type) = frame.frame_type.clone() else {
            return Err(self.malformed(at, "frame without FrameType"));
        };
        self.frame = frame;
        let f = &self.frame.fields;
        let flag = |k: &str| f.get(k).and_then(Value::as_bool).unwrap_or(false);
        match frame_type.as_str() {
            "DataSetHeader" => {
                if self.header_seen {
                    return Err(Error::MalformedResponse {
                        message: "second DataSetHeader".into(),
                        offset: Some(offset),
                    });
                }
                let header = DataSetHeader {
                    version: f
                        .get("Version")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    is_progressive: flag("IsProgressive"),
                    is_fragmented: flag("IsFragmented"),
                    error_reporting_placement: f
                        .get("ErrorReportingPlacement")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                };
                if !version_supported(&header.version) {
                    return Err(Error::MalformedResponse {
                        message: format!(
                            "DataSetHeader announces protocol version {:?}; this client reads v2.x responses only",
                            header.version
                        ),
                        offset: Some(offset),
                    });
                }
                self.header_seen = true;
                self.events.push_back(V2Event::DataSetHeader(header));
            }
            "DataTable" => {
                let id = self.table_id(offset)?;
                if !self.frame.streamed {
                    self.open_table(offset, false)?;
                    self.replay_rows(id)?;
                }
                self.flush()?;
                self.close_table(id, None, Vec::new(), offset)?;
            }
            "TableHeader" => self.open_table(offset, true)?,
            "TableFragment" => {
                let id = self.table_id(offset)?;
                if !self.frame.streamed {
                    self.start_fragment(id, offset)?;
                    self.replay_rows(id)?;
                }
                self.flush()?;
            }
            "TableProgress" => {
                self.require_header(offset)?;
                let id = self.table_id(offset)?;
                let progress = f
                    .get("TableProgress")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                self.events.push_back(V2Event::Progress {
                    table_id: id,
                    progress,
                });
            }
            "TableCompletion" => {
                self.require_header(offset)?;
                let id = self.table_id(offset)?;
                let row_count = f.get("RowCount").and_then(Value::as_u64);
                let errors = f
                    .get("OneApiErrors")
                    .map(one_api_errors)
                    .unwrap_or_default();
                for error in &errors {
                    self.errors.push(PartialError {
                        placement: ErrorPlacement::TableCompletion { table_id: id },
                        error: error.clone(),
                    });
                }
                self.flush()?;
                self.close_table(id, row_count, errors, offset)?;
            }
            "DataSetCompletion" => {
                self.require_header(offset)?;
                let completion = DataSetCompletion {
                    has_errors: flag("HasErrors"),
                    cancelled: flag("Cancelled"),
                    errors: f
                        .get("OneApiErrors")
                        .map(one_api_errors)
                        .unwrap_or_default(),
                };
                for error in &completion.errors {
                    if !self.errors.iter().any(|e| &e.error == error) {
                        self.errors.push(PartialError {
                            placement: ErrorPlacement::DataSetCompletion,
                            error: error.clone(),
                        });
                    }
                }
                if completion.has_errors && self.errors.is_empty() && self.deferred.is_empty() {
                    self.errors.push(PartialError {
                        placement: ErrorPlacement::DataSetCompletion,
                        error: text_error(
                            "",
                            "DataSetCompletion reports HasErrors without error details".into(),
                        ),
                    });
                }
                if completion.cancelled {
                    self.errors.push(PartialError {
                        placement: ErrorPlacement::Cancelled,
                        error: text_error(
                            "Cancelled",
                            "the request was cancelled; the results are incomplete".into(),
                        ),
                    });
                }
                self.completion_seen = true;
                self.events
                    .push_back(V2Event::DataSetCompletion(completion));
            }
            _ => {
                // Unknown frame types are skipped; their JSON was validated value by value.
                if let Some((bytes, at)) = &self.frame.rows
                    && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
                {
                    return Err(Error::MalformedResponse {
                        message: format!("bad JSON in frame {frame_type}: {e}"),
                        offset: Some(*at),
                    });
                }
            }
        }
        self.frame = Frame::default();
        self.target = None;
        Ok(())
    }

    /// Decodes rows that were buffered because they came before the frame's metadata.
    fn replay_rows(&mut self, id: i64) -> Result<()> {
        let Some((bytes, at)) = self.frame.rows.take() else {
            return Ok(());
        };
        let ranges = split_array(&bytes).map_err(|(i, m)| Error::MalformedResponse {
            message: format!("Rows: {m}"),
            offset: Some(at + i as u64),
        })?;
        for (start, end) in ranges {
            self.row_bytes(id, &bytes[start..end], at + start as u64)?;
        }
        Ok(())
    }

    fn close_table(
        &mut self,
        id: i64,
        row_count: Option<u64>,
        errors: Vec<crate::OneApiError>,
        offset: u64,
    ) -> Result<()> {
        let Some(table) = self.tables.remove(&id) else {
            return Err(Error::MalformedResponse {
                message: format!("TableCompletion for table {id}, which is not open"),
                offset: Some(offset),
            });
        };
        match table.sink {
            Sink::Collect(t) => self.collected.push(*t),
            Sink::Chunks(t) if !t.is_empty() => {
                self.events.push_back(V2Event::Table {
                    table_id: id,
                    table: *t,
                });
            }
            _ => {}
        }
        self.events.push_back(V2Event::TableEnd(TableCompletion {
            table_id: id,
            rows_received: table.rows_received,
            row_count,
            errors,
        }));
        Ok(())
    }

    fn end_of_frames(&mut self, at: usize) -> Result<()> {
        if !self.completion_seen {
            return Err(self.malformed(at, "the response ends without a DataSetCompletion frame"));
        }
        if let Some((id, table)) = self.tables.iter().next() {
            return Err(self.malformed(
                at,
                format!("table {id} ({}) has no TableCompletion", table.name),
            ));
        }
        Ok(())
    }

    /// Called once the input is exhausted.
    fn finish(&mut self) -> Result<()> {
        if !matches!(self.state, State::End) {
            let at = self.buf.len();
            let context = match self.state {
                State::Start => "the body is empty",
                State::AfterFrame | State::ArrayStart | State::FrameStart => {
                    "the body ends before the closing ']'"
                }
                _ => "the body ends inside a frame",
            };
            return Err(self.malformed(at, format!("truncated response: {context}")));
        }
        self.debug_rows();
        let mut errors = std::mem::take(&mut self.errors);
        if errors
            .iter()
            .all(|e| e.placement == ErrorPlacement::Cancelled)
        {
            errors.splice(0..0, std::mem::take(&mut self.deferred));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::PartialFailure(Box::new(PartialFailure::new(errors))))
        }
    }
}

/// True for the `DataSetHeader.Version` values this parser reads: `v2`, `v2.<anything>`, or
/// none at all.
fn version_supported(version: &str) -> bool {
    version.is_empty() || version == "v2" || version.starts_with("v2.")
}
