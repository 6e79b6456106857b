//! `PUT`/`DELETE /v1/extensions/{id}/avatar`: the token, the size, the type by header and
//! magic, an unknown extension, and the `avatar_sha256` the listing then shows.

use dirsync::domain::avatar::{sha256_hex, MAX_AVATAR_BYTES};
use serde_json::json;

use super::*;

impl Fixture {
    async fn put_avatar(
        &self,
        id: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let request = self
            .http
            .put(format!("{}/v1/extensions/{id}/avatar", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        read(request.send().await.unwrap()).await
    }
}

fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.resize(size, 1);
    bytes
}

#[tokio::test]
async fn avatars_are_checked_and_listed_by_their_hash() {
    let f = start(SimulatorOptions::default(), 10).await;
    let (status, ext) = f
        .post(Some("k1"), json!({"number": "1001", "first_name": "Ann"}))
        .await;
    assert_eq!(status, 201, "{ext}");
    let id = ext["id"].as_str().unwrap().to_string();
    assert_eq!(ext["avatar_sha256"], Value::Null);

    assert_eq!(
        f.put_avatar(&id, "wrong", "image/jpeg", jpeg(10)).await.0,
        401
    );
    let (status, body) = f
        .put_avatar(&id, TOKEN, "image/jpeg", jpeg(MAX_AVATAR_BYTES + 1))
        .await;
    assert_eq!((status, body["error"].as_str()), (413, Some("too_large")));
    // The type is told by the bytes: a GIF, or a JPEG sent as PNG, is refused.
    assert_eq!(
        f.put_avatar(&id, TOKEN, "image/gif", b"GIF89a".to_vec())
            .await
            .0,
        415
    );
    assert_eq!(
        f.put_avatar(&id, TOKEN, "image/jpeg", b"GIF89a".to_vec())
            .await
            .0,
        415
    );
    assert_eq!(f.put_avatar(&id, TOKEN, "image/png", jpeg(10)).await.0, 415);
    assert_eq!(
        f.put_avatar("nope", TOKEN, "image/jpeg", jpeg(10)).await.0,
        404
    );
    let (_, listed) = f.get("").await;
    assert_eq!(
        listed["items"][0]["avatar_sha256"],
        Value::Null,
        "refusals change nothing"
    );

    let photo = jpeg(MAX_AVATAR_BYTES);
    assert_eq!(
        f.put_avatar(&id, TOKEN, "image/jpeg", photo.clone())
            .await
            .0,
        204
    );
    let (_, listed) = f.get("").await;
    assert_eq!(
        listed["items"][0]["avatar_sha256"],
        json!(sha256_hex(&photo))
    );
    // Every authenticated PUT is counted, refused or not (the 401 is not).
    assert_eq!(f.sim.stats("acme").puts, 6);

    let deleted = f
        .http
        .delete(format!("{}/v1/extensions/{id}/avatar", f.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let (_, listed) = f.get("").await;
    assert_eq!(listed["items"][0]["avatar_sha256"], Value::Null);
}
