//! The mail server URL, parsed: `smtp://[user:password@]host[:port][/helo-name][?tls=…]` or
//! `smtps://…`. The password is a [`Secret`]; `Debug` shows the user, never the password.

use super::server_url::ServerUrl;
use crate::secret::Secret;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://host` — plain.
    None,
    /// `smtp://host?tls=required` or `?tls=opportunistic` — STARTTLS.
    StartTls { required: bool },
    /// `smtps://host` — TLS from the first byte.
    Implicit,
}

/// Where and how to reach the mail server, from an SMTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub(crate) credentials: Option<(String, Secret<String>)>,
    /// The EHLO name, from the URL's path.
    pub(crate) hello: Option<String>,
}

impl Server {
    /// `smtp://[user:password@]host[:port][/helo-name][?tls=required|opportunistic]` or
    /// `smtps://…` (the forms lettre's `from_url` takes). Default ports: 25 for plain SMTP,
    /// 587 for STARTTLS, 465 for implicit TLS.
    pub fn from_url(url: &str) -> Result<Server, String> {
        let parts = ServerUrl::parse(url, "mail server URL")?;
        let parsed = &parts.url;
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let security = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None) => Security::None,
            ("smtp", Some("required")) => Security::StartTls { required: true },
            ("smtp", Some("opportunistic")) => Security::StartTls { required: false },
            ("smtp", Some(_)) => {
                return Err(
                    "tls= in the mail server URL must be required or opportunistic.".to_owned(),
                )
            }
            ("smtps", _) => Security::Implicit,
            (other, _) => {
                return Err(format!(
                    "The mail server URL must start with smtp:// or smtps://, not {other}://."
                ))
            }
        };
        let port = parsed.port().unwrap_or(match security {
            Security::None => 25,
            Security::StartTls { .. } => 587,
            Security::Implicit => 465,
        });
        let credentials = parts
            .password
            .map(|password| (parts.user, Secret::new(password)));
        let path = parsed.path().trim_matches('/');
        Ok(Server {
            host: parts.host,
            port,
            security,
            credentials,
            hello: (!path.is_empty()).then(|| path.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let s = Server::from_url("smtp://mail.example.com").unwrap();
        assert_eq!((s.port, s.security), (25, Security::None));
        let s = Server::from_url("smtp://u%40x:p%3Aw@mail:2525/herald.example.com?tls=required")
            .unwrap();
        assert_eq!(
            (s.port, s.security),
            (2525, Security::StartTls { required: true })
        );
        assert_eq!(s.credentials, Some(("u@x".into(), Secret::from("p:w"))));
        assert_eq!(s.hello.as_deref(), Some("herald.example.com"));
        assert!(!format!("{s:?}").contains("p:w"), "no password in Debug");
        let s = Server::from_url("smtp://mail?tls=opportunistic").unwrap();
        assert_eq!(
            (s.port, s.security),
            (587, Security::StartTls { required: false })
        );
        let s = Server::from_url("smtps://mail").unwrap();
        assert_eq!((s.port, s.security), (465, Security::Implicit));
        assert!(Server::from_url("smtp://mail?tls=maybe").is_err());
        assert!(Server::from_url("http://mail")
            .unwrap_err()
            .contains("smtp://"));
        assert!(Server::from_url("smtp://").is_err());
        assert!(Server::from_url("not a url").is_err());
    }
}
