use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::domain::EndpointPolicy;

fn config(fields: &str) -> DirectoryConfig {
    let body = format!(
        r#"{{"provider": {{"type": "ldif", "path": "x.ldif"}}, "fields": {fields},
            "extension_numbers": {{"mode": "auto", "start": 100, "end": 199}}}}"#
    );
    DirectoryConfig::from_json(body.as_bytes(), EndpointPolicy::default()).unwrap()
}

fn attrs(pairs: &[(&str, &[u8])]) -> Attributes {
    let mut a = Attributes::new();
    for (name, value) in pairs {
        a.insert(name, value.to_vec());
    }
    a
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

const GUID: [u8; 16] = [
    0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
];

/// FILETIME of a UTC instant.
fn filetime(at: DateTime<Utc>) -> String {
    ((at.timestamp() + 11_644_473_600) * 10_000_000).to_string()
}

fn ad_user(extra: &[(&str, &[u8])]) -> Attributes {
    let mut a = attrs(&[
        ("objectClass", b"top"),
        ("objectClass", b"person"),
        ("objectClass", b"organizationalPerson"),
        ("objectClass", b"user"),
        ("objectGUID", &GUID),
        ("givenName", b"Ann"),
        ("sn", b"Lee"),
        ("mail", b"ann@example.com"),
        ("telephoneNumber", b"+1 415 555 2101"),
        ("userAccountControl", b"512"),
        ("memberOf", b"CN=Sales,OU=Groups,DC=corp,DC=example"),
    ]);
    for (name, value) in extra {
        a.insert(name, value.to_vec());
    }
    a
}

#[test]
fn guid_renders_mixed_endian_like_windows() {
    assert_eq!(
        guid_to_string(&GUID).as_deref(),
        Some("78563412-bc9a-f0de-0123-456789abcdef")
    );
    assert_eq!(guid_to_string(&GUID[..15]), None);
}

#[test]
fn lookups_ignore_case_and_options_come_after_plain_values() {
    let a = attrs(&[
        ("CN;lang-DE", b"Anna"),
        ("cn", b"Ann"),
        ("Mail", &[0xff, 0xfe]),
        ("mail", b"ann@example.com"),
    ]);
    assert_eq!(a.get_str("cn"), Some("Ann"));
    assert_eq!(a.get_all("CN").len(), 2);
    assert_eq!(a.get_all("cn;Lang-de"), vec![b"Anna".as_slice()]);
    assert_eq!(a.get_bytes("mail"), Some([0xff, 0xfe].as_slice()));
    assert_eq!(a.get_str("MAIL"), Some("ann@example.com"));
    assert!(a.has("cn") && !a.has("sn"));
}

#[test]
fn ad_user_maps_fields_id_and_groups() {
    let mapper = UserMapper::new(&config("{}"), LdapFlavor::ActiveDirectory);
    let user = mapper
        .map_user("CN=Ann Lee,OU=Sales,DC=corp", &ad_user(&[]), now())
        .unwrap();
    assert_eq!(
        user.object_id.as_str(),
        "78563412-bc9a-f0de-0123-456789abcdef"
    );
    assert_eq!(user.first_name.as_deref(), Some("Ann"));
    assert_eq!(user.last_name.as_deref(), Some("Lee"));
    assert_eq!(user.email.as_deref(), Some("ann@example.com"));
    assert_eq!(user.extension.as_deref(), Some("+1 415 555 2101"));
    assert_eq!(user.mobile, None);
    assert_eq!(user.state, UserState::Active);
    assert_eq!(user.dn.as_deref(), Some("CN=Ann Lee,OU=Sales,DC=corp"));
    assert_eq!(user.groups, vec!["CN=Sales,OU=Groups,DC=corp,DC=example"]);
}

#[test]
fn ad_uac_disabled_bit_disables_even_when_expired() {
    let mapper = UserMapper::new(&config("{}"), LdapFlavor::ActiveDirectory);
    let mut a = ad_user(&[]);
    a.0.retain(|(name, _)| name != "useraccountcontrol");
    a.insert("userAccountControl", b"514".to_vec());
    let user = mapper.map_user("cn=a", &a, now()).unwrap();
    assert_eq!(user.state, UserState::Disabled);
    let past = filetime(now() - chrono::Duration::days(1));
    a.insert("accountExpires", past.into_bytes());
    let user = mapper.map_user("cn=a", &a, now()).unwrap();
    assert_eq!(user.state, UserState::Disabled);
}

#[test]
fn ad_account_expires_never_past_and_future() {
    let mapper = UserMapper::new(&config("{}"), LdapFlavor::ActiveDirectory);
    let state = |value: &str| {
        mapper
            .map_user(
                "cn=a",
                &ad_user(&[("accountExpires", value.as_bytes())]),
                now(),
            )
            .map(|u| u.state)
    };
    assert_eq!(state("0"), Ok(UserState::Active));
    assert_eq!(state("9223372036854775807"), Ok(UserState::Active));
    let past = filetime(now() - chrono::Duration::days(1));
    let future = filetime(now() + chrono::Duration::days(1));
    assert_eq!(state(&past), Ok(UserState::Expired));
    assert_eq!(state(&future), Ok(UserState::Active));
    assert!(state("soon").unwrap_err().contains("accountExpires"));
}

#[test]
fn openldap_lock_and_shadow_expire() {
    let mapper = UserMapper::new(&config("{}"), LdapFlavor::Openldap);
    let base: [(&str, &[u8]); 3] = [
        ("objectClass", b"inetOrgPerson"),
        ("entryUUID", b" 5B0F1C3E-8A1D-4F2B-9C01-000000000101 "),
        ("mail", b"a@example.com"),
    ];
    let state = |extra: &[(&str, &[u8])]| {
        let mut a = attrs(&base);
        for (n, v) in extra {
            a.insert(n, v.to_vec());
        }
        mapper.map_user("uid=a", &a, now()).unwrap()
    };
    let user = state(&[]);
    assert_eq!(
        user.object_id.as_str(),
        "5b0f1c3e-8a1d-4f2b-9c01-000000000101"
    );
    assert_eq!(user.state, UserState::Active);
    assert_eq!(
        state(&[("pwdAccountLockedTime", b"20260101000000Z")]).state,
        UserState::Disabled
    );
    let today = now().timestamp() / 86_400;
    let days = |d: i64| (today + d).to_string();
    assert_eq!(
        state(&[("shadowExpire", days(-1).as_bytes())]).state,
        UserState::Expired
    );
    assert_eq!(
        state(&[("shadowExpire", days(2).as_bytes())]).state,
        UserState::Active
    );
    assert_eq!(state(&[("shadowExpire", b"-1")]).state, UserState::Active);
}

#[test]
fn missing_id_tells_the_admin_to_export_operational_attributes() {
    let openldap = UserMapper::new(&config("{}"), LdapFlavor::Openldap);
    let err = openldap
        .map_user("uid=a", &attrs(&[("objectClass", b"person")]), now())
        .unwrap_err();
    assert!(
        err.contains("entryUUID") && err.contains("operational"),
        "{err}"
    );
    let ad = UserMapper::new(&config("{}"), LdapFlavor::ActiveDirectory);
    let err = ad
        .map_user("cn=a", &attrs(&[("objectClass", b"user")]), now())
        .unwrap_err();
    assert!(err.contains("objectGUID"), "{err}");
    let err = ad
        .map_user("cn=a", &attrs(&[("objectGUID", b"short")]), now())
        .unwrap_err();
    assert!(err.contains("16 bytes"), "{err}");
}

#[test]
fn field_off_is_none_and_custom_sources_are_used() {
    let mapper = UserMapper::new(
        &config(r#"{"mobile": null, "first_name": "displayName", "extension": "ipPhone"}"#),
        LdapFlavor::ActiveDirectory,
    );
    let a = ad_user(&[
        ("mobile", b"+1 555 0100"),
        ("displayName", b"Annie"),
        ("ipPhone", b"2101"),
        ("ipPhone", b"2102"),
    ]);
    let user = mapper.map_user("cn=a", &a, now()).unwrap();
    assert_eq!(user.mobile, None);
    assert_eq!(user.first_name.as_deref(), Some("Annie"));
    assert_eq!(user.extension.as_deref(), Some("2101"));
    let needed = mapper.attributes_needed();
    assert!(!needed.iter().any(|n| n == "mobile"));
    for name in [
        "displayName",
        "ipPhone",
        "objectGUID",
        "userAccountControl",
        "memberOf",
    ] {
        assert!(needed.iter().any(|n| n == name), "{name} in {needed:?}");
    }
}

#[test]
fn attributes_needed_has_no_duplicates() {
    let mapper = UserMapper::new(&config(r#"{"email": "OBJECTCLASS"}"#), LdapFlavor::Openldap);
    let needed = mapper.attributes_needed();
    let lower: std::collections::HashSet<String> =
        needed.iter().map(|n| n.to_lowercase()).collect();
    assert_eq!(lower.len(), needed.len(), "{needed:?}");
    assert!(needed.iter().any(|n| n == "entryUUID"));
    assert!(needed.iter().any(|n| n == "pwdAccountLockedTime"));
}

#[test]
fn person_like_entries_are_users_but_computers_are_not() {
    let mapper = UserMapper::new(&config("{}"), LdapFlavor::ActiveDirectory);
    assert!(mapper.is_user(&attrs(&[("objectClass", b"InetOrgPerson")])));
    assert!(mapper.is_user(&attrs(&[("objectClass", b"user")])));
    assert!(!mapper.is_user(&attrs(&[
        ("objectClass", b"user"),
        ("objectClass", b"computer")
    ])));
    assert!(!mapper.is_user(&attrs(&[("objectClass", b"groupOfNames")])));
}

#[test]
fn extra_numbers_take_the_indexed_value_of_their_attribute() {
    let body = r#"{"provider": {"type": "ldif", "path": "x.ldif"},
        "extra_numbers": [{"attribute": "mobile", "suffix": "M"},
                          {"attribute": "telephoneNumber[1]", "suffix": "T2"},
                          {"attribute": "homePhone[3]", "suffix": "H4"}]}"#;
    let config = DirectoryConfig::from_json(body.as_bytes(), EndpointPolicy::default()).unwrap();
    let mapper = UserMapper::new(&config, LdapFlavor::Openldap);
    let needed = mapper.attributes_needed();
    assert!(needed.iter().any(|n| n == "mobile"));
    assert!(needed.iter().any(|n| n == "homePhone"));
    let user = attrs(&[
        ("objectClass", b"inetOrgPerson"),
        ("entryUUID", b"00000000-0000-4000-8000-000000000001"),
        ("mobile", b" +49 171 1 "),
        ("telephoneNumber", b"1001"),
        ("telephoneNumber", b"+49 89 2"),
        ("homePhone", b"030 1"),
    ]);
    let mapped = mapper.map_user("uid=a", &user, now()).unwrap();
    let numbers: Vec<(&str, &str)> = mapped
        .extra_numbers
        .iter()
        .map(|n| (n.suffix.as_str(), n.number.as_str()))
        .collect();
    assert_eq!(numbers, [("M", "+49 171 1"), ("T2", "+49 89 2")]);
}
