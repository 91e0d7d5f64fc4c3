//! The SMS channel's [`Sender`]: one session with the SMSC of the current settings (a new one
//! when they change), each message rendered per event, encoded and submitted; what the SMSC
//! sends back handled as it comes: receipts move messages to delivered or undelivered, a `STOP`
//! opts its number out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::inbound::Inbound;
use super::session::{Session, SessionOptions, SubmitError};
use super::{encode, text, Encoded};
use crate::config::sms_url::Smsc;
use crate::domain::phone::E164;
use crate::domain::{Actor, Channel, Claimed, EventContent, Who};
use crate::live_settings::LiveSettings;
use crate::notify::languages::BatchLanguages;
use crate::notify::sender::{Attempt, Sender};
use crate::notify::templates::{Language, Templates};
use crate::store::{SmsPart, Store};

/// How often a receipt that finds no sent message is tried again (its outcome may not be
/// written yet), and how long between tries.
const RECEIPT_TRIES: u32 = 40;
const RECEIPT_PAUSE: Duration = Duration::from_millis(250);

pub struct SmsSender {
    store: Store,
    settings: LiveSettings,
    templates: Arc<Templates>,
    options: SessionOptions,
    session: Mutex<Option<(Smsc, Session)>>,
    /// The writes of the SMSC's message ids of finished batches (see [`Sender::finish`]).
    writes: Mutex<tokio::task::JoinSet<()>>,
}

/// A claimed batch: the session, each message's text, and what the SMSC already took.
pub struct SmsBatch {
    session: Session,
    /// Each message's text (by notification), encoded once per event and language.
    texts: HashMap<i64, Arc<Result<Encoded, String>>>,
    /// The segments the SMSC accepted in earlier attempts (a later one was refused for now).
    accepted: HashMap<i64, Vec<SmsPart>>,
    /// Every part submitted in this batch, with the SMSC's message id.
    parts: Mutex<Vec<SmsPart>>,
}

/// A message's concatenation reference: the same in every attempt (so the parts of a text
/// retried after a refused segment join the ones the SMSC already took on the phone), and
/// different for consecutive texts to one number.
fn reference(notification: i64) -> u8 {
    (notification & 0xFF) as u8
}

impl SmsSender {
    pub fn new(
        store: Store,
        settings: LiveSettings,
        templates: Arc<Templates>,
        window: usize,
    ) -> SmsSender {
        // The phone number metadata is read when first used (a tenth of a second): now, not
        // in the first fan-out's transaction.
        tokio::task::spawn_blocking(|| drop(E164::normalise("+31612345678", None)));
        SmsSender {
            store,
            settings,
            templates,
            options: SessionOptions {
                window,
                ..SessionOptions::default()
            },
            session: Mutex::new(None),
            writes: Mutex::new(tokio::task::JoinSet::new()),
        }
    }

    /// The session with the SMSC of the current settings (started when they changed).
    fn session(&self) -> Result<Session, String> {
        let smsc = self.settings.get().sms.clone()?.ok_or_else(|| {
            "No SMS gateway is configured: the SMS channel is off (no texts are queued); texts \
             queued while one was set wait until one is set again (--sms-url, HERALD_SMS_URL or \
             the Settings page)."
                .to_owned()
        })?;
        let mut current = self.session.lock().expect("never poisoned");
        if let Some((config, session)) = current.as_ref() {
            if *config == smsc {
                return Ok(session.clone());
            }
            session.close();
        }
        let (session, inbound) = Session::start(smsc.clone(), self.options.clone());
        tokio::spawn(handle_inbound(self.store.clone(), inbound));
        *current = Some((smsc, session.clone()));
        Ok(session)
    }
}

/// Receipts and mobile-originated texts, until the session ends.
async fn handle_inbound(store: Store, mut inbound: tokio::sync::mpsc::UnboundedReceiver<Inbound>) {
    while let Some(message) = inbound.recv().await {
        match message {
            Inbound::Receipt {
                message_id,
                delivered,
                status,
            } => {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..RECEIPT_TRIES {
                        match store
                            .sms_receipt(&message_id, delivered, &status, store.now())
                            .await
                        {
                            Ok(true) => return,
                            Ok(false) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "a delivery receipt could not be recorded")
                            }
                        }
                        tokio::time::sleep(RECEIPT_PAUSE).await;
                    }
                    tracing::debug!(message_id, "a delivery receipt matched no sent text");
                });
            }
            Inbound::Mobile { from, text } if Inbound::is_stop(&text) => {
                let who = Who::new(Actor::Customer, None);
                match store.opt_out_number(&from, &who).await {
                    Ok(()) => tracing::info!("a number texted STOP and is opted out of texts"),
                    Err(e) => tracing::warn!(error = %e, "a STOP could not be recorded"),
                }
            }
            Inbound::Mobile { .. } => tracing::debug!("a text that is not STOP was ignored"),
        }
    }
}

impl Sender for SmsSender {
    type Batch = SmsBatch;

    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn ready(&self) -> Result<(), String> {
        self.session().map(drop)
    }

    async fn prepare(
        &self,
        batch: &[Claimed],
        events: &HashMap<i64, Arc<EventContent>>,
    ) -> Option<SmsBatch> {
        let session = self.session().ok()?;
        let settings = self.settings.get();
        let languages =
            BatchLanguages::read(&self.store, batch, settings.default_language.as_str()).await?;
        let retried: Vec<i64> = batch
            .iter()
            .filter(|m| m.attempts > 0)
            .map(|m| m.id)
            .collect();
        let accepted = match self.store.sms_accepted_segments(&retried).await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not read which segments the SMSC took; the batch waits");
                return None;
            }
        };
        // One text per event and language: a handful, however many recipients.
        let mut rendered: HashMap<(i64, Language), Arc<Result<Encoded, String>>> = HashMap::new();
        let mut texts = HashMap::new();
        for message in batch {
            let Some(content) = message.event_id.and_then(|id| events.get(&id)) else {
                continue;
            };
            let language = languages.of(message).clone();
            let text = rendered
                .entry((content.event_id, language))
                .or_insert_with_key(|(_, language)| {
                    Arc::new(
                        text::render(&self.templates, &settings, content, language)
                            .map(|(body, link)| encode(&body, &link, 0)),
                    )
                })
                .clone();
            texts.insert(message.id, text);
        }
        Some(SmsBatch {
            session,
            texts,
            accepted,
            parts: Mutex::new(Vec::new()),
        })
    }

    async fn send(&self, batch: &SmsBatch, _event: &EventContent, message: &Claimed) -> Attempt {
        let Some(number) = E164::from_digits(&message.address) else {
            return Attempt::Permanent(format!("{:?} is not an E.164 number", message.address));
        };
        let encoded = match batch.texts.get(&message.id).map(|t| &**t) {
            Some(Ok(encoded)) => encoded.with_reference(reference(message.id)),
            Some(Err(e)) => return Attempt::Permanent(e.clone()),
            None => return Attempt::Temporary("the message's event could not be read".into()),
        };
        let segments = u8::try_from(encoded.parts.len()).unwrap_or(u8::MAX);
        // The segments the SMSC took before (of this very text: if it changed meanwhile, say
        // by a new template, all of it goes again).
        let earlier: Vec<&SmsPart> = batch
            .accepted
            .get(&message.id)
            .into_iter()
            .flatten()
            .filter(|p| p.segments == segments)
            .collect();
        let skip: Vec<u8> = earlier.iter().map(|p| p.segment).collect();
        let done = batch.session.submit_parts(&number, &encoded, &skip).await;
        let parts: Vec<SmsPart> = done
            .accepted
            .iter()
            .map(|(segment, id)| SmsPart {
                notification: message.id,
                message_id: id.clone(),
                segment: *segment,
                segments,
            })
            .collect();
        let Some(error) = done.error else {
            let mut ids: Vec<(u8, &str)> = earlier
                .iter()
                .map(|p| (p.segment, p.message_id.as_str()))
                .chain(parts.iter().map(|p| (p.segment, p.message_id.as_str())))
                .collect();
            ids.sort_unstable();
            let ids: Vec<&str> = ids.into_iter().map(|(_, id)| id).collect();
            let reply = format!("accepted by the SMSC as {}", ids.join(", "));
            batch.parts.lock().expect("never poisoned").extend(parts);
            return Attempt::Sent(reply);
        };
        let taken = skip.len() + parts.len();
        if !parts.is_empty() {
            // Written now, before the outcome, so that the retry leaves them out.
            if let Err(e) = self.store.record_sms_parts(&parts).await {
                tracing::warn!(error = %e, "the segments the SMSC took could not be recorded: a retry sends them again");
            }
        }
        let why = if segments > 1 && taken > 0 {
            format!(
                "segment {} of {segments}: {error} (the SMSC has {taken} of {segments}, not sent again)",
                done.refused_segment
            )
        } else {
            error.to_string()
        };
        match error {
            SubmitError::Temporary(_) => Attempt::Temporary(why),
            SubmitError::Permanent(_) => Attempt::Permanent(why),
            SubmitError::Unavailable(_) => Attempt::Unreachable(why),
        }
    }

    /// Records the SMSC's message ids of the batch's texts in the background, so the worker
    /// claims its next batch at once (a receipt that comes first waits for it, see
    /// [`RECEIPT_TRIES`]; the segments a retry must leave out were written by `send`).
    async fn finish(&self, batch: SmsBatch, _refused: Option<String>, _any_sent: bool) {
        let parts = std::mem::take(&mut *batch.parts.lock().expect("never poisoned"));
        if parts.is_empty() {
            return;
        }
        let store = self.store.clone();
        let mut writes = self.writes.lock().expect("never poisoned");
        while writes.try_join_next().is_some() {}
        writes.spawn(async move {
            if let Err(e) = store.record_sms_parts(&parts).await {
                tracing::warn!(error = %e, "the SMSC's message ids could not be recorded: their receipts will not be matched");
            }
        });
    }

    async fn shutdown(&self) {
        let mut writes = std::mem::take(&mut *self.writes.lock().expect("never poisoned"));
        while writes.join_next().await.is_some() {}
        if let Some((_, session)) = self.session.lock().expect("never poisoned").take() {
            session.close();
        }
    }
}
