//! The public calendar of planned work (`text/calendar`, `METHOD:PUBLISH`): all public
//! services at `/status/calendar.ics`, one at `/status/services/{id}/calendar.ics`. A
//! calendar that subscribes to it shows each piece of planned work once, under the same `UID`
//! and `SEQUENCE` as the invitations in the emails (`domain::calendar`), so it moves there when
//! the work is rescheduled, and shows as cancelled when it was called off before it began.
//! Private services and their tickets never appear; a ticket about several services names
//! only the public ones. `status_page=off` makes both a 404.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::domain::calendar::{self, Method, TicketCalendarEvent};
use crate::domain::ticket::Lifecycle;
use crate::state::AppState;
use crate::store::{PublicPlannedWork, StoreError};

/// How far back the feed reaches: work that began in the last two weeks stays in it.
const KEPT_FOR: Duration = Duration::from_secs(14 * 24 * 3600);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/status/calendar.ics", get(all_services))
        .route("/status/services/{id}/calendar.ics", get(one_service))
}

async fn all_services(State(state): State<AppState>) -> Response {
    feed(&state, None).await
}

async fn one_service(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match id.parse::<i64>() {
        Ok(id) if id > 0 => feed(&state, Some(id)).await,
        _ => not_found(),
    }
}

async fn feed(state: &AppState, service: Option<i64>) -> Response {
    if !state.settings.get().status_page {
        return not_found();
    }
    if let Some(id) = service {
        match state.store.get_service(id).await {
            Ok(s) if s.is_public => {}
            Ok(_) | Err(StoreError::NotFound) => return not_found(),
            Err(e) => return failed(e),
        }
    }
    let since = state.clock.now().minus(KEPT_FOR);
    let work = match state.store.public_planned_work(service, since).await {
        Ok(work) => work,
        Err(e) => return failed(e),
    };
    let host = calendar::host_of(&state.settings.base_url());
    let text = calendar::calendar(Method::Publish, work.iter().filter_map(|w| event(w, &host)));
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        text,
    )
        .into_response()
}

/// One piece of planned work as a calendar event; cancelled when it was closed before it began.
fn event(work: &PublicPlannedWork, host: &str) -> Option<icalendar::Event> {
    let summary = format!("Planned maintenance: {}", work.services.join(", "));
    let called_off = work.times.lifecycle() == Lifecycle::Closed
        && matches!((work.times.closed_time, work.times.start_time),
            (Some(closed), Some(start)) if closed < start);
    TicketCalendarEvent {
        ticket_id: work.ticket_id,
        host,
        sequence: work.changes.saturating_sub(1),
        times: &work.times,
        summary: &summary,
        description: &work.description,
        url: None,
        organizer: None,
        stamp: work.last_event,
        cancelled: called_off,
    }
    .build()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "There is no such calendar.\n",
    )
        .into_response()
}

fn failed(e: StoreError) -> Response {
    match e {
        StoreError::Unavailable(_) | StoreError::StorageFull(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "The calendar cannot be read right now; try again shortly.\n",
        )
            .into_response(),
        e => {
            tracing::error!(error = %crate::telemetry::error_chain(&e), "calendar feed failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The calendar could not be made.\n",
            )
                .into_response()
        }
    }
}
