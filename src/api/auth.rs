//! The API key: query-string `key` (name in any letter case) or the `X-Api-Key` header,
//! compared in constant time against the stored digest.

use std::borrow::Cow;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

pub const HEADER: &str = "x-api-key";

/// The key a request presents, if any.
pub fn presented_key(request: &Request) -> Option<Cow<'_, str>> {
    if let Some(v) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return Some(Cow::Borrowed(v));
    }
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name.eq_ignore_ascii_case("key"))
        .map(|(_, v)| v)
}

pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let settings = state.settings.get();
    let authorized = match (&settings.api_key, presented_key(&request)) {
        (Some(stored), Some(given)) => stored.matches(&given),
        _ => false,
    };
    if authorized {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}
