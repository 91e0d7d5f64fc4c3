//! `/api/Tickets`: CRUD plus the ticket rules (only five fields replaced on PUT, lifecycle
//! events, `DoNotSendEmail`) and the list filters `isClosed` and `serviceId`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::negotiate::{InputDoc, MergePatch};
use super::params::parse_id;
use super::patch::{checked, kept_changing, patched, precondition, ATTEMPTS};
use super::resource::{check_body_id, Ctx};
use super::AppState;
use crate::domain::TicketChange;
use crate::domain::{Actor, Ticket};
use crate::store::{StoreError, TicketFilter};
use crate::wire::etag;
use crate::wire::model::{parse_new_ticket, parse_ticket_update, Envelope, WireEntity};

/// The collection's path segment, as documented.
pub const TICKETS: &str = "Tickets";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tickets", get(list).post(post))
        .route(
            "/api/tickets/{id}",
            get(get_one).put(put).patch(patch).delete(delete),
        )
}

fn store_error(id: Option<i64>, e: StoreError) -> ApiError {
    match (e, id) {
        (StoreError::NotFound, Some(id)) => ApiError::not_found(Ticket::MODEL, id),
        (e, _) => ApiError::from_store(Ticket::MODEL, e),
    }
}

/// The change context of an API request: the key is the actor; no email when
/// `DoNotSendEmail` is in the body or the query string.
fn change(ctx: &Ctx, envelope: &Envelope) -> Result<TicketChange, ApiError> {
    let quiet = envelope.do_not_send_email || ctx.params.do_not_send_email()?;
    Ok(TicketChange {
        actor: Actor::ApiKey,
        address: ctx.address,
        notify: !quiet,
        reminder_leads: ctx.maintenance_reminders().to_vec(),
    })
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let filter = TicketFilter {
        is_closed: ctx.params.bool("isClosed")?,
        service_id: ctx.params.number("serviceId", 1)?,
    };
    let page = ctx.params.page()?;
    ctx.list(state.store.list_tickets(filter, page)).await
}

async fn get_one(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    ctx.one(&state, id, || state.store.get_ticket(id))
        .await
        .map_err(|e| store_error(Some(id), e))
}

async fn post(
    State(state): State<AppState>,
    ctx: Ctx,
    InputDoc(doc): InputDoc,
) -> Result<Response, ApiError> {
    let (new, envelope) = parse_new_ticket(&doc).map_err(ApiError::Invalid)?;
    let change = change(&ctx, &envelope)?;
    let (ticket, _event) = state
        .store
        .create_ticket(&new, &change)
        .await
        .map_err(|e| store_error(None, e))?;
    Ok(ctx.created(TICKETS, ticket.id, &ticket))
}

/// The answer of a create whose answer was not kept ([`crate::store::Claim::Created`]):
/// rebuilt from the ticket it created, as it is now.
pub(super) async fn created_again(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
) -> Result<Response, ApiError> {
    let ticket = state
        .store
        .get_ticket(id)
        .await
        .map_err(|e| store_error(Some(id), e))?;
    Ok(ctx.created(TICKETS, id, &ticket))
}

async fn put(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    InputDoc(doc): InputDoc,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (update, envelope) = parse_ticket_update(&doc).map_err(ApiError::Invalid)?;
    check_body_id(&envelope, id)?;
    let change = change(&ctx, &envelope)?;
    let check = ctx.precondition::<Ticket>();
    let (ticket, _event) = state
        .store
        .update_ticket(id, &update, &change, check.as_ref().map(|f| f as _))
        .await
        .map_err(|e| store_error(Some(id), e))?;
    Ok(ctx.updated(&ticket))
}

/// PATCH: the merge patch applied to the ticket as read, then PUT's rules (only the replaced
/// fields and the close/reopen times; `DoNotSendEmail` in the patch or the query string).
async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: MergePatch,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let patch = checked::<Ticket>(body, id)?;
    for _ in 0..ATTEMPTS {
        let current = state
            .store
            .get_ticket(id)
            .await
            .map_err(|e| store_error(Some(id), e))?;
        precondition(&ctx, &current)?;
        let (update, envelope) =
            parse_ticket_update(&patched(&current, &patch)).map_err(ApiError::Invalid)?;
        let change = change(&ctx, &envelope)?;
        let read = etag::of(&current);
        let unchanged = move |t: &Ticket| etag::of(t) == read;
        match state
            .store
            .update_ticket(id, &update, &change, Some(&unchanged))
            .await
        {
            Ok((ticket, _event)) => return Ok(ctx.updated(&ticket)),
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(store_error(Some(id), e)),
        }
    }
    Err(kept_changing())
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let check = ctx.precondition::<Ticket>();
    let ticket = state
        .store
        .delete_ticket(id, check.as_ref().map(|f| f as _), &ctx.who())
        .await
        .map_err(|e| store_error(Some(id), e))?;
    Ok(ctx.entity(StatusCode::OK, &ticket))
}
