//! The confirmation email of a self-subscription (double opt-in): the link that confirms it,
//! from the templates `confirm_subscription_subject.txt` and `confirm_subscription.txt` in the
//! default language. Sent once, from the request's own task (nothing is queued: a request
//! whose email does not go out is simply made again).

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, SinglePart};
use lettre::{Address, Message};

use super::compose::RawMessage;
use super::mailer::{MailConfig, Mailer};
use crate::live_settings::Snapshot;
use crate::notify::templates::{Language, Templates, CHANNEL};

/// What the confirmation email says.
pub struct Confirmation<'a> {
    pub to: &'a str,
    pub organisation: &'a str,
    /// The services asked for, by name.
    pub services: &'a [String],
    /// `{base}/status/subscribe/{token}`: only ever in this message.
    pub link: &'a str,
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

/// Sends the confirmation email with the current mail settings; `Err` says why not.
pub async fn send(
    settings: &Snapshot,
    templates: &Templates,
    c: &Confirmation<'_>,
) -> Result<String, String> {
    let config = MailConfig::from_settings(settings)?
        .ok_or_else(|| "no mail server is configured".to_owned())?;
    let to: Address =
        c.to.parse()
            .map_err(|_| "not an address that can be mailed".to_owned())?;
    let language = Language::chain(None, settings.default_language.as_str());
    let (subject, body) =
        render(templates, &language, c).map_err(|e| format!("could not be rendered: {e}"))?;
    let message = Message::builder()
        .from(config.from.clone())
        .to(Mailbox::new(None, to))
        .subject(subject)
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body),
        )
        .map_err(|e| format!("could not be built: {e}"))?;
    let mailer = Mailer::new(config, 1);
    let result = mailer
        .send(&RawMessage::from_lettre(&message))
        .await
        .map_err(|e| e.to_string());
    mailer.shutdown().await;
    result
}
