//! Invariants of the planner over random small tenants, whose values come from small pools so
//! that duplicate emails, taken numbers and adoptable extensions happen often.

use std::collections::{HashMap, HashSet};

use proptest::collection::vec;
use proptest::prelude::*;

use super::model::*;
use crate::domain::config::{
    CaptureRegex, ExtensionNumbers, ExtensionRange, OnRemove, RemoveReason,
};
use crate::domain::extension::Extension;
use crate::domain::mapping::{Mapping, MappingLink};
use crate::domain::plan::Plan;
use crate::domain::user::{Coverage, DirectoryUser, UserState};

static EMAILS: [&str; 10] = [
    "a@x.com",
    "A@X.com",
    " b@x.com ",
    "c@x.com",
    "d@x.com",
    "e@x.com",
    "f@x.com",
    "bad",
    "",
    "g@x.com",
];
static NUMBERS: [&str; 9] = ["100", "101", "102", "103", " 104 ", "105", "x1", "", "9"];
static NAMES: [&str; 4] = ["Ann", "Bob", " ", "Cy"];

fn pick<T: Clone + std::fmt::Debug + 'static>(pool: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(pool)
}

fn opt(pool: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(0.85, pick(pool).prop_map(str::to_string))
}

fn user_strategy() -> impl Strategy<Value = DirectoryUser> {
    let state = prop_oneof![
        6 => Just(UserState::Active),
        1 => Just(UserState::Disabled),
        1 => Just(UserState::Expired),
        1 => Just(UserState::Deleted),
    ];
    (
        0..30u8,
        opt(&NAMES),
        opt(&NAMES),
        opt(&EMAILS),
        opt(&["+1555", "+1666"]),
        opt(&NUMBERS),
        state,
        prop::bool::weighted(0.85),
    )
        .prop_map(
            |(id, first, last, email, mobile, extension, state, in_scope)| DirectoryUser {
                avatar_ref: None,
                write_back: Default::default(),
                sip_password: Default::default(),
                avatar: None,
                job_title: Default::default(),
                organization: Default::default(),
                extra_numbers: Vec::new(),
                object_id: oid(&format!("u{id:02}")),
                first_name: first,
                last_name: last,
                email,
                mobile,
                extension,
                state,
                expires_at: None,
                in_scope,
                dn: None,
                groups: Vec::new(),
            },
        )
}

/// An extension with pool values; `id` is filled in later.
fn ext_strategy() -> impl Strategy<Value = Extension> {
    (
        pick(&NUMBERS[..6]),
        opt(&NAMES),
        opt(&EMAILS),
        opt(&["+1555", "+1777"]),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(number, first, email, mobile, enabled)| Extension {
            avatar_sha256: None,
            job_title: Default::default(),
            organization_id: Default::default(),
            id: eid("tmp"),
            number: number.trim().to_string(),
            first_name: first,
            last_name: Some("Last".into()),
            email,
            mobile,
            enabled,
            managed_by: None,
        })
}

/// 0: linked to an existing extension, 1: linked to an extension deleted on the PBX, 2: pending.
fn mapping_strategy() -> impl Strategy<Value = (u8, u8, bool, Extension)> {
    (
        0..30u8,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        any::<bool>(),
        ext_strategy(),
    )
}

pub(super) fn world_strategy() -> impl Strategy<Value = World> {
    let config_knobs = (
        prop_oneof![Just(0u8), Just(1), Just(2)],
        vec(any::<bool>(), 4),
        prop_oneof![
            Just(OnRemove::Delete),
            Just(OnRemove::Disable),
            Just(OnRemove::Keep)
        ],
        any::<bool>(),
        0..6u32,
        1..25u32,
        (any::<bool>(), any::<bool>()),
    );
    (
        vec(user_strategy(), 0..40),
        vec(mapping_strategy(), 0..20),
        vec(ext_strategy(), 0..8),
        config_knobs,
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(users, mapping_specs, manual, knobs, scope_only, complete)| {
                let (
                    mode,
                    removes,
                    on_remove,
                    adopt,
                    max_deletes,
                    record_limit,
                    (mobile_off, first_off),
                ) = knobs;
                let mut w = World::new(users, Vec::new(), Vec::new());
                let mut seen = HashSet::new();
                for (i, (id, kind, disabled_by_sync, mut e)) in
                    mapping_specs.into_iter().enumerate()
                {
                    let object_id = format!("u{id:02}");
                    if !seen.insert(object_id.clone()) {
                        continue;
                    }
                    let ext_id = format!("e{i:02}");
                    let mut m = match kind {
                        2 => pending(
                            &object_id,
                            &e.number,
                            e.email.as_deref().unwrap_or("p@x.com"),
                        ),
                        _ => linked(&object_id, &ext_id, &e.number),
                    };
                    if let MappingLink::Linked {
                        disabled_by_sync: d,
                        ..
                    } = &mut m.link
                    {
                        *d = disabled_by_sync;
                    }
                    if kind == 0 {
                        e.id = eid(&ext_id);
                        e.managed_by = Some("directory-sync".into());
                        w.extensions.push(e);
                    }
                    w.mappings.push(m);
                }
                for (i, mut e) in manual.into_iter().enumerate() {
                    e.id = eid(&format!("m{i:02}"));
                    w.extensions.push(e);
                }
                let c = &mut w.config;
                c.extension_numbers = match mode {
                    0 => ExtensionNumbers::Attribute { pattern: None },
                    1 => ExtensionNumbers::Attribute {
                        pattern: Some(CaptureRegex::parse(r"^\s*(\d+)").unwrap()),
                    },
                    _ => ExtensionNumbers::Auto(ExtensionRange::new(100, 108).unwrap()),
                };
                c.remove_when = RemoveReason::all()
                    .into_iter()
                    .zip(removes)
                    .filter_map(|(r, on)| on.then_some(r))
                    .collect();
                c.on_remove = on_remove;
                c.adopt_existing_by_email = adopt;
                c.deletion_guard.max_deletes = max_deletes;
                c.record_limit = record_limit;
                if mobile_off {
                    c.fields.mobile = Some(None);
                }
                if first_off {
                    c.fields.first_name = Some(None);
                }
                w.coverage = if scope_only {
                    Coverage::ScopeOnly
                } else {
                    Coverage::WholeDirectory
                };
                w.complete = complete;
                w
            },
        )
}

fn lower(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_lowercase)
}

fn user_email(w: &World, object_id: &str) -> Option<String> {
    w.users
        .iter()
        .find(|u| u.object_id.as_str() == object_id)
        .and_then(|u| lower(u.email.as_deref()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (a) Applying a plan (complete read, removals not held) leaves nothing to do; with the
    /// removals held, only the same removals are left.
    #[test]
    fn applying_a_plan_converges(mut w in world_strategy(), hold in any::<bool>()) {
        w.complete = true;
        w.config.deletion_guard.max_deletes = if hold { 0 } else { u32::MAX };
        let first = w.plan();
        let mut after = w.clone();
        after.apply(&first);
        let second = after.plan();
        prop_assert_eq!(&second, &after.plan(), "deterministic");
        if first.removals_held {
            prop_assert!(second.creates.is_empty() && second.updates.is_empty(), "{second:#?}");
            prop_assert_eq!(&second.removes, &first.removes);
        } else {
            prop_assert!(second.is_noop(), "first: {first:#?}\nsecond: {second:#?}");
        }
    }

    /// (b) Only linked extensions are updated or removed, and adoptions match by email.
    #[test]
    fn only_linked_extensions_are_touched(w in world_strategy()) {
        let p = w.plan();
        let linked: HashMap<&str, &str> = w.mappings.iter()
            .filter_map(|m| m.extension_id().map(|e| (m.object_id.as_str(), e.as_str())))
            .collect();
        for u in &p.updates {
            if u.adopt {
                let ext = w.ext(&u.extension_id).expect("adopted extension exists");
                prop_assert!(!linked.values().any(|e| *e == u.extension_id.as_str())
                    || (!p.removals_held && p.removes.iter().any(|r| r.extension_id == u.extension_id && r.action == OnRemove::Keep)));
                prop_assert_eq!(lower(ext.email.as_deref()), user_email(&w, u.object_id.as_str()));
            } else {
                prop_assert_eq!(linked.get(u.object_id.as_str()), Some(&u.extension_id.as_str()));
            }
        }
        for r in &p.removes {
            prop_assert_eq!(linked.get(r.object_id.as_str()), Some(&r.extension_id.as_str()));
        }
    }

    /// (c) The record limit is never exceeded by new mappings.
    #[test]
    fn record_limit_is_kept(w in world_strategy()) {
        let p = w.plan();
        let mut after = w.clone();
        after.apply(&p);
        let bound = (w.config.record_limit as usize).max(w.mappings.len());
        prop_assert!(after.mappings.len() <= bound, "{} > {bound}", after.mappings.len());
    }

    /// (d) An incomplete read removes nothing.
    #[test]
    fn incomplete_read_removes_nothing(mut w in world_strategy()) {
        w.complete = false;
        prop_assert!(w.plan().removes.is_empty());
    }

    /// (e) Creates never collide with each other nor with what the PBX holds once the plan's
    /// removals and updates are applied (the PBX the creates meet).
    #[test]
    fn creates_never_collide(w in world_strategy()) {
        let p = w.plan();
        let mut numbers = HashSet::new();
        let mut emails = HashSet::new();
        for c in &p.creates {
            prop_assert!(numbers.insert(c.number.clone()), "number {} twice", c.number);
            prop_assert!(emails.insert(c.email.to_lowercase()), "email {} twice", c.email);
        }
        let mut before_creates = w.clone();
        before_creates.apply(&Plan { creates: Vec::new(), ..p.clone() });
        for e in &before_creates.extensions {
            prop_assert!(!numbers.contains(e.number.trim()), "{} held by {}", e.number, e.id);
            if let Some(email) = lower(e.email.as_deref()) {
                prop_assert!(!emails.contains(&email), "{email} held by {}", e.id);
            }
        }
        let pending: Vec<&Mapping> = w.mappings.iter().filter(|m| matches!(m.link, MappingLink::Pending { .. })).collect();
        for m in pending {
            prop_assert!(!numbers.contains(m.number.trim()));
        }
    }
}
