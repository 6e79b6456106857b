//! Each route's behaviour: configure, test, preview, sync, status, runs, extensions, pause,
//! approve, disconnect.

use dirsync::ports::Store;
use dirsync_integration_tests::api::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{assert_error, people};

#[tokio::test]
async fn configure_test_preview_sync_status_runs_and_extensions() {
    let app = spawn_app().await;
    app.connect("acme", &people(7), json!({})).await;
    let config = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["provider"]["type"], "ldif");
    assert_eq!(
        config.body["credentials_set"], false,
        "ldif takes no credentials"
    );

    let test = app
        .tenant_call(Method::POST, "acme", "/directory/test", None)
        .await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.text);
    assert_eq!(test.body["ok"], true);
    assert_eq!(test.body["sample"].as_array().unwrap().len(), 5);
    let candidate = json!({"provider": {"type": "ldif", "path": "/nonexistent/x.ldif"}});
    let test = app
        .tenant_call(Method::POST, "acme", "/directory/test", Some(candidate))
        .await;
    assert_eq!(test.body["ok"], false, "{}", test.text);

    let writes = || {
        let s = app.service.simulator.stats("acme");
        s.posts + s.patches + s.deletes
    };
    let preview = app
        .tenant_call(Method::POST, "acme", "/sync/preview", None)
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["creates"].as_array().unwrap().len(), 7);
    assert_eq!(preview.body["summary"], "7 new, 0 updated, 0 removed");
    assert_eq!(writes(), 0, "preview writes nothing to the PBX");
    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    assert!(app
        .service
        .store
        .all_mappings(&acme)
        .await
        .unwrap()
        .is_empty());
    let runs = app
        .tenant_call(Method::GET, "acme", "/sync/runs", None)
        .await;
    assert_eq!(runs.body["runs"], json!([]), "preview records no run");

    let run = app.sync("acme").await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(run["summary"], "7 new, 0 updated, 0 removed");
    assert_eq!(run["counts"]["new"], 7);
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["plan"]["creates"].as_array().unwrap().len(), 7);

    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "active");
    assert_eq!(status.body["provider"], "ldif");
    assert_eq!(status.body["synced_extensions"], 7);
    assert_eq!(status.body["record_limit"], 10000);
    assert_eq!(status.body["last_sync"]["run_id"], run["run_id"]);
    assert!(status.body["next_sync_at"].is_string());

    let second = app.sync("acme").await;
    assert_eq!(second["summary"], "Everything is up to date");
    let page = app
        .tenant_call(Method::GET, "acme", "/sync/runs?limit=1", None)
        .await;
    assert_eq!(
        page.body["runs"][0]["run_id"], second["run_id"],
        "newest first"
    );
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let page = app
        .tenant_call(
            Method::GET,
            "acme",
            &format!("/sync/runs?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(page.body["runs"][0]["run_id"], run["run_id"]);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
        let page = app
            .tenant_call(
                Method::GET,
                "acme",
                &format!("/extensions?limit=3{query}"),
                None,
            )
            .await;
        for item in page.body["items"].as_array().unwrap() {
            assert!(item["extension_id"].is_string());
            seen.push(item["number"].as_str().unwrap().to_string());
        }
        cursor = page.body["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
    );

    let missing_run = app
        .tenant_call(Method::GET, "acme", "/sync/runs/no-such-run", None)
        .await;
    assert_error(&missing_run, StatusCode::NOT_FOUND, "not_found");
    let tenants = app
        .call(Method::GET, "/v1/tenants", Some(&app.operator()), None)
        .await;
    assert_eq!(tenants.body["tenants"][0]["tenant"], "acme");
    assert_eq!(tenants.body["tenants"][0]["last_outcome"], "success");
    app.service.shutdown().await;
}

#[tokio::test]
async fn sync_now_conflicts_while_running_paused_or_unconfigured() {
    let app = spawn_app().await;
    let unconfigured = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&unconfigured, StatusCode::CONFLICT, "not_configured");
    app.connect("acme", &people(2), json!({})).await;

    // A run holds the tenant's lease (as another worker would).
    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    let running = dirsync::domain::RunId::new();
    let ttl = std::time::Duration::from_secs(60);
    app.service
        .store
        .acquire_lease(&acme, &running, ttl, chrono::Utc::now())
        .await
        .unwrap();
    let busy = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&busy, StatusCode::CONFLICT, "sync_running");
    assert_eq!(busy.body["run_id"], running.to_string());
    app.service
        .store
        .release_lease(&acme, &running)
        .await
        .unwrap();

    let paused = app
        .tenant_call(
            Method::POST,
            "acme",
            "/directory/pause",
            Some(json!({"delete_extensions": false})),
        )
        .await;
    assert_eq!(paused.body["state"], "paused", "{}", paused.text);
    let refused = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&refused, StatusCode::CONFLICT, "paused");
    // The scheduler skips a paused tenant even when it is due.
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let due = app
        .service
        .store
        .due_tenants(later, None, 10)
        .await
        .unwrap();
    assert!(due.is_empty(), "{due:?}");
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "paused");
    let delete_on_pause = app
        .tenant_call(
            Method::POST,
            "acme",
            "/directory/pause",
            Some(json!({"delete_extensions": true})),
        )
        .await;
    assert_error(
        &delete_on_pause,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    );

    app.tenant_call(Method::POST, "acme", "/directory/resume", None)
        .await;
    let run = app.sync("acme").await;
    assert_eq!(run["summary"], "2 new, 0 updated, 0 removed");

    // A directory that cannot be read: the preview says so, and a sync changes nothing.
    std::fs::remove_file(app.state.path().join("acme.ldif")).unwrap();
    let preview = app
        .tenant_call(Method::POST, "acme", "/sync/preview", None)
        .await;
    assert_error(
        &preview,
        StatusCode::SERVICE_UNAVAILABLE,
        "directory_unavailable",
    );
    assert!(
        preview.body["message"]
            .as_str()
            .unwrap()
            .contains("acme.ldif"),
        "{}",
        preview.text
    );
    let failed = app.sync("acme").await;
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(
        app.service.simulator.extensions("acme").len(),
        2,
        "nothing removed"
    );
    app.service.shutdown().await;
}

#[tokio::test]
async fn held_removals_are_applied_once_approved() {
    let app = spawn_app().await;
    app.connect(
        "acme",
        &people(5),
        json!({"deletion_guard": {"max_deletes": 1}}),
    )
    .await;
    app.sync("acme").await;
    let first_run = app
        .tenant_call(Method::GET, "acme", "/sync/runs", None)
        .await;
    let success_id = first_run.body["runs"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let not_held = app
        .tenant_call(
            Method::POST,
            "acme",
            &format!("/sync/runs/{success_id}/approve"),
            None,
        )
        .await;
    assert_error(&not_held, StatusCode::CONFLICT, "not_held");

    app.write_directory("acme", &people(2));
    let held = app.sync("acme").await;
    assert_eq!(held["outcome"], "held", "{held}");
    assert_eq!(
        app.service.simulator.extensions("acme").len(),
        5,
        "nothing removed yet"
    );

    let held_id = held["run_id"].as_str().unwrap();
    let approve = app
        .tenant_call(
            Method::POST,
            "acme",
            &format!("/sync/runs/{held_id}/approve"),
            None,
        )
        .await;
    assert_eq!(approve.status, StatusCode::ACCEPTED, "{}", approve.text);
    let applying = approve.body["run_id"].as_str().unwrap();
    let applied = app.finished_run("acme", applying).await;
    assert_eq!(applied["outcome"], "success", "{applied}");
    assert_eq!(applied["counts"]["removed"], 3);
    assert_eq!(app.service.simulator.extensions("acme").len(), 2);

    let again = app
        .tenant_call(
            Method::POST,
            "acme",
            &format!("/sync/runs/{held_id}/approve"),
            None,
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "already_approved");
    app.service.shutdown().await;
}

async fn connected_and_synced(app: &TestApp) {
    app.connect("acme", &people(3), json!({})).await;
    let manual = dirsync_pbx_sim::SimExtension::manual("900", Some("frontdesk@example.com"));
    app.service.simulator.seed("acme", manual).expect("seeded");
    let run = app.sync("acme").await;
    assert_eq!(run["counts"]["new"], 3);
}

#[tokio::test]
async fn disconnect_releasing_keeps_the_extensions_and_forgets_the_mappings() {
    let app = spawn_app().await;
    connected_and_synced(&app).await;
    let required = app
        .tenant_call(Method::DELETE, "acme", "/directory", None)
        .await;
    assert_error(&required, StatusCode::BAD_REQUEST, "invalid_request");
    let released = app
        .tenant_call(
            Method::DELETE,
            "acme",
            "/directory?delete_extensions=false",
            None,
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text);
    assert_eq!(released.body["released_extensions"], 3);
    assert_eq!(app.service.simulator.extensions("acme").len(), 4);
    let extensions = app
        .tenant_call(Method::GET, "acme", "/extensions", None)
        .await;
    assert_eq!(extensions.body["items"], json!([]));
    let config = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_error(&config, StatusCode::NOT_FOUND, "not_found");
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "disconnected");
    let sync = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&sync, StatusCode::CONFLICT, "not_configured");
    app.service.shutdown().await;
}

#[tokio::test]
async fn disconnect_deleting_removes_every_synced_extension_and_only_those() {
    let app = spawn_app().await;
    connected_and_synced(&app).await;
    let deleting = app
        .tenant_call(
            Method::DELETE,
            "acme",
            "/directory?delete_extensions=true",
            None,
        )
        .await;
    assert_eq!(deleting.status, StatusCode::ACCEPTED, "{}", deleting.text);
    let run = app
        .finished_run("acme", deleting.body["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["trigger"], "disconnect");
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(run["counts"]["removed"], 3);
    let left: Vec<_> = app
        .service
        .simulator
        .extensions("acme")
        .into_iter()
        .map(|e| e.number)
        .collect();
    assert_eq!(left, ["900"], "the manual extension stays");
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "disconnected");
    assert_eq!(status.body["synced_extensions"], 0);
    app.service.shutdown().await;
}

/// The run's end writes its summary alone: a config an admin PUT while it ran stays.
#[tokio::test]
async fn a_config_put_while_a_run_goes_is_intact_after_the_run() {
    let app = spawn_app().await;
    app.connect("acme", &people(150), json!({})).await;
    let started = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let run_id = started.body["run_id"].as_str().unwrap().to_string();
    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    // Bounded wait for the worker to take the lease: the run is going.
    let mut going = false;
    for _ in 0..2000 {
        if app
            .service
            .store
            .lease_holder(&acme, chrono::Utc::now())
            .await
            .unwrap()
            .is_some()
        {
            going = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(going, "the run started");
    let path = app.state.path().join("acme.ldif");
    let changed = json!({
        "provider": {"type": "ldif", "path": path.display().to_string()},
        "extension_numbers": {"mode": "attribute"},
        "deletion_guard": {"max_deletes": 7},
        "schedule": {"every_hours": 6},
    });
    let put = app
        .tenant_call(Method::PUT, "acme", "/directory", Some(changed))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let holder = app
        .service
        .store
        .lease_holder(&acme, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        holder.map(|r| r.to_string()),
        Some(run_id.clone()),
        "the PUT landed mid-run"
    );

    let run = app.finished_run("acme", &run_id).await;
    assert_eq!(run["outcome"], "success", "{run}");
    let config = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_eq!(
        config.body["deletion_guard"]["max_deletes"], 7,
        "{}",
        config.text
    );
    assert_eq!(config.body["schedule"]["every_hours"], 6);
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(
        status.body["last_sync"]["run_id"],
        run_id.as_str(),
        "{}",
        status.text
    );
}

/// Records as a newer release writes them, in the local state file: fields this release does
/// not know in the tenant, its config, its mappings and its runs. The tenant syncs, is listed
/// and shows its runs.
#[tokio::test]
async fn records_from_a_newer_release_sync_and_list_in_the_state_file() {
    let app = spawn_app().await;
    app.connect("acme", &people(3), json!({})).await;
    let first = app.sync("acme").await;
    assert_eq!(first["outcome"], "success", "{first}");
    let db = rusqlite::Connection::open(app.state.path().join("dirsync.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let newer = json!({"billing_plan": "gold",
        "directory": {"welcome_email": true, "provider": {"page_hint": 5}}});
    let patched = db
        .execute(
            "UPDATE tenants SET body = json_patch(body, ?1) WHERE id = 'acme'",
            [newer.to_string()],
        )
        .unwrap();
    assert_eq!(patched, 1);
    let extra = json!({"organization_id": "org-1", "counts": {"organizations": 2}});
    db.execute(
        "UPDATE mappings SET body = json_patch(body, ?1)",
        [extra.to_string()],
    )
    .unwrap();
    db.execute(
        "UPDATE runs SET body = json_patch(body, ?1), summary = json_patch(summary, ?1)",
        [extra.to_string()],
    )
    .unwrap();

    let second = app.sync("acme").await;
    assert_eq!(second["summary"], "Everything is up to date", "{second}");
    let tenants = app
        .call(Method::GET, "/v1/tenants", Some(&app.operator()), None)
        .await;
    assert_eq!(tenants.status, StatusCode::OK, "{}", tenants.text);
    assert_eq!(tenants.body["tenants"][0]["tenant"], "acme");
    let runs = app
        .tenant_call(Method::GET, "acme", "/sync/runs", None)
        .await;
    assert_eq!(
        runs.body["runs"].as_array().map(Vec::len),
        Some(2),
        "{}",
        runs.text
    );
    let config = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_eq!(config.status, StatusCode::OK, "{}", config.text);
}

/// A weekly schedule as sent is what the config reads back, and the status shows its next
/// local time (Tokyo: no DST, so the offset is fixed); a bad field is a 400 naming it.
#[tokio::test]
async fn a_weekly_schedule_reads_back_and_sets_the_next_sync() {
    let app = spawn_app().await;
    let weekly = json!({"weekly": ["sat"], "at": "23:59", "timezone": "Asia/Tokyo"});
    let before = chrono::Utc::now();
    app.connect("acme", &people(1), json!({"schedule": weekly}))
        .await;
    let config = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_eq!(config.body["schedule"], weekly, "{}", config.text);
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    let next = status.body["next_sync_at"].as_str().unwrap_or_default();
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    let tokyo = next.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
    assert_eq!(tokyo.format("%a %H:%M").to_string(), "Sat 23:59", "{tokyo}");
    assert!(next > before && next <= before + chrono::TimeDelta::days(7));

    let bad = json!({"provider": {"type": "ldif", "path": "/x.ldif"},
                     "schedule": {"weekly": ["sat", "sat"], "at": "23:59", "timezone": "Tokyo"}});
    let put = app
        .tenant_call(Method::PUT, "acme", "/directory", Some(bad))
        .await;
    assert_error(&put, StatusCode::BAD_REQUEST, "invalid_request");
    let mut fields: Vec<&str> = put.body["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["field"].as_str())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["schedule.timezone", "schedule.weekly"],
        "{}",
        put.text
    );
}
