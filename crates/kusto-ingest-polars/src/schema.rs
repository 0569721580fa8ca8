//! Kusto types of Polars columns: the `.create table` text and a mapping from a frame's schema,
//! and a check of a frame against a table's schema before anything is sent.

use kusto_data::kql::{quote_identifier, string_literal};
use kusto_data::{KustoClient, KustoType};
use kusto_ingest::ColumnMapping;
use polars::prelude::{DataFrame, DataType};

use crate::error::{Error, Result};
use crate::options::FrameFormat;

/// The Kusto type a Polars type is stored as (see the table in the crate documentation);
/// `None` for types this crate does not write (objects, extension and unknown types).
///
/// ```
/// use kusto_ingest_polars::kusto_type_of;
/// use kusto_ingest_polars::polars::prelude::{DataType, TimeUnit};
/// use kusto_data::KustoType;
///
/// assert_eq!(kusto_type_of(&DataType::Int64), Some(KustoType::Long));
/// assert_eq!(kusto_type_of(&DataType::Duration(TimeUnit::Nanoseconds)), Some(KustoType::TimeSpan));
/// assert_eq!(kusto_type_of(&DataType::List(Box::new(DataType::String))), Some(KustoType::Dynamic));
/// ```
pub fn kusto_type_of(dtype: &DataType) -> Option<KustoType> {
    Some(match dtype {
        DataType::Boolean => KustoType::Bool,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            KustoType::Int
        }
        DataType::UInt32 | DataType::Int64 | DataType::UInt64 | DataType::Int128 => KustoType::Long,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => KustoType::Real,
        DataType::Decimal(_, _) => KustoType::Decimal,
        DataType::String
        | DataType::Binary
        | DataType::BinaryOffset
        | DataType::Categorical(_, _)
        | DataType::Enum(_, _)
        | DataType::Null => KustoType::String,
        DataType::Date | DataType::Datetime(_, _) => KustoType::DateTime,
        DataType::Duration(_) | DataType::Time => KustoType::TimeSpan,
        DataType::List(_) | DataType::Array(_, _) | DataType::Struct(_) => KustoType::Dynamic,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

fn columns_of(frame: &DataFrame) -> Result<Vec<(String, KustoType)>> {
    frame
        .columns()
        .iter()
        .map(|c| {
            kusto_type_of(c.dtype())
                .map(|t| (c.name().to_string(), t))
                .ok_or_else(|| Error::UnsupportedType {
                    column: c.name().to_string(),
                    dtype: c.dtype().to_string(),
                    reason: "it has no Kusto counterpart".into(),
                })
        })
        .collect()
}

/// The `.create table` command for a table with the frame's columns (`merge`: the
/// `.create-merge table` command, which adds missing columns to an existing table).
///
/// ```
/// use kusto_ingest_polars::create_table_command;
/// use kusto_ingest_polars::polars::prelude::*;
///
/// let frame = df!("id" => [1i64, 2], "name" => ["a", "b"])?;
/// assert_eq!(
///     create_table_command("Events", &frame, false)?,
///     ".create table Events (id:long, name:string)"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn create_table_command(table: &str, frame: &DataFrame, merge: bool) -> Result<String> {
    let verb = if merge { "create-merge" } else { "create" };
    let columns = columns_of(frame)?
        .iter()
        .map(|(name, ty)| format!("{}:{ty}", quote_identifier(name)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!(
        ".{verb} table {} ({columns})",
        quote_identifier(table)
    ))
}

/// An inline mapping for the frame written in `format`: by ordinal for CSV, by path
/// (`$['name']`) for JSON, by column name for Parquet. A frame needs no mapping when the
/// table's columns carry the frame's names; use one to rename or when the table has more
/// columns in another order.
pub fn mapping_for(frame: &DataFrame, format: FrameFormat) -> Result<Vec<ColumnMapping>> {
    let columns = columns_of(frame)?;
    Ok(columns
        .into_iter()
        .enumerate()
        .map(|(i, (name, ty))| match format {
            FrameFormat::Csv => {
                ColumnMapping::csv(name, ty.to_string(), u32::try_from(i).unwrap_or(u32::MAX))
            }
            FrameFormat::Json => {
                let path = format!("$[{}]", string_literal(&name).replace('"', "'"));
                ColumnMapping::json(name, ty.to_string(), path)
            }
            FrameFormat::Parquet => {
                let path = format!("$[{}]", string_literal(&name).replace('"', "'"));
                ColumnMapping::json(name, ty.to_string(), path)
            }
        })
        .collect())
}

/// A table's columns, to check a frame against before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    columns: Vec<(String, KustoType)>,
}

impl TableSchema {
    /// A schema of these columns, in table order.
    pub fn new(columns: impl IntoIterator<Item = (String, KustoType)>) -> Self {
        TableSchema {
            columns: columns.into_iter().collect(),
        }
    }

    /// Parses the CSL schema text `.show table T cslschema` returns (`a:long, b:string`).
    ///
    /// ```
    /// use kusto_ingest_polars::TableSchema;
    /// use kusto_data::KustoType;
    ///
    /// let schema = TableSchema::parse_csl("id:long,['odd name']:string")?;
    /// assert_eq!(schema.columns()[1], ("odd name".to_owned(), KustoType::String));
    /// # Ok::<(), kusto_ingest_polars::Error>(())
    /// ```
    pub fn parse_csl(text: &str) -> Result<Self> {
        let mut columns = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let colon = part.rfind(':').ok_or_else(|| {
                Error::InvalidArgument(format!("'{part}' is not a name:type column"))
            })?;
            let (name, ty) = (part[..colon].trim(), part[colon + 1..].trim());
            columns.push((unquote(name), KustoType::parse(ty)));
        }
        Ok(TableSchema { columns })
    }

    /// The columns, in table order.
    pub fn columns(&self) -> &[(String, KustoType)] {
        &self.columns
    }

    /// Checks that `frame`, written in `format`, lands in this table as it should: every frame
    /// column exists in the table (by name; for CSV also at the same position, since CSV
    /// fields are matched by position) with a type that holds its values. Every mismatch is
    /// listed in one [`Error::SchemaMismatch`].
    pub fn check(&self, frame: &DataFrame, format: FrameFormat) -> Result<()> {
        let mut problems = Vec::new();
        for (position, column) in frame.columns().iter().enumerate() {
            let name = column.name().as_str();
            let Some(frame_type) = kusto_type_of(column.dtype()) else {
                problems.push(format!(
                    "'{name}' has the unsupported type {}",
                    column.dtype()
                ));
                continue;
            };
            let found = self.columns.iter().position(|(n, _)| n == name);
            let Some(index) = found else {
                problems.push(format!("'{name}' is not a column of the table"));
                continue;
            };
            if format == FrameFormat::Csv && index != position {
                problems.push(format!(
                    "'{name}' is column {} of the frame but column {} of the table (CSV \
                     fields are matched by position; reorder the frame or use a mapping)",
                    position + 1,
                    index + 1
                ));
            }
            let table_type = &self.columns[index].1;
            if !holds(table_type, &frame_type, column.dtype()) {
                problems.push(format!(
                    "'{name}' is {} in the frame ({frame_type} in Kusto) but {table_type} in \
                     the table",
                    column.dtype()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::SchemaMismatch(problems.join("; ")))
        }
    }
}

/// Whether a `table` column holds values written for `frame` without loss.
fn holds(table: &KustoType, frame: &KustoType, dtype: &DataType) -> bool {
    use KustoType as K;
    if table == frame || *table == K::Dynamic {
        return true;
    }
    match (table, frame) {
        (K::Long | K::Real | K::Decimal, K::Int) => true,
        (K::Decimal, K::Long) => true,
        (K::Real, K::Long) => false,
        (K::Guid, K::String) => matches!(dtype, DataType::String),
        _ => false,
    }
}

/// Splits `a:long, ['x,y']:string` at the commas outside brackets and quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0usize);
    for (i, ch) in text.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '[') => depth += 1,
            (None, ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `['name']` or `["name"]` to `name`.
fn unquote(name: &str) -> String {
    let inner = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .map(str::trim)
        .unwrap_or(name);
    for q in ['\'', '"'] {
        if let Some(s) = inner.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return s.replace(&format!("\\{q}"), &q.to_string());
        }
    }
    inner.to_owned()
}

/// Reads a table's schema from the cluster (`.show table T cslschema`), for
/// [`crate::FrameOptions::with_table_schema`].
pub async fn table_schema(
    client: &KustoClient,
    database: &str,
    table: &str,
) -> Result<TableSchema> {
    let command = format!(".show table {} cslschema", quote_identifier(table));
    let result = client.mgmt(database, &command).await?;
    let text = result
        .primary_result()
        .and_then(|t| {
            let index = t.column_index("Schema")?;
            let row = t.row(0)?;
            row.get_string(index).ok().flatten()
        })
        .ok_or_else(|| Error::InvalidArgument(format!("'{command}' returned no Schema column")))?;
    TableSchema::parse_csl(text)
}
