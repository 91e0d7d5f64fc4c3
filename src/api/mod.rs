//! The REST API: one router per resource, merged here, behind the API key and the error
//! renderer.

mod auth;
mod customers;
pub mod error;
pub mod etag;
pub mod negotiate;
mod notifications;
mod operators;
mod params;
mod resource;
mod services;
mod tickets;

use std::sync::Arc;

use axum::http::Uri;
use axum::middleware;
use axum::Router;

use crate::client_address::TrustedProxies;
use crate::domain::{Customer, Operator, Service};
use crate::live_settings::LiveSettings;
use crate::store::Store;

pub use notifications::NotificationDto;
pub use resource::{Crud, Ctx};
pub use tickets::TICKETS;

/// What every handler can reach. One `Arc`: the router clones it for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    pub store: Store,
    pub settings: LiveSettings,
    /// Whose `X-Forwarded-For` names the client (the sign-in throttle counts per address).
    pub trusted_proxies: TrustedProxies,
}

impl AppState {
    pub fn new(store: Store, settings: LiveSettings, trusted_proxies: TrustedProxies) -> Self {
        AppState(Arc::new(Shared {
            store,
            settings,
            trusted_proxies,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// All `/api` routes (paths in lower case: see [`normalize_path`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(tickets::router())
        .merge(notifications::router())
        .merge(resource::crud_router::<Customer>())
        .merge(resource::crud_router::<Service>())
        .merge(resource::crud_router::<Operator>())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ))
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
