//! Azurite, the official Azure Storage emulator, as the storage behind the emulator's
//! data-management service.
//!
//! [`Azurite::start`] runs Azurite on free loopback ports, in memory, with its own storage
//! accounts and freshly generated keys, and stops it when the value is dropped — also when a test
//! panics. [`Azurite::attach`] uses an Azurite that is already running instead.
//!
//! Azurite is found by [`locate`], in this order:
//!
//! 1. the explicit path ([`AzuriteOptions::script`], `kusto-emulator --azurite-js PATH`): an
//!    entry script run with `node`;
//! 2. the `KUSTO_AZURITE_JS` variable ([`ENV_SCRIPT`]): an entry script run with `node`;
//! 3. an `azurite` executable on `PATH`, as `npm install -g azurite@3.35.0` installs it
//!    ([`PINNED_VERSION`]), run directly;
//! 4. this repository's `tools/azurite` (installed by `cargo xtask install-azurite`), when the
//!    crate is built from a clone where it exists.
//!
//! Containers, queues and tables are created with an account SAS that never leaves this process;
//! clients receive service SAS URLs for single resources only.

pub mod sas;
pub mod storage;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

pub use sas::{AccountKey, Permissions};

/// Environment variable that names Azurite's entry script (`.../azurite/dist/src/azurite.js`).
pub const ENV_SCRIPT: &str = "KUSTO_AZURITE_JS";

/// The Azurite version this repository pins (`tools/azurite/package.json`) and that the install
/// instructions of [`AzuriteError::NotInstalled`] name.
pub const PINNED_VERSION: &str = "3.35.0";

/// The storage API version sent when the emulator creates resources.
const STORAGE_VERSION: &str = "2021-08-06";

/// How long the SAS URLs handed out stay valid.
pub const SAS_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Errors of Azurite management.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AzuriteError {
    /// Azurite was not found; the text says where it was looked for. The message says how to
    /// install it.
    #[error(
        "Azurite was not found ({0}). Install it with `npm install -g azurite@{PINNED_VERSION}` \
         (puts `azurite` on PATH), or run `cargo xtask install-azurite` in a clone of this \
         repository (npm ci in tools/azurite); or name its entry script \
         (.../azurite/dist/src/azurite.js) with --azurite-js or {ENV_SCRIPT}"
    )]
    NotInstalled(String),
    /// Azurite did not start.
    #[error("Azurite did not start: {0}")]
    Start(String),
    /// A storage request made by the emulator failed.
    #[error("storage request {what} failed: {message}")]
    Request {
        /// What was being done.
        what: String,
        /// Why it failed (status and body, or the transport error).
        message: String,
    },
    /// An account name is unknown or invalid.
    #[error("storage account {0:?} is not known to this Azurite")]
    UnknownAccount(String),
}

/// A storage account of Azurite: its name and key. The key is masked in `Debug`.
#[derive(Debug, Clone)]
pub struct StorageAccount {
    /// Account name (lower-case letters and digits).
    pub name: String,
    /// Account key.
    pub key: AccountKey,
}

impl StorageAccount {
    /// An account with a freshly generated random key.
    pub fn generate(name: &str) -> Self {
        let mut bytes = Vec::with_capacity(64);
        for _ in 0..4 {
            bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
        StorageAccount {
            name: name.to_owned(),
            key: AccountKey::from_bytes(bytes),
        }
    }
}

/// Where the three Azurite services listen (`http://127.0.0.1:<port>`, without account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzuriteEndpoints {
    /// Blob service.
    pub blob: Url,
    /// Queue service.
    pub queue: Url,
    /// Table service.
    pub table: Url,
}

/// Options of [`Azurite::start_with`].
#[derive(Debug, Clone)]
pub struct AzuriteOptions {
    /// Names of the storage accounts to create (default: `kustoemu1`, `kustoemu2`).
    pub accounts: Vec<String>,
    /// Azurite's entry script, run with `node`; default: found by [`locate`]
    /// (`KUSTO_AZURITE_JS`, an `azurite` on `PATH`, this repository's `tools/azurite`).
    pub script: Option<PathBuf>,
    /// How long to wait for the three services to listen.
    pub startup_timeout: Duration,
}

impl Default for AzuriteOptions {
    fn default() -> Self {
        AzuriteOptions {
            accounts: vec!["kustoemu1".to_owned(), "kustoemu2".to_owned()],
            script: None,
            startup_timeout: Duration::from_secs(60),
        }
    }
}

/// A running (or attached) Azurite with its accounts.
#[derive(Debug)]
pub struct Azurite {
    child: Option<Child>,
    endpoints: AzuriteEndpoints,
    accounts: Vec<StorageAccount>,
    http: reqwest::Client,
}

/// How to run Azurite, as found by [`locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AzuriteProgram {
    /// An entry script (`.../azurite/dist/src/azurite.js`), run with `node`.
    Script(PathBuf),
    /// An `azurite` executable (as `npm install -g azurite` installs it), run directly.
    Executable(PathBuf),
}

impl AzuriteProgram {
    /// The path of the script or executable.
    pub fn path(&self) -> &Path {
        match self {
            AzuriteProgram::Script(path) | AzuriteProgram::Executable(path) => path,
        }
    }

    fn command(&self) -> Command {
        match self {
            AzuriteProgram::Script(script) => {
                let mut command = Command::new("node");
                command.arg(script);
                command
            }
            AzuriteProgram::Executable(executable) => Command::new(executable),
        }
    }
}

/// Finds Azurite: `explicit` (an entry script), else the script named by `KUSTO_AZURITE_JS`,
/// else an `azurite` executable on `PATH`, else this repository's
/// `tools/azurite/node_modules/azurite/dist/src/azurite.js` (when the crate was built in a clone
/// where it exists). An explicit path or a set variable that names no file is an error, not a
/// reason to look further.
pub fn locate(explicit: Option<&Path>) -> Result<AzuriteProgram, AzuriteError> {
    locate_in(
        explicit,
        std::env::var_os(ENV_SCRIPT),
        std::env::var_os("PATH"),
        Some(repository_script()),
    )
}

/// Finds Azurite as [`locate`] does and returns the path of its entry script or executable.
pub fn locate_script(explicit: Option<&Path>) -> Result<PathBuf, AzuriteError> {
    locate(explicit).map(|program| program.path().to_path_buf())
}

/// This repository's Azurite, relative to the crate's directory at compile time.
fn repository_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/azurite/node_modules/azurite/dist/src/azurite.js")
}

/// [`locate`] with its inputs given: the explicit path, the value of `KUSTO_AZURITE_JS`, the
/// value of `PATH` and the repository's script.
fn locate_in(
    explicit: Option<&Path>,
    env_script: Option<OsString>,
    path_variable: Option<OsString>,
    repository: Option<PathBuf>,
) -> Result<AzuriteProgram, AzuriteError> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(AzuriteProgram::Script(path.to_path_buf()))
        } else {
            Err(AzuriteError::NotInstalled(format!(
                "the given script {} does not exist",
                path.display()
            )))
        };
    }
    if let Some(path) = env_script.filter(|p| !p.is_empty()).map(PathBuf::from) {
        return if path.is_file() {
            Ok(AzuriteProgram::Script(path))
        } else {
            Err(AzuriteError::NotInstalled(format!(
                "{ENV_SCRIPT} names {}, which does not exist",
                path.display()
            )))
        };
    }
    if let Some(executable) = path_variable.as_deref().and_then(find_on_path) {
        return Ok(AzuriteProgram::Executable(executable));
    }
    if let Some(script) = repository.filter(|p| p.is_file()) {
        return Ok(AzuriteProgram::Script(script));
    }
    Err(AzuriteError::NotInstalled(format!(
        "{ENV_SCRIPT} is not set, there is no `azurite` on PATH, and this build has no \
         tools/azurite"
    )))
}

/// The first `azurite` executable in the directories of a `PATH` value.
fn find_on_path(path_variable: &OsStr) -> Option<PathBuf> {
    let names: &[&str] = if cfg!(windows) {
        &["azurite.cmd", "azurite.exe", "azurite.bat"]
    } else {
        &["azurite"]
    };
    std::env::split_paths(path_variable)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

impl Azurite {
    /// Starts Azurite with the default options (two accounts).
    pub async fn start() -> Result<Self, AzuriteError> {
        Self::start_with(AzuriteOptions::default()).await
    }

    /// Starts Azurite on free loopback ports, in memory, with the given accounts.
    pub async fn start_with(options: AzuriteOptions) -> Result<Self, AzuriteError> {
        let program = locate(options.script.as_deref())?;
        for name in &options.accounts {
            if name.len() < 3
                || name.len() > 24
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return Err(AzuriteError::UnknownAccount(name.clone()));
            }
        }
        let accounts: Vec<StorageAccount> = options
            .accounts
            .iter()
            .map(|name| StorageAccount::generate(name))
            .collect();
        let accounts_variable = accounts
            .iter()
            .map(|a| format!("{}:{}", a.name, a.key.to_base64()))
            .collect::<Vec<_>>()
            .join(";");
        tracing::debug!(azurite = %program.path().display(), "starting Azurite");
        let mut child = program
            .command()
            .args(["--silent", "--disableTelemetry", "--skipApiVersionCheck"])
            // Strict mode (no `--loose`): a request relying on a feature Azurite does not
            // implement (CRC64 hashes, customer-provided keys) fails with `500
            // FeatureNotSupported` instead of passing unchecked. Nothing of the emulator or the
            // SDK needs `--loose` (the Azurite test suites pass without it).
            .args(["--inMemoryPersistence"])
            .args(["--blobHost", "127.0.0.1", "--blobPort", "0"])
            .args(["--queueHost", "127.0.0.1", "--queuePort", "0"])
            .args(["--tableHost", "127.0.0.1", "--tablePort", "0"])
            .env("AZURITE_ACCOUNTS", accounts_variable)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                AzuriteError::Start(match &program {
                    AzuriteProgram::Script(_) => {
                        format!("cannot run node (is Node.js installed?): {e}")
                    }
                    AzuriteProgram::Executable(path) => {
                        format!("cannot run {}: {e}", path.display())
                    }
                })
            })?;
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let tail = Arc::clone(&stderr_tail);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut tail) = tail.lock()
                        && tail.len() < 4096
                    {
                        tail.push_str(&line);
                        tail.push('\n');
                    }
                }
            });
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| AzuriteError::Start("no stdout pipe".to_owned()))?;
        let mut lines = BufReader::new(stdout).lines();
        let wait_for_ports = async {
            let (mut blob, mut queue, mut table) = (None, None, None);
            while blob.is_none() || queue.is_none() || table.is_none() {
                let Ok(Some(line)) = lines.next_line().await else {
                    return None;
                };
                let Some(url) = line
                    .split("successfully listening at ")
                    .nth(1)
                    .and_then(|u| Url::parse(u.trim()).ok())
                else {
                    continue;
                };
                if line.contains("Blob service") {
                    blob = Some(url);
                } else if line.contains("Queue service") {
                    queue = Some(url);
                } else if line.contains("Table service") {
                    table = Some(url);
                }
            }
            Some((blob?, queue?, table?))
        };
        let endpoints = match tokio::time::timeout(options.startup_timeout, wait_for_ports).await {
            Ok(Some((blob, queue, table))) => AzuriteEndpoints { blob, queue, table },
            outcome => {
                let _ = child.start_kill();
                let status = child.wait().await.ok();
                let tail = stderr_tail.lock().map(|t| t.clone()).unwrap_or_default();
                let why = if outcome.is_err() {
                    format!(
                        "its services did not listen within {:?}",
                        options.startup_timeout
                    )
                } else {
                    format!("it exited ({status:?})")
                };
                return Err(AzuriteError::Start(format!(
                    "{why}; stderr: {}",
                    tail.trim()
                )));
            }
        };
        // Keep draining stdout so that Azurite never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Azurite {
            child: Some(child),
            endpoints,
            accounts,
            http: http_client(),
        })
    }

    /// Uses an Azurite that is already running (it is not stopped on drop).
    pub fn attach(endpoints: AzuriteEndpoints, accounts: Vec<StorageAccount>) -> Self {
        Azurite {
            child: None,
            endpoints,
            accounts,
            http: http_client(),
        }
    }

    /// Where the services listen.
    pub fn endpoints(&self) -> &AzuriteEndpoints {
        &self.endpoints
    }

    /// The storage accounts.
    pub fn accounts(&self) -> &[StorageAccount] {
        &self.accounts
    }

    fn account(&self, name: &str) -> Result<&StorageAccount, AzuriteError> {
        self.accounts
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| AzuriteError::UnknownAccount(name.to_owned()))
    }

    fn resource_url(base: &Url, account: &str, resource: &str) -> Url {
        let mut url = base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().push(account).push(resource);
        }
        url
    }

    fn expiry() -> OffsetDateTime {
        OffsetDateTime::now_utc() + SAS_VALIDITY
    }

    /// The URL of a container with a SAS that may read, add, create, write, delete and list.
    pub fn container_sas_url(&self, account: &str, container: &str) -> Result<Url, AzuriteError> {
        let a = self.account(account)?;
        let mut url = Self::resource_url(&self.endpoints.blob, account, container);
        let sas = sas::container_sas(
            account,
            &a.key,
            container,
            Permissions("racwdl"),
            Self::expiry(),
        );
        url.set_query(Some(&sas));
        Ok(url)
    }

    /// The URL of a queue with a SAS that may read, add, update and process messages.
    pub fn queue_sas_url(&self, account: &str, queue: &str) -> Result<Url, AzuriteError> {
        let a = self.account(account)?;
        let mut url = Self::resource_url(&self.endpoints.queue, account, queue);
        let sas = sas::queue_sas(account, &a.key, queue, Permissions("raup"), Self::expiry());
        url.set_query(Some(&sas));
        Ok(url)
    }

    /// The URL of a table with a SAS that may read, add, update and delete entities.
    pub fn table_sas_url(&self, account: &str, table: &str) -> Result<Url, AzuriteError> {
        let a = self.account(account)?;
        let mut url = Self::resource_url(&self.endpoints.table, account, table);
        let sas = sas::table_sas(account, &a.key, table, Permissions("raud"), Self::expiry());
        url.set_query(Some(&sas));
        Ok(url)
    }

    fn with_account_sas(&self, mut url: Url, account: &StorageAccount, extra: &str) -> Url {
        let sas = sas::account_sas(&account.name, &account.key, Self::expiry());
        let query = if extra.is_empty() {
            sas
        } else {
            format!("{extra}&{sas}")
        };
        url.set_query(Some(&query));
        url
    }

    async fn create(
        &self,
        what: String,
        request: reqwest::RequestBuilder,
    ) -> Result<(), AzuriteError> {
        let response = request
            .header("x-ms-version", STORAGE_VERSION)
            .send()
            .await
            .map_err(|e| AzuriteError::Request {
                what: what.clone(),
                message: e.without_url().to_string(),
            })?;
        let status = response.status().as_u16();
        // 201 created; 204 (queue) and 409 (container, table): it already exists.
        if matches!(status, 201 | 204 | 409) {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(AzuriteError::Request {
            what,
            message: format!(
                "HTTP {status}: {}",
                body.chars().take(500).collect::<String>()
            ),
        })
    }

    /// Creates a blob container (no error if it exists).
    pub async fn create_container(
        &self,
        account: &str,
        container: &str,
    ) -> Result<(), AzuriteError> {
        let a = self.account(account)?;
        let url = Self::resource_url(&self.endpoints.blob, account, container);
        let url = self.with_account_sas(url, a, "restype=container");
        self.create(
            format!("create container {account}/{container}"),
            self.http.put(url),
        )
        .await
    }

    /// Creates a queue (no error if it exists).
    pub async fn create_queue(&self, account: &str, queue: &str) -> Result<(), AzuriteError> {
        let a = self.account(account)?;
        let url = Self::resource_url(&self.endpoints.queue, account, queue);
        let url = self.with_account_sas(url, a, "");
        self.create(
            format!("create queue {account}/{queue}"),
            self.http.put(url),
        )
        .await
    }

    /// Creates a table (no error if it exists).
    pub async fn create_table(&self, account: &str, table: &str) -> Result<(), AzuriteError> {
        let a = self.account(account)?;
        let url = Self::resource_url(&self.endpoints.table, account, "Tables");
        let url = self.with_account_sas(url, a, "");
        let body = serde_json::json!({ "TableName": table }).to_string();
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json;odata=nometadata")
            .body(body);
        self.create(format!("create table {account}/{table}"), request)
            .await
    }

    /// Stops Azurite (when this value started it) and waits for the process to end.
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

fn http_client() -> reqwest::Client {
    crate::http_client_builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory.
    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kusto-emulator-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn executable(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    #[test]
    fn azurite_is_found_in_the_documented_order() {
        let dir = temp_dir();
        let explicit = dir.join("explicit.js");
        let from_env = dir.join("env.js");
        let repository = dir.join("repository.js");
        for file in [&explicit, &from_env, &repository] {
            std::fs::write(file, "").unwrap();
        }
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let name = if cfg!(windows) {
            "azurite.cmd"
        } else {
            "azurite"
        };
        let on_path = executable(&bin, name);
        let path_variable =
            std::env::join_paths([dir.join("empty"), bin.clone(), dir.clone()]).unwrap();
        let all = |explicit: Option<&Path>, env: Option<&Path>, path: bool, repo: bool| {
            locate_in(
                explicit,
                env.map(|p| p.as_os_str().to_owned()),
                path.then(|| path_variable.clone()),
                repo.then(|| repository.clone()),
            )
        };
        assert_eq!(
            all(Some(&explicit), Some(&from_env), true, true).unwrap(),
            AzuriteProgram::Script(explicit.clone())
        );
        assert_eq!(
            all(None, Some(&from_env), true, true).unwrap(),
            AzuriteProgram::Script(from_env.clone())
        );
        assert_eq!(
            all(None, None, true, true).unwrap(),
            AzuriteProgram::Executable(on_path)
        );
        assert_eq!(
            all(None, None, false, true).unwrap(),
            AzuriteProgram::Script(repository.clone())
        );
        // An empty variable counts as unset.
        assert_eq!(
            locate_in(None, Some(OsString::new()), None, Some(repository.clone())).unwrap(),
            AzuriteProgram::Script(repository.clone())
        );
        // A repository script that does not exist (an installed crate) is skipped.
        let none = all(None, None, false, false).unwrap_err();
        let missing_repository =
            locate_in(None, None, None, Some(dir.join("missing.js"))).unwrap_err();
        for error in [none, missing_repository] {
            let text = error.to_string();
            assert!(
                text.contains("npm install -g azurite@3.35.0")
                    && text.contains("cargo xtask install-azurite"),
                "{text}"
            );
        }
        // A named script that does not exist is an error, not a reason to look further.
        let text = all(Some(&dir.join("nope.js")), None, true, true)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("nope.js") && text.contains("npm install -g"),
            "{text}"
        );
        let text = all(None, Some(&dir.join("gone.js")), true, true)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("KUSTO_AZURITE_JS names") && text.contains("gone.js"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_file_on_path_that_is_not_executable_is_not_azurite() {
        let dir = temp_dir();
        std::fs::write(dir.join("azurite"), "").unwrap();
        std::fs::create_dir_all(dir.join("sub/azurite")).unwrap();
        let path = std::env::join_paths([dir.clone(), dir.join("sub")]).unwrap();
        assert_eq!(find_on_path(&path), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_pinned_version_is_the_one_of_tools_azurite() {
        let package =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/azurite/package.json");
        // Only in a clone of the repository.
        if let Ok(text) = std::fs::read_to_string(package) {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(json["dependencies"]["azurite"], PINNED_VERSION);
        }
    }
}
