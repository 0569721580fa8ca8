//! [`IngestionProperties`]: where the data goes and how the service reads it; [`ColumnMapping`]s.

use std::collections::BTreeMap;

use kusto_data::{DataFormat, IngestionMappingKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// Which notifications the data-management service writes about a source (`ReportLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReportLevel {
    /// Report failures only (0): the service's own default, and this crate's.
    FailuresOnly,
    /// Report nothing (1). The status of an ingestion cannot be read then.
    None,
    /// Report failures and successes (2), what [`IngestionProperties::with_tracking`] asks for.
    FailuresAndSuccesses,
}

impl ReportLevel {
    /// The wire value.
    pub(crate) fn wire_value(self) -> u8 {
        match self {
            ReportLevel::FailuresOnly => 0,
            ReportLevel::None => 1,
            ReportLevel::FailuresAndSuccesses => 2,
        }
    }
}

/// Where the data-management service reports (`ReportMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReportMethod {
    /// The success and failure notification queues (0), shared by every client of the cluster:
    /// the service's own default, and this crate's.
    Queue,
    /// One entity per source in the status table (1): what [`IngestionOperation`] reads.
    ///
    /// [`IngestionOperation`]: crate::IngestionOperation
    Table,
    /// Both (2).
    QueueAndTable,
}

impl ReportMethod {
    /// The wire value.
    pub(crate) fn wire_value(self) -> u8 {
        match self {
            ReportMethod::Queue => 0,
            ReportMethod::Table => 1,
            ReportMethod::QueueAndTable => 2,
        }
    }

    /// True when the status table is written.
    pub(crate) fn uses_table(self) -> bool {
        matches!(self, ReportMethod::Table | ReportMethod::QueueAndTable)
    }
}

/// `ValidationOptions` of a [`ValidationPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ValidationOptions {
    /// No validation (0).
    DoNotValidate,
    /// Every CSV record has the same number of fields (1).
    ValidateCsvInputConstantColumns,
    /// CSV records have no more fields than the table has columns (2).
    ValidateCsvInputColumnLevelOnly,
}

/// `ValidationImplications` of a [`ValidationPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ValidationImplications {
    /// A validation failure fails the ingestion (0).
    Fail,
    /// A validation failure is ignored as far as possible (1).
    BestEffort,
}

/// The validation policy of an ingestion (`ValidationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValidationPolicy {
    /// What to validate.
    pub options: ValidationOptions,
    /// What a failed validation implies.
    pub implications: ValidationImplications,
}

impl ValidationPolicy {
    /// A policy that validates `options` with the consequence `implications`.
    pub fn new(options: ValidationOptions, implications: ValidationImplications) -> Self {
        ValidationPolicy {
            options,
            implications,
        }
    }

    /// The JSON text sent to the service, keys sorted:
    /// `{"ValidationImplications":1,"ValidationOptions":0}`.
    pub(crate) fn to_json_text(self) -> String {
        let options = match self.options {
            ValidationOptions::DoNotValidate => 0,
            ValidationOptions::ValidateCsvInputConstantColumns => 1,
            ValidationOptions::ValidateCsvInputColumnLevelOnly => 2,
        };
        let implications = match self.implications {
            ValidationImplications::Fail => 0,
            ValidationImplications::BestEffort => 1,
        };
        format!("{{\"ValidationImplications\":{implications},\"ValidationOptions\":{options}}}")
    }
}

/// A transformation applied to a mapped value (`Properties.Transform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransformationMethod {
    /// A JSON array of `{key, value}` objects becomes a property bag.
    PropertyBagArrayToDictionary,
    /// The URL of the source (no path or ordinal).
    SourceLocation,
    /// The line number in the source (no path or ordinal).
    SourceLineNumber,
    /// An element of the path.
    GetPathElement,
    /// Unix seconds to datetime.
    DateTimeFromUnixSeconds,
    /// Unix milliseconds to datetime.
    DateTimeFromUnixMilliseconds,
    /// Unix microseconds to datetime.
    DateTimeFromUnixMicroseconds,
    /// Unix nanoseconds to datetime.
    DateTimeFromUnixNanoseconds,
}

impl TransformationMethod {
    /// The wire name.
    pub(crate) fn wire_name(self) -> &'static str {
        match self {
            TransformationMethod::PropertyBagArrayToDictionary => "PropertyBagArrayToDictionary",
            TransformationMethod::SourceLocation => "SourceLocation",
            TransformationMethod::SourceLineNumber => "SourceLineNumber",
            TransformationMethod::GetPathElement => "GetPathElement",
            TransformationMethod::DateTimeFromUnixSeconds => "DateTimeFromUnixSeconds",
            TransformationMethod::DateTimeFromUnixMilliseconds => "DateTimeFromUnixMilliseconds",
            TransformationMethod::DateTimeFromUnixMicroseconds => "DateTimeFromUnixMicroseconds",
            TransformationMethod::DateTimeFromUnixNanoseconds => "DateTimeFromUnixNanoseconds",
        }
    }

    fn is_source_metadata(self) -> bool {
        matches!(
            self,
            TransformationMethod::SourceLocation | TransformationMethod::SourceLineNumber
        )
    }
}

/// One column of an inline ingestion mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ColumnMapping {
    /// The target column.
    pub column: String,
    /// The column's Kusto type (`long`, `string`, ...), used when the table is created by the
    /// ingestion; may be empty.
    pub data_type: String,
    /// CSV field index (delimited formats).
    pub ordinal: Option<u32>,
    /// JSON path (`$.a.b`) for JSON, Avro, Parquet, ORC.
    pub path: Option<String>,
    /// Field name (Avro, Parquet, ORC, W3C logs).
    pub field: Option<String>,
    /// A constant value instead of a source field.
    pub const_value: Option<String>,
    /// A transformation of the value.
    pub transform: Option<TransformationMethod>,
}

impl ColumnMapping {
    /// A mapping of `column` with no source yet; set one of `ordinal`, `path`, `field`,
    /// `const_value` or `transform`.
    pub fn new(column: impl Into<String>, data_type: impl Into<String>) -> Self {
        ColumnMapping {
            column: column.into(),
            data_type: data_type.into(),
            ordinal: None,
            path: None,
            field: None,
            const_value: None,
            transform: None,
        }
    }

    /// A CSV mapping: `column` from field `ordinal`.
    pub fn csv(column: impl Into<String>, data_type: impl Into<String>, ordinal: u32) -> Self {
        ColumnMapping {
            ordinal: Some(ordinal),
            ..Self::new(column, data_type)
        }
    }

    /// A JSON (or Avro, Parquet, ORC) mapping: `column` from `path` (`$.a.b`).
    pub fn json(
        column: impl Into<String>,
        data_type: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        ColumnMapping {
            path: Some(path.into()),
            ..Self::new(column, data_type)
        }
    }

    /// Reads the value from the field `name` (Avro, Parquet, ORC, W3C logs).
    #[must_use]
    pub fn with_field(mut self, name: impl Into<String>) -> Self {
        self.field = Some(name.into());
        self
    }

    /// Reads the value from `path` (`$.a.b`).
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Reads the value from the delimited field `ordinal`.
    #[must_use]
    pub fn with_ordinal(mut self, ordinal: u32) -> Self {
        self.ordinal = Some(ordinal);
        self
    }

    /// Adds a transformation.
    #[must_use]
    pub fn with_transform(mut self, transform: TransformationMethod) -> Self {
        self.transform = Some(transform);
        self
    }

    /// Uses a constant value.
    #[must_use]
    pub fn with_const_value(mut self, value: impl Into<String>) -> Self {
        self.const_value = Some(value.into());
        self
    }

    /// The mapping element as the service reads it:
    /// `{"column":"A","datatype":"string","properties":{"Ordinal":"0"}}` (the ordinal is a
    /// string, as in the documentation and every SDK).
    pub(crate) fn to_json(&self) -> Value {
        let mut properties = Map::new();
        if let Some(value) = &self.const_value {
            properties.insert("ConstValue".into(), json!(value));
        }
        if let Some(field) = &self.field {
            properties.insert("Field".into(), json!(field));
        }
        if let Some(ordinal) = self.ordinal {
            properties.insert("Ordinal".into(), json!(ordinal.to_string()));
        }
        if let Some(path) = &self.path {
            properties.insert("Path".into(), json!(path));
        }
        if let Some(transform) = self.transform {
            properties.insert("Transform".into(), json!(transform.wire_name()));
        }
        json!({"column": self.column, "datatype": self.data_type, "properties": properties})
    }

    /// Checks that this element can be used with mappings of `kind`.
    pub(crate) fn validate(&self, kind: IngestionMappingKind) -> std::result::Result<(), String> {
        if self.column.trim().is_empty() {
            return Err("a column mapping has an empty column name".to_owned());
        }
        let has_source = match kind {
            IngestionMappingKind::Csv => self.ordinal.is_some(),
            IngestionMappingKind::Json => self.path.is_some(),
            IngestionMappingKind::W3cLogFile => self.field.is_some(),
            _ => self.path.is_some() || self.field.is_some(),
        };
        let has_value = has_source || self.const_value.is_some() || self.transform.is_some();
        if !has_value {
            let needed = match kind {
                IngestionMappingKind::Csv => "an ordinal",
                IngestionMappingKind::Json => "a path",
                IngestionMappingKind::W3cLogFile => "a field",
                _ => "a path or a field",
            };
            return Err(format!(
                "column '{}' has no source: a {} mapping needs {needed}, a constant value or a \
                 transformation",
                self.column,
                kind_name(kind)
            ));
        }
        if kind != IngestionMappingKind::Csv && self.ordinal.is_some() && self.path.is_none() {
            return Err(format!(
                "column '{}' has an ordinal, which only CSV mappings use; this is a {} mapping",
                self.column,
                kind_name(kind)
            ));
        }
        if let Some(transform) = self.transform {
            let located = self.path.is_some() || self.field.is_some() || self.ordinal.is_some();
            if transform.is_source_metadata() && located {
                return Err(format!(
                    "column '{}': {} takes no path, field or ordinal",
                    self.column,
                    transform.wire_name()
                ));
            }
            if !transform.is_source_metadata() && !located && self.const_value.is_none() {
                return Err(format!(
                    "column '{}': {} needs a value to transform (a path, field or ordinal)",
                    self.column,
                    transform.wire_name()
                ));
            }
        }
        Ok(())
    }
}

/// The mapping kind's wire name (`Csv`, `Json`, ...).
pub(crate) fn kind_name(kind: IngestionMappingKind) -> &'static str {
    kind.wire_name()
}

/// How the service maps the data to columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IngestionMapping {
    /// Inline column mappings (`ingestionMapping`).
    Columns(Vec<ColumnMapping>),
    /// The name of a mapping created on the table beforehand (`ingestionMappingReference`).
    Reference(String),
}

/// Where data goes and how the service reads it.
///
/// Built with [`new`](Self::new) and the `with_*` methods; the fields can be read and set, and
/// new ones may be added in later versions (the struct is `#[non_exhaustive]`). They are checked
/// by [`validate`](Self::validate) (every ingest call runs it before anything is sent) and
/// errors name the field ([`Error::InvalidProperty`]). An ingest call never changes them.
///
/// ```
/// use kusto_ingest::{ColumnMapping, DataFormat, IngestionProperties};
///
/// let properties = IngestionProperties::new("Samples", "Events", DataFormat::Csv)
///     .with_mapping(vec![
///         ColumnMapping::csv("Id", "long", 0),
///         ColumnMapping::csv("Name", "string", 1),
///     ])
///     .with_ingest_by_tag("2024-05-01")
///     .with_ignore_first_record(true);
/// properties.validate()?;
/// # Ok::<(), kusto_ingest::Error>(())
/// ```
///
/// Reports default to the service's own defaults: failures only, to the notification queues.
/// An ingestion is *tracked* (its outcome can be read and waited for with
/// [`IngestionOperation::wait`](crate::IngestionOperation::wait)) only when asked for with
/// [`with_tracking`](Self::with_tracking): the service writes one status entry per source,
/// which its guidance asks to keep for low volumes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IngestionProperties {
    /// The target database.
    pub database: String,
    /// The target table.
    pub table: String,
    /// The format of the data.
    pub format: DataFormat,
    /// An inline mapping or a mapping reference.
    pub mapping: Option<IngestionMapping>,
    /// The mapping kind, when it must be stated; inferred from the format otherwise, and when
    /// given it must be the format's kind.
    pub mapping_kind: Option<IngestionMappingKind>,
    /// Skip the source if an extent with one of these `ingest-by:` tag values exists.
    pub ingest_if_not_exists: Vec<String>,
    /// Tags `ingest-by:<value>` of the new extents.
    pub ingest_by_tags: Vec<String>,
    /// Tags `drop-by:<value>` of the new extents.
    pub drop_by_tags: Vec<String>,
    /// Other tags of the new extents, as they are.
    pub additional_tags: Vec<String>,
    /// Ingest without waiting for the service's batching (use sparingly).
    pub flush_immediately: bool,
    /// Skip the first record (a CSV header).
    pub ignore_first_record: bool,
    /// What the service reports.
    pub report_level: ReportLevel,
    /// Where the service reports.
    pub report_method: ReportMethod,
    /// The validation policy.
    pub validation_policy: Option<ValidationPolicy>,
    /// The creation time of the new extents (for back-filling historical data).
    pub creation_time: Option<OffsetDateTime>,
    /// A regular expression that selects which files of a zip archive are ingested.
    pub zip_pattern: Option<String>,
    /// Ingest sources beyond the service's size limit.
    pub ignore_size_limit: bool,
    /// Any other ingestion property the service knows, by its wire name (camelCase), as a
    /// string. Keys that a field above sets are refused, so a value is never sent twice.
    pub additional_properties: BTreeMap<String, String>,
}

/// Property names that fields of [`IngestionProperties`] write; `additional_properties` may not
/// set them.
const RESERVED: &[&str] = &[
    "authorizationcontext",
    "format",
    "ingestionmapping",
    "ingestionmappingreference",
    "mappingreference",
    "ingestionmappingtype",
    "tags",
    "ingestifnotexists",
    "ignorefirstrecord",
    "validationpolicy",
    "creationtime",
    "zippattern",
    "ignoresizelimit",
    "flushimmediately",
];

impl IngestionProperties {
    /// Properties for `format` data going to `database.table`, everything else at its default.
    pub fn new(database: impl Into<String>, table: impl Into<String>, format: DataFormat) -> Self {
        IngestionProperties {
            database: database.into(),
            table: table.into(),
            format,
            mapping: None,
            mapping_kind: None,
            ingest_if_not_exists: Vec::new(),
            ingest_by_tags: Vec::new(),
            drop_by_tags: Vec::new(),
            additional_tags: Vec::new(),
            flush_immediately: false,
            ignore_first_record: false,
            report_level: ReportLevel::FailuresOnly,
            report_method: ReportMethod::Queue,
            validation_policy: None,
            creation_time: None,
            zip_pattern: None,
            ignore_size_limit: false,
            additional_properties: BTreeMap::new(),
        }
    }

    /// Uses inline column mappings.
    #[must_use]
    pub fn with_mapping(mut self, columns: Vec<ColumnMapping>) -> Self {
        self.mapping = Some(IngestionMapping::Columns(columns));
        self
    }

    /// Uses the mapping named `name`, created on the table beforehand.
    #[must_use]
    pub fn with_mapping_reference(mut self, name: impl Into<String>) -> Self {
        self.mapping = Some(IngestionMapping::Reference(name.into()));
        self
    }

    /// Adds an `ingest-by:` tag.
    #[must_use]
    pub fn with_ingest_by_tag(mut self, value: impl Into<String>) -> Self {
        self.ingest_by_tags.push(value.into());
        self
    }

    /// Adds a `drop-by:` tag.
    #[must_use]
    pub fn with_drop_by_tag(mut self, value: impl Into<String>) -> Self {
        self.drop_by_tags.push(value.into());
        self
    }

    /// Adds a tag as it is.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.additional_tags.push(tag.into());
        self
    }

    /// Skips the source when an extent tagged `ingest-by:<value>` exists.
    #[must_use]
    pub fn with_ingest_if_not_exists(mut self, value: impl Into<String>) -> Self {
        self.ingest_if_not_exists.push(value.into());
        self
    }

    /// Sets `flush_immediately`.
    #[must_use]
    pub fn with_flush_immediately(mut self, on: bool) -> Self {
        self.flush_immediately = on;
        self
    }

    /// Sets `ignore_first_record`.
    #[must_use]
    pub fn with_ignore_first_record(mut self, on: bool) -> Self {
        self.ignore_first_record = on;
        self
    }

    /// Sets the report level and method.
    #[must_use]
    pub fn with_report(mut self, level: ReportLevel, method: ReportMethod) -> Self {
        self.report_level = level;
        self.report_method = method;
        self
    }

    /// Asks the service to report the outcome of every source where this client can read it:
    /// failures and successes, in the status table (queue protocol) or the REST operation (REST
    /// protocol). [`IngestionOperation::wait`](crate::IngestionOperation::wait) needs it.
    ///
    /// Each tracked source costs one status entry in the cluster's storage; the service's
    /// guidance is to limit positive notifications for high volumes (["Limit tracking operation
    /// status"](https://learn.microsoft.com/kusto/api/netfx/kusto-ingest-best-practices)), so
    /// tracking is off unless asked for. When it cannot be set up (the cluster lists no status
    /// table, or the entry cannot be written), the source is still ingested, untracked, and the
    /// operation says why.
    #[must_use]
    pub fn with_tracking(self) -> Self {
        self.with_report(ReportLevel::FailuresAndSuccesses, ReportMethod::Table)
    }

    /// True when the properties ask for tracking: a report level other than
    /// [`ReportLevel::None`] to the status table ([`ReportMethod::Table`] or
    /// [`ReportMethod::QueueAndTable`]).
    pub fn is_tracked(&self) -> bool {
        self.report_level != ReportLevel::None && self.report_method.uses_table()
    }

    /// Ingests sources beyond the service's size limit.
    #[must_use]
    pub fn with_ignore_size_limit(mut self, on: bool) -> Self {
        self.ignore_size_limit = on;
        self
    }

    /// States the mapping kind of the mapping (it must be the format's kind).
    #[must_use]
    pub fn with_mapping_kind(mut self, kind: IngestionMappingKind) -> Self {
        self.mapping_kind = Some(kind);
        self
    }

    /// Sets the creation time of the new extents.
    #[must_use]
    pub fn with_creation_time(mut self, time: OffsetDateTime) -> Self {
        self.creation_time = Some(time);
        self
    }

    /// Sets the validation policy.
    #[must_use]
    pub fn with_validation_policy(mut self, policy: ValidationPolicy) -> Self {
        self.validation_policy = Some(policy);
        self
    }

    /// Sets the zip pattern.
    #[must_use]
    pub fn with_zip_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.zip_pattern = Some(pattern.into());
        self
    }

    /// Adds another ingestion property by its wire name.
    #[must_use]
    pub fn with_additional_property(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.additional_properties.insert(name.into(), value.into());
        self
    }

    /// The mapping kind sent with an inline mapping: the explicit one, else the format's.
    pub(crate) fn effective_mapping_kind(&self) -> IngestionMappingKind {
        self.mapping_kind
            .unwrap_or_else(|| self.format.mapping_kind())
    }

    /// The tags in the order the service receives them: additional tags, then `drop-by:`, then
    /// `ingest-by:` (the order of the other SDKs).
    pub(crate) fn tags(&self) -> Vec<String> {
        let mut tags = self.additional_tags.clone();
        tags.extend(self.drop_by_tags.iter().map(|t| format!("drop-by:{t}")));
        tags.extend(self.ingest_by_tags.iter().map(|t| format!("ingest-by:{t}")));
        tags
    }

    /// The inline mapping as the JSON text the service reads, if there is one.
    pub(crate) fn mapping_json_text(&self) -> Option<String> {
        match &self.mapping {
            Some(IngestionMapping::Columns(columns)) => {
                Some(Value::Array(columns.iter().map(ColumnMapping::to_json).collect()).to_string())
            }
            _ => None,
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        check_name("database", &self.database)?;
        check_name("table", &self.table)?;
        let format_kind = self.format.mapping_kind();
        if let Some(kind) = self.mapping_kind {
            if kind != format_kind {
                return Err(Error::property(
                    "mapping_kind",
                    format!(
                        "a {} mapping does not fit the format {} (its mapping kind is {})",
                        kind_name(kind),
                        self.format.wire_name(),
                        kind_name(format_kind)
                    ),
                ));
            }
            if self.mapping.is_none() {
                return Err(Error::property(
                    "mapping_kind",
                    "a mapping kind was given without a mapping",
                ));
            }
        }
        match &self.mapping {
            Some(IngestionMapping::Columns(columns)) => {
                if columns.is_empty() {
                    return Err(Error::property("mapping", "the inline mapping is empty"));
                }
                let mut problems = Vec::new();
                for column in columns {
                    if let Err(problem) = column.validate(format_kind) {
                        problems.push(problem);
                    }
                }
                if !problems.is_empty() {
                    return Err(Error::property("mapping", problems.join("; ")));
                }
            }
            Some(IngestionMapping::Reference(name)) if name.trim().is_empty() => {
                return Err(Error::property("mapping", "the mapping reference is empty"));
            }
            _ => {}
        }
        for (field, values) in [
            ("ingest_if_not_exists", &self.ingest_if_not_exists),
            ("ingest_by_tags", &self.ingest_by_tags),
            ("drop_by_tags", &self.drop_by_tags),
            ("additional_tags", &self.additional_tags),
        ] {
            if values.iter().any(|v| v.is_empty()) {
                return Err(Error::property(field, "a tag value is empty"));
            }
        }
        if self.zip_pattern.as_ref().is_some_and(String::is_empty) {
            return Err(Error::property("zip_pattern", "the pattern is empty"));
        }
        if let Some(key) = self
            .additional_properties
            .keys()
            .find(|k| RESERVED.contains(&k.to_ascii_lowercase().as_str()))
        {
            return Err(Error::property(
                "additional_properties",
                format!("'{key}' is set through its own field of IngestionProperties"),
            ));
        }
        Ok(())
    }
}

fn check_name(field: &'static str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::property(field, "the name is empty"));
    }
    if name.len() > 1024 {
        return Err(Error::property(
            field,
            "the name is longer than 1024 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::property(
            field,
            "the name contains a control character",
        ));
    }
    Ok(())
}

/// A datetime as the service's JSON writes it: `2024-05-01T10:20:30.1234567Z`.
pub(crate) fn format_datetime(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.nanosecond() / 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_serialize_as_the_service_reads_them() {
        let csv = ColumnMapping::csv("A", "string", 0);
        assert_eq!(
            csv.to_json().to_string(),
            r#"{"column":"A","datatype":"string","properties":{"Ordinal":"0"}}"#
        );
        let located = ColumnMapping::new("B", "datetime")
            .with_transform(TransformationMethod::SourceLocation);
        assert_eq!(
            located.to_json().to_string(),
            r#"{"column":"B","datatype":"datetime","properties":{"Transform":"SourceLocation"}}"#
        );
    }

    #[test]
    fn errors_name_the_field() {
        let base = IngestionProperties::new("db", "t", DataFormat::Csv);
        let cases: Vec<(IngestionProperties, &str)> = vec![
            (
                IngestionProperties::new("", "t", DataFormat::Csv),
                "database",
            ),
            (
                IngestionProperties::new("db", " ", DataFormat::Csv),
                "table",
            ),
            (
                base.clone()
                    .with_mapping(vec![ColumnMapping::json("A", "string", "$.a")]),
                "mapping",
            ),
            (base.clone().with_mapping(vec![]), "mapping"),
            (base.clone().with_mapping_reference(""), "mapping"),
            (
                IngestionProperties {
                    mapping_kind: Some(IngestionMappingKind::Json),
                    ..base.clone().with_mapping_reference("m")
                },
                "mapping_kind",
            ),
            (
                IngestionProperties {
                    mapping_kind: Some(IngestionMappingKind::Csv),
                    ..base.clone()
                },
                "mapping_kind",
            ),
            (base.clone().with_ingest_by_tag(""), "ingest_by_tags"),
            (
                base.clone().with_additional_property("Format", "json"),
                "additional_properties",
            ),
            (base.clone().with_zip_pattern(""), "zip_pattern"),
        ];
        for (properties, field) in cases {
            match properties.validate() {
                Err(Error::InvalidProperty { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        base.validate().unwrap();
    }

    #[test]
    fn mapping_elements_are_checked_for_their_kind() {
        let json_transform_only =
            ColumnMapping::new("L", "long").with_transform(TransformationMethod::SourceLineNumber);
        assert!(
            json_transform_only
                .validate(IngestionMappingKind::Json)
                .is_ok()
        );
        let bad = ColumnMapping::csv("T", "datetime", 0)
            .with_transform(TransformationMethod::SourceLocation);
        assert!(bad.validate(IngestionMappingKind::Csv).is_err());
        let unix = ColumnMapping::json("T", "datetime", "$.t")
            .with_transform(TransformationMethod::DateTimeFromUnixSeconds);
        assert!(unix.validate(IngestionMappingKind::Json).is_ok());
        let parquet = ColumnMapping::json("A", "long", "$.a");
        assert!(parquet.validate(IngestionMappingKind::Parquet).is_ok());
        assert!(
            ColumnMapping::csv("A", "long", 1)
                .validate(IngestionMappingKind::Parquet)
                .is_err()
        );
    }

    #[test]
    fn tags_keep_the_python_order() {
        let properties = IngestionProperties::new("db", "t", DataFormat::Csv)
            .with_ingest_by_tag("ib")
            .with_drop_by_tag("db")
            .with_tag("tag");
        assert_eq!(properties.tags(), ["tag", "drop-by:db", "ingest-by:ib"]);
    }

    #[test]
    fn datetimes_have_seven_digits_and_a_zone() {
        let time = time::macros::datetime!(2024-05-01 10:20:30.123456789 +02:00);
        assert_eq!(format_datetime(time), "2024-05-01T08:20:30.1234567Z");
    }
}
