//! Tickets: the list (open first), a ticket's page (fields, history, deliveries, close and
//! reopen), the create and edit forms, and deletion.
//!
//! Forms use the API's field names and its parsers ([`parse_new_ticket`],
//! [`parse_ticket_update`]); changes go through the same store functions as the API, with the
//! signed-in operator as the actor and the "Notify customers" box as `notify`.
//!
//! Before a ticket is posted with "Notify customers" ticked, the operator has seen how many
//! customers will be emailed: the form carries the (services, count) it showed in
//! `recipients_seen`, and the server posts only when that is still what it would send to;
//! otherwise it shows the form again with the number and asks to confirm. The optional script
//! keeps the number current while services are ticked, so with it one click is enough.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::TryStreamExt;
use serde::Deserialize;

use super::deliveries::{Deliveries, DeliveriesSection};
use super::form::{service_choices, store_errors, FieldErrors, FormData, ServiceChoice};
use super::page::{
    deleted, input_value, parse_id, render, render_status, see_other, utc_text, Chrome,
    ConfirmPage, Done, GuiError, Nav, Paging, When,
};
use super::session::Session;
use crate::domain::ticket::EventKind;
use crate::domain::{Description, Ticket, TicketUpdate, Timestamp};
use crate::notify::MailStatus;
use crate::state::AppState;
use crate::store::{
    DeliveryCounts, Page, Store, StoreError, TicketChange, TicketEvent, TicketListFilter,
    TicketState,
};
use crate::wire::datetime;
use crate::wire::etag;
use crate::wire::model::{parse_new_ticket, parse_ticket_update};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(list).post(create))
        .route("/tickets/new", get(new_form))
        .route("/tickets/recipients", get(recipients))
        .route("/tickets/{id}", get(show).post(update))
        .route("/tickets/{id}/edit", get(edit_form))
        .route("/tickets/{id}/deliveries", get(deliveries_section))
        .route("/tickets/{id}/close", post(close))
        .route("/tickets/{id}/reopen", post(reopen))
        .route("/tickets/{id}/delete", get(confirm_delete).post(delete))
}

/// A ticket's state as operators talk about it, with its badge colour.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub label: &'static str,
    pub class: &'static str,
}

fn status(t: &Ticket, now: Timestamp) -> Status {
    let (label, class) = if t.is_closed() {
        ("Resolved", "badge-closed")
    } else if t.times.reopened_time.is_some() {
        ("Reopened", "badge-reopened")
    } else if t.times.start_time.is_some_and(|s| s > now) {
        ("Planned", "badge-planned")
    } else {
        ("Open", "badge-open")
    };
    Status { label, class }
}

/// An open ticket whose promised next update is past.
fn overdue(t: &Ticket, now: Timestamp) -> bool {
    !t.is_closed() && t.times.next_update_time.is_some_and(|n| n < now)
}

/// The first line of a description and the start of the next, shortened for a list.
fn headline(description: &str) -> (String, String) {
    let mut lines = description.lines().map(str::trim).filter(|l| !l.is_empty());
    let shorten = |line: &str, max: usize| {
        let mut out: String = line.chars().take(max).collect();
        if out.len() < line.len() {
            out.push('…');
        }
        out
    };
    let first = lines.next().map(|l| shorten(l, 140)).unwrap_or_default();
    let second = lines.next().map(|l| shorten(l, 110)).unwrap_or_default();
    (first, second)
}

fn service_names(t: &Ticket) -> Vec<String> {
    t.services.iter().map(|s| s.name.clone()).collect()
}

fn service_ids(t: &Ticket) -> Vec<i64> {
    t.services.iter().map(|s| s.id).collect()
}

// ---------------------------------------------------------------- list

#[derive(Debug, Clone)]
struct Row {
    id: i64,
    headline: String,
    detail: String,
    services: Vec<String>,
    status: Status,
    start: Option<When>,
    expected: Option<When>,
    next_update: Option<When>,
    overdue: bool,
    closed: bool,
    emails: DeliveryCounts,
}

#[derive(Debug, Clone)]
struct Tab {
    key: &'static str,
    label: &'static str,
    count: i64,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "gui/tickets/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    tabs: Vec<Tab>,
    state: &'static str,
    services: Vec<ServiceChoice>,
    service_filtered: bool,
    page: i64,
    pages: i64,
    total: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    service: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

fn list_href(state: &str, service: Option<i64>, page: i64) -> String {
    let mut href = format!("/tickets?state={state}");
    if let Some(s) = service {
        href.push_str(&format!("&service={s}"));
    }
    if page > 1 {
        href.push_str(&format!("&page={page}"));
    }
    href
}

async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, GuiError> {
    let store = &state.store;
    let now = Timestamp::now();
    let (key, wanted) = match q.state.as_deref() {
        Some("open") => ("open", TicketState::Open),
        Some("closed") => ("closed", TicketState::Closed),
        _ => ("all", TicketState::All),
    };
    let service_id = q.service.as_deref().and_then(|s| s.parse::<i64>().ok());
    let filter = TicketListFilter {
        state: wanted,
        service_id,
    };
    let mut tabs = Vec::new();
    for (k, label, s) in [
        ("all", "All", TicketState::All),
        ("open", "Open", TicketState::Open),
        ("closed", "Resolved", TicketState::Closed),
    ] {
        let count = store
            .count_tickets(TicketListFilter {
                state: s,
                service_id,
            })
            .await?;
        tabs.push(Tab {
            key: k,
            label,
            count,
            href: list_href(k, service_id, 1),
            current: k == key,
        });
    }
    let total = tabs.iter().find(|t| t.current).map_or(0, |t| t.count);
    let paging = Paging::of(total, q.page.as_deref());
    let tickets = store.ticket_overview(filter, paging.window()).await?;
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let mut emails = store.delivery_counts_by_ticket(&ids).await?;
    let rows = tickets
        .iter()
        .map(|t| {
            let (headline, detail) = headline(&t.description);
            Row {
                id: t.id,
                headline,
                detail,
                services: service_names(t),
                status: status(t, now),
                start: When::opt(t.times.start_time, now),
                expected: When::opt(t.times.expected_resolution_time, now),
                next_update: When::opt(t.times.next_update_time, now),
                overdue: overdue(t, now),
                closed: t.is_closed(),
                emails: emails.remove(&t.id).unwrap_or_default(),
            }
        })
        .collect();
    let services = service_choices(store, service_id.as_slice()).await?;
    let page_view = ListPage {
        chrome: Chrome::new(&session, Nav::Tickets, "Tickets").with_notice(q.done.as_deref()),
        rows,
        tabs,
        state: key,
        services,
        service_filtered: service_id.is_some(),
        page: paging.page,
        pages: paging.pages,
        total,
        prev_href: paging.previous().map(|p| list_href(key, service_id, p)),
        next_href: paging.next().map(|p| list_href(key, service_id, p)),
    };
    render(&page_view)
}

// ---------------------------------------------------------------- recipients

/// What the form says about who will be emailed, and the token that proves it was shown.
#[derive(Debug, Clone, serde::Serialize)]
struct Recipients {
    count: i64,
    key: String,
    text: String,
}

async fn recipients_of(store: &Store, services: &[i64]) -> Result<Recipients, StoreError> {
    let mut ids = services.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let count = store.count_recipients(&ids).await?;
    let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
    let text = match (ids.len(), count) {
        (0, _) => "No service is selected, so nobody will be emailed.".to_owned(),
        (_, 0) => "Nobody with an email address follows these services yet.".to_owned(),
        (_, 1) => "1 customer will be emailed.".to_owned(),
        (_, n) => format!("{n} customers will be emailed."),
    };
    Ok(Recipients {
        count,
        key: format!("{}:{count}", joined.join(",")),
        text,
    })
}

#[derive(Deserialize)]
struct RecipientsQuery {
    services: Option<String>,
}

/// `GET /tickets/recipients?services=1,3`: the number the new-ticket form shows (for its script).
async fn recipients(
    State(state): State<AppState>,
    _session: Session,
    Query(q): Query<RecipientsQuery>,
) -> Result<Response, GuiError> {
    let ids: Vec<i64> = q
        .services
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Ok(Json(recipients_of(&state.store, &ids).await?).into_response())
}

// ---------------------------------------------------------------- forms

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

async fn new_form(State(state): State<AppState>, session: Session) -> Result<Response, GuiError> {
    render(&new_ticket_page(&state, &session, None, FieldErrors::none(), false).await?)
}

async fn create(
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
        notify,
    };
    match state.store.create_ticket(&new, &change).await {
        Ok((ticket, _)) => Ok(see_other(&format!(
            "/tickets/{}?done=ticket-created",
            ticket.id
        ))),
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

async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let ticket = state.store.get_ticket(parse_id(&id)?).await?;
    let values = Values::of_ticket(&ticket);
    render(&edit_page(&state, &session, &ticket, values, true, FieldErrors::none()).await?)
}

/// A time field the operator did not touch keeps its stored value exactly (the form shows
/// times to the millisecond; the API keeps microseconds).
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

async fn update(
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
        Ok(Some(_)) => Ok(see_other(&format!("/tickets/{id}?done=ticket-saved"))),
        Ok(None) => Ok(see_other(&format!("/tickets/{id}?done=ticket-unchanged"))),
        Err(e) => {
            let errors = store_errors(e)?;
            // Show the form against the ticket as it is now, so saving again is deliberate.
            again(errors, state.store.get_ticket(id).await?).await
        }
    }
}

/// Applies an update made on a page that showed the ticket at `version`.
async fn apply(
    state: &AppState,
    session: &Session,
    id: i64,
    update: &TicketUpdate,
    notify: bool,
    version: &str,
) -> Result<Option<TicketEvent>, StoreError> {
    let change = TicketChange {
        actor: session.actor(),
        notify,
    };
    let check = |t: &Ticket| etag::of(t) == version;
    let (_, event) = state
        .store
        .update_ticket(id, update, &change, Some(&check))
        .await?;
    Ok(event)
}

// ---------------------------------------------------------------- close and reopen

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

async fn close(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    lifecycle(state, session, id, body, EventKind::Closed).await
}

async fn reopen(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    lifecycle(state, session, id, body, EventKind::Reopened).await
}

async fn confirm_delete(
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
        "ticket",
        ticket.id,
        format!("Delete ticket #{}?", ticket.id),
        format!(
            "“{headline}” disappears from the lists and from the API, and nobody is emailed about it \
             again: {waiting} message(s) not sent yet are cancelled. Messages already sent stay sent."
        ),
    ))
}

async fn delete(
    State(state): State<AppState>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    state.store.delete_ticket(parse_id(&id)?, None).await?;
    Ok(deleted("ticket"))
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
    let now = Timestamp::now();
    let mut update = unchanged(&ticket)?;
    let done = match kind {
        EventKind::Closed => {
            update.closed_time = Some(ticket.times.closing_time(now));
            "ticket-closed"
        }
        _ => {
            update.reopened_time = Some(ticket.times.reopening_time(now));
            "ticket-reopened"
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
        Ok(None) => "ticket-unchanged",
        Err(StoreError::PreconditionFailed) => "ticket-changed",
        Err(e) => return Err(e.into()),
    };
    Ok(see_other(&format!("/tickets/{id}?done={done}")))
}

// ---------------------------------------------------------------- the ticket page

#[derive(Debug, Clone)]
struct ChangeView {
    field: &'static str,
    before: String,
    after: String,
}

#[derive(Debug, Clone)]
struct EventView {
    kind: &'static str,
    class: &'static str,
    actor: String,
    at: When,
    notify: bool,
    changes: Vec<ChangeView>,
}

fn field_label(field: &str) -> &'static str {
    match field {
        "Description" => "Description",
        "StartTime" => "Start",
        "EndTime" => "End",
        "ExpectedResolutionTime" => "Expected resolution",
        "NextUpdateTime" => "Next update",
        "ClosedTime" => "Closed",
        "ReopenedTime" => "Reopened",
        _ => "Field",
    }
}

/// A recorded value as people read it: times in UTC words, nothing as a dash.
fn shown_value(value: Option<&str>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) => match datetime::parse(v) {
            Some(ts) if v.ends_with('Z') => utc_text(ts),
            _ => v.to_owned(),
        },
    }
}

fn event_view(e: &TicketEvent, now: Timestamp) -> EventView {
    let (kind, class) = match e.kind {
        EventKind::Created => ("Created", "ev-created"),
        EventKind::Updated => ("Updated", "ev-updated"),
        EventKind::Closed => ("Closed", "ev-closed"),
        EventKind::Reopened => ("Reopened", "ev-reopened"),
    };
    EventView {
        kind,
        class,
        actor: e.actor.clone(),
        at: When::of(e.at, now),
        notify: e.notify,
        changes: e
            .changes
            .iter()
            .map(|c| ChangeView {
                field: field_label(&c.field),
                before: shown_value(c.before.as_deref()),
                after: shown_value(c.after.as_deref()),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "gui/tickets/show.html")]
struct ShowPage {
    chrome: Chrome,
    id: i64,
    description: String,
    status: Status,
    overdue: bool,
    closed: bool,
    services: Vec<String>,
    operator: Option<String>,
    start: Option<When>,
    end: Option<When>,
    expected: Option<When>,
    next_update: Option<When>,
    closed_at: Option<When>,
    reopened_at: Option<When>,
    created: When,
    recipients: i64,
    version: String,
    events: Vec<EventView>,
    deliveries: DeliveriesSection,
}

async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let store = &state.store;
    let t = store.get_ticket(id).await?;
    let now = Timestamp::now();
    let events = store.ticket_events(id).await?;
    let deliveries = deliveries_of(&state, &t, now).await?;
    let page = ShowPage {
        chrome: Chrome::new(&session, Nav::Tickets, format!("Ticket #{id}"))
            .with_notice(q.done.as_deref()),
        id,
        description: t.description.clone(),
        status: status(&t, now),
        overdue: overdue(&t, now),
        closed: t.is_closed(),
        services: service_names(&t),
        operator: t.operator.as_ref().map(|o| o.name.clone()),
        start: When::opt(t.times.start_time, now),
        end: When::opt(t.times.end_time, now),
        expected: When::opt(t.times.expected_resolution_time, now),
        next_update: When::opt(t.times.next_update_time, now),
        closed_at: When::opt(t.times.closed_time, now),
        reopened_at: When::opt(t.times.reopened_time, now),
        created: When::of(t.created_time, now),
        recipients: deliveries.recipients,
        version: etag::of(&t),
        events: events.iter().rev().map(|e| event_view(e, now)).collect(),
        deliveries,
    };
    render(&page)
}

/// The deliveries section alone, for the ticket page's script.
async fn deliveries_section(
    State(state): State<AppState>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let ticket = state.store.get_ticket(parse_id(&id)?).await?;
    render(&deliveries_of(&state, &ticket, Timestamp::now()).await?)
}

async fn deliveries_of(
    state: &AppState,
    ticket: &Ticket,
    now: Timestamp,
) -> Result<DeliveriesSection, GuiError> {
    let mail = MailStatus::of(&state.settings.get());
    Ok(DeliveriesSection {
        id: ticket.id,
        recipients: state.store.count_recipients(&service_ids(ticket)).await?,
        deliveries: Deliveries::of_ticket(&state.store, ticket.id, &mail, now).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_are_first_lines() {
        assert_eq!(
            headline("Mail is down"),
            ("Mail is down".into(), String::new())
        );
        assert_eq!(
            headline("\nMail is down\n\n more \nand more"),
            ("Mail is down".into(), "more".into())
        );
        assert_eq!(headline(&"x".repeat(200)).0.chars().count(), 141);
    }

    #[test]
    fn untouched_times_keep_their_precision() {
        let exact = datetime::parse("2026-11-27T14:30:00.123456Z");
        let shown = input_value(exact.unwrap());
        assert_eq!(untouched(&shown, exact, datetime::parse(&shown)), exact);
        let other = datetime::parse("2026-11-27T15:00:00Z");
        assert_eq!(untouched("2026-11-27T15:00", exact, other), other);
        assert_eq!(untouched("", exact, None), None);
    }

    #[test]
    fn recorded_values_read_well() {
        assert_eq!(shown_value(None), "—");
        assert_eq!(
            shown_value(Some("2026-11-27T14:30:00Z")),
            "27 Nov 2026 14:30 UTC"
        );
        assert_eq!(shown_value(Some("<b>x</b>")), "<b>x</b>");
    }
}
