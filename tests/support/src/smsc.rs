//! An SMSC on loopback for the tests, built on the server side of the same crate Herald's
//! client uses (`smpp34`): it accepts binds, records every `submit_sm` (destination, data
//! coding, concatenation header, the text decoded by its own GSM 03.38 / UCS-2 reader), and on
//! request answers with error statuses, drops its sessions (an `unbind`), and sends delivery
//! receipts and mobile-originated texts.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use smpp34::server::ESME;
use smpp34::{
    bind_transceiver, bind_transceiver_resp, submit_sm, submit_sm_resp, SmppConnectionInformation,
    SmppError, SmppServer, SmppServerListener, Tlv, TlvTag,
};

/// The system id and password the test SMSC accepts.
pub const SYSTEM_ID: &str = "herald";
pub const PASSWORD: &str = "s3cret";

/// One `submit_sm` as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub destination: String,
    pub dest_ton: u8,
    pub source: String,
    pub data_coding: u8,
    pub esm_class: u8,
    pub registered_delivery: u8,
    /// The concatenation header: (reference, total, number).
    pub udh: Option<(u8, u8, u8)>,
    /// The text of this part, decoded.
    pub text: String,
    /// The status answered (0: accepted) and the message id given when accepted.
    pub status: u32,
    pub message_id: Option<String>,
}

/// A whole message: its parts joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub destination: String,
    pub data_coding: u8,
    pub segments: usize,
    pub text: String,
    pub message_ids: Vec<String>,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Statuses to answer the next submits with, in order (then: accept).
    next_statuses: VecDeque<u32>,
    /// Statuses always answered for a destination.
    refuse: HashMap<String, u32>,
    esmes: HashMap<String, Arc<ESME>>,
    binds: usize,
    refused_binds: usize,
    counter: u64,
    /// Answer every submit without recording it (the benchmark's SMSC).
    count_only: bool,
    accepted: u64,
    /// How long each submit is held before its answer (a slow SMSC).
    delay: std::time::Duration,
}

#[derive(Clone, Default)]
struct Handler(Arc<Mutex<State>>);

/// The GSM 03.38 default alphabet, code by code (the escape 0x1B as a space).
const GSM: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                   ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The test SMSC's own reader of the text it received.
pub fn decode(data_coding: u8, bytes: &[u8]) -> String {
    if data_coding == 8 {
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|p| u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let table: Vec<char> = GSM.chars().collect();
    let mut out = String::new();
    let mut escape = false;
    for &b in bytes {
        if escape {
            escape = false;
            out.push(match b {
                0x0A => '\u{0C}',
                0x14 => '^',
                0x28 => '{',
                0x29 => '}',
                0x2F => '\\',
                0x3C => '[',
                0x3D => '~',
                0x3E => ']',
                0x40 => '|',
                0x65 => '€',
                _ => '?',
            });
        } else if b == 0x1B {
            escape = true;
        } else {
            out.push(*table.get(usize::from(b)).unwrap_or(&'?'));
        }
    }
    out
}

#[async_trait]
impl SmppServerListener for Handler {
    async fn on_bind_transceiver(
        &self,
        req: bind_transceiver,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> bind_transceiver_resp {
        let mut state = self.0.lock().unwrap();
        if req.system_id == SYSTEM_ID && req.password == PASSWORD {
            state.binds += 1;
            req.accept("TestSMSC".to_owned(), Some(0x34))
        } else {
            state.refused_binds += 1;
            req.reject(SmppError::ESME_RINVPASWD)
        }
    }

    async fn on_esme_bound(&self, esme: ESME, session_id: &String) {
        self.0
            .lock()
            .unwrap()
            .esmes
            .insert(session_id.clone(), Arc::new(esme));
    }

    async fn on_esme_unbound(&self, session_id: &String) {
        self.0.lock().unwrap().esmes.remove(session_id);
    }

    async fn on_submit_sm(
        &self,
        req: submit_sm,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> submit_sm_resp {
        let (message_id, status, delay) = self.record(&req);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match message_id {
            Some(id) => req.accept(id),
            None => req.reject(error_for(status).unwrap_or(SmppError::ESME_RSYSERR)),
        }
    }
}

impl Handler {
    /// Records a submit; returns the message id (accepted) or the status, and the delay.
    fn record(&self, req: &submit_sm) -> (Option<String>, u32, std::time::Duration) {
        let mut state = self.0.lock().unwrap();
        if state.count_only {
            state.accepted += 1;
            return (Some(format!("b{}", state.accepted)), 0, state.delay);
        }
        let status = state
            .refuse
            .get(&req.destination_addr)
            .copied()
            .or_else(|| state.next_statuses.pop_front())
            .unwrap_or(0);
        let (udh, body) = if req.esm_class & 0x40 != 0 && req.short_message.len() >= 6 {
            let m = &req.short_message;
            (Some((m[3], m[4], m[5])), &m[usize::from(m[0]) + 1..])
        } else {
            (None, &req.short_message[..])
        };
        let message_id = (status == 0).then(|| {
            state.counter += 1;
            format!("m{}", state.counter)
        });
        state.received.push(Received {
            destination: req.destination_addr.clone(),
            dest_ton: req.dest_addr_ton,
            source: req.source_addr.clone(),
            data_coding: req.data_coding,
            esm_class: req.esm_class,
            registered_delivery: req.registered_delivery,
            udh,
            text: decode(req.data_coding, body),
            status,
            message_id: message_id.clone(),
        });
        (message_id, status, state.delay)
    }
}

/// The crate's error for a status (it rejects with its enum).
fn error_for(status: u32) -> Option<SmppError> {
    let e = SmppError::from_command_status(status);
    (e as u32 == status).then_some(e)
}

/// The SMSC; stopped when dropped.
pub struct TestSmsc {
    pub port: u16,
    handler: Handler,
    server: SmppServer,
}

impl TestSmsc {
    pub async fn start() -> TestSmsc {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let handler = Handler::default();
        let mut server = SmppServer::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            Arc::new(handler.clone()),
        );
        server.start().await;
        assert!(server.is_alive(), "the test SMSC listens on {port}");
        TestSmsc {
            port,
            handler,
            server,
        }
    }

    /// An SMSC that accepts every submit and records only how many (for the benchmark).
    pub async fn start_counting() -> TestSmsc {
        let smsc = TestSmsc::start().await;
        smsc.handler.0.lock().unwrap().count_only = true;
        smsc
    }

    /// The URL Herald binds with (`source` names the sender).
    pub fn url(&self) -> String {
        format!(
            "smpp://{SYSTEM_ID}:{PASSWORD}@127.0.0.1:{}?source=Herald",
            self.port
        )
    }

    pub fn received(&self) -> Vec<Received> {
        self.handler.0.lock().unwrap().received.clone()
    }

    /// The accepted messages, parts joined, in the order their first part came.
    pub fn messages(&self) -> Vec<Message> {
        let mut out: Vec<Message> = Vec::new();
        let mut open: HashMap<(String, u8), usize> = HashMap::new();
        for r in self.received().into_iter().filter(|r| r.status == 0) {
            let id = r.message_id.clone().unwrap_or_default();
            if let Some((reference, _, number)) = r.udh {
                let key = (r.destination.clone(), reference);
                if number > 1 {
                    if let Some(&at) = open.get(&key) {
                        out[at].text.push_str(&r.text);
                        out[at].segments += 1;
                        out[at].message_ids.push(id);
                        continue;
                    }
                }
                open.insert(key, out.len());
            }
            out.push(Message {
                destination: r.destination,
                data_coding: r.data_coding,
                segments: 1,
                text: r.text,
                message_ids: vec![id],
            });
        }
        out
    }

    /// How many submits were accepted (counting mode too).
    pub fn accepted(&self) -> u64 {
        let state = self.handler.0.lock().unwrap();
        state.accepted + state.received.iter().filter(|r| r.status == 0).count() as u64
    }

    pub fn binds(&self) -> usize {
        self.handler.0.lock().unwrap().binds
    }

    pub fn refused_binds(&self) -> usize {
        self.handler.0.lock().unwrap().refused_binds
    }

    pub fn bound_sessions(&self) -> usize {
        self.handler.0.lock().unwrap().esmes.len()
    }

    /// Each submit is answered after `delay` (the submit is recorded when it arrives).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.handler.0.lock().unwrap().delay = delay;
    }

    /// How many texts went to each destination (accepted ones, parts joined).
    pub fn destinations(&self) -> HashMap<String, usize> {
        let mut seen = HashMap::new();
        for m in self.messages() {
            *seen.entry(m.destination).or_default() += 1;
        }
        seen
    }

    /// The next submits are answered with these statuses, in order (0 accepts).
    pub fn answer_next(&self, statuses: &[u32]) {
        self.handler
            .0
            .lock()
            .unwrap()
            .next_statuses
            .extend(statuses);
    }

    /// Every submit to `destination` (digits, as submitted) is answered with `status`.
    pub fn refuse(&self, destination: &str, status: u32) {
        self.handler
            .0
            .lock()
            .unwrap()
            .refuse
            .insert(destination.to_owned(), status);
    }

    /// Ends every session (the SMSC sends `unbind`).
    pub async fn drop_sessions(&self) {
        let esmes: Vec<Arc<ESME>> = self
            .handler
            .0
            .lock()
            .unwrap()
            .esmes
            .values()
            .cloned()
            .collect();
        for esme in esmes {
            let _ = esme.send_unbind().await;
        }
    }

    fn any_esme(&self) -> Arc<ESME> {
        self.handler
            .0
            .lock()
            .unwrap()
            .esmes
            .values()
            .next()
            .cloned()
            .expect("a bound session")
    }

    /// Sends a delivery receipt for `message_id` (text and TLVs, as SMSCs do).
    pub async fn receipt(&self, message_id: &str, delivered: bool) {
        let (stat, state) = if delivered {
            ("DELIVRD", 2)
        } else {
            ("UNDELIV", 5)
        };
        let text = format!(
            "id:{message_id} sub:001 dlvrd:00{} submit date:2612011200 done date:2612011201 stat:{stat} err:000 text:",
            u8::from(delivered)
        );
        self.any_esme()
            .deliver_sm()
            .source_addr("31612345678")
            .destination_addr("Herald")
            .esm_class(0x04)
            .short_message(text.into_bytes())
            .tlvs([
                Tlv::from_c_string(TlvTag::ReceiptedMessageId, message_id),
                Tlv::from_u8(TlvTag::MessageStateTlv, state),
            ])
            .send()
            .await
            .expect("the receipt is acknowledged");
    }

    /// Sends a text from the phone `from` (digits) to Herald, in GSM 03.38.
    pub async fn mobile(&self, from: &str, text: &str) {
        self.any_esme()
            .deliver_sm()
            .source_addr_ton(1)
            .source_addr_npi(1)
            .source_addr(from)
            .destination_addr("Herald")
            .short_message(text.as_bytes().to_vec())
            .send()
            .await
            .expect("the text is acknowledged");
    }

    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}
