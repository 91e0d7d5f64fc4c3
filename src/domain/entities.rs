//! The four entities as the rest of Herald sees them, and their validated inputs.

use super::extension::Extension;
use super::ticket::{Lifecycle, TicketTimes};
use super::{CellPhone, Description, EmailAddress, LanguageTag, Name, Password, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// Shown on the public status page and in its feeds (an extension property).
    pub is_public: bool,
}

impl Service {
    /// What `IsPublic` is when a service is created without it, or when it is erased (`null`).
    pub const PUBLIC_BY_DEFAULT: bool = true;
}

#[derive(Debug, Clone)]
pub struct NewService {
    pub name: Name,
    pub description: Option<String>,
    pub is_public: Extension<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub cell_phone: Option<String>,
    pub services: Vec<Service>,
    /// When the customer's email address opted out of every message (it belongs to the
    /// address, not to this record: see `store::opt_outs`); `None` when it has not.
    pub opted_out_time: Option<Timestamp>,
    /// The language of their messages (an extension property); `None`: the default language.
    pub language: Option<LanguageTag>,
}

#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub name: Name,
    pub email: Option<EmailAddress>,
    pub cell_phone: Option<CellPhone>,
    pub language: Extension<LanguageTag>,
    /// Ids of the services followed; each must exist.
    pub services: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub cell_phone: Option<String>,
    pub is_admin: bool,
}

#[derive(Debug, Clone)]
pub struct NewOperator {
    pub name: Name,
    pub email: EmailAddress,
    pub cell_phone: Option<CellPhone>,
    pub is_admin: bool,
    /// `None` on an update keeps the current password.
    pub password: Option<Password>,
}

/// The operator responsible for a ticket, as the ticket shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub description: String,
    pub times: TicketTimes,
    pub created_time: Timestamp,
    pub services: Vec<Service>,
    pub operator: Option<OperatorRef>,
}

impl Ticket {
    pub fn is_closed(&self) -> bool {
        self.times.lifecycle() == Lifecycle::Closed
    }
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub description: Description,
    pub times: TicketTimes,
    pub services: Vec<i64>,
    pub operator: Option<i64>,
}

/// A PUT of a ticket: only these fields can change. `closed`/`reopened` of `None` keep the
/// stored value.
#[derive(Debug, Clone)]
pub struct TicketUpdate {
    pub description: Description,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub expected_resolution_time: Option<Timestamp>,
    pub next_update_time: Option<Timestamp>,
    pub closed_time: Option<Timestamp>,
    pub reopened_time: Option<Timestamp>,
}

/// Who caused a change: recorded with every ticket event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A request authenticated with the API key.
    ApiKey,
    /// An operator signed in to the GUI.
    Operator { id: i64, name: String },
    /// The command line.
    Cli,
    /// Herald itself, at a planned time (reminders, overdue notices).
    Scheduler,
    /// A customer, through a link Herald sent them (their personal page, one-click unsubscribe).
    Customer,
    /// Someone who subscribed on the public wing and confirmed it from the emailed link.
    Subscriber,
}

impl Actor {
    pub fn operator_id(&self) -> Option<i64> {
        match self {
            Actor::Operator { id, .. } => Some(*id),
            _ => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Actor::ApiKey => "API key".to_owned(),
            Actor::Operator { name, .. } => name.clone(),
            Actor::Cli => "command line".to_owned(),
            Actor::Scheduler => "Herald (scheduled)".to_owned(),
            Actor::Customer => "the customer (personal link)".to_owned(),
            Actor::Subscriber => "self-subscription (confirmed by email)".to_owned(),
        }
    }
}
