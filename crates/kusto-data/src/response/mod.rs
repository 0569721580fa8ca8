//! Query and management responses: the v2 streaming parser, the v1 parser, and the table model.

mod decode;
pub(crate) mod events;
pub(crate) mod partial;
mod scan;
pub(crate) mod table;
mod v2;

pub use events::{DataSetCompletion, DataSetHeader, TableCompletion, TableHeader, V2Event};
pub use partial::{ErrorPlacement, PartialError, PartialFailure};
pub use table::{Column, ColumnIndex, KustoTable, Row, RowRef, TableKind};
pub use v2::{ParserOptions, V2Parser};
mod dataset;
pub use dataset::{DataSet, DataSetBuilder, parse_v2, parse_v2_with};
mod stream;
mod v1;
pub use stream::{RowBatch, RowBatchStream, V2EventStream, read_v1};
pub use v1::parse_v1;
pub mod de;
#[cfg(feature = "arrow")]
pub mod arrow_batch;
#[cfg(feature = "arrow")]
pub use arrow_batch::{ArrowOptions, ArrowTimeUnit, arrow_schema, to_record_batch};
