//! Okta change-only reads. A full read leaves a cursor of when it started; the next read asks
//! `/api/v1/users?filter=lastUpdated gt "<then - overlap>"` for the users changed since, and
//! the System Log (`/api/v1/logs`) for the lifecycle events since: every user an event names
//! is read again by id, so that a deactivation (DEPROVISIONED, which a full listing leaves
//! out) or a deletion is seen as Okta has it now.
//!
//! `filter` rather than `search`: Okta answers a filter from the most up-to-date data, and a
//! search from an index that catches up later. The overlap covers clock skew and
//! updates of the same instant; reading a user twice is harmless. A user is deleted only when
//! Okta says so: its record is DEPROVISIONED (what a full read drops), or it is gone (404)
//! and the log has its `user.lifecycle.delete.*`. Anything else in doubt (a gone user the log
//! does not say was deleted, a log that cannot be read or no longer reaches back, skewed
//! clocks, a group scope) is [`DirectoryError::ChangesUnavailable`]: the engine reads in full.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::super::http::{Answer, CloudHttp};
use super::super::read::{read_pages, Listing, PagedSource, Pager};
use super::super::urls::url_under;
use super::{listing_url, Okta, OktaUser};
use crate::domain::organization::AttributeOrganizations;
use crate::domain::{ChangeCursor, DirectoryChanges, DirectoryUser, ObjectId, UserState};
use crate::error::DirectoryError;

/// [`ChangeCursor::provider`] of Okta's cursors.
pub(super) const PROVIDER: &str = "okta";
/// How far back of the last read's start each read looks again.
const OVERLAP: Duration = Duration::minutes(2);
/// The oldest cursor read from: the System Log keeps 90 days.
const MAX_CURSOR_AGE: Duration = Duration::days(89);
/// The most Okta's clock (its `Date` header) may differ from ours: beyond, the overlap no
/// longer covers it.
const MAX_SKEW: Duration = Duration::minutes(1);
/// [`ChangeCursor::position`]: when the read that left it started, by our clock.
#[derive(Serialize, Deserialize)]
struct Position {
    read_at: DateTime<Utc>,
}

/// The cursor of a read that started at `started`.
pub(super) fn cursor(started: DateTime<Utc>) -> ChangeCursor {
    let position = Position { read_at: started };
    ChangeCursor {
        provider: PROVIDER.into(),
        // A struct of one timestamp always serializes.
        position: serde_json::to_string(&position).unwrap_or_default(),
    }
}

/// Where the read from `cursor` starts: its read's start less the overlap.
fn since(cursor: &ChangeCursor, now: DateTime<Utc>) -> Result<DateTime<Utc>, DirectoryError> {
    if cursor.provider != PROVIDER {
        return Err(unavailable("the cursor is another directory's"));
    }
    let position: Position = serde_json::from_str(&cursor.position)
        .map_err(|_| unavailable("the cursor is not an Okta cursor"))?;
    if position.read_at > now + MAX_SKEW {
        return Err(unavailable("the cursor is from the future"));
    }
    if now - position.read_at > MAX_CURSOR_AGE {
        return Err(unavailable(
            "the cursor is older than the System Log reaches",
        ));
    }
    Ok(position.read_at - OVERLAP)
}

fn unavailable(why: &str) -> DirectoryError {
    DirectoryError::ChangesUnavailable(why.into())
}

/// A read that Okta refused or that failed on its content cannot say what changed; a
/// transient failure stays what it is (the run fails and is retried).
fn changes_unavailable(what: &str) -> impl Fn(DirectoryError) -> DirectoryError + '_ {
    move |error| match error {
        DirectoryError::Credentials(_)
        | DirectoryError::Protocol(_)
        | DirectoryError::NotAvailable(_) => {
            DirectoryError::ChangesUnavailable(format!("{what}: {error}"))
        }
        other => other,
    }
}

/// The changes since `cursor` (see the module's doc).
pub(super) async fn read_changes(
    okta: &Okta,
    pager: &Pager,
    http: &CloudHttp,
    cursor: &ChangeCursor,
) -> Result<DirectoryChanges, DirectoryError> {
    if let Some(why) = okta.changes_refused {
        return Err(unavailable(why));
    }
    let now = Utc::now();
    let since = since(cursor, now)?;
    let requests_before = http.requests();
    let mut organizations = AttributeOrganizations::default();
    let mut current: BTreeMap<ObjectId, DirectoryUser> = BTreeMap::new();

    let mut url = listing_url(&pager.base, &["api", "v1", "users"])?;
    url.query_pairs_mut().append_pair(
        "filter",
        &format!("lastUpdated gt \"{}\"", okta_time(since)),
    );
    let page = |answer: &Answer| {
        check_skew(now, answer)?;
        okta.page(answer)
    };
    read_pages(pager, http, url, okta, page, |item: OktaUser| {
        let user = okta.user(item, &mut organizations)?;
        current.insert(user.object_id.clone(), user);
        Ok(())
    })
    .await
    .map_err(changes_unavailable("the changed users could not be read"))?;

    // `until` is exclusive and in milliseconds: one more keeps the events of this very
    // millisecond (the next read, from `now` less the overlap, sees them again anyway).
    let until = now + Duration::milliseconds(1);
    let named = super::log::read_log(okta, pager, http, since, until)
        .await
        .map_err(changes_unavailable("the System Log could not be read"))?;
    let mut gone = Vec::new();
    for id in &named.users {
        match read_user(okta, pager, http, id).await? {
            Some(item) => {
                let user = okta.user(item, &mut organizations)?;
                current.insert(user.object_id.clone(), user);
            }
            None if named.deleted.contains(id) => gone.push(member_id(id)?),
            None => {
                return Err(unavailable(
                    "a user the System Log names is gone without a deletion in the log",
                ))
            }
        }
    }

    let mut changes = DirectoryChanges {
        deleted: gone,
        cursor: Some(self::cursor(now)),
        ..DirectoryChanges::default()
    };
    for (object_id, mut user) in current {
        // A full listing leaves DEPROVISIONED users out: Okta's own record says removed.
        if user.state == UserState::Deleted {
            changes.deleted.push(object_id);
            continue;
        }
        if let Listing::Users(scope) = &pager.listing {
            user.in_scope = user.in_scope && scope.contains(&object_id);
        }
        changes.changed.push(user);
    }
    changes.deleted.sort();
    changes.deleted.dedup();
    changes.requests = usize::try_from(http.requests() - requests_before).unwrap_or(usize::MAX);
    Ok(changes)
}

/// `GET /api/v1/users/{id}`: the user as Okta has it now, DEPROVISIONED included; `None`
/// when Okta says it does not exist (404).
async fn read_user(
    okta: &Okta,
    pager: &Pager,
    http: &CloudHttp,
    id: &str,
) -> Result<Option<OktaUser>, DirectoryError> {
    let id = member_id(id)?;
    let url = url_under(&pager.base, &["api", "v1", "users", id.as_str()], "org_url")?;
    let build = |authorization: &reqwest::header::HeaderValue| {
        http.client()
            .get(url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization.clone())
            .header(reqwest::header::ACCEPT, "application/json")
    };
    let answer = http
        .authorized(&build, MAX_USER_BYTES, okta.credential(), pager.vendor)
        .await?;
    if answer.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let answer = http
        .checked(answer, pager.vendor)
        .await
        .map_err(changes_unavailable(
            "a user the System Log names could not be read",
        ))?;
    answer.json("an Okta user").map(Some)
}

/// One user's answer is a few KB.
const MAX_USER_BYTES: usize = 1024 * 1024;

fn member_id(id: &str) -> Result<ObjectId, DirectoryError> {
    ObjectId::parse(id).map_err(|e| {
        DirectoryError::ChangesUnavailable(format!("the System Log names an unusable user id: {e}"))
    })
}

/// Okta's time format: UTC, milliseconds, `Z`.
pub(super) fn okta_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whether Okta's clock (the answer's `Date`) agrees with ours, which the cursors are of,
/// closely enough for the overlap to cover the difference; a read started at `started`.
fn check_skew(started: DateTime<Utc>, answer: &Answer) -> Result<(), DirectoryError> {
    let date = answer
        .headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok());
    let Some(date) = date.map(|d| d.with_timezone(&Utc)) else {
        return Ok(());
    };
    // The read takes a while and `Date` has whole seconds: behind counts from the read's
    // start, ahead from the answer's arrival, each with a second's grace.
    let behind = started - date - Duration::seconds(1);
    let ahead = date - Utc::now() - Duration::seconds(1);
    let off = behind.max(ahead);
    if off > MAX_SKEW {
        return Err(DirectoryError::ChangesUnavailable(format!(
            "Okta's clock is {} s off ours, more than the overlap covers",
            off.num_seconds()
        )));
    }
    Ok(())
}

/// Which configs a change read cannot follow, and why.
pub(super) fn refused(
    listing: &Listing,
    groups: &super::super::groups::GroupListing,
    organizations: &crate::domain::config::OrganizationSync,
) -> Option<&'static str> {
    use super::super::groups::GroupListing;
    use crate::domain::config::OrganizationSync;
    if matches!(listing, Listing::Groups(_)) {
        // Group membership changes are not user changes: the scope is read in full.
        return Some("a group scope is read in full");
    }
    if !matches!(groups, GroupListing::None) {
        return Some("extension groups are read in full");
    }
    if matches!(organizations, OrganizationSync::Attribute { .. }) {
        // The organizations are the values all users hold: a few users cannot say which
        // are gone.
        return Some("organizations from an attribute are read in full");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_checked() {
        let now = Utc::now();
        let c = cursor(now - Duration::hours(1));
        assert_eq!(c.provider, "okta");
        assert_eq!(since(&c, now).unwrap(), now - Duration::hours(1) - OVERLAP);
        let other = ChangeCursor {
            provider: "graph".into(),
            ..c.clone()
        };
        assert!(matches!(
            since(&other, now),
            Err(DirectoryError::ChangesUnavailable(_))
        ));
        let garbled = ChangeCursor {
            position: "{\"read_at\":3}".into(),
            ..c.clone()
        };
        assert!(matches!(
            since(&garbled, now),
            Err(DirectoryError::ChangesUnavailable(_))
        ));
        let old = cursor(now - Duration::days(90));
        assert!(matches!(
            since(&old, now),
            Err(DirectoryError::ChangesUnavailable(_))
        ));
        let future = cursor(now + Duration::hours(1));
        assert!(matches!(
            since(&future, now),
            Err(DirectoryError::ChangesUnavailable(_))
        ));
    }

    #[test]
    fn okta_clocks_off_by_more_than_a_minute_are_refused() {
        let answer = |date: Option<DateTime<Utc>>| {
            let mut headers = reqwest::header::HeaderMap::new();
            if let Some(date) = date {
                let text = date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
                headers.insert(reqwest::header::DATE, text.parse().unwrap());
            }
            Answer {
                status: StatusCode::OK,
                headers,
                body: Vec::new(),
            }
        };
        let now = Utc::now();
        assert!(check_skew(now, &answer(None)).is_ok());
        assert!(check_skew(now, &answer(Some(now))).is_ok());
        assert!(check_skew(now, &answer(Some(now - Duration::seconds(50)))).is_ok());
        for off in [Duration::minutes(-3), Duration::minutes(3)] {
            assert!(matches!(
                check_skew(now, &answer(Some(now + off))),
                Err(DirectoryError::ChangesUnavailable(_))
            ));
        }
    }

    #[test]
    fn okta_times_have_milliseconds_and_z() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T03:04:05.678901Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(okta_time(at), "2026-12-02T03:04:05.678Z");
    }

    #[test]
    fn group_scopes_extension_groups_and_attribute_organizations_are_refused() {
        use super::super::super::groups::GroupListing;
        use crate::domain::config::OrganizationSync;
        let none = OrganizationSync::None;
        assert_eq!(
            refused(&Listing::Everyone, &GroupListing::None, &none),
            None
        );
        let scope = Listing::Users(Default::default());
        assert_eq!(refused(&scope, &GroupListing::None, &none), None);
        assert!(refused(&Listing::Groups(vec![]), &GroupListing::None, &none).is_some());
        assert!(refused(&Listing::Everyone, &GroupListing::All, &none).is_some());
        let attribute = OrganizationSync::Attribute {
            attribute: "department".into(),
        };
        assert!(refused(&Listing::Everyone, &GroupListing::None, &attribute).is_some());
    }
}
