//! The small part of OAuth 2.0 this crate speaks itself: form POSTs to the token and device-code
//! endpoints of the login service, and their answers.

use serde_json::Value;
use time::{Duration, OffsetDateTime};
use url::Url;

use super::{AccessToken, AuthError};
use crate::client::transport::{read_limited, transport_error};
use crate::{Error, Result, Secret};

/// Longest body read from the login service or the metadata endpoint.
const MAX_BODY: usize = 1 << 20;

/// `url` without user info, query string or fragment: safe to print.
pub(crate) fn endpoint_string(url: &Url) -> String {
    crate::redact::url(url)
}

/// Replaces every occurrence of each secret in `text` by `****`: verbatim, and as it travels in a
/// form body or a URL (percent-encoded, upper or lower-case hex, a space as `+` or `%20`), so that
/// a login service repeating the request it got shows no secret either (issue 28).
pub(crate) fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        let value = secret.expose();
        if value.len() < 4 {
            continue;
        }
        let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let url = form.replace('+', "%20");
        for encoded in [
            form.to_ascii_lowercase_hex(),
            url.to_ascii_lowercase_hex(),
            form,
            url,
        ] {
            text = text.replace(&encoded, Secret::MASK);
        }
        text = text.replace(value, Secret::MASK);
    }
    text
}

trait LowercaseHex {
    /// `%2B` as `%2b`.
    fn to_ascii_lowercase_hex(&self) -> String;
}

impl LowercaseHex for String {
    fn to_ascii_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut hex_left = 0;
        for c in self.chars() {
            if hex_left > 0 {
                hex_left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                hex_left = if c == '%' { 2 } else { 0 };
                out.push(c);
            }
        }
        out
    }
}

/// At most `max` characters of `text`, with the secrets scrubbed first (so that a secret cut
/// by the limit cannot leave its first part behind).
fn scrubbed_prefix(text: &str, secrets: &[&Secret], max: usize) -> String {
    scrub(text, secrets).chars().take(max).collect()
}

/// The answer of the login service to a form POST.
pub(crate) enum OAuthResponse {
    /// HTTP 200 with a JSON object.
    Success(Value),
    /// An OAuth error (any other status, or a 200 carrying `error`).
    Failure(OAuthFailure),
}

/// An OAuth error answer.
#[derive(Debug)]
pub(crate) struct OAuthFailure {
    pub(crate) endpoint: String,
    pub(crate) status: u16,
    pub(crate) error: String,
    pub(crate) description: Option<String>,
    pub(crate) correlation_id: Option<String>,
}

impl OAuthFailure {
    pub(crate) fn into_error(self) -> Error {
        AuthError::TokenRequestFailed {
            endpoint: self.endpoint,
            status: self.status,
            error: self.error,
            description: self.description,
            correlation_id: self.correlation_id,
        }
        .into()
    }
}

/// POSTs `form` to `endpoint`. `secrets` are scrubbed from anything kept of an error answer.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    endpoint: &Url,
    form: &[(&str, &str)],
    secrets: &[&Secret],
) -> Result<OAuthResponse> {
    let endpoint_text = endpoint_string(endpoint);
    let response = http
        .post(endpoint.clone())
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| transport_error(e, &endpoint_text, None))?;
    let status = response.status().as_u16();
    let body = read_limited(response, &endpoint_text, MAX_BODY)
        .await
        .into_result()?;
    let json = serde_json::from_slice::<Value>(&body).ok();
    let oauth_error = json
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if status == 200 && oauth_error.is_none() {
        return match json {
            Some(value @ Value::Object(_)) => Ok(OAuthResponse::Success(value)),
            _ => Err(Error::MalformedResponse {
                message: format!("{endpoint_text} answered 200 without a JSON object"),
                offset: None,
            }),
        };
    }
    let text_field = |key: &str| {
        json.as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(|s| scrubbed_prefix(s, secrets, 1024))
    };
    let description = text_field("error_description").or_else(|| {
        if json.is_some() {
            return None;
        }
        let text = String::from_utf8_lossy(&body);
        let text = text.trim();
        (!text.is_empty()).then(|| scrubbed_prefix(text, secrets, 512))
    });
    Ok(OAuthResponse::Failure(OAuthFailure {
        endpoint: endpoint_text,
        status,
        error: oauth_error.unwrap_or_else(|| "http_error".to_owned()),
        description,
        correlation_id: text_field("correlation_id"),
    }))
}

/// A number that may be sent as a JSON number or a string.
pub(crate) fn number(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a token answer: `access_token`, `token_type`, and `expires_in` (seconds from now) or
/// `expires_on` (Unix seconds).
pub(crate) fn parse_token(value: &Value, endpoint: &str) -> Result<AccessToken> {
    let token = value
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::MalformedResponse {
            message: format!("{endpoint} answered without an access_token"),
            offset: None,
        })?;
    let expires_on = if let Some(seconds) = number(value.get("expires_in")) {
        Some(
            OffsetDateTime::now_utc()
                .checked_add(Duration::seconds(seconds))
                .ok_or_else(|| Error::MalformedResponse {
                    message: format!("{endpoint} answered an out-of-range expires_in"),
                    offset: None,
                })?,
        )
    } else if let Some(epoch) = number(value.get("expires_on")) {
        Some(
            OffsetDateTime::from_unix_timestamp(epoch).map_err(|e| Error::MalformedResponse {
                message: format!("{endpoint} answered an invalid expires_on: {e}"),
                offset: None,
            })?,
        )
    } else {
        None
    };
    let mut token = AccessToken::new(token, expires_on);
    if let Some(kind) = value.get("token_type").and_then(Value::as_str)
        && !kind.is_empty()
    {
        token = token.with_token_type(kind);
    }
    Ok(token)
}

#[cfg(test)]
mod scrub_tests {
    use super::*;

    #[test]
    fn a_secret_cut_by_the_limit_leaves_nothing_behind() {
        let secret = Secret::new("s3cr3t-refresh-token-value");
        // The secret starts 10 characters before the limit: cutting first would keep
        // "s3cr3t-ref" in the text.
        let text = format!("{}{}{}", "x".repeat(1014), secret.expose(), "y".repeat(100));
        let kept = scrubbed_prefix(&text, &[&secret], 1024);
        assert!(!kept.contains("s3cr3t"), "{kept}");
        assert_eq!(kept.chars().count(), 1024);
        assert!(kept.starts_with(&"x".repeat(1014)));
    }

    #[test]
    fn a_secret_repeated_percent_encoded_is_scrubbed() {
        let secret = Secret::new("s3cr3t+key/with=odd chars");
        for echoed in [
            "client_secret=s3cr3t%2Bkey%2Fwith%3Dodd+chars&scope=x",
            "client_secret=s3cr3t%2bkey%2fwith%3dodd+chars&scope=x",
            "https://x.example/?k=s3cr3t%2Bkey%2Fwith%3Dodd%20chars",
            "https://x.example/?k=s3cr3t%2bkey%2fwith%3dodd%20chars",
            "plain s3cr3t+key/with=odd chars",
        ] {
            let kept = scrub(echoed, &[&secret]);
            assert!(!kept.contains("s3cr3t"), "{kept}");
            assert!(kept.contains(Secret::MASK), "{kept}");
        }
    }
}
