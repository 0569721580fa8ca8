//! Application certificate: client credentials with a client-assertion JWT signed RS256, in pure
//! Rust (`rsa` + `sha2`; `sha1` for the thumbprint). No openssl.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::future::BoxFuture;
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::json;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use time::OffsetDateTime;

use super::oauth::{OAuthResponse, endpoint_string, parse_token, post_form};
use super::{AccessToken, ApplicationCertificate, AuthError, TokenProvider, TokenRequest, boxed};
use crate::{Error, Result, Secret};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of a client assertion.
const ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(10);

/// Gets tokens for a service principal with a certificate: the client-credentials grant with a
/// client assertion (a JWT with `x5t` = the certificate's SHA-1 thumbprint, and `x5c` = the
/// certificate chain when asked for, signed RS256 with the private key).
pub struct CertificateProvider {
    http: reqwest::Client,
    client_id: String,
    tenant: String,
    signing_key: SigningKey<Sha256>,
    thumbprint: [u8; 20],
    chain: Option<Vec<String>>,
}

impl fmt::Debug for CertificateProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateProvider")
            .field("client_id", &self.client_id)
            .field("tenant", &self.tenant)
            .field("sends_certificate_chain", &self.chain.is_some())
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> Error {
    AuthError::InvalidCertificate(message.into()).into()
}

/// The `(label, DER)` blocks of a PEM text.
///
/// Each `-----BEGIN X-----` ... `-----END X-----` block is decoded by `pem-rfc7468` (LF, CRLF
/// or CR line ends; the base64 wrapped at the width of the block's first line, 64 for OpenSSL,
/// 76 for some tools). Text around the blocks (OpenSSL's `Bag Attributes`) is skipped, and so
/// are blocks whose label RFC 7468 does not allow (none of them is a key or a certificate).
/// Blocks with RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, legacy encrypted keys) are an error.
pub(crate) fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>> {
    const BEGIN: &str = "-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let after = &block[BEGIN.len()..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| invalid("unterminated PEM header"))?;
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let end = block
            .find(&end_marker)
            .ok_or_else(|| invalid(format!("PEM block {label} has no END line")))?
            + end_marker.len();
        let (block, next) = block.split_at(end);
        if let Some(der) = decode_pem_block(label, block)? {
            blocks.push((label.to_owned(), der));
        }
        rest = next;
    }
    Ok(blocks)
}

/// Decodes one PEM block; `None` for a label RFC 7468 does not allow.
fn decode_pem_block(label: &str, block: &str) -> Result<Option<Vec<u8>>> {
    let mut lines = block.split(['\r', '\n']).filter(|line| !line.is_empty());
    let width = lines
        .nth(1)
        .map_or(pem_rfc7468::BASE64_WRAP_WIDTH, str::len);
    let decoded = pem_rfc7468::Decoder::new_wrapped(block.as_bytes(), width).and_then(|mut d| {
        let mut der = Vec::new();
        d.decode_to_end(&mut der)?;
        Ok(der)
    });
    match decoded {
        Ok(der) => Ok(Some(der)),
        Err(pem_rfc7468::Error::Label) => Ok(None),
        Err(_) if block.lines().any(|line| line.contains(':')) => Err(invalid(format!(
            "PEM block {label} has headers (Proc-Type/DEK-Info: a legacy encrypted key); \
             encrypted private keys are not supported"
        ))),
        Err(e) => Err(invalid(format!("PEM block {label} is not valid: {e}"))),
    }
}

fn decode_hex_thumbprint(text: &str) -> Result<[u8; 20]> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b':' | b'-'))
        .collect();
    let mut out = [0u8; 20];
    if digits.len() != 40 {
        return Err(invalid("the thumbprint must be 40 hex digits (SHA-1)"));
    }
    for (slot, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| invalid("thumbprint is not hex"))?;
        *slot = u8::from_str_radix(text, 16).map_err(|_| invalid("thumbprint is not hex"))?;
    }
    Ok(out)
}

impl CertificateProvider {
    /// A provider for application `client_id` in `tenant` with `certificate`.
    ///
    /// Fails with [`AuthError::InvalidCertificate`] when the PEM holds no usable RSA private
    /// key (encrypted keys are not supported), when no thumbprint is given and no certificate is
    /// present to compute it, when a given thumbprint does not match the certificate, or when the
    /// chain must be sent but no certificate is present.
    pub fn new(
        http: reqwest::Client,
        client_id: impl Into<String>,
        certificate: &ApplicationCertificate,
        tenant: impl Into<String>,
    ) -> Result<Self> {
        let mut blocks = pem_blocks(certificate.pem().expose())?;
        if let Some(public) = certificate.public_certificate() {
            blocks.extend(pem_blocks(public)?);
        }
        let mut key = None;
        let mut certificates = Vec::new();
        for (label, der) in &blocks {
            match label.as_str() {
                "PRIVATE KEY" => {
                    key = Some(RsaPrivateKey::from_pkcs8_der(der).map_err(|e| {
                        invalid(format!(
                            "the PKCS#8 private key is not a usable RSA key: {e}"
                        ))
                    })?)
                }
                "RSA PRIVATE KEY" => {
                    key = Some(RsaPrivateKey::from_pkcs1_der(der).map_err(|e| {
                        invalid(format!("the PKCS#1 private key is not usable: {e}"))
                    })?)
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(invalid("encrypted private keys are not supported"));
                }
                "CERTIFICATE" => certificates.push(der.clone()),
                _ => {}
            }
        }
        let key = key.ok_or_else(|| invalid("the PEM text holds no private key"))?;
        let computed = certificates.first().map(|der| {
            let digest = Sha1::digest(der);
            let mut out = [0u8; 20];
            out.copy_from_slice(&digest);
            out
        });
        let thumbprint = match (certificate.thumbprint(), computed) {
            (Some(given), Some(computed)) => {
                let given = decode_hex_thumbprint(given.expose())?;
                if given != computed {
                    return Err(invalid(
                        "the thumbprint does not match the certificate in the PEM text",
                    ));
                }
                given
            }
            (Some(given), None) => decode_hex_thumbprint(given.expose())?,
            (None, Some(computed)) => computed,
            (None, None) => {
                return Err(invalid(
                    "give the certificate thumbprint or include the certificate in the PEM text",
                ));
            }
        };
        let chain = if certificate.sends_certificate_chain() {
            if certificates.is_empty() {
                return Err(invalid(
                    "sending the certificate chain (x5c) needs the certificate in the PEM text",
                ));
            }
            Some(
                certificates
                    .iter()
                    .map(|der| STANDARD.encode(der))
                    .collect(),
            )
        } else {
            None
        };
        Ok(CertificateProvider {
            http,
            client_id: client_id.into(),
            tenant: tenant.into(),
            signing_key: SigningKey::<Sha256>::new(key),
            thumbprint,
            chain,
        })
    }

    /// The signed client assertion for `audience` (the token endpoint).
    fn assertion(&self, audience: &str) -> Result<Secret> {
        let now = OffsetDateTime::now_utc();
        let mut header = json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": URL_SAFE_NO_PAD.encode(self.thumbprint),
        });
        if let Some(chain) = &self.chain {
            header["x5c"] = json!(chain);
        }
        let claims = json!({
            "aud": audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now.unix_timestamp(),
            "iat": now.unix_timestamp(),
            "exp": now.saturating_add(ASSERTION_LIFETIME).unix_timestamp(),
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .signing_key
            .try_sign(input.as_bytes())
            .map_err(|e| invalid(format!("signing the client assertion failed: {e}")))?;
        Ok(Secret::new(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )))
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken> {
        let endpoint = request.cloud_info().oauth_endpoint(&self.tenant, "token")?;
        let assertion = self.assertion(endpoint.as_str())?;
        let scope = request.scope_string();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.expose()),
            ("scope", scope.as_str()),
        ];
        match post_form(&self.http, &endpoint, &form, &[&assertion]).await? {
            OAuthResponse::Success(value) => parse_token(&value, &endpoint_string(&endpoint)),
            OAuthResponse::Failure(failure) => Err(failure.into_error()),
        }
    }
}

impl TokenProvider for CertificateProvider {
    fn token<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        boxed(self.fetch(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_accepts_separators_and_rejects_bad_input() {
        let hex = "0123456789abcdef0123456789ABCDEF01234567";
        let bytes = decode_hex_thumbprint(hex).unwrap();
        assert_eq!(bytes[0], 0x01);
        assert_eq!(bytes[19], 0x67);
        assert_eq!(
            decode_hex_thumbprint("01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67")
                .unwrap(),
            bytes
        );
        assert!(decode_hex_thumbprint("0123").is_err());
        assert!(decode_hex_thumbprint("zz23456789abcdef0123456789ABCDEF01234567").is_err());
        assert!(decode_hex_thumbprint("é123456789abcdef0123456789ABCDEF0123456").is_err());
    }

    #[test]
    fn pem_blocks_reads_labels_and_rejects_garbage() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(blocks, vec![("CERTIFICATE".to_owned(), vec![0, 1, 2, 3])]);
        assert!(pem_blocks("-----BEGIN X-----\nAAEC\n").is_err());
        assert!(pem_blocks("-----BEGIN X-----\n!!!\n-----END X-----").is_err());
        assert!(pem_blocks("-----BEGIN X").is_err());
        assert!(pem_blocks("no pem at all").unwrap().is_empty());
    }

    #[test]
    fn pem_blocks_accept_crlf_cr_and_other_widths() {
        let lf = "-----BEGIN CERTIFICATE-----\nAAECAwQF\nBgc=\n-----END CERTIFICATE-----\n";
        let expected = vec![("CERTIFICATE".to_owned(), vec![0, 1, 2, 3, 4, 5, 6, 7])];
        assert_eq!(pem_blocks(lf).unwrap(), expected);
        assert_eq!(pem_blocks(&lf.replace('\n', "\r\n")).unwrap(), expected);
        assert_eq!(pem_blocks(&lf.replace('\n', "\r")).unwrap(), expected);
        // Two blocks with text between them (OpenSSL's `Bag Attributes`).
        let two = format!("Bag Attributes\n    localKeyID: 01\n{lf}subject=CN = x\n{lf}");
        assert_eq!(pem_blocks(&two).unwrap().len(), 2);
        // A label RFC 7468 does not allow is skipped, not an error.
        let odd = "-----BEGIN ODD-LABEL-----\nAAEC\n-----END ODD-LABEL-----\n";
        assert!(pem_blocks(odd).unwrap().is_empty());
        // Lines of different widths inside one block are not PEM.
        assert!(pem_blocks("-----BEGIN X-----\nAAECAwQF\nAA\nAA==\n-----END X-----").is_err());
    }

    #[test]
    fn legacy_encrypted_pem_is_a_typed_error() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n\
            DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\r\n\r\n\
            AAECAwQF\r\n-----END RSA PRIVATE KEY-----\r\n";
        let error = pem_blocks(text).unwrap_err();
        assert!(
            matches!(&error, Error::Auth(e) if matches!(**e, AuthError::InvalidCertificate(_))),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("encrypted private keys are not supported")
        );
    }
}
