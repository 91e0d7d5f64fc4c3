//! Every setting Herald has, declared once.
//!
//! [`SETTINGS`] drives the command line (each setting is a global flag with an environment
//! variable), the resolution order (flag, then variable, then the value stored in the database
//! from the Settings page, then the default), and the Settings page itself.

use std::collections::BTreeMap;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches};

use crate::secret::Secret;

pub(crate) mod server_url;
pub mod sms_url;
pub mod smtp_url;
pub mod values;

/// Identifies one setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Database,
    Bind,
    SmtpUrl,
    MailFrom,
    PublicUrl,
    XmlNamespace,
    LogFormat,
    RetryWindow,
    DbMaxConnections,
    DbAcquireTimeout,
    IdleTimeout,
    TrustedProxies,
    RequireTwoFactor,
    MaintenanceReminders,
    DefaultLanguage,
    Templates,
    AuditRetention,
    StatusPage,
    OrganisationName,
    SelfSubscription,
    MetricsToken,
    SmsUrl,
    SmsEvents,
    SmsDefaultCountry,
}

/// The declaration of one setting.
#[derive(Debug)]
pub struct SettingSpec {
    pub key: Key,
    /// Long flag name, also the clap id.
    pub flag: &'static str,
    pub env: &'static str,
    /// Name under which the Settings page stores it; `None` when it cannot be stored
    /// (it is needed before the database is open, or belongs to the process).
    pub stored_as: Option<&'static str>,
    pub default: Option<&'static str>,
    pub label: &'static str,
    pub help: &'static str,
    /// A secret: never echoed in full on the Settings page or in logs.
    pub secret: bool,
}

pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        key: Key::Database,
        flag: "database",
        env: "HERALD_DATABASE_URL",
        stored_as: None,
        default: Some("sqlite://herald.db"),
        label: "Database URL",
        help: "sqlite://PATH (created when missing) or postgres://USER:PASSWORD@HOST/DB",
        secret: true,
    },
    SettingSpec {
        key: Key::Bind,
        flag: "bind",
        env: "HERALD_BIND",
        stored_as: None,
        default: Some("127.0.0.1:8080"),
        label: "Listen address",
        help: "Address and port the API and GUI listen on",
        secret: false,
    },
    SettingSpec {
        key: Key::SmtpUrl,
        flag: "smtp-url",
        env: "HERALD_SMTP_URL",
        stored_as: Some("smtp_url"),
        default: None,
        label: "Mail server URL",
        help: "smtp://host:25, smtp://user:password@host:587?tls=required (STARTTLS) or smtps://host:465",
        secret: true,
    },
    SettingSpec {
        key: Key::MailFrom,
        flag: "mail-from",
        env: "HERALD_MAIL_FROM",
        stored_as: Some("mail_from"),
        default: None,
        label: "Sender address",
        help: "From address of notification emails, e.g. \"Status <status@example.com>\"",
        secret: false,
    },
    SettingSpec {
        key: Key::PublicUrl,
        flag: "public-url",
        env: "HERALD_PUBLIC_URL",
        stored_as: Some("public_url"),
        default: None,
        label: "Public URL",
        help: "Base URL users reach Herald at (default: http:// + the listen address)",
        secret: false,
    },
    SettingSpec {
        key: Key::XmlNamespace,
        flag: "xml-namespace",
        env: "HERALD_XML_NAMESPACE",
        stored_as: Some("xml_namespace"),
        default: Some("Herald.Models"),
        label: "XML namespace",
        help: "NS in the DataContract namespace http://schemas.datacontract.org/2004/07/NS",
        secret: false,
    },
    SettingSpec {
        key: Key::LogFormat,
        flag: "log-format",
        env: "HERALD_LOG_FORMAT",
        stored_as: None,
        default: Some("text"),
        label: "Log format",
        help: "text or json; the level comes from RUST_LOG",
        secret: false,
    },
    SettingSpec {
        key: Key::RetryWindow,
        flag: "retry-window",
        env: "HERALD_RETRY_WINDOW",
        stored_as: Some("retry_window"),
        default: Some("24h"),
        label: "Retry window",
        help: "How long temporary mail failures are retried, e.g. 24h, 90m, 30s",
        secret: false,
    },
    SettingSpec {
        key: Key::DbMaxConnections,
        flag: "db-max-connections",
        env: "HERALD_DB_MAX_CONNECTIONS",
        stored_as: None,
        // 8 on SQLite, 20 on PostgreSQL (`startup::pool_settings`).
        default: None,
        label: "Database connections",
        help: "Most connections this instance opens to the database: default 8, on PostgreSQL 20 (per instance: mind the server's max_connections)",
        secret: false,
    },
    SettingSpec {
        key: Key::DbAcquireTimeout,
        flag: "db-acquire-timeout",
        env: "HERALD_DB_ACQUIRE_TIMEOUT",
        stored_as: None,
        default: Some("5s"),
        label: "Database wait",
        help: "How long a request waits for a database connection before failing with 503, e.g. 5s, 500ms",
        secret: false,
    },
    SettingSpec {
        key: Key::IdleTimeout,
        flag: "idle-timeout",
        env: "HERALD_IDLE_TIMEOUT",
        stored_as: None,
        default: Some("30s"),
        label: "Idle connections",
        help: "How long a connection may take to send a request head, or stay open idle between requests, before it is closed, e.g. 30s",
        secret: false,
    },
    SettingSpec {
        key: Key::TrustedProxies,
        flag: "trusted-proxies",
        env: "HERALD_TRUSTED_PROXIES",
        stored_as: None,
        default: None,
        label: "Trusted proxies",
        help: "Load balancers and reverse proxies in front of Herald whose X-Forwarded-For names the client, \
               as addresses or networks: 10.0.0.0/8,192.168.1.5 (none by default: the header is ignored)",
        secret: false,
    },
    SettingSpec {
        key: Key::RequireTwoFactor,
        flag: "require-two-factor",
        env: "HERALD_REQUIRE_TWO_FACTOR",
        stored_as: Some("require_two_factor"),
        default: Some("off"),
        label: "Require two-factor sign-in",
        help: "on: every operator signs in with a code from an authenticator app; one who has none set up is sent to set it up after the password (off by default)",
        secret: false,
    },
    SettingSpec {
        key: Key::MaintenanceReminders,
        flag: "maintenance-reminders",
        env: "HERALD_MAINTENANCE_REMINDERS",
        stored_as: Some("maintenance_reminders"),
        default: Some("24h,1h"),
        label: "Maintenance reminders",
        help: "How long before planned maintenance begins its followers are reminded, e.g. 24h,1h or 90s (empty or none: no reminders)",
        secret: false,
    },
    SettingSpec {
        key: Key::DefaultLanguage,
        flag: "default-language",
        env: "HERALD_DEFAULT_LANGUAGE",
        stored_as: Some("default_language"),
        default: Some("en"),
        label: "Default language",
        help: "The language of messages to customers without a Language, and to operators: a BCP 47 tag such as en or de (a language without templates falls back to en)",
        secret: false,
    },
    SettingSpec {
        key: Key::Templates,
        flag: "templates",
        env: "HERALD_TEMPLATES",
        stored_as: None,
        default: None,
        label: "Templates folder",
        help: "A folder of message templates replacing the built-in ones of the same name (e.g. DIR/email/en/_footer.txt); read at start",
        secret: false,
    },
    SettingSpec {
        key: Key::AuditRetention,
        flag: "audit-retention",
        env: "HERALD_AUDIT_RETENTION",
        stored_as: Some("audit_retention"),
        default: Some("365d"),
        label: "Audit log retention",
        help: "How long the audit log keeps an entry, e.g. 365d (the default), 90d, 12h; older entries are deleted",
        secret: false,
    },
    SettingSpec {
        key: Key::StatusPage,
        flag: "status-page",
        env: "HERALD_STATUS_PAGE",
        stored_as: Some("status_page"),
        default: Some("on"),
        label: "Public status page",
        help: "on or off: the public status page /status and its feeds (off: every public page is a 404)",
        secret: false,
    },
    SettingSpec {
        key: Key::OrganisationName,
        flag: "organisation-name",
        env: "HERALD_ORGANISATION_NAME",
        stored_as: Some("organisation_name"),
        default: None,
        label: "Organisation name",
        help: "Your organisation's name, shown on every public page and in every message footer, e.g. Acme Hosting",
        secret: false,
    },
    SettingSpec {
        key: Key::SelfSubscription,
        flag: "self-subscription",
        env: "HERALD_SELF_SUBSCRIPTION",
        stored_as: Some("self_subscription"),
        default: Some("off"),
        label: "Self-subscription",
        help: "on or off: people may subscribe from the status page (with a confirmation email)",
        secret: false,
    },
    SettingSpec {
        key: Key::MetricsToken,
        flag: "metrics-token",
        env: "HERALD_METRICS_TOKEN",
        stored_as: Some("metrics_token"),
        default: None,
        label: "Metrics token",
        help: "Bearer token Prometheus sends to scrape GET /metrics (at least 16 visible characters); unset: /metrics answers 404",
        secret: true,
    },
    SettingSpec {
        key: Key::SmsUrl,
        flag: "sms-url",
        env: "HERALD_SMS_URL",
        stored_as: Some("sms_url"),
        default: None,
        label: "SMS gateway URL",
        help: "The SMSC texts go through over SMPP 3.4: smpp://SYSTEM_ID:PASSWORD@HOST:2775?source=NAME (smpps:// for TLS); unset: no texts",
        secret: true,
    },
    SettingSpec {
        key: Key::SmsEvents,
        flag: "sms-events",
        env: "HERALD_SMS_EVENTS",
        stored_as: Some("sms_events"),
        default: Some("created,closed,reopened"),
        label: "SMS events",
        help: "Which ticket events are texted to followers with a cell phone: any of created, updated, closed, reopened, reminder (none: no texts)",
        secret: false,
    },
    SettingSpec {
        key: Key::SmsDefaultCountry,
        flag: "sms-default-country",
        env: "HERALD_SMS_DEFAULT_COUNTRY",
        stored_as: Some("sms_default_country"),
        default: None,
        label: "SMS default country",
        help: "The country of cell phone numbers written without +, as its ISO 3166 code (e.g. NL); unset: such numbers are skipped",
        secret: false,
    },
];

pub fn spec(key: Key) -> &'static SettingSpec {
    SETTINGS
        .iter()
        .find(|s| s.key == key)
        .expect("every Key is declared in SETTINGS")
}

/// The clap arguments of all settings, added as global flags to the command line.
pub fn clap_args() -> Vec<Arg> {
    SETTINGS
        .iter()
        .map(|s| {
            Arg::new(s.flag)
                .long(s.flag)
                .env(s.env)
                .global(true)
                .hide_env_values(s.secret)
                .value_name("VALUE")
                .help(s.help)
        })
        .collect()
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    Stored,
    Default,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "command-line flag",
            Source::Environment => "environment variable",
            Source::Stored => "Settings page",
            Source::Default => "default",
        }
    }
}

/// A value as given. The values of secret settings (URLs that may hold a password) are kept as
/// [`Secret`]s, so a `Debug` print of a [`Config`] shows none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Given {
    Plain(String),
    Secret(Secret<String>),
}

impl Given {
    fn new(key: Key, value: String) -> Given {
        if spec(key).secret {
            Given::Secret(Secret::new(value))
        } else {
            Given::Plain(value)
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Given::Plain(v) => v,
            Given::Secret(v) => v.expose(),
        }
    }
}

/// Values given to this process by flag or environment variable.
#[derive(Debug, Clone, Default)]
pub struct Config {
    overrides: BTreeMap<Key, (Given, Source)>,
}

impl Config {
    pub fn from_matches(matches: &ArgMatches) -> Self {
        let mut overrides = BTreeMap::new();
        for s in SETTINGS {
            if let Some(v) = matches.get_one::<String>(s.flag) {
                let source = match matches.value_source(s.flag) {
                    Some(ValueSource::EnvVariable) => Source::Environment,
                    _ => Source::Flag,
                };
                overrides.insert(s.key, (Given::new(s.key, v.clone()), source));
            }
        }
        Config { overrides }
    }

    /// Sets a value as if given by flag (used by tests and embedders).
    pub fn with(mut self, key: Key, value: impl Into<String>) -> Self {
        self.overrides
            .insert(key, (Given::new(key, value.into()), Source::Flag));
        self
    }

    pub fn override_of(&self, key: Key) -> Option<(&str, Source)> {
        self.overrides.get(&key).map(|(v, s)| (v.as_str(), *s))
    }

    /// Checks every value given by flag or environment variable with its setting's parser
    /// ([`values::check`]), except the mail server's and sender's: an unusable one leaves the
    /// emails queued (and says so) rather than stopping Herald.
    pub fn check(&self) -> Result<(), String> {
        for (key, (value, _)) in &self.overrides {
            if matches!(key, Key::SmtpUrl | Key::MailFrom) {
                continue;
            }
            values::check(*key, value.as_str())
                .map_err(|e| format!("--{}: {e}", spec(*key).flag))?;
        }
        Ok(())
    }

    /// The effective value: flag, environment, stored value, default.
    pub fn resolve(&self, key: Key, stored: Option<&str>) -> Option<(String, Source)> {
        if let Some((v, s)) = self.override_of(key) {
            return Some((v.to_owned(), s));
        }
        if let Some(v) = stored.filter(|v| !v.is_empty()) {
            return Some((v.to_owned(), Source::Stored));
        }
        spec(key).default.map(|d| (d.to_owned(), Source::Default))
    }

    /// A value that cannot be stored in the database (needed before it is open).
    pub fn get(&self, key: Key) -> String {
        self.resolve(key, None).map(|(v, _)| v).unwrap_or_default()
    }

    /// The database URL (it may hold the database's password).
    pub fn database_url(&self) -> Secret<String> {
        Secret::new(self.get(Key::Database))
    }
}

/// Parses a duration such as `24h`, `90m`, `30s` or `500ms`.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => return Some(std::time::Duration::from_millis(n)),
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86400)?,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_declared_once() {
        for s in SETTINGS {
            assert_eq!(SETTINGS.iter().filter(|o| o.key == s.key).count(), 1);
            assert_eq!(spec(s.key).flag, s.flag);
        }
    }

    #[test]
    fn flag_wins_over_stored_wins_over_default() {
        let c = Config::default();
        assert_eq!(
            c.resolve(Key::XmlNamespace, None),
            Some(("Herald.Models".into(), Source::Default))
        );
        assert_eq!(
            c.resolve(Key::XmlNamespace, Some("Stored.NS")),
            Some(("Stored.NS".into(), Source::Stored))
        );
        let c = c.with(Key::XmlNamespace, "Flag.NS");
        assert_eq!(
            c.resolve(Key::XmlNamespace, Some("Stored.NS")),
            Some(("Flag.NS".into(), Source::Flag))
        );
    }

    #[test]
    fn no_secret_in_a_debug_print() {
        let config = Config::default()
            .with(
                Key::Database,
                "postgres://herald:db-pa55@db.example.com/herald",
            )
            .with(Key::SmtpUrl, "smtp://ops:smtp-pa55@mail.example.com:587")
            .with(Key::XmlNamespace, "Acme.Models");
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("pa55"), "{shown}");
        assert!(
            shown.contains("Acme.Models"),
            "other values still show: {shown}"
        );
        assert_eq!(
            config.database_url().expose(),
            "postgres://herald:db-pa55@db.example.com/herald"
        );
    }

    #[test]
    fn start_up_checks_the_given_values() {
        assert_eq!(
            Config::default().with(Key::RetryWindow, "90m").check(),
            Ok(())
        );
        let e = Config::default()
            .with(Key::RetryWindow, "soon")
            .check()
            .unwrap_err();
        assert!(
            e.starts_with("--retry-window: ") && e.contains("\"soon\""),
            "{e}"
        );
        assert!(Config::default()
            .with(Key::PublicUrl, "nowhere")
            .check()
            .is_err());
        // An unusable mail server leaves the emails queued instead.
        assert_eq!(
            Config::default().with(Key::SmtpUrl, "http://x").check(),
            Ok(())
        );
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("24h"),
            Some(std::time::Duration::from_secs(86400))
        );
        assert_eq!(
            parse_duration("90m"),
            Some(std::time::Duration::from_secs(5400))
        );
        assert_eq!(
            parse_duration("500ms"),
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("10y"), None);
    }
}
