//! The settings that can change while Herald runs (on this instance or another one sharing
//! the database): read from the database, cached, and refreshed every few seconds.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config::sms_url::Smsc;
use crate::config::values::{self, MailConfig};
use crate::config::{Config, Key};
use crate::domain::phone::Country;
use crate::domain::ticket::EventKind;
use crate::domain::{ApiKey, ApiKeyHash, Who};
use crate::store::{Store, StoreError};

/// Name under which the API key's SHA-256 digest is stored.
pub const API_KEY_SETTING: &str = "api_key_sha256";

/// Name under which the delivery workers record that the mail server refuses the current mail
/// settings: `FINGERPRINT PROBLEM`, where the fingerprint names the settings refused (see
/// [`mail_fingerprint`]), so a change of settings hides it at once.
pub const MAIL_REFUSED_SETTING: &str = "mail_refused";

/// A short digest of a mail server URL and sender, naming a mail configuration without
/// holding its password.
pub fn mail_fingerprint(url: &str, from: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(url)
        .chain_update([0])
        .chain_update(from)
        .finalize();
    hex::encode(&digest[..8])
}

/// Stores `key` as the API key (only its digest is kept).
pub async fn set_api_key(store: &Store, key: &ApiKey, who: &Who) -> Result<(), StoreError> {
    store
        .set_settings(&[(API_KEY_SETTING, Some(&key.hash().0))], who)
        .await
}

/// How often every instance re-reads the stored settings.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// One consistent view of the settings, each parsed by its setting's parser
/// ([`crate::config::values`]). A stored value that does not parse (written before the
/// Settings page checked it, or by hand) counts as unset.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub api_key: Option<ApiKeyHash>,
    pub xml_namespace: String,
    /// Without a trailing `/`.
    pub public_url: Option<String>,
    /// The mail server and sender: `Ok(None)` while either is unset, `Err` (for people) when
    /// they are set but unusable.
    pub mail: Result<Option<MailConfig>, String>,
    /// How long temporary mail failures are retried.
    pub retry_window: Duration,
    /// The lead times of maintenance reminders, longest first.
    pub maintenance_reminders: Vec<Duration>,
    /// The language of messages to recipients without one of their own.
    pub default_language: crate::domain::LanguageTag,
    /// What the mail server refused, recorded by a delivery worker: (fingerprint of the
    /// settings refused, the problem). See [`MAIL_REFUSED_SETTING`].
    pub mail_refused: Option<(String, String)>,
    /// Every operator must sign in with a second factor.
    pub require_two_factor: bool,
    /// How long the audit log keeps an entry.
    pub audit_retention: Duration,
    /// The public status page and its feeds are served (`off`: they are 404s).
    pub status_page: bool,
    /// The organisation's name on the public pages and in message footers.
    pub organisation_name: Option<String>,
    /// People may subscribe from the status page.
    pub self_subscription: bool,
    /// The bearer token of `GET /metrics` (none: it answers 404).
    pub metrics_token: Option<crate::secret::Secret<String>>,
    /// The SMSC texts go through: `Ok(None)` while unset, `Err` (for people) when unusable.
    pub sms: Result<Option<Smsc>, String>,
    /// The events texted to followers with a cell phone.
    pub sms_events: Vec<EventKind>,
    /// The country of cell phone numbers written without `+`.
    pub sms_default_country: Option<Country>,
}

/// The default of a setting that has one, parsed.
fn default_of<T>(key: Key, parse: fn(&str) -> Result<T, String>) -> T {
    let text = crate::config::spec(key)
        .default
        .expect("the setting has a default");
    parse(text).expect("every default parses")
}

impl Default for Snapshot {
    /// The defaults, with no API key and no mail server.
    fn default() -> Snapshot {
        Snapshot {
            api_key: None,
            xml_namespace: default_of(Key::XmlNamespace, values::xml_namespace),
            public_url: None,
            mail: Ok(None),
            retry_window: default_of(Key::RetryWindow, values::retry_window),
            maintenance_reminders: default_of(
                Key::MaintenanceReminders,
                values::maintenance_reminders,
            ),
            default_language: default_of(Key::DefaultLanguage, values::default_language),
            mail_refused: None,
            require_two_factor: default_of(Key::RequireTwoFactor, values::switch),
            audit_retention: default_of(Key::AuditRetention, values::audit_retention),
            status_page: default_of(Key::StatusPage, values::switch),
            organisation_name: None,
            self_subscription: default_of(Key::SelfSubscription, values::switch),
            metrics_token: None,
            sms: Ok(None),
            sms_events: default_of(Key::SmsEvents, values::sms_events),
            sms_default_country: None,
        }
    }
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

    /// The base URL of links in messages: the public URL, else `http://` and the listen
    /// address.
    pub fn base_url(&self) -> String {
        self.get()
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.config.get(Key::Bind)))
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
            self.config
                .resolve(key, name.and_then(value))
                .map(|(v, _)| v)
        };
        let defaults = Snapshot::default();
        let snapshot = Snapshot {
            api_key: value(API_KEY_SETTING).map(|v| ApiKeyHash(v.to_owned())),
            xml_namespace: resolve(Key::XmlNamespace)
                .and_then(|v| values::xml_namespace(&v).ok())
                .unwrap_or(defaults.xml_namespace),
            public_url: resolve(Key::PublicUrl).and_then(|v| values::public_url(&v).ok()),
            mail: MailConfig::from_values(
                resolve(Key::SmtpUrl).as_deref(),
                resolve(Key::MailFrom).as_deref(),
            ),
            retry_window: resolve(Key::RetryWindow)
                .and_then(|v| values::retry_window(&v).ok())
                .unwrap_or(defaults.retry_window),
            maintenance_reminders: resolve(Key::MaintenanceReminders)
                .and_then(|v| values::maintenance_reminders(&v).ok())
                .unwrap_or(defaults.maintenance_reminders),
            default_language: resolve(Key::DefaultLanguage)
                .and_then(|v| values::default_language(&v).ok())
                .unwrap_or(defaults.default_language),
            mail_refused: value(MAIL_REFUSED_SETTING)
                .and_then(|v| v.split_once(' '))
                .map(|(f, p)| (f.to_owned(), p.to_owned())),
            require_two_factor: resolve(Key::RequireTwoFactor)
                .and_then(|v| values::switch(&v).ok())
                .unwrap_or(defaults.require_two_factor),
            audit_retention: resolve(Key::AuditRetention)
                .and_then(|v| values::audit_retention(&v).ok())
                .unwrap_or(defaults.audit_retention),
            status_page: resolve(Key::StatusPage)
                .and_then(|v| values::switch(&v).ok())
                .unwrap_or(defaults.status_page),
            organisation_name: resolve(Key::OrganisationName)
                .and_then(|v| values::organisation_name(&v).ok()),
            self_subscription: resolve(Key::SelfSubscription)
                .and_then(|v| values::switch(&v).ok())
                .unwrap_or(defaults.self_subscription),
            metrics_token: resolve(Key::MetricsToken).and_then(|v| values::metrics_token(&v).ok()),
            sms: resolve(Key::SmsUrl)
                .map(|v| values::sms_url(&v))
                .transpose(),
            sms_events: resolve(Key::SmsEvents)
                .and_then(|v| values::sms_events(&v).ok())
                .unwrap_or(defaults.sms_events),
            sms_default_country: resolve(Key::SmsDefaultCountry)
                .and_then(|v| values::sms_default_country(&v).ok()),
        };
        store.set_sms_plan(crate::domain::phone::SmsPlan {
            // No gateway (or one that does not parse): the channel is off, nothing is queued.
            enabled: matches!(snapshot.sms, Ok(Some(_))),
            events: snapshot.sms_events.clone(),
            default_country: snapshot.sms_default_country,
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_secret_in_a_debug_print() {
        let snapshot = Snapshot {
            mail: MailConfig::from_values(
                Some("smtp://ops:smtp-pa55@mail.example.com:587?tls=required"),
                Some("Status <status@example.com>"),
            ),
            ..Snapshot::default()
        };
        assert!(matches!(snapshot.mail, Ok(Some(_))));
        let shown = format!("{snapshot:?} {snapshot:#?}");
        assert!(!shown.contains("pa55"), "{shown}");
        assert!(shown.contains("status@example.com"), "{shown}");
        assert_eq!(snapshot.retry_window, Duration::from_secs(24 * 3600));
        assert!(snapshot.status_page);
        assert!(!snapshot.self_subscription);
    }
}
