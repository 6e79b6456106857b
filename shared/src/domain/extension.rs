//! The PBX side: extensions as the PBX REST contract (CONTRACTS section 4) shows them.

use serde::{Deserialize, Serialize};

use super::ids::{ExtensionId, OrganizationId};

/// The marker dirsync puts on the extensions it creates.
pub const MANAGED_BY: &str = "directory-sync";

/// An extension as listed by the PBX. Telephony settings (voicemail, forwarding, ...) are not
/// read: dirsync never sends them and so can never change them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub id: ExtensionId,
    pub number: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub organization_id: Option<OrganizationId>,
    pub enabled: bool,
    #[serde(default)]
    pub managed_by: Option<String>,
    /// Hex SHA-256 of the extension's photo, `None` without one.
    #[serde(default)]
    pub avatar_sha256: Option<String>,
}

/// The body of `POST /v1/extensions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewExtension {
    pub number: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<OrganizationId>,
    pub managed_by: String,
    /// Config `welcome_email`: left out when false, so bodies without it stay as they were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub send_welcome_email: bool,
}

/// An extension number: 2 to 15 digits. The planner skips others as `invalid_extension`, and
/// the PBX simulator refuses them as a real PBX would.
pub fn is_valid_number(number: &str) -> bool {
    (2..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit())
}

/// A plausible email: one '@' with text on both sides, a dot in the domain, no spaces, at
/// most 254 bytes. Not RFC 5322 in full: the PBX decides, this keeps obvious junk out.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}
