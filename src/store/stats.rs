//! What `GET /metrics` reads from the database when scraped.

use sqlx::Row;

use super::{Backend, Store, StoreError};
use crate::domain::Timestamp;

impl Store {
    /// Messages by channel and state.
    pub async fn message_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        const ROWS: &str =
            "SELECT channel, state, count(*) AS n FROM notifications GROUP BY channel, state";
        // PostgreSQL: with the recipients of lists without a row (see `pg_lists`).
        let sql = match self.backend() {
            Backend::Postgres => format!(
                "SELECT channel, state, SUM(n)::BIGINT AS n FROM ({ROWS} \
                 UNION ALL SELECT channel, state, n FROM ({}) l) c GROUP BY channel, state",
                super::pg_lists::counts("TRUE")
            ),
            Backend::Sqlite => ROWS.to_owned(),
        };
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("channel")?, r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// When the oldest message still to deliver was queued.
    pub async fn oldest_queued_at(&self) -> Result<Option<Timestamp>, StoreError> {
        const ROWS: &str =
            "SELECT min(queued_at) FROM notifications WHERE state IN ('queued', 'retrying')";
        let sql = match self.backend() {
            Backend::Postgres => format!(
                "SELECT LEAST(({ROWS}), ({}))",
                super::pg_lists::OLDEST_QUEUED
            ),
            Backend::Sqlite => ROWS.to_owned(),
        };
        let at: Option<i64> = sqlx::query_scalar(&sql).fetch_one(&self.pool).await?;
        Ok(at.map(Timestamp::from_ticks))
    }

    /// When the most overdue pending scheduled job was due (none due by `now`: `None`).
    pub async fn oldest_due_job(&self, now: Timestamp) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT min(due_at) FROM scheduled_jobs WHERE state = 'pending' AND due_at <= $1",
        )
        .bind(now.ticks())
        .fetch_one(&self.pool)
        .await?;
        Ok(at.map(Timestamp::from_ticks))
    }

    /// (pool, open, idle, most) of the reader and, on SQLite, the writer pool.
    pub fn pool_use(&self) -> Vec<(&'static str, u32, u32, u32)> {
        let of = |name, pool: &sqlx::AnyPool| {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            (
                name,
                pool.size(),
                idle,
                pool.options().get_max_connections(),
            )
        };
        let mut pools = vec![of("read", &self.pool)];
        if self.backend() == super::Backend::Sqlite {
            pools.push(of("write", &self.writer));
        }
        pools
    }
}
