//! Change-only reads of Microsoft Graph (`users/delta`, `groups/delta`).
//!
//! A full read stays the `/v1.0/users` listing (999 a page; a delta round pages at most 200
//! and may repeat users), and asks Graph for its current delta link *before* it starts
//! (`$deltatoken=latest`, one request): a change made while the listing is read is then in
//! the next round, never lost, at worst seen twice. A change-only read follows the kept
//! links. Graph's delta answers carry only some properties of a changed user (at least
//! those that changed), so each changed user is looked up again, 20 a `$batch`, and returned
//! as a full read shows it. `@removed` is a deletion only with reason `deleted`; any other
//! removal (the recycle bin, a move out of the delta's scope) is looked up like a change, and
//! a user that is not found then is left to a full read ([`DirectoryError::ChangesUnavailable`]).
//! Group memberships (`scope.groups`, `extension_groups`) are tracked with a `groups/delta`
//! round beside the users': any group change is read in full (nested groups make one
//! member's change anyone's), and so is a deleted user while extension groups are synced.
//! Under a group scope, each changed user's scope groups are checked (`checkMemberGroups`).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::graph::Graph;
use super::graph_batch::{BatchItem, GraphCalls};
use super::groups::GroupListing;
use super::http::CloudHttp;
use super::read::{follow_link, Listing, PagedSource, Pager};
use super::urls::url_under;
use crate::domain::organization::AttributeOrganizations;
use crate::domain::{ChangeCursor, DirectoryChanges, DirectoryUser, ObjectId};
use crate::error::DirectoryError;

/// [`ChangeCursor::provider`] of Graph's cursors.
pub(super) const PROVIDER: &str = "graph";
/// What the groups round tracks: `members` makes Graph report membership changes
/// (`members@delta`).
const GROUP_DELTA_PROPERTIES: &str = "id,displayName,members";
/// The most group ids one `checkMemberGroups` takes.
const MAX_CHECKED_GROUPS: usize = 20;

/// [`ChangeCursor::position`] of a Graph cursor (JSON): the delta links of the next round.
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    users: String,
    /// With `scope.groups` or `extension_groups` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<String>,
}

#[derive(Deserialize)]
struct DeltaPage {
    value: Vec<Map<String, Value>>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

/// What a users round says about one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    /// `@removed` with reason `deleted`: gone for good.
    Deleted,
    /// Created, changed or removed for another reason: looked up.
    Look,
}

fn unavailable(reason: impl Into<String>) -> DirectoryError {
    DirectoryError::ChangesUnavailable(reason.into())
}

/// Whether group memberships matter to this tenant's read.
fn tracks_groups(pager: &Pager) -> bool {
    matches!(pager.listing, Listing::Groups(_)) || !matches!(pager.groups, GroupListing::None)
}

/// `/v1.0/{kind}/delta` under the Graph host.
fn delta_url(base: &Url, kind: &str) -> Result<Url, DirectoryError> {
    url_under(base, &["v1.0", kind, "delta"], "the Graph URL")
}

impl Graph {
    /// The cursor of a full read about to start: Graph's current delta links ("sync from
    /// now"), with the same `$select` as the listing.
    pub(super) async fn start_changes(
        &self,
        pager: &Pager,
        http: &CloudHttp,
    ) -> Result<ChangeCursor, DirectoryError> {
        let users = self.latest(pager, http, "users", &self.select).await?;
        let groups = match tracks_groups(pager) {
            true => Some(
                self.latest(pager, http, "groups", GROUP_DELTA_PROPERTIES)
                    .await?,
            ),
            false => None,
        };
        cursor_at(Position { users, groups })
    }

    async fn latest(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        kind: &str,
        select: &str,
    ) -> Result<String, DirectoryError> {
        let mut url = delta_url(&pager.base, kind)?;
        url.query_pairs_mut()
            .append_pair("$select", select)
            .append_pair("$deltatoken", "latest");
        // "latest" answers no objects; any it did would be in the full read anyway.
        self.round(pager, http, url, kind, |_| Ok(())).await
    }

    /// The changes since `cursor`, each changed user as a full read shows it.
    pub(super) async fn changes(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        if cursor.provider != PROVIDER {
            return Err(unavailable(format!(
                "the kept cursor is {}'s, not Graph's",
                cursor.provider
            )));
        }
        let position: Position = serde_json::from_str(&cursor.position)
            .map_err(|_| unavailable("the kept cursor is not a Graph cursor"))?;
        if tracks_groups(pager) != position.groups.is_some() {
            return Err(unavailable(
                "the kept cursor was made under another group configuration",
            ));
        }
        let before = http.requests();
        let first = kept_link(pager, &position.users, "users")?;
        let mut order: Vec<ObjectId> = Vec::new();
        let mut said: HashMap<ObjectId, Said> = HashMap::new();
        let users = self
            .round(pager, http, first, "users", |item| {
                let id = self.member_id(&item)?;
                let now = match item.get("@removed") {
                    Some(removed) if removed.get("reason") == Some(&Value::from("deleted")) => {
                        Said::Deleted
                    }
                    _ => Said::Look,
                };
                match said.get(&id) {
                    None => order.push(id.clone()),
                    // Deleted for good stays deleted, whatever came before or after.
                    Some(Said::Deleted) => return Ok(()),
                    Some(Said::Look) => {}
                }
                said.insert(id, now);
                Ok(())
            })
            .await?;
        let groups = match &position.groups {
            Some(link) => Some(self.group_round(pager, http, link).await?),
            None => None,
        };
        let (deleted, look): (Vec<ObjectId>, Vec<ObjectId>) = order
            .into_iter()
            .partition(|id| said.get(id) == Some(&Said::Deleted));
        if !matches!(pager.groups, GroupListing::None) && !deleted.is_empty() {
            return Err(unavailable(
                "deleted users leave extension groups; their members are read in full",
            ));
        }
        let mut organizations = AttributeOrganizations::default();
        let mut changed = self.look_up(pager, http, &look, &mut organizations).await?;
        match &pager.listing {
            Listing::Users(scope) => {
                for user in &mut changed {
                    user.in_scope = user.in_scope && scope.contains(&user.object_id);
                }
            }
            Listing::Groups(groups) => self.memberships(pager, http, groups, &mut changed).await?,
            Listing::Everyone => {}
        }
        self.photo_refs(pager, http, &mut changed).await?;
        let requests = http.requests().saturating_sub(before);
        Ok(DirectoryChanges {
            changed,
            deleted,
            changed_organizations: organizations.into_organizations(),
            cursor: Some(cursor_at(Position { users, groups })?),
            requests: usize::try_from(requests).unwrap_or(usize::MAX),
            ..DirectoryChanges::default()
        })
    }

    /// The groups round from `link`; any group change means the memberships are read in
    /// full (nested groups make a member's change anyone's).
    async fn group_round(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        link: &str,
    ) -> Result<String, DirectoryError> {
        let first = kept_link(pager, link, "groups")?;
        let mut changed = 0usize;
        let next = self
            .round(pager, http, first, "groups", |_| {
                changed += 1;
                Ok(())
            })
            .await?;
        if changed > 0 {
            return Err(unavailable(format!(
                "{changed} groups changed; group memberships are read in full"
            )));
        }
        Ok(next)
    }

    /// One delta round from `first`: every object handed to `each`, the round's delta link
    /// returned. Links are followed only on the Graph host's `/v1.0/{kind}/delta`, never twice.
    async fn round(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        first: Url,
        kind: &str,
        mut each: impl FnMut(Map<String, Value>) -> Result<(), DirectoryError> + Send,
    ) -> Result<String, DirectoryError> {
        let expected = delta_url(&pager.base, kind)?;
        let mut seen = HashSet::new();
        let mut url = first;
        loop {
            let answer = http.get(&url, self.credential(), pager.vendor).await?;
            let page: DeltaPage = answer.json("a Graph delta page")?;
            for item in page.value {
                each(item)?;
            }
            match (page.next_link, page.delta_link) {
                (Some(next), _) => url = delta_link(pager, &next, &expected, &mut seen)?,
                (None, Some(delta)) => {
                    delta_link(pager, &delta, &expected, &mut seen)?;
                    return Ok(delta);
                }
                (None, None) => {
                    return Err(DirectoryError::Protocol(
                        "a Graph delta page has neither an @odata.nextLink nor an \
                         @odata.deltaLink"
                            .into(),
                    ))
                }
            }
        }
    }

    /// Each user of `ids` as a full read shows it, 20 a `$batch`; one that is not found
    /// leaves the changes to a full read.
    async fn look_up(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        ids: &[ObjectId],
        organizations: &mut AttributeOrganizations,
    ) -> Result<Vec<DirectoryUser>, DirectoryError> {
        let items: Vec<BatchItem> = ids
            .iter()
            .map(|id| BatchItem {
                method: "GET",
                path: vec!["users".into(), id.to_string()],
                query: vec![("$select", self.select.clone())],
                body: None,
            })
            .collect();
        let calls: GraphCalls = self.calls(pager, http);
        let answers = calls.batch(&items).await?;
        let mut users = Vec::with_capacity(ids.len());
        for (id, answer) in ids.iter().zip(answers) {
            let answer = answer.ok_or_else(|| {
                DirectoryError::Unreachable(format!(
                    "Graph never answered the lookup of changed user {id}"
                ))
            })?;
            match answer.status {
                200 => {}
                404 => {
                    return Err(unavailable(format!(
                        "Graph reported user {id} changed or removed, but it is not found \
                         (deleted, or in the recycle bin)"
                    )))
                }
                _ if GraphCalls::gave_up(&answer) => {
                    return Err(DirectoryError::Unreachable(format!(
                        "Graph kept failing the lookup of changed user {id} ({})",
                        answer.status
                    )))
                }
                status => {
                    return Err(DirectoryError::Protocol(format!(
                        "Graph answered {status} to the lookup of changed user {id}"
                    )))
                }
            }
            let Value::Object(object) = answer.body else {
                return Err(DirectoryError::Protocol(
                    "a Graph user lookup answered no object".into(),
                ));
            };
            let user = self.user(object, organizations)?;
            if &user.object_id != id {
                return Err(DirectoryError::Protocol(format!(
                    "Graph answered the lookup of user {id} with another user"
                )));
            }
            users.push(user);
        }
        Ok(users)
    }
}

impl Graph {
    /// Under a group scope: each changed user's scope groups, as the full read lists them (in
    /// config order), by `checkMemberGroups` (nested groups followed, at most 20 groups), 20
    /// users a `$batch`. A user in none is out of scope.
    async fn memberships(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        groups: &[String],
        users: &mut [DirectoryUser],
    ) -> Result<(), DirectoryError> {
        if users.is_empty() {
            return Ok(());
        }
        if groups.len() > MAX_CHECKED_GROUPS {
            return Err(unavailable(format!(
                "Graph checks memberships of at most {MAX_CHECKED_GROUPS} groups at once; \
                 the scope's {} groups are read in full",
                groups.len()
            )));
        }
        let body = serde_json::json!({ "groupIds": groups });
        let items: Vec<BatchItem> = users
            .iter()
            .map(|user| BatchItem {
                method: "POST",
                path: vec![
                    "users".into(),
                    user.object_id.to_string(),
                    "checkMemberGroups".into(),
                ],
                query: Vec::new(),
                body: Some(body.clone()),
            })
            .collect();
        let answers = self.calls(pager, http).batch(&items).await?;
        for (user, answer) in users.iter_mut().zip(answers) {
            let id = &user.object_id;
            let answer = answer.ok_or_else(|| {
                DirectoryError::Unreachable(format!(
                    "Graph never answered the membership check of changed user {id}"
                ))
            })?;
            match answer.status {
                200 => {}
                404 => {
                    return Err(unavailable(format!(
                        "changed user {id} was not found when its memberships were checked"
                    )))
                }
                status => {
                    return Err(DirectoryError::Protocol(format!(
                        "Graph answered {status} to the membership check of changed user {id}"
                    )))
                }
            }
            let member_of: HashSet<&str> = answer
                .body
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    DirectoryError::Protocol("a Graph membership check without a value".into())
                })?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            user.groups = groups
                .iter()
                .filter(|g| member_of.contains(g.as_str()))
                .cloned()
                .collect();
            user.in_scope = user.in_scope && !user.groups.is_empty();
        }
        Ok(())
    }
}

fn cursor_at(position: Position) -> Result<ChangeCursor, DirectoryError> {
    let position = serde_json::to_string(&position)
        .map_err(|e| DirectoryError::Protocol(format!("a Graph cursor: {e}")))?;
    Ok(ChangeCursor {
        provider: PROVIDER.into(),
        position,
    })
}

/// A link of Graph's, followed only where a delta round of `expected` lives.
fn delta_link(
    pager: &Pager,
    link: &str,
    expected: &Url,
    seen: &mut HashSet<Url>,
) -> Result<Url, DirectoryError> {
    let url = follow_link(pager, link, seen)?;
    if url.path() != expected.path() {
        return Err(DirectoryError::Protocol(format!(
            "a Graph delta link leaves {}",
            expected.path()
        )));
    }
    Ok(url)
}

/// A kept delta link, checked as Graph's own links are: one that is not (another host,
/// another path) cannot say what changed.
fn kept_link(pager: &Pager, link: &str, kind: &str) -> Result<Url, DirectoryError> {
    let expected = delta_url(&pager.base, kind)?;
    delta_link(pager, link, &expected, &mut HashSet::new())
        .map_err(|e| unavailable(format!("the kept {kind} delta link is not usable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_round_trips_and_omits_absent_groups() {
        let users_only = cursor_at(Position {
            users: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=a".into(),
            groups: None,
        })
        .unwrap();
        assert_eq!(users_only.provider, "graph");
        assert!(!users_only.position.contains("groups"));
        let back: Position = serde_json::from_str(&users_only.position).unwrap();
        assert!(back.users.ends_with("$deltatoken=a"));
        assert!(back.groups.is_none());
    }
}
