//! Query-string parameters, matched ignoring the letter case of their names.

use axum::http::Uri;

use super::error::ApiError;
use crate::store::Page;
use crate::wire::input::parse_bool;

#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn from_uri(uri: &Uri) -> Params {
        Params(
            uri.query()
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_bool(v).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "The query parameter '{name}' must be true or false."
                ))
            }),
        }
    }

    pub fn number(&self, name: &str, min: i64) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= min && n <= i32::MAX as i64 => Ok(Some(n)),
                _ => Err(ApiError::bad_request(format!(
                    "The query parameter '{name}' must be an integer of at least {min}."
                ))),
            },
        }
    }

    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page {
            top: self.number("$top", 0)?,
            skip: self.number("$skip", 0)?,
        })
    }

    /// `DoNotSendEmail` given as a query-string parameter.
    pub fn do_not_send_email(&self) -> Result<bool, ApiError> {
        Ok(self.bool("DoNotSendEmail")?.unwrap_or(false))
    }
}

/// An entity id from the path: a 32-bit integer, else "The request is invalid.".
pub fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i32>()
        .map(i64::from)
        .map_err(|_| ApiError::bad_request(super::error::INVALID))
}
