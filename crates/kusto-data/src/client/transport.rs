//! The HTTP edge: errors classified once, error bodies read into [`ServiceError`], response
//! bodies streamed within the request's timeout and the client's size limit.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use reqwest::header::HeaderMap;

use crate::error::{Error, NetworkPhase, OneApiError, ServiceError};

/// The largest error body read from the service; the rest is dropped.
const MAX_ERROR_BODY: usize = 1 << 20;
/// The part of a non-JSON error body kept in [`ServiceError::body`].
const MAX_ERROR_TEXT: usize = 4096;

/// Classifies a `reqwest` error, the one place where that happens: a connection that could not
/// be made, a timeout ([`Error::Timeout`] when the request had a `timeout` of its own), a
/// failure while sending or while the answer was read. The phase says whether the request can
/// have reached the service; the `reqwest` error is kept as the source (without its URL).
pub(crate) fn transport_error(
    error: reqwest::Error,
    endpoint: &str,
    timeout: Option<Duration>,
) -> Error {
    if error.is_connect() {
        return Error::Network {
            endpoint: endpoint.to_owned(),
            message: "could not connect (the request was not sent)".to_owned(),
            phase: NetworkPhase::Connect,
            source: Some(Box::new(error.without_url())),
        };
    }
    if error.is_timeout()
        && let Some(timeout) = timeout
    {
        return Error::Timeout {
            endpoint: endpoint.to_owned(),
            timeout,
        };
    }
    let phase = if error.is_request() {
        NetworkPhase::Send
    } else {
        NetworkPhase::Response
    };
    let message = if error.is_timeout() {
        "the request timed out"
    } else if error.is_decode() {
        "the response body could not be decompressed (a broken Content-Encoding stream, or a \
         connection that failed while it was read)"
    } else if error.is_body() {
        "the connection failed while the response was being read"
    } else if error.is_request() {
        "the request could not be sent"
    } else if error.is_redirect() {
        "the service answered with a redirect, which is never followed"
    } else {
        "the request failed"
    };
    Error::Network {
        endpoint: endpoint.to_owned(),
        message: message.to_owned(),
        phase,
        source: Some(Box::new(error.without_url())),
    }
}

/// `Retry-After` of an answer ([`RetryPolicy::parse_retry_after`](crate::RetryPolicy::parse_retry_after)).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    crate::RetryPolicy::parse_retry_after(value)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads an error answer (any status outside 2xx) into a [`ServiceError`]: the OneApi error
/// when the body has one, otherwise the beginning of the body text.
pub(crate) async fn service_error(
    response: reqwest::Response,
    endpoint: &str,
    client_request_id: Option<&str>,
) -> Error {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut error = ServiceError::new(status, endpoint);
    error.client_request_id = header_text(&headers, "x-ms-client-request-id")
        .or_else(|| client_request_id.map(str::to_owned));
    error.activity_id = header_text(&headers, "x-ms-activity-id");
    error.retry_after = retry_after(&headers);
    // An error body cut short or broken still says what it says so far.
    let body = read_limited(response, endpoint, MAX_ERROR_BODY).await.body;
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) {
        error.error = OneApiError::from_json(&json);
    }
    if error.error.is_none() {
        let text = String::from_utf8_lossy(&body);
        let mut end = text.len().min(MAX_ERROR_TEXT);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        error.body = Some(text[..end].to_owned());
    }
    if error.activity_id.is_none() {
        error.activity_id = error
            .error
            .as_ref()
            .and_then(|e| e.activity_id())
            .map(str::to_owned);
    }
    Error::Service(Box::new(error))
}

/// What [`read_limited`] read: the bytes that arrived (at most the limit) and, when the body
/// was not read whole, why.
pub(crate) struct Limited {
    /// The bytes read.
    pub(crate) body: Vec<u8>,
    /// The body was longer than the limit, or the connection failed while it was read.
    pub(crate) error: Option<Error>,
}

impl Limited {
    /// The whole body, or the error that kept it from being read whole.
    pub(crate) fn into_result(self) -> Result<Vec<u8>, Error> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.body),
        }
    }
}

/// The one bounded body reader of the crate: reads at most `limit` bytes of a body.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    endpoint: &str,
    limit: usize,
) -> Limited {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    let room = limit - body.len();
                    body.extend_from_slice(&chunk[..room]);
                    let error = Error::ResponseTooLarge {
                        limit: limit as u64,
                        message: format!(
                            "{endpoint} answered with a body larger than {limit} bytes"
                        ),
                    };
                    return Limited {
                        body,
                        error: Some(error),
                    };
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Limited { body, error: None },
            Err(error) => {
                let error = transport_error(error, endpoint, None);
                return Limited {
                    body,
                    error: Some(error),
                };
            }
        }
    }
}

/// A response body as a stream of chunks. It fails with [`Error::Timeout`] when the whole body
/// has not arrived within `timeout` of the answer's headers (a server that trickles bytes, or
/// sends without end, cannot hold the caller forever), with [`Error::ResponseTooLarge`] when
/// more than the limit arrived (decompressed bytes, so a gzip bomb stops there too), and with
/// [`Error::Network`] when the connection breaks.
pub(crate) struct BodyStream {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    max_bytes: Option<u64>,
    received: u64,
    endpoint: String,
    done: bool,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl BodyStream {
    pub(crate) fn new(
        response: reqwest::Response,
        timeout: Duration,
        max_bytes: Option<u64>,
        endpoint: String,
    ) -> Self {
        BodyStream {
            inner: Box::pin(response.bytes_stream()),
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            max_bytes,
            received: 0,
            endpoint,
            done: false,
        }
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Bytes, Error>>> {
        self.done = true;
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.received = self.received.saturating_add(chunk.len() as u64);
                if let Some(limit) = self.max_bytes.filter(|limit| self.received > *limit) {
                    let message = format!(
                        "the answer of {} is larger than {limit} bytes (the client's \
                         max_response_bytes)",
                        self.endpoint
                    );
                    return self.fail(Error::ResponseTooLarge { limit, message });
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                let error = transport_error(error, &self.endpoint, Some(self.timeout));
                self.fail(error)
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let error = Error::Timeout {
                        endpoint: self.endpoint.clone(),
                        timeout: self.timeout,
                    };
                    self.fail(error)
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after", HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(500)));
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a date in the past"
        );
        let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(120))
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap();
        headers.insert("retry-after", HeaderValue::from_str(&soon).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("-3"));
        assert_eq!(retry_after(&headers), None);
    }
}
