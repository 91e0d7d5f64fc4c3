//! What a webhook gets for an event, in its format: `json` (the ticket exactly as
//! `GET /api/Tickets/{id}` shows it — the same serializer, the same properties in the same
//! order — then `Event` and `EventTime`), `slack` (an incoming webhook's message: text and
//! blocks) or `teams` (an incoming webhook's message: an Adaptive Card). The chat messages are
//! the templates `webhook/<language>/slack.json` and `teams.json` (the template engine of every
//! channel, overridable with `--templates`; every value is written as JSON), in the default
//! language; the test event's text is `webhook/<language>/test.txt`. The headline is the
//! email's subject (its template, in the default language: see [`super::WebhookSender`]), so
//! every channel names an event in the same words.

use minijinja::Value as Context;
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::{EventContent, Ticket, Timestamp, WebhookFormat};
use crate::notify::templates::{Language, Templates};
use crate::wire::datetime;
use crate::wire::model::{TicketDto, WireEntity};

/// The templates' channel.
pub const CHANNEL: &str = "webhook";

/// The `json` body: the ticket at the event as the API shows it, then the event.
#[derive(Serialize)]
struct TicketEvent<'a> {
    #[serde(flatten)]
    ticket: TicketDto,
    #[serde(rename = "Event")]
    event: &'a str,
    #[serde(rename = "EventTime")]
    event_time: String,
}

/// The `json` body of `content`'s event, `ticket` being the ticket as it was at the event.
pub fn ticket_json(ticket: &Ticket, content: &EventContent) -> Vec<u8> {
    serde_json::to_vec(&TicketEvent {
        ticket: ticket.to_wire(),
        event: content.kind.as_str(),
        event_time: datetime::format(content.at),
    })
    .expect("wire DTOs always serialize")
}

/// A time as the chat messages show it: `2026-12-01 11:50 UTC`.
fn utc(ts: Option<Timestamp>) -> Option<String> {
    ts.map(|t| format!("{} UTC", &datetime::format(t)[..16].replace('T', " ")))
}

/// What the chat templates see of `content`'s event.
fn context(content: &EventContent, headline: &str, link: Option<&str>) -> Context {
    let t = &content.times;
    Context::from_serialize(json!({
        "event": content.kind.as_str(),
        "ticket_id": content.ticket_id,
        "headline": headline,
        "description": content.description,
        "services": content.services.join(", "),
        "start": utc(t.start_time),
        "end": utc(t.end_time),
        "expected_resolution": utc(t.expected_resolution_time),
        "next_update": utc(t.next_update_time),
        "resolved": utc(t.closed_time),
        "reopened": utc(t.reopened_time),
        "link": link,
    }))
}

/// A sample context, to check overrides at start.
pub fn sample_context() -> Context {
    Context::from_serialize(json!({
        "event": "created",
        "ticket_id": 42,
        "headline": "New disruption: Mail - Mail is delayed",
        "description": "Mail is delayed by up to an hour.",
        "services": "Mail, Web hosting",
        "start": "2026-12-01 11:50 UTC",
        "end": null,
        "expected_resolution": "2026-12-01 14:00 UTC",
        "next_update": null,
        "resolved": null,
        "reopened": null,
        "link": "https://status.example.com/status/tickets/42",
    }))
}

/// The chat template of a format (none for `json`, which is the API's).
fn template(format: WebhookFormat) -> Option<&'static str> {
    match format {
        WebhookFormat::Json => None,
        WebhookFormat::Slack => Some("slack.json"),
        WebhookFormat::Teams => Some("teams.json"),
    }
}

/// The Slack or Teams body of `content`'s event under `headline`, in `language`; `link` is the
/// ticket's public page, when there is one to show. Checked to be JSON.
pub fn chat(
    templates: &Templates,
    language: &Language,
    format: WebhookFormat,
    content: &EventContent,
    headline: &str,
    link: Option<&str>,
) -> Result<Vec<u8>, String> {
    let name = template(format).ok_or("the json format is not a chat message")?;
    let text = templates
        .render(CHANNEL, language, name, &context(content, headline, link))
        .map_err(|e| format!("the {name} template failed: {e:#}"))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the {name} template did not give JSON: {e}"))?;
    Ok(value.to_string().into_bytes())
}

/// The GUI's test event, in `format`: its text from `test.txt`.
pub fn test_body(
    templates: &Templates,
    language: &Language,
    format: WebhookFormat,
    at: Timestamp,
) -> Vec<u8> {
    let text = templates
        .render(CHANNEL, language, "test.txt", &Context::from(()))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the webhook test text failed; the built-in words are used");
            "Herald test event: this webhook works.".to_owned()
        });
    let text = text.trim();
    let body = match format {
        WebhookFormat::Json => {
            json!({"Event": "test", "EventTime": datetime::format(at), "Text": text})
        }
        WebhookFormat::Slack => json!({"text": text}),
        WebhookFormat::Teams => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{"type": "TextBlock", "text": text, "wrap": true}],
                },
            }],
        }),
    };
    body.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::{EventKind, TicketTimes};

    fn content() -> EventContent {
        let at = |s: &str| crate::wire::datetime::parse(s).unwrap();
        EventContent {
            event_id: 9,
            kind: EventKind::Created,
            at: at("2026-12-01T12:00:05Z"),
            ticket_id: 7,
            ticket_created: at("2026-12-01T12:00:05Z"),
            description: "Mail is down <b>&</b>".into(),
            services: vec!["Mail".into(), "Web".into()],
            times: TicketTimes {
                start_time: Some(at("2026-12-01T11:50:00Z")),
                expected_resolution_time: Some(at("2026-12-01T14:00:00Z")),
                ..TicketTimes::default()
            },
            planned: false,
            sequence: 0,
            lead: None,
            for_operators: false,
        }
    }

    const LINK: &str = "https://status.example.com/status/tickets/7";
    const HEADLINE: &str = "New disruption: Mail, Web - Mail is down";

    fn en() -> Language {
        Language::chain(None, "en")
    }

    fn chat_value(format: WebhookFormat, language: &Language, link: Option<&str>) -> Value {
        let body = chat(
            &Templates::builtin(),
            language,
            format,
            &content(),
            HEADLINE,
            link,
        )
        .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn body(
        format: WebhookFormat,
        _content: &EventContent,
        _headline: &str,
        link: Option<&str>,
    ) -> Value {
        chat_value(format, &en(), link)
    }

    #[test]
    fn json_is_the_ticket_as_the_api_shows_it_then_its_event() {
        use crate::domain::{OperatorRef, Service};
        let c = content();
        let ticket = Ticket {
            id: 7,
            description: c.description.clone(),
            times: c.times,
            created_time: c.ticket_created,
            services: vec![Service {
                id: 3,
                name: "Mail".into(),
                description: Some("SMTP".into()),
                is_public: true,
            }],
            operator: Some(OperatorRef {
                id: 2,
                name: "Ann".into(),
            }),
        };
        let body = String::from_utf8(ticket_json(&ticket, &c)).unwrap();
        let api = String::from_utf8(crate::wire::format::entity(
            crate::wire::format::Format::Json,
            &ticket,
            "",
        ))
        .unwrap();
        // The API's object, its closing brace replaced by the event's two properties.
        let expected = format!(
            "{},\"Event\":\"created\",\"EventTime\":\"2026-12-01T12:00:05Z\"}}",
            api.strip_suffix('}').unwrap()
        );
        assert_eq!(body, expected);
        assert!(body.starts_with("{\"Id\":7,\"Description\":"), "{body}");
    }

    #[test]
    fn german_chat_messages_say_no_english() {
        let de = Language::chain(Some("de"), "en");
        for format in [WebhookFormat::Slack, WebhookFormat::Teams] {
            let text = chat_value(format, &de, Some(LINK)).to_string();
            assert!(
                text.contains("Dienste") && text.contains("Voraussichtlich behoben"),
                "{text}"
            );
            for english in ["Services", "Start", "Expected", "View the ticket"] {
                assert!(!text.contains(english), "{english}: {text}");
            }
        }
    }

    #[test]
    fn an_override_changes_a_chat_message_and_one_that_gives_no_json_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "webhook/en/slack.json",
            r#"{"text": {{ headline }}, "services": {{ services }}}"#,
        );
        write("webhook/en/teams.json", r#"{"text": {{ headline }},}"#);
        let t = Templates::load(Some(dir.path())).unwrap();
        let problems: Vec<String> = t.problems().iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("teams.json") && problems[0].contains("JSON"),
            "{problems:?}"
        );
        let slack = chat(
            &t,
            &en(),
            WebhookFormat::Slack,
            &content(),
            "A <b> & \"c\"",
            None,
        )
        .unwrap();
        let slack: Value = serde_json::from_slice(&slack).unwrap();
        assert_eq!(
            slack,
            json!({"text": "A <b> & \"c\"", "services": "Mail, Web"}),
            "values are written as JSON"
        );
        // The broken one is left out: the built-in Teams card is sent.
        let teams = chat(&t, &en(), WebhookFormat::Teams, &content(), HEADLINE, None).unwrap();
        let teams: Value = serde_json::from_slice(&teams).unwrap();
        assert_eq!(teams["type"], "message");
    }

    #[test]
    fn test_events_say_the_test_text() {
        let t = Templates::builtin();
        let at = crate::wire::datetime::parse("2026-12-01T12:00:05Z").unwrap();
        let json: Value =
            serde_json::from_slice(&test_body(&t, &en(), WebhookFormat::Json, at)).unwrap();
        assert_eq!(
            json,
            json!({"Event": "test", "EventTime": "2026-12-01T12:00:05Z", "Text": "Herald test event: this webhook works."})
        );
        let de = Language::chain(Some("de"), "en");
        let slack: Value =
            serde_json::from_slice(&test_body(&t, &de, WebhookFormat::Slack, at)).unwrap();
        assert_eq!(
            slack,
            json!({"text": "Herald-Testereignis: dieser Webhook funktioniert."})
        );
        let teams: Value =
            serde_json::from_slice(&test_body(&t, &en(), WebhookFormat::Teams, at)).unwrap();
        assert_eq!(
            teams["attachments"][0]["content"]["body"][0]["text"],
            "Herald test event: this webhook works."
        );
    }

    #[test]
    fn slack_gets_text_and_blocks_escaped() {
        let golden = json!({
            "text": HEADLINE,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": HEADLINE}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "Mail is down &lt;b&gt;&amp;&lt;/b&gt;"}},
                {"type": "section", "text": {"type": "mrkdwn", "text":
                    "*Services:* Mail, Web\n*Start:* 2026-12-01 11:50 UTC\n*Expected resolution:* 2026-12-01 14:00 UTC\n<https://status.example.com/status/tickets/7|View the ticket>"}},
            ],
        });
        assert_eq!(
            body(WebhookFormat::Slack, &content(), HEADLINE, Some(LINK)),
            golden
        );
    }

    #[test]
    fn teams_gets_an_adaptive_card() {
        let golden = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": HEADLINE, "weight": "Bolder", "size": "Medium", "wrap": true},
                        {"type": "TextBlock", "text": "Mail is down <b>&</b>", "wrap": true},
                        {"type": "FactSet", "facts": [
                            {"title": "Services", "value": "Mail, Web"},
                            {"title": "Start", "value": "2026-12-01 11:50 UTC"},
                            {"title": "Expected resolution", "value": "2026-12-01 14:00 UTC"},
                        ]},
                    ],
                    "actions": [{"type": "Action.OpenUrl", "title": "View the ticket", "url": LINK}],
                },
            }],
        });
        assert_eq!(
            body(WebhookFormat::Teams, &content(), HEADLINE, Some(LINK)),
            golden
        );
        let without_link = body(WebhookFormat::Teams, &content(), HEADLINE, None);
        assert!(without_link["attachments"][0]["content"]
            .get("actions")
            .is_none());
    }
}
