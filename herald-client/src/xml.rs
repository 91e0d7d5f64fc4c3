//! The DataContract XML shape that Herald (like ASP.NET Web API 2 before it) speaks:
//! `<Ticket xmlns:i="…XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/NS">`,
//! child elements in ordinal alphabetical order, `<X i:nil="true" />` for null, lists as
//! `<ArrayOfTicket>` at the root and as a wrapper (`<Services><Service>…</Service></Services>`)
//! inside an entity.
//!
//! Writing goes through the entity's serde form (the same one JSON uses), so the two formats
//! never disagree about property names. Reading removes the `i:nil` elements (a missing
//! property is `None` to the entities) and hands the rest to quick-xml's serde support; the
//! [`list`] adapter reads a wrapper element as a list.

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const DATACONTRACT_BASE: &str = "http://schemas.datacontract.org/2004/07/";

/// The element name of one item of a list held by `property` (`Services` → `Service`).
fn item_name(property: &str) -> &str {
    property.strip_suffix('s').unwrap_or(property)
}

/// `value` as a DataContract XML document whose root element is `root`.
pub fn to_string<T: Serialize>(root: &str, value: &T, namespace: &str) -> String {
    let json = serde_json::to_value(value).expect("entities always serialize");
    let mut out = String::new();
    let attributes = format!(
        " xmlns:i=\"{XSI}\" xmlns=\"{DATACONTRACT_BASE}{}\"",
        escape(namespace)
    );
    write_element(&mut out, root, &json, &attributes);
    out
}

fn write_element(out: &mut String, name: &str, value: &Value, attributes: &str) {
    match value {
        Value::Null => out.push_str(&format!("<{name}{attributes} i:nil=\"true\" />")),
        Value::Object(map) => {
            out.push_str(&format!("<{name}{attributes}>"));
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort(); // ordinal order, as DataContractSerializer writes members
            for key in keys {
                write_element(out, key, &map[key], "");
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}{attributes}>"));
            for item in items {
                write_element(out, item_name(name), item, "");
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}{attributes}>{}</{name}>", escape(s))),
        Value::Bool(b) => out.push_str(&format!("<{name}{attributes}>{b}</{name}>")),
        Value::Number(n) => out.push_str(&format!("<{name}{attributes}>{n}</{name}>")),
    }
}

/// Reads one entity from a DataContract XML document.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let cleaned = without_nil_elements(text)?;
    quick_xml::de::from_str(&cleaned).map_err(|e| e.to_string())
}

/// Reads an `<ArrayOfX>` document.
pub fn list_from_str<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    #[derive(Deserialize)]
    struct Array<T> {
        #[serde(rename = "$value", default = "Vec::new")]
        items: Vec<T>,
    }
    let cleaned = without_nil_elements(text)?;
    let array: Array<T> = quick_xml::de::from_str(&cleaned).map_err(|e| e.to_string())?;
    Ok(array.items)
}

fn is_nil(e: &BytesStart<'_>) -> bool {
    e.attributes().flatten().any(|a| {
        a.key.local_name().as_ref() == b"nil"
            && a.unescape_value().is_ok_and(|v| v.trim() == "true")
    })
}

/// The document with every `i:nil="true"` element (and what it holds) left out.
fn without_nil_elements(text: &str) -> Result<String, String> {
    let mut reader = Reader::from_str(text);
    let mut writer = Writer::new(Vec::new());
    let mut skipping = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match &event {
            Event::Eof => break,
            Event::Start(e) if skipping > 0 || is_nil(e) => {
                let _ = e;
                skipping += 1;
                continue;
            }
            Event::End(_) if skipping > 0 => {
                skipping -= 1;
                continue;
            }
            Event::Empty(e) if is_nil(e) => continue,
            _ if skipping > 0 => continue,
            _ => {}
        }
        writer.write_event(event).map_err(|e| e.to_string())?;
    }
    String::from_utf8(writer.into_inner()).map_err(|e| e.to_string())
}

/// Serde adapter for a list property: a JSON array, or an XML wrapper element holding one
/// element per item (`<Services><Service>…</Service></Services>`, `<Services />` when empty).
pub mod list {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::Serializer;
    use serde::Serialize;

    pub fn serialize<T: Serialize, S: Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
        items.serialize(s)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for ListVisitor<T> {
            type Value = Vec<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list, or an XML element holding one element per item")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(items)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(_name) = map.next_key::<String>()? {
                    items.push(map.next_value()?);
                }
                Ok(items)
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<T>, E> {
                if s.trim().is_empty() {
                    Ok(Vec::new())
                } else {
                    Err(E::custom("expected a list"))
                }
            }

            fn visit_unit<E>(self) -> Result<Vec<T>, E> {
                Ok(Vec::new())
            }

            fn visit_none<E>(self) -> Result<Vec<T>, E> {
                Ok(Vec::new())
            }
        }

        d.deserialize_any(ListVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Customer, Service, Ticket};

    /// What Herald (and the original framework) wrote for a ticket.
    const TICKET: &str = r#"<Ticket xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Herald.Models"><ClosedTime i:nil="true" /><CreatedTime>2026-11-27T20:41:20.253767Z</CreatedTime><Description>down &amp; out</Description><DoNotSendEmail>false</DoNotSendEmail><EndTime i:nil="true" /><ExpectedResolutionTime i:nil="true" /><Id>2</Id><IsClosed>false</IsClosed><NextUpdateTime i:nil="true" /><Operator i:nil="true" /><ReopenedTime i:nil="true" /><Services><Service><Description i:nil="true" /><Id>1</Id><Name>Mail</Name></Service><Service><Description>d</Description><Id>3</Id><Name>Web</Name></Service></Services><StartTime>2001-01-01T12:00:00Z</StartTime></Ticket>"#;

    #[test]
    fn reads_the_datacontract_shape() {
        let t: Ticket = from_str(TICKET).unwrap();
        assert_eq!(t.id, 2);
        assert_eq!(t.description, "down & out");
        assert_eq!(t.end_time, None);
        assert_eq!(t.operator, None);
        assert_eq!(
            t.start_time.unwrap().to_rfc3339(),
            "2001-01-01T12:00:00+00:00"
        );
        assert_eq!(t.services.len(), 2);
        assert_eq!(t.services[0].name, "Mail");
        assert_eq!(t.services[0].description, None);
        assert_eq!(t.services[1].description.as_deref(), Some("d"));
        assert!(!t.is_closed);
    }

    #[test]
    fn reads_one_item_and_empty_lists() {
        let c: Customer = from_str(
            r#"<Customer xmlns="x"><Id>1</Id><Name>Ann</Name><Services><Service><Id>4</Id><Name>Mail</Name></Service></Services></Customer>"#,
        )
        .unwrap();
        assert_eq!(
            c.services,
            vec![Service {
                id: 4,
                name: "Mail".into(),
                description: None,
                is_public: None
            }]
        );
        let c: Customer =
            from_str(r#"<Customer><Id>1</Id><Name>Ann</Name><Services /></Customer>"#).unwrap();
        assert!(c.services.is_empty());
        let list: Vec<Service> =
            list_from_str(r#"<ArrayOfService xmlns:i="x" xmlns="y" />"#).unwrap();
        assert!(list.is_empty());
        let list: Vec<Service> = list_from_str(
            r#"<ArrayOfService><Service><Id>1</Id><Name>A</Name></Service><Service><Description i:nil="true" /><Id>2</Id><Name>B</Name></Service></ArrayOfService>"#,
        )
        .unwrap();
        assert_eq!(list.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn writes_the_datacontract_shape() {
        let c = Customer::new("Ann & Co").following(1).following(2);
        let xml = to_string("Customer", &c, "Herald.Models");
        assert_eq!(
            xml,
            "<Customer xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.datacontract.org/2004/07/Herald.Models\">\
             <CellPhone i:nil=\"true\" /><Email i:nil=\"true\" /><Name>Ann &amp; Co</Name>\
             <Services><Service><Description i:nil=\"true\" /><Id>1</Id><Name></Name></Service>\
             <Service><Description i:nil=\"true\" /><Id>2</Id><Name></Name></Service></Services></Customer>"
        );
        let back: Customer = from_str(&xml).unwrap();
        assert_eq!(back.name, "Ann & Co");
        assert_eq!(back.services.len(), 2);
    }
}
