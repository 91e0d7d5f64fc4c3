//! A webhook receiver on loopback for tests: a real HTTP server (axum) that records every
//! request, checks its Standard Webhooks signature with the secret a test gives it (the one the
//! API returned), and answers with the statuses a test queues (204 once the queue is empty),
//! optionally after a delay.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Notify;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: serde_json::Value,
    /// The body as sent.
    pub raw: String,
    /// The signature checked out with the secret set at the time (`None`: no secret set).
    pub verified: Option<bool>,
    /// The status the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct Inner {
    secret: Option<String>,
    answers: VecDeque<u16>,
    delay: Duration,
    received: Vec<Delivery>,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
}

pub struct WebhookReceiver {
    pub addr: std::net::SocketAddr,
    shared: Shared,
    _server: tokio::task::JoinHandle<()>,
}

/// Whether `signature` (`v1,<base64>` entries separated by spaces) signs `id.timestamp.body`
/// with `secret` (a `whsec_` secret's key is its base64; any other secret is its own bytes).
pub fn verify(secret: &str, id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    signature.split(' ').any(|entry| {
        let Some(sig) = entry.strip_prefix("v1,") else {
            return false;
        };
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&sig).is_ok()
    })
}

async fn receive(
    State(shared): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    // Recorded on arrival, so a request that reached the receiver is known even when its
    // sender dies before the answer.
    let (answer, delay) = {
        let mut inner = shared.inner.lock().unwrap();
        let answer = inner.answers.pop_front().unwrap_or(204);
        let verified = inner
            .secret
            .as_deref()
            .map(|s| verify(s, &id, &timestamp, &body, &signature));
        inner.received.push(Delivery {
            path: uri.path().to_owned(),
            id,
            timestamp,
            signature,
            content_type: header("content-type"),
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            raw: String::from_utf8_lossy(&body).into_owned(),
            verified,
            answered: answer,
        });
        (answer, inner.delay)
    };
    shared.arrived.notify_waiters();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    StatusCode::from_u16(answer).unwrap()
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let shared = Shared {
            inner: Default::default(),
            arrived: Arc::new(Notify::new()),
        };
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            addr,
            shared,
            _server: server,
        }
    }

    /// The URL of `path` on this receiver (`/hook`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The secret signatures are checked with from now on.
    pub fn set_secret(&self, secret: &str) {
        self.shared.inner.lock().unwrap().secret = Some(secret.to_owned());
    }

    /// Answers the next requests with these statuses, in order (then 204).
    pub fn answer(&self, statuses: &[u16]) {
        self.shared
            .inner
            .lock()
            .unwrap()
            .answers
            .extend(statuses.iter().copied());
    }

    /// Waits this long before answering each request.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.inner.lock().unwrap().delay = delay;
    }

    pub fn received(&self) -> Vec<Delivery> {
        self.shared.inner.lock().unwrap().received.clone()
    }

    /// Waits until at least `n` requests arrived (or `timeout`), and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            let _ = tokio::time::timeout(deadline - Instant::now(), arrived).await;
        }
    }
}
