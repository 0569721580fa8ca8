//! [`DataFormat`]: the formats Kusto ingests, with their wire names, mapping kinds and whether
//! they are compressed before upload; and detection of format and compression from a file name.
//!
//! | format | wire name | mapping kind | compressed before upload | file extensions |
//! |---|---|---|---|---|
//! | [`Csv`](DataFormat::Csv) | `csv` | `Csv` | yes | `.csv` |
//! | [`Tsv`](DataFormat::Tsv) | `tsv` | `Csv` | yes | `.tsv` |
//! | [`Tsve`](DataFormat::Tsve) | `tsve` | `Csv` | yes | `.tsve` |
//! | [`Scsv`](DataFormat::Scsv) | `scsv` | `Csv` | yes | `.scsv` |
//! | [`Sohsv`](DataFormat::Sohsv) | `sohsv` | `Csv` | yes | `.sohsv` |
//! | [`Psv`](DataFormat::Psv) | `psv` | `Csv` | yes | `.psv` |
//! | [`Txt`](DataFormat::Txt) | `txt` | `Csv` | yes | `.txt` |
//! | [`Raw`](DataFormat::Raw) | `raw` | `Csv` | yes | `.raw` |
//! | [`Json`](DataFormat::Json) | `json` | `Json` | yes | `.json`, `.jsonl`, `.ndjson` |
//! | [`MultiJson`](DataFormat::MultiJson) | `multijson` | `Json` | yes | `.multijson` |
//! | [`SingleJson`](DataFormat::SingleJson) | `singlejson` | `Json` | yes | `.singlejson` |
//! | [`Avro`](DataFormat::Avro) | `avro` | `Avro` | no | `.avro` |
//! | [`ApacheAvro`](DataFormat::ApacheAvro) | `apacheavro` | `ApacheAvro` | no | `.apacheavro` |
//! | [`Parquet`](DataFormat::Parquet) | `parquet` | `Parquet` | no | `.parquet` |
//! | [`Orc`](DataFormat::Orc) | `orc` | `Orc` | no | `.orc` |
//! | [`SStream`](DataFormat::SStream) | `sstream` | `SStream` | no | `.ss`, `.sstream` |
//! | [`W3cLogFile`](DataFormat::W3cLogFile) | `w3clogfile` | `W3CLogFile` | yes | `.log`, `.w3clogfile` |
//!
//! `azmonstream` (Azure Monitor export) is left out: Kusto accepts it only from Event Hubs.
//!
//! Compression is told by the **last** extension of the file name, `.gz` or `.zip`
//! (case-insensitive); the format is then read from the extension before it
//! (`events.csv.gz` is gzip-compressed CSV). Already-compressed files are uploaded as they are.
//!
//! ```
//! use kusto_data::{Compression, DataFormat, IngestionMappingKind};
//! let format: DataFormat = "Parquet".parse()?;
//! assert_eq!(format, DataFormat::Parquet);
//! assert_eq!(format.mapping_kind(), IngestionMappingKind::Parquet);
//! assert!(!format.compress_before_upload());
//! assert_eq!(DataFormat::from_file_name("logs/2024/events.CSV.gz"), Some(DataFormat::Csv));
//! assert_eq!(Compression::from_file_name("events.csv.gz"), Compression::GZip);
//! assert_eq!(Compression::from_file_name("events.json.zip"), Compression::Zip);
//! # Ok::<(), kusto_data::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A data format Kusto can ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataFormat {
    /// Comma-separated values (RFC 4180).
    Csv,
    /// Tab-separated values.
    Tsv,
    /// Tab-separated values with backslash escapes.
    Tsve,
    /// Semicolon-separated values.
    Scsv,
    /// Values separated by U+0001 (SOH).
    Sohsv,
    /// Pipe-separated values.
    Psv,
    /// One record per line, one field per record.
    Txt,
    /// The whole payload is one string value.
    Raw,
    /// JSON Lines: one object per line.
    Json,
    /// JSON objects separated by whitespace, or an array of objects.
    MultiJson,
    /// The whole payload is one JSON object.
    SingleJson,
    /// Avro object container file.
    Avro,
    /// Avro read with the Apache Avro library (older name).
    ApacheAvro,
    /// Apache Parquet.
    Parquet,
    /// Apache ORC.
    Orc,
    /// Cosmos structured stream.
    SStream,
    /// W3C extended log file.
    W3cLogFile,
}

/// The mapping kind of a format: the value of `ingestionMappingType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IngestionMappingKind {
    /// `Csv` (every delimited and text format).
    Csv,
    /// `Json`.
    Json,
    /// `Avro`.
    Avro,
    /// `ApacheAvro`.
    ApacheAvro,
    /// `Parquet`.
    Parquet,
    /// `SStream`.
    SStream,
    /// `Orc`.
    Orc,
    /// `W3CLogFile`.
    W3cLogFile,
}

/// How a file or blob is compressed, as told by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (`.gz`).
    GZip,
    /// zip (`.zip`).
    Zip,
}

impl Compression {
    /// The compression of `name`: its last extension, `.gz` or `.zip` (case-insensitive).
    pub fn from_file_name(name: &str) -> Compression {
        match last_extension(file_part(name))
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("gz") => Compression::GZip,
            Some("zip") => Compression::Zip,
            _ => Compression::None,
        }
    }

    /// The file-name suffix, with its dot (`""` for none).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::GZip => ".gz",
            Compression::Zip => ".zip",
        }
    }
}

const ALL: [DataFormat; 17] = [
    DataFormat::Csv,
    DataFormat::Tsv,
    DataFormat::Tsve,
    DataFormat::Scsv,
    DataFormat::Sohsv,
    DataFormat::Psv,
    DataFormat::Txt,
    DataFormat::Raw,
    DataFormat::Json,
    DataFormat::MultiJson,
    DataFormat::SingleJson,
    DataFormat::Avro,
    DataFormat::ApacheAvro,
    DataFormat::Parquet,
    DataFormat::Orc,
    DataFormat::SStream,
    DataFormat::W3cLogFile,
];

/// The name after the last `/` or `\`, without a query string.
fn file_part(name: &str) -> &str {
    let name = name.split(['?', '#']).next().unwrap_or(name);
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn last_extension(name: &str) -> Option<&str> {
    let (stem, extension) = name.rsplit_once('.')?;
    (!stem.is_empty()).then_some(extension)
}

impl DataFormat {
    /// Every format, in table order.
    pub fn all() -> &'static [DataFormat] {
        &ALL
    }

    /// The name sent to Kusto (`format`, `streamFormat`), e.g. `csv`.
    pub fn wire_name(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Tsv => "tsv",
            DataFormat::Tsve => "tsve",
            DataFormat::Scsv => "scsv",
            DataFormat::Sohsv => "sohsv",
            DataFormat::Psv => "psv",
            DataFormat::Txt => "txt",
            DataFormat::Raw => "raw",
            DataFormat::Json => "json",
            DataFormat::MultiJson => "multijson",
            DataFormat::SingleJson => "singlejson",
            DataFormat::Avro => "avro",
            DataFormat::ApacheAvro => "apacheavro",
            DataFormat::Parquet => "parquet",
            DataFormat::Orc => "orc",
            DataFormat::SStream => "sstream",
            DataFormat::W3cLogFile => "w3clogfile",
        }
    }

    /// The mapping kind of the format.
    pub fn mapping_kind(self) -> IngestionMappingKind {
        match self {
            DataFormat::Csv
            | DataFormat::Tsv
            | DataFormat::Tsve
            | DataFormat::Scsv
            | DataFormat::Sohsv
            | DataFormat::Psv
            | DataFormat::Txt
            | DataFormat::Raw => IngestionMappingKind::Csv,
            DataFormat::Json | DataFormat::MultiJson | DataFormat::SingleJson => {
                IngestionMappingKind::Json
            }
            DataFormat::Avro => IngestionMappingKind::Avro,
            DataFormat::ApacheAvro => IngestionMappingKind::ApacheAvro,
            DataFormat::Parquet => IngestionMappingKind::Parquet,
            DataFormat::Orc => IngestionMappingKind::Orc,
            DataFormat::SStream => IngestionMappingKind::SStream,
            DataFormat::W3cLogFile => IngestionMappingKind::W3cLogFile,
        }
    }

    /// True for binary formats (Avro, Parquet, ORC, SStream), which carry their own compression.
    pub fn is_binary(self) -> bool {
        matches!(
            self,
            DataFormat::Avro
                | DataFormat::ApacheAvro
                | DataFormat::Parquet
                | DataFormat::Orc
                | DataFormat::SStream
        )
    }

    /// True when the ingest client gzips uncompressed data of this format before upload or
    /// streaming: every text format; not the binary ones.
    pub fn compress_before_upload(self) -> bool {
        !self.is_binary()
    }

    /// True for the JSON formats (`json`, `multijson`, `singlejson`).
    pub fn is_json_family(self) -> bool {
        self.mapping_kind() == IngestionMappingKind::Json
    }

    /// The format of a file extension (without the dot, case-insensitive).
    pub fn from_extension(extension: &str) -> Option<DataFormat> {
        let extension = extension.trim_start_matches('.').to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "ndjson" => Some(DataFormat::Json),
            "log" => Some(DataFormat::W3cLogFile),
            "ss" => Some(DataFormat::SStream),
            other => ALL.iter().copied().find(|f| f.wire_name() == other),
        }
    }

    /// The format of a file name or path (or URL path): its last extension, or the one before a
    /// `.gz` / `.zip` compression suffix. `None` when the name says nothing known.
    pub fn from_file_name(name: &str) -> Option<DataFormat> {
        let file = file_part(name);
        let inner = match Compression::from_file_name(file) {
            Compression::None => file,
            _ => file.rsplit_once('.').map_or(file, |(stem, _)| stem),
        };
        last_extension(inner).and_then(DataFormat::from_extension)
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

impl FromStr for DataFormat {
    type Err = Error;

    /// Parses a wire name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        ALL.iter()
            .copied()
            .find(|f| f.wire_name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown data format '{}'; expected one of {}",
                    name.chars().take(32).collect::<String>(),
                    ALL.map(DataFormat::wire_name).join(", ")
                ))
            })
    }
}

impl Serialize for DataFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.wire_name())
    }
}

impl<'de> Deserialize<'de> for DataFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

const ALL_KINDS: [IngestionMappingKind; 8] = [
    IngestionMappingKind::Csv,
    IngestionMappingKind::Json,
    IngestionMappingKind::Avro,
    IngestionMappingKind::ApacheAvro,
    IngestionMappingKind::Parquet,
    IngestionMappingKind::SStream,
    IngestionMappingKind::Orc,
    IngestionMappingKind::W3cLogFile,
];

impl IngestionMappingKind {
    /// Every mapping kind.
    pub fn all() -> &'static [IngestionMappingKind] {
        &ALL_KINDS
    }

    /// The name sent as `ingestionMappingType`, e.g. `Csv`, `W3CLogFile`.
    pub fn wire_name(self) -> &'static str {
        match self {
            IngestionMappingKind::Csv => "Csv",
            IngestionMappingKind::Json => "Json",
            IngestionMappingKind::Avro => "Avro",
            IngestionMappingKind::ApacheAvro => "ApacheAvro",
            IngestionMappingKind::Parquet => "Parquet",
            IngestionMappingKind::SStream => "SStream",
            IngestionMappingKind::Orc => "Orc",
            IngestionMappingKind::W3cLogFile => "W3CLogFile",
        }
    }
}

impl fmt::Display for IngestionMappingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

impl FromStr for IngestionMappingKind {
    type Err = Error;

    /// Parses a mapping kind, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        ALL_KINDS
            .iter()
            .copied()
            .find(|k| k.wire_name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown ingestion mapping kind '{}'",
                    name.chars().take(32).collect::<String>()
                ))
            })
    }
}

impl Serialize for IngestionMappingKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.wire_name())
    }
}

impl<'de> Deserialize<'de> for IngestionMappingKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of the reference: (wire name, mapping kind, compressed before upload).
    const EXPECTED: [(&str, &str, bool); 17] = [
        ("csv", "Csv", true),
        ("tsv", "Csv", true),
        ("tsve", "Csv", true),
        ("scsv", "Csv", true),
        ("sohsv", "Csv", true),
        ("psv", "Csv", true),
        ("txt", "Csv", true),
        ("raw", "Csv", true),
        ("json", "Json", true),
        ("multijson", "Json", true),
        ("singlejson", "Json", true),
        ("avro", "Avro", false),
        ("apacheavro", "ApacheAvro", false),
        ("parquet", "Parquet", false),
        ("orc", "Orc", false),
        ("sstream", "SStream", false),
        ("w3clogfile", "W3CLogFile", true),
    ];

    #[test]
    fn every_format_has_its_wire_name_mapping_kind_and_compression() {
        assert_eq!(DataFormat::all().len(), EXPECTED.len());
        for (format, (wire, kind, compress)) in DataFormat::all().iter().zip(EXPECTED) {
            assert_eq!(format.wire_name(), wire);
            assert_eq!(format.to_string(), wire);
            assert_eq!(format.mapping_kind().wire_name(), kind, "{wire}");
            assert_eq!(format.compress_before_upload(), compress, "{wire}");
            assert_eq!(wire.parse::<DataFormat>().unwrap(), *format);
            assert_eq!(wire.to_uppercase().parse::<DataFormat>().unwrap(), *format);
            assert_eq!(format!(" {wire} ").parse::<DataFormat>().unwrap(), *format);
            assert_eq!(DataFormat::from_extension(wire), Some(*format));
            let json = serde_json::to_string(format).unwrap();
            assert_eq!(json, format!("\"{wire}\""));
            let back: DataFormat = serde_json::from_str(&json.to_uppercase()).unwrap();
            assert_eq!(back, *format);
        }
    }

    #[test]
    fn mapping_kinds_parse_case_insensitively() {
        for kind in IngestionMappingKind::all() {
            let upper = kind.wire_name().to_uppercase();
            assert_eq!(upper.parse::<IngestionMappingKind>().unwrap(), *kind);
            assert_eq!(
                serde_json::to_string(kind).unwrap(),
                format!("\"{}\"", kind.wire_name())
            );
        }
        assert!("Unknown".parse::<IngestionMappingKind>().is_err());
    }

    #[test]
    fn unknown_format_is_a_typed_error() {
        for bad in ["", "xml", "csv2", "c sv"] {
            let error = bad.parse::<DataFormat>().unwrap_err();
            assert!(matches!(error, Error::InvalidArgument(_)), "{bad}");
            assert!(
                error.to_string().contains("expected one of csv, tsv"),
                "{error}"
            );
        }
        assert!(serde_json::from_str::<DataFormat>("\"xml\"").is_err());
    }

    #[test]
    fn detection_from_file_names() {
        let cases: &[(&str, Option<DataFormat>, Compression)] = &[
            ("data.csv", Some(DataFormat::Csv), Compression::None),
            ("data.csv.gz", Some(DataFormat::Csv), Compression::GZip),
            ("DATA.CSV.GZ", Some(DataFormat::Csv), Compression::GZip),
            ("events.json.zip", Some(DataFormat::Json), Compression::Zip),
            ("events.jsonl", Some(DataFormat::Json), Compression::None),
            (
                "events.ndjson.gz",
                Some(DataFormat::Json),
                Compression::GZip,
            ),
            ("t.parquet", Some(DataFormat::Parquet), Compression::None),
            ("t.avro", Some(DataFormat::Avro), Compression::None),
            ("t.orc", Some(DataFormat::Orc), Compression::None),
            ("t.tsv", Some(DataFormat::Tsv), Compression::None),
            ("t.psv", Some(DataFormat::Psv), Compression::None),
            (
                "t.multijson",
                Some(DataFormat::MultiJson),
                Compression::None,
            ),
            ("iis.log", Some(DataFormat::W3cLogFile), Compression::None),
            ("t.ss", Some(DataFormat::SStream), Compression::None),
            ("archive.zip", None, Compression::Zip),
            ("archive.gz", None, Compression::GZip),
            ("README", None, Compression::None),
            (".csv", None, Compression::None),
            ("t.xml.gz", None, Compression::GZip),
            ("dir.v2/file", None, Compression::None),
            (
                r"C:\data\in.tsv.gz",
                Some(DataFormat::Tsv),
                Compression::GZip,
            ),
            (
                "https://acct.blob.core.windows.net/c/a.csv.gz?sv=x&sig=y",
                Some(DataFormat::Csv),
                Compression::GZip,
            ),
            ("", None, Compression::None),
        ];
        for (name, format, compression) in cases {
            assert_eq!(DataFormat::from_file_name(name), *format, "{name}");
            assert_eq!(Compression::from_file_name(name), *compression, "{name}");
        }
        // Odd names never panic.
        let pieces = ["", ".", "/", "\\", "?", "gz", "zip", "csv", "é", "#", " "];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let name = format!("{a}{b}{c}");
                    let _ = (
                        DataFormat::from_file_name(&name),
                        Compression::from_file_name(&name),
                    );
                }
            }
        }
        assert_eq!(DataFormat::from_file_name("x.csv"), Some(DataFormat::Csv));
        assert_eq!(Compression::GZip.suffix(), ".gz");
        assert_eq!(Compression::Zip.suffix(), ".zip");
        assert_eq!(Compression::None.suffix(), "");
    }
}
