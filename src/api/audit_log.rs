//! `GET /api/AuditLog`: the recorded changes, oldest first, paged with `$top`/`$skip`, filtered
//! by `entity`, `entityId`, `actor`, `from` and `to`.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::params::Params;
use super::resource::Ctx;
use super::AppState;
use crate::domain::audit::AuditEntity;
use crate::domain::Timestamp;
use crate::store::{AuditFilter, AuditOrder};
use crate::wire::datetime;

/// The collection's path segment, as documented.
pub const AUDIT_LOG: &str = "AuditLog";

pub fn router() -> Router<AppState> {
    Router::new().route("/api/auditlog", get(list))
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let filter = filter(&ctx.params)?;
    let page = ctx.params.page()?;
    ctx.list(state.store.list_audit(filter, AuditOrder::Oldest, page))
        .await
}

/// The filters of the query string; a value that cannot be read is a 400 naming it.
pub fn filter(params: &Params) -> Result<AuditFilter, ApiError> {
    let entity = match params
        .get("entity")
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(name) => Some(AuditEntity::parse(name).ok_or_else(|| {
            let names: Vec<_> = AuditEntity::ALL.iter().map(|e| e.name()).collect();
            ApiError::bad_request(format!(
                "The query parameter 'entity' must be one of {}.",
                names.join(", ")
            ))
        })?),
    };
    let time = |name: &str| -> Result<Option<Timestamp>, ApiError> {
        match params.get(name).map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => datetime::parse(text).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "The query parameter '{name}' must be a date and time such as 2026-12-01T12:00:00Z."
                ))
            }),
        }
    };
    Ok(AuditFilter {
        entity,
        entity_id: params.number("entityId", 1)?,
        actor: params
            .get("actor")
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        from: time("from")?,
        to: time("to")?,
    })
}
