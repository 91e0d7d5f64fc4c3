//! [`TestApp`]: a real Herald (`herald::startup::Application`) on port 0 with its own database,
//! started by [`TestApp::builder`], with the requests tests make most.

use herald::clock::Clock;
use herald::config::{Config, Key};
use herald::domain::ticket::EventKind;
use herald::domain::ApiKey;
use herald::live_settings::{set_api_key, LiveSettings};
use herald::notify::DeliveryOptions;
use herald::startup::Application;
use herald::store::Store;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::smtp::SmtpServer;
use crate::{current_backend, postgres, Backend, KEY, MAIL_FROM};

/// A running Herald, stopped when dropped (or gracefully with [`TestApp::stop`]).
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub port: u16,
    /// A client that does not follow redirects.
    pub client: reqwest::Client,
    /// The server's database, for checking what the API cannot show.
    pub store: Store,
    pub settings: LiveSettings,
    pub database_url: String,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// How a [`TestApp`] starts: `TestApp::builder()….spawn().await`.
#[must_use = "a builder does nothing until spawned"]
pub struct TestAppBuilder {
    backend: Option<Backend>,
    database: Option<String>,
    config: Config,
    mail_from: Option<String>,
    delivery: DeliveryOptions,
    clock: Option<Clock>,
}

/// The test configuration (loopback, port 0) on the database at `url`.
pub fn test_config(url: &str) -> Config {
    Config::default()
        .with(Key::Database, url)
        .with(Key::Bind, "127.0.0.1:0")
}

impl TestApp {
    /// A Herald on a new database of the running test's backend (see `backend_tests!`),
    /// with the API key [`KEY`] and Herald's default settings.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            backend: None,
            database: None,
            config: Config::default(),
            mail_from: None,
            delivery: DeliveryOptions::default(),
            clock: None,
        }
    }

    /// `TestApp::builder().spawn()`.
    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    /// Another instance on this one's database (as several instances behind a load balancer
    /// share one), configured afresh: it does not inherit this instance's settings.
    pub fn second_instance(&self) -> TestAppBuilder {
        TestApp::builder().database(&self.database_url)
    }
}

impl TestAppBuilder {
    /// The database to create (default: the running test's backend).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Runs on the existing database at `url` instead of a new one (an older schema, a copy,
    /// a cluster of the test's own); the API key is [`KEY`] where Herald had to generate one.
    pub fn database(mut self, url: impl Into<String>) -> Self {
        self.database = Some(url.into());
        self
    }

    /// Sets `key` as if by its command-line flag.
    pub fn setting(mut self, key: Key, value: impl Into<String>) -> Self {
        self.config = self.config.with(key, value);
        self
    }

    /// Delivers to `server`, from [`MAIL_FROM`] unless [`Key::MailFrom`] is set.
    pub fn smtp(mut self, server: &SmtpServer) -> Self {
        self.config = self.config.with(Key::SmtpUrl, server.url());
        self.mail_from = Some(MAIL_FROM.to_owned());
        self
    }

    /// How the delivery workers run (e.g. [`fast_delivery`](crate::fast_delivery)).
    pub fn delivery(mut self, options: DeliveryOptions) -> Self {
        self.delivery = options;
        self
    }

    /// The clock of two-factor codes, ticket writes, the scheduler and delivery (e.g.
    /// `Clock::manual(…)`, kept by the test to move it).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds Herald, serves it, and gives it the API key [`KEY`].
    pub async fn spawn(self) -> TestApp {
        crate::init_test_log();
        let fresh = self.database.is_none();
        let (database_url, dir) = match (self.database, self.backend.unwrap_or(current_backend())) {
            (Some(url), _) => (url, None),
            (None, Backend::Sqlite) => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("herald.db").display());
                (url, Some(dir))
            }
            (None, Backend::Postgres) => (postgres::fresh_database().await, None),
        };
        let mut config = self
            .config
            .with(Key::Database, database_url.clone())
            .with(Key::Bind, "127.0.0.1:0");
        if let Some(from) = self.mail_from {
            if config.override_of(Key::MailFrom).is_none() {
                config = config.with(Key::MailFrom, from);
            }
        }
        let (mut app, first_run) = Application::build(config).await.expect("Herald builds");
        app.set_delivery_options(self.delivery);
        if let Some(clock) = self.clock {
            app.set_clock(clock);
        }
        let generated_key = first_run.generated_key.is_some();
        assert!(
            generated_key || !fresh,
            "a new database gets a generated key"
        );
        if generated_key {
            set_api_key(
                app.store(),
                &ApiKey::parse(KEY).unwrap(),
                &herald::domain::Who::cli(),
            )
            .await
            .unwrap();
            app.settings().refresh(app.store()).await.unwrap();
        }
        let port = app.port();
        let store = app.store().clone();
        let settings = app.settings().clone();
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
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
        }
    }
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

    /// PUTs `ticket` (as read) with `changes` over it; expects 204 and returns the ticket as
    /// stored then.
    pub async fn put_ticket_changes(&self, ticket: &Value, changes: Value) -> Value {
        let mut body = ticket.clone();
        for (k, v) in changes.as_object().expect("changes are an object") {
            body[k] = v.clone();
        }
        let path = format!("/api/Tickets/{}", ticket["Id"]);
        let r = self.put_json(&path, &body).await;
        assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
        crate::json(self.get(&path).await, 200).await
    }

    /// The kinds of a ticket's recorded events, oldest first.
    pub async fn ticket_event_kinds(&self, ticket: i64) -> Vec<EventKind> {
        self.store
            .ticket_events(ticket)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
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
