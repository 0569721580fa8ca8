//! Where the sign-ins of a person (interactive login, device code) keep their refresh tokens:
//! [`SignInCache`], in memory by default, optionally backed by a [`RefreshTokenStore`] that
//! outlives the process (the `kusto` command's cache file or keyring).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

use crate::{Result, Secret};

/// How long a refresh token is trusted when the login service does not say: the Microsoft
/// identity platform documents 90 days for refresh tokens of public clients other than
/// single-page apps.
pub(crate) const DEFAULT_REFRESH_LIFETIME: Duration = Duration::days(90);

/// Which sign-in a refresh token belongs to: the cloud's login endpoint, the tenant, the public
/// client app id and the login hint (when one was given, so that a token of one account is
/// never used for another).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RefreshTokenKey {
    /// The login endpoint, e.g. `https://login.microsoftonline.com`.
    pub login_endpoint: String,
    /// The tenant the sign-in was made in, e.g. `organizations` or `contoso.com`.
    pub tenant: String,
    /// The public client (the cloud's `KustoClientAppId`).
    pub client_id: String,
    /// The login hint of the sign-in, if one was given.
    pub login_hint: Option<String>,
}

impl RefreshTokenKey {
    /// A key for these four values.
    pub fn new(
        login_endpoint: impl Into<String>,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        login_hint: Option<String>,
    ) -> Self {
        RefreshTokenKey {
            login_endpoint: login_endpoint.into(),
            tenant: tenant.into(),
            client_id: client_id.into(),
            login_hint,
        }
    }

    /// One line naming the key, stable across versions: the four values joined by ` | `
    /// (an absent login hint is empty). It holds no secret.
    pub fn id(&self) -> String {
        format!(
            "{} | {} | {} | {}",
            self.login_endpoint,
            self.tenant,
            self.client_id,
            self.login_hint.as_deref().unwrap_or("")
        )
    }
}

/// A refresh token and the time after which it is no longer tried.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredRefreshToken {
    token: Secret,
    expires_on: OffsetDateTime,
}

impl StoredRefreshToken {
    /// `token`, tried until `expires_on`.
    pub fn new(token: impl Into<Secret>, expires_on: OffsetDateTime) -> Self {
        StoredRefreshToken {
            token: token.into(),
            expires_on,
        }
    }

    /// The refresh token.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// When it stops being tried.
    pub fn expires_on(&self) -> OffsetDateTime {
        self.expires_on
    }

    /// True once `expires_on` has passed.
    pub fn is_expired(&self) -> bool {
        self.expires_on <= OffsetDateTime::now_utc()
    }
}

impl fmt::Debug for StoredRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredRefreshToken")
            .field("token", &self.token)
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// A place that keeps refresh tokens beyond the life of the process (a file, a keyring).
///
/// The methods are called from async code, at most once or twice per sign-in or token refresh
/// (about once an hour): keep them short. A failing `load` is logged and treated as "no token"
/// (the person signs in again); a failing `save` or `remove` is logged and the token is still
/// used. Implementations must never log or print the token.
pub trait RefreshTokenStore: Send + Sync + fmt::Debug {
    /// The token saved for `key`, if any.
    fn load(&self, key: &RefreshTokenKey) -> Result<Option<StoredRefreshToken>>;
    /// Saves `token` for `key`, replacing any previous one.
    fn save(&self, key: &RefreshTokenKey, token: &StoredRefreshToken) -> Result<()>;
    /// Forgets the token of `key` (refused by the login service, or expired).
    fn remove(&self, key: &RefreshTokenKey) -> Result<()>;
}

struct CacheInner {
    memory: Mutex<HashMap<RefreshTokenKey, StoredRefreshToken>>,
    store: Option<Arc<dyn RefreshTokenStore>>,
    /// Held for the whole of a sign-in, so that two clients sharing the cache (the engine and
    /// data-management clients of one connection string) never prompt the person twice: the
    /// second waits and then finds the first one's refresh token.
    gate: tokio::sync::Mutex<()>,
}

/// The refresh tokens of interactive sign-ins, shared by every clone (cheap to clone: an `Arc`
/// inside). A refresh token is redeemed silently for new access tokens until the login service
/// refuses it or it expires; only then is the person asked to sign in again.
///
/// [`SignInCache::in_memory`] (the default of [`InteractiveLogin`](super::InteractiveLogin))
/// lives as long as the process; [`SignInCache::with_store`] also reads and writes a
/// [`RefreshTokenStore`] (for example a file), so that the next process finds the sign-in.
#[derive(Clone)]
pub struct SignInCache {
    inner: Arc<CacheInner>,
}

impl Default for SignInCache {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl fmt::Debug for SignInCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.inner.memory.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("SignInCache")
            .field("entries_in_memory", &entries)
            .field("store", &self.inner.store)
            .finish()
    }
}

impl SignInCache {
    /// A cache in memory only.
    pub fn in_memory() -> Self {
        Self::build(None)
    }

    /// A cache in memory in front of `store`: tokens not in memory are loaded from it, and new
    /// ones are saved to it.
    pub fn with_store(store: Arc<dyn RefreshTokenStore>) -> Self {
        Self::build(Some(store))
    }

    fn build(store: Option<Arc<dyn RefreshTokenStore>>) -> Self {
        SignInCache {
            inner: Arc::new(CacheInner {
                memory: Mutex::default(),
                store,
                gate: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// True when both are the same cache (clones of one another).
    pub fn ptr_eq(&self, other: &SignInCache) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Waits until no other sign-in through this cache is in progress.
    pub(crate) async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.gate.lock().await
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<RefreshTokenKey, StoredRefreshToken>> {
        self.inner.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The unexpired refresh token of `key`, from memory or else from the store.
    pub(crate) fn get(&self, key: &RefreshTokenKey) -> Option<StoredRefreshToken> {
        let found = self.memory().get(key).cloned();
        let found = match (found, &self.inner.store) {
            (Some(token), _) => Some(token),
            (None, None) => None,
            (None, Some(store)) => match store.load(key) {
                Ok(token) => token,
                Err(error) => {
                    tracing::warn!(%error, "could not read the saved sign-in; signing in again");
                    None
                }
            },
        };
        match found {
            Some(token) if token.is_expired() => {
                self.forget(key);
                None
            }
            Some(token) => {
                self.memory().insert(key.clone(), token.clone());
                Some(token)
            }
            None => None,
        }
    }

    /// Keeps `token` for `key` in memory and in the store.
    pub(crate) fn put(&self, key: &RefreshTokenKey, token: StoredRefreshToken) {
        if let Some(store) = &self.inner.store
            && let Err(error) = store.save(key, &token)
        {
            tracing::warn!(%error, "could not save the sign-in for later runs");
        }
        self.memory().insert(key.clone(), token);
    }

    /// Forgets the token of `key`, in memory and in the store.
    pub(crate) fn forget(&self, key: &RefreshTokenKey) {
        self.memory().remove(key);
        if let Some(store) = &self.inner.store
            && let Err(error) = store.remove(key)
        {
            tracing::warn!(%error, "could not remove a saved sign-in");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Recording {
        saved: Mutex<HashMap<String, StoredRefreshToken>>,
        fail_load: bool,
    }

    impl RefreshTokenStore for Recording {
        fn load(&self, key: &RefreshTokenKey) -> Result<Option<StoredRefreshToken>> {
            if self.fail_load {
                return Err(crate::Error::InvalidArgument("unreadable".into()));
            }
            Ok(self.saved.lock().unwrap().get(&key.id()).cloned())
        }
        fn save(&self, key: &RefreshTokenKey, token: &StoredRefreshToken) -> Result<()> {
            self.saved.lock().unwrap().insert(key.id(), token.clone());
            Ok(())
        }
        fn remove(&self, key: &RefreshTokenKey) -> Result<()> {
            self.saved.lock().unwrap().remove(&key.id());
            Ok(())
        }
    }

    fn key(hint: Option<&str>) -> RefreshTokenKey {
        RefreshTokenKey::new(
            "https://login",
            "organizations",
            "app",
            hint.map(str::to_owned),
        )
    }

    fn later() -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::hours(1)
    }

    #[test]
    fn memory_then_store_and_expiry() {
        let store = Arc::new(Recording::default());
        let cache = SignInCache::with_store(store.clone());
        assert!(cache.get(&key(None)).is_none());
        cache.put(&key(None), StoredRefreshToken::new("rt1", later()));
        assert_eq!(store.saved.lock().unwrap().len(), 1);
        // A second cache over the same store (the next process) finds it.
        let next = SignInCache::with_store(store.clone());
        assert_eq!(next.get(&key(None)).unwrap().token().expose(), "rt1");
        // Another login hint is another sign-in.
        assert!(next.get(&key(Some("bob@contoso.com"))).is_none());
        // An expired token is dropped from memory and from the store.
        next.put(
            &key(None),
            StoredRefreshToken::new("old", OffsetDateTime::now_utc() - Duration::seconds(1)),
        );
        assert!(next.get(&key(None)).is_none());
        assert!(store.saved.lock().unwrap().is_empty());
        assert!(
            !format!(
                "{next:?} {:?}",
                StoredRefreshToken::new("rt-secret", later())
            )
            .contains("rt-")
        );
    }

    #[test]
    fn an_unreadable_store_is_no_token() {
        let store = Arc::new(Recording {
            fail_load: true,
            ..Recording::default()
        });
        let cache = SignInCache::with_store(store);
        assert!(cache.get(&key(None)).is_none());
    }

    #[test]
    fn key_ids_name_all_four_values() {
        assert_eq!(
            key(Some("a@b.c")).id(),
            "https://login | organizations | app | a@b.c"
        );
        assert_eq!(key(None).id(), "https://login | organizations | app | ");
    }
}
