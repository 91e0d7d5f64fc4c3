//! Email addresses and phone numbers.

use std::fmt;
use std::str::FromStr;

/// A syntactically valid email address (RFC 5322 addr-spec), at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let invalid = || format!("'{value}' is not a valid email address.");
        if value.len() > 254 || !value.contains('@') {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::from_str(value).map_err(|_| invalid())?;
        // Display names ("Ann <ann@x>") are not addresses: only the bare form is accepted.
        if parsed.email() != value
            || value.contains(char::is_whitespace)
            || parsed.domain().is_empty()
        {
            return Err(invalid());
        }
        Ok(EmailAddress(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number: digits with an optional leading `+`, spaces, dashes and parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellPhone(String);

impl CellPhone {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let body = value.strip_prefix('+').unwrap_or(value);
        let digits = body.chars().filter(char::is_ascii_digit).count();
        let allowed = body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
        if !allowed || !(3..=20).contains(&digits) || value.len() > 40 {
            return Err(format!(
                "'{value}' is not a valid phone number: use digits, an optional leading +, spaces, dashes and parentheses."
            ));
        }
        Ok(CellPhone(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(EmailAddress::parse("ann@example.com").is_ok());
        assert!(EmailAddress::parse("ann.b+tag@sub.example.co.uk").is_ok());
        assert!(EmailAddress::parse("ann").is_err());
        assert!(EmailAddress::parse("ann@").is_err());
        assert!(EmailAddress::parse("Ann <ann@example.com>").is_err());
        assert!(EmailAddress::parse("a b@example.com").is_err());
    }

    #[test]
    fn phones() {
        for ok in ["+47 22 33 44 55", "(555) 123-4567", "12345678"] {
            assert!(CellPhone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["abc", "++47", "12", "12345x", "+"] {
            assert!(CellPhone::parse(bad).is_err(), "{bad}");
        }
    }
}
