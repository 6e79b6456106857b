//! Rule tests for `fields.sip_password`: sent when its keyed hash differs from the mapping's,
//! never shown.

use super::model::*;
use crate::domain::plan::REDACTED;
use crate::domain::sip_password::{SipHashKey, SipPassword};

const PASSWORD: &str = "Tr0ub4dor&3";

fn sealed(value: &str, key: &SipHashKey) -> SipPassword {
    let mut password = SipPassword::new(value).unwrap();
    password.seal(key);
    password
}

/// Ann, synced, with `fields.sip_password` on and her password in the directory.
fn world(key: &SipHashKey) -> World {
    let mut w = synced_pair();
    w.config.fields.sip_password = Some(Some("sipSecret".into()));
    w.users[0].sip_password = Some(sealed(PASSWORD, key));
    w
}

#[test]
fn a_password_never_sent_is_sent_once_shown_redacted() {
    let key = SipHashKey::generate();
    let w = world(&key);
    let p = w.plan();
    assert_eq!(p.updates.len(), 1, "{p:?}");
    let change = p.updates[0].changes.sip_password.clone().unwrap();
    assert_eq!(change.old, None);
    assert_eq!(change.new.as_deref(), Some(REDACTED));
    let shown = serde_json::to_string(&p).unwrap();
    assert!(!shown.contains(PASSWORD) && !shown.contains(&key.hash(PASSWORD)));
    assert!(
        p.updates[0].changes.patch().sip_password.is_none(),
        "the run puts the password in"
    );
}

#[test]
fn the_same_password_is_not_sent_again_a_changed_one_is() {
    let key = SipHashKey::generate();
    let mut w = world(&key);
    w.mappings[0].sip_password_hash = Some(key.hash(PASSWORD));
    let p = w.plan();
    assert!(p.updates.is_empty() && p.unchanged == 1, "{p:?}");

    w.users[0].sip_password = Some(sealed("new-secret", &key));
    let p = w.plan();
    let change = p.updates[0].changes.sip_password.clone().unwrap();
    assert_eq!(
        (change.old.as_deref(), change.new.as_deref()),
        (Some(REDACTED), Some(REDACTED))
    );
    assert_eq!(
        p.updates[0].changes.first_name, None,
        "nothing else changes"
    );
}

#[test]
fn no_password_or_sync_off_sends_nothing() {
    let key = SipHashKey::generate();
    let mut w = world(&key);
    w.users[0].sip_password = None;
    assert!(
        w.plan().updates.is_empty(),
        "a cleared attribute leaves the PBX's password"
    );

    let mut w = world(&key);
    w.config.fields.sip_password = Some(None);
    assert!(w.plan().updates.is_empty(), "null turns it off");
    w.config.fields.sip_password = None;
    assert!(w.plan().updates.is_empty(), "off by default");
}

#[test]
fn an_adopted_extension_gets_the_password_a_create_request_never_holds_it() {
    let key = SipHashKey::generate();
    let mut w = World::new(
        vec![user("u1", "Ann", "ann@x.com", "101")],
        vec![],
        vec![ext("m1", "555", "Ann", "ann@x.com")],
    );
    w.config.fields.sip_password = Some(Some("sipSecret".into()));
    w.users[0].sip_password = Some(sealed(PASSWORD, &key));
    w.config.adopt_existing_by_email = true;
    let p = w.plan();
    assert!(p.updates[0].adopt && p.updates[0].changes.sip_password.is_some());

    w.config.adopt_existing_by_email = false;
    w.extensions.clear();
    let p = w.plan();
    assert_eq!(p.creates.len(), 1);
    let shown = serde_json::to_string(&p).unwrap();
    assert!(!shown.contains(PASSWORD) && !shown.contains("sip_password"));
}
