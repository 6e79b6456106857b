use crate::domain::config::*;
use serde_json::json;

fn parse(v: serde_json::Value) -> Result<DirectoryConfig, InvalidConfig> {
    DirectoryConfig::from_json(v.to_string().as_bytes(), EndpointPolicy::default())
}

fn ldap() -> serde_json::Value {
    json!({"type": "ldap", "url": "ldaps://dc1.corp.example:636", "bind_dn": "svc@corp.example",
           "base_dn": "dc=corp,dc=example"})
}

fn fields_of(e: &InvalidConfig) -> Vec<&str> {
    e.0.iter().map(|f| f.field.as_str()).collect()
}

#[test]
fn the_contract_example_parses_with_defaults() {
    let c = parse(json!({
        "provider": ldap(),
        "scope": {"type": "all"},
        "fields": {"first_name": "givenName", "last_name": "sn", "email": "mail",
                   "mobile": "mobile", "extension": "telephoneNumber"},
        "extension_numbers": {"mode": "attribute", "pattern": "(\\d{3,6})$"},
        "remove_when": ["deleted", "disabled", "expired", "out_of_scope"],
        "on_remove": "delete",
        "adopt_existing_by_email": false,
        "deletion_guard": {"max_deletes": 50},
        "schedule": {"every_hours": 1},
        "record_limit": 10000,
        "credentials": {"bind_password": "s3cret"}
    }))
    .unwrap();
    assert_eq!(c.record_limit, 10_000);
    assert!(c.credentials.is_some());
    let minimal = parse(json!({"provider": ldap()})).unwrap();
    assert_eq!(minimal.remove_when, RemoveReason::all());
    assert_eq!(minimal.deletion_guard.max_deletes, 50);
    assert_eq!(
        minimal.field_source(SourceField::Extension).as_deref(),
        Some("telephoneNumber")
    );
}

#[test]
fn credentials_are_never_serialized() {
    let mut c =
        parse(json!({"provider": ldap(), "credentials": {"bind_password": "hunter2-secret"}}))
            .unwrap();
    let out = serde_json::to_string(&c).unwrap();
    assert!(!out.contains("hunter2-secret"));
    assert!(!format!("{c:?}").contains("hunter2-secret"));
    assert!(c.take_credentials().is_some());
    assert!(c.credentials.is_none());
}

#[test]
fn null_turns_a_field_off_and_absent_takes_the_default() {
    let c = parse(
        json!({"provider": {"type": "okta", "org_url": "https://acme.okta.com"},
                         "fields": {"mobile": null}}),
    )
    .unwrap();
    assert!(!c.syncs(SourceField::Mobile));
    assert_eq!(
        c.field_source(SourceField::Extension).as_deref(),
        Some("primaryPhone")
    );
    let round: DirectoryConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert!(!round.syncs(SourceField::Mobile), "null survives storage");
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let e = parse(json!({
        "provider": {"type": "ldap", "url": "ldap://dc1.corp.example", "bind_dn": "", "base_dn": "nope"},
        "extension_numbers": {"mode": "attribute", "pattern": "\\d+"},
        "record_limit": 10001,
        "schedule": {"every_hours": 0},
        "credentials": {"client_secret": "x"}
    }))
    .unwrap_err();
    let fields = fields_of(&e);
    for f in [
        "provider.url",
        "provider.bind_dn",
        "provider.base_dn",
        "extension_numbers.pattern",
        "record_limit",
        "schedule.every_hours",
        "credentials.client_secret",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}

#[test]
fn structural_errors_name_the_field() {
    let e = parse(json!({"provider": ldap(), "record_limit": "many"})).unwrap_err();
    assert_eq!(fields_of(&e), ["record_limit"]);
    let e = parse(json!({"provider": ldap(), "surprise": 1})).unwrap_err();
    assert_eq!(fields_of(&e), ["surprise"]);
    let e = parse(json!({"provider": {"type": "novell"}})).unwrap_err();
    assert_eq!(fields_of(&e), ["provider.type"]);
    let e = parse(json!({"provider": {"type": "ldap", "url": "ldaps://h", "bind_dn": "a", "base_dn": "dc=x", "extra": 1}})).unwrap_err();
    assert_eq!(fields_of(&e), ["provider.extra"]);
}

#[test]
fn ranges_regexes_and_filters_are_checked() {
    let e = parse(json!({"provider": ldap(), "extension_numbers": {"mode": "auto", "start": 2000, "end": 1000}})).unwrap_err();
    assert_eq!(fields_of(&e), ["extension_numbers.start"]);
    let e = parse(
        json!({"provider": ldap(), "extension_numbers": {"mode": "attribute", "pattern": "(\\d+"}}),
    )
    .unwrap_err();
    assert_eq!(fields_of(&e), ["extension_numbers.pattern"]);
    let e = parse(json!({"provider": ldap(), "scope": {"type": "filter", "filter": "(cn=a"}}))
        .unwrap_err();
    assert_eq!(fields_of(&e), ["scope.filter"]);
    let e = parse(
        json!({"provider": {"type": "okta", "org_url": "https://acme.okta.com"},
                         "scope": {"type": "ous", "ous": ["ou=x,dc=y"]}}),
    )
    .unwrap_err();
    assert_eq!(fields_of(&e), ["scope.type"]);
    assert!(parse(json!({"provider": ldap(), "fields": {"email": null}})).is_err());
    assert!(
        parse(json!({"provider": ldap(), "fields": {"extension": null},
                         "extension_numbers": {"mode": "auto", "start": 100, "end": 199}}))
        .is_ok()
    );
}

#[test]
fn endpoints_follow_the_operator_policy() {
    let strict = EndpointPolicy::default();
    let open = EndpointPolicy {
        allow_private: true,
    };
    assert!(check_http_url("https://acme.okta.com", strict).is_ok());
    for bad in [
        "http://acme.okta.com",
        "https://127.0.0.1",
        "https://10.0.0.5",
        "https://169.254.169.254",
        "https://localhost:8443",
        "https://[::1]/",
        "https://user:pw@acme.okta.com",
        "ftp://x",
    ] {
        assert!(check_http_url(bad, strict).is_err(), "{bad}");
    }
    assert!(check_http_url("http://127.0.0.1:8080", open).is_ok());
    // LDAP hosts may be private but never loopback or link-local.
    let ldap_at = |host: &str| {
        json!({"provider": {"type": "ldap", "url": format!("ldaps://{host}"),
                                                   "bind_dn": "a", "base_dn": "dc=x"}})
    };
    assert!(parse(ldap_at("10.1.2.3")).is_ok());
    assert!(parse(ldap_at("127.0.0.1")).is_err());
    assert!(parse(ldap_at("169.254.169.254")).is_err());
}

fn azure(extra: serde_json::Value) -> serde_json::Value {
    let mut provider = json!({"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555"});
    provider
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    provider
}

#[test]
fn azure_guests_are_off_unless_switched_on() {
    let off = parse(json!({"provider": azure(json!({}))})).unwrap();
    assert!(matches!(off.provider, ProviderConfig::Azure(ref a) if !a.include_guests));
    let on = parse(json!({"provider": azure(json!({"include_guests": true}))})).unwrap();
    assert!(matches!(on.provider, ProviderConfig::Azure(ref a) if a.include_guests));
    let bad = parse(json!({"provider": azure(json!({"include_guests": "yes"}))})).unwrap_err();
    assert_eq!(fields_of(&bad), ["provider"]);
    let okta = parse(
        json!({"provider": {"type": "okta", "org_url": "https://acme.okta.com",
        "include_guests": true}}),
    )
    .unwrap_err();
    assert_eq!(
        fields_of(&okta),
        ["provider.include_guests"],
        "only azure has guests"
    );
}

#[test]
fn azure_group_scope_takes_object_ids() {
    let ok = parse(json!({"provider": azure(json!({})),
        "scope": {"type": "groups", "groups": ["aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]}}));
    assert!(ok.is_ok());
    let bad = parse(json!({"provider": azure(json!({})),
        "scope": {"type": "groups", "groups": ["Sales Team"]}}))
    .unwrap_err();
    assert_eq!(fields_of(&bad), ["scope.groups[0]"]);
}

#[test]
fn users_scope_takes_object_ids_guids_for_entra() {
    let guid = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE";
    let ok = parse(json!({"provider": azure(json!({})),
        "scope": {"type": "users", "users": [guid]}}))
    .unwrap();
    let Scope::Users { users } = ok.scope else {
        panic!("a users scope");
    };
    assert_eq!(users[0].as_str(), guid.to_lowercase(), "Graph's form");
    let bad = parse(json!({"provider": azure(json!({})),
        "scope": {"type": "users", "users": [guid, "ann@example.com"]}}))
    .unwrap_err();
    assert_eq!(fields_of(&bad), ["scope.users[1]"]);
    let ldap_ok = parse(json!({"provider": ldap(), "scope": {"type": "users", "users": ["u-1"]}}));
    assert!(ldap_ok.is_ok());
    let empty = parse(json!({"provider": ldap(), "scope": {"type": "users", "users": [""]}}));
    assert_eq!(fields_of(&empty.unwrap_err()), ["scope.users[0]"]);
    let none = parse(json!({"provider": ldap(), "scope": {"type": "users", "users": []}}));
    assert_eq!(fields_of(&none.unwrap_err()), ["scope.users"]);
    let many: Vec<String> = (0..=10_000).map(|i| format!("u-{i}")).collect();
    let over = parse(json!({"provider": ldap(), "scope": {"type": "users", "users": many}}));
    assert_eq!(fields_of(&over.unwrap_err()), ["scope.users"]);
}

#[test]
fn a_request_gets_every_unknown_field_while_a_stored_config_ignores_them() {
    let body = json!({"provider": {"type": "ldap", "url": "ldaps://h", "bind_dn": "a",
        "base_dn": "dc=x", "tunnel": {"type": "ssh", "host": "bastion", "user": "u",
        "host_key": "ssh-ed25519 AAAA", "jump": "x"}, "page": 5},
        "scope": {"type": "all", "depth": 2}, "surprise": {"nested": true},
        "record_limit": 0, "credentials": {"bind_password": "pw"}});
    let e = parse(body.clone()).unwrap_err();
    let mut fields = fields_of(&e);
    fields.sort();
    assert_eq!(
        fields,
        [
            "provider.page",
            "provider.tunnel.jump",
            "record_limit",
            "scope.depth",
            "surprise"
        ]
    );
    // As a stored record (a newer release wrote it), the same JSON reads.
    let stored: DirectoryConfig = serde_json::from_value(body).unwrap();
    assert_eq!(stored.record_limit, 0);
    assert!(matches!(stored.provider, ProviderConfig::Ldap(ref l) if l.tunnel.is_some()));
}

#[test]
fn each_bad_top_level_field_is_reported_even_beside_structural_errors() {
    let e = parse(
        json!({"provider": {"type": "ldif"}, "scope": {"type": "nope"},
        "record_limit": 20000, "schedule": {"every_hours": 0}}),
    )
    .unwrap_err();
    let mut fields = fields_of(&e);
    fields.sort();
    assert_eq!(
        fields,
        [
            "provider",
            "record_limit",
            "schedule.every_hours",
            "scope.type"
        ]
    );
    let e = parse(json!({"scope": {"type": "all"}})).unwrap_err();
    assert_eq!(fields_of(&e), ["provider"]);
    let e = parse(json!(["not", "an", "object"])).unwrap_err();
    assert_eq!(fields_of(&e), ["body"]);
}

/// The contract's organisation example reads, with `job_title` as a field.
#[test]
fn organizations_and_extension_groups_parse() {
    let c = parse(json!({
        "provider": ldap(),
        "fields": {"job_title": "title"},
        "organizations": {"sync": "ous", "delete_when_unused": true},
        "extension_groups": {"sync": "groups", "groups": ["CN=Sales,OU=Groups,DC=example,DC=com"],
                             "delete_when_unused": true}
    }))
    .unwrap();
    assert_eq!(c.organizations.sync, OrganizationSync::Ous);
    assert!(c.organizations.delete_when_unused);
    assert!(matches!(&c.extension_groups.sync, GroupSync::Groups { groups } if groups.len() == 1));
    assert_eq!(
        c.field_source(SourceField::JobTitle).as_deref(),
        Some("title")
    );
    let okta = json!({"type": "okta", "org_url": "https://acme.okta.com"});
    let c = parse(json!({"provider": okta,
                         "organizations": {"sync": "attribute", "attribute": "department"},
                         "extension_groups": {"sync": "all"}}))
    .unwrap();
    assert_eq!(
        c.organizations.sync,
        OrganizationSync::Attribute {
            attribute: "department".into()
        }
    );
    let defaults = parse(json!({"provider": ldap()})).unwrap();
    assert_eq!(defaults.organizations, OrganizationsConfig::default());
    assert_eq!(defaults.extension_groups, ExtensionGroupsConfig::default());
}

/// Each organisation option that the provider cannot serve, or that is malformed, is its own
/// `details` entry.
#[test]
fn organisation_options_the_provider_cannot_serve_are_refused() {
    let azure = json!({"type": "azure", "tenant_id": "00000000-0000-0000-0000-000000000001",
                       "client_id": "00000000-0000-0000-0000-000000000002"});
    let e = parse(
        json!({"provider": azure.clone(), "organizations": {"sync": "ous"},
                         "extension_groups": {"sync": "filter", "filter": "(cn=x)"}}),
    )
    .unwrap_err();
    assert_eq!(
        fields_of(&e),
        ["organizations.sync", "extension_groups.sync"]
    );
    let e = parse(json!({"provider": ldap(),
                         "organizations": {"sync": "attribute", "attribute": "dep(artment"},
                         "extension_groups": {"sync": "type", "types": ["security"]}}))
    .unwrap_err();
    assert_eq!(
        fields_of(&e),
        ["organizations.attribute", "extension_groups.sync"]
    );
    let e = parse(json!({"provider": ldap(),
                         "extension_groups": {"sync": "groups", "groups": []}}))
    .unwrap_err();
    assert_eq!(fields_of(&e), ["extension_groups.groups"]);
    let e = parse(json!({"provider": ldap(),
                         "extension_groups": {"sync": "filter", "filter": "(cn=x"}}))
    .unwrap_err();
    assert_eq!(fields_of(&e), ["extension_groups.filter"]);
    let e = parse(json!({"provider": ldap(),
                         "organizations": {"sync": "ous", "colour": "red"},
                         "extension_groups": {"sync": "teams"}}))
    .unwrap_err();
    assert!(fields_of(&e).contains(&"extension_groups"), "{e:?}");
    let e = parse(json!({"provider": ldap(), "organizations": {"sync": "ous", "colour": "red"}}))
        .unwrap_err();
    assert_eq!(fields_of(&e), ["organizations.colour"]);
    let mut ad = ldap();
    ad["flavor"] = json!("active_directory");
    parse(json!({"provider": ad, "extension_groups": {"sync": "type", "types": ["security", "distribution"]}}))
        .unwrap();
}

#[test]
fn calendar_schedules_parse_and_write_back_as_sent() {
    for schedule in [
        json!({"every_hours": 6}),
        json!({"daily_at": "00:30", "timezone": "Europe/Berlin"}),
        json!({"weekly": ["sat", "wed"], "at": "23:59", "timezone": "America/New_York"}),
    ] {
        let config = parse(json!({"provider": ldap(), "schedule": schedule.clone()})).unwrap();
        assert_eq!(serde_json::to_value(&config.schedule).unwrap(), schedule);
    }
    let config = parse(json!({"provider": ldap()})).unwrap();
    assert_eq!(config.schedule, Schedule::EveryHours { every_hours: 1 });
}

#[test]
fn each_bad_schedule_field_gets_one_detail() {
    let bad = |schedule: serde_json::Value| {
        let e = parse(json!({"provider": ldap(), "schedule": schedule})).unwrap_err();
        let mut fields: Vec<String> = fields_of(&e).into_iter().map(String::from).collect();
        fields.sort();
        fields
    };
    assert_eq!(
        bad(json!({"daily_at": "24:00", "timezone": "Mars/Olympus"})),
        ["schedule.daily_at", "schedule.timezone"]
    );
    assert_eq!(
        bad(json!({"daily_at": "7:30", "timezone": "UTC"})),
        ["schedule.daily_at"]
    );
    assert_eq!(bad(json!({"daily_at": "07:30"})), ["schedule.timezone"]);
    assert_eq!(
        bad(json!({"daily_at": "07:30", "at": "08:00", "timezone": "UTC"})),
        ["schedule.at"]
    );
    assert_eq!(
        bad(json!({"weekly": [], "at": "7", "timezone": "Europe/Berlin"})),
        ["schedule.at", "schedule.weekly"]
    );
    assert_eq!(
        bad(json!({"weekly": ["mon", "funday"], "at": "07:00", "timezone": "UTC"})),
        ["schedule.weekly"]
    );
    assert_eq!(
        bad(json!({"weekly": ["mon", "tue", "mon"], "at": "07:00", "timezone": "UTC"})),
        ["schedule.weekly"]
    );
    assert_eq!(
        bad(json!({"weekly": ["Mon"], "timezone": "UTC"})),
        ["schedule.at", "schedule.weekly"]
    );
    assert_eq!(
        bad(json!({"every_hours": 2, "daily_at": "07:00", "timezone": "UTC"})),
        ["schedule.daily_at", "schedule.timezone"]
    );
    assert_eq!(
        bad(json!({"daily_at": "07:00", "timezone": "UTC", "hourly": true})),
        ["schedule.hourly"]
    );
    assert_eq!(
        bad(json!({"weekly": "mon", "at": "07:00", "timezone": "UTC"})),
        ["schedule.weekly"]
    );
    assert_eq!(bad(json!({"every_hours": 169})), ["schedule.every_hours"]);
}

#[test]
fn login_is_off_unless_enabled_and_strict() {
    assert!(!parse(json!({"provider": ldap()})).unwrap().login.enabled);
    let on = parse(json!({"provider": ldap(), "login": {"enabled": true}})).unwrap();
    assert!(on.login.enabled);
    // Stored and read back with the rest of the config.
    let stored: DirectoryConfig =
        serde_json::from_value(serde_json::to_value(&on).unwrap()).unwrap();
    assert!(stored.login.enabled);
    let typo = parse(json!({"provider": ldap(), "login": {"enable": true}})).unwrap_err();
    assert_eq!(fields_of(&typo), vec!["login.enable"]);
    let wrong = parse(json!({"provider": ldap(), "login": {"enabled": "yes"}})).unwrap_err();
    assert_eq!(fields_of(&wrong), vec!["login.enabled"]);
}
