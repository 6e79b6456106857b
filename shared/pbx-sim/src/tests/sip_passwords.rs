//! `sip_password`: accepted on POST and PATCH, never returned; the simulator keeps its SHA-256.

use serde_json::json;

use super::*;

fn sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn sip_passwords_are_set_on_create_and_patch_and_never_returned() {
    let f = start(SimulatorOptions::default(), 10).await;
    let mut body = new_ext("420", "s@x.io");
    body["sip_password"] = json!("first secret");
    let created = f.post(Some("key-s"), body.clone()).await;
    assert_eq!(created.0, 201, "{created:?}");
    assert!(!created.1.to_string().contains("first secret"));
    let id = created.1["id"].as_str().unwrap().to_string();
    let set = f.sim.sip_password("acme", &id).unwrap();
    assert_eq!(
        (set.sha256.as_str(), set.times),
        (sha256("first secret").as_str(), 1)
    );

    let replay = f.post(Some("key-s"), body).await;
    assert_eq!(replay.0, 201);
    assert_eq!(
        f.sim.sip_password("acme", &id).unwrap().times,
        1,
        "a replay sets none"
    );

    let patched = f.patch(&id, json!({"sip_password": "second"})).await;
    assert_eq!(patched.0, 200, "{patched:?}");
    assert!(patched.1.get("sip_password").is_none());
    let set = f.sim.sip_password("acme", &id).unwrap();
    assert_eq!((set.sha256, set.times), (sha256("second"), 2));
    let (_, listed) = f.get("").await;
    assert!(!listed.to_string().contains("second") && !listed.to_string().contains("sip_password"));

    for bad in [
        json!(""),
        json!(7),
        json!("a\u{0}b"),
        json!("x".repeat(129)),
    ] {
        let refused = f.patch(&id, json!({ "sip_password": bad })).await;
        assert_error(&refused, 422, "invalid");
        assert!(
            !refused.1.to_string().contains("xxxx"),
            "the value is not echoed"
        );
    }
    assert_eq!(f.sim.sip_password("acme", &id).unwrap().times, 2);
    let plain = f.post(Some("key-p"), new_ext("421", "p@x.io")).await;
    assert!(f
        .sim
        .sip_password("acme", plain.1["id"].as_str().unwrap())
        .is_none());
}
