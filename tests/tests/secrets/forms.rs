//! The forms in which a secret can leak, and the search for them (issue 28): a secret that
//! reaches a log line inside a URL is percent-encoded, inside a JSON body it is JSON-escaped,
//! inside a header or a token it may be base64. A verbatim search finds none of those.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is encoded (what a URL or a form body
/// carries).
const URL_ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The shortest encoded form searched for: shorter ones could match by chance.
const MIN_FORM: usize = 8;

/// The secret itself; percent-encoded as in a URL (upper and lower-case hex digits) and as in a
/// form body (space as `+`); JSON-escaped; base64 in the standard and the URL-safe alphabets at
/// each of the three byte alignments the secret can have inside a longer encoded text (only the
/// characters that depend on the secret alone).
pub(crate) fn leak_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    let url = utf8_percent_encode(secret, URL_ENCODED).to_string();
    forms.push(url.to_lowercase_hex());
    forms.push(url.replace("%20", "+"));
    forms.push(url);
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json.trim_matches('"').to_owned());
    }
    for offset in 0..3 {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(secret.as_bytes());
        let whole_groups = bytes.len() / 3;
        // The first group mixes the filler with the secret; a last partial group depends on
        // what follows the secret.
        let first = usize::from(offset > 0);
        if whole_groups <= first {
            continue;
        }
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            forms.push(encoded[first * 4..whole_groups * 4].to_owned());
        }
    }
    forms.retain(|form| form.len() >= MIN_FORM);
    forms.sort();
    forms.dedup();
    forms
}

/// The first text that holds any form of any secret, with the secret and the form found.
pub(crate) fn find_leak<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    secrets: &[String],
) -> Option<String> {
    let forms: Vec<(&String, String)> = secrets
        .iter()
        .flat_map(|secret| {
            leak_forms(secret)
                .into_iter()
                .map(move |form| (secret, form))
        })
        .collect();
    for text in texts {
        for (secret, form) in &forms {
            if text.contains(form.as_str()) {
                return Some(format!("the secret {secret:?} (as {form:?}) is in: {text}"));
            }
        }
    }
    None
}

trait LowercaseHex {
    /// `%2B` becomes `%2b` (both are valid percent-encodings).
    fn to_lowercase_hex(&self) -> String;
}

impl LowercaseHex for String {
    fn to_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut hex_left = 0;
        for c in self.chars() {
            if c == '%' {
                hex_left = 2;
                out.push(c);
            } else if hex_left > 0 {
                hex_left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// The search itself can fail: each form of a secret planted in a longer text is found, and a
/// text without it is not.
#[test]
fn every_form_of_a_planted_secret_is_found() {
    let secret = "CANARY+key/with=\"odd\"\\chars 9f";
    let secrets = vec![secret.to_owned()];
    let url = format!(
        "https://x.example/p?sig={}&b=1",
        utf8_percent_encode(secret, URL_ENCODED)
    );
    let form_body = format!(
        "grant_type=client_credentials&client_secret={}",
        utf8_percent_encode(secret, URL_ENCODED)
            .to_string()
            .replace("%20", "+")
    );
    let json = serde_json::json!({ "password": secret }).to_string();
    let mut planted = vec![url.clone(), url.to_lowercase_hex(), form_body, json];
    for prefix in ["", "u:", "us:"] {
        let basic = STANDARD_NO_PAD.encode(format!("{prefix}{secret}:tail"));
        planted.push(format!("Authorization: Basic {basic}"));
        let url_safe = URL_SAFE_NO_PAD.encode(format!("{prefix}{secret}"));
        planted.push(format!("token={url_safe}."));
    }
    for text in &planted {
        assert!(
            find_leak([text.as_str()], &secrets).is_some(),
            "not found in {text}"
        );
    }
    let clean = "https://x.example/p?sig=<removed> CANARY+key Q0FOQVJZ";
    assert_eq!(find_leak([clean], &secrets), None);
}
