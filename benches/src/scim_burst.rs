//! A SCIM burst: 1,000 users pushed (`POST /Users`, Entra's create body) over one minute to a
//! tenant of provider `scim` on the local service (API, in-process queue and worker, PBX
//! simulator), and the runs they made. Every push queues the tenant's job of its minute; the
//! queue keeps one per minute and each runs after its minute ends, so the burst should make
//! one run, two when it straddles a minute's end (CONTRACTS section 6: "changes arriving
//! together make one run").

use std::time::{Duration, Instant};

use dirsync_integration_tests::api::spawn_app;
use dirsync_integration_tests::scim_client::ScimTenant;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::Row;

const PUSHES: usize = 1_000;
/// The burst's length: the pushes are paced over it.
const BURST: Duration = Duration::from_secs(60);
/// How long the runs may take after the last push: the last job's minute, plus its run.
const SETTLE: Duration = Duration::from_secs(300);

pub fn run() -> Vec<Row> {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(burst())
}

fn user(n: usize) -> Value {
    let login = format!("user{n:04}@contoso.com");
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "externalId": format!("burst-{n}"),
        "userName": login,
        "active": true,
        "name": {"givenName": "User", "familyName": format!("{n:04}")},
        "emails": [{"primary": true, "type": "work", "value": login}],
        "phoneNumbers": [{"type": "work", "value": format!("{}", 10_000 + n)}]
    })
}

async fn push_runs(scim: &ScimTenant<'_>) -> Vec<Value> {
    scim.runs()
        .await
        .into_iter()
        .filter(|r| r["trigger"] == "push")
        .collect()
}

async fn burst() -> Vec<Row> {
    let app = spawn_app().await;
    let scim = app.scim_tenant("burst", json!({})).await;
    let started = Instant::now();
    for n in 0..PUSHES {
        // Paced: push n leaves at n/PUSHES of the burst (or as soon as the last one is done).
        let due = BURST.mul_f64(n as f64 / PUSHES as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let answer = scim.send(Method::POST, "/Users", Some(user(n))).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }
    let pushed_in = started.elapsed();
    let last_push = Instant::now();
    let mut synced_after = None;
    while last_push.elapsed() < SETTLE {
        let runs = push_runs(&scim).await;
        let idle = runs.iter().all(|r| r["outcome"] != "running");
        let extensions = app.service.simulator.extensions("burst").len();
        if extensions == PUSHES && idle && synced_after.is_none() {
            synced_after = Some(last_push.elapsed());
        }
        // A little longer than a minute after all are in: a late job would show by then.
        if synced_after.is_some_and(|at| last_push.elapsed() > at + Duration::from_secs(70)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let runs = push_runs(&scim).await;
    let extensions = app.service.simulator.extensions("burst").len();
    vec![
        Row {
            figure: format!(
                "{PUSHES} SCIM pushes (POST /Users) over {} s",
                BURST.as_secs()
            ),
            value: format!("sent in {:.1} s", pushed_in.as_secs_f64()),
            target: "-".into(),
            met: true,
        },
        Row {
            figure: "push-triggered runs they made".into(),
            value: format!("{} ({extensions} extensions on the PBX)", runs.len()),
            target: "at most 2".into(),
            met: (1..=2).contains(&runs.len()) && extensions == PUSHES,
        },
        Row {
            figure: "last push to every extension on the PBX".into(),
            value: synced_after.map_or("not reached".into(), |d| {
                format!("{:.1} s", d.as_secs_f64())
            }),
            target: "within a minute plus the run".into(),
            met: synced_after.is_some(),
        },
    ]
}
