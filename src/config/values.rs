//! Each setting's value parsed and validated by one function, whoever gives it: start-up
//! checks the flags and environment variables with it, the live settings parse the effective
//! values with it, the Settings page checks what was typed with it.
//!
//! The messages are for people; start-up prefixes the flag (`--retry-window: …`).

use std::time::Duration;

use lettre::message::Mailbox;

use super::sms_url::Smsc;
use super::smtp_url::Server;
use super::{parse_duration, Key};
use crate::client_address::TrustedProxies;
use crate::domain::phone::Country;
use crate::domain::ticket::EventKind;
use crate::secret::Secret;

/// How long temporary mail failures are retried: a duration above zero.
pub fn retry_window(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("Give a duration such as 24h, 90m or 30s, not {text:?}."))
}

/// The lead times of maintenance reminders: durations separated by commas (`24h,1h`, `90s`),
/// each above zero, longest first, each once; empty (or `none`) for no reminders.
pub fn maintenance_reminders(text: &str) -> Result<Vec<Duration>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut leads = trimmed
        .split(',')
        .map(|part| parse_duration(part).filter(|d| !d.is_zero()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            format!(
                "Give lead times such as 24h,1h or 90s (each above zero, separated by commas; \
                 empty for none), not {text:?}."
            )
        })?;
    leads.sort_unstable_by(|a, b| b.cmp(a));
    leads.dedup();
    Ok(leads)
}

/// How long the audit log keeps an entry: at least an hour.
pub fn audit_retention(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .filter(|d| *d >= Duration::from_secs(3600))
        .ok_or_else(|| {
            format!("Give a duration of at least an hour such as 365d, 90d or 12h, not {text:?}.")
        })
}

/// The most database connections of this instance: 1 to 10,000.
pub fn db_max_connections(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| format!("Give a number from 1 to 10000, not {text:?}."))
}

/// How long a request waits for a database connection: a duration above zero.
pub fn db_acquire_timeout(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("Give a duration such as 5s or 500ms, not {text:?}."))
}

/// How long a connection may wait for a request head: a duration above zero.
pub fn idle_timeout(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("Give a duration such as 30s or 5s, not {text:?}."))
}

/// The base URL users reach Herald at, without a trailing `/`.
pub fn public_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text.trim()) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.query().is_none() =>
        {
            Ok(text.trim().trim_end_matches('/').to_owned())
        }
        _ => Err(
            "The public URL must be an http:// or https:// address, e.g. https://status.example.com."
                .into(),
        ),
    }
}

/// The DataContract namespace's last part: printable, nothing XML would need escaped.
pub fn xml_namespace(text: &str) -> Result<String, String> {
    let ok = text.len() <= 200
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '&' | '"' | '\''));
    if ok {
        Ok(text.to_owned())
    } else {
        Err("The XML namespace may use letters, digits and punctuation such as . / : - _ (no spaces, at most 200).".into())
    }
}

/// The sender of notification emails: `address` or `Name <address>`.
pub fn mail_from(text: &str) -> Result<Mailbox, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an email address (\"Name <address>\" is fine)."))
}

/// The mail server: `smtp://…` or `smtps://…`.
pub fn smtp_url(text: &str) -> Result<Server, String> {
    Server::from_url(text)
}

/// Load balancers whose `X-Forwarded-For` is believed.
pub fn trusted_proxies(text: &str) -> Result<TrustedProxies, String> {
    text.parse()
}

/// A switch: `on`/`off` (also `true`/`false`, `yes`/`no`, `1`/`0`), ignoring case.
pub fn switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{text:?} is neither on nor off.")),
    }
}

/// The organisation's name on the public pages and in message footers: one line of at most
/// 200 characters.
pub fn organisation_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        Err("The organisation name must be one line of 1 to 200 characters.".into())
    } else {
        Ok(name.to_owned())
    }
}

/// The bearer token of `GET /metrics`: 16 to 200 visible ASCII characters.
pub fn metrics_token(text: &str) -> Result<Secret<String>, String> {
    let token = text.trim();
    if token.len() < 16 || token.len() > 200 {
        return Err("The metrics token must be 16 to 200 characters long.".into());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("The metrics token must be visible ASCII characters, without spaces.".into());
    }
    Ok(Secret::new(token.to_owned()))
}

/// The default language of messages: a BCP 47 tag.
pub fn default_language(text: &str) -> Result<crate::domain::LanguageTag, String> {
    crate::domain::LanguageTag::parse(text)
}

/// The override folder of the message templates: it must be a folder.
pub fn templates_folder(text: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(text.trim());
    if path.is_dir() {
        Ok(path)
    } else {
        Err(format!(
            "{:?} is not a folder Herald can read.",
            text.trim()
        ))
    }
}

/// The SMSC texts go through: `smpp://…` or `smpps://…`.
pub fn sms_url(text: &str) -> Result<Smsc, String> {
    Smsc::from_url(text)
}

/// The events texted to followers: event names separated by commas, each once; empty (or
/// `none`) for none.
pub fn sms_events(text: &str) -> Result<Vec<EventKind>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    for part in trimmed.split(',') {
        let kind = EventKind::parse(&part.trim().to_ascii_lowercase())
            .filter(|k| SMS_EVENTS.contains(k))
            .ok_or_else(|| {
                format!(
                    "Give events from created, updated, closed, reopened and reminder, separated \
                     by commas (empty for none), not {text:?}."
                )
            })?;
        if !events.contains(&kind) {
            events.push(kind);
        }
    }
    Ok(events)
}

/// The events that may be texted.
const SMS_EVENTS: [EventKind; 5] = [
    EventKind::Created,
    EventKind::Updated,
    EventKind::Closed,
    EventKind::Reopened,
    EventKind::Reminder,
];

/// The country of numbers written without `+`.
pub fn sms_default_country(text: &str) -> Result<Country, String> {
    Country::parse(text)
}

/// Checks a value given for `key` with that setting's parser.
pub fn check(key: Key, text: &str) -> Result<(), String> {
    match key {
        Key::SmtpUrl => smtp_url(text).map(drop),
        Key::MailFrom => mail_from(text).map(drop),
        Key::PublicUrl => public_url(text).map(drop),
        Key::XmlNamespace => xml_namespace(text).map(drop),
        Key::RetryWindow => retry_window(text).map(drop),
        Key::DbMaxConnections => db_max_connections(text).map(drop),
        Key::DbAcquireTimeout => db_acquire_timeout(text).map(drop),
        Key::IdleTimeout => idle_timeout(text).map(drop),
        Key::TrustedProxies => trusted_proxies(text).map(drop),
        Key::RequireTwoFactor => switch(text).map(drop),
        Key::MaintenanceReminders => maintenance_reminders(text).map(drop),
        Key::DefaultLanguage => default_language(text).map(drop),
        Key::Templates => templates_folder(text).map(drop),
        Key::AuditRetention => audit_retention(text).map(drop),
        Key::StatusPage | Key::SelfSubscription => switch(text).map(drop),
        Key::OrganisationName => organisation_name(text).map(drop),
        Key::MetricsToken => metrics_token(text).map(drop),
        Key::SmsUrl => sms_url(text).map(drop),
        Key::SmsEvents => sms_events(text).map(drop),
        Key::SmsDefaultCountry => sms_default_country(text).map(drop),
        // Any address `bind` accepts, any format (not `json` is text): checked where used.
        Key::Database | Key::Bind | Key::LogFormat => Ok(()),
    }
}

/// The mail server settings, validated: where to send, and from whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The URL as given (it may hold the server's password).
    pub url: Secret<String>,
    pub server: Server,
    pub from: Mailbox,
}

impl MailConfig {
    pub fn parse(url: &str, from: &str) -> Result<MailConfig, String> {
        let server = smtp_url(url)?;
        let from = mail_from(from)
            .map_err(|_| format!("The sender address {from:?} is not a valid email address."))?;
        Ok(MailConfig {
            url: Secret::new(url.trim().to_owned()),
            server,
            from,
        })
    }

    /// `Ok(None)` when no mail server or no sender is set.
    pub fn from_values(
        url: Option<&str>,
        from: Option<&str>,
    ) -> Result<Option<MailConfig>, String> {
        match (url, from) {
            (Some(url), Some(from)) => MailConfig::parse(url, from).map(Some),
            _ => Ok(None),
        }
    }

    /// The domain of Message-IDs: the sender's.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert!(check(Key::SmtpUrl, "smtp://mail.example.com:25").is_ok());
        assert!(check(Key::SmtpUrl, "http://mail.example.com").is_err());
        assert!(check(Key::MailFrom, "Status <status@example.com>").is_ok());
        assert!(check(Key::MailFrom, "not an address").is_err());
        assert!(check(Key::PublicUrl, "https://status.example.com").is_ok());
        assert!(check(Key::PublicUrl, "status.example.com").is_err());
        assert_eq!(
            public_url("https://status.example.com/").unwrap(),
            "https://status.example.com"
        );
        assert!(check(Key::RequireTwoFactor, " On ").is_ok());
        assert_eq!(switch("off"), Ok(false));
        assert!(check(Key::RequireTwoFactor, "sometimes").is_err());
        assert!(check(Key::XmlNamespace, "Herald.Models").is_ok());
        assert!(check(Key::XmlNamespace, "a b").is_err());
        assert!(check(Key::XmlNamespace, "a\"><x").is_err());
        assert_eq!(retry_window("24h"), Ok(Duration::from_secs(86400)));
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(
            maintenance_reminders("24h,1h"),
            Ok(vec![hours(24), hours(1)])
        );
        assert_eq!(
            maintenance_reminders(" 1h , 24h, 1h"),
            Ok(vec![hours(24), hours(1)])
        );
        assert_eq!(
            maintenance_reminders("90s"),
            Ok(vec![Duration::from_secs(90)])
        );
        assert_eq!(maintenance_reminders(""), Ok(vec![]));
        assert_eq!(maintenance_reminders("none"), Ok(vec![]));
        for bad in ["-1h", "soon", "24h,", "0s", "1h;2h"] {
            let e = maintenance_reminders(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
        assert!(retry_window("soon").unwrap_err().contains("soon"));
        assert!(retry_window("0s").is_err());
        assert_eq!(
            audit_retention("365d"),
            Ok(Duration::from_secs(365 * 86400))
        );
        assert!(audit_retention("59m")
            .unwrap_err()
            .contains("at least an hour"));
        assert!(audit_retention("forever").is_err());
        assert_eq!(db_max_connections("32"), Ok(32));
        assert!(check(Key::TrustedProxies, "10.0.0.0/8, proxy.example").is_err());
        assert_eq!(switch("ON"), Ok(true));
        assert_eq!(switch(" off "), Ok(false));
        assert!(switch("maybe").unwrap_err().contains("maybe"));
        assert!(check(Key::StatusPage, "sometimes").is_err());
        assert!(check(Key::SelfSubscription, "on").is_ok());
        assert_eq!(
            organisation_name(" Acme Hosting "),
            Ok("Acme Hosting".into())
        );
        assert!(organisation_name("two\nlines").is_err());
        assert!(organisation_name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn sms_settings_are_validated() {
        assert!(check(Key::SmsUrl, "smpp://herald:pw@localhost:2775?source=Acme").is_ok());
        assert!(check(Key::SmsUrl, "smtp://herald:pw@localhost").is_err());
        assert_eq!(
            sms_events(" Created, closed,reopened,closed"),
            Ok(vec![
                EventKind::Created,
                EventKind::Closed,
                EventKind::Reopened
            ])
        );
        assert_eq!(sms_events("none"), Ok(vec![]));
        assert!(sms_events("created,overdue")
            .unwrap_err()
            .contains("overdue"));
        assert!(sms_events("created;closed").is_err());
        assert_eq!(sms_default_country("nl").unwrap().code(), "NL");
        assert!(check(Key::SmsDefaultCountry, "Holland").is_err());
    }

    #[test]
    fn mail_settings_are_validated() {
        assert!(MailConfig::parse("smtp://localhost:25", "a@example.com").is_ok());
        assert!(
            MailConfig::parse("smtp://u:p@mail:587?tls=required", "Status <s@example.com>").is_ok()
        );
        assert!(MailConfig::parse("smtps://mail", "s@example.com").is_ok());
        assert!(MailConfig::parse("http://mail", "s@example.com")
            .unwrap_err()
            .contains("smtp://"));
        assert!(MailConfig::parse("smtp://mail?tls=maybe", "s@example.com").is_err());
        assert!(MailConfig::parse("smtp://mail", "not an address").is_err());
        assert!(MailConfig::parse("nonsense", "s@example.com").is_err());
        assert_eq!(MailConfig::from_values(Some("smtp://mail"), None), Ok(None));
    }

    #[test]
    fn no_password_in_a_debug_print() {
        let config = MailConfig::parse(
            "smtp://user:pa55-w0rd@mail.example.com:587?tls=required",
            "Status <status@example.com>",
        )
        .unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("pa55-w0rd"), "{shown}");
        assert!(shown.contains("mail.example.com"), "{shown}");
    }
}
