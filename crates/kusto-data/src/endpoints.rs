//! Engine ⇄ data-management (ingestion) endpoint derivation.
//!
//! A cluster has two hosts: the engine (`https://mycluster.region.kusto.windows.net`, queries,
//! management, streaming ingestion) and the data-management service
//! (`https://ingest-mycluster.region.kusto.windows.net`, queued ingestion). The rules:
//!
//! * **engine → ingest**: prefix the host with `ingest-`, unless it already starts with
//!   `ingest-` or is reserved;
//! * **ingest → engine**: remove the `ingest-` prefix of the host, if any, unless the host is
//!   reserved;
//! * **reserved** hosts are never rewritten: IPv4 and IPv6 literals, any host containing
//!   `localhost` (`localhost:8080`, `my.localhost`), and `onebox.dev.kusto.windows.net`. Local
//!   emulators therefore serve both roles on one address.
//!
//! Scheme, port and path are kept.
//!
//! Both rules look only at the parsed host, at its start: `ingest-` elsewhere in the URL (a path
//! such as `/ingest-db`) is never taken for the prefix.
//!
//! ```
//! use kusto_data::endpoints::{engine_endpoint, ingest_endpoint};
//! use url::Url;
//!
//! let engine = Url::parse("https://mycluster.westeurope.kusto.windows.net")?;
//! let ingest = ingest_endpoint(&engine)?;
//! assert_eq!(ingest.as_str(), "https://ingest-mycluster.westeurope.kusto.windows.net/");
//! assert_eq!(engine_endpoint(&ingest)?, engine);
//!
//! let local = Url::parse("http://localhost:8080")?;
//! assert_eq!(ingest_endpoint(&local)?, local);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use url::{Host, Url};

use crate::{Error, Result};

/// The prefix of data-management hosts.
pub const INGEST_PREFIX: &str = "ingest-";

/// The host of the Kusto "onebox" development deployment, never rewritten.
pub const ONEBOX_HOST: &str = "onebox.dev.kusto.windows.net";

/// True when `url`'s host is reserved (never rewritten): no host, an IP literal, a host
/// containing `localhost`, or the onebox host.
pub fn is_reserved_host(url: &Url) -> bool {
    match url.host() {
        None => true,
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => true,
        Some(Host::Domain(domain)) => {
            let domain = domain.to_ascii_lowercase();
            domain.contains("localhost") || domain.trim_end_matches('.') == ONEBOX_HOST
        }
    }
}

fn with_host(url: &Url, host: &str) -> Result<Url> {
    let mut out = url.clone();
    out.set_host(Some(host)).map_err(|e| {
        Error::InvalidArgument(format!("cannot derive the host '{host}' from {url}: {e}"))
    })?;
    Ok(out)
}

/// The data-management (ingestion) endpoint of the engine at `engine`.
pub fn ingest_endpoint(engine: &Url) -> Result<Url> {
    match engine.host_str() {
        Some(host)
            if !is_reserved_host(engine)
                && !host.to_ascii_lowercase().starts_with(INGEST_PREFIX) =>
        {
            with_host(engine, &format!("{INGEST_PREFIX}{host}"))
        }
        _ => Ok(engine.clone()),
    }
}

/// The engine endpoint of the data-management (ingestion) service at `ingest`.
pub fn engine_endpoint(ingest: &Url) -> Result<Url> {
    match ingest.host_str() {
        Some(host) if !is_reserved_host(ingest) => {
            match host
                .get(..INGEST_PREFIX.len())
                .filter(|p| p.eq_ignore_ascii_case(INGEST_PREFIX))
                .and_then(|_| host.get(INGEST_PREFIX.len()..))
            {
                Some(rest) if !rest.is_empty() => with_host(ingest, rest),
                _ => Ok(ingest.clone()),
            }
        }
        _ => Ok(ingest.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn engine_and_ingest_round_trip() {
        let cases = [
            (
                "https://mycluster.westeurope.kusto.windows.net",
                "https://ingest-mycluster.westeurope.kusto.windows.net/",
            ),
            (
                "https://mycluster.kusto.windows.net:443/",
                "https://ingest-mycluster.kusto.windows.net/",
            ),
            (
                "https://trd-abc.z3.kusto.fabric.microsoft.com",
                "https://ingest-trd-abc.z3.kusto.fabric.microsoft.com/",
            ),
            (
                "https://c.kusto.windows.net:8443/prefix/path",
                "https://ingest-c.kusto.windows.net:8443/prefix/path",
            ),
            (
                "https://MyCluster.Kusto.Windows.Net",
                "https://ingest-mycluster.kusto.windows.net/",
            ),
        ];
        for (engine, ingest) in cases {
            let derived = ingest_endpoint(&url(engine)).unwrap();
            assert_eq!(derived.as_str(), ingest, "{engine}");
            let back = engine_endpoint(&derived).unwrap();
            assert_eq!(back, url(engine), "{ingest}");
        }
    }

    #[test]
    fn already_derived_urls_are_kept() {
        let ingest = url("https://ingest-mycluster.kusto.windows.net/");
        assert_eq!(ingest_endpoint(&ingest).unwrap(), ingest);
        let upper = url("https://INGEST-mycluster.kusto.windows.net/");
        assert_eq!(ingest_endpoint(&upper).unwrap(), upper);
        let engine = url("https://mycluster.kusto.windows.net/");
        assert_eq!(engine_endpoint(&engine).unwrap(), engine);
    }

    #[test]
    fn reserved_hosts_are_never_rewritten() {
        for text in [
            "http://localhost:8080",
            "http://localhost",
            "http://LOCALHOST:1234/",
            "http://my.localhost:8080",
            "http://127.0.0.1:8080",
            "http://10.1.2.3",
            "http://[::1]:8080",
            "http://[2001:db8::1]/",
            "https://onebox.dev.kusto.windows.net",
            "https://ONEBOX.dev.kusto.windows.net/",
        ] {
            let u = url(text);
            assert!(is_reserved_host(&u), "{text}");
            assert_eq!(ingest_endpoint(&u).unwrap(), u, "{text}");
            assert_eq!(engine_endpoint(&u).unwrap(), u, "{text}");
        }
        let no_host = url("data:text/plain,x");
        assert!(is_reserved_host(&no_host));
        assert_eq!(ingest_endpoint(&no_host).unwrap(), no_host);
        assert!(!is_reserved_host(&url("https://c.kusto.windows.net")));
    }

    #[test]
    fn rewriting_is_anchored_on_the_host() {
        // Python would keep this URL because "ingest-" appears in its path.
        let engine = url("https://mycluster.kusto.windows.net/ingest-db");
        assert_eq!(
            ingest_endpoint(&engine).unwrap().as_str(),
            "https://ingest-mycluster.kusto.windows.net/ingest-db"
        );
        // Python would strip the "ingest-" of the path.
        let ingest = url("https://ingest-c.kusto.windows.net/ingest-db");
        assert_eq!(
            engine_endpoint(&ingest).unwrap().as_str(),
            "https://c.kusto.windows.net/ingest-db"
        );
        // A host that only contains "ingest-" later is an engine host.
        let engine = url("https://my-ingest-cluster.kusto.windows.net");
        assert_eq!(
            ingest_endpoint(&engine).unwrap().as_str(),
            "https://ingest-my-ingest-cluster.kusto.windows.net/"
        );
        assert_eq!(engine_endpoint(&engine).unwrap(), engine);
    }
}
