//! What a notification says: the subject, and the plain-text and HTML bodies rendered from the
//! template files in `templates/email/` (one pair per event; HTML escapes every value).

use askama::Template;

use crate::domain::ticket::EventKind;
use crate::domain::{isolate_bidi, EventContent, Timestamp};

/// Longest start of the description shown in a subject.
const SUBJECT_DESCRIPTION_CHARS: usize = 60;

/// The values the templates show for one event, already formatted (times as UTC, labelled so).
/// The same for every recipient: built once per event, rendered with each recipient's name.
#[derive(Debug, Clone)]
pub struct EmailView {
    pub kind: EventKind,
    pub subject: String,
    pub services: String,
    pub description: String,
    pub ticket_id: i64,
    pub event_time: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub expected_resolution: Option<String>,
    pub next_update: Option<String>,
    pub closed: Option<String>,
    pub reopened: Option<String>,
}

/// A rendered message, ready to be addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `2001-01-01 12:00 UTC`.
pub fn utc(ts: Timestamp) -> String {
    ts.to_chrono().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The event in a customer's words.
pub fn headline(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Created => "New disruption",
        EventKind::Updated => "Update",
        EventKind::Closed => "Resolved",
        EventKind::Reopened => "Reopened",
    }
}

/// The services' names, each isolated (see [`isolate_bidi`]).
fn services(names: &[String]) -> String {
    let isolated: Vec<_> = names.iter().map(|n| isolate_bidi(n)).collect();
    isolated.join(", ")
}

/// `New disruption: Mail, Web - Mail is down since…`: the event, the services, and the start
/// of the description's first line. Every value is isolated (see [`isolate_bidi`]), so an
/// override in a name or description cannot reverse the rest of the subject.
pub fn subject(content: &EventContent) -> String {
    let first_line = content.description.lines().next().unwrap_or("").trim();
    let mut start: String = first_line.chars().take(SUBJECT_DESCRIPTION_CHARS).collect();
    if start.len() < content.description.trim().len() {
        start = format!("{}…", start.trim_end());
    }
    let start = isolate_bidi(&start);
    let services = services(&content.services);
    match (services.is_empty(), start.is_empty()) {
        (false, false) => format!("{}: {services} - {start}", headline(content.kind)),
        (false, true) => format!("{}: {services}", headline(content.kind)),
        (true, _) => format!("{}: {start}", headline(content.kind)),
    }
}

impl EmailView {
    pub fn new(content: &EventContent) -> Self {
        let t = &content.times;
        let time = |ts: Option<Timestamp>| ts.map(utc);
        EmailView {
            kind: content.kind,
            subject: subject(content),
            services: services(&content.services),
            description: isolate_bidi(&content.description).into_owned(),
            ticket_id: content.ticket_id,
            event_time: utc(content.at),
            start: time(t.start_time),
            end: time(t.end_time),
            expected_resolution: time(t.expected_resolution_time),
            next_update: time(t.next_update_time),
            closed: time(t.closed_time).filter(|_| content.kind == EventKind::Closed),
            reopened: time(t.reopened_time).filter(|_| content.kind == EventKind::Reopened),
        }
    }
}

/// One template struct per file; all render the same [`EmailView`].
macro_rules! email_templates {
    ($($name:ident => $path:tt,)*) => {
        $(
            #[derive(Template)]
            #[template(path = $path)]
            struct $name<'a> {
                m: &'a EmailView,
                name: &'a str,
            }
        )*
    };
}

email_templates! {
    CreatedText => "email/created.txt",
    CreatedHtml => "email/created.html",
    UpdatedText => "email/updated.txt",
    UpdatedHtml => "email/updated.html",
    ClosedText => "email/closed.txt",
    ClosedHtml => "email/closed.html",
    ReopenedText => "email/reopened.txt",
    ReopenedHtml => "email/reopened.html",
}

/// Renders an event's message for one recipient, greeted by `name`.
pub fn render(view: &EmailView, name: &str) -> Result<Rendered, askama::Error> {
    let m = view;
    let name = &*isolate_bidi(name);
    let (text, html) = match view.kind {
        EventKind::Created => (
            CreatedText { m, name }.render()?,
            CreatedHtml { m, name }.render()?,
        ),
        EventKind::Updated => (
            UpdatedText { m, name }.render()?,
            UpdatedHtml { m, name }.render()?,
        ),
        EventKind::Closed => (
            ClosedText { m, name }.render()?,
            ClosedHtml { m, name }.render()?,
        ),
        EventKind::Reopened => (
            ReopenedText { m, name }.render()?,
            ReopenedHtml { m, name }.render()?,
        ),
    };
    Ok(Rendered {
        subject: view.subject.clone(),
        text,
        html,
    })
}

#[derive(Template)]
#[template(path = "email/test.txt")]
struct TestText<'a> {
    sent_at: &'a str,
}

/// The body of the Settings page's test email.
pub fn render_test(at: Timestamp) -> Result<String, askama::Error> {
    TestText { sent_at: &utc(at) }.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::TicketTimes;

    fn content(kind: EventKind, description: &str) -> EventContent {
        EventContent {
            event_id: 1,
            kind,
            at: Timestamp::from_unix_micros(978_350_400_000_000),
            ticket_id: 7,
            ticket_created: Timestamp::from_unix_micros(1),
            description: description.to_owned(),
            services: vec!["Mail".into(), "Web & <Co>".into()],
            times: TicketTimes {
                start_time: Some(Timestamp::from_unix_micros(978_350_400_000_000)),
                closed_time: Some(Timestamp::from_unix_micros(978_357_600_000_000)),
                ..Default::default()
            },
        }
    }

    #[test]
    fn subjects_name_event_services_and_description_start() {
        let c = content(EventKind::Created, "Mail is down\nmore");
        assert_eq!(
            subject(&c),
            "New disruption: Mail, Web & <Co> - Mail is down…"
        );
        let long = "x".repeat(100);
        let s = subject(&content(EventKind::Closed, &long));
        assert!(s.starts_with("Resolved: "), "{s}");
        assert!(s.ends_with(&format!("{}…", "x".repeat(60))), "{s}");
        let s = subject(&content(EventKind::Reopened, "short"));
        assert_eq!(s, "Reopened: Mail, Web & <Co> - short");
    }

    #[test]
    fn html_escapes_every_value_and_text_does_not() {
        let c = content(EventKind::Closed, "<script>alert(1)</script> & \"x\"");
        let r = render(&EmailView::new(&c), "Ann <admin>").unwrap();
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
        assert!(r.html.contains("Ann &lt;admin&gt;"));
        assert!(r.html.contains("Web &amp; &lt;Co&gt;"));
        assert!(r.text.contains("<script>alert(1)</script>"));
        assert!(r
            .text
            .contains("Resolved:             2001-01-01 14:00 UTC"));
        assert!(r.html.contains("2001-01-01 12:00 UTC"));
        assert!(r.text.contains("All times are UTC"));
    }

    #[test]
    fn bidi_overrides_in_names_and_descriptions_are_isolated() {
        let mut c = content(EventKind::Created, "Mail \u{202E}nwod si");
        c.services = vec!["Web\u{202E}".into(), "Mail".into()];
        let view = EmailView::new(&c);
        assert_eq!(
            view.subject,
            "New disruption: \u{2068}Web\u{202E}\u{2069}, Mail - \u{2068}Mail \u{202E}nwod si\u{2069}"
        );
        let r = render(&view, "Ann\u{202E}").unwrap();
        for body in [&r.text, &r.html] {
            assert!(
                body.contains("Hello \u{2068}Ann\u{202E}\u{2069},"),
                "{body}"
            );
            assert!(
                body.contains("\u{2068}Mail \u{202E}nwod si\u{2069}"),
                "{body}"
            );
            assert!(!body.contains("Web\u{202E},"), "{body}");
        }
        // Every isolate opened is closed.
        assert_eq!(
            r.html.matches('\u{2068}').count(),
            r.html.matches('\u{2069}').count()
        );
    }

    #[test]
    fn each_event_has_its_own_wording() {
        let intro = |k| render(&EmailView::new(&content(k, "d")), "A").unwrap().text;
        assert!(intro(EventKind::Created).contains("new disruption"));
        assert!(intro(EventKind::Updated).contains("an update"));
        assert!(intro(EventKind::Closed).contains("is resolved"));
        assert!(intro(EventKind::Reopened).contains("reopened"));
        assert!(!intro(EventKind::Created).contains("Resolved:"));
    }

    #[test]
    fn short_values_keep_html_lines_short() {
        // Lines under 75 characters let the parts go out as 7bit, not quoted-printable.
        for kind in [
            EventKind::Created,
            EventKind::Updated,
            EventKind::Closed,
            EventKind::Reopened,
        ] {
            let mut c = content(kind, "Mail is down");
            c.services = vec!["Mail".into(), "Web".into()];
            let r = render(&EmailView::new(&c), "Ann").unwrap();
            let long: Vec<&str> = r.html.lines().filter(|l| l.len() > 72).collect();
            assert!(long.is_empty(), "{kind:?} {long:#?}");
            let long: Vec<&str> = r.text.lines().filter(|l| l.len() > 72).collect();
            assert!(long.is_empty(), "{kind:?} {long:#?}");
        }
    }
}
