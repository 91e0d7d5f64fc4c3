//! Operator passwords, hashed with Argon2id.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// A password as given by a person: 8 to 1024 characters.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(REDACTED)")
    }
}

impl Password {
    pub fn parse(value: &str) -> Result<Self, String> {
        let n = value.chars().count();
        if n < 8 {
            return Err("The Password must be at least 8 characters long.".into());
        }
        if n > 1024 {
            return Err("The Password must be at most 1024 characters long.".into());
        }
        Ok(Password(value.to_owned()))
    }

    /// Hashes with Argon2id and a random salt (PHC string format).
    pub fn hash(&self) -> PasswordHash {
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("Argon2 with default parameters cannot fail on a bounded password")
            .to_string();
        PasswordHash(phc)
    }

    /// [`Password::hash`] on tokio's blocking pool: Argon2 spends tens of milliseconds of CPU by
    /// design, which must not stall one of the runtime's few worker threads meanwhile.
    pub async fn hash_off_runtime(&self) -> PasswordHash {
        let password = self.clone();
        tokio::task::spawn_blocking(move || password.hash())
            .await
            // Only when the blocking pool is gone (the runtime is shutting down): hash here.
            .unwrap_or_else(|_| self.hash())
    }
}

/// A stored Argon2id hash in PHC format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl PasswordHash {
    /// Verifies in constant time; a malformed stored hash never matches.
    pub fn verify(&self, candidate: &str) -> bool {
        match argon2::PasswordHash::new(&self.0) {
            Ok(parsed) => Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = Password::parse("correct horse").unwrap().hash();
        assert!(h.0.starts_with("$argon2id$"));
        assert!(h.verify("correct horse"));
        assert!(!h.verify("wrong horse"));
        assert!(!PasswordHash("garbage".into()).verify("x"));
        assert!(Password::parse("short").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret123").unwrap()),
            "Password(REDACTED)"
        );
    }
}
