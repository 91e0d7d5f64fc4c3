//! A ticket as an iCalendar event (RFC 5545), one rule for the invitations in planned-work
//! emails and the public calendar feed alike: the `UID` (stable per ticket), the `SEQUENCE`
//! (rising with each change) and the window (`DTSTART`/`DTEND`).
//!
//! The text is written by the `icalendar` crate (folding, escaping, CRLF).

use std::time::Duration;

use icalendar::{Calendar, Component, EventLike, EventStatus, Property};

use super::ticket::{EventKind, TicketTimes};
use super::Timestamp;

/// The length of a window that has neither `EndTime` nor `ExpectedResolutionTime`.
pub const DEFAULT_LENGTH: Duration = Duration::from_secs(3600);

/// A ticket's event `UID`: `ticket-{id}@{host}`, where `host` is the host of the public URL
/// (or of the listen address when there is none), see [`host_of`].
pub fn uid(ticket_id: i64, host: &str) -> String {
    format!("ticket-{ticket_id}@{host}")
}

/// The host of a base URL such as `https://status.example.com/` (`status.example.com`), or of
/// a listen address such as `127.0.0.1:8080` (`127.0.0.1`). `localhost` when neither parses.
pub fn host_of(base: &str) -> String {
    let parsed = url::Url::parse(base)
        .ok()
        .filter(|u| u.host_str().is_some())
        .or_else(|| url::Url::parse(&format!("http://{base}")).ok());
    parsed
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Does this kind of recorded event change the calendar event (and so count in its
/// `SEQUENCE`)?
pub fn changes_the_event(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Created
            | EventKind::Updated
            | EventKind::Closed
            | EventKind::Reopened
            | EventKind::Deleted
    )
}

/// The `SEQUENCE` of a ticket's event: how many of its recorded events are a creation,
/// update, closing or reopening (or its deletion, which cancels the event), minus one (so the
/// creation is 0). Reminders and notices change nothing in the calendar.
pub fn sequence(kinds: impl IntoIterator<Item = EventKind>) -> u32 {
    let changes = kinds.into_iter().filter(|k| changes_the_event(*k)).count();
    u32::try_from(changes.saturating_sub(1)).unwrap_or(u32::MAX)
}

/// The window of planned work: from `StartTime` to `EndTime`, else `ExpectedResolutionTime`,
/// else one hour later (an end before the start is passed over). `None` without a `StartTime`.
pub fn window(times: &TicketTimes) -> Option<(Timestamp, Timestamp)> {
    let start = times.start_time?;
    let end = [times.end_time, times.expected_resolution_time]
        .into_iter()
        .flatten()
        .find(|end| *end >= start)
        .unwrap_or_else(|| start.plus(DEFAULT_LENGTH));
    Some((start, end))
}

/// What a calendar says about its events (`METHOD`, RFC 5546).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A feed: the events as they are.
    Publish,
    /// An invitation: add or move the event.
    Request,
    /// The event is called off.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Publish => "PUBLISH",
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// One ticket as a calendar event.
#[derive(Debug, Clone)]
pub struct TicketCalendarEvent<'a> {
    pub ticket_id: i64,
    /// See [`uid`].
    pub host: &'a str,
    /// See [`sequence`].
    pub sequence: u32,
    pub times: &'a TicketTimes,
    pub summary: &'a str,
    pub description: &'a str,
    /// A link to the ticket, if there is one to show.
    pub url: Option<&'a str>,
    /// The sender of invitations (`ORGANIZER`, which `METHOD:REQUEST` needs).
    pub organizer: Option<&'a str>,
    /// When this version of the event was written (`DTSTAMP`): the event's time, so the same
    /// event always reads the same.
    pub stamp: Timestamp,
    /// Called off (`STATUS:CANCELLED`).
    pub cancelled: bool,
}

impl TicketCalendarEvent<'_> {
    /// The event, or `None` when the ticket has no `StartTime` (no window).
    pub fn build(&self) -> Option<icalendar::Event> {
        let (start, end) = window(self.times)?;
        let mut event = icalendar::Event::with_uid(&uid(self.ticket_id, self.host));
        event
            .timestamp(self.stamp.to_chrono())
            .sequence(self.sequence)
            .starts(start.to_chrono())
            .ends(end.to_chrono())
            .summary(self.summary)
            .description(self.description)
            .status(if self.cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            });
        if let Some(url) = self.url {
            event.url(url);
        }
        if let Some(organizer) = self.organizer {
            event.add_property("ORGANIZER", format!("mailto:{organizer}"));
        }
        Some(event.done())
    }
}

/// A whole calendar (`VCALENDAR`) of these events with this method, as text.
pub fn calendar(method: Method, events: impl IntoIterator<Item = icalendar::Event>) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//Herald//Herald//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", method.as_str()));
    for event in events {
        calendar.push(event);
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> Timestamp {
        Timestamp::from_chrono(chrono::Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap())
    }

    #[test]
    fn uid_and_host() {
        assert_eq!(uid(7, "status.example.com"), "ticket-7@status.example.com");
        assert_eq!(
            host_of("https://status.example.com/herald/"),
            "status.example.com"
        );
        assert_eq!(
            host_of("http://Status.Example.com:8443"),
            "status.example.com"
        );
        assert_eq!(host_of("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("[::1]:8080"), "::1");
        assert_eq!(host_of("http://[::1]:8080/"), "::1");
        assert_eq!(host_of(""), "localhost");
    }

    #[test]
    fn sequence_counts_the_changes_from_zero() {
        use EventKind::*;
        assert_eq!(sequence([]), 0);
        assert_eq!(sequence([Created]), 0);
        assert_eq!(sequence([Created, Updated]), 1);
        assert_eq!(sequence([Created, Updated, Closed, Reopened]), 3);
        assert_eq!(sequence([Created, Reminder, Overdue, ReminderDropped]), 0);
        assert_eq!(sequence([Created, Updated, Deleted]), 2);
    }

    #[test]
    fn the_window() {
        let none = TicketTimes::default();
        assert_eq!(window(&none), None);
        let start_only = TicketTimes {
            start_time: Some(at(10, 0)),
            ..none
        };
        assert_eq!(window(&start_only), Some((at(10, 0), at(11, 0))));
        let expected = TicketTimes {
            expected_resolution_time: Some(at(12, 0)),
            ..start_only
        };
        assert_eq!(window(&expected), Some((at(10, 0), at(12, 0))));
        let ended = TicketTimes {
            end_time: Some(at(10, 30)),
            ..expected
        };
        assert_eq!(window(&ended), Some((at(10, 0), at(10, 30))));
        let expected_before_start = TicketTimes {
            expected_resolution_time: Some(at(9, 0)),
            ..start_only
        };
        assert_eq!(
            window(&expected_before_start),
            Some((at(10, 0), at(11, 0))),
            "an expected resolution before the start is passed over"
        );
    }

    fn sample(cancelled: bool) -> String {
        let times = TicketTimes {
            start_time: Some(at(22, 0)),
            end_time: Some(at(23, 30)),
            ..Default::default()
        };
        let event = TicketCalendarEvent {
            ticket_id: 42,
            host: "herald.example.com",
            sequence: 3,
            times: &times,
            summary: "Planned maintenance: Mail, Web",
            description: "Upgrading the database; mail may be slow, then fine.",
            url: Some("https://herald.example.com/tickets/42"),
            organizer: Some("herald@example.com"),
            stamp: at(9, 15),
            cancelled,
        }
        .build()
        .expect("has a start");
        calendar(
            if cancelled {
                Method::Cancel
            } else {
                Method::Request
            },
            [event],
        )
    }

    #[test]
    fn an_invitation() {
        let text = sample(false);
        let lines: Vec<&str> = text.split("\r\n").collect();
        for expected in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "METHOD:REQUEST",
            "BEGIN:VEVENT",
            "UID:ticket-42@herald.example.com",
            "SEQUENCE:3",
            "DTSTART:20261201T220000Z",
            "DTEND:20261201T233000Z",
            "DTSTAMP:20261201T091500Z",
            "SUMMARY:Planned maintenance: Mail\\, Web",
            "STATUS:CONFIRMED",
            "ORGANIZER:mailto:herald@example.com",
            "END:VCALENDAR",
        ] {
            assert!(lines.contains(&expected), "{expected} in {text}");
        }
        assert_eq!(text, sample(false), "the same event reads the same");
    }

    #[test]
    fn a_cancellation() {
        let text = sample(true);
        assert!(text.contains("\r\nMETHOD:CANCEL\r\n"), "{text}");
        assert!(text.contains("\r\nSTATUS:CANCELLED\r\n"), "{text}");
        assert!(text.contains("\r\nUID:ticket-42@herald.example.com\r\n"));
    }

    #[test]
    fn no_start_no_event() {
        let times = TicketTimes::default();
        let event = TicketCalendarEvent {
            ticket_id: 1,
            host: "h",
            sequence: 0,
            times: &times,
            summary: "s",
            description: "d",
            url: None,
            organizer: None,
            stamp: at(0, 0),
            cancelled: false,
        };
        assert!(event.build().is_none());
    }
}
