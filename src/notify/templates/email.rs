//! Email: the view of an event every template of `templates/email/<language>/` sees, and a
//! message rendered once per event, language and kind of recipient, then filled in for each
//! recipient (their name and links are the only values that differ, so a fan-out to 100,000
//! followers renders each template a handful of times, not 100,000).

use std::time::Duration;

use minijinja::Value;
use serde::Serialize;

use super::{Language, Templates};
use crate::domain::calendar::{self, Method};
use crate::domain::ticket::{EventKind, TicketTimes};
use crate::domain::{isolate_bidi, EventContent, Timestamp};

/// The channel's folder under `templates/`.
pub const CHANNEL: &str = "email";

/// Longest start of the description shown in a subject.
const SUBJECT_DESCRIPTION_CHARS: usize = 60;

/// Stand-ins rendered in place of the recipient's values, then replaced for each recipient
/// (private-use characters: stripped from every event value, so none can fake one).
const NAME_SLOT: char = '\u{F8F0}';
const PERSONAL_SLOT: char = '\u{F8F1}';
const UNSUBSCRIBE_SLOT: char = '\u{F8F2}';

/// An amount of time in its largest whole unit (`unit`: `second`, `minute`, `hour`, `day`),
/// put in words by each language's `_words.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Amount {
    pub n: u64,
    pub unit: &'static str,
}

impl Amount {
    pub fn of(d: Duration) -> Amount {
        let secs = d.as_secs();
        let (n, unit) = match secs {
            s if s >= 2 * 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
            s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
            s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
            s if s >= 3600 => (s / 60, "minute"),
            s => (s, "second"),
        };
        Amount { n, unit }
    }
}

/// A planned-work window: `from` `2026-12-01 22:00`, `to` `23:30 UTC` within a day, else
/// both with date and `UTC`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub from: String,
    pub to: String,
}

/// The values the templates show for one event (`m` in a template), already formatted (times
/// as UTC, labelled so), every text isolated (see [`isolate_bidi`]). The same for every
/// recipient and language.
#[derive(Debug, Clone, Serialize)]
pub struct EmailView {
    #[serde(skip)]
    pub event: EventKind,
    /// `created`, `updated`, `closed`, `reopened`, `reminder`, `overdue`, `deleted`.
    pub kind: &'static str,
    /// The services' names, each isolated, joined by `, `.
    pub services: String,
    /// The same, not isolated (the calendar invitation's summary).
    pub services_plain: String,
    pub description: String,
    /// The start of the description's first line (for subjects), `…` when cut.
    pub excerpt: String,
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
    pub window: Option<Window>,
    /// Planned work closed before it began, or deleted: called off, not completed.
    pub called_off: bool,
    /// A reminder's lead time.
    pub lead: Option<Amount>,
    /// How late a promised update is.
    pub late: Amount,
    /// The ticket's page (operators' messages), once [`EmailView::with_base_url`] is known.
    pub link: Option<String>,
    /// Who sends it, named in the footer of every message to customers (`organisation_name`,
    /// else Herald's own name; isolated), once [`EmailView::with_organisation`] is known.
    pub organisation: String,
    #[serde(skip)]
    calendar: Option<Invitation>,
}

/// Who the messages are from when `organisation_name` is not set.
pub const DEFAULT_ORGANISATION: &str = "Herald";

/// What the calendar part of a planned-work message says (its summary is the language's).
#[derive(Debug, Clone)]
struct Invitation {
    method: Method,
    ticket_id: i64,
    sequence: u32,
    times: TicketTimes,
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

/// A window: `2026-12-01 22:00` to `23:30 UTC` within a day, else both dates.
pub fn window(start: Timestamp, end: Timestamp) -> Window {
    let (s, e) = (start.to_chrono(), end.to_chrono());
    if s.date_naive() == e.date_naive() {
        Window {
            from: s.format("%Y-%m-%d %H:%M").to_string(),
            to: e.format("%H:%M UTC").to_string(),
        }
    } else {
        Window {
            from: utc(start),
            to: utc(end),
        }
    }
}

/// A duration in English words, in its largest whole unit: `24 hours`, `90 seconds`, `2 days`
/// (the GUI's; messages say it in their language's `_words.txt`).
pub fn duration_words(d: Duration) -> String {
    let Amount { n, unit } = Amount::of(d);
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
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

/// An event value as templates get it: isolated, without the recipients' stand-ins.
fn value(text: &str) -> String {
    let isolated = isolate_bidi(text);
    if isolated.contains([NAME_SLOT, PERSONAL_SLOT, UNSUBSCRIBE_SLOT]) {
        isolated.replace([NAME_SLOT, PERSONAL_SLOT, UNSUBSCRIBE_SLOT], "\u{FFFD}")
    } else {
        isolated.into_owned()
    }
}

impl EmailView {
    pub fn new(content: &EventContent) -> Self {
        let t = &content.times;
        let time = |ts: Option<Timestamp>| ts.map(utc);
        let span = calendar::window(t).filter(|_| content.planned);
        let calendar =
            (content.planned && !content.for_operators && span.is_some()).then(|| Invitation {
                method: if called_off(content) {
                    Method::Cancel
                } else {
                    Method::Request
                },
                ticket_id: content.ticket_id,
                sequence: content.sequence,
                times: *t,
                description: content.description.clone(),
                stamp: content.at,
                host: "localhost".to_owned(),
            });
        let first_line = content.description.lines().next().unwrap_or("").trim();
        let mut excerpt: String = first_line.chars().take(SUBJECT_DESCRIPTION_CHARS).collect();
        if excerpt.len() < content.description.trim().len() {
            excerpt = format!("{}…", excerpt.trim_end());
        }
        let services: Vec<String> = content.services.iter().map(|n| value(n)).collect();
        EmailView {
            event: content.kind,
            kind: match content.kind {
                EventKind::ReminderDropped => EventKind::Reminder.as_str(),
                k => k.as_str(),
            },
            services: services.join(", "),
            services_plain: content.services.join(", "),
            description: value(&content.description),
            excerpt: value(&excerpt),
            ticket_id: content.ticket_id,
            event_time: utc(content.at),
            start: time(t.start_time),
            end: time(t.end_time),
            expected_resolution: time(t.expected_resolution_time),
            next_update: time(t.next_update_time),
            closed: time(t.closed_time).filter(|_| content.kind == EventKind::Closed),
            reopened: time(t.reopened_time).filter(|_| content.kind == EventKind::Reopened),
            planned: content.planned,
            window: span.map(|(s, e)| window(s, e)),
            called_off: called_off(content),
            lead: content.lead.map(Amount::of),
            late: Amount::of(
                t.next_update_time
                    .map(|promised| content.at.since(promised))
                    .unwrap_or_default(),
            ),
            link: None,
            organisation: DEFAULT_ORGANISATION.to_owned(),
            calendar,
        }
    }

    /// The organisation named in the footer (`None`: Herald's own name).
    pub fn with_organisation(mut self, name: Option<&str>) -> Self {
        self.organisation = value(name.unwrap_or(DEFAULT_ORGANISATION));
        self
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

    /// The template of this event (without `.txt` / `.html`).
    pub fn template(&self) -> &'static str {
        match (self.event, self.planned) {
            (EventKind::Overdue, _) => "overdue",
            (EventKind::Reminder | EventKind::ReminderDropped, _) => "reminder",
            (EventKind::Deleted, _) => "planned_deleted",
            (EventKind::Created, true) => "planned_created",
            (EventKind::Updated, true) => "planned_updated",
            (EventKind::Closed, true) => "planned_closed",
            (EventKind::Reopened, true) => "planned_reopened",
            (EventKind::Created, false) => "created",
            (EventKind::Updated, false) => "updated",
            (EventKind::Closed, false) => "closed",
            (EventKind::Reopened, false) => "reopened",
        }
    }

    /// The calendar part of a planned-work message, from `organizer`, with `summary` (the
    /// language's): its method and text.
    pub fn calendar(&self, organizer: &str, summary: &str) -> Option<(Method, String)> {
        let i = self.calendar.as_ref()?;
        let event = calendar::TicketCalendarEvent {
            ticket_id: i.ticket_id,
            host: &i.host,
            sequence: i.sequence,
            times: &i.times,
            summary,
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

/// A rendered body with the recipient's values still to fill in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slotted(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Name,
    Personal,
    Unsubscribe,
}

impl Slotted {
    fn parse(rendered: &str) -> Slotted {
        let mut parts = Vec::new();
        let mut last = 0;
        for (i, c) in rendered.char_indices() {
            let slot = match c {
                NAME_SLOT => Part::Name,
                PERSONAL_SLOT => Part::Personal,
                UNSUBSCRIBE_SLOT => Part::Unsubscribe,
                _ => continue,
            };
            if last < i {
                parts.push(Part::Text(rendered[last..i].to_owned()));
            }
            parts.push(slot);
            last = i + c.len_utf8();
        }
        if last < rendered.len() {
            parts.push(Part::Text(rendered[last..].to_owned()));
        }
        Slotted(parts)
    }

    fn fill(&self, name: &str, links: Option<&Links>, html: bool) -> String {
        let mut out = String::with_capacity(
            self.0
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.len(),
                    _ => 64,
                })
                .sum(),
        );
        let push = |out: &mut String, value: &str| {
            if html {
                push_escaped(out, value)
            } else {
                out.push_str(value)
            }
        };
        for part in &self.0 {
            match (part, links) {
                (Part::Text(t), _) => out.push_str(t),
                (Part::Name, _) => push(&mut out, name),
                (Part::Personal, Some(l)) => push(&mut out, &l.personal),
                (Part::Unsubscribe, Some(l)) => push(&mut out, &l.unsubscribe),
                (_, None) => {}
            }
        }
        out
    }
}

fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

/// An event's message in one language, for recipients with links or without: rendered once,
/// filled in per recipient with [`EmailMessage::fill`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub subject: String,
    /// The calendar invitation's summary (planned work).
    pub calendar_summary: String,
    text: Slotted,
    html: Slotted,
}

/// What every email template sees: the event `m`, the recipient's `name` and `links`
/// (`personal`, `unsubscribe`; none for operators), and the `subject` (not in the subject's
/// own template).
fn context(view: &EmailView, name: Value, links: Value, subject: &str) -> Value {
    minijinja::context! {
        m => Value::from_serialize(view),
        name => name,
        links => links,
        subject => subject,
    }
}

/// One line: a template's text with its line breaks and surrounding space dropped.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl EmailMessage {
    /// Renders `view` in `language` (`subject.txt`, `calendar_summary.txt`, then the event's
    /// `.txt` and `.html`), with the recipient's name and links (when `with_links`) left to
    /// fill in.
    pub fn prepare(
        templates: &Templates,
        view: &EmailView,
        language: &Language,
        with_links: bool,
    ) -> Result<EmailMessage, minijinja::Error> {
        let name = Value::from_safe_string(NAME_SLOT.to_string());
        let links = if with_links {
            minijinja::context! {
                personal => Value::from_safe_string(PERSONAL_SLOT.to_string()),
                unsubscribe => Value::from_safe_string(UNSUBSCRIBE_SLOT.to_string()),
            }
        } else {
            Value::from(())
        };
        let render =
            |template: &str, ctx: &Value| templates.render(CHANNEL, language, template, ctx);
        let ctx = context(view, name.clone(), links.clone(), "");
        let subject = one_line(&render("subject.txt", &ctx)?);
        let calendar_summary = if view.calendar.is_some() {
            one_line(&render("calendar_summary.txt", &ctx)?)
        } else {
            String::new()
        };
        let ctx = context(view, name, links, &subject);
        let stem = view.template();
        Ok(EmailMessage {
            text: Slotted::parse(&render(&format!("{stem}.txt"), &ctx)?),
            html: Slotted::parse(&render(&format!("{stem}.html"), &ctx)?),
            subject: strip_slots(&subject),
            calendar_summary: strip_slots(&calendar_summary),
        })
    }

    /// The message to one recipient, greeted by `name`, with their own `links`.
    pub fn fill(&self, name: &str, links: Option<&Links>) -> Rendered {
        let name = isolate_bidi(name);
        Rendered {
            subject: self.subject.clone(),
            text: self.text.fill(&name, links, false),
            html: self.html.fill(&name, links, true),
        }
    }
}

/// A subject never names a recipient (it is shared by all of an event's messages).
fn strip_slots(text: &str) -> String {
    text.replace([NAME_SLOT, PERSONAL_SLOT, UNSUBSCRIBE_SLOT], "")
}

/// Renders an event's message for one recipient (see [`EmailMessage`] for many).
pub fn render(
    templates: &Templates,
    view: &EmailView,
    language: &Language,
    name: &str,
    links: Option<&Links>,
) -> Result<Rendered, minijinja::Error> {
    Ok(EmailMessage::prepare(templates, view, language, links.is_some())?.fill(name, links))
}

/// The Settings page's test email: its subject and body (`test_subject.txt`, `test.txt`).
pub fn render_test(
    templates: &Templates,
    language: &Language,
    at: Timestamp,
) -> Result<(String, String), minijinja::Error> {
    let ctx = minijinja::context! { sent_at => utc(at) };
    Ok((
        one_line(&templates.render(CHANNEL, language, "test_subject.txt", &ctx)?),
        templates.render(CHANNEL, language, "test.txt", &ctx)?,
    ))
}

/// A context with every value set, to try every email template on at start.
pub(super) fn sample_context() -> Value {
    let at = Timestamp::from_unix_micros(978_350_400_000_000);
    let content = EventContent {
        event_id: 1,
        kind: EventKind::Updated,
        at,
        ticket_id: 7,
        ticket_created: at,
        description: "Sample".to_owned(),
        services: vec!["Mail".into()],
        times: TicketTimes {
            start_time: Some(at),
            end_time: Some(at),
            expected_resolution_time: Some(at),
            next_update_time: Some(at),
            closed_time: Some(at),
            reopened_time: Some(at),
        },
        planned: true,
        sequence: 0,
        lead: Some(Duration::from_secs(3600)),
        for_operators: false,
    };
    let view = EmailView::new(&content).with_base_url("http://localhost");
    minijinja::context! {
        m => Value::from_serialize(&view),
        name => "Ann",
        links => minijinja::context! { personal => "http://localhost/my/x", unsubscribe => "http://localhost/unsubscribe/x" },
        subject => "Sample",
        sent_at => utc(at),
        confirm => minijinja::context! {
            organisation => "Herald",
            services => "Mail",
            link => "http://localhost/status/subscribe/x",
            hours => 24,
        },
    }
}

#[cfg(test)]
#[path = "email_tests.rs"]
mod tests;
