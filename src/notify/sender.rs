//! What a channel gives the delivery machinery ([`super::worker`]): how to send one message,
//! and what that attempt came to. Everything else — claims, leases, batches, retries with
//! backoff inside the retry window, recording outcomes, stalling on a storage fault,
//! shutdown — is the machinery's, the same for every channel.
//!
//! A channel is a folder under `notify/` (`email/`, `webhook/`, `sms/`) with a type that
//! implements [`Sender`], started by [`super::worker::spawn`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use crate::domain::{Channel, Claimed, EventContent};

/// What one attempt at one message came to, as its channel sees it. The machinery turns it
/// into an [`crate::domain::Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The server took it (a mail server's or SMSC's acceptance), with its reply.
    Sent(String),
    /// The recipient has it (a webhook's 2xx), with the reply.
    Delivered(String),
    /// A temporary failure (timeout, 4xx SMTP reply, 429 or 5xx HTTP answer): retried with
    /// backoff while the retry window is open.
    Temporary(String),
    /// The server could not be reached: retried like a temporary failure, and the messages of
    /// the batch not yet started wait for a while instead of meeting the same fate.
    Unreachable(String),
    /// A permanent failure: failed at once.
    Permanent(String),
    /// The server refuses Herald's own settings (not this message): no attempt is counted, the
    /// rest of the batch waits too, and [`Sender::finish`] hears of it.
    Refused(String),
}

/// One channel's way of sending. `Batch` is what the channel prepares once per claimed batch
/// (connections, rendered layouts, links) and shares among the batch's messages.
pub trait Sender: Send + Sync + 'static {
    type Batch: Send + Sync;

    /// The channel whose queue this sender drains.
    fn channel(&self) -> Channel;

    /// Whether the channel can send now; `Err` says why not (logged once), and its messages
    /// stay queued until it can.
    fn ready(&self) -> Result<(), String>;

    /// Prepares a claimed batch, with the contents of its events. `None` releases the whole
    /// batch for a little later (something it needs could not be had just now).
    fn prepare(
        &self,
        batch: &[Claimed],
        events: &HashMap<i64, Arc<EventContent>>,
    ) -> impl Future<Output = Option<Self::Batch>> + Send;

    /// Sends one message of the batch.
    fn send(
        &self,
        batch: &Self::Batch,
        event: &EventContent,
        message: &Claimed,
    ) -> impl Future<Output = Attempt> + Send;

    /// Sends a message of the batch that tells of no event (an email channel's subscription
    /// confirmation). A channel without such messages fails them.
    fn send_alone(
        &self,
        _batch: &Self::Batch,
        _message: &Claimed,
    ) -> impl Future<Output = Attempt> + Send {
        async { Attempt::Permanent("this channel sends no messages without an event".into()) }
    }

    /// After a batch: the first refusal of Herald's settings met, if any, and whether any
    /// message went out (so a refusal shown earlier can be cleared).
    fn finish(
        &self,
        _batch: Self::Batch,
        _refused: Option<String>,
        _any_sent: bool,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The machinery gave up on a message: its temporary failures lasted the whole retry window.
    fn gave_up(&self, _message: &Claimed) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Closes what the sender keeps open; called once when delivery stops.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}
