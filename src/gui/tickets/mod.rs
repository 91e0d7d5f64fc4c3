//! Tickets: the list (open first), a ticket's page (fields, history, deliveries, close and
//! reopen), the create and edit forms, and deletion.
//!
//! Forms use the API's field names and its parsers (`parse_new_ticket`,
//! `parse_ticket_update`); changes go through the same store functions as the API, with the
//! signed-in operator as the actor and the "Notify customers" box as `notify`.
//!
//! Before a ticket is posted with "Notify customers" ticked, the operator has seen how many
//! customers will be emailed: the form carries the (services, count) it showed in
//! `recipients_seen`, and the server posts only when that is still what it would send to;
//! otherwise it shows the form again with the number and asks to confirm. The optional script
//! keeps the number current while services are ticked, so with it one click is enough.

mod close;
mod delete;
mod form;
mod list;
mod recipients;
mod show;

use axum::routing::{get, post};
use axum::Router;

use crate::domain::{Ticket, Timestamp};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(list::list).post(form::create))
        .route("/tickets/new", get(form::new_form))
        .route("/tickets/recipients", get(recipients::recipients))
        .route("/tickets/{id}", get(show::show).post(form::update))
        .route("/tickets/{id}/edit", get(form::edit_form))
        .route("/tickets/{id}/deliveries", get(show::deliveries_section))
        .route("/tickets/{id}/close", post(close::close))
        .route("/tickets/{id}/reopen", post(close::reopen))
        .route(
            "/tickets/{id}/delete",
            get(delete::confirm_delete).post(delete::delete),
        )
}

/// A ticket's state as operators talk about it, with its badge colour.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub label: &'static str,
    pub class: &'static str,
}

pub(super) fn status(t: &Ticket, now: Timestamp) -> Status {
    let (label, class) = if t.is_closed() {
        ("Resolved", "badge-closed")
    } else if t.times.reopened_time.is_some() {
        ("Reopened", "badge-reopened")
    } else if t.times.start_time.is_some_and(|s| s > now) {
        ("Planned maintenance", "badge-planned")
    } else {
        ("Open", "badge-open")
    };
    Status { label, class }
}

/// An open ticket whose promised next update is past.
pub(super) fn overdue(t: &Ticket, now: Timestamp) -> bool {
    !t.is_closed() && t.times.next_update_time.is_some_and(|n| n < now)
}

/// The first line of a description and the start of the next, shortened for a list.
pub(super) fn headline(description: &str) -> (String, String) {
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

pub(super) fn service_names(t: &Ticket) -> Vec<String> {
    t.services.iter().map(|s| s.name.clone()).collect()
}

pub(super) fn service_ids(t: &Ticket) -> Vec<i64> {
    t.services.iter().map(|s| s.id).collect()
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
}
