//! The application state every HTTP edge (API, GUI, health, OpenAPI) shares.

use std::sync::Arc;

use crate::client_address::TrustedProxies;
use crate::clock::Clock;
use crate::live_settings::LiveSettings;
use crate::notify::templates::Templates;
use crate::store::Store;

/// What every handler can reach. One `Arc`: the router clones it for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    pub store: Store,
    pub settings: LiveSettings,
    /// Whose `X-Forwarded-For` names the client (the sign-in throttle counts per address).
    pub trusted_proxies: TrustedProxies,
    /// What time it is for two-factor codes, and (the same clock, held by the store) for ticket
    /// writes, the scheduler and delivery (a manual clock in tests).
    pub clock: Clock,
    /// What `/metrics` reports (see [`crate::metrics`]).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The message templates (built-ins and the override folder), loaded at start.
    pub templates: Arc<Templates>,
    /// Where this instance listens (`http://…`), set once it serves: the base of links in
    /// emails sent from a request when no public URL is set.
    pub local_url: std::sync::OnceLock<String>,
    /// The API's answers to GETs of one entity, while nothing was committed since.
    pub answers: crate::answers::AnswerCache,
}

impl AppState {
    pub fn new(
        store: Store,
        settings: LiveSettings,
        trusted_proxies: TrustedProxies,
        templates: Arc<Templates>,
    ) -> Self {
        AppState(Arc::new(Shared {
            store,
            settings,
            trusted_proxies,
            clock: Clock::system(),
            metrics: Default::default(),
            templates,
            local_url: std::sync::OnceLock::new(),
            answers: Default::default(),
        }))
    }

    /// The base URL of links in emails sent from a request: the public URL, else where this
    /// instance listens (see [`crate::live_settings::LiveSettings::base_url`]).
    pub fn base_url(&self) -> String {
        match (&self.settings.get().public_url, self.local_url.get()) {
            (Some(public), _) => public.clone(),
            (None, Some(local)) => local.clone(),
            (None, None) => self.settings.base_url(),
        }
    }

    /// Replaces the clock, the store's too; only before the state is shared (before serving).
    pub fn set_clock(&mut self, clock: Clock) {
        let shared = Arc::get_mut(&mut self.0).expect("the clock is set before serving");
        shared.store = shared.store.clone().with_clock(clock.clone());
        shared.clock = clock;
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The address of a request's client (see [`TrustedProxies::client`]); `None` when the
/// connection's address is not known (a request made without the server's accept loop).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl ClientAddress {
    pub fn of(state: &AppState, parts: &axum::http::request::Parts) -> ClientAddress {
        use axum::extract::ConnectInfo;
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        ClientAddress(peer.map(|ip| state.trusted_proxies.client(ip, &parts.headers)))
    }
}

impl axum::extract::FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(state, parts))
    }
}
