//! [`Secret`]: a value that must never reach a log, an error message or a `Debug` print.
//!
//! Hand-written rather than the `secrecy` crate: Herald's secrets are cloned with the settings
//! they belong to and compared (the delivery workers rebuild their mailer when the mail server
//! changes), and a `{}` of one must be as safe as a `{:?}`; `secrecy` has neither equality nor
//! `Display` by design. What it adds, zeroing on drop, would not hold here: the same values
//! pass through clap, sqlx's connect options and the SMTP client as plain strings.

use std::fmt;

/// What a secret prints as.
pub const REDACTED: &str = "[REDACTED]";

/// Holds a secret; `Debug` and `Display` print [`REDACTED`], and only [`Secret::expose`]
/// gives the value, so every use of it is visible in the code.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The secret itself: for connecting, authenticating, storing; never for printing.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl Secret<String> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Secret<T> {
        Secret(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Secret<String> {
        Secret(value.to_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_debug_nor_display_shows_the_value() {
        let s = Secret::new("hunter2-hunter2".to_owned());
        for shown in [
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{s}"),
            format!("{:?}", Some(&s)),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains(REDACTED), "{shown}");
        }
        assert_eq!(s.expose(), "hunter2-hunter2");
        assert_eq!(s, Secret::from("hunter2-hunter2"));
        assert_ne!(s, Secret::from("other"));
    }
}
