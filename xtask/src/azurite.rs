//! Installing and (for the early demo) starting the pinned Azurite.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::Result;

/// Environment variable through which the tests are told where Azurite's entry script is.
pub(crate) const ENV_VAR: &str = "KUSTO_AZURITE_JS";

/// Installs Azurite with `npm ci` when it is missing, and returns the path of its entry script.
pub(crate) fn ensure_installed(root: &Path) -> Result<PathBuf> {
    let dir = root.join("tools").join("azurite");
    let script = dir
        .join("node_modules")
        .join("azurite")
        .join("dist")
        .join("src")
        .join("azurite.js");
    if script.is_file() {
        return Ok(script);
    }
    eprintln!("\n==> installing Azurite (npm ci in {})", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .map_err(|e| {
            format!("cannot run npm ({e}); Node.js and npm are required to install Azurite")
        })?;
    if !status.success() {
        return Err(format!("`npm ci` in {} failed ({status})", dir.display()));
    }
    if !script.is_file() {
        return Err(format!(
            "`npm ci` succeeded but {} does not exist",
            script.display()
        ));
    }
    Ok(script)
}

/// A running Azurite process, killed on drop.
pub(crate) struct Azurite {
    child: Child,
    pub(crate) blob_port: u16,
    pub(crate) queue_port: u16,
    pub(crate) table_port: u16,
}

impl Azurite {
    /// Starts Azurite on free loopback ports and waits until all three services accept
    /// connections.
    pub(crate) fn start(script: &Path) -> Result<Self> {
        let (blob_port, queue_port, table_port) = (free_port()?, free_port()?, free_port()?);
        let child = Command::new("node")
            .arg(script)
            .args(["--silent", "--disableTelemetry", "--skipApiVersionCheck"])
            .args(["--inMemoryPersistence", "--loose"])
            .args(["--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1"])
            .args(["--tableHost", "127.0.0.1"])
            .args(["--blobPort", &blob_port.to_string()])
            .args(["--queuePort", &queue_port.to_string()])
            .args(["--tablePort", &table_port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start node for Azurite: {e}"))?;
        let mut azurite = Azurite {
            child,
            blob_port,
            queue_port,
            table_port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in [blob_port, queue_port, table_port] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Ok(Some(status)) = azurite.child.try_wait() {
                    return Err(format!("Azurite exited during start-up ({status})"));
                }
                if Instant::now() > deadline {
                    return Err(format!("Azurite did not listen on port {port} within 30 s"));
                }
                sleep(Duration::from_millis(50));
            }
        }
        Ok(azurite)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("cannot bind a port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot read a port: {e}"))
}
