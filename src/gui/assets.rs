//! The stylesheet, the script and the icon, compiled into the binary and served under
//! `/assets/`. Their URLs carry a digest of the content, so browsers may cache them for long
//! and still get a new version at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::state::AppState;

const CSS: &str = include_str!("assets/herald.css");
const JS: &str = include_str!("assets/herald.js");
const ICON: &str = include_str!("assets/favicon.svg");

fn versioned(name: &str, content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("/assets/{name}?v={tag}")
}

static CSS_LINK: LazyLock<String> = LazyLock::new(|| versioned("herald.css", CSS));
static JS_LINK: LazyLock<String> = LazyLock::new(|| versioned("herald.js", JS));

pub fn css_url() -> &'static str {
    CSS_LINK.as_str()
}

pub fn js_url() -> &'static str {
    JS_LINK.as_str()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    let (content, kind) = match name.as_str() {
        "herald.css" => (CSS, "text/css; charset=utf-8"),
        "herald.js" => (JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
