//! `fields.avatar` from an LDIF export: `jpegPhoto::` (base64) hashed at read, and the bytes
//! read back one user at a time for the upload.

use base64::Engine;
use serde_json::json;

use super::*;
use crate::domain::avatar::{sha256_hex, ImageType};

#[tokio::test]
async fn photos_are_hashed_at_read_and_read_back_for_upload() {
    let photo = [0xff, 0xd8, 0xff, 0xe0, 1, 2, 3];
    let encoded = base64::engine::general_purpose::STANDARD.encode(photo);
    let export = format!(
        "dn: uid=ann,dc=x\nobjectClass: inetOrgPerson\nentryUUID: 00000000-0000-4000-8000-000000000001\n\
         mail: ann@x.com\njpegPhoto:: {encoded}\n\n\
         dn: uid=bob,dc=x\nobjectClass: inetOrgPerson\nentryUUID: 00000000-0000-4000-8000-000000000002\n\
         mail: bob@x.com\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.ldif"), export).unwrap();
    let reader = |avatar: serde_json::Value| {
        let body = json!({"provider": {"type": "ldif", "path": "export.ldif"}, "fields": {"avatar": avatar}});
        let config: DirectoryConfig = serde_json::from_value(body).unwrap();
        let crate::domain::config::ProviderConfig::Ldif(ldif) = &config.provider else {
            panic!("an ldif config");
        };
        LdifDirectory::new(ldif, &config, Some(dir.path())).unwrap()
    };
    let on = reader(json!(true));
    let snapshot = on.read_users().await.unwrap();
    let ann = ObjectId::parse("00000000-0000-4000-8000-000000000001").unwrap();
    let bob = ObjectId::parse("00000000-0000-4000-8000-000000000002").unwrap();
    let read = |id: &ObjectId| snapshot.users.iter().find(|u| &u.object_id == id).unwrap();
    let digest = read(&ann).avatar.clone().expect("ann's photo");
    assert_eq!(digest.sha256, sha256_hex(&photo));
    assert_eq!((digest.size, digest.image_type), (7, Some(ImageType::Jpeg)));
    assert_eq!(read(&bob).avatar, None);
    assert_eq!(
        on.read_photo(&ann, None).await.unwrap(),
        Some(photo.to_vec())
    );
    assert_eq!(on.read_photo(&bob, None).await.unwrap(), None);

    let off = reader(serde_json::Value::Null);
    assert!(off
        .read_users()
        .await
        .unwrap()
        .users
        .iter()
        .all(|u| u.avatar.is_none()));
    assert_eq!(off.read_photo(&ann, None).await.unwrap(), None);
}
