//! The SMSC's URL, parsed: `smpp://SYSTEM_ID:PASSWORD@HOST[:PORT]?source=NAME` or `smpps://…`
//! (TLS). The password is a [`Secret`]; `Debug` shows the system id, never the password.

use super::server_url::ServerUrl;
use crate::secret::Secret;

/// The port SMPP listens on unless the URL says otherwise (IANA's `smpp`).
pub const DEFAULT_PORT: u16 = 2775;

/// Who the texts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A number in international form (`+` optional), sent as TON 1, NPI 1.
    Number(String),
    /// An alphanumeric sender name of at most 11 characters, sent as TON 5, NPI 0.
    Name(String),
}

impl Source {
    pub fn parse(text: &str) -> Result<Source, String> {
        let text = text.trim();
        let digits = text.strip_prefix('+').unwrap_or(text);
        if !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Source::Number(digits.to_owned()));
        }
        if !text.is_empty()
            && text.chars().count() <= 11
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
        {
            return Ok(Source::Name(text.to_owned()));
        }
        Err(format!(
            "source= in the SMS URL must be a number (up to 15 digits) or a name of at most 11 \
             letters and digits, not {text:?}."
        ))
    }

    /// The address, its TON and NPI.
    pub fn address(&self) -> (&str, u8, u8) {
        match self {
            Source::Number(n) => (n, 1, 1),
            Source::Name(n) => (n, 5, 0),
        }
    }
}

/// Where and how to reach the SMSC, from an SMPP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smsc {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub system_id: String,
    pub(crate) password: Secret<String>,
    pub source: Source,
}

impl Smsc {
    pub fn from_url(url: &str) -> Result<Smsc, String> {
        let parts = ServerUrl::parse(url, "SMS URL")?;
        let parsed = &parts.url;
        let tls = match parsed.scheme() {
            "smpp" => false,
            "smpps" => true,
            other => {
                return Err(format!(
                    "The SMS URL must start with smpp:// or smpps://, not {other}://."
                ))
            }
        };
        let system_id = parts.user;
        // SMPP 3.4: system_id at most 15 octets, password at most 8.
        if system_id.is_empty() || system_id.len() > 15 {
            return Err(
                "The SMS URL must name the system id (1 to 15 characters) before the @.".into(),
            );
        }
        let password = parts.password.unwrap_or_default();
        if password.len() > 8 {
            return Err(
                "The password in the SMS URL may have at most 8 characters (SMPP 3.4).".into(),
            );
        }
        let mut source = None;
        for (key, value) in parsed.query_pairs() {
            match &*key {
                "source" => source = Some(Source::parse(&value)?),
                other => return Err(format!("The SMS URL has an unknown parameter {other}=.")),
            }
        }
        let source = source.ok_or_else(|| {
            "The SMS URL needs ?source=NAME: the sender's number or name.".to_owned()
        })?;
        Ok(Smsc {
            host: parts.host,
            port: parsed.port().unwrap_or(DEFAULT_PORT),
            tls,
            system_id,
            password: Secret::new(password),
            source,
        })
    }

    pub fn password(&self) -> &str {
        self.password.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let s = Smsc::from_url("smpp://herald:s3cr%40t@smsc.example.com:2776?source=Acme").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("smsc.example.com", 2776, false)
        );
        assert_eq!(s.system_id, "herald");
        assert_eq!(s.password(), "s3cr@t");
        assert_eq!(s.source.address(), ("Acme", 5, 0));
        assert!(!format!("{s:?}").contains("s3cr"), "no password in Debug");
        let s = Smsc::from_url("smpps://id:pw@[::1]?source=%2B31612345678").unwrap();
        assert_eq!((s.host.as_str(), s.port, s.tls), ("::1", 2775, true));
        assert_eq!(s.source.address(), ("31612345678", 1, 1));
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, says) in [
            ("http://id:pw@host?source=A", "smpp://"),
            ("smpp://host?source=A", "system id"),
            ("smpp://id:pw@host", "source="),
            ("smpp://id:pw@host?source=ThisNameIsTooLong", "11"),
            ("smpp://id:toolongpassword@host?source=A", "8"),
            ("smpp://id:pw@host?source=A&tls=on", "tls="),
            ("not a url", "not a valid URL"),
        ] {
            let e = Smsc::from_url(url).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
    }
}
