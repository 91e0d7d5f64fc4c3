//! The delivery workers' writes on SQLite (claims, lease renewals, outcomes, the personal links
//! of a batch, the SMSC's message ids) through
//! rusqlite on one connection of their own, each call one hand-off to a blocking thread.
//!
//! Through sqlx, every statement is a message to sqlx-sqlite's connection thread and back, and
//! every row it returns one more: a claim of 250 messages was some 250 thread wake-ups, an
//! outcome write three round trips (`BEGIN`, `UPDATE`, `COMMIT`), and the SMS fan-out's
//! profile had 40 % of Herald's samples on that thread, half of them task switches. Here a
//! whole claim or outcome write runs on a blocking thread in one go (the commit's `fsync`
//! must not hold a runtime thread).
//!
//! All of the delivery's writes go through this one connection, so they queue for its mutex
//! in turn: a batch's link tokens written through sqlx's writer instead met the claims and
//! outcomes at the file's write lock, where the loser waits in SQLite's busy handler, which
//! sleeps 1, 2, 5, 10 ms… between tries however soon the lock is free again (`perf trace`
//! of a fan-out: a quarter of a second of such sleeps in three, and 5.8 ms per batch of
//! tokens; BENCHMARKS.md, "SQLite delivery of a million, fifth pass").
//!
//! It is a second writer of the file besides sqlx's writer connection: SQLite serialises
//! them (each write transaction takes the file's write lock, waiting up to the busy timeout,
//! as the command-line commands already do), durability is the same (`synchronous = FULL`,
//! WAL), and the statements are the very ones the PostgreSQL side runs through sqlx.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OpenFlags};

use super::sms::SmsPart;
use super::sqlite_checkpoint::WalWrites;
use super::StoreError;
use crate::domain::{Channel, Claimed, DeliveryState, Outcome, Timestamp};

/// The pragmas of every Herald connection to the file (as `dialect::SQLITE_PRAGMAS`).
const PRAGMAS: &str = "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 0;";

/// The claim: the same statement as the PostgreSQL side's (no row locks on SQLite).
const CLAIM: &str = "WITH picked AS MATERIALIZED (SELECT id FROM notifications \
       WHERE channel = ?5 AND state IN ('queued', 'retrying') AND next_attempt_at <= ?3 \
       ORDER BY next_attempt_at, id LIMIT ?4) \
     UPDATE notifications SET claimed_by = ?1, next_attempt_at = ?2 \
     FROM picked WHERE notifications.id = picked.id \
     RETURNING notifications.id, event_id, ticket_id, customer_id, channel, address, \
       webhook_id, name, state, attempts, queued_at, subscription_id";

/// One outcome (see `Store::record_outcomes`); run once per message, prepared once.
const OUTCOME: &str = "UPDATE notifications SET \
       state = CASE WHEN state = 'cancelled' AND ?2 NOT IN ('sent', 'delivered') \
         THEN 'cancelled' ELSE ?2 END, \
       attempts = attempts + ?3, \
       reply = CASE WHEN ?3 = 1 THEN ?4 ELSE reply END, \
       next_attempt_at = CASE WHEN state = 'cancelled' OR ?2 NOT IN ('queued', 'retrying') \
         THEN NULL ELSE ?5 END, \
       last_attempt_at = CASE WHEN ?3 = 1 THEN ?6 ELSE last_attempt_at END, \
       sent_at = CASE WHEN ?2 IN ('sent', 'delivered') THEN ?6 ELSE sent_at END, \
       claimed_by = NULL \
     WHERE id = ?1 AND claimed_by = ?7";

/// A batch's links (see `Store::issue_link_batch`).
const LINK_BATCH: &str = "INSERT INTO link_batches (id, issued_at, entries) VALUES (?1, ?2, ?3)";

/// The rows of one claim still to deliver, their lease extended (see `Store::renew_claims`).
const RENEWAL: &str = "UPDATE notifications SET next_attempt_at = ?1 \
     WHERE claimed_by = ?2 AND state IN ('queued', 'retrying')";

const SMS_PART: &str = "INSERT INTO sms_parts (message_id, notification_id, segment, segments) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (message_id) DO UPDATE SET \
     notification_id = excluded.notification_id, segment = excluded.segment, \
     segments = excluded.segments";

/// One outcome's values, owned, for the blocking thread.
#[derive(serde::Serialize)]
pub(super) struct OutcomeRow {
    pub(super) id: i64,
    pub(super) state: &'static str,
    pub(super) attempted: i64,
    pub(super) text: String,
    pub(super) next: i64,
    /// The claim it was taken under (written only while the row is still held under it).
    pub(super) claim: i64,
}

impl OutcomeRow {
    pub(super) fn of(message: &Claimed, outcome: &Outcome, at: Timestamp) -> OutcomeRow {
        let (state, attempted, text, next) = match outcome {
            Outcome::Sent { reply } => (DeliveryState::Sent, 1, reply.as_str(), at),
            Outcome::Delivered { reply } => (DeliveryState::Delivered, 1, reply.as_str(), at),
            Outcome::Undelivered { reply } => (DeliveryState::Undelivered, 1, reply.as_str(), at),
            Outcome::Retry { error, next } => (DeliveryState::Retrying, 1, error.as_str(), *next),
            Outcome::Failed { error } => (DeliveryState::Failed, 1, error.as_str(), at),
            Outcome::Released { next } => (message.state, 0, "", *next),
        };
        OutcomeRow {
            id: message.id,
            state: state.as_str(),
            attempted,
            text: text.to_owned(),
            next: next.ticks(),
            claim: message.claim,
        }
    }
}

/// The workers' connection to one SQLite file (opened when first used).
pub(super) struct SqliteOutbox {
    path: PathBuf,
    /// `None` inside: not opened yet, or dropped after a failure. `Err` once closed.
    conn: Mutex<Result<Option<Connection>, ()>>,
    /// Told after each piece of work (most of them commit).
    wal: Option<WalWrites>,
}

impl SqliteOutbox {
    /// For the database file of a `sqlite:` URL; `None` for an in-memory database (which only
    /// sqlx's own connections can see).
    /// Its commits are told to `wal` (see [`super::sqlite_checkpoint`]).
    pub(super) fn for_url(
        url: &str,
        wal: Option<WalWrites>,
    ) -> Result<Option<Arc<SqliteOutbox>>, StoreError> {
        Ok(super::dialect::sqlite_file(url)?.map(|path| {
            Arc::new(SqliteOutbox {
                path,
                conn: Mutex::new(Ok(None)),
                wal,
            })
        }))
    }

    /// Later calls fail as on a closed pool.
    pub(super) fn close(&self) {
        *self.conn.lock().expect("never poisoned") = Err(());
    }

    /// Runs `work` on the connection, on a blocking thread.
    pub(super) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run_here(work))
            .await
            .map_err(|e| StoreError::Database(sqlx::Error::AnyDriverError(Box::new(e))))?
    }

    fn run_here<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut guard = self.conn.lock().expect("never poisoned");
        let Ok(slot) = guard.as_mut() else {
            return Err(StoreError::Unavailable(sqlx::Error::PoolClosed));
        };
        if slot.is_none() {
            *slot = Some(self.open().map_err(store_error)?);
        }
        let conn = slot.as_mut().expect("just opened");
        let result = work(conn);
        if let Some(wal) = &self.wal {
            wal.wrote();
        }
        if result.is_err() {
            // Whatever it left (an open transaction), a new connection starts clean.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        result.map_err(store_error)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch(PRAGMAS)?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(conn)
    }
}

/// See `Store::claim_due`.
pub(super) fn claim(
    conn: &mut Connection,
    channel: Channel,
    claim: i64,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> rusqlite::Result<Vec<Claimed>> {
    let mut statement = conn.prepare_cached(CLAIM)?;
    let rows = statement.query_map(
        params![
            claim,
            lease_until.ticks(),
            now.ticks(),
            i64::try_from(limit).unwrap_or(i64::MAX),
            channel.as_str()
        ],
        |row| {
            let channel: String = row.get(4)?;
            let state: String = row.get(8)?;
            Ok(Claimed {
                id: row.get(0)?,
                event_id: row.get(1)?,
                ticket_id: row.get(2)?,
                customer_id: row.get(3)?,
                channel: Channel::parse(&channel).ok_or_else(|| {
                    rusqlite::Error::InvalidColumnType(4, channel, rusqlite::types::Type::Text)
                })?,
                address: row.get(5)?,
                webhook_id: row.get(6)?,
                name: row.get(7)?,
                state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Queued),
                attempts: row.get(9)?,
                queued_at: Timestamp::from_ticks(row.get(10)?),
                subscription_id: row.get(11)?,
                claim,
            })
        },
    )?;
    let mut claimed = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// See `Store::record_outcomes`: every row in one transaction.
pub(super) fn record_outcomes(
    conn: &mut Connection,
    at: Timestamp,
    rows: &[OutcomeRow],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut statement = tx.prepare_cached(OUTCOME)?;
        for row in rows {
            statement.execute(params![
                row.id,
                row.state,
                row.attempted,
                row.text,
                row.next,
                at.ticks(),
                row.claim
            ])?;
        }
    }
    tx.commit()
}

/// See `Store::issue_link_batch`: the batch's row, its entries packed.
pub(super) fn issue_link_batch(
    conn: &mut Connection,
    batch: i64,
    at: Timestamp,
    entries: &[u8],
) -> rusqlite::Result<()> {
    conn.prepare_cached(LINK_BATCH)?
        .execute(params![batch, at.ticks(), entries])?;
    Ok(())
}

/// See `Store::renew_claims`: every claim in one transaction; the rows they hold.
pub(super) fn renew_claims(
    conn: &mut Connection,
    claims: &[i64],
    until: Timestamp,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut held = 0;
    {
        let mut statement = tx.prepare_cached(RENEWAL)?;
        for claim in claims {
            held += statement.execute(params![until.ticks(), claim])? as u64;
        }
    }
    tx.commit()?;
    Ok(held)
}

/// See `Store::record_sms_parts`.
pub(super) fn record_sms_parts(conn: &mut Connection, parts: &[SmsPart]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut statement = tx.prepare_cached(SMS_PART)?;
        for p in parts {
            statement.execute(params![p.message_id, p.notification, p.segment, p.segments])?;
        }
    }
    tx.commit()
}

/// A failed write: a full disk is `StorageFull` (the workers stall on it), an unreachable or
/// locked database "unavailable", anything else a database error.
fn store_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull};
    let code = e.sqlite_error_code();
    let e = sqlx::Error::AnyDriverError(Box::new(e));
    match code {
        Some(DiskFull) => StoreError::StorageFull(e),
        Some(CannotOpen | DatabaseBusy | DatabaseLocked) => StoreError::Unavailable(e),
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_stalls_the_workers_and_a_lock_is_unavailable() {
        let failure =
            |code: i32| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(matches!(
            store_error(failure(rusqlite::ffi::SQLITE_FULL)),
            StoreError::StorageFull(_)
        ));
        assert!(matches!(
            store_error(failure(rusqlite::ffi::SQLITE_BUSY)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            store_error(failure(rusqlite::ffi::SQLITE_CONSTRAINT)),
            StoreError::Database(_)
        ));
    }

    #[test]
    fn in_memory_databases_are_written_through_sqlx() {
        assert!(SqliteOutbox::for_url("sqlite::memory:", None)
            .unwrap()
            .is_none());
        assert!(SqliteOutbox::for_url("sqlite://x.db?mode=rwc", None)
            .unwrap()
            .is_some());
    }
}
