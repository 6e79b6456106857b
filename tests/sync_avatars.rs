//! Photos (`fields.avatar`) synced from a real OpenLDAP `slapd` (`jpegPhoto`) through the
//! engine into the PBX simulator: JPEG and PNG uploaded, an oversized and a GIF photo skipped
//! with their reasons while the run succeeds, an unchanged photo not sent again, a changed one
//! re-uploaded, a dropped one removed, a photo an admin set kept, and a fixed one uploaded.

use base64::Engine;
use dirsync::domain::avatar::{sha256_hex, MAX_AVATAR_BYTES};
use dirsync::domain::plan::SkipReason;
use dirsync::domain::ExtensionId;
use dirsync::domain::RunRecord;
use dirsync::pbx::HttpPbx;
use dirsync::ports::Pbx;
use dirsync::ports::{Secrets, TenantSecrets};
use dirsync_integration_tests::images::{jpeg, png, GIF};
use dirsync_integration_tests::slapd::{
    person, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use dirsync_integration_tests::{fast_pbx_options, Harness, ACCOUNT, TOKEN};
use dirsync_pbx_sim::PbxSimulator;
use serde_json::json;

/// Person `n` of ou=People with `photo` as its `jpegPhoto`.
fn with_photo(n: u32, given: &str, photo: Option<&[u8]>) -> String {
    let mut entry = person(n, "ou=People", given, true);
    if let Some(photo) = photo {
        entry.pop();
        let encoded = base64::engine::general_purpose::STANDARD.encode(photo);
        entry.push_str(&format!("jpegPhoto:: {encoded}\n\n"));
    }
    entry
}

fn replace_photo(n: u32, photo: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(photo);
    format!(
        "dn: uid=u{n},ou=People,{SUFFIX}\nchangetype: modify\nreplace: jpegPhoto\njpegPhoto:: {encoded}\n"
    )
}

async fn harness(server: &Slapd) -> Harness {
    let h = Harness::new(&[], json!({})).await;
    let secrets = TenantSecrets {
        pbx_token: Some(TOKEN.to_string().into()),
        bind_password: Some(SYNC_PASSWORD.to_string().into()),
        ..TenantSecrets::default()
    };
    h.secrets.put(&h.tenant, &secrets).await.expect("secrets");
    let body = json!({"provider": {"type": "ldap", "url": format!("ldap://localhost:{}", server.port),
        "starttls": true, "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX},
        "fields": {"avatar": true}});
    h.use_directory(body).await;
    h
}

fn avatar(h: &Harness, n: u32) -> Option<String> {
    h.extension(1000 + n).avatar_sha256
}

fn skips(run: &RunRecord) -> Vec<(String, SkipReason)> {
    let plan = run.plan.as_ref().expect("plan");
    plan.skipped
        .iter()
        .map(|s| (s.object_id.to_string(), s.reason))
        .collect()
}

#[tokio::test]
async fn photos_upload_skip_resend_only_changes_and_remove_what_sync_put() {
    let first = jpeg(1, 2_000);
    let oversized = jpeg(2, MAX_AVATAR_BYTES + 1);
    let ldif = [
        with_photo(1, "Ann", Some(&first)),
        with_photo(2, "Bob", Some(&png())),
        with_photo(3, "Cat", Some(&oversized)),
        with_photo(4, "Dan", Some(GIF)),
        with_photo(5, "Eve", None),
    ]
    .concat();
    let server = Slapd::start(&ldif, SlapdOptions::default());
    let h = harness(&server).await;

    let run = h.synced().await;
    assert_eq!(
        h.simulator.extensions(ACCOUNT).len(),
        5,
        "every user is created, photo or not"
    );
    assert_eq!(avatar(&h, 1), Some(sha256_hex(&first)));
    assert_eq!(avatar(&h, 2), Some(sha256_hex(&png())));
    assert_eq!(avatar(&h, 3), None);
    assert_eq!(avatar(&h, 4), None);
    assert_eq!(avatar(&h, 5), None);
    let mut skipped = skips(&run);
    skipped.sort();
    assert_eq!(
        skipped,
        vec![
            (
                "00000000-0000-4000-8000-000000000003".into(),
                SkipReason::AvatarTooLarge
            ),
            (
                "00000000-0000-4000-8000-000000000004".into(),
                SkipReason::AvatarUnsupportedType
            ),
        ]
    );
    assert_eq!(h.simulator.stats(ACCOUNT).puts, 2);

    // Nothing changed: no photo is sent again.
    let run = h.synced().await;
    assert!(run.plan.as_ref().expect("plan").updates.is_empty());
    assert_eq!(h.simulator.stats(ACCOUNT).puts, 2);

    // A changed photo is uploaded again, and shows in the plan as its hashes.
    let second = jpeg(9, 3_000);
    server.modify(&replace_photo(1, &second));
    let run = h.synced().await;
    let update = &run.plan.as_ref().expect("plan").updates[0];
    let change = update.changes.avatar.as_ref().expect("avatar change");
    assert_eq!(change.old, Some(sha256_hex(&first)));
    assert_eq!(change.new, Some(sha256_hex(&second)));
    assert_eq!(avatar(&h, 1), Some(sha256_hex(&second)));
    assert_eq!(h.simulator.stats(ACCOUNT).puts, 3);

    // A photo dropped in the directory is removed from the extension.
    let deletes = h.simulator.stats(ACCOUNT).deletes;
    server.modify(&format!(
        "dn: uid=u2,ou=People,{SUFFIX}\nchangetype: modify\ndelete: jpegPhoto\n"
    ));
    h.synced().await;
    assert_eq!(avatar(&h, 2), None);
    assert_eq!(h.simulator.stats(ACCOUNT).deletes, deletes + 1);

    // A photo an admin sets on an extension whose user has none is kept.
    let pbx = HttpPbx::new(
        &PbxSimulator::base_url(h.simulator_addr, ACCOUNT),
        TOKEN.to_string().into(),
        fast_pbx_options(),
    )
    .expect("client");
    let admins = png();
    let eve = h.extension(1005);
    let eve_id = ExtensionId::parse(eve.id.clone()).expect("id");
    pbx.put_avatar(&eve_id, "image/png", admins.clone())
        .await
        .expect("admin's photo");
    let puts = h.simulator.stats(ACCOUNT).puts;
    let run = h.synced().await;
    assert!(run.plan.as_ref().expect("plan").updates.is_empty());
    assert_eq!(avatar(&h, 5), Some(sha256_hex(&admins)));
    assert_eq!(h.simulator.stats(ACCOUNT).puts, puts);

    // A fixed oversized photo is uploaded.
    let fixed = jpeg(3, 10_000);
    server.modify(&replace_photo(3, &fixed));
    let run = h.synced().await;
    assert!(skips(&run).iter().all(|(id, _)| !id.ends_with("03")));
    assert_eq!(avatar(&h, 3), Some(sha256_hex(&fixed)));
}
