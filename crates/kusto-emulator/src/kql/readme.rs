//! The lists of supported functions and aggregates in the crate's README are generated from the
//! registries: this test fails when they drift, and rewrites them when
//! `KUSTO_EMULATOR_WRITE_README=1` is set.

use super::aggregates::aggregates;
use super::functions::registry;

/// Names as a comma-separated list of `code` spans wrapped at 100 columns.
fn wrapped(names: &[&str]) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for (i, name) in names.iter().enumerate() {
        let item = if i + 1 < names.len() {
            format!("`{name}`,")
        } else {
            format!("`{name}`")
        };
        if !line.is_empty() && line.len() + 1 + item.len() > 100 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Replaces the text between `<!-- generated: key -->` and `<!-- end: key -->`.
fn replace_block(text: &str, key: &str, body: &str) -> Option<String> {
    let start = format!("<!-- generated: {key} -->\n");
    let end = format!("<!-- end: {key} -->");
    let a = text.find(&start)? + start.len();
    let b = a + text[a..].find(&end)?;
    Some(format!("{}{}{}", &text[..a], body, &text[b..]))
}

#[test]
fn readme_lists_every_registered_function_and_aggregate() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).expect("the crate's README");
    let functions = wrapped(&registry().names());
    let aggs = wrapped(&aggregates().names());
    let expected = replace_block(&text, "functions", &functions)
        .and_then(|t| replace_block(&t, "aggregates", &aggs))
        .expect("README.md has the generated blocks");
    if expected != text {
        if std::env::var_os("KUSTO_EMULATOR_WRITE_README").is_some() {
            std::fs::write(&path, &expected).expect("README written");
            return;
        }
        panic!(
            "README.md's lists of functions or aggregates are out of date: run \
             KUSTO_EMULATOR_WRITE_README=1 cargo test -p kusto-emulator --lib readme"
        );
    }
}
