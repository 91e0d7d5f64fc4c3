//! Password hashing a few at a time. Argon2id takes about 19 MiB and tens of milliseconds of
//! CPU per password by design: unbounded, a flood of sign-ins took the server to gigabytes. So
//! at most one hash per CPU runs at once (they are CPU-bound: more would not finish sooner),
//! each on the blocking pool in a memory block kept for the next (the allocator would keep
//! freed ones anyway, in its arenas); a sign-in that would have to wait long is refused
//! ([`Busy`]) instead of queueing without limit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::Block;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{Password, PasswordHash};

/// At most this many hashes at once, whatever the number of CPUs: each keeps its 19 MiB.
const MOST_TURNS: usize = 8;
/// Sign-ins that may wait for a turn, per turn; more are refused at once.
const WAITING_PER_TURN: usize = 16;
/// How long a sign-in waits for its turn at most (the waiting room is small enough to be
/// served well within it, unless the machine is starved).
const PATIENCE: Duration = Duration::from_secs(3);

/// The stored hash unknown accounts are checked against, so they take as long as known ones
/// (Argon2id, default parameters, a random salt and output: no known password matches it).
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$bq4p3VLrNKcLFGzHCz8Vmw$VJMHFjw8WTyC4sLXwoo6ck0EeSeZU7kTlVHQuEQzoyE";

/// Too many sign-ins are being checked: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("busy checking other passwords")]
pub struct Busy;

impl Busy {
    /// What the refused sign-in is told, and when to come back (`Retry-After`, in seconds).
    pub const MESSAGE: &'static str =
        "Herald is busy checking other sign-ins. Try again in a few seconds.";
    pub const RETRY_AFTER_SECONDS: u32 = 2;
}

/// The turns at hashing a process shares (one per [`crate::store::Store`]). Cloning shares them.
#[derive(Clone)]
pub struct Hashing(Arc<Turns>);

struct Turns {
    /// One permit per hash that may run.
    running: Semaphore,
    /// One permit per sign-in that may run or wait.
    admitted: Semaphore,
    /// The memory of the turns not running now.
    memory: Mutex<Vec<Vec<Block>>>,
    turns: usize,
}

impl Hashing {
    /// `turns` hashes at once (at least one).
    pub fn new(turns: usize) -> Self {
        let turns = turns.max(1);
        Hashing(Arc::new(Turns {
            running: Semaphore::new(turns),
            admitted: Semaphore::new(turns * (1 + WAITING_PER_TURN)),
            memory: Mutex::new(Vec::new()),
            turns,
        }))
    }

    /// One turn per CPU, at most [`MOST_TURNS`].
    pub fn for_this_machine() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cpus.min(MOST_TURNS))
    }

    /// How many hashes run at once.
    pub fn turns(&self) -> usize {
        self.0.turns
    }

    /// How many sign-ins may run or wait at once; more are refused at once.
    pub fn admitted(&self) -> usize {
        self.0.turns * (1 + WAITING_PER_TURN)
    }

    /// Hashes a new password, waiting for a turn as long as it takes (creating an operator or
    /// changing a password: the callers are signed in, or setting Herald up).
    pub async fn hash(&self, password: &Password) -> PasswordHash {
        let turn = self.0.running.acquire().await.expect("never closed");
        let password = password.clone();
        self.run(turn, move |memory| password.hash_in(memory)).await
    }

    /// Checks `candidate` against `stored` (see [`Admitted::verify`]), refused when too many
    /// are running or waiting already.
    pub async fn verify(
        &self,
        stored: Option<&PasswordHash>,
        candidate: &str,
    ) -> Result<bool, Busy> {
        self.admit()?.verify(stored, candidate).await
    }

    /// A place among those running or waiting for a turn, or [`Busy`] when there is none: a
    /// sign-in asks first, so a refused one is not counted as an attempt.
    pub fn admit(&self) -> Result<Admitted<'_>, Busy> {
        let place = self.0.admitted.try_acquire().map_err(|_| Busy)?;
        Ok(Admitted {
            hashing: self,
            _place: place,
        })
    }

    /// Takes every turn until the returned value is dropped: sign-ins meanwhile wait, and are
    /// refused once the waiting room is full (what a flood does, on demand for tests).
    pub async fn occupy(&self) -> Occupied<'_> {
        let turns = u32::try_from(self.0.turns).expect("a few turns");
        Occupied(
            self.0
                .running
                .acquire_many(turns)
                .await
                .expect("never closed"),
        )
    }

    /// Runs `job` on the blocking pool in the memory of a turn not running now.
    async fn run<T: Send + 'static>(
        &self,
        turn: SemaphorePermit<'_>,
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> T {
        let mut memory = self.lock_memory().pop().unwrap_or_default();
        let done = tokio::task::spawn_blocking(move || {
            let out = job(&mut memory);
            (out, memory)
        })
        .await;
        let (out, memory) = match done {
            Ok(done) => done,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        self.lock_memory().push(memory);
        drop(turn);
        out
    }

    fn lock_memory(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        // A panic while holding the lock leaves the list intact: keep using it.
        self.0.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A sign-in's place in the waiting room (see [`Hashing::admit`]).
pub struct Admitted<'a> {
    hashing: &'a Hashing,
    _place: SemaphorePermit<'a>,
}

impl Admitted<'_> {
    /// Checks `candidate` against `stored`, or against a dummy hash where there is none (an
    /// unknown account takes as long as a known one, and never matches); [`Busy`] when no turn
    /// comes within [`PATIENCE`].
    pub async fn verify(
        self,
        stored: Option<&PasswordHash>,
        candidate: &str,
    ) -> Result<bool, Busy> {
        let turns = &self.hashing.0;
        let turn = tokio::time::timeout(PATIENCE, turns.running.acquire())
            .await
            .map_err(|_| Busy)?
            .expect("never closed");
        let known = stored.is_some();
        let hash = stored
            .cloned()
            .unwrap_or_else(|| PasswordHash(DUMMY.into()));
        let candidate = candidate.to_owned();
        let matched = self
            .hashing
            .run(turn, move |memory| hash.verify_in(&candidate, memory))
            .await;
        Ok(known && matched)
    }
}

/// Every turn at hashing, held (see [`Hashing::occupy`]).
#[must_use = "the turns are given back when this is dropped"]
pub struct Occupied<'a>(#[allow(dead_code)] SemaphorePermit<'a>);

#[cfg(test)]
mod tests {
    use super::*;

    fn password() -> Password {
        Password::parse("correct horse").unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let hashing = Hashing::new(2);
        let hash = hashing.hash(&password()).await;
        assert_eq!(hashing.verify(Some(&hash), "correct horse").await, Ok(true));
        assert_eq!(hashing.verify(Some(&hash), "wrong horse").await, Ok(false));
        assert_eq!(hashing.verify(None, "correct horse").await, Ok(false));
        assert!(PasswordHash(DUMMY.into())
            .0
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hash.verify("correct horse"),
            "the same as the one-off check"
        );
        // Two turns ran, one after the other: one memory block, kept.
        assert_eq!(hashing.lock_memory().len(), 1);
    }

    #[tokio::test]
    async fn a_full_waiting_room_is_refused_at_once_and_the_waiting_get_their_turn() {
        let hashing = Hashing::new(1);
        let hash = hashing.hash(&password()).await;
        let occupied = hashing.occupy().await;
        let waiting: Vec<_> = (0..hashing.admitted())
            .map(|_| {
                let (hashing, hash) = (hashing.clone(), hash.clone());
                tokio::spawn(async move { hashing.verify(Some(&hash), "correct horse").await })
            })
            .collect();
        // Every waiting place is taken once the semaphore has no permits left.
        while hashing.0.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            hashing.verify(Some(&hash), "correct horse").await,
            Err(Busy)
        );
        drop(occupied);
        for w in waiting {
            // Within the patience each gets its turn (or, on a starved machine, is told busy).
            let got = w.await.unwrap();
            assert!(matches!(got, Ok(true) | Err(Busy)), "{got:?}");
        }
        assert_eq!(hashing.verify(Some(&hash), "correct horse").await, Ok(true));
    }

    #[tokio::test(start_paused = true)]
    async fn a_sign_in_waits_for_its_turn_three_seconds_at_most() {
        let hashing = Hashing::new(1);
        let _occupied = hashing.occupy().await;
        let hash = PasswordHash(DUMMY.into());
        assert_eq!(hashing.verify(Some(&hash), "x").await, Err(Busy));
    }
}
