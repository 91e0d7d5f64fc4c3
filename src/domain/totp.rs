//! Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238, by the `totp-rs` crate) and
//! recovery codes.
//!
//! Codes are the common authenticator-app kind: HMAC-SHA-1, six digits, 30-second steps, and
//! one step of clock drift either way. A code is checked for the step it belongs to
//! ([`TotpSecret::matching_step`]), so the store can refuse a step already used. The secret is
//! held in a [`Secret`], so no `Debug` print shows it; `totp_rs::TOTP` (whose `Debug` would) is
//! only ever built for a moment inside this module.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use super::Timestamp;
use crate::secret::Secret;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// Steps of drift accepted either way.
const SKEW: u64 = 1;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;

/// An operator's TOTP secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Secret<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(Secret::new(bytes))
    }

    /// The secret as stored and as typed into an app by hand: base32 without padding.
    pub fn parse_base32(text: &str) -> Option<TotpSecret> {
        let bytes = totp_rs::Secret::Encoded(text.trim().to_uppercase())
            .to_bytes()
            .ok()?;
        (bytes.len() >= 16).then(|| TotpSecret(Secret::new(bytes)))
    }

    /// The base32 text (for storing it, and for showing it once on the enrolment page).
    pub fn expose_base32(&self) -> String {
        match totp_rs::Secret::Raw(self.0.expose().clone()).to_encoded() {
            totp_rs::Secret::Encoded(s) => s,
            totp_rs::Secret::Raw(_) => unreachable!("to_encoded gives Encoded"),
        }
    }

    fn totp(&self, issuer: &str, account: &str) -> TOTP {
        // `new_unchecked`: the secret's length is ours (>= 128 bits); an issuer or account with
        // a colon (which `new` refuses) only makes the label less pretty.
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            SKEW as u8,
            STEP_SECONDS,
            self.0.expose().clone(),
            Some(issuer.replace(':', " ")),
            account.replace(':', " "),
        )
    }

    /// The `otpauth://totp/…` address the QR code carries.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> String {
        self.totp(issuer, account).get_url()
    }

    /// The code of a step (for tests, and for checking).
    pub fn code_at_step(&self, step: u64) -> String {
        self.totp("", "").generate(step * STEP_SECONDS)
    }

    /// The step (within the allowed drift of `now`) whose code `code` is; `None` when it is
    /// none of them. Spaces in the code are ignored. Compared in constant time.
    pub fn matching_step(&self, code: &str, now: Timestamp) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = step_of(now);
        let totp = self.totp("", "");
        let mut found = None;
        for step in current.saturating_sub(SKEW)..=current + SKEW {
            let expected = totp.generate(step * STEP_SECONDS);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        found
    }
}

/// The 30-second step a moment falls in.
pub fn step_of(now: Timestamp) -> u64 {
    u64::try_from(now.unix_micros().div_euclid(1_000_000)).unwrap_or(0) / STEP_SECONDS
}

/// Does this look like a TOTP code (six digits) rather than a recovery code?
pub fn looks_like_totp_code(text: &str) -> bool {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS && digits.iter().all(|c| c.is_ascii_digit())
}

/// Fresh recovery codes: 10 letters and digits in two groups (`k7qm2-x9dfp`), 50 bits each.
pub fn generate_recovery_codes() -> Vec<Secret<String>> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| ALPHABET[usize::from(b % 32)] as char)
                .collect();
            Secret::new(format!("{}-{}", &chars[..5], &chars[5..]))
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its letters and digits in lower case (so
/// dashes, spaces and case do not matter when it is typed). The codes are random, 50 bits
/// each, and a guess is throttled, so a fast digest is enough (unlike a password).
pub fn recovery_code_digest(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" at 59 s gives 94287082
    /// in eight digits, so 287082 in six.
    #[test]
    fn codes_follow_rfc_6238() {
        let secret = TotpSecret(Secret::new(b"12345678901234567890".to_vec()));
        assert_eq!(secret.code_at_step(59 / STEP_SECONDS), "287082");
        let at_59 = Timestamp::from_unix_micros(59_000_000);
        assert_eq!(secret.matching_step("287 082", at_59), Some(1));
        assert_eq!(secret.matching_step("287083", at_59), None);
        assert_eq!(secret.matching_step("28708", at_59), None);
    }

    #[test]
    fn drift_of_one_step_either_way() {
        let secret = TotpSecret::generate();
        let now = Timestamp::from_unix_micros(1_800_000_000_000_000);
        let step = step_of(now);
        for s in [step - 1, step, step + 1] {
            assert_eq!(secret.matching_step(&secret.code_at_step(s), now), Some(s));
        }
        let far = secret.code_at_step(step + 2);
        if far != secret.code_at_step(step + 1)
            && far != secret.code_at_step(step)
            && far != secret.code_at_step(step - 1)
        {
            assert_eq!(secret.matching_step(&far, now), None);
        }
    }

    #[test]
    fn secrets_round_trip_as_base32_and_never_print() {
        let secret = TotpSecret::generate();
        let text = secret.expose_base32();
        assert_eq!(TotpSecret::parse_base32(&text), Some(secret.clone()));
        assert_eq!(
            TotpSecret::parse_base32(&text.to_lowercase()),
            Some(secret.clone())
        );
        assert!(!format!("{secret:?}").contains(&text));
        assert!(TotpSecret::parse_base32("not base32!").is_none());
        assert!(secret
            .otpauth_url("Herald", "ann@example.com")
            .starts_with("otpauth://totp/Herald:ann%40example.com?secret="));
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let first = codes[0].expose();
        assert_eq!(first.len(), 11);
        assert!(codes[1..].iter().all(|c| c.expose() != first));
        assert_eq!(
            recovery_code_digest(first),
            recovery_code_digest(&format!(" {} ", first.to_uppercase().replace('-', " ")))
        );
        assert!(!looks_like_totp_code(first));
        assert!(looks_like_totp_code("123 456"));
    }
}
