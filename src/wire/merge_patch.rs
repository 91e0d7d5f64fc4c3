//! JSON merge patch (RFC 7396) over the input tree: a PATCH body is read as
//! `application/merge-patch+json`, checked against the entity's read-only properties and
//! applied to the entity's current wire form, which the PUT parser then reads as usual (so a
//! patch obeys every rule a PUT does).
//!
//! The merge is written here rather than taken from a JSON crate because names match
//! ignoring case, as they do for every input (`{"name": "x"}` replaces `Name`), and because a
//! top-level `null` must stay an explicit `null` for the PUT parser: an absent extension
//! property keeps its stored value, a `null` one erases it.

use super::body::{decode, json, BodyError};
use super::input::{Doc, ModelState, Value};
use super::model::WireEntity;

/// The only media type a PATCH accepts.
pub const MEDIA_TYPE: &str = "application/merge-patch+json";

/// Reads a PATCH body given its `Content-Type`: 415 for another type, 400 when it is not a
/// JSON object.
pub fn read(content_type: Option<&str>, body: &[u8]) -> Result<Doc, BodyError> {
    let mut params = content_type.unwrap_or("").split(';');
    let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
    if media != MEDIA_TYPE {
        let shown: String = media.chars().take(80).collect();
        return Err(BodyError::Unsupported(if shown.is_empty() {
            format!("A PATCH needs Content-Type {MEDIA_TYPE} (RFC 7396).")
        } else {
            format!(
                "The request entity's media type '{shown}' is not supported for PATCH: send {MEDIA_TYPE} (RFC 7396)."
            )
        }));
    }
    let charset = params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    });
    let text = decode(body, charset.as_deref()).map_err(BodyError::Malformed)?;
    json(&text).map_err(|m| {
        BodyError::Malformed(m.replace("The request body must be", "A merge patch must be"))
    })
}

/// Refuses a patch that names a read-only property of `E`, or an `Id` other than the URL's
/// (repeating the URL's `Id` is allowed: a patch made from a fetched entity carries it).
pub fn check<E: WireEntity>(patch: &Doc, id: i64) -> Result<(), ModelState> {
    let mut state = ModelState::default();
    for (name, value) in patch.entries() {
        if name.eq_ignore_ascii_case("Id") {
            let same =
                matches!(value, Value::Number(n) | Value::Text(n) if n.trim() == id.to_string());
            if !same {
                state.add(
                    format!("{}.Id", E::MODEL),
                    "The Id cannot be changed: leave it out of the patch, or give the Id in the URL.",
                );
            }
        } else if let Some(field) = E::READ_ONLY.iter().find(|f| f.eq_ignore_ascii_case(name)) {
            state.add(
                format!("{}.{field}", E::MODEL),
                format!("{field} is read-only: a patch cannot change it."),
            );
        }
    }
    if state.is_empty() {
        Ok(())
    } else {
        Err(state)
    }
}

/// The entity's current wire form as an input tree, to apply a patch to.
pub fn entity_doc<E: WireEntity>(entity: &E) -> Doc {
    let json = serde_json::to_value(entity.to_wire()).expect("wire DTOs always serialize");
    Doc::from_json(json).expect("entities are JSON objects")
}

/// Applies `patch` to `target` (RFC 7396 §2, names matched ignoring case).
pub fn apply(target: &mut Doc, patch: &Doc) {
    merge(target, patch, true);
}

fn merge(target: &mut Doc, patch: &Doc, top: bool) {
    for (name, value) in patch.entries() {
        let replacement = match value {
            Value::Null if top => Some(Value::Null),
            Value::Null => None,
            Value::Object(inner) => {
                let mut child = match target.get_mut(name) {
                    Some(Value::Object(existing)) => std::mem::take(existing),
                    _ => Doc::new(),
                };
                merge(&mut child, inner, false);
                Some(Value::Object(child))
            }
            other => Some(other.clone()),
        };
        target.remove(name);
        if let Some(v) = replacement {
            target.push(name, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Service, Ticket};
    use serde_json::json;

    fn doc(v: serde_json::Value) -> Doc {
        Doc::from_json(v).unwrap()
    }

    #[test]
    fn rfc_7396_examples() {
        // RFC 7396 §3, below the top level (where null removes).
        let mut target = doc(json!({"x": {"a": "b", "c": {"d": "e", "f": "g"}}}));
        apply(
            &mut target,
            &doc(json!({"x": {"a": "z", "c": {"f": null}}})),
        );
        assert_eq!(target, doc(json!({"x": {"a": "z", "c": {"d": "e"}}})),);
        let mut target = doc(json!({"a": ["b"], "c": "d"}));
        apply(&mut target, &doc(json!({"a": {"b": "c"}})));
        assert_eq!(
            target.get("a"),
            Some(&Value::Object(doc(json!({"b": "c"}))))
        );
        assert_eq!(target.get("c"), Some(&Value::Text("d".into())));
    }

    #[test]
    fn names_match_ignoring_case_and_top_level_null_stays_null() {
        let mut target = doc(json!({"Name": "Mail", "Description": "old"}));
        apply(
            &mut target,
            &doc(json!({"name": "Post", "DESCRIPTION": null})),
        );
        assert_eq!(target.get("Name"), Some(&Value::Text("Post".into())));
        assert_eq!(target.get("Description"), Some(&Value::Null));
        assert_eq!(target.entries().count(), 2);
    }

    #[test]
    fn read_only_and_foreign_ids_are_refused() {
        assert!(check::<Service>(&doc(json!({"Id": 3, "Name": "x"})), 3).is_ok());
        assert!(check::<Service>(&doc(json!({"id": "3"})), 3).is_ok());
        let err = check::<Service>(&doc(json!({"Id": 4})), 3).unwrap_err();
        assert!(err.0.contains_key("service.Id"));
        let err = check::<Ticket>(&doc(json!({"isclosed": true, "Services": []})), 1).unwrap_err();
        assert!(err.0.contains_key("ticket.IsClosed"));
        assert!(err.0.contains_key("ticket.Services"));
        assert!(
            check::<Ticket>(&doc(json!({"ClosedTime": null, "DoNotSendEmail": true})), 1).is_ok()
        );
    }

    #[test]
    fn only_merge_patch_json_objects() {
        assert!(matches!(
            read(Some("application/json"), b"{}"),
            Err(BodyError::Unsupported(_))
        ));
        assert!(matches!(read(None, b"{}"), Err(BodyError::Unsupported(_))));
        assert!(matches!(
            read(Some("application/merge-patch+json"), b"[1]"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            read(Some("application/merge-patch+json"), b"{\"a\":"),
            Err(BodyError::Malformed(_))
        ));
        let d = read(
            Some("Application/Merge-Patch+JSON; charset=utf-8"),
            b"{\"a\":1}",
        )
        .unwrap();
        assert_eq!(d.get("a"), Some(&Value::Number("1".into())));
    }
}
