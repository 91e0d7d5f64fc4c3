//! The [`Application`]: built from a [`Config`], asked for its port, then run. `herald serve`
//! and every test start Herald through it, so tests run the real thing on port 0.

use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, OriginalUri, Request};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::api;
use crate::client_address::TrustedProxies;
use crate::config::{spec, values, Config, Key};
use crate::domain::ApiKey;
use crate::limits::{BODY_LIMIT, REQUEST_TIMEOUT};
use crate::live_settings::{LiveSettings, API_KEY_SETTING};
use crate::notify::DeliveryOptions;
use crate::serve::ServeOptions;
use crate::state::AppState;
use crate::store::{PoolSettings, Store};

pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    shutdown: CancellationToken,
    delivery: DeliveryOptions,
    serve: ServeOptions,
}

/// What a first run did, so `serve` can tell the user.
#[derive(Debug, Default)]
pub struct FirstRun {
    /// A newly generated API key, to be shown once.
    pub generated_key: Option<ApiKey>,
}

/// Opens the database named by the configuration and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    let store = Store::connect(url.expose(), &pool_settings(config)?)
        .await
        .context("could not open the database")?;
    store
        .migrate()
        .await
        .context("could not migrate the database")?;
    Ok(store)
}

/// `--db-max-connections` when not given, on SQLite (one writer connection, the rest for
/// reads).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// `--db-max-connections` when not given, on PostgreSQL: 20 connections shared by the
/// listener, the point reads, the group commit of ticket creations and the delivery workers
/// (PostgreSQL commits concurrent transactions together; with 8, the pool had 4 connections:
/// BENCHMARKS.md, "PostgreSQL POST and fan-out, third pass"). Four instances open 80 at most,
/// under the server's default `max_connections` of 100 less its 3 reserved for superusers,
/// with room for `psql` and an instance being replaced; connections are opened only when
/// needed.
pub const PG_DEFAULT_MAX_CONNECTIONS: u32 = 20;

/// The pool size and timeout from the configuration.
pub fn pool_settings(config: &Config) -> anyhow::Result<PoolSettings> {
    let flag = |key: Key| move |e: String| anyhow::anyhow!("--{}: {e}", spec(key).flag);
    let max_connections = match config.override_of(Key::DbMaxConnections) {
        Some((given, _)) => {
            values::db_max_connections(given).map_err(flag(Key::DbMaxConnections))?
        }
        None if config.database_url().expose().starts_with("postgres") => {
            PG_DEFAULT_MAX_CONNECTIONS
        }
        None => DEFAULT_MAX_CONNECTIONS,
    };
    let acquire_timeout = values::db_acquire_timeout(&config.get(Key::DbAcquireTimeout))
        .map_err(flag(Key::DbAcquireTimeout))?;
    Ok(PoolSettings {
        max_connections,
        acquire_timeout,
    })
}

/// The message templates: the built-ins and the `--templates` folder's overrides. A broken
/// override is logged with its file and line (and shown on the Settings page); its built-in is
/// used. A folder that cannot be read stops the start.
pub fn load_templates(config: &Config) -> anyhow::Result<crate::notify::templates::Templates> {
    let folder = config
        .override_of(Key::Templates)
        .map(|(dir, _)| values::templates_folder(dir))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--templates: {e}"))?;
    let templates = crate::notify::templates::Templates::load(folder.as_deref())
        .map_err(|e| anyhow::anyhow!("--templates: {e}"))?;
    for problem in templates.problems() {
        tracing::error!(%problem, "a template override is broken; the built-in template is used");
    }
    if let Some(folder) = templates.folder() {
        tracing::info!(folder = %folder.display(), overrides = ?templates.overridden(), "message templates from the override folder");
    }
    Ok(templates)
}

impl Application {
    /// Opens and migrates the database, generates an API key on first run, and binds.
    pub async fn build(config: Config) -> anyhow::Result<(Application, FirstRun)> {
        config.check().map_err(anyhow::Error::msg)?;
        let trusted_proxies: TrustedProxies =
            values::trusted_proxies(&config.get(Key::TrustedProxies))
                .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
        let store = open_store(&config).await?;
        let mut first_run = FirstRun::default();
        // Several instances may start at once on a new database: only the one whose key is
        // stored shows it.
        let key = ApiKey::generate();
        if store
            .set_setting_if_absent(API_KEY_SETTING, &key.hash().0)
            .await?
        {
            first_run.generated_key = Some(key);
        }
        let serve = ServeOptions {
            idle_timeout: values::idle_timeout(&config.get(Key::IdleTimeout))
                .map_err(|e| anyhow::anyhow!("--idle-timeout: {e}"))?,
        };
        let bind = config.get(Key::Bind);
        let listener = TcpListener::bind(&bind)
            .await
            .with_context(|| format!("could not listen on {bind}"))?;
        let port = listener.local_addr()?.port();
        let templates = Arc::new(load_templates(&config)?);
        let config = Arc::new(config);
        let settings = LiveSettings::load(config, &store).await?;
        let state = AppState::new(store, settings, trusted_proxies, templates);
        Ok((
            Application {
                listener,
                port,
                state,
                shutdown: CancellationToken::new(),
                delivery: DeliveryOptions::default(),
                serve,
            },
            first_run,
        ))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &crate::store::Store {
        &self.state.store
    }

    pub fn settings(&self) -> &LiveSettings {
        &self.state.settings
    }

    /// Changes how the delivery workers run (tests shorten the retry delays).
    pub fn set_delivery_options(&mut self, options: DeliveryOptions) {
        self.delivery = options;
    }

    /// The clock of two-factor codes, ticket writes, the scheduler and delivery (tests set a
    /// manual one).
    pub fn set_clock(&mut self, clock: crate::clock::Clock) {
        self.state.set_clock(clock);
    }

    /// Cancelling this token stops the application as SIGTERM would.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    fn router(state: AppState) -> Router {
        Router::new()
            .merge(crate::health::router(state.clone()))
            .merge(crate::openapi::router(state.clone()))
            .merge(api::router(state.clone()))
            .merge(crate::public::router(state.clone()))
            .merge(crate::scrape::router(state.clone()))
            .merge(crate::gui::router(state.clone()))
            // The only layer on each route (the router boxes each one again per request):
            // the route's pattern, for the metrics.
            .layer(crate::scrape::RoutePatternLayer)
    }

    /// The router in its middleware, outside in: API paths lower-cased (the original kept for
    /// messages), the metrics (outermost, so a request's time includes every layer), the trace
    /// span (the key redacted), the request timeout, the body limit, the error bodies. Around
    /// the whole router, once, so nothing here is boxed per request but the trace layer's body.
    fn app(
        state: &AppState,
    ) -> impl tower::Service<
        Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send + 'static,
    > + Clone
           + Send
           + 'static {
        tower::ServiceBuilder::new()
            .map_request(|mut req: Request| {
                let original = req.uri().clone();
                if let Some(normalized) = api::normalize_path(&original) {
                    *req.uri_mut() = normalized;
                }
                req.extensions_mut().insert(OriginalUri(original));
                req
            })
            .layer(crate::scrape::TrackLayer(state.metrics.clone()))
            .map_response(|response: axum::http::Response<_>| response.map(Body::new))
            // Only when its span and its line per response are logged (a few percent of a
            // cached GET otherwise, for nothing: errors are logged where they happen).
            .option_layer(tracing::enabled!(Level::INFO).then(|| {
                tower::ServiceBuilder::new()
                    .map_response(|response: axum::http::Response<_>| response.map(Body::new))
                    .layer(
                        TraceLayer::new_for_http()
                            .make_span_with(|req: &Request| {
                                tracing::info_span!(
                                    "request",
                                    method = %req.method(),
                                    path = %crate::telemetry::redact_uri(req.uri()),
                                )
                            })
                            .on_response(DefaultOnResponse::new().level(Level::INFO)),
                    )
            }))
            .layer(crate::request_timeout::RequestTimeoutLayer(REQUEST_TIMEOUT))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(api::error::RenderErrorsLayer)
            .service(Self::router(state.clone()))
    }

    /// Serves until SIGTERM, Ctrl-C or the shutdown token; requests in flight finish first.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application {
            listener,
            state,
            shutdown,
            delivery,
            serve,
            ..
        } = self;
        state
            .settings
            .spawn_refresher(state.store.clone(), shutdown.clone());
        let delivery_poll = delivery.idle_poll;
        crate::retention::spawn(
            state.store.clone(),
            state.settings.clone(),
            shutdown.clone(),
        );
        crate::notify::sms::numbers::spawn(state.store.clone(), shutdown.clone());
        state.store.set_email_batch(delivery.batch_size);
        let workers = crate::notify::spawn(
            state.store.clone(),
            state.settings.clone(),
            state.templates.clone(),
            delivery,
            local_url(&listener),
            state.metrics.deliveries.clone(),
            shutdown.clone(),
        );
        let scheduler =
            crate::scheduler::spawn(state.store.clone(), delivery_poll, shutdown.clone());
        let _ = state.local_url.set(local_url(&listener));
        let app = Self::app(&state);
        let stop = shutdown.clone();
        crate::serve::serve(listener, app, serve, async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = shutdown_signal() => {}
            }
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await;
        shutdown.cancel();
        tracing::info!("shutting down: finishing the emails in hand");
        if let Err(e) = workers.await {
            tracing::error!(error = %e, "the delivery workers failed");
        }
        if let Err(e) = scheduler.await {
            tracing::error!(error = %e, "the scheduler failed");
        }
        state.store.close().await;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// `http://` and the address the listener is bound to (`localhost` for every address).
fn local_url(listener: &TcpListener) -> String {
    match listener.local_addr() {
        Ok(addr) if addr.ip().is_unspecified() => format!("http://localhost:{}", addr.port()),
        Ok(addr) => format!("http://{addr}"),
        Err(_) => "http://localhost".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pool_settings_come_from_the_configuration() {
        let defaults = pool_settings(&Config::default()).unwrap();
        assert_eq!(defaults.max_connections, 8);
        assert_eq!(defaults.acquire_timeout, Duration::from_secs(5));
        for url in ["postgres://h/db", "postgresql://h/db"] {
            let postgres = Config::default().with(Key::Database, url);
            assert_eq!(pool_settings(&postgres).unwrap().max_connections, 20);
            let given = postgres.with(Key::DbMaxConnections, "8");
            assert_eq!(pool_settings(&given).unwrap().max_connections, 8);
        }
        let set = Config::default()
            .with(Key::DbMaxConnections, "32")
            .with(Key::DbAcquireTimeout, "750ms");
        let set = pool_settings(&set).unwrap();
        assert_eq!(set.max_connections, 32);
        assert_eq!(set.acquire_timeout, Duration::from_millis(750));
        for (key, bad) in [
            (Key::DbMaxConnections, "0"),
            (Key::DbMaxConnections, "many"),
            (Key::DbAcquireTimeout, "0s"),
            (Key::DbAcquireTimeout, "soon"),
        ] {
            let e = pool_settings(&Config::default().with(key, bad)).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[tokio::test]
    async fn an_invalid_trusted_proxy_list_stops_the_start_with_its_reason() {
        let dir = std::env::temp_dir().join(format!("herald-proxies-{}", std::process::id()));
        let config = Config::default()
            .with(Key::Database, format!("sqlite://{}", dir.display()))
            .with(Key::TrustedProxies, "10.0.0.0/8, proxy.example");
        let e = Application::build(config).await.err().expect("refused");
        assert!(
            e.to_string()
                .contains("--trusted-proxies: \"proxy.example\""),
            "{e}"
        );
        assert!(!dir.exists(), "refused before opening the database");
    }
}
