//! The entities as they appear on the wire, mirroring the server's wire types
//! (`src/wire/model.rs` in the `herald` crate): PascalCase property names, UTC times.
//!
//! The same struct is read from responses and written in requests, as the original product's
//! RestSharp samples did. Properties the server only writes (`CreatedTime`, `IsClosed`) are
//! never sent; the one it only reads (`Operator::password`) is never received; `Id` is sent
//! only when it is set (non-zero), which is what a PUT needs and a POST must not have.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

fn is_zero(id: &i64) -> bool {
    *id == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Something customers follow and tickets are about ("Mail", "VPN").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Service {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: i64,
    /// Required, unique ignoring case, 1–200 characters.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Shown on the public status page and in its feeds. A property Herald adds: `None` is not
    /// sent, so the server keeps the stored value (`true` for a new service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
}

impl Service {
    /// A new service to create.
    pub fn new(name: impl Into<String>) -> Self {
        Service {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Shown on the public status page (`true`) or kept off it (`false`).
    pub fn public(mut self, is_public: bool) -> Self {
        self.is_public = Some(is_public);
        self
    }

    /// A reference to an existing service by `Id`, for a customer's or a ticket's `Services`
    /// (the server reads only the `Id` of each item).
    pub fn by_id(id: i64) -> Self {
        Service {
            id,
            ..Default::default()
        }
    }
}

/// Someone who follows services and is emailed about their tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Customer {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub cell_phone: Option<String>,
    /// The services followed; on input only each item's `Id` counts.
    #[serde(default, with = "crate::xml::list")]
    pub services: Vec<Service>,
    /// When the customer's email address opted out of every message (null when it has not).
    /// Set by the server; never sent. An opt-out belongs to the address: updating the customer
    /// with all its services does not undo it.
    #[serde(default, skip_serializing)]
    pub opted_out_time: Option<DateTime<Utc>>,
    /// The language of the customer's messages, a BCP 47 tag (`de`, `de-CH`); `None` on a
    /// customer read back: the server's default language. A property Herald adds: `None` is not
    /// sent, so an update keeps the stored value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Customer {
    pub fn new(name: impl Into<String>) -> Self {
        Customer {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    pub fn with_cell_phone(mut self, cell_phone: impl Into<String>) -> Self {
        self.cell_phone = Some(cell_phone.into());
        self
    }

    /// The language of the customer's messages (a BCP 47 tag such as `de`).
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Adds a service to the ones this customer follows.
    pub fn following(mut self, service_id: i64) -> Self {
        self.services.push(Service::by_id(service_id));
        self
    }
}

/// A person who records tickets in the GUI (and the login of its web pages).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Operator {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: i64,
    pub name: String,
    /// Required, unique ignoring case: the GUI login.
    pub email: String,
    #[serde(default)]
    pub cell_phone: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
    /// Write-only: required on create; on update `None` keeps the current password. The
    /// server never returns it, so it is always `None` on entities read back.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub password: Option<String>,
}

impl Operator {
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Operator {
            name: name.into(),
            email: email.into(),
            ..Default::default()
        }
    }

    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    pub fn admin(mut self) -> Self {
        self.is_admin = true;
        self
    }
}

/// The operator responsible for a ticket: `{Id, Name}` (on input only `Id` counts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperatorRef {
    pub id: i64,
    #[serde(default)]
    pub name: String,
}

/// A disruption or planned work on one or more services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ticket {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: i64,
    pub description: String,
    #[serde(default)]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expected_resolution_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_update_time: Option<DateTime<Utc>>,
    /// Setting it on update closes the ticket.
    #[serde(default)]
    pub closed_time: Option<DateTime<Utc>>,
    /// Setting it (later than `closed_time`) on update reopens the ticket.
    #[serde(default)]
    pub reopened_time: Option<DateTime<Utc>>,
    /// Set by the server; never sent.
    #[serde(default, skip_serializing)]
    pub created_time: Option<DateTime<Utc>>,
    /// The services the ticket is about (used on create; ignored by updates).
    #[serde(default, with = "crate::xml::list")]
    pub services: Vec<Service>,
    /// Who is responsible (used on create; ignored by updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorRef>,
    /// Computed by the server: `closed_time` set and not followed by a later `reopened_time`.
    #[serde(default, skip_serializing)]
    pub is_closed: bool,
    /// Input only: `true` means no email to the followers for this create or update.
    #[serde(default, skip_serializing_if = "is_false", skip_deserializing)]
    pub do_not_send_email: bool,
}

impl Ticket {
    pub fn new(description: impl Into<String>) -> Self {
        Ticket {
            description: description.into(),
            ..Default::default()
        }
    }

    pub fn starting(mut self, at: DateTime<Utc>) -> Self {
        self.start_time = Some(at);
        self
    }

    /// Adds a service the ticket is about.
    pub fn about(mut self, service_id: i64) -> Self {
        self.services.push(Service::by_id(service_id));
        self
    }

    pub fn with_operator(mut self, operator_id: i64) -> Self {
        self.operator = Some(OperatorRef {
            id: operator_id,
            name: String::new(),
        });
        self
    }

    /// Asks the server not to email anyone about this create or update.
    pub fn without_email(mut self) -> Self {
        self.do_not_send_email = true;
        self
    }
}

/// One recipient of one ticket event on one channel, from `GET /api/Tickets/{id}/Notifications`:
/// who was (or will be) told, how, and what became of the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Notification {
    pub id: i64,
    /// The ticket event it tells about.
    pub event_id: i64,
    /// `created`, `updated`, `closed`, `reopened`, `deleted` (planned work called off),
    /// `reminder` (before planned work) or `overdue` (a promised update, to the operator).
    pub event: String,
    /// The customer it was addressed to (`None` once the customer is deleted).
    #[serde(default)]
    pub customer_id: Option<i64>,
    pub name: String,
    /// The email address (email messages only; empty for the other channels: see `address`).
    #[serde(default)]
    pub email: String,
    /// `email`, `sms` or `webhook`.
    #[serde(default)]
    pub channel: String,
    /// The email address, the cell phone number (E.164) or the webhook's URL.
    #[serde(default)]
    pub address: String,
    /// `queued`, `sent` (the server took it), `delivered` (the recipient has it: a webhook's
    /// 2xx, an SMS receipt), `undelivered`, `retrying`, `failed`, `cancelled` or `skipped`
    /// (never attempted: a cell phone number that cannot be read, with why in `last_error`);
    /// [`Notification::delivery_state`] reads it.
    pub state: String,
    pub attempts: i64,
    pub queued_time: DateTime<Utc>,
    #[serde(default)]
    pub last_attempt_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_attempt_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sent_time: Option<DateTime<Utc>>,
    /// The server's reply when it accepted (or delivered) the message.
    #[serde(default)]
    pub reply: Option<String>,
    /// The last failure, while retrying or once failed.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// What became of a notification: its `State`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Queued,
    /// A temporary failure; another attempt is planned (`next_attempt_time`).
    Retrying,
    /// The server (mail server, SMSC) took it.
    Sent,
    /// The recipient has it (a webhook's 2xx, an SMS delivery receipt).
    Delivered,
    /// An SMS delivery receipt said it could not be delivered.
    Undelivered,
    /// Refused for good, or retried until the retry window closed (`last_error`).
    Failed,
    /// Its ticket was deleted before it was sent.
    Cancelled,
    /// Never attempted: the address cannot be used (a cell phone number that cannot be
    /// normalised to E.164), with why in `last_error`.
    Skipped,
    /// A state this client does not know (a newer server).
    Other(String),
}

impl DeliveryState {
    pub fn parse(state: &str) -> DeliveryState {
        match state {
            "queued" => DeliveryState::Queued,
            "retrying" => DeliveryState::Retrying,
            "sent" => DeliveryState::Sent,
            "delivered" => DeliveryState::Delivered,
            "undelivered" => DeliveryState::Undelivered,
            "failed" => DeliveryState::Failed,
            "cancelled" => DeliveryState::Cancelled,
            "skipped" => DeliveryState::Skipped,
            other => DeliveryState::Other(other.to_owned()),
        }
    }

    /// Still waiting for an attempt (queued or retrying).
    pub fn is_pending(&self) -> bool {
        matches!(self, DeliveryState::Queued | DeliveryState::Retrying)
    }
}

impl Notification {
    /// [`Notification::state`], read.
    pub fn delivery_state(&self) -> DeliveryState {
        DeliveryState::parse(&self.state)
    }
}

/// Where Herald POSTs every event of the services it covers (`/api/Webhooks`): signed
/// Standard Webhooks JSON, or a Slack or Teams incoming webhook's message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Webhook {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: i64,
    /// An absolute http or https URL.
    pub url: String,
    /// The services it covers, by `Id`; empty: every service.
    #[serde(default, with = "crate::xml::list")]
    pub services: Vec<ServiceId>,
    /// `json`, `slack` or `teams` (`None`: not sent, so `json` on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Write-only: set it to choose the secret; omitted on create, one is generated and
    /// returned here once (in the create's answer), never again; omitted on update, it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default = "active")]
    pub is_active: bool,
    /// When Herald turned it off (a 410, or failing for the whole retry window).
    #[serde(default, skip_serializing)]
    pub deactivated_time: Option<DateTime<Utc>>,
    /// Why Herald turned it off.
    #[serde(default, skip_serializing)]
    pub deactivated_reason: Option<String>,
}

/// A service named by its `Id` alone (a webhook's `Services`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceId {
    pub id: i64,
}

fn active() -> bool {
    true
}

impl Webhook {
    /// A new webhook to `url`, on every service, in the `json` format.
    pub fn new(url: impl Into<String>) -> Self {
        Webhook {
            url: url.into(),
            is_active: true,
            ..Default::default()
        }
    }

    /// Covers this service too (by `Id`).
    pub fn about(mut self, service_id: i64) -> Self {
        self.services.push(ServiceId { id: service_id });
        self
    }

    /// `json`, `slack` or `teams`.
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }
}
