//! The lists of supported functions and aggregates in the crate's README are generated from the
//! registries, and the list of documented scalar functions the emulator lacks from
//! `functions/documented.txt` minus the registry: this test fails when they drift, and rewrites
//! them when `KUSTO_EMULATOR_WRITE_README=1` is set.

use std::collections::HashSet;

use super::aggregates::aggregates;
use super::binder::calls::SPECIAL_FORMS;
use super::functions::{documented, registry};

/// Registered names that `functions/documented.txt` does not list. They were registered from
/// their documentation pages by earlier work (aliases and newer functions that the 2023
/// "Scalar function types at a glance" page, section 1 of the file, does not list), but the
/// reference search could not re-find their pages when the file was written, so they are not
/// claimed as documented there. Moving a name to `documented.txt` once its page is checked
/// removes it from here; the test fails on a name listed in both.
const NOT_YET_CHECKED: &[&str] = &[
    "array_iif",
    "array_strcat",
    "bag_zip",
    "base64_decodestring",
    "base64_encode_fromarray",
    "base64_encodestring",
    "extractall",
    "extractjson",
    "format_bytes",
    "gzip_compress_to_base64_string",
    "gzip_decompress_from_base64_string",
    "iif",
    "indexof_regex",
    "isascii",
    "isutf8",
    "make_string",
    "new_guid",
    "parse_path",
    "parse_xml",
    "parsejson",
    "parseurlquery",
    "regex_quote",
    "strcat_array",
    "string_size",
    "to_utf8",
    "toboolean",
    "todecimal",
    "todynamic",
    "toguid",
    "tohex",
    "toobject",
    "toreal",
    "totime",
    "unicode_codepoints_from_string",
    "unicode_codepoints_to_string",
    "url_encode_component",
    "week_of_year",
    "zlib_compress_to_base64_string",
    "zlib_decompress_from_base64_string",
];

/// Documented scalar functions that are neither registered nor bound by the binder itself,
/// sorted.
fn unsupported() -> Vec<&'static str> {
    let reg = registry();
    let mut names: Vec<&str> = documented()
        .filter(|n| reg.get(n).is_none() && !SPECIAL_FORMS.contains(n))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[test]
fn documented_list_is_well_formed_and_covers_the_registry() {
    let mut seen = HashSet::new();
    for name in documented() {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "documented.txt: '{name}' is not a function name"
        );
        assert!(seen.insert(name), "documented.txt lists '{name}' twice");
    }
    let allowed: HashSet<&str> = NOT_YET_CHECKED.iter().copied().collect();
    for name in registry().names() {
        assert!(
            seen.contains(name) != allowed.contains(name),
            "'{name}' must be in exactly one of functions/documented.txt and readme.rs's \
             NOT_YET_CHECKED (documented: {}, allow-listed: {})",
            seen.contains(name),
            allowed.contains(name)
        );
    }
    for name in NOT_YET_CHECKED {
        assert!(
            registry().get(name).is_some(),
            "NOT_YET_CHECKED names '{name}', which is not registered"
        );
    }
}

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
    let missing = wrapped(&unsupported());
    let expected = replace_block(&text, "functions", &functions)
        .and_then(|t| replace_block(&t, "aggregates", &aggs))
        .and_then(|t| replace_block(&t, "unsupported", &missing))
        .expect("README.md has the generated blocks");
    if expected != text {
        if std::env::var_os("KUSTO_EMULATOR_WRITE_README").is_some() {
            std::fs::write(&path, &expected).expect("README written");
            return;
        }
        panic!(
            "README.md's lists of functions, aggregates or unsupported functions are out of date: run \
             KUSTO_EMULATOR_WRITE_README=1 cargo test -p kusto-emulator --lib readme"
        );
    }
}
