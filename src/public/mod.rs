//! The public wing: pages for the people Herald notifies, with no sign-in — beside the
//! operator GUI, never inside it (no session, no operator's CSRF check; each page carries its
//! own protection).
//!
//! - [`personal`]: the personal page `/my/{token}` (followed services, opt out, opt back in).
//! - [`unsubscribe`]: the one-click unsubscribe of RFC 8058 (`/unsubscribe/{token}`).
//! - [`calendar`]: the public calendar of planned work (`/status/calendar.ics`, per service).
//!
//! Every answer of the personal pages is `no-store` and sends no `Referer` (the links carry secrets).

mod calendar;
mod frame;
mod personal;
mod unsubscribe;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

use crate::state::AppState;

/// All public routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(personal::router())
        .merge(unsubscribe::router())
        .layer(middleware::from_fn(customer_headers))
        .merge(calendar::router())
        .with_state(state)
}

/// No scripts, nothing from elsewhere, no framing, no `Referer` (the URL holds the token), and
/// nothing cached (the page is one customer's).
async fn customer_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
