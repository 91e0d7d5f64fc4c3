//! DataContract-style XML, as ASP.NET Web API 2 wrote it, and lenient XML input.
//!
//! Output: `<Ticket xmlns:i="…XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/NS">`,
//! no declaration, child elements in ordinal alphabetical order, `i:nil="true"` for null, lists
//! as `ArrayOfX` (root) or a wrapper holding one element per item named after the item type.
//! It is produced from the same serde representation as the JSON output, so the two never drift.
//!
//! Input: any namespace or none, any element order; DOCTYPEs and entity declarations are refused,
//! never expanded.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value as Json;

use super::input::{Doc, Value};

pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const DATACONTRACT_BASE: &str = "http://schemas.datacontract.org/2004/07/";

/// A character XML 1.0 can carry: `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
/// [#x10000-#x10FFFF]` (Rust's `char` already excludes the surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An XML 1.0 `Name` without colons (the `NCName` of Namespaces in XML).
fn is_name(s: &str) -> bool {
    let start = |c: char| {
        matches!(c, 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
            | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
            | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
            | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
            | '\u{10000}'..='\u{EFFFF}')
    };
    let rest = |c: char| {
        start(c)
            || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
    };
    let mut chars = s.chars();
    chars.next().is_some_and(start) && chars.all(rest)
}

/// Text escaped for an element or attribute. Input refuses what XML cannot carry; a character
/// that got in anyway (an older row) is written as U+FFFD, so the document stays well-formed.
fn escape(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        quick_xml::escape::escape(text)
    } else {
        let clean: String = text
            .chars()
            .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
            .collect();
        Cow::Owned(quick_xml::escape::escape(clean.as_str()).into_owned())
    }
}

/// The element name of an item of a list held by `property` (`Services` → `Service`).
pub fn item_name(property: &str) -> &str {
    property.strip_suffix('s').unwrap_or(property)
}

fn root_attributes(namespace: &str) -> String {
    format!(
        " xmlns:i=\"{XSI}\" xmlns=\"{DATACONTRACT_BASE}{}\"",
        escape(namespace)
    )
}

/// Writes one entity as a document root: `<Ticket xmlns:i=… xmlns=…>…</Ticket>`.
pub fn write_root(out: &mut String, name: &str, value: &Json, namespace: &str) {
    write_element(out, name, value, &root_attributes(namespace));
}

/// Opening of a list document: `<ArrayOfTicket xmlns:i=… xmlns=…>`.
pub fn list_open(entity: &str, namespace: &str) -> String {
    format!("<ArrayOf{entity}{}>", root_attributes(namespace))
}

pub fn list_close(entity: &str) -> String {
    format!("</ArrayOf{entity}>")
}

/// Writes one item of a list (no namespace declarations: it inherits the root's).
pub fn write_item(out: &mut String, name: &str, value: &Json) {
    write_element(out, name, value, "");
}

fn write_element(out: &mut String, name: &str, value: &Json, attributes: &str) {
    match value {
        Json::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str(attributes);
            out.push_str(" i:nil=\"true\" />");
        }
        Json::Object(map) if map.is_empty() => {
            out.push_str(&format!("<{name}{attributes} />"));
        }
        Json::Array(items) if items.is_empty() => {
            out.push_str(&format!("<{name}{attributes} />"));
        }
        Json::Object(map) => {
            out.push_str(&format!("<{name}{attributes}>"));
            // serde_json's Map is a BTreeMap: keys come out in ordinal order.
            for (key, child) in map {
                write_element(out, key, child, "");
            }
            out.push_str(&format!("</{name}>"));
        }
        Json::Array(items) => {
            out.push_str(&format!("<{name}{attributes}>"));
            let item = item_name(name);
            for child in items {
                write_element(out, item, child, "");
            }
            out.push_str(&format!("</{name}>"));
        }
        Json::String(s) => {
            out.push_str(&format!("<{name}{attributes}>{}</{name}>", escape(s)));
        }
        Json::Bool(b) => out.push_str(&format!("<{name}{attributes}>{b}</{name}>")),
        Json::Number(n) => out.push_str(&format!("<{name}{attributes}>{n}</{name}>")),
    }
}

/// Writes an error body: `<Error><Message>…</Message><ModelState><key>…</key></ModelState></Error>`.
pub fn write_error(out: &mut String, message: &str, model_state: &[(String, Vec<String>)]) {
    out.push_str("<Error><Message>");
    out.push_str(&escape(message));
    out.push_str("</Message>");
    if !model_state.is_empty() {
        out.push_str("<ModelState>");
        for (key, messages) in model_state {
            let name = encode_local_name(key);
            for m in messages {
                out.push_str(&format!("<{name}>{}</{name}>", escape(m)));
            }
        }
        out.push_str("</ModelState>");
    }
    out.push_str("</Error>");
}

/// .NET's `XmlConvert.EncodeLocalName`: characters not allowed in a name become `_xHHHH_`.
pub fn encode_local_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let ok = c.is_ascii_alphabetic()
            || c == '_'
            || (i > 0 && (c.is_ascii_digit() || c == '.' || c == '-'));
        if ok {
            out.push(c);
        } else {
            out.push_str(&format!("_x{:04X}_", c as u32));
        }
    }
    out
}

const MAX_DEPTH: usize = 16;

struct Frame {
    name: String,
    doc: Doc,
    text: String,
    nil: bool,
}

fn frame(e: &quick_xml::events::BytesStart<'_>) -> Result<Frame, String> {
    // Namespaces in XML: a name is `local` or `prefix:local`, both parts non-empty. quick_xml
    // would read `a:b:c` as the local name `b:c` (found by fuzzing: written back, it read as `c`).
    // Each part must be an XML Name too: quick_xml takes everything up to a space as the name,
    // so `<a="b">` was an element named `a="b"` (also found by fuzzing).
    let qname = e.name();
    let text = std::str::from_utf8(qname.as_ref()).unwrap_or("");
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 2 || !parts.iter().all(|p| is_name(p)) {
        let shown: String = String::from_utf8_lossy(qname.as_ref())
            .chars()
            .take(40)
            .collect();
        return Err(format!(
            "The XML body is malformed: '{shown}' is not a valid element name."
        ));
    }
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut nil = false;
    for attr in e.attributes() {
        let attr = attr.map_err(|_| "The XML body has a malformed attribute.".to_string())?;
        if attr.key.local_name().as_ref() == b"nil" {
            let v = attr
                .unescape_value()
                .map_err(|_| "The XML body has a malformed attribute.".to_string())?;
            nil = v.trim() == "true";
        }
    }
    Ok(Frame {
        name,
        doc: Doc::new(),
        text: String::new(),
        nil,
    })
}

fn finish(f: Frame) -> Value {
    if f.nil {
        Value::Null
    } else if !f.doc.is_empty() {
        Value::Object(f.doc)
    } else {
        Value::Text(f.text)
    }
}

/// Parses an XML request body into a [`Doc`] of the root element's children.
pub fn parse(body: &[u8]) -> Result<Doc, String> {
    let text = std::str::from_utf8(body)
        .map_err(|_| "The request body is not valid UTF-8.".to_string())?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Doc> = None;
    let malformed = |e: &dyn std::fmt::Display| format!("The XML body is malformed: {e}.");
    loop {
        let event = reader.read_event().map_err(|e| malformed(&e))?;
        match event {
            Event::DocType(_) => {
                return Err(
                    "The XML body must not contain a DOCTYPE or entity declarations.".into(),
                )
            }
            Event::Start(e) => {
                if root.is_some() {
                    return Err("The XML body must have exactly one root element.".into());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err("The XML body is nested too deeply.".into());
                }
                stack.push(frame(&e)?);
            }
            Event::Empty(e) => {
                if root.is_some() {
                    return Err("The XML body must have exactly one root element.".into());
                }
                let f = frame(&e)?;
                match stack.last_mut() {
                    Some(parent) => {
                        let name = f.name.clone();
                        parent.doc.push(name, finish(f));
                    }
                    None => root = Some(Doc::new()),
                }
            }
            Event::End(_) => {
                let f = stack
                    .pop()
                    .ok_or_else(|| malformed(&"unexpected end tag"))?;
                match stack.last_mut() {
                    Some(parent) => {
                        let name = f.name.clone();
                        parent.doc.push(name, finish(f));
                    }
                    None => root = Some(f.doc),
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| malformed(&e))?;
                match stack.last_mut() {
                    Some(f) => f.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed(&"text outside the root element")),
                }
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|_| malformed(&"invalid UTF-8"))?;
                match stack.last_mut() {
                    Some(f) => f.text.push_str(s),
                    None => return Err(malformed(&"CDATA outside the root element")),
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("The XML body is malformed: it ends inside an element.".into());
    }
    root.ok_or_else(|| "The XML body is empty.".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::input::Fields;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn writes_the_datacontract_shape() {
        let mut out = String::new();
        let v = json!({"Name": "Mail & <co>", "Id": 1, "Description": null, "Services": [{"Id": 2, "Name": "W"}], "Operator": null});
        write_root(&mut out, "Ticket", &v, "Herald.Models");
        assert_eq!(
            out,
            "<Ticket xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.datacontract.org/2004/07/Herald.Models\">\
             <Description i:nil=\"true\" /><Id>1</Id><Name>Mail &amp; &lt;co&gt;</Name><Operator i:nil=\"true\" />\
             <Services><Service><Id>2</Id><Name>W</Name></Service></Services></Ticket>"
        );
    }

    #[test]
    fn ordinal_order_puts_uppercase_first() {
        let mut out = String::new();
        write_item(&mut out, "X", &json!({"b": 1, "IsClosed": true, "Id": 2}));
        assert_eq!(out, "<X><Id>2</Id><IsClosed>true</IsClosed><b>1</b></X>");
    }

    #[test]
    fn reads_any_namespace_and_order() {
        let doc = parse(
            br#"<?xml version="1.0"?><t:Ticket xmlns:t="urn:x" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
                <t:Services><t:Service><t:Id>2</t:Id></t:Service><t:Service><t:Id>3</t:Id></t:Service></t:Services>
                <t:Description>a &amp; b</t:Description><t:EndTime i:nil="true"/></t:Ticket>"#,
        )
        .unwrap();
        let mut f = Fields::new(&doc, "ticket");
        assert_eq!(f.text("Description").as_deref(), Some("a & b"));
        assert_eq!(f.id_list("Services"), vec![2, 3]);
        assert!(!f.present("EndTime"));
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = br#"<!DOCTYPE lolz [<!ENTITY lol "lol">]><Service><Name>&lol;</Name></Service>"#;
        assert!(parse(bomb).unwrap_err().contains("DOCTYPE"));
        assert!(parse(b"<Service><Name>&lol;</Name></Service>").is_err());
        assert!(parse(b"<Service><Name>x</Service>").is_err());
        assert!(parse(b"<A/><B/>").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn names_with_more_than_one_colon_are_refused() {
        for bad in [
            "<R><a:b:c>x</a:b:c></R>",
            "<R><:a>x</:a></R>",
            "<R><a:/></R>",
            "<a:b:c/>",
            "<R><a=\"b\">x</a=\"b\"></R>",
            "<R><1a/></R>",
            "<R><a&b/></R>",
        ] {
            assert!(
                parse(bad.as_bytes())
                    .unwrap_err()
                    .contains("not a valid element name"),
                "{bad}"
            );
        }
        let doc = parse(b"<p:R xmlns:p=\"urn:x\"><p:a>x</p:a></p:R>").unwrap();
        assert_eq!(doc.get("a"), Some(&Value::Text("x".into())));
        assert!(parse("<R><é-1.x_y/></R>".as_bytes()).is_ok());
    }

    #[test]
    fn model_state_keys_are_encoded() {
        assert_eq!(
            encode_local_name("ticket.Services[0].Id"),
            "ticket.Services_x005B_0_x005D_.Id"
        );
    }

    fn leaf() -> impl Strategy<Value = Json> {
        prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-zA-Z0-9 <>&'\"]{1,12}".prop_map(Json::String),
        ]
    }

    proptest! {
        /// What we write, we read back: same fields, same values, whatever the text holds.
        /// Names are matched ignoring case (as Web API binds them), so no two differ only in case.
        #[test]
        fn round_trip(fields in prop::collection::btree_map("[A-Z][a-zA-Z]{0,8}", leaf(), 0..8)
            .prop_filter("names unique ignoring case", |m| {
                let lower: std::collections::BTreeSet<String> =
                    m.keys().map(|k| k.to_ascii_lowercase()).collect();
                lower.len() == m.len()
            })) {
            let v = Json::Object(fields.clone().into_iter().collect());
            let mut out = String::new();
            write_root(&mut out, "Thing", &v, "Herald.Models");
            let doc = parse(out.as_bytes()).unwrap();
            for (k, expected) in &fields {
                let got = doc.get(k).cloned();
                let want = match expected {
                    Json::Null => Value::Null,
                    Json::Bool(b) => Value::Text(b.to_string()),
                    Json::Number(n) => Value::Text(n.to_string()),
                    Json::String(s) => Value::Text(s.clone()),
                    _ => unreachable!(),
                };
                prop_assert_eq!(got, Some(want));
            }
            // Elements appear in ordinal order.
            let mut positions = Vec::new();
            for k in fields.keys() {
                let open = out.find(&format!("<{k}>"));
                let nil = out.find(&format!("<{k} "));
                positions.push(open.or(nil).unwrap());
            }
            let mut sorted = positions.clone();
            sorted.sort();
            prop_assert_eq!(positions, sorted);
        }
    }
}
