//! `login`: whether the PBX platform may check a user's directory password through
//! `POST .../auth/verify` (CONTRACTS sections 1 and 2).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginConfig {
    /// Off by default: a tenant opts in to password checks against its directory.
    #[serde(default)]
    pub enabled: bool,
}
