//! The tenant's SCIM bearer token (CONTRACTS section 6): made here, shown once, kept only as
//! its SHA-256 in the tenant record.

use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Change, TenantService};
use crate::domain::TenantId;
use crate::error::TenantError;

/// What every token starts with, so that secret scanners and people can tell one.
const PREFIX: &str = "dirsync_scim_";

/// The hex SHA-256 of `token`, as the tenant record keeps it.
pub fn scim_token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Whether `presented` is the token whose hash is `stored`, in constant time.
pub fn scim_token_matches(stored: &str, presented: &str) -> bool {
    let presented = scim_token_hash(presented);
    stored.len() == presented.len() && bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
}

impl TenantService {
    /// Makes a new SCIM token for the tenant (a tenant record is made when there is none),
    /// replacing any earlier one: from this write on only the new token is taken.
    pub async fn new_scim_token(&self, id: &TenantId) -> Result<SecretString, TenantError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("{PREFIX}{}", hex(&bytes));
        let hash = scim_token_hash(&token);
        self.update(id, true, |tenant| {
            tenant.scim_token_sha256 = Some(hash.clone());
            Ok(Change::Write(()))
        })
        .await?;
        Ok(SecretString::from(token))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn only_the_token_itself_matches_its_hash() {
        let token = SecretString::from("dirsync_scim_00ff".to_string());
        let stored = scim_token_hash(token.expose_secret());
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains("00ff"));
        assert!(scim_token_matches(&stored, token.expose_secret()));
        assert!(!scim_token_matches(&stored, "dirsync_scim_00fe"));
        assert!(!scim_token_matches(&stored, ""));
        assert!(!scim_token_matches("short", token.expose_secret()));
    }
}
