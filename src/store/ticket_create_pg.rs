//! A ticket's creation on PostgreSQL in one statement: the services checked and share-locked,
//! the ticket, its services, its `created` event and its audit entry written by one
//! `WITH … INSERT` (data-modifying common table expressions), where SQLite's path
//! ([`super::tickets`]) runs five statements in its group commit. On PostgreSQL each statement
//! is a round trip and an executor start in the server, and concurrent POSTs spent most of
//! their time there (bench/core.sh's write figure; BENCHMARKS.md).
//!
//! What is written is what the five statements write: the event's changes and the audit
//! entry's values are built in Rust from the ticket as it will be (neither depends on the
//! ticket's id nor on the services' names), and nothing is inserted unless every requested
//! service is live (the statement's own check, under the same `FOR SHARE` lock).

use sqlx::{AnyConnection, Row};

use super::history::changes_json;
use super::rows;
use super::services::no_such_services;
use super::{flag, Backend, StoreError};
use crate::domain::audit::{changed_values, AuditAction, Audited};
use crate::domain::ticket::{EventKind, Lifecycle};
use crate::domain::{diff, NewTicket, OperatorRef, Ticket, TicketChange, TicketEvent, Timestamp};

/// Writes the ticket, its services, its `created` event and its audit entry with one
/// statement, inside the caller's transaction. `operator` is the checked operator.
pub(super) async fn insert(
    conn: &mut AnyConnection,
    new: &NewTicket,
    change: &TicketChange,
    operator: Option<OperatorRef>,
    now: Timestamp,
) -> Result<(Ticket, TicketEvent), StoreError> {
    let mut ids = new.services.clone();
    ids.sort_unstable();
    ids.dedup();
    // The ticket as it will read, but for its id and the services' names and descriptions
    // (filled in from the statement's answer): enough for the event and the audit entry.
    let mut ticket = Ticket {
        id: 0,
        description: new.description.as_str().to_owned(),
        times: new.times,
        created_time: now,
        services: Vec::new(),
        operator,
    };
    let changes = diff(None, &ticket);
    let mut view = ticket.audit_view();
    view.insert("Services", serde_json::json!(ids));
    let (_, audit_new) = changed_values(None, Some(&view)).unwrap_or((None, None));
    let who = change.who();
    let actor = change.actor.label();
    let t = &new.times;
    let ticks = |ts: Option<Timestamp>| ts.map(Timestamp::ticks);
    let sql = format!(
        "WITH s AS ( \
           SELECT id, name, description, is_public FROM services \
           WHERE deleted_at IS NULL AND id IN ({ids}) ORDER BY id FOR SHARE), \
         t AS ( \
           INSERT INTO tickets (description, start_time, end_time, expected_resolution_time, \
             next_update_time, closed_time, reopened_time, created_time, operator_id, is_closed) \
           SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
           WHERE (SELECT count(*) FROM s) = $12 RETURNING id), \
         ts AS ( \
           INSERT INTO ticket_services (ticket_id, service_id) SELECT t.id, s.id FROM t, s), \
         e AS ( \
           INSERT INTO ticket_events (ticket_id, kind, at, actor_operator_id, actor, notify, \
             changes) \
           SELECT t.id, $13, $9, $14, $15, $16, $17 FROM t RETURNING id), \
         a AS ( \
           INSERT INTO audit_log (at, entity, entity_id, action, actor, actor_operator_id, \
             client_address, old_values, new_values) \
           SELECT $18, $19, t.id, $20, $21, $14, $22, NULL, $23 FROM t) \
         SELECT (SELECT id FROM t) AS ticket_id, (SELECT id FROM e) AS event_id, \
           s.id AS s_id, s.name AS s_name, s.description AS s_description, \
           s.is_public AS s_is_public \
         FROM (SELECT 1) AS one LEFT JOIN s ON true ORDER BY s.id",
        ids = Backend::of(conn).ids_in(1),
    );
    let rows = sqlx::query(&sql)
        .bind(super::ids_param(&ids))
        .bind(new.description.as_str())
        .bind(ticks(t.start_time))
        .bind(ticks(t.end_time))
        .bind(ticks(t.expected_resolution_time))
        .bind(ticks(t.next_update_time))
        .bind(ticks(t.closed_time))
        .bind(ticks(t.reopened_time))
        .bind(now.ticks())
        .bind(new.operator)
        .bind(flag(t.lifecycle() == Lifecycle::Closed))
        .bind(i64::try_from(ids.len()).unwrap_or(i64::MAX))
        .bind(EventKind::Created.as_str())
        .bind(change.actor.operator_id())
        .bind(&actor)
        .bind(flag(change.notify))
        .bind(changes_json(&changes))
        .bind(Timestamp::now().ticks())
        .bind(Ticket::ENTITY.name())
        .bind(AuditAction::Created.name())
        .bind(who.actor.label())
        .bind(who.address.map(|a| a.to_string()))
        .bind(audit_new.map(|v| v.to_string()))
        .fetch_all(&mut *conn)
        .await?;
    let mut ids_written = None;
    for row in &rows {
        ids_written = row
            .try_get::<Option<i64>, _>("ticket_id")?
            .zip(row.try_get::<Option<i64>, _>("event_id")?);
        if let Some(service) = rows::joined_service(row)? {
            ticket.services.push(service);
        }
    }
    let Some((ticket_id, event_id)) = ids_written else {
        let live: Vec<i64> = ticket.services.iter().map(|s| s.id).collect();
        let missing: Vec<i64> = ids.into_iter().filter(|id| !live.contains(id)).collect();
        return Err(StoreError::invalid("Services", no_such_services(&missing)));
    };
    ticket.id = ticket_id;
    let event = TicketEvent {
        id: event_id,
        ticket_id,
        kind: EventKind::Created,
        at: now,
        actor,
        actor_operator_id: change.actor.operator_id(),
        notify: change.notify,
        changes,
    };
    Ok((ticket, event))
}
