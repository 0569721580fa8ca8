//! A minimal HTTP/1.1 GET client for `sourceKind=uri` streaming ingestion (blobs on a loopback
//! Azurite or any plain-HTTP server).

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

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

/// Downloads `url` (http only), at most `limit` bytes, within 60 seconds.
pub(crate) async fn get(url: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
    let shown = url.split('?').next().unwrap_or_default().to_string();
    match tokio::time::timeout(Duration::from_secs(60), get_inner(url, &shown, limit)).await {
        Ok(result) => result,
        Err(_) => Err(err(
            "Download_UnknownError",
            format!("Downloading '{shown}' timed out"),
        )),
    }
}

async fn get_inner(url: &str, shown: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
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
    let host = parsed
        .host_str()
        .ok_or_else(|| {
            err(
                "BadRequest_InvalidBlobUri",
                format!("'{shown}' has no host"),
            )
        })?
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| {
            err(
                "Download_SourceNotFound",
                format!("Could not connect to '{shown}': {e}"),
            )
        })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| {
            err(
                "Download_UnknownError",
                format!("Could not download '{shown}': {e}"),
            )
        })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let request = Request::get(target)
        .header(http::header::HOST, authority)
        .header("x-ms-version", "2021-08-06")
        .body(Empty::<Bytes>::new())
        .map_err(|e| {
            err(
                "BadRequest_InvalidBlobUri",
                format!("Could not build a request for '{shown}': {e}"),
            )
        })?;
    let response = sender.send_request(request).await.map_err(|e| {
        err(
            "Download_UnknownError",
            format!("Could not download '{shown}': {e}"),
        )
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
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            err(
                "Download_UnknownError",
                format!("Downloading '{shown}' failed: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
            if out.len() > limit {
                return Err(err(
                    "Stream_InputStreamTooLarge",
                    format!(
                        "The blob '{shown}' is larger than the maximum allowed size of {limit} bytes for streaming ingestion"
                    ),
                ));
            }
        }
    }
    Ok(out)
}
