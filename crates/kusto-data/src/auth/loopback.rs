//! The loopback redirect of interactive login (RFC 8252, section 7.3): a small HTTP/1.1 listener
//! on a free port of 127.0.0.1 (and of ::1 when it is free there too, since a browser may resolve
//! `localhost` to either) that waits for the login service's redirect carrying the authorization
//! code, answers the browser with a page saying the person can close it, and ignores every
//! other request (a favicon, a browser's speculative connection).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::AuthError;
use crate::{Error, Result, Secret};

/// Longest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;

/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What one connection brought.
enum Outcome {
    /// Not the redirect (another path, no code nor error): keep waiting.
    Ignored,
    /// The authorization code.
    Code(Secret),
    /// The redirect, carrying an error or a wrong state.
    Failed(AuthError),
}

/// The listener(s) of one sign-in.
pub(crate) struct Loopback {
    listeners: Vec<TcpListener>,
    port: u16,
}

impl Loopback {
    /// Binds a free port on 127.0.0.1, and the same port on ::1 when possible.
    pub(crate) async fn bind() -> Result<Self> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| bind_error(&e))?;
        let port = v4.local_addr().map_err(|e| bind_error(&e))?.port();
        let mut listeners = vec![v4];
        match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
            Ok(v6) => listeners.push(v6),
            Err(error) => {
                tracing::debug!(%error, port, "no IPv6 loopback listener for the sign-in redirect");
            }
        }
        Ok(Loopback { listeners, port })
    }

    /// The port, the same on both addresses.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the redirect whose `state` is `expected_state` and returns its code. A redirect
    /// with another state, or with an OAuth error, ends the wait with an error.
    pub(crate) async fn wait(self, expected_state: String) -> Result<Secret> {
        let (sender, mut outcomes) = mpsc::channel::<Outcome>(8);
        // Dropped (and so aborted) when this function returns: nothing keeps listening after.
        let mut tasks = JoinSet::new();
        for listener in self.listeners {
            let sender = sender.clone();
            let expected = expected_state.clone();
            tasks.spawn(accept_loop(listener, sender, expected));
        }
        drop(sender);
        loop {
            match outcomes.recv().await {
                Some(Outcome::Ignored) => {}
                Some(Outcome::Code(code)) => return Ok(code),
                Some(Outcome::Failed(error)) => return Err(error.into()),
                None => {
                    return Err(Error::InvalidArgument(
                        "the sign-in redirect listener stopped accepting connections".to_owned(),
                    ));
                }
            }
        }
    }
}

fn bind_error(error: &std::io::Error) -> Error {
    Error::InvalidArgument(format!(
        "could not listen on a loopback port for the sign-in redirect: {error}"
    ))
}

async fn accept_loop(listener: TcpListener, sender: mpsc::Sender<Outcome>, expected: String) {
    // Each connection is served by its own task (a speculative connection that sends nothing
    // must not hold up the redirect); the set aborts them when the loop is aborted.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let sender = sender.clone();
                    let expected = expected.clone();
                    connections.spawn(async move {
                        let outcome = serve(stream, &expected).await;
                        let _ = sender.send(outcome).await;
                    });
                }
                Err(error) => {
                    tracing::debug!(%error, "accepting a sign-in redirect connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads the request head (up to the empty line).
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 2048];
    let read = async {
        loop {
            let n = stream.read(&mut buffer).await.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&buffer[..n]);
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                return Some(());
            }
            if head.len() > MAX_HEAD {
                return None;
            }
        }
    };
    tokio::time::timeout(READ_TIMEOUT, read).await.ok()??;
    Some(head)
}

async fn serve(mut stream: TcpStream, expected_state: &str) -> Outcome {
    let Some(head) = read_head(&mut stream).await else {
        return Outcome::Ignored;
    };
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("/"),
    );
    if method != "GET" {
        respond(
            &mut stream,
            "405 Method Not Allowed",
            "Only GET is served here.",
        )
        .await;
        return Outcome::Ignored;
    }
    let Ok(url) = url::Url::parse(&format!("http://localhost{target}")) else {
        respond(&mut stream, "400 Bad Request", "Not a sign-in response.").await;
        return Outcome::Ignored;
    };
    if url.path() != "/" {
        respond(&mut stream, "404 Not Found", "Nothing here.").await;
        return Outcome::Ignored;
    }
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (code, error) = (query("code"), query("error"));
    if code.is_none() && error.is_none() {
        respond(&mut stream, "400 Bad Request", "Not a sign-in response.").await;
        return Outcome::Ignored;
    }
    if query("state").as_deref() != Some(expected_state) {
        respond(
            &mut stream,
            "400 Bad Request",
            "This sign-in response does not belong to the sign-in in progress (its state \
             parameter differs), so it was refused. You can close this window.",
        )
        .await;
        return Outcome::Failed(AuthError::InteractiveLoginStateMismatch);
    }
    if let Some(error) = error {
        let description = query("error_description").map(|d| d.chars().take(1024).collect());
        let page = format!(
            "The sign-in failed: {}{}. You can close this window.",
            escape(&error),
            description
                .as_deref()
                .map(|d: &str| format!(" ({})", escape(d)))
                .unwrap_or_default()
        );
        respond(&mut stream, "200 OK", &page).await;
        return Outcome::Failed(AuthError::InteractiveLoginFailed {
            error: error.chars().take(128).collect(),
            description,
        });
    }
    respond(
        &mut stream,
        "200 OK",
        "You are signed in to Azure Data Explorer (Kusto). You can close this window.",
    )
    .await;
    Outcome::Code(Secret::new(code.unwrap_or_default()))
}

/// Escapes text for an HTML page.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Kusto sign-in</title></head>\
         <body><p>{message}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, target: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn other_requests_are_ignored_until_the_redirect_comes() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port();
        let wait = tokio::spawn(loopback.wait("st8".to_owned()));
        // A speculative connection that sends nothing must not hold up the others.
        let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
        assert!(get(port, "/?foo=bar").await.starts_with("HTTP/1.1 400"));
        let page = get(port, "/?code=the-code&state=st8&session_state=x").await;
        assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
        assert!(page.contains("You can close this window"), "{page}");
        let code = wait.await.unwrap().unwrap();
        assert_eq!(code.expose(), "the-code");
        // Nothing listens any more (the listener's task is dropped soon after).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "still listening");
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_wrong_state_and_an_error_end_the_wait() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port();
        let wait = tokio::spawn(loopback.wait("good".to_owned()));
        let page = get(port, "/?code=c&state=evil").await;
        assert!(page.starts_with("HTTP/1.1 400"), "{page}");
        let error = wait.await.unwrap().unwrap_err();
        assert!(error.to_string().contains("state"), "{error}");

        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port();
        let wait = tokio::spawn(loopback.wait("good".to_owned()));
        let page = get(
            port,
            "/?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=good",
        )
        .await;
        assert!(
            page.contains("access_denied (&lt;b&gt;no&lt;/b&gt;)"),
            "{page}"
        );
        let error = wait.await.unwrap().unwrap_err();
        assert_eq!(
            error.to_string(),
            "the interactive sign-in failed: access_denied (<b>no</b>)"
        );
    }
}
