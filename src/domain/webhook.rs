//! Webhooks: where each event is POSTed (a URL, http or https), for which services, in which
//! format (Standard Webhooks JSON, Slack, Teams), signed with which secret.

use base64::Engine as _;
use rand::RngCore;

use super::Timestamp;

/// The body a webhook gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The ticket as the API shows it, plus `Event` and `EventTime` (Standard Webhooks).
    Json,
    /// A Slack incoming webhook's message.
    Slack,
    /// A Microsoft Teams incoming webhook's message (an Adaptive Card).
    Teams,
}

impl WebhookFormat {
    pub const ALL: [WebhookFormat; 3] = [
        WebhookFormat::Json,
        WebhookFormat::Slack,
        WebhookFormat::Teams,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Teams => "teams",
        }
    }

    /// By name, ignoring case.
    pub fn parse(s: &str) -> Option<WebhookFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A webhook's URL: absolute, http or https, with a host, at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<WebhookUrl, String> {
        let text = text.trim();
        if text.chars().count() > 2000 {
            return Err("The Url must be at most 2000 characters long.".to_owned());
        }
        let url = url::Url::parse(text)
            .map_err(|_| "The Url must be an absolute http or https URL.".to_owned())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err("The Url must be an absolute http or https URL.".to_owned());
        }
        Ok(WebhookUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What may be shown of a webhook's URL to anyone who may not see the URL itself: its host
/// (a Slack or Teams URL's path is itself a secret). Empty for text that is no URL.
pub fn url_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A webhook's signing secret. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(REDACTED)")
    }
}

/// The prefix of Standard Webhooks secrets: the rest is the key, base64.
const PREFIX: &str = "whsec_";

impl WebhookSecret {
    /// A new secret: `whsec_` and 32 random bytes, base64 (as Standard Webhooks writes them).
    pub fn generate() -> WebhookSecret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        WebhookSecret(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    /// A secret given by a client: 16 to 200 printable ASCII characters.
    pub fn parse(text: &str) -> Result<WebhookSecret, String> {
        let ok = (16..=200).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(WebhookSecret(text.to_owned()))
        } else {
            Err(
                "The Secret must be 16 to 200 printable ASCII characters without spaces."
                    .to_owned(),
            )
        }
    }

    /// Stored as it was given.
    pub fn from_stored(text: String) -> WebhookSecret {
        WebhookSecret(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: for a `whsec_` secret the bytes its base64 stands for (as Standard
    /// Webhooks' libraries read it), otherwise the secret's own bytes.
    pub fn key(&self) -> Vec<u8> {
        self.0
            .strip_prefix(PREFIX)
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .unwrap_or_else(|| self.0.as_bytes().to_vec())
    }
}

/// A webhook as stored. The secret is never shown, except once: in the answer of the create
/// that set it (`new_secret`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// The services it covers; empty: all services.
    pub services: Vec<i64>,
    pub format: WebhookFormat,
    pub is_active: bool,
    /// Why and when Herald deactivated it (a 410, or failing for the whole retry window).
    pub deactivated: Option<(Timestamp, String)>,
    /// The secret, only in the answer of the create that set it.
    pub new_secret: Option<WebhookSecret>,
}

/// What creating a webhook, or replacing its fields, takes.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    pub services: Vec<i64>,
    pub format: WebhookFormat,
    /// Omitted: generated on create, kept on update.
    pub secret: Option<WebhookSecret>,
    pub is_active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https() {
        assert!(WebhookUrl::parse("https://hooks.example.com/x?y=1").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/").is_ok());
        for bad in [
            "ftp://example.com/",
            "javascript:alert(1)",
            "/relative",
            "",
            "https://",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_secrets_are_standard_webhooks_secrets() {
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.key().len(), 32);
        assert_ne!(s, WebhookSecret::generate());
        assert_eq!(format!("{s:?}"), "WebhookSecret(REDACTED)");
        let plain = WebhookSecret::parse("a-plain-secret-123").unwrap();
        assert_eq!(plain.key(), b"a-plain-secret-123");
        assert!(WebhookSecret::parse("short").is_err());
    }

    #[test]
    fn formats_parse_ignoring_case() {
        assert_eq!(WebhookFormat::parse("Slack"), Some(WebhookFormat::Slack));
        assert_eq!(WebhookFormat::parse("xml"), None);
    }
}
