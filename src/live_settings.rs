//! The settings that can change while Herald runs (on this instance or another one sharing
//! the database): read from the database, cached, and refreshed every few seconds.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config::{Config, Key, Source};
use crate::domain::{ApiKey, ApiKeyHash};
use crate::store::{Store, StoreError};

/// Name under which the API key's SHA-256 digest is stored.
pub const API_KEY_SETTING: &str = "api_key_sha256";

/// Stores `key` as the API key (only its digest is kept).
pub async fn set_api_key(store: &Store, key: &ApiKey) -> Result<(), StoreError> {
    store
        .set_setting(API_KEY_SETTING, Some(&key.hash().0))
        .await
}

/// How often every instance re-reads the stored settings.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// One consistent view of the settings.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub api_key: Option<ApiKeyHash>,
    pub xml_namespace: String,
    pub public_url: Option<String>,
    pub smtp_url: Option<(String, Source)>,
    pub mail_from: Option<(String, Source)>,
    pub retry_window: Option<(String, Source)>,
}

#[derive(Debug, Clone)]
pub struct LiveSettings {
    config: Arc<Config>,
    current: Arc<RwLock<Arc<Snapshot>>>,
}

impl LiveSettings {
    pub async fn load(config: Arc<Config>, store: &Store) -> Result<Self, StoreError> {
        let live = LiveSettings {
            config,
            current: Arc::new(RwLock::new(Arc::new(Snapshot::default()))),
        };
        live.refresh(store).await?;
        Ok(live)
    }

    pub fn get(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .expect("settings lock is never poisoned")
            .clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Re-reads the stored settings (call after changing one, for immediate effect here).
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let stored = store.all_settings().await?;
        let value = |name: &str| {
            stored
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let resolve = |key: Key| {
            let name = crate::config::spec(key).stored_as;
            self.config.resolve(key, name.and_then(value))
        };
        let snapshot = Snapshot {
            api_key: value(API_KEY_SETTING).map(|v| ApiKeyHash(v.to_owned())),
            xml_namespace: resolve(Key::XmlNamespace)
                .map(|(v, _)| v)
                .unwrap_or_default(),
            public_url: resolve(Key::PublicUrl).map(|(v, _)| v.trim_end_matches('/').to_owned()),
            smtp_url: resolve(Key::SmtpUrl),
            mail_from: resolve(Key::MailFrom),
            retry_window: resolve(Key::RetryWindow),
        };
        *self
            .current
            .write()
            .expect("settings lock is never poisoned") = Arc::new(snapshot);
        Ok(())
    }

    /// Keeps the cache fresh until the token is cancelled.
    pub fn spawn_refresher(&self, store: Store, shutdown: tokio_util::sync::CancellationToken) {
        let live = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = live.refresh(&store).await {
                            tracing::warn!(error = %e, "could not refresh settings");
                        }
                    }
                }
            }
        });
    }
}
