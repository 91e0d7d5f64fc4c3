//! Time-driven jobs (`scheduled_jobs`): reminders before planned work and notices of overdue
//! promised updates.
//!
//! Jobs are planned, re-planned and cancelled by [`plan`] in the transaction of the ticket
//! change that causes them (API and GUI share it), so a job never outlives the promise it keeps.
//! [`Store::run_due_job`] runs one due job in a transaction of its own: the ticket's row locked
//! first (as every ticket write does, so the scheduler and a write never deadlock), then the
//! job's, re-checked still pending; its event, its messages (queued through the outbox's
//! fan-out, so opt-outs apply as they are then) and its new state commit together. A job is
//! therefore done exactly once, however many instances run the scheduler and whenever one of
//! them stops: a transaction that does not commit leaves the job pending for the next tick.

use std::time::Duration;

use sqlx::{AnyConnection, Row};

use super::history::record_event;
use super::ticket_rows::load_locked;
use super::{flag, outbox, Store, StoreError};
use crate::domain::ticket::{EventKind, Lifecycle};
use crate::domain::{Actor, Ticket, TicketChange, TicketEvent, Timestamp};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Reminds the followers of planned work.
    Reminder,
    /// Tells the operator that a promised update is overdue.
    Overdue,
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::Reminder => "reminder",
            JobKind::Overdue => "overdue",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "reminder" => Some(JobKind::Reminder),
            "overdue" => Some(JobKind::Overdue),
            _ => None,
        }
    }
}

/// A job still to run, as the ticket page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedJob {
    pub id: i64,
    pub kind: JobKind,
    pub due_at: Timestamp,
    /// A reminder's lead time.
    pub lead: Option<Duration>,
}

/// What the scheduler finds at a tick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueJobs {
    /// Jobs due now, soonest first.
    pub ids: Vec<i64>,
    /// More are due than were asked for.
    pub more: bool,
    /// When the next job not yet due falls due.
    pub next: Option<Timestamp>,
}

/// What running one job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RanJob {
    pub job_id: i64,
    pub ticket_id: i64,
    /// The event it recorded (none when it was moot: its ticket changed meanwhile).
    pub event: Option<EventKind>,
    /// Messages queued.
    pub queued: u64,
}

/// Cancels a ticket's pending jobs of `kind` (all kinds when `None`).
async fn cancel(
    tx: &mut AnyConnection,
    ticket_id: i64,
    kind: Option<JobKind>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let sql = match kind {
        Some(_) => {
            "UPDATE scheduled_jobs SET state = 'cancelled', finished_at = $1 \
             WHERE ticket_id = $2 AND state = 'pending' AND kind = $3"
        }
        None => {
            "UPDATE scheduled_jobs SET state = 'cancelled', finished_at = $1 \
             WHERE ticket_id = $2 AND state = 'pending'"
        }
    };
    let mut q = sqlx::query(sql).bind(now.ticks()).bind(ticket_id);
    if let Some(kind) = kind {
        q = q.bind(kind.as_str());
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

async fn insert(
    tx: &mut AnyConnection,
    ticket_id: i64,
    kind: JobKind,
    due_at: Timestamp,
    planned_for: Timestamp,
    lead: Option<Duration>,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO scheduled_jobs (kind, ticket_id, due_at, planned_for, lead_secs, state, \
         planned_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
    )
    .bind(kind.as_str())
    .bind(ticket_id)
    .bind(due_at.ticks())
    .bind(planned_for.ticks())
    .bind(lead.map(|l| i64::try_from(l.as_secs()).unwrap_or(i64::MAX)))
    .bind(now.ticks())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Were the ticket's followers told of it by an event before `event_id`?
async fn notified_before(
    tx: &mut AnyConnection,
    ticket_id: i64,
    event_id: i64,
) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM ticket_events WHERE ticket_id = $1 AND id < $2 AND notify = $3 \
         AND kind IN ('created', 'updated', 'closed', 'reopened') LIMIT 1",
    )
    .bind(ticket_id)
    .bind(event_id)
    .bind(flag(true))
    .fetch_optional(&mut *tx)
    .await?;
    Ok(found.is_some())
}

/// Were the ticket's followers ever told of it?
pub(super) async fn followers_told(
    tx: &mut AnyConnection,
    ticket_id: i64,
) -> Result<bool, StoreError> {
    notified_before(tx, ticket_id, i64::MAX).await
}

/// Plans the reminders of `ticket` still ahead at `now` (none unless it is open planned work
/// that has not begun).
async fn plan_reminders(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    leads: &[Duration],
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(start) = ticket.times.start_time else {
        return Ok(());
    };
    if ticket.is_closed() || !ticket.times.is_planned(ticket.created_time) {
        return Ok(());
    }
    for lead in leads {
        let due = start.minus(*lead);
        if due > now {
            insert(
                tx,
                ticket.id,
                JobKind::Reminder,
                due,
                start,
                Some(*lead),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// Plans, re-plans or cancels the jobs of a ticket after `event` changed it from `before`
/// (`None`: just created) to `after`, in the change's transaction.
///
/// Reminders: planned for open planned work whose followers have been told of it (an event
/// that notified), at each lead time still ahead; re-planned when `StartTime` moves, the
/// ticket reopens, or its followers are told for the first time; cancelled when it closes.
/// The overdue notice: any event cancels it (the promise is kept or changed); a new
/// `NextUpdateTime` still ahead on an open ticket arms it again.
pub(super) async fn plan(
    tx: &mut AnyConnection,
    before: Option<&Ticket>,
    after: &Ticket,
    event: &TicketEvent,
    leads: &[Duration],
    now: Timestamp,
) -> Result<(), StoreError> {
    let open = after.times.lifecycle() == Lifecycle::Open;
    match before {
        None => {
            if event.notify {
                plan_reminders(tx, after, leads, now).await?;
            }
        }
        Some(before) => {
            let told_before = notified_before(tx, after.id, event.id).await?;
            let first_told = event.notify && !told_before;
            let told = event.notify || told_before;
            let moved = before.times.start_time != after.times.start_time;
            let reopened = before.is_closed() && open;
            if !open {
                cancel(tx, after.id, Some(JobKind::Reminder), now).await?;
            } else if told && (moved || reopened || first_told) {
                cancel(tx, after.id, Some(JobKind::Reminder), now).await?;
                plan_reminders(tx, after, leads, now).await?;
            } else if moved {
                // Nobody was told of the work: nobody is reminded of it.
                cancel(tx, after.id, Some(JobKind::Reminder), now).await?;
            }
            cancel(tx, after.id, Some(JobKind::Overdue), now).await?;
        }
    }
    let promise = after.times.next_update_time;
    let set_again = before.is_none_or(|b| b.times.next_update_time != promise);
    if let Some(promised) = promise.filter(|p| open && set_again && *p > now) {
        insert(
            tx,
            after.id,
            JobKind::Overdue,
            promised,
            promised,
            None,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Cancels every pending job of a ticket being deleted.
pub(super) async fn cancel_all(
    tx: &mut AnyConnection,
    ticket_id: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    cancel(tx, ticket_id, None, now).await
}

/// The context of the scheduler's own events.
fn scheduled(notify: bool) -> TicketChange {
    TicketChange {
        actor: Actor::Scheduler,
        address: None,
        notify,
        reminder_leads: Vec::new(),
    }
}

impl Store {
    /// The scheduler's one query per tick, answered from the index `scheduled_jobs_due` alone:
    /// the ids of up to `limit` jobs due at `now`, soonest first, and when the next one not yet
    /// due is (if it is among the first `limit` pending).
    pub async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<DueJobs, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, due_at FROM scheduled_jobs WHERE state = 'pending' \
             ORDER BY due_at, id LIMIT $1",
        )
        .bind(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut due = DueJobs::default();
        for (id, at) in rows {
            let at = Timestamp::from_ticks(at);
            if at > now {
                due.next = Some(at);
                break;
            }
            if due.ids.len() == limit {
                due.more = true;
                break;
            }
            due.ids.push(id);
        }
        Ok(due)
    }

    /// The jobs of a ticket still to run, soonest first.
    pub async fn planned_jobs(&self, ticket_id: i64) -> Result<Vec<PlannedJob>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, due_at, lead_secs FROM scheduled_jobs \
             WHERE ticket_id = $1 AND state = 'pending' ORDER BY due_at, id",
        )
        .bind(ticket_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .filter_map(|row| {
                let kind: String = match row.try_get("kind") {
                    Ok(k) => k,
                    Err(e) => return Some(Err(e.into())),
                };
                let kind = JobKind::parse(&kind)?;
                Some((|| {
                    Ok(PlannedJob {
                        id: row.try_get("id")?,
                        kind,
                        due_at: Timestamp::from_ticks(row.try_get("due_at")?),
                        lead: row
                            .try_get::<Option<i64>, _>("lead_secs")?
                            .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0))),
                    })
                })())
            })
            .collect()
    }

    /// Runs the job `job_id` if it is still pending (another instance may have run it since
    /// it was found due), at `now`. See the module's documentation.
    pub async fn run_due_job(
        &self,
        job_id: i64,
        now: Timestamp,
    ) -> Result<Option<RanJob>, StoreError> {
        let mut tx = self.write_tx().await?;
        let ticket_id: Option<i64> =
            sqlx::query_scalar("SELECT ticket_id FROM scheduled_jobs WHERE id = $1")
                .bind(job_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(ticket_id) = ticket_id else {
            return Ok(None);
        };
        // The ticket first, as every ticket write locks it: then the job, checked again.
        let ticket = match load_locked(&mut tx, ticket_id, self.for_update()).await {
            Ok(t) => Some(t),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let sql = format!(
            "SELECT kind, planned_for, lead_secs FROM scheduled_jobs \
             WHERE id = $1 AND state = 'pending'{}",
            self.for_update()
        );
        let Some(job) = sqlx::query(&sql)
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let kind: String = job.try_get("kind")?;
        let planned_for = Timestamp::from_ticks(job.try_get("planned_for")?);
        let lead = job
            .try_get::<Option<i64>, _>("lead_secs")?
            .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)));
        let (state, event, queued) = match (JobKind::parse(&kind), ticket) {
            (Some(JobKind::Reminder), Some(ticket))
                if !ticket.is_closed() && ticket.times.start_time == Some(planned_for) =>
            {
                if ticket.times.has_begun(now) {
                    // Its time passed while no scheduler ran, and the work has begun: a
                    // reminder now would come too late.
                    let change = scheduled(false);
                    let event = record_event(
                        &mut tx,
                        &ticket,
                        EventKind::ReminderDropped,
                        &change,
                        Vec::new(),
                        now,
                    )
                    .await?;
                    ("dropped", Some(event), 0)
                } else {
                    let change = scheduled(true);
                    let event = record_event(
                        &mut tx,
                        &ticket,
                        EventKind::Reminder,
                        &change,
                        Vec::new(),
                        now,
                    )
                    .await?;
                    let queued =
                        outbox::enqueue(&mut tx, &ticket, &event, lead, &self.queue_plan()).await?;
                    ("done", Some(event), queued)
                }
            }
            (Some(JobKind::Overdue), Some(ticket))
                if !ticket.is_closed() && ticket.times.next_update_time == Some(planned_for) =>
            {
                let change = scheduled(false);
                let event = record_event(
                    &mut tx,
                    &ticket,
                    EventKind::Overdue,
                    &change,
                    Vec::new(),
                    now,
                )
                .await?;
                let queued = outbox::enqueue_to_operators(&mut tx, &ticket, &event).await?;
                ("done", Some(event), queued)
            }
            // The ticket changed in a way its write should have cancelled the job for.
            _ => ("cancelled", None, 0),
        };
        sqlx::query(
            "UPDATE scheduled_jobs SET state = $1, finished_at = $2, event_id = $3 WHERE id = $4",
        )
        .bind(state)
        .bind(now.ticks())
        .bind(event.as_ref().map(|e| e.id))
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if queued > 0 {
            self.wake_workers();
        }
        Ok(Some(RanJob {
            job_id,
            ticket_id,
            event: event.map(|e| e.kind),
            queued,
        }))
    }
}
