//! URLs and paths: `parse_url`/`parseurl`, `parse_urlquery`/`parseurlquery`, `parse_path`.
//! The parts are taken from the text as written (no normalization); query parameters are
//! percent-decoded.

use serde_json::{Map, Value as Json};

use super::params;
use super::{Registry, Ret, STRING, p, text};
use crate::value::{KustoType, Value};

fn percent_decode(s: &str) -> String {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

/// The parameters of a query string (`k1=v1&k2=v2`, a leading `?` ignored), decoded; a
/// repeated name keeps its values joined by commas.
fn query_parameters(query: &str) -> Map<String, Json> {
    let mut map = Map::new();
    let query = query.strip_prefix('?').unwrap_or(query);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match map.get_mut(&k) {
            Some(Json::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                map.insert(k, Json::String(v));
            }
        }
    }
    map
}

/// The parts of an absolute URL: `scheme://[user[:password]@]host[:port][/path][?query][#fragment]`
/// (every part empty when the text has no `scheme://`).
fn parse_url(url: &str) -> Json {
    let mut parts = [""; 7]; // scheme, host, port, path, user, password, fragment
    let mut query = "";
    if let Some((scheme, rest)) = url.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        parts[0] = scheme;
        let (before_fragment, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        parts[6] = fragment;
        let (before_query, q) = before_fragment
            .split_once('?')
            .unwrap_or((before_fragment, ""));
        query = q;
        let (authority, path) = match before_query.find('/') {
            Some(i) => before_query.split_at(i),
            None => (before_query, ""),
        };
        parts[3] = path;
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (&authority[..i], &authority[i + 1..]),
            None => ("", authority),
        };
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        parts[4] = user;
        parts[5] = password;
        // `[v6]:port` or `host:port`.
        let port_at = if hostport.starts_with('[') {
            hostport.find("]:").map(|i| i + 1)
        } else {
            hostport.rfind(':')
        };
        match port_at {
            Some(i) => {
                parts[1] = &hostport[..i];
                parts[2] = &hostport[i + 1..];
            }
            None => parts[1] = hostport,
        }
    }
    let mut map = Map::new();
    for (key, value) in [
        ("Scheme", parts[0]),
        ("Host", parts[1]),
        ("Port", parts[2]),
        ("Path", parts[3]),
        ("Username", parts[4]),
        ("Password", parts[5]),
    ] {
        map.insert(key.into(), Json::String(value.into()));
    }
    map.insert(
        "Query Parameters".into(),
        Json::Object(query_parameters(query)),
    );
    map.insert("Fragment".into(), Json::String(parts[6].into()));
    Json::Object(map)
}

/// The parts of a file path: scheme (`file://`), root (`C:`), directory path and name, file name,
/// extension and alternate data stream (`file.exe:stream`); both slashes separate.
fn parse_path(path: &str) -> Json {
    let (scheme, rest) = match path.split_once("://") {
        Some((s, r)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()) => (s, r),
        _ => ("", path),
    };
    // A long path (`\\?\C:\...`) has its root after the prefix.
    let unprefixed = rest.strip_prefix(r"\\?\").unwrap_or(rest);
    let bytes = unprefixed.as_bytes();
    let root = if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        &unprefixed[..2]
    } else {
        ""
    };
    let is_sep = |c: char| c == '/' || c == '\\';
    let (directory, file) = match rest.rfind(is_sep) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => ("", rest),
    };
    // `C:file.txt`: the drive is not part of the name.
    let file = if directory.is_empty() && !root.is_empty() {
        file.strip_prefix(root).unwrap_or(file)
    } else {
        file
    };
    let (file, stream) = file.split_once(':').unwrap_or((file, ""));
    let extension = file.rsplit_once('.').map_or("", |(_, e)| e);
    let directory_name = directory
        .rsplit(is_sep)
        .next()
        .filter(|d| *d != root || root.is_empty())
        .unwrap_or("");
    let mut map = Map::new();
    for (key, value) in [
        ("Scheme", scheme),
        ("RootPath", root),
        ("DirectoryPath", directory),
        ("DirectoryName", directory_name),
        ("Filename", file),
        ("Extension", extension),
        ("AlternateDataStreamName", stream),
    ] {
        map.insert(key.into(), Json::String(value.into()));
    }
    Json::Object(map)
}

pub(super) fn register(r: &mut Registry) {
    for name in ["parse_url", "parseurl"] {
        r.add(
            name,
            params![p("url", STRING)],
            Ret::Fixed(KustoType::Dynamic),
            |a, _| Value::Dynamic(parse_url(&text(&a[0]))),
        );
    }
    for name in ["parse_urlquery", "parseurlquery"] {
        r.add(
            name,
            params![p("query", STRING)],
            Ret::Fixed(KustoType::Dynamic),
            |a, _| {
                let mut map = Map::new();
                map.insert(
                    "Query Parameters".into(),
                    Json::Object(query_parameters(&text(&a[0]))),
                );
                Value::Dynamic(Json::Object(map))
            },
        );
    }
    r.add(
        "parse_path",
        params![p("path", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| Value::Dynamic(parse_path(&text(&a[0]))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://[::1]:8080/a?x=%41+b#f"),
            json!({"Scheme":"http","Host":"[::1]","Port":"8080","Path":"/a","Username":"",
                   "Password":"","Query Parameters":{"x":"A b"},"Fragment":"f"})
        );
        assert_eq!(parse_url("bing.com")["Host"], json!(""));
        assert_eq!(
            Json::Object(query_parameters("?a=1&a=2&b")),
            json!({"a":"1,2","b":""})
        );
    }

    #[test]
    fn long_paths() {
        let p = parse_path(r"\\?\C:\dir\f.txt");
        assert_eq!(p["RootPath"], json!("C:"));
        assert_eq!(p["Filename"], json!("f.txt"));
        assert_eq!(parse_path("file")["Filename"], json!("file"));
        assert_eq!(parse_path("file")["DirectoryPath"], json!(""));
    }
}
