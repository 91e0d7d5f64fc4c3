//! Domain types: each can only hold a valid value, and is parsed once at the edge.
//!
//! Wire formats live in [`crate::wire`], storage rows in [`crate::store`]; both convert
//! to and from these types.

mod api_key;
pub mod audit;
pub mod calendar;
mod contact;
mod delivery;
mod entities;
mod extension;
mod hashing;
mod history;
mod language;
mod link_token;
mod password;
pub mod phone;
mod text;
pub mod ticket;
mod time;
pub mod totp;
pub mod webhook;

pub use api_key::{ApiKey, ApiKeyHash};
pub use audit::Who;
pub use contact::{CellPhone, EmailAddress};
pub use delivery::{
    Channel, Claimed, DeliveryCounts, DeliveryState, EventContent, Notification, Outcome,
};
pub use entities::{
    Actor, Customer, NewCustomer, NewOperator, NewService, NewTicket, Operator, OperatorRef,
    Service, Ticket, TicketUpdate,
};
pub use extension::Extension;
pub use hashing::{Admitted, Busy, Hashing, Occupied};
pub use history::{diff, FieldChange, FieldValue, TicketChange, TicketEvent, TicketField};
pub use language::LanguageTag;
pub use link_token::LinkToken;
pub use password::{Password, PasswordHash};
pub use text::{isolate_bidi, Description, Name};
pub use time::Timestamp;
pub use webhook::{NewWebhook, Webhook, WebhookFormat, WebhookSecret, WebhookUrl};
