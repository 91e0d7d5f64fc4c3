//! The list of tickets: open first, by state and service, a page at a time.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{headline, overdue, service_names, status, Status};
use crate::domain::DeliveryCounts;
use crate::gui::form::{service_choices, ServiceChoice};
use crate::gui::page::{notice_code, render, Chrome, GuiError, Nav, Notice, Paging, When};
use crate::gui::session::Session;
use crate::gui::webhooks::TurnedOff;
use crate::state::AppState;
use crate::store::{TicketListFilter, TicketState};

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
    /// Its messages by channel (the channel's name for people), the channels that have some.
    deliveries: Vec<(&'static str, DeliveryCounts)>,
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
    /// The webhooks Herald turned off.
    turned_off: TurnedOff,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    state: Option<String>,
    service: Option<String>,
    page: Option<String>,
    #[serde(default, deserialize_with = "notice_code")]
    done: Option<Notice>,
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

pub(super) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, GuiError> {
    let store = &state.store;
    let now = store.now();
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
    let mut deliveries = store.delivery_counts_by_ticket_channel(&ids).await?;
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
                deliveries: deliveries
                    .remove(&t.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(channel, counts)| (channel.label(), counts))
                    .collect(),
            }
        })
        .collect();
    let services = service_choices(store, service_id.as_slice()).await?;
    let page_view = ListPage {
        chrome: Chrome::new(&session, Nav::Tickets, "Tickets").with_notice(q.done),
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
        turned_off: TurnedOff::read(store).await?,
    };
    render(&page_view)
}
