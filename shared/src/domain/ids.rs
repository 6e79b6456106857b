//! Identifiers that validate on `parse`, so that a value of these types is always well-formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct IdError {
    pub kind: &'static str,
    pub message: String,
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map_err(|message| IdError { kind: $kind, message })?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn opaque(value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > max {
        return Err(format!("must be at most {max} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

string_id!(
    /// A PBX tenant: `^[a-z0-9][a-z0-9-]{1,62}$` (CONTRACTS section 1).
    TenantId,
    "tenant id",
    |v| {
        let bytes = v.as_bytes();
        let ok = (2..=63).contains(&bytes.len())
            && matches!(bytes[0], b'a'..=b'z' | b'0'..=b'9')
            && bytes[1..]
                .iter()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'));
        if ok {
            Ok(())
        } else {
            Err("must match ^[a-z0-9][a-z0-9-]{1,62}$".into())
        }
    }
);

string_id!(
    /// The directory's own immutable id of a user (Graph `id`, Okta `id`, AD `objectGUID`,
    /// OpenLDAP `entryUUID`): the key of the mapping.
    ObjectId,
    "object id",
    |v| opaque(v, 256)
);

string_id!(
    /// The PBX's id of an extension.
    ExtensionId,
    "extension id",
    |v| opaque(v, 128)
);

string_id!(
    /// The PBX's id of an organization.
    OrganizationId,
    "organization id",
    |v| opaque(v, 128)
);

string_id!(
    /// The PBX's id of an extension group.
    GroupId,
    "extension group id",
    |v| opaque(v, 128)
);

string_id!(
    /// One sync run.
    RunId,
    "run id",
    |v| opaque(v, 64)
);

impl RunId {
    /// A fresh, unique run id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_follow_the_contract() {
        for ok in ["ab", "acme", "a-1", "0x", &"a".repeat(63)] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "-ab",
            "Acme",
            "a_b",
            "a b",
            &"a".repeat(64),
            "ab/../c",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_reject_empty_and_control_characters() {
        assert!(ObjectId::parse("").is_err());
        assert!(ObjectId::parse("a\nb").is_err());
        assert!(ExtensionId::parse("x".repeat(129)).is_err());
        assert_eq!(ObjectId::parse("u-1").unwrap().as_str(), "u-1");
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<TenantId>("\"Bad\"").is_err());
        let t: TenantId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(t.to_string(), "acme");
    }
}
