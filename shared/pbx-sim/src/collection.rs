//! One resource of an account (extensions, organizations, extension groups): its objects by
//! id, the `Idempotency-Key` of each create, fresh ids and paging, shared by all three.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use axum::http::StatusCode;
use sha2::{Digest, Sha256};

use crate::model::{ApiError, SimExtension, SimGroup, SimOrganization};

/// An object the simulator stores under its `id`.
pub(crate) trait Stored: Clone {
    /// The prefix of the ids the simulator assigns, e.g. `ext`.
    const PREFIX: &'static str;
    /// How the object is named in error messages.
    const NOUN: &'static str;
    fn id_mut(&mut self) -> &mut String;
}

impl Stored for SimExtension {
    const PREFIX: &'static str = "ext";
    const NOUN: &'static str = "extension";
    fn id_mut(&mut self) -> &mut String {
        &mut self.id
    }
}

impl Stored for SimOrganization {
    const PREFIX: &'static str = "org";
    const NOUN: &'static str = "organization";
    fn id_mut(&mut self) -> &mut String {
        &mut self.id
    }
}

impl Stored for SimGroup {
    const PREFIX: &'static str = "grp";
    const NOUN: &'static str = "extension group";
    fn id_mut(&mut self) -> &mut String {
        &mut self.id
    }
}

pub(crate) struct Collection<T> {
    /// By id; ids grow with creation, so this order is also the listing order.
    items: BTreeMap<String, T>,
    /// `Idempotency-Key` of each create, and the id of the object it made.
    keys: HashMap<String, String>,
    next_id: u64,
    /// The most objects the account may hold (403 `limit_reached` beyond).
    pub limit: usize,
    /// The listing's version (its `ETag`), computed on first need and forgotten on every
    /// mutable access, so that no way of changing an object can leave it stale.
    version: OnceLock<String>,
}

impl<T: Stored> Collection<T> {
    pub fn new(limit: usize) -> Self {
        Self {
            items: BTreeMap::new(),
            keys: HashMap::new(),
            next_id: 1,
            limit,
            version: OnceLock::new(),
        }
    }

    pub fn all(&self) -> Vec<T> {
        self.items.values().cloned().collect()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.items.values()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.version.take();
        self.items.values_mut()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.items.get(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.items.contains_key(id)
    }

    /// The object of `id`, or 404.
    pub fn get_mut(&mut self, id: &str) -> Result<&mut T, ApiError> {
        self.version.take();
        self.items
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("no {} with this id", T::NOUN)))
    }

    /// Up to `limit` objects after the id `after`, and the id to continue after when more
    /// remain.
    pub fn page(&self, limit: usize, after: Option<&str>) -> (Vec<T>, Option<String>) {
        use std::ops::Bound::{Excluded, Unbounded};
        let start = after.map_or(Unbounded, |id| Excluded(id.to_string()));
        let mut rest = self.items.range((start, Unbounded));
        let items: Vec<(&String, &T)> = rest.by_ref().take(limit).collect();
        let next = match (rest.next(), items.last()) {
            (Some(_), Some((last, _))) => Some((*last).clone()),
            _ => None,
        };
        (
            items.into_iter().map(|(_, item)| item.clone()).collect(),
            next,
        )
    }

    /// The object a create with `key` made before, if any. A repeat answers with it whatever
    /// its body (as the contract says); only a deleted one cannot be answered.
    pub fn replay(&self, key: &str) -> Option<Result<T, ApiError>> {
        let id = self.keys.get(key)?;
        Some(self.items.get(id).cloned().ok_or_else(|| {
            ApiError::conflict(
                "idempotency_key_reused",
                format!(
                    "the {} created with this Idempotency-Key was deleted",
                    T::NOUN
                ),
            )
        }))
    }

    /// 403 `limit_reached` when one more object would pass the limit.
    pub fn check_room(&self) -> Result<(), ApiError> {
        if self.items.len() >= self.limit {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "limit_reached",
                format!("the account holds its limit of {} {}s", self.limit, T::NOUN),
            ));
        }
        Ok(())
    }

    /// Stores a new object under a fresh id, remembering the create's key.
    pub fn create(&mut self, key: &str, mut item: T) -> T {
        let id = self.fresh_id();
        *item.id_mut() = id.clone();
        self.version.take();
        self.keys.insert(key.to_string(), id.clone());
        self.items.insert(id, item.clone());
        item
    }

    /// Inserts an object as given, assigning an id when it has none.
    pub fn seed(&mut self, mut item: T) -> String {
        if item.id_mut().is_empty() {
            *item.id_mut() = self.fresh_id();
        }
        let id = item.id_mut().clone();
        self.version.take();
        self.items.insert(id.clone(), item);
        id
    }

    pub fn remove(&mut self, id: &str) -> Result<T, ApiError> {
        self.version.take();
        self.items
            .remove(id)
            .ok_or_else(|| ApiError::not_found(format!("no {} with this id", T::NOUN)))
    }

    /// A version of everything the listing shows: a digest of every object as listed, in
    /// listing order. Any change to any object moves it; the same objects give the same one,
    /// across restarts too, so a kept ETag never stands for other contents.
    pub fn version(&self) -> &str
    where
        T: serde::Serialize,
    {
        self.version.get_or_init(|| {
            let mut digest = Sha256::new();
            for item in self.items.values() {
                // Serializing plain structs of strings and bools cannot fail; an empty
                // encoding would still be hashed with its neighbours' boundaries.
                let encoded = serde_json::to_vec(item).unwrap_or_default();
                digest.update((encoded.len() as u64).to_be_bytes());
                digest.update(&encoded);
            }
            let hash = digest.finalize();
            hash[..16].iter().map(|b| format!("{b:02x}")).collect()
        })
    }

    fn fresh_id(&mut self) -> String {
        loop {
            let id = format!("{}-{:06}", T::PREFIX, self.next_id);
            self.next_id += 1;
            if !self.items.contains_key(&id) {
                return id;
            }
        }
    }
}
