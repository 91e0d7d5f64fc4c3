//! Closing and reopening a ticket from its page.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::form::apply;
use crate::domain::ticket::EventKind;
use crate::domain::{Description, Ticket, TicketUpdate};
use crate::gui::form::FormData;
use crate::gui::page::{parse_id, GuiError, Notice};
use crate::gui::session::Session;
use crate::state::AppState;
use crate::store::StoreError;

/// The update that keeps every field as it is (closed and reopened times included).
fn unchanged(t: &Ticket) -> Result<TicketUpdate, GuiError> {
    let description = Description::parse(&t.description)
        .map_err(|m| GuiError::Internal(anyhow::anyhow!("stored description is invalid: {m}")))?;
    Ok(TicketUpdate {
        description,
        start_time: t.times.start_time,
        end_time: t.times.end_time,
        expected_resolution_time: t.times.expected_resolution_time,
        next_update_time: t.times.next_update_time,
        closed_time: None,
        reopened_time: None,
    })
}

pub(super) async fn close(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    lifecycle(state, session, id, body, EventKind::Closed).await
}

pub(super) async fn reopen(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    lifecycle(state, session, id, body, EventKind::Reopened).await
}

async fn lifecycle(
    state: AppState,
    session: Session,
    id: String,
    body: Bytes,
    kind: EventKind,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let ticket = state.store.get_ticket(id).await?;
    let form = FormData::parse(&body)?;
    let now = state.store.now();
    let mut update = unchanged(&ticket)?;
    let done = match kind {
        EventKind::Closed => {
            update.closed_time = Some(ticket.times.closing_time(now));
            Notice::TicketClosed
        }
        _ => {
            update.reopened_time = Some(ticket.times.reopening_time(now));
            Notice::TicketReopened
        }
    };
    let done = match apply(
        &state,
        &session,
        id,
        &update,
        form.checked("notify"),
        form.get("version"),
    )
    .await
    {
        Ok(Some(_)) => done,
        Ok(None) => Notice::TicketUnchanged,
        Err(StoreError::PreconditionFailed) => Notice::TicketChanged,
        Err(e) => return Err(e.into()),
    };
    Ok(done.redirect(&format!("/tickets/{id}")))
}
