//! The sign-ins `kusto` keeps between runs (`--auth browser` and `--auth device-code`), and
//! `kusto logout`.
//!
//! What is stored where (`--token-cache`, default `auto`):
//!
//! * the index file `<cache dir>/kusto-rs/sign-ins.json` (`$XDG_CACHE_HOME` or `~/.cache` on
//!   Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows), readable and writable by
//!   the owner only (0600, in a 0700 directory), replaced atomically (a temporary file renamed
//!   over it). One entry per sign-in: the login endpoint, tenant, client id and login hint it
//!   belongs to, when its refresh token stops being tried, and where the refresh token is;
//! * the refresh token itself, in the platform's keyring when there is one (`auto`, `keyring`:
//!   macOS Keychain, Windows Credential Manager, the Secret Service on Linux), under the service
//!   `kusto-rs` and an account naming the four values above. Where no keyring answers (`auto`
//!   on a server or in a container without a Secret Service), or with `--token-cache file`, the
//!   refresh token is in the index file, in plain text protected by the file's permissions.
//!
//! Access tokens, authorization codes and PKCE verifiers are never stored. `--token-cache off`
//! keeps the sign-in for the run only. `kusto logout` removes the file and every keyring entry
//! it lists.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kusto_data::Secret;
use kusto_data::auth::{RefreshTokenKey, RefreshTokenStore, SignInCache, StoredRefreshToken};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::{LogoutArgs, TokenCacheMode};
use crate::error::{CliError, Exit};

/// The keyring service name of the refresh tokens.
const SERVICE: &str = "kusto-rs";

/// The index file's format version.
const VERSION: u32 = 1;

/// The index file, below the user's cache directory.
pub(crate) fn cache_file() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("kusto-rs").join("sign-ins.json"))
}

/// The sign-in cache of `--token-cache`.
pub(crate) fn sign_in_cache(mode: TokenCacheMode) -> SignInCache {
    if mode == TokenCacheMode::Off {
        return SignInCache::in_memory();
    }
    match cache_file() {
        Some(path) => SignInCache::with_store(Arc::new(SavedSignIns { path, mode })),
        None => {
            eprintln!(
                "kusto: no user cache directory (HOME is not set?); the sign-in is kept for this run only"
            );
            SignInCache::in_memory()
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    sign_ins: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    login_endpoint: String,
    tenant: String,
    client_id: String,
    login_hint: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_on: OffsetDateTime,
    /// True when the refresh token is in the keyring.
    #[serde(default)]
    in_keyring: bool,
    /// The refresh token, when it is not in the keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl Entry {
    fn key(&self) -> RefreshTokenKey {
        RefreshTokenKey::new(
            self.login_endpoint.clone(),
            self.tenant.clone(),
            self.client_id.clone(),
            self.login_hint.clone(),
        )
    }
}

/// The [`RefreshTokenStore`] of the command.
#[derive(Debug)]
pub(crate) struct SavedSignIns {
    path: PathBuf,
    mode: TokenCacheMode,
}

fn store_error(message: String) -> kusto_data::Error {
    kusto_data::Error::InvalidArgument(message)
}

/// Runs `f` where it may block: keyring calls talk to another process.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn keyring_entry(key: &RefreshTokenKey) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, &key.id())
}

fn keyring_get(key: &RefreshTokenKey) -> keyring::Result<String> {
    blocking(|| keyring_entry(key)?.get_password())
}

fn keyring_set(key: &RefreshTokenKey, token: &Secret) -> keyring::Result<()> {
    blocking(|| keyring_entry(key)?.set_password(token.expose()))
}

fn keyring_delete(key: &RefreshTokenKey) {
    let deleted = blocking(|| keyring_entry(key)?.delete_credential());
    if let Err(error) = deleted
        && !matches!(error, keyring::Error::NoEntry)
    {
        eprintln!("kusto: could not remove a sign-in from the keyring: {error}");
    }
}

impl SavedSignIns {
    /// Reads the index; a missing file is empty, an unreadable one is reported and empty.
    fn read(&self) -> Index {
        match read_index(&self.path) {
            Ok(index) => index,
            Err(reason) => {
                eprintln!(
                    "kusto: ignoring the saved sign-ins in {} ({reason}); signing in again",
                    self.path.display()
                );
                Index::default()
            }
        }
    }

    fn write(&self, index: &Index) -> kusto_data::Result<()> {
        write_index(&self.path, index).map_err(|e| {
            store_error(format!(
                "could not write the saved sign-ins to {}: {e}",
                self.path.display()
            ))
        })
    }
}

fn read_index(path: &Path) -> Result<Index, String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
        Err(e) => return Err(e.to_string()),
    };
    let index: Index =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a sign-in file: {e}"))?;
    if index.version != VERSION {
        return Err(format!("unknown version {}", index.version));
    }
    Ok(index)
}

/// Writes `index` to a temporary file (0600) beside `path` and renames it over `path`.
fn write_index(path: &Path, index: &Index) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache file has no directory"))?;
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let temporary = dir.join(format!(".sign-ins.{}.tmp", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut file = options.open(&temporary)?;
        let text = serde_json::to_vec_pretty(index).map_err(std::io::Error::other)?;
        file.write_all(&text)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

impl RefreshTokenStore for SavedSignIns {
    fn load(&self, key: &RefreshTokenKey) -> kusto_data::Result<Option<StoredRefreshToken>> {
        let index = self.read();
        let Some(entry) = index.sign_ins.iter().find(|e| &e.key() == key) else {
            return Ok(None);
        };
        let token = if entry.in_keyring {
            match keyring_get(key) {
                Ok(token) => token,
                Err(error) => {
                    eprintln!(
                        "kusto: the saved sign-in is not in the keyring ({error}); signing in again"
                    );
                    return Ok(None);
                }
            }
        } else {
            match &entry.refresh_token {
                Some(token) => token.clone(),
                None => return Ok(None),
            }
        };
        Ok(Some(StoredRefreshToken::new(token, entry.expires_on)))
    }

    fn save(&self, key: &RefreshTokenKey, token: &StoredRefreshToken) -> kusto_data::Result<()> {
        let in_keyring = match self.mode {
            TokenCacheMode::File | TokenCacheMode::Off => false,
            TokenCacheMode::Auto => keyring_set(key, token.token()).is_ok(),
            TokenCacheMode::Keyring => match keyring_set(key, token.token()) {
                Ok(()) => true,
                Err(error) => {
                    let message = format!(
                        "could not save the sign-in in the keyring ({error}); use --token-cache \
                         file or off"
                    );
                    eprintln!("kusto: {message}");
                    return Err(store_error(message));
                }
            },
        };
        let mut index = self.read();
        index.version = VERSION;
        index.sign_ins.retain(|e| &e.key() != key);
        index.sign_ins.push(Entry {
            login_endpoint: key.login_endpoint.clone(),
            tenant: key.tenant.clone(),
            client_id: key.client_id.clone(),
            login_hint: key.login_hint.clone(),
            expires_on: token.expires_on(),
            in_keyring,
            refresh_token: (!in_keyring).then(|| token.token().expose().to_owned()),
        });
        self.write(&index).inspect_err(|e| eprintln!("kusto: {e}"))
    }

    fn remove(&self, key: &RefreshTokenKey) -> kusto_data::Result<()> {
        let mut index = self.read();
        let before = index.sign_ins.len();
        index.sign_ins.retain(|e| {
            let same = &e.key() == key;
            if same && e.in_keyring {
                keyring_delete(key);
            }
            !same
        });
        if index.sign_ins.len() == before {
            return Ok(());
        }
        index.version = VERSION;
        self.write(&index)
    }
}

/// `kusto logout`: forgets every saved sign-in (the file and the keyring entries it lists).
pub(crate) fn logout(_args: LogoutArgs) -> Result<Exit, CliError> {
    let Some(path) = cache_file() else {
        return Err(CliError::Other(
            "no user cache directory (HOME is not set?)".to_owned(),
        ));
    };
    let index = read_index(&path).unwrap_or_else(|reason| {
        eprintln!(
            "kusto: the sign-in file {} is unreadable ({reason}); removing it",
            path.display()
        );
        Index::default()
    });
    for entry in index.sign_ins.iter().filter(|e| e.in_keyring) {
        keyring_delete(&entry.key());
    }
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(CliError::Other(format!(
                "could not remove {}: {e}",
                path.display()
            )));
        }
    }
    eprintln!(
        "kusto: forgot {} saved sign-in(s) ({})",
        index.sign_ins.len(),
        path.display()
    );
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hint: Option<&str>) -> RefreshTokenKey {
        RefreshTokenKey::new(
            "https://login.example",
            "organizations",
            "app",
            hint.map(str::to_owned),
        )
    }

    fn later() -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::days(1)
    }

    #[test]
    fn file_mode_round_trip_permissions_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kusto-rs").join("sign-ins.json");
        let store = SavedSignIns {
            path: path.clone(),
            mode: TokenCacheMode::File,
        };
        assert!(store.load(&key(None)).unwrap().is_none());
        store
            .save(&key(None), &StoredRefreshToken::new("rt-a", later()))
            .unwrap();
        store
            .save(&key(Some("bob")), &StoredRefreshToken::new("rt-b", later()))
            .unwrap();
        store
            .save(&key(None), &StoredRefreshToken::new("rt-a2", later()))
            .unwrap();
        let loaded = store.load(&key(None)).unwrap().unwrap();
        assert_eq!(loaded.token().expose(), "rt-a2");
        assert_eq!(
            store
                .load(&key(Some("bob")))
                .unwrap()
                .unwrap()
                .token()
                .expose(),
            "rt-b"
        );
        let index = read_index(&path).unwrap();
        assert_eq!(index.sign_ins.len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let mode = fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o700);
        }
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        store.remove(&key(None)).unwrap();
        assert!(store.load(&key(None)).unwrap().is_none());
        assert!(store.load(&key(Some("bob"))).unwrap().is_some());
    }

    #[test]
    fn a_corrupted_or_foreign_file_is_no_sign_in_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sign-ins.json");
        let store = SavedSignIns {
            path: path.clone(),
            mode: TokenCacheMode::File,
        };
        for garbage in [
            &b"{not json"[..],
            b"{\"version\":99,\"sign_ins\":[]}",
            b"\xff\xfe",
        ] {
            fs::write(&path, garbage).unwrap();
            assert!(store.load(&key(None)).unwrap().is_none());
        }
        store
            .save(&key(None), &StoredRefreshToken::new("rt", later()))
            .unwrap();
        assert_eq!(read_index(&path).unwrap().sign_ins.len(), 1);
    }

    #[test]
    fn auto_mode_without_a_keyring_falls_back_to_the_file() {
        // This machine's keyring may or may not answer; either way the token can be loaded
        // back, and the file holds it only when the keyring did not take it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sign-ins.json");
        let store = SavedSignIns {
            path: path.clone(),
            mode: TokenCacheMode::Auto,
        };
        let k = RefreshTokenKey::new(
            "https://login.example",
            "kusto-cli-unit-test",
            uuid::Uuid::new_v4().to_string(),
            None,
        );
        store
            .save(&k, &StoredRefreshToken::new("rt-auto", later()))
            .unwrap();
        let index = read_index(&path).unwrap();
        let entry = &index.sign_ins[0];
        assert_eq!(entry.refresh_token.is_some(), !entry.in_keyring);
        assert_eq!(store.load(&k).unwrap().unwrap().token().expose(), "rt-auto");
        store.remove(&k).unwrap();
        assert!(store.load(&k).unwrap().is_none());
    }
}
