//! Users and groups pushed over SCIM on DynamoDB. Under the tenant's partition, a resource is
//! up to three items, always written together in one `TransactWriteItems`:
//! - the resource, `PUSH#{kind}#{id}`: its JSON in `body`, `version`, and the hashes its
//!   other items are keyed by (`name_hash`, `external_hash`);
//! - its name claim, `PUSHNAME#{kind}#{sha-256 of the lowercased name}`, `owner` = id: put
//!   only where absent, so that of two writers of one name exactly one succeeds;
//! - with an external id, its look-up item `PUSHEXT#{kind}#{sha-256 of it}#{id}`, found by a
//!   Query of the prefix (external ids are not unique).
//!
//! A create or delete also moves the kind's counter (`dynamodb_pushed_count`) in the same
//! transaction.
//!
//! Names and external ids are hashed so that keys stay within DynamoDB's 1 KB sort key however
//! long they are; look-ups compare the resources' own fields, never just the hashes.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{body, get_s, key, s, Item, BODY, PK, SK};
use super::dynamodb_pushed_count::count_change;
use super::dynamodb_transact::{Expression, Outcome, Write};
use super::pushed_record::{encode, kind_name, name_key};
use crate::domain::{PushedKey, PushedKind, PushedResource, TenantId};
use crate::error::StoreError;

const SK_PUSHED: &str = "PUSH#";
const SK_PUSHED_NAME: &str = "PUSHNAME#";
const SK_PUSHED_EXTERNAL: &str = "PUSHEXT#";
const VERSION: &str = "version";
const NAME_HASH: &str = "name_hash";
const EXTERNAL_HASH: &str = "external_hash";
const OWNER: &str = "owner";
/// Rounds of a write that lost a race to a concurrent transaction, or (a delete) to a
/// replace between its read and its write, before giving up.
const ROUNDS: u32 = 5;
/// Resources read at once when several share an external id.
const PARALLEL_GETS: usize = 8;

fn digest(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

fn resource_sk(kind: PushedKind, id: &str) -> String {
    format!("{SK_PUSHED}{}#{id}", kind_name(kind))
}

fn claim_sk(kind: PushedKind, name_hash: &str) -> String {
    format!("{SK_PUSHED_NAME}{}#{name_hash}", kind_name(kind))
}

fn claim_key(tenant: &TenantId, kind: PushedKind, name_hash: &str) -> Item {
    key(tenant.as_str(), claim_sk(kind, name_hash))
}

/// The prefix of the look-up items of one external id: `PUSHEXT#{kind}#{hash}#`.
fn external_prefix(kind: PushedKind, external_hash: &str) -> String {
    format!("{SK_PUSHED_EXTERNAL}{}#{external_hash}#", kind_name(kind))
}

fn external_key(tenant: &TenantId, kind: PushedKind, external_hash: &str, id: &str) -> Item {
    let sk = format!("{}{id}", external_prefix(kind, external_hash));
    key(tenant.as_str(), sk)
}

/// The hashes a resource's name claim and external id item are keyed by.
struct Claims {
    name_hash: String,
    external_hash: Option<String>,
}

impl Claims {
    fn of(resource: &PushedResource) -> Self {
        Self {
            name_hash: digest(&name_key(&resource.name)),
            external_hash: resource.external_id.as_deref().map(digest),
        }
    }

    /// As the stored resource item records them.
    fn stored(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            name_hash: get_s(item, NAME_HASH)?.to_string(),
            external_hash: get_s(item, EXTERNAL_HASH).ok().map(str::to_string),
        })
    }
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn stored_version(item: &Item) -> Result<u64, StoreError> {
    match item.get(VERSION) {
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| StoreError::Backend(format!("stored version {n:?} is invalid"))),
        _ => Err(StoreError::Backend(
            "stored resource lacks its version".into(),
        )),
    }
}

fn absent() -> Expression {
    Expression::new("attribute_not_exists(#pk)").name("#pk", PK)
}

fn at_version(version: u64) -> Expression {
    Expression::new("#v = :v")
        .name("#v", VERSION)
        .value(":v", number(version))
}

/// A name claim that is free or already this resource's.
fn free_or_owned_by(id: &str) -> Expression {
    Expression::new("attribute_not_exists(#pk) OR #owner = :id")
        .name("#pk", PK)
        .name("#owner", OWNER)
        .value(":id", s(id))
}

fn resource_item(
    tenant: &TenantId,
    resource: &PushedResource,
    claims: &Claims,
) -> Result<Item, StoreError> {
    let mut item = key(
        tenant.as_str(),
        resource_sk(resource.kind, resource.id.as_str()),
    );
    item.insert(BODY.into(), s(encode(resource)?));
    item.insert(VERSION.into(), number(resource.version));
    item.insert(NAME_HASH.into(), s(claims.name_hash.as_str()));
    if let Some(hash) = &claims.external_hash {
        item.insert(EXTERNAL_HASH.into(), s(hash.as_str()));
    }
    Ok(item)
}

fn claim_item(tenant: &TenantId, resource: &PushedResource, name_hash: &str) -> Item {
    let mut item = claim_key(tenant, resource.kind, name_hash);
    item.insert(OWNER.into(), s(resource.id.as_str()));
    item
}

/// A name claim or look-up item that does not match its resource: a bug or a hand edit,
/// never a caller's mistake.
fn inconsistent(id: &str) -> StoreError {
    StoreError::Backend(format!(
        "the name claim of pushed resource {id} is held by another resource"
    ))
}

fn contended() -> StoreError {
    StoreError::Backend("the pushed resource kept changing while it was written".into())
}

/// A short random pause before the next round of a write that met a concurrent one.
async fn backoff() {
    let millis = rand::random_range(10..60);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

impl DynamoStore {
    /// Every item of the tenant whose sort key starts with `prefix`, strongly consistent.
    fn prefix_query(&self, tenant: &TenantId, prefix: &str) -> QueryFluentBuilder {
        self.query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(tenant.as_str()))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
    }

    /// The resource (if its id is new), its name claim (if the name is free), its external
    /// id's look-up item, and the counter up by one.
    pub(super) async fn pushed_create(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
    ) -> Result<(), StoreError> {
        let claims = Claims::of(resource);
        let item = resource_item(tenant, resource, &claims)?;
        for _ in 0..ROUNDS {
            let mut writes = vec![
                Write::Put(item.clone(), Some(absent())),
                Write::Put(
                    claim_item(tenant, resource, &claims.name_hash),
                    Some(absent()),
                ),
            ];
            if let Some(hash) = &claims.external_hash {
                let id = resource.id.as_str();
                writes.push(Write::Put(
                    external_key(tenant, resource.kind, hash, id),
                    None,
                ));
            }
            // Last and unconditional, so that a refusal's index still names its cause.
            writes.push(count_change(tenant, resource.kind, 1));
            match self.transact(writes, "TransactWriteItems (create)").await? {
                Outcome::Written => return Ok(()),
                Outcome::Refused(0) => return Err(StoreError::Stale),
                Outcome::Refused(_) => return Err(StoreError::NameTaken),
                Outcome::Conflict => backoff().await,
            }
        }
        Err(contended())
    }

    /// The resource on the condition of its version, moving the name claim and the external
    /// id's look-up item where they changed.
    pub(super) async fn pushed_replace(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
        expected: u64,
    ) -> Result<(), StoreError> {
        let (kind, id) = (resource.kind, resource.id.as_str());
        let claims = Claims::of(resource);
        let item = resource_item(tenant, resource, &claims)?;
        for _ in 0..ROUNDS {
            let Some(stored) = self.get(tenant.as_str(), resource_sk(kind, id)).await? else {
                return Err(StoreError::Stale);
            };
            if stored_version(&stored)? != expected {
                return Err(StoreError::Stale);
            }
            let old = Claims::stored(&stored)?;
            let mut writes = vec![Write::Put(item.clone(), Some(at_version(expected)))];
            let new_claim = writes.len();
            if old.name_hash != claims.name_hash {
                let claim = claim_item(tenant, resource, &claims.name_hash);
                writes.push(Write::Put(claim, Some(free_or_owned_by(id))));
                let old_claim = claim_key(tenant, kind, &old.name_hash);
                writes.push(Write::Delete(old_claim, Some(free_or_owned_by(id))));
            }
            if old.external_hash != claims.external_hash {
                if let Some(hash) = &old.external_hash {
                    writes.push(Write::Delete(external_key(tenant, kind, hash, id), None));
                }
                if let Some(hash) = &claims.external_hash {
                    writes.push(Write::Put(external_key(tenant, kind, hash, id), None));
                }
            }
            match self
                .transact(writes, "TransactWriteItems (replace)")
                .await?
            {
                Outcome::Written => return Ok(()),
                // Replaced or deleted since it was read.
                Outcome::Refused(0) => return Err(StoreError::Stale),
                Outcome::Refused(i) if i == new_claim => return Err(StoreError::NameTaken),
                Outcome::Refused(_) => return Err(inconsistent(id)),
                Outcome::Conflict => backoff().await,
            }
        }
        Err(contended())
    }

    pub(super) async fn pushed_get(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &str,
    ) -> Result<Option<PushedResource>, StoreError> {
        let item = self.get(tenant.as_str(), resource_sk(kind, id)).await?;
        item.map(|item| body(&item, BODY)).transpose()
    }

    /// By name: the claim, then its owner. By external id: a Query of the look-up items'
    /// prefix, then their resources.
    pub(super) async fn pushed_find(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        by: PushedKey,
        value: &str,
    ) -> Result<Vec<PushedResource>, StoreError> {
        let ids = match by {
            PushedKey::Name => {
                let sk = claim_sk(kind, &digest(&name_key(value)));
                match self.get(tenant.as_str(), sk).await? {
                    Some(claim) => vec![get_s(&claim, OWNER)?.to_string()],
                    None => Vec::new(),
                }
            }
            PushedKey::ExternalId => self.external_ids(tenant, kind, value).await?,
        };
        let found: Vec<Option<PushedResource>> = futures::stream::iter(ids)
            .map(|id| async move { self.pushed_get(tenant, kind, &id).await })
            .buffered(PARALLEL_GETS)
            .try_collect()
            .await?;
        // A write between the look-up and the read may have moved the name or external id.
        let wanted = name_key(value);
        Ok(found
            .into_iter()
            .flatten()
            .filter(|r| match by {
                PushedKey::Name => name_key(&r.name) == wanted,
                PushedKey::ExternalId => r.external_id.as_deref() == Some(value),
            })
            .collect())
    }

    /// The ids of the look-up items of `external_id`, in id order.
    async fn external_ids(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = external_prefix(kind, &digest(external_id));
        let items = self.query_all(self.prefix_query(tenant, &prefix)).await?;
        items
            .iter()
            .map(|item| {
                let sk = get_s(item, SK)?;
                sk.strip_prefix(prefix.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| StoreError::Backend(format!("unexpected look-up key {sk}")))
            })
            .collect()
    }

    /// One Query of the kind's prefix, every page: sort keys order the resources by id.
    pub(super) async fn pushed_all(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
    ) -> Result<Vec<PushedResource>, StoreError> {
        let prefix = resource_sk(kind, "");
        let items = self.query_all(self.prefix_query(tenant, &prefix)).await?;
        items.iter().map(|item| body(item, BODY)).collect()
    }

    /// The resource, its name claim and its look-up item, and the counter down by one, on the
    /// condition of the version read (so that a concurrent rename cannot leave its new claim behind).
    pub(super) async fn pushed_delete(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        let sk = resource_sk(kind, id);
        for _ in 0..ROUNDS {
            let Some(stored) = self.get(tenant.as_str(), sk.clone()).await? else {
                return Ok(false);
            };
            let old = Claims::stored(&stored)?;
            let version = stored_version(&stored)?;
            let mut writes = vec![
                Write::Delete(key(tenant.as_str(), sk.clone()), Some(at_version(version))),
                Write::Delete(
                    claim_key(tenant, kind, &old.name_hash),
                    Some(free_or_owned_by(id)),
                ),
            ];
            if let Some(hash) = &old.external_hash {
                writes.push(Write::Delete(external_key(tenant, kind, hash, id), None));
            }
            writes.push(count_change(tenant, kind, -1));
            match self.transact(writes, "TransactWriteItems (delete)").await? {
                Outcome::Written => return Ok(true),
                // Replaced or deleted since it was read: read it again.
                Outcome::Refused(0) => continue,
                Outcome::Refused(_) => return Err(inconsistent(id)),
                Outcome::Conflict => backoff().await,
            }
        }
        Err(contended())
    }
}
