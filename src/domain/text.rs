//! Required, bounded text: names and descriptions.

use std::borrow::Cow;
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

/// Unicode's bidirectional formatting characters: marks, embeddings, overrides, isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` made safe to place inside other text: when it holds bidirectional formatting
/// characters (an override such as U+202E could reverse what follows it: the rest of a
/// subject, a sentence around a name), it is wrapped in FIRST STRONG ISOLATE … POP DIRECTIONAL
/// ISOLATE, and its own unmatched POP DIRECTIONAL ISOLATEs are dropped, so whatever it opens is
/// closed at its end (UAX #9, X6a) and it cannot close the isolate early. Other text is returned
/// as it is. Works in plain text and in HTML alike.
pub fn isolate_bidi(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_bidi_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 6);
    out.push('\u{2068}');
    let mut open_isolates = 0usize;
    for c in text.chars() {
        match c {
            '\u{2066}'..='\u{2068}' => open_isolates += 1,
            '\u{2069}' if open_isolates == 0 => continue,
            '\u{2069}' => open_isolates -= 1,
            _ => {}
        }
        out.push(c);
    }
    out.push('\u{2069}');
    Cow::Owned(out)
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

    #[test]
    fn bidi_controls_are_isolated_and_cannot_escape() {
        assert!(matches!(
            isolate_bidi("Mail is down"),
            Cow::Borrowed("Mail is down")
        ));
        assert!(
            matches!(isolate_bidi("بريد"), Cow::Borrowed(_)),
            "no controls, no change"
        );
        assert_eq!(isolate_bidi("a\u{202E}b"), "\u{2068}a\u{202E}b\u{2069}");
        // An unmatched PDI inside would close the isolate early: dropped.
        assert_eq!(
            isolate_bidi("\u{2069}\u{202E}evil"),
            "\u{2068}\u{202E}evil\u{2069}"
        );
        // Its own balanced isolates stay.
        assert_eq!(
            isolate_bidi("\u{2067}x\u{2069}"),
            "\u{2068}\u{2067}x\u{2069}\u{2069}"
        );
    }
}
