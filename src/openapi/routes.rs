//! Where the document and its reference page are served. No API key is needed: they describe
//! the API, they do not use it.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// `/api/openapi.json` and `/swagger/docs/v1` (where ASP.NET's Swashbuckle served it), the
/// page at `/api/docs`, and `/swagger` leading to it.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/openapi.json", get(json))
        .route("/swagger/docs/v1", get(json))
        .route("/api/docs", get(page))
        .route("/swagger", get(|| async { Redirect::to("/api/docs") }))
        .with_state(state)
}

async fn json(State(state): State<AppState>) -> Response {
    let namespace = state.settings.get().xml_namespace.clone();
    let body = serde_json::to_string_pretty(&super::document(&namespace))
        .expect("the document always serializes");
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

async fn page(State(state): State<AppState>) -> Response {
    let namespace = state.settings.get().xml_namespace.clone();
    let html = super::page::render(&super::document(&namespace), &namespace);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response()
}
