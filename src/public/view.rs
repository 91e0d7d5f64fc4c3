//! What the public pages and feeds say about tickets and services, decided once: a ticket's
//! phase now (a disruption, planned work ahead or under way, resolved), a service's state,
//! the overall state, each with a word and an icon so that it reads without colour too.

use crate::domain::{Service, Ticket, Timestamp};
use crate::store::{PublicBoard, PublicTicket};
use crate::when::When;

/// Where a ticket stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Open, begun, not planned: something is broken.
    Disruption,
    /// Planned work whose start has come.
    WorkUnderWay,
    /// Planned work still ahead.
    Planned,
    Resolved,
}

impl Phase {
    /// Planned work is a ticket whose `StartTime` was later than its creation
    /// (spec/schedule.md).
    pub fn of(ticket: &Ticket, now: Timestamp) -> Phase {
        if ticket.is_closed() {
            return Phase::Resolved;
        }
        let planned = ticket
            .times
            .start_time
            .is_some_and(|start| start > ticket.created_time);
        match ticket.times.start_time {
            Some(start) if start > now => Phase::Planned,
            _ if planned => Phase::WorkUnderWay,
            _ => Phase::Disruption,
        }
    }

    /// Planned work, ahead or under way.
    pub fn is_planned(self) -> bool {
        matches!(self, Phase::Planned | Phase::WorkUnderWay)
    }

    /// The ticket's kind, as a heading says it.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Disruption => "Disruption",
            Phase::WorkUnderWay => "Planned work under way",
            Phase::Planned => "Planned work",
            Phase::Resolved => "Resolved",
        }
    }

    /// The CSS class of its colour.
    pub fn class(self) -> &'static str {
        match self {
            Phase::Disruption => "down",
            Phase::WorkUnderWay => "work",
            Phase::Planned => "planned",
            Phase::Resolved => "ok",
        }
    }

    pub fn icon(self) -> &'static str {
        match self {
            Phase::Disruption => "!",
            Phase::WorkUnderWay | Phase::Planned => "◷",
            Phase::Resolved => "✓",
        }
    }
}

/// A service's state now: the worst of its tickets'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Disruption,
    WorkUnderWay,
    Operational,
}

impl State {
    fn of(phases: impl IntoIterator<Item = Phase>) -> State {
        phases
            .into_iter()
            .filter_map(|p| match p {
                Phase::Disruption => Some(State::Disruption),
                Phase::WorkUnderWay => Some(State::WorkUnderWay),
                Phase::Planned | Phase::Resolved => None,
            })
            .min()
            .unwrap_or(State::Operational)
    }

    pub fn word(self) -> &'static str {
        match self {
            State::Disruption => "Disruption",
            State::WorkUnderWay => "Planned work under way",
            State::Operational => "Operational",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            State::Disruption => "down",
            State::WorkUnderWay => "work",
            State::Operational => "ok",
        }
    }

    pub fn icon(self) -> &'static str {
        match self {
            State::Disruption => "!",
            State::WorkUnderWay => "◷",
            State::Operational => "✓",
        }
    }
}

/// A ticket as the public pages show it.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub id: i64,
    pub description: String,
    /// The first line of the description, for headings and feed titles.
    pub title: String,
    /// The rest of the description (empty when it is one line).
    pub body: String,
    pub phase: Phase,
    pub services: Vec<String>,
    pub start: Option<When>,
    pub end: Option<When>,
    pub expected: Option<When>,
    pub next_update: Option<When>,
    pub closed: Option<When>,
    pub created_ts: Timestamp,
    pub updated: When,
    pub url: String,
}

impl TicketView {
    pub fn of(t: &PublicTicket, now: Timestamp) -> TicketView {
        let ticket = &t.ticket;
        let times = &ticket.times;
        let phase = Phase::of(ticket, now);
        TicketView {
            id: ticket.id,
            title: title_of(&ticket.description),
            body: body_of(&ticket.description),
            description: ticket.description.clone(),
            phase,
            services: ticket.services.iter().map(|s| s.name.clone()).collect(),
            start: When::opt(times.start_time, now),
            end: When::opt(times.end_time, now),
            expected: When::opt(times.expected_resolution_time, now),
            next_update: When::opt(times.next_update_time, now),
            closed: When::opt(times.closed_time, now).filter(|_| phase == Phase::Resolved),
            created_ts: ticket.created_time,
            updated: When::of(t.updated, now),
            url: format!("/status/tickets/{}", ticket.id),
        }
    }

    pub fn services_text(&self) -> String {
        self.services.join(", ")
    }
}

/// `now` to the minute: what the pages say changes no faster.
pub fn minute_of(now: Timestamp) -> Timestamp {
    const MINUTE: i64 = 600_000_000;
    Timestamp::from_ticks(now.ticks() - now.ticks().rem_euclid(MINUTE))
}

/// A description without its first line (the title), unless the title had to be cut.
pub fn body_of(description: &str) -> String {
    let mut lines = description.trim().splitn(2, '\n');
    let first = lines.next().unwrap_or("");
    if first.trim().chars().count() > 120 {
        return description.trim().to_owned();
    }
    lines.next().unwrap_or("").trim().to_owned()
}

/// The first line of a description, at most 120 characters.
pub fn title_of(description: &str) -> String {
    let line = description.lines().next().unwrap_or("").trim();
    if line.chars().count() > 120 {
        let cut: String = line.chars().take(119).collect();
        format!("{}…", cut.trim_end())
    } else {
        line.to_owned()
    }
}

/// A service and its state now.
#[derive(Debug, Clone)]
pub struct ServiceView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub state: State,
}

/// The tickets sorted for the page.
#[derive(Debug, Clone, Default)]
pub struct Sorted {
    /// Disruptions and work under way, newest first.
    pub now: Vec<TicketView>,
    /// Planned work ahead, soonest first.
    pub planned: Vec<TicketView>,
    /// Resolved, most recently closed first.
    pub resolved: Vec<TicketView>,
}

/// The services with their states, the overall state, and the tickets sorted.
pub fn board(board: &PublicBoard, now: Timestamp) -> (Vec<ServiceView>, State, Sorted) {
    let phased: Vec<(Phase, &PublicTicket)> = board
        .tickets
        .iter()
        .map(|t| (Phase::of(&t.ticket, now), t))
        .collect();
    let services: Vec<ServiceView> = board
        .services
        .iter()
        .map(|s: &Service| ServiceView {
            id: s.id,
            name: s.name.clone(),
            description: s.description.clone().unwrap_or_default(),
            state: State::of(
                phased
                    .iter()
                    .filter(|(_, t)| t.ticket.services.iter().any(|x| x.id == s.id))
                    .map(|(p, _)| *p),
            ),
        })
        .collect();
    let overall = services
        .iter()
        .map(|s| s.state)
        .min()
        .unwrap_or(State::Operational);
    let mut sorted = Sorted::default();
    for (phase, t) in &phased {
        let view = TicketView::of(t, now);
        match phase {
            Phase::Disruption | Phase::WorkUnderWay => sorted.now.push(view),
            Phase::Planned => sorted.planned.push(view),
            Phase::Resolved => sorted.resolved.push(view),
        }
    }
    sorted
        .now
        .sort_by(|a, b| (a.phase, b.id).cmp(&(b.phase, a.id)));
    sorted.planned.sort_by_key(|t| (start_of(t), t.id));
    sorted
        .resolved
        .sort_by_key(|t| std::cmp::Reverse((closed_of(t), t.id)));
    (services, overall, sorted)
}

fn start_of(t: &TicketView) -> String {
    t.start.as_ref().map(|w| w.iso.clone()).unwrap_or_default()
}

fn closed_of(t: &TicketView) -> String {
    t.closed.as_ref().map(|w| w.iso.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::TicketTimes;

    const HOUR: i64 = 3_600_000;

    fn ticket(created: Timestamp, start: Option<Timestamp>, closed: Option<Timestamp>) -> Ticket {
        Ticket {
            id: 1,
            description: "Mail is slow\nWe are on it.".into(),
            times: TicketTimes {
                start_time: start,
                closed_time: closed,
                ..Default::default()
            },
            created_time: created,
            services: Vec::new(),
            operator: None,
        }
    }

    #[test]
    fn phases() {
        let now = Timestamp::now();
        let before = now.plus_millis(-HOUR);
        let after = now.plus_millis(HOUR);
        assert_eq!(
            Phase::of(&ticket(before, Some(before), None), now),
            Phase::Disruption
        );
        assert_eq!(
            Phase::of(&ticket(before, None, None), now),
            Phase::Disruption
        );
        assert_eq!(
            Phase::of(&ticket(before, Some(after), None), now),
            Phase::Planned
        );
        let planned_then = ticket(before.plus_millis(-HOUR), Some(before), None);
        assert_eq!(Phase::of(&planned_then, now), Phase::WorkUnderWay);
        assert_eq!(
            Phase::of(&ticket(before, Some(before), Some(before)), now),
            Phase::Resolved
        );
    }

    #[test]
    fn states_take_the_worst_phase() {
        use Phase::*;
        assert_eq!(State::of([]), State::Operational);
        assert_eq!(State::of([Planned, Resolved]), State::Operational);
        assert_eq!(State::of([WorkUnderWay, Resolved]), State::WorkUnderWay);
        assert_eq!(State::of([WorkUnderWay, Disruption]), State::Disruption);
    }

    #[test]
    fn titles_are_the_first_line() {
        assert_eq!(title_of("Mail is slow\nmore"), "Mail is slow");
        assert_eq!(title_of(&"x".repeat(200)).chars().count(), 120);
    }
}
