//! The paging rules on a local server: every page followed, next links kept on the base's
//! origin and never repeated, group members merged.

use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Json;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::directory::cloud::http::CloudOptions;
use crate::directory::cloud::json_fields::MappedFields;
use crate::domain::UserState;

/// Pages of user ids, `{"items": [...], "next": url or null}`, from `first` under the base.
struct Ids {
    first: &'static str,
}

#[derive(Deserialize)]
struct IdPage {
    items: Vec<String>,
    next: Option<String>,
}

#[async_trait]
impl PagedSource for Ids {
    type Item = String;

    fn users_url(&self, base: &Url) -> Result<Url, DirectoryError> {
        base.join(self.first)
            .map_err(|e| DirectoryError::Protocol(e.to_string()))
    }

    fn members_url(&self, base: &Url, group: &str) -> Result<Url, DirectoryError> {
        base.join(&format!("groups/{group}"))
            .map_err(|e| DirectoryError::Protocol(e.to_string()))
    }

    fn page(&self, answer: &Answer) -> Result<Page<String>, DirectoryError> {
        let page: IdPage = answer.json("a test page")?;
        Ok(Page {
            items: page.items,
            next: page.next,
        })
    }

    fn user(
        &self,
        id: String,
        organizations: &mut AttributeOrganizations,
    ) -> Result<DirectoryUser, DirectoryError> {
        let id = self.member_id(&id)?;
        Ok(MappedFields::default().into_user(id, UserState::Active, true, organizations))
    }

    fn member_id(&self, id: &String) -> Result<ObjectId, DirectoryError> {
        ObjectId::parse(id.as_str()).map_err(|e| DirectoryError::Protocol(e.to_string()))
    }

    // Extension groups are read in the providers' tests (tests/graph.rs, tests/okta.rs).
    fn group_url(&self, _: &Url, _: &str) -> Result<Url, DirectoryError> {
        Err(DirectoryError::Protocol("no groups here".into()))
    }

    fn groups_url(&self, _: &Url) -> Result<Url, DirectoryError> {
        Err(DirectoryError::Protocol("no groups here".into()))
    }

    fn group_members_url(&self, _: &Url, _: &str) -> Result<Url, DirectoryError> {
        Err(DirectoryError::Protocol("no groups here".into()))
    }

    fn group(&self, _: &Answer) -> Result<NamedGroup, DirectoryError> {
        Err(DirectoryError::Protocol("no groups here".into()))
    }

    fn group_page(&self, _: &Answer) -> Result<Page<NamedGroup>, DirectoryError> {
        Err(DirectoryError::Protocol("no groups here".into()))
    }

    fn credential(&self) -> &dyn Credential {
        &FixedToken
    }

    fn write_back_request(
        &self,
        _: &Url,
        _: &ObjectId,
        _: &str,
        _: &str,
    ) -> Result<(reqwest::Method, Url, Value), DirectoryError> {
        Err(DirectoryError::NotAvailable("not used".into()))
    }

    async fn check_token(&self, _: &Pager, _: &CloudHttp) -> Result<String, DirectoryError> {
        Ok("not used".into())
    }
}

struct FixedToken;

#[async_trait]
impl Credential for FixedToken {
    async fn authorization(&self, _: &CloudHttp, _: bool) -> Result<HeaderValue, DirectoryError> {
        Ok(HeaderValue::from_static("Bearer test"))
    }

    fn refreshable(&self) -> bool {
        false
    }
}

struct NoWaits;

impl Vendor for NoWaits {
    fn wait_asked(&self, _: &Answer) -> Option<Duration> {
        None
    }

    fn error(&self, answer: &Answer) -> DirectoryError {
        DirectoryError::Protocol(format!("answered {}", answer.status))
    }
}

const LINKS: LinkWording = LinkWording {
    malformed: "a bad test link",
    elsewhere: "a test link points elsewhere",
    repeated: "a test link came twice",
};

/// `/users/1` → `/users/2` (the last page), `/users/away` links off the host, `/users/loop`
/// to itself; `/groups/{g}` lists `g`'s members in one page.
async fn server() -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let root = base.clone();
    let users = move |Path(page): Path<String>| {
        let next = |path: &str| Value::from(root.join(path).unwrap().to_string());
        let body = match page.as_str() {
            "1" => json!({"items": ["a", "b"], "next": next("users/2")}),
            "2" => json!({"items": ["c"], "next": null}),
            "away" => json!({"items": ["d"], "next": "http://elsewhere.invalid/users/2"}),
            _ => json!({"items": ["e"], "next": next("users/loop")}),
        };
        async move { Json(body) }
    };
    let groups = |Path(group): Path<String>| async move {
        let members = if group == "g1" {
            json!(["a", "b"])
        } else {
            json!(["b"])
        };
        Json(json!({"items": members, "next": null}))
    };
    let app = axum::Router::new()
        .route("/users/{page}", get(users))
        .route("/groups/{group}", get(groups));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

async fn read(first: &'static str, listing: Listing) -> Result<Snapshot, DirectoryError> {
    let base = server().await;
    let http = CloudHttp::new(CloudOptions::default(), None)?;
    let pager = Pager::new(base, &NoWaits, LINKS, listing, GroupListing::None);
    read_listing(&Ids { first }, &pager, &http).await
}

fn ids(snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .users
        .iter()
        .map(|u| u.object_id.to_string())
        .collect()
}

#[tokio::test]
async fn every_page_is_read_to_the_last() {
    let snapshot = read("users/1", Listing::Everyone).await.unwrap();
    assert_eq!(ids(&snapshot), ["a", "b", "c"]);
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
}

#[tokio::test]
async fn a_link_off_the_base_origin_or_given_twice_cuts_the_read_short() {
    // The loop reads its first page and the linked one; the link's second appearance stops it.
    let cases = [
        ("users/away", 1, LINKS.elsewhere),
        ("users/loop", 2, LINKS.repeated),
    ];
    for (first, read_before, why) in cases {
        let error = read(first, Listing::Everyone).await.unwrap_err();
        let DirectoryError::Incomplete { users_read, reason } = error else {
            panic!("{first}: {error}");
        };
        assert_eq!(users_read, read_before, "{first}");
        assert!(reason.ends_with(why), "{first}: {reason}");
    }
}

#[tokio::test]
async fn a_member_of_several_groups_is_one_user_listed_with_each() {
    let groups = Listing::Groups(vec!["g1".into(), "g2".into()]);
    let snapshot = read("unused", groups).await.unwrap();
    assert_eq!(ids(&snapshot), ["a", "b"]);
    assert_eq!(snapshot.users[1].groups, ["g1", "g2"]);
    assert_eq!(snapshot.coverage, Coverage::ScopeOnly);
}

#[tokio::test]
async fn users_scope_reads_everyone_and_marks_the_listed_in_scope() {
    // "gone" was deleted from the directory: no error, the planner tells it deleted.
    let listed = ["b", "gone"].map(|id| ObjectId::parse(id).unwrap());
    let snapshot = read("users/1", Listing::Users(listed.into_iter().collect()))
        .await
        .unwrap();
    assert_eq!(ids(&snapshot), ["a", "b", "c"]);
    let scoped: Vec<&str> = snapshot
        .users
        .iter()
        .filter(|u| u.in_scope)
        .map(|u| u.object_id.as_str())
        .collect();
    assert_eq!(scoped, ["b"]);
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
}
