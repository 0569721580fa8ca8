//! Application certificate: the client assertion is checked by the loopback login server with
//! the public key. The key pair and self-signed certificate in this directory were made for
//! these tests only (`openssl req -x509 -newkey rsa:2048 -nodes`); they protect nothing.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::Verifier;
use serde_json::Value;
use sha2::Sha256;

use super::server::{Server, token_answer};
use super::{assert_no_canary, authenticator, bearer};
use crate::auth::certificate::pem_blocks;
use crate::auth::{ApplicationCertificate, AuthError, Authenticator};
use crate::{ConnectionString, Error};

const KEY_PKCS8: &str = include_str!("key.pem");
const KEY_PKCS1: &str = include_str!("key_pkcs1.pem");
const CERT: &str = include_str!("cert.pem");
/// `openssl x509 -in cert.pem -noout -fingerprint -sha1`
const THUMBPRINT: &str = "0E:69:1C:14:17:15:78:CB:3A:E3:2E:09:48:F3:FA:8F:E9:B2:88:59";

fn thumbprint_bytes() -> Vec<u8> {
    THUMBPRINT
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Checks the assertion the server received; returns (header, claims).
fn verify(assertion: &str) -> (Value, Value) {
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3, "{assertion}");
    let key = RsaPrivateKey::from_pkcs8_pem(KEY_PKCS8)
        .unwrap()
        .to_public_key();
    let verifier = VerifyingKey::<Sha256>::new(key);
    let signature =
        Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
    verifier
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the assertion is signed with the private key");
    (decode_part(parts[0]), decode_part(parts[1]))
}

async fn run(certificate: ApplicationCertificate) -> (Value, Value, Server) {
    let assertions = Arc::new(Mutex::new(Vec::new()));
    let a = assertions.clone();
    let server = Server::start(move |request, _| {
        a.lock().unwrap().push(request.form.clone());
        token_answer("cert-token", 3600)
    })
    .await;
    let cs = ConnectionString::builder(super::TARGET)
        .with_application_certificate("cert-app", certificate, "tenant-c")
        .build()
        .unwrap();
    let auth = authenticator(&cs, &server);
    assert_eq!(bearer(&auth).await, "Bearer cert-token");
    assert_no_canary(&format!("{auth:?}"));
    let form = assertions.lock().unwrap()[0].clone();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "cert-app");
    assert_eq!(form["scope"], "https://kusto.kusto.windows.net/.default");
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!form.contains_key("client_secret"));
    let (header, claims) = verify(&form["client_assertion"]);
    (header, claims, server)
}

#[tokio::test]
async fn the_client_assertion_is_signed_and_names_the_certificate() {
    // Key and certificate in one PEM; the thumbprint is computed.
    let pem = format!("{KEY_PKCS8}\n{CERT}");
    let (header, claims, server) = run(ApplicationCertificate::from_pem(pem)).await;
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(thumbprint_bytes()));
    assert!(header.get("x5c").is_none());
    assert_eq!(
        claims["aud"],
        format!("{}tenant-c/oauth2/v2.0/token", server.url)
    );
    assert_eq!(claims["iss"], "cert-app");
    assert_eq!(claims["sub"], "cert-app");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
        600
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn pem_with_crlf_line_ends_and_76_column_lines_works() {
    // Windows tools write CRLF; some tools wrap base64 at 76 columns (MIME) instead of 64.
    let rewrap = |pem: &str| {
        let mut out = String::new();
        for block in pem_blocks(pem).unwrap() {
            let (label, der) = block;
            out.push_str(&format!("-----BEGIN {label}-----\r\n"));
            let b64 = STANDARD.encode(der);
            for line in b64.as_bytes().chunks(76) {
                out.push_str(std::str::from_utf8(line).unwrap());
                out.push_str("\r\n");
            }
            out.push_str(&format!("-----END {label}-----\r\n"));
        }
        out
    };
    let crlf = format!("{KEY_PKCS8}\n{CERT}").replace('\n', "\r\n");
    assert_eq!(
        pem_blocks(&crlf).unwrap(),
        pem_blocks(&format!("{KEY_PKCS8}\n{CERT}")).unwrap()
    );
    for pem in [crlf, format!("{}{}", rewrap(KEY_PKCS8), rewrap(CERT))] {
        let (header, _, _) = run(ApplicationCertificate::from_pem(pem)).await;
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(thumbprint_bytes()));
    }
}

#[tokio::test]
async fn pkcs1_keys_given_thumbprints_and_the_certificate_chain() {
    // PKCS#1 key, thumbprint given in hex, separate public certificate sent as x5c.
    let certificate = ApplicationCertificate::from_pem(KEY_PKCS1)
        .with_thumbprint(THUMBPRINT.replace(':', ""))
        .with_public_certificate(CERT)
        .send_certificate_chain(true);
    let (header, _, _) = run(certificate).await;
    assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(thumbprint_bytes()));
    let der = &pem_blocks(CERT).unwrap()[0].1;
    assert_eq!(header["x5c"], serde_json::json!([STANDARD.encode(der)]));

    // Key only, thumbprint given: the connection-string form.
    let text = format!(
        "Data Source={};AppClientId=cert-app;Application Certificate Blob={KEY_PKCS8};\
         Application Certificate Thumbprint={};Authority Id=tenant-c",
        super::TARGET,
        THUMBPRINT.replace(':', "").to_lowercase()
    );
    let cs = ConnectionString::parse(&text).unwrap();
    let server = Server::start(|_, _| token_answer("t", 3600)).await;
    let auth = authenticator(&cs, &server);
    assert_eq!(bearer(&auth).await, "Bearer t");
    let form = server.requests()[0].form.clone();
    let (header, _) = verify(&form["client_assertion"]);
    assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(thumbprint_bytes()));
}

#[test]
fn unusable_certificates_are_typed_errors_that_hide_the_key() {
    let cases = [
        (ApplicationCertificate::from_pem(CERT), "no private key"),
        (
            ApplicationCertificate::from_pem(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
            ),
            "encrypted private keys are not supported",
        ),
        (
            ApplicationCertificate::from_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                 DEK-Info: DES-EDE3-CBC,0011223344556677\n\nQ0FOQVJZ\n-----END RSA PRIVATE KEY-----",
            ),
            "encrypted private keys are not supported",
        ),
        (
            ApplicationCertificate::from_pem(
                "-----BEGIN PRIVATE KEY-----\nQ0FOQVJZ\n-----END PRIVATE KEY-----",
            ),
            "not a usable RSA key",
        ),
        (
            ApplicationCertificate::from_pem(KEY_PKCS8),
            "give the certificate thumbprint",
        ),
        (
            ApplicationCertificate::from_pem(format!("{KEY_PKCS8}{CERT}"))
                .with_thumbprint("00".repeat(20)),
            "does not match",
        ),
        (
            ApplicationCertificate::from_pem(KEY_PKCS8)
                .with_thumbprint(THUMBPRINT)
                .send_certificate_chain(true),
            "needs the certificate",
        ),
        (
            ApplicationCertificate::from_pem(KEY_PKCS8).with_thumbprint("CANARY"),
            "40 hex digits",
        ),
    ];
    for (certificate, expected) in cases {
        let cs = ConnectionString::builder("https://mycluster.kusto.windows.net")
            .with_application_certificate("a", certificate, "t")
            .build()
            .unwrap();
        let error = Authenticator::new(&cs, super::http()).unwrap_err();
        assert!(
            matches!(&error, Error::Auth(e) if matches!(**e, AuthError::InvalidCertificate(_))),
            "{error:?}"
        );
        let text = format!("{error} {error:?}");
        assert!(text.contains(expected), "{text}");
        assert_no_canary(&text);
        assert!(!text.contains("MII"), "key material leaked: {text}");
    }
}
