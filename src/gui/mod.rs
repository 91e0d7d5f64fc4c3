//! The operator GUI: server-rendered pages on the same port as the API.
//!
//! Every page works without JavaScript. Templates (askama, `templates/gui/`) and assets
//! (`src/gui/assets/`) are compiled into the binary. Every change goes through the same store
//! functions and domain parsers as the API, with the signed-in operator as the actor.
//!
//! Requests pass, from the outside in: [`security_headers`], [`session::load_session`]
//! (finds the signed-in operator), [`session::require_csrf`] (every POST carries the form's
//! token), then the handler, which asks for a [`session::Session`] or a
//! [`session::Admin`] in its arguments.

mod assets;
mod audit_log;
mod auth;
mod customer_csv;
mod customers;
mod deliveries;
mod form;
mod login_throttle;
mod operators;
mod page;
mod resource;
mod services;
mod session;
mod settings;
mod tickets;
mod two_factor;
mod webhooks;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

use crate::domain::{Customer, Operator, Service, Webhook};
use crate::state::AppState;

/// All GUI routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(tickets::router())
        .merge(resource::router::<Customer>())
        .merge(customers::router())
        .merge(resource::router::<Service>())
        .merge(resource::router::<Operator>())
        .merge(resource::router::<Webhook>())
        .merge(webhooks::router())
        .merge(settings::router())
        .merge(audit_log::router())
        .merge(two_factor::router())
        .merge(customer_csv::router())
        .layer(middleware::from_fn(session::require_csrf))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::load_session,
        ))
        .merge(assets::router())
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Pages may load only Herald's own assets, may not be framed, and are not cached (they show
/// data only a signed-in operator may see, and once an API key).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
