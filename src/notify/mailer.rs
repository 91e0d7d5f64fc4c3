//! The mail server: an SMTP URL and a sender, turned into a pooled lettre transport; building a
//! notification message (addressing and threading headers); sending one and classifying the
//! outcome; and the Settings page's test email.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::response::Response;
use lettre::transport::smtp::PoolConfig;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};

use super::templates::{self, Rendered};
use crate::domain::ticket::EventKind;
use crate::domain::Timestamp;
use crate::live_settings::Snapshot;
use crate::store::EventContent;

/// How long one SMTP operation (connect, a command, the message) may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The mail server settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    pub url: String,
    pub from: Mailbox,
}

impl MailConfig {
    /// `Ok(None)` when no mail server or sender is configured; `Err` with a message for people
    /// when one is configured but unusable.
    pub fn from_settings(settings: &Snapshot) -> Result<Option<MailConfig>, String> {
        let (Some((url, _)), Some((from, _))) = (&settings.smtp_url, &settings.mail_from) else {
            return Ok(None);
        };
        MailConfig::parse(url, from).map(Some)
    }

    pub fn parse(url: &str, from: &str) -> Result<MailConfig, String> {
        let parsed = url::Url::parse(url.trim())
            .map_err(|_| "The mail server URL is not a valid URL.".to_owned())?;
        match parsed.scheme() {
            "smtp" | "smtps" => {}
            other => {
                return Err(format!(
                    "The mail server URL must start with smtp:// or smtps://, not {other}://."
                ))
            }
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("The mail server URL has no host name.".to_owned());
        }
        for (k, v) in parsed.query_pairs() {
            if k == "tls" && !matches!(v.as_ref(), "required" | "opportunistic") {
                return Err(
                    "tls= in the mail server URL must be required or opportunistic.".into(),
                );
            }
        }
        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|_| format!("The sender address {from:?} is not a valid email address."))?;
        Ok(MailConfig {
            url: url.trim().to_owned(),
            from,
        })
    }

    /// The domain of Message-IDs: the sender's.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server could not be reached or the connection broke (refused, timeout, TLS): try
    /// again later, and not the other messages right now.
    Unreachable(String),
    /// A 4xx reply, or a reply that could not be read: try again later.
    Temporary(String),
    /// A 5xx reply, or a message this server can never take: do not try again.
    Permanent(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Unreachable(m) | SendError::Temporary(m) | SendError::Permanent(m) => m,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    // A reply code with the server's text: "451 4.3.0 Try again later".
    let reply = || match (e.status(), std::error::Error::source(e)) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        _ => e.to_string(),
    };
    if e.is_permanent() {
        SendError::Permanent(reply())
    } else if e.is_transient() {
        SendError::Temporary(reply())
    } else if e.is_client() {
        SendError::Permanent(e.to_string())
    } else if e.is_response() {
        SendError::Temporary(e.to_string())
    } else {
        SendError::Unreachable(e.to_string())
    }
}

/// A reply as the server wrote it: `250 2.0.0 Ok: queued as 4Xyz`.
fn reply_text(response: &Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), lines.join(" "))
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
            content.ticket_created.micros(),
            email.to_lowercase()
        ));
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
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

/// A connected (pooled) mail server and the sender.
#[derive(Clone)]
pub struct Mailer {
    config: MailConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the sender is shown.
        f.debug_struct("Mailer")
            .field("from", &self.config.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// A transport keeping up to `connections` SMTP connections open.
    pub fn new(config: MailConfig, connections: u32) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|e| format!("The mail server URL cannot be used: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(connections.max(1))
                    .idle_timeout(Duration::from_secs(60)),
            )
            .build();
        Ok(Mailer { config, transport })
    }

    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    /// The notification of `content` to one recipient.
    pub fn message(
        &self,
        content: &EventContent,
        email: &str,
        name: &str,
    ) -> Result<Message, SendError> {
        let address: Address = email.parse().map_err(|_| {
            SendError::Permanent(format!("{email} is not an address that can be mailed"))
        })?;
        let rendered: Rendered = templates::render(content, name)
            .map_err(|e| SendError::Permanent(format!("the message could not be rendered: {e}")))?;
        let threading = Threading::of(content, email, self.config.domain());
        let mut builder = Message::builder()
            .from(self.config.from.clone())
            .to(Mailbox::new(Some(name.to_owned()), address))
            .subject(rendered.subject)
            .date(std::time::SystemTime::now())
            .message_id(Some(threading.message_id));
        if let Some(root) = threading.in_reply_to {
            builder = builder.in_reply_to(root.clone()).references(root);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| SendError::Permanent(format!("the message could not be built: {e}")))
    }

    /// Sends one message; `Ok` holds the server's reply.
    pub async fn send(&self, message: &Message) -> Result<String, SendError> {
        match self.transport.send(message.clone()).await {
            Ok(response) => Ok(reply_text(&response)),
            Err(e) => Err(classify(&e)),
        }
    }

    /// Sends a short test email to `to` and returns the server's reply (the Settings page's
    /// "send a test email").
    pub async fn send_test(&self, to: &str) -> Result<String, SendError> {
        let address: Address = to
            .trim()
            .parse()
            .map_err(|_| SendError::Permanent(format!("{to} is not a valid email address")))?;
        let body = templates::render_test(Timestamp::now()).map_err(|e| {
            SendError::Permanent(format!("the test email could not be rendered: {e}"))
        })?;
        let message = Message::builder()
            .from(self.config.from.clone())
            .to(Mailbox::new(None, address))
            .subject("Herald test email")
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )
            .map_err(|e| SendError::Permanent(format!("the test email could not be built: {e}")))?;
        self.send(&message).await
    }

    /// Closes the pooled connections.
    pub async fn shutdown(&self) {
        self.transport.shutdown().await;
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
            at: Timestamp::from_micros(5),
            ticket_id: 3,
            ticket_created: Timestamp::from_micros(42),
            description: "d".into(),
            services: vec!["Mail".into()],
            times: TicketTimes::default(),
        }
    }

    #[test]
    fn mail_settings_are_validated() {
        assert!(MailConfig::parse("smtp://localhost:25", "a@example.com").is_ok());
        assert!(
            MailConfig::parse("smtp://u:p@mail:587?tls=required", "Status <s@example.com>").is_ok()
        );
        assert!(MailConfig::parse("smtps://mail", "s@example.com").is_ok());
        assert!(MailConfig::parse("http://mail", "s@example.com")
            .unwrap_err()
            .contains("smtp://"));
        assert!(MailConfig::parse("smtp://mail?tls=maybe", "s@example.com").is_err());
        assert!(MailConfig::parse("smtp://mail", "not an address").is_err());
        assert!(MailConfig::parse("nonsense", "s@example.com").is_err());
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
