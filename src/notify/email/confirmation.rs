//! The confirmation email of a self-subscription (double opt-in): the link that confirms it,
//! from the templates `confirm_subscription_subject.txt` and `confirm_subscription.txt` in the
//! default language.
//!
//! It goes through the outbox like every other message: the store queues it in the request's
//! own transaction (a message of no event, naming its request), and the email channel's
//! workers send it with their retries, leases and outcomes. [`prepare`] issues each message's
//! link as its batch is about to be sent: a fresh random token, only its SHA-256 recorded
//! (`Store::issue_subscription_links`) before anything goes out, so the plain token exists in
//! the message alone. A retry sends a new link; every link issued works until the request is
//! confirmed or expires.

use std::collections::HashMap;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, SinglePart};
use lettre::{Address, Message};

use super::compose::RawMessage;
use crate::domain::{Claimed, LinkToken, Timestamp};
use crate::live_settings::Snapshot;
use crate::notify::templates::{Language, Templates, CHANNEL};
use crate::store::{LinkState, Store};

/// What the confirmation email says.
pub struct Confirmation<'a> {
    pub organisation: &'a str,
    /// The services asked for, by name.
    pub services: &'a [String],
    /// `{base}/status/subscribe/{token}`: only ever in this message.
    pub link: &'a str,
    /// How many hours the link still works.
    pub hours: u64,
}

impl std::fmt::Debug for Confirmation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmation")
            .field("link", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// The subject and body of the confirmation email.
pub fn render(
    templates: &Templates,
    language: &Language,
    c: &Confirmation<'_>,
) -> Result<(String, String), minijinja::Error> {
    let ctx = minijinja::context! {
        confirm => minijinja::context! {
            organisation => c.organisation,
            services => c.services.join(", "),
            link => c.link,
            hours => c.hours,
        },
    };
    let subject = templates.render(CHANNEL, language, "confirm_subscription_subject.txt", &ctx)?;
    let body = templates.render(CHANNEL, language, "confirm_subscription.txt", &ctx)?;
    Ok((
        subject.split_whitespace().collect::<Vec<_>>().join(" "),
        body,
    ))
}

/// A confirmation email ready to send (its subject and body), or why it will not be sent.
pub type Prepared = Result<(String, String), String>;

/// Issues the links of the batch's confirmation emails and renders them: message id → what to
/// send. `base` is where the public wing is reached. `None` when the links could not be
/// recorded (the batch waits, nothing goes out without a working link).
pub async fn prepare(
    store: &Store,
    settings: &Snapshot,
    templates: &Templates,
    base: &str,
    batch: &[Claimed],
) -> Option<HashMap<i64, Prepared>> {
    let mut tokens = Vec::new();
    let mut links = Vec::new();
    for message in batch {
        if let Some(request) = message.subscription_id {
            let token = LinkToken::generate();
            links.push((request, token.digest()));
            tokens.push((message.id, request, token));
        }
    }
    if tokens.is_empty() {
        return Some(HashMap::new());
    }
    let issued = store.issue_subscription_links(&links).await;
    store.note_write(&issued);
    let states = match issued {
        Ok(states) => states,
        Err(e) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not record the links of subscription confirmations; they wait");
            return None;
        }
    };
    let organisation = settings
        .organisation_name
        .clone()
        .unwrap_or_else(|| "Herald".to_owned());
    let language = Language::chain(None, settings.default_language.as_str());
    let now = store.now();
    let mut prepared = HashMap::new();
    for (message, request, token) in tokens {
        let email = match states.get(&request) {
            Some((LinkState::Open { services, .. }, expires)) => {
                let link = format!(
                    "{}/status/subscribe/{}",
                    base.trim_end_matches('/'),
                    token.expose()
                );
                let c = Confirmation {
                    organisation: &organisation,
                    services,
                    link: &link,
                    hours: hours_left(now, *expires),
                };
                render(templates, &language, &c)
                    .map_err(|e| format!("the message could not be rendered: {e:#}"))
            }
            Some((LinkState::Used, _)) => {
                Err("not sent: the subscription was confirmed already".to_owned())
            }
            _ => Err("not sent: the subscription request expired first".to_owned()),
        };
        prepared.insert(message, email);
    }
    Some(prepared)
}

/// The hours from `now` to `expires`, rounded, at least 1.
fn hours_left(now: Timestamp, expires: Timestamp) -> u64 {
    let secs = u64::try_from(expires.ticks().saturating_sub(now.ticks()) / 10_000_000).unwrap_or(0);
    ((secs + 1800) / 3600).max(1)
}

/// The confirmation email to `to` from `from`.
pub fn message(
    from: &Mailbox,
    to: &str,
    (subject, body): &(String, String),
) -> Result<RawMessage, String> {
    let to: Address = to
        .parse()
        .map_err(|_| "not an address that can be mailed".to_owned())?;
    let message = Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(subject)
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body.clone()),
        )
        .map_err(|e| format!("could not be built: {e}"))?;
    Ok(RawMessage::from_lettre(&message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_left_are_rounded_and_never_zero() {
        let now = Timestamp::from_ticks(0);
        let at = |secs: i64| Timestamp::from_ticks(secs * 10_000_000);
        assert_eq!(hours_left(now, at(24 * 3600 - 1)), 24);
        assert_eq!(hours_left(now, at(22 * 3600 + 1000)), 22);
        assert_eq!(hours_left(now, at(60)), 1);
        assert_eq!(hours_left(at(100), at(0)), 1);
    }
}
