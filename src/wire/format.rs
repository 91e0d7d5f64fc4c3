//! Rendering entities, lists and errors in the negotiated response format.

use super::model::WireEntity;
use super::xml;

/// A response format. XML echoes the media type the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Xml { text_xml: bool },
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml { text_xml: false } => "application/xml; charset=utf-8",
            Format::Xml { text_xml: true } => "text/xml; charset=utf-8",
        }
    }
}

pub fn entity<E: WireEntity>(format: Format, value: &E, namespace: &str) -> Vec<u8> {
    let dto = value.to_wire();
    match format {
        Format::Json => serde_json::to_vec(&dto).expect("wire DTOs always serialize"),
        Format::Xml { .. } => {
            let json = serde_json::to_value(&dto).expect("wire DTOs always serialize");
            let mut out = String::new();
            xml::write_root(&mut out, E::NAME, &json, namespace);
            out.into_bytes()
        }
    }
}

/// Any serializable value as a JSON or XML document rooted at `root` (for non-entity payloads
/// such as the notifications list).
pub fn document<T: serde::Serialize>(
    format: Format,
    root: &str,
    value: &T,
    namespace: &str,
) -> Vec<u8> {
    match format {
        Format::Json => serde_json::to_vec(value).expect("wire DTOs always serialize"),
        Format::Xml { .. } => {
            let json = serde_json::to_value(value).expect("wire DTOs always serialize");
            let mut out = String::new();
            match json {
                serde_json::Value::Array(items) => {
                    let item = xml::item_name(root).to_owned();
                    out.push_str(&xml::list_open(&item, namespace));
                    for v in &items {
                        xml::write_item(&mut out, &item, v);
                    }
                    out.push_str(&xml::list_close(&item));
                }
                other => xml::write_root(&mut out, root, &other, namespace),
            }
            out.into_bytes()
        }
    }
}

pub fn error(format: Format, message: &str, model_state: &[(String, Vec<String>)]) -> Vec<u8> {
    match format {
        Format::Json => {
            let mut body = serde_json::Map::new();
            body.insert("Message".into(), message.into());
            if !model_state.is_empty() {
                let state: serde_json::Map<String, serde_json::Value> = model_state
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                    .collect();
                body.insert("ModelState".into(), state.into());
            }
            serde_json::to_vec(&body).expect("error bodies always serialize")
        }
        Format::Xml { .. } => {
            let mut out = String::new();
            xml::write_error(&mut out, message, model_state);
            out.into_bytes()
        }
    }
}

/// Writes a list one item at a time, so a list of any length streams in flat memory.
pub struct ListWriter {
    format: Format,
    name: &'static str,
    namespace: String,
    started: bool,
}

impl ListWriter {
    pub fn new(format: Format, name: &'static str, namespace: &str) -> Self {
        ListWriter {
            format,
            name,
            namespace: namespace.to_owned(),
            started: false,
        }
    }

    fn open(&self) -> String {
        match self.format {
            Format::Json => "[".to_owned(),
            Format::Xml { .. } => xml::list_open(self.name, &self.namespace),
        }
    }

    /// The bytes for one item (preceded by the list's opening on the first call).
    pub fn item<E: WireEntity>(&mut self, value: &E) -> Vec<u8> {
        let mut out = String::new();
        if !self.started {
            out.push_str(&self.open());
        }
        let dto = value.to_wire();
        match self.format {
            Format::Json => {
                if self.started {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(&dto).expect("wire DTOs always serialize"));
            }
            Format::Xml { .. } => {
                let json = serde_json::to_value(&dto).expect("wire DTOs always serialize");
                xml::write_item(&mut out, E::NAME, &json);
            }
        }
        self.started = true;
        out.into_bytes()
    }

    /// The closing bytes (with the opening too, for an empty list).
    pub fn close(&mut self) -> Vec<u8> {
        let mut out = String::new();
        if !self.started {
            match self.format {
                Format::Json => out.push('['),
                Format::Xml { .. } => {
                    // An empty DataContract array is a self-closed root.
                    let open = xml::list_open(self.name, &self.namespace);
                    out.push_str(open.trim_end_matches('>'));
                    out.push_str(" />");
                    self.started = true;
                    return out.into_bytes();
                }
            }
        }
        self.started = true;
        match self.format {
            Format::Json => out.push(']'),
            Format::Xml { .. } => out.push_str(&xml::list_close(self.name)),
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Service;

    #[test]
    fn lists_in_both_formats() {
        let s = Service {
            id: 1,
            name: "Mail".into(),
            description: None,
            is_public: true,
        };
        let mut w = ListWriter::new(Format::Json, "Service", "NS");
        let mut body = w.item(&s);
        body.extend(w.item(&s));
        body.extend(w.close());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);

        let mut w = ListWriter::new(Format::Xml { text_xml: false }, "Service", "NS");
        let mut body = w.item(&s);
        body.extend(w.close());
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with("<ArrayOfService xmlns:i="));
        assert!(text.ends_with("</ArrayOfService>"));

        let mut w = ListWriter::new(Format::Xml { text_xml: false }, "Service", "NS");
        let empty = String::from_utf8(w.close()).unwrap();
        assert!(
            empty.starts_with("<ArrayOfService ") && empty.ends_with(" />"),
            "{empty}"
        );
        let mut w = ListWriter::new(Format::Json, "Service", "NS");
        assert_eq!(w.close(), b"[]");
    }

    #[test]
    fn errors() {
        let body = error(
            Format::Json,
            "The request is invalid.",
            &[("ticket.X".into(), vec!["bad".into()])],
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"Message":"The request is invalid.","ModelState":{"ticket.X":["bad"]}}"#
        );
        let body = error(Format::Xml { text_xml: false }, "a<b", &[]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<Error><Message>a&lt;b</Message></Error>"
        );
    }
}
