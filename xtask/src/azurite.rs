//! Installing the pinned Azurite (`npm ci` in tools/azurite).

use std::path::{Path, PathBuf};
use std::process::Command;

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
