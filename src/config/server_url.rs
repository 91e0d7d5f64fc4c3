//! What the URLs of the servers Herald talks to share (`smtp://`, `smpp://` and their TLS
//! forms): a scheme, a host, an optional port, and user information whose password must never be
//! shown. Each server's own parser ([`super::smtp_url`], [`super::sms_url`]) reads its scheme,
//! defaults and parameters from what this one found.

/// A server URL taken apart, its user information percent-decoded.
pub(crate) struct ServerUrl {
    pub url: url::Url,
    /// The host, IPv6 addresses without their brackets.
    pub host: String,
    /// The user name, empty when the URL has none.
    pub user: String,
    /// The password (`None` when the URL has no `:` in its user information). The caller wraps
    /// it in a [`crate::secret::Secret`] at once.
    pub password: Option<String>,
}

impl ServerUrl {
    /// `what` names the URL in messages ("mail server URL", "SMS URL").
    pub fn parse(text: &str, what: &str) -> Result<ServerUrl, String> {
        let url =
            url::Url::parse(text.trim()).map_err(|_| format!("The {what} is not a valid URL."))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("The {what} has no host name."))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| format!("The user name or password in the {what} is not UTF-8."))
        };
        let user = decode(url.username())?;
        let password = url.password().map(decode).transpose()?;
        Ok(ServerUrl {
            host,
            user,
            password,
            url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let u = ServerUrl::parse(" smtp://u%40x:p%3Aw@[::1]:2525/x ", "mail server URL").unwrap();
        assert_eq!((u.host.as_str(), u.url.port()), ("::1", Some(2525)));
        assert_eq!(
            (u.user.as_str(), u.password.as_deref()),
            ("u@x", Some("p:w"))
        );
        let u = ServerUrl::parse("smpp://id@host", "SMS URL").unwrap();
        assert_eq!((u.user.as_str(), u.password), ("id", None));
    }

    #[test]
    fn bad_urls_name_the_setting() {
        for (text, says) in [
            ("not a url", "The SMS URL is not a valid URL."),
            ("smpp://", "The SMS URL has no host name."),
            ("smpp://%FF:pw@host", "not UTF-8"),
        ] {
            let e = ServerUrl::parse(text, "SMS URL").err().unwrap();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
