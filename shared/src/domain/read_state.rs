//! What a tenant's last sync run read, kept in the store so that the next run reads only what
//! changed (issue 17): the directory as that run planned on it, with the provider's change
//! cursor, and the PBX's extension listing with its ETag. It is stored as a small
//! [`ReadHead`], all a run needs before it reads, and a large body (users and extensions)
//! that a run fetches only when something changed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::changes::ChangeCursor;
use super::config::DirectoryConfig;
use super::extension::Extension;
use super::user::{Coverage, Snapshot};

/// The kept read state of one tenant. Never holds a credential or a SIP password
/// (`DirectoryUser::sip_password` is not serialized): an incremental run has the passwords
/// of the changed users only, and the planner sends none for a user without one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadState {
    /// Every user the last read showed (out-of-scope ones too), its organizations and groups,
    /// and [`Snapshot::change_cursor`], where the next change-only read starts.
    pub snapshot: Snapshot,
    /// [`config_fingerprint`] of the config the snapshot was read under: any change to the
    /// config (scope, fields, provider, ...) means a full read.
    pub config_fingerprint: String,
    /// When the directory was last read in full; the operator's `DIRSYNC_FULL_READ_HOURS`
    /// bounds how old this may be.
    pub full_read_at: DateTime<Utc>,
    /// The PBX's extension listing as the last run left it, when the PBX gave an ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx: Option<KeptListing>,
    /// Whether the run that kept this left nothing to do: its plan was empty and every change
    /// it made succeeded (the engine's short-circuit of an unchanged run requires it).
    #[serde(default)]
    pub settled: bool,
}

/// What a run needs of the kept state before it reads: whether it may read only what
/// changed, from where, with which ETag, and whether it may end there if nothing did. Its
/// `body_sha256` names the body (snapshot and listing) it goes with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadHead {
    pub config_fingerprint: String,
    pub full_read_at: DateTime<Utc>,
    #[serde(default)]
    pub settled: bool,
    pub coverage: Coverage,
    #[serde(default)]
    pub change_cursor: Option<ChangeCursor>,
    #[serde(default)]
    pub pbx: Option<ListingHead>,
    /// [`Snapshot::next_expiry`] of the body. A head kept before this field existed says
    /// the earliest time there is: unknown, so the run reads the body.
    #[serde(default = "unknown_expiry")]
    pub next_expiry: Option<DateTime<Utc>>,
    /// The hex SHA-256 of the stored (compressed) body.
    pub body_sha256: String,
}

fn unknown_expiry() -> Option<DateTime<Utc>> {
    Some(DateTime::<Utc>::MIN_UTC)
}

/// The endpoint and `ETag` of a kept listing, without its extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListingHead {
    pub base_url: String,
    pub etag: String,
}

/// A PBX extension listing and the `ETag` it came with, on one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptListing {
    /// The endpoint's `base_url`: a listing is never used for another endpoint.
    pub base_url: String,
    pub etag: String,
    pub extensions: Vec<Extension>,
}

/// A read state as a run hands it to the store: its head, and its body (users,
/// organizations, groups, extensions) already compressed, which the head names by digest.
/// Made straight from the run's reads (`store::read_state_codec::encode_parts`): no copy of
/// 10,000 users is held while the run applies.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptReads {
    pub head: ReadHead,
    pub body: Vec<u8>,
}

/// A stable digest of a directory config (no credentials are in it): equal configs, equal
/// fingerprints. The config's JSON has a fixed field order and no maps. Should it ever fail
/// to serialize, a random value stands in: it matches nothing, so the next run reads in full.
pub fn config_fingerprint(config: &DirectoryConfig) -> String {
    let Ok(json) = serde_json::to_vec(config) else {
        return uuid::Uuid::new_v4().to_string();
    };
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
