//! The secret in a customer's personal links (`/my/{token}`, `/unsubscribe/{token}`) and in a
//! self-subscription's confirmation link: 160 random bits, written as 40 lower-case hex digits,
//! stored only as its SHA-256 (a digest is enough for a value this random: nobody can guess
//! their way back to it). The bits come from rand's `ThreadRng`, a cryptographically secure
//! generator (ChaCha12) seeded and reseeded from the operating system: asking the operating
//! system itself was a `getrandom` system call per message of a fan-out.
//!
//! A token issued now starts with the time it was issued (16 hex digits of nanoseconds since
//! the Unix epoch, not secret: the message's `Date` says as much), and its stored key is that
//! time followed by the digest of the whole token. Every message gets a token of its own, so a
//! fan-out to a million followers writes a million keys: by digest alone each landed on a
//! random page of the B-tree (a page read, written to the WAL and written again by the
//! checkpoint, per message); led by the time, they are appended at its right edge. Tokens of
//! 40 digits (issued before) are still read, stored by their digest alone.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a token.
const BYTES: usize = 20;
/// Hex digits of the issuing time that lead a token (and its stored key).
const STAMP: usize = 16;

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
        rand::thread_rng().fill_bytes(&mut bytes);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // Wraps in the year 2554; the keys then sort again from the start, nothing else.
        LinkToken(format!("{:016x}{}", nanos as u64, hex::encode(bytes)))
    }

    /// A token as a link carries it; anything not shaped like one is `None` (so a malformed
    /// link is told apart without asking the database).
    pub fn parse(text: &str) -> Option<LinkToken> {
        let shaped = (text.len() == BYTES * 2 || text.len() == STAMP + BYTES * 2)
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        shaped.then(|| LinkToken(text.to_owned()))
    }

    /// The text that goes into the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored: the SHA-256 of the token in hex, after the token's issuing time when it
    /// has one.
    pub fn digest(&self) -> String {
        let digest = hex::encode(Sha256::digest(self.0.as_bytes()));
        match self.0.len() {
            n if n == STAMP + BYTES * 2 => format!("{}{digest}", &self.0[..STAMP]),
            _ => digest,
        }
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
        assert_eq!(a.expose().len(), 56);
        assert_eq!(a.digest().len(), 80);
        assert!(!a.digest().contains(&a.expose()[STAMP..]));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn keys_follow_the_issuing_order_and_old_tokens_keep_theirs() {
        let first = LinkToken::generate();
        let later = LinkToken::generate();
        assert!(first.digest() < later.digest(), "appended, not scattered");
        assert_eq!(&first.digest()[..STAMP], &first.expose()[..STAMP]);
        assert_eq!(
            first.digest()[STAMP..],
            hex::encode(Sha256::digest(first.expose().as_bytes()))
        );
        // A token of 40 digits, issued before: stored by its digest alone, as it was.
        let old = LinkToken::parse(&"ab".repeat(20)).unwrap();
        assert_eq!(
            old.digest(),
            hex::encode(Sha256::digest("ab".repeat(20).as_bytes()))
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "abc",
            &"g".repeat(40),
            &"A".repeat(40),
            &"a".repeat(41),
            &"a".repeat(55),
            &"a".repeat(57),
            "../../etc",
        ] {
            assert!(LinkToken::parse(bad).is_none(), "{bad}");
        }
    }
}
