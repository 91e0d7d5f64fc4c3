//! The planned work the public calendar feed shows: tickets planned ahead of their start
//! (`StartTime` later than their creation) on at least one public service, with the public
//! services' names and what the calendar event needs (its `SEQUENCE`, the time of its last event).

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::ticket::{EventKind, TicketTimes};
use crate::domain::Timestamp;

/// The most events one feed holds (the nearest first).
const FEED_LIMIT: i64 = 500;

/// One piece of planned work as the public sees it.
#[derive(Debug, Clone)]
pub struct PublicPlannedWork {
    pub ticket_id: i64,
    pub description: String,
    pub times: TicketTimes,
    /// The names of its public services (never a private one), by name.
    pub services: Vec<String>,
    /// How many of its recorded events changed it (see [`crate::domain::calendar::sequence`]).
    pub changes: u32,
    /// When its latest event happened (the calendar's `DTSTAMP`).
    pub last_event: Timestamp,
}

impl Store {
    /// The planned work on public services (on `service` only, when given) that starts at
    /// `since` or later, nearest first. Deleted tickets are left out.
    pub async fn public_planned_work(
        &self,
        service: Option<i64>,
        since: Timestamp,
    ) -> Result<Vec<PublicPlannedWork>, StoreError> {
        let kinds = [
            EventKind::Created,
            EventKind::Updated,
            EventKind::Closed,
            EventKind::Reopened,
        ]
        .map(|k| format!("'{}'", k.as_str()))
        .join(", ");
        let sql = format!(
            "SELECT t.id, t.description, t.start_time, t.end_time, t.expected_resolution_time, \
                    t.next_update_time, t.closed_time, t.reopened_time, t.created_time, \
                    (SELECT COUNT(*) FROM ticket_events e \
                      WHERE e.ticket_id = t.id AND e.kind IN ({kinds})) AS changes, \
                    (SELECT MAX(e.at) FROM ticket_events e WHERE e.ticket_id = t.id) AS last_event \
               FROM tickets t \
              WHERE t.deleted_at IS NULL AND t.start_time IS NOT NULL \
                AND t.start_time > t.created_time AND t.start_time >= $1 \
                AND EXISTS (SELECT 1 FROM ticket_services ts \
                              JOIN services s ON s.id = ts.service_id \
                             WHERE ts.ticket_id = t.id AND s.is_public = 1 \
                               AND ($2 = 0 OR s.id = $2)) \
              ORDER BY t.start_time, t.id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(since.ticks())
            .bind(service.unwrap_or(0))
            .bind(FEED_LIMIT)
            .fetch_all(&self.pool)
            .await?;
        let time =
            |row: &sqlx::any::AnyRow, column: &str| -> Result<Option<Timestamp>, StoreError> {
                Ok(row
                    .try_get::<Option<i64>, _>(column)?
                    .map(Timestamp::from_ticks))
            };
        let mut work = Vec::with_capacity(rows.len());
        for row in &rows {
            let created: i64 = row.try_get("created_time")?;
            work.push(PublicPlannedWork {
                ticket_id: row.try_get("id")?,
                description: row.try_get("description")?,
                times: TicketTimes {
                    start_time: time(row, "start_time")?,
                    end_time: time(row, "end_time")?,
                    expected_resolution_time: time(row, "expected_resolution_time")?,
                    next_update_time: time(row, "next_update_time")?,
                    closed_time: time(row, "closed_time")?,
                    reopened_time: time(row, "reopened_time")?,
                },
                services: Vec::new(),
                changes: u32::try_from(row.try_get::<i64, _>("changes")?).unwrap_or(u32::MAX),
                last_event: time(row, "last_event")?.unwrap_or(Timestamp::from_ticks(created)),
            });
        }
        if work.is_empty() {
            return Ok(work);
        }
        let ids: Vec<i64> = work.iter().map(|w| w.ticket_id).collect();
        let sql = format!(
            "SELECT ts.ticket_id, s.name FROM ticket_services ts \
               JOIN services s ON s.id = ts.service_id \
              WHERE s.is_public = 1 AND ts.ticket_id IN ({}) ORDER BY s.name, s.id",
            self.backend().ids_in(1)
        );
        let mut names: HashMap<i64, Vec<String>> = HashMap::new();
        for row in sqlx::query(&sql)
            .bind(super::ids_param(&ids))
            .fetch_all(&self.pool)
            .await?
        {
            names
                .entry(row.try_get("ticket_id")?)
                .or_default()
                .push(row.try_get("name")?);
        }
        for w in &mut work {
            w.services = names.remove(&w.ticket_id).unwrap_or_default();
        }
        Ok(work)
    }
}
