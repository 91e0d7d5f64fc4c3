//! The API's error type, mapped to HTTP once.
//!
//! Handlers return [`ApiError`]; its response carries the status and an [`ErrorBody`]
//! extension, and [`RenderErrorsLayer`] (a middleware that knows the negotiated format) writes the
//! body as JSON or XML. Internal errors are logged with their whole cause chain and shown to
//! clients only as "An error has occurred.".

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{OriginalUri, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;
use crate::telemetry::error_chain as chain;
use crate::wire::accept::response_format;
use crate::wire::{format, ModelState};

pub const INVALID: &str = "The request is invalid.";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid model")]
    Invalid(ModelState),
    #[error("unauthorized")]
    Unauthorized,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("storage full")]
    StorageFull(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn not_found(entity: &str, id: i64) -> Self {
        ApiError::NotFound(format!("No {entity} with Id {id} was found."))
    }

    /// A store error about `entity` (`"ticket"`), with validation keys prefixed by it.
    pub fn from_store(entity: &'static str, e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound(format!("The {entity} was not found.")),
            StoreError::Invalid(fields) => {
                let mut state = ModelState::default();
                for (field, message) in fields {
                    state.add(format!("{entity}.{field}"), message);
                }
                ApiError::Invalid(state)
            }
            StoreError::PreconditionFailed => ApiError::PreconditionFailed,
            StoreError::Conflict(m) => ApiError::Conflict(m),
            e @ StoreError::Unavailable(_) => ApiError::Unavailable(e.into()),
            e @ StoreError::StorageFull(_) => ApiError::StorageFull(e.into()),
            e => ApiError::Internal(e.into()),
        }
    }
}

/// What [`RenderErrorsLayer`] turns into a body.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    pub message: String,
    pub model_state: Vec<(String, Vec<String>)>,
}

pub fn error_response(
    status: StatusCode,
    message: impl Into<String>,
    model_state: ModelState,
) -> Response {
    let mut response = status.into_response();
    response.extensions_mut().insert(ErrorBody {
        message: message.into(),
        model_state: model_state.0.into_iter().collect(),
    });
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let plain = |status: StatusCode, message: &str| {
            error_response(status, message, ModelState::default())
        };
        match self {
            ApiError::BadRequest(m) => plain(StatusCode::BAD_REQUEST, &m),
            ApiError::Invalid(state) => error_response(StatusCode::BAD_REQUEST, INVALID, state),
            ApiError::Unauthorized => plain(
                StatusCode::UNAUTHORIZED,
                "Authorization has been denied for this request.",
            ),
            ApiError::NotFound(m) => plain(StatusCode::NOT_FOUND, &m),
            ApiError::Conflict(m) => plain(StatusCode::CONFLICT, &m),
            ApiError::PreconditionFailed => plain(
                StatusCode::PRECONDITION_FAILED,
                "The entity has changed since it was read (If-Match does not match its ETag).",
            ),
            ApiError::PayloadTooLarge => {
                plain(StatusCode::PAYLOAD_TOO_LARGE, crate::limits::BODY_TOO_LARGE)
            }
            ApiError::UnsupportedMediaType(m) => plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, &m),
            ApiError::Unavailable(e) => {
                tracing::warn!(error = %chain(&*e), "database unavailable");
                let mut r = plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is temporarily unavailable; try again shortly.",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            ApiError::StorageFull(e) => {
                tracing::error!(error = %chain(&*e), "database storage full: writes fail until space is freed");
                let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, crate::store::STORAGE_FULL);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
                r
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %chain(&*e), "internal error");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "An error has occurred.")
            }
        }
    }
}

/// Writes error bodies in the negotiated format, and gives the framework's own error responses
/// (404, 405, and any rejection of a malformed request, such as a path parameter that is not
/// valid percent-encoded UTF-8) the bodies Web API wrote. A layer around the whole router,
/// written by hand so that it boxes nothing per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderErrorsLayer;

impl<S> tower::Layer<S> for RenderErrorsLayer {
    type Service = RenderErrors<S>;

    fn layer(&self, inner: S) -> RenderErrors<S> {
        RenderErrors { inner }
    }
}

/// See [`RenderErrorsLayer`].
#[derive(Debug, Clone)]
pub struct RenderErrors<S> {
    inner: S,
}

impl<S> tower::Service<Request> for RenderErrors<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RenderErrorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let asked = Asked::of(&request);
        RenderErrorsFuture {
            inner: self.inner.call(request),
            asked: Some(asked),
        }
    }
}

pin_project_lite::pin_project! {
    /// See [`RenderErrorsLayer`].
    pub struct RenderErrorsFuture<F> {
        #[pin]
        inner: F,
        asked: Option<Asked>,
    }
}

impl<F, E> Future for RenderErrorsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let asked = this.asked.take().expect("polled after it was ready");
        Poll::Ready(Ok(asked.render(response)))
    }
}

/// What an error body depends on in the request.
struct Asked {
    format: format::Format,
    method: Method,
    uri: axum::http::Uri,
    host: Option<HeaderValue>,
}

impl Asked {
    fn of(request: &Request) -> Asked {
        Asked {
            format: response_format(request.headers()),
            method: request.method().clone(),
            uri: request
                .extensions()
                .get::<OriginalUri>()
                .map(|u| u.0.clone())
                .unwrap_or_else(|| request.uri().clone()),
            host: request.headers().get(header::HOST).cloned(),
        }
    }

    fn render(self, mut response: Response) -> Response {
        let Asked {
            format,
            method,
            uri,
            host,
        } = self;
        let body = match response.extensions_mut().remove::<ErrorBody>() {
            Some(body) => body,
            None if !is_api(&uri) => return response,
            None if response.status() == StatusCode::METHOD_NOT_ALLOWED => ErrorBody {
                message: format!("The requested resource does not support http method '{method}'."),
                model_state: Vec::new(),
            },
            None if response.status() == StatusCode::NOT_FOUND && method != Method::HEAD => {
                ErrorBody {
                    message: format!(
                        "No HTTP resource was found that matches the request URI 'http://{}{}'.",
                        host.as_ref()
                            .and_then(|h| h.to_str().ok())
                            .unwrap_or("localhost"),
                        crate::telemetry::redact_uri(&uri)
                    ),
                    model_state: Vec::new(),
                }
            }
            None if method == Method::HEAD || !is_error(response.status()) => return response,
            // A rejection by the framework itself (an extractor's text/plain answer).
            None => ErrorBody {
                message: framework_message(response.status()),
                model_state: Vec::new(),
            },
        };
        let bytes = format::error(format, &body.message, &body.model_state);
        let (mut parts, _) = response.into_parts();
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, axum::body::Body::from(bytes))
    }
}

fn is_error(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// The message for an error the framework answered without an [`ErrorBody`]. Its own text
/// (axum's rejections) is written for developers of the framework, not for API clients.
fn framework_message(status: StatusCode) -> String {
    match status {
        StatusCode::BAD_REQUEST => INVALID.to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => crate::limits::BODY_TOO_LARGE.to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "The request entity's media type is not supported for this resource.".to_owned()
        }
        StatusCode::INTERNAL_SERVER_ERROR => "An error has occurred.".to_owned(),
        other => format!(
            "The request could not be processed ({}).",
            other.canonical_reason().unwrap_or("error")
        ),
    }
}

fn is_api(uri: &axum::http::Uri) -> bool {
    let p = uri.path().as_bytes();
    p.len() >= 4 && p[..4].eq_ignore_ascii_case(b"/api") && (p.len() == 4 || p[4] == b'/')
}
