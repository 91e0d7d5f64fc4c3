//! One SMPP 3.4 session with the SMSC, over the `smpp34` crate: bound as a transceiver (so
//! receipts and mobile-originated texts come back on it), kept alive with `enquire_link` (the
//! crate's timer), a window of `submit_sm` in flight, and bound again after a drop, with a
//! backoff that doubles up to a limit.
//!
//! The crate hands the bound session to a listener ([`smpp34::client::SmppClientListener`]);
//! this module turns that into a handle that waits for a bind, counts the window (the crate
//! does not bound requests in flight itself) and classifies the answers.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use smpp34::client::{SmppClient, SmppClientListener, BIND_TYPE, SMSC};
use smpp34::{deliver_sm, deliver_sm_resp, SmppConnectionInformation, SmppError};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_util::sync::CancellationToken;

use super::encoding::Encoded;
use super::inbound::Inbound;
use crate::config::sms_url::Smsc;
use crate::domain::phone::E164;

/// How the session runs. The defaults suit production; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// `submit_sm` in flight at once.
    pub window: usize,
    /// How long a bind may take.
    pub bind_timeout: Duration,
    /// How often the link is checked when idle.
    pub enquire_link: Duration,
    /// How long a response may take.
    pub response_timeout: Duration,
    /// The first pause before binding again; it doubles up to `backoff_max`.
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    /// How long a submit waits for a bound session before giving up ([`SubmitError::Unavailable`]).
    pub wait_for_bind: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            window: 32,
            bind_timeout: Duration::from_secs(10),
            enquire_link: Duration::from_secs(30),
            response_timeout: Duration::from_secs(30),
            backoff_first: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            wait_for_bind: Duration::from_secs(2),
        }
    }
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// The SMSC may take it later (throttled, queue full, system error, no answer).
    Temporary(String),
    /// The SMSC will never take it (an invalid destination, a refused message).
    Permanent(String),
    /// No session is bound: nothing was attempted.
    Unavailable(String),
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Temporary(s) | SubmitError::Permanent(s) | SubmitError::Unavailable(s) => {
                f.write_str(s)
            }
        }
    }
}

/// A `command_status` as people read it: its SMPP name and number.
pub fn status_name(status: u32) -> String {
    let error = SmppError::from_command_status(status);
    if error == SmppError::ESME_RUNKNOWNERR && status != SmppError::ESME_RUNKNOWNERR as u32 {
        format!("status 0x{status:08X}")
    } else {
        format!("{error:?} (0x{status:08X})")
    }
}

/// Temporary refusals are tried again; everything else is the message's fault.
pub fn classify(status: u32) -> SubmitError {
    use SmppError::*;
    let name = status_name(status);
    match SmppError::from_command_status(status) {
        ESME_RSYSERR
        | ESME_RMSGQFUL
        | ESME_RTHROTTLED
        | ESME_RX_T_APPN
        | ESME_RINVBNDSTS
        | ESME_RSUBMITFAIL
        | ESME_RDELIVERYFAILURE => {
            SubmitError::Temporary(format!("the SMSC refused it for now: {name}"))
        }
        _ => SubmitError::Permanent(format!("the SMSC refused it: {name}")),
    }
}

/// What [`Session::submit_parts`] came to.
#[derive(Debug, Default)]
pub struct Submitted {
    /// The segments accepted (1-based), with the SMSC's message ids, in order.
    pub accepted: Vec<(u8, String)>,
    /// Why the rest were not, if they were not.
    pub error: Option<SubmitError>,
    /// The segment refused (with `error`; 0 when nothing was tried).
    pub refused_segment: u8,
}

/// What the crate's listener tells the session's keeper.
enum Event {
    Bound(SMSC),
    Unbound,
    Failed(String),
}

struct Listener {
    events: mpsc::UnboundedSender<Event>,
    inbound: mpsc::UnboundedSender<Inbound>,
}

#[async_trait]
impl SmppClientListener for Listener {
    async fn on_deliver_sm(
        &self,
        pdu: deliver_sm,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> deliver_sm_resp {
        match Inbound::from_pdu(&pdu) {
            Some(inbound) => {
                let _ = self.inbound.send(inbound);
            }
            None => tracing::debug!("a deliver_sm Herald does not use was acknowledged"),
        }
        pdu.accept()
    }

    async fn on_smsc_bound(&self, smsc: SMSC, _: &String) {
        let _ = self.events.send(Event::Bound(smsc));
    }

    async fn on_smsc_unbound(&self, _: &String) {
        let _ = self.events.send(Event::Unbound);
    }

    async fn on_connection_failed(&self, error: &str) {
        let _ = self.events.send(Event::Failed(error.to_owned()));
    }
}

struct Shared {
    smsc: Smsc,
    options: SessionOptions,
    bound: watch::Sender<Option<Arc<SMSC>>>,
    window: Semaphore,
    binds: AtomicU64,
    /// Why the last attempt to bind failed, while not bound.
    problem: Mutex<Option<String>>,
}

/// A session kept bound until [`Session::close`].
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Session {
    /// Starts binding (in the background) and returns the session and what the SMSC sends.
    pub fn start(
        smsc: Smsc,
        options: SessionOptions,
    ) -> (Session, mpsc::UnboundedReceiver<Inbound>) {
        let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            window: Semaphore::new(options.window.max(1)),
            smsc,
            options,
            bound: watch::channel(None).0,
            binds: AtomicU64::new(0),
            problem: Mutex::new(None),
        });
        let stop = CancellationToken::new();
        tokio::spawn(keep_bound(shared.clone(), inbound_tx, stop.clone()));
        (Session { shared, stop }, inbound_rx)
    }

    /// How many times the session was bound.
    pub fn binds(&self) -> u64 {
        self.shared.binds.load(Ordering::SeqCst)
    }

    pub fn is_bound(&self) -> bool {
        self.shared.bound.borrow().is_some()
    }

    /// Why the session is not bound, if it tried and failed.
    pub fn problem(&self) -> Option<String> {
        self.shared.problem.lock().expect("never poisoned").clone()
    }

    /// Waits until the session is bound, up to `wait`.
    pub async fn wait_bound(&self, wait: Duration) -> bool {
        let mut rx = self.shared.bound.subscribe();
        tokio::time::timeout(wait, rx.wait_for(Option::is_some))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Submits every part of `message` to `to` (asking for a delivery receipt) and returns
    /// the SMSC's message ids, one per part.
    pub async fn submit(&self, to: &E164, message: &Encoded) -> Result<Vec<String>, SubmitError> {
        let done = self.submit_parts(to, message, &[]).await;
        match done.error {
            None => Ok(done.accepted.into_iter().map(|(_, id)| id).collect()),
            Some(e) => Err(e),
        }
    }

    /// Submits the parts of `message` whose segment (1-based) is not in `skip`, in order,
    /// stopping at the first refusal. Returns the segments the SMSC accepted, with their
    /// message ids, and the refusal, if any: a text whose later segment is refused for now is
    /// retried with the accepted ones left out (see [`super::sender`]).
    pub async fn submit_parts(&self, to: &E164, message: &Encoded, skip: &[u8]) -> Submitted {
        let mut done = Submitted::default();
        let bound = self.shared.bound.borrow().clone();
        let bound = match bound {
            Some(smsc) => Some(smsc),
            None => {
                let mut rx = self.shared.bound.subscribe();
                tokio::time::timeout(
                    self.shared.options.wait_for_bind,
                    rx.wait_for(Option::is_some),
                )
                .await
                .ok()
                .and_then(|r| r.ok().and_then(|s| s.clone()))
            }
        };
        let Some(smsc) = bound else {
            done.error = Some(SubmitError::Unavailable(
                self.problem()
                    .unwrap_or_else(|| "no session with the SMSC is bound".to_owned()),
            ));
            return done;
        };
        let (source, source_ton, source_npi) = self.shared.smsc.source.address();
        for (segment, part) in (1u8..).zip(&message.parts) {
            if skip.contains(&segment) {
                continue;
            }
            let Ok(_slot) = self.shared.window.acquire().await else {
                done.error = Some(SubmitError::Unavailable("the session is closed".into()));
                return done;
            };
            let answer = smsc
                .submit_sm()
                .source_addr(source)
                .source_addr_ton(source_ton)
                .source_addr_npi(source_npi)
                .destination_addr(to.digits())
                .dest_addr_ton(1)
                .dest_addr_npi(1)
                .esm_class(message.esm_class())
                .data_coding(message.coding.data_coding())
                .registered_delivery(1)
                .short_message(part.clone())
                .send()
                .await;
            let refused = match answer {
                Ok(resp) if resp.is_success() => {
                    done.accepted
                        .push((segment, resp.message_id.unwrap_or_default()));
                    continue;
                }
                Ok(resp) => classify(resp.command_status()),
                // A lost session, a timeout or a generic_nack.
                Err(e) => classify(e as u32),
            };
            done.refused_segment = segment;
            done.error = Some(refused);
            return done;
        }
        done
    }

    /// Unbinds and stops binding again.
    pub fn close(&self) {
        self.stop.cancel();
    }
}

/// Binds, waits for the session to end, and binds again, until stopped.
async fn keep_bound(
    shared: Arc<Shared>,
    inbound: mpsc::UnboundedSender<Inbound>,
    stop: CancellationToken,
) {
    let options = shared.options.clone();
    let mut wait = options.backoff_first;
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    while !stop.is_cancelled() {
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let listener = Arc::new(Listener {
            events: events_tx,
            inbound: inbound.clone(),
        });
        let smsc = &shared.smsc;
        let mut client = SmppClient::new_with_default_timers(
            smsc.host.clone(),
            smsc.port,
            smsc.tls,
            BIND_TYPE::TRX,
            smsc.system_id.clone(),
            smsc.password().to_owned(),
            String::new(),
            0,
            0,
            String::new(),
            listener,
            millis(options.bind_timeout),
            millis(options.enquire_link),
            millis(options.enquire_link.saturating_mul(4)),
            millis(options.response_timeout),
            64 * 1024,
            options.window,
        );
        client.start().await;
        let first = tokio::select! {
            _ = stop.cancelled() => break,
            first = tokio::time::timeout(options.bind_timeout, events.recv()) => first,
        };
        let problem = match first {
            Ok(Some(Event::Bound(session))) => {
                let session = Arc::new(session);
                shared.binds.fetch_add(1, Ordering::SeqCst);
                *shared.problem.lock().expect("never poisoned") = None;
                shared.bound.send_replace(Some(session.clone()));
                tracing::info!(smsc = %smsc.host, "bound to the SMSC as a transceiver");
                wait = options.backoff_first;
                let ended = tokio::select! {
                    _ = stop.cancelled() => None,
                    _ = events.recv() => Some(()),
                };
                shared.bound.send_replace(None);
                if ended.is_none() {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), session.send_unbind()).await;
                    client.stop().await;
                    break;
                }
                "the SMSC ended the session".to_owned()
            }
            Ok(Some(Event::Failed(e))) => e,
            Ok(Some(Event::Unbound)) => "the SMSC ended the session".to_owned(),
            Ok(None) | Err(_) => {
                "the SMSC did not accept the bind (check the system id and password)".to_owned()
            }
        };
        client.stop().await;
        tracing::warn!(smsc = %smsc.host, problem, retry_in = ?wait, "no SMS session; binding again");
        *shared.problem.lock().expect("never poisoned") = Some(problem);
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = wait.saturating_mul(2).min(options.backoff_max);
    }
    shared.bound.send_replace(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for temporary in [0x08, 0x14, 0x58, 0x64] {
            assert!(
                matches!(classify(temporary), SubmitError::Temporary(_)),
                "{temporary:#x}"
            );
        }
        for permanent in [0x0B, 0x01, 0x65, 0x12345] {
            assert!(
                matches!(classify(permanent), SubmitError::Permanent(_)),
                "{permanent:#x}"
            );
        }
        assert!(classify(0x58)
            .to_string()
            .contains("ESME_RTHROTTLED (0x00000058)"));
        assert!(classify(0x0B).to_string().contains("ESME_RINVDSTADR"));
        assert_eq!(status_name(0x12345), "status 0x00012345");
    }
}
