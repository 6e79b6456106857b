//! The link between a directory user and the PBX extension sync created (or adopted) for it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::extension::NewExtension;
use super::ids::{ExtensionId, ObjectId};

/// Where a mapping stands with the PBX.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MappingLink {
    /// The intent to create, written before the `POST`: if the run dies before the answer, the
    /// next run replays the same request with the same `Idempotency-Key` and so finds the
    /// extension the first attempt may have created, instead of creating a second one.
    Pending {
        idempotency_key: String,
        request: NewExtension,
    },
    /// Linked to a PBX extension. `disabled_by_sync` is set when `on_remove: disable` disabled
    /// it, so that it is enabled again when the user comes back.
    Linked {
        extension_id: ExtensionId,
        #[serde(default)]
        disabled_by_sync: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub object_id: ObjectId,
    pub link: MappingLink,
    /// The number the extension was created with (or had when adopted).
    pub number: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub last_synced_at: DateTime<Utc>,
    /// The keyed hash of the SIP password last sent to the PBX (`fields.sip_password`): never
    /// the password, and without the tenant's key (in its secrets) it tells nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_password_hash: Option<String>,
    /// The SHA-256 of the photo sync put on the extension: only that one is removed when the
    /// directory drops the user's photo (one an admin set there stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_sha256: Option<String>,
    /// Graph: the photo behind the ETag sync last saw for the user (not necessarily uploaded:
    /// a skipped one too), so that an unchanged ETag costs no download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_seen: Option<super::avatar::SeenPhoto>,
}

impl Mapping {
    pub fn extension_id(&self) -> Option<&ExtensionId> {
        match &self.link {
            MappingLink::Linked { extension_id, .. } => Some(extension_id),
            MappingLink::Pending { .. } => None,
        }
    }

    pub fn display_name(&self) -> String {
        super::user::display_name(
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.email.as_deref(),
            self.object_id.as_str(),
        )
    }
}
