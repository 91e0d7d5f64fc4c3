//! A ticket's public history: each event that changed it (reported, updated, resolved,
//! reopened), when, and the description as it read after it. Reminders, overdue notices and
//! the like are Herald's bookkeeping and stay out.

use crate::domain::ticket::EventKind;
use crate::domain::{FieldValue, TicketField};
use crate::domain::{Ticket, TicketEvent, Timestamp};
use crate::store::PUBLIC_EVENTS;
use crate::when::When;

/// One step of the history.
#[derive(Debug, Clone)]
pub struct Step {
    /// `Reported`, `Update`, `Resolved`, `Reopened`.
    pub what: &'static str,
    pub at: When,
    /// The description as it read after this step.
    pub description: String,
    /// The times this step set or cleared, in words (`Expected resolution: 27 Nov 2026 14:00 UTC`).
    pub times: Vec<String>,
}

/// The events people see.
fn is_public(kind: EventKind) -> bool {
    PUBLIC_EVENTS.contains(&kind)
}

/// The history of `ticket` from its `events` (oldest first), newest first.
pub fn steps(ticket: &Ticket, events: &[TicketEvent], now: Timestamp) -> Vec<Step> {
    // Walk back from the description as it reads now: each change says what it was before.
    let mut description = ticket.description.clone();
    let mut steps = Vec::new();
    for event in events.iter().rev() {
        let after = description.clone();
        for change in &event.changes {
            if change.field == TicketField::Description {
                description = match &change.before {
                    Some(FieldValue::Text(text)) => text.clone(),
                    _ => String::new(),
                };
            }
        }
        if !is_public(event.kind) {
            continue;
        }
        let times = event
            .changes
            .iter()
            .filter(|c| c.field.is_time() && shown_time(c.field))
            .map(|c| match &c.after {
                Some(FieldValue::Time(t)) => {
                    format!("{}: {}", time_label(c.field), crate::when::utc_text(*t))
                }
                _ => format!("{}: none", time_label(c.field)),
            })
            .collect();
        steps.push(Step {
            what: match event.kind {
                EventKind::Created => "Reported",
                EventKind::Closed => "Resolved",
                EventKind::Reopened => "Reopened",
                _ => "Update",
            },
            at: When::of(event.at, now),
            description: after,
            times,
        });
    }
    steps
}

/// Closing and reopening say themselves; the other times are worth a line.
fn shown_time(field: TicketField) -> bool {
    !matches!(field, TicketField::ClosedTime | TicketField::ReopenedTime)
}

fn time_label(field: TicketField) -> &'static str {
    match field {
        TicketField::StartTime => "Start",
        TicketField::EndTime => "End",
        TicketField::ExpectedResolutionTime => "Expected resolution",
        TicketField::NextUpdateTime => "Next update",
        _ => field.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::TicketTimes;
    use crate::domain::FieldChange;

    fn event(id: i64, kind: EventKind, changes: Vec<FieldChange>) -> TicketEvent {
        TicketEvent {
            id,
            ticket_id: 1,
            kind,
            at: Timestamp::from_ticks(id * 10_000_000),
            actor: "op".into(),
            actor_operator_id: None,
            notify: true,
            changes,
        }
    }

    fn text(field: TicketField, before: Option<&str>, after: &str) -> FieldChange {
        FieldChange {
            field,
            before: before.map(|b| FieldValue::Text(b.into())),
            after: Some(FieldValue::Text(after.into())),
        }
    }

    #[test]
    fn each_step_shows_the_description_as_it_read_then() {
        let ticket = Ticket {
            id: 1,
            description: "Fixed".into(),
            times: TicketTimes::default(),
            created_time: Timestamp::from_ticks(10_000_000),
            services: Vec::new(),
            operator: None,
        };
        let events = vec![
            event(
                1,
                EventKind::Created,
                vec![text(TicketField::Description, None, "Broken")],
            ),
            event(2, EventKind::Reminder, vec![]),
            event(
                3,
                EventKind::Updated,
                vec![text(TicketField::Description, Some("Broken"), "Fixing")],
            ),
            event(
                4,
                EventKind::Closed,
                vec![text(TicketField::Description, Some("Fixing"), "Fixed")],
            ),
        ];
        let steps = steps(&ticket, &events, Timestamp::from_ticks(50_000_000));
        let seen: Vec<(&str, &str)> = steps
            .iter()
            .map(|s| (s.what, s.description.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("Resolved", "Fixed"),
                ("Update", "Fixing"),
                ("Reported", "Broken")
            ]
        );
    }
}
