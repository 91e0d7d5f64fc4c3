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
//!
//! [`insert_many`] writes the creations of one group commit's batch the same way with one
//! statement, all or nothing (see [`super::group`]).

use sqlx::{AnyConnection, Row};

use super::history::changes_json;
use super::rows;
use super::services::no_such_services;
use super::{flag, Backend, StoreError};
use crate::domain::audit::{changed_values, AuditAction, Audited};
use crate::domain::ticket::{EventKind, Lifecycle};
use crate::domain::{diff, NewTicket, OperatorRef, Ticket, TicketChange, TicketEvent, Timestamp};

/// What a creation writes besides the ticket row's own columns, built in Rust from the ticket
/// as it will be (none of it depends on the ticket's id nor on the services' names).
struct Planned {
    /// The requested services, sorted, without duplicates.
    ids: Vec<i64>,
    /// The ticket as it will read, but for its id and its services (filled in from the
    /// statement's answer).
    ticket: Ticket,
    changes: Vec<crate::domain::FieldChange>,
    audit_new: Option<String>,
    actor: String,
}

fn plan(
    new: &NewTicket,
    change: &TicketChange,
    operator: Option<OperatorRef>,
    now: Timestamp,
) -> Planned {
    let mut ids = new.services.clone();
    ids.sort_unstable();
    ids.dedup();
    let ticket = Ticket {
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
    Planned {
        ids,
        ticket,
        changes,
        audit_new: audit_new.map(|v| v.to_string()),
        actor: change.actor.label(),
    }
}

impl Planned {
    /// The ticket and its event once written as `ticket_id` and `event_id`.
    fn written(
        self,
        ticket_id: i64,
        event_id: i64,
        change: &TicketChange,
    ) -> (Ticket, TicketEvent) {
        let mut ticket = self.ticket;
        ticket.id = ticket_id;
        let event = TicketEvent {
            id: event_id,
            ticket_id,
            kind: EventKind::Created,
            at: ticket.created_time,
            actor: self.actor,
            actor_operator_id: change.actor.operator_id(),
            notify: change.notify,
            changes: self.changes,
        };
        (ticket, event)
    }
}

fn ticks(ts: Option<Timestamp>) -> Option<i64> {
    ts.map(Timestamp::ticks)
}

/// Writes the ticket, its services, its `created` event and its audit entry with one
/// statement, inside the caller's transaction. `operator` is the checked operator.
pub(super) async fn insert(
    conn: &mut AnyConnection,
    new: &NewTicket,
    change: &TicketChange,
    operator: Option<OperatorRef>,
    now: Timestamp,
) -> Result<(Ticket, TicketEvent), StoreError> {
    let mut planned = plan(new, change, operator, now);
    let who = change.who();
    let t = &new.times;
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
        .bind(super::ids_param(&planned.ids))
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
        .bind(i64::try_from(planned.ids.len()).unwrap_or(i64::MAX))
        .bind(EventKind::Created.as_str())
        .bind(change.actor.operator_id())
        .bind(&planned.actor)
        .bind(flag(change.notify))
        .bind(changes_json(&planned.changes))
        .bind(Timestamp::now().ticks())
        .bind(Ticket::ENTITY.name())
        .bind(AuditAction::Created.name())
        .bind(who.actor.label())
        .bind(who.address.map(|a| a.to_string()))
        .bind(planned.audit_new.as_deref())
        .fetch_all(&mut *conn)
        .await?;
    let mut ids_written = None;
    for row in &rows {
        ids_written = row
            .try_get::<Option<i64>, _>("ticket_id")?
            .zip(row.try_get::<Option<i64>, _>("event_id")?);
        if let Some(service) = rows::joined_service(row)? {
            planned.ticket.services.push(service);
        }
    }
    let Some((ticket_id, event_id)) = ids_written else {
        let live: Vec<i64> = planned.ticket.services.iter().map(|s| s.id).collect();
        let missing: Vec<i64> = planned
            .ids
            .into_iter()
            .filter(|id| !live.contains(id))
            .collect();
        return Err(StoreError::invalid("Services", no_such_services(&missing)));
    };
    Ok(planned.written(ticket_id, event_id, change))
}

/// One creation of [`insert_many`]: what [`insert`] takes.
pub(super) struct Input<'a> {
    pub new: &'a NewTicket,
    pub change: &'a TicketChange,
    pub operator: Option<OperatorRef>,
    pub now: Timestamp,
}

/// Writes several creations with one statement, as [`insert`] writes one: every ticket, its
/// services, its event and its audit entry, in the order given. All or nothing: `None` (and
/// nothing written) when one of them names a service that is not live; the caller then
/// writes them one at a time, so that the one at fault gets its own answer.
///
/// The tickets' ids are drawn from their sequence in the statement's first (materialized)
/// part, next to each creation's position, so the answer maps back to the inputs whatever
/// order the rows come in.
pub(super) async fn insert_many(
    conn: &mut AnyConnection,
    inputs: Vec<Input<'_>>,
) -> Result<Option<Vec<(Ticket, TicketEvent)>>, StoreError> {
    let mut all_ids: Vec<i64> = Vec::new();
    let mut planned = Vec::with_capacity(inputs.len());
    let rows: Vec<serde_json::Value> = inputs
        .iter()
        .enumerate()
        .map(|(n, input)| {
            let p = plan(input.new, input.change, input.operator.clone(), input.now);
            let t = &input.new.times;
            let who = input.change.who();
            all_ids.extend_from_slice(&p.ids);
            let row = serde_json::json!({
                "n": n,
                "description": input.new.description.as_str(),
                "start_time": ticks(t.start_time),
                "end_time": ticks(t.end_time),
                "expected_resolution_time": ticks(t.expected_resolution_time),
                "next_update_time": ticks(t.next_update_time),
                "closed_time": ticks(t.closed_time),
                "reopened_time": ticks(t.reopened_time),
                "created_time": input.now.ticks(),
                "operator_id": input.new.operator,
                "is_closed": flag(t.lifecycle() == Lifecycle::Closed),
                "services": p.ids,
                "actor_operator_id": input.change.actor.operator_id(),
                "actor": p.actor,
                "notify": flag(input.change.notify),
                "changes": changes_json(&p.changes),
                "audit_actor": who.actor.label(),
                "client_address": who.address.map(|a| a.to_string()),
                "new_values": p.audit_new,
            });
            planned.push(p);
            row
        })
        .collect();
    all_ids.sort_unstable();
    all_ids.dedup();
    let answer = sqlx::query(INSERT_MANY)
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(super::ids_param(&all_ids))
        .bind(i64::try_from(all_ids.len()).unwrap_or(i64::MAX))
        .bind(EventKind::Created.as_str())
        .bind(Timestamp::now().ticks())
        .bind(Ticket::ENTITY.name())
        .bind(AuditAction::Created.name())
        .fetch_all(&mut *conn)
        .await?;
    let mut written: Vec<Option<(i64, i64)>> = vec![None; inputs.len()];
    for row in &answer {
        let n = usize::try_from(row.try_get::<i64, _>("n")?).unwrap_or(usize::MAX);
        let Some(slot) = written.get_mut(n) else {
            continue;
        };
        *slot = Some((row.try_get("ticket_id")?, row.try_get("event_id")?));
        if let Some(service) = rows::joined_service(row)? {
            planned[n].ticket.services.push(service);
        }
    }
    let mut out = Vec::with_capacity(inputs.len());
    for ((p, input), ids) in planned.into_iter().zip(&inputs).zip(written) {
        let Some((ticket_id, event_id)) = ids else {
            return Ok(None);
        };
        out.push(p.written(ticket_id, event_id, input.change));
    }
    Ok(Some(out))
}

/// [`insert_many`]'s statement. `$1` the creations (a JSON array of objects, `n` each one's
/// position), `$2` the services they name (a JSON array, no duplicates) and `$3` how many,
/// `$4` the event's kind, `$5` the audit entries' time, `$6` and `$7` their entity and action.
const INSERT_MANY: &str = "\
    WITH x AS MATERIALIZED ( \
      SELECT nextval(pg_get_serial_sequence('tickets', 'id')::regclass) AS id, r.* \
      FROM jsonb_to_recordset($1::jsonb) AS r(n bigint, description text, start_time bigint, \
        end_time bigint, expected_resolution_time bigint, next_update_time bigint, \
        closed_time bigint, reopened_time bigint, created_time bigint, operator_id bigint, \
        is_closed bigint, services jsonb, actor_operator_id bigint, actor text, notify bigint, \
        changes text, audit_actor text, client_address text, new_values text)), \
    s AS ( \
      SELECT id, name, description, is_public FROM services \
      WHERE deleted_at IS NULL AND id IN (SELECT jsonb_array_elements_text($2::jsonb)::bigint) \
      ORDER BY id FOR SHARE), \
    t AS ( \
      INSERT INTO tickets (id, description, start_time, end_time, expected_resolution_time, \
        next_update_time, closed_time, reopened_time, created_time, operator_id, is_closed) \
      SELECT id, description, start_time, end_time, expected_resolution_time, \
        next_update_time, closed_time, reopened_time, created_time, operator_id, is_closed \
      FROM x WHERE (SELECT count(*) FROM s) = $3 ORDER BY n RETURNING id), \
    xs AS ( \
      SELECT x.id AS ticket_id, jsonb_array_elements_text(x.services)::bigint AS service_id \
      FROM x), \
    ts AS ( \
      INSERT INTO ticket_services (ticket_id, service_id) \
      SELECT xs.ticket_id, xs.service_id FROM xs JOIN t ON t.id = xs.ticket_id), \
    e AS ( \
      INSERT INTO ticket_events (ticket_id, kind, at, actor_operator_id, actor, notify, \
        changes) \
      SELECT x.id, $4, x.created_time, x.actor_operator_id, x.actor, x.notify, x.changes \
      FROM x JOIN t ON t.id = x.id ORDER BY x.n RETURNING id, ticket_id), \
    a AS ( \
      INSERT INTO audit_log (at, entity, entity_id, action, actor, actor_operator_id, \
        client_address, old_values, new_values) \
      SELECT $5, $6, x.id, $7, x.audit_actor, x.actor_operator_id, x.client_address, NULL, \
        x.new_values \
      FROM x JOIN t ON t.id = x.id ORDER BY x.n) \
    SELECT x.n, e.ticket_id, e.id AS event_id, \
      s.id AS s_id, s.name AS s_name, s.description AS s_description, \
      s.is_public AS s_is_public \
    FROM x JOIN e ON e.ticket_id = x.id \
      LEFT JOIN xs ON xs.ticket_id = x.id LEFT JOIN s ON s.id = xs.service_id \
    ORDER BY x.n, s.id";
