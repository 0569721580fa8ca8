//! The token cache of an [`Authenticator`](super::Authenticator): per scope, single flight,
//! refreshed before expiry, never handing out an expired token. Time is measured with tokio's
//! monotonic clock.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::{AccessToken, AuthError};
use crate::Result;

/// A cached token is refreshed when less than this remains (or less than half its lifetime, when
/// that is shorter).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Longest lifetime the cache believes.
const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// When a refresh fails, the previous token is still handed out if at least this much remains.
pub(crate) const MIN_FALLBACK_LIFETIME: Duration = Duration::from_secs(30);

/// A cached token. Its expiry is converted once, when it is received, from the wall-clock time
/// the credential gave to the monotonic clock, so later checks are immune to wall-clock jumps.
#[derive(Clone)]
struct Cached {
    token: AccessToken,
    fetched_at: Instant,
    expires_at: Instant,
}

impl Cached {
    fn margin(&self) -> Duration {
        let half_life = self
            .expires_at
            .saturating_duration_since(self.fetched_at)
            .checked_div(2)
            .unwrap_or_default();
        half_life.min(REFRESH_MARGIN)
    }

    fn remaining(&self, now: Instant) -> Duration {
        self.expires_at.saturating_duration_since(now)
    }

    fn is_fresh(&self, now: Instant) -> bool {
        self.remaining(now) > self.margin()
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// Tokens per key (the login endpoint and scope).
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .slots
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("TokenCache").field("keys", &keys).finish()
    }
}

impl TokenCache {
    /// The cached token for `key` if it is fresh; otherwise the result of `fetch`, called by one
    /// caller while the others wait for it.
    pub(crate) async fn get<F, Fut>(
        &self,
        key: &str,
        provider: &str,
        fetch: F,
    ) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(key.to_owned()).or_default().clone()
        };
        // Holding this lock while fetching is what makes concurrent callers share one request.
        let mut cached = slot.lock().await;
        if let Some(entry) = cached.as_ref()
            && entry.is_fresh(Instant::now())
        {
            return Ok(entry.token.clone());
        }
        let result = fetch().await;
        let now = Instant::now();
        match result {
            Ok(token) => match token.expires_on() {
                None => {
                    *cached = None;
                    Ok(token)
                }
                Some(expires_on) => {
                    #[allow(
                        clippy::arithmetic_side_effects,
                        reason = "two OffsetDateTimes (years -9999..=9999) differ by far less than \
                                  time::Duration's range: no overflow"
                    )]
                    let left = expires_on - OffsetDateTime::now_utc();
                    let Ok(left) = Duration::try_from(left) else {
                        *cached = None;
                        return Err(AuthError::ExpiredToken {
                            provider: provider.to_owned(),
                        }
                        .into());
                    };
                    if left.is_zero() {
                        *cached = None;
                        return Err(AuthError::ExpiredToken {
                            provider: provider.to_owned(),
                        }
                        .into());
                    }
                    // Lifetimes beyond a year are cut to a year (and so refreshed then).
                    let left = left.min(MAX_LIFETIME);
                    *cached = Some(Cached {
                        token: token.clone(),
                        fetched_at: now,
                        expires_at: now.checked_add(left).unwrap_or(now),
                    });
                    Ok(token)
                }
            },
            Err(error) => {
                if let Some(entry) = cached.as_ref()
                    && entry.remaining(now) >= MIN_FALLBACK_LIFETIME
                {
                    tracing::warn!(
                        %provider,
                        %error,
                        "token refresh failed; using the cached token until it expires"
                    );
                    return Ok(entry.token.clone());
                }
                *cached = None;
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use time::Duration as TimeDuration;

    fn in_an_hour() -> Option<OffsetDateTime> {
        Some(OffsetDateTime::now_utc() + TimeDuration::hours(1))
    }

    #[tokio::test(start_paused = true)]
    async fn reuses_until_margin_then_refreshes() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let fetch = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(format!("t{n}"), in_an_hour()))
        };
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t0"
        );
        tokio::time::advance(Duration::from_secs(3600 - 301)).await;
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t0"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t1"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Another key is another token.
        assert_eq!(
            cache
                .get("other", "p", fetch)
                .await
                .unwrap()
                .token()
                .expose(),
            "t2"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn short_lived_tokens_use_half_their_lifetime_as_margin() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let fetch = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("t{n}"),
                Some(OffsetDateTime::now_utc() + TimeDuration::seconds(120)),
            ))
        };
        cache.get("k", "p", fetch).await.unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t0"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t1"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_falls_back_only_to_a_token_that_is_still_valid() {
        let cache = TokenCache::default();
        cache
            .get("k", "p", || async {
                Ok(AccessToken::new("old", in_an_hour()))
            })
            .await
            .unwrap();
        let failing = || async { Err(Error::InvalidArgument("login down".into())) };
        // Inside the refresh margin but well before expiry: the old token is still good.
        tokio::time::advance(Duration::from_secs(3600 - 120)).await;
        assert_eq!(
            cache.get("k", "p", failing).await.unwrap().token().expose(),
            "old"
        );
        // 10 seconds before expiry: never hand it out.
        tokio::time::advance(Duration::from_secs(110)).await;
        let error = cache.get("k", "p", failing).await.unwrap_err();
        assert!(error.to_string().contains("login down"), "{error}");
        // The entry is gone; a new token is fetched.
        let token = cache
            .get("k", "p", || async {
                Ok(AccessToken::new("new", in_an_hour()))
            })
            .await
            .unwrap();
        assert_eq!(token.token().expose(), "new");
    }

    #[tokio::test]
    async fn an_already_expired_token_is_an_error_and_not_cached() {
        let cache = TokenCache::default();
        for expires_on in [
            OffsetDateTime::now_utc() - TimeDuration::seconds(1),
            OffsetDateTime::UNIX_EPOCH,
        ] {
            let error = cache
                .get("k", "my provider", || async {
                    Ok(AccessToken::new("stale", Some(expires_on)))
                })
                .await
                .unwrap_err();
            assert!(
                matches!(&error, Error::Auth(e) if matches!(**e, AuthError::ExpiredToken { .. }))
            );
            assert_eq!(
                error.to_string(),
                "my provider returned a token that has already expired"
            );
        }
        let token = cache
            .get("k", "p", || async {
                Ok(AccessToken::new("fresh", in_an_hour()))
            })
            .await
            .unwrap();
        assert_eq!(token.token().expose(), "fresh");
    }

    #[tokio::test]
    async fn tokens_without_expiry_are_not_cached() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let fetch = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new("static", None))
        };
        cache.get("k", "p", fetch).await.unwrap();
        cache.get("k", "p", fetch).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
