//! Content negotiation, as ASP.NET Web API 2 did it: the response format from `Accept`,
//! the request body's format from `Content-Type`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::error::ApiError;
pub use crate::wire::accept::response_format;
use crate::wire::{xml, Doc, Format};

/// The negotiated response format of this request.
#[derive(Debug, Clone, Copy)]
pub struct Negotiated(pub Format);

impl<S: Send + Sync> FromRequestParts<S> for Negotiated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Negotiated(response_format(&parts.headers)))
    }
}

/// A request body of any supported media type, as one input tree.
#[derive(Debug)]
pub struct InputDoc(pub Doc);

impl<S: Send + Sync> FromRequest<S> for InputDoc {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
        let Some(content_type) = content_type else {
            return Err(ApiError::UnsupportedMediaType(
                "The request entity's media type is missing: send Content-Type application/json, application/xml or application/x-www-form-urlencoded.".into(),
            ));
        };
        let doc = match content_type.as_str() {
            "application/json" | "text/json" => {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Err(ApiError::bad_request("The request body is empty."));
                }
                let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                    if std::str::from_utf8(&bytes).is_err() {
                        ApiError::bad_request("The request body is not valid UTF-8.")
                    } else {
                        ApiError::bad_request(format!(
                            "The request body is not valid JSON (line {}, column {}).",
                            e.line(),
                            e.column()
                        ))
                    }
                })?;
                Doc::from_json(value).map_err(ApiError::bad_request)?
            }
            "application/xml" | "text/xml" => xml::parse(&bytes).map_err(ApiError::bad_request)?,
            "application/x-www-form-urlencoded" => {
                if std::str::from_utf8(&bytes).is_err() {
                    return Err(ApiError::bad_request(
                        "The request body is not valid UTF-8.",
                    ));
                }
                Doc::from_form(&bytes).map_err(ApiError::bad_request)?
            }
            other => {
                let shown: String = other.chars().take(80).collect();
                return Err(ApiError::UnsupportedMediaType(format!(
                    "The request entity's media type '{shown}' is not supported for this resource."
                )));
            }
        };
        Ok(InputDoc(doc))
    }
}
