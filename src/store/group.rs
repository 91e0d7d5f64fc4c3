//! Group commit of ticket creations, on both engines.
//!
//! SQLite commits one transaction at a time, and each durable commit waits for the disk
//! (`synchronous = FULL`). Instead of one transaction per request, one task owns the writes
//! submitted here: it takes the next request, opens a transaction (`BEGIN IMMEDIATE`), runs that
//! request's work and then the work of every request that queued meanwhile (up to
//! [`MAX_BATCH`]), each inside its own `SAVEPOINT`, and commits them all with one `COMMIT`.
//!
//! PostgreSQL commits concurrent transactions together itself, but only as many as there are
//! connections in a transaction at once, and each transaction costs a `BEGIN` and a `COMMIT`
//! round trip and a commit record: a few tasks ([`pg_writers`]) take turns at the one queue
//! the same way, each on a connection of the pool while its batch runs, and the `BEGIN` goes
//! with the first request's `SAVEPOINT` in one round trip (BENCHMARKS.md, "PostgreSQL POST and
//! fan-out, third pass").
//!
//! What each request sees is what it would see alone:
//! - its work succeeded: its answer is sent only after the shared `COMMIT` succeeded, so nothing
//!   is ever answered before it is on disk;
//! - its work failed: its savepoint is rolled back (nothing of it is committed) and the others go
//!   on; its error is sent after the `COMMIT` too, since it may rest on what an earlier request of
//!   the batch wrote;
//! - the `COMMIT` (or the transaction itself) failed: every request of the batch gets the error.
//!
//! The work runs in the writer task, so a request that goes away (its client disconnected, a
//! timeout) cannot stop it half-way: once started, the work is finished and committed with
//! the others; a request that went away before its work started is skipped.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::{Store, StoreError};

/// The most requests committed together: bounds how long the first of a batch waits.
pub const MAX_BATCH: usize = 64;

/// A request's work: statements on the writer's connection, inside a transaction it must not
/// end itself.
pub type Work<T> =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send>;

/// What a request is answered: its result, or the panic of its work (resumed in the request).
type Answer<T> = Result<Result<T, StoreError>, Box<dyn Any + Send>>;

/// How many batches run at once on PostgreSQL, out of a pool of `pool_size` connections: half
/// of them, so the delivery workers and the other requests keep the rest.
pub fn pg_writers(pool_size: u32) -> usize {
    (pool_size as usize / 2).max(1)
}

/// The sending side; cloned with the store. The tasks end when the last clone is dropped.
#[derive(Clone)]
pub struct GroupWriter {
    jobs: mpsc::UnboundedSender<Box<dyn Job>>,
}

/// The queue the writer tasks share: the one whose turn it is waits on it, the others take
/// from it between the requests of their batches when it is free.
type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Box<dyn Job>>>>;

impl GroupWriter {
    /// Starts `writers` writer tasks on the current Tokio runtime, each opening its
    /// transactions with `begin`. `pool` is the writer pool (on SQLite its single connection);
    /// a task holds a connection only while a batch runs, so other writes through the pool
    /// take turns with the batches.
    pub fn start(pool: AnyPool, writers: usize, begin: &'static str) -> GroupWriter {
        let (jobs, queue) = mpsc::unbounded_channel();
        let queue: Queue = Arc::new(Mutex::new(queue));
        for _ in 0..writers.max(1) {
            tokio::spawn(run(pool.clone(), queue.clone(), begin));
        }
        GroupWriter { jobs }
    }

    /// Runs `work` in the next batch; returns its result once the batch is committed.
    pub async fn submit<T: Send + 'static>(&self, work: Work<T>) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            outcome: None,
            reply,
        });
        if self.jobs.send(job).is_err() {
            return Err(StoreError::Unavailable(sqlx::Error::PoolClosed));
        }
        match answer.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // The task ended without answering (the runtime is shutting down).
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
        }
    }
}

impl Store {
    /// Runs `work` in a write transaction and commits it, in the next group commit.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let result = self.engine.group().submit(Box::new(work)).await;
        self.note_write(&result);
        result
    }
}

/// A submitted request, whatever its result type.
trait Job: Send {
    /// Has the request gone away before its work ran?
    fn abandoned(&self) -> bool;
    /// Runs the work (once).
    fn run<'c>(&'c mut self, conn: &'c mut AnyConnection) -> BoxFuture<'c, Ran>;
    /// Answers the request once the batch is over: its own outcome if the batch committed,
    /// else the error that ended the batch (a "storage full" one if `full`: a request's
    /// statement ran out of space, and SQLite may have ended the transaction for it).
    fn finish(self: Box<Self>, batch: Result<(), &Arc<sqlx::Error>>, full: bool);
}

/// How a request's work went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Ok,
    Failed,
    /// Failed for want of space.
    Full,
}

struct Pending<T> {
    work: Option<Work<T>>,
    outcome: Option<Answer<T>>,
    reply: oneshot::Sender<Answer<T>>,
}

impl<T: Send + 'static> Job for Pending<T> {
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run<'c>(&'c mut self, conn: &'c mut AnyConnection) -> BoxFuture<'c, Ran> {
        Box::pin(async move {
            let Some(work) = self.work.take() else {
                return Ran::Failed;
            };
            let outcome = AssertUnwindSafe(work(conn)).catch_unwind().await;
            let ran = match &outcome {
                Ok(Ok(_)) => Ran::Ok,
                Ok(Err(StoreError::StorageFull(_))) => Ran::Full,
                _ => Ran::Failed,
            };
            self.outcome = Some(outcome);
            ran
        })
    }

    fn finish(self: Box<Self>, batch: Result<(), &Arc<sqlx::Error>>, full: bool) {
        let answer = match (batch, self.outcome) {
            // A panic is the request's own, whatever happened to the batch.
            (_, Some(Err(panic))) => Err(panic),
            (Ok(()), Some(outcome)) => outcome,
            (Err(e), _) if full => Ok(Err(StoreError::StorageFull(sqlx::Error::AnyDriverError(
                Box::new(e.clone()),
            )))),
            (Err(e), _) => Ok(Err(StoreError::shared(e))),
            // Abandoned before it ran: there is no one to answer.
            (Ok(()), None) => return,
        };
        // The request may have gone away: its work is committed all the same.
        let _ = self.reply.send(answer);
    }
}

async fn run(pool: AnyPool, queue: Queue, begin: &'static str) {
    loop {
        // The lock is held only while waiting for the next request: then it is this task's
        // turn to start a batch.
        let Some(first) = queue.lock().await.recv().await else {
            return;
        };
        let mut batch = vec![first];
        let mut full = false;
        let result = match pool.acquire().await {
            Ok(mut conn) => {
                let result = commit_batch(&mut conn, begin, &mut batch, &queue, &mut full).await;
                if result.is_err() && conn.execute("ROLLBACK").await.is_err() {
                    // Neither committed nor rolled back: do not hand the connection to
                    // anyone else in an unknown state.
                    conn.close_on_drop();
                }
                result
            }
            Err(e) => Err(Arc::new(e)),
        };
        for job in batch {
            job.finish(result.as_ref().map(|_| ()), full);
        }
    }
}

/// Runs `batch[0]` and then the requests queued meanwhile, one savepoint each, then commits.
/// On an error of the transaction itself (not of one request's work) the caller rolls back.
/// `full` is set when a request's work ran out of space.
async fn commit_batch(
    conn: &mut AnyConnection,
    begin: &'static str,
    batch: &mut Vec<Box<dyn Job>>,
    queue: &Queue,
    full: &mut bool,
) -> Result<(), Arc<sqlx::Error>> {
    // One round trip per request: the transaction begins with the first request's savepoint,
    // and then the previous request's savepoint is released (its work kept in the
    // transaction) as this one's is set.
    let first = format!("{begin}; SAVEPOINT request");
    let mut begun = false;
    let mut next = 0;
    while next < batch.len() {
        let job = &mut batch[next];
        next += 1;
        // A request that went away before its turn (its client disconnected, or it timed out)
        // writes nothing, as when it was dropped while waiting for a transaction of its own.
        if !job.abandoned() {
            let savepoint = if begun {
                "RELEASE request; SAVEPOINT request"
            } else {
                first.as_str()
            };
            conn.execute(savepoint).await.map_err(Arc::new)?;
            begun = true;
            let ran = job.run(conn).await;
            *full |= ran == Ran::Full;
            if ran != Ran::Ok {
                conn.execute("ROLLBACK TO request")
                    .await
                    .map_err(Arc::new)?;
            }
        }
        if next == batch.len() && batch.len() < MAX_BATCH {
            // Another task waiting for its turn holds the queue: the next request is its.
            if let Some(job) = queue.try_lock().ok().and_then(|mut q| q.try_recv().ok()) {
                batch.push(job);
            }
        }
    }
    if begun {
        conn.execute("COMMIT").await.map_err(Arc::new)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures::future::join_all;
    use futures::TryStreamExt;

    use super::*;
    use crate::store::{Page, PoolSettings};

    /// Both engines: a SQLite file in `dir`, or a fresh database of the tests' PostgreSQL
    /// (`None` where its server binaries are missing and skipping is allowed).
    async fn store(dir: &tempfile::TempDir, postgres: bool) -> Option<Store> {
        let url = if postgres {
            if !herald_test_support::postgres::available("group commit") {
                return None;
            }
            herald_test_support::postgres::fresh_database().await
        } else {
            format!("sqlite://{}", dir.path().join("group.db").display())
        };
        let store = Store::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Some(store)
    }

    /// Inserts a service named `name`, then fails as `how` says (after having written). On
    /// PostgreSQL its description is the (top-level) transaction's id.
    async fn insert_then(
        conn: &mut AnyConnection,
        name: String,
        how: u8,
    ) -> Result<String, StoreError> {
        let sql = match crate::store::Backend::of(conn) {
            crate::store::Backend::Postgres => {
                "INSERT INTO services (name, description) VALUES ($1, txid_current()::text)"
            }
            crate::store::Backend::Sqlite => "INSERT INTO services (name) VALUES ($1)",
        };
        sqlx::query(sql).bind(&name).execute(&mut *conn).await?;
        match how {
            0 => Ok(name),
            1 => Err(StoreError::Conflict(name)),
            // A statement that fails: the name "taken" is in use.
            2 => {
                sqlx::query("INSERT INTO services (name) VALUES ('taken')")
                    .execute(&mut *conn)
                    .await?;
                Ok(name)
            }
            _ => panic!("the work of {name} panics"),
        }
    }

    async fn live_names(store: &Store) -> Vec<String> {
        let mut names: Vec<String> = store
            .list_services(Page::default())
            .map_ok(|s| s.name)
            .try_collect()
            .await
            .unwrap();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_failing_request_of_a_batch_leaves_the_others_committed_sqlite() {
        a_failing_request_of_a_batch_leaves_the_others_committed(false).await;
    }

    /// On PostgreSQL a failed statement aborts the transaction until its savepoint is rolled
    /// back: the requests after it in the batch still commit.
    #[tokio::test]
    async fn a_failing_request_of_a_batch_leaves_the_others_committed_postgres() {
        a_failing_request_of_a_batch_leaves_the_others_committed(true).await;
    }

    async fn a_failing_request_of_a_batch_leaves_the_others_committed(postgres: bool) {
        let dir = tempfile::tempdir().unwrap();
        let Some(store) = store(&dir, postgres).await else {
            return;
        };
        store
            .write(|conn| Box::pin(insert_then(conn, "taken".into(), 0)))
            .await
            .unwrap();
        // Submitted at once, so they queue while the writer works and share a commit.
        let requests = (0..40u8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let name = format!("s{i:02}");
                let how = i % 4;
                store
                    .write(move |conn| Box::pin(insert_then(conn, name, how)))
                    .await
            })
        });
        let answers = join_all(requests).await;
        let mut committed = vec!["taken".to_owned()];
        for (i, answer) in answers.into_iter().enumerate() {
            match i % 4 {
                0 => committed.push(answer.unwrap().unwrap()),
                1 => assert!(matches!(answer.unwrap(), Err(StoreError::Conflict(_)))),
                2 => assert!(matches!(answer.unwrap(), Err(StoreError::Database(_)))),
                _ => assert!(
                    answer.unwrap_err().is_panic(),
                    "the panic reaches its request"
                ),
            }
        }
        committed.sort();
        assert_eq!(live_names(&store).await, committed);
        if postgres {
            // They did share transactions, so requests after a failed statement committed in
            // its transaction.
            let transactions: i64 =
                sqlx::query_scalar("SELECT count(DISTINCT description) FROM services")
                    .fetch_one(&store.pool)
                    .await
                    .unwrap();
            assert!(
                transactions < committed.len() as i64 - 1,
                "{transactions} transactions for {} rows",
                committed.len()
            );
        }
        // The writer is still there, and its connection is usable by other writes.
        store
            .write(|conn| Box::pin(insert_then(conn, "after".into(), 0)))
            .await
            .unwrap();
        let mut tx = store.write_tx().await.unwrap();
        sqlx::query("INSERT INTO services (name) VALUES ('direct')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(live_names(&store).await.len(), committed.len() + 2);
    }

    #[tokio::test]
    async fn a_request_gone_before_its_turn_writes_nothing_sqlite() {
        a_request_gone_before_its_turn_writes_nothing(false).await;
    }

    #[tokio::test]
    async fn a_request_gone_before_its_turn_writes_nothing_postgres() {
        a_request_gone_before_its_turn_writes_nothing(true).await;
    }

    async fn a_request_gone_before_its_turn_writes_nothing(postgres: bool) {
        let dir = tempfile::tempdir().unwrap();
        let Some(store) = store(&dir, postgres).await else {
            return;
        };
        // Polled once (queued), then dropped, as when a client disconnects.
        let gone = store
            .write(|conn| Box::pin(insert_then(conn, "gone".into(), 0)))
            .now_or_never();
        assert!(gone.is_none(), "the request was still waiting for its turn");
        store
            .write(|conn| Box::pin(insert_then(conn, "kept".into(), 0)))
            .await
            .unwrap();
        assert_eq!(live_names(&store).await, ["kept"]);
    }
}
