//! A language as a BCP 47 tag (RFC 5646), checked against the IANA subtag registry by the
//! `language-tags` crate and kept in its canonical case (`de-CH`, `zh-Hant-TW`).

use std::fmt;

/// Longer tags are refused (RFC 5646 asks implementations to keep at least 35 characters).
const MAX_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// A well-formed, valid tag; `Err` says why not, for people.
    pub fn parse(text: &str) -> Result<LanguageTag, String> {
        let text = text.trim();
        let refuse = || format!("{text:?} is not a BCP 47 language tag (such as en, de or de-CH).");
        if text.is_empty() || text.chars().count() > MAX_CHARS {
            return Err(refuse());
        }
        let tag = language_tags::LanguageTag::parse(text).map_err(|_| refuse())?;
        let tag = tag.canonicalize().map_err(|_| refuse())?;
        tag.validate().map_err(|_| refuse())?;
        Ok(LanguageTag(tag.into_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_and_canonical() {
        assert_eq!(LanguageTag::parse("de").unwrap().as_str(), "de");
        assert_eq!(LanguageTag::parse(" de-ch ").unwrap().as_str(), "de-CH");
        assert_eq!(LanguageTag::parse("EN-gb").unwrap().as_str(), "en-GB");
        assert_eq!(
            LanguageTag::parse("zh-hant-tw").unwrap().as_str(),
            "zh-Hant-TW"
        );
        for bad in [
            "",
            "german",
            "de_CH",
            "x",
            "de-",
            "12",
            "de-CH-CH-CH-CH",
            "qqq-zz9",
        ] {
            let e = LanguageTag::parse(bad).unwrap_err();
            assert!(e.contains("BCP 47"), "{bad}: {e}");
        }
    }
}
