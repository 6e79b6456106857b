use serde_json::json;

use super::*;

fn user() -> Document {
    match json!({
        "userName": "ann@example.com",
        "externalId": "e-1",
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "1001", "type": "work"}, {"value": "+15550100", "type": "mobile"}],
    }) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn patched(kind: PushedKind, mut doc: Document, body: Value) -> Result<Value, ScimError> {
    let ops = operations(&body)?;
    apply(kind, &mut doc, &ops)?;
    Ok(Value::Object(doc))
}

fn ops(list: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list})
}

#[test]
fn entra_renames_and_deactivates_as_it_documents() {
    // Entra ID: capitalised ops, string booleans, a value-filtered email, the extension path.
    let out = patched(
        PushedKind::User,
        user(),
        ops(json!([
            {"op": "Replace", "path": "name.givenName", "value": "Anna"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "anna@example.com"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
            {"op": "Replace", "path": "active", "value": "False"},
        ])),
    )
    .unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Anna", "familyName": "Lee"})
    );
    assert_eq!(
        out["emails"],
        json!([{"value": "anna@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(out[ENTERPRISE_SCHEMA], json!({"department": "Sales"}));
    assert_eq!(out["active"], false);
}

#[test]
fn okta_deactivates_without_a_path() {
    let out = patched(
        PushedKind::User,
        user(),
        ops(json!([{"op": "replace", "value": {"active": false, "name.familyName": "Li", "nosuch": 1, "id": "x", "schemas": []}}])),
    )
    .unwrap();
    assert_eq!(out["active"], false);
    assert_eq!(out["name"]["familyName"], "Li");
    assert!(out.get("nosuch").is_none() && out.get("id").is_none());
}

#[test]
fn a_filtered_path_without_a_match_makes_the_value() {
    let out = patched(
        PushedKind::User,
        user(),
        ops(json!([{"op": "add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "9"}])),
    )
    .unwrap();
    assert_eq!(out["phoneNumbers"][2], json!({"type": "fax", "value": "9"}));
    // A filter that describes no one value cannot make one.
    let error = patched(
        PushedKind::User,
        user(),
        ops(json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "home"}])),
    )
    .unwrap_err();
    assert_eq!(error.scim_type, Some(ScimType::NoTarget));
}

#[test]
fn removes_by_filter_by_value_and_by_attribute() {
    let out = patched(
        PushedKind::User,
        user(),
        ops(json!([
            {"op": "remove", "path": "phoneNumbers[type eq \"mobile\"]"},
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "externalId"},
            {"op": "remove", "path": "title"},
        ])),
    )
    .unwrap();
    assert_eq!(
        out["phoneNumbers"],
        json!([{"value": "1001", "type": "work"}])
    );
    assert_eq!(out["name"], json!({"familyName": "Lee"}));
    assert!(out.get("externalId").is_none());
    for (body, expected) in [
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (
            json!([{"op": "remove", "path": "userName"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "replace", "path": "meta.version", "value": "x"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "add", "path": "nosuch", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "add", "path": "name[givenName eq \"x\"]", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "add", "path": "emails[type eq]", "value": "x"}]),
            ScimType::InvalidFilter,
        ),
        (
            json!([{"op": "move", "path": "title", "value": "x"}]),
            ScimType::InvalidSyntax,
        ),
        (
            json!([{"op": "add", "path": "title"}]),
            ScimType::InvalidSyntax,
        ),
        (
            json!([{"op": "add", "path": "active", "value": "yes"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "replace", "value": "not an object"}]),
            ScimType::InvalidSyntax,
        ),
    ] {
        let error = patched(PushedKind::User, user(), ops(body.clone())).unwrap_err();
        assert_eq!(error.scim_type, Some(expected), "{body}");
    }
    assert!(operations(&json!({"Operations": "x"})).is_err());
    let many: Vec<Value> = (0..=MAX_OPERATIONS)
        .map(|_| json!({"op": "remove", "path": "title"}))
        .collect();
    assert!(operations(&ops(json!(many))).is_err());
}

#[test]
fn group_members_are_added_and_removed_as_entra_and_okta_send_them() {
    let group = match json!({"displayName": "Sales", "members": [{"value": "u-1"}]}) {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    let out = patched(
        PushedKind::Group,
        group,
        ops(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u-2"}, {"value": "u-1"}]},
            {"op": "add", "path": "members", "value": [{"value": "u-3", "display": "Cy"}]},
            // Entra ID: the members to remove as the value, no value filter.
            {"op": "Remove", "path": "members", "value": [{"value": "u-1"}]},
            // Okta: a value filter.
            {"op": "remove", "path": "members[value eq \"u-2\"]"},
            {"op": "replace", "path": "displayName", "value": "Sales EU"},
        ])),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"displayName": "Sales EU", "members": [{"value": "u-3", "display": "Cy"}]})
    );
    let emptied = patched(
        PushedKind::Group,
        match out {
            Value::Object(map) => map,
            _ => unreachable!(),
        },
        ops(json!([{"op": "remove", "path": "members"}])),
    )
    .unwrap();
    assert_eq!(emptied, json!({"displayName": "Sales EU"}));
}

#[test]
fn the_extension_is_written_whole_or_by_attribute() {
    let out = patched(
        PushedKind::User,
        user(),
        ops(json!([
            {"op": "add", "value": {ENTERPRISE_SCHEMA: {"department": "Ops", "manager": {"value": "u-9"}}}},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "Max"},
        ])),
    )
    .unwrap();
    assert_eq!(
        out[ENTERPRISE_SCHEMA],
        json!({"department": "Ops", "manager": {"value": "u-9", "displayName": "Max"}})
    );
    let removed = patched(
        PushedKind::User,
        match out {
            Value::Object(map) => map,
            _ => unreachable!(),
        },
        ops(json!([{"op": "remove", "path": ENTERPRISE_SCHEMA}])),
    )
    .unwrap();
    assert!(removed.get(ENTERPRISE_SCHEMA).is_none());
}

proptest::proptest! {
    #[test]
    fn no_patch_panics(path in "\\PC{0,40}", op in "(add|remove|replace|Add)", value in proptest::prelude::any::<Option<String>>()) {
        let body = ops(json!([{"op": op, "path": path, "value": value}]));
        let _ = patched(PushedKind::User, user(), body.clone());
        let _ = patched(PushedKind::Group, Document::new(), body);
    }
}
