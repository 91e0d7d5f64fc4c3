//! The webhook channel: each event one `POST` to each matching webhook's URL, in its format
//! ([`payload`]), signed the Standard Webhooks way ([`sign`]), sent with reqwest (rustls): a
//! timeout, no redirects followed, at most [`REPLY_BYTES`] of the answer read.
//!
//! A 2xx answer is delivered; a 410 turns the webhook off (its messages not yet sent are
//! cancelled); timeouts, connection errors, 429 and 5xx are retried with the machinery's
//! backoff; other answers fail. A webhook whose messages fail for the whole retry window is
//! turned off too, and the GUI shows why.

pub mod payload;
pub mod sign;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::sender::{Attempt, Sender};
use super::templates::{EmailMessage, EmailView, Language, Templates};
use crate::domain::{
    Channel, Claimed, EventContent, Ticket, Timestamp, WebhookFormat, WebhookSecret,
};
use crate::live_settings::LiveSettings;
use crate::store::{Store, WebhookTarget};

/// How long one request may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of an answer is read (and kept as the reply).
pub const REPLY_BYTES: usize = 1024;

/// The HTTP client every webhook request goes through.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .build()
        .expect("the HTTP client's settings are valid")
}

/// What one request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Delivered(String),
    /// 410: the receiver is gone for good.
    Gone(String),
    Temporary(String),
    Permanent(String),
}

/// POSTs `body` (JSON) to `url`, signed with `secret` as message `id`, and classifies the
/// answer.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    id: &str,
    secret: &WebhookSecret,
    body: &[u8],
) -> Answer {
    let timestamp = Timestamp::now().unix_micros().div_euclid(1_000_000);
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            sign::signature(secret, id, timestamp, body),
        )
        .body(body.to_vec());
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Answer::Temporary(format!("no answer within {}s", TIMEOUT.as_secs()))
        }
        Err(e) => {
            return Answer::Temporary(format!(
                "could not reach {}: {}",
                redacted(url),
                root_cause(&e)
            ))
        }
    };
    let status = response.status();
    let reply = format!("HTTP {} {}", status.as_u16(), read_some(response).await);
    let reply = reply.trim_end().to_owned();
    match status.as_u16() {
        200..=299 => Answer::Delivered(reply),
        410 => Answer::Gone(reply),
        429 | 500..=599 | 408 => Answer::Temporary(reply),
        300..=399 => Answer::Permanent(format!("{reply} (redirects are not followed)")),
        _ => Answer::Permanent(reply),
    }
}

/// The URL without its query (which may hold a token).
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(invalid URL)".to_owned(),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// At most [`REPLY_BYTES`] of the answer, as text.
async fn read_some(response: reqwest::Response) -> String {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = REPLY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= REPLY_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&body).chars().take(200).collect()
}

/// The message id of `event` to webhook `webhook`: the same on every attempt, so receivers
/// can drop repeats.
pub fn message_id(event_id: i64, webhook_id: i64) -> String {
    format!("msg_e{event_id}_w{webhook_id}")
}

/// The ticket's public page, when the status page is on and a public URL is set.
fn public_link(settings: &LiveSettings, ticket_id: i64) -> Option<String> {
    let s = settings.get();
    let base = s.public_url.as_deref().filter(|_| s.status_page)?;
    Some(format!(
        "{}/status/tickets/{ticket_id}",
        base.trim_end_matches('/')
    ))
}

/// Sends the webhook channel's messages.
pub struct WebhookSender {
    store: Store,
    settings: LiveSettings,
    templates: Arc<Templates>,
    client: reqwest::Client,
}

/// The webhooks of a batch's messages, by id, and the tickets of its events as they were at
/// each event (by event id), for the `json` format.
pub struct WebhookBatch {
    targets: HashMap<i64, WebhookTarget>,
    tickets: HashMap<i64, Ticket>,
}

impl WebhookSender {
    pub fn new(store: Store, settings: LiveSettings, templates: Arc<Templates>) -> WebhookSender {
        WebhookSender {
            store,
            settings,
            templates,
            client: client(),
        }
    }

    /// The default language, in which webhooks are written.
    fn language(&self) -> Language {
        Language::chain(None, self.settings.get().default_language.as_str())
    }

    /// The event's headline: the email's subject template, in the default language.
    fn headline(&self, content: &EventContent) -> String {
        let s = self.settings.get();
        let language = self.language();
        let view = EmailView::new(content).with_organisation(s.organisation_name.as_deref());
        match EmailMessage::prepare(&self.templates, &view, &language, false) {
            Ok(message) => message.subject,
            Err(e) => {
                tracing::warn!(error = %e, "the subject template failed; the webhook's headline is plain");
                format!("Ticket #{}: {}", content.ticket_id, content.kind.as_str())
            }
        }
    }

    async fn deactivate(&self, webhook_id: i64, reason: &str) {
        match self
            .store
            .deactivate_webhook(webhook_id, reason, self.store.now())
            .await
        {
            Ok(true) => tracing::warn!(webhook = webhook_id, %reason, "webhook turned off"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, webhook = webhook_id, "could not turn a webhook off")
            }
        }
    }
}

impl Sender for WebhookSender {
    type Batch = WebhookBatch;

    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    fn ready(&self) -> Result<(), String> {
        Ok(())
    }

    async fn prepare(
        &self,
        batch: &[Claimed],
        _events: &HashMap<i64, Arc<EventContent>>,
    ) -> Option<WebhookBatch> {
        let mut ids: Vec<i64> = batch.iter().filter_map(|m| m.webhook_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let targets = match self.store.webhook_targets(&ids).await {
            Ok(targets) => targets,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the webhooks of a batch; it waits");
                return None;
            }
        };
        let mut events: Vec<i64> = batch
            .iter()
            .filter(|m| {
                m.webhook_id
                    .and_then(|id| targets.get(&id))
                    .is_some_and(|t| t.format == WebhookFormat::Json)
            })
            .filter_map(|m| m.event_id)
            .collect();
        events.sort_unstable();
        events.dedup();
        match self.store.event_tickets(&events).await {
            Ok(tickets) => Some(WebhookBatch { targets, tickets }),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the tickets of a batch; it waits");
                None
            }
        }
    }

    async fn send(&self, batch: &WebhookBatch, event: &EventContent, message: &Claimed) -> Attempt {
        let Some(target) = message.webhook_id.and_then(|id| batch.targets.get(&id)) else {
            return Attempt::Permanent("the webhook was deleted".to_owned());
        };
        if !target.is_active {
            return Attempt::Permanent("the webhook is turned off".to_owned());
        }
        let body = match target.format {
            WebhookFormat::Json => match batch.tickets.get(&event.event_id) {
                Some(ticket) => payload::ticket_json(ticket, event),
                None => return Attempt::Temporary("the event's ticket could not be read".into()),
            },
            WebhookFormat::Slack | WebhookFormat::Teams => {
                let link = public_link(&self.settings, event.ticket_id);
                let headline = self.headline(event);
                let language = self.language();
                let format = target.format;
                let link = link.as_deref();
                match payload::chat(&self.templates, &language, format, event, &headline, link) {
                    Ok(body) => body,
                    Err(e) => return Attempt::Permanent(e),
                }
            }
        };
        let id = message_id(event.event_id, target.id);
        match post(&self.client, &target.url, &id, &target.secret, &body).await {
            Answer::Delivered(reply) => Attempt::Delivered(reply),
            Answer::Temporary(error) => Attempt::Temporary(error),
            Answer::Permanent(error) => Attempt::Permanent(error),
            Answer::Gone(reply) => {
                self.deactivate(target.id, &format!("the receiver answered {reply}"))
                    .await;
                Attempt::Permanent(reply)
            }
        }
    }

    async fn gave_up(&self, message: &Claimed) {
        if let Some(id) = message.webhook_id {
            self.deactivate(id, "its messages failed for the whole retry window")
                .await;
        }
    }
}

/// The GUI's "send a test event": one signed `test` event to the webhook now, whatever its
/// state, its text in `default_language`; the receiver's answer, or why it failed.
pub async fn send_test_event(
    store: &Store,
    templates: &Templates,
    default_language: &str,
    webhook_id: i64,
) -> Result<String, String> {
    let targets = store
        .webhook_targets(&[webhook_id])
        .await
        .map_err(|e| format!("the webhook could not be read: {e}"))?;
    let target = targets
        .get(&webhook_id)
        .ok_or_else(|| "there is no such webhook".to_owned())?;
    let now = store.now();
    let language = Language::chain(None, default_language);
    let body = payload::test_body(templates, &language, target.format, now);
    let id = format!("msg_test_w{webhook_id}_{}", now.ticks());
    match post(&client(), &target.url, &id, &target.secret, &body).await {
        Answer::Delivered(reply) => Ok(reply),
        Answer::Gone(reply) | Answer::Temporary(reply) | Answer::Permanent(reply) => Err(reply),
    }
}
