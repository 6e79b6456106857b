//! Rule tests for `write_back`: every synced user whose attribute does not hold the number.

use super::model::*;
use crate::domain::config::WriteBack;

fn on(w: &mut World) {
    w.config.write_back = Some(WriteBack {
        attribute: "ipPhone".into(),
    });
}

#[test]
fn a_create_plans_its_write_back_and_a_synced_user_only_when_the_value_differs() {
    let mut w = World::new(vec![user("u1", "Ann", "ann@x.com", "101")], vec![], vec![]);
    assert!(w.plan().write_backs.is_empty(), "off by default");
    on(&mut w);
    let p = w.plan();
    assert_eq!(p.write_backs.len(), 1);
    let planned = &p.write_backs[0];
    assert!(planned.after_create && planned.extension_id.is_none());
    assert_eq!(
        (planned.number.as_str(), planned.old.as_deref()),
        ("101", None)
    );

    let mut w = synced_pair();
    on(&mut w);
    let p = w.plan();
    assert_eq!(
        p.write_backs.len(),
        1,
        "not written yet (or refused): again"
    );
    assert!(!p.write_backs[0].after_create);
    assert_eq!(
        p.write_backs[0].extension_id.as_ref().map(|e| e.as_str()),
        Some("e1")
    );
    assert!(!p.is_noop(), "a write-back is work");

    w.users[0].write_back = Some(" 101 ".into());
    let p = w.plan();
    assert!(
        p.write_backs.is_empty() && p.is_noop(),
        "already there: {p:?}"
    );
    w.users[0].write_back = Some("999".into());
    assert_eq!(
        w.plan().write_backs[0].old.as_deref(),
        Some("999"),
        "overwritten by hand"
    );
}

#[test]
fn adopted_extensions_are_written_back_out_of_scope_users_are_not() {
    let mut w = World::new(
        vec![user("u1", "Ann", "ann@x.com", "101")],
        vec![],
        vec![ext("m1", "555", "Ann", "ann@x.com")],
    );
    on(&mut w);
    w.config.adopt_existing_by_email = true;
    let p = w.plan();
    assert_eq!(p.write_backs.len(), 1);
    assert_eq!(
        p.write_backs[0].number, "555",
        "the adopted extension's number"
    );

    let mut w = synced_pair();
    on(&mut w);
    w.users[0].in_scope = false;
    assert!(w.plan().write_backs.is_empty());
}
