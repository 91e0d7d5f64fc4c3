//! `PATCH /api/X/{id}` with a JSON merge patch: the patch is applied to the entity as read,
//! the result goes through the PUT parser and the store's update, with "unchanged since read"
//! as the update's precondition. A concurrent change in between makes the store refuse, and
//! the patch is applied again to the new value, so no other change is overwritten.

use axum::extract::{Path, State};
use axum::response::Response;

use super::error::ApiError;
use super::negotiate::MergePatch;
use super::params::parse_id;
use super::resource::{Crud, Ctx};
use super::AppState;
use crate::store::StoreError;
use crate::wire::model::WireEntity;
use crate::wire::{etag, merge_patch, Doc, ModelState};

/// How many times a patch is applied again when the entity changed underneath it.
pub const ATTEMPTS: usize = 5;

/// The patch, refused with the entity's ModelState when malformed or naming read-only
/// properties.
pub fn checked<E: WireEntity>(body: MergePatch, id: i64) -> Result<Doc, ApiError> {
    let patch = body
        .0
        .map_err(|m| ApiError::Invalid(ModelState::single(E::MODEL, m)))?;
    merge_patch::check::<E>(&patch, id).map_err(ApiError::Invalid)?;
    Ok(patch)
}

/// The request's `If-Match` against the entity as read: 412 when it does not match.
pub fn precondition<E: WireEntity>(ctx: &Ctx, current: &E) -> Result<(), ApiError> {
    match &ctx.if_match {
        Some(m) if !m.matches(current) => Err(ApiError::PreconditionFailed),
        _ => Ok(()),
    }
}

/// The entity's current wire form with the patch applied.
pub fn patched<E: WireEntity>(current: &E, patch: &Doc) -> Doc {
    let mut doc = merge_patch::entity_doc(current);
    merge_patch::apply(&mut doc, patch);
    doc
}

/// What is answered when every attempt met a change made meanwhile.
pub fn kept_changing() -> ApiError {
    ApiError::Conflict("The entity kept changing while the patch was applied; try again.".into())
}

fn store_error<R: Crud>(id: i64, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found(R::MODEL, id),
        e => ApiError::from_store(R::MODEL, e),
    }
}

pub async fn patch<R: Crud>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: MergePatch,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let patch = checked::<R>(body, id)?;
    for _ in 0..ATTEMPTS {
        let current = R::get(&state.store, id)
            .await
            .map_err(|e| store_error::<R>(id, e))?;
        precondition(&ctx, &current)?;
        let (new, _) = R::parse(&patched(&current, &patch), false).map_err(ApiError::Invalid)?;
        let read = etag::of(&current);
        let unchanged = move |e: &R| etag::of(e) == read;
        match R::update(&state.store, id, &new, Some(&unchanged), &ctx.who()).await {
            Ok(updated) => return Ok(ctx.updated(&updated)),
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(store_error::<R>(id, e)),
        }
    }
    Err(kept_changing())
}
