//! Proof Key for Code Exchange (RFC 7636) with the `S256` method, and the `state` value of an
//! authorization request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Secret;

/// A code verifier and its challenge.
pub(crate) struct Pkce {
    /// 43 characters of base64url (32 random bytes): sent to the token endpoint only.
    pub(crate) verifier: Secret,
    /// `BASE64URL(SHA256(verifier))`: sent in the authorization URL.
    pub(crate) challenge: String,
}

impl Pkce {
    /// A new random verifier and its challenge.
    pub(crate) fn new() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(crate) fn from_verifier(verifier: String) -> Self {
        let challenge = challenge_of(&verifier);
        Pkce {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// The `S256` challenge of `verifier`.
pub(crate) fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random `state` (16 bytes, base64url): the redirect must carry it back unchanged.
pub(crate) fn new_state() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example() {
        // RFC 7636, appendix B.
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_have_the_rfc_length_and_alphabet_and_differ() {
        let a = Pkce::new();
        let b = Pkce::new();
        let text = a.verifier.expose();
        // 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
        assert_eq!(text.len(), 43);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
        );
        assert_ne!(a.verifier, b.verifier);
        assert_eq!(a.challenge, challenge_of(text));
        assert_ne!(new_state(), new_state());
    }
}
