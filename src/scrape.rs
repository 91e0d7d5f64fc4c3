//! `GET /metrics` for Prometheus, behind the `metrics_token` setting (a bearer token; none
//! set: 404; a missing or wrong one: 401), and the middleware that times every request by
//! its route pattern.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;

use crate::metrics::{Metrics, Scrape};
use crate::state::AppState;

pub const PATH: &str = "/metrics";

pub fn router(state: AppState) -> Router {
    Router::new().route(PATH, get(metrics)).with_state(state)
}

/// Times a request and counts it under its route pattern (`unmatched` for paths no route
/// has): a hash lookup and a few atomic adds per request.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.request(
        &method,
        route.as_deref().unwrap_or("unmatched"),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let settings = state.settings.get();
    let Some(token) = &settings.metrics_token else {
        return plain(StatusCode::NOT_FOUND, "Not found.\n");
    };
    let given = bearer(&headers).unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
        let mut r = plain(
            StatusCode::UNAUTHORIZED,
            "Send the metrics token as Authorization: Bearer TOKEN.\n",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let store = &state.store;
    let now = store.now();
    let read = async {
        Ok::<_, crate::store::StoreError>(Scrape {
            messages: store.message_counts().await?,
            oldest_queued_age: store.oldest_queued_at().await?.map(|at| now.since(at)),
            pools: store.pool_use(),
            scheduler_lag: store
                .oldest_due_job(now)
                .await?
                .map(|at| now.since(at))
                .unwrap_or_default(),
        })
    };
    match read.await {
        Ok(scrape) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            state.metrics.render(&scrape),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "metrics: the database did not answer");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable.\n",
            )
        }
    }
}
