//! What the public pages read: the public services, the tickets about them that are open or
//! were resolved lately, one such ticket with its history, and the change counter that tells
//! whether a page rendered earlier is still current (bumped by triggers, see the migration
//! `public_version`).
//!
//! A ticket is public when it is about at least one live public service; it is shown with its
//! public services only. Private services and the tickets only about them never leave here.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use sqlx::Row;

use super::ticket_rows::{select, ticket_head};
use super::{rows, Store, StoreError};
use crate::domain::ticket::EventKind;
use crate::domain::{Service, Ticket, TicketEvent, Timestamp};

/// The tickets about a public service: the condition on `tickets` written once.
const PUBLIC_TICKET: &str = "deleted_at IS NULL AND id IN (SELECT ts.ticket_id FROM \
     ticket_services ts JOIN services s ON s.id = ts.service_id \
     WHERE s.is_public = 1 AND s.deleted_at IS NULL)";

/// A public ticket and when it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicTicket {
    pub ticket: Ticket,
    /// The time of its latest public event (created, updated, closed, reopened; its creation
    /// when none is recorded).
    pub updated: Timestamp,
}

/// The events people see (reminders and overdue notices are Herald's bookkeeping).
pub const PUBLIC_EVENTS: [EventKind; 4] = [
    EventKind::Created,
    EventKind::Updated,
    EventKind::Closed,
    EventKind::Reopened,
];

/// Everything the status page and the feeds show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicBoard {
    /// The live public services, by name.
    pub services: Vec<Service>,
    /// Open tickets and those closed since the time asked for, newest first, each with its
    /// public services only.
    pub tickets: Vec<PublicTicket>,
}

impl Store {
    /// The counter of changes to tickets and services: when it has not moved, nothing the
    /// public pages show has changed (but the clock).
    pub async fn public_version(&self) -> Result<i64, StoreError> {
        Ok(
            // The sum of the stripes (one row on SQLite, 64 on PostgreSQL).
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM public_version",
            )
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// The public services and the public tickets open now or closed at or after
    /// `closed_since`.
    pub async fn public_board(&self, closed_since: Timestamp) -> Result<PublicBoard, StoreError> {
        let services = self.public_services().await?;
        let public: HashSet<i64> = services.iter().map(|s| s.id).collect();
        let sql = select(&format!(
            "(SELECT * FROM tickets WHERE (is_closed = 0 OR closed_time >= $1) AND {PUBLIC_TICKET})"
        ));
        let mut by_id: HashMap<i64, Ticket> = HashMap::new();
        let mut order = Vec::new();
        let mut rows = sqlx::query(&sql)
            .bind(closed_since.ticks())
            .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let id: i64 = row.try_get("id")?;
            let ticket = match by_id.entry(id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    order.push(id);
                    e.insert(ticket_head(&row)?)
                }
            };
            if let Some(s) = rows::joined_service(&row)? {
                if public.contains(&s.id) {
                    ticket.services.push(s);
                }
            }
        }
        drop(rows);
        let mut updated = self.last_public_events(&order).await?;
        let mut tickets: Vec<PublicTicket> = order
            .iter()
            .filter_map(|id| by_id.remove(id))
            .filter(|t| !t.is_closed() || t.times.closed_time >= Some(closed_since))
            .map(|ticket| PublicTicket {
                updated: updated.remove(&ticket.id).unwrap_or(ticket.created_time),
                ticket,
            })
            .collect();
        tickets.sort_by_key(|t| std::cmp::Reverse(t.ticket.id));
        Ok(PublicBoard { services, tickets })
    }

    /// A public ticket with its public services and its events, oldest first; `NotFound` for
    /// a ticket that is not public (or does not exist: the two look the same).
    pub async fn public_ticket(
        &self,
        id: i64,
    ) -> Result<(PublicTicket, Vec<TicketEvent>), StoreError> {
        let public: HashSet<i64> = self.public_services().await?.iter().map(|s| s.id).collect();
        let mut ticket = self.get_ticket(id).await?;
        ticket.services.retain(|s| public.contains(&s.id));
        if ticket.services.is_empty() {
            return Err(StoreError::NotFound);
        }
        let events = self.ticket_events(id).await?;
        let updated = events
            .iter()
            .filter(|e| PUBLIC_EVENTS.contains(&e.kind))
            .map(|e| e.at)
            .max()
            .unwrap_or(ticket.created_time);
        Ok((PublicTicket { ticket, updated }, events))
    }

    async fn public_services(&self) -> Result<Vec<Service>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, description, is_public FROM services \
             WHERE is_public = 1 AND deleted_at IS NULL ORDER BY lower(name), id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| rows::service(row, ""))
            .collect::<Result<_, _>>()?)
    }

    /// Per ticket: the time of its latest public event.
    async fn last_public_events(&self, ids: &[i64]) -> Result<HashMap<i64, Timestamp>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let kinds = PUBLIC_EVENTS
            .map(|k| format!("'{}'", k.as_str()))
            .join(", ");
        let sql = format!(
            "SELECT ticket_id, MAX(at) FROM ticket_events WHERE ticket_id IN ({}) \
             AND kind IN ({kinds}) GROUP BY ticket_id",
            self.backend().ids_in(1)
        );
        let rows = sqlx::query_as::<_, (i64, i64)>(&sql)
            .bind(super::ids_param(ids))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at)| (id, Timestamp::from_ticks(at)))
            .collect())
    }
}
