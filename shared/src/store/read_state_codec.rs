//! How a tenant's kept read state (`domain::read_state`) is stored: a small head (config
//! fingerprint, times, change cursor, ETag) and a large body (the users, organizations,
//! groups and extensions), the body's JSON compressed (10,000 users take a few hundred KB)
//! and named by its digest, so that a run whose cursor moved but whose directory did not
//! rewrites only the head.

use std::io::{BufWriter, Read};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};

use crate::domain::{
    DirectoryGroup, DirectoryOrganization, DirectoryUser, Extension, KeptListing, KeptReads,
    ListingHead, ReadHead, ReadState, Snapshot,
};
use crate::error::StoreError;

/// The largest piece of a body a DynamoDB item holds, well under its 400 KB.
#[cfg(feature = "aws")]
pub(crate) const PIECE_BYTES: usize = 300 * 1024;
/// The most a stored body may inflate to: a garbled one must not exhaust memory.
const MAX_JSON_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Serialize)]
struct BodyOut<'a> {
    users: Vec<&'a DirectoryUser>,
    organizations: Vec<&'a DirectoryOrganization>,
    groups: Vec<&'a DirectoryGroup>,
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

/// What a kept read state is made of, borrowed from a run's reads.
pub(crate) struct StateParts<'a> {
    pub snapshot: &'a Snapshot,
    pub config_fingerprint: &'a str,
    pub full_read_at: DateTime<Utc>,
    /// The PBX listing's endpoint and ETag, with its extensions, when it gave an ETag.
    pub listing: Option<(ListingHead, &'a [Extension])>,
    pub settled: bool,
}

/// The head and compressed body of a read state, encoded from its parts in place: users,
/// organizations and groups in object id order (so an unchanged directory gives the same
/// body), the JSON streamed into the compressor rather than held whole.
pub(crate) fn encode_parts(parts: StateParts<'_>) -> Result<KeptReads, StoreError> {
    let snapshot = parts.snapshot;
    let mut users: Vec<_> = snapshot.users.iter().collect();
    users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    let mut organizations: Vec<_> = snapshot.organizations.iter().collect();
    organizations.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    let mut groups: Vec<_> = snapshot.groups.iter().collect();
    groups.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    let (listing, extensions) = match parts.listing {
        Some((head, extensions)) => (Some(head), extensions),
        None => (None, &[][..]),
    };
    let body = compress(&BodyOut {
        users,
        organizations,
        groups,
        extensions,
    })?;
    let head = ReadHead {
        config_fingerprint: parts.config_fingerprint.to_string(),
        full_read_at: parts.full_read_at,
        settled: parts.settled,
        coverage: snapshot.coverage,
        change_cursor: snapshot.change_cursor.clone(),
        pbx: listing,
        next_expiry: snapshot.next_expiry(),
        body_sha256: sha256_hex(&body),
    };
    Ok(KeptReads { head, body })
}

fn compress(body: &BodyOut<'_>) -> Result<Vec<u8>, StoreError> {
    let failed = |e: std::io::Error| {
        StoreError::Backend(format!("the read state could not be compressed: {e}"))
    };
    let encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let mut writer = BufWriter::with_capacity(64 * 1024, encoder);
    serde_json::to_writer(&mut writer, body)?;
    writer
        .into_inner()
        .map_err(|e| failed(e.into_error()))?
        .finish()
        .map_err(failed)
}

/// [`encode_parts`] of a whole state (what the stores' tests keep).
#[cfg(any(test, feature = "conformance"))]
pub(crate) fn encode(state: &ReadState) -> Result<KeptReads, StoreError> {
    encode_parts(StateParts {
        snapshot: &state.snapshot,
        config_fingerprint: &state.config_fingerprint,
        full_read_at: state.full_read_at,
        listing: state.pbx.as_ref().map(|l| {
            let head = ListingHead {
                base_url: l.base_url.clone(),
                etag: l.etag.clone(),
            };
            (head, l.extensions.as_slice())
        }),
        settled: state.settled,
    })
}

pub(crate) fn encode_head(head: &ReadHead) -> Result<String, StoreError> {
    Ok(serde_json::to_string(head)?)
}

/// The text by which a stored head's JSON names the body `body_sha256`: a store's condition
/// that the head it replaces goes with the same body.
pub(crate) fn names_body(body_sha256: &str) -> String {
    format!("\"body_sha256\":\"{body_sha256}\"")
}

/// The size a gzip body says it inflates to (its trailer's ISIZE), bounded by what deflate
/// can make of its length: the buffer is allocated once, not doubled up to twice the JSON.
fn inflated_size(body: &[u8]) -> usize {
    let said = match body.len().checked_sub(4).and_then(|at| body.get(at..)) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => 0,
    };
    said.min(body.len().saturating_mul(64))
        .min(MAX_JSON_BYTES as usize)
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
    let mut json = Vec::with_capacity(inflated_size(body));
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
        let head_json = encode_head(&encoded.head).unwrap();
        let (head, decoded) = decode(&head_json, &encoded.body).unwrap();
        assert_eq!(decoded, state);
        assert_eq!(head, encoded.head);
        assert!(head_json.contains(&names_body(&head.body_sha256)));
        assert!(decode(&head_json, b"not gzip").is_err());
        let half = &encoded.body[..encoded.body.len() / 2];
        assert!(decode(&head_json, half).is_err());
    }

    #[test]
    fn the_buffer_is_the_inflated_size_and_a_lying_trailer_is_bounded() {
        let state = state(500, "c1");
        let body = encode(&state).unwrap().body;
        let mut json = Vec::new();
        GzDecoder::new(&body[..]).read_to_end(&mut json).unwrap();
        assert_eq!(inflated_size(&body), json.len());
        let mut lying = body.clone();
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(inflated_size(&lying), lying.len() * 64);
        assert_eq!(inflated_size(b"ab"), 0);
    }

    #[test]
    fn a_moved_cursor_keeps_the_body() {
        let (a, b) = (
            encode(&state(50, "c1")).unwrap(),
            encode(&state(50, "c2")).unwrap(),
        );
        let digest = |e: &KeptReads| e.head.body_sha256.clone();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(a.head, b.head);
        let mut other = state(50, "c1");
        other.snapshot.users[3].mobile = Some("+1".into());
        assert_ne!(digest(&encode(&other).unwrap()), digest(&a));
    }

    #[test]
    fn the_body_is_the_same_in_any_order_and_reads_back_in_object_id_order() {
        let sorted = state(50, "c1");
        let mut shuffled = sorted.clone();
        shuffled.snapshot.users.reverse();
        shuffled.snapshot.users.swap(3, 17);
        let (a, b) = (encode(&sorted).unwrap(), encode(&shuffled).unwrap());
        assert_eq!(a.body, b.body);
        let (_, decoded) = decode(&encode_head(&b.head).unwrap(), &b.body).unwrap();
        assert_eq!(decoded, sorted);
    }

    #[test]
    fn the_head_names_the_earliest_expiry_of_an_active_user() {
        let mut state = state(3, "c1");
        let at = |days| Utc::now() + chrono::TimeDelta::days(days);
        assert_eq!(encode(&state).unwrap().head.next_expiry, None);
        state.snapshot.users[0].expires_at = Some(at(5));
        state.snapshot.users[1].expires_at = Some(at(1));
        state.snapshot.users[1].state = UserState::Disabled;
        state.snapshot.users[2].expires_at = Some(at(3));
        let head = encode(&state).unwrap().head;
        assert_eq!(head.next_expiry, state.snapshot.users[2].expires_at);
    }

    #[test]
    fn a_head_kept_before_expiries_were_says_one_may_be_due() {
        let mut json: serde_json::Value =
            serde_json::to_value(encode(&state(3, "c1")).unwrap().head).unwrap();
        json.as_object_mut().unwrap().remove("next_expiry");
        let head = decode_head(&json.to_string()).unwrap();
        assert!(head.next_expiry.is_some_and(|at| at <= Utc::now()));
    }
}
