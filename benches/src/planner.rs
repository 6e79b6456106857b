//! The planner alone on a 10,000-user tenant: every user mapped, a few changed, a few new,
//! a few removed — the shape of an hourly sync.

use std::collections::HashSet;
use std::time::Instant;

use chrono::Utc;
use dirsync::domain::{
    Coverage, DirectoryConfig, DirectoryUser, EndpointPolicy, Extension, ExtensionId, Mapping,
    MappingLink, ObjectId, Snapshot, UserState,
};
use dirsync::planner::{plan, PlanInput};

use crate::{alloc, Row};

const USERS: usize = 10_000;
const RUNS: usize = 20;

pub fn run() -> Vec<Row> {
    let (snapshot, mappings, extensions, config) = tenant();
    let approved = HashSet::new();
    // Warm up once, then time each run; the median speaks.
    let _ = plan(&input(
        &snapshot,
        &mappings,
        &extensions,
        &config,
        &approved,
    ));
    let mut times = Vec::with_capacity(RUNS);
    let mut peak = 0;
    let mut last = None;
    for _ in 0..RUNS {
        let base = alloc::reset_peak();
        let start = Instant::now();
        let p = plan(&input(
            &snapshot,
            &mappings,
            &extensions,
            &config,
            &approved,
        ));
        times.push(start.elapsed());
        peak = peak.max(alloc::peak() - base);
        last = Some(p);
    }
    times.sort();
    let median = times[RUNS / 2];
    let p = last.expect("at least one run");
    let ms = median.as_secs_f64() * 1000.0;
    let mb = peak as f64 / (1024.0 * 1024.0);
    vec![
        Row {
            figure: format!(
                "plan {USERS} users x {} mappings x {} extensions (median of {RUNS}): {} creates, {} updates, {} removes",
                mappings.len(),
                extensions.len(),
                p.creates.len(),
                p.updates.len(),
                p.removes.len()
            ),
            value: format!("{ms:.1} ms"),
            target: "< 50 ms".into(),
            met: ms < 50.0,
        },
        Row {
            figure: "peak heap while planning (above the inputs)".into(),
            value: format!("{mb:.1} MB"),
            target: "< 64 MB".into(),
            met: mb < 64.0,
        },
    ]
}

fn input<'a>(
    snapshot: &'a Snapshot,
    mappings: &'a [Mapping],
    extensions: &'a [Extension],
    config: &'a DirectoryConfig,
    approved_removals: &'a HashSet<ObjectId>,
) -> PlanInput<'a> {
    PlanInput {
        snapshot,
        mappings,
        extensions,
        config,
        approved_removals,
        object_mappings: &[],
        organizations: &[],
        groups: &[],
        phonebook: &[],
    }
}

/// 10,000 users: 9,900 mapped (99 of them renamed), 100 new, and 50 mappings whose user left.
fn tenant() -> (Snapshot, Vec<Mapping>, Vec<Extension>, DirectoryConfig) {
    let object_id =
        |i: usize| ObjectId::parse(format!("00000000-0000-4000-8000-{i:012}")).expect("id");
    let users: Vec<DirectoryUser> = (0..USERS)
        .map(|i| DirectoryUser {
            write_back: Default::default(),
            sip_password: Default::default(),
            avatar: None,
            avatar_ref: None,
            job_title: Default::default(),
            organization: Default::default(),
            extra_numbers: Vec::new(),
            object_id: object_id(i),
            first_name: Some(if i % 100 == 0 {
                format!("Renamed{i}")
            } else {
                format!("Given{i}")
            }),
            last_name: Some(format!("Family{i}")),
            email: Some(format!("user{i}@example.com")),
            mobile: Some(format!("+1555{i:07}")),
            extension: Some(format!("{}", 100_000 + i)),
            state: UserState::Active,
            expires_at: None,
            in_scope: true,
            dn: None,
            groups: Vec::new(),
        })
        .collect();
    let mapped = (50..USERS + 50).filter(|i| *i < 50 || *i >= 100);
    let mut mappings = Vec::new();
    let mut extensions = Vec::new();
    for i in mapped {
        let id = ExtensionId::parse(format!("ext-{i}")).expect("id");
        mappings.push(Mapping {
            sip_password_hash: Default::default(),
            avatar_sha256: None,
            avatar_seen: None,
            object_id: object_id(i),
            link: MappingLink::Linked {
                extension_id: id.clone(),
                disabled_by_sync: false,
            },
            number: format!("{}", 100_000 + i),
            first_name: Some(format!("Given{i}")),
            last_name: Some(format!("Family{i}")),
            email: Some(format!("user{i}@example.com")),
            last_synced_at: Utc::now(),
        });
        extensions.push(Extension {
            avatar_sha256: None,
            job_title: Default::default(),
            organization_id: Default::default(),
            id,
            number: format!("{}", 100_000 + i),
            first_name: Some(format!("Given{i}")),
            last_name: Some(format!("Family{i}")),
            email: Some(format!("user{i}@example.com")),
            mobile: Some(format!("+1555{i:07}")),
            enabled: true,
            managed_by: Some("directory-sync".into()),
        });
    }
    let config = DirectoryConfig::from_json(
        br#"{"provider": {"type": "ldif", "path": "bench.ldif"}, "deletion_guard": {"max_deletes": 100}}"#,
        EndpointPolicy::default(),
    )
    .expect("valid config");
    let snapshot = Snapshot {
        groups: Default::default(),
        organizations: Default::default(),
        users,
        coverage: Coverage::WholeDirectory,
        complete: true,
        change_cursor: None,
    };
    (snapshot, mappings, extensions, config)
}
