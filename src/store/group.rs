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
//! On PostgreSQL the creations found queued together are written together: one savepoint and
//! one statement for all of them ([`write_together`]: their tickets, services, events and
//! audit entries by one `WITH … INSERT`), where each would cost a savepoint and a statement of
//! its own, each parsed, planned and started by the server (BENCHMARKS.md, "PostgreSQL POST
//! and reads, fourth pass"). When that fails (a service that is not live, any statement's
//! error) it is rolled back to its savepoint and the same creations run one by one, each in
//! its own savepoint as below, so the one at fault fails alone with its own answer.
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

use super::tickets::{write_together, Created, Creation};
use super::{Backend, Store, StoreError};

/// The most requests committed together: bounds how long the first of a batch waits.
pub const MAX_BATCH: usize = 64;

/// A request's work: statements on the writer's connection, inside a transaction it must not
/// end itself. Only the tests submit work of their own; Herald's requests are
/// [`Creation`]s.
#[cfg(test)]
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
    #[cfg(test)]
    pub async fn submit<T: Send + 'static>(&self, work: Work<T>) -> Result<T, StoreError> {
        self.send(|reply| {
            Box::new(Pending {
                work: Some(work),
                outcome: None,
                reply,
            })
        })
        .await
    }

    /// Writes `creation` in the next batch, with the other creations queued with it where the
    /// engine allows; returns it once the batch is committed.
    async fn submit_creation(&self, creation: Creation) -> Result<Created, StoreError> {
        self.send(|reply| {
            Box::new(PendingCreation {
                creation,
                outcome: None,
                reply,
            })
        })
        .await
    }

    /// Queues the job `job` makes of the reply channel, and waits for its answer.
    async fn send<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Answer<T>>) -> Box<dyn Job>,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(job(reply)).is_err() {
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
    #[cfg(test)]
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

    /// Writes a ticket's creation and commits it, in the next group commit.
    pub(super) async fn create(&self, creation: Creation) -> Result<Created, StoreError> {
        let result = self.engine.group().submit_creation(creation).await;
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
    /// The ticket creation this request is, if it is one: it can be written with others.
    fn creation(&self) -> Option<&Creation> {
        None
    }
    /// Takes the outcome of its creation written with others (only called when
    /// [`Job::creation`] is some).
    fn created(&mut self, _created: Created) {}
}

/// How a request's work went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Ok,
    Failed,
    /// Failed for want of space.
    Full,
}

#[cfg(test)]
struct Pending<T> {
    work: Option<Work<T>>,
    outcome: Option<Answer<T>>,
    reply: oneshot::Sender<Answer<T>>,
}

#[cfg(test)]
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
            let ran = ran(&outcome);
            self.outcome = Some(outcome);
            ran
        })
    }

    fn finish(self: Box<Self>, batch: Result<(), &Arc<sqlx::Error>>, full: bool) {
        answer(self.reply, self.outcome, batch, full);
    }
}

/// A ticket creation: run alone as any request, or written with the others of its batch.
struct PendingCreation {
    creation: Creation,
    outcome: Option<Answer<Created>>,
    reply: oneshot::Sender<Answer<Created>>,
}

impl Job for PendingCreation {
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run<'c>(&'c mut self, conn: &'c mut AnyConnection) -> BoxFuture<'c, Ran> {
        Box::pin(async move {
            let outcome = AssertUnwindSafe(self.creation.write(conn))
                .catch_unwind()
                .await;
            let ran = ran(&outcome);
            self.outcome = Some(outcome);
            ran
        })
    }

    fn finish(self: Box<Self>, batch: Result<(), &Arc<sqlx::Error>>, full: bool) {
        answer(self.reply, self.outcome, batch, full);
    }

    fn creation(&self) -> Option<&Creation> {
        Some(&self.creation)
    }

    fn created(&mut self, created: Created) {
        self.outcome = Some(Ok(Ok(created)));
    }
}

/// How a request's work went, from its outcome.
fn ran<T>(outcome: &Answer<T>) -> Ran {
    match outcome {
        Ok(Ok(_)) => Ran::Ok,
        Ok(Err(StoreError::StorageFull(_))) => Ran::Full,
        _ => Ran::Failed,
    }
}

/// Answers a request once its batch is over: its own outcome if the batch committed, else the
/// error that ended the batch (see [`Job::finish`]).
fn answer<T>(
    reply: oneshot::Sender<Answer<T>>,
    outcome: Option<Answer<T>>,
    batch: Result<(), &Arc<sqlx::Error>>,
    full: bool,
) {
    let answer = match (batch, outcome) {
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
    let _ = reply.send(answer);
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
/// On PostgreSQL, consecutive ticket creations share one savepoint and are written together
/// ([`write_together`]); when that fails they are rolled back to it and run one by one.
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
    let together = Backend::of(conn) == Backend::Postgres;
    // The requests before this one were tried together and failed: they run one by one.
    let mut alone_until = 0;
    let mut next = 0;
    while next < batch.len() {
        if together && next >= alone_until && batch[next].creation().is_some() {
            take_queued(batch, queue);
            let end = batch[next..]
                .iter()
                .position(|job| job.creation().is_none() && !job.abandoned())
                .map_or(batch.len(), |p| next + p);
            // A request that went away before its turn writes nothing (see below).
            let run: Vec<usize> = (next..end).filter(|&i| !batch[i].abandoned()).collect();
            if run.len() > 1 {
                savepoint(conn, &first, &mut begun).await?;
                let creations: Vec<&Creation> =
                    run.iter().filter_map(|&i| batch[i].creation()).collect();
                let written = AssertUnwindSafe(write_together(conn, &creations))
                    .catch_unwind()
                    .await;
                if let Ok(Ok(Some(created))) = written {
                    for (i, created) in run.into_iter().zip(created) {
                        batch[i].created(created);
                    }
                    next = end;
                    continue;
                }
                // One of them is at fault (or a statement failed): each runs alone, so that
                // it fails alone with its own answer.
                conn.execute("ROLLBACK TO request")
                    .await
                    .map_err(Arc::new)?;
                alone_until = end;
            }
        }
        let job = &mut batch[next];
        next += 1;
        // A request that went away before its turn (its client disconnected, or it timed out)
        // writes nothing, as when it was dropped while waiting for a transaction of its own.
        if !job.abandoned() {
            savepoint(conn, &first, &mut begun).await?;
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

/// Sets the savepoint of the next request (or requests written together), beginning the
/// transaction with it the first time.
async fn savepoint(
    conn: &mut AnyConnection,
    first: &str,
    begun: &mut bool,
) -> Result<(), Arc<sqlx::Error>> {
    let sql = if *begun {
        "RELEASE request; SAVEPOINT request"
    } else {
        first
    };
    conn.execute(sql).await.map_err(Arc::new)?;
    *begun = true;
    Ok(())
}

/// Moves the requests queued now into the batch (up to [`MAX_BATCH`]), unless another task
/// waiting for its turn holds the queue.
fn take_queued(batch: &mut Vec<Box<dyn Job>>, queue: &Queue) {
    let Ok(mut queue) = queue.try_lock() else {
        return;
    };
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => return,
        }
    }
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
    /// `n` creations, the `i`th of "Ticket {i}" on the services `services(i)`, posted at once.
    async fn create_at_once(
        store: &Store,
        n: usize,
        services: impl Fn(usize) -> Vec<i64>,
    ) -> Vec<(Vec<i64>, Result<crate::domain::Ticket, StoreError>)> {
        use crate::domain::{Actor, Description, NewTicket, TicketChange};
        let creations = (0..n).map(|i| {
            let store = store.clone();
            let wanted = services(i);
            let new = NewTicket {
                description: Description::parse(&format!("Ticket {i}")).unwrap(),
                times: Default::default(),
                services: wanted.clone(),
                operator: None,
            };
            tokio::spawn(async move {
                let change = TicketChange {
                    actor: Actor::Cli,
                    address: None,
                    notify: false,
                    reminder_leads: Vec::new(),
                };
                let created = store.create_ticket(&new, &change).await;
                (wanted, created.map(|(ticket, _)| ticket))
            })
        });
        join_all(creations)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect()
    }

    #[tokio::test]
    async fn creations_of_a_batch_are_each_written_as_alone_sqlite() {
        creations_of_a_batch_are_each_written_as_alone(false).await;
    }

    /// On PostgreSQL the creations queued together are written by one statement.
    #[tokio::test]
    async fn creations_of_a_batch_are_each_written_as_alone_postgres() {
        creations_of_a_batch_are_each_written_as_alone(true).await;
    }

    async fn creations_of_a_batch_are_each_written_as_alone(postgres: bool) {
        let dir = tempfile::tempdir().unwrap();
        let Some(store) = store(&dir, postgres).await else {
            return;
        };
        let services = crate::store::test_services(&store, &["Mail", "Web"]).await;
        let (mail, web) = (services[0], services[1]);
        // None, one, both (given twice), and in the second round every fifth names a
        // service that does not exist.
        let pick = |i: usize| match i % 5 {
            0 => vec![],
            1 => vec![mail],
            2 => vec![web, mail, web],
            3 => vec![web],
            _ => vec![mail, web],
        };
        let first = create_at_once(&store, 30, pick).await;
        let second = create_at_once(&store, 30, |i| match i % 5 {
            4 => vec![mail, 999_999],
            _ => pick(i),
        })
        .await;
        let mut stored = 0;
        for (round, answers) in [first, second].into_iter().enumerate() {
            for (i, (mut wanted, answer)) in answers.into_iter().enumerate() {
                if round == 1 && i % 5 == 4 {
                    match answer {
                        Err(StoreError::Invalid(e)) => {
                            assert!(format!("{e:?}").contains("999999"), "{e:?}")
                        }
                        other => panic!("{i}: {other:?}"),
                    }
                    continue;
                }
                let ticket = answer.unwrap();
                stored += 1;
                assert_eq!(ticket.description, format!("Ticket {i}"));
                wanted.sort_unstable();
                wanted.dedup();
                let got: Vec<i64> = ticket.services.iter().map(|s| s.id).collect();
                assert_eq!(got, wanted, "{round}/{i}");
                // What the creation answered is what is stored, its event and audit entry
                // with it.
                assert_eq!(store.get_ticket(ticket.id).await.unwrap(), ticket);
                let (events, audits): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT count(*) FROM ticket_events WHERE ticket_id = $1 \
                       AND kind = 'created'), \
                     (SELECT count(*) FROM audit_log WHERE entity = 'Ticket' \
                       AND entity_id = $1 AND action = 'Created' AND new_values LIKE $2)",
                )
                .bind(ticket.id)
                .bind(format!("%Ticket {i}\"%"))
                .fetch_one(&store.pool)
                .await
                .unwrap();
                assert_eq!((events, audits), (1, 1), "{round}/{i}");
            }
        }
        let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(tickets, stored, "nothing of the failed creations is stored");
        if postgres {
            // Rows written by one statement share their transaction id (each savepoint's
            // statement has one of its own).
            let writers: i64 = sqlx::query_scalar(
                "SELECT count(DISTINCT xmin::text) FROM tickets WHERE description LIKE 'Ticket %'",
            )
            .fetch_one(&store.pool)
            .await
            .unwrap();
            assert!(
                writers < stored,
                "{writers} writing transactions for {stored} tickets"
            );
        }
    }
}
