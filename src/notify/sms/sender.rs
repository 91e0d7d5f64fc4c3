//! The SMS channel's [`Sender`]: one session with the SMSC of the current settings (a new one
//! when they change), each message rendered per event, encoded and submitted; what the SMSC
//! sends back handled as it comes: receipts move messages to delivered or undelivered, a `STOP`
//! opts its number out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::inbound::Inbound;
use super::session::{Session, SessionOptions, SubmitError};
use super::{encode, text};
use crate::config::sms_url::Smsc;
use crate::domain::phone::E164;
use crate::domain::{Actor, Channel, Claimed, EventContent, Who};
use crate::live_settings::LiveSettings;
use crate::notify::sender::{Attempt, Sender};
use crate::notify::templates::Templates;
use crate::store::Store;

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
}

/// A claimed batch: the session, and each event's text.
pub struct SmsBatch {
    session: Session,
    texts: HashMap<i64, Result<(String, String), String>>,
    /// The SMSC's message id of every part submitted: (notification, message id).
    parts: Mutex<Vec<(i64, String)>>,
}

impl SmsSender {
    pub fn new(
        store: Store,
        settings: LiveSettings,
        templates: Arc<Templates>,
        window: usize,
    ) -> SmsSender {
        SmsSender {
            store,
            settings,
            templates,
            options: SessionOptions {
                window,
                ..SessionOptions::default()
            },
            session: Mutex::new(None),
        }
    }

    /// The session with the SMSC of the current settings (started when they changed).
    fn session(&self) -> Result<Session, String> {
        let smsc = self.settings.get().sms.clone()?.ok_or_else(|| {
            "No SMS gateway is configured: texts stay queued until one is set (--sms-url, \
             HERALD_SMS_URL or the Settings page)."
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
        let mut texts = HashMap::new();
        for message in batch {
            if let Some(content) = message.event_id.and_then(|id| events.get(&id)) {
                texts
                    .entry(content.event_id)
                    .or_insert_with(|| text::render(&self.templates, &settings, content));
            }
        }
        Some(SmsBatch {
            session,
            texts,
            parts: Mutex::new(Vec::new()),
        })
    }

    async fn send(&self, batch: &SmsBatch, event: &EventContent, message: &Claimed) -> Attempt {
        let Some(number) = E164::from_digits(&message.address) else {
            return Attempt::Permanent(format!("{:?} is not an E.164 number", message.address));
        };
        let (body, link) = match batch.texts.get(&event.event_id) {
            Some(Ok(text)) => text,
            Some(Err(e)) => return Attempt::Permanent(e.clone()),
            None => return Attempt::Temporary("the message's event could not be read".into()),
        };
        let encoded = encode(body, link, rand::random());
        match batch.session.submit(&number, &encoded).await {
            Ok(ids) => {
                let reply = format!("accepted by the SMSC as {}", ids.join(", "));
                batch
                    .parts
                    .lock()
                    .expect("never poisoned")
                    .extend(ids.into_iter().map(|id| (message.id, id)));
                Attempt::Sent(reply)
            }
            Err(SubmitError::Temporary(e)) => Attempt::Temporary(e),
            Err(SubmitError::Permanent(e)) => Attempt::Permanent(e),
            Err(SubmitError::Unavailable(e)) => Attempt::Unreachable(e),
        }
    }

    async fn finish(&self, batch: SmsBatch, _refused: Option<String>, _any_sent: bool) {
        let parts = std::mem::take(&mut *batch.parts.lock().expect("never poisoned"));
        if let Err(e) = self.store.record_sms_parts(&parts).await {
            tracing::warn!(error = %e, "the SMSC's message ids could not be recorded: their receipts will not be matched");
        }
    }

    async fn shutdown(&self) {
        if let Some((_, session)) = self.session.lock().expect("never poisoned").take() {
            session.close();
        }
    }
}
