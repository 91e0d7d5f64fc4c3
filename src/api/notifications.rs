//! `GET /api/Tickets/{id}/Notifications`: each recipient of each of the ticket's events, with
//! the state of their email (queued, sent, retrying, failed, cancelled), attempts and times.
//! The notifications of a deleted ticket stay visible (they show as cancelled if unsent).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::error::ApiError;
use super::params::parse_id;
use super::resource::Ctx;
use super::AppState;
use crate::domain::{DeliveryState, Notification};
use crate::domain::{Ticket, Timestamp};
use crate::wire::datetime;
use crate::wire::model::WireEntity;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/tickets/{id}/notifications", get(list))
}

/// One recipient of one ticket event, and what became of the email.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Notification)]
pub struct NotificationDto {
    pub id: i64,
    pub event_id: i64,
    /// created, updated, closed, reopened, deleted (planned work called off), reminder
    /// (before planned work) or overdue (a promised update, to the operator).
    #[schema(value_type = String)]
    pub event: &'static str,
    pub customer_id: Option<i64>,
    pub name: String,
    pub email: String,
    /// queued, sent, retrying, failed or cancelled.
    #[schema(value_type = String)]
    pub state: &'static str,
    pub attempts: i64,
    #[schema(format = DateTime)]
    pub queued_time: String,
    #[schema(format = DateTime)]
    pub last_attempt_time: Option<String>,
    #[schema(format = DateTime)]
    pub next_attempt_time: Option<String>,
    #[schema(format = DateTime)]
    pub sent_time: Option<String>,
    /// The mail server's reply when it accepted the message.
    pub reply: Option<String>,
    /// The last failure, while retrying or once failed.
    pub last_error: Option<String>,
}

impl WireEntity for Notification {
    const NAME: &'static str = "Notification";
    const MODEL: &'static str = "notification";
    type Dto = NotificationDto;

    fn to_wire(&self) -> NotificationDto {
        let time = |ts: Option<Timestamp>| ts.map(datetime::format);
        let (reply, last_error) = match self.state {
            DeliveryState::Sent => (self.reply.clone(), None),
            DeliveryState::Retrying | DeliveryState::Failed => (None, self.reply.clone()),
            // A cancelled message may have failed before its ticket was deleted.
            DeliveryState::Queued | DeliveryState::Cancelled => {
                (None, self.reply.clone().filter(|r| !r.is_empty()))
            }
        };
        NotificationDto {
            id: self.id,
            event_id: self.event_id,
            event: self.event.as_str(),
            customer_id: self.customer_id,
            name: self.name.clone(),
            email: self.email.clone(),
            state: self.state.as_str(),
            attempts: self.attempts,
            queued_time: datetime::format(self.queued_at),
            last_attempt_time: time(self.last_attempt_at),
            next_attempt_time: time(self.next_attempt_at),
            sent_time: time(self.sent_at),
            reply,
            last_error,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let exists = state
        .store
        .ticket_ever_existed(id)
        .await
        .map_err(|e| ApiError::from_store(Ticket::MODEL, e))?;
    if !exists {
        return Err(ApiError::not_found(Ticket::MODEL, id));
    }
    ctx.list(state.store.ticket_notifications(id)).await
}
