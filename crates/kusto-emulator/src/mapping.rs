//! Ingestion mappings (kusto-protocol.md section 9): kinds, elements, parsing of the JSON text
//! (current and legacy flat formats, keys matched case-insensitively).

use serde_json::{Map, Value as Json};

use crate::value::KustoType;

/// The kind of an ingestion mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MappingKind {
    /// CSV family (csv, tsv, tsve, scsv, psv, sohsv, txt, raw).
    Csv,
    /// JSON family (json, multijson, singlejson).
    Json,
    /// Avro.
    Avro,
    /// Apache Avro.
    ApacheAvro,
    /// Parquet.
    Parquet,
    /// ORC.
    Orc,
    /// W3C log files.
    W3CLogFile,
}

impl MappingKind {
    /// The kind's name as shown by the service (`Csv`, `Json`, ...).
    pub(crate) fn name(self) -> &'static str {
        match self {
            MappingKind::Csv => "Csv",
            MappingKind::Json => "Json",
            MappingKind::Avro => "Avro",
            MappingKind::ApacheAvro => "ApacheAvro",
            MappingKind::Parquet => "Parquet",
            MappingKind::Orc => "Orc",
            MappingKind::W3CLogFile => "W3CLogFile",
        }
    }

    /// Parses a kind name case-insensitively.
    pub(crate) fn parse(name: &str) -> Option<MappingKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "csv" => MappingKind::Csv,
            "json" => MappingKind::Json,
            "avro" => MappingKind::Avro,
            "apacheavro" => MappingKind::ApacheAvro,
            "parquet" => MappingKind::Parquet,
            "orc" => MappingKind::Orc,
            "w3clogfile" => MappingKind::W3CLogFile,
            _ => return None,
        })
    }
}

/// A transformation applied by a mapping element (kusto-protocol.md 9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    /// The source's location (string).
    SourceLocation,
    /// The 1-based record number (long).
    SourceLineNumber,
    /// Unix seconds to datetime.
    DateTimeFromUnixSeconds,
    /// Unix milliseconds to datetime.
    DateTimeFromUnixMilliseconds,
    /// Unix microseconds to datetime.
    DateTimeFromUnixMicroseconds,
    /// Unix nanoseconds to datetime.
    DateTimeFromUnixNanoseconds,
    /// `[{"k":"v"},...]` to `{"k":"v",...}`.
    PropertyBagArrayToDictionary,
    /// Accepted and ignored by the emulator (`DropMappedFields`, `BytesAsBase64`, `None`).
    Ignored,
}

impl Transform {
    fn parse(name: &str) -> Option<Transform> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sourcelocation" => Transform::SourceLocation,
            "sourcelinenumber" => Transform::SourceLineNumber,
            "datetimefromunixseconds" => Transform::DateTimeFromUnixSeconds,
            "datetimefromunixmilliseconds" => Transform::DateTimeFromUnixMilliseconds,
            "datetimefromunixmicroseconds" => Transform::DateTimeFromUnixMicroseconds,
            "datetimefromunixnanoseconds" => Transform::DateTimeFromUnixNanoseconds,
            "propertybagarraytodictionary" => Transform::PropertyBagArrayToDictionary,
            "dropmappedfields" | "bytesasbase64" | "none" => Transform::Ignored,
            _ => return None,
        })
    }
}

/// One element of a mapping: where the value of one column comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MappingElement {
    /// Target column.
    pub column: String,
    /// Declared type (used when a column has to be created).
    pub data_type: Option<KustoType>,
    /// CSV: 0-based field index.
    pub ordinal: Option<usize>,
    /// JSON/Parquet: a JSONPath starting with `$`.
    pub path: Option<String>,
    /// Parquet/Avro/ORC/W3C: a top-level field name.
    pub field: Option<String>,
    /// A constant value.
    pub const_value: Option<String>,
    /// A transformation.
    pub transform: Option<Transform>,
}

/// A named ingestion mapping stored on a table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IngestionMapping {
    /// Mapping name.
    pub name: String,
    /// Mapping kind.
    pub kind: MappingKind,
    /// The elements.
    pub elements: Vec<MappingElement>,
    /// The mapping as JSON text, normalised to the current format.
    pub text: String,
    /// When it was created or last changed (datetime ticks).
    pub last_updated: i64,
}

/// Finds `key` in a JSON object case-insensitively.
pub(crate) fn get_ci<'a>(object: &'a Map<String, Json>, key: &str) -> Option<&'a Json> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn json_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        other => Some(other.to_string()),
    }
}

/// Parses mapping JSON text (an array of elements) for a mapping kind.
pub(crate) fn parse_mapping(text: &str, kind: MappingKind) -> Result<Vec<MappingElement>, String> {
    let json: Json =
        serde_json::from_str(text).map_err(|e| format!("the mapping is not valid JSON: {e}"))?;
    let items = json
        .as_array()
        .ok_or_else(|| "the mapping must be a JSON array of column mappings".to_string())?;
    if items.is_empty() {
        return Err("the mapping has no elements".to_string());
    }
    let mut elements = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let object = item
            .as_object()
            .ok_or_else(|| format!("mapping element {i} is not a JSON object"))?;
        let column = get_ci(object, "Column")
            .or_else(|| get_ci(object, "Name"))
            .or_else(|| get_ci(object, "ColumnName"))
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("mapping element {i} has no 'Column'"))?
            .to_string();
        let data_type = match get_ci(object, "DataType").or_else(|| get_ci(object, "ColumnType")) {
            Some(Json::String(s)) if !s.is_empty() => {
                Some(KustoType::parse(s).ok_or_else(|| {
                    format!("mapping element '{column}' has an unknown DataType '{s}'")
                })?)
            }
            _ => None,
        };
        let props = match get_ci(object, "Properties") {
            Some(Json::Object(p)) => p.clone(),
            Some(Json::String(s)) if !s.trim().is_empty() => match serde_json::from_str(s) {
                Ok(Json::Object(p)) => p,
                _ => return Err(format!("mapping element '{column}' has invalid Properties")),
            },
            _ => object.clone(),
        };
        let ordinal = match get_ci(&props, "Ordinal") {
            None | Some(Json::Null) => None,
            Some(v) => {
                let text = json_text(v).unwrap_or_default();
                Some(text.trim().parse::<usize>().map_err(|_| {
                    format!("mapping element '{column}' has an invalid Ordinal '{text}'")
                })?)
            }
        };
        let path = get_ci(&props, "Path").and_then(json_text);
        let field = get_ci(&props, "Field").and_then(json_text);
        let const_value = get_ci(&props, "ConstValue").and_then(json_text);
        let transform = match get_ci(&props, "Transform").and_then(json_text) {
            Some(t) if !t.is_empty() => Some(Transform::parse(&t).ok_or_else(|| {
                format!("mapping element '{column}' has an unknown Transform '{t}'")
            })?),
            _ => None,
        };
        let element = MappingElement {
            column,
            data_type,
            ordinal,
            path,
            field,
            const_value,
            transform,
        };
        validate_element(&element, kind)?;
        elements.push(element);
    }
    Ok(elements)
}

fn validate_element(e: &MappingElement, kind: MappingKind) -> Result<(), String> {
    let source_free = matches!(
        e.transform,
        Some(Transform::SourceLocation | Transform::SourceLineNumber)
    ) || e.const_value.is_some();
    match kind {
        MappingKind::Csv => {
            if e.ordinal.is_none() && !source_free {
                return Err(format!(
                    "csv mapping element '{}' needs an Ordinal, a ConstValue or a SourceLocation transform",
                    e.column
                ));
            }
        }
        MappingKind::Json => {
            if let Some(p) = &e.path {
                if p.starts_with('$') {
                    parse_json_path(p)?;
                }
            } else if !source_free {
                return Err(format!("json mapping element '{}' needs a Path", e.column));
            }
        }
        _ => {
            if e.path.is_some() && e.field.is_some() {
                return Err(format!(
                    "mapping element '{}' has both Path and Field",
                    e.column
                ));
            }
            if let Some(p) = &e.path {
                parse_json_path(p)?;
            } else if e.field.is_none() && !source_free {
                return Err(format!(
                    "mapping element '{}' needs a Field or a Path",
                    e.column
                ));
            }
        }
    }
    Ok(())
}

/// The mapping elements as JSON text in the current format.
pub(crate) fn mapping_to_text(elements: &[MappingElement]) -> String {
    let items: Vec<Json> = elements
        .iter()
        .map(|e| {
            let mut props = Map::new();
            if let Some(o) = e.ordinal {
                props.insert("Ordinal".into(), Json::String(o.to_string()));
            }
            if let Some(p) = &e.path {
                props.insert("Path".into(), Json::String(p.clone()));
            }
            if let Some(f) = &e.field {
                props.insert("Field".into(), Json::String(f.clone()));
            }
            if let Some(c) = &e.const_value {
                props.insert("ConstValue".into(), Json::String(c.clone()));
            }
            if let Some(t) = e.transform {
                props.insert("Transform".into(), Json::String(format!("{t:?}")));
            }
            let mut obj = Map::new();
            obj.insert("Column".into(), Json::String(e.column.clone()));
            if let Some(t) = e.data_type {
                obj.insert("DataType".into(), Json::String(t.name().into()));
            }
            obj.insert("Properties".into(), Json::Object(props));
            Json::Object(obj)
        })
        .collect();
    Json::Array(items).to_string()
}

/// One step of a JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PathStep {
    /// `.name` or `['name']`
    Key(String),
    /// `[3]`
    Index(usize),
}

/// Parses a JSONPath of the subset Kusto mappings use: `$`, `$.a.b`, `$['a b']`, `$["a"]`, `$.a[0]`.
pub(crate) fn parse_json_path(path: &str) -> Result<Vec<PathStep>, String> {
    let bad = || format!("'{path}' is not a valid JSON path");
    let rest = path.trim().strip_prefix('$').ok_or_else(bad)?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                if end == start {
                    return Err(bad());
                }
                steps.push(PathStep::Key(chars[start..end].iter().collect()));
                i = end;
            }
            '[' => {
                let quote = chars.get(i + 1).copied().ok_or_else(bad)?;
                if quote == '\'' || quote == '"' {
                    let start = i + 2;
                    let mut end = start;
                    while end < chars.len() && chars[end] != quote {
                        end += 1;
                    }
                    if chars.get(end + 1) != Some(&']') {
                        return Err(bad());
                    }
                    steps.push(PathStep::Key(chars[start..end].iter().collect()));
                    i = end + 2;
                } else {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != ']' {
                        end += 1;
                    }
                    let text: String = chars[start..end].iter().collect();
                    let index = text.trim().parse::<usize>().map_err(|_| bad())?;
                    if end >= chars.len() {
                        return Err(bad());
                    }
                    steps.push(PathStep::Index(index));
                    i = end + 1;
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(steps)
}

/// Follows a parsed JSONPath into a JSON value.
pub(crate) fn follow_path<'a>(root: &'a Json, steps: &[PathStep]) -> Option<&'a Json> {
    let mut current = root;
    for step in steps {
        current = match (step, current) {
            (PathStep::Key(k), Json::Object(o)) => o.get(k)?,
            (PathStep::Index(i), Json::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_current_and_legacy_formats() {
        let m = parse_mapping(
            r#"[{"column":"a","datatype":"long","Properties":{"Ordinal":"0"}},
                {"Column":"b","Properties":{"ConstValue":"x"}},
                {"Column":"c","Properties":{"Transform":"SourceLocation"}},
                {"Name":"d","DataType":"string","Ordinal":3}]"#,
            MappingKind::Csv,
        )
        .unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].ordinal, Some(0));
        assert_eq!(m[0].data_type, Some(KustoType::Long));
        assert_eq!(m[1].const_value.as_deref(), Some("x"));
        assert_eq!(m[2].transform, Some(Transform::SourceLocation));
        assert_eq!(m[3].ordinal, Some(3));
        assert!(parse_mapping("[{\"Column\":\"a\"}]", MappingKind::Csv).is_err());
        assert!(parse_mapping("not json", MappingKind::Csv).is_err());
        assert!(parse_mapping("[]", MappingKind::Json).is_err());
        let j = parse_mapping(
            r#"[{"column":"x","path":"$.a['b c'][1]"}]"#,
            MappingKind::Json,
        )
        .unwrap();
        assert_eq!(j[0].path.as_deref(), Some("$.a['b c'][1]"));
        assert!(
            parse_mapping(
                r#"[{"column":"x","Properties":{"Path":"$.a[x"}}]"#,
                MappingKind::Json
            )
            .is_err()
        );
    }

    #[test]
    fn json_paths() {
        let doc: Json = serde_json::json!({"a": {"b c": [1, {"d": true}]}});
        let steps = parse_json_path("$.a['b c'][1].d").unwrap();
        assert_eq!(follow_path(&doc, &steps), Some(&Json::Bool(true)));
        assert_eq!(
            follow_path(&doc, &parse_json_path("$").unwrap()),
            Some(&doc)
        );
        assert_eq!(follow_path(&doc, &parse_json_path("$.zz").unwrap()), None);
        assert!(parse_json_path("a.b").is_err());
        assert!(parse_json_path("$..").is_err());
    }
}
