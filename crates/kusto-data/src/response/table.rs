//! The table model shared by v1 and v2 results: columns, rows and typed getters.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{ConversionError, Error, Result};
use crate::types::{KustoDateTime, KustoDecimal, KustoTimespan, KustoType, KustoValue, Uuid};

use super::columns::{CellRef, ColumnData, json_value};
use super::lane::{Cell, RowText};

/// One row: a value per column, in column order.
pub type Row = Vec<KustoValue>;

/// A column: its name and Kusto type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Column {
    /// `ColumnName`.
    pub name: String,
    /// `ColumnType` (v2), else the v1 `DataType` mapped to a Kusto type.
    pub column_type: KustoType,
}

impl Column {
    /// A column named `name` of type `column_type`.
    pub fn new(name: impl Into<String>, column_type: KustoType) -> Self {
        Column {
            name: name.into(),
            column_type,
        }
    }
}

/// What a table holds (`TableKind` in v2; derived from the table of contents in v1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TableKind {
    /// A result of the query.
    PrimaryResult,
    /// `QueryCompletionInformation` (v2), or the v1 `QueryStatus` table.
    QueryCompletionInformation,
    /// `QueryTraceLog`.
    QueryTraceLog,
    /// `QueryPerfLog`.
    QueryPerfLog,
    /// `TableOfContents`.
    TableOfContents,
    /// `QueryProperties` (`@ExtendedProperties`).
    QueryProperties,
    /// `QueryPlan`.
    QueryPlan,
    /// `Unknown`, as sent by the service.
    Unknown,
    /// A kind this crate does not know, kept verbatim.
    Other(String),
}

impl TableKind {
    /// Maps the wire name (case-insensitive); unknown names become [`TableKind::Other`].
    pub fn parse(name: &str) -> TableKind {
        match name.to_ascii_lowercase().as_str() {
            "primaryresult" => TableKind::PrimaryResult,
            "querycompletioninformation" => TableKind::QueryCompletionInformation,
            "querytracelog" => TableKind::QueryTraceLog,
            "queryperflog" => TableKind::QueryPerfLog,
            "tableofcontents" => TableKind::TableOfContents,
            "queryproperties" => TableKind::QueryProperties,
            "queryplan" => TableKind::QueryPlan,
            "unknown" => TableKind::Unknown,
            _ => TableKind::Other(name.to_owned()),
        }
    }

    /// The wire name.
    pub fn name(&self) -> &str {
        match self {
            TableKind::PrimaryResult => "PrimaryResult",
            TableKind::QueryCompletionInformation => "QueryCompletionInformation",
            TableKind::QueryTraceLog => "QueryTraceLog",
            TableKind::QueryPerfLog => "QueryPerfLog",
            TableKind::TableOfContents => "TableOfContents",
            TableKind::QueryProperties => "QueryProperties",
            TableKind::QueryPlan => "QueryPlan",
            TableKind::Unknown => "Unknown",
            TableKind::Other(name) => name,
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A table of a result, held in memory.
///
/// The data is kept by column, in typed buffers (see the response module's documentation): a
/// collected result needs about the memory of its values, not a [`KustoValue`] per cell. The row
/// API ([`rows`](Self::rows), [`row`](Self::row), [`RowRef`]'s getters, serde rows) and the Arrow
/// conversion read from those buffers.
#[derive(Clone)]
pub struct KustoTable {
    pub(crate) id: i64,
    pub(crate) kind: TableKind,
    pub(crate) name: String,
    pub(crate) columns: Arc<[Column]>,
    data: Vec<ColumnData>,
    len: usize,
}

impl fmt::Debug for KustoTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KustoTable")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("columns", &self.columns)
            .field("rows", &self.len)
            .finish()
    }
}

impl PartialEq for KustoTable {
    /// Same id, kind, name, columns and cells (NaN is not equal to itself, as for `f64`).
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.kind == other.kind
            && self.name == other.name
            && self.columns == other.columns
            && self.len == other.len
            && self
                .data
                .iter()
                .zip(&other.data)
                .all(|(a, b)| (0..self.len).all(|r| a.get(r).same(b.get(r))))
    }
}

impl KustoTable {
    /// A table from its parts. Every row must have one value per column.
    pub fn new(
        id: i64,
        kind: TableKind,
        name: impl Into<String>,
        columns: impl Into<Arc<[Column]>>,
        rows: Vec<Row>,
    ) -> Result<Self> {
        let columns = columns.into();
        if let Some(i) = rows.iter().position(|r| r.len() != columns.len()) {
            return Err(Error::InvalidArgument(format!(
                "row {i} has {} values for {} columns",
                rows.get(i).map_or(0, Vec::len),
                columns.len()
            )));
        }
        let mut table = KustoTable::empty(id, kind, name.into(), columns);
        for row in rows {
            table.push_row(row);
        }
        Ok(table)
    }

    /// A table without rows.
    pub(crate) fn empty(id: i64, kind: TableKind, name: String, columns: Arc<[Column]>) -> Self {
        let data = columns
            .iter()
            .map(|c| ColumnData::new(&c.column_type))
            .collect();
        KustoTable {
            id,
            kind,
            name,
            columns,
            data,
            len: 0,
        }
    }

    /// Appends a row. A missing value is null; values past the last column are ignored (the
    /// decoders give one value per column).
    pub(crate) fn push_row(&mut self, row: Row) {
        let mut values = row.into_iter();
        for column in &mut self.data {
            column.push(values.next().unwrap_or(KustoValue::Null), self.len);
        }
        self.len += 1;
    }

    /// Appends a row read by the lane: one cell per column (`row`: the row's text). `false`
    /// when a cell does not suit its column: nothing was appended (the caller decodes the row
    /// with the serde decoder instead).
    pub(crate) fn push_cells(&mut self, cells: &[Cell], row: RowText<'_>) -> bool {
        if cells.len() != self.data.len() {
            return false;
        }
        for (k, (column, cell)) in self.data.iter_mut().zip(cells).enumerate() {
            if !column.push_cell(*cell, row) {
                for column in &mut self.data[..k] {
                    column.truncate(self.len);
                }
                return false;
            }
        }
        self.len += 1;
        true
    }

    /// Removes every row (a `DataReplace`).
    pub(crate) fn clear_rows(&mut self) {
        self.data.iter_mut().for_each(ColumnData::clear);
        self.len = 0;
    }

    /// The cell at `row`, `column`.
    pub(crate) fn cell(&self, row: usize, column: usize) -> CellRef<'_> {
        self.data.get(column).map_or(CellRef::Null, |c| c.get(row))
    }

    /// `TableId` (v2), or the position of the table in a v1 answer.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The table's kind.
    pub fn kind(&self) -> &TableKind {
        &self.kind
    }

    /// `TableName` (v2), or the name given by the v1 table of contents.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The columns, shared.
    pub fn columns_arc(&self) -> Arc<[Column]> {
        Arc::clone(&self.columns)
    }

    /// Index of the column named `name` (exact match first, then case-insensitive).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        find_column(&self.columns, name)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows as owned values (a copy of every cell: prefer [`rows`](Self::rows) and the
    /// typed getters, serde rows or Arrow for large tables).
    pub fn to_rows(&self) -> Vec<Row> {
        self.rows().map(|r| r.values()).collect()
    }

    /// Takes the rows out of the table, as owned values.
    pub fn into_rows(self) -> Vec<Row> {
        self.to_rows()
    }

    /// Row `index`, with typed getters.
    pub fn row(&self, index: usize) -> Option<RowRef<'_>> {
        (index < self.len).then(|| RowRef {
            table: &self.name,
            columns: &self.columns,
            cells: Cells::Columns(&self.data),
            index,
        })
    }

    /// Every row, with typed getters.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = RowRef<'_>> + '_ {
        (0..self.len).map(move |index| RowRef {
            table: &self.name,
            columns: &self.columns,
            cells: Cells::Columns(&self.data),
            index,
        })
    }

    /// Every value of one column, in row order, as owned values.
    pub fn column_values(
        &self,
        column: impl ColumnIndex,
    ) -> Result<impl ExactSizeIterator<Item = KustoValue> + '_> {
        let i = resolve(&column, &self.columns, &self.name)?;
        Ok((0..self.len).map(move |r| self.cell(r, i).to_value()))
    }
}

pub(crate) fn find_column(columns: &[Column], name: &str) -> Option<usize> {
    columns.iter().position(|c| c.name == name).or_else(|| {
        columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    })
}

pub(crate) fn row_ref<'a>(
    table: &'a str,
    columns: &'a [Column],
    rows: &'a [Row],
    index: usize,
) -> Option<RowRef<'a>> {
    rows.get(index).map(|values| RowRef {
        table,
        columns,
        cells: Cells::Row(values),
        index,
    })
}

pub(crate) fn rows_iter<'a>(
    table: &'a str,
    columns: &'a [Column],
    rows: &'a [Row],
) -> impl ExactSizeIterator<Item = RowRef<'a>> + 'a {
    rows.iter().enumerate().map(move |(index, values)| RowRef {
        table,
        columns,
        cells: Cells::Row(values),
        index,
    })
}

/// How a getter names a column: by index (`usize`) or by name (`&str`, `String`).
pub trait ColumnIndex {
    /// The index of the column in `columns`, if there is one.
    fn index_in(&self, columns: &[Column]) -> Option<usize>;
    /// The column as written in an error message.
    fn describe(&self) -> String;
}

impl ColumnIndex for usize {
    fn index_in(&self, columns: &[Column]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
    fn describe(&self) -> String {
        format!("#{self}")
    }
}

impl ColumnIndex for &str {
    fn index_in(&self, columns: &[Column]) -> Option<usize> {
        find_column(columns, self)
    }
    fn describe(&self) -> String {
        format!("'{self}'")
    }
}

impl ColumnIndex for String {
    fn index_in(&self, columns: &[Column]) -> Option<usize> {
        find_column(columns, self)
    }
    fn describe(&self) -> String {
        format!("'{self}'")
    }
}

fn resolve(column: &impl ColumnIndex, columns: &[Column], table: &str) -> Result<usize> {
    column
        .index_in(columns)
        .ok_or_else(|| Error::ColumnNotFound {
            column: column.describe(),
            table: table.to_owned(),
        })
}

/// One row of a table or batch, with typed getters by column name or index.
///
/// Each getter returns `Ok(None)` for a null, `Ok(Some(value))` when the column holds that type,
/// [`Error::ColumnNotFound`] for an unknown column and [`Error::Conversion`] (naming row,
/// column, Kusto type and Rust type) when the column holds another type.
///
/// ```
/// use kusto_data::response::{parse_v2};
/// let body = br#"[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0"},
/// {"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult",
///  "Columns":[{"ColumnName":"n","ColumnType":"long"},{"ColumnName":"s","ColumnType":"string"}],
///  "Rows":[[1,"a"],[null,"b"]]},
/// {"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false}]"#;
/// let data = parse_v2(body)?;
/// let table = data.primary_result().expect("one primary result");
/// let row = table.row(1).expect("two rows");
/// assert_eq!(row.get_i64("n")?, None);
/// assert_eq!(row.get_string(1)?, Some("b"));
/// assert!(row.get_bool("s").is_err());
/// # Ok::<(), kusto_data::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct RowRef<'a> {
    table: &'a str,
    columns: &'a [Column],
    cells: Cells<'a>,
    index: usize,
}

/// Where a row's cells are: a `Vec<KustoValue>` (streamed batches) or a table's column buffers.
#[derive(Clone, Copy)]
enum Cells<'a> {
    Row(&'a [KustoValue]),
    Columns(&'a [ColumnData]),
}

impl fmt::Debug for RowRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowRef")
            .field("table", &self.table)
            .field("index", &self.index)
            .field("values", &self.values())
            .finish()
    }
}

macro_rules! getter {
    ($(#[$doc:meta])* $name:ident, $t:ty, $rust:literal, |$v:ident| $body:expr) => {
        $(#[$doc])*
        pub fn $name(&self, column: impl ColumnIndex) -> Result<Option<$t>> {
            let (i, value) = self.cell(&column)?;
            #[allow(clippy::redundant_closure_call)]
            let converted: Option<$t> = (|$v: CellRef<'a>| $body)(value);
            match (value, converted) {
                (CellRef::Null, _) => Ok(None),
                (_, Some(v)) => Ok(Some(v)),
                (_, None) => Err(self.mismatch(i, $rust)),
            }
        }
    };
}

impl<'a> RowRef<'a> {
    /// Position of the row in its table (or batch).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The columns.
    pub fn columns(&self) -> &'a [Column] {
        self.columns
    }

    /// Number of cells (one per column).
    pub fn len(&self) -> usize {
        match self.cells {
            Cells::Row(values) => values.len(),
            Cells::Columns(data) => data.len(),
        }
    }

    /// True for a row of a table without columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, in column order, as owned values.
    pub fn values(&self) -> Vec<KustoValue> {
        (0..self.len())
            .map(|i| self.cell_at(i).to_value())
            .collect()
    }

    /// The value of a column, as an owned value (a `string` is copied, a `dynamic` value
    /// parsed: the typed getters borrow instead).
    pub fn get(&self, column: impl ColumnIndex) -> Result<KustoValue> {
        self.cell(&column).map(|(_, v)| v.to_value())
    }

    /// Cell `i`, null past the end.
    pub(crate) fn cell_at(&self, i: usize) -> CellRef<'a> {
        match self.cells {
            Cells::Row(values) => values.get(i).map_or(CellRef::Null, CellRef::of),
            Cells::Columns(data) => data.get(i).map_or(CellRef::Null, |c| c.get(self.index)),
        }
    }

    fn cell(&self, column: &impl ColumnIndex) -> Result<(usize, CellRef<'a>)> {
        let i = resolve(column, self.columns, self.table)?;
        if i >= self.len() {
            return Err(Error::ColumnNotFound {
                column: column.describe(),
                table: self.table.to_owned(),
            });
        }
        Ok((i, self.cell_at(i)))
    }

    fn mismatch(&self, i: usize, rust_type: &str) -> Error {
        let column = self.columns.get(i);
        let value = self.cell_at(i);
        ConversionError {
            row: Some(self.index),
            column: column.map(|c| c.name.clone()).unwrap_or_default(),
            kusto_type: column
                .map(|c| c.column_type.to_string())
                .unwrap_or_default(),
            rust_type: rust_type.to_owned(),
            message: format!(
                "the value is a {}",
                value
                    .kusto_type()
                    .map_or("null".to_owned(), |t| t.to_string())
            ),
        }
        .into()
    }

    getter!(
        /// A `bool` column.
        get_bool, bool, "bool", |v| match v { CellRef::Bool(b) => Some(b), _ => None });
    getter!(
        /// An `int` column.
        get_i32, i32, "i32", |v| match v { CellRef::Int(i) => Some(i), _ => None });
    getter!(
    /// A `long` or `int` column.
    get_i64, i64, "i64", |v| match v {
        CellRef::Long(l) => Some(l),
        CellRef::Int(i) => Some(i64::from(i)),
        _ => None,
    });
    getter!(
        /// A `real` column (NaN and infinities included).
        get_f64, f64, "f64", |v| match v { CellRef::Real(r) => Some(r), _ => None });
    getter!(
        /// A `decimal` column.
        get_decimal, KustoDecimal, "KustoDecimal", |v| match v { CellRef::Decimal(d) => Some(d), _ => None });
    getter!(
        /// A `string` column (borrowed from the table).
        get_string, &'a str, "&str", |v| match v { CellRef::String(s) => Some(s), _ => None });
    getter!(
        /// A `datetime` column.
        get_datetime, KustoDateTime, "KustoDateTime", |v| match v { CellRef::DateTime(t) => Some(t), _ => None });
    getter!(
        /// A `timespan` column.
        get_timespan, KustoTimespan, "KustoTimespan", |v| match v { CellRef::TimeSpan(t) => Some(t), _ => None });
    getter!(
        /// A `guid` column.
        get_guid, Uuid, "Uuid", |v| match v { CellRef::Guid(g) => Some(g), _ => None });
    getter!(
    /// A `dynamic` column (or a column of unknown type), as an owned JSON value: a collected
    /// table keeps dynamic values as compact JSON text and parses the cell on each call.
    /// [`get_dynamic_json`](Self::get_dynamic_json) gives the text without parsing.
    get_dynamic, Value, "serde_json::Value", |v| match v {
        CellRef::Dynamic(d) => Some(d.clone()),
        CellRef::Json(text) => Some(json_value(text)),
        _ => None,
    });
    getter!(
    /// A `dynamic` column (or a column of unknown type) as compact JSON text. Borrowed from a
    /// collected table; a streamed row holding a parsed value gives its text.
    get_dynamic_json, std::borrow::Cow<'a, str>, "JSON text", |v| match v {
        CellRef::Json(text) => Some(std::borrow::Cow::Borrowed(text)),
        CellRef::Dynamic(d) => Some(std::borrow::Cow::Owned(d.to_string())),
        _ => None,
    });
}

/// Reads `Columns`: `[{"ColumnName": ..., "ColumnType": ...}]` (v1 may give `DataType` only).
pub(crate) fn parse_columns(value: Option<&Value>) -> std::result::Result<Vec<Column>, String> {
    let Some(Value::Array(items)) = value else {
        return Err("Columns is missing or not an array".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = c
                .get("ColumnName")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("column {i} has no ColumnName"))?;
            let ty = c
                .get("ColumnType")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .or_else(|| c.get("DataType").and_then(Value::as_str))
                .ok_or_else(|| format!("column {name:?} has no ColumnType or DataType"))?;
            Ok(Column::new(name, KustoType::parse(ty)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> KustoTable {
        let columns = vec![
            Column::new("b", KustoType::Bool),
            Column::new("i", KustoType::Int),
            Column::new("Name", KustoType::String),
        ];
        KustoTable::new(
            1,
            TableKind::PrimaryResult,
            "T",
            columns,
            vec![
                vec![
                    KustoValue::Bool(true),
                    KustoValue::Int(5),
                    KustoValue::String("x".into()),
                ],
                vec![KustoValue::Null, KustoValue::Null, KustoValue::Null],
            ],
        )
        .unwrap()
    }

    #[test]
    fn typed_getters_by_name_and_index() {
        let t = table();
        let r = t.row(0).unwrap();
        assert_eq!(r.get_bool("b").unwrap(), Some(true));
        assert_eq!(r.get_i32(1).unwrap(), Some(5));
        assert_eq!(r.get_i64("i").unwrap(), Some(5));
        assert_eq!(r.get_string("name").unwrap(), Some("x"));
        let null = t.row(1).unwrap();
        assert_eq!(null.get_string("Name").unwrap(), None);
        assert_eq!(null.get_bool(0).unwrap(), None);
    }

    #[test]
    fn getters_report_mismatch_and_missing_columns() {
        let t = table();
        let r = t.row(0).unwrap();
        match r.get_datetime("Name").unwrap_err() {
            Error::Conversion(e) => {
                assert_eq!(
                    (
                        e.row,
                        e.column.as_str(),
                        e.kusto_type.as_str(),
                        e.rust_type.as_str()
                    ),
                    (Some(0), "Name", "string", "KustoDateTime")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(r.get_bool(7), Err(Error::ColumnNotFound { column, .. }) if column == "#7")
        );
        assert!(
            matches!(r.get_bool("zz"), Err(Error::ColumnNotFound { column, table }) if column == "'zz'" && table == "T")
        );
        assert!(t.row(2).is_none());
        assert!(
            KustoTable::new(
                0,
                TableKind::Unknown,
                "x",
                vec![Column::new("a", KustoType::Int)],
                vec![vec![]]
            )
            .is_err()
        );
    }
}
