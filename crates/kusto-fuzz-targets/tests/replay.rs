//! Replays every committed fuzz input under stable Rust: the minimized corpus of each target
//! (`fuzz/corpus/<target>/`) and every input that once crashed it (`fuzz/regressions/<target>/`).

use std::path::{Path, PathBuf};

use kusto_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of a directory, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(kind: &str, target: &str) -> usize {
    let (_, body) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no target {target}"));
    let files = inputs(&fuzz_dir().join(kind).join(target));
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", file.display());
    }
    files.len()
}

macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        mod corpus {
            $(
                #[test]
                fn $target() {
                    let n = super::replay("corpus", stringify!($target));
                    assert!(n > 0, "fuzz/corpus/{} is empty", stringify!($target));
                }
            )*
        }
        mod regressions {
            $(
                #[test]
                fn $target() {
                    super::replay("regressions", stringify!($target));
                }
            )*
        }
    };
}

replay_tests!(
    connection_string,
    v2_response_streamed,
    v1_response,
    kusto_values,
    ingestion_mapping_json,
    emulator_request,
    emulator_commands,
    emulator_ingest,
    emulator_kql,
    scalar_parsers,
);

#[test]
fn every_target_has_replay_tests() {
    assert_eq!(TARGETS.len(), 10, "add the new target to replay_tests!");
}
