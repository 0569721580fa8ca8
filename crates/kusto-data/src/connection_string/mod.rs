//! Kusto connection strings: *where* to connect and *as whom*.
//!
//! # Grammar
//!
//! `Keyword=Value` pairs separated by `;`, following the keyword table shared by the official
//! SDKs ([`Keyword`]):
//!
//! * keys are matched case-insensitively with every whitespace removed (`Data Source`,
//!   `datasource`, `ADDR` are the same key); every alias of the table is accepted;
//! * values are trimmed; a value may contain `=` (the pair is split at its first `=`), but
//!   **`;` cannot be escaped**: set such values (passwords, keys) with
//!   [`ConnectionStringBuilder`];
//! * the first segment may be a bare URL, taken as the `Data Source`;
//! * booleans are `true` or `false`, case-insensitive; every other value (`yes`, `1`, ...) is
//!   an error;
//! * the database may be the single path segment of the data source
//!   (`https://help.kusto.windows.net/Samples`), which is then removed from the data source; an
//!   explicit `Initial Catalog` wins over the path, whatever the order;
//! * a data source without a scheme gets `https://`.
//!
//! Bad input is a [`ConnectionStringError`], never a panic: the empty string, a trailing `;`, an
//! empty segment, a segment without `=`, an unknown keyword, a keyword of the table this SDK does
//! not support (a different variant), a keyword given twice, an empty value, a bad bool, a
//! malformed URL, an `Authority Id` that is not a tenant id or domain name (it becomes a path
//! segment of the token endpoint), conflicting or incomplete authentication keywords.
//!
//! # Authentication
//!
//! The keywords select one [`Authentication`]:
//!
//! | keywords | authentication |
//! |---|---|
//! | `User ID` + `Password` [+ `Authority Id`] | [`Authentication::UserPassword`] |
//! | `Application Client Id` + `Application Key` + `Authority Id` | [`Authentication::ApplicationKey`] |
//! | `Application Client Id` + `Application Certificate Blob` [+ `Thumbprint`, `SendX5c`] + `Authority Id` | [`Authentication::ApplicationCertificate`] |
//! | `User Token` | [`Authentication::UserToken`] |
//! | `Application Token` | [`Authentication::ApplicationToken`] |
//! | `AAD Federated Security=True` and none of the above | [`Authentication::DefaultChain`] |
//! | `AAD Federated Security=False` and none of the above | [`Authentication::None`] |
//! | nothing, `https://` data source | [`Authentication::DefaultChain`] |
//! | nothing, `http://` data source on a loopback host | [`Authentication::None`] (local emulator) |
//! | nothing, `http://` data source on another host | error [`ConnectionStringError::AuthenticationRequired`] |
//!
//! A bare `https://` URL therefore authenticates, and sending no authentication to a remote host
//! must be asked for.
//! Tokens are never sent over plain http except to loopback
//! ([`ConnectionStringError::TokenOverHttp`]). Two sets of credentials, or credentials with
//! `AAD Federated Security=False`, are [`ConnectionStringError::ConflictingKeywords`].
//! `User ID` without `Password` is kept as a login hint, and `Authority Id` without a method
//! that uses it is kept as given; both are printed back.
//!
//! Interactive (browser) login has no keyword of its own in the shared table: the official SDKs
//! reach it when `AAD Federated Security=True` comes with no credential, `User ID` being the
//! login hint and `Authority Id` the tenant. Here that text selects the default chain (a
//! library in a service must not open browsers); choose interactive login with
//! [`ConnectionStringBuilder::with_interactive_login`], which takes the login hint and tenant of
//! a parsed string: `ConnectionStringBuilder::from(cs).with_interactive_login(InteractiveLogin::browser())`
//! (see [`InteractiveLogin`](crate::auth::InteractiveLogin)). It prints back as `User ID` and
//! `Authority Id`.
//!
//! # Printing
//!
//! `Display` prints the canonical form (canonical keyword names in a fixed order) with every
//! secret replaced by `****`; `Debug` masks them too. Methods without keywords (callbacks,
//! credentials, managed identity, device code, ...) print as `AAD Federated Security=True`.
//! [`ConnectionString::to_unmasked_string`] gives the full text, as a [`Secret`].
//!
//! ```
//! use kusto_data::ConnectionString;
//! let cs: ConnectionString = "Data Source=https://help.kusto.windows.net/Samples;\
//!     AppClientId=11111111-2222-3333-4444-555555555555;AppKey=s3cr3t;Authority Id=contoso.com"
//!     .parse()?;
//! assert_eq!(cs.data_source().as_str(), "https://help.kusto.windows.net/");
//! assert_eq!(cs.database(), Some("Samples"));
//! assert_eq!(
//!     cs.to_string(),
//!     "Data Source=https://help.kusto.windows.net;Initial Catalog=Samples;\
//!      AAD Federated Security=True;Application Client Id=11111111-2222-3333-4444-555555555555;\
//!      Application Key=****;Authority Id=contoso.com"
//! );
//! # Ok::<(), kusto_data::Error>(())
//! ```

mod builder;
mod error;
mod keywords;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::Secret;
use crate::auth::{ApplicationCertificate, Authentication, DefaultChain};
use crate::trusted_endpoints::is_loopback_host;

pub use builder::ConnectionStringBuilder;
pub use error::ConnectionStringError;
pub use keywords::{Keyword, KeywordType};

/// The database Kusto uses when a request names none and the connection string has none.
pub const DEFAULT_DATABASE: &str = "NetDefaultDB";

/// The tenant used by user flows when no `Authority Id` is given: any work or school account.
pub const DEFAULT_AUTHORITY: &str = "organizations";

/// A parsed Kusto connection string. See the [module documentation](self) for the grammar.
#[derive(Clone)]
pub struct ConnectionString {
    data_source: Url,
    database: Option<String>,
    application_name: Option<String>,
    user_name: Option<String>,
    login_hint: Option<String>,
    authority_id: Option<String>,
    authentication: Authentication,
}

type ParseResult<T> = std::result::Result<T, ConnectionStringError>;

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Decodes `%XX` escapes of a URL path segment; `None` when the result is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Parses a data source: the URL without the database path segment, and that segment.
pub(crate) fn parse_data_source(text: &str) -> ParseResult<(Url, Option<String>)> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ConnectionStringError::EmptyValue {
            keyword: Keyword::DataSource,
        });
    }
    let invalid = |reason: String| ConnectionStringError::InvalidDataSource { reason };
    let full = if text.contains("://") {
        text.to_owned()
    } else if text.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '[') {
        format!("https://{text}")
    } else {
        return Err(invalid(
            "it must be a URL such as https://mycluster.region.kusto.windows.net".to_owned(),
        ));
    };
    let mut url = Url::parse(&full).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme must be https:// or http://, not {}://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "it must not contain a user name or password".to_owned(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "it must not have a query string or fragment".to_owned(),
        ));
    }
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let database = match segments.as_slice() {
        [] => None,
        [single] => {
            let name = percent_decode(single).ok_or_else(|| {
                invalid("the database in the path is not valid percent-encoded UTF-8".to_owned())
            })?;
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Err(invalid("the database in the path is blank".to_owned()));
            }
            url.set_path("/");
            Some(name)
        }
        // Several segments (a path prefix behind a proxy): kept as is, without a trailing `/`.
        _ => {
            let path = format!("/{}", segments.join("/"));
            url.set_path(&path);
            None
        }
    };
    Ok((url, database))
}

fn parse_bool(keyword: Keyword, value: &str) -> ParseResult<bool> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ConnectionStringError::InvalidBool {
            keyword,
            value: cut(value, 32),
        })
    }
}

/// Checks an `Authority Id`: a tenant id (GUID), a domain (`contoso.onmicrosoft.com`) or one of
/// `organizations`, `common`, `consumers`. It becomes a path segment of the token endpoint
/// (`{LoginEndpoint}/{tenant}/oauth2/v2.0/token`), so anything but ASCII letters, digits, `-`,
/// `.` and `_` (a `/`, `?`, `#`, `%`, a space) is refused rather than sent to another endpoint.
pub(crate) fn check_authority(tenant: &str) -> ParseResult<()> {
    let invalid = |reason: &str| ConnectionStringError::InvalidValue {
        keyword: Keyword::AuthorityId,
        reason: format!("'{}': {reason}", cut(tenant, 64)),
    };
    if tenant.trim().is_empty() {
        return Err(ConnectionStringError::EmptyValue {
            keyword: Keyword::AuthorityId,
        });
    }
    if !tenant
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(invalid(
            "a tenant id or domain name has only ASCII letters, digits, '-', '.' and '_'",
        ));
    }
    if tenant.starts_with('.') || tenant.ends_with('.') || tenant.contains("..") {
        return Err(invalid("a domain name cannot have an empty label"));
    }
    Ok(())
}

/// The authentication a set of keyword values describes.
struct Selected {
    authentication: Authentication,
    login_hint: Option<String>,
    authority_id: Option<String>,
}

fn select_authentication(
    values: &mut BTreeMap<Keyword, String>,
    data_source: &Url,
) -> ParseResult<Selected> {
    use Keyword as K;
    let federated = match values.remove(&K::FederatedSecurity) {
        Some(v) => Some(parse_bool(K::FederatedSecurity, &v)?),
        None => None,
    };
    let send_x5c = match values.remove(&K::ApplicationCertificateSendX5c) {
        Some(v) => Some(parse_bool(K::ApplicationCertificateSendX5c, &v)?),
        None => None,
    };
    let mut take = |k: Keyword| values.remove(&k);
    let client_id = take(K::ApplicationClientId);
    let key = take(K::ApplicationKey);
    let mut user = take(K::UserId);
    let password = take(K::Password);
    let mut authority = take(K::AuthorityId);
    if let Some(tenant) = &authority {
        check_authority(tenant)?;
    }
    let app_token = take(K::ApplicationToken);
    let user_token = take(K::UserToken);
    let blob = take(K::ApplicationCertificateBlob);
    let thumbprint = take(K::ApplicationCertificateThumbprint);

    // The keyword that announces each way of authenticating.
    let mut methods = Vec::new();
    if password.is_some() {
        methods.push(K::Password);
    }
    if key.is_some() {
        methods.push(K::ApplicationKey);
    }
    if blob.is_some() || thumbprint.is_some() || send_x5c.is_some() {
        methods.push(K::ApplicationCertificateBlob);
    }
    if user_token.is_some() {
        methods.push(K::UserToken);
    }
    if app_token.is_some() {
        methods.push(K::ApplicationToken);
    }
    if let [first, second, ..] = methods.as_slice() {
        return Err(ConnectionStringError::ConflictingKeywords {
            first: *first,
            second: *second,
        });
    }
    if let (Some(false), Some(method)) = (federated, methods.first()) {
        return Err(ConnectionStringError::ConflictingKeywords {
            first: K::FederatedSecurity,
            second: *method,
        });
    }
    let missing = |missing: Keyword, required_by: Keyword| ConnectionStringError::MissingKeyword {
        missing,
        required_by,
    };
    let needs_app_id = matches!(
        methods.first(),
        Some(K::ApplicationKey | K::ApplicationCertificateBlob)
    );
    if client_id.is_some() && !needs_app_id {
        return Err(missing(K::ApplicationKey, K::ApplicationClientId));
    }
    let mut selected = Selected {
        authentication: Authentication::None,
        login_hint: None,
        authority_id: None,
    };
    selected.authentication = match (methods.first(), client_id) {
        (Some(K::Password), _) => {
            let user = user.take().ok_or_else(|| missing(K::UserId, K::Password))?;
            Authentication::UserPassword {
                user,
                password: Secret::new(password.unwrap_or_default()),
                authority: authority
                    .take()
                    .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned()),
            }
        }
        (Some(K::ApplicationKey), client_id) => Authentication::ApplicationKey {
            client_id: client_id
                .ok_or_else(|| missing(K::ApplicationClientId, K::ApplicationKey))?,
            key: Secret::new(key.unwrap_or_default()),
            authority: authority
                .take()
                .ok_or_else(|| missing(K::AuthorityId, K::ApplicationKey))?,
        },
        (Some(K::ApplicationCertificateBlob), client_id) => {
            let required_by = if blob.is_some() {
                K::ApplicationCertificateBlob
            } else if thumbprint.is_some() {
                K::ApplicationCertificateThumbprint
            } else {
                K::ApplicationCertificateSendX5c
            };
            let blob = blob.ok_or_else(|| missing(K::ApplicationCertificateBlob, required_by))?;
            let mut certificate = ApplicationCertificate::from_pem(blob)
                .send_certificate_chain(send_x5c.unwrap_or(false));
            if let Some(thumbprint) = thumbprint {
                certificate = certificate.with_thumbprint(thumbprint);
            }
            Authentication::ApplicationCertificate {
                client_id: client_id.ok_or_else(|| missing(K::ApplicationClientId, required_by))?,
                certificate,
                authority: authority
                    .take()
                    .ok_or_else(|| missing(K::AuthorityId, required_by))?,
            }
        }
        (Some(K::UserToken), _) => {
            Authentication::UserToken(Secret::new(user_token.unwrap_or_default()))
        }
        (Some(K::ApplicationToken), _) => {
            Authentication::ApplicationToken(Secret::new(app_token.unwrap_or_default()))
        }
        _ => {
            let loopback = data_source.host_str().is_some_and(is_loopback_host);
            match (federated, data_source.scheme()) {
                (Some(false), _) => Authentication::None,
                (Some(true), _) | (None, "https") => {
                    Authentication::DefaultChain(DefaultChain::new())
                }
                (None, _) if loopback => Authentication::None,
                (None, _) => {
                    return Err(ConnectionStringError::AuthenticationRequired {
                        host: data_source.host_str().unwrap_or_default().to_owned(),
                    });
                }
            }
        }
    };
    selected.login_hint = user;
    selected.authority_id = authority;
    Ok(selected)
}

/// Refuses token-based authentication over plain http to a non-loopback host.
pub(crate) fn check_transport(
    data_source: &Url,
    authentication: &Authentication,
) -> ParseResult<()> {
    let host = data_source.host_str().unwrap_or_default();
    if data_source.scheme() == "http" && !authentication.is_none() && !is_loopback_host(host) {
        return Err(ConnectionStringError::TokenOverHttp {
            host: host.to_owned(),
        });
    }
    Ok(())
}

impl ConnectionString {
    /// Parses `text`. Same as `text.parse()`.
    pub fn parse(text: &str) -> Result<Self, ConnectionStringError> {
        if text.trim().is_empty() {
            return Err(ConnectionStringError::Empty);
        }
        let segments: Vec<&str> = text.split(';').collect();
        let last = segments.len().saturating_sub(1);
        let mut values: BTreeMap<Keyword, String> = BTreeMap::new();
        let mut previous_secret: Option<Keyword> = None;
        for (i, segment) in segments.iter().enumerate() {
            let index = i + 1;
            if segment.trim().is_empty() {
                return Err(if i == last {
                    ConnectionStringError::TrailingSemicolon
                } else {
                    ConnectionStringError::EmptySegment { index }
                });
            }
            let secret_error =
                |keyword| ConnectionStringError::SecretContainsSemicolon { keyword, index };
            let (keyword, value) = match segment.split_once('=') {
                None if i == 0 => (Keyword::DataSource, segment.trim()),
                None => {
                    return Err(match previous_secret {
                        Some(keyword) => secret_error(keyword),
                        None => ConnectionStringError::MissingEquals { index },
                    });
                }
                Some((key, value)) => match Keyword::lookup(key) {
                    Some(keyword) => (keyword, value.trim()),
                    None => {
                        return Err(match previous_secret {
                            Some(keyword) => secret_error(keyword),
                            None => ConnectionStringError::UnknownKeyword {
                                keyword: cut(key.trim(), 64),
                            },
                        });
                    }
                },
            };
            if !keyword.is_supported() {
                return Err(ConnectionStringError::UnsupportedKeyword { keyword });
            }
            if values.contains_key(&keyword) {
                return Err(ConnectionStringError::DuplicateKeyword { keyword });
            }
            if value.is_empty() {
                return Err(ConnectionStringError::EmptyValue { keyword });
            }
            values.insert(keyword, value.to_owned());
            previous_secret = keyword.is_secret().then_some(keyword);
        }
        let source = values
            .remove(&Keyword::DataSource)
            .ok_or(ConnectionStringError::MissingDataSource)?;
        let (data_source, path_database) = parse_data_source(&source)?;
        let database = values.remove(&Keyword::InitialCatalog).or(path_database);
        let application_name = values.remove(&Keyword::ApplicationNameForTracing);
        let user_name = values.remove(&Keyword::UserNameForTracing);
        let selected = select_authentication(&mut values, &data_source)?;
        check_transport(&data_source, &selected.authentication)?;
        Ok(ConnectionString {
            data_source,
            database,
            application_name,
            user_name,
            login_hint: selected.login_hint,
            authority_id: selected.authority_id,
            authentication: selected.authentication,
        })
    }

    /// A builder for a connection string to `data_source`.
    pub fn builder(data_source: impl Into<String>) -> ConnectionStringBuilder {
        ConnectionStringBuilder::new(data_source)
    }

    /// The cluster URL, without the database path segment, e.g. `https://help.kusto.windows.net/`.
    pub fn data_source(&self) -> &Url {
        &self.data_source
    }

    /// The database: `Initial Catalog`, or the single path segment of the data source. `None`
    /// when neither is given (requests then name their database, or Kusto uses
    /// [`DEFAULT_DATABASE`]).
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// `Application Name for Tracing` (sent as `x-ms-app`).
    pub fn application_name_for_tracing(&self) -> Option<&str> {
        self.application_name.as_deref()
    }

    /// `User Name for Tracing` (sent as `x-ms-user`).
    pub fn user_name_for_tracing(&self) -> Option<&str> {
        self.user_name.as_deref()
    }

    /// `User ID` given without a password: a login hint, printed back; used by interactive login
    /// when the connection string is turned into one
    /// ([`ConnectionStringBuilder::with_interactive_login`]).
    pub fn login_hint(&self) -> Option<&str> {
        self.login_hint.as_deref()
    }

    /// The tenant: the authority of the authentication method, or `Authority Id` as given.
    pub fn authority_id(&self) -> Option<&str> {
        match &self.authentication {
            Authentication::ApplicationKey { authority, .. }
            | Authentication::ApplicationCertificate { authority, .. }
            | Authentication::UserPassword { authority, .. }
            | Authentication::DeviceCode { authority, .. } => Some(authority),
            Authentication::AzureCli {
                tenant: Some(tenant),
            } => Some(tenant),
            Authentication::InteractiveLogin(login) if login.tenant().is_some() => login.tenant(),
            _ => self.authority_id.as_deref(),
        }
    }

    /// How the client authenticates.
    pub fn authentication(&self) -> &Authentication {
        &self.authentication
    }

    /// The same connection string for another cluster URL (e.g. the data-management endpoint
    /// derived by [`crate::endpoints::ingest_endpoint`]); database, authentication and tracing
    /// names are kept. The URL's path and query are dropped.
    pub fn with_data_source(mut self, data_source: &Url) -> Self {
        let mut url = data_source.clone();
        url.set_path("/");
        url.set_query(None);
        url.set_fragment(None);
        self.data_source = url;
        self
    }

    /// The same connection string with another authentication.
    pub fn with_authentication(mut self, authentication: Authentication) -> Self {
        self.authentication = authentication;
        self
    }

    /// The connection string as text with the secrets in clear, in a [`Secret`]. Fails when the
    /// authentication has no keywords or a value contains `;`.
    pub fn to_unmasked_string(&self) -> Result<Secret, ConnectionStringError> {
        if !self.authentication.is_text_representable() {
            return Err(ConnectionStringError::NotRepresentable {
                reason: format!(
                    "{} authentication has no connection-string keywords",
                    self.authentication.method_name()
                ),
            });
        }
        let mut text = String::new();
        for (keyword, value) in self.entries() {
            let value = value.text(true);
            if value.contains(';') {
                return Err(ConnectionStringError::NotRepresentable {
                    reason: format!("the value of '{keyword}' contains ';'"),
                });
            }
            push_pair(&mut text, keyword, &value);
        }
        Ok(Secret::new(text))
    }

    /// The pairs printed, in canonical order.
    fn entries(&self) -> Vec<(Keyword, Value)> {
        use Keyword as K;
        let mut out = Vec::new();
        let source = self.data_source.as_str().trim_end_matches('/');
        out.push((K::DataSource, Value::Text(source.to_owned())));
        if let Some(db) = &self.database {
            out.push((K::InitialCatalog, Value::Text(db.clone())));
        }
        out.push((
            K::FederatedSecurity,
            Value::Bool(!self.authentication.is_none()),
        ));
        let mut user = self.login_hint.clone();
        let mut certificate = None;
        match &self.authentication {
            Authentication::ApplicationKey { client_id, key, .. } => {
                out.push((K::ApplicationClientId, Value::Text(client_id.clone())));
                out.push((K::ApplicationKey, Value::Secret(key.expose().to_owned())));
            }
            Authentication::ApplicationCertificate {
                client_id,
                certificate: c,
                ..
            } => {
                out.push((K::ApplicationClientId, Value::Text(client_id.clone())));
                certificate = Some(c);
            }
            Authentication::UserPassword { user: u, .. } => user = Some(u.clone()),
            Authentication::InteractiveLogin(login) if login.login_hint().is_some() => {
                user = login.login_hint().map(str::to_owned);
            }
            _ => {}
        }
        if let Some(user) = user {
            out.push((K::UserId, Value::Text(user)));
        }
        if let Authentication::UserPassword { password, .. } = &self.authentication {
            out.push((K::Password, Value::Secret(password.expose().to_owned())));
        }
        if let Some(authority) = self.authority_id() {
            out.push((K::AuthorityId, Value::Text(authority.to_owned())));
        }
        match &self.authentication {
            Authentication::ApplicationToken(token) => {
                out.push((
                    K::ApplicationToken,
                    Value::Secret(token.expose().to_owned()),
                ));
            }
            Authentication::UserToken(token) => {
                out.push((K::UserToken, Value::Secret(token.expose().to_owned())));
            }
            _ => {}
        }
        if let Some(c) = certificate {
            let mut blob = c.pem().expose().to_owned();
            if let Some(public) = c.public_certificate() {
                blob.push('\n');
                blob.push_str(public);
            }
            out.push((K::ApplicationCertificateBlob, Value::Secret(blob)));
            out.push((
                K::ApplicationCertificateSendX5c,
                Value::Bool(c.sends_certificate_chain()),
            ));
            if let Some(thumbprint) = c.thumbprint() {
                out.push((
                    K::ApplicationCertificateThumbprint,
                    Value::Secret(thumbprint.expose().to_owned()),
                ));
            }
        }
        if let Some(name) = &self.application_name {
            out.push((K::ApplicationNameForTracing, Value::Text(name.clone())));
        }
        if let Some(name) = &self.user_name {
            out.push((K::UserNameForTracing, Value::Text(name.clone())));
        }
        out
    }
}

enum Value {
    Text(String),
    Bool(bool),
    Secret(String),
}

impl Value {
    fn text(&self, unmasked: bool) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            Value::Secret(s) if unmasked => s.clone(),
            Value::Secret(_) => Secret::MASK.to_owned(),
        }
    }
}

fn push_pair(text: &mut String, keyword: Keyword, value: &str) {
    if !text.is_empty() {
        text.push(';');
    }
    text.push_str(keyword.name());
    text.push('=');
    text.push_str(value);
}

impl FromStr for ConnectionString {
    type Err = ConnectionStringError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConnectionString::parse(s)
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        for (keyword, value) in self.entries() {
            push_pair(&mut text, keyword, &value.text(false));
        }
        f.write_str(&text)
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("data_source", &self.data_source.as_str())
            .field("database", &self.database)
            .field("authentication", &self.authentication)
            .field("application_name_for_tracing", &self.application_name)
            .field("user_name_for_tracing", &self.user_name)
            .field("login_hint", &self.login_hint)
            .field("authority_id", &self.authority_id)
            .finish()
    }
}
