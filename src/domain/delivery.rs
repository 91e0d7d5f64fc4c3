//! Delivering notifications: where each message is in its life, what a worker claims and what
//! became of it.

use super::ticket::{EventKind, TicketTimes};
use super::Timestamp;

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Queued,
    /// A temporary failure happened; another attempt is planned.
    Retrying,
    /// The mail server accepted it.
    Sent,
    /// A permanent failure, or temporary ones until the retry window closed.
    Failed,
    /// Its ticket was deleted before it was sent.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => DeliveryState::Queued,
            "retrying" => DeliveryState::Retrying,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            "cancelled" => DeliveryState::Cancelled,
            _ => return None,
        })
    }
}

/// What the messages of one event say: the ticket as it was when the event happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContent {
    pub event_id: i64,
    pub kind: EventKind,
    pub at: Timestamp,
    pub ticket_id: i64,
    pub ticket_created: Timestamp,
    pub description: String,
    pub services: Vec<String>,
    pub times: TicketTimes,
    /// The ticket is planned work (see [`TicketTimes::is_planned`]).
    pub planned: bool,
    /// The calendar event's `SEQUENCE` (see [`super::calendar::sequence`]).
    pub sequence: u32,
    /// A reminder's lead time.
    pub lead: Option<std::time::Duration>,
    /// The message is for operators (an overdue notice), not for followers.
    pub for_operators: bool,
}

/// A message a worker has claimed and is to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub event_id: i64,
    pub ticket_id: i64,
    /// The customer the message is addressed to (its personal link is theirs), if they exist.
    pub customer_id: Option<i64>,
    pub email: String,
    pub name: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub queued_at: Timestamp,
}

/// The result of one claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, with the server's reply.
    Sent { reply: String },
    /// A temporary failure; try again at `next`.
    Retry { error: String, next: Timestamp },
    /// A permanent failure (or the retry window closed).
    Failed { error: String },
    /// Not attempted (shutdown, lost lease, server unreachable): due again at `next`, no
    /// attempt counted.
    Released { next: Timestamp },
}

/// One recipient's message and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub event_id: i64,
    pub event: EventKind,
    pub ticket_id: i64,
    pub customer_id: Option<i64>,
    pub email: String,
    pub name: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub queued_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    /// When the next attempt is planned (queued or retrying, and not being sent right now).
    pub next_attempt_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    /// The server's reply (sent) or the last error (retrying, failed).
    pub reply: Option<String>,
    /// A worker holds it right now.
    pub in_flight: bool,
}

/// How many messages are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub queued: i64,
    pub retrying: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl DeliveryCounts {
    /// Not yet delivered nor given up: queued or retrying.
    pub fn pending(&self) -> i64 {
        self.queued + self.retrying
    }
}
