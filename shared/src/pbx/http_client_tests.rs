//! `HttpPbx` against the simulator on 127.0.0.1:0.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::simulator::{Forwarding, RunningSimulator, SimExtension};
use super::*;
use crate::domain::plan::ConflictReason;
use crate::domain::{ExtensionId, NewExtension, MANAGED_BY};
use crate::error::PbxError;
use crate::ports::Pbx;

const TOKEN: &str = "s3cr3t-pbx-token-XYZ";

fn fast() -> PbxClientOptions {
    PbxClientOptions {
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        requests_per_second: 10_000,
        ..PbxClientOptions::default()
    }
}

async fn start(options: SimulatorOptions, quota: usize) -> (PbxSimulator, RunningSimulator) {
    let sim = PbxSimulator::new(options);
    sim.add_account("acme", TOKEN, quota);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (sim, server)
}

fn client(server: &RunningSimulator, options: PbxClientOptions) -> HttpPbx {
    HttpPbx::new(&server.base_url("acme"), SecretString::from(TOKEN), options).unwrap()
}

fn new_ext(number: &str, email: &str) -> NewExtension {
    NewExtension {
        number: number.into(),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email: Some(email.into()),
        mobile: None,
        managed_by: MANAGED_BY.into(),
    }
}

fn changes(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn lists_every_page() {
    let (sim, server) = start(SimulatorOptions::default(), 100).await;
    for n in 0..45 {
        sim.seed("acme", SimExtension::manual(&format!("1{n:03}"), None));
    }
    let pbx = client(
        &server,
        PbxClientOptions {
            page_size: 10,
            ..fast()
        },
    );
    let listed = pbx.list_extensions().await.unwrap();
    let expected: Vec<String> = sim.extensions("acme").into_iter().map(|e| e.id).collect();
    let got: Vec<String> = listed.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(got, expected);
    assert_eq!(pbx.calls().get, 5);
    assert_eq!(sim.stats("acme").gets, 5);
}

#[tokio::test]
async fn creates_updates_and_deletes_without_touching_telephony() {
    let (sim, server) = start(SimulatorOptions::default(), 10).await;
    let pbx = client(&server, fast());
    let created = pbx
        .create_extension(&new_ext("200", "ada@x.io"), "key-200")
        .await
        .unwrap();
    assert_eq!(created.number, "200");
    assert_eq!(created.managed_by.as_deref(), Some(MANAGED_BY));

    let mut manual = SimExtension::manual("201", Some("m@x.io"));
    manual.forwarding = Forwarding {
        enabled: true,
        to: Some("+15550100".into()),
    };
    let manual_id = sim.seed("acme", manual.clone()).unwrap();
    let before = sim.extensions("acme")[0].clone();
    let updated = pbx
        .update_extension(
            &created.id,
            &changes(serde_json::json!({"last_name": "King", "mobile": "+1 555 0101"})),
        )
        .await
        .unwrap();
    assert_eq!(updated.last_name.as_deref(), Some("King"));
    assert_eq!(updated.first_name.as_deref(), Some("Ada"));
    let after = sim.extensions("acme")[0].clone();
    assert_eq!(after.voicemail, before.voicemail);
    assert_eq!(after.forwarding, before.forwarding);
    assert_eq!(after.mobile.as_deref(), Some("+1 555 0101"));

    pbx.delete_extension(&created.id).await.unwrap();
    // Already gone counts as deleted.
    pbx.delete_extension(&created.id).await.unwrap();
    let left = sim.extensions("acme");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, manual_id);
    assert_eq!(left[0].forwarding, manual.forwarding);
    assert_eq!(
        pbx.calls(),
        CallCounts {
            get: 0,
            post: 1,
            patch: 1,
            delete: 2
        }
    );
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_is_not_duplicated() {
    let lost = SimulatorOptions {
        fault_after_commit_rate: 1.0,
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(lost, 10).await;
    let pbx = client(
        &server,
        PbxClientOptions {
            max_attempts: 3,
            ..fast()
        },
    );
    // The first attempt is applied but answered 500; the retry, with the same key, is a
    // replay (no new write, so no new fault) and returns the extension the first one made.
    let created = pbx
        .create_extension(&new_ext("300", "a@x.io"), "key-300")
        .await
        .unwrap();
    let stored = sim.extensions("acme");
    assert_eq!(stored.len(), 1);
    assert_eq!(created.id.as_str(), stored[0].id);
    assert_eq!(pbx.calls().post, 2);
    let stats = sim.stats("acme");
    assert_eq!((stats.writes, stats.injected_5xx), (1, 1));

    // A later run retrying the same key still gets the same extension.
    sim.set_options(SimulatorOptions::default());
    let again = pbx
        .create_extension(&new_ext("300", "a@x.io"), "key-300")
        .await
        .unwrap();
    assert_eq!(again.id, created.id);
    assert_eq!(sim.extensions("acme").len(), 1);
}

#[tokio::test]
async fn creates_under_random_faults_land_exactly_once() {
    let faulty = SimulatorOptions {
        fault_rate: 0.3,
        fault_after_commit_rate: 0.3,
        seed: 7,
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(faulty, 100).await;
    let pbx = client(
        &server,
        PbxClientOptions {
            max_attempts: 30,
            ..fast()
        },
    );
    let mut ids = Vec::new();
    for n in 0..20 {
        let ext = new_ext(&format!("4{n:02}"), &format!("u{n}@x.io"));
        ids.push(
            pbx.create_extension(&ext, &format!("key-{n}"))
                .await
                .unwrap()
                .id,
        );
    }
    let stored: Vec<String> = sim.extensions("acme").into_iter().map(|e| e.id).collect();
    let returned: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(stored, returned);
    let stats = sim.stats("acme");
    assert_eq!(stats.writes, 20);
    assert!(
        stats.injected_429 > 0 && stats.injected_5xx > 0,
        "{stats:?}"
    );
    assert!(pbx.calls().post > 20);
}

#[tokio::test]
async fn error_answers_map_to_pbx_errors() {
    let (sim, server) = start(SimulatorOptions::default(), 2).await;
    sim.seed("acme", SimExtension::manual("500", Some("held@x.io")));
    let pbx = client(&server, fast());
    let err = |r: Result<_, PbxError>| r.unwrap_err();
    assert!(matches!(
        err(pbx.create_extension(&new_ext("500", "n@x.io"), "a").await),
        PbxError::Conflict(ConflictReason::NumberTaken)
    ));
    assert!(matches!(
        err(pbx
            .create_extension(&new_ext("501", "HELD@x.io"), "b")
            .await),
        PbxError::Conflict(ConflictReason::EmailTaken)
    ));
    assert!(matches!(
        err(pbx.create_extension(&new_ext("502", "bad email"), "c").await),
        PbxError::Rejected(m) if m.contains("email")
    ));
    pbx.create_extension(&new_ext("503", "ok@x.io"), "d")
        .await
        .unwrap();
    assert!(matches!(
        err(pbx
            .create_extension(&new_ext("504", "full@x.io"), "e")
            .await),
        PbxError::LimitReached
    ));
    let gone = ExtensionId::parse("ext-999").unwrap();
    assert!(matches!(
        err(pbx
            .update_extension(&gone, &changes(serde_json::json!({"enabled": false})))
            .await),
        PbxError::NotFound
    ));
    let wrong = HttpPbx::new(&server.base_url("acme"), SecretString::from("nope"), fast()).unwrap();
    assert!(matches!(
        wrong.list_extensions().await.unwrap_err(),
        PbxError::Unauthorized
    ));
    // None of these was retried.
    assert_eq!(pbx.calls().total(), 6);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let limited = SimulatorOptions {
        rate_limit_per_second: Some(1),
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(limited, 10).await;
    let pbx = client(&server, fast());
    let started = Instant::now();
    pbx.list_extensions().await.unwrap();
    pbx.list_extensions().await.unwrap();
    // The second listing was refused once with Retry-After: 1 and waited for it, not for
    // the millisecond backoff.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pbx.calls().get, 3);
    assert_eq!(sim.stats("acme").rate_limited, 1);
}

#[tokio::test]
async fn retry_after_is_capped_and_throttling_gives_up() {
    let limited = SimulatorOptions {
        rate_limit_per_second: Some(1),
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(limited, 10).await;
    let options = PbxClientOptions {
        max_retry_after: Duration::from_millis(50),
        max_attempts: 3,
        ..fast()
    };
    let pbx = client(&server, options);
    pbx.list_extensions().await.unwrap();
    let started = Instant::now();
    let error = pbx.list_extensions().await.unwrap_err();
    assert!(
        matches!(error, PbxError::Throttled { attempts: 3 }),
        "{error:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(100) && waited < Duration::from_millis(900),
        "{waited:?}"
    );
    assert_eq!(pbx.calls().get, 4);
    assert_eq!(sim.stats("acme").rate_limited, 3);
}

/// A PBX that always answers 500, counting the requests.
async fn always_500() -> (String, Arc<AtomicU32>, tokio::task::JoinHandle<()>) {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/acme"), hits, task)
}

#[tokio::test]
async fn gives_up_after_max_attempts_on_persistent_500() {
    let (base, hits, task) = always_500().await;
    let pbx = HttpPbx::new(
        &base,
        SecretString::from(TOKEN),
        PbxClientOptions {
            max_attempts: 4,
            ..fast()
        },
    )
    .unwrap();
    let error = pbx
        .delete_extension(&ExtensionId::parse("e1").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            PbxError::Server {
                status: 500,
                attempts: 4
            }
        ),
        "{error:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    assert_eq!(pbx.calls().delete, 4);
    task.abort();
}

#[tokio::test]
async fn injected_faults_exhaust_attempts() {
    let broken = SimulatorOptions {
        fault_rate: 1.0,
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(broken, 10).await;
    let pbx = client(
        &server,
        PbxClientOptions {
            max_attempts: 5,
            ..fast()
        },
    );
    let error = pbx.list_extensions().await.unwrap_err();
    assert!(
        matches!(
            error,
            PbxError::Throttled { attempts: 5 } | PbxError::Server { attempts: 5, .. }
        ),
        "{error:?}"
    );
    let stats = sim.stats("acme");
    assert_eq!(stats.injected_429 + stats.injected_5xx, 5);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let slow = SimulatorOptions {
        latency: Duration::from_millis(400),
        ..SimulatorOptions::default()
    };
    let (_sim, server) = start(slow, 10).await;
    let options = PbxClientOptions {
        timeout: Duration::from_millis(50),
        max_attempts: 2,
        ..fast()
    };
    let pbx = client(&server, options);
    let error = pbx.list_extensions().await.unwrap_err();
    assert!(
        matches!(&error, PbxError::Transport(e) if e.is_timeout()),
        "{error:?}"
    );
    assert_eq!(pbx.calls().get, 2);
}

async fn max_in_flight_with(concurrency: usize) -> usize {
    let slow = SimulatorOptions {
        latency: Duration::from_millis(40),
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(slow, 10).await;
    let pbx = Arc::new(client(
        &server,
        PbxClientOptions {
            concurrency,
            ..fast()
        },
    ));
    let calls = (0..12).map(|_| {
        let pbx = pbx.clone();
        tokio::spawn(async move { pbx.list_extensions().await })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(pbx.calls().get, 12);
    sim.stats("acme").max_in_flight
}

#[tokio::test]
async fn concurrency_is_bounded() {
    assert_eq!(max_in_flight_with(3).await, 3);
    // The bound is what limits it: a wider client goes wider.
    assert!(max_in_flight_with(8).await > 3);
}

#[tokio::test]
async fn the_client_rate_limit_spaces_requests() {
    let (_sim, server) = start(SimulatorOptions::default(), 10).await;
    let pbx = client(
        &server,
        PbxClientOptions {
            requests_per_second: 5,
            ..fast()
        },
    );
    let started = Instant::now();
    for _ in 0..10 {
        pbx.list_extensions().await.unwrap();
    }
    // A burst of 5, then one every 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_token_never_shows() {
    let (_sim, server) = start(SimulatorOptions::default(), 1).await;
    let pbx = client(&server, fast());
    let shown = format!("{pbx:?} {pbx}");
    assert!(shown.contains("[redacted]"));
    assert!(!shown.contains(TOKEN));

    let mut errors = vec![
        pbx.create_extension(&new_ext("1", "x@x.io"), "k")
            .await
            .unwrap_err(),
        HttpPbx::new(
            &server.base_url("acme"),
            SecretString::from("wrong"),
            fast(),
        )
        .unwrap()
        .list_extensions()
        .await
        .unwrap_err(),
        HttpPbx::new("ftp://pbx.example", SecretString::from(TOKEN), fast()).unwrap_err(),
        HttpPbx::new(
            "http://127.0.0.1:9/acme",
            SecretString::from("bad\ntoken"),
            fast(),
        )
        .unwrap_err(),
    ];
    // Connection refused: a transport error carrying reqwest's details.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = HttpPbx::new(
        &format!("http://{closed}/acme"),
        SecretString::from(TOKEN),
        PbxClientOptions {
            max_attempts: 2,
            ..fast()
        },
    )
    .unwrap();
    errors.push(unreachable.list_extensions().await.unwrap_err());
    assert!(matches!(errors.last(), Some(PbxError::Transport(_))));
    for error in &errors {
        let text = format!("{error} {error:?}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("bad\ntoken"), "{text}");
    }
}

#[test]
fn base_urls_are_checked() {
    let new = |url: &str| HttpPbx::new(url, SecretString::from(TOKEN), fast());
    for bad in [
        "not a url",
        "ftp://pbx.example/x",
        "https://user:pw@pbx.example/",
        "https://pbx.example/?tenant=1",
        "https://pbx.example/#x",
    ] {
        assert!(matches!(new(bad), Err(PbxError::Endpoint(_))), "{bad}");
    }
    let ok = new("https://pbx.example/acme/").unwrap();
    assert!(format!("{ok:?}").contains("https://pbx.example/acme/v1/extensions"));
}
