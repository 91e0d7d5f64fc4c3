//! The mail server settings (an SMTP URL and a sender), building a notification message
//! (addressing and threading headers), sending it over the pooled connections of [`super::smtp`],
//! and the Settings page's test email.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use super::compose::{Layout, RawMessage, Recipient};
use super::smtp::Connections;
pub use super::smtp::SendError;
use crate::domain::ticket::EventKind;
use crate::domain::EventContent;
use crate::domain::Timestamp;
use crate::live_settings::Snapshot;
use crate::notify::templates::{self, EmailMessage, EmailView, Language, Links, Templates};

pub use crate::config::values::MailConfig;

impl MailConfig {
    /// The mail settings in effect (parsed when the settings were read): `Ok(None)` when no
    /// mail server or sender is configured; `Err` with a message for people when one is
    /// configured but unusable.
    pub fn from_settings(settings: &Snapshot) -> Result<Option<MailConfig>, String> {
        settings.mail.clone()
    }

    /// Names these settings without their password (see [`crate::live_settings::mail_fingerprint`]).
    pub fn fingerprint(&self) -> String {
        crate::live_settings::mail_fingerprint(self.url.expose(), &self.from.to_string())
    }
}

/// `<herald.…@domain>` ids of one conversation: the ticket, the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threading {
    /// This message's Message-ID.
    pub message_id: String,
    /// The conversation's first message, when this is a later one.
    pub in_reply_to: Option<String>,
}

impl Threading {
    /// Deterministic ids: the *created* message of a ticket to an address is the thread root
    /// (`<herald.t7.1a2b…@example.com>`); every later one has its own id and points at the root.
    /// The digest mixes in the ticket's creation instant, so two installations never collide.
    pub fn of(content: &EventContent, email: &str, domain: &str) -> Threading {
        let digest = Sha256::digest(format!(
            "{}:{}:{}",
            content.ticket_id,
            content.ticket_created.unix_micros(),
            email.to_lowercase()
        ));
        let hash = hex::encode(&digest[..8]);
        let root = format!("<herald.t{}.{hash}@{domain}>", content.ticket_id);
        if content.kind == EventKind::Created {
            Threading {
                message_id: root,
                in_reply_to: None,
            }
        } else {
            Threading {
                message_id: format!(
                    "<herald.t{}.e{}.{hash}@{domain}>",
                    content.ticket_id, content.event_id
                ),
                in_reply_to: Some(root),
            }
        }
    }
}

/// The mail server, its open connections, and the sender.
pub struct Mailer {
    config: MailConfig,
    connections: Connections,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the server and sender are shown.
        f.debug_struct("Mailer")
            .field("server", &self.config.server)
            .field("from", &self.config.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// A mailer keeping up to `connections` SMTP connections open for reuse.
    pub fn new(config: MailConfig, connections: usize) -> Mailer {
        Mailer {
            connections: Connections::new(config.server.clone(), connections),
            config,
        }
    }

    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    /// What every recipient's message of an event in one language shares (see
    /// [`super::compose`]).
    pub fn layout(&self, view: &EmailView, message: &EmailMessage) -> Layout {
        let layout = Layout::new(&self.config.from, &message.subject);
        match view.calendar(self.config.from.email.as_ref(), &message.calendar_summary) {
            Some((method, text)) => layout.with_calendar(method.as_str(), text),
            None => layout,
        }
    }

    /// The notification of `content` (rendered as `message`, laid out as `layout`) to one
    /// recipient.
    pub fn message(
        &self,
        content: &EventContent,
        message: &EmailMessage,
        layout: &Layout,
        email: &str,
        name: &str,
        links: Option<&Links>,
    ) -> Result<RawMessage, SendError> {
        let address: Address = email.parse().map_err(|_| {
            SendError::Permanent(format!("{email} is not an address that can be mailed"))
        })?;
        let rendered = message.fill(name, links);
        let threading = Threading::of(content, email, self.config.domain());
        let recipient = Recipient {
            name,
            address: &address,
            message_id: &threading.message_id,
            in_reply_to: threading.in_reply_to.as_deref(),
            unsubscribe: links.map(|l| l.unsubscribe.as_str()),
        };
        Ok(layout.message(&recipient, &rendered.text, &rendered.html))
    }

    /// Sends one message; `Ok` holds the server's reply.
    pub async fn send(&self, message: RawMessage) -> Result<String, SendError> {
        self.connections.send(message.envelope, message.bytes).await
    }

    /// Sends a short test email to `to` and returns the server's reply (the Settings page's
    /// "send a test email"), in `language`.
    pub async fn send_test(
        &self,
        to: &str,
        templates: &Templates,
        language: &Language,
    ) -> Result<String, SendError> {
        let address: Address = to
            .trim()
            .parse()
            .map_err(|_| SendError::Permanent(format!("{to} is not a valid email address")))?;
        let (subject, body) = templates::render_test(templates, language, Timestamp::now())
            .map_err(|e| {
                SendError::Permanent(format!("the test email could not be rendered: {e}"))
            })?;
        let message = Message::builder()
            .from(self.config.from.clone())
            .to(Mailbox::new(None, address))
            .subject(subject)
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )
            .map_err(|e| SendError::Permanent(format!("the test email could not be built: {e}")))?;
        self.send(RawMessage::from_lettre(&message)).await
    }

    /// Closes the open connections.
    pub async fn shutdown(&self) {
        self.connections.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::TicketTimes;

    fn content(kind: EventKind, event_id: i64) -> EventContent {
        EventContent {
            event_id,
            kind,
            at: Timestamp::from_unix_micros(5),
            ticket_id: 3,
            ticket_created: Timestamp::from_unix_micros(42),
            description: "d".into(),
            services: vec!["Mail".into()],
            times: TicketTimes::default(),
            planned: false,
            sequence: 0,
            lead: None,
            for_operators: false,
        }
    }

    #[test]
    fn threads_are_per_ticket_and_address() {
        let created = Threading::of(&content(EventKind::Created, 1), "Ann@X.org", "example.com");
        let update = Threading::of(&content(EventKind::Updated, 2), "ann@x.org", "example.com");
        let closed = Threading::of(&content(EventKind::Closed, 3), "ann@x.org", "example.com");
        assert_eq!(created.in_reply_to, None);
        assert_eq!(update.in_reply_to.as_ref(), Some(&created.message_id));
        assert_eq!(closed.in_reply_to.as_ref(), Some(&created.message_id));
        assert_ne!(update.message_id, closed.message_id);
        let other = Threading::of(&content(EventKind::Created, 1), "bob@x.org", "example.com");
        assert_ne!(other.message_id, created.message_id);
        assert!(created.message_id.starts_with("<herald.t3."));
        assert!(created.message_id.ends_with("@example.com>"));
    }
}
