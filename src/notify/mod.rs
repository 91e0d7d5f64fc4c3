//! Notifications, one folder per channel: `email/` (what a message is and how it goes out
//! over pooled SMTP connections), `webhook/` (signed POSTs, Slack and Teams), … Every channel shares the outbox (`store::outbox`, filled
//! in the transaction of each ticket change, so no change goes without its messages), what the
//! messages say ([`templates`]), and one delivery machinery ([`worker`]) that drains the outbox
//! through each channel's [`sender::Sender`].
//!
//! Adding a channel is adding a folder with a `Sender` and starting it in [`worker::spawn`].

pub mod email;
mod languages;
pub mod sender;
pub mod sms;
pub mod templates;
pub mod webhook;
pub mod worker;

pub use email::{compose, mailer, smtp};
pub use email::{redact_url, send_test_email, MailStatus};
pub use mailer::{MailConfig, Mailer, SendError};
pub use worker::{spawn, DeliveryOptions};
