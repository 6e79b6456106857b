//! A mapping's item: the object id only in the sort key and the rest under one-letter names,
//! because a no-op sync reads every mapping of the tenant. At ~200 bytes an item, 10,000
//! mappings are 2 MB: two or three Query pages (1 MB each) and ~250 read units, where the
//! domain's JSON made four pages and ~410 units.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dynamodb_items::{get_s, key, parse_id, s, Item, BODY, SK, SK_MAPPING};
use crate::domain::avatar::SeenPhoto;
use crate::domain::{ExtensionId, Mapping, MappingLink, NewExtension, ObjectId, TenantId};
use crate::error::StoreError;

#[derive(Serialize, Deserialize)]
struct MappingBody {
    /// Linked: the extension id.
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    extension_id: Option<ExtensionId>,
    #[serde(rename = "d", default, skip_serializing_if = "is_false")]
    disabled_by_sync: bool,
    /// Pending: the idempotency key and the create's request.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    request: Option<NewExtension>,
    #[serde(rename = "n")]
    number: String,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(rename = "t")]
    last_synced_at: DateTime<Utc>,
    /// The keyed hash of the SIP password last sent.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    sip_password_hash: Option<String>,
    /// The SHA-256 of the photo sync uploaded.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    avatar_sha256: Option<String>,
    /// Graph: the photo behind the ETag sync last saw.
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    avatar_seen: Option<SeenPhoto>,
}

fn is_false(value: &bool) -> bool {
    !value
}

pub(super) fn mapping_item(tenant: &TenantId, mapping: &Mapping) -> Result<Item, StoreError> {
    let (extension_id, disabled_by_sync, idempotency_key, request) = match &mapping.link {
        MappingLink::Linked {
            extension_id,
            disabled_by_sync,
        } => (Some(extension_id.clone()), *disabled_by_sync, None, None),
        MappingLink::Pending {
            idempotency_key,
            request,
        } => (
            None,
            false,
            Some(idempotency_key.clone()),
            Some(request.clone()),
        ),
    };
    let body = MappingBody {
        extension_id,
        disabled_by_sync,
        idempotency_key,
        request,
        number: mapping.number.clone(),
        first_name: mapping.first_name.clone(),
        last_name: mapping.last_name.clone(),
        email: mapping.email.clone(),
        last_synced_at: mapping.last_synced_at,
        sip_password_hash: mapping.sip_password_hash.clone(),
        avatar_sha256: mapping.avatar_sha256.clone(),
        avatar_seen: mapping.avatar_seen.clone(),
    };
    let mut item = key(
        tenant.as_str(),
        format!("{SK_MAPPING}{}", mapping.object_id),
    );
    item.insert(BODY.into(), s(serde_json::to_string(&body)?));
    Ok(item)
}

pub(super) fn mapping_from_item(item: &Item) -> Result<Mapping, StoreError> {
    let sk = get_s(item, SK)?;
    let raw_id = sk
        .strip_prefix(SK_MAPPING)
        .ok_or_else(|| StoreError::Backend(format!("item {sk} is not a mapping")))?;
    let object_id = parse_id(raw_id, ObjectId::parse)?;
    let body: MappingBody = serde_json::from_str(get_s(item, BODY)?)?;
    let link = match (body.extension_id, body.idempotency_key, body.request) {
        (Some(extension_id), None, None) => MappingLink::Linked {
            extension_id,
            disabled_by_sync: body.disabled_by_sync,
        },
        (None, Some(idempotency_key), Some(request)) => MappingLink::Pending {
            idempotency_key,
            request,
        },
        _ => {
            return Err(StoreError::Backend(format!(
                "mapping {object_id} is neither linked nor pending"
            )))
        }
    };
    Ok(Mapping {
        object_id,
        link,
        number: body.number,
        first_name: body.first_name,
        last_name: body.last_name,
        email: body.email,
        last_synced_at: body.last_synced_at,
        sip_password_hash: body.sip_password_hash,
        avatar_sha256: body.avatar_sha256,
        avatar_seen: body.avatar_seen,
    })
}
