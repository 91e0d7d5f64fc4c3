//! What a text says: the template of its event in the recipient's language (the customer's
//! `Language`, then the default language: `templates/sms/<language>/<event>.txt`, through the
//! template engine of every channel), then a short link to the ticket's public page when
//! the status page is on and a public URL is set (kept whole when the text is shortened).

use minijinja::Value;
use serde_json::json;

use crate::domain::ticket::EventKind;
use crate::domain::EventContent;
use crate::live_settings::Snapshot;
use crate::notify::templates::{Language, Templates};

pub const CHANNEL: &str = "sms";

/// The template of an event kind, if texts are written for it.
fn template(kind: EventKind) -> Option<&'static str> {
    Some(match kind {
        EventKind::Created => "created.txt",
        EventKind::Updated => "updated.txt",
        EventKind::Closed => "closed.txt",
        EventKind::Reopened => "reopened.txt",
        EventKind::Reminder => "reminder.txt",
        _ => return None,
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn context(content: &EventContent, settings: &Snapshot) -> Value {
    Value::from_serialize(json!({
        "event": content.kind.as_str(),
        "ticket_id": content.ticket_id,
        "services": content.services.join(", "),
        "description": one_line(&content.description),
        "organisation": settings.organisation_name,
    }))
}

/// A sample context, to check overrides at start.
pub fn sample_context() -> Value {
    Value::from_serialize(json!({
        "event": "created",
        "ticket_id": 42,
        "services": "Mail, Web hosting",
        "description": "Mail is delayed by up to an hour.",
        "organisation": "Acme Hosting",
    }))
}

/// The text of `content`'s event in `language` (body, link), or why it cannot be written.
pub fn render(
    templates: &Templates,
    settings: &Snapshot,
    content: &EventContent,
    language: &Language,
) -> Result<(String, String), String> {
    let name = template(content.kind)
        .ok_or_else(|| format!("no text is written for {} events", content.kind.as_str()))?;
    let body = templates
        .render(CHANNEL, language, name, &context(content, settings))
        .map_err(|e| format!("the text could not be rendered: {e:#}"))?;
    let link = match (&settings.public_url, settings.status_page) {
        (Some(url), true) => format!(" {url}/status/tickets/{}", content.ticket_id),
        _ => String::new(),
    };
    Ok((one_line(&body), link))
}

#[cfg(test)]
#[path = "golden_tests.rs"]
mod golden_tests;
