//! The email channel: the mail server settings and what they allow ([`MailStatus`]), building
//! a message ([`mailer`], [`compose`]), sending it over pooled SMTP connections ([`smtp`]), and
//! [`EmailSender`], the channel's [`Sender`] for the delivery machinery.

pub mod compose;
pub mod confirmation;
pub mod mailer;
pub mod smtp;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use compose::Layout;
use mailer::{MailConfig, Mailer, SendError};

use super::languages::BatchLanguages;
use super::sender::{Attempt, Sender};
use super::templates::{EmailMessage, EmailView, Language, Links, Templates};
use crate::domain::{Channel, Claimed, EventContent, LinkToken, Timestamp};
use crate::live_settings::{LiveSettings, MAIL_REFUSED_SETTING};
use crate::store::Store;

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
/// server's reply, or why it failed. It is written in the default language.
pub async fn send_test_email(
    settings: &Snapshot,
    templates: &Templates,
    to: &str,
) -> Result<String, String> {
    let config = MailConfig::from_settings(settings)?.ok_or_else(|| {
        "No mail server is configured: set the mail server URL and the sender first.".to_owned()
    })?;
    let mailer = Mailer::new(config, 1);
    let language = Language::chain(None, settings.default_language.as_str());
    let result = mailer
        .send_test(to, templates, &language)
        .await
        .map_err(|e| e.to_string());
    mailer.shutdown().await;
    result
}

/// Sends the email channel's messages: each message to a customer carries a fresh personal
/// link (issued for the whole batch in one write before anything is sent), rendered from the
/// event's view and sent over the pooled connections of the current mail settings.
pub struct EmailSender {
    store: Store,
    settings: LiveSettings,
    templates: Arc<Templates>,
    /// Where this instance listens, for the links in messages when no public URL is set.
    local_url: String,
    /// How many SMTP connections to keep open.
    connections: usize,
    mailer: Mutex<Option<(MailConfig, Arc<Mailer>)>>,
    /// Each event's view, rendered once.
    views: Mutex<HashMap<i64, Arc<EmailView>>>,
}

/// What the messages of one claimed batch share.
pub struct EmailBatch {
    mailer: Arc<Mailer>,
    /// Message id → its recipient's personal links.
    links: HashMap<i64, Links>,
    /// Each message's event, language and kind of recipient (with links or not) → its message
    /// rendered once and the headers every such recipient's message shares.
    localized: HashMap<Localized, Result<(EmailMessage, Layout), String>>,
    /// Message id → its [`Localized`] key.
    keys: HashMap<i64, Localized>,
    /// Message id → the subscription confirmation it is (messages of no event).
    confirmations: HashMap<i64, confirmation::Prepared>,
}

/// Which rendering a message uses: its event, its recipient's language, whether it has links.
type Localized = (i64, Language, bool);

impl EmailSender {
    pub fn new(
        store: Store,
        settings: LiveSettings,
        templates: Arc<Templates>,
        local_url: String,
        connections: usize,
    ) -> EmailSender {
        EmailSender {
            store,
            settings,
            templates,
            local_url,
            connections,
            mailer: Mutex::new(None),
            views: Mutex::new(HashMap::new()),
        }
    }

    /// The mailer for the current settings, rebuilt when they change; `Err` says why there is
    /// no usable mail server.
    fn mailer(&self) -> Result<Arc<Mailer>, String> {
        let config = match MailConfig::from_settings(&self.settings.get()) {
            Ok(Some(config)) => config,
            Ok(None) => return Err("no mail server is configured (set --smtp-url and --mail-from or use the Settings page): notification emails stay queued".to_owned()),
            Err(e) => return Err(format!("{e} Notification emails stay queued.")),
        };
        let mut current = self.mailer.lock().expect("not poisoned");
        if let Some((c, m)) = current.as_ref() {
            if *c == config {
                return Ok(m.clone());
            }
        }
        let m = Arc::new(Mailer::new(config.clone(), self.connections));
        *current = Some((config, m.clone()));
        tracing::info!(from = %m.config().from, "delivering notification emails");
        Ok(m)
    }

    /// The view of each event, rendered once.
    fn view(&self, content: &EventContent) -> Arc<EmailView> {
        let mut views = self.views.lock().expect("not poisoned");
        if let Some(view) = views.get(&content.event_id) {
            return view.clone();
        }
        if views.len() > 1024 {
            views.clear();
        }
        let organisation = self.settings.get().organisation_name.clone();
        let view = Arc::new(
            EmailView::new(content)
                .with_base_url(&self.settings.base_url())
                .with_organisation(organisation.as_deref()),
        );
        views.insert(content.event_id, view.clone());
        view
    }

    /// Where the links in messages lead: the public URL, or where this instance listens.
    fn base(&self) -> String {
        self.settings
            .get()
            .public_url
            .clone()
            .unwrap_or_else(|| self.local_url.clone())
    }

    /// A fresh personal link for each message of the batch addressed to a customer (message id
    /// → links), recorded together as one batch of links before anything is sent; `None` when
    /// that write fails.
    async fn issue_links(&self, batch: &[Claimed]) -> Option<HashMap<i64, Links>> {
        let base = self.base();
        let key = LinkToken::new_batch();
        let mut links = HashMap::new();
        let mut entries = Vec::new();
        for message in batch {
            if let Some(customer) = message.customer_id {
                // A claim is far smaller than a batch's 65,536 entries.
                let index = u16::try_from(entries.len()).ok()?;
                let token = LinkToken::in_batch(key, index);
                entries.push((customer, token.sha256()));
                links.insert(message.id, Links::new(&base, &token));
            }
        }
        let result = self
            .store
            .issue_link_batch(key, &entries, Timestamp::now())
            .await;
        self.store.note_write(&result);
        match result {
            Ok(()) => Some(links),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not record the personal links of a batch; it waits");
                None
            }
        }
    }
}

impl Sender for EmailSender {
    type Batch = EmailBatch;

    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn ready(&self) -> Result<(), String> {
        self.mailer().map(|_| ())
    }

    async fn prepare(
        &self,
        batch: &[Claimed],
        events: &HashMap<i64, Arc<EventContent>>,
    ) -> Option<EmailBatch> {
        let mailer = self.mailer().ok()?;
        // Nothing goes out without working links.
        let links = self.issue_links(batch).await?;
        let settings = self.settings.get();
        let confirmations =
            confirmation::prepare(&self.store, &settings, &self.templates, &self.base(), batch)
                .await?;
        let languages =
            BatchLanguages::read(&self.store, batch, settings.default_language.as_str()).await?;
        let mut localized = HashMap::new();
        let mut keys = HashMap::new();
        for message in batch {
            let Some(content) = message.event_id.and_then(|id| events.get(&id)) else {
                continue;
            };
            let language = languages.of(message).clone();
            let key: Localized = (content.event_id, language, links.contains_key(&message.id));
            if !localized.contains_key(&key) {
                let view = self.view(content);
                let rendered = EmailMessage::prepare(&self.templates, &view, &key.1, key.2)
                    .map(|m| {
                        let layout = mailer.layout(&view, &m);
                        (m, layout)
                    })
                    .map_err(|e| format!("the message could not be rendered: {e:#}"));
                localized.insert(key.clone(), rendered);
            }
            keys.insert(message.id, key);
        }
        Some(EmailBatch {
            mailer,
            links,
            localized,
            keys,
            confirmations,
        })
    }

    async fn send(&self, batch: &EmailBatch, event: &EventContent, message: &Claimed) -> Attempt {
        let Some(rendered) = batch
            .keys
            .get(&message.id)
            .and_then(|k| batch.localized.get(k))
        else {
            return Attempt::Temporary("the message's event could not be read".to_owned());
        };
        let (email, layout) = match rendered {
            Ok((email, layout)) => (email, layout),
            Err(error) => return Attempt::Permanent(error.clone()),
        };
        let built = batch.mailer.message(
            event,
            email,
            layout,
            &message.address,
            &message.name,
            batch.links.get(&message.id),
        );
        match built {
            Ok(m) => attempt(batch.mailer.send(m).await),
            Err(e) => attempt(Err(e)),
        }
    }

    /// A subscription's confirmation email.
    async fn send_alone(&self, batch: &EmailBatch, message: &Claimed) -> Attempt {
        let email = match batch.confirmations.get(&message.id) {
            Some(Ok(email)) => email,
            Some(Err(why)) => return Attempt::Permanent(why.clone()),
            None => return Attempt::Permanent("not an email Herald knows how to send".into()),
        };
        match confirmation::message(&batch.mailer.config().from, &message.address, email) {
            Ok(m) => attempt(batch.mailer.send(m).await),
            Err(e) => Attempt::Permanent(e),
        }
    }

    /// Records that the mail server refused the current settings (shown on the Settings page
    /// and the ticket pages, on every instance), or that it no longer does.
    async fn finish(&self, batch: EmailBatch, refused: Option<String>, any_sent: bool) {
        let fingerprint = batch.mailer.config().fingerprint();
        let shown = self.settings.get().mail_refused.clone();
        let value = match (refused, shown) {
            (Some(problem), shown) => {
                if shown.is_some_and(|(f, p)| f == fingerprint && p == problem) {
                    return;
                }
                Some(format!("{fingerprint} {problem}"))
            }
            (None, Some(_)) if any_sent => None,
            (None, _) => return,
        };
        let stored = self
            .store
            .set_setting(MAIL_REFUSED_SETTING, value.as_deref())
            .await;
        match stored {
            Ok(()) => {
                if let Err(e) = self.settings.refresh(&self.store).await {
                    tracing::warn!(error = %e, "could not refresh settings");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not record the mail server's refusal"),
        }
    }

    async fn shutdown(&self) {
        let mailer = self.mailer.lock().expect("not poisoned").take();
        if let Some((_, mailer)) = mailer {
            mailer.shutdown().await;
        }
    }
}

/// What sending came to, as the delivery machinery counts it.
fn attempt(sent: Result<String, SendError>) -> Attempt {
    match sent {
        Ok(reply) => Attempt::Sent(reply),
        Err(SendError::Permanent(error)) => Attempt::Permanent(error),
        Err(SendError::Configuration(error)) => Attempt::Refused(error),
        Err(SendError::Temporary(error)) => Attempt::Temporary(error),
        Err(SendError::Unreachable(error)) => Attempt::Unreachable(error),
    }
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
