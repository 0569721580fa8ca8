//! How a frame is written: the format, and the choices for values Kusto has no exact form for.

use kusto_data::DataFormat;

use crate::error::{Error, Result};
use crate::schema::TableSchema;

/// The format a frame is written in before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameFormat {
    /// JSON lines (one object per row, keys are the column names). Nested values (lists,
    /// arrays, structs) arrive as real JSON for `dynamic` columns. Compressed with gzip.
    Json,
    /// CSV without a header (unless the properties skip the first record, when a header is
    /// written for it to skip), columns in frame order; nested values as JSON text.
    /// Compressed with gzip.
    Csv,
    /// Parquet (snappy pages, row groups of [`FrameOptions::with_parquet_row_group`] rows):
    /// typed and compact, not compressed again. Requires the `parquet` feature.
    Parquet,
}

impl FrameFormat {
    /// The [`DataFormat`] the service is told.
    pub fn data_format(self) -> DataFormat {
        match self {
            FrameFormat::Json => DataFormat::Json,
            FrameFormat::Csv => DataFormat::Csv,
            FrameFormat::Parquet => DataFormat::Parquet,
        }
    }

    /// The format for data of this [`DataFormat`]: `json`/`multijson` to [`FrameFormat::Json`],
    /// `csv` to [`FrameFormat::Csv`], `parquet` to [`FrameFormat::Parquet`]; `None` for the
    /// others (a frame is never written as TSV, Avro, ...).
    pub fn from_data_format(format: DataFormat) -> Option<Self> {
        match format {
            DataFormat::Json | DataFormat::MultiJson => Some(FrameFormat::Json),
            DataFormat::Csv => Some(FrameFormat::Csv),
            DataFormat::Parquet => Some(FrameFormat::Parquet),
            _ => None,
        }
    }
}

/// What NaN and ±infinity become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NonFinite {
    /// Kept: Kusto `real` holds NaN and ±infinity (default).
    #[default]
    Keep,
    /// Written as null.
    Null,
}

/// What binary columns become (Kusto has no binary type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BinaryEncoding {
    /// Standard base64 text, for a `string` column (default).
    #[default]
    Base64,
    /// Refused with [`Error::UnsupportedType`] before anything is sent.
    Refuse,
}

/// Options of `ingest_from_dataframe`.
///
/// ```
/// use kusto_ingest_polars::{FrameFormat, FrameOptions, NonFinite};
///
/// let options = FrameOptions::new()
///     .with_format(FrameFormat::Csv)
///     .with_non_finite(NonFinite::Null);
/// assert_eq!(options.format(), Some(FrameFormat::Csv));
/// ```
#[derive(Debug, Clone, Default)]
pub struct FrameOptions {
    format: Option<FrameFormat>,
    non_finite: NonFinite,
    binary: BinaryEncoding,
    schema: Option<TableSchema>,
    rows_per_chunk: Option<usize>,
    parquet_row_group: Option<usize>,
}

impl FrameOptions {
    /// Default options: the format from the properties, NaN and infinities kept, binary as
    /// base64, no schema check.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the frame in `format`, whatever the properties say (the properties sent to the
    /// service then carry this format).
    #[must_use]
    pub fn with_format(mut self, format: FrameFormat) -> Self {
        self.format = Some(format);
        self
    }

    /// What NaN and ±infinity become.
    #[must_use]
    pub fn with_non_finite(mut self, non_finite: NonFinite) -> Self {
        self.non_finite = non_finite;
        self
    }

    /// What binary columns become.
    #[must_use]
    pub fn with_binary(mut self, binary: BinaryEncoding) -> Self {
        self.binary = binary;
        self
    }

    /// Checks the frame against the table's schema before anything is sent (see
    /// [`TableSchema::check`]; [`crate::table_schema`] reads it from the cluster).
    #[must_use]
    pub fn with_table_schema(mut self, schema: TableSchema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Rows converted and written at a time (default: sized for about 1 MiB of output).
    /// Memory held by the pipeline grows with it; it never holds the whole frame encoded.
    #[must_use]
    pub fn with_rows_per_chunk(mut self, rows: usize) -> Self {
        self.rows_per_chunk = Some(rows.max(1));
        self
    }

    /// Rows per Parquet row group (default 65,536). The writer holds one row group's encoded
    /// pages in memory.
    #[must_use]
    pub fn with_parquet_row_group(mut self, rows: usize) -> Self {
        self.parquet_row_group = Some(rows.max(1));
        self
    }

    /// The explicit format, if one was chosen.
    pub fn format(&self) -> Option<FrameFormat> {
        self.format
    }

    /// What NaN and ±infinity become.
    pub fn non_finite(&self) -> NonFinite {
        self.non_finite
    }

    /// What binary columns become.
    pub fn binary(&self) -> BinaryEncoding {
        self.binary
    }

    /// The schema the frame is checked against, if any.
    pub fn table_schema(&self) -> Option<&TableSchema> {
        self.schema.as_ref()
    }

    pub(crate) fn rows_per_chunk(&self) -> Option<usize> {
        self.rows_per_chunk
    }

    pub(crate) fn parquet_row_group(&self) -> usize {
        self.parquet_row_group.unwrap_or(65_536)
    }

    /// The format a frame is written in: the explicit one, else the properties' format.
    ///
    /// This is the whole rule: the format a caller put in the properties is the one used; a
    /// mapping of another kind is then refused by the properties' own validation rather than
    /// silently ignored.
    pub fn resolve_format(&self, properties_format: DataFormat) -> Result<FrameFormat> {
        if let Some(format) = self.format {
            return Ok(format);
        }
        FrameFormat::from_data_format(properties_format).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "a frame is written as json, csv or parquet, not {properties_format}; set the \
                 properties' format or FrameOptions::with_format"
            ))
        })
    }
}
