//! Email notifications: what a message says ([`templates`]), building and sending it
//! ([`mailer`]) over pooled SMTP connections ([`smtp`]), and the delivery workers that drain the
//! outbox ([`worker`]).
//!
//! The outbox itself (which rows exist, claims, outcomes) is in `store::outbox`; it is filled
//! in the transaction of each ticket change, so no change goes without its messages.

pub mod compose;
pub mod mailer;
pub mod smtp;
pub mod templates;
pub mod worker;

pub use mailer::{MailConfig, Mailer, SendError};
pub use worker::{spawn, DeliveryOptions};

use crate::live_settings::Snapshot;

/// Whether notification emails can go out, for `herald serve`'s start message and the GUI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailStatus {
    /// Delivering through this server (the URL without any password).
    Ready { server: String, from: String },
    /// No mail server or sender is configured: messages stay queued.
    NotConfigured,
    /// A mail server is configured but cannot be used: messages stay queued.
    Invalid(String),
    /// The mail server refuses these settings (seen by a delivery worker): messages wait.
    Refused { server: String, problem: String },
}

impl MailStatus {
    pub fn of(settings: &Snapshot) -> MailStatus {
        match MailConfig::from_settings(settings) {
            Ok(Some(config)) => match &settings.mail_refused {
                Some((refused, problem)) if *refused == config.fingerprint() => {
                    MailStatus::Refused {
                        server: redact_url(config.url.expose()),
                        problem: problem.clone(),
                    }
                }
                _ => MailStatus::Ready {
                    server: redact_url(config.url.expose()),
                    from: config.from.to_string(),
                },
            },
            Ok(None) => MailStatus::NotConfigured,
            Err(e) => MailStatus::Invalid(e),
        }
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            MailStatus::Ready { server, from } => {
                format!("Notification emails are sent through {server} from {from}.")
            }
            MailStatus::NotConfigured => "No mail server is configured: notification emails \
                 stay queued until one is set (--smtp-url and --mail-from, their environment \
                 variables, or the Settings page)."
                .to_owned(),
            MailStatus::Invalid(e) => {
                format!("{e} Notification emails stay queued until this is fixed.")
            }
            MailStatus::Refused { server, problem } => format!(
                "The mail server {server} refuses Herald's mail settings: {problem}. \
                 Notification emails wait, and go out once the settings are fixed."
            ),
        }
    }
}

/// The URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(invalid URL)".to_owned(),
    }
}

/// Sends the Settings page's test email to `to` with the current settings and returns the
/// server's reply, or why it failed.
pub async fn send_test_email(settings: &Snapshot, to: &str) -> Result<String, String> {
    let config = MailConfig::from_settings(settings)?.ok_or_else(|| {
        "No mail server is configured: set the mail server URL and the sender first.".to_owned()
    })?;
    let mailer = Mailer::new(config, 1);
    let result = mailer.send_test(to).await.map_err(|e| e.to_string());
    mailer.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("smtp://user:secret@mail.example.com:587?tls=required"),
            "smtp://user:***@mail.example.com:587?tls=required"
        );
        assert_eq!(redact_url("smtp://mail:25"), "smtp://mail:25");
    }
}
