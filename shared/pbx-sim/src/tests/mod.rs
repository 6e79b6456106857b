//! The simulator over real HTTP: strictness, paging, idempotency, quota and faults.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

mod avatar;
mod etags;
mod objects;
mod phonebook;
mod sip_passwords;

const TOKEN: &str = "tok-acme-123";

struct Fixture {
    sim: PbxSimulator,
    _server: RunningSimulator,
    http: reqwest::Client,
    base: String,
}

async fn start(options: SimulatorOptions, quota: usize) -> Fixture {
    let sim = PbxSimulator::new(options);
    sim.add_account("acme", TOKEN, quota);
    sim.add_account("other", "tok-other", 10);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = server.base_url("acme");
    Fixture {
        sim,
        _server: server,
        http: reqwest::Client::new(),
        base,
    }
}

impl Fixture {
    async fn post(&self, key: Option<&str>, body: Value) -> (u16, Value) {
        self.post_to("extensions", key, body).await
    }

    async fn patch(&self, id: &str, body: Value) -> (u16, Value) {
        self.patch_at("extensions", id, body).await
    }

    async fn delete(&self, id: &str) -> u16 {
        self.delete_at("extensions", id).await.0
    }

    async fn get(&self, query: &str) -> (u16, Value) {
        self.get_from("extensions", query).await
    }

    async fn post_to(&self, resource: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/v1/{resource}", self.base))
            .bearer_auth(TOKEN)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        read(request.send().await.unwrap()).await
    }

    async fn patch_at(&self, resource: &str, id: &str, body: Value) -> (u16, Value) {
        let request = self
            .http
            .patch(format!("{}/v1/{resource}/{id}", self.base))
            .bearer_auth(TOKEN)
            .json(&body);
        read(request.send().await.unwrap()).await
    }

    async fn delete_at(&self, resource: &str, id: &str) -> (u16, Value) {
        let request = self
            .http
            .delete(format!("{}/v1/{resource}/{id}", self.base))
            .bearer_auth(TOKEN);
        read(request.send().await.unwrap()).await
    }

    async fn get_from(&self, resource: &str, query: &str) -> (u16, Value) {
        let request = self
            .http
            .get(format!("{}/v1/{resource}{query}", self.base))
            .bearer_auth(TOKEN);
        read(request.send().await.unwrap()).await
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

fn new_ext(number: &str, email: &str) -> Value {
    json!({"number": number, "first_name": "Ada", "last_name": "Lovelace", "email": email,
           "mobile": null, "managed_by": "directory-sync"})
}

fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{answer:?}");
    assert_eq!(answer.1["error"], code, "{answer:?}");
    assert!(answer.1["message"].is_string(), "{answer:?}");
}

#[tokio::test]
async fn tokens_and_accounts_are_checked() {
    let f = start(SimulatorOptions::default(), 10).await;
    let url = format!("{}/v1/extensions", f.base);
    let none = read(f.http.get(&url).send().await.unwrap()).await;
    assert_error(&none, 401, "unauthorized");
    let other = read(
        f.http
            .get(&url)
            .bearer_auth("tok-other")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&other, 401, "unauthorized");
    let unknown = PbxSimulator::base_url(f._server.addr(), "nobody");
    let missing = read(
        f.http
            .get(format!("{unknown}/v1/extensions"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&missing, 404, "unknown_account");
    assert_eq!(f.get("").await.0, 200);
    assert_eq!(
        f.sim.stats("acme").gets,
        1,
        "only authenticated requests count"
    );
}

#[tokio::test]
async fn creates_are_validated_strictly() {
    let f = start(SimulatorOptions::default(), 10).await;
    assert_error(
        &f.post(None, new_ext("100", "a@x.io")).await,
        400,
        "missing_idempotency_key",
    );
    let mut with_voicemail = new_ext("100", "a@x.io");
    with_voicemail["voicemail"] = json!({"enabled": false});
    let unknown = f.post(Some("k1"), with_voicemail).await;
    assert_error(&unknown, 422, "invalid");
    assert!(unknown.1["message"].as_str().unwrap().contains("voicemail"));
    for (body, field) in [
        (new_ext("1x0", "a@x.io"), "number"),
        (new_ext("100", "not-an-email"), "email"),
        (
            json!({"number": "100", "first_name": "n".repeat(65)}),
            "first_name",
        ),
        (
            json!({"number": "100", "managed_by": "admin"}),
            "managed_by",
        ),
    ] {
        let answer = f.post(Some("k2"), body).await;
        assert_error(&answer, 422, "invalid");
        assert_eq!(answer.1["field"], field);
    }
    let malformed = f
        .http
        .post(format!("{}/v1/extensions", f.base))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "k3")
        .body("{\"number\":")
        .send()
        .await
        .unwrap();
    assert_error(&read(malformed).await, 400, "bad_request");
    assert!(f.sim.extensions("acme").is_empty());

    let created = f.post(Some("k4"), new_ext("100", "a@x.io")).await;
    assert_eq!(created.0, 201);
    let stored = &f.sim.extensions("acme")[0];
    assert_eq!(created.1["id"], stored.id.as_str());
    assert_eq!(stored.managed_by.as_deref(), Some("directory-sync"));
    assert!(created.1["voicemail"]["enabled"].is_boolean());
    assert!(created.1.get("did").is_some());
}

#[tokio::test]
async fn numbers_and_emails_are_unique_and_quota_holds() {
    let f = start(SimulatorOptions::default(), 3).await;
    let mut manual = SimExtension::manual("200", Some("Boss@X.io"));
    manual.voicemail.pin_set = true;
    f.sim.seed("acme", manual).unwrap();
    assert_error(
        &f.post(Some("a"), new_ext("200", "new@x.io")).await,
        409,
        "number_taken",
    );
    assert_error(
        &f.post(Some("b"), new_ext("201", "boss@x.IO")).await,
        409,
        "email_taken",
    );
    assert_eq!(f.post(Some("c"), new_ext("201", "c@x.io")).await.0, 201);
    let third = f.post(Some("d"), new_ext("202", "d@x.io")).await;
    assert_eq!(third.0, 201);
    assert_error(
        &f.post(Some("e"), new_ext("203", "e@x.io")).await,
        403,
        "limit_reached",
    );
    let id = third.1["id"].as_str().unwrap().to_string();
    assert_error(
        &f.patch(&id, json!({"email": "BOSS@x.io"})).await,
        409,
        "email_taken",
    );
    assert_eq!(f.sim.extensions("acme").len(), 3);
    assert_eq!(f.sim.stats("acme").writes, 2);
}

#[tokio::test]
async fn patches_change_only_identity_fields() {
    let f = start(SimulatorOptions::default(), 10).await;
    let mut manual = SimExtension::manual("300", Some("m@x.io"));
    manual.forwarding = Forwarding {
        enabled: true,
        to: Some("+15550100".into()),
    };
    manual.did = Some("+15550199".into());
    let id = f.sim.seed("acme", manual.clone()).unwrap();

    assert_error(&f.patch(&id, json!({})).await, 422, "invalid");
    assert_error(
        &f.patch(&id, json!({"number": "301"})).await,
        422,
        "invalid",
    );
    assert_error(&f.patch(&id, json!({"id": "x"})).await, 422, "invalid");
    assert_error(&f.patch(&id, json!({"did": null})).await, 422, "invalid");
    assert_error(
        &f.patch("ext-999999", json!({"first_name": "A"})).await,
        404,
        "not_found",
    );

    let changed = f
        .patch(&id, json!({"first_name": "Grace", "enabled": false}))
        .await;
    assert_eq!(changed.0, 200);
    assert_eq!(changed.1["first_name"], "Grace");
    let after = f.sim.extensions("acme")[0].clone();
    assert_eq!(after.forwarding, manual.forwarding);
    assert_eq!(after.did, manual.did);
    assert!(!after.enabled);
    assert_eq!(f.sim.stats("acme").writes, 1);
    // The same values again change nothing and are no write.
    assert_eq!(f.patch(&id, json!({"first_name": "Grace"})).await.0, 200);
    assert_eq!(f.sim.stats("acme").writes, 1);

    assert_eq!(f.delete(&id).await, 204);
    assert_eq!(f.delete(&id).await, 404);
    assert_eq!(f.sim.stats("acme").writes, 2);
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_create() {
    let f = start(SimulatorOptions::default(), 10).await;
    let first = f.post(Some("key-1"), new_ext("400", "i@x.io")).await;
    let again = f.post(Some("key-1"), new_ext("400", "i@x.io")).await;
    assert_eq!((first.0, again.0), (201, 201));
    assert_eq!(first.1["id"], again.1["id"]);
    assert_eq!(f.sim.extensions("acme").len(), 1);
    assert_eq!(f.sim.stats("acme").writes, 1);
    // The key decides, not the body: the first create's extension comes back.
    let other_body = f.post(Some("key-1"), new_ext("401", "j@x.io")).await;
    assert_eq!((other_body.0, &other_body.1["id"]), (201, &first.1["id"]));
    assert_eq!(f.sim.extensions("acme").len(), 1);
    assert_eq!(f.delete(first.1["id"].as_str().unwrap()).await, 204);
    assert_error(
        &f.post(Some("key-1"), new_ext("400", "i@x.io")).await,
        409,
        "idempotency_key_reused",
    );
}

#[tokio::test]
async fn welcome_emails_are_accepted_counted_on_creates_and_never_returned() {
    let f = start(SimulatorOptions::default(), 10).await;
    let mut body = new_ext("410", "w@x.io");
    body["send_welcome_email"] = json!(true);
    let created = f.post(Some("key-w"), body.clone()).await;
    assert_eq!(created.0, 201, "{created:?}");
    assert!(created.1.get("send_welcome_email").is_none());
    let replay = f.post(Some("key-w"), body).await;
    assert_eq!(replay.0, 201);
    assert_eq!(f.sim.stats("acme").welcome_emails, 1, "a replay sends none");
    let id = created.1["id"].as_str().unwrap();
    let patched = f.patch(id, json!({"send_welcome_email": true})).await;
    assert_eq!(patched.0, 200, "{patched:?}");
    assert!(patched.1.get("send_welcome_email").is_none());
    assert_eq!(
        f.sim.stats("acme").welcome_emails,
        1,
        "an update sends none"
    );
    let (_, listed) = f.get("").await;
    assert!(listed["items"][0].get("send_welcome_email").is_none());
    let bad = f.patch(id, json!({"send_welcome_email": "yes"})).await;
    assert_error(&bad, 422, "invalid");
}

#[tokio::test]
async fn listings_page_with_opaque_cursors() {
    let f = start(SimulatorOptions::default(), 100).await;
    for n in 0..7 {
        f.sim
            .seed("acme", SimExtension::manual(&format!("50{n}"), None))
            .unwrap();
    }
    let mut ids = Vec::new();
    let mut query = "?limit=3".to_string();
    let mut pages = 0;
    loop {
        let (status, body) = f.get(&query).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = f.sim.extensions("acme").into_iter().map(|e| e.id).collect();
    assert_eq!(ids, expected);
    assert_error(&f.get("?limit=0").await, 400, "invalid");
    assert_error(&f.get("?limit=501").await, 400, "invalid");
    assert_error(&f.get("?cursor=%%%").await, 400, "invalid");
    assert_error(&f.get("?offset=2").await, 400, "invalid");
    assert_eq!(
        f.get("?limit=500").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

#[tokio::test]
async fn faults_before_handling_change_nothing_and_are_repeatable() {
    let options = SimulatorOptions {
        fault_rate: 1.0,
        seed: 42,
        ..SimulatorOptions::default()
    };
    let f = start(options.clone(), 10).await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        let answer = f
            .post(
                Some(&format!("k{n}")),
                new_ext(&format!("6{n:02}"), &format!("u{n}@x.io")),
            )
            .await;
        assert!(answer.1["error"].is_string());
        statuses.push(answer.0);
    }
    assert!(
        statuses.iter().all(|s| [429, 500, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429) && statuses.iter().any(|s| *s >= 500));
    assert!(f.sim.extensions("acme").is_empty());
    let stats = f.sim.stats("acme");
    assert_eq!(stats.injected_429 + stats.injected_5xx, 12);
    assert_eq!(stats.writes, 0);

    // The same seed gives the same faults.
    f.sim.set_options(options);
    let mut replayed = Vec::new();
    for n in 0..12 {
        replayed.push(
            f.post(Some(&format!("k{n}")), new_ext("700", "r@x.io"))
                .await
                .0,
        );
    }
    assert_eq!(replayed, statuses);
}

#[tokio::test]
async fn faults_after_commit_apply_the_write() {
    let f = start(
        SimulatorOptions {
            fault_after_commit_rate: 1.0,
            ..SimulatorOptions::default()
        },
        10,
    )
    .await;
    assert_error(
        &f.post(Some("lost"), new_ext("800", "l@x.io")).await,
        500,
        "server_error",
    );
    assert_eq!(f.sim.extensions("acme").len(), 1);
    f.sim.set_options(SimulatorOptions::default());
    let replay = f.post(Some("lost"), new_ext("800", "l@x.io")).await;
    assert_eq!(replay.0, 201);
    assert_eq!(replay.1["id"], f.sim.extensions("acme")[0].id.as_str());
    assert_eq!(f.sim.extensions("acme").len(), 1);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let f = start(
        SimulatorOptions {
            rate_limit_per_second: Some(2),
            ..SimulatorOptions::default()
        },
        10,
    )
    .await;
    assert_eq!(f.get("").await.0, 200);
    assert_eq!(f.get("").await.0, 200);
    let response = f
        .http
        .get(format!("{}/v1/extensions", f.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(f.sim.stats("acme").rate_limited, 1);
}

#[tokio::test]
async fn latency_delays_answers_and_unknown_routes_are_json() {
    let f = start(
        SimulatorOptions {
            latency: Duration::from_millis(120),
            ..SimulatorOptions::default()
        },
        10,
    )
    .await;
    let started = Instant::now();
    assert_eq!(f.get("").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
    let put = f
        .http
        .put(format!("{}/v1/extensions", f.base))
        .send()
        .await
        .unwrap();
    assert_error(&read(put).await, 405, "method_not_allowed");
    let nowhere = f.http.get(format!("{}/v2/x", f.base)).send().await.unwrap();
    assert_error(&read(nowhere).await, 404, "not_found");
}
