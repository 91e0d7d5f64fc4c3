//! What every resource shares: the request context, responses (entity with ETag, streamed
//! lists, 201 with Location, PUT's 204 or representation) and the generic CRUD handlers that
//! Services, Customers and Operators are made of.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::stream::BoxStream;
use futures::StreamExt;

use super::error::ApiError;
use super::negotiate::{response_format, InputDoc};
use super::params::{parse_id, Params};
use super::AppState;
use crate::answers::{Key, Rendered};
use crate::domain::{Actor, Who};
use crate::live_settings::Snapshot;
use crate::state::ClientAddress;
use crate::store::{Entity, StoreError};
use crate::wire::etag::{self, IfMatch};
use crate::wire::format::{self, ListWriter};
use crate::wire::model::{Envelope, WireEntity};
use crate::wire::{Doc, Format, ModelState};

/// Everything about a request that shapes its response.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub format: Format,
    pub params: Params,
    pub if_match: Option<IfMatch>,
    pub prefer_representation: bool,
    /// The client's address (honouring `--trusted-proxies`), for the audit log.
    pub address: Option<std::net::IpAddr>,
    /// The request's `Host`, for [`Ctx::base_url`].
    host: Option<HeaderValue>,
    settings: Arc<Snapshot>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let prefer_representation = parts
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split([',', ';'])
                    .any(|p| p.trim().eq_ignore_ascii_case("return=representation"))
            });
        Ok(Ctx {
            format: response_format(&parts.headers),
            params: Params::from_uri(&parts.uri),
            if_match: IfMatch::from_headers(&parts.headers),
            prefer_representation,
            address: ClientAddress::of(state, parts).0,
            host: parts.headers.get(header::HOST).cloned(),
            settings: state.settings.get(),
        })
    }
}

impl Ctx {
    /// Who makes a change through this request: the API key, from the client's address.
    pub fn who(&self) -> Who {
        Who::new(Actor::ApiKey, self.address)
    }

    /// The public URL, or `http://` and the request's `Host`.
    pub fn base_url(&self) -> String {
        match &self.settings.public_url {
            Some(url) => url.clone(),
            None => {
                let host = self
                    .host
                    .as_ref()
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }

    /// The XML namespace of DataContract output.
    pub fn namespace(&self) -> &str {
        &self.settings.xml_namespace
    }

    /// The lead times of maintenance reminders, as the request found them.
    pub fn maintenance_reminders(&self) -> &[std::time::Duration] {
        &self.settings.maintenance_reminders
    }

    pub fn entity<E: WireEntity>(&self, status: StatusCode, entity: &E) -> Response {
        self.render(entity).response(status)
    }

    /// The entity's document in the format asked for, with its `ETag`.
    pub fn render<E: WireEntity>(&self, entity: &E) -> Rendered {
        // The tag is a digest of the JSON form: a JSON body is serialized once for both.
        let (body, etag) = match self.format {
            Format::Json => {
                let body = format::entity(self.format, entity, self.namespace());
                let tag = etag::json_header_value(&body);
                (body, tag)
            }
            Format::Xml { .. } => (
                format::entity(self.format, entity, self.namespace()),
                etag::header_value(entity),
            ),
        };
        Rendered {
            body: body.into(),
            content_type: self.format.content_type(),
            etag,
        }
    }

    /// A GET of one entity: the answer kept from an earlier GET while nothing was committed
    /// since (see [`crate::answers`]), else `load`ed, rendered and kept.
    pub async fn one<E, F, Fut>(
        &self,
        state: &AppState,
        id: i64,
        load: F,
    ) -> Result<Response, StoreError>
    where
        E: WireEntity,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<E, StoreError>>,
    {
        let version = state.store.read_version();
        let key = Key {
            model: E::MODEL,
            id,
            format: self.format,
        };
        if let Some(kept) = version.and_then(|v| state.answers.get(v, &key, self.namespace())) {
            return Ok(kept.response(StatusCode::OK));
        }
        let rendered = self.render(&load().await?);
        if let Some(version) = version {
            state
                .answers
                .keep(version, key, self.namespace(), &rendered);
        }
        Ok(rendered.response(StatusCode::OK))
    }

    pub fn created<E: WireEntity>(&self, collection: &str, id: i64, entity: &E) -> Response {
        let mut response = self.entity(StatusCode::CREATED, entity);
        let location = format!("{}/api/{collection}/{id}", self.base_url());
        if let Ok(v) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        response
    }

    /// PUT's answer: 204, or 200 with the entity under `Prefer: return=representation`.
    pub fn updated<E: WireEntity>(&self, entity: &E) -> Response {
        if self.prefer_representation {
            let mut r = self.entity(StatusCode::OK, entity);
            r.headers_mut().insert(
                "preference-applied",
                HeaderValue::from_static("return=representation"),
            );
            r
        } else {
            let mut r = StatusCode::NO_CONTENT.into_response();
            r.headers_mut()
                .insert(header::ETAG, etag::header_value(entity));
            r
        }
    }

    /// The `If-Match` check as a store precondition.
    pub fn precondition<E: WireEntity>(&self) -> Option<impl Fn(&E) -> bool + Send + Sync + '_> {
        self.if_match.as_ref().map(|m| move |e: &E| m.matches(e))
    }

    /// Streams a list: the first item is awaited before answering so an unavailable database
    /// is a clean 503; after that each item is written as it is read.
    pub async fn list<E: WireEntity + Send + 'static>(
        &self,
        mut items: BoxStream<'static, Result<E, StoreError>>,
    ) -> Result<Response, ApiError> {
        let first = items
            .next()
            .await
            .transpose()
            .map_err(|e| ApiError::from_store(E::MODEL, e))?;
        let mut writer = ListWriter::new(self.format, E::NAME, self.namespace());
        let body = async_stream::stream! {
            if let Some(first) = first {
                yield Ok::<_, std::io::Error>(writer.item(&first));
                while let Some(next) = items.next().await {
                    match next {
                        Ok(item) => yield Ok(writer.item(&item)),
                        Err(e) => {
                            tracing::error!(error = %crate::telemetry::error_chain(&e), "list stream failed");
                            yield Err(std::io::Error::other("list stream failed"));
                            return;
                        }
                    }
                }
            }
            yield Ok(writer.close());
        };
        let mut response = Response::new(Body::from_stream(body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.format.content_type()),
        );
        Ok(response)
    }
}

/// Rejects a PUT whose body `Id` is missing or differs from the URL's.
pub fn check_body_id(envelope: &Envelope, id: i64) -> Result<(), ApiError> {
    match envelope.id {
        Some(body_id) if body_id == id => Ok(()),
        Some(_) => Err(ApiError::bad_request(
            "The Id in the request body does not match the Id in the URL.",
        )),
        None => Err(ApiError::bad_request(
            "The request body must include the entity's Id, equal to the Id in the URL.",
        )),
    }
}

/// A resource made of plain CRUD: Services, Customers, Operators (the store's [`Entity`]s).
pub trait Crud: Entity + WireEntity {
    /// The collection's path segment as documented (`Services`).
    const COLLECTION: &'static str;

    fn parse(doc: &Doc, creating: bool) -> Result<(Self::New, Envelope), ModelState>;
}

fn store_error<R: Crud>(e: StoreError) -> ApiError {
    ApiError::from_store(R::MODEL, e)
}

async fn list<R: Crud>(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let page = ctx.params.page()?;
    ctx.list(R::list(&state.store, page)).await
}

async fn get_one<R: Crud>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    ctx.one(&state, id, || R::get(&state.store, id))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(R::MODEL, id),
            e => store_error::<R>(e),
        })
}

async fn post<R: Crud>(
    State(state): State<AppState>,
    ctx: Ctx,
    InputDoc(doc): InputDoc,
) -> Result<Response, ApiError> {
    let (new, _) = R::parse(&doc, true).map_err(ApiError::Invalid)?;
    let created = R::create(&state.store, &new, &ctx.who())
        .await
        .map_err(store_error::<R>)?;
    Ok(ctx.created(R::COLLECTION, created.id(), &created))
}

/// The answer of a create whose answer was not kept ([`crate::store::Claim::Created`]):
/// rebuilt from the entity it created, as it is now.
pub(super) async fn created_again<R: Crud>(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
) -> Result<Response, ApiError> {
    let entity = R::get(&state.store, id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found(R::MODEL, id),
        e => store_error::<R>(e),
    })?;
    Ok(ctx.created(R::COLLECTION, id, &entity))
}

async fn put<R: Crud>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    InputDoc(doc): InputDoc,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (new, envelope) = R::parse(&doc, false).map_err(ApiError::Invalid)?;
    check_body_id(&envelope, id)?;
    let check = ctx.precondition::<R>();
    let who = ctx.who();
    let updated = R::update(&state.store, id, &new, check.as_ref().map(|f| f as _), &who)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(R::MODEL, id),
            e => store_error::<R>(e),
        })?;
    Ok(ctx.updated(&updated))
}

async fn delete<R: Crud>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let check = ctx.precondition::<R>();
    let who = ctx.who();
    let deleted = R::delete(&state.store, id, check.as_ref().map(|f| f as _), &who)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(R::MODEL, id),
            e => store_error::<R>(e),
        })?;
    Ok(ctx.entity(StatusCode::OK, &deleted))
}

/// `/api/<collection>` and `/api/<collection>/{id}` for a CRUD resource.
pub fn crud_router<R: Crud>() -> Router<AppState> {
    let base = format!("/api/{}", R::COLLECTION.to_ascii_lowercase());
    Router::new()
        .route(&base, get(list::<R>).post(post::<R>))
        .route(
            &format!("{base}/{{id}}"),
            get(get_one::<R>)
                .put(put::<R>)
                .patch(super::patch::patch::<R>)
                .delete(delete::<R>),
        )
}
