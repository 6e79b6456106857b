//! Attribute paths (RFC 7644 section 3.10): `userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, resolved against
//! the kept schema. Names are matched without case and always shown in their schema form,
//! never as sent.

use serde_json::Value;

use super::schema::{self, Attr, Mutability, Type, ENTERPRISE, ENTERPRISE_SCHEMA};
use crate::domain::PushedKind;

const META_SUB: &[Attr] = &[
    meta_sub("resourceType"),
    meta_sub("created"),
    meta_sub("lastModified"),
    meta_sub("location"),
    meta_sub("version"),
];
const fn meta_sub(name: &'static str) -> Attr {
    Attr {
        name,
        case_exact: true,
        mutability: Mutability::ReadOnly,
        ..schema::EXTERNAL_ID
    }
}
const META: Attr = Attr {
    name: "meta",
    kind: Type::Complex,
    mutability: Mutability::ReadOnly,
    sub: META_SUB,
    ..schema::EXTERNAL_ID
};
/// `id` and `meta` (RFC 7643 section 3.1): answered, filterable, never written by a request.
const ID_ATTR: Attr = Attr {
    name: "id",
    case_exact: true,
    mutability: Mutability::ReadOnly,
    ..schema::EXTERNAL_ID
};

/// What paths name: the attributes of a resource, or the sub-attributes of one multi-valued
/// attribute (inside `emails[...]`).
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Resource(PushedKind),
    Within(&'static Attr),
}

impl Scope {
    pub fn resource(kind: PushedKind) -> Self {
        Self::Resource(kind)
    }

    /// The path `name` names here, or why it names nothing.
    pub fn resolve(&self, name: &str) -> Result<AttrPath, String> {
        let kind = match self {
            Self::Within(parent) => {
                let attr = schema::find(parent.sub, name)
                    .ok_or_else(|| format!("`{}` has no such sub-attribute", parent.name))?;
                return Ok(AttrPath {
                    ext: false,
                    attr,
                    sub: None,
                    case_exact: attr.case_exact,
                });
            }
            Self::Resource(kind) => *kind,
        };
        let (ext, rest) = match strip_urn(kind, name) {
            Some(found) => found,
            None if name
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("urn:")) =>
            {
                return Err("the path names a schema this resource type does not have".into())
            }
            None => (false, name),
        };
        let (head, tail) = match rest.split_once('.') {
            Some((head, tail)) => (head, Some(tail)),
            None => (rest, None),
        };
        let attr = if ext {
            schema::find(ENTERPRISE, head)
        } else if head.eq_ignore_ascii_case("id") {
            Some(&ID_ATTR)
        } else if head.eq_ignore_ascii_case("meta") {
            Some(&META)
        } else {
            schema::top_level(kind, head)
        }
        .ok_or_else(|| "the path names an attribute that dirsync does not keep".to_string())?;
        let sub = match tail {
            None => None,
            Some(tail) => Some(
                schema::find(attr.sub, tail)
                    .ok_or_else(|| format!("`{}` has no such sub-attribute", attr.name))?,
            ),
        };
        Ok(AttrPath {
            ext,
            attr,
            sub,
            case_exact: sub.map_or(attr.case_exact, |s| s.case_exact),
        })
    }
}

/// `name` without a schema URN prefix of `kind` (`urn:...:core:2.0:User:`): whether the URN
/// was the enterprise extension's, and the rest.
fn strip_urn(kind: PushedKind, name: &str) -> Option<(bool, &str)> {
    let mut urns = vec![(false, schema::core_schema(kind))];
    if kind == PushedKind::User {
        urns.push((true, ENTERPRISE_SCHEMA));
    }
    urns.into_iter().find_map(|(ext, urn)| {
        let prefix = name.get(..urn.len())?;
        let rest = name.get(urn.len()..)?.strip_prefix(':')?;
        prefix.eq_ignore_ascii_case(urn).then_some((ext, rest))
    })
}

/// A resolved path: an attribute (of the enterprise extension when `ext`), maybe one of its
/// sub-attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub ext: bool,
    pub attr: &'static Attr,
    pub sub: Option<&'static Attr>,
    pub case_exact: bool,
}

impl PartialEq for Attr {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other) || self.name == other.name
    }
}

impl AttrPath {
    pub fn is_complex_multi(&self) -> bool {
        self.attr.multi && self.attr.kind == Type::Complex
    }

    /// The scope of `[...]` after this path.
    pub fn inner_scope(&self) -> Scope {
        Scope::Within(self.attr)
    }

    /// The path in its schema form, for messages.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if self.ext {
            out.push_str(ENTERPRISE_SCHEMA);
            out.push(':');
        }
        out.push_str(self.attr.name);
        if let Some(sub) = self.sub {
            out.push('.');
            out.push_str(sub.name);
        }
        out
    }

    /// The object the attribute lives in: the resource, or its extension object.
    pub fn container<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        if self.ext {
            resource.get(ENTERPRISE_SCHEMA)
        } else {
            Some(resource)
        }
    }

    /// The values the path reaches in `object`, flattened: every element of a multi-valued
    /// attribute (or its sub-attribute).
    pub fn values<'a>(&self, object: &'a Value) -> Vec<&'a Value> {
        let Some(value) = self.container(object).and_then(|c| c.get(self.attr.name)) else {
            return Vec::new();
        };
        let elements: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        match self.sub {
            None => elements,
            Some(sub) => elements
                .into_iter()
                .filter_map(|e| e.get(sub.name))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_with_or_without_their_schema() {
        let user = Scope::resource(PushedKind::User);
        let given = user.resolve("name.GIVENNAME").unwrap();
        assert_eq!(given.display(), "name.givenName");
        let qualified = user
            .resolve("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName")
            .unwrap();
        assert_eq!(qualified, given);
        let department = user
            .resolve("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
            .unwrap();
        assert!(department.ext);
        assert_eq!(department.attr.name, "department");
        assert!(user
            .resolve("urn:ietf:params:scim:schemas:core:2.0:Group:displayName")
            .is_err());
        assert!(Scope::resource(PushedKind::Group)
            .resolve("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
            .is_err());
        assert!(user.resolve("userName.x").is_err());
        assert!(user.resolve("").is_err());
        assert!(user.resolve("urn:").is_err());
    }
}
