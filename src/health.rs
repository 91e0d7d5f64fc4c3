//! `/healthz` (the process runs) and `/readyz` (the database answers, and takes writes).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if !state.store.ping().await {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    } else if !state.store.writes_work().await {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database storage full: writes fail until space is freed",
        )
    } else {
        (StatusCode::OK, "ready")
    }
}
