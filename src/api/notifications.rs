//! `GET /api/Tickets/{id}/Notifications`: each recipient of each of the ticket's events on each
//! channel (email, sms, webhook), with the state of the message (queued, sent, delivered,
//! undelivered, retrying, failed, cancelled, skipped), attempts and times.
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
use crate::domain::{Channel, DeliveryState, Notification};
use crate::domain::{Ticket, Timestamp};
use crate::wire::datetime;
use crate::wire::model::WireEntity;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/tickets/{id}/notifications", get(list))
}

/// One recipient of one ticket event on one channel, and what became of the message.
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
    /// The email address (email messages only; see `Address`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// email, sms or webhook.
    #[schema(value_type = String)]
    pub channel: &'static str,
    /// The email address, the cell phone number (E.164) or the webhook's URL.
    pub address: String,
    /// queued, sent (the server took it), delivered (the recipient has it: a webhook's 2xx, an
    /// SMS receipt), undelivered (an SMS receipt said not), retrying, failed, cancelled or
    /// skipped (never attempted: a cell phone number that cannot be normalised, with why in
    /// `LastError`).
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
    /// The server's reply when it accepted (or delivered) the message.
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
            DeliveryState::Sent | DeliveryState::Delivered | DeliveryState::Undelivered => {
                (self.reply.clone(), None)
            }
            // A skipped message's why (the number that cannot be read) is its error.
            DeliveryState::Retrying | DeliveryState::Failed | DeliveryState::Skipped => {
                (None, self.reply.clone())
            }
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
            email: (self.channel == Channel::Email).then(|| self.address.clone()),
            channel: self.channel.as_str(),
            address: self.address.clone(),
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
