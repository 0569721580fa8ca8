//! The emulator's HTTP clients (to Azurite, to blob URLs it ingests from), and the same builder
//! for callers: they work whatever TLS features reqwest was compiled with in the process.

/// A [`reqwest::ClientBuilder`] that builds in any TLS configuration of the process.
///
/// When some crate of the build turns on reqwest's `rustls-no-provider` (kusto-data's
/// `rustls-ring` feature does), reqwest has no crypto provider of its own and building any
/// client panics unless one is installed as the process default. So, when no provider is
/// installed, this installs rustls' ring provider as the process default first (a process-wide
/// choice: kusto-data, reqwest and every other rustls user in the process then use ring). With
/// a provider already installed it changes nothing.
///
/// The emulator builds all of its own clients from this; tests and applications that build
/// reqwest clients in the same process as an emulator can use it too.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed one in the meantime: also fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_builds_and_a_provider_is_installed() {
        super::http_client_builder().build().unwrap();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
