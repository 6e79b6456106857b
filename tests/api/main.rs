//! The provisioning API over HTTP through the real router (CONTRACTS section 1): auth,
//! validation and error shapes in `requests`, each route's behaviour in `flows`.

mod associations;
mod console;
mod flows;
mod hardening;
mod ldif_paths;
mod requests;
mod users;

use dirsync_integration_tests::api::Answer;
use dirsync_integration_tests::Person;
use reqwest::StatusCode;

fn people(n: u32) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

fn assert_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.body["error"], code, "{}", answer.text);
    assert!(answer.body["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(answer.body["details"].is_array());
}
