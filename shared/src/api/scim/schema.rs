//! The attributes dirsync keeps of a pushed user or group (RFC 7643 sections 4 and 8.7): one
//! table that the `/Schemas` answer, the reading of request bodies, PATCH paths and filters
//! all use, so that what is published is exactly what is kept.

use serde_json::{json, Value};

use crate::domain::PushedKind;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Complex,
    /// A reference to a resource of these types.
    Reference(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    Immutable,
    /// Set by dirsync only (`id`, `meta`): requests cannot write it.
    ReadOnly,
}

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Type,
    pub multi: bool,
    pub required: bool,
    /// Compared with case (`id`-like values) or without (names, emails).
    pub case_exact: bool,
    pub mutability: Mutability,
    pub unique: bool,
    pub sub: &'static [Attr],
    pub description: &'static str,
}

const fn attr(name: &'static str, kind: Type, description: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        sub: &[],
        description,
    }
}

const fn string(name: &'static str, description: &'static str) -> Attr {
    attr(name, Type::String, description)
}

const fn complex(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
    Attr {
        sub,
        ..attr(name, Type::Complex, description)
    }
}

const fn multi(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
    Attr {
        multi: true,
        ..complex(name, sub, description)
    }
}

/// The sub-attributes of `emails` and `phoneNumbers`.
const TYPED_VALUE: &[Attr] = &[
    string("value", "The value."),
    string("display", "A human-readable name."),
    string("type", "work, home, mobile, other ..."),
    attr("primary", Type::Boolean, "The primary value of the list."),
];

const NAME: &[Attr] = &[
    string("formatted", "The full name."),
    string("familyName", "The family name (last name)."),
    string("givenName", "The given name (first name)."),
    string("middleName", "The middle name."),
    string("honorificPrefix", "Ms., Dr. ..."),
    string("honorificSuffix", "III, Jr. ..."),
];

pub const USER: &[Attr] = &[
    Attr {
        required: true,
        unique: true,
        ..string("userName", "The unique login name (UPN).")
    },
    complex("name", NAME, "The user's name."),
    string("displayName", "The name shown for the user."),
    string("nickName", "The casual name."),
    string("title", "The job title."),
    string("userType", "Employee, Contractor ..."),
    string("preferredLanguage", "e.g. en-US."),
    string("locale", "e.g. en-US."),
    string("timezone", "e.g. Europe/Berlin."),
    attr(
        "active",
        Type::Boolean,
        "false: the user is disabled and sync removes their extension.",
    ),
    multi(
        "emails",
        TYPED_VALUE,
        "Email addresses; the primary one is used.",
    ),
    multi(
        "phoneNumbers",
        TYPED_VALUE,
        "Phone numbers: type work is the extension, type mobile the mobile number.",
    ),
];

const MANAGER: &[Attr] = &[
    Attr {
        case_exact: true,
        ..string("value", "The manager's id.")
    },
    string("displayName", "The manager's name."),
];

pub const ENTERPRISE: &[Attr] = &[
    string("employeeNumber", "The employee number."),
    string("costCenter", "The cost center."),
    string("organization", "The organization."),
    string("division", "The division."),
    string("department", "The department."),
    complex("manager", MANAGER, "The user's manager."),
];

const MEMBER: &[Attr] = &[
    Attr {
        case_exact: true,
        mutability: Mutability::Immutable,
        ..string("value", "The id of a user of this tenant.")
    },
    Attr {
        mutability: Mutability::Immutable,
        ..attr("$ref", Type::Reference("User"), "The member's URI.")
    },
    string("display", "The member's name."),
];

pub const GROUP: &[Attr] = &[
    Attr {
        required: true,
        unique: true,
        ..string("displayName", "The group's unique name.")
    },
    multi(
        "members",
        MEMBER,
        "The group's users (groups in groups are not kept).",
    ),
];

/// `externalId` (RFC 7643 section 3.1): common to both kinds, kept beside the attributes.
pub const EXTERNAL_ID: Attr = Attr {
    case_exact: true,
    ..string("externalId", "The identity provider's id.")
};

/// The core attributes of `kind`.
pub fn core(kind: PushedKind) -> &'static [Attr] {
    match kind {
        PushedKind::User => USER,
        PushedKind::Group => GROUP,
    }
}

pub fn core_schema(kind: PushedKind) -> &'static str {
    match kind {
        PushedKind::User => USER_SCHEMA,
        PushedKind::Group => GROUP_SCHEMA,
    }
}

pub fn resource_type(kind: PushedKind) -> &'static str {
    match kind {
        PushedKind::User => "User",
        PushedKind::Group => "Group",
    }
}

pub fn endpoint(kind: PushedKind) -> &'static str {
    match kind {
        PushedKind::User => "Users",
        PushedKind::Group => "Groups",
    }
}

/// The attribute named `name` (without case) among `attrs`.
pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The attribute whose stored value `filter` and PATCH reach for `name` at the top level of
/// a resource of `kind`: a core attribute or `externalId`.
pub fn top_level(kind: PushedKind, name: &str) -> Option<&'static Attr> {
    if name.eq_ignore_ascii_case(EXTERNAL_ID.name) {
        return Some(&EXTERNAL_ID);
    }
    find(core(kind), name)
}

/// An attribute's RFC 7643 section 7 definition.
fn definition(a: &Attr) -> Value {
    let kind = match a.kind {
        Type::String => "string",
        Type::Boolean => "boolean",
        Type::Complex => "complex",
        Type::Reference(_) => "reference",
    };
    let mut out = json!({
        "name": a.name,
        "type": kind,
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::ReadOnly => "readOnly",
        },
        "returned": "default",
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if let Type::Reference(to) = a.kind {
        out["referenceTypes"] = json!([to]);
    }
    if !a.sub.is_empty() {
        out["subAttributes"] = a.sub.iter().map(definition).collect();
    }
    out
}

fn schema(id: &str, name: &str, description: &str, attrs: &[Attr], base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attrs.iter().map(definition).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// The three schemas dirsync serves, as `/Schemas` lists them.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema(USER_SCHEMA, "User", "User Account", USER, base),
        schema(
            ENTERPRISE_SCHEMA,
            "EnterpriseUser",
            "Enterprise User",
            ENTERPRISE,
            base,
        ),
        schema(GROUP_SCHEMA, "Group", "Group", GROUP, base),
    ]
}

/// The two resource types, as `/ResourceTypes` lists them.
pub fn resource_types(base: &str) -> Vec<Value> {
    [PushedKind::User, PushedKind::Group]
        .into_iter()
        .map(|kind| {
            let name = resource_type(kind);
            let mut out = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": name,
                "name": name,
                "endpoint": format!("/{}", endpoint(kind)),
                "description": name,
                "schema": core_schema(kind),
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")},
            });
            if kind == PushedKind::User {
                out["schemaExtensions"] = json!([{"schema": ENTERPRISE_SCHEMA, "required": false}]);
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_publish_every_kept_attribute_with_its_sub_attributes() {
        let all = schemas("https://x/scim/v2/acme");
        let user = &all[0];
        assert_eq!(user["id"], USER_SCHEMA);
        let names: Vec<&str> = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"userName") && names.contains(&"phoneNumbers"));
        let emails = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "emails")
            .unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"].as_array().unwrap().len(), 4);
        let group = &all[2];
        let members = &group["attributes"][1];
        assert_eq!(
            members["subAttributes"][1]["referenceTypes"],
            json!(["User"])
        );
    }

    #[test]
    fn names_are_found_without_case() {
        assert_eq!(
            top_level(PushedKind::User, "USERNAME").unwrap().name,
            "userName"
        );
        assert_eq!(
            top_level(PushedKind::Group, "externalid").unwrap().name,
            "externalId"
        );
        assert!(top_level(PushedKind::Group, "userName").is_none());
    }
}
