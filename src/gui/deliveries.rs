//! What happened to the messages of a ticket on every channel, as the ticket page and the list
//! show it.

use askama::Template;
use futures::StreamExt;

use super::page::When;
use crate::domain::webhook::url_host;
use crate::domain::Timestamp;
use crate::domain::{Channel, DeliveryCounts, DeliveryState, Notification};
use crate::notify::MailStatus;
use crate::store::{Store, StoreError};

/// At most this many recipients are listed on a ticket page (the counts cover all of them;
/// `GET /api/Tickets/{id}/Notifications` lists every one).
pub const SHOWN: usize = 200;

/// One recipient's message, as a row of the ticket page.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub name: String,
    /// The channel's name for people (Email, SMS, Webhook).
    pub channel: &'static str,
    /// The email address, the number, or the webhook's host (its URL is shown to
    /// administrators on the webhooks page only: a Slack or Teams URL is itself a secret).
    pub address: String,
    pub event: &'static str,
    pub state: &'static str,
    pub state_class: &'static str,
    pub attempts: i64,
    /// Sent, last attempt, or next attempt, whichever says most about the state.
    pub when: Option<When>,
    pub when_label: &'static str,
    /// The server's reply or the last error.
    pub reply: String,
}

/// The deliveries section of a ticket page, rendered in the page and alone (for the page's
/// script, which swaps it in every few seconds while messages are waiting).
#[derive(Template)]
#[template(path = "gui/tickets/deliveries.html")]
pub struct DeliveriesSection {
    pub id: i64,
    /// Customers with an email address following the ticket's services.
    pub recipients: i64,
    pub deliveries: Deliveries,
}

/// What the deliveries section shows.
#[derive(Debug, Clone)]
pub struct Deliveries {
    pub counts: DeliveryCounts,
    /// The counts of each channel that has messages (the channel's name for people).
    pub by_channel: Vec<(&'static str, DeliveryCounts)>,
    pub total: i64,
    pub rows: Vec<DeliveryRow>,
    /// Why queued messages are not going out, when they are not.
    pub blocked: Option<String>,
}

impl Deliveries {
    pub async fn of_ticket(
        store: &Store,
        ticket_id: i64,
        mail: &MailStatus,
        now: Timestamp,
    ) -> Result<Deliveries, StoreError> {
        let by_channel = store.delivery_counts_by_channel(Some(ticket_id)).await?;
        let mut counts = DeliveryCounts::default();
        for (_, c) in &by_channel {
            counts.merge(c);
        }
        // Why the email channel's messages are not going out, when they are not.
        let emails_pending = by_channel
            .iter()
            .any(|(channel, c)| *channel == Channel::Email && c.pending() > 0);
        let mut rows = Vec::new();
        let mut stream = store.ticket_notifications(ticket_id).take(SHOWN);
        while let Some(n) = stream.next().await {
            rows.push(row(n?, now));
        }
        let total = counts.total();
        let blocked = match mail {
            MailStatus::Ready { .. } => None,
            other if emails_pending => Some(other.describe()),
            _ => None,
        };
        Ok(Deliveries {
            counts,
            by_channel: by_channel
                .into_iter()
                .map(|(channel, c)| (channel.label(), c))
                .collect(),
            total,
            rows,
            blocked,
        })
    }

    pub fn more(&self) -> i64 {
        self.total - self.rows.len() as i64
    }
}

pub fn state_label(state: DeliveryState, in_flight: bool) -> (&'static str, &'static str) {
    match state {
        _ if in_flight => ("sending", "badge-planned"),
        DeliveryState::Queued => ("queued", "badge-planned"),
        DeliveryState::Retrying => ("retrying", "badge-overdue"),
        DeliveryState::Sent => ("sent", "badge-closed"),
        DeliveryState::Delivered => ("delivered", "badge-closed"),
        DeliveryState::Undelivered => ("undelivered", "badge-open"),
        DeliveryState::Failed => ("failed", "badge-open"),
        DeliveryState::Cancelled => ("cancelled", "badge-muted"),
        DeliveryState::Skipped => ("skipped", "badge-muted"),
    }
}

fn row(n: Notification, now: Timestamp) -> DeliveryRow {
    let (state, state_class) = state_label(n.state, n.in_flight);
    let (when_label, when) = match n.state {
        DeliveryState::Sent | DeliveryState::Delivered => (n.state.as_str(), n.sent_at),
        DeliveryState::Queued | DeliveryState::Retrying if n.next_attempt_at.is_some() => {
            ("next attempt", n.next_attempt_at)
        }
        _ if n.last_attempt_at.is_some() => ("last attempt", n.last_attempt_at),
        _ => ("queued", Some(n.queued_at)),
    };
    DeliveryRow {
        name: n.name,
        channel: n.channel.label(),
        address: match n.channel {
            Channel::Webhook => url_host(&n.address),
            _ => n.address,
        },
        event: n.event.as_str(),
        state,
        state_class,
        attempts: n.attempts,
        when: When::opt(when, now),
        when_label,
        reply: n.reply.unwrap_or_default(),
    }
}
