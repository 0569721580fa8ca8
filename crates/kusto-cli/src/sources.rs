//! The sources of `kusto ingest`: files, directories, glob patterns and standard input (blob
//! containers are listed by [`crate::blobs`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// Where a source's data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A local file.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A blob (its URL with the container's SAS), passed to the service by reference.
    Blob(crate::blobs::SasUrl),
}

/// One source to ingest.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// The name of the source in the report and the progress (the path as found, `-` for
    /// stdin, a blob's URL without its SAS). `--resume` matches sources by it.
    pub(crate) key: String,
    /// Where its data is.
    pub(crate) origin: Origin,
    /// Its size in bytes, when known.
    pub(crate) size: Option<u64>,
}

/// Expands the command line's local sources, in order, each once (URLs, the blob containers,
/// are left to [`crate::blobs`]). A path that does not exist, a pattern that matches no file or
/// a directory without files is a usage error.
pub(crate) fn expand(arguments: &[String]) -> Result<Vec<Source>, CliError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stdin = false;
    for argument in arguments {
        if crate::blobs::is_url(argument) {
            continue;
        }
        if argument == "-" {
            if stdin {
                return Err(CliError::Usage(
                    "standard input (-) is given twice".to_owned(),
                ));
            }
            stdin = true;
            out.push(Source {
                key: "-".to_owned(),
                origin: Origin::Stdin,
                size: None,
            });
            continue;
        }
        let path = Path::new(argument);
        let mut files = Vec::new();
        if path.is_file() {
            files.push(path.to_path_buf());
        } else if path.is_dir() {
            walk(path, &mut files)?;
            if files.is_empty() {
                return Err(CliError::Usage(format!(
                    "the directory {argument} has no files"
                )));
            }
        } else if argument.contains(['*', '?', '[']) {
            let matches = glob::glob(argument).map_err(|e| {
                CliError::Usage(format!("'{argument}' is not a valid glob pattern: {e}"))
            })?;
            for entry in matches {
                let entry = entry.map_err(|e| {
                    CliError::Other(format!("reading {}: {}", e.path().display(), e.error()))
                })?;
                if entry.is_dir() {
                    walk(&entry, &mut files)?;
                } else if entry.is_file() {
                    files.push(entry);
                }
            }
            if files.is_empty() {
                return Err(CliError::Usage(format!(
                    "the pattern '{argument}' matches no file"
                )));
            }
        } else {
            return Err(CliError::Usage(format!(
                "{argument}: no such file or directory"
            )));
        }
        files.sort();
        for file in files {
            let key = file.to_string_lossy().into_owned();
            if !seen.insert(key.clone()) {
                continue;
            }
            let size = std::fs::metadata(&file).ok().map(|m| m.len());
            out.push(Source {
                key,
                origin: Origin::File(file),
                size,
            });
        }
    }
    Ok(out)
}

/// Every file below `dir`, recursively (symbolic links to directories are not followed).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::Other(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| CliError::Other(format!("cannot list {}: {e}", dir.display())))?;
        let kind = entry
            .file_type()
            .map_err(|e| CliError::Other(format!("{}: {e}", entry.path().display())))?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_directories_patterns_and_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/1.csv"), "1").unwrap();
        std::fs::write(root.join("a/b/2.csv"), "22").unwrap();
        std::fs::write(root.join("a/b/3.json"), "{}").unwrap();
        let arg = |p: &str| root.join(p).to_string_lossy().into_owned();
        let sources = expand(&[
            arg("a"),
            arg("a/**/*.csv"), // all already listed: kept once
            "-".to_owned(),
        ])
        .unwrap();
        let keys: Vec<_> = sources.iter().map(|s| s.key.clone()).collect();
        assert_eq!(
            keys,
            vec![
                arg("a/1.csv"),
                arg("a/b/2.csv"),
                arg("a/b/3.json"),
                "-".to_owned()
            ]
        );
        assert_eq!(sources[1].size, Some(2));
        assert_eq!(sources[3].origin, Origin::Stdin);

        let only_csv = expand(&[arg("a/**/*.csv")]).unwrap();
        assert_eq!(only_csv.len(), 2);

        for bad in [arg("nothing/*.csv"), arg("missing.csv")] {
            assert!(matches!(expand(&[bad]), Err(CliError::Usage(_))));
        }
        assert!(matches!(
            expand(&["-".to_owned(), "-".to_owned()]),
            Err(CliError::Usage(_))
        ));
    }
}
