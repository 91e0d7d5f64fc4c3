//! A ticket's history: the events of its life and what each changed.

use super::ticket::EventKind;
use super::{Actor, Ticket, Timestamp, Who};

/// The context of a change: who makes it, and whether customers are to be told.
#[derive(Debug, Clone)]
pub struct TicketChange {
    pub actor: Actor,
    /// The client's address (none on the command line or for the scheduler's own changes).
    pub address: Option<std::net::IpAddr>,
    pub notify: bool,
    /// The lead times of the reminders planned work gets (the `maintenance_reminders`
    /// setting as the change is made).
    pub reminder_leads: Vec<std::time::Duration>,
}

impl TicketChange {
    /// Who makes the change, for the audit log.
    pub fn who(&self) -> Who {
        Who::new(self.actor.clone(), self.address)
    }
}

/// A recorded lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketEvent {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: EventKind,
    pub at: Timestamp,
    pub actor: String,
    pub actor_operator_id: Option<i64>,
    pub notify: bool,
    pub changes: Vec<FieldChange>,
}

/// The fields of a ticket a change can alter (named as on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketField {
    Description,
    StartTime,
    EndTime,
    ExpectedResolutionTime,
    NextUpdateTime,
    ClosedTime,
    ReopenedTime,
}

impl TicketField {
    pub const ALL: [TicketField; 7] = [
        TicketField::Description,
        TicketField::StartTime,
        TicketField::EndTime,
        TicketField::ExpectedResolutionTime,
        TicketField::NextUpdateTime,
        TicketField::ClosedTime,
        TicketField::ReopenedTime,
    ];

    /// The field's name on the wire (`StartTime`), which is also how history stores it.
    pub fn name(self) -> &'static str {
        match self {
            TicketField::Description => "Description",
            TicketField::StartTime => "StartTime",
            TicketField::EndTime => "EndTime",
            TicketField::ExpectedResolutionTime => "ExpectedResolutionTime",
            TicketField::NextUpdateTime => "NextUpdateTime",
            TicketField::ClosedTime => "ClosedTime",
            TicketField::ReopenedTime => "ReopenedTime",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Does the field hold a time?
    pub fn is_time(self) -> bool {
        self != TicketField::Description
    }

    /// The field's value in `ticket`.
    pub fn value_in(self, ticket: &Ticket) -> Option<FieldValue> {
        let t = &ticket.times;
        let time = match self {
            TicketField::Description => return Some(FieldValue::Text(ticket.description.clone())),
            TicketField::StartTime => t.start_time,
            TicketField::EndTime => t.end_time,
            TicketField::ExpectedResolutionTime => t.expected_resolution_time,
            TicketField::NextUpdateTime => t.next_update_time,
            TicketField::ClosedTime => t.closed_time,
            TicketField::ReopenedTime => t.reopened_time,
        };
        time.map(FieldValue::Time)
    }
}

/// A value a field held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Time(Timestamp),
}

/// One field a change altered, with its values before and after (`None`: not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: TicketField,
    pub before: Option<FieldValue>,
    pub after: Option<FieldValue>,
}

/// The fields that differ from `before` (nothing, for a new ticket) to `after`, in field order.
pub fn diff(before: Option<&Ticket>, after: &Ticket) -> Vec<FieldChange> {
    TicketField::ALL
        .into_iter()
        .filter_map(|field| {
            let old = before.and_then(|t| field.value_in(t));
            let new = field.value_in(after);
            (old != new).then_some(FieldChange {
                field,
                before: old,
                after: new,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::TicketTimes;

    fn ticket(description: &str, start: Option<i64>) -> Ticket {
        Ticket {
            id: 1,
            description: description.to_owned(),
            times: TicketTimes {
                start_time: start.map(Timestamp::from_ticks),
                ..Default::default()
            },
            created_time: Timestamp::from_ticks(0),
            services: Vec::new(),
            operator: None,
        }
    }

    #[test]
    fn a_new_ticket_lists_what_it_has() {
        let changes = diff(None, &ticket("Mail is slow", Some(5)));
        assert_eq!(
            changes,
            [
                FieldChange {
                    field: TicketField::Description,
                    before: None,
                    after: Some(FieldValue::Text("Mail is slow".into())),
                },
                FieldChange {
                    field: TicketField::StartTime,
                    before: None,
                    after: Some(FieldValue::Time(Timestamp::from_ticks(5))),
                },
            ]
        );
    }

    #[test]
    fn a_change_lists_only_what_differs() {
        let before = ticket("a", Some(5));
        assert!(diff(Some(&before), &before).is_empty());
        let changes = diff(Some(&before), &ticket("a", None));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, TicketField::StartTime);
        assert_eq!(
            changes[0].before,
            Some(FieldValue::Time(Timestamp::from_ticks(5)))
        );
        assert_eq!(changes[0].after, None);
    }

    #[test]
    fn field_names() {
        for field in TicketField::ALL {
            assert_eq!(TicketField::parse(field.name()), Some(field));
        }
        assert_eq!(TicketField::parse("Services"), None);
        assert!(!TicketField::Description.is_time());
        assert!(TicketField::ClosedTime.is_time());
    }
}
