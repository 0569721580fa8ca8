//! Writing KQL safely: string literals, identifiers, typed literals and query parameters.
//!
//! The safest way to put a value into a query is a **query parameter**: the value travels in the
//! request's `properties.Parameters`, apart from the query text, and the service parses it as a
//! literal of the declared type. [`QueryParameters`] renders each value as a literal and writes
//! the `declare query_parameters(...)` statement itself:
//!
//! ```
//! use kusto_data::kql::QueryParameters;
//!
//! let mut parameters = QueryParameters::new();
//! parameters.add("city", "Zürich").unwrap();
//! parameters.add("min_population", 100_000_i64).unwrap();
//! let query = parameters.apply("Cities | where Name == city and Population >= min_population");
//! assert_eq!(
//!     query,
//!     "declare query_parameters(city:string, min_population:long);\n\
//!      Cities | where Name == city and Population >= min_population"
//! );
//! ```
//!
//! When text must be inlined instead, [`string_literal`] and [`quote_identifier`] produce tokens
//! that cannot break out of their place in the query, whatever the input.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::client::ClientRequestProperties;
use crate::error::{Error, Result};

/// Renders `text` as a double-quoted KQL string literal that represents exactly `text`.
///
/// Backslash, both quote characters, every control character and every non-ASCII character are
/// written as escapes (`\\`, `\"`, `\'`, `\uXXXX`, with surrogate pairs above U+FFFF), so the
/// literal is plain ASCII and cannot end early or span lines.
///
/// ```
/// use kusto_data::kql::string_literal;
/// assert_eq!(string_literal(r#"it's "x"\"#), r#""it\'s \"x\"\\""#);
/// assert_eq!(string_literal("é\n"), r#""\u00e9\u000a""#);
/// ```
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// Words that cannot be used as bare identifiers because KQL gives them a meaning.
const KEYWORDS: &[&str] = &[
    "and",
    "as",
    "asc",
    "between",
    "by",
    "cluster",
    "consume",
    "contains",
    "count",
    "database",
    "datatable",
    "declare",
    "desc",
    "distinct",
    "evaluate",
    "extend",
    "externaldata",
    "false",
    "facet",
    "filter",
    "find",
    "fork",
    "from",
    "has",
    "in",
    "invoke",
    "join",
    "kind",
    "let",
    "limit",
    "lookup",
    "materialize",
    "mv-expand",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "parse",
    "partition",
    "print",
    "project",
    "range",
    "reduce",
    "render",
    "restrict",
    "sample",
    "search",
    "serialize",
    "set",
    "sort",
    "step",
    "summarize",
    "table",
    "take",
    "to",
    "top",
    "true",
    "typeof",
    "union",
    "where",
    "with",
];

/// Quotes a table, column, function or database name when it needs quoting: names made only of
/// ASCII letters, digits and `_` that do not start with a digit and are not KQL keywords are
/// returned as they are; everything else becomes `["..."]` with the name as a safe string
/// literal inside.
///
/// ```
/// use kusto_data::kql::quote_identifier;
/// assert_eq!(quote_identifier("StormEvents"), "StormEvents");
/// assert_eq!(quote_identifier("my-table"), r#"["my-table"]"#);
/// assert_eq!(quote_identifier("where"), r#"["where"]"#);
/// assert_eq!(quote_identifier("a\"]; drop"), r#"["a\"]; drop"]"#);
/// ```
pub fn quote_identifier(name: &str) -> String {
    if is_plain_identifier(name) {
        name.to_owned()
    } else {
        format!("[{}]", string_literal(name))
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// A value that can be written as a KQL literal of a known type.
///
/// Implemented for `bool`, `i32` (`int`), `i64` (`long`), `f64` (`real`), strings (`string`),
/// [`uuid::Uuid`] (`guid`), [`KustoDateTime`](crate::KustoDateTime) (`datetime`, all 7
/// fractional digits), [`KustoTimespan`](crate::KustoTimespan) and [`std::time::Duration`]
/// (`timespan`), [`KustoDecimal`](crate::KustoDecimal) (`decimal`, exact),
/// [`serde_json::Value`] (`dynamic`) and `Option<T>` of each (a typed null such as
/// `long(null)`).
pub trait KqlLiteral {
    /// The KQL type of the literal, as written in `declare query_parameters(name:type)`.
    const KQL_TYPE: &'static str;

    /// The literal text, e.g. `long(42)`, `"text"`, `datetime(2024-01-01T00:00:00Z)`.
    fn to_kql_literal(&self) -> String;
}

impl KqlLiteral for bool {
    const KQL_TYPE: &'static str = "bool";
    fn to_kql_literal(&self) -> String {
        format!("bool({self})")
    }
}

impl KqlLiteral for i32 {
    const KQL_TYPE: &'static str = "int";
    fn to_kql_literal(&self) -> String {
        format!("int({self})")
    }
}

impl KqlLiteral for i64 {
    const KQL_TYPE: &'static str = "long";
    fn to_kql_literal(&self) -> String {
        format!("long({self})")
    }
}

impl KqlLiteral for f64 {
    const KQL_TYPE: &'static str = "real";
    fn to_kql_literal(&self) -> String {
        if self.is_nan() {
            "real(nan)".to_owned()
        } else if self.is_infinite() {
            if *self > 0.0 {
                "real(+inf)"
            } else {
                "real(-inf)"
            }
            .to_owned()
        } else {
            // Debug gives the shortest text that reads back to the same f64, with an exponent
            // for very large and very small magnitudes.
            format!("real({self:?})")
        }
    }
}

impl KqlLiteral for str {
    const KQL_TYPE: &'static str = "string";
    fn to_kql_literal(&self) -> String {
        string_literal(self)
    }
}

impl KqlLiteral for String {
    const KQL_TYPE: &'static str = "string";
    fn to_kql_literal(&self) -> String {
        string_literal(self)
    }
}

impl KqlLiteral for uuid::Uuid {
    const KQL_TYPE: &'static str = "guid";
    fn to_kql_literal(&self) -> String {
        format!("guid({})", self.hyphenated())
    }
}

impl KqlLiteral for Duration {
    const KQL_TYPE: &'static str = "timespan";
    fn to_kql_literal(&self) -> String {
        format!(
            "timespan({})",
            crate::client::properties::format_timespan(*self)
        )
    }
}

impl KqlLiteral for crate::KustoDateTime {
    const KQL_TYPE: &'static str = "datetime";
    fn to_kql_literal(&self) -> String {
        format!("datetime({self})")
    }
}

impl KqlLiteral for crate::KustoTimespan {
    const KQL_TYPE: &'static str = "timespan";
    fn to_kql_literal(&self) -> String {
        format!("timespan({self})")
    }
}

impl KqlLiteral for crate::KustoDecimal {
    const KQL_TYPE: &'static str = "decimal";
    fn to_kql_literal(&self) -> String {
        format!("decimal({self})")
    }
}

impl KqlLiteral for serde_json::Value {
    const KQL_TYPE: &'static str = "dynamic";
    fn to_kql_literal(&self) -> String {
        // serde_json escapes control characters and quotes inside strings, and the dynamic
        // literal parser reads the JSON text with string awareness, so a `)` inside a JSON
        // string cannot end the literal.
        format!("dynamic({self})")
    }
}

impl<T: KqlLiteral + ?Sized> KqlLiteral for &T {
    const KQL_TYPE: &'static str = T::KQL_TYPE;
    fn to_kql_literal(&self) -> String {
        (**self).to_kql_literal()
    }
}

impl<T: KqlLiteral> KqlLiteral for Option<T> {
    const KQL_TYPE: &'static str = T::KQL_TYPE;
    fn to_kql_literal(&self) -> String {
        match self {
            Some(value) => value.to_kql_literal(),
            None => format!("{}(null)", T::KQL_TYPE),
        }
    }
}

/// Typed query parameters: the `declare query_parameters(...)` statement and the values sent
/// beside the query text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryParameters {
    parameters: BTreeMap<String, (&'static str, String)>,
}

impl QueryParameters {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parameter. The name must be a plain identifier (ASCII letters, digits and `_`, not
    /// starting with a digit, not a keyword) and must not repeat.
    pub fn add<T: KqlLiteral>(&mut self, name: &str, value: T) -> Result<&mut Self> {
        if !is_plain_identifier(name) {
            return Err(Error::InvalidArgument(format!(
                "query parameter name {} is not a plain identifier (ASCII letters, digits and _, \
                 not starting with a digit, not a KQL keyword)",
                string_literal(name)
            )));
        }
        if self.parameters.contains_key(name) {
            return Err(Error::InvalidArgument(format!(
                "query parameter {name} is given twice"
            )));
        }
        self.parameters
            .insert(name.to_owned(), (T::KQL_TYPE, value.to_kql_literal()));
        Ok(self)
    }

    /// Builder-style [`add`](Self::add).
    pub fn with<T: KqlLiteral>(mut self, name: &str, value: T) -> Result<Self> {
        self.add(name, value)?;
        Ok(self)
    }

    /// True when no parameter was added.
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty()
    }

    /// The declaration statement, e.g. `declare query_parameters(a:long, b:string);` (empty
    /// when there are no parameters). Parameters appear sorted by name.
    pub fn declaration(&self) -> String {
        if self.parameters.is_empty() {
            return String::new();
        }
        let list: Vec<String> = self
            .parameters
            .iter()
            .map(|(name, (kql_type, _))| format!("{name}:{kql_type}"))
            .collect();
        format!("declare query_parameters({});", list.join(", "))
    }

    /// The query text prefixed with the declaration and a newline.
    pub fn apply(&self, query: &str) -> String {
        if self.parameters.is_empty() {
            query.to_owned()
        } else {
            format!("{}\n{query}", self.declaration())
        }
    }

    /// The parameters as name and literal text, as sent in `properties.Parameters`.
    pub fn literals(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parameters
            .iter()
            .map(|(name, (_, literal))| (name.as_str(), literal.as_str()))
    }

    /// Copies the parameter values into request properties.
    pub fn write_to(&self, properties: &mut ClientRequestProperties) {
        for (name, literal) in self.literals() {
            properties.set_parameter_literal(name, literal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reads back a literal produced by `string_literal`, following KQL's escape rules, and
    /// fails if the literal ends before the last character (which would be an injection).
    fn read_back(literal: &str) -> String {
        let inner = literal
            .strip_prefix('"')
            .and_then(|l| l.strip_suffix('"'))
            .unwrap();
        let mut out: Vec<u16> = Vec::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' | '\'' => panic!("unescaped quote inside {literal}"),
                '\\' => match chars.next().unwrap() {
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        out.push(u16::from_str_radix(&hex, 16).unwrap());
                    }
                    other => out.push(other as u16),
                },
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c as u16),
                c => panic!("raw character {c:?} inside {literal}"),
            }
        }
        String::from_utf16(&out).unwrap()
    }

    #[test]
    fn string_literals_cannot_be_escaped_from() {
        let attacks = [
            "\"; .drop table T; print \"",
            "' | take 1 //",
            "\\\" | union secrets //",
            "line\nbreak | where 1==1",
            "\r\n.drop database Db",
            "h@\"x\"",
            "```multi```",
            "\u{0}\u{7f}\u{2028}\u{1F600}é",
            "\\",
            "",
        ];
        for attack in attacks {
            let literal = string_literal(attack);
            assert!(literal.is_ascii(), "{literal}");
            assert!(!literal.contains('\n') && !literal.contains('\r'));
            assert_eq!(read_back(&literal), attack);
        }
    }

    #[test]
    fn parameter_values_never_reach_the_query_text() {
        let attacks = [
            "\"); .drop table T; print (\"",
            "x\ndeclare query_parameters(y:string);",
            "'; T | take 1000000 //",
            "\\\"\\\\\"",
            "\u{0}",
            ")",
        ];
        let query = "T | where s == v | where d == j";
        let benign = QueryParameters::new()
            .with("v", "ok")
            .unwrap()
            .with("j", json!("ok"))
            .unwrap()
            .apply(query);
        for attack in attacks {
            let parameters = QueryParameters::new()
                .with("v", attack)
                .unwrap()
                .with("j", json!({ "k": attack, "a": [attack] }))
                .unwrap();
            // The text sent as the query is the same whatever the values.
            assert_eq!(parameters.apply(query), benign, "{attack:?}");
            let literals: BTreeMap<&str, &str> = parameters.literals().collect();
            // The string literal reads back to exactly the value, as one token.
            assert_eq!(read_back(literals["v"]), attack);
            // The dynamic literal holds exactly the JSON of the value.
            let inner = literals["j"]
                .strip_prefix("dynamic(")
                .and_then(|l| l.strip_suffix(')'))
                .unwrap();
            let parsed: serde_json::Value = serde_json::from_str(inner).unwrap();
            assert_eq!(parsed, json!({ "k": attack, "a": [attack] }));
        }
    }

    #[test]
    fn identifiers_are_quoted_when_needed() {
        assert_eq!(quote_identifier("T_1"), "T_1");
        assert_eq!(quote_identifier("_x"), "_x");
        assert_eq!(quote_identifier("1day"), r#"["1day"]"#);
        assert_eq!(quote_identifier("Project"), r#"["Project"]"#);
        assert_eq!(quote_identifier(""), r#"[""]"#);
        assert_eq!(quote_identifier("a b"), r#"["a b"]"#);
        let hostile = "x\"]; .drop table T; //";
        let quoted = quote_identifier(hostile);
        assert_eq!(read_back(&quoted[1..quoted.len() - 1]), hostile);
    }

    #[test]
    fn literals_of_every_type() {
        assert_eq!(true.to_kql_literal(), "bool(true)");
        assert_eq!(7_i32.to_kql_literal(), "int(7)");
        assert_eq!(i64::MIN.to_kql_literal(), "long(-9223372036854775808)");
        assert_eq!(1.5_f64.to_kql_literal(), "real(1.5)");
        assert_eq!(1e300_f64.to_kql_literal(), "real(1e300)");
        assert_eq!(f64::NAN.to_kql_literal(), "real(nan)");
        assert_eq!(f64::NEG_INFINITY.to_kql_literal(), "real(-inf)");
        assert_eq!("a\"b".to_kql_literal(), r#""a\"b""#);
        assert_eq!(
            uuid::Uuid::nil().to_kql_literal(),
            "guid(00000000-0000-0000-0000-000000000000)"
        );
        assert_eq!(
            Duration::new(93_784, 500_000_000).to_kql_literal(),
            "timespan(1.02:03:04.5000000)"
        );
        assert_eq!(
            json!({"a": ")\"", "b": [1]}).to_kql_literal(),
            r#"dynamic({"a":")\"","b":[1]})"#
        );
        assert_eq!(
            "2024-05-01T10:20:30.1234567Z"
                .parse::<crate::KustoDateTime>()
                .unwrap()
                .to_kql_literal(),
            "datetime(2024-05-01T10:20:30.1234567Z)"
        );
        assert_eq!(
            "-1.00:00:02.0020002"
                .parse::<crate::KustoTimespan>()
                .unwrap()
                .to_kql_literal(),
            "timespan(-1.00:00:02.0020002)"
        );
        assert_eq!(
            "-12.3400000000000000000000001"
                .parse::<crate::KustoDecimal>()
                .unwrap()
                .to_kql_literal(),
            "decimal(-12.3400000000000000000000001)"
        );
        assert_eq!(None::<i64>.to_kql_literal(), "long(null)");
        assert_eq!(Some(2_i32).to_kql_literal(), "int(2)");
    }

    #[test]
    fn parameters_declare_and_validate() {
        let parameters = QueryParameters::new()
            .with("s", "x")
            .unwrap()
            .with("n", 5_i64)
            .unwrap()
            .with("d", json!([1]))
            .unwrap();
        assert_eq!(
            parameters.declaration(),
            "declare query_parameters(d:dynamic, n:long, s:string);"
        );
        let mut properties = ClientRequestProperties::new();
        parameters.write_to(&mut properties);
        assert_eq!(
            properties.to_json()["Parameters"],
            json!({"d": "dynamic([1])", "n": "long(5)", "s": "\"x\""})
        );
        for bad in ["", "a b", "x);.drop", "where", "9lives"] {
            assert!(QueryParameters::new().add(bad, 1_i64).is_err(), "{bad}");
        }
        assert!(
            QueryParameters::new()
                .with("a", 1_i64)
                .unwrap()
                .add("a", 2_i64)
                .is_err()
        );
        assert_eq!(QueryParameters::new().apply("T"), "T");
    }
}
