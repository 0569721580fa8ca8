//! URLs and texts made safe to show: what every error message, log line and `Debug` output of
//! the SDK uses for URLs, which may carry a SAS signature or credentials.
//!
//! ```
//! use kusto_data::redact;
//!
//! let url = url::Url::parse("https://acct.blob.core.windows.net/c/b.csv?sv=1&sig=SECRET").unwrap();
//! assert_eq!(redact::url(&url), "https://acct.blob.core.windows.net/c/b.csv");
//! let text = "PUT https://acct.blob.core.windows.net/c/b?sv=1&sig=SECRET failed";
//! assert_eq!(
//!     redact::urls_in(text),
//!     "PUT https://acct.blob.core.windows.net/c/b?<query removed> failed"
//! );
//! ```

use url::Url;

/// `url` without its query string, fragment, user name and password.
pub fn url(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    // Both fail only for URLs that cannot have credentials, which then have none to remove.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.to_string()
}

/// `text` with the query string of every URL in it replaced by `?<query removed>` (a `?`
/// followed by anything with a `=` before the next space or quote), and any other SAS
/// signature parameter (`sig=` after `&` or `;`) masked: error messages of other crates may
/// quote a request URL with its SAS, whole or cut.
pub fn urls_in(text: &str) -> String {
    mask_signatures(&without_queries(text))
}

fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('?') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')')
            .unwrap_or(tail.len());
        if tail[..end].contains('=') {
            out.push_str("?<query removed>");
        } else {
            out.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Masks the value of every `sig=` parameter (after `?`, `&` or `;`, any case).
fn mask_signatures(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("sig=") {
        let at = from + found;
        from = at + 4;
        if at == 0 || !matches!(lower.as_bytes()[at - 1], b'?' | b'&' | b';') {
            continue;
        }
        let value_start = at + 4;
        let value_len = text[value_start..]
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace() || "\"'<>)]}".contains(c))
            .unwrap_or(text.len() - value_start);
        out.push_str(&text[copied..value_start]);
        out.push_str("****");
        copied = value_start + value_len;
        from = copied;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_secrets() {
        let url =
            Url::parse("https://user:pw@acct.blob.core.windows.net/c/b?sv=1&sig=SECRET#x").unwrap();
        let shown = super::url(&url);
        assert_eq!(shown, "https://acct.blob.core.windows.net/c/b");
    }

    #[test]
    fn texts_lose_every_query() {
        let text = "HttpResponse(Forbidden, \"AuthorizationFailure\") PUT http://127.0.0.1:1/acct/c/b?sv=1&sig=SECRET%3D failed; 'https://x/y?sig=2'";
        let scrubbed = urls_in(text);
        assert!(
            !scrubbed.contains("SECRET") && !scrubbed.contains("sig=2"),
            "{scrubbed}"
        );
        assert!(scrubbed.contains("http://127.0.0.1:1/acct/c/b?<query removed> failed"));
        assert_eq!(urls_in("what? nothing"), "what? nothing");
        assert_eq!(urls_in("ends with ?"), "ends with ?");
        // A signature without the start of its URL, in any case, is masked too.
        assert_eq!(urls_in("a&sig=one b;SIG=two"), "a&sig=**** b;SIG=****");
        assert_eq!(urls_in("no signature, design=1"), "no signature, design=1");
    }
}
