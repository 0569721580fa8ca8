//! Blob downloads for `sourceKind=uri` streaming ingestion (blobs on a loopback Azurite or any
//! plain-HTTP server), over the emulator's one HTTP client (`reqwest`).

use std::time::Duration;

/// Why a blob could not be downloaded: an ingestion error code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> FetchError {
    FetchError {
        code,
        message: message.into(),
    }
}

/// The client used for downloads: no redirects, no transparent decompression (the ingestion
/// code detects gzip from the bytes), 10 s to connect.
pub(crate) fn client() -> reqwest::Client {
    crate::http_client_builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_gzip()
        .no_deflate()
        .build()
        .unwrap_or_default()
}

/// Downloads `url` (http only) with `http`, at most `limit` bytes, within 60 seconds.
pub(crate) async fn get(
    http: &reqwest::Client,
    url: &str,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    let shown = url.split('?').next().unwrap_or_default().to_string();
    match tokio::time::timeout(Duration::from_secs(60), get_inner(http, url, &shown, limit)).await {
        Ok(result) => result,
        Err(_) => Err(err(
            "Download_UnknownError",
            format!("Downloading '{shown}' timed out"),
        )),
    }
}

async fn get_inner(
    http: &reqwest::Client,
    url: &str,
    shown: &str,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        err(
            "BadRequest_InvalidBlobUri",
            format!("'{shown}' is not a valid URL: {e}"),
        )
    })?;
    if parsed.scheme() != "http" {
        return Err(err(
            "BadRequest_InvalidBlobUri",
            format!("The Kusto emulator downloads only http:// URLs, not '{shown}'"),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(err(
            "BadRequest_InvalidBlobUri",
            format!("'{shown}' has no host"),
        ));
    }
    let mut response = http
        .get(parsed)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .map_err(|e| {
            let code = if e.is_connect() {
                "Download_SourceNotFound"
            } else {
                "Download_UnknownError"
            };
            let verb = if e.is_connect() {
                "Could not connect to"
            } else {
                "Could not download"
            };
            err(code, format!("{verb} '{shown}': {}", e.without_url()))
        })?;
    let status = response.status().as_u16();
    if status != 200 {
        let code = match status {
            404 => "Download_SourceNotFound",
            403 => "Download_Forbidden",
            400..=499 => "Download_BadRequest",
            _ => "Download_UnknownError",
        };
        return Err(err(
            code,
            format!("Downloading '{shown}' failed with HTTP status {status}"),
        ));
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        err(
            "Download_UnknownError",
            format!("Downloading '{shown}' failed: {}", e.without_url()),
        )
    })? {
        out.extend_from_slice(&chunk);
        if out.len() > limit {
            return Err(err(
                "Stream_InputStreamTooLarge",
                format!(
                    "The blob '{shown}' is larger than the maximum allowed size of {limit} bytes for streaming ingestion"
                ),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejects_other_schemes_and_unreachable_hosts() {
        let http = client();
        let e = get(&http, "https://127.0.0.1:1/c/b?sig=secret", 10)
            .await
            .unwrap_err();
        assert_eq!(e.code, "BadRequest_InvalidBlobUri");
        assert!(!e.message.contains("secret"));
        let e = get(&http, "not a url", 10).await.unwrap_err();
        assert_eq!(e.code, "BadRequest_InvalidBlobUri");
        // Port 1 on loopback: nothing listens there.
        let e = get(&http, "http://127.0.0.1:1/c/b?sig=secret", 10)
            .await
            .unwrap_err();
        assert_eq!(e.code, "Download_SourceNotFound", "{e:?}");
        assert!(!e.message.contains("secret"), "{e:?}");
    }
}
