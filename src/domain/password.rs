//! Operator passwords, hashed with Argon2id.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

    /// Hashes with Argon2id and a random salt (PHC string format), in memory of its own.
    /// The server hashes through [`super::Hashing`] instead, a few at a time.
    pub fn hash(&self) -> PasswordHash {
        self.hash_in(&mut Vec::new())
    }

    /// [`Password::hash`] in `memory` (grown to the size Argon2 needs, and kept for the next).
    pub(super) fn hash_in(&self, memory: &mut Vec<Block>) -> PasswordHash {
        let argon2 = Argon2::default();
        let params = argon2.params().clone();
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let raw_salt = salt
            .decode_b64(&mut salt_bytes)
            .expect("a generated salt decodes");
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2
            .hash_password_into_with_memory(
                self.0.as_bytes(),
                raw_salt,
                &mut out,
                fit(memory, &params),
            )
            .expect("Argon2 with default parameters cannot fail on a bounded password");
        let phc = argon2::PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).expect("default parameters encode"),
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).expect("a 32-byte output")),
        };
        PasswordHash(phc.to_string())
    }
}

/// `memory`, grown to the blocks `params` needs.
fn fit<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    memory
}

/// A stored Argon2id hash in PHC format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl PasswordHash {
    /// Verifies in constant time; a malformed stored hash never matches. In memory of its own:
    /// the server verifies through [`super::Hashing`] instead.
    pub fn verify(&self, candidate: &str) -> bool {
        self.verify_in(candidate, &mut Vec::new())
    }

    /// [`PasswordHash::verify`] in `memory` (grown to the size Argon2 needs, and kept).
    pub(super) fn verify_in(&self, candidate: &str, memory: &mut Vec<Block>) -> bool {
        let Ok(parsed) = argon2::PasswordHash::new(&self.0) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(version), Ok(params)) = (
            Algorithm::try_from(parsed.algorithm),
            parsed
                .version
                .map_or(Ok(Version::default()), Version::try_from),
            Params::try_from(&parsed),
        ) else {
            return false;
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params.clone());
        argon2
            .hash_password_into_with_memory(
                candidate.as_bytes(),
                raw_salt,
                &mut out,
                fit(memory, &params),
            )
            .is_ok()
            // `Output`'s comparison takes constant time.
            && Output::new(&out).is_ok_and(|computed| computed == expected)
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
        assert!(!PasswordHash("$argon2id$v=19$m=19456,t=2,p=1".into()).verify("x"));
    }

    #[test]
    fn hashes_are_the_argon2_crates_own_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = Password::parse("correct horse").unwrap().hash();
        let parsed = argon2::PasswordHash::new(&ours.0).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert_eq!(theirs.len(), ours.0.len());
        let theirs = PasswordHash(theirs);
        assert!(theirs.verify("correct horse"));
        assert!(!theirs.verify("correct horsf"));
        // Other parameters (a hash stored with smaller ones) verify too, in a reused memory.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
        let mut memory = Vec::new();
        assert!(theirs.verify_in("correct horse", &mut memory));
        assert!(PasswordHash(small).verify_in("correct horse", &mut memory));
        assert!(Password::parse("short").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret123").unwrap()),
            "Password(REDACTED)"
        );
    }
}
