//! The create and edit forms, and what saving them does.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use futures::TryStreamExt;

use super::recipients::{recipients_of, Recipients};
use super::{service_ids, service_names};
use crate::domain::{Ticket, TicketChange, TicketEvent, TicketUpdate, Timestamp};
use crate::gui::form::{service_choices, store_errors, FieldErrors, FormData, ServiceChoice};
use crate::gui::page::{
    input_value, parse_id, render, render_status, Chrome, GuiError, Kind, Nav, Notice,
};
use crate::gui::session::Session;
use crate::state::AppState;
use crate::store::{Page, Store, StoreError};
use crate::wire::etag;
use crate::wire::model::{parse_new_ticket, parse_ticket_update};

#[derive(Debug, Clone)]
struct OperatorChoice {
    id: i64,
    name: String,
    selected: bool,
}

/// The values of the form's fields, as typed.
#[derive(Debug, Clone, Default)]
struct Values {
    description: String,
    start: String,
    end: String,
    expected: String,
    next_update: String,
    closed: String,
    reopened: String,
}

impl Values {
    fn of_ticket(t: &Ticket) -> Values {
        let v = |ts: Option<Timestamp>| ts.map(input_value).unwrap_or_default();
        Values {
            description: t.description.clone(),
            start: v(t.times.start_time),
            end: v(t.times.end_time),
            expected: v(t.times.expected_resolution_time),
            next_update: v(t.times.next_update_time),
            closed: v(t.times.closed_time),
            reopened: v(t.times.reopened_time),
        }
    }

    fn of_form(f: &FormData) -> Values {
        Values {
            description: f.get("Description").to_owned(),
            start: f.get("StartTime").to_owned(),
            end: f.get("EndTime").to_owned(),
            expected: f.get("ExpectedResolutionTime").to_owned(),
            next_update: f.get("NextUpdateTime").to_owned(),
            closed: f.get("ClosedTime").to_owned(),
            reopened: f.get("ReopenedTime").to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "gui/tickets/form.html")]
struct FormPage {
    chrome: Chrome,
    /// The ticket being edited; `None` on the new-ticket form.
    editing: Option<i64>,
    values: Values,
    /// New ticket: every service, to tick. Editing: the ticket's (they cannot change).
    services: Vec<ServiceChoice>,
    ticket_services: Vec<String>,
    operators: Vec<OperatorChoice>,
    notify: bool,
    recipients: Recipients,
    /// Ask to confirm the number shown (it was not what the form had shown before).
    confirm: bool,
    version: String,
    errors: FieldErrors,
}

impl FormPage {
    fn action(&self) -> String {
        match self.editing {
            Some(id) => format!("/tickets/{id}"),
            None => "/tickets".to_owned(),
        }
    }
}

async fn operator_choices(
    store: &Store,
    selected: Option<i64>,
) -> Result<Vec<OperatorChoice>, StoreError> {
    store
        .list_operators(Page::default())
        .map_ok(|o| OperatorChoice {
            selected: Some(o.id) == selected,
            id: o.id,
            name: o.name,
        })
        .try_collect()
        .await
}

/// The new-ticket form, filled with `values`.
async fn new_ticket_page(
    state: &AppState,
    session: &Session,
    form: Option<&FormData>,
    errors: FieldErrors,
    confirm: bool,
) -> Result<FormPage, GuiError> {
    let store = &state.store;
    let (values, checked, operator, notify) = match form {
        Some(f) => {
            let op = f.get("Operator.Id").parse::<i64>().ok();
            (Values::of_form(f), f.service_ids(), op, f.checked("notify"))
        }
        None => (
            Values::default(),
            Vec::new(),
            Some(session.operator.id),
            true,
        ),
    };
    Ok(FormPage {
        chrome: Chrome::new(session, Nav::Tickets, "New ticket"),
        editing: None,
        values,
        recipients: recipients_of(store, &checked).await?,
        services: service_choices(store, &checked).await?,
        ticket_services: Vec::new(),
        operators: operator_choices(store, operator).await?,
        notify,
        confirm,
        version: String::new(),
        errors,
    })
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, GuiError> {
    render(&new_ticket_page(&state, &session, None, FieldErrors::none(), false).await?)
}

pub(super) async fn create(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    let again = |errors: FieldErrors, confirm: bool| {
        let (state, session, form) = (&state, &session, &form);
        async move {
            let page = new_ticket_page(state, session, Some(form), errors, confirm).await?;
            let status = if confirm {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            render_status(status, &page)
        }
    };
    let (new, _) = match parse_new_ticket(&form.doc(&[])) {
        Ok(parsed) => parsed,
        Err(model) => return again(model.into(), false).await,
    };
    let notify = form.checked("notify");
    if notify {
        let shown = recipients_of(&state.store, &new.services).await?;
        if form.get("recipients_seen") != shown.key {
            return again(FieldErrors::none(), true).await;
        }
    }
    let change = TicketChange {
        actor: session.actor(),
        address: session.address,
        notify,
        reminder_leads: state.settings.get().maintenance_reminders.clone(),
    };
    match state.store.create_ticket(&new, &change).await {
        Ok((ticket, _)) => {
            Ok(Notice::Created(Kind::Ticket).redirect(&format!("/tickets/{}", ticket.id)))
        }
        Err(e) => again(store_errors(e)?, false).await,
    }
}

async fn edit_page(
    state: &AppState,
    session: &Session,
    ticket: &Ticket,
    values: Values,
    notify: bool,
    errors: FieldErrors,
) -> Result<FormPage, GuiError> {
    Ok(FormPage {
        chrome: Chrome::new(session, Nav::Tickets, format!("Edit ticket #{}", ticket.id)),
        editing: Some(ticket.id),
        values,
        services: Vec::new(),
        ticket_services: service_names(ticket),
        operators: Vec::new(),
        notify,
        recipients: recipients_of(&state.store, &service_ids(ticket)).await?,
        confirm: false,
        version: etag::of(ticket),
        errors,
    })
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let ticket = state.store.get_ticket(parse_id(&id)?).await?;
    let values = Values::of_ticket(&ticket);
    render(&edit_page(&state, &session, &ticket, values, true, FieldErrors::none()).await?)
}

/// A time field the operator did not touch keeps its stored value exactly (the form shows
/// times to the millisecond; the API keeps 100 ns ticks).
fn untouched(
    submitted: &str,
    before: Option<Timestamp>,
    parsed: Option<Timestamp>,
) -> Option<Timestamp> {
    match before {
        Some(b) if submitted.trim() == input_value(b) => Some(b),
        _ => parsed,
    }
}

pub(super) async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let current = state.store.get_ticket(id).await?;
    let form = FormData::parse(&body)?;
    let notify = form.checked("notify");
    let again = |errors: FieldErrors, ticket: Ticket| {
        let (state, session, form) = (&state, &session, &form);
        async move {
            let page = edit_page(
                state,
                session,
                &ticket,
                Values::of_form(form),
                notify,
                errors,
            )
            .await?;
            render_status(StatusCode::BAD_REQUEST, &page)
        }
    };
    let (mut upd, _) = match parse_ticket_update(&form.doc(&[])) {
        Ok(parsed) => parsed,
        Err(model) => return again(model.into(), current).await,
    };
    let before = &current.times;
    upd.start_time = untouched(form.get("StartTime"), before.start_time, upd.start_time);
    upd.end_time = untouched(form.get("EndTime"), before.end_time, upd.end_time);
    upd.expected_resolution_time = untouched(
        form.get("ExpectedResolutionTime"),
        before.expected_resolution_time,
        upd.expected_resolution_time,
    );
    upd.next_update_time = untouched(
        form.get("NextUpdateTime"),
        before.next_update_time,
        upd.next_update_time,
    );
    upd.closed_time = untouched(form.get("ClosedTime"), before.closed_time, upd.closed_time);
    upd.reopened_time = untouched(
        form.get("ReopenedTime"),
        before.reopened_time,
        upd.reopened_time,
    );
    let version = form.get("version").to_owned();
    match apply(&state, &session, id, &upd, notify, &version).await {
        Ok(Some(_)) => Ok(Notice::Saved(Kind::Ticket).redirect(&format!("/tickets/{id}"))),
        Ok(None) => Ok(Notice::TicketUnchanged.redirect(&format!("/tickets/{id}"))),
        Err(e) => {
            let errors = store_errors(e)?;
            // Show the form against the ticket as it is now, so saving again is deliberate.
            again(errors, state.store.get_ticket(id).await?).await
        }
    }
}

/// Applies an update made on a page that showed the ticket at `version`.
pub(super) async fn apply(
    state: &AppState,
    session: &Session,
    id: i64,
    update: &TicketUpdate,
    notify: bool,
    version: &str,
) -> Result<Option<TicketEvent>, StoreError> {
    let change = TicketChange {
        actor: session.actor(),
        address: session.address,
        notify,
        reminder_leads: state.settings.get().maintenance_reminders.clone(),
    };
    let check = |t: &Ticket| etag::of(t) == version;
    let (_, event) = state
        .store
        .update_ticket(id, update, &change, Some(&check))
        .await?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::datetime;

    #[test]
    fn untouched_times_keep_their_precision() {
        let exact = datetime::parse("2026-11-27T14:30:00.123456Z");
        let shown = input_value(exact.unwrap());
        assert_eq!(untouched(&shown, exact, datetime::parse(&shown)), exact);
        let other = datetime::parse("2026-11-27T15:00:00Z");
        assert_eq!(untouched("2026-11-27T15:00", exact, other), other);
        assert_eq!(untouched("", exact, None), None);
    }
}
