//! The phonebook calls: the paged listing, creates with their key (409 `number_taken` a
//! conflict, 422 a rejection), deletes (404 counts as deleted).

use super::*;
use dirsync::domain::phonebook::NewPhonebookEntry;
use dirsync_pbx_sim::SimPhonebookEntry;

fn new_entry(name: &str, number: &str) -> NewPhonebookEntry {
    NewPhonebookEntry {
        name: name.into(),
        number: number.into(),
        managed_by: MANAGED_BY.into(),
    }
}

#[tokio::test]
async fn the_phonebook_is_listed_created_and_deleted() {
    let (sim, server) = start(SimulatorOptions::default(), 100).await;
    for n in 0..9 {
        sim.seed_phonebook_entry(
            "acme",
            SimPhonebookEntry::manual("Desk", &format!("+49300{n}")),
        );
    }
    let pbx = client(
        &server,
        PbxClientOptions {
            page_size: 4,
            ..fast()
        },
    );
    let listed = pbx.list_phonebook().await.unwrap();
    assert_eq!(listed.len(), 9);
    assert!(listed.iter().all(|e| e.managed_by.is_none()));

    let made = pbx
        .create_phonebook_entry(&new_entry("Ann Lee M", "+4917155501"), "key-1")
        .await
        .unwrap();
    assert_eq!(made.managed_by.as_deref(), Some(MANAGED_BY));
    let again = pbx
        .create_phonebook_entry(&new_entry("Ann Lee M", "+4917155501"), "key-1")
        .await
        .unwrap();
    assert_eq!(again.id, made.id);
    let taken = pbx
        .create_phonebook_entry(&new_entry("Bob M", "+493000"), "key-2")
        .await
        .unwrap_err();
    assert!(
        matches!(taken, PbxError::Conflict(ConflictReason::NumberTaken)),
        "{taken:?}"
    );
    let bad = pbx
        .create_phonebook_entry(&new_entry("Bob M", "030 1"), "key-3")
        .await
        .unwrap_err();
    assert!(matches!(bad, PbxError::Rejected(_)), "{bad:?}");

    pbx.delete_phonebook_entry(&made.id).await.unwrap();
    pbx.delete_phonebook_entry(&made.id).await.unwrap();
    // An id with characters a path segment must escape reaches the PBX as one segment.
    pbx.delete_phonebook_entry("../extensions/x").await.unwrap();
    assert_eq!(sim.phonebook("acme").len(), 9);
}
