//! [`ConnectionStringError`].

use super::Keyword;

/// Why a connection string could not be parsed or built. No variant carries a secret value:
/// a segment that follows a secret keyword and does not parse is reported by position only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionStringError {
    /// The connection string is empty (or only whitespace).
    #[error("the connection string is empty")]
    Empty,

    /// The connection string ends with `;`.
    #[error("the connection string ends with ';' (remove the trailing ';')")]
    TrailingSemicolon,

    /// Two `;` follow each other (an empty segment).
    #[error("segment {index} of the connection string is empty (two ';' in a row)")]
    EmptySegment {
        /// 1-based position of the segment.
        index: usize,
    },

    /// A segment other than the first has no `=`.
    #[error("segment {index} of the connection string is not 'Keyword=Value'")]
    MissingEquals {
        /// 1-based position of the segment.
        index: usize,
    },

    /// A segment that follows a secret keyword does not parse: most likely the secret contains
    /// `;`, which cannot be escaped.
    #[error(
        "segment {index} does not parse; the value of '{keyword}' before it probably contains \
         ';', which a connection string cannot hold: set it with ConnectionStringBuilder instead"
    )]
    SecretContainsSemicolon {
        /// The secret keyword before the segment.
        keyword: Keyword,
        /// 1-based position of the segment that did not parse.
        index: usize,
    },

    /// A keyword that is not in the keyword table.
    #[error("unknown keyword '{keyword}'")]
    UnknownKeyword {
        /// The keyword as written (cut to 64 characters).
        keyword: String,
    },

    /// A keyword of the shared table that this SDK does not support.
    #[error("keyword '{keyword}' is not supported by this SDK")]
    UnsupportedKeyword {
        /// The keyword.
        keyword: Keyword,
    },

    /// A keyword given twice (under any of its names).
    #[error("keyword '{keyword}' is given more than once")]
    DuplicateKeyword {
        /// The keyword.
        keyword: Keyword,
    },

    /// A keyword with an empty value.
    #[error("keyword '{keyword}' has an empty value")]
    EmptyValue {
        /// The keyword.
        keyword: Keyword,
    },

    /// A boolean keyword whose value is not `true` or `false`.
    #[error("keyword '{keyword}' must be true or false, not '{value}'")]
    InvalidBool {
        /// The keyword.
        keyword: Keyword,
        /// The value given (cut to 32 characters).
        value: String,
    },

    /// A value that is not valid for its keyword.
    #[error("invalid value for '{keyword}': {reason}")]
    InvalidValue {
        /// The keyword.
        keyword: Keyword,
        /// Why.
        reason: String,
    },

    /// There is no `Data Source`.
    #[error("the connection string has no Data Source")]
    MissingDataSource,

    /// The `Data Source` is not a usable cluster URL.
    #[error("Data Source is not a valid cluster URL: {reason}")]
    InvalidDataSource {
        /// Why.
        reason: String,
    },

    /// A keyword needs another one that is missing.
    #[error("'{required_by}' needs '{missing}'")]
    MissingKeyword {
        /// The keyword that is missing.
        missing: Keyword,
        /// The keyword that needs it.
        required_by: Keyword,
    },

    /// Two keywords describe different ways of authenticating.
    #[error("'{first}' and '{second}' describe different ways of authenticating; keep one")]
    ConflictingKeywords {
        /// One keyword.
        first: Keyword,
        /// The other.
        second: Keyword,
    },

    /// An `http://` data source on a non-loopback host without any authentication keyword: say
    /// explicitly whether to authenticate.
    #[error(
        "'{host}' is reached over plain http and the connection string does not say how to \
         authenticate: add 'AAD Federated Security=False' (or use \
         ConnectionStringBuilder::with_no_authentication) to connect without authentication, \
         or use https://"
    )]
    AuthenticationRequired {
        /// The host.
        host: String,
    },

    /// Authentication with tokens over plain `http://` to a non-loopback host.
    #[error(
        "'{host}' is reached over plain http: tokens are only sent over https (or http to \
         loopback); use https:// or connect without authentication"
    )]
    TokenOverHttp {
        /// The host.
        host: String,
    },

    /// The connection string cannot be written as text: its authentication has no keywords
    /// (callback, credential, managed identity, ...) or a value contains `;`.
    #[error("the connection string cannot be written as text: {reason}")]
    NotRepresentable {
        /// Why.
        reason: String,
    },
}
