//! The Kusto scalar types and their names on the wire.

use std::fmt;

/// A Kusto scalar type, as declared by a column of a response.
///
/// [`KustoType::parse`] accepts the canonical v2 `ColumnType` names, every KQL alias
/// (`boolean`, `date`, `time`, `uuid`, `uniqueid`, `int32`, `int64`, `double`, `float`) and the
/// v1 `DataType` (.NET) names (`Boolean`, `SByte`, `Int32`, `Int64`, `Double`, `String`,
/// `DateTime`, `TimeSpan`, `Guid`, `Object`, `SqlDecimal`, `Decimal`, also with a `System.` or
/// `System.Data.SqlTypes.` prefix), all case-insensitively. A name it does not know becomes
/// [`KustoType::Other`]: values of such a column are kept as raw JSON
/// ([`KustoValue::Dynamic`](crate::types::KustoValue::Dynamic)) instead of failing the response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KustoType {
    /// `bool` (aliases `boolean`; v1 `Boolean`, `SByte`).
    Bool,
    /// `int`, 32-bit signed (alias `int32`; v1 `Int32`).
    Int,
    /// `long`, 64-bit signed (alias `int64`; v1 `Int64`).
    Long,
    /// `real`, 64-bit IEEE float (aliases `double`, `float`; v1 `Double`).
    Real,
    /// `decimal`, exact 128-bit decimal (v1 `SqlDecimal`, `Decimal`).
    Decimal,
    /// `string` (v1 `String`).
    String,
    /// `datetime`, UTC instant with 100 ns resolution (alias `date`; v1 `DateTime`).
    DateTime,
    /// `timespan`, signed duration with 100 ns resolution (alias `time`; v1 `TimeSpan`).
    TimeSpan,
    /// `guid` (aliases `uuid`, `uniqueid`; v1 `Guid`).
    Guid,
    /// `dynamic`, any JSON value (v1 `Object`).
    Dynamic,
    /// A type name this crate does not know, kept verbatim. Values are kept as raw JSON.
    Other(String),
}

impl KustoType {
    /// Maps a v2 `ColumnType`, a KQL alias or a v1 `DataType` name to a type (case-insensitive).
    ///
    /// ```
    /// use kusto_data::types::KustoType;
    /// assert_eq!(KustoType::parse("uniqueid"), KustoType::Guid);
    /// assert_eq!(KustoType::parse("SqlDecimal"), KustoType::Decimal);
    /// assert_eq!(KustoType::parse("System.Int64"), KustoType::Long);
    /// assert_eq!(KustoType::parse("missing"), KustoType::Other("missing".into()));
    /// ```
    pub fn parse(name: &str) -> KustoType {
        let trimmed = name.trim();
        let lower = trimmed.to_ascii_lowercase();
        let bare = lower
            .strip_prefix("system.data.sqltypes.")
            .or_else(|| lower.strip_prefix("system."))
            .unwrap_or(&lower);
        match bare {
            "bool" | "boolean" | "sbyte" => KustoType::Bool,
            "int" | "int32" => KustoType::Int,
            "long" | "int64" => KustoType::Long,
            "real" | "double" | "float" => KustoType::Real,
            "decimal" | "sqldecimal" => KustoType::Decimal,
            "string" => KustoType::String,
            "datetime" | "date" => KustoType::DateTime,
            "timespan" | "time" => KustoType::TimeSpan,
            "guid" | "uuid" | "uniqueid" => KustoType::Guid,
            "dynamic" | "object" => KustoType::Dynamic,
            _ => KustoType::Other(trimmed.to_owned()),
        }
    }

    /// The canonical KQL name (`bool`, `int`, `long`, `real`, `decimal`, `string`, `datetime`,
    /// `timespan`, `guid`, `dynamic`), or the verbatim name of an unknown type.
    pub fn name(&self) -> &str {
        match self {
            KustoType::Bool => "bool",
            KustoType::Int => "int",
            KustoType::Long => "long",
            KustoType::Real => "real",
            KustoType::Decimal => "decimal",
            KustoType::String => "string",
            KustoType::DateTime => "datetime",
            KustoType::TimeSpan => "timespan",
            KustoType::Guid => "guid",
            KustoType::Dynamic => "dynamic",
            KustoType::Other(name) => name,
        }
    }
}

impl fmt::Display for KustoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KustoType {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(KustoType::parse(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_and_v1_name_maps() {
        let cases = [
            ("bool", KustoType::Bool),
            ("boolean", KustoType::Bool),
            ("Boolean", KustoType::Bool),
            ("SByte", KustoType::Bool),
            ("int", KustoType::Int),
            ("int32", KustoType::Int),
            ("Int32", KustoType::Int),
            ("long", KustoType::Long),
            ("int64", KustoType::Long),
            ("Int64", KustoType::Long),
            ("real", KustoType::Real),
            ("double", KustoType::Real),
            ("float", KustoType::Real),
            ("Double", KustoType::Real),
            ("decimal", KustoType::Decimal),
            ("SqlDecimal", KustoType::Decimal),
            ("Decimal", KustoType::Decimal),
            ("System.Data.SqlTypes.SqlDecimal", KustoType::Decimal),
            ("string", KustoType::String),
            ("String", KustoType::String),
            ("System.String", KustoType::String),
            ("datetime", KustoType::DateTime),
            ("date", KustoType::DateTime),
            ("DateTime", KustoType::DateTime),
            ("timespan", KustoType::TimeSpan),
            ("time", KustoType::TimeSpan),
            ("TimeSpan", KustoType::TimeSpan),
            ("guid", KustoType::Guid),
            ("uuid", KustoType::Guid),
            ("uniqueid", KustoType::Guid),
            ("Guid", KustoType::Guid),
            ("dynamic", KustoType::Dynamic),
            ("Object", KustoType::Dynamic),
            ("System.Object", KustoType::Dynamic),
        ];
        for (name, expected) in cases {
            assert_eq!(KustoType::parse(name), expected, "{name}");
        }
        assert_eq!(KustoType::parse("missing").name(), "missing");
        assert_eq!(KustoType::DateTime.to_string(), "datetime");
    }
}
