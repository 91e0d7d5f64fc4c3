//! What Herald's test binaries share (`tests/api`, `tests/gui` and the client's guide): the
//! [`TestApp`] builder that starts a real Herald on port 0 with its own database, the backend
//! a test runs on ([`backend_tests!`]), the tests' own PostgreSQL ([`postgres`]), a scriptable
//! SMTP server ([`smtp`]), an SMSC ([`smsc`]), and small helpers for responses and waiting.
//!
//! ```ignore
//! let smtp = SmtpServer::start().await;
//! let app = TestApp::builder()
//!     .setting(Key::RetryWindow, "400ms")
//!     .smtp(&smtp)
//!     .delivery(fast_delivery())
//!     .spawn()
//!     .await;
//! let other = app.second_instance().spawn().await;
//! ```
//!
//! `TEST_LOG=1 cargo test …` shows the servers' logs (`tracing`, filtered by `RUST_LOG`): with
//! a failing test's output, or all of it with `--nocapture`.

mod app;
mod audit;
mod log;
pub mod postgres;
pub mod python;
mod refused;
pub mod smsc;
pub mod smtp;
pub mod webhooks;

use std::future::Future;
use std::time::{Duration, Instant};

use herald::notify::DeliveryOptions;
use reqwest::Response;
use serde_json::Value;

pub use app::{test_config, TestApp, TestAppBuilder};
pub use audit::audit_entries;
pub use log::init_test_log;
pub use refused::RefusedPort;
pub use smsc::TestSmsc;
pub use smtp::SmtpServer;

/// The API key of every test server.
pub const KEY: &str = "d5XNMpburJBfJVJd";

/// The sender address [`TestAppBuilder::smtp`] configures unless a test sets its own.
pub const MAIL_FROM: &str = "Herald Status <status@herald.test>";

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// The backend of the running test (set by [`backend_tests!`]; SQLite elsewhere).
pub fn current_backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// Runs a test body with `backend` as the one [`TestApp::builder`] uses.
pub async fn with_backend(backend: Backend, body: impl Future<Output = ()>) {
    BACKEND.scope(backend, body).await
}

/// Writes tests once and runs each on every backend: `backend_tests! { async fn name() { … } }`
/// generates `sqlite::name` and `postgres::name` (which says SKIPPED and returns where no
/// PostgreSQL is installed, outside CI).
#[macro_export]
macro_rules! backend_tests {
    ($(async fn $name:ident() $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::with_backend($crate::Backend::Sqlite, async $body).await
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    if !$crate::postgres::available(stringify!($name)) {
                        return;
                    }
                    $crate::with_backend($crate::Backend::Postgres, async $body).await
                }
            )*
        }
    };
}

/// Delivery with short waits, so retries happen within a test.
pub fn fast_delivery() -> DeliveryOptions {
    DeliveryOptions {
        workers: 2,
        connections: 4,
        batch_size: 50,
        retry_base: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        idle_poll: Duration::from_millis(50),
        ..Default::default()
    }
}

/// The JSON body of a response, asserting its status.
pub async fn json(response: Response, status: u16) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got.as_u16(), status, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The text body of a response, asserting its status.
pub async fn text(response: Response, status: u16) -> String {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got.as_u16(), status, "body: {text}");
    text
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub async fn poll_until<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
