//! The public wing: pages for the people Herald notifies, with no sign-in — beside the
//! operator GUI, never inside it (no session, no operator's CSRF check; each page carries its
//! own protection).
//!
//! - [`personal`]: the personal page `/my/{token}` (followed services, opt out, opt back in).
//! - [`unsubscribe`]: the one-click unsubscribe of RFC 8058 (`/unsubscribe/{token}`).
//! - [`subscribe`]: self-subscription with double opt-in (`/status/subscribe`, the emailed
//!   link `/status/subscribe/{token}`), when `self_subscription` is on.
//! - [`status`]: the status page `/status` and a page per ticket `/status/tickets/{id}`;
//!   [`feeds`]: their Atom and RSS feeds (all public services, and per service);
//!   [`calendar`]: the public calendar of planned work (`/status/calendar.ics`, per service).
//! - [`cache`]: the status pages and the Atom and RSS feeds, rendered once and served from
//!   memory until something they show changes (on any instance), with `ETag`/`Last-Modified`
//!   and a `Cache-Control` for a CDN.
//!
//! Every answer of the personal pages is `no-store` and sends no `Referer` (the links carry
//! secrets). The setting `status_page` (`off`) turns the status pages and every feed into
//! 404s; it does not touch the personal pages.

pub mod cache;
mod calendar;
mod feeds;
mod frame;
mod history;
mod personal;
mod status;
mod subscribe;
mod unsubscribe;
mod view;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::state::AppState;
use cache::{PageKey, PublicCache};
use feeds::Format;
use frame::{Notice, PublicError};

/// All public routes.
pub fn router(state: AppState) -> Router {
    let status_wing = Router::new()
        .route("/status", get(status_page))
        .route("/status/tickets/{id}", get(ticket_page))
        .route(
            "/status/feed.atom",
            get(|s, h, c| all_feed(s, h, c, Format::Atom)),
        )
        .route(
            "/status/feed.rss",
            get(|s, h, c| all_feed(s, h, c, Format::Rss)),
        )
        .route(
            "/status/services/{id}/feed.atom",
            get(|s, p, h, c| service_feed(s, p, h, c, Format::Atom)),
        )
        .route(
            "/status/services/{id}/feed.rss",
            get(|s, p, h, c| service_feed(s, p, h, c, Format::Rss)),
        )
        .layer(Extension(Arc::new(PublicCache::new())))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            status_page_on,
        ))
        .layer(middleware::from_fn(status_headers));
    Router::new()
        .merge(personal::router())
        .merge(unsubscribe::router())
        .merge(subscribe::router())
        .layer(middleware::from_fn(customer_headers))
        .merge(calendar::router())
        .merge(status_wing)
        .with_state(state)
}

type Cache = Extension<Arc<PublicCache>>;

async fn status_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(cache): Cache,
) -> Response {
    let settings = state.settings.get();
    let answer = cache
        .serve(
            &state.store,
            &settings,
            state.clock.now(),
            PageKey::Status,
            &headers,
            |now| status::status_page(&state.store, &settings, now),
        )
        .await;
    respond(&state, answer)
}

async fn ticket_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Extension(cache): Cache,
) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return not_found(&state);
    };
    let settings = state.settings.get();
    let answer = cache
        .serve(
            &state.store,
            &settings,
            state.clock.now(),
            PageKey::Ticket(id),
            &headers,
            |now| status::ticket_page(&state.store, &settings, id, now),
        )
        .await;
    respond(&state, answer)
}

async fn all_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(cache): Cache,
    format: Format,
) -> Response {
    feed(&state, &headers, &cache, format, None).await
}

async fn service_feed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Extension(cache): Cache,
    format: Format,
) -> Response {
    match id.parse::<i64>() {
        Ok(id) if id > 0 => feed(&state, &headers, &cache, format, Some(id)).await,
        _ => not_found(&state),
    }
}

async fn feed(
    state: &AppState,
    headers: &HeaderMap,
    cache: &PublicCache,
    format: Format,
    service: Option<i64>,
) -> Response {
    let settings = state.settings.get();
    let base = state.settings.base_url();
    let key = PageKey::Feed(format, service);
    let answer = cache
        .serve(
            &state.store,
            &settings,
            state.clock.now(),
            key,
            headers,
            |now| feeds::feed(&state.store, &settings, &base, format, service, now),
        )
        .await;
    respond(state, answer)
}

/// A page from the cache; nothing to show is the public 404.
fn respond(state: &AppState, answer: Result<Option<Response>, PublicError>) -> Response {
    match answer {
        Ok(Some(response)) => response,
        Ok(None) => not_found(state),
        Err(e) => e.page(frame::organisation(&state.settings.get())),
    }
}

/// The public 404: the same whether the address never existed, names something private, or
/// the status page is off.
fn not_found(state: &AppState) -> Response {
    let notice = Notice {
        organisation: frame::organisation(&state.settings.get()),
        title: "Page not found".to_owned(),
        message: "There is no such page here. The status page lists everything there is to see."
            .to_owned(),
        back: None,
    };
    (StatusCode::NOT_FOUND, frame::render(&notice)).into_response()
}

/// With the setting `status_page` off, the status pages and their feeds do not exist.
async fn status_page_on(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.settings.get().status_page {
        next.run(request).await
    } else {
        not_found(&state)
    }
}

/// The status pages: those of every public page, and they are the same for everyone, so a CDN
/// may keep them ([`cache`] says for how long; anything else is not kept).
async fn status_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    public_headers(headers);
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The customers' own pages: no `Referer` (the URL holds the token), and nothing cached (the
/// page is one customer's).
async fn customer_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    public_headers(headers);
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Every public page: no scripts, nothing from elsewhere, no framing.
fn public_headers(headers: &mut HeaderMap) {
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
}
