//! Entity tags: a digest of the entity's wire form, so any visible change changes the tag.

use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use crate::wire::model::WireEntity;

pub fn of<E: WireEntity>(entity: &E) -> String {
    of_json(&serde_json::to_vec(&entity.to_wire()).expect("wire DTOs always serialize"))
}

/// The tag of an entity whose JSON wire form is `json`.
pub fn of_json(json: &[u8]) -> String {
    let digest = Sha256::digest(json);
    format!("\"{}\"", hex::encode(&digest[..10]))
}

pub fn header_value<E: WireEntity>(entity: &E) -> HeaderValue {
    json_header_value(&serde_json::to_vec(&entity.to_wire()).expect("wire DTOs always serialize"))
}

/// [`header_value`] of an entity whose JSON wire form is `json`.
pub fn json_header_value(json: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&of_json(json)).expect("hex digests are valid header values")
}

/// The `If-Match` of a request: `None` when absent (last write wins).
///
/// `If-Match` uses the strong comparison (RFC 9110 §13.1.1): a weak tag (`W/"…"`) never
/// matches, so a request carrying only weak tags is a 412. `*` matches any current entity.
#[derive(Debug, Clone)]
pub struct IfMatch(Vec<String>);

impl IfMatch {
    pub fn from_headers(headers: &HeaderMap) -> Option<IfMatch> {
        let tags: Vec<String> = headers
            .get_all(header::IF_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        (!tags.is_empty()).then_some(IfMatch(tags))
    }

    pub fn matches<E: WireEntity>(&self, entity: &E) -> bool {
        let current = of(entity);
        // A weak tag starts with `W/` and so never equals a strong one.
        self.0.iter().any(|t| t == "*" || *t == current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Service;

    fn if_match(value: &str) -> IfMatch {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        IfMatch::from_headers(&headers).unwrap()
    }

    #[test]
    fn strong_comparison() {
        let s = Service {
            id: 1,
            name: "Mail".into(),
            description: None,
            is_public: true,
        };
        let tag = of(&s);
        assert!(if_match(&tag).matches(&s));
        assert!(if_match(&format!("\"x\", {tag}")).matches(&s));
        assert!(if_match("*").matches(&s));
        assert!(!if_match(&format!("W/{tag}")).matches(&s));
        assert!(!if_match(&format!("w/{tag}")).matches(&s));
        assert!(!if_match(tag.trim_matches('"')).matches(&s));
    }
}
