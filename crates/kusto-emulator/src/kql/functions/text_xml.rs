//! `parse_xml` (XML text to a dynamic value), `tohex` and `dynamic_to_json`.
//!
//! XML converts as documented: an element with only text is its text (an empty one null), an
//! attribute is `"@name"`, text beside attributes or child elements is `"#text"`, and repeated
//! child elements become an array. Only elements, attributes and text are kept; text longer than
//! 1 MiB, nesting deeper than 200 elements or text that is not well-formed XML gives null.

use quick_xml::events::Event;
use serde_json::{Map, Value as Json};

use super::params;
use super::text_common::{json_text, string};
use super::{DYNAMIC, INTEGER, Registry, Ret, STRING, int_arg, opt, p, text};
use crate::value::{KustoType, Value};

const MAX_XML: usize = 1 << 20;
const MAX_DEPTH: usize = 200;

#[derive(Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn to_json(&self) -> Json {
        let text = self.text.trim();
        if self.attributes.is_empty() && self.children.is_empty() {
            return if text.is_empty() {
                Json::Null
            } else {
                Json::String(text.to_string())
            };
        }
        let mut map = Map::new();
        for (k, v) in &self.attributes {
            map.insert(format!("@{k}"), Json::String(v.clone()));
        }
        if !text.is_empty() {
            map.insert("#text".into(), Json::String(text.to_string()));
        }
        for child in &self.children {
            let value = child.to_json();
            match map.get_mut(&child.name) {
                Some(Json::Array(items)) if self.repeated(&child.name) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Json::Array(vec![first, value]);
                }
                None => {
                    map.insert(child.name.clone(), value);
                }
            }
        }
        Json::Object(map)
    }

    /// Whether more than two children have this name (their values already form an array).
    fn repeated(&self, name: &str) -> bool {
        self.children.iter().filter(|c| c.name == name).count() > 2
    }
}

fn parse_xml(xml: &str) -> Option<Json> {
    if xml.len() > MAX_XML {
        return None;
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) if root.is_some() && stack.is_empty() => {
                // A second root element.
                let _ = e;
                return None;
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                let el = element(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.decode().ok()?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return None,
                }
            }
            Event::CData(t) => {
                let s = t.decode().ok()?;
                stack.last_mut()?.text.push_str(&s);
            }
            Event::GeneralRef(r) => {
                let name = r.decode().ok()?;
                let resolved = quick_xml::escape::unescape(&format!("&{name};"))
                    .ok()?
                    .into_owned();
                stack.last_mut()?.text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return None;
    }
    let root = root?;
    let mut map = Map::new();
    map.insert(root.name.clone(), root.to_json());
    Some(Json::Object(map))
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Option<Element> {
    let name = String::from_utf8(e.name().as_ref().to_vec()).ok()?;
    let mut attributes = Vec::new();
    for a in e.attributes() {
        let a = a.ok()?;
        let key = String::from_utf8(a.key.as_ref().to_vec()).ok()?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()?
            .into_owned();
        attributes.push((key, value));
    }
    Some(Element {
        name,
        attributes,
        ..Element::default()
    })
}

/// `tohex(value [, minLength])`: lowercase hexadecimal (negative values in two's complement of
/// their type's width), padded with zeros to `minLength` (at most 16) characters.
fn tohex(a: &[Value]) -> Value {
    let digits = match &a[0] {
        Value::Int(i) => format!("{:x}", *i as u32),
        other => match int_arg(other) {
            Some(n) => format!("{:x}", n as u64),
            None => return Value::Null,
        },
    };
    let width = a
        .get(1)
        .and_then(int_arg)
        .unwrap_or(0)
        .clamp(0, 16)
        .try_into()
        .unwrap_or(0usize);
    string(format!("{digits:0>width$}"))
}

/// The JSON of a value with every bag's keys sorted.
fn canonical(j: &Json) -> Json {
    match j {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&map[k])))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

pub(super) fn register(r: &mut Registry) {
    r.add(
        "parse_xml",
        params![p("xml", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| parse_xml(&text(&a[0])).map_or(Value::Null, Value::Dynamic),
    )
    .named_after_first_arg();
    r.add(
        "tohex",
        params![p("value", INTEGER), opt("minLength", INTEGER)],
        Ret::Fixed(KustoType::String),
        |a, _| tohex(a),
    )
    .named_after_first_arg();
    r.add(
        "dynamic_to_json",
        params![p("expr", DYNAMIC)],
        Ret::Fixed(KustoType::String),
        |a, _| match &a[0] {
            Value::Dynamic(j @ (Json::Object(_) | Json::Array(_))) => {
                string(canonical(j).to_string())
            }
            Value::Dynamic(j) => string(json_text(j)),
            other => string(text(other)),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_conversions() {
        let cases = [
            ("<e/>", json!({"e": null})),
            ("<e>text</e>", json!({"e": "text"})),
            ("<e name=\"value\" />", json!({"e": {"@name": "value"}})),
            (
                "<e name=\"value\">text</e>",
                json!({"e": {"@name": "value", "#text": "text"}}),
            ),
            (
                "<e> <a>text</a> <b>text</b> </e>",
                json!({"e": {"a": "text", "b": "text"}}),
            ),
            (
                "<e> <a>text</a> <a>text</a> </e>",
                json!({"e": {"a": ["text", "text"]}}),
            ),
            (
                "<e> text <a>text</a> </e>",
                json!({"e": {"#text": "text", "a": "text"}}),
            ),
            (
                "<e><a>1</a><a>2</a><a>3</a></e>",
                json!({"e": {"a": ["1", "2", "3"]}}),
            ),
            ("<e>a &amp; b</e>", json!({"e": "a & b"})),
        ];
        for (xml, want) in cases {
            assert_eq!(parse_xml(xml), Some(want), "{xml}");
        }
        assert_eq!(parse_xml("<a><b></a>"), None);
        assert_eq!(parse_xml("<a/><b/>"), None);
        assert_eq!(parse_xml("not xml"), None);
        let deep = format!("{}{}", "<a>".repeat(300), "</a>".repeat(300));
        assert_eq!(parse_xml(&deep), None);
    }

    #[test]
    fn hex() {
        assert_eq!(tohex(&[Value::Long(256)]), string("100"));
        assert_eq!(tohex(&[Value::Long(-256)]), string("ffffffffffffff00"));
        assert_eq!(
            tohex(&[Value::Int(-256), Value::Long(8)]),
            string("ffffff00")
        );
        assert_eq!(
            tohex(&[Value::Long(256), Value::Long(8)]),
            string("00000100")
        );
        assert_eq!(tohex(&[Value::Long(256), Value::Long(2)]), string("100"));
    }
}
