//! A ticket's page: its fields, its history and its deliveries (also served alone, for the
//! page's script).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::{overdue, service_ids, service_names, status, Status};
use crate::domain::ticket::EventKind;
use crate::domain::{FieldValue, Ticket, TicketEvent, TicketField, Timestamp};
use crate::gui::deliveries::{Deliveries, DeliveriesSection};
use crate::gui::page::{parse_id, render, utc_text, Chrome, Done, GuiError, Nav, When};
use crate::gui::session::Session;
use crate::notify::templates::duration_words;
use crate::notify::MailStatus;
use crate::state::AppState;
use crate::store::schedule::{JobKind, PlannedJob};
use crate::wire::etag;

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

fn field_label(field: TicketField) -> &'static str {
    match field {
        TicketField::Description => "Description",
        TicketField::StartTime => "Start",
        TicketField::EndTime => "End",
        TicketField::ExpectedResolutionTime => "Expected resolution",
        TicketField::NextUpdateTime => "Next update",
        TicketField::ClosedTime => "Closed",
        TicketField::ReopenedTime => "Reopened",
    }
}

/// A recorded value as people read it: times in UTC words, nothing as a dash.
fn shown_value(value: Option<&FieldValue>) -> String {
    match value {
        None => "—".to_owned(),
        Some(FieldValue::Text(text)) => text.clone(),
        Some(FieldValue::Time(ts)) => utc_text(*ts),
    }
}

fn event_view(e: &TicketEvent, now: Timestamp) -> EventView {
    let (kind, class) = match e.kind {
        EventKind::Created => ("Created", "ev-created"),
        EventKind::Updated => ("Updated", "ev-updated"),
        EventKind::Closed => ("Closed", "ev-closed"),
        EventKind::Reopened => ("Reopened", "ev-reopened"),
        EventKind::Reminder => ("Reminder sent", "ev-reminder"),
        EventKind::ReminderDropped => (
            "Reminder dropped (its time passed while Herald was stopped, after the work began)",
            "ev-reminder",
        ),
        EventKind::Overdue => ("Promised update overdue: operator told", "ev-overdue"),
        EventKind::Deleted => ("Deleted", "ev-closed"),
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
                field: field_label(c.field),
                before: shown_value(c.before.as_ref()),
                after: shown_value(c.after.as_ref()),
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
    /// The reminders and notices still to come.
    planned: Vec<PlannedView>,
}

/// A job the scheduler will run for this ticket, as the page shows it.
#[derive(Debug, Clone)]
struct PlannedView {
    what: String,
    at: When,
}

fn planned_view(job: &PlannedJob, now: Timestamp) -> PlannedView {
    let what = match (job.kind, job.lead) {
        (JobKind::Reminder, Some(lead)) => format!(
            "Reminder to the followers, {} before the start",
            duration_words(lead)
        ),
        (JobKind::Reminder, None) => "Reminder to the followers".to_owned(),
        (JobKind::Overdue, _) => "Notice to the operator if no update is posted by then".to_owned(),
    };
    PlannedView {
        what,
        at: When::of(job.due_at, now),
    }
}

pub(super) async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let store = &state.store;
    let t = store.get_ticket(id).await?;
    let now = store.now();
    let events = store.ticket_events(id).await?;
    let planned = store.planned_jobs(id).await?;
    let deliveries = deliveries_of(&state, &t, now).await?;
    let page = ShowPage {
        chrome: Chrome::new(&session, Nav::Tickets, format!("Ticket #{id}")).with_notice(q.done),
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
        planned: planned.iter().map(|j| planned_view(j, now)).collect(),
    };
    render(&page)
}

/// The deliveries section alone, for the ticket page's script.
pub(super) async fn deliveries_section(
    State(state): State<AppState>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let ticket = state.store.get_ticket(parse_id(&id)?).await?;
    render(&deliveries_of(&state, &ticket, state.store.now()).await?)
}

async fn deliveries_of(
    state: &AppState,
    ticket: &Ticket,
    now: Timestamp,
) -> Result<DeliveriesSection, GuiError> {
    let mail = MailStatus::of(&state.settings.get());
    Ok(DeliveriesSection {
        id: ticket.id,
        recipients: state
            .store
            .count_recipients(&service_ids(ticket))
            .await?
            .emailed,
        deliveries: Deliveries::of_ticket(&state.store, ticket.id, &mail, now).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::datetime;

    #[test]
    fn recorded_values_read_well() {
        assert_eq!(shown_value(None), "—");
        let time = FieldValue::Time(datetime::parse("2026-11-27T14:30:00Z").unwrap());
        assert_eq!(shown_value(Some(&time)), "27 Nov 2026 14:30 UTC");
        let html = FieldValue::Text("<b>x</b>".into());
        assert_eq!(shown_value(Some(&html)), "<b>x</b>");
        // A description that looks like a time is shown as written.
        let text = FieldValue::Text("2026-11-27T14:30:00Z".into());
        assert_eq!(shown_value(Some(&text)), "2026-11-27T14:30:00Z");
    }
}
