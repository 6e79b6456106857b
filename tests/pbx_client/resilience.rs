//! Retries, timeouts, concurrency and rate limits, and the token kept out of sight.

use super::*;

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
    // Every resource hangs off `{base_url}/v1`, the trailing slash not doubled.
    assert!(format!("{ok:?}").contains(r#""https://pbx.example/acme/v1""#));
}
