//! `ingest_from_dataframe` for the queued, streaming and managed-streaming clients.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use kusto_ingest::{
    IngestionOperation, IngestionProperties, IngestionSource, ManagedIngestResult,
    ManagedStreamingIngestClient, QueuedIngestClient, StreamingIngestClient, StreamingResult,
};
use polars::prelude::DataFrame;

use crate::convert::check;
use crate::error::{Error, Result};
use crate::options::{FrameFormat, FrameOptions};
use crate::pipeline::{self, Plan, Sink, open};

/// A frame made ready for ingestion: the source that writes it and the properties to send
/// with it (the caller's properties with the frame's format; the caller's value is never
/// changed).
///
/// Every check runs here, before anything is sent: the format, the properties, the Kusto type
/// of every column, the range of every datetime, date, duration and unsigned column, and the
/// table schema when [`FrameOptions::with_table_schema`] gave one. The source is reopenable:
/// an upload that fails on one storage account starts again from the first row on the next.
///
/// Use it to put frames into [`QueuedIngestClient::ingest_many`] or anything else that takes
/// an [`IngestionSource`]; [`IngestFromDataFrame`] is the one-call form.
pub fn frame_source(
    frame: &DataFrame,
    properties: &IngestionProperties,
    options: &FrameOptions,
) -> Result<(IngestionSource, IngestionProperties)> {
    let format = options.resolve_format(properties.format)?;
    if cfg!(not(feature = "parquet")) && format == FrameFormat::Parquet {
        return Err(Error::InvalidArgument(
            "Parquet needs the `parquet` feature of kusto-ingest-polars".into(),
        ));
    }
    let mut properties = properties.clone();
    properties.format = format.data_format();
    properties.validate()?;
    let plan = Arc::new(checked_plan(
        frame,
        format,
        options,
        format == FrameFormat::Csv && properties.ignore_first_record,
    )?);
    let extension = match format {
        FrameFormat::Json => "json",
        FrameFormat::Csv => "csv",
        FrameFormat::Parquet => "parquet",
    };
    let source = IngestionSource::reopenable(move || open(Arc::clone(&plan)))
        .with_name(format!("dataframe.{extension}"));
    Ok((source, properties))
}

/// Every check of [`frame_source`] on the frame, and the writer's plan.
fn checked_plan(
    frame: &DataFrame,
    format: FrameFormat,
    options: &FrameOptions,
    csv_header: bool,
) -> Result<Plan> {
    if frame.width() == 0 {
        return Err(Error::InvalidArgument("the frame has no columns".into()));
    }
    if frame.height() == 0 {
        return Err(Error::InvalidArgument(
            "the frame has no rows: there is nothing to ingest".into(),
        ));
    }
    if let Some(schema) = options.table_schema() {
        schema.check(frame, format)?;
    }
    for column in frame.columns() {
        if column.name().is_empty() {
            return Err(Error::InvalidArgument(
                "a column has an empty name; Kusto columns need names".into(),
            ));
        }
        check(
            column.as_materialized_series(),
            column.name().as_str(),
            options.binary(),
        )?;
    }
    Ok(Plan {
        frame: frame.clone(),
        format,
        non_finite: options.non_finite(),
        binary: options.binary(),
        csv_header,
        rows_per_chunk: options.rows_per_chunk(),
        parquet_row_group: options.parquet_row_group(),
    })
}

/// Writes the frame in `format` to `writer`, uncompressed, exactly as it is sent for
/// ingestion (the same checks first, the same values; CSV without a header). For keeping a
/// copy of what was ingested, or for measuring the encoding alone.
pub fn write_frame(
    frame: &DataFrame,
    format: FrameFormat,
    options: &FrameOptions,
    mut writer: impl Write + Send,
) -> Result<()> {
    if cfg!(not(feature = "parquet")) && format == FrameFormat::Parquet {
        return Err(Error::InvalidArgument(
            "Parquet needs the `parquet` feature of kusto-ingest-polars".into(),
        ));
    }
    let plan = checked_plan(frame, format, options, false)?;
    let mut sink = Sink::new(|bytes| writer.write_all(&bytes));
    pipeline::write_frame(&plan, &mut sink)?;
    sink.send().map_err(Error::Write)?;
    drop(sink);
    writer.flush().map_err(Error::Write)
}

/// `ingest_from_dataframe` on every ingest client.
///
/// ```no_run
/// use kusto_ingest::{IngestionProperties, QueuedIngestClient};
/// use kusto_ingest_polars::{FrameOptions, IngestFromDataFrame};
/// use kusto_ingest_polars::polars::prelude::*;
/// use kusto_data::{ConnectionString, DataFormat};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = QueuedIngestClient::new(ConnectionString::parse(
///     "Data Source=https://ingest-mycluster.kusto.windows.net;Fed=True",
/// )?)?;
/// let frame = df!("id" => [1i64, 2], "name" => ["a", "b"])?;
/// let properties = IngestionProperties::new("MyDatabase", "Events", DataFormat::Json)
///     .with_tracking();
/// let operation = client
///     .ingest_from_dataframe(&frame, &properties, &FrameOptions::new())
///     .await?;
/// // An error if the service reports a failure.
/// operation.wait(std::time::Duration::from_secs(300)).await?;
/// # Ok(())
/// # }
/// ```
pub trait IngestFromDataFrame {
    /// What one ingestion returns.
    type Output;

    /// Ingests the whole frame (see [`frame_source`] for the checks made first).
    fn ingest_from_dataframe(
        &self,
        frame: &DataFrame,
        properties: &IngestionProperties,
        options: &FrameOptions,
    ) -> impl Future<Output = Result<Self::Output>> + Send;
}

impl IngestFromDataFrame for QueuedIngestClient {
    type Output = IngestionOperation;

    async fn ingest_from_dataframe(
        &self,
        frame: &DataFrame,
        properties: &IngestionProperties,
        options: &FrameOptions,
    ) -> Result<IngestionOperation> {
        let (source, properties) = frame_source(frame, properties, options)?;
        Ok(self.ingest(source, &properties).await?)
    }
}

impl IngestFromDataFrame for StreamingIngestClient {
    type Output = StreamingResult;

    async fn ingest_from_dataframe(
        &self,
        frame: &DataFrame,
        properties: &IngestionProperties,
        options: &FrameOptions,
    ) -> Result<StreamingResult> {
        let (source, properties) = frame_source(frame, properties, options)?;
        Ok(self.ingest(source, &properties).await?)
    }
}

impl IngestFromDataFrame for ManagedStreamingIngestClient {
    type Output = ManagedIngestResult;

    async fn ingest_from_dataframe(
        &self,
        frame: &DataFrame,
        properties: &IngestionProperties,
        options: &FrameOptions,
    ) -> Result<ManagedIngestResult> {
        let (source, properties) = frame_source(frame, properties, options)?;
        Ok(self.ingest(source, &properties).await?)
    }
}
