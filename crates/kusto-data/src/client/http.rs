//! The HTTP client builder behind [`KustoClient`](super::KustoClient), public so that a caller's
//! own reqwest clients (for [`Authenticator::new`](crate::auth::Authenticator::new), or any
//! other call in the same process) get the same TLS set-up.

use crate::error::Result;

/// A [`reqwest::ClientBuilder`] with the TLS of this crate's features, which every
/// [`KustoClient`](super::KustoClient) starts from.
///
/// With the `rustls-ring` feature (and not `rustls`), reqwest is built without a crypto
/// provider of its own, and its plain `reqwest::Client::new()` or `Client::builder().build()`
/// panics ("No rustls crypto provider is configured") unless a provider is installed as the
/// process default. This builder is configured with rustls, the ring provider and the platform's
/// certificate verifier instead (or leaves reqwest to the installed default when there is one).
/// With `rustls`, or without TLS, it is `reqwest::Client::builder()`.
///
/// ```
/// # fn main() -> kusto_data::Result<()> {
/// let http = kusto_data::client::http_client_builder()?
///     .build()
///     .expect("an HTTP client");
/// let cs = kusto_data::ConnectionString::parse("https://mycluster.kusto.windows.net")?;
/// let auth = kusto_data::auth::Authenticator::new(&cs, http)?;
/// # drop(auth); Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the ring TLS configuration
/// cannot be built (no usable protocol version, or the platform's certificate store cannot be
/// read).
pub fn http_client_builder() -> Result<reqwest::ClientBuilder> {
    let builder = reqwest::Client::builder();
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
    let builder = if rustls::crypto::CryptoProvider::get_default().is_none() {
        builder.tls_backend_preconfigured(ring_tls_config()?)
    } else {
        builder
    };
    Ok(builder)
}

/// The TLS configuration of the `rustls-ring` feature: rustls with the ring crypto provider, the
/// platform's certificate verifier and HTTP/2 or HTTP/1.1 by ALPN (what reqwest builds itself
/// with aws-lc-rs).
#[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
fn ring_tls_config() -> Result<rustls::ClientConfig> {
    use crate::error::Error;
    use rustls_platform_verifier::BuilderVerifierExt;
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| Error::InvalidArgument(format!("cannot build the TLS configuration: {e}")))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(all(test, feature = "rustls-ring", not(feature = "rustls")))]
mod rustls_ring_tests {
    use super::*;
    use crate::{ConnectionString, KustoClient};

    #[test]
    fn a_client_builds_with_ring_and_no_installed_provider() {
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        let config = ring_tls_config().unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        http_client_builder().unwrap().build().unwrap();
        let cs = ConnectionString::parse("https://mycluster.kusto.windows.net").unwrap();
        KustoClient::new(cs).unwrap();
    }
}
