//! What a webhook gets for an event, in its format: `json` (the ticket as the API shows it —
//! its services by name — plus `Event` and `EventTime`), `slack` (an incoming webhook's
//! message: text and blocks) or `teams` (an incoming webhook's message: an Adaptive Card).
//! The headline is the email's subject (its template, `email/<language>/subject.txt`, in the
//! default language: see [`super::WebhookSender`]), so every channel names an event in the
//! same words.

use serde_json::{json, Value};

use crate::domain::ticket::Lifecycle;
use crate::domain::{EventContent, Timestamp, WebhookFormat};
use crate::wire::datetime;

/// The body of `content`'s POST in `format`, under `headline`; `link` is the ticket's public
/// page, when there is one to show.
pub fn body(
    format: WebhookFormat,
    content: &EventContent,
    headline: &str,
    link: Option<&str>,
) -> Value {
    match format {
        WebhookFormat::Json => ticket_json(content),
        WebhookFormat::Slack => slack(content, headline, link),
        WebhookFormat::Teams => teams(content, headline, link),
    }
}

fn time(ts: Option<Timestamp>) -> Value {
    ts.map_or(Value::Null, |t| Value::String(datetime::format(t)))
}

/// The ticket as the API shows it at the event, plus `Event` and `EventTime`.
fn ticket_json(c: &EventContent) -> Value {
    let t = &c.times;
    json!({
        "Event": c.kind.as_str(),
        "EventTime": datetime::format(c.at),
        "Id": c.ticket_id,
        "Description": c.description,
        "Services": c.services.iter().map(|name| json!({"Name": name})).collect::<Vec<_>>(),
        "CreatedTime": datetime::format(c.ticket_created),
        "StartTime": time(t.start_time),
        "EndTime": time(t.end_time),
        "ExpectedResolutionTime": time(t.expected_resolution_time),
        "NextUpdateTime": time(t.next_update_time),
        "ClosedTime": time(t.closed_time),
        "ReopenedTime": time(t.reopened_time),
        "IsClosed": t.lifecycle() == Lifecycle::Closed,
    })
}

/// Slack's mrkdwn escapes only these three.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The facts every chat message lists: services, start, expected resolution, closed.
fn facts(c: &EventContent) -> Vec<(&'static str, String)> {
    let t = &c.times;
    let utc = |ts: Timestamp| format!("{} UTC", &datetime::format(ts)[..16].replace('T', " "));
    let mut facts = vec![("Services", c.services.join(", "))];
    for (label, value) in [
        ("Start", t.start_time),
        ("End", t.end_time),
        ("Expected resolution", t.expected_resolution_time),
        ("Next update", t.next_update_time),
        ("Resolved", t.closed_time),
        ("Reopened", t.reopened_time),
    ] {
        if let Some(ts) = value {
            facts.push((label, utc(ts)));
        }
    }
    facts
}

fn slack(c: &EventContent, headline: &str, link: Option<&str>) -> Value {
    let mut details: Vec<String> = facts(c)
        .into_iter()
        .map(|(label, value)| format!("*{label}:* {}", slack_escape(&value)))
        .collect();
    if let Some(link) = link {
        details.push(format!("<{}|View the ticket>", slack_escape(link)));
    }
    json!({
        "text": headline,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline.chars().take(150).collect::<String>()}},
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(&c.description)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": details.join("\n")}},
        ],
    })
}

fn teams(c: &EventContent, headline: &str, link: Option<&str>) -> Value {
    let facts: Vec<Value> = facts(c)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    teams_message(
        vec![
            json!({"type": "TextBlock", "text": headline, "weight": "Bolder", "size": "Medium", "wrap": true}),
            json!({"type": "TextBlock", "text": c.description, "wrap": true}),
            json!({"type": "FactSet", "facts": facts}),
        ],
        link,
    )
}

/// The GUI's test event, in `format`.
pub fn test_body(format: WebhookFormat, at: Timestamp) -> Value {
    const TEXT: &str = "Herald test event: this webhook works.";
    match format {
        WebhookFormat::Json => json!({"Event": "test", "EventTime": datetime::format(at)}),
        WebhookFormat::Slack => json!({"text": TEXT}),
        WebhookFormat::Teams => teams_message(
            vec![json!({"type": "TextBlock", "text": TEXT, "wrap": true})],
            None,
        ),
    }
}

/// A Teams message holding one Adaptive Card with this body.
fn teams_message(body: Vec<Value>, link: Option<&str>) -> Value {
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(link) = link {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "View the ticket", "url": link}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
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

    #[test]
    fn json_is_the_ticket_with_its_event() {
        let golden = json!({
            "Event": "created",
            "EventTime": "2026-12-01T12:00:05Z",
            "Id": 7,
            "Description": "Mail is down <b>&</b>",
            "Services": [{"Name": "Mail"}, {"Name": "Web"}],
            "CreatedTime": "2026-12-01T12:00:05Z",
            "StartTime": "2026-12-01T11:50:00Z",
            "EndTime": null,
            "ExpectedResolutionTime": "2026-12-01T14:00:00Z",
            "NextUpdateTime": null,
            "ClosedTime": null,
            "ReopenedTime": null,
            "IsClosed": false,
        });
        assert_eq!(
            body(WebhookFormat::Json, &content(), HEADLINE, Some(LINK)),
            golden
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
