//! Arbitrary JSON into config validation: never a panic; always either a config that passes
//! its own validation again, or errors that each name a field and say what is wrong.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::domain::config::*;

/// Keys that reach deep into the config, mixed with noise.
const KEYS: &[&str] = &[
    "provider",
    "type",
    "ldap",
    "azure",
    "okta",
    "ldif",
    "url",
    "starttls",
    "ca_pem",
    "bind_dn",
    "base_dn",
    "allow_plaintext",
    "flavor",
    "tunnel",
    "host",
    "port",
    "user",
    "host_key",
    "tenant_id",
    "client_id",
    "cloud",
    "org_url",
    "auth",
    "path",
    "scope",
    "ous",
    "groups",
    "filter",
    "fields",
    "first_name",
    "email",
    "extension",
    "extension_numbers",
    "mode",
    "pattern",
    "start",
    "end",
    "remove_when",
    "on_remove",
    "adopt_existing_by_email",
    "deletion_guard",
    "max_deletes",
    "schedule",
    "every_hours",
    "daily_at",
    "weekly",
    "at",
    "timezone",
    "record_limit",
    "credentials",
    "bind_password",
    "x",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        prop::sample::select(KEYS).prop_map(|k| json!(k)),
        prop::sample::select(vec![
            "ldaps://dc.example.com:636",
            "ldap://10.0.0.5",
            "https://acme.okta.com",
            "http://127.0.0.1:1",
            "(&(cn=a)(sn=b))",
            "(cn=",
            "(\\d{3,6})$",
            "[",
            "dc=example,dc=com",
            "all",
            "ous",
            "groups",
            "filter",
            "attribute",
            "auto",
            "delete",
            "disable",
            "keep",
            "active_directory",
            "openldap",
            "ssh",
            "global",
            "api_token",
            "private_key_jwt",
            "00:30",
            "Europe/Berlin",
            "sat",
        ])
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn check(body: &[u8]) {
    for policy in [
        EndpointPolicy::default(),
        EndpointPolicy {
            allow_private: true,
        },
    ] {
        match DirectoryConfig::from_json(body, policy) {
            // What a request gives is stored: its stored form reads back as the same config.
            Ok(config) => {
                let stored = serde_json::to_value(&config).unwrap();
                let read: DirectoryConfig = serde_json::from_value(stored.clone()).unwrap();
                assert_eq!(serde_json::to_value(&read).unwrap(), stored);
            }
            Err(InvalidConfig(errors)) => {
                assert!(!errors.is_empty(), "an error with no field");
                for e in errors {
                    assert!(!e.field.is_empty() && !e.message.is_empty(), "{e:?}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_json_is_a_config_or_field_errors(v in value()) {
        check(v.to_string().as_bytes());
    }

    #[test]
    fn any_bytes_are_a_config_or_field_errors(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&bytes);
    }

    #[test]
    fn a_valid_config_with_one_field_replaced_is_a_config_or_field_errors(
        key in prop::sample::select(KEYS), v in value()
    ) {
        let mut body = json!({
            "provider": {"type": "ldap", "url": "ldaps://dc.example.com", "bind_dn": "cn=s",
                         "base_dn": "dc=example,dc=com"},
            "scope": {"type": "filter", "filter": "(cn=a*)"},
            "extension_numbers": {"mode": "auto", "start": 1000, "end": 1999},
        });
        if let Some(provider) = body["provider"].as_object_mut() {
            provider.insert(key.to_string(), v.clone());
        }
        body[key] = v;
        check(body.to_string().as_bytes());
    }
}
