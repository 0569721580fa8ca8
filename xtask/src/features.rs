//! The feature set of the test build: every feature of every workspace member except the
//! aws-lc TLS provider (`rustls`), with `rustls-ring` for TLS.
//!
//! Why not `--all-features`: with every feature on, both crypto providers are compiled and
//! aws-lc-rs is the one used (kusto-data's documented rule), so the `rustls-ring` configuration
//! needed a second build of the TLS stack, kusto-data and kusto-ingest to be tested at all
//! (99 s of a clean `cargo xtask test`). Testing under `rustls-ring` runs every test once, with
//! the ring code paths, and builds no aws-lc. The default (`rustls`, aws-lc) configuration is
//! still compiled and linted by the all-features clippy step and the documentation build, and
//! `cargo xtask demo` builds and runs it; its only own code is reqwest's default TLS setup.
//!
//! The steps that reuse the test build (`bench --quick`, conformance) ask for the same set, so
//! that they are no-ops after the test step. The set is read from the manifests, so a feature
//! added to a crate is tested without anyone editing this file.

use std::fs;
use std::path::Path;

use crate::Result;

/// Features never turned on in the test build.
const EXCLUDED: &[&str] = &["default", "rustls"];

/// The cargo arguments selecting the test build's features:
/// `--no-default-features --features member/feature,...`.
pub(crate) fn test_build_args(root: &Path) -> Result<Vec<String>> {
    let mut selected = Vec::new();
    for member in members(root)? {
        let manifest_path = root.join(&member).join("Cargo.toml");
        let manifest = fs::read_to_string(&manifest_path)
            .map_err(|e| format!("cannot read {}: {e}", manifest_path.display()))?;
        let name = package_name(&manifest)
            .ok_or_else(|| format!("{}: no package name", manifest_path.display()))?;
        for feature in features(&manifest) {
            if !EXCLUDED.contains(&feature.as_str()) {
                selected.push(format!("{name}/{feature}"));
            }
        }
    }
    if selected.is_empty() {
        return Err("no features found in the workspace members' manifests".to_owned());
    }
    Ok(vec![
        "--no-default-features".to_owned(),
        "--features".to_owned(),
        selected.join(","),
    ])
}

/// The member directories listed in the root manifest's `members = [...]`.
fn members(root: &Path) -> Result<Vec<String>> {
    let path = root.join("Cargo.toml");
    let manifest =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let start = manifest
        .find("members = [")
        .ok_or("the root Cargo.toml has no `members = [` list")?;
    let rest = &manifest[start + "members = [".len()..];
    let end = rest
        .find(']')
        .ok_or("the root Cargo.toml's members list is not closed")?;
    let members: Vec<String> = rest[..end]
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_owned())
        .filter(|item| !item.is_empty())
        .collect();
    if members.is_empty() {
        return Err("the root Cargo.toml lists no members".to_owned());
    }
    Ok(members)
}

/// The `name = "..."` of the `[package]` section.
fn package_name(manifest: &str) -> Option<String> {
    section(manifest, "[package]")
        .into_iter()
        .find_map(|line| line.strip_prefix("name = "))
        .map(|value| value.trim().trim_matches('"').to_owned())
}

/// The keys of the `[features]` section (one `name = [...]` per line, as the workspace writes
/// them; a feature spread over several lines starts its first line with its name all the same).
fn features(manifest: &str) -> Vec<String> {
    section(manifest, "[features]")
        .into_iter()
        .filter(|line| !line.starts_with('#') && !line.starts_with('"'))
        .filter_map(|line| line.split_once('=').map(|(key, _)| key.trim().to_owned()))
        .filter(|key| !key.is_empty())
        .collect()
}

/// The trimmed lines of a section, up to the next section header.
fn section<'a>(manifest: &'a str, header: &str) -> Vec<&'a str> {
    manifest
        .lines()
        .map(str::trim)
        .skip_while(|line| *line != header)
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .filter(|line| !line.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_and_name_are_read_from_a_manifest() {
        let manifest = "[package]\nname = \"kusto-x\"\nversion = \"1\"\n\n[features]\n\
                        default = [\"a\", \"rustls\"]\n## doc\na = [\"dep:a\"]\nrustls = []\n\
                        rustls-ring = [\n    \"x/y\",\n]\n\n[dependencies]\nb = \"1\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("kusto-x"));
        assert_eq!(
            features(manifest),
            ["default", "a", "rustls", "rustls-ring"]
        );
    }

    #[test]
    fn the_workspace_set_has_ring_and_no_aws_lc_feature() {
        let args = test_build_args(&crate::root()).unwrap();
        assert_eq!(args[0], "--no-default-features");
        let set: Vec<&str> = args[2].split(',').collect();
        assert!(set.contains(&"kusto-data/rustls-ring"));
        assert!(set.contains(&"kusto-data/interactive"));
        assert!(set.contains(&"kusto-ingest-polars/parquet"));
        assert!(!set.iter().any(|f| f.ends_with("/rustls")));
    }
}
