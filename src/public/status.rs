//! The public status page `/status` and a page per ticket `/status/tickets/{id}`: the state of
//! every public service at the top, what is happening now, planned work ahead, and what was
//! resolved in the last 14 days; a ticket's page adds its public history. Private services and
//! the tickets only about them are never shown (a ticket's page is then a 404).

use std::time::Duration;

use askama::Template;

use super::cache::Output;
use super::frame::PublicError;
use super::frame::{self, Alternate};
use super::history::{self, Step};
use super::view::{self, ServiceView, Sorted, State, TicketView};
use crate::domain::Timestamp;
use crate::live_settings::Snapshot;
use crate::store::{Store, StoreError};

/// How long resolved tickets stay on the page and in the feeds.
pub const RESOLVED_FOR: Duration = Duration::from_secs(14 * 24 * 3600);

const HTML: &str = "text/html; charset=utf-8";

#[derive(Template)]
#[template(path = "public/status.html")]
struct StatusPage {
    organisation: String,
    alternates: Vec<Alternate>,
    overall: State,
    headline: String,
    summary: String,
    services: Vec<ServiceView>,
    sorted: Sorted,
    /// Self-subscription is on: the page offers its form (`/status/subscribe`).
    subscribe: bool,
}

#[derive(Template)]
#[template(path = "public/status_ticket_page.html")]
struct TicketPage {
    organisation: String,
    alternates: Vec<Alternate>,
    t: TicketView,
    steps: Vec<Step>,
}

/// The status page as of `now`.
pub async fn status_page(
    store: &Store,
    settings: &Snapshot,
    now: Timestamp,
) -> Result<Output, PublicError> {
    let board = store.public_board(now.minus(RESOLVED_FOR)).await?;
    let (services, overall, sorted) = view::board(&board, now);
    let (headline, summary) = headline(overall, &services, &sorted);
    let organisation = frame::organisation(settings);
    let page = StatusPage {
        alternates: frame::feeds("/status", &format!("{organisation} status")),
        organisation,
        overall,
        headline,
        summary,
        services,
        sorted,
        subscribe: settings.self_subscription,
    };
    Ok(Some((page.render()?, HTML)))
}

/// A public ticket's page as of `now`; `None` for a ticket that is not public.
pub async fn ticket_page(
    store: &Store,
    settings: &Snapshot,
    id: i64,
    now: Timestamp,
) -> Result<Output, PublicError> {
    let (ticket, events) = match store.public_ticket(id).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let organisation = frame::organisation(settings);
    let page = TicketPage {
        alternates: frame::feeds("/status", &format!("{organisation} status")),
        organisation,
        steps: history::steps(&ticket.ticket, &events, now),
        t: TicketView::of(&ticket, now),
    };
    Ok(Some((page.render()?, HTML)))
}

/// What the banner at the top says.
fn headline(overall: State, services: &[ServiceView], sorted: &Sorted) -> (String, String) {
    let affected = |state: State| services.iter().filter(|s| s.state == state).count();
    let planned = match sorted.planned.len() {
        0 => String::new(),
        1 => " One piece of planned work is scheduled.".to_owned(),
        n => format!(" {n} pieces of planned work are scheduled."),
    };
    match overall {
        State::Operational => (
            "All systems operational".to_owned(),
            format!("Everything is working as it should.{planned}"),
        ),
        State::Disruption => {
            let n = affected(State::Disruption);
            (
                if n == 1 {
                    "A service is disrupted".to_owned()
                } else {
                    format!("{n} services are disrupted")
                },
                format!("We are working on it; updates follow below.{planned}"),
            )
        }
        State::WorkUnderWay => (
            "Planned work under way".to_owned(),
            format!(
                "{} affected by planned work; everything else is operational.",
                match affected(State::WorkUnderWay) {
                    1 => "One service is".to_owned(),
                    n => format!("{n} services are"),
                }
            ),
        ),
    }
}
