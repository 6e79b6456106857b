//! How a tenant's kept read state (`domain::read_state`) is stored: a small head (config
//! fingerprint, times, change cursor, ETag) and a large body (the users, organizations,
//! groups and extensions), the body's JSON compressed (10,000 users take a few hundred KB)
//! and named by its digest, so that a run whose cursor moved but whose directory did not
//! rewrites only the head.

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{
    ChangeCursor, Coverage, DirectoryGroup, DirectoryOrganization, DirectoryUser, Extension,
    KeptListing, ReadState, Snapshot,
};
use crate::error::StoreError;

/// The largest piece of a body a DynamoDB item holds, well under its 400 KB.
#[cfg(feature = "aws")]
pub(crate) const PIECE_BYTES: usize = 300 * 1024;
/// The most a stored body may inflate to: a garbled one must not exhaust memory.
const MAX_JSON_BYTES: u64 = 512 * 1024 * 1024;

/// A read state as stored.
pub(crate) struct Encoded {
    /// The head's JSON.
    pub head: String,
    /// The body, compressed; the head holds its SHA-256.
    pub body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Head {
    config_fingerprint: String,
    full_read_at: DateTime<Utc>,
    #[serde(default)]
    settled: bool,
    coverage: Coverage,
    #[serde(default)]
    change_cursor: Option<ChangeCursor>,
    #[serde(default)]
    pbx: Option<ListingHead>,
    body_sha256: String,
}

#[derive(Serialize, Deserialize)]
struct ListingHead {
    base_url: String,
    etag: String,
}

#[derive(Serialize)]
struct BodyOut<'a> {
    users: &'a [DirectoryUser],
    organizations: &'a [DirectoryOrganization],
    groups: &'a [DirectoryGroup],
    extensions: &'a [Extension],
}

#[derive(Deserialize)]
struct BodyIn {
    users: Vec<DirectoryUser>,
    #[serde(default)]
    organizations: Vec<DirectoryOrganization>,
    #[serde(default)]
    groups: Vec<DirectoryGroup>,
    #[serde(default)]
    extensions: Vec<Extension>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The head and compressed body of `state`.
pub(crate) fn encode(state: &ReadState) -> Result<Encoded, StoreError> {
    let snapshot = &state.snapshot;
    let json = serde_json::to_vec(&BodyOut {
        users: &snapshot.users,
        organizations: &snapshot.organizations,
        groups: &snapshot.groups,
        extensions: state.pbx.as_ref().map_or(&[], |l| &l.extensions),
    })?;
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::fast());
    let body = encoder
        .write_all(&json)
        .and_then(|()| encoder.finish())
        .map_err(|e| StoreError::Backend(format!("the read state could not be compressed: {e}")))?;
    let body_sha256 = sha256_hex(&body);
    let head = serde_json::to_string(&Head {
        config_fingerprint: state.config_fingerprint.clone(),
        full_read_at: state.full_read_at,
        settled: state.settled,
        coverage: snapshot.coverage,
        change_cursor: snapshot.change_cursor.clone(),
        pbx: state.pbx.as_ref().map(|l| ListingHead {
            base_url: l.base_url.clone(),
            etag: l.etag.clone(),
        }),
        body_sha256,
    })?;
    Ok(Encoded { head, body })
}

/// The hex SHA-256 of the body the head names.
#[cfg(feature = "aws")]
pub(crate) fn body_sha256(head: &str) -> Result<String, StoreError> {
    Ok(serde_json::from_str::<Head>(head)?.body_sha256)
}

/// The state [`encode`] made. A body that is not the one the head names is refused.
pub(crate) fn decode(head: &str, body: &[u8]) -> Result<ReadState, StoreError> {
    let head: Head = serde_json::from_str(head)?;
    if sha256_hex(body) != head.body_sha256 {
        return Err(StoreError::Backend(
            "the stored read state's body is not the one its head names".into(),
        ));
    }
    let mut json = Vec::new();
    GzDecoder::new(body)
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| StoreError::Backend(format!("the stored read state is garbled: {e}")))?;
    if json.len() as u64 > MAX_JSON_BYTES {
        return Err(StoreError::Backend(
            "the stored read state is too large".into(),
        ));
    }
    let body: BodyIn = serde_json::from_slice(&json)?;
    Ok(ReadState {
        snapshot: Snapshot {
            users: body.users,
            organizations: body.organizations,
            groups: body.groups,
            coverage: head.coverage,
            complete: true,
            change_cursor: head.change_cursor,
        },
        config_fingerprint: head.config_fingerprint,
        full_read_at: head.full_read_at,
        pbx: head.pbx.map(|l| KeptListing {
            base_url: l.base_url,
            etag: l.etag,
            extensions: body.extensions,
        }),
        settled: head.settled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::model::user;

    fn state(users: usize, cursor: &str) -> ReadState {
        ReadState {
            snapshot: Snapshot {
                users: (0..users)
                    .map(|i| user(&format!("u{i:05}"), "Ann", &format!("ann{i}@x.com"), "100"))
                    .collect(),
                organizations: Vec::new(),
                groups: Vec::new(),
                coverage: Coverage::WholeDirectory,
                complete: true,
                change_cursor: Some(ChangeCursor {
                    provider: "p".into(),
                    position: cursor.into(),
                }),
            },
            config_fingerprint: "f".into(),
            full_read_at: Utc::now(),
            pbx: None,
            settled: true,
        }
    }

    #[test]
    fn round_trips_compressed_and_refuses_garbage() {
        let state = state(2000, "c1");
        let encoded = encode(&state).unwrap();
        assert!(encoded.body.len() * 5 < serde_json::to_vec(&state).unwrap().len());
        assert_eq!(decode(&encoded.head, &encoded.body).unwrap(), state);
        assert!(decode(&encoded.head, b"not gzip").is_err());
        let half = &encoded.body[..encoded.body.len() / 2];
        assert!(decode(&encoded.head, half).is_err());
    }

    #[test]
    fn a_moved_cursor_keeps_the_body() {
        let (a, b) = (
            encode(&state(50, "c1")).unwrap(),
            encode(&state(50, "c2")).unwrap(),
        );
        let digest = |e: &Encoded| serde_json::from_str::<Head>(&e.head).unwrap().body_sha256;
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(a.head, b.head);
        let mut other = state(50, "c1");
        other.snapshot.users[3].mobile = Some("+1".into());
        assert_ne!(digest(&encode(&other).unwrap()), digest(&a));
    }
}
