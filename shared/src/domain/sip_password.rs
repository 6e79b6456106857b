//! `fields.sip_password`: the SIP password a directory attribute holds. Write-only: it goes
//! to the PBX in the bodies of `POST` and `PATCH /v1/extensions` and nowhere else. Never
//! serialized by serde (no `Serialize`), never shown by `Debug`; a mapping remembers only a
//! keyed hash of the password last sent (HMAC-SHA-256 with a per-tenant key kept in the
//! tenant's secrets, not in the store), so that a changed password is sent again and an
//! unchanged one is not, without the store holding anything that can be checked against a
//! guessed password.

use std::borrow::Borrow;

use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;
use sha2::Sha256;

/// The longest password accepted from the directory (characters).
pub const MAX_SIP_PASSWORD_CHARS: usize = 128;

/// A user's SIP password, with its keyed hash once the run's key is known (see
/// [`SipPassword::seal`]).
#[derive(Clone)]
pub struct SipPassword {
    secret: SecretString,
    keyed_hash: Option<String>,
}

impl SipPassword {
    /// The directory's value, or `None` when it cannot be a SIP password: blank, longer than
    /// [`MAX_SIP_PASSWORD_CHARS`], or with control characters. Such a value is treated as no
    /// password (the PBX keeps the one it has) rather than sent to be refused.
    pub fn new(value: &str) -> Option<Self> {
        let plausible = !value.is_empty()
            && value.chars().count() <= MAX_SIP_PASSWORD_CHARS
            && !value.chars().any(char::is_control);
        plausible.then(|| Self {
            secret: SecretString::from(value.to_string()),
            keyed_hash: None,
        })
    }

    /// Computes the keyed hash the planner compares with the mapping's.
    pub fn seal(&mut self, key: &SipHashKey) {
        self.keyed_hash = Some(key.hash(self.secret.expose_secret()));
    }

    /// The keyed hash, once sealed.
    pub fn keyed_hash(&self) -> Option<&str> {
        self.keyed_hash.as_deref()
    }

    /// The value, for the PBX request body only.
    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

/// Never the value, never the hash.
impl std::fmt::Debug for SipPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SipPassword([REDACTED])")
    }
}

/// Equal values (for the equality of the types holding one; no secret leaves).
impl PartialEq for SipPassword {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for SipPassword {}

/// `serialize_with` for the PBX request bodies: the only place the value is written out.
pub(crate) fn serialize_exposed<P: Borrow<SipPassword>, S: Serializer>(
    password: &Option<P>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match password {
        Some(password) => serializer.serialize_str(password.borrow().expose()),
        None => serializer.serialize_none(),
    }
}

/// The tenant's key for the keyed hashes: 32 random bytes, hex, kept in the tenant's secrets.
#[derive(Clone)]
pub struct SipHashKey(SecretString);

impl SipHashKey {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::rng().random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(SecretString::from(hex))
    }

    pub fn from_secret(secret: SecretString) -> Self {
        Self(secret)
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// HMAC-SHA-256 of the password under this key, lowercase hex.
    pub fn hash(&self, password: &str) -> String {
        // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()) else {
            return String::new();
        };
        mac.update(password.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for SipHashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SipHashKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implausible_values_are_no_password() {
        assert!(SipPassword::new("").is_none());
        assert!(SipPassword::new("a\nb").is_none());
        assert!(SipPassword::new(&"x".repeat(MAX_SIP_PASSWORD_CHARS + 1)).is_none());
        assert!(SipPassword::new(&"é".repeat(MAX_SIP_PASSWORD_CHARS)).is_some());
    }

    #[test]
    fn the_keyed_hash_depends_on_key_and_value_and_debug_shows_neither() {
        let (k1, k2) = (SipHashKey::generate(), SipHashKey::generate());
        assert_eq!(k1.hash("s3cret"), k1.hash("s3cret"));
        assert_ne!(k1.hash("s3cret"), k1.hash("s3cret!"));
        assert_ne!(k1.hash("s3cret"), k2.hash("s3cret"));
        assert_eq!(k1.hash("s3cret").len(), 64);
        let mut password = SipPassword::new("s3cret").unwrap();
        password.seal(&k1);
        assert_eq!(password.keyed_hash(), Some(k1.hash("s3cret").as_str()));
        let shown = format!("{password:?} {k1:?}");
        assert!(!shown.contains("s3cret") && !shown.contains(&k1.hash("s3cret")));
    }
}
