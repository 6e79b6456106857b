//! The extension listing's `ETag`: one version on every page, moved by every change a listing
//! would show (create, PATCH, delete, photo, seed), 304 for a matching `If-None-Match`, and a
//! PBX without ETags.

use serde_json::json;

use super::*;

impl Fixture {
    /// A listing page's status, `ETag` and body, with these `If-None-Match` lines.
    async fn list_if(&self, query: &str, if_none_match: &[&str]) -> (u16, Option<String>, String) {
        let mut request = self
            .http
            .get(format!("{}/v1/extensions{query}", self.base))
            .bearer_auth(TOKEN);
        for line in if_none_match {
            request = request.header("if-none-match", *line);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string());
        (status, etag, response.text().await.unwrap())
    }

    async fn etag(&self) -> String {
        let (status, etag, body) = self.list_if("", &[]).await;
        assert_eq!(status, 200, "{body}");
        etag.expect("an ETag")
    }
}

#[tokio::test]
async fn every_change_moves_the_etag_and_only_a_change() {
    let f = start(SimulatorOptions::default(), 10).await;
    let empty = f.etag().await;
    assert!(
        empty.starts_with('"') && empty.ends_with('"') && empty.len() > 2,
        "{empty}"
    );
    let (_, ext) = f.post(Some("k1"), new_ext("1001", "ada@example.com")).await;
    let id = ext["id"].as_str().unwrap().to_string();
    let created = f.etag().await;
    assert_ne!(created, empty);
    // A replayed create, a PATCH to the same values and other resources leave it.
    f.post(Some("k1"), new_ext("1001", "ada@example.com")).await;
    assert_eq!(f.patch(&id, json!({"first_name": "Ada"})).await.0, 200);
    f.post_to("organizations", Some("o1"), json!({"name": "Sales"}))
        .await;
    assert_eq!(f.etag().await, created);
    assert_eq!(f.patch(&id, json!({"first_name": "Augusta"})).await.0, 200);
    let patched = f.etag().await;
    assert_ne!(patched, created);
    let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3];
    let put = f
        .http
        .put(format!("{}/v1/extensions/{id}/avatar", f.base))
        .bearer_auth(TOKEN)
        .header("content-type", "image/jpeg")
        .body(jpeg);
    assert_eq!(put.send().await.unwrap().status(), 204);
    let photographed = f.etag().await;
    assert_ne!(photographed, patched);
    assert_eq!(
        f.delete_at("extensions", &format!("{id}/avatar")).await.0,
        204
    );
    // The same contents as before the photo: the same version (a digest, not a counter).
    assert_eq!(f.etag().await, patched);
    f.sim
        .seed("acme", SimExtension::manual("2000", None))
        .unwrap();
    let seeded = f.etag().await;
    assert_ne!(seeded, patched);
    assert_eq!(f.delete(&id).await, 204);
    let deleted = f.etag().await;
    assert!(![empty.clone(), created, patched, seeded].contains(&deleted));
    // Another account's listing has its own version.
    let other = f
        .http
        .get(format!("{}/v1/extensions", f._server.base_url("other")))
        .bearer_auth("tok-other")
        .send()
        .await
        .unwrap();
    assert_eq!(other.headers()["etag"].to_str().unwrap(), empty);
}

#[tokio::test]
async fn every_page_carries_the_version_and_a_match_is_304() {
    let f = start(SimulatorOptions::default(), 10).await;
    for n in 0..5 {
        f.post(
            Some(&format!("k{n}")),
            new_ext(&format!("10{n}"), &format!("u{n}@x.org")),
        )
        .await;
    }
    let (status, first_etag, body) = f.list_if("?limit=2", &[]).await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).unwrap();
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, second_etag, _) = f.list_if(&format!("?limit=2&cursor={cursor}"), &[]).await;
    assert_eq!(first_etag, second_etag);
    let etag = first_etag.unwrap();
    let weak = format!("W/{etag}");
    let before = f.sim.stats("acme");
    for condition in [
        vec![etag.as_str()],
        vec![weak.as_str()],
        vec!["\"nope\", ", etag.as_str()],
        vec!["\"nope\"", etag.as_str()],
        vec!["*"],
    ] {
        let (status, answered, body) = f.list_if("?limit=2", &condition).await;
        assert_eq!(status, 304, "{condition:?}");
        assert_eq!(answered.as_deref(), Some(etag.as_str()));
        assert!(body.is_empty(), "{body}");
    }
    assert_eq!(f.sim.stats("acme").not_modified - before.not_modified, 5);
    // Another tag, or a tag that differs in case, lists in full.
    let upper = etag.to_uppercase();
    for condition in ["\"nope\"", upper.as_str()] {
        let (status, answered, body) = f.list_if("?limit=2", &[condition]).await;
        assert_eq!(status, 200, "{condition}");
        assert_eq!(answered.as_deref(), Some(etag.as_str()));
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
    // After a change the old tag no longer matches.
    f.post(Some("k9"), new_ext("109", "u9@x.org")).await;
    let (status, answered, _) = f.list_if("", &[&etag]).await;
    assert_eq!(status, 200);
    assert_ne!(answered.as_deref(), Some(etag.as_str()));
    assert_eq!(f.sim.stats("acme").not_modified - before.not_modified, 5);
}

#[tokio::test]
async fn malformed_conditions_and_bad_queries_are_refused_first() {
    let f = start(SimulatorOptions::default(), 10).await;
    let etag = f.etag().await;
    for bad in ["abc", "W/abc", "*, \"a\"", "\"open"] {
        let (status, _, body) = f.list_if("", &[bad]).await;
        assert_eq!(status, 400, "{bad}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["field"], "If-None-Match", "{body}");
    }
    // The query is checked before the condition; the token before everything.
    let (status, _, _) = f.list_if("?limit=0", &[&etag]).await;
    assert_eq!(status, 400);
    let anonymous = f
        .http
        .get(format!("{}/v1/extensions", f.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_pbx_without_etags_ignores_the_condition() {
    let options = SimulatorOptions {
        etags: false,
        ..SimulatorOptions::default()
    };
    let f = start(options, 10).await;
    f.post(Some("k1"), new_ext("1001", "ada@example.com")).await;
    for condition in [vec![], vec!["*"], vec!["not even valid"]] {
        let (status, etag, body) = f.list_if("", &condition).await;
        assert_eq!(status, 200, "{condition:?}: {body}");
        assert_eq!(etag, None);
    }
    assert_eq!(f.sim.stats("acme").not_modified, 0);
}

#[tokio::test]
async fn other_listings_carry_no_etag() {
    let f = start(SimulatorOptions::default(), 10).await;
    for resource in ["organizations", "extension-groups", "phonebook"] {
        let response = f
            .http
            .get(format!("{}/v1/{resource}", f.base))
            .bearer_auth(TOKEN)
            .header("if-none-match", "*")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{resource}");
        assert!(response.headers().get("etag").is_none(), "{resource}");
    }
}
