//! The phonebook over real HTTP: strict bodies, unique numbers, idempotent creates, paging,
//! deletes, auth, faults and the rate limit like the other resources.

use super::*;

const BOOK: &str = "phonebook";

fn entry(name: &str, number: &str) -> Value {
    json!({"name": name, "number": number, "managed_by": "directory-sync"})
}

#[tokio::test]
async fn entries_are_created_once_per_key_and_numbers_are_unique() {
    let f = start(SimulatorOptions::default(), 10).await;
    let ann = f
        .post_to(BOOK, Some("k1"), entry("Ann Lee M", "+4917155501"))
        .await;
    assert_eq!(ann.0, 201, "{ann:?}");
    assert_eq!(ann.1["managed_by"], "directory-sync");
    let id = ann.1["id"].as_str().unwrap().to_string();
    // A retry with the key answers the first entry, whatever its body.
    let replay = f
        .post_to(BOOK, Some("k1"), entry("Other", "+4930999"))
        .await;
    assert_eq!(
        (replay.0, replay.1["id"].as_str()),
        (201, Some(id.as_str()))
    );
    assert_error(
        &f.post_to(BOOK, Some("k2"), entry("Bob M", "+4917155501"))
            .await,
        409,
        "number_taken",
    );
    assert_error(
        &f.post_to(BOOK, None, entry("Bob M", "+4930777")).await,
        400,
        "missing_idempotency_key",
    );
    for bad in [
        json!({"name": "X", "number": "030 123"}),
        json!({"name": "", "number": "+4930123"}),
        json!({"number": "+4930123"}),
        json!({"name": "X", "number": "+4930123", "enabled": true}),
    ] {
        assert_eq!(f.post_to(BOOK, Some("k3"), bad).await.0, 422);
    }
    assert_eq!(f.sim.phonebook("acme").len(), 1);
    assert_eq!(f.sim.stats("acme").writes, 1);

    // No PATCH: an entry is deleted and made again.
    assert_eq!(f.patch_at(BOOK, &id, json!({"name": "Y"})).await.0, 405);
    assert_eq!(f.delete_at(BOOK, &id).await.0, 204);
    assert_error(&f.delete_at(BOOK, &id).await, 404, "not_found");
    assert_error(
        &f.post_to(BOOK, Some("k1"), entry("Ann Lee M", "+4917155501"))
            .await,
        409,
        "idempotency_key_reused",
    );
    assert!(f.sim.phonebook("acme").is_empty());
}

#[tokio::test]
async fn listings_page_and_need_the_token() {
    let f = start(SimulatorOptions::default(), 10).await;
    for n in 0..5 {
        let number = format!("+49301000{n}");
        let answer = f
            .post_to(BOOK, Some(&format!("k{n}")), entry("E", &number))
            .await;
        assert_eq!(answer.0, 201);
    }
    let first = f.get_from(BOOK, "?limit=2").await;
    assert_eq!(first.0, 200);
    assert_eq!(first.1["items"].as_array().unwrap().len(), 2);
    let cursor = first.1["next_cursor"].as_str().unwrap().to_string();
    let mut seen = 2;
    let mut next = Some(cursor);
    while let Some(cursor) = next {
        let page = f.get_from(BOOK, &format!("?limit=2&cursor={cursor}")).await;
        seen += page.1["items"].as_array().unwrap().len();
        next = page.1["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 5);
    assert_error(&f.get_from(BOOK, "?limit=0").await, 400, "invalid");
    let unauthorized = f
        .http
        .get(format!("{}/v1/{BOOK}", f.base))
        .bearer_auth("tok-other")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
    // Another account's phonebook is its own.
    assert!(f.sim.phonebook("other").is_empty());
}

#[tokio::test]
async fn faults_and_the_rate_limit_apply_to_the_phonebook() {
    let f = start(
        SimulatorOptions {
            fault_rate: 1.0,
            seed: 7,
            ..SimulatorOptions::default()
        },
        10,
    )
    .await;
    let answer = f.post_to(BOOK, Some("k"), entry("E", "+4930123")).await;
    assert!([429, 500, 503].contains(&answer.0), "{answer:?}");
    assert!(f.sim.phonebook("acme").is_empty());

    let f = start(
        SimulatorOptions {
            rate_limit_per_second: Some(1),
            ..SimulatorOptions::default()
        },
        10,
    )
    .await;
    assert_eq!(f.get_from(BOOK, "").await.0, 200);
    let response = f
        .http
        .get(format!("{}/v1/{BOOK}", f.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
}
