//! Deleting a ticket, after asking.

use axum::extract::{Path, State};
use axum::response::Response;

use super::headline;
use crate::gui::page::{deleted, parse_id, render, ConfirmPage, GuiError, Kind, Nav};
use crate::gui::session::Session;
use crate::state::AppState;

pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let ticket = state.store.get_ticket(parse_id(&id)?).await?;
    let waiting = state
        .store
        .delivery_counts_by_ticket(&[ticket.id])
        .await?
        .get(&ticket.id)
        .map_or(0, |c| c.pending());
    let (headline, _) = headline(&ticket.description);
    render(&ConfirmPage::deletion(
        &session,
        Nav::Tickets,
        Kind::Ticket.noun(),
        ticket.id,
        format!("Delete ticket #{}?", ticket.id),
        format!(
            "“{headline}” disappears from the lists and from the API, and nobody is emailed about it \
             again: {waiting} message(s) not sent yet are cancelled. Messages already sent stay sent."
        ),
    ))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let who = session.who();
    state
        .store
        .delete_ticket(parse_id(&id)?, None, &who)
        .await?;
    Ok(deleted(Kind::Ticket))
}
