//! `Idempotency-Key` on POST: the first answer (status, body, `Location`, content type, `ETag`)
//! is kept 24 hours and given again to a retry with the same key and the same request, which
//! creates nothing; the same key with another request is a 422. Keys belong to the API key
//! they were sent with.
//!
//! The key is claimed in the database before the work ([`Store::claim_idempotency_key`]):
//! of two identical requests at once, on one instance or several, one does the work and the
//! other waits for its answer. A request that fails (any answer but 2xx) releases its claim,
//! so a retry does the work again. The handler runs [`holding`] the claim: the create links
//! its entity to the key in its own transaction, so a retry whose first request created the
//! entity but never kept the answer (its instance died in between) answers with that entity
//! ([`Claim::Created`]) instead of creating another.
//!
//! A webhook's create answers with its `Secret`, which is shown once. Its answer is kept
//! without its body, so the secret is not stored a second time; a retry (same API key, same
//! key, same request: the client whose answer was lost) gets the webhook as it is now
//! ([`webhook_again`]), with the secret that create set while it is still the webhook's. Once
//! it was replaced, or the webhook deleted, the retry gets no secret.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::Route;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::auth::presented_key;
use super::error::{error_response, ApiError};
use super::resource::{created_again, Crud, Ctx};
use super::{tickets, AppState};
use crate::domain::{Customer, Operator, Service, Timestamp, Webhook};
use crate::limits::{BODY_LIMIT, REQUEST_TIMEOUT};
use crate::store::{holding, Claim, HeldClaim, IdempotencyKey, StoredAnswer};
use crate::wire::model::WireEntity;
use crate::wire::ModelState;

pub const HEADER: &str = "idempotency-key";
/// The longest key accepted.
pub const MAX_LEN: usize = 255;
/// How long an answer is kept.
pub const KEPT: Duration = Duration::from_secs(24 * 60 * 60);
/// Marks an answer given again.
pub const REPLAYED: &str = "idempotent-replayed";
/// How often a request waiting on another with the same key looks for its answer.
const POLL: Duration = Duration::from_millis(20);

/// Does this request claim an idempotency key (a POST with the header)?
pub fn applies(request: &Request) -> bool {
    request.method() == Method::POST && request.headers().contains_key(HEADER)
}

/// Answers a request that [`applies`]: `next` is the route (the handler) behind the key check.
pub async fn answer(state: AppState, request: Request, next: Route) -> Response {
    match idempotent(state, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// The key of a request: 400 unless 1 to 255 visible ASCII characters.
fn key_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let values: Vec<_> = headers.get_all(HEADER).iter().collect();
    let bad = |m: &str| Err(ApiError::bad_request(m));
    let [value] = values.as_slice() else {
        return bad("Send one Idempotency-Key header.");
    };
    let Ok(key) = value.to_str() else {
        return bad("The Idempotency-Key must be visible ASCII characters.");
    };
    let key = key.trim();
    if key.is_empty() {
        return bad("The Idempotency-Key is empty.");
    }
    if key.len() > MAX_LEN {
        return bad("The Idempotency-Key is longer than 255 characters.");
    }
    if !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return bad("The Idempotency-Key must be visible ASCII characters.");
    }
    Ok(key.to_owned())
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    hex::encode(digest.finalize())
}

/// What makes two requests the same: the path, the query (less the API key), the
/// `Content-Type` and the body.
fn request_digest(request: &Request, body: &[u8]) -> String {
    let query: Vec<(String, String)> =
        form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .filter(|(name, _)| !name.eq_ignore_ascii_case("key"))
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    hex_sha256(&[
        request.uri().path().as_bytes(),
        query.as_bytes(),
        content_type,
        body,
    ])
}

async fn idempotent(state: AppState, request: Request, next: Route) -> Result<Response, ApiError> {
    let key = key_of(request.headers())?;
    // Only requests the API key let through get here (the key is checked outside).
    let scope = hex_sha256(&[presented_key(&request).unwrap_or_default().as_bytes()]);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let request = Request::from_parts(parts, Body::from(body.clone()));
    let request_sha256 = request_digest(&request, &body);
    let id = IdempotencyKey {
        scope: &scope,
        key: &key,
        request_sha256: &request_sha256,
    };
    let store = &state.store;
    let from_store = |e| ApiError::from_store("request", e);
    let waited_until = tokio::time::Instant::now() + REQUEST_TIMEOUT / 2;
    loop {
        let now = Timestamp::now();
        let claim = store
            .claim_idempotency_key(id, now, now.minus(KEPT), now.minus(REQUEST_TIMEOUT * 2))
            .await
            .map_err(from_store)?;
        let mut claim = claim;
        while claim == Claim::InProgress && tokio::time::Instant::now() < waited_until {
            tokio::time::sleep(POLL).await;
            claim = store.idempotency_key(id).await.map_err(from_store)?;
        }
        match claim {
            Claim::Claimed(held) => return work(&state, id, held, request, next).await,
            Claim::Answered(answer) if is_webhooks(request.uri().path()) => {
                return webhook_again(&state, request, answer).await
            }
            Claim::Answered(answer) => return Ok(replay(answer)),
            Claim::Created(entity) => return created(&state, id, request, entity).await,
            Claim::OtherRequest => {
                return Ok(error_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "This Idempotency-Key was used for another request; use a new key for a new request.",
                    ModelState::default(),
                ))
            }
            Claim::Free => continue,
            Claim::InProgress => {
                let mut r = error_response(
                    StatusCode::CONFLICT,
                    "A request with this Idempotency-Key is still in progress; retry shortly.",
                    ModelState::default(),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return Ok(r);
            }
        }
    }
}

/// Does the work of a claimed request and keeps its answer (or releases the claim).
async fn work(
    state: &AppState,
    id: IdempotencyKey<'_>,
    held: HeldClaim,
    request: Request,
    next: Route,
) -> Result<Response, ApiError> {
    let holds_secret = is_webhooks(request.uri().path());
    let response = holding(held.clone(), async move {
        match next.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    })
    .await;
    if !response.status().is_success() {
        if let Err(e) = state.store.release_idempotency_key(&held).await {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not release an idempotency key");
        }
        return Ok(response);
    }
    keep(state, id, response, holds_secret).await
}

/// Answers a retry whose first request created `entity` but did not keep its answer: the
/// create's answer, rebuilt from the entity, is kept now and given.
async fn created(
    state: &AppState,
    id: IdempotencyKey<'_>,
    request: Request,
    entity: i64,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let ctx = Ctx::from_request_parts(&mut parts, state).await?;
    let path = parts.uri.path().trim_end_matches('/');
    let is = |collection: &str| path.eq_ignore_ascii_case(&format!("/api/{collection}"));
    let response = if is(tickets::TICKETS) {
        tickets::created_again(state, &ctx, entity).await?
    } else if is(Customer::COLLECTION) {
        created_again::<Customer>(state, &ctx, entity).await?
    } else if is(Service::COLLECTION) {
        created_again::<Service>(state, &ctx, entity).await?
    } else if is(Operator::COLLECTION) {
        created_again::<Operator>(state, &ctx, entity).await?
    } else if is(Webhook::COLLECTION) {
        webhook_created_again(state, &ctx, entity).await?
    } else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "an idempotency key links an entity to {path}, which creates none"
        )));
    };
    let mut response = keep(state, id, response, is(Webhook::COLLECTION)).await?;
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// Is this the path of the webhooks' collection (whose creates answer with a secret)?
fn is_webhooks(path: &str) -> bool {
    path.trim_end_matches('/')
        .eq_ignore_ascii_case(&format!("/api/{}", Webhook::COLLECTION))
}

/// A webhook's create answered again: the webhook as it is now, with the secret its create
/// set while it is still the webhook's.
async fn webhook_created_again(state: &AppState, ctx: &Ctx, id: i64) -> Result<Response, ApiError> {
    let from_store = |e| ApiError::from_store(Webhook::MODEL, e);
    let mut webhook = match state.store.get_webhook(id).await {
        Ok(w) => w,
        Err(crate::store::StoreError::NotFound) => {
            return Err(ApiError::not_found(Webhook::MODEL, id))
        }
        Err(e) => return Err(from_store(e)),
    };
    webhook.new_secret = state.store.creation_secret(id).await.map_err(from_store)?;
    Ok(ctx.created(Webhook::COLLECTION, id, &webhook))
}

/// The retry of a webhook's create whose answer was kept (without its body): rebuilt from the
/// webhook its `Location` names.
async fn webhook_again(
    state: &AppState,
    request: Request,
    answer: StoredAnswer,
) -> Result<Response, ApiError> {
    let id = answer
        .location
        .as_deref()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|id| id.parse::<i64>().ok());
    let Some(id) = id else {
        return Ok(replay(answer));
    };
    let (mut parts, _) = request.into_parts();
    let ctx = Ctx::from_request_parts(&mut parts, state).await?;
    let mut response = webhook_created_again(state, &ctx, id).await?;
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// Keeps a successful answer for the key's retries, and gives it. A webhook's create is kept
/// without its body (it holds the secret); its retries rebuild it ([`webhook_again`]).
async fn keep(
    state: &AppState,
    id: IdempotencyKey<'_>,
    response: Response,
    holds_secret: bool,
) -> Result<Response, ApiError> {
    let (parts, body) = response.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            // A retry finds the claim (and the entity, when one was created).
            return Err(ApiError::Internal(anyhow::anyhow!(
                "reading an answer: {e}"
            )));
        }
    };
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let answer = StoredAnswer {
        status: parts.status.as_u16(),
        content_type: header(header::CONTENT_TYPE),
        location: header(header::LOCATION),
        etag: header(header::ETAG),
        body: if holds_secret {
            String::new()
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        },
    };
    // The work is done: if its answer cannot be kept, the answer still goes out (a retry
    // then finds the entity the key links to, never creates a second one).
    if let Err(e) = state.store.complete_idempotency_key(id, &answer).await {
        tracing::error!(error = %crate::telemetry::error_chain(&e), "could not keep the answer of an idempotent request");
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, answer.content_type),
        (header::LOCATION, answer.location),
        (header::ETAG, answer.etag),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(HEADER, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn keys_are_one_to_255_visible_characters() {
        assert_eq!(key_of(&headers(&["abc-123"])).unwrap(), "abc-123");
        assert!(key_of(&headers(&[&"k".repeat(255)])).is_ok());
        assert!(key_of(&headers(&[&"k".repeat(256)])).is_err());
        assert!(key_of(&headers(&[""])).is_err());
        assert!(key_of(&headers(&["a", "b"])).is_err());
        assert!(key_of(&headers(&["a\tb"])).is_err());
    }

    #[test]
    fn the_api_key_does_not_make_requests_differ() {
        let req = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
        let a = request_digest(&req("/api/tickets?key=one&DoNotSendEmail=true"), b"{}");
        let b = request_digest(&req("/api/tickets?DoNotSendEmail=true&KEY=two"), b"{}");
        assert_eq!(a, b);
        assert_ne!(a, request_digest(&req("/api/tickets"), b"{}"));
        assert_ne!(
            a,
            request_digest(&req("/api/tickets?DoNotSendEmail=true"), b"{ }")
        );
    }
}
