//! The delivery workers of `herald serve`: one machinery for every channel.
//!
//! Each channel (a [`Sender`]: email, webhooks, …) gets its own workers, and each worker loops:
//! claim a batch of the channel's due messages under a lease, send them through the channel
//! several at a time, then write the whole batch's outcomes in one statement.
//! Each claim is a lease of its own (a fresh token); a lease keeper renews the leases of the
//! claims in hand, and a batch goes on sending only while its own lease is known to hold: a
//! renewal counts for a claim only when it came back before that claim's lease ran out (else
//! another worker, of this instance or another, may hold its rows by now). If the process
//! dies, the leases run out and any instance delivers the messages. On shutdown, sends in flight finish and are
//! recorded; messages not started are released at once.
//!
//! When outcomes cannot be written (a full disk, the database down), the instance stops
//! sending: the messages not yet started in its batches are released, the outcomes it holds
//! are kept and written again with a growing pause, and nothing new is claimed until they
//! are written. So a storage fault delays messages but does not send them again (at most the
//! ones in flight when another instance takes over their expired leases).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::email::EmailSender;
use super::sender::{Attempt, Sender};
use super::sms::SmsSender;
use super::templates::Templates;
use super::webhook::WebhookSender;
use crate::domain::Timestamp;
use crate::domain::{Claimed, EventContent, Outcome};
use crate::live_settings::LiveSettings;
use crate::store::Store;

/// Outcomes are written at least this often while a batch is being sent…
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// …and whenever this many are waiting. Each write is a durable commit (an `fsync`, a
/// millisecond or more, with the outbox's writes queued behind it), so a batch of the default
/// size is one write, not two.
const FLUSH_MAX: usize = 500;

/// The first pause before writing held outcomes again; it doubles up to [`STALL_MAX_WAIT`].
const STALL_FIRST_WAIT: Duration = Duration::from_millis(100);
const STALL_MAX_WAIT: Duration = Duration::from_secs(5);

/// How delivery runs. The defaults suit production; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Worker tasks, each claiming its own batches.
    pub workers: usize,
    /// Messages claimed at once by one worker.
    pub batch_size: usize,
    /// Messages in flight at once over all workers of a channel, and the SMTP connections
    /// (email keeps twice as many in flight: two per connection).
    pub connections: usize,
    /// How long a claim lasts unless renewed (a crashed instance's messages wait this long).
    pub lease: Duration,
    /// The first retry delay; it doubles with every attempt, up to `retry_max`, with jitter.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How often an idle worker looks for due messages queued by other instances.
    pub idle_poll: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            workers: 4,
            batch_size: 250,
            connections: 32,
            lease: Duration::from_secs(10),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            idle_poll: Duration::from_secs(1),
        }
    }
}

impl DeliveryOptions {
    /// The delay before attempt `attempts + 1`: `retry_base * 2^(attempts-1)`, capped at
    /// `retry_max`, then a random point in its upper half so that retries spread out.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let full = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.retry_max);
        let half = full / 2;
        half + full
            .saturating_sub(half)
            .mul_f64(rand::thread_rng().gen::<f64>())
    }
}

/// One channel's delivery machinery in this process, shared by its workers.
struct Delivery<S: Sender> {
    sender: S,
    /// Outcomes recorded, for `/metrics`.
    counted: crate::metrics::Deliveries,
    store: Store,
    settings: LiveSettings,
    options: DeliveryOptions,
    /// This machinery's id: the high half of its claims' tokens (see [`Delivery::claim_token`]).
    instance: i64,
    /// The number of its next claim: the low half of the token.
    claims: AtomicU32,
    /// The claims in hand (their batches being sent, or their outcomes waiting to be written).
    /// The keeper renews these and only these.
    leases: Mutex<HashMap<i64, Lease>>,
    /// The problem last logged, so it is logged once.
    last_problem: Mutex<Option<String>>,
    events: Mutex<HashMap<i64, Arc<EventContent>>>,
    /// Outcomes that could not be written yet; while there are any (`stalled`), nothing is
    /// sent or claimed.
    unrecorded: tokio::sync::Mutex<Vec<(Claimed, Outcome)>>,
    stalled: AtomicBool,
}

/// A claim in hand (see [`Delivery::leases`]).
#[derive(Debug, Clone, Copy)]
struct Lease {
    /// The end of its lease, as far as this instance knows it held (ticks).
    until: i64,
    /// Its batch is still being sent.
    sending: bool,
}

/// Starts every channel's workers; the returned task ends once `shutdown` is cancelled and
/// every message in hand is finished and recorded. `local_url` is where this instance listens
/// (the base of the links in messages while no public URL is set).
pub fn spawn(
    store: Store,
    settings: LiveSettings,
    templates: Arc<Templates>,
    options: DeliveryOptions,
    local_url: String,
    counted: crate::metrics::Deliveries,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    // Messages queued through other instances wake the workers too (PostgreSQL).
    let relay = tokio::spawn({
        let (store, shutdown) = (store.clone(), shutdown.clone());
        async move { store.relay_wakeups(shutdown).await }
    });
    let webhooks = WebhookSender::new(store.clone(), settings.clone(), templates.clone());
    let email = EmailSender::new(
        store.clone(),
        settings.clone(),
        templates.clone(),
        local_url,
        options.connections,
    );
    let sms = SmsSender::new(
        store.clone(),
        settings.clone(),
        templates.clone(),
        options.connections,
    );
    let channels = vec![
        // Twice as many messages in flight as SMTP connections: each connection has a second
        // message waiting, written together with the first one's data (see `email::smtp`).
        start(
            email,
            store.clone(),
            settings.clone(),
            DeliveryOptions {
                connections: options.connections * 2,
                ..options.clone()
            },
            counted.clone(),
            shutdown.clone(),
        ),
        // Fewer workers: webhooks are few, and each holds its own claims.
        start(
            webhooks,
            store.clone(),
            settings.clone(),
            DeliveryOptions {
                workers: options.workers.min(2),
                ..options.clone()
            },
            counted.clone(),
            shutdown.clone(),
        ),
        // The session's window (`connections` submits in flight) is the bound; each worker may
        // have twice its share waiting for it, so the window stays full while one worker is
        // between batches (claiming, recording). Texts are small and an SMSC takes tens of
        // thousands a second: batches four times as large, so claims and commits are fewer.
        start(
            sms,
            store,
            settings,
            DeliveryOptions {
                connections: options.connections * 2,
                batch_size: options.batch_size * 4,
                ..options
            },
            counted,
            shutdown.clone(),
        ),
    ];
    tokio::spawn(async move {
        for channel in channels {
            if let Err(e) = channel.await {
                tracing::error!(error = %e, "a channel's delivery failed");
            }
        }
        let _ = relay.await;
    })
}

/// Starts one channel's workers and lease keeper (see [`spawn`]).
fn start<S: Sender>(
    sender: S,
    store: Store,
    settings: LiveSettings,
    options: DeliveryOptions,
    counted: crate::metrics::Deliveries,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let delivery = Arc::new(Delivery {
        sender,
        counted,
        store,
        settings,
        instance: rand::thread_rng().gen_range(1..=i64::from(i32::MAX)),
        claims: AtomicU32::new(0),
        leases: Mutex::new(HashMap::new()),
        last_problem: Mutex::new(None),
        events: Mutex::new(HashMap::new()),
        unrecorded: Default::default(),
        stalled: AtomicBool::new(false),
        options,
    });
    tokio::spawn(async move {
        let keeper_stop = CancellationToken::new();
        let keeper = tokio::spawn(lease_keeper(delivery.clone(), keeper_stop.clone()));
        let mut workers = JoinSet::new();
        for _ in 0..delivery.options.workers.max(1) {
            workers.spawn(worker(delivery.clone(), shutdown.clone()));
        }
        while let Some(done) = workers.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a delivery worker failed");
            }
        }
        if !delivery.flush_unrecorded().await {
            let count = delivery.unrecorded.lock().await.len();
            tracing::error!(
                count,
                channel = %delivery.sender.channel(),
                "could not record delivery outcomes before stopping; these messages will be delivered again"
            );
        }
        // Leases are renewed until the last message in hand is recorded.
        keeper_stop.cancel();
        let _ = keeper.await;
        delivery.sender.shutdown().await;
    })
}

fn later(at: Timestamp, d: Duration) -> Timestamp {
    at.plus_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn lease_keeper<S: Sender>(d: Arc<Delivery<S>>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(d.options.lease / 4);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let claims: Vec<i64> = d
            .leases
            .lock()
            .expect("not poisoned")
            .keys()
            .copied()
            .collect();
        if claims.is_empty() {
            continue;
        }
        let start = d.store.now();
        let until = later(start, d.options.lease);
        match d.store.renew_claims(&claims, until).await {
            Ok(_) => d.renewed(&claims, until),
            Err(e) => tracing::warn!(error = %e, "could not renew delivery leases"),
        }
    }
}

/// Waits for new messages (queued by this process), the idle poll, or shutdown.
async fn idle(
    wake: &mut tokio::sync::watch::Receiver<u64>,
    poll: Duration,
    shutdown: &CancellationToken,
) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = wake.changed() => {}
        _ = tokio::time::sleep(poll) => {}
    }
}

/// A claimed batch, its events read and prepared by its channel: ready to send.
struct Ready<B> {
    batch: Vec<Claimed>,
    claim: i64,
    events: HashMap<i64, Arc<EventContent>>,
    prepared: B,
}

/// A batch whose sends are over, with the outcomes still to be recorded (see
/// [`Delivery::conclude`]).
struct Sent<B> {
    claim: i64,
    outcomes: Vec<(Claimed, Outcome)>,
    prepared: B,
    refused: Option<String>,
    any_sent: bool,
}

/// What a claim came to (see [`Delivery::acquire`]).
enum Acquired<B> {
    Ready(Ready<B>),
    /// Nothing was due.
    Nothing,
    /// The claim failed (logged).
    Failed,
    /// The batch could not be prepared just now: released for a little later.
    Released,
}

/// A worker keeps its connections busy across batches: while one batch is sent, the outcomes
/// of the one before are recorded and the next one is claimed and prepared (at once after a
/// full batch; after a short one once half of it has started, so the other workers take
/// their share of a short queue first). Each of those is a durable commit; done one after the other between batches
/// they left the connections idle a third of the time (BENCHMARKS.md, "SQLite delivery of a
/// million, fifth pass"). A batch claimed ahead is held under its own lease, renewed like any
/// other claim in hand, and released when the worker stops, stalls or finds the server
/// unreachable before sending it.
async fn worker<S: Sender>(d: Arc<Delivery<S>>, shutdown: CancellationToken) {
    let mut wake = d.store.outbox_queued();
    let per_worker = (d.options.connections / d.options.workers.max(1)).max(1);
    let mut stall_wait = STALL_FIRST_WAIT;
    let mut ahead: Option<Ready<S::Batch>> = None;
    let mut behind: Option<Sent<S::Batch>> = None;
    while !shutdown.is_cancelled() {
        if !d.flush_unrecorded().await {
            d.settle(&mut behind, &mut ahead, d.store.now()).await;
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(stall_wait) => {}
            }
            stall_wait = (stall_wait * 2).min(STALL_MAX_WAIT);
            continue;
        }
        stall_wait = STALL_FIRST_WAIT;
        let current = match ahead.take() {
            Some(ready) => ready,
            None => {
                // Nothing to overlap with: the last outcomes are recorded before waiting.
                if let Some(sent) = behind.take() {
                    d.conclude(sent).await;
                }
                if let Err(problem) = d.sender.ready() {
                    d.problem(&problem);
                    idle(&mut wake, d.options.idle_poll, &shutdown).await;
                    continue;
                }
                d.no_problem();
                wake.borrow_and_update();
                match d.acquire().await {
                    Acquired::Ready(ready) => ready,
                    Acquired::Released => continue,
                    Acquired::Nothing | Acquired::Failed => {
                        idle(&mut wake, d.options.idle_poll, &shutdown).await;
                        continue;
                    }
                }
            }
        };
        let (halfway, reached) = tokio::sync::oneshot::channel();
        let next = async {
            // Sent (or the batch ended, dropping the sender): claim the next one.
            let _ = reached.await;
            if shutdown.is_cancelled()
                || d.stalled.load(Ordering::SeqCst)
                || d.sender.ready().is_err()
            {
                return None;
            }
            match d.acquire().await {
                Acquired::Ready(ready) => Some(ready),
                _ => None,
            }
        };
        let last = behind.take();
        let concluded = async {
            if let Some(sent) = last {
                d.conclude(sent).await;
            }
        };
        let ((sent, unreachable), (), next) = tokio::join!(
            d.deliver(current, per_worker, &shutdown, halfway),
            concluded,
            next
        );
        behind = Some(sent);
        ahead = next;
        if unreachable {
            // The server is down: what was claimed ahead waits with the rest, and the worker
            // gives it a moment before the next batch.
            let next = later(d.store.now(), d.options.retry_base);
            d.settle(&mut behind, &mut ahead, next).await;
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(d.options.retry_base.min(Duration::from_secs(5))) => {}
            }
        }
    }
    d.settle(&mut behind, &mut ahead, d.store.now()).await;
}

impl<S: Sender> Delivery<S> {
    fn problem(&self, message: &str) {
        let mut last = self.last_problem.lock().expect("not poisoned");
        if last.as_deref() != Some(message) {
            tracing::warn!(channel = %self.sender.channel(), "{message}");
            *last = Some(message.to_owned());
        }
    }

    fn no_problem(&self) {
        let mut last = self.last_problem.lock().expect("not poisoned");
        if last.take().is_some() {
            tracing::info!(channel = %self.sender.channel(), "delivering notifications");
        }
    }

    /// Each event of the batch, read once, then cached.
    async fn events(&self, batch: &[Claimed]) -> HashMap<i64, Arc<EventContent>> {
        let mut wanted: Vec<i64> = batch.iter().filter_map(|m| m.event_id).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.events.lock().expect("not poisoned");
            for id in wanted {
                match cache.get(&id) {
                    Some(c) => {
                        found.insert(id, c.clone());
                    }
                    None => missing.push(id),
                }
            }
        }
        if !missing.is_empty() {
            match self.store.event_contents(&missing).await {
                Ok(contents) => {
                    let mut cache = self.events.lock().expect("not poisoned");
                    if cache.len() > 1024 {
                        cache.clear();
                    }
                    for content in contents {
                        let id = content.event_id;
                        let content = Arc::new(content);
                        cache.insert(id, content.clone());
                        found.insert(id, content);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read notification contents"),
            }
        }
        found
    }

    /// A new claim's token: this instance's id in the high half (so its claims can be told
    /// apart from another instance's), the claim's number in the low half.
    fn claim_token(&self) -> i64 {
        let n = self.claims.fetch_add(1, Ordering::Relaxed);
        (self.instance << 32) | i64::from(n)
    }

    /// What is left of a lease for it to count: sends start only while more than this is
    /// left, and a renewal counts only if it came back with more than this left (clocks of
    /// instances differ a little; a send takes a while).
    fn margin(&self) -> Duration {
        self.options.lease / 5
    }

    /// Is the lease of `claim` still safely ours?
    fn lease_holds(&self, claim: i64) -> bool {
        let lease = self
            .leases
            .lock()
            .expect("not poisoned")
            .get(&claim)
            .copied();
        lease.is_some_and(|lease| later(self.store.now(), self.margin()).ticks() < lease.until)
    }

    /// A renewal of `claims` until `until` came back: it extends the leases that were still
    /// held when it did. One that had run out before (the statement was slow) may have been
    /// taken by another worker meanwhile, and the renewal did not reach its rows then: it
    /// stays as it was, so its batch stops sending.
    fn renewed(&self, claims: &[i64], until: Timestamp) {
        let now = later(self.store.now(), self.margin()).ticks();
        let mut leases = self.leases.lock().expect("not poisoned");
        for claim in claims {
            if let Some(lease) = leases.get_mut(claim) {
                if now < lease.until {
                    lease.until = lease.until.max(until.ticks());
                }
            }
        }
    }

    /// The batch of `claim` is finished: its lease is no longer renewed, unless outcomes of it
    /// still wait to be written (see [`Delivery::flush_unrecorded`]).
    async fn done_with(&self, claim: i64) {
        let unrecorded = self.unrecorded.lock().await;
        let mut leases = self.leases.lock().expect("not poisoned");
        if unrecorded.iter().any(|(m, _)| m.claim == claim) {
            if let Some(lease) = leases.get_mut(&claim) {
                lease.sending = false;
            }
        } else {
            leases.remove(&claim);
        }
    }

    fn retry_window(&self) -> Duration {
        self.settings.get().retry_window
    }

    /// A temporary failure: retry after the backoff, unless that is past the retry window
    /// (then the sender hears that it was given up).
    async fn retry(&self, message: &Claimed, error: String, window: Duration) -> Outcome {
        let now = self.store.now();
        let attempts = message.attempts + 1;
        let next = later(now, self.options.backoff(attempts));
        if next > later(message.queued_at, window) {
            self.sender.gave_up(message).await;
            Outcome::Failed {
                error: format!("gave up after {attempts} attempts: {error}"),
            }
        } else {
            Outcome::Retry { error, next }
        }
    }

    /// Claims a batch of due messages under a fresh lease, reads their events and prepares
    /// it.
    async fn acquire(&self) -> Acquired<S::Batch> {
        let now = self.store.now();
        // A token of this claim alone: its lease is this batch's (see `Delivery::leases`).
        let claim = self.claim_token();
        let until = later(now, self.options.lease);
        let batch = match self
            .store
            .claim_due(
                self.sender.channel(),
                claim,
                now,
                until,
                self.options.batch_size,
            )
            .await
        {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, channel = %self.sender.channel(), "could not claim messages to deliver");
                return Acquired::Failed;
            }
        };
        if batch.is_empty() {
            return Acquired::Nothing;
        }
        // Held from the claim's start: it may have taken its rows at once. Entered only now
        // that it committed, so every renewal that includes it sees its rows.
        self.leases.lock().expect("not poisoned").insert(
            claim,
            Lease {
                until: until.ticks(),
                sending: true,
            },
        );
        let events = self.events(&batch).await;
        let Some(prepared) = self.sender.prepare(&batch, &events).await else {
            // Something the batch needs could not be had just now: it waits a little.
            let next = later(Timestamp::now(), self.options.idle_poll);
            let released = batch
                .into_iter()
                .map(|m| (m, Outcome::Released { next }))
                .collect();
            self.record(released).await;
            self.done_with(claim).await;
            return Acquired::Released;
        };
        Acquired::Ready(Ready {
            batch,
            claim,
            events,
            prepared,
        })
    }

    /// Records a sent batch's last outcomes, tells its sender, and lets its lease go.
    async fn conclude(&self, sent: Sent<S::Batch>) {
        self.record(sent.outcomes).await;
        self.sender
            .finish(sent.prepared, sent.refused, sent.any_sent)
            .await;
        self.done_with(sent.claim).await;
    }

    /// Concludes the batch sent last and releases the one claimed ahead, unsent, until
    /// `next`.
    async fn settle(
        &self,
        behind: &mut Option<Sent<S::Batch>>,
        ahead: &mut Option<Ready<S::Batch>>,
        next: Timestamp,
    ) {
        if let Some(sent) = behind.take() {
            self.conclude(sent).await;
        }
        if let Some(ready) = ahead.take() {
            let outcomes = ready
                .batch
                .into_iter()
                .map(|m| (m, Outcome::Released { next }))
                .collect();
            self.conclude(Sent {
                claim: ready.claim,
                outcomes,
                prepared: ready.prepared,
                refused: None,
                any_sent: false,
            })
            .await;
        }
    }

    /// Sends a batch, `parallel` at a time, recording outcomes as they come (at least every
    /// [`FLUSH_EVERY`], so a crash re-sends little) but the last ones, which it returns (see
    /// [`Delivery::conclude`]), with whether the server was unreachable (the messages not yet
    /// started are then released for later). `halfway` is told once half of the batch has
    /// started (at once for a full batch).
    async fn deliver(
        &self,
        ready: Ready<S::Batch>,
        parallel: usize,
        shutdown: &CancellationToken,
        halfway: tokio::sync::oneshot::Sender<()>,
    ) -> (Sent<S::Batch>, bool) {
        let Ready {
            batch,
            claim,
            events,
            prepared,
        } = ready;
        let window = self.retry_window();
        let unreachable = AtomicBool::new(false);
        let refused = std::sync::Mutex::new(None::<String>);
        // A full batch says more is due: the next one is claimed at once (a million queued
        // made its claim and tokens take longer than half a batch's sends); a short one at
        // its halfway point, so the other workers take their share of a short queue first.
        let half = match batch.len() >= self.options.batch_size {
            true => 0,
            false => batch.len() / 2,
        };
        let mut halfway = Some(halfway);
        let mut outcomes = futures::stream::iter(batch.into_iter().enumerate())
            .map(|(i, message)| {
                if i >= half {
                    if let Some(halfway) = halfway.take() {
                        let _ = halfway.send(());
                    }
                }
                // `None`: a message of no event; `Some(None)`: its event could not be read.
                let event = message.event_id.map(|id| events.get(&id).cloned());
                let (unreachable, refused, prepared) = (&unreachable, &refused, &prepared);
                async move {
                    if shutdown.is_cancelled()
                        || !self.lease_holds(claim)
                        || self.stalled.load(Ordering::SeqCst)
                    {
                        return (message, Outcome::Released { next: self.store.now() });
                    }
                    if unreachable.load(Ordering::Relaxed) {
                        let next = later(self.store.now(), self.options.retry_base);
                        return (message, Outcome::Released { next });
                    }
                    let attempt = match event {
                        None => self.sender.send_alone(prepared, &message).await,
                        Some(Some(event)) => self.sender.send(prepared, &event, &message).await,
                        Some(None) => {
                            // The content could not be read just now: try again soon.
                            let next = later(self.store.now(), self.options.idle_poll);
                            return (message, Outcome::Released { next });
                        }
                    };
                    let channel = self.sender.channel();
                    let outcome = match attempt {
                        Attempt::Sent(reply) => Outcome::Sent { reply },
                        Attempt::Delivered(reply) => Outcome::Delivered { reply },
                        Attempt::Permanent(error) => Outcome::Failed { error },
                        Attempt::Refused(error) => {
                            // Every message would meet the same refusal: the rest of the batch
                            // waits too, and the problem is shown until the settings change.
                            if !unreachable.swap(true, Ordering::Relaxed) {
                                tracing::warn!(%error, %channel, "the server refuses Herald's settings; messages wait until they are changed");
                                refused.lock().expect("not poisoned").get_or_insert(error.clone());
                            }
                            let next = later(self.store.now(), self.options.retry_base);
                            Outcome::Released { next }
                        }
                        Attempt::Temporary(error) => self.retry(&message, error, window).await,
                        Attempt::Unreachable(error) => {
                            if !unreachable.swap(true, Ordering::Relaxed) {
                                tracing::warn!(%error, %channel, "the server is unreachable; delivery will be retried");
                            }
                            self.retry(&message, error, window).await
                        }
                    };
                    (message, outcome)
                }
            })
            .buffer_unordered(parallel);
        let mut done = Vec::new();
        let mut flushed = Instant::now();
        let mut any_sent = false;
        while let Some(outcome) = outcomes.next().await {
            any_sent |= matches!(outcome.1, Outcome::Sent { .. } | Outcome::Delivered { .. });
            done.push(outcome);
            if done.len() >= FLUSH_MAX || flushed.elapsed() >= FLUSH_EVERY {
                self.record(std::mem::take(&mut done)).await;
                flushed = Instant::now();
            }
        }
        drop(outcomes);
        let refused = refused.lock().expect("not poisoned").take();
        let sent = Sent {
            claim,
            outcomes: done,
            prepared,
            refused,
            any_sent,
        };
        (sent, unreachable.load(Ordering::Relaxed))
    }

    /// Counts recorded outcomes for `/metrics`.
    fn count(&self, outcomes: &[(Claimed, Outcome)]) {
        let (mut sent, mut delivered, mut undelivered) = (0, 0, 0);
        let (mut retry, mut failed, mut released) = (0, 0, 0);
        for (_, outcome) in outcomes {
            match outcome {
                Outcome::Sent { .. } => sent += 1,
                Outcome::Delivered { .. } => delivered += 1,
                Outcome::Undelivered { .. } => undelivered += 1,
                Outcome::Retry { .. } => retry += 1,
                Outcome::Failed { .. } => failed += 1,
                Outcome::Released { .. } => released += 1,
            }
        }
        for (name, n) in [
            ("sent", sent),
            ("delivered", delivered),
            ("undelivered", undelivered),
            ("retry", retry),
            ("failed", failed),
            ("released", released),
        ] {
            if n > 0 {
                self.counted.count(self.sender.channel().as_str(), name, n);
            }
        }
    }

    /// Records outcomes; when that fails, keeps them to be written again and stalls the
    /// instance (see [`Delivery::flush_unrecorded`]).
    async fn record(&self, outcomes: Vec<(Claimed, Outcome)>) {
        if outcomes.is_empty() {
            return;
        }
        let result = self
            .store
            .record_outcomes(self.store.now(), &outcomes)
            .await;
        self.store.note_write(&result);
        if result.is_ok() {
            self.count(&outcomes);
        }
        if let Err(e) = result {
            let mut unrecorded = self.unrecorded.lock().await;
            unrecorded.extend(outcomes);
            if !self.stalled.swap(true, Ordering::SeqCst) {
                tracing::error!(
                    error = %crate::telemetry::error_chain(&e),
                    "could not record delivery outcomes: sending stops until they are recorded"
                );
            }
        }
    }

    /// Writes the outcomes kept by a failed [`Delivery::record`]; true when none are left
    /// (sending may go on).
    async fn flush_unrecorded(&self) -> bool {
        if !self.stalled.load(Ordering::SeqCst) {
            return true;
        }
        let mut unrecorded = self.unrecorded.lock().await;
        if !unrecorded.is_empty() {
            let result = self
                .store
                .record_outcomes(self.store.now(), &unrecorded)
                .await;
            self.store.note_write(&result);
            if result.is_err() {
                return false;
            }
            self.count(&unrecorded);
            tracing::info!(
                count = unrecorded.len(),
                "recorded the delivery outcomes that had waited; sending again"
            );
            let mut leases = self.leases.lock().expect("not poisoned");
            for (message, _) in unrecorded.drain(..) {
                if leases.get(&message.claim).is_some_and(|l| !l.sending) {
                    leases.remove(&message.claim);
                }
            }
        }
        self.stalled.store(false, Ordering::SeqCst);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let o = DeliveryOptions {
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(100),
            ..Default::default()
        };
        for _ in 0..50 {
            let first = o.backoff(1);
            assert!(first >= Duration::from_secs(5) && first <= Duration::from_secs(10));
            let third = o.backoff(3);
            assert!(third >= Duration::from_secs(20) && third <= Duration::from_secs(40));
            let late = o.backoff(60);
            assert!(late >= Duration::from_secs(50) && late <= Duration::from_secs(100));
        }
    }
}
