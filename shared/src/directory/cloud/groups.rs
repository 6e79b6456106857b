//! `extension_groups` on a cloud directory: the configured groups (or every group), each with
//! its user members, read with the same pager, retry and link rules as the users. Any failure
//! fails the whole read: a partial list of groups or members must not look like removals.

use std::collections::BTreeSet;

use super::http::CloudHttp;
use super::read::{read_pages, PagedSource, Pager};
use crate::domain::config::GroupSync;
use crate::domain::organization::DirectoryGroup;
use crate::domain::{DirectoryConfig, ObjectId};
use crate::error::DirectoryError;

/// A group as its own answer or a listing names it.
pub(crate) struct NamedGroup {
    pub object_id: ObjectId,
    pub name: String,
}

/// Which groups a cloud read turns into extension groups.
#[derive(Debug, Clone)]
pub(crate) enum GroupListing {
    None,
    /// These group object ids.
    Ids(Vec<String>),
    All,
}

impl GroupListing {
    /// The tenant's `extension_groups`; a cloud directory takes `none`, `groups` or `all`.
    pub fn of(config: &DirectoryConfig) -> Result<Self, DirectoryError> {
        match &config.extension_groups.sync {
            GroupSync::None => Ok(GroupListing::None),
            GroupSync::Groups { groups } => Ok(GroupListing::Ids(groups.clone())),
            GroupSync::All => Ok(GroupListing::All),
            GroupSync::Type { .. } | GroupSync::Filter { .. } => {
                Err(DirectoryError::NotAvailable(format!(
                    "an {} directory takes extension_groups 'none', 'groups' or 'all'",
                    config.provider.kind()
                )))
            }
        }
    }
}

/// The pager's extension groups with their members (deduplicated, sorted); none without a
/// request when the sync is off.
pub(crate) async fn read_groups<S: PagedSource>(
    source: &S,
    pager: &Pager,
    http: &CloudHttp,
) -> Result<Vec<DirectoryGroup>, DirectoryError> {
    let named = match &pager.groups {
        GroupListing::None => return Ok(Vec::new()),
        GroupListing::Ids(ids) => {
            let mut named = Vec::with_capacity(ids.len());
            for id in ids {
                let url = source.group_url(&pager.base, id)?;
                let answer = http.get(&url, source.credential(), pager.vendor).await?;
                named.push(source.group(&answer)?);
            }
            named
        }
        GroupListing::All => {
            let mut named = Vec::new();
            let first = source.groups_url(&pager.base)?;
            let page = |answer: &_| source.group_page(answer);
            read_pages(pager, http, first, source, page, |group| {
                named.push(group);
                Ok(())
            })
            .await?;
            named
        }
    };
    let mut groups = Vec::with_capacity(named.len());
    for group in named {
        let mut members = BTreeSet::new();
        let first = source.group_members_url(&pager.base, group.object_id.as_str())?;
        let page = |answer: &_| source.page(answer);
        read_pages(pager, http, first, source, page, |item| {
            members.insert(source.member_id(&item)?);
            Ok(())
        })
        .await?;
        groups.push(DirectoryGroup {
            object_id: group.object_id,
            name: group.name,
            members: members.into_iter().collect(),
        });
    }
    Ok(groups)
}
