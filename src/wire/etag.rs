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
#[derive(Debug, Clone)]
pub struct IfMatch(Vec<String>);

impl IfMatch {
    pub fn from_headers(headers: &HeaderMap) -> Option<IfMatch> {
        let tags: Vec<String> = headers
            .get_all(header::IF_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/").to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        (!tags.is_empty()).then_some(IfMatch(tags))
    }

    pub fn matches<E: WireEntity>(&self, entity: &E) -> bool {
        let current = of(entity);
        self.0.iter().any(|t| t == "*" || *t == current)
    }
}
