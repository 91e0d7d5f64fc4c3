//! The API key: query-string `key` (name in any letter case) or the `X-Api-Key` header,
//! compared in constant time against the stored digest.
//!
//! [`Gate`] is the layer in front of every API route: the key check, then (for a POST with an
//! `Idempotency-Key`) [`super::idempotency`]. Written by hand rather than with
//! `middleware::from_fn`, which boxes the inner service and a future per request: a GET goes
//! straight on to its handler's own future.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::Route;
use tower::{Layer, Service};

use super::error::ApiError;
use super::{idempotency, AppState};

pub const HEADER: &str = "x-api-key";

/// The key a request presents, if any.
pub fn presented_key(request: &Request) -> Option<Cow<'_, str>> {
    if let Some(v) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return Some(Cow::Borrowed(v));
    }
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name.eq_ignore_ascii_case("key"))
        .map(|(_, v)| v)
}

/// Does the request present the stored API key?
fn authorized(state: &AppState, request: &Request) -> bool {
    let settings = state.settings.get();
    match (&settings.api_key, presented_key(request)) {
        (Some(stored), Some(given)) => stored.matches(&given),
        _ => false,
    }
}

/// The layer of [`Gate`] (a `route_layer` of the API router).
#[derive(Clone)]
pub struct GateLayer(pub AppState);

impl Layer<Route> for GateLayer {
    type Service = Gate;

    fn layer(&self, inner: Route) -> Gate {
        Gate {
            state: self.0.clone(),
            inner,
        }
    }
}

/// The key check and idempotency in front of one API route.
#[derive(Clone)]
pub struct Gate {
    state: AppState,
    inner: Route,
}

type Boxed = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// What [`Gate`] answers with: the route's own future, a refusal, or an idempotent POST.
pub enum GateFuture {
    Route(<Route as Service<Request>>::Future),
    Refused(Ready<Result<Response, Infallible>>),
    Idempotent(Boxed),
}

impl Future for GateFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every variant is Unpin (the route's future and the boxed one are).
        match self.get_mut() {
            GateFuture::Route(f) => Pin::new(f).poll(cx),
            GateFuture::Refused(f) => Pin::new(f).poll(cx),
            GateFuture::Idempotent(f) => f.as_mut().poll(cx),
        }
    }
}

impl Service<Request> for Gate {
    type Response = Response;
    type Error = Infallible;
    type Future = GateFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: Request) -> GateFuture {
        if !authorized(&self.state, &request) {
            return GateFuture::Refused(ready(Ok(ApiError::Unauthorized.into_response())));
        }
        if idempotency::applies(&request) {
            let (state, next) = (self.state.clone(), self.inner.clone());
            return GateFuture::Idempotent(Box::pin(async move {
                Ok(idempotency::answer(state, request, next).await)
            }));
        }
        GateFuture::Route(self.inner.call(request))
    }
}
