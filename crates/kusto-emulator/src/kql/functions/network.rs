//! IPv4 and IPv6 functions: `parse_ipv4`, `parse_ipv4_mask`, `format_ipv4`,
//! `format_ipv4_mask`, `ipv4_compare`, `ipv4_is_match`, `ipv4_is_in_range`,
//! `ipv4_is_in_any_range`, `ipv4_is_private`, `ipv4_netmask_suffix`, `ipv4_range_to_cidr_list`,
//! `parse_ipv6`, `parse_ipv6_mask`, `ipv6_compare`, `ipv6_is_match`, `ipv6_is_in_range`,
//! `ipv6_is_in_any_range`, and the text searches `has_ipv4`, `has_ipv4_prefix`, `has_any_ipv4`,
//! `has_any_ipv4_prefix`.
//!
//! Addresses may carry a prefix (`192.168.1.1/24`): comparisons use the smallest of the prefixes
//! involved. IPv4 addresses compare as IPv6 in the IPv6 functions (`::ffff:a.b.c.d`), their
//! prefix then counting from bit 96. A text that is not an address gives null (and the empty
//! string from the functions that return strings).

use std::net::Ipv6Addr;

use serde_json::Value as Json;

use super::params;
use super::text_common::{array, json_text, string};
use super::{ANY, DYNAMIC, INTEGER, Registry, Ret, STRING, Types, int_arg, opt, p, text};
use crate::value::{KustoType, Value};

/// An IPv4 address and its prefix length (32 without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv4 {
    addr: u32,
    prefix: u32,
}

/// Parses dotted IPv4 (`a.b.c.d`, each 0 to 255) without a prefix.
fn dotted(s: &str) -> Option<u32> {
    let mut parts = s.split('.');
    let mut addr = 0u32;
    for _ in 0..4 {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let octet: u32 = part.parse().ok()?;
        if octet > 255 {
            return None;
        }
        addr = addr << 8 | octet;
    }
    parts.next().is_none().then_some(addr)
}

/// Splits `address[/prefix]`, the prefix at most `max`.
fn split_prefix(s: &str, max: u32) -> Option<(&str, Option<u32>)> {
    match s.trim().split_once('/') {
        None => Some((s.trim(), None)),
        Some((a, p)) => {
            let p = p.trim();
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
                return None;
            }
            let n: u32 = p.parse().ok()?;
            (n <= max).then_some((a.trim(), Some(n)))
        }
    }
}

pub(crate) fn parse_v4(s: &str) -> Option<Ipv4> {
    let (a, prefix) = split_prefix(s, 32)?;
    Some(Ipv4 {
        addr: dotted(a)?,
        prefix: prefix.unwrap_or(32),
    })
}

fn mask4(prefix: u32) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix.min(32))
    }
}

fn dotted_text(addr: u32) -> String {
    let b = addr.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// A prefix argument in `0..=max` (`None` when absent; `Err` when out of range).
fn prefix_arg(v: Option<&Value>, max: u32) -> Result<Option<u32>, ()> {
    match v {
        None => Ok(None),
        Some(v) => match int_arg(v) {
            Some(n) if (0..=i64::from(max)).contains(&n) => Ok(Some(n as u32)),
            _ => Err(()),
        },
    }
}

/// The IPv4 address of a string or of a number in big-endian order (0 to 2^32 - 1).
fn v4_of(v: &Value) -> Option<Ipv4> {
    match crate::kql::scalar::undynamic(v) {
        Value::String(s) => parse_v4(&s),
        other => {
            let n = int_arg(&other)?;
            let addr = u32::try_from(n).ok()?;
            Some(Ipv4 { addr, prefix: 32 })
        }
    }
}

/// Both addresses masked with the smallest prefix; `None` when either is not an address or the
/// prefix argument is out of range.
fn masked_pair4(a: &[Value], max_arg: u32) -> Option<(u32, u32)> {
    let x = parse_v4(&text(&a[0]))?;
    let y = parse_v4(&text(&a[1]))?;
    let arg = prefix_arg(a.get(2), max_arg).ok()?;
    let prefix = x.prefix.min(y.prefix).min(arg.unwrap_or(32));
    let m = mask4(prefix);
    Some((x.addr & m, y.addr & m))
}

fn in_range4(ip: &Value, range: &str) -> Option<bool> {
    let ip = parse_v4(&text(ip))?;
    let range = parse_v4(range)?;
    let m = mask4(range.prefix);
    Some(ip.addr & m == range.addr & m)
}

/// The smallest list of CIDR blocks that covers `start..=end`.
fn cidr_list(start: u32, end: u32) -> Vec<Json> {
    let mut out = Vec::new();
    let (mut cur, end) = (u64::from(start), u64::from(end));
    while cur <= end {
        // The largest block aligned at `cur` that stays within the range.
        let mut size = if cur == 0 {
            1u64 << 32
        } else {
            1u64 << cur.trailing_zeros().min(32)
        };
        while cur + size - 1 > end {
            size >>= 1;
        }
        let prefix = 32 - size.trailing_zeros();
        out.push(Json::String(format!(
            "{}/{prefix}",
            dotted_text(cur as u32)
        )));
        cur += size;
    }
    out
}

/// An IPv6 address (IPv4 mapped to `::ffff:a.b.c.d`) and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ipv6 {
    addr: u128,
    prefix: u32,
}

fn parse_v6(s: &str) -> Option<Ipv6> {
    let (a, prefix) = split_prefix(s, 128)?;
    if let Some(v4) = dotted(a) {
        let p = prefix.unwrap_or(32);
        if p > 32 {
            return None;
        }
        return Some(Ipv6 {
            addr: 0xffff_0000_0000 | u128::from(v4),
            prefix: 96 + p,
        });
    }
    let addr = u128::from(a.parse::<Ipv6Addr>().ok()?);
    if a.contains('.') {
        // `::a.b.c.d` or `::ffff:a.b.c.d`: an IPv4 address, its prefix counted from bit 96.
        let p = prefix.unwrap_or(32);
        if p > 32 {
            return None;
        }
        let v4 = addr & 0xffff_ffff;
        return Some(Ipv6 {
            addr: 0xffff_0000_0000 | v4,
            prefix: 96 + p,
        });
    }
    Some(Ipv6 {
        addr,
        prefix: prefix.unwrap_or(128),
    })
}

fn mask6(prefix: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix.min(128))
    }
}

/// The full form: eight groups of four lowercase hexadecimal digits.
fn canonical6(addr: u128) -> String {
    let groups: Vec<String> = (0..8)
        .rev()
        .map(|i| format!("{:04x}", (addr >> (i * 16)) & 0xffff))
        .collect();
    groups.join(":")
}

fn masked_pair6(a: &[Value]) -> Option<(u128, u128)> {
    let x = parse_v6(&text(&a[0]))?;
    let y = parse_v6(&text(&a[1]))?;
    let arg = prefix_arg(a.get(2), 128).ok()?;
    let m = mask6(x.prefix.min(y.prefix).min(arg.unwrap_or(128)));
    Some((x.addr & m, y.addr & m))
}

fn in_range6(ip: &Value, range: &str) -> Option<bool> {
    let ip = parse_v6(&text(ip))?;
    let range = parse_v6(range)?;
    let m = mask6(range.prefix);
    Some(ip.addr & m == range.addr & m)
}

/// The range arguments of `ipv*_is_in_any_range`: strings, or one dynamic array.
fn ranges(a: &[Value]) -> Vec<String> {
    a[1..]
        .iter()
        .flat_map(|v| match array(v) {
            Some(items) => items.iter().map(json_text).collect(),
            None => vec![text(v)],
        })
        .collect()
}

/// Whether any range holds the address (`None` when the address or a range is not valid).
fn in_any(a: &[Value], one: fn(&Value, &str) -> Option<bool>) -> Value {
    let mut found = false;
    for r in ranges(a) {
        match one(&a[0], &r) {
            Some(hit) => found |= hit,
            None => return Value::Null,
        }
    }
    Value::Bool(found)
}

fn ordering<T: Ord>(a: T, b: T) -> Value {
    Value::Long(match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}

/// The IPv4 addresses written in a text: runs of digits and dots between characters that are
/// neither letters nor digits, trailing dots dropped, that parse as addresses.
fn addresses_in(text: &str) -> Vec<(u32, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = i == bytes.len() || !bytes[i].is_ascii_alphanumeric();
        let run = text[start..i].trim_end_matches('.');
        if before_ok
            && after_ok
            && let Some(addr) = dotted(run)
        {
            out.push((addr, run));
        }
    }
    out
}

/// A valid IPv4 prefix for `has_ipv4_prefix`: a full address, or one to three octets ending with
/// a dot.
fn valid_prefix(prefix: &str) -> Option<Vec<u32>> {
    if let Some(addr) = dotted(prefix) {
        return Some(addr.to_be_bytes().iter().map(|b| u32::from(*b)).collect());
    }
    let body = prefix.strip_suffix('.')?;
    let octets: Vec<u32> = body
        .split('.')
        .map(|p| {
            (!p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
                .filter(|n| *n <= 255)
        })
        .collect::<Option<_>>()?;
    (1..=3).contains(&octets.len()).then_some(octets)
}

fn has_prefix(text: &str, prefix: &str) -> bool {
    let Some(octets) = valid_prefix(prefix) else {
        return false;
    };
    addresses_in(text).iter().any(|(addr, _)| {
        let bytes = addr.to_be_bytes();
        octets.iter().zip(bytes).all(|(o, b)| *o == u32::from(b))
    })
}

fn has_address(text: &str, ip: &str) -> bool {
    match dotted(ip.trim()) {
        Some(want) => addresses_in(text).iter().any(|(addr, _)| *addr == want),
        None => false,
    }
}

/// The searched values of `has_any_ipv4*`: strings, or one dynamic array.
fn any_of(a: &[Value], f: fn(&str, &str) -> bool) -> Value {
    let source = text(&a[0]);
    Value::Bool(ranges(a).iter().any(|v| f(&source, v)))
}

pub(super) fn register(r: &mut Registry) {
    const TEXT: Types = STRING;
    r.add(
        "parse_ipv4",
        params![p("ip", TEXT)],
        Ret::Fixed(KustoType::Long),
        |a, _| {
            parse_v4(&text(&a[0])).map_or(Value::Null, |ip| {
                Value::Long(i64::from(ip.addr & mask4(ip.prefix)))
            })
        },
    );
    r.add(
        "parse_ipv4_mask",
        params![p("ip", TEXT), p("prefix", INTEGER)],
        Ret::Fixed(KustoType::Long),
        |a, _| match (parse_v4(&text(&a[0])), prefix_arg(a.get(1), 32)) {
            (Some(ip), Ok(Some(p))) => Value::Long(i64::from(ip.addr & mask4(ip.prefix.min(p)))),
            _ => Value::Null,
        },
    );
    r.add(
        "format_ipv4",
        params![p("ip", ANY), opt("prefix", INTEGER)],
        Ret::Fixed(KustoType::String),
        |a, _| match (v4_of(&a[0]), prefix_arg(a.get(1), 32)) {
            (Some(ip), Ok(p)) => {
                string(dotted_text(ip.addr & mask4(ip.prefix.min(p.unwrap_or(32)))))
            }
            _ => string(""),
        },
    );
    r.add(
        "format_ipv4_mask",
        params![p("ip", ANY), opt("prefix", INTEGER)],
        Ret::Fixed(KustoType::String),
        |a, _| match (v4_of(&a[0]), prefix_arg(a.get(1), 32)) {
            (Some(ip), Ok(p)) => {
                let prefix = ip.prefix.min(p.unwrap_or(32));
                string(format!("{}/{prefix}", dotted_text(ip.addr & mask4(prefix))))
            }
            _ => string(""),
        },
    );
    r.add(
        "ipv4_compare",
        params![p("ip1", TEXT), p("ip2", TEXT), opt("prefix", INTEGER)],
        Ret::Fixed(KustoType::Long),
        |a, _| masked_pair4(a, 32).map_or(Value::Null, |(x, y)| ordering(x, y)),
    );
    r.add(
        "ipv4_is_match",
        params![p("ip1", TEXT), p("ip2", TEXT), opt("prefix", INTEGER)],
        Ret::Fixed(KustoType::Bool),
        |a, _| masked_pair4(a, 32).map_or(Value::Null, |(x, y)| Value::Bool(x == y)),
    );
    r.add(
        "ipv4_is_in_range",
        params![p("ip", TEXT), p("ip_range", TEXT)],
        Ret::Fixed(KustoType::Bool),
        |a, _| in_range4(&a[0], &text(&a[1])).map_or(Value::Null, Value::Bool),
    );
    r.add(
        "ipv4_is_in_any_range",
        params![p("ip", TEXT), p("ranges", TEXT.or(DYNAMIC))],
        Ret::Fixed(KustoType::Bool),
        |a, _| in_any(a, in_range4),
    )
    .variadic();
    r.add(
        "ipv4_is_private",
        params![p("ip", TEXT)],
        Ret::Fixed(KustoType::Bool),
        |a, _| {
            let Some(ip) = parse_v4(&text(&a[0])) else {
                return Value::Null;
            };
            let addr = ip.addr & mask4(ip.prefix);
            let private = [(0x0a00_0000u32, 8u32), (0xac10_0000, 12), (0xc0a8_0000, 16)]
                .iter()
                .any(|(net, len)| addr & mask4(*len) == *net);
            Value::Bool(private)
        },
    );
    r.add(
        "ipv4_netmask_suffix",
        params![p("ip", TEXT)],
        Ret::Fixed(KustoType::Long),
        |a, _| parse_v4(&text(&a[0])).map_or(Value::Null, |ip| Value::Long(i64::from(ip.prefix))),
    );
    r.add(
        "ipv4_range_to_cidr_list",
        params![p("start", TEXT), p("end", TEXT)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| match (dotted(text(&a[0]).trim()), dotted(text(&a[1]).trim())) {
            (Some(s), Some(e)) if s <= e => Value::Dynamic(Json::Array(cidr_list(s, e))),
            _ => Value::Null,
        },
    );
    r.add(
        "parse_ipv6",
        params![p("ip", TEXT)],
        Ret::Fixed(KustoType::String),
        |a, _| {
            parse_v6(&text(&a[0])).map_or(string(""), |ip| {
                string(canonical6(ip.addr & mask6(ip.prefix)))
            })
        },
    );
    r.add(
        "parse_ipv6_mask",
        params![p("ip", TEXT), p("prefix", INTEGER)],
        Ret::Fixed(KustoType::String),
        |a, _| match (parse_v6(&text(&a[0])), prefix_arg(a.get(1), 128)) {
            (Some(ip), Ok(Some(p))) => string(canonical6(ip.addr & mask6(ip.prefix.min(p)))),
            _ => string(""),
        },
    );
    r.add(
        "ipv6_compare",
        params![p("ip1", TEXT), p("ip2", TEXT), opt("prefix", INTEGER)],
        Ret::Fixed(KustoType::Long),
        |a, _| masked_pair6(a).map_or(Value::Null, |(x, y)| ordering(x, y)),
    );
    r.add(
        "ipv6_is_match",
        params![p("ip1", TEXT), p("ip2", TEXT), opt("prefix", INTEGER)],
        Ret::Fixed(KustoType::Bool),
        |a, _| masked_pair6(a).map_or(Value::Null, |(x, y)| Value::Bool(x == y)),
    );
    r.add(
        "ipv6_is_in_range",
        params![p("ip", TEXT), p("ip_range", TEXT)],
        Ret::Fixed(KustoType::Bool),
        |a, _| in_range6(&a[0], &text(&a[1])).map_or(Value::Null, Value::Bool),
    );
    r.add(
        "ipv6_is_in_any_range",
        params![p("ip", TEXT), p("ranges", TEXT.or(DYNAMIC))],
        Ret::Fixed(KustoType::Bool),
        |a, _| in_any(a, in_range6),
    )
    .variadic();
    r.add(
        "has_ipv4",
        params![p("source", TEXT), p("ip", TEXT)],
        Ret::Fixed(KustoType::Bool),
        |a, _| Value::Bool(has_address(&text(&a[0]), &text(&a[1]))),
    );
    r.add(
        "has_ipv4_prefix",
        params![p("source", TEXT), p("ip_prefix", TEXT)],
        Ret::Fixed(KustoType::Bool),
        |a, _| Value::Bool(has_prefix(&text(&a[0]), &text(&a[1]))),
    );
    r.add(
        "has_any_ipv4",
        params![p("source", TEXT), p("ips", TEXT.or(DYNAMIC))],
        Ret::Fixed(KustoType::Bool),
        |a, _| any_of(a, has_address),
    )
    .variadic();
    r.add(
        "has_any_ipv4_prefix",
        params![p("source", TEXT), p("ip_prefixes", TEXT.or(DYNAMIC))],
        Ret::Fixed(KustoType::Bool),
        |a, _| any_of(a, has_prefix),
    )
    .variadic();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_parsing() {
        assert_eq!(
            parse_v4("192.168.1.1/24"),
            Some(Ipv4 {
                addr: 0xc0a8_0101,
                prefix: 24
            })
        );
        for bad in [
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.4/33",
            "1.2.3.4/",
            "a.b.c.d",
        ] {
            assert_eq!(parse_v4(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidr_cover() {
        let list = cidr_list(dotted("1.1.128.0").unwrap(), dotted("1.1.140.255").unwrap());
        assert_eq!(
            list,
            vec![
                Json::from("1.1.128.0/21"),
                Json::from("1.1.136.0/22"),
                Json::from("1.1.140.0/24")
            ]
        );
        assert_eq!(cidr_list(0, u32::MAX), vec![Json::from("0.0.0.0/0")]);
        assert_eq!(cidr_list(5, 5), vec![Json::from("0.0.0.5/32")]);
    }

    #[test]
    fn ipv6_forms() {
        let v = parse_v6("::192.168.255.255/24").unwrap();
        assert_eq!(v.prefix, 120);
        assert_eq!(
            canonical6(v.addr & mask6(v.prefix)),
            "0000:0000:0000:0000:0000:ffff:c0a8:ff00"
        );
        assert_eq!(
            canonical6(parse_v6("fe80::85d:e82c:9446:7994").unwrap().addr),
            "fe80:0000:0000:0000:085d:e82c:9446:7994"
        );
        assert!(parse_v6("fe80::1/129").is_none());
        assert!(parse_v6("not an ip").is_none());
    }

    #[test]
    fn addresses_in_text() {
        let found: Vec<&str> = addresses_in("from: 192.168.1.1, 10.1.1.115 and 10.1.1.201.")
            .iter()
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(found, ["192.168.1.1", "10.1.1.115", "10.1.1.201"]);
        assert!(addresses_in("05:04:54127.0.0.1 GET").is_empty());
        assert!(addresses_in("x127.0.0.1").is_empty());
    }
}
