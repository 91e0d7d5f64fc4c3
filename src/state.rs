//! The application state every HTTP edge (API, GUI, health, OpenAPI) shares.

use std::sync::Arc;

use crate::client_address::TrustedProxies;
use crate::live_settings::LiveSettings;
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
}

impl AppState {
    pub fn new(store: Store, settings: LiveSettings, trusted_proxies: TrustedProxies) -> Self {
        AppState(Arc::new(Shared {
            store,
            settings,
            trusted_proxies,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
