//! What a notification says: the subject, and the plain-text and HTML bodies rendered from the
//! template files in `templates/email/` (one pair per event; HTML escapes every value).

use std::time::Duration;

use askama::Template;

use crate::domain::calendar::{self, Method};
use crate::domain::ticket::{EventKind, TicketTimes};
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
    /// Planned work: its messages say "Planned maintenance" and carry an invitation.
    pub planned: bool,
    /// Planned work's window (`2026-12-01 22:00 to 23:30 UTC`).
    pub window: Option<String>,
    /// Planned work closed before it began: called off, not completed.
    pub called_off: bool,
    /// A reminder's lead time in words (`1 hour`).
    pub lead: Option<String>,
    /// How late a promised update is (`5 minutes`).
    pub late: String,
    /// The ticket's page (operators' messages), once [`EmailView::with_base_url`] is known.
    pub link: Option<String>,
    calendar: Option<Invitation>,
}

/// What the calendar part of a planned-work message says.
#[derive(Debug, Clone)]
struct Invitation {
    method: Method,
    ticket_id: i64,
    sequence: u32,
    times: TicketTimes,
    summary: String,
    description: String,
    stamp: Timestamp,
    host: String,
}

/// A recipient's own links: their personal page and the one-click unsubscribe (the same
/// token; see [`crate::domain::LinkToken`]). Only ever in a message to that one recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Links {
    pub personal: String,
    pub unsubscribe: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Links(REDACTED)")
    }
}

impl Links {
    /// The links of `token` under `base` (the public URL, without a trailing `/`).
    pub fn new(base: &str, token: &crate::domain::LinkToken) -> Links {
        let base = base.trim_end_matches('/');
        Links {
            personal: format!("{base}/my/{}", token.expose()),
            unsubscribe: format!("{base}/unsubscribe/{}", token.expose()),
        }
    }
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

/// A window in words: `2026-12-01 22:00 to 23:30 UTC` within a day, else both dates.
pub fn window_words(start: Timestamp, end: Timestamp) -> String {
    let (s, e) = (start.to_chrono(), end.to_chrono());
    if s.date_naive() == e.date_naive() {
        format!(
            "{} to {} UTC",
            s.format("%Y-%m-%d %H:%M"),
            e.format("%H:%M")
        )
    } else {
        format!("{} to {}", utc(start), utc(end))
    }
}

/// A duration in words, in its largest whole unit: `24 hours`, `90 seconds`, `2 days`.
pub fn duration_words(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        s if s >= 2 * 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s if s >= 3600 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The event in a customer's words (an operator's, for an overdue notice).
pub fn headline(content: &EventContent) -> &'static str {
    if content.planned {
        return match content.kind {
            EventKind::Created => "Planned maintenance",
            EventKind::Updated => "Planned maintenance updated",
            EventKind::Closed if called_off(content) => "Planned maintenance cancelled",
            EventKind::Closed => "Planned maintenance completed",
            EventKind::Reopened => "Planned maintenance reopened",
            EventKind::Reminder => "Reminder: planned maintenance",
            EventKind::Deleted => "Planned maintenance cancelled",
            EventKind::ReminderDropped => "Reminder dropped",
            EventKind::Overdue => "Update overdue",
        };
    }
    match content.kind {
        EventKind::Created => "New disruption",
        EventKind::Updated => "Update",
        EventKind::Closed => "Resolved",
        EventKind::Reopened => "Reopened",
        EventKind::Reminder => "Reminder",
        EventKind::ReminderDropped => "Reminder dropped",
        EventKind::Overdue => "Update overdue",
        EventKind::Deleted => "Deleted",
    }
}

/// Planned work closed before it began, or deleted: it will not take place.
fn called_off(content: &EventContent) -> bool {
    let t = &content.times;
    match content.kind {
        EventKind::Deleted => true,
        EventKind::Closed => matches!((t.closed_time, t.start_time), (Some(c), Some(s)) if c < s),
        _ => false,
    }
}

/// The services' names, each isolated (see [`isolate_bidi`]).
fn services(names: &[String]) -> String {
    let isolated: Vec<_> = names.iter().map(|n| isolate_bidi(n)).collect();
    isolated.join(", ")
}

/// `New disruption: Mail, Web - Mail is down since…`: the event, the services, and the start
/// of the description's first line; planned work's window after the services
/// (`Planned maintenance: Mail (2026-12-01 22:00 to 23:30 UTC) - …`), a reminder's lead
/// time after its headline. Every value is isolated (see [`isolate_bidi`]), so an override in
/// a name or description cannot reverse the rest of the subject.
pub fn subject(content: &EventContent) -> String {
    let first_line = content.description.lines().next().unwrap_or("").trim();
    let mut start: String = first_line.chars().take(SUBJECT_DESCRIPTION_CHARS).collect();
    if start.len() < content.description.trim().len() {
        start = format!("{}…", start.trim_end());
    }
    let start = isolate_bidi(&start);
    let mut services = services(&content.services);
    let mut headline = headline(content).to_owned();
    if content.kind == EventKind::Overdue {
        headline = format!("{headline}: ticket #{}", content.ticket_id);
    }
    if content.planned && content.kind != EventKind::Overdue {
        if let Some(lead) = content.lead.filter(|_| content.kind == EventKind::Reminder) {
            headline = format!("{headline} in {}", duration_words(lead));
        }
        if let Some((s, e)) = calendar::window(&content.times) {
            let window = window_words(s, e);
            services = if services.is_empty() {
                window
            } else {
                format!("{services} ({window})")
            };
        }
    }
    match (services.is_empty(), start.is_empty()) {
        (false, false) => format!("{headline}: {services} - {start}"),
        (false, true) => format!("{headline}: {services}"),
        (true, _) => format!("{headline}: {start}"),
    }
}

impl EmailView {
    pub fn new(content: &EventContent) -> Self {
        let t = &content.times;
        let time = |ts: Option<Timestamp>| ts.map(utc);
        let window = calendar::window(t).filter(|_| content.planned);
        let calendar = (content.planned && !content.for_operators && window.is_some()).then(|| {
            let cancelled = called_off(content);
            Invitation {
                method: if cancelled {
                    Method::Cancel
                } else {
                    Method::Request
                },
                ticket_id: content.ticket_id,
                sequence: content.sequence,
                times: *t,
                summary: format!("Planned maintenance: {}", content.services.join(", ")),
                description: content.description.clone(),
                stamp: content.at,
                host: "localhost".to_owned(),
            }
        });
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
            planned: content.planned,
            window: window.map(|(s, e)| window_words(s, e)),
            called_off: called_off(content),
            lead: content.lead.map(duration_words),
            late: duration_words(
                t.next_update_time
                    .map(|promised| content.at.since(promised))
                    .unwrap_or_default(),
            ),
            link: None,
            calendar,
        }
    }

    /// Links to the ticket and the calendar `UID`s from Herald's base URL (the public URL,
    /// else `http://` and the listen address).
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        self.link = Some(format!("{base}/tickets/{}", self.ticket_id));
        if let Some(invitation) = &mut self.calendar {
            invitation.host = calendar::host_of(base);
        }
        self
    }

    /// The calendar part of a planned-work message, from `organizer`: its method and text.
    pub fn calendar(&self, organizer: &str) -> Option<(Method, String)> {
        let i = self.calendar.as_ref()?;
        let event = calendar::TicketCalendarEvent {
            ticket_id: i.ticket_id,
            host: &i.host,
            sequence: i.sequence,
            times: &i.times,
            summary: &i.summary,
            description: &i.description,
            url: None,
            organizer: Some(organizer),
            stamp: i.stamp,
            cancelled: i.method == Method::Cancel,
        }
        .build()?;
        Some((i.method, calendar::calendar(i.method, [event])))
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
                // Not shown by the operators' overdue notice: operators have no personal page.
                #[allow(dead_code)]
                links: Option<&'a Links>,
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
    PlannedCreatedText => "email/planned_created.txt",
    PlannedCreatedHtml => "email/planned_created.html",
    PlannedUpdatedText => "email/planned_updated.txt",
    PlannedUpdatedHtml => "email/planned_updated.html",
    PlannedClosedText => "email/planned_closed.txt",
    PlannedClosedHtml => "email/planned_closed.html",
    PlannedReopenedText => "email/planned_reopened.txt",
    PlannedReopenedHtml => "email/planned_reopened.html",
    PlannedDeletedText => "email/planned_deleted.txt",
    PlannedDeletedHtml => "email/planned_deleted.html",
    ReminderText => "email/reminder.txt",
    ReminderHtml => "email/reminder.html",
    OverdueText => "email/overdue.txt",
    OverdueHtml => "email/overdue.html",
}

/// Renders an event's message for one recipient, greeted by `name`, with their own `links`.
pub fn render(
    view: &EmailView,
    name: &str,
    links: Option<&Links>,
) -> Result<Rendered, askama::Error> {
    let m = view;
    let name = &*isolate_bidi(name);
    macro_rules! pair {
        ($text:ident, $html:ident) => {
            (
                $text { m, name, links }.render()?,
                $html { m, name, links }.render()?,
            )
        };
    }
    let (text, html) = match (view.kind, view.planned) {
        (EventKind::Overdue, _) => pair!(OverdueText, OverdueHtml),
        (EventKind::Created, true) => pair!(PlannedCreatedText, PlannedCreatedHtml),
        (EventKind::Updated, true) => pair!(PlannedUpdatedText, PlannedUpdatedHtml),
        (EventKind::Closed, true) => pair!(PlannedClosedText, PlannedClosedHtml),
        (EventKind::Reopened, true) => pair!(PlannedReopenedText, PlannedReopenedHtml),
        (EventKind::Reminder | EventKind::ReminderDropped, _) => {
            pair!(ReminderText, ReminderHtml)
        }
        (EventKind::Deleted, _) => pair!(PlannedDeletedText, PlannedDeletedHtml),
        (EventKind::Created, false) => pair!(CreatedText, CreatedHtml),
        (EventKind::Updated, false) => pair!(UpdatedText, UpdatedHtml),
        (EventKind::Closed, false) => pair!(ClosedText, ClosedHtml),
        (EventKind::Reopened, false) => pair!(ReopenedText, ReopenedHtml),
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
            planned: false,
            sequence: 0,
            lead: None,
            for_operators: false,
        }
    }

    fn links() -> Links {
        Links::new("http://h/", &crate::domain::LinkToken::generate())
    }

    #[test]
    fn every_message_links_the_personal_page_in_both_bodies() {
        let links = links();
        let r = render(
            &EmailView::new(&content(EventKind::Updated, "d")),
            "Ann",
            Some(&links),
        )
        .unwrap();
        assert!(links.personal.starts_with("http://h/my/"), "{links:?}");
        for body in [&r.text, &r.html] {
            assert!(body.contains(&links.personal), "{body}");
        }
        assert!(r.html.contains(&format!("href=\"{}\"", links.personal)));
        assert!(!format!("{links:?}").contains(&links.personal));
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
        let r = render(&EmailView::new(&c), "Ann <admin>", None).unwrap();
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
        let r = render(&view, "Ann\u{202E}", None).unwrap();
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
        let intro = |k| {
            render(&EmailView::new(&content(k, "d")), "A", None)
                .unwrap()
                .text
        };
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
            let r = render(&EmailView::new(&c), "Ann", Some(&links())).unwrap();
            let long: Vec<&str> = r.html.lines().filter(|l| l.len() > 72).collect();
            assert!(long.is_empty(), "{kind:?} {long:#?}");
            let long: Vec<&str> = r.text.lines().filter(|l| l.len() > 72).collect();
            assert!(long.is_empty(), "{kind:?} {long:#?}");
        }
    }

    fn planned(kind: EventKind) -> EventContent {
        let mut c = content(kind, "Database upgrade");
        c.services = vec!["Mail".into(), "Web".into()];
        c.planned = true;
        c.times = TicketTimes {
            start_time: Some(Timestamp::from_unix_micros(978_350_400_000_000)),
            end_time: Some(Timestamp::from_unix_micros(978_357_600_000_000)),
            ..Default::default()
        };
        c
    }

    #[test]
    fn planned_work_is_named_so_with_its_window_never_a_disruption() {
        let c = planned(EventKind::Created);
        assert_eq!(
            subject(&c),
            "Planned maintenance: Mail, Web (2001-01-01 12:00 to 14:00 UTC) - Database upgrade"
        );
        let mut reminder = planned(EventKind::Reminder);
        reminder.lead = Some(Duration::from_secs(3600));
        assert!(subject(&reminder).starts_with("Reminder: planned maintenance in 1 hour: Mail"));
        let mut closed_early = planned(EventKind::Closed);
        closed_early.times.closed_time = Some(Timestamp::from_unix_micros(978_340_000_000_000));
        assert!(subject(&closed_early).starts_with("Planned maintenance cancelled: "));
        let mut completed = planned(EventKind::Closed);
        completed.times.closed_time = Some(Timestamp::from_unix_micros(978_357_600_000_000));
        assert!(subject(&completed).starts_with("Planned maintenance completed: "));
        for kind in [
            EventKind::Created,
            EventKind::Updated,
            EventKind::Closed,
            EventKind::Reopened,
            EventKind::Reminder,
            EventKind::Deleted,
        ] {
            let r = render(&EmailView::new(&planned(kind)), "Ann", None).unwrap();
            for text in [&r.subject, &r.text, &r.html] {
                assert!(
                    !text.to_lowercase().contains("disruption"),
                    "{kind:?}: {text}"
                );
            }
            assert!(
                r.text.contains("2001-01-01 12:00 to 14:00 UTC"),
                "{kind:?}: {}",
                r.text
            );
            let long: Vec<&str> = r
                .html
                .lines()
                .filter(|l| l.len() > 76 && !l.starts_with("<title>"))
                .collect();
            assert!(long.is_empty(), "{kind:?} {long:#?}");
        }
    }

    #[test]
    fn planned_work_carries_an_invitation_and_a_cancellation() {
        let view =
            EmailView::new(&planned(EventKind::Updated)).with_base_url("https://s.example.com/");
        let (method, text) = view.calendar("herald@example.com").expect("an invitation");
        assert_eq!(method, Method::Request);
        assert!(text.contains("UID:ticket-7@s.example.com\r\n"), "{text}");
        assert!(text.contains("DTSTART:20010101T120000Z\r\n"), "{text}");
        assert!(text.contains("DTEND:20010101T140000Z\r\n"), "{text}");
        let (method, text) = EmailView::new(&planned(EventKind::Deleted))
            .calendar("herald@example.com")
            .unwrap();
        assert_eq!(method, Method::Cancel);
        assert!(text.contains("METHOD:CANCEL\r\n"), "{text}");
        assert!(EmailView::new(&content(EventKind::Created, "d"))
            .calendar("h@x")
            .is_none());
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(Duration::from_secs(86_400)), "24 hours");
        assert_eq!(duration_words(Duration::from_secs(2 * 86_400)), "2 days");
        assert_eq!(duration_words(Duration::from_secs(3600)), "1 hour");
        assert_eq!(duration_words(Duration::from_secs(90)), "90 seconds");
        assert_eq!(duration_words(Duration::from_secs(1800)), "30 minutes");
        assert_eq!(duration_words(Duration::from_secs(5400)), "90 minutes");
    }
}
