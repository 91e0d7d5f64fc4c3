//! The ticket rules: times, validation, the lifecycle and which event a change is.

use super::{TicketUpdate, Timestamp};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketTimes {
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub expected_resolution_time: Option<Timestamp>,
    pub next_update_time: Option<Timestamp>,
    pub closed_time: Option<Timestamp>,
    pub reopened_time: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Open,
    Closed,
}

/// A ticket event, the unit of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Created,
    Updated,
    Closed,
    Reopened,
    /// Planned work begins soon: its followers are reminded (the scheduler).
    Reminder,
    /// A reminder whose time passed while Herald was stopped, after the work had begun: not
    /// sent, recorded.
    ReminderDropped,
    /// The promised `NextUpdateTime` passed with no event since: the operator is told.
    Overdue,
    /// Planned work deleted before it began: its followers' calendars are told.
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Closed => "closed",
            EventKind::Reopened => "reopened",
            EventKind::Reminder => "reminder",
            EventKind::ReminderDropped => "reminder_dropped",
            EventKind::Overdue => "overdue",
            EventKind::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => EventKind::Created,
            "updated" => EventKind::Updated,
            "closed" => EventKind::Closed,
            "reopened" => EventKind::Reopened,
            "reminder" => EventKind::Reminder,
            "reminder_dropped" => EventKind::ReminderDropped,
            "overdue" => EventKind::Overdue,
            "deleted" => EventKind::Deleted,
            _ => return None,
        })
    }
}

impl TicketTimes {
    /// Is a ticket with these times, created at `created`, planned work (its `StartTime`
    /// later than its creation)? It stays so, by name, after the work has begun.
    pub fn is_planned(&self, created: Timestamp) -> bool {
        self.start_time.is_some_and(|start| start > created)
    }

    /// Has planned work with these times begun by `now`?
    pub fn has_begun(&self, now: Timestamp) -> bool {
        self.start_time.is_some_and(|start| start <= now)
    }
}

/// A rule a set of times breaks: (field, message for people).
pub type TimeViolation = (&'static str, &'static str);

impl TicketTimes {
    /// Closed iff `ClosedTime` is set and `ReopenedTime` is null or earlier than it.
    pub fn lifecycle(&self) -> Lifecycle {
        match (self.closed_time, self.reopened_time) {
            (Some(_), None) => Lifecycle::Closed,
            (Some(closed), Some(reopened)) if reopened < closed => Lifecycle::Closed,
            _ => Lifecycle::Open,
        }
    }

    pub fn validate(&self) -> Vec<TimeViolation> {
        let mut errors = Vec::new();
        if let (Some(start), Some(end)) = (self.start_time, self.end_time) {
            if end < start {
                errors.push(("EndTime", "The EndTime must not be before the StartTime."));
            }
        }
        if self.reopened_time.is_some() && self.closed_time.is_none() {
            errors.push((
                "ReopenedTime",
                "A ticket can only be reopened after it has been closed (ClosedTime is not set).",
            ));
        }
        errors
    }

    /// The closing time of a ticket closed at `now` (the GUI's Close button): `now`, or just
    /// after its reopening when that is not earlier (a reopening time may lie in the future),
    /// so that the ticket is closed afterwards.
    pub fn closing_time(&self, now: Timestamp) -> Timestamp {
        just_after(self.reopened_time, now)
    }

    /// The reopening time of a ticket reopened at `now`: `now`, or just after its closing when
    /// that is not earlier, so that the ticket is open afterwards.
    pub fn reopening_time(&self, now: Timestamp) -> Timestamp {
        just_after(self.closed_time, now)
    }

    /// The times after a PUT: the four plain times replaced, closed/reopened set when given.
    pub fn apply(&self, update: &TicketUpdate) -> TicketTimes {
        TicketTimes {
            start_time: update.start_time,
            end_time: update.end_time,
            expected_resolution_time: update.expected_resolution_time,
            next_update_time: update.next_update_time,
            closed_time: update.closed_time.or(self.closed_time),
            reopened_time: update.reopened_time.or(self.reopened_time),
        }
    }
}

/// `now`, or the instant after `other` when `other` is not before `now`.
fn just_after(other: Option<Timestamp>, now: Timestamp) -> Timestamp {
    match other {
        Some(t) if t >= now => Timestamp::from_ticks(t.ticks() + 1),
        _ => now,
    }
}

/// Which event, if any, a change from `before` to `after` is.
pub fn event_for_update(
    before: &TicketTimes,
    before_description: &str,
    after: &TicketTimes,
    after_description: &str,
) -> Option<EventKind> {
    match (before.lifecycle(), after.lifecycle()) {
        (Lifecycle::Open, Lifecycle::Closed) => Some(EventKind::Closed),
        (Lifecycle::Closed, Lifecycle::Open) => Some(EventKind::Reopened),
        _ if before != after || before_description != after_description => Some(EventKind::Updated),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(n: i64) -> Option<Timestamp> {
        Some(Timestamp::from_ticks(n))
    }

    fn update_from(t: &TicketTimes) -> TicketUpdate {
        TicketUpdate {
            description: crate::domain::Description::parse("d").unwrap(),
            start_time: t.start_time,
            end_time: t.end_time,
            expected_resolution_time: t.expected_resolution_time,
            next_update_time: t.next_update_time,
            closed_time: t.closed_time,
            reopened_time: t.reopened_time,
        }
    }

    #[test]
    fn lifecycle_rules() {
        let open = TicketTimes::default();
        assert_eq!(open.lifecycle(), Lifecycle::Open);
        let closed = TicketTimes {
            closed_time: ts(10),
            ..open
        };
        assert_eq!(closed.lifecycle(), Lifecycle::Closed);
        let reopened = TicketTimes {
            reopened_time: ts(20),
            ..closed
        };
        assert_eq!(reopened.lifecycle(), Lifecycle::Open);
        let closed_again = TicketTimes {
            closed_time: ts(30),
            ..reopened
        };
        assert_eq!(closed_again.lifecycle(), Lifecycle::Closed);
        let same_instant = TicketTimes {
            closed_time: ts(20),
            ..reopened
        };
        assert_eq!(same_instant.lifecycle(), Lifecycle::Open);
    }

    #[test]
    fn events() {
        let open = TicketTimes::default();
        let closed = TicketTimes {
            closed_time: ts(10),
            ..open
        };
        let reopened = TicketTimes {
            reopened_time: ts(20),
            ..closed
        };
        assert_eq!(
            event_for_update(&open, "a", &closed, "a"),
            Some(EventKind::Closed)
        );
        assert_eq!(
            event_for_update(&closed, "a", &reopened, "a"),
            Some(EventKind::Reopened)
        );
        assert_eq!(
            event_for_update(&open, "a", &open, "b"),
            Some(EventKind::Updated)
        );
        let moved = TicketTimes {
            start_time: ts(1),
            ..open
        };
        assert_eq!(
            event_for_update(&open, "a", &moved, "a"),
            Some(EventKind::Updated)
        );
        assert_eq!(event_for_update(&open, "a", &open, "a"), None);
    }

    #[test]
    fn validation() {
        let bad = TicketTimes {
            start_time: ts(10),
            end_time: ts(5),
            ..Default::default()
        };
        assert_eq!(bad.validate()[0].0, "EndTime");
        let reopen_open = TicketTimes {
            reopened_time: ts(5),
            ..Default::default()
        };
        assert_eq!(reopen_open.validate()[0].0, "ReopenedTime");
        let fine = TicketTimes {
            start_time: ts(5),
            end_time: ts(5),
            ..Default::default()
        };
        assert!(fine.validate().is_empty());
    }

    #[test]
    fn closing_and_reopening_now_come_after_the_other() {
        let now = Timestamp::from_ticks(50);
        let never = TicketTimes::default();
        assert_eq!(never.closing_time(now), now);
        let reopened_before = TicketTimes {
            closed_time: ts(10),
            reopened_time: ts(20),
            ..never
        };
        assert_eq!(reopened_before.closing_time(now), now);
        let reopened_later = TicketTimes {
            reopened_time: ts(80),
            ..reopened_before
        };
        assert_eq!(reopened_later.closing_time(now), Timestamp::from_ticks(81));
        let reopened_now = TicketTimes {
            reopened_time: ts(50),
            ..reopened_before
        };
        assert_eq!(reopened_now.closing_time(now), Timestamp::from_ticks(51));
        let closed_later = TicketTimes {
            closed_time: ts(90),
            ..never
        };
        assert_eq!(closed_later.reopening_time(now), Timestamp::from_ticks(91));
        assert_eq!(reopened_before.reopening_time(now), now);
    }

    fn any_time() -> impl Strategy<Value = Option<Timestamp>> {
        prop::option::of((0i64..100).prop_map(Timestamp::from_ticks))
    }

    fn any_times() -> impl Strategy<Value = TicketTimes> {
        (
            any_time(),
            any_time(),
            any_time(),
            any_time(),
            any_time(),
            any_time(),
        )
            .prop_map(|(s, e, x, n, c, r)| TicketTimes {
                start_time: s,
                end_time: e,
                expected_resolution_time: x,
                next_update_time: n,
                closed_time: c,
                reopened_time: r,
            })
    }

    proptest! {
        /// GET, edit nothing, PUT back: never an event, never a state change.
        #[test]
        fn putting_back_what_was_read_is_no_event(t in any_times()) {
            let after = t.apply(&update_from(&t));
            prop_assert_eq!(after, t);
            prop_assert_eq!(event_for_update(&t, "d", &after, "d"), None);
        }

        /// Omitting ClosedTime/ReopenedTime never changes them or the state.
        #[test]
        fn omitted_close_times_are_kept(t in any_times()) {
            let mut u = update_from(&t);
            u.closed_time = None;
            u.reopened_time = None;
            let after = t.apply(&u);
            prop_assert_eq!(after.closed_time, t.closed_time);
            prop_assert_eq!(after.reopened_time, t.reopened_time);
            prop_assert_eq!(after.lifecycle(), t.lifecycle());
        }

        /// The event matches the state change exactly.
        #[test]
        fn event_matches_state_change(a in any_times(), b in any_times()) {
            let ev = event_for_update(&a, "d", &b, "d");
            match (a.lifecycle(), b.lifecycle()) {
                (Lifecycle::Open, Lifecycle::Closed) => prop_assert_eq!(ev, Some(EventKind::Closed)),
                (Lifecycle::Closed, Lifecycle::Open) => prop_assert_eq!(ev, Some(EventKind::Reopened)),
                _ => prop_assert_eq!(ev.is_some(), a != b),
            }
        }

        /// Closing now closes, and reopening now then opens, whatever the times were.
        #[test]
        fn close_and_reopen_now_always_change_the_state(t in any_times(), now in 0i64..100) {
            let now = Timestamp::from_ticks(now);
            let mut u = update_from(&t);
            u.closed_time = Some(t.closing_time(now));
            let closed = t.apply(&u);
            prop_assert_eq!(closed.lifecycle(), Lifecycle::Closed);
            let mut u = update_from(&closed);
            u.reopened_time = Some(closed.reopening_time(now));
            prop_assert_eq!(closed.apply(&u).lifecycle(), Lifecycle::Open);
        }

        /// Setting a ClosedTime after any ReopenedTime always closes; a later ReopenedTime opens.
        #[test]
        fn closing_and_reopening(t in any_times(), delta in 1i64..50) {
            let latest = [t.closed_time, t.reopened_time].into_iter().flatten().max()
                .map(|x| x.ticks()).unwrap_or(0);
            let mut u = update_from(&t);
            u.closed_time = Some(Timestamp::from_ticks(latest + delta));
            let closed = t.apply(&u);
            prop_assert_eq!(closed.lifecycle(), Lifecycle::Closed);
            let mut u2 = update_from(&closed);
            u2.reopened_time = Some(Timestamp::from_ticks(latest + 2 * delta));
            prop_assert_eq!(closed.apply(&u2).lifecycle(), Lifecycle::Open);
        }
    }
}
