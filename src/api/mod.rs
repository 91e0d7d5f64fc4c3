//! The REST API: one router per resource, merged here, behind the API key and the error
//! renderer.

mod audit_log;
mod auth;
mod customers;
pub mod error;
pub mod idempotency;
pub mod negotiate;
mod notifications;
mod operators;
mod params;
mod patch;
mod resource;
mod services;
mod tickets;
mod webhooks;

use axum::http::Uri;
use axum::Router;

use crate::domain::{Customer, Operator, Service, Webhook};
use crate::state::AppState;

pub use audit_log::AUDIT_LOG;
pub use notifications::NotificationDto;
pub use resource::{Crud, Ctx};
pub use tickets::TICKETS;

/// All `/api` routes (paths in lower case: see [`normalize_path`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(tickets::router())
        .merge(notifications::router())
        .merge(audit_log::router())
        .merge(resource::crud_router::<Customer>())
        .merge(resource::crud_router::<Service>())
        .merge(resource::crud_router::<Operator>())
        .merge(resource::crud_router::<Webhook>())
        // The key check, then (only for requests it lets through) idempotency keys.
        .route_layer(auth::GateLayer(state.clone()))
        .with_state(state)
}

/// Path segments of the API match ignoring case (`/api/tickets/1` works): API paths are
/// lower-cased before routing. Other paths (the GUI) are left alone.
pub fn normalize_path(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let is_api = path.len() >= 4
        && path[..4].eq_ignore_ascii_case("/api")
        && (path.len() == 4 || path.as_bytes()[4] == b'/');
    if !is_api || !path.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut lowered = path.to_ascii_lowercase();
    if let Some(q) = uri.query() {
        lowered.push('?');
        lowered.push_str(q);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = lowered.parse().ok();
    Uri::from_parts(parts).ok()
}
