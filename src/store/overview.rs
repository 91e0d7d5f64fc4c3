//! The queries behind the GUI's list pages: tickets with the open ones first and newest first,
//! counts for paging, and how many customers follow each service.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use futures::TryStreamExt;
use sqlx::Row;

use super::customers::CustomerFilter;
use super::ticket_rows::{select, ticket_head};
use super::{flag, rows, Backend, Page, Store, StoreError};
use crate::domain::Ticket;
use crate::domain::{Channel, DeliveryCounts, DeliveryState};

/// Which tickets a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TicketState {
    #[default]
    All,
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketListFilter {
    pub state: TicketState,
    pub service_id: Option<i64>,
}

impl TicketListFilter {
    /// The WHERE clause (parameters from `$first` on) and the values to bind.
    fn clause(&self, first: usize) -> (String, Vec<i64>) {
        let mut wheres = vec!["deleted_at IS NULL".to_owned()];
        let mut binds = Vec::new();
        let mut next = first;
        match self.state {
            TicketState::All => {}
            TicketState::Open | TicketState::Closed => {
                wheres.push(format!("is_closed = ${next}"));
                binds.push(flag(self.state == TicketState::Closed));
                next += 1;
            }
        }
        if let Some(service) = self.service_id {
            wheres.push(format!(
                "id IN (SELECT ticket_id FROM ticket_services WHERE service_id = ${next})"
            ));
            binds.push(service);
        }
        (wheres.join(" AND "), binds)
    }
}

impl Store {
    /// One page of tickets: open ones first, newest first within each group.
    pub async fn ticket_overview(
        &self,
        filter: TicketListFilter,
        page: Page,
    ) -> Result<Vec<Ticket>, StoreError> {
        let (clause, binds) = filter.clause(3);
        let sql = format!(
            "SELECT id FROM tickets WHERE {clause} ORDER BY is_closed, id DESC LIMIT $1 OFFSET $2"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql)
            .bind(page.limit())
            .bind(page.offset());
        for b in binds {
            q = q.bind(b);
        }
        let ids: Vec<i64> = q.fetch_all(&self.pool).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = select(&format!(
            "(SELECT * FROM tickets WHERE id IN ({}))",
            self.backend().ids_in(1)
        ));
        let q = sqlx::query(&sql).bind(super::ids_param(&ids));
        let mut by_id: HashMap<i64, Ticket> = HashMap::with_capacity(ids.len());
        let mut rows = q.fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let id: i64 = row.try_get("id")?;
            let ticket = match by_id.entry(id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(ticket_head(&row)?),
            };
            if let Some(s) = rows::joined_service(&row)? {
                ticket.services.push(s);
            }
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    pub async fn count_tickets(&self, filter: TicketListFilter) -> Result<i64, StoreError> {
        let (clause, binds) = filter.clause(1);
        let sql = format!("SELECT COUNT(*) FROM tickets WHERE {clause}");
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for b in binds {
            q = q.bind(b);
        }
        Ok(q.fetch_one(&self.pool).await?)
    }

    pub async fn count_customers(&self, filter: &CustomerFilter) -> Result<i64, StoreError> {
        let (clause, pattern) = filter.clause(1);
        let sql = format!("SELECT COUNT(*) FROM customers {clause}");
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        if let Some(p) = pattern {
            q = q.bind(p);
        }
        if let Some(id) = filter.service_id {
            q = q.bind(id);
        }
        Ok(q.fetch_one(&self.pool).await?)
    }

    /// Service id → how many customers follow it (services without followers are absent).
    pub async fn follower_counts(&self) -> Result<HashMap<i64, i64>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT service_id, COUNT(*) FROM customer_services GROUP BY service_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Ticket id → how many of its messages are in each state, for a page of tickets.
    pub async fn delivery_counts_by_ticket(
        &self,
        ticket_ids: &[i64],
    ) -> Result<HashMap<i64, DeliveryCounts>, StoreError> {
        let mut counts: HashMap<i64, DeliveryCounts> = HashMap::new();
        if ticket_ids.is_empty() {
            return Ok(counts);
        }
        let sql = format!(
            "SELECT ticket_id, state, COUNT(*) AS n FROM notifications WHERE ticket_id IN ({}) \
             GROUP BY ticket_id, state{}",
            self.backend().ids_in(1),
            self.listed_counts("SELECT ticket_id, state, n")
        );
        let q = sqlx::query_as::<_, (i64, String, i64)>(&sql).bind(super::ids_param(ticket_ids));
        for (ticket, state, n) in q.fetch_all(&self.pool).await? {
            if let Some(state) = DeliveryState::parse(&state) {
                counts.entry(ticket).or_default().add(state, n);
            }
        }
        Ok(counts)
    }

    /// Ticket id → its channels that have messages (in [`Channel::ALL`]'s order) and how many
    /// of each channel's messages are in each state, for a page of tickets.
    pub async fn delivery_counts_by_ticket_channel(
        &self,
        ticket_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<(Channel, DeliveryCounts)>>, StoreError> {
        let mut counts: HashMap<i64, Vec<(Channel, DeliveryCounts)>> = HashMap::new();
        if ticket_ids.is_empty() {
            return Ok(counts);
        }
        let sql = format!(
            "SELECT ticket_id, channel, state, COUNT(*) AS n FROM notifications \
             WHERE ticket_id IN ({}) GROUP BY ticket_id, channel, state{}",
            self.backend().ids_in(1),
            self.listed_counts("SELECT ticket_id, channel, state, n")
        );
        let q = sqlx::query_as::<_, (i64, String, String, i64)>(&sql)
            .bind(super::ids_param(ticket_ids));
        for (ticket, channel, state, n) in q.fetch_all(&self.pool).await? {
            let (Some(channel), Some(state)) =
                (Channel::parse(&channel), DeliveryState::parse(&state))
            else {
                continue;
            };
            let channels = counts.entry(ticket).or_default();
            let at = match channels.iter().position(|(c, _)| *c == channel) {
                Some(at) => at,
                None => {
                    channels.push((channel, DeliveryCounts::default()));
                    channels.len() - 1
                }
            };
            channels[at].1.add(state, n);
        }
        for channels in counts.values_mut() {
            channels.sort_by_key(|(c, _)| *c);
        }
        Ok(counts)
    }

    /// PostgreSQL: `UNION ALL` the same counts of the lists' recipients without a row (see
    /// [`super::pg_lists`]) for the tickets of parameter `$1`, as `select` (of `ticket_id`,
    /// `channel`, `state`, `n`).
    fn listed_counts(&self, select: &str) -> String {
        match self.backend() {
            Backend::Postgres => {
                let condition = format!("ticket_id IN ({})", self.backend().ids_in(1));
                format!(
                    " UNION ALL {select} FROM ({}) l",
                    super::pg_lists::counts(&condition)
                )
            }
            Backend::Sqlite => String::new(),
        }
    }
}
