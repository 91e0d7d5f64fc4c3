//! The secret in a customer's personal links (`/my/{token}`, `/unsubscribe/{token}`) and in a
//! self-subscription's confirmation link: 160 random bits from the operating system, written as
//! 40 lower-case hex digits, stored only as its SHA-256 (a digest is enough for a value this
//! random: nobody can guess their way back to it).

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a token.
const BYTES: usize = 20;

/// A link token. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(REDACTED)")
    }
}

impl LinkToken {
    pub fn generate() -> LinkToken {
        let mut bytes = [0u8; BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        LinkToken(hex::encode(bytes))
    }

    /// A token as a link carries it; anything not shaped like one is `None` (so a malformed
    /// link is told apart without asking the database).
    pub fn parse(text: &str) -> Option<LinkToken> {
        let shaped = text.len() == BYTES * 2
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        shaped.then(|| LinkToken(text.to_owned()))
    }

    /// The text that goes into the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored: the SHA-256 of the token, in hex.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_differ_and_hide_in_debug() {
        let a = LinkToken::generate();
        let b = LinkToken::generate();
        assert_ne!(a, b);
        assert_eq!(LinkToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.expose().len(), 40);
        assert_eq!(a.digest().len(), 64);
        assert_ne!(a.digest(), a.expose());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "abc",
            &"g".repeat(40),
            &"A".repeat(40),
            &"a".repeat(41),
            "../../etc",
        ] {
            assert!(LinkToken::parse(bad).is_none(), "{bad}");
        }
    }
}
