//! Encodings: `base64_*` (strings, guids, byte arrays), `url_encode`,
//! `url_encode_component`, `url_decode`, `unicode_codepoints_from_string`/`to_utf8`,
//! `unicode_codepoints_to_string`/`make_string`, `punycode_from_string`/`punycode_to_string`,
//! `zlib_*`/`gzip_*` compression to and from base64.
//!
//! Decoding failures (bad base64, bytes that are not UTF-8, values that are not bytes or code
//! points) give null, which a string result shows as the empty string, as documented.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value as Json;

use super::params;
use super::text_common::{array, string};
use super::{DYNAMIC, GUID, INTEGER, Registry, Ret, STRING, Types, p, text};
use crate::value::{KustoType, Value};

/// The bytes of a base64 text (`None` when it is not canonical base64 with padding).
fn base64_bytes(v: &Value) -> Option<Vec<u8>> {
    STANDARD.decode(text(v).trim()).ok()
}

/// A dynamic array of bytes as bytes (`None` if an element is not an integer from 0 to 255).
fn byte_array(v: &Value) -> Option<Vec<u8>> {
    array(v)?
        .iter()
        .map(|j| j.as_u64().and_then(|n| u8::try_from(n).ok()))
        .collect()
}

/// Percent-encoding as .NET's `HttpUtility.UrlEncode`: letters, digits and `-_.!*()` stay,
/// every other UTF-8 byte is `%xx` in lowercase hex, and a space is `+` (or `%20` for
/// `url_encode_component`).
fn url_encode(s: &str, space: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => out.push(char::from(b)),
            b' ' => out.push_str(space),
            other => out.push_str(&format!("%{other:02x}")),
        }
    }
    out
}

/// `url_decode`: `%xx` sequences are bytes, `+` is a space; a `%` not followed by two hex
/// digits stays as it is; bytes that are not UTF-8 become U+FFFD.
fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The string of Unicode code points given as integers or arrays of integers (`None` when one
/// is not a valid code point).
fn from_code_points(args: &[Value]) -> Option<String> {
    let mut out = String::new();
    let mut push = |n: Option<i64>| -> Option<()> {
        let c = n
            .and_then(|n| u32::try_from(n).ok())
            .and_then(char::from_u32)?;
        out.push(c);
        Some(())
    };
    for a in args {
        match a {
            Value::Dynamic(Json::Array(items)) => {
                for j in items {
                    push(j.as_i64())?;
                }
            }
            Value::Dynamic(Json::Number(n)) => push(n.as_i64())?,
            Value::Int(n) => push(Some(i64::from(*n)))?,
            Value::Long(n) => push(Some(*n))?,
            _ => return None,
        }
    }
    Some(out)
}

fn compress(kind: &str, s: &str) -> Option<String> {
    let data = s.as_bytes();
    let bytes = if kind == "gzip" {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).ok()?;
        e.finish().ok()?
    } else {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).ok()?;
        e.finish().ok()?
    };
    Some(STANDARD.encode(bytes))
}

/// Decompressed text, at most 64 MiB (a larger or broken input gives `None`).
fn decompress(kind: &str, v: &Value) -> Option<String> {
    const LIMIT: u64 = 64 << 20;
    let bytes = base64_bytes(v)?;
    let mut out = Vec::new();
    let read = if kind == "gzip" {
        flate2::read::GzDecoder::new(bytes.as_slice())
            .take(LIMIT + 1)
            .read_to_end(&mut out)
    } else {
        flate2::read::ZlibDecoder::new(bytes.as_slice())
            .take(LIMIT + 1)
            .read_to_end(&mut out)
    };
    if read.is_err() || out.len() as u64 > LIMIT {
        return None;
    }
    String::from_utf8(out).ok()
}

pub(super) fn register(r: &mut Registry) {
    const TEXT: Types = STRING;
    for name in ["base64_encode_tostring", "base64_encodestring"] {
        r.add(
            name,
            params![p("string", TEXT)],
            Ret::Fixed(KustoType::String),
            |a, _| string(STANDARD.encode(text(&a[0]).as_bytes())),
        );
    }
    for name in ["base64_decode_tostring", "base64_decodestring"] {
        r.add(
            name,
            params![p("base64_string", TEXT)],
            Ret::Fixed(KustoType::String),
            |a, _| {
                base64_bytes(&a[0])
                    .and_then(|b| String::from_utf8(b).ok())
                    .map_or(Value::Null, string)
            },
        );
    }
    r.add(
        "base64_decode_toarray",
        params![p("base64_string", TEXT)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            base64_bytes(&a[0]).map_or(Value::Null, |b| {
                Value::Dynamic(Json::Array(b.into_iter().map(Json::from).collect()))
            })
        },
    );
    r.add(
        "base64_decode_toguid",
        params![p("base64_string", TEXT)],
        Ret::Fixed(KustoType::Guid),
        |a, _| {
            base64_bytes(&a[0])
                .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
                .map_or(Value::Null, |b| Value::Guid(uuid::Uuid::from_bytes_le(b)))
        },
    );
    r.add(
        "base64_encode_fromguid",
        params![p("guid", GUID)],
        Ret::Custom(|t| match t.first() {
            Some(KustoType::Guid) => Ok(KustoType::String),
            _ => Err("the argument must be a guid".into()),
        }),
        |a, _| match &a[0] {
            Value::Guid(g) => string(STANDARD.encode(g.to_bytes_le())),
            _ => Value::Null,
        },
    );
    r.add(
        "base64_encode_fromarray",
        params![p("base64_string_decoded_as_array", DYNAMIC)],
        Ret::Fixed(KustoType::String),
        |a, _| byte_array(&a[0]).map_or(Value::Null, |b| string(STANDARD.encode(b))),
    );
    r.add(
        "url_encode",
        params![p("url", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| string(url_encode(&text(&a[0]), "+")),
    );
    r.add(
        "url_encode_component",
        params![p("url", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| string(url_encode(&text(&a[0]), "%20")),
    );
    r.add(
        "url_decode",
        params![p("encoded_url", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| string(url_decode(&text(&a[0]))),
    );
    for name in ["unicode_codepoints_from_string", "to_utf8"] {
        r.add(
            name,
            params![p("value", TEXT)],
            Ret::Fixed(KustoType::Dynamic),
            |a, _| {
                Value::Dynamic(Json::Array(
                    text(&a[0])
                        .chars()
                        .map(|c| Json::from(u32::from(c)))
                        .collect(),
                ))
            },
        );
    }
    for name in ["unicode_codepoints_to_string", "make_string"] {
        r.add(
            name,
            params![p("value", INTEGER.or(DYNAMIC))],
            Ret::Fixed(KustoType::String),
            |a, _| from_code_points(a).map_or(Value::Null, string),
        )
        .variadic();
    }
    r.add(
        "punycode_from_string",
        params![p("input_string", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| idna::punycode::encode_str(&text(&a[0])).map_or(Value::Null, string),
    );
    r.add(
        "punycode_to_string",
        params![p("input_string", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let s = text(&a[0]);
            if !s.is_ascii() {
                return Value::Null;
            }
            idna::punycode::decode_to_string(&s).map_or(Value::Null, string)
        },
    );
    r.add(
        "zlib_compress_to_base64_string",
        params![p("string", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| compress("zlib", &text(&a[0])).map_or(Value::Null, string),
    );
    r.add(
        "gzip_compress_to_base64_string",
        params![p("string", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| compress("gzip", &text(&a[0])).map_or(Value::Null, string),
    );
    r.add(
        "zlib_decompress_from_base64_string",
        params![p("string", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| decompress("zlib", &a[0]).map_or(Value::Null, string),
    );
    r.add(
        "gzip_decompress_from_base64_string",
        params![p("string", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| decompress("gzip", &a[0]).map_or(Value::Null, string),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_as_dotnet() {
        assert_eq!(
            url_encode("https://www.bing.com/hello world", "+"),
            "https%3a%2f%2fwww.bing.com%2fhello+world"
        );
        assert_eq!(url_encode("a b/é", "%20"), "a%20b%2f%c3%a9");
        assert_eq!(
            url_decode("https%3a%2f%2fwww.bing.com%2f"),
            "https://www.bing.com/"
        );
        assert_eq!(url_decode("a+b%C3%A9%zz%"), "a bé%zz%");
    }

    #[test]
    fn code_points() {
        let args = [
            Value::Dynamic(serde_json::json!([75, 117])),
            Value::Long(115),
        ];
        assert_eq!(from_code_points(&args).as_deref(), Some("Kus"));
        assert_eq!(from_code_points(&[Value::Long(0xD800)]), None);
        assert_eq!(from_code_points(&[Value::Long(-1)]), None);
    }

    #[test]
    fn compression_round_trips() {
        for kind in ["zlib", "gzip"] {
            let packed = compress(kind, "hello hello hello").unwrap();
            assert_eq!(
                decompress(kind, &Value::String(packed)).as_deref(),
                Some("hello hello hello")
            );
        }
        assert_eq!(
            decompress("zlib", &Value::String("not base64".into())),
            None
        );
    }
}
