//! The token cache of an [`Authenticator`](super::Authenticator): per scope, single flight,
//! refreshed before expiry, never handing out an expired token.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

use super::{AccessToken, AuthError};
use crate::Result;

/// The time source. The real clock in production; tests move it forward.
pub(crate) type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

pub(crate) fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}

/// A cached token is refreshed when less than this remains (or less than half its lifetime, when
/// that is shorter).
pub(crate) const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// When a refresh fails, the previous token is still handed out if at least this much remains.
pub(crate) const MIN_FALLBACK_LIFETIME: Duration = Duration::seconds(30);

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    fetched_at: OffsetDateTime,
    expires_on: OffsetDateTime,
}

impl Cached {
    fn margin(&self) -> Duration {
        let half_life = (self.expires_on - self.fetched_at) / 2;
        if half_life < REFRESH_MARGIN {
            half_life
        } else {
            REFRESH_MARGIN
        }
    }

    fn is_fresh(&self, now: OffsetDateTime) -> bool {
        self.expires_on - now > self.margin()
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// Tokens per key (the scope and login endpoint).
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
    clock: Clock,
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
    pub(crate) fn new(clock: Clock) -> Self {
        TokenCache {
            slots: Mutex::default(),
            clock,
        }
    }

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
            && entry.is_fresh((self.clock)())
        {
            return Ok(entry.token.clone());
        }
        let result = fetch().await;
        let now = (self.clock)();
        match result {
            Ok(token) => match token.expires_on() {
                None => {
                    *cached = None;
                    Ok(token)
                }
                Some(expires_on) if expires_on <= now => {
                    *cached = None;
                    Err(AuthError::ExpiredToken {
                        provider: provider.to_owned(),
                    }
                    .into())
                }
                Some(expires_on) => {
                    *cached = Some(Cached {
                        token: token.clone(),
                        fetched_at: now,
                        expires_on,
                    });
                    Ok(token)
                }
            },
            Err(error) => {
                if let Some(entry) = cached.as_ref()
                    && entry.expires_on - now >= MIN_FALLBACK_LIFETIME
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
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    fn clock() -> (Clock, Arc<AtomicI64>) {
        let offset = Arc::new(AtomicI64::new(0));
        let start = OffsetDateTime::now_utc();
        let o = offset.clone();
        (
            Arc::new(move || start + Duration::seconds(o.load(Ordering::SeqCst))),
            offset,
        )
    }

    #[tokio::test]
    async fn reuses_until_margin_then_refreshes() {
        let (clock, offset) = clock();
        let cache = TokenCache::new(clock.clone());
        let calls = AtomicUsize::new(0);
        let fetch = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("t{n}"),
                Some(clock() + Duration::hours(1)),
            ))
        };
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t0"
        );
        offset.store(3600 - 301, Ordering::SeqCst);
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t0"
        );
        offset.store(3600 - 299, Ordering::SeqCst);
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

    #[tokio::test]
    async fn short_lived_tokens_use_half_their_lifetime_as_margin() {
        let (clock, offset) = clock();
        let cache = TokenCache::new(clock.clone());
        let calls = AtomicUsize::new(0);
        let fetch = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("t{n}"),
                Some(clock() + Duration::seconds(120)),
            ))
        };
        cache.get("k", "p", fetch).await.unwrap();
        offset.store(59, Ordering::SeqCst);
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t0"
        );
        offset.store(61, Ordering::SeqCst);
        assert_eq!(
            cache.get("k", "p", fetch).await.unwrap().token().expose(),
            "t1"
        );
    }

    #[tokio::test]
    async fn failed_refresh_falls_back_only_to_a_token_that_is_still_valid() {
        let (clock, offset) = clock();
        let cache = TokenCache::new(clock.clone());
        cache
            .get("k", "p", || async {
                Ok(AccessToken::new("old", Some(clock() + Duration::hours(1))))
            })
            .await
            .unwrap();
        let failing = || async { Err(Error::InvalidArgument("login down".into())) };
        // Inside the refresh margin but well before expiry: the old token is still good.
        offset.store(3600 - 120, Ordering::SeqCst);
        assert_eq!(
            cache.get("k", "p", failing).await.unwrap().token().expose(),
            "old"
        );
        // 10 seconds before expiry: never hand it out.
        offset.store(3600 - 10, Ordering::SeqCst);
        let error = cache.get("k", "p", failing).await.unwrap_err();
        assert!(error.to_string().contains("login down"), "{error}");
        // Past expiry the entry is gone; a new token is fetched.
        offset.store(3600 + 10, Ordering::SeqCst);
        let token = cache
            .get("k", "p", || async {
                Ok(AccessToken::new("new", Some(clock() + Duration::hours(1))))
            })
            .await
            .unwrap();
        assert_eq!(token.token().expose(), "new");
    }

    #[tokio::test]
    async fn an_already_expired_token_is_an_error_and_not_cached() {
        let (clock, _offset) = clock();
        let cache = TokenCache::new(clock.clone());
        let error = cache
            .get("k", "my provider", || async {
                Ok(AccessToken::new(
                    "stale",
                    Some(clock() - Duration::seconds(1)),
                ))
            })
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::Auth(e) if matches!(**e, AuthError::ExpiredToken { .. })));
        assert_eq!(
            error.to_string(),
            "my provider returned a token that has already expired"
        );
        let token = cache
            .get("k", "p", || async {
                Ok(AccessToken::new(
                    "fresh",
                    Some(clock() + Duration::hours(1)),
                ))
            })
            .await
            .unwrap();
        assert_eq!(token.token().expose(), "fresh");
    }

    #[tokio::test]
    async fn tokens_without_expiry_are_not_cached() {
        let (clock, _offset) = clock();
        let cache = TokenCache::new(clock);
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
