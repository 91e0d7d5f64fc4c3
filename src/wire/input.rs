//! One input tree for every request body format, and typed reading with field errors.
//!
//! JSON objects, XML elements and form fields all become a [`Doc`]: an ordered list of
//! (name, [`Value`]) pairs whose names match case-insensitively. The entity parsers in
//! [`super::model`] read fields from it through a [`Fields`] reader, which records a
//! people-readable message per bad field in a [`ModelState`].

use std::collections::BTreeMap;

use crate::domain::{Extension, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Text from XML or a form, or a JSON string.
    Text(String),
    /// A JSON number, exactly as written (`12345678901234567890123`, `1.50`, `1e3`).
    Number(String),
    Bool(bool),
    List(Vec<Value>),
    Object(Doc),
}

impl Value {
    /// What a value is, for messages: "a list", "an object", …
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Text(_) => "text",
            Value::Number(_) => "a number",
            Value::Bool(_) => "true or false",
            Value::List(_) => "a list",
            Value::Object(_) => "an object",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    entries: Vec<(String, Value)>,
}

impl Doc {
    pub fn new() -> Self {
        Doc::default()
    }

    pub fn push(&mut self, name: impl Into<String>, value: Value) {
        self.entries.push((name.into(), value));
    }

    /// The last value of a field, its name matched ignoring case.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The fields in the order read; a name may repeat ([`Doc::get`] takes the last).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The last value of a field, its name matched ignoring case, to change in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Removes every value of a field (name matched ignoring case).
    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// A parsed `serde_json::Value` as a [`Doc`] (request bodies are read by
    /// [`super::body::json`], which keeps what a `serde_json::Value` loses).
    pub fn from_json(value: serde_json::Value) -> Result<Doc, String> {
        match convert_json(value) {
            Value::Object(doc) => Ok(doc),
            _ => Err("The request body must be a JSON object.".into()),
        }
    }

    /// `application/x-www-form-urlencoded`: `Name=x&Services[0].Id=1&Services[1][Id]=2`.
    /// Percent-escapes that decode to invalid UTF-8 are refused, not replaced.
    pub fn from_form(body: &[u8]) -> Result<Doc, String> {
        let mut root = Doc::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let mut halves = pair.splitn(2, |b| *b == b'=');
            let key = form_decode(halves.next().unwrap_or_default())?;
            let value = form_decode(halves.next().unwrap_or_default())?;
            let path: Vec<&str> = key
                .split(['.', '[', ']'])
                .filter(|s| !s.is_empty())
                .collect();
            if path.is_empty() {
                continue;
            }
            insert_path(&mut root, &path, Value::Text(value));
        }
        Ok(root)
    }
}

fn form_decode(raw: &[u8]) -> Result<String, String> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| "The request body is not valid UTF-8 once decoded.".to_string())
}

fn convert_json(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Number(n.to_string()),
        serde_json::Value::String(s) => Value::Text(s),
        serde_json::Value::Array(items) => {
            Value::List(items.into_iter().map(convert_json).collect())
        }
        serde_json::Value::Object(map) => {
            let mut doc = Doc::new();
            for (k, v) in map {
                doc.push(k, convert_json(v));
            }
            Value::Object(doc)
        }
    }
}

/// Form paths: numeric segments become list positions (kept as objects keyed by index, which
/// [`Fields::list`] reads as items in index order).
fn insert_path(doc: &mut Doc, path: &[&str], value: Value) {
    let (head, rest) = (path[0], &path[1..]);
    if rest.is_empty() {
        doc.push(head, value);
        return;
    }
    let existing = doc
        .entries
        .iter_mut()
        .rev()
        .find(|(n, v)| n.eq_ignore_ascii_case(head) && matches!(v, Value::Object(_)));
    match existing {
        Some((_, Value::Object(child))) => insert_path(child, rest, value),
        _ => {
            let mut child = Doc::new();
            insert_path(&mut child, rest, value);
            doc.push(head, Value::Object(child));
        }
    }
}

/// Field errors: `"ticket.StartTime" -> ["…"]`, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelState(pub BTreeMap<String, Vec<String>>);

impl ModelState {
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.entry(key.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn single(key: impl Into<String>, message: impl Into<String>) -> Self {
        let mut m = ModelState::default();
        m.add(key, message);
        m
    }
}

/// Reads typed fields of one entity from a [`Doc`], recording errors under `entity.Field`.
pub struct Fields<'a> {
    doc: &'a Doc,
    entity: &'static str,
    pub errors: ModelState,
}

impl<'a> Fields<'a> {
    pub fn new(doc: &'a Doc, entity: &'static str) -> Self {
        Fields {
            doc,
            entity,
            errors: ModelState::default(),
        }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let key = format!("{}.{}", self.entity, field);
        self.errors.add(key, message);
    }

    pub fn present(&self, field: &str) -> bool {
        !matches!(self.doc.get(field), None | Some(Value::Null))
    }

    /// Optional text; JSON numbers are accepted as their text, exactly as written (as Json.NET
    /// reads a number into a string property). Empty XML elements are `Some("")`. Text holding a
    /// character XML 1.0 cannot carry is refused here, for every text field of every entity, so
    /// no stored record can make an XML answer ill-formed.
    pub fn text(&mut self, field: &str) -> Option<String> {
        match self.doc.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Text(s)) => match s.chars().find(|c| !super::xml::is_xml_char(*c)) {
                None => Some(s.clone()),
                Some(c) => {
                    let message = if c.is_control() {
                        format!("The {field} must not contain control characters.")
                    } else {
                        format!(
                            "The {field} must not contain the character U+{:04X}, which XML cannot carry.",
                            c as u32
                        )
                    };
                    self.error(field, message);
                    None
                }
            },
            Some(Value::Number(n)) => Some(n.clone()),
            Some(_) => {
                self.error(field, format!("The {field} field must be text."));
                None
            }
        }
    }

    /// Optional text where blank counts as absent (nullable fields).
    pub fn optional_text(&mut self, field: &str) -> Option<String> {
        self.text(field).filter(|s| !s.trim().is_empty())
    }

    /// Text that must be present; parsed by `parse` (a domain constructor).
    pub fn required<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.text(field) {
            Some(s) => self.check(field, parse(&s)),
            None => {
                if !self
                    .errors
                    .0
                    .contains_key(&format!("{}.{}", self.entity, field))
                {
                    self.error(field, format!("The {field} field is required."));
                }
                None
            }
        }
    }

    /// Optional text parsed by `parse` when present and not blank.
    pub fn optional<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let s = self.optional_text(field)?;
        self.check(field, parse(&s))
    }

    fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(field, message);
                None
            }
        }
    }

    pub fn datetime(&mut self, field: &str) -> Option<Timestamp> {
        let text = match self.doc.get(field) {
            None | Some(Value::Null) => return None,
            Some(Value::Text(s)) if s.trim().is_empty() => return None,
            Some(Value::Text(s) | Value::Number(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(other) => {
                let what = other.kind();
                self.error(
                    field,
                    format!("The {field} must be a date and time, not {what}; use ISO 8601, e.g. 2001-01-01T12:00:00Z."),
                );
                return None;
            }
        };
        match super::datetime::parse(&text) {
            Some(ts) => Some(ts),
            None => {
                let shown: String = text.chars().take(40).collect();
                self.error(
                    field,
                    format!("The value '{shown}' is not a valid date and time for {field}; use ISO 8601, e.g. 2001-01-01T12:00:00Z."),
                );
                None
            }
        }
    }

    pub fn bool(&mut self, field: &str) -> Option<bool> {
        match self.doc.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::Text(s)) => match parse_bool(s) {
                Some(b) => Some(b),
                None if s.trim().is_empty() => None,
                None => {
                    self.error(
                        field,
                        format!(
                            "The value '{}' is not valid for {field}; use true or false.",
                            truncate(s)
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                self.error(field, format!("The {field} field must be true or false."));
                None
            }
        }
    }

    /// An entity id (positive 32-bit integer) in a field.
    pub fn id(&mut self, field: &str) -> Option<i64> {
        let value = self.doc.get(field)?.clone();
        self.id_value(field, &value)
    }

    /// An entity's own `Id` in a body: as [`Fields::id`], but `0` (what a client's integer
    /// holds before the server has assigned one, like C#'s `int Id` on a new entity) counts
    /// as absent.
    pub fn own_id(&mut self, field: &str) -> Option<i64> {
        match self.doc.get(field) {
            Some(Value::Number(n)) if n.parse::<i64>() == Ok(0) => None,
            Some(Value::Text(s)) if s.trim() == "0" => None,
            _ => self.id(field),
        }
    }

    fn id_value(&mut self, field: &str, value: &Value) -> Option<i64> {
        let parsed = match value {
            Value::Number(n) => n.parse::<i64>().ok(),
            Value::Text(s) => s.trim().parse::<i64>().ok(),
            Value::Null => return None,
            _ => None,
        };
        match parsed {
            Some(id) if (1..=i32::MAX as i64).contains(&id) => Some(id),
            _ => {
                self.error(
                    field,
                    format!("The {field} must be a positive 32-bit integer."),
                );
                None
            }
        }
    }

    /// The `Id` of a nested object (`"Operator": {"Id": 3}`), or `None` when null/absent.
    pub fn nested_id(&mut self, field: &str) -> Option<i64> {
        match self.doc.get(field).cloned() {
            None | Some(Value::Null) => None,
            Some(Value::Text(s)) if s.trim().is_empty() => None,
            Some(Value::Object(inner)) => match inner.get("Id") {
                Some(v) => self.id_value(&format!("{field}.Id"), v),
                None => {
                    self.error(field, format!("The {field} must have an Id."));
                    None
                }
            },
            Some(_) => {
                self.error(field, format!("The {field} must be an object with an Id."));
                None
            }
        }
    }

    /// The `Id`s of a list of objects (`"Services": [{"Id": 1}]`, XML `<Services><Service>…`).
    pub fn id_list(&mut self, field: &str) -> Vec<i64> {
        let items: Vec<Value> = match self.doc.get(field) {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Text(s)) if s.trim().is_empty() => return Vec::new(),
            Some(Value::List(items)) => items.clone(),
            // An XML wrapper or a form's indexed entries: each child is one item.
            Some(Value::Object(doc)) => doc.values().cloned().collect(),
            Some(_) => {
                self.error(
                    field,
                    format!("The {field} field must be a list of objects with an Id."),
                );
                return Vec::new();
            }
        };
        let mut ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let name = format!("{field}[{i}].Id");
            let id = match item {
                Value::Object(inner) => match inner.get("Id") {
                    Some(v) => self.id_value(&name, &v.clone()),
                    None => {
                        self.error(&name, "Each item must have an Id.");
                        None
                    }
                },
                // Lenient: a bare id.
                Value::Number(_) | Value::Text(_) => self.id_value(&name, item),
                _ => {
                    self.error(&name, "Each item must be an object with an Id.");
                    None
                }
            };
            if let Some(id) = id.filter(|id| seen.insert(*id)) {
                ids.push(id);
            }
        }
        ids
    }

    /// An extension property (`spec/api.md`, "Properties Herald adds"): omitted, erased by an
    /// explicit `null`, blank text or an empty list, or a value read by `read` (which records
    /// its own errors; a bad value counts as omitted, and the errors refuse the request).
    pub fn extension<T>(
        &mut self,
        field: &str,
        read: impl FnOnce(&mut Self, &str) -> Option<T>,
    ) -> Extension<T> {
        match self.doc.get(field) {
            None => Extension::Omitted,
            Some(Value::Null) => Extension::Erased,
            Some(Value::Text(s)) if s.trim().is_empty() => Extension::Erased,
            Some(Value::List(items)) if items.is_empty() => Extension::Erased,
            Some(_) => read(self, field).map_or(Extension::Omitted, Extension::Set),
        }
    }

    pub fn finish<T>(self, value: Option<T>) -> Result<T, ModelState> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => {
                let mut errors = self.errors;
                if errors.is_empty() {
                    errors.add(self.entity, "The request is invalid.");
                }
                Err(errors)
            }
        }
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Some(true),
        "false" | "0" | "off" | "no" => Some(false),
        _ => None,
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ignoring_case() {
        let doc = Doc::from_json(serde_json::json!({"nAmE": "x", "donotsendemail": true})).unwrap();
        let mut f = Fields::new(&doc, "service");
        assert_eq!(f.text("Name").as_deref(), Some("x"));
        assert_eq!(f.bool("DoNotSendEmail"), Some(true));
    }

    #[test]
    fn form_paths() {
        let doc =
            Doc::from_form(b"Name=Ann+B&Services[0].Id=1&Services[1][Id]=2&Operator.Id=7").unwrap();
        assert!(Doc::from_form(b"Name=%FF").is_err());
        let mut f = Fields::new(&doc, "customer");
        assert_eq!(f.text("name").as_deref(), Some("Ann B"));
        assert_eq!(f.id_list("Services"), vec![1, 2]);
        assert_eq!(f.nested_id("Operator"), Some(7));
        assert!(f.errors.is_empty());
    }

    #[test]
    fn bad_fields_are_named() {
        let doc = Doc::from_json(serde_json::json!({
            "StartTime": "soon", "Services": [{"Id": "x"}], "Operator": {"Id": 99999999999i64}, "IsAdmin": 3
        }))
        .unwrap();
        let mut f = Fields::new(&doc, "ticket");
        assert_eq!(f.datetime("StartTime"), None);
        assert!(f.id_list("Services").is_empty());
        assert_eq!(f.nested_id("Operator"), None);
        assert_eq!(f.bool("IsAdmin"), None);
        let keys: Vec<_> = f.errors.0.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "ticket.IsAdmin",
                "ticket.Operator.Id",
                "ticket.Services[0].Id",
                "ticket.StartTime"
            ]
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(Doc::from_json(serde_json::json!([1, 2])).is_err());
        assert!(Doc::from_json(serde_json::json!("x")).is_err());
    }
}
