//! The API key: at least 16 printable characters, stored only as a SHA-256 digest and
//! compared in constant time.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(REDACTED)")
    }
}

impl ApiKey {
    pub const MIN_LEN: usize = 16;

    pub fn parse(value: &str) -> Result<Self, String> {
        if value.chars().count() < Self::MIN_LEN || value.len() > 256 {
            return Err(format!(
                "The API key must be between {} and 256 characters long.",
                Self::MIN_LEN
            ));
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(
                "The API key may only contain printable ASCII characters without spaces.".into(),
            );
        }
        Ok(ApiKey(value.to_owned()))
    }

    /// A new random key of 32 letters and digits (about 190 bits).
    pub fn generate() -> Self {
        let key: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        ApiKey(key)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash::of(&self.0)
    }
}

/// SHA-256 of a key, hex encoded: what the database stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyHash(pub String);

impl ApiKeyHash {
    pub fn of(candidate: &str) -> Self {
        let digest = Sha256::digest(candidate.as_bytes());
        ApiKeyHash(hex::encode(digest))
    }

    /// Does `candidate` hash to this? Constant time in the content of the key.
    pub fn matches(&self, candidate: &str) -> bool {
        // Hex-encoded on the stack: this runs on every API request.
        let mut hex = [0u8; 64];
        hex::encode_to_slice(Sha256::digest(candidate.as_bytes()), &mut hex)
            .expect("a SHA-256 digest is 64 hex digits");
        self.0.as_bytes().ct_eq(&hex).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(ApiKey::parse("d5XNMpburJBfJVJd").is_ok());
        assert!(ApiKey::parse("short").is_err());
        assert!(ApiKey::parse("has a space in the key").is_err());
        let k = ApiKey::generate();
        assert_eq!(k.expose().len(), 32);
        assert!(k.hash().matches(k.expose()));
        assert!(!k.hash().matches("d5XNMpburJBfJVJd"));
        assert_eq!(format!("{k:?}"), "ApiKey(REDACTED)");
    }
}
