//! Content negotiation, as ASP.NET Web API 2 did it: the response format from `Accept`,
//! the request body's format from `Content-Type`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::error::ApiError;
pub use crate::wire::accept::response_format;
use crate::wire::body::{self, BodyError};
use crate::wire::{Doc, Format};

/// The negotiated response format of this request.
#[derive(Debug, Clone, Copy)]
pub struct Negotiated(pub Format);

impl<S: Send + Sync> FromRequestParts<S> for Negotiated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Negotiated(response_format(&parts.headers)))
    }
}

/// The request's `Content-Type` and body (413 when over the limit).
async fn content_type_and_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(Option<String>, Bytes), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::bad_request("The request body could not be read.")
        }
    })?;
    Ok((content_type, bytes))
}

/// A request body of any supported media type, as one input tree.
#[derive(Debug)]
pub struct InputDoc(pub Doc);

impl<S: Send + Sync> FromRequest<S> for InputDoc {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (content_type, bytes) = content_type_and_bytes(req, state).await?;
        let doc = body::read(content_type.as_deref(), &bytes).map_err(|e| match e {
            BodyError::Malformed(m) => ApiError::BadRequest(m),
            BodyError::Unsupported(m) => ApiError::UnsupportedMediaType(m),
        })?;
        Ok(InputDoc(doc))
    }
}

/// A PATCH body: a JSON merge patch (`application/merge-patch+json`, else 415). A body that
/// is not a JSON object is kept as its message, for the handler to answer with the entity's
/// ModelState.
#[derive(Debug)]
pub struct MergePatch(pub Result<Doc, String>);

impl<S: Send + Sync> FromRequest<S> for MergePatch {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (content_type, bytes) = content_type_and_bytes(req, state).await?;
        match crate::wire::merge_patch::read(content_type.as_deref(), &bytes) {
            Ok(doc) => Ok(MergePatch(Ok(doc))),
            Err(BodyError::Malformed(m)) => Ok(MergePatch(Err(m))),
            Err(BodyError::Unsupported(m)) => Err(ApiError::UnsupportedMediaType(m)),
        }
    }
}
