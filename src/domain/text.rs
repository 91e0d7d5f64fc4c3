//! Required, bounded text: names and descriptions.

use std::fmt;

fn bounded(value: &str, max: usize, what: &str) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(format!("The {what} field is required."));
    }
    if trimmed.chars().count() > max {
        return Err(format!("The {what} must be at most {max} characters long."));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("The {what} must not contain control characters."));
    }
    Ok(trimmed.to_owned())
}

/// A name of a service, customer or operator: 1–200 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 200;

    pub fn parse(value: &str) -> Result<Self, String> {
        let name = bounded(value, Self::MAX, "Name")?;
        if name.contains(['\n', '\r']) {
            return Err("The Name must be on one line.".into());
        }
        Ok(Name(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ticket's description: 1–10,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX: usize = 10_000;

    pub fn parse(value: &str) -> Result<Self, String> {
        bounded(value, Self::MAX, "Description").map(Description)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Mail ").unwrap().as_str(), "Mail");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(200)).is_ok());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse("a\nb").is_err());
        assert!(Name::parse("a\u{0}b").is_err());
    }

    #[test]
    fn descriptions_keep_lines() {
        assert_eq!(Description::parse("a\nb").unwrap().as_str(), "a\nb");
        assert!(Description::parse("").is_err());
    }
}
