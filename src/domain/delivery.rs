//! Delivering notifications: the channel a message goes by, where each message is in its life,
//! what a worker claims and what became of it.

use super::ticket::{EventKind, TicketTimes};
use super::Timestamp;

/// The way a message reaches its recipient. Every channel shares one outbox (`notifications`
/// rows name their channel and address) and one delivery machinery (`notify::worker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// To a customer's (or an operator's) email address, over SMTP.
    Email,
    /// To a customer's cell phone number (E.164), over SMPP.
    Sms,
    /// To a webhook's URL, over HTTP.
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The channel's name for people ("Email", "SMS", "Webhook").
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "Email",
            Channel::Sms => "SMS",
            Channel::Webhook => "Webhook",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Queued,
    /// A temporary failure happened; another attempt is planned.
    Retrying,
    /// The server (mail server, SMSC) accepted it.
    Sent,
    /// The recipient has it: a webhook answered 2xx, or an SMS delivery receipt said so.
    Delivered,
    /// A delivery receipt said it could not be delivered.
    Undelivered,
    /// A permanent failure, or temporary ones until the retry window closed.
    Failed,
    /// Its ticket was deleted before it was sent.
    Cancelled,
    /// Never attempted: the address cannot be used (a cell phone number that cannot be
    /// normalised to E.164), recorded with why.
    Skipped,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 8] = [
        DeliveryState::Queued,
        DeliveryState::Retrying,
        DeliveryState::Sent,
        DeliveryState::Delivered,
        DeliveryState::Undelivered,
        DeliveryState::Failed,
        DeliveryState::Cancelled,
        DeliveryState::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Undelivered => "undelivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
            DeliveryState::Skipped => "skipped",
        }
    }

    /// Waiting for an attempt (queued or retrying).
    pub fn is_pending(self) -> bool {
        matches!(self, DeliveryState::Queued | DeliveryState::Retrying)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => DeliveryState::Queued,
            "retrying" => DeliveryState::Retrying,
            "sent" => DeliveryState::Sent,
            "delivered" => DeliveryState::Delivered,
            "undelivered" => DeliveryState::Undelivered,
            "failed" => DeliveryState::Failed,
            "cancelled" => DeliveryState::Cancelled,
            "skipped" => DeliveryState::Skipped,
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
    /// The event it tells of (`None`: a message of no event, see `subscription_id`).
    pub event_id: Option<i64>,
    pub ticket_id: Option<i64>,
    /// The customer the message is addressed to (its personal link is theirs), if they exist.
    pub customer_id: Option<i64>,
    pub channel: Channel,
    /// The email address, the number or the webhook's URL.
    pub address: String,
    /// The webhook it goes to (webhook messages only).
    pub webhook_id: Option<i64>,
    /// The self-subscription request a confirmation email is for (no event, no ticket).
    pub subscription_id: Option<i64>,
    pub name: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub queued_at: Timestamp,
    /// The claim it was taken under (a lease of its own, see `Store::claim_due`): its outcome
    /// is written only while the message is still held under this claim.
    pub claim: i64,
}

/// The result of one claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, with the server's reply.
    Sent { reply: String },
    /// The recipient has it (a webhook's 2xx), with the reply.
    Delivered { reply: String },
    /// Known not to have reached the recipient (a delivery receipt).
    Undelivered { reply: String },
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
    pub channel: Channel,
    /// The email address, the number or the webhook's URL.
    pub address: String,
    pub name: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub queued_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    /// When the next attempt is planned (queued or retrying, and not being sent right now).
    pub next_attempt_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    /// The server's reply (sent, delivered, undelivered) or the last error (retrying, failed).
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
    pub delivered: i64,
    pub undelivered: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub skipped: i64,
}

impl DeliveryCounts {
    /// Not yet delivered nor given up: queued or retrying.
    pub fn pending(&self) -> i64 {
        self.queued + self.retrying
    }

    /// Sent or delivered.
    pub fn done(&self) -> i64 {
        self.sent + self.delivered
    }

    /// Did not reach the recipient: failed or undelivered.
    pub fn failed_or_undelivered(&self) -> i64 {
        self.failed + self.undelivered
    }

    /// Every message counted.
    pub fn total(&self) -> i64 {
        self.pending()
            + self.sent
            + self.delivered
            + self.undelivered
            + self.failed
            + self.cancelled
            + self.skipped
    }

    /// Adds another set of counts to these.
    pub fn merge(&mut self, other: &DeliveryCounts) {
        self.queued += other.queued;
        self.retrying += other.retrying;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.undelivered += other.undelivered;
        self.failed += other.failed;
        self.cancelled += other.cancelled;
        self.skipped += other.skipped;
    }

    /// Adds `n` messages in `state`.
    pub fn add(&mut self, state: DeliveryState, n: i64) {
        match state {
            DeliveryState::Queued => self.queued += n,
            DeliveryState::Retrying => self.retrying += n,
            DeliveryState::Sent => self.sent += n,
            DeliveryState::Delivered => self.delivered += n,
            DeliveryState::Undelivered => self.undelivered += n,
            DeliveryState::Failed => self.failed += n,
            DeliveryState::Cancelled => self.cancelled += n,
            DeliveryState::Skipped => self.skipped += n,
        }
    }
}
