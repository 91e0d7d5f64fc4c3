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
//!
//! The personal links of a batch of messages ([`LinkToken::in_batch`]) are kept together: one
//! stored row per batch (`store/personal.rs`), its entries the customer and the digest of each
//! message's token. Such a token leads with where its entry is (16 hex digits of the batch's
//! key, 4 of the entry's place in it; not secret either) before its 160 random bits, so the
//! entry is found by the batch's key and checked against the digest of the whole token. A
//! fan-out to a million followers writes 4,000 rows instead of a million rows and two million
//! index entries.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a token.
const BYTES: usize = 20;
/// Hex digits of the issuing time that lead a token (and its stored key).
const STAMP: usize = 16;
/// Hex digits of the place of a batch's token: its batch's key, then its entry's index.
const PLACE: usize = 16 + 4;

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

    /// A new key for a batch of links: the time in nanoseconds, its lowest 16 bits random (two
    /// batches issued in the same 65 µs meet one time in 65,536; the second one's write then
    /// fails and its batch waits for another key), so a fan-out's keys are appended in order.
    pub fn new_batch() -> i64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()) as u64;
        let low = u64::from(rand::thread_rng().next_u32() & 0xffff);
        // Positive until the year 2262.
        ((nanos & !0xffff) | low) as i64 & i64::MAX
    }

    /// The token of entry `index` of batch `batch` (see [`LinkToken::new_batch`]).
    pub fn in_batch(batch: i64, index: u16) -> LinkToken {
        let mut bytes = [0u8; BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        LinkToken(format!(
            "{:016x}{index:04x}{}",
            batch as u64,
            hex::encode(bytes)
        ))
    }

    /// Where a batch's token is kept: its batch's key and its entry's index; `None` for a
    /// token kept on its own.
    pub fn place(&self) -> Option<(i64, u16)> {
        if self.0.len() != PLACE + BYTES * 2 {
            return None;
        }
        let batch = u64::from_str_radix(&self.0[..16], 16).ok()?;
        let index = u16::from_str_radix(&self.0[16..PLACE], 16).ok()?;
        Some((i64::try_from(batch).ok()?, index))
    }

    /// The SHA-256 of the whole token: what a batch's entry keeps.
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// A token as a link carries it; anything not shaped like one is `None` (so a malformed
    /// link is told apart without asking the database).
    pub fn parse(text: &str) -> Option<LinkToken> {
        let shaped = [0, STAMP, PLACE]
            .iter()
            .any(|lead| text.len() == lead + BYTES * 2)
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
    fn batch_tokens_say_where_they_are_kept_and_differ() {
        let batch = LinkToken::new_batch();
        assert!(batch > 0);
        let a = LinkToken::in_batch(batch, 7);
        let b = LinkToken::in_batch(batch, 7);
        assert_ne!(a, b, "160 random bits each");
        assert_eq!(a.expose().len(), 60);
        assert_eq!(LinkToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.place(), Some((batch, 7)));
        assert_eq!(a.sha256(), <[u8; 32]>::from(Sha256::digest(a.expose())));
        assert!(!format!("{a:?}").contains(a.expose()));
        // Tokens kept on their own have no place.
        assert_eq!(LinkToken::generate().place(), None);
        // A key beyond i64's range is no place either.
        let beyond = LinkToken::parse(&format!("{}{}", "f".repeat(20), "a".repeat(40))).unwrap();
        assert_eq!(beyond.place(), None);
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
            &"a".repeat(59),
            &"a".repeat(61),
            "../../etc",
        ] {
            assert!(LinkToken::parse(bad).is_none(), "{bad}");
        }
    }
}
