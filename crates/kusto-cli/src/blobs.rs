//! Blob container sources of `kusto ingest`: a container URL (with a SAS) is listed page by page
//! with `azure_storage_blob`, and each listed blob becomes a blob source. Nothing is downloaded:
//! only the blob URLs (with the container's SAS) travel to the service, which reads the blobs
//! itself.
//!
//! A SAS signature is a secret: what is shown (the source key in the report and the progress,
//! error messages) is the URL without its query, and error texts from the storage stack pass
//! through [`redact`] before they are shown.

use std::fmt;
use std::sync::Arc;

use azure_core::http::{ClientOptions, Transport};
use azure_storage_blob::models::BlobContainerClientListBlobsOptions;
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use url::Url;

use crate::error::CliError;
use crate::sources::{Origin, Source};

/// True when a command-line source is a URL (and so a blob container, not a local path).
pub(crate) fn is_url(argument: &str) -> bool {
    let lower = argument.get(..8).unwrap_or(argument).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// A URL that may carry a SAS: `Debug` and `Display` show it without its query.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SasUrl(Url);

impl SasUrl {
    /// The full URL, SAS included: only for the ingestion client, never for display.
    pub(crate) fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for SasUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SasUrl({})", without_query(&self.0))
    }
}

impl fmt::Display for SasUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&without_query(&self.0))
    }
}

pub(crate) use kusto_data::redact::{url as without_query, urls_in as redact};

/// A blob container to list, from a command-line source.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    /// The container's URL with its SAS, without any path after the container.
    url: SasUrl,
    /// Only blobs whose names start with this (the URL's path after the container, or
    /// `--blob-prefix`); listed by the service.
    prefix: Option<String>,
    /// Only blobs whose names match this glob pattern (`--blob-pattern`); matched here.
    pattern: Option<glob::Pattern>,
}

impl Container {
    /// Parses a container URL. Its path is `/container[/prefix]`, or with an IP address or a
    /// host name without dots (`localhost`, `azurite`: Azurite and other path-style endpoints)
    /// as host `/account/container[/prefix]`.
    pub(crate) fn parse(
        argument: &str,
        prefix: Option<&str>,
        pattern: Option<&glob::Pattern>,
    ) -> Result<Container, CliError> {
        let shown = argument.split(['?', '#']).next().unwrap_or_default();
        let mut url = Url::parse(argument)
            .map_err(|e| CliError::Usage(format!("{shown} is not a valid URL: {e}")))?;
        url.set_fragment(None);
        let path_style = match url.host() {
            Some(url::Host::Domain(domain)) => !domain.contains('.'),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
            None => {
                return Err(CliError::Usage(format!("{shown} names no host")));
            }
        };
        let path = url.path().trim_start_matches('/').to_owned();
        let leading = if path_style { 2 } else { 1 };
        let mut parts = path.splitn(leading + 1, '/');
        let mut container_path = Vec::new();
        for _ in 0..leading {
            match parts.next() {
                Some(part) if !part.is_empty() => container_path.push(part.to_owned()),
                _ => {
                    return Err(CliError::Usage(format!(
                        "{shown} names no blob container (expected {})",
                        if path_style {
                            "http://HOST:PORT/ACCOUNT/CONTAINER?SAS"
                        } else {
                            "https://ACCOUNT.blob.core.windows.net/CONTAINER?SAS"
                        }
                    )));
                }
            }
        }
        let url_prefix = parts
            .next()
            .filter(|rest| !rest.is_empty())
            .map(|rest| percent_encoding::percent_decode_str(rest).decode_utf8_lossy())
            .map(|rest| rest.into_owned());
        let prefix = match (url_prefix, prefix) {
            (Some(_), Some(_)) => {
                return Err(CliError::Usage(format!(
                    "{shown} has a path after the container and --blob-prefix is given: use one"
                )));
            }
            (Some(p), None) => Some(p),
            (None, p) => p.filter(|p| !p.is_empty()).map(str::to_owned),
        };
        url.set_path(&format!("/{}", container_path.join("/")));
        Ok(Container {
            url: SasUrl(url),
            prefix,
            pattern: pattern.cloned(),
        })
    }

    /// The container as shown (its URL without the SAS, with the prefix and pattern).
    pub(crate) fn shown(&self) -> String {
        let mut text = self.url.to_string();
        if let Some(prefix) = &self.prefix {
            text.push_str(&format!(" (prefix '{prefix}')"));
        }
        if let Some(pattern) = &self.pattern {
            text.push_str(&format!(" (pattern '{pattern}')"));
        }
        text
    }

    /// The URL of the blob `name` in this container, with the container's SAS.
    fn blob_url(&self, name: &str) -> Url {
        let mut url = self.url.0.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            segments.extend(name.split('/'));
        }
        url
    }

    /// True when `name` passes the pattern (the prefix is applied by the service).
    fn matches(&self, name: &str) -> bool {
        if name.is_empty() || name.ends_with('/') {
            return false;
        }
        self.pattern.as_ref().is_none_or(|pattern| {
            pattern.matches_with(
                name,
                glob::MatchOptions {
                    case_sensitive: true,
                    require_literal_separator: true,
                    require_literal_leading_dot: false,
                },
            )
        })
    }

    /// Lists the matching blobs as sources, page by page (the service's continuation markers):
    /// one page of names is in memory at a time, however large the container.
    pub(crate) fn list(self) -> Result<BoxStream<'static, Result<Source, CliError>>, CliError> {
        let shown = self.url.to_string();
        // The HTTP client of kusto-data's TLS set-up: azure_core's own default client panics
        // when the `kusto` binary is built with `rustls-ring` (reqwest then has no provider).
        let http = kusto_data::client::http_client_builder()
            .map_err(|e| CliError::Other(format!("cannot list {shown}: {e}")))?
            .build()
            .map_err(|e| CliError::Other(format!("cannot list {shown}: {e}")))?;
        let options = BlobContainerClientOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(http))),
                ..Default::default()
            },
            ..Default::default()
        };
        let client = BlobContainerClient::new(self.url.0.clone(), None, Some(options))
            .map_err(|e| listing_error(&shown, &e))?;
        let options = BlobContainerClientListBlobsOptions {
            prefix: self.prefix.clone(),
            ..Default::default()
        };
        let pager = client
            .list_blobs(Some(options))
            .map_err(|e| listing_error(&shown, &e))?;
        let stream = pager
            .map_err(move |e| listing_error(&shown, &e))
            .try_filter_map(move |item| {
                let source = item.name.filter(|name| self.matches(name)).map(|name| {
                    let url = self.blob_url(&name);
                    Source {
                        key: without_query(&url),
                        origin: Origin::Blob(SasUrl(url)),
                        size: item.properties.and_then(|p| p.content_length),
                    }
                });
                futures::future::ready(Ok(source))
            })
            .boxed();
        Ok(stream)
    }
}

/// An error of listing a container, classified for the exit code; never carries the SAS.
fn listing_error(container: &str, error: &azure_core::Error) -> CliError {
    use azure_core::error::ErrorKind;
    match error.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let status = u16::from(*status);
            let code = error_code.as_deref().unwrap_or("");
            let text = redact(&format!(
                "cannot list the blob container {container}: HTTP {status} {code}"
            ));
            let text = text.trim_end().to_owned();
            match status {
                401 | 403 => CliError::Auth(format!(
                    "{text} (does the SAS allow listing, 'sp=...l', and is it still valid?)"
                )),
                404 => CliError::Usage(format!("{text} (no such container)")),
                _ => CliError::Other(text),
            }
        }
        _ => CliError::Other(redact(&format!(
            "cannot list the blob container {container}: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_redacted_wherever_they_are() {
        let text = "error sending request for url (https://a.blob.core.windows.net/c?sv=2022&sig=abc%2Bdef%3D&sp=rl): boom";
        let shown = redact(text);
        assert!(!shown.contains("abc"), "{shown}");
        assert!(
            shown.contains("https://a.blob.core.windows.net/c?<query removed>"),
            "{shown}"
        );
        assert_eq!(redact("x&SIG=secret"), "x&SIG=****");
        assert_eq!(redact("no signature, design=1"), "no signature, design=1");
    }

    #[test]
    fn container_urls_with_prefixes_and_patterns() {
        let c = Container::parse(
            "https://acct.blob.core.windows.net/data/logs/2024/?sv=1&sig=SECRET",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            c.url.expose(),
            "https://acct.blob.core.windows.net/data?sv=1&sig=SECRET"
        );
        assert_eq!(c.prefix.as_deref(), Some("logs/2024/"));
        assert!(!format!("{c:?}").contains("SECRET"));
        assert!(!c.shown().contains("SECRET"));
        let blob = c.blob_url("logs/2024/a b.csv");
        assert_eq!(
            blob.as_str(),
            "https://acct.blob.core.windows.net/data/logs/2024/a%20b.csv?sv=1&sig=SECRET"
        );
        assert_eq!(
            without_query(&blob),
            "https://acct.blob.core.windows.net/data/logs/2024/a%20b.csv"
        );

        // Path style (Azurite): the first segment is the account.
        let pattern = glob::Pattern::new("**/*.csv").unwrap();
        let c = Container::parse(
            "http://127.0.0.1:10000/devstoreaccount1/c1?sig=x",
            Some("in/"),
            Some(&pattern),
        )
        .unwrap();
        assert_eq!(
            c.url.expose(),
            "http://127.0.0.1:10000/devstoreaccount1/c1?sig=x"
        );
        assert_eq!(c.prefix.as_deref(), Some("in/"));
        assert!(c.matches("in/a.csv"));
        assert!(c.matches("in/x/y/a.csv"));
        assert!(!c.matches("in/a.json"));
        assert!(!c.matches("in/dir/"));
        let top = glob::Pattern::new("*.csv").unwrap();
        let c = Container::parse("http://localhost:1/acct/c", None, Some(&top)).unwrap();
        assert_eq!(c.url.expose(), "http://localhost:1/acct/c");
        assert!(c.matches("a.csv"));
        assert!(!c.matches("sub/a.csv"));
        let c = Container::parse("http://azurite:10000/acct/c/in?sig=x", None, None).unwrap();
        assert_eq!(c.url.expose(), "http://azurite:10000/acct/c?sig=x");
        assert_eq!(c.prefix.as_deref(), Some("in"));

        for bad in [
            "https://acct.blob.core.windows.net/?sig=x",
            "http://127.0.0.1:10000/devstoreaccount1?sig=x",
            "https://",
        ] {
            assert!(
                matches!(Container::parse(bad, None, None), Err(CliError::Usage(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Container::parse("https://a.blob.core.windows.net/c/p", Some("q"), None),
            Err(CliError::Usage(_))
        ));
    }
}
