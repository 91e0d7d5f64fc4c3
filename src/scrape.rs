//! `GET /metrics` for Prometheus, behind the `metrics_token` setting (a bearer token; none
//! set: 404; a missing or wrong one: 401), and the middleware that times every request by
//! its route pattern.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
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

/// Times every request and counts it under its route pattern (`unmatched` for paths no route
/// has): the outermost layer, so a request's time includes every other one. The pattern is
/// only known inside the router: [`RoutePatternLayer`], on every route, hands it out through a
/// slot in the request, so even an answer made outside the route (the timeout's 408) is counted
/// under it. Written by hand (a hash lookup, a few atomic adds and one small allocation per
/// request), not with `middleware::from_fn`, which boxes the inner service and a future.
#[derive(Clone)]
pub struct TrackLayer(pub Arc<Metrics>);

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// See [`TrackLayer`].
#[derive(Clone)]
pub struct Track<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

/// Where [`RoutePatternLayer`] leaves the matched route's pattern for [`Track`].
#[derive(Clone, Default)]
struct PatternSlot(Arc<OnceLock<MatchedPath>>);

impl<S> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        let slot = PatternSlot::default();
        request.extensions_mut().insert(slot.clone());
        TrackFuture {
            inner: self.inner.call(request),
            done: Some(Started {
                started,
                method,
                slot,
                metrics: self.metrics.clone(),
            }),
        }
    }
}

struct Started {
    started: Instant,
    method: Method,
    slot: PatternSlot,
    metrics: Arc<Metrics>,
}

pin_project_lite::pin_project! {
    /// See [`TrackLayer`].
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        done: Option<Started>,
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some(s)) = (&result, this.done.take()) {
            s.metrics.request(
                &s.method,
                s.slot.0.get().map_or("unmatched", MatchedPath::as_str),
                response.status().as_u16(),
                s.started.elapsed(),
            );
        }
        Poll::Ready(result)
    }
}

/// On every route (`Router::layer`): tells [`Track`] the route's pattern.
#[derive(Clone, Copy, Default)]
pub struct RoutePatternLayer;

impl<S> tower::Layer<S> for RoutePatternLayer {
    type Service = RoutePattern<S>;

    fn layer(&self, inner: S) -> RoutePattern<S> {
        RoutePattern { inner }
    }
}

/// See [`RoutePatternLayer`].
#[derive(Clone)]
pub struct RoutePattern<S> {
    inner: S,
}

impl<S> tower::Service<Request> for RoutePattern<S>
where
    S: tower::Service<Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> S::Future {
        let extensions = request.extensions();
        if let (Some(slot), Some(pattern)) = (
            extensions.get::<PatternSlot>(),
            extensions.get::<MatchedPath>(),
        ) {
            let _ = slot.0.set(pattern.clone());
        }
        self.inner.call(request)
    }
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
