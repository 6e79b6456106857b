//! The System Log side of an Okta change read: the user lifecycle events of a time range,
//! oldest first, as the users they name and those a successful deletion names.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::super::http::{Answer, CloudHttp};
use super::super::read::{read_pages, Page, Pager};
use super::super::urls::url_under;
use super::changes::okta_time;
use super::{next_link, Okta};
use crate::error::DirectoryError;

/// The System Log's largest page.
const LOG_PAGE_SIZE: &str = "1000";
/// The lifecycle events whose users are read again: any of them may change what a full read
/// shows of the user, and a status change need not move `lastUpdated`.
const LIFECYCLE_EVENTS: [&str; 7] = [
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.deactivate",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.delete.completed",
];
/// The events that say a user was deleted (once they succeeded).
const DELETE_EVENTS: [&str; 2] = [
    "user.lifecycle.delete.initiated",
    "user.lifecycle.delete.completed",
];

/// A System Log event, as far as a change read needs it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEvent {
    event_type: String,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    target: Vec<Target>,
}

#[derive(Deserialize)]
struct Outcome {
    #[serde(default)]
    result: String,
}

#[derive(Deserialize)]
struct Target {
    id: String,
    #[serde(rename = "type", default)]
    kind: String,
}

/// What the log names: every user of an event, and those a successful deletion names.
#[derive(Default)]
pub(super) struct Named {
    pub users: BTreeSet<String>,
    pub deleted: BTreeSet<String>,
}

/// Every lifecycle event from `since` to `until`, oldest first, paged by `Link: rel="next"`.
/// An empty page ends the read too: a log read without `until` always has a next link.
pub(super) async fn read_log(
    okta: &Okta,
    pager: &Pager,
    http: &CloudHttp,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Named, DirectoryError> {
    let mut url = url_under(&pager.base, &["api", "v1", "logs"], "org_url")?;
    let filter = LIFECYCLE_EVENTS
        .iter()
        .map(|event| format!("eventType eq \"{event}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    url.query_pairs_mut()
        .append_pair("since", &okta_time(since))
        .append_pair("until", &okta_time(until))
        .append_pair("filter", &filter)
        .append_pair("sortOrder", "ASCENDING")
        .append_pair("limit", LOG_PAGE_SIZE);
    let page = |answer: &Answer| {
        let events: Vec<LogEvent> = answer.json("an Okta System Log page")?;
        let next = if events.is_empty() {
            None
        } else {
            next_link(&answer.headers)
        };
        Ok(Page {
            items: events,
            next,
        })
    };
    let mut named = Named::default();
    read_pages(pager, http, url, okta, page, |event: LogEvent| {
        let deletion = DELETE_EVENTS.contains(&event.event_type.as_str())
            && event.outcome.is_some_and(|o| o.result == "SUCCESS");
        for target in event.target.into_iter().filter(|t| t.kind == "User") {
            if deletion {
                named.deleted.insert(target.id.clone());
            }
            named.users.insert(target.id);
        }
        Ok(())
    })
    .await?;
    Ok(named)
}
