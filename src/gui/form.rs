//! Submitted forms: the raw fields (to show them again when something is wrong), the input
//! tree the API's parsers read ([`Doc::from_form`]), and field errors for the templates.

use std::collections::BTreeMap;

use futures::TryStreamExt;

use super::page::GuiError;
use crate::store::{Page, Store, StoreError};
use crate::wire::model::WireEntity;
use crate::wire::{Doc, ModelState};

/// The fields of a submitted `application/x-www-form-urlencoded` body, in order.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// Reads a form body; percent-escapes that decode to invalid UTF-8 are refused, as the
    /// API refuses them.
    pub fn parse(body: &[u8]) -> Result<FormData, GuiError> {
        Doc::from_form(body).map_err(GuiError::BadForm)?;
        Ok(FormData {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        })
    }

    /// The form as it is filled from an entity: its wire form's fields under their API names
    /// (the forms' names), texts and numbers as they are, `true` as a ticked checkbox, a list
    /// of entities as `Services[0].Id`, …; nothing for `null` or `false`.
    pub fn of_entity<E: WireEntity>(entity: &E) -> FormData {
        fn flatten(name: String, value: serde_json::Value, pairs: &mut Vec<(String, String)>) {
            use serde_json::Value;
            match value {
                Value::Null | Value::Bool(false) => {}
                Value::Bool(true) => pairs.push((name, "true".to_owned())),
                Value::String(s) => pairs.push((name, s)),
                Value::Number(n) => pairs.push((name, n.to_string())),
                Value::Array(items) => {
                    for (i, item) in items.into_iter().enumerate() {
                        flatten(format!("{name}[{i}]"), item, pairs);
                    }
                }
                Value::Object(fields) => {
                    for (field, v) in fields {
                        let inner = if name.is_empty() {
                            field
                        } else {
                            format!("{name}.{field}")
                        };
                        flatten(inner, v, pairs);
                    }
                }
            }
        }
        let mut pairs = Vec::new();
        let wire = serde_json::to_value(entity.to_wire()).expect("wire DTOs always serialize");
        flatten(String::new(), wire, &mut pairs);
        FormData { pairs }
    }

    /// The last value of a field, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Nothing submitted (a new form, before anything was typed).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Is a checkbox ticked?
    pub fn checked(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// The ids of ticked service checkboxes (named `Services[<id>].Id`).
    pub fn service_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .pairs
            .iter()
            .filter(|(n, _)| n.starts_with("Services[") && n.ends_with("].Id"))
            .filter_map(|(_, v)| v.trim().parse().ok())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The input tree of the API's parsers, without the fields that are blank and listed in
    /// `drop_blank` (a blank password on an edit form means "keep the current one").
    pub fn doc(&self, drop_blank: &[&str]) -> Doc {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (n, v) in &self.pairs {
            if n == super::session::CSRF_FIELD
                || (drop_blank.contains(&n.as_str()) && v.trim().is_empty())
            {
                continue;
            }
            out.append_pair(n, v);
        }
        // Re-encoded from valid text, so it always reads back.
        Doc::from_form(out.finish().as_bytes()).unwrap_or_default()
    }
}

/// A service to choose: a checkbox of a form, or an option of a list's filter.
#[derive(Debug, Clone)]
pub struct ServiceChoice {
    pub id: i64,
    pub name: String,
    /// How many customers follow it.
    pub followers: i64,
    /// Ticked, or selected.
    pub checked: bool,
}

/// Every live service, those in `checked` ticked.
pub async fn service_choices(
    store: &Store,
    checked: &[i64],
) -> Result<Vec<ServiceChoice>, StoreError> {
    let followers = store.follower_counts().await?;
    store
        .list_services(Page::default())
        .map_ok(|s| ServiceChoice {
            followers: followers.get(&s.id).copied().unwrap_or(0),
            checked: checked.contains(&s.id),
            id: s.id,
            name: s.name,
        })
        .try_collect()
        .await
}

/// Messages per field (`Name`, `StartTime`, `Services`, …), plus messages about the whole form.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors {
    fields: BTreeMap<String, String>,
    pub general: Vec<String>,
}

impl FieldErrors {
    pub fn none() -> Self {
        FieldErrors::default()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.fields.get_mut(field) {
            Some(existing) => {
                existing.push(' ');
                existing.push_str(&message);
            }
            None => {
                self.fields.insert(field.to_owned(), message);
            }
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        FieldErrors {
            fields: BTreeMap::new(),
            general: vec![message.into()],
        }
    }

    /// The field of a model-state key: `ticket.Services[0].Id` → `Services`.
    fn field_of(key: &str) -> &str {
        let after_entity = key.split_once('.').map(|(_, f)| f).unwrap_or(key);
        after_entity
            .split(['.', '['])
            .next()
            .unwrap_or(after_entity)
    }
}

impl From<ModelState> for FieldErrors {
    fn from(state: ModelState) -> Self {
        let mut errors = FieldErrors::default();
        for (key, messages) in state.0 {
            errors.add(FieldErrors::field_of(&key), messages.join(" "));
        }
        errors
    }
}

/// Store errors a form can show: validation per field, conflicts as a general message.
pub fn store_errors(e: StoreError) -> Result<FieldErrors, StoreError> {
    match e {
        StoreError::Invalid(fields) => {
            let mut errors = FieldErrors::default();
            for (field, message) in fields {
                errors.add(field, message);
            }
            Ok(errors)
        }
        StoreError::Conflict(message) => Ok(FieldErrors::general(message)),
        StoreError::PreconditionFailed => Ok(FieldErrors::general(
            "Someone else changed this while you were editing. Check the values below and save again.",
        )),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_checkboxes() {
        let f = FormData::parse(b"Name=Ann&Services%5B3%5D.Id=3&Services%5B1%5D.Id=1&notify=on")
            .unwrap();
        assert_eq!(f.get("Name"), "Ann");
        assert_eq!(f.get("Missing"), "");
        assert!(f.checked("notify"));
        assert!(!f.checked("other"));
        assert_eq!(f.service_ids(), vec![1, 3]);
    }

    #[test]
    fn forms_filled_from_entities() {
        use crate::domain::{Customer, Operator, Service};
        let mail = Service {
            id: 7,
            name: "42".into(),
            description: None,
            is_public: true,
        };
        let bob = Customer {
            id: 3,
            name: "Bob".into(),
            email: Some("bob@example.com".into()),
            cell_phone: None,
            services: vec![mail],
            opted_out_time: None,
            language: None,
        };
        let f = FormData::of_entity(&bob);
        assert_eq!(f.get("Name"), "Bob");
        assert_eq!(f.get("Email"), "bob@example.com");
        assert_eq!(f.get("CellPhone"), "");
        assert_eq!(f.get("Id"), "3");
        assert_eq!(f.service_ids(), vec![7], "ids only, not a service named 42");
        let olga = Operator {
            id: 2,
            name: "Olga".into(),
            email: "olga@example.com".into(),
            cell_phone: None,
            is_admin: true,
        };
        assert!(FormData::of_entity(&olga).checked("IsAdmin"));
        let olga = Operator {
            is_admin: false,
            ..olga
        };
        assert!(!FormData::of_entity(&olga).checked("IsAdmin"));
    }

    #[test]
    fn blank_fields_can_be_dropped() {
        let f = FormData::parse(b"Name=Ann&Password=&csrf=x").unwrap();
        let doc = f.doc(&["Password"]);
        assert!(doc.get("Password").is_none());
        assert!(doc.get("csrf").is_none());
        assert!(doc.get("Name").is_some());
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert!(FormData::parse(b"Name=%FF%FE").is_err());
    }

    #[test]
    fn model_state_keys_become_fields() {
        let mut m = ModelState::default();
        m.add("ticket.Services[0].Id", "bad");
        m.add("ticket.Operator.Id", "worse");
        m.add("ticket.StartTime", "late");
        let e = FieldErrors::from(m);
        assert_eq!(e.get("Services"), Some("bad"));
        assert_eq!(e.get("Operator"), Some("worse"));
        assert_eq!(e.get("StartTime"), Some("late"));
    }
}
