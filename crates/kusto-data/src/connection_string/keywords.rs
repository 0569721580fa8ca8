//! The keyword table of Kusto connection strings.
//!
//! It is the table shared by the official SDKs (`kcsb.json`, version 2025-01-15): every keyword
//! with its canonical name, its aliases, its type, whether its value is a secret, and whether this
//! SDK supports it. Keys are compared after lower-casing and removing every whitespace character,
//! so `Data Source`, `datasource` and ` DATA source ` are the same key.

use std::fmt;

/// The type of a keyword's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeywordType {
    /// Free text.
    String,
    /// `true` or `false`, compared case-insensitively.
    Bool,
}

/// A keyword of a Kusto connection string.
///
/// ```
/// use kusto_data::connection_string::Keyword;
/// assert_eq!(Keyword::lookup("Data Source"), Some(Keyword::DataSource));
/// assert_eq!(Keyword::lookup("ADDR"), Some(Keyword::DataSource));
/// assert_eq!(Keyword::lookup("app key"), Some(Keyword::ApplicationKey));
/// assert!(Keyword::ApplicationKey.is_secret());
/// assert!(!Keyword::Streaming.is_supported());
/// assert_eq!(Keyword::lookup("no such thing"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Keyword {
    /// `Data Source`: the cluster URL.
    DataSource,
    /// `Initial Catalog`: the default database.
    InitialCatalog,
    /// `AAD Federated Security`: whether to authenticate with Microsoft Entra ID.
    FederatedSecurity,
    /// `Application Client Id`: the application (client) id of a service principal.
    ApplicationClientId,
    /// `Application Key`: the client secret of a service principal.
    ApplicationKey,
    /// `User ID`: a user name (with `Password`), otherwise a login hint.
    UserId,
    /// `Password`: the user's password.
    Password,
    /// `Authority Id`: the tenant (directory) id or domain.
    AuthorityId,
    /// `Application Token`: a ready application access token.
    ApplicationToken,
    /// `User Token`: a ready user access token.
    UserToken,
    /// `Application Certificate Blob`: the PEM private key (optionally followed by the certificate).
    ApplicationCertificateBlob,
    /// `Application Certificate SendX5c`: send the public certificate (`x5c`) for subject-name/issuer
    /// authentication.
    ApplicationCertificateSendX5c,
    /// `Application Certificate Thumbprint`: hex SHA-1 thumbprint of the certificate.
    ApplicationCertificateThumbprint,
    /// `Application Name for Tracing`: sent as `x-ms-app`.
    ApplicationNameForTracing,
    /// `User Name for Tracing`: sent as `x-ms-user`.
    UserNameForTracing,
    /// `dSTS Federated Security` (not supported).
    DstsFederatedSecurity,
    /// `Streaming` (not supported).
    Streaming,
    /// `Uncompressed` (not supported).
    Uncompressed,
    /// `EnforceMfa` (not supported).
    EnforceMfa,
    /// `Accept` (not supported).
    Accept,
    /// `Query Consistency` (not supported).
    QueryConsistency,
    /// `Data Source Uri` (not supported).
    DataSourceUri,
    /// `Azure Region` (not supported).
    AzureRegion,
    /// `Namespace` (not supported).
    Namespace,
    /// `Application Certificate Issuer Distinguished Name` (not supported).
    ApplicationCertificateIssuerDistinguishedName,
    /// `Application Certificate Subject Distinguished Name` (not supported).
    ApplicationCertificateSubjectDistinguishedName,
}

struct Entry {
    keyword: Keyword,
    name: &'static str,
    aliases: &'static [&'static str],
    kind: KeywordType,
    secret: bool,
    supported: bool,
}

const fn entry(
    keyword: Keyword,
    name: &'static str,
    aliases: &'static [&'static str],
    kind: KeywordType,
    secret: bool,
    supported: bool,
) -> Entry {
    Entry {
        keyword,
        name,
        aliases,
        kind,
        secret,
        supported,
    }
}

use KeywordType::{Bool, String as Text};

/// The table, in the order of [`Keyword`]. Aliases are written normalized (lower case, no spaces).
const TABLE: &[Entry] = &[
    entry(
        Keyword::DataSource,
        "Data Source",
        &["server", "addr", "address", "networkaddress"],
        Text,
        false,
        true,
    ),
    entry(
        Keyword::InitialCatalog,
        "Initial Catalog",
        &["database"],
        Text,
        false,
        true,
    ),
    entry(
        Keyword::FederatedSecurity,
        "AAD Federated Security",
        &["federatedsecurity", "aadfed", "fed", "federated"],
        Bool,
        false,
        true,
    ),
    entry(
        Keyword::ApplicationClientId,
        "Application Client Id",
        &["appclientid"],
        Text,
        false,
        true,
    ),
    entry(
        Keyword::ApplicationKey,
        "Application Key",
        &["appkey"],
        Text,
        true,
        true,
    ),
    entry(
        Keyword::UserId,
        "User ID",
        &["user", "uid", "loginhint", "aaduserid"],
        Text,
        false,
        true,
    ),
    entry(Keyword::Password, "Password", &["pwd"], Text, true, true),
    entry(
        Keyword::AuthorityId,
        "Authority Id",
        &["tenantid", "tid", "tenant", "authority", "domainhint"],
        Text,
        false,
        true,
    ),
    entry(
        Keyword::ApplicationToken,
        "Application Token",
        &["apptoken"],
        Text,
        true,
        true,
    ),
    entry(
        Keyword::UserToken,
        "User Token",
        &["usrtoken"],
        Text,
        true,
        true,
    ),
    entry(
        Keyword::ApplicationCertificateBlob,
        "Application Certificate Blob",
        &[],
        Text,
        true,
        true,
    ),
    entry(
        Keyword::ApplicationCertificateSendX5c,
        "Application Certificate SendX5c",
        &[
            "applicationcertificatex5c",
            "sendx5c",
            "applicationcertificatesendpubliccertificate",
            "sendcertificatechain",
        ],
        Bool,
        false,
        true,
    ),
    entry(
        Keyword::ApplicationCertificateThumbprint,
        "Application Certificate Thumbprint",
        &["appcert"],
        Text,
        true,
        true,
    ),
    entry(
        Keyword::ApplicationNameForTracing,
        "Application Name for Tracing",
        &["traceappname"],
        Text,
        false,
        true,
    ),
    entry(
        Keyword::UserNameForTracing,
        "User Name for Tracing",
        &["traceusername"],
        Text,
        false,
        true,
    ),
    entry(
        Keyword::DstsFederatedSecurity,
        "dSTS Federated Security",
        &["dstsfed", "dststokentype"],
        Bool,
        false,
        false,
    ),
    entry(Keyword::Streaming, "Streaming", &[], Bool, false, false),
    entry(
        Keyword::Uncompressed,
        "Uncompressed",
        &[],
        Bool,
        false,
        false,
    ),
    entry(Keyword::EnforceMfa, "EnforceMfa", &[], Bool, false, false),
    entry(Keyword::Accept, "Accept", &[], Bool, false, false),
    entry(
        Keyword::QueryConsistency,
        "Query Consistency",
        &[],
        Bool,
        false,
        false,
    ),
    entry(
        Keyword::DataSourceUri,
        "Data Source Uri",
        &["serveruri", "clusteruri"],
        Text,
        false,
        false,
    ),
    entry(
        Keyword::AzureRegion,
        "Azure Region",
        &["region"],
        Text,
        false,
        false,
    ),
    entry(Keyword::Namespace, "Namespace", &["ns"], Text, false, false),
    entry(
        Keyword::ApplicationCertificateIssuerDistinguishedName,
        "Application Certificate Issuer Distinguished Name",
        &["applicationcertificateissuer"],
        Text,
        true,
        false,
    ),
    entry(
        Keyword::ApplicationCertificateSubjectDistinguishedName,
        "Application Certificate Subject Distinguished Name",
        &["applicationcertificatesubject"],
        Text,
        true,
        false,
    ),
];

/// Lower-cases `key` and removes every whitespace character.
pub(crate) fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Keyword {
    /// Every keyword, supported or not, in table order.
    pub fn all() -> impl Iterator<Item = Keyword> {
        TABLE.iter().map(|e| e.keyword)
    }

    /// Finds the keyword named `key` (its canonical name or an alias), ignoring case and
    /// whitespace.
    pub fn lookup(key: &str) -> Option<Keyword> {
        let key = normalize(key);
        TABLE
            .iter()
            .find(|e| normalize(e.name) == key || e.aliases.contains(&key.as_str()))
            .map(|e| e.keyword)
    }

    fn entry(self) -> &'static Entry {
        // The table lists every variant in declaration order; the fallback keeps this total.
        TABLE
            .iter()
            .find(|e| e.keyword == self)
            .unwrap_or(&TABLE[0])
    }

    /// The canonical name, as printed, e.g. `Data Source`.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// The aliases, normalized (lower case, no spaces), without the canonical name.
    pub fn aliases(self) -> &'static [&'static str] {
        self.entry().aliases
    }

    /// The type of the value.
    pub fn value_type(self) -> KeywordType {
        self.entry().kind
    }

    /// True when the value is a secret and is printed as `****`.
    pub fn is_secret(self) -> bool {
        self.entry().secret
    }

    /// True when this SDK accepts the keyword. Unsupported keywords are known to the shared table
    /// but rejected with [`ConnectionStringError::UnsupportedKeyword`](super::ConnectionStringError::UnsupportedKeyword).
    pub fn is_supported(self) -> bool {
        self.entry().supported
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_variant_once_in_order() {
        let all: Vec<Keyword> = Keyword::all().collect();
        assert_eq!(all.len(), 26);
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, all, "table order must follow the enum order");
    }

    #[test]
    fn aliases_are_normalized_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for keyword in Keyword::all() {
            assert!(seen.insert(normalize(keyword.name())), "{keyword}");
            for alias in keyword.aliases() {
                assert_eq!(normalize(alias), *alias);
                assert!(seen.insert((*alias).to_owned()), "duplicate alias {alias}");
            }
        }
    }
}
