//! How a tenant's kept read state (`domain::read_state`) is stored: a small head (config
//! fingerprint, times, change cursor, ETag) and a large body (the users, organizations,
//! groups and extensions), the body's JSON compressed (10,000 users take a few hundred KB)
//! and named by its digest, so that a run whose cursor moved but whose directory did not
//! rewrites only the head.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{
    DirectoryGroup, DirectoryOrganization, DirectoryUser, Extension, KeptListing, ListingHead,
    ReadHead, ReadState, Snapshot,
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
    let head = encode_head(&ReadHead {
        config_fingerprint: state.config_fingerprint.clone(),
        full_read_at: state.full_read_at,
        settled: state.settled,
        coverage: snapshot.coverage,
        change_cursor: snapshot.change_cursor.clone(),
        pbx: state.pbx.as_ref().map(|l| ListingHead {
            base_url: l.base_url.clone(),
            etag: l.etag.clone(),
        }),
        next_expiry: snapshot.next_expiry(),
        body_sha256: sha256_hex(&body),
    })?;
    Ok(Encoded { head, body })
}

pub(crate) fn encode_head(head: &ReadHead) -> Result<String, StoreError> {
    Ok(serde_json::to_string(head)?)
}

/// The text by which a stored head's JSON names the body `body_sha256`: a store's condition
/// that the head it replaces goes with the same body.
pub(crate) fn names_body(body_sha256: &str) -> String {
    format!("\"body_sha256\":\"{body_sha256}\"")
}

pub(crate) fn decode_head(head: &str) -> Result<ReadHead, StoreError> {
    Ok(serde_json::from_str(head)?)
}

/// The state [`encode`] made, with its head. A body that is not the one the head names is
/// refused.
pub(crate) fn decode(head: &str, body: &[u8]) -> Result<(ReadHead, ReadState), StoreError> {
    let head = decode_head(head)?;
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
    let state = ReadState {
        snapshot: Snapshot {
            users: body.users,
            organizations: body.organizations,
            groups: body.groups,
            coverage: head.coverage,
            complete: true,
            change_cursor: head.change_cursor.clone(),
        },
        config_fingerprint: head.config_fingerprint.clone(),
        full_read_at: head.full_read_at,
        pbx: head.pbx.clone().map(|l| KeptListing {
            base_url: l.base_url,
            etag: l.etag,
            extensions: body.extensions,
        }),
        settled: head.settled,
    };
    Ok((head, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChangeCursor, Coverage, UserState};
    use crate::planner::model::user;
    use chrono::Utc;

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
        let (head, decoded) = decode(&encoded.head, &encoded.body).unwrap();
        assert_eq!(decoded, state);
        assert_eq!(head, decode_head(&encoded.head).unwrap());
        assert!(encoded.head.contains(&names_body(&head.body_sha256)));
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
        let digest = |e: &Encoded| decode_head(&e.head).unwrap().body_sha256;
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(a.head, b.head);
        let mut other = state(50, "c1");
        other.snapshot.users[3].mobile = Some("+1".into());
        assert_ne!(digest(&encode(&other).unwrap()), digest(&a));
    }

    #[test]
    fn the_head_names_the_earliest_expiry_of_an_active_user() {
        let mut state = state(3, "c1");
        let at = |days| Utc::now() + chrono::TimeDelta::days(days);
        assert_eq!(
            decode_head(&encode(&state).unwrap().head)
                .unwrap()
                .next_expiry,
            None
        );
        state.snapshot.users[0].expires_at = Some(at(5));
        state.snapshot.users[1].expires_at = Some(at(1));
        state.snapshot.users[1].state = UserState::Disabled;
        state.snapshot.users[2].expires_at = Some(at(3));
        let head = decode_head(&encode(&state).unwrap().head).unwrap();
        assert_eq!(head.next_expiry, state.snapshot.users[2].expires_at);
    }

    #[test]
    fn a_head_kept_before_expiries_were_says_one_may_be_due() {
        let mut json: serde_json::Value =
            serde_json::from_str(&encode(&state(3, "c1")).unwrap().head).unwrap();
        json.as_object_mut().unwrap().remove("next_expiry");
        let head = decode_head(&json.to_string()).unwrap();
        assert!(head.next_expiry.is_some_and(|at| at <= Utc::now()));
    }
}
