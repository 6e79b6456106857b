//! Listing (RFC 7644 section 3.4.2): `filter`, 1-based `startIndex`, `count` (clamped), and
//! the `attributes`/`excludedAttributes` projection that single reads take too.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::error::{ScimError, ScimType};
use super::filter::{self, Filter, Op};
use super::path::{AttrPath, Scope};
use super::schema::ENTERPRISE_SCHEMA;
use crate::domain::{PushedKey, PushedKind};

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// `count` when none is asked for, and the most one page holds.
pub const DEFAULT_COUNT: usize = 100;
pub const MAX_COUNT: usize = 1000;

/// The query of a read or a listing.
pub struct Query {
    pub filter: Option<Filter>,
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

fn value_error(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidValue, detail)
}

impl Query {
    /// Reads the URL query of a request for resources of `kind`; a key given twice is a 400.
    pub fn parse(kind: PushedKind, raw: Option<&str>) -> Result<Self, ScimError> {
        let mut params = HashMap::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if params
                .insert(key.to_ascii_lowercase(), value.into_owned())
                .is_some()
            {
                return Err(value_error("a query parameter is given more than once"));
            }
        }
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            params
                .get(&name.to_ascii_lowercase())
                .map(|v| {
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| value_error(format!("{name} must be an integer")))
                })
                .transpose()
        };
        // RFC 7644 section 3.4.2.4: below 1 counts as 1; a negative count as 0.
        let start_index = number("startIndex")?.unwrap_or(1).max(1);
        let count = number("count")?.map_or(DEFAULT_COUNT as i64, |c| c.clamp(0, MAX_COUNT as i64));
        let filter = params
            .get("filter")
            .map(|f| filter::parse(f, Scope::resource(kind)))
            .transpose()?;
        Ok(Self {
            filter,
            start_index: usize::try_from(start_index).unwrap_or(usize::MAX),
            count: usize::try_from(count).unwrap_or(0),
            projection: Projection::parse(
                kind,
                params.get("attributes").map(String::as_str),
                params.get("excludedattributes").map(String::as_str),
            )?,
        })
    }

    /// What the store can look the filter up by, when it is one `eq` on the name, the
    /// external id or the id (what identity providers send before a create).
    pub fn lookup(&self, kind: PushedKind) -> Option<(Lookup, String)> {
        let Some(Filter::Compare(path, Op::Eq, Value::String(value))) = &self.filter else {
            return None;
        };
        if path.ext || path.sub.is_some() {
            return None;
        }
        let name = if kind == PushedKind::User {
            "userName"
        } else {
            "displayName"
        };
        let by = match path.attr.name {
            n if n == name => Lookup::Key(PushedKey::Name),
            "externalId" => Lookup::Key(PushedKey::ExternalId),
            "id" => Lookup::Id,
            _ => return None,
        };
        Some((by, value.clone()))
    }
}

pub enum Lookup {
    Key(PushedKey),
    Id,
}

/// A ListResponse of the page `resources` out of `total` matches.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `attributes` (only these, with `id` and `schemas`) or `excludedAttributes` (all but these).
#[derive(Default)]
pub struct Projection {
    only: Option<Vec<AttrPath>>,
    without: Vec<AttrPath>,
}

fn paths(kind: PushedKind, list: &str) -> Result<Vec<AttrPath>, ScimError> {
    let scope = Scope::resource(kind);
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
                return Err(value_error("name the extension's attributes one by one"));
            }
            scope.resolve(p).map_err(value_error)
        })
        .collect()
}

impl Projection {
    fn parse(
        kind: PushedKind,
        only: Option<&str>,
        without: Option<&str>,
    ) -> Result<Self, ScimError> {
        Ok(Self {
            only: only.map(|l| paths(kind, l)).transpose()?,
            without: without
                .map(|l| paths(kind, l))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut full) = resource else {
            return resource;
        };
        if let Some(only) = &self.only {
            let mut out = Map::new();
            for key in ["schemas", "id"] {
                if let Some(v) = full.get(key) {
                    out.insert(key.into(), v.clone());
                }
            }
            for path in only {
                copy(&full, &mut out, path);
            }
            full = out;
        }
        for path in &self.without {
            if path.attr.name != "id" {
                drop_path(&mut full, path);
            }
        }
        Value::Object(full)
    }
}

fn holder<'a>(object: &'a Map<String, Value>, path: &AttrPath) -> Option<&'a Map<String, Value>> {
    if path.ext {
        object.get(ENTERPRISE_SCHEMA)?.as_object()
    } else {
        Some(object)
    }
}

/// Copies what `path` names from `from` into `to`.
fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &AttrPath) {
    let Some(value) = holder(from, path).and_then(|h| h.get(path.attr.name)) else {
        return;
    };
    let picked = match path.sub {
        None => value.clone(),
        Some(sub) => {
            let pick = |v: &Value| v.get(sub.name).map(|s| json!({sub.name: s}));
            match value {
                Value::Array(items) => Value::Array(items.iter().filter_map(pick).collect()),
                other => match pick(other) {
                    Some(v) => v,
                    None => return,
                },
            }
        }
    };
    let target = if path.ext {
        let slot = to
            .entry(ENTERPRISE_SCHEMA)
            .or_insert_with(|| Value::Object(Map::new()));
        match slot.as_object_mut() {
            Some(map) => map,
            None => return,
        }
    } else {
        to
    };
    match (target.get_mut(path.attr.name), picked) {
        (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
        (_, picked) => {
            target.insert(path.attr.name.to_string(), picked);
        }
    }
}

fn drop_path(object: &mut Map<String, Value>, path: &AttrPath) {
    let target = if path.ext {
        match object
            .get_mut(ENTERPRISE_SCHEMA)
            .and_then(Value::as_object_mut)
        {
            Some(map) => map,
            None => return,
        }
    } else {
        object
    };
    match path.sub {
        None => {
            target.remove(path.attr.name);
        }
        Some(sub) => match target.get_mut(path.attr.name) {
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    item.remove(sub.name);
                }
            }
            Some(Value::Object(map)) => {
                map.remove(sub.name);
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(raw: &str) -> Result<Query, ScimError> {
        Query::parse(PushedKind::User, Some(raw))
    }

    #[test]
    fn paging_is_one_based_and_clamped() {
        let q = query("startIndex=0&count=5000").unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_COUNT));
        let q = query("count=-3").unwrap();
        assert_eq!(q.count, 0);
        let q = query("").unwrap();
        assert_eq!((q.start_index, q.count), (1, DEFAULT_COUNT));
        assert!(query("count=x").is_err());
        assert!(query("count=1&count=2").is_err());
        assert_eq!(
            query("filter=nosuch%20eq%20%22a%22")
                .err()
                .unwrap()
                .scim_type,
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn lookups_are_taken_for_one_eq_on_a_key() {
        let q = query("filter=userName%20eq%20%22A%40b.c%22").unwrap();
        assert!(
            matches!(q.lookup(PushedKind::User), Some((Lookup::Key(PushedKey::Name), v)) if v == "A@b.c")
        );
        let q = query("filter=externalId%20eq%20%22x%22").unwrap();
        assert!(matches!(
            q.lookup(PushedKind::User),
            Some((Lookup::Key(PushedKey::ExternalId), _))
        ));
        let q = query("filter=title%20eq%20%22x%22").unwrap();
        assert!(q.lookup(PushedKind::User).is_none());
        let q = query("filter=userName%20eq%20%22a%22%20or%20userName%20eq%20%22b%22").unwrap();
        assert!(q.lookup(PushedKind::User).is_none());
    }

    #[test]
    fn projections_keep_or_drop_what_they_name() {
        let user = json!({
            "schemas": ["s"], "id": "u", "userName": "a", "title": "t",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@b", "type": "work"}],
            ENTERPRISE_SCHEMA: {"department": "D", "division": "V"},
            "meta": {"version": "W/\"1\""},
        });
        let only = Projection::parse(
            PushedKind::User,
            Some("userName,name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        )
        .unwrap();
        assert_eq!(
            only.apply(user.clone()),
            json!({"schemas": ["s"], "id": "u", "userName": "a", "name": {"givenName": "A"},
                   "emails": [{"value": "a@b"}], ENTERPRISE_SCHEMA: {"department": "D"}})
        );
        let without =
            Projection::parse(PushedKind::User, None, Some("title,id,emails.type,meta")).unwrap();
        let out = without.apply(user);
        assert!(out.get("title").is_none() && out.get("meta").is_none());
        assert_eq!(out["id"], "u");
        assert_eq!(out["emails"], json!([{"value": "a@b"}]));
    }
}
