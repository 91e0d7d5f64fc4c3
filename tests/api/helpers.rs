//! `spawn_app()`: each test gets its own Herald server (port 0 on loopback) and its own database.
#![allow(dead_code)] // shared by several test binaries; each uses a part

use herald::config::{Config, Key};
use herald::domain::ApiKey;
use herald::live_settings::set_api_key;
use herald::startup::Application;
use herald::store::Store;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The tests' own PostgreSQL (part of the helpers, so every test binary that includes them
/// can run its tests on both backends).
#[path = "postgres.rs"]
pub mod postgres;

pub const KEY: &str = "d5XNMpburJBfJVJd";

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// The backend of the running test (set by [`backend_tests!`]).
pub fn current_backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// Runs a test body with `backend` as the one [`spawn_app`] uses.
pub async fn with_backend(backend: Backend, body: impl std::future::Future<Output = ()>) {
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
                    $crate::helpers::with_backend($crate::helpers::Backend::Sqlite, async $body).await
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    if !$crate::helpers::postgres::available(stringify!($name)) {
                        return;
                    }
                    $crate::helpers::with_backend($crate::helpers::Backend::Postgres, async $body).await
                }
            )*
        }
    };
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub store: Store,
    pub settings: herald::live_settings::LiveSettings,
    pub database_url: String,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// A fresh SQLite database file in a temporary directory.
pub fn sqlite_config(dir: &tempfile::TempDir) -> (Config, String) {
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    let config = Config::default()
        .with(Key::Database, url.clone())
        .with(Key::Bind, "127.0.0.1:0");
    (config, url)
}

/// The test configuration on the database at `url`.
pub fn database_config(url: String) -> (Config, String) {
    let config = Config::default()
        .with(Key::Database, url.clone())
        .with(Key::Bind, "127.0.0.1:0");
    (config, url)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|c| c).await
}

/// Starts Herald with the test configuration, adjusted by `adjust`, and the key [`KEY`].
pub async fn spawn_app_with(adjust: impl FnOnce(Config) -> Config) -> TestApp {
    spawn_app_built(adjust, |_| {}).await
}

/// Like [`spawn_app_with`], with `prepare` applied to the built application before it runs.
pub async fn spawn_app_built(
    adjust: impl FnOnce(Config) -> Config,
    prepare: impl FnOnce(&mut Application),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (config, database_url) = match current_backend() {
        Backend::Sqlite => sqlite_config(&dir),
        Backend::Postgres => database_config(postgres::fresh_database().await),
    };
    let (app, generated_key) = launch(adjust(config), database_url, dir, prepare).await;
    assert!(generated_key, "a new database gets a generated key");
    app
}

/// Starts another Herald instance on the database at `database_url` (as several instances
/// behind a load balancer share one), with the test configuration adjusted by `adjust`.
pub async fn spawn_instance(database_url: &str, adjust: impl FnOnce(Config) -> Config) -> TestApp {
    spawn_instance_built(database_url, adjust, |_| {}).await
}

/// [`spawn_instance`], with `prepare` applied to the application before it serves.
pub async fn spawn_instance_built(
    database_url: &str,
    adjust: impl FnOnce(Config) -> Config,
    prepare: impl FnOnce(&mut Application),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (config, database_url) = database_config(database_url.to_owned());
    launch(adjust(config), database_url, dir, prepare).await.0
}

/// Builds Herald, applies `prepare`, and serves it; where it generated an API key (a new
/// database), replaces it with [`KEY`] and says so.
async fn launch(
    config: Config,
    database_url: String,
    dir: tempfile::TempDir,
    prepare: impl FnOnce(&mut Application),
) -> (TestApp, bool) {
    let (mut app, first_run) = Application::build(config).await.expect("Herald builds");
    prepare(&mut app);
    let generated_key = first_run.generated_key.is_some();
    if generated_key {
        set_api_key(app.store(), &ApiKey::parse(KEY).unwrap())
            .await
            .unwrap();
        app.settings().refresh(app.store()).await.unwrap();
    }
    let port = app.port();
    let store = app.store().clone();
    let settings = app.settings().clone();
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store,
        settings,
        database_url,
        shutdown,
        server: Some(server),
        _dir: dir,
    };
    (app, generated_key)
}

impl TestApp {
    /// `path` with the API key added to its query string.
    pub fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}key={KEY}", self.address)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    pub async fn get_xml(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .header("Accept", "application/xml")
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_xml(&self, method: Method, path: &str, body: &str) -> Response {
        self.request(method, path)
            .header("Content-Type", "application/xml")
            .header("Accept", "application/xml")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.unwrap()
    }

    /// POSTs and returns the created entity, asserting a 201.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let r = self.post_json(path, body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, 201, "POST {path} {body}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn create_service(&self, name: &str) -> Value {
        self.create("/api/Services", &serde_json::json!({ "Name": name }))
            .await
    }

    pub async fn create_customer(
        &self,
        name: &str,
        email: Option<&str>,
        services: &[i64],
    ) -> Value {
        let services: Vec<Value> = services
            .iter()
            .map(|id| serde_json::json!({ "Id": id }))
            .collect();
        self.create(
            "/api/Customers",
            &serde_json::json!({ "Name": name, "Email": email, "Services": services }),
        )
        .await
    }

    pub async fn create_ticket(&self, description: &str, services: &[i64]) -> Value {
        let services: Vec<Value> = services
            .iter()
            .map(|id| serde_json::json!({ "Id": id }))
            .collect();
        self.create(
            "/api/Tickets",
            &serde_json::json!({ "Description": description, "Services": services, "StartTime": "2001-01-01T12:00:00Z" }),
        )
        .await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
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
pub async fn poll_until<F, Fut>(timeout: std::time::Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
