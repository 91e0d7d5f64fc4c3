//! Tickets, their services and their lifecycle.
//!
//! Every change that is an event (created, updated, closed, reopened) is recorded in
//! `ticket_events` in the same transaction as the change (see [`super::history`]).

use futures::stream::BoxStream;
use futures::TryStreamExt;
use sqlx::{AnyConnection, Row};

use super::history::record_event;
use super::idempotency::HeldClaim;
use super::outbox::QueuePlan;
use super::rows::{self, Check};
use super::ticket_rows::{load, load_locked, select, ticket_head};
use super::{audit, flag, idempotency, outbox, schedule, services, Page, Store, StoreError};
use crate::domain::audit::AuditAction;
use crate::domain::ticket::{event_for_update, EventKind, TicketTimes};
use crate::domain::{
    diff, NewTicket, OperatorRef, Ticket, TicketChange, TicketEvent, TicketUpdate, Timestamp, Who,
};

/// Filters of the ticket list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub is_closed: Option<bool>,
    pub service_id: Option<i64>,
}

impl Store {
    pub fn list_tickets(
        &self,
        filter: TicketFilter,
        page: Page,
    ) -> BoxStream<'static, Result<Ticket, StoreError>> {
        let pool = self.pool.clone();
        Box::pin(async_stream::try_stream! {
            let mut wheres = vec!["deleted_at IS NULL".to_owned()];
            let mut next = 3;
            if filter.is_closed.is_some() {
                wheres.push(format!("is_closed = ${next}"));
                next += 1;
            }
            if filter.service_id.is_some() {
                wheres.push(format!("id IN (SELECT ticket_id FROM ticket_services WHERE service_id = ${next})"));
            }
            let from = format!(
                "(SELECT * FROM tickets WHERE {} ORDER BY id LIMIT $1 OFFSET $2)",
                wheres.join(" AND ")
            );
            let sql = select(&from);
            let mut q = sqlx::query(&sql).bind(page.limit()).bind(page.offset());
            if let Some(closed) = filter.is_closed {
                q = q.bind(flag(closed));
            }
            if let Some(service) = filter.service_id {
                q = q.bind(service);
            }
            let mut rows = q.fetch(&pool);
            let mut current: Option<Ticket> = None;
            while let Some(row) = rows.try_next().await? {
                let id: i64 = row.try_get("id")?;
                if current.as_ref().is_some_and(|t| t.id != id) {
                    yield current.take().expect("checked above");
                }
                let ticket = match current.as_mut() {
                    Some(t) => t,
                    None => current.insert(ticket_head(&row)?),
                };
                if let Some(s) = rows::joined_service(&row)? {
                    ticket.services.push(s);
                }
            }
            if let Some(t) = current {
                yield t;
            }
        })
    }

    pub async fn get_ticket(&self, id: i64) -> Result<Ticket, StoreError> {
        if let Some(direct) = self.engine.direct_reads() {
            if let Some(read) = direct.ticket(id) {
                return read;
            }
        }
        if let Some(reads) = self.engine.pg_reads() {
            return reads
                .read_together(
                    super::ticket_rows::SELECT_MANY.as_str(),
                    id,
                    super::ticket_rows::ticket_of,
                )
                .await;
        }
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, id).await
    }

    pub async fn create_ticket(
        &self,
        new: &NewTicket,
        change: &TicketChange,
    ) -> Result<(Ticket, TicketEvent), StoreError> {
        let creation = Creation {
            new: new.clone(),
            change: change.clone(),
            lock: self.for_share(),
            now: self.now(),
            plan: self.queue_plan(),
            // Read here: the work runs in the group commit's task.
            held: idempotency::held(),
        };
        let (ticket, event, queued) = self.create(creation).await?;
        self.ticket_committed(queued);
        Ok((ticket, event))
    }

    /// Applies a PUT. Returns the stored ticket and the event it was, if any (a PUT that
    /// changes nothing is no event and writes nothing).
    pub async fn update_ticket(
        &self,
        id: i64,
        update: &TicketUpdate,
        change: &TicketChange,
        precondition: Check<'_, Ticket>,
    ) -> Result<(Ticket, Option<TicketEvent>), StoreError> {
        let mut tx = self.write_tx().await?;
        let before = load_locked(&mut tx, id, self.for_update()).await?;
        rows::check(precondition, &before)?;
        let after_times = before.times.apply(update);
        let violations = after_times.validate();
        if !violations.is_empty() {
            return Err(StoreError::Invalid(
                violations
                    .into_iter()
                    .map(|(f, m)| (f, m.to_owned()))
                    .collect(),
            ));
        }
        let description = update.description.as_str();
        let Some(kind) = event_for_update(
            &before.times,
            &before.description,
            &after_times,
            description,
        ) else {
            return Ok((before, None));
        };
        let t = &after_times;
        let q = sqlx::query(
            "UPDATE tickets SET description = $1, start_time = $2, end_time = $3, \
             expected_resolution_time = $4, next_update_time = $5, closed_time = $6, \
             reopened_time = $7, is_closed = $8 WHERE id = $9",
        )
        .bind(description);
        bind_times(q, t)
            .bind(flag(
                t.lifecycle() == crate::domain::ticket::Lifecycle::Closed,
            ))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = Ticket {
            description: description.to_owned(),
            times: after_times,
            ..before.clone()
        };
        let changes = diff(Some(&before), &after);
        let now = self.now();
        let event = record_event(&mut tx, &after, kind, change, changes, now).await?;
        let queued = notify(&mut tx, &after, &event, &self.queue_plan()).await?;
        let who = change.who();
        audit::record(
            &mut tx,
            &who,
            AuditAction::Updated,
            Some(&before),
            Some(&after),
        )
        .await?;
        schedule::plan(
            &mut tx,
            Some(&before),
            &after,
            &event,
            &change.reminder_leads,
            now,
        )
        .await?;
        tx.commit().await?;
        self.ticket_committed(queued);
        Ok((after, Some(event)))
    }

    /// Deletes a ticket. Its row and events stay (marked deleted) so history is not lost.
    /// Its unsent messages and planned jobs are cancelled; open planned work that has not
    /// begun, whose followers were told of it, records a `deleted` event that tells them
    /// (their calendars cancel the event).
    pub async fn delete_ticket(
        &self,
        id: i64,
        precondition: Check<'_, Ticket>,
        who: &Who,
    ) -> Result<Ticket, StoreError> {
        let mut tx = self.write_tx().await?;
        let current = load_locked(&mut tx, id, self.for_update()).await?;
        rows::check(precondition, &current)?;
        let now = self.now();
        sqlx::query("UPDATE tickets SET deleted_at = $1 WHERE id = $2")
            .bind(now.ticks())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        outbox::cancel_for_ticket(&mut tx, id).await?;
        audit::record(&mut tx, who, AuditAction::Deleted, Some(&current), None).await?;
        schedule::cancel_all(&mut tx, id, now).await?;
        let mut queued = 0;
        if current.times.is_planned(current.created_time)
            && !current.is_closed()
            && !current.times.has_begun(now)
            && schedule::followers_told(&mut tx, id).await?
        {
            let change = TicketChange {
                actor: who.actor.clone(),
                address: who.address,
                notify: true,
                reminder_leads: Vec::new(),
            };
            let event = record_event(
                &mut tx,
                &current,
                EventKind::Deleted,
                &change,
                Vec::new(),
                now,
            )
            .await?;
            queued = outbox::enqueue(&mut tx, &current, &event, None, &self.queue_plan()).await?;
        }
        tx.commit().await?;
        self.ticket_committed(queued);
        Ok(current)
    }

    /// After a ticket's change committed: the public pages' memory hears of it, and the
    /// delivery workers wake when it queued messages.
    fn ticket_committed(&self, queued: u64) {
        self.public_changed();
        if queued > 0 {
            self.wake_workers();
        }
    }
}

/// A ticket's creation as the group commit runs it: alone ([`Creation::write`]) or, on
/// PostgreSQL, with the other creations of its batch ([`write_together`]).
pub(super) struct Creation {
    new: NewTicket,
    change: TicketChange,
    lock: &'static str,
    now: Timestamp,
    plan: QueuePlan,
    /// The idempotency claim the request holds, if any.
    held: Option<HeldClaim>,
}

/// A written creation: the ticket as a read would show it, its event, how many messages it
/// queued.
pub(super) type Created = (Ticket, TicketEvent, u64);

impl Creation {
    /// Writes the ticket, its services, its `created` event and its messages on `conn` (inside
    /// a transaction), and links it to the request's idempotency claim.
    pub(super) async fn write(&self, conn: &mut AnyConnection) -> Result<Created, StoreError> {
        let operator = self.operator(conn).await?;
        let (new, change, now) = (&self.new, &self.change, self.now);
        let (ticket, event) = if super::Backend::of(conn) == super::Backend::Postgres {
            super::ticket_create_pg::insert(conn, new, change, operator, now).await?
        } else {
            insert_statements(conn, new, change, operator, self.lock, now).await?
        };
        self.written(conn, ticket, event).await
    }

    /// The checked operator the ticket names, if any.
    async fn operator(&self, conn: &mut AnyConnection) -> Result<Option<OperatorRef>, StoreError> {
        match self.new.operator {
            Some(op) => Ok(Some(live_operator(conn, op, self.lock).await?)),
            None => Ok(None),
        }
    }

    /// After the rows are written: the messages, the scheduled jobs, the idempotency link.
    async fn written(
        &self,
        conn: &mut AnyConnection,
        ticket: Ticket,
        event: TicketEvent,
    ) -> Result<Created, StoreError> {
        let queued = notify(conn, &ticket, &event, &self.plan).await?;
        schedule::plan(
            conn,
            None,
            &ticket,
            &event,
            &self.change.reminder_leads,
            self.now,
        )
        .await?;
        idempotency::link_created(conn, self.held.as_ref(), ticket.id).await?;
        Ok((ticket, event, queued))
    }
}

/// PostgreSQL: writes `creations` together, their rows with one statement
/// ([`super::ticket_create_pg::insert_many`]), each one's messages, jobs and idempotency link
/// after it, inside the caller's transaction. `None` when one of them cannot be written as it
/// is (a service that is not live); an error when a statement failed. Either way the caller
/// rolls back what this wrote and writes them one at a time, so that the one at fault fails
/// alone with its own answer.
pub(super) async fn write_together(
    conn: &mut AnyConnection,
    creations: &[&Creation],
) -> Result<Option<Vec<Created>>, StoreError> {
    let mut inputs = Vec::with_capacity(creations.len());
    for c in creations {
        inputs.push(super::ticket_create_pg::Input {
            new: &c.new,
            change: &c.change,
            operator: c.operator(conn).await?,
            now: c.now,
        });
    }
    let Some(rows) = super::ticket_create_pg::insert_many(conn, inputs).await? else {
        return Ok(None);
    };
    let mut created = Vec::with_capacity(rows.len());
    for (c, (ticket, event)) in creations.iter().zip(rows) {
        created.push(c.written(conn, ticket, event).await?);
    }
    Ok(Some(created))
}

/// [`insert`]'s writes one statement at a time (SQLite, whose statements cost no round trip
/// to a server): the ticket, its services, its event and its audit entry.
async fn insert_statements(
    conn: &mut AnyConnection,
    new: &NewTicket,
    change: &TicketChange,
    operator: Option<OperatorRef>,
    lock: &'static str,
    now: Timestamp,
) -> Result<(Ticket, TicketEvent), StoreError> {
    let services = services::live_services(conn, &new.services, "Services", lock).await?;
    let t = &new.times;
    let q = sqlx::query(
        "INSERT INTO tickets (description, start_time, end_time, expected_resolution_time, \
         next_update_time, closed_time, reopened_time, created_time, operator_id, is_closed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(new.description.as_str());
    let id: i64 = bind_times(q, t)
        .bind(now.ticks())
        .bind(new.operator)
        .bind(flag(
            t.lifecycle() == crate::domain::ticket::Lifecycle::Closed,
        ))
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if !services.is_empty() {
        let sql = format!(
            "INSERT INTO ticket_services (ticket_id, service_id) \
             SELECT $1, id FROM services WHERE id IN ({})",
            super::Backend::of(conn).ids_in(2)
        );
        let ids: Vec<i64> = services.iter().map(|s| s.id).collect();
        sqlx::query(&sql)
            .bind(id)
            .bind(super::ids_param(&ids))
            .execute(&mut *conn)
            .await?;
    }
    let ticket = Ticket {
        id,
        description: new.description.as_str().to_owned(),
        times: new.times,
        created_time: now,
        services,
        operator,
    };
    let changes = diff(None, &ticket);
    let event = record_event(conn, &ticket, EventKind::Created, change, changes, now).await?;
    audit::record(
        conn,
        &change.who(),
        AuditAction::Created,
        None,
        Some(&ticket),
    )
    .await?;
    Ok((ticket, event))
}

/// The live operator with this id (a 400 on `Operator` when there is none), its row shared-locked
/// against a concurrent delete where the engine has row locks.
async fn live_operator(
    conn: &mut AnyConnection,
    id: i64,
    lock: &'static str,
) -> Result<OperatorRef, StoreError> {
    let sql = format!("SELECT id, name FROM operators WHERE id = $1 AND deleted_at IS NULL{lock}");
    match sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(row) => Ok(OperatorRef {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
        }),
        None => Err(StoreError::invalid(
            "Operator",
            format!("There is no operator with Id {id}."),
        )),
    }
}

/// Binds the six times of a ticket, in their column order.
fn bind_times<'q>(q: AnyQuery<'q>, t: &TicketTimes) -> AnyQuery<'q> {
    q.bind(ticks(t.start_time))
        .bind(ticks(t.end_time))
        .bind(ticks(t.expected_resolution_time))
        .bind(ticks(t.next_update_time))
        .bind(ticks(t.closed_time))
        .bind(ticks(t.reopened_time))
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn ticks(ts: Option<Timestamp>) -> Option<i64> {
    ts.map(Timestamp::ticks)
}

/// Queues the event's emails when customers are to be told; returns how many.
async fn notify(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    event: &TicketEvent,
    plan: &QueuePlan,
) -> Result<u64, StoreError> {
    if event.notify {
        outbox::enqueue(tx, ticket, event, None, plan).await
    } else {
        Ok(0)
    }
}
