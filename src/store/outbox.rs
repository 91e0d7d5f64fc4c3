//! The notification outbox, one for every channel: who is told of an event, on which channel
//! and at which address, and what happened to each message.
//!
//! [`enqueue`] writes an event's messages in the transaction of the ticket change (one
//! statement per channel, however many followers; on PostgreSQL an event's email as recipient
//! lists, a row per batch of recipients, see [`super::pg_lists`]). Each channel's delivery workers then
//! [`Store::claim_due`] batches of that channel under an expiring claim, and [`Store::record_outcomes`] writes a whole batch's results in one
//! statement, so throughput is not capped by one commit per message.
//!
//! A claim is a lease: claiming sets `claimed_by` to a token of that one claim (a batch) and
//! the end of the lease: on SQLite in `next_attempt_at`, on PostgreSQL in `lease_until`, a
//! column outside every index, so that the claim adds no index entry (a heap-only update). The
//! instance renews the leases of the claims it holds while it works ([`Store::renew_claims`]:
//! SQLite moves the rows' `next_attempt_at` again, PostgreSQL writes one row per claim into
//! `notification_leases`); if it dies, the rows simply become due again. A token per claim, not per instance: a lease that ran out while its batch was in
//! hand (a statement stalled for longer than the lease) and was taken again by another worker
//! of the same instance is no longer the first worker's, so its outcomes and releases are not
//! written over the second claim, nor is the first worker's lease renewed with the second's.

use std::collections::HashMap;

use futures::stream::BoxStream;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::rows;
use super::sqlite_outbox::OutcomeRow;
use super::{Backend, Store, StoreError};
use crate::domain::ticket::{EventKind, TicketTimes};
use crate::domain::{
    Channel, Claimed, DeliveryCounts, DeliveryState, EventContent, Notification, OperatorRef,
    Outcome, Service, Ticket, TicketEvent, Timestamp,
};

/// The stored (JSON) form of [`EventContent`]: times as 100 ns ticks.
#[derive(Serialize, Deserialize)]
struct StoredContent {
    kind: String,
    at: i64,
    ticket_id: i64,
    ticket_created: i64,
    description: String,
    services: Vec<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    expected_resolution_time: Option<i64>,
    next_update_time: Option<i64>,
    closed_time: Option<i64>,
    reopened_time: Option<i64>,
    // Added with the scheduler; older rows read as unplanned, sequence 0.
    #[serde(default)]
    planned: bool,
    #[serde(default)]
    sequence: u32,
    #[serde(default)]
    lead_secs: Option<u64>,
    #[serde(default)]
    for_operators: bool,
    // Added for the webhooks' `json` (the ticket as the API shows it, see
    // [`Store::event_tickets`]); older rows read as the services' names only.
    #[serde(default)]
    service_refs: Option<Vec<StoredService>>,
    #[serde(default)]
    operator: Option<(i64, String)>,
}

/// A ticket's service at the event, as the API shows it.
#[derive(Serialize, Deserialize)]
struct StoredService {
    id: i64,
    name: String,
    description: Option<String>,
    is_public: bool,
}

impl StoredContent {
    fn new(ticket: &Ticket, event: &TicketEvent, extra: Extra) -> Self {
        let t = &ticket.times;
        let m = |ts: Option<Timestamp>| ts.map(Timestamp::ticks);
        StoredContent {
            kind: event.kind.as_str().to_owned(),
            at: event.at.ticks(),
            ticket_id: ticket.id,
            ticket_created: ticket.created_time.ticks(),
            description: ticket.description.clone(),
            services: ticket.services.iter().map(|s| s.name.clone()).collect(),
            start_time: m(t.start_time),
            end_time: m(t.end_time),
            expected_resolution_time: m(t.expected_resolution_time),
            next_update_time: m(t.next_update_time),
            closed_time: m(t.closed_time),
            reopened_time: m(t.reopened_time),
            planned: t.is_planned(ticket.created_time),
            sequence: extra.sequence,
            lead_secs: extra.lead.map(|l| l.as_secs()),
            for_operators: extra.for_operators,
            service_refs: Some(
                ticket
                    .services
                    .iter()
                    .map(|s| StoredService {
                        id: s.id,
                        name: s.name.clone(),
                        description: s.description.clone(),
                        is_public: s.is_public,
                    })
                    .collect(),
            ),
            operator: ticket.operator.as_ref().map(|o| (o.id, o.name.clone())),
        }
    }

    /// The ticket as it was at the event.
    fn ticket(&self) -> Ticket {
        let times = self.times();
        let services = match &self.service_refs {
            Some(refs) => refs
                .iter()
                .map(|s| Service {
                    id: s.id,
                    name: s.name.clone(),
                    description: s.description.clone(),
                    is_public: s.is_public,
                })
                .collect(),
            // Written before the services were kept: their names only.
            None => self
                .services
                .iter()
                .map(|name| Service {
                    id: 0,
                    name: name.clone(),
                    description: None,
                    is_public: true,
                })
                .collect(),
        };
        Ticket {
            id: self.ticket_id,
            description: self.description.clone(),
            times,
            created_time: Timestamp::from_ticks(self.ticket_created),
            services,
            operator: self.operator.as_ref().map(|(id, name)| OperatorRef {
                id: *id,
                name: name.clone(),
            }),
        }
    }

    fn times(&self) -> TicketTimes {
        let ts = |v: Option<i64>| v.map(Timestamp::from_ticks);
        TicketTimes {
            start_time: ts(self.start_time),
            end_time: ts(self.end_time),
            expected_resolution_time: ts(self.expected_resolution_time),
            next_update_time: ts(self.next_update_time),
            closed_time: ts(self.closed_time),
            reopened_time: ts(self.reopened_time),
        }
    }

    fn into_content(self, event_id: i64) -> Result<EventContent, StoreError> {
        let times = self.times();
        Ok(EventContent {
            event_id,
            kind: EventKind::parse(&self.kind)
                .ok_or_else(|| StoreError::Config(format!("unknown event kind {}", self.kind)))?,
            at: Timestamp::from_ticks(self.at),
            ticket_id: self.ticket_id,
            ticket_created: Timestamp::from_ticks(self.ticket_created),
            description: self.description,
            services: self.services,
            times,
            planned: self.planned,
            sequence: self.sequence,
            lead: self.lead_secs.map(std::time::Duration::from_secs),
            for_operators: self.for_operators,
        })
    }
}

/// How many service ids [`enqueue`] writes into its statement; more are one parameter.
const INLINE_SERVICE_IDS: usize = 1000;

/// What an event's content says beyond the ticket and the event.
#[derive(Debug, Clone, Copy, Default)]
struct Extra {
    sequence: u32,
    lead: Option<std::time::Duration>,
    for_operators: bool,
}

/// The ticket's calendar `SEQUENCE` now (see [`crate::domain::calendar::sequence`]).
async fn calendar_sequence(tx: &mut AnyConnection, ticket_id: i64) -> Result<u32, StoreError> {
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM ticket_events WHERE ticket_id = $1 \
         AND kind IN ('created', 'updated', 'closed', 'reopened', 'deleted')",
    )
    .bind(ticket_id)
    .fetch_all(&mut *tx)
    .await?;
    Ok(crate::domain::calendar::sequence(
        kinds.iter().filter_map(|k| EventKind::parse(k)),
    ))
}

/// Writes what the messages of `event` say, once.
async fn write_content(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    event: &TicketEvent,
    mut extra: Extra,
) -> Result<(), StoreError> {
    extra.sequence = calendar_sequence(tx, ticket.id).await?;
    let content = serde_json::to_string(&StoredContent::new(ticket, event, extra))
        .expect("event content always serializes");
    sqlx::query(
        "INSERT INTO notification_events (event_id, ticket_id, content) VALUES ($1, $2, $3)",
    )
    .bind(event.id)
    .bind(ticket.id)
    .bind(content)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Has the commit wake every instance's delivery workers (see [`Backend::on_enqueue`]).
async fn wake_on_commit(tx: &mut AnyConnection) -> Result<(), StoreError> {
    if let Some(sql) = Backend::of(tx).on_enqueue() {
        sqlx::query(sql)
            .bind(super::wakeups::CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Queues an overdue notice of `event` to the ticket's operator, or to every administrator
/// when it has none (or its operator was deleted), in the job's transaction.
pub(super) async fn enqueue_to_operators(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    event: &TicketEvent,
) -> Result<u64, StoreError> {
    write_content(
        tx,
        ticket,
        event,
        Extra {
            for_operators: true,
            ..Extra::default()
        },
    )
    .await?;
    const INSERT: &str = "INSERT INTO notifications (event_id, ticket_id, customer_id, channel, \
         address, name, state, attempts, queued_at, next_attempt_at) \
         SELECT $1, $2, NULL, 'email', o.email, o.name, 'queued', 0, $3, $3 FROM operators o \
         WHERE o.deleted_at IS NULL AND ";
    let mut queued = 0;
    if let Some(operator) = &ticket.operator {
        queued = sqlx::query(&format!("{INSERT}o.id = $4"))
            .bind(event.id)
            .bind(ticket.id)
            .bind(event.at.ticks())
            .bind(operator.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    if queued == 0 {
        queued = sqlx::query(&format!("{INSERT}o.is_admin = $4"))
            .bind(event.id)
            .bind(ticket.id)
            .bind(event.at.ticks())
            .bind(super::flag(true))
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    if queued > 0 {
        wake_on_commit(tx).await?;
    }
    Ok(queued)
}

/// What decides how an event's messages are queued, read from the store once per change (a
/// ticket's creation carries it into the group commit's task).
#[derive(Debug, Clone)]
pub(super) struct QueuePlan {
    /// Which events are texted and how numbers are read.
    pub(super) sms: crate::domain::phone::SmsPlan,
    /// Recipients per list (PostgreSQL's email, see [`super::pg_lists`]).
    pub(super) per_list: i64,
}

impl Store {
    /// The plan changes queue their messages by now.
    pub(super) fn queue_plan(&self) -> QueuePlan {
        QueuePlan {
            sms: self.sms_plan(),
            per_list: super::pg_lists::per_list(
                self.email_batch.load(std::sync::atomic::Ordering::Relaxed),
            ),
        }
    }

    /// The email workers claim batches of `batch`: PostgreSQL queues lists of that many
    /// recipients from now on, so that a claim of a list is one batch.
    pub fn set_email_batch(&self, batch: usize) {
        self.email_batch
            .store(batch, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Queues the messages of `event` on every channel, in the change's transaction, and returns
/// how many were queued. This is the one place that chooses whom to tell (reminders included):
/// the addresses and numbers that opted out (see [`super::opt_outs`], held by channel and
/// address) are left out here, so every kind of message honours them. Each channel is one
/// `INSERT … SELECT`, however many followers. `lead` is a reminder's lead time.
pub(super) async fn enqueue(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    event: &TicketEvent,
    lead: Option<std::time::Duration>,
    plan: &QueuePlan,
) -> Result<u64, StoreError> {
    write_content(
        tx,
        ticket,
        event,
        Extra {
            lead,
            ..Extra::default()
        },
    )
    .await?;
    if ticket.services.is_empty() {
        return Ok(0);
    }
    wake_on_commit(tx).await?;
    let mut queued = enqueue_email(tx, ticket, event, plan.per_list).await?;
    queued += super::sms::enqueue(tx, ticket, event, &plan.sms).await?;
    // Webhooks: one row per active webhook whose services include one of the ticket's (or
    // that covers all services), on every event (channel 'webhook', address its URL).
    queued += super::webhooks::enqueue(tx, ticket, event).await?;
    Ok(queued)
}

/// The followers of the ticket's services, as SQL to write into a statement: their ids in the
/// statement itself, so PostgreSQL's planner knows how many follow them and joins with one hash,
/// where a join with `ticket_services` made it guess a few and look up 100,000 customers one by
/// one (the ids are integers from the database, so writing them in is safe). Up to a bound: a
/// statement never grows without limit (sqlx logs slow ones whole), so more go as parameter
/// `param` (bind [`service_ids_param`] when it returns `Some`).
pub(super) fn service_ids_sql(tx: &AnyConnection, ticket: &Ticket, param: usize) -> String {
    if ticket.services.len() <= INLINE_SERVICE_IDS {
        ticket
            .services
            .iter()
            .map(|s| s.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        Backend::of(tx).ids_in(param)
    }
}

/// The parameter [`service_ids_sql`] asked for, if it asked for one.
pub(super) fn service_ids_param(ticket: &Ticket) -> Option<String> {
    (ticket.services.len() > INLINE_SERVICE_IDS).then(|| {
        let ids: Vec<i64> = ticket.services.iter().map(|s| s.id).collect();
        super::ids_param(&ids)
    })
}

/// The email channel: one message per distinct address (ignoring case) of a customer
/// following at least one of the ticket's services, except the addresses opted out of email.
/// SQLite: a row each. PostgreSQL: lists of `per_list` (see [`super::pg_lists`]).
async fn enqueue_email(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    event: &TicketEvent,
    per_list: i64,
) -> Result<u64, StoreError> {
    let backend = Backend::of(tx);
    // The services' parameter, if they need one, comes after the statement's own.
    let services = service_ids_sql(tx, ticket, if backend == Backend::Postgres { 5 } else { 4 });
    let followers = format!(
        "FROM customers c \
         WHERE c.email IS NOT NULL AND c.email <> '' AND c.id IN ( \
           SELECT cs.customer_id FROM customer_services cs WHERE cs.service_id IN ({services}))"
    );
    const NOT_OPTED_OUT: &str = "lower(r.email) NOT IN ( \
           SELECT o.address FROM opt_outs o WHERE o.channel = 'email' AND o.lifted_at IS NULL)";
    // One message per address: the first follower (lowest id) of each lower-cased address. A
    // NOT EXISTS lookup per follower lets SQLite's planner pick a plan quadratic in the
    // followers. SQLite: the lowest id per address by GROUP BY, then that customer (with a
    // million followers 0.75 s of CPU where a window took 1.2 s: SQLite buffers each
    // partition of a window in a table of its own). PostgreSQL: `DISTINCT ON` over one sort
    // (its GROUP BY hashes a million addresses and spills, which measured slower; a
    // `ROW_NUMBER()` window over the same sort took 0.3–0.5 s more of a million). An address
    // opted out is left out with all its followers, before or after the dedupe alike.
    if backend == Backend::Postgres {
        let recipients = format!(
            "SELECT DISTINCT ON (lower(r.email)) r.id, r.email, r.name \
             FROM (SELECT c.id, c.email, c.name {followers}) r WHERE {NOT_OPTED_OUT} \
             ORDER BY lower(r.email), r.id"
        );
        return super::pg_lists::enqueue(
            tx,
            event.id,
            ticket.id,
            event.at,
            per_list,
            &recipients,
            service_ids_param(ticket),
        )
        .await;
    }
    let sql = format!(
        "INSERT INTO notifications (event_id, ticket_id, customer_id, channel, address, name, \
           state, attempts, queued_at, next_attempt_at) \
         SELECT $1, $2, r.id, 'email', r.email, r.name, 'queued', 0, $3, $3 \
         FROM (SELECT min(c.id) AS id {followers} GROUP BY lower(c.email)) f \
           JOIN customers r ON r.id = f.id WHERE {NOT_OPTED_OUT}"
    );
    let mut q = sqlx::query(&sql)
        .bind(event.id)
        .bind(ticket.id)
        .bind(event.at.ticks());
    if let Some(ids) = service_ids_param(ticket) {
        q = q.bind(ids);
    }
    Ok(q.execute(&mut *tx).await?.rows_affected())
}

/// Queues the confirmation email of self-subscription request `request_id` to `email`, in the
/// request's transaction: a message of no event and no ticket, sent by the email channel's
/// workers like any other (its link issued as it is sent, see [`super::subscriptions`]).
pub(super) async fn enqueue_confirmation(
    tx: &mut AnyConnection,
    request_id: i64,
    email: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notifications (event_id, ticket_id, customer_id, channel, address, name, \
           state, attempts, queued_at, next_attempt_at, subscription_id) \
         VALUES (NULL, NULL, NULL, 'email', $1, '', 'queued', 0, $2, $2, $3)",
    )
    .bind(email)
    .bind(at.ticks())
    .bind(request_id)
    .execute(&mut *tx)
    .await?;
    wake_on_commit(tx).await
}

/// Cancels the unsent messages of a ticket (it is being deleted).
pub(super) async fn cancel_for_ticket(
    tx: &mut AnyConnection,
    ticket_id: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE notifications SET state = 'cancelled', next_attempt_at = NULL \
         WHERE ticket_id = $1 AND state IN ('queued', 'retrying')",
    )
    .bind(ticket_id)
    .execute(&mut *tx)
    .await?;
    let listed = match Backend::of(tx) {
        Backend::Postgres => super::pg_lists::cancel_for_ticket(tx, ticket_id).await?,
        Backend::Sqlite => 0,
    };
    Ok(done.rows_affected() + listed)
}

const NOTIFICATION_COLUMNS: &str = "n.id, n.event_id, e.kind, n.ticket_id, n.customer_id, \
     n.channel, n.address, n.name, n.state, n.attempts, n.queued_at, n.last_attempt_at, n.next_attempt_at, \
     n.sent_at, n.reply, n.claimed_by";

fn channel(row: &AnyRow) -> Result<Channel, StoreError> {
    let channel: String = row.try_get("channel")?;
    Channel::parse(&channel).ok_or_else(|| StoreError::Config(format!("unknown channel {channel}")))
}

fn notification(row: &AnyRow) -> Result<Notification, StoreError> {
    let state: String = row.try_get("state")?;
    let state = DeliveryState::parse(&state)
        .ok_or_else(|| StoreError::Config(format!("unknown delivery state {state}")))?;
    let kind: String = row.try_get("kind")?;
    let in_flight = row.try_get::<Option<i64>, _>("claimed_by")?.is_some() && state.is_pending();
    Ok(Notification {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        event: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Config(format!("unknown event kind {kind}")))?,
        ticket_id: row.try_get("ticket_id")?,
        customer_id: row.try_get("customer_id")?,
        channel: channel(row)?,
        address: row.try_get("address")?,
        name: row.try_get("name")?,
        state,
        attempts: row.try_get("attempts")?,
        queued_at: Timestamp::from_ticks(row.try_get("queued_at")?),
        last_attempt_at: rows::ts(row, "last_attempt_at")?,
        next_attempt_at: if in_flight {
            None
        } else {
            rows::ts(row, "next_attempt_at")?
        },
        sent_at: rows::ts(row, "sent_at")?,
        reply: row.try_get("reply")?,
        in_flight,
    })
}

pub(super) fn claimed(row: &AnyRow) -> Result<Claimed, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(Claimed {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        ticket_id: row.try_get("ticket_id")?,
        customer_id: row.try_get("customer_id")?,
        channel: channel(row)?,
        address: row.try_get("address")?,
        webhook_id: row.try_get("webhook_id")?,
        subscription_id: row.try_get("subscription_id")?,
        name: row.try_get("name")?,
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Queued),
        attempts: row.try_get("attempts")?,
        queued_at: Timestamp::from_ticks(row.try_get("queued_at")?),
        claim: row.try_get("claimed_by")?,
    })
}

/// Statements that write together (see [`Store::writes`]).
pub(super) struct Writes<'s> {
    store: &'s Store,
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
}

impl Writes<'_> {
    pub(super) async fn execute<'q>(
        &mut self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<(), StoreError> {
        match self.tx.as_mut() {
            Some(tx) => q.execute(&mut **tx).await?,
            None => q.execute(&self.store.writer).await?,
        };
        Ok(())
    }

    pub(super) async fn commit(self) -> Result<(), StoreError> {
        if let Some(tx) = self.tx {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl Store {
    /// A write of `statements` statements: one commits on its own (no round trips for `BEGIN`
    /// and `COMMIT`: the outbox's batches of outcomes and of link tokens are one statement
    /// each), several in one transaction.
    pub(super) async fn writes(&self, statements: usize) -> Result<Writes<'_>, StoreError> {
        let tx = match statements > 1 {
            true => Some(self.write_tx().await?),
            false => None,
        };
        Ok(Writes { store: self, tx })
    }
}

/// Parameters per row of [`Store::record_outcomes`]'s `VALUES` list.
const OUTCOME_PARAMS: usize = 7;
/// Rows per outcome statement (well under both engines' parameter limits).
const OUTCOME_CHUNK: usize = 500;

impl Store {
    /// Does the ticket exist (or did it: deleted tickets keep their notifications)?
    pub async fn ticket_ever_existed(&self, ticket_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
            .bind(ticket_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// The messages of a ticket, in the order they were queued (streamed: a ticket may have
    /// 100,000 recipients per event).
    pub fn ticket_notifications(
        &self,
        ticket_id: i64,
    ) -> BoxStream<'static, Result<Notification, StoreError>> {
        let pool = self.pool.clone();
        let backend = self.backend();
        Box::pin(async_stream::try_stream! {
            let sql = format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications n \
                 JOIN ticket_events e ON e.id = n.event_id \
                 WHERE n.ticket_id = $1 ORDER BY n.id"
            );
            let mut rows = sqlx::query(&sql).bind(ticket_id).fetch(&pool).map_err(StoreError::from);
            // PostgreSQL: with the recipients of lists (queued, cancelled or sent from the
            // list), in one order of ids (both come in the order of their ids). A recipient
            // met in both is shown by its row, which is newer, and shown once; one whose row
            // came after the rows were read is shown by its list.
            let mut listed = match backend {
                Backend::Postgres => Some(super::pg_lists::recipients(pool.clone(), ticket_id)),
                Backend::Sqlite => None,
            };
            let mut next_row = rows.try_next().await?;
            let mut next_listed = match listed.as_mut() {
                Some(listed) => listed.try_next().await?,
                None => None,
            };
            loop {
                let listed_first = match (&next_row, &next_listed) {
                    (None, None) => break,
                    (Some(_), None) => false,
                    (None, Some(_)) => true,
                    (Some(r), Some(l)) => {
                        let (r, l) = (r.try_get::<i64, _>("id")?, l.try_get::<i64, _>("id")?);
                        if l == r {
                            if let Some(listed) = listed.as_mut() {
                                next_listed = listed.try_next().await?;
                            }
                            continue;
                        }
                        l < r
                    }
                };
                if listed_first {
                    if let Some(row) = next_listed.take() {
                        yield notification(&row)?;
                    }
                    if let Some(listed) = listed.as_mut() {
                        next_listed = listed.try_next().await?;
                    }
                } else {
                    if let Some(row) = next_row.take() {
                        yield notification(&row)?;
                    }
                    next_row = rows.try_next().await?;
                }
            }
        })
    }

    /// How many messages are in each state, overall or for one ticket.
    pub async fn delivery_counts(
        &self,
        ticket_id: Option<i64>,
    ) -> Result<DeliveryCounts, StoreError> {
        let mut total = DeliveryCounts::default();
        for (_, counts) in self.delivery_counts_by_channel(ticket_id).await? {
            total.merge(&counts);
        }
        Ok(total)
    }

    /// How many messages of each channel are in each state, overall or for one ticket (the
    /// channels that have messages, in [`Channel::ALL`]'s order).
    pub async fn delivery_counts_by_channel(
        &self,
        ticket_id: Option<i64>,
    ) -> Result<Vec<(Channel, DeliveryCounts)>, StoreError> {
        let condition = match ticket_id {
            Some(_) => "ticket_id = $1",
            None => "TRUE",
        };
        let mut sql = format!(
            "SELECT channel, state, COUNT(*) AS n FROM notifications WHERE {condition} \
             GROUP BY channel, state"
        );
        if self.backend() == Backend::Postgres {
            sql = format!(
                "{sql} UNION ALL SELECT channel, state, n FROM ({}) l",
                super::pg_lists::counts(condition)
            );
        }
        let mut q = sqlx::query_as::<_, (String, String, i64)>(&sql);
        if let Some(id) = ticket_id {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut by_channel: std::collections::BTreeMap<Channel, DeliveryCounts> =
            Default::default();
        for (channel, state, n) in rows {
            if let (Some(channel), Some(state)) =
                (Channel::parse(&channel), DeliveryState::parse(&state))
            {
                by_channel.entry(channel).or_default().add(state, n);
            }
        }
        Ok(by_channel.into_iter().collect())
    }

    /// What the messages of these events say.
    pub async fn event_contents(&self, event_ids: &[i64]) -> Result<Vec<EventContent>, StoreError> {
        self.stored_contents(event_ids)
            .await?
            .into_iter()
            .map(|(id, stored)| stored.into_content(id))
            .collect()
    }

    /// The stored contents of these events, with their ids.
    async fn stored_contents(
        &self,
        event_ids: &[i64],
    ) -> Result<Vec<(i64, StoredContent)>, StoreError> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT event_id, content FROM notification_events WHERE event_id IN ({})",
            self.backend().ids_in(1)
        );
        sqlx::query_as::<_, (i64, String)>(&sql)
            .bind(super::ids_param(event_ids))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id, json)| {
                let stored = serde_json::from_str::<StoredContent>(&json)
                    .map_err(|e| StoreError::Config(format!("event {id} content: {e}")))?;
                Ok((id, stored))
            })
            .collect()
    }

    /// The tickets of these events as they were at each event, by event id (the webhooks'
    /// `json` shows one as the API does).
    pub async fn event_tickets(
        &self,
        event_ids: &[i64],
    ) -> Result<HashMap<i64, Ticket>, StoreError> {
        Ok(self
            .stored_contents(event_ids)
            .await?
            .into_iter()
            .map(|(id, stored)| (id, stored.ticket()))
            .collect())
    }

    /// Claims up to `limit` due messages of `channel` under the token `claim` (new for every
    /// claim: see the module's note) until `lease_until`. Several workers (and instances, on
    /// PostgreSQL) never claim the same row at once. On PostgreSQL an email claim that finds
    /// no row due takes one recipient list whole (the batch size of the instance that queued
    /// it, which may differ from `limit`).
    pub async fn claim_due(
        &self,
        channel: Channel,
        claim: i64,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        if let Some(outbox) = self.engine.sqlite_outbox() {
            return outbox
                .run(move |conn| {
                    super::sqlite_outbox::claim(conn, channel, claim, now, lease_until, limit)
                })
                .await;
        }
        if let Some(frontiers) = self.engine.claim_frontiers() {
            return super::pg_claims::claim(
                &self.writer,
                frontiers,
                channel,
                claim,
                now,
                lease_until,
                limit,
            )
            .await;
        }
        // SQLite in memory (no connection of the outbox's own): its one connection writes.
        let sql = format!(
            "WITH picked AS MATERIALIZED (SELECT id FROM notifications \
               WHERE channel = $5 AND state IN ('queued', 'retrying') AND next_attempt_at <= $3 \
               ORDER BY next_attempt_at, id LIMIT $4) \
             UPDATE notifications SET claimed_by = $1, next_attempt_at = $2 {} \
             RETURNING notifications.id, event_id, ticket_id, customer_id, channel, address, \
               webhook_id, name, state, attempts, queued_at, subscription_id, claimed_by",
            Backend::Sqlite.update_picked("picked")
        );
        let rows = sqlx::query(&sql)
            .bind(claim)
            .bind(lease_until.ticks())
            .bind(now.ticks())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(channel.as_str())
            .fetch_all(&self.writer)
            .await?;
        let mut claimed = rows.iter().map(claimed).collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    /// Extends the leases of `claims` to `until` (their rows still to deliver). A claim whose
    /// rows another claim has taken meanwhile holds nothing by it.
    ///
    /// PostgreSQL: one row per claim in `notification_leases` (the messages are not touched,
    /// see the migration `heap_only_claims`); leases already run out are deleted on the way.
    /// SQLite: the held rows' `next_attempt_at`, on the one connection that writes.
    pub async fn renew_claims(&self, claims: &[i64], until: Timestamp) -> Result<(), StoreError> {
        if claims.is_empty() {
            return Ok(());
        }
        if let Some(outbox) = self.engine.sqlite_outbox() {
            let claims = claims.to_vec();
            return outbox
                .run(move |conn| super::sqlite_outbox::renew_claims(conn, &claims, until))
                .await
                .map(drop);
        }
        // The tokens are integers of Herald's own, a few: written into the statement, which is
        // not kept prepared (it changes with every set of claims).
        let tokens = claims
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let sql = match self.backend() {
            Backend::Postgres => {
                let rows = claims
                    .iter()
                    .map(|claim| format!("({claim}, $1)"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "WITH gone AS (DELETE FROM notification_leases \
                       WHERE until <= $2 AND claim NOT IN ({tokens})) \
                     INSERT INTO notification_leases (claim, until) VALUES {rows} \
                     ON CONFLICT (claim) DO UPDATE \
                       SET until = GREATEST(notification_leases.until, excluded.until)"
                )
            }
            Backend::Sqlite => format!(
                "WITH held AS MATERIALIZED (SELECT id FROM notifications \
                   WHERE claimed_by IN ({tokens}) AND state IN ('queued', 'retrying')) \
                 UPDATE notifications SET next_attempt_at = $1 {}",
                Backend::Sqlite.update_picked("held")
            ),
        };
        let mut q = sqlx::query(&sql).persistent(false).bind(until.ticks());
        if self.backend() == Backend::Postgres {
            q = q.bind(self.now().ticks());
        }
        q.execute(&self.writer).await?;
        Ok(())
    }

    /// Records what happened to claimed messages, many per statement, and releases their
    /// claims. Rows no longer held under the claim they were taken with (its lease ran out and
    /// another worker took them) are left to that worker. A message cancelled meanwhile stays
    /// cancelled unless it was in fact sent (or delivered).
    pub async fn record_outcomes(
        &self,
        at: Timestamp,
        outcomes: &[(Claimed, Outcome)],
    ) -> Result<(), StoreError> {
        if let Some(outbox) = self.engine.sqlite_outbox() {
            let rows: Vec<_> = outcomes
                .iter()
                .map(|(message, outcome)| OutcomeRow::of(message, outcome, at))
                .collect();
            return outbox
                .run(move |conn| super::sqlite_outbox::record_outcomes(conn, at, &rows))
                .await;
        }
        // PostgreSQL: the outcomes of the recipients of lists are written with their lists
        // (see `pg_lists`); those of them that were rows already (retried, or released
        // before) are updated as rows.
        let listed: Vec<_> = outcomes
            .iter()
            .filter(|(m, _)| super::pg_lists::is_listed(m.id))
            .collect();
        let written = match listed.is_empty() {
            true => Default::default(),
            false => super::pg_lists::record_outcomes(&self.writer, at, &listed).await?,
        };
        let rows: Vec<_> = outcomes
            .iter()
            .filter(|(m, _)| !written.contains(&m.id))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let param = |n: usize| self.backend().param(n);
        let mut writes = self.writes(rows.len().div_ceil(OUTCOME_CHUNK)).await?;
        for chunk in rows.chunks(OUTCOME_CHUNK) {
            let values = (0..chunk.len())
                .map(|row| {
                    let first = 1 + row * OUTCOME_PARAMS;
                    let row: Vec<String> = (first..first + OUTCOME_PARAMS).map(param).collect();
                    format!("({})", row.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ");
            // PostgreSQL: the rows locked first, in the order of their ids (as a renewal locks
            // them), so the two never deadlock; both the lock and the update find the rows by
            // one array of ids matched by the primary key (as `update_picked`): joined with
            // the values, the planner scanned the whole table for each batch's outcomes
            // (pg_stat_statements: 48 ms per 250 outcomes with 100,000 queued).
            let lock = match self.backend().for_update() {
                "" => String::new(),
                for_update => format!(
                    "WITH v AS (VALUES {values}), held AS MATERIALIZED (SELECT id \
                       FROM notifications WHERE id = ANY(ARRAY(SELECT column1 FROM v)) \
                       ORDER BY id{for_update}) "
                ),
            };
            let (from, held) = if lock.is_empty() {
                (format!("(VALUES {values}) AS v"), "")
            } else {
                (
                    "v".to_owned(),
                    " AND notifications.id = ANY(ARRAY(SELECT id FROM held))",
                )
            };
            // PostgreSQL: the lease is in a column of its own (see `claim_due`).
            let release = match self.backend() {
                Backend::Sqlite => "",
                Backend::Postgres => ", lease_until = NULL",
            };
            let sql = format!(
                "{lock}UPDATE notifications SET \
                   state = CASE WHEN notifications.state = 'cancelled' \
                     AND v.column2 NOT IN ('sent', 'delivered') \
                     THEN 'cancelled' ELSE v.column2 END, \
                   attempts = notifications.attempts + v.column3, \
                   reply = CASE WHEN v.column3 = 1 THEN v.column4 ELSE notifications.reply END, \
                   next_attempt_at = CASE WHEN notifications.state = 'cancelled' \
                     OR v.column2 NOT IN ('queued', 'retrying') THEN NULL ELSE v.column5 END, \
                   last_attempt_at = CASE WHEN v.column3 = 1 THEN v.column6 \
                     ELSE notifications.last_attempt_at END, \
                   sent_at = CASE WHEN v.column2 IN ('sent', 'delivered') THEN v.column6 \
                     ELSE notifications.sent_at END, \
                   claimed_by = NULL{release} \
                 FROM {from} \
                 WHERE notifications.id = v.column1 AND notifications.claimed_by = v.column7{held}"
            );
            let mut q = sqlx::query(&sql);
            for (message, outcome) in chunk.iter().copied() {
                let row = OutcomeRow::of(message, outcome, at);
                q = q
                    .bind(row.id)
                    .bind(row.state)
                    .bind(row.attempted)
                    .bind(row.text)
                    .bind(row.next)
                    .bind(at.ticks())
                    .bind(row.claim);
            }
            writes.execute(q).await?;
        }
        writes.commit().await
    }
}
