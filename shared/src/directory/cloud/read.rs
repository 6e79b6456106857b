//! The one reader of the cloud directories. A provider says where its listings start, how a
//! page reads and how a listed user maps ([`PagedSource`]), and where and by which rules its
//! pages are requested ([`Pager`]). [`read_listing`] then pages through every user, or the
//! members of the scope's groups, with the rules both providers keep: next links only on the
//! base's origin and never twice, and a read that is complete or an error. Also the shape of a
//! cloud connection test.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use url::Url;

use super::groups::{read_groups, GroupListing, NamedGroup};
use super::http::{Answer, CloudHttp, Credential, Vendor};
use crate::domain::config::Scope;
use crate::domain::organization::AttributeOrganizations;
use crate::domain::{
    ChangeCursor, Check, CheckName, ConnectionReport, Coverage, DirectoryChanges, DirectoryConfig,
    DirectoryUser, ObjectId, Snapshot,
};
use crate::error::DirectoryError;

/// One page of a listing.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// The next page's URL as the provider gave it; `None` on the last page.
    pub next: Option<String>,
}

/// How a provider's errors name its next links that are not followed.
pub(crate) struct LinkWording {
    /// Before the parse error of a link that is no URL.
    pub malformed: &'static str,
    /// A link to another origin.
    pub elsewhere: &'static str,
    /// A link given twice in one listing.
    pub repeated: &'static str,
}

/// Where and by which rules a provider's pages are requested, set up once per directory.
pub struct Pager {
    /// The listings' base URL: the credential goes with every page request, so next links are
    /// followed only on its origin.
    pub(crate) base: Url,
    /// The provider's throttling and error rules.
    pub(super) vendor: &'static dyn Vendor,
    links: LinkWording,
    pub(super) listing: Listing,
    pub(super) groups: GroupListing,
}

impl Pager {
    pub(crate) fn new(
        base: Url,
        vendor: &'static dyn Vendor,
        links: LinkWording,
        listing: Listing,
        groups: GroupListing,
    ) -> Self {
        Self {
            base,
            vendor,
            links,
            listing,
            groups,
        }
    }
}

/// A cloud provider's user listings and credential, as the shared reader uses them.
#[async_trait]
pub(crate) trait PagedSource: Sync {
    /// A user as a page lists it.
    type Item: Send;

    /// The first page of every user of the directory under `base`.
    fn users_url(&self, base: &Url) -> Result<Url, DirectoryError>;
    /// The first page of the users that are members of `group`.
    fn members_url(&self, base: &Url, group: &str) -> Result<Url, DirectoryError>;
    /// The users and the next link of one successful answer.
    fn page(&self, answer: &Answer) -> Result<Page<Self::Item>, DirectoryError>;
    /// A listed user, its attribute value recorded in `organizations`.
    fn user(
        &self,
        item: Self::Item,
        organizations: &mut AttributeOrganizations,
    ) -> Result<DirectoryUser, DirectoryError>;
    /// The object id of a listed user (a group member).
    fn member_id(&self, item: &Self::Item) -> Result<ObjectId, DirectoryError>;
    /// One group (id and name), for `extension_groups.sync = groups`.
    fn group_url(&self, base: &Url, group: &str) -> Result<Url, DirectoryError>;
    /// The first page of every group, for `extension_groups.sync = all`.
    fn groups_url(&self, base: &Url) -> Result<Url, DirectoryError>;
    /// The first page of a group's user members (transitive where the directory nests), ids
    /// only as far as the API allows.
    fn group_members_url(&self, base: &Url, group: &str) -> Result<Url, DirectoryError>;
    /// The group one answer holds.
    fn group(&self, answer: &Answer) -> Result<NamedGroup, DirectoryError>;
    /// The groups and the next link of one page of groups.
    fn group_page(&self, answer: &Answer) -> Result<Page<NamedGroup>, DirectoryError>;
    /// What goes with every page request.
    fn credential(&self) -> &dyn Credential;
    /// `fields.avatar`: sets the in-scope users' photo references, where the listing carries
    /// none. Providers without photos keep this default.
    async fn photo_refs(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        users: &mut [DirectoryUser],
    ) -> Result<(), DirectoryError> {
        let _ = (pager, http, users);
        Ok(())
    }
    /// One user's photo bytes for its upload (`None`: none).
    async fn read_photo(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        user: &ObjectId,
    ) -> Result<Option<Vec<u8>>, DirectoryError> {
        let _ = (pager, http, user);
        Ok(None)
    }
    /// Where a change-only read after a full read starts, asked for just before that read
    /// so that no change made during it is lost; `None` from providers that read in full.
    async fn change_cursor(
        &self,
        pager: &Pager,
        http: &CloudHttp,
    ) -> Result<Option<ChangeCursor>, DirectoryError> {
        let _ = (pager, http);
        Ok(None)
    }
    /// [`crate::ports::Directory::read_changes`]: the changes since `cursor`.
    async fn read_changes(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        let _ = (pager, http, cursor);
        Err(DirectoryError::ChangesUnavailable(
            "this directory is read in full".into(),
        ))
    }
    /// The request that writes `value` to the user's `attribute` (`write_back`).
    fn write_back_request(
        &self,
        base: &Url,
        user: &ObjectId,
        attribute: &str,
        value: &str,
    ) -> Result<(reqwest::Method, Url, serde_json::Value), DirectoryError>;
    /// The connection test's `token` step: the credential tried on its own.
    async fn check_token(&self, pager: &Pager, http: &CloudHttp) -> Result<String, DirectoryError>;
    /// `POST .../auth/verify`: the user's password checked by the vendor; `Verified` names
    /// the vendor's user, whether mapped or not (the caller checks).
    async fn verify_login(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        username: &str,
        password: &secrecy::SecretString,
    ) -> Result<crate::ports::LoginOutcome, DirectoryError> {
        let _ = (pager, http, username, password);
        Ok(crate::ports::LoginOutcome::Unsupported(
            "this directory cannot check passwords".into(),
        ))
    }
}

/// Which users a cloud read lists.
#[derive(Debug, Clone)]
pub(crate) enum Listing {
    /// The whole directory.
    Everyone,
    /// The members of these group ids.
    Groups(Vec<String>),
    /// The whole directory, these object ids in scope (unless the provider leaves them out,
    /// as Graph does guests): one paged read costs fewer requests than one per listed user,
    /// and tells *deleted* from *left the scope*.
    Users(HashSet<ObjectId>),
}

impl Listing {
    /// The listing of the tenant's scope; the cloud providers take `all` or `groups` only.
    pub fn of(config: &DirectoryConfig) -> Result<Self, DirectoryError> {
        match &config.scope {
            Scope::All => Ok(Listing::Everyone),
            Scope::Groups { groups } => Ok(Listing::Groups(groups.clone())),
            Scope::Users { users } => Ok(Listing::Users(users.iter().cloned().collect())),
            _ => Err(DirectoryError::NotAvailable(format!(
                "an {} directory takes scope 'all', 'groups' or 'users'",
                config.provider.kind()
            ))),
        }
    }
}

/// Every user the pager's listing names, their attribute organizations and the extension
/// groups. The whole directory is [`Coverage::WholeDirectory`]; group members are the scope
/// only, a user in several groups once, listed with each group.
pub(crate) async fn read_listing<S: PagedSource>(
    source: &S,
    pager: &Pager,
    http: &CloudHttp,
) -> Result<Snapshot, DirectoryError> {
    let mut organizations = AttributeOrganizations::default();
    let (users, coverage) = match &pager.listing {
        Listing::Everyone | Listing::Users(_) => {
            let mut users = Vec::new();
            let first = source.users_url(&pager.base)?;
            let read = read_pages(pager, http, first, source, page_of(source), |item| {
                users.push(source.user(item, &mut organizations)?);
                Ok(())
            })
            .await;
            read.map_err(|e| cut_short(users.len(), e))?;
            if let Listing::Users(scope) = &pager.listing {
                for user in &mut users {
                    user.in_scope = user.in_scope && scope.contains(&user.object_id);
                }
            }
            (users, Coverage::WholeDirectory)
        }
        Listing::Groups(groups) => {
            let mut members = GroupMembers::default();
            for group in groups {
                let first = source.members_url(&pager.base, group)?;
                let read = read_pages(pager, http, first, source, page_of(source), |item| {
                    members.add(source.user(item, &mut organizations)?, group);
                    Ok(())
                })
                .await;
                read.map_err(|e| cut_short(members.len(), e))?;
            }
            (members.users, Coverage::ScopeOnly)
        }
    };
    let groups = read_groups(source, pager, http).await?;
    Ok(Snapshot {
        users,
        coverage,
        complete: true,
        organizations: organizations.into_organizations(),
        groups,
        change_cursor: None,
    })
}

/// The provider's reading of a page of users.
fn page_of<S: PagedSource>(
    source: &S,
) -> impl Fn(&Answer) -> Result<Page<S::Item>, DirectoryError> + Send + '_ {
    |answer| source.page(answer)
}

/// Every page of a listing from `first`, read by `page`, each item handed to `each`.
pub(super) async fn read_pages<T>(
    pager: &Pager,
    http: &CloudHttp,
    first: Url,
    source: &(impl PagedSource + ?Sized),
    page: impl Fn(&Answer) -> Result<Page<T>, DirectoryError> + Send,
    mut each: impl FnMut(T) -> Result<(), DirectoryError> + Send,
) -> Result<(), DirectoryError> {
    let mut url = first;
    let mut seen = HashSet::new();
    loop {
        let answer = http.get(&url, source.credential(), pager.vendor).await?;
        let page = page(&answer)?;
        for item in page.items {
            each(item)?;
        }
        let Some(link) = page.next else {
            return Ok(());
        };
        url = follow_link(pager, &link, &mut seen)?;
    }
}

/// A next link of the provider's, followed exactly as given but only on the base's origin
/// (the token goes with it) and never twice in one listing (`seen`).
pub(super) fn follow_link(
    pager: &Pager,
    link: &str,
    seen: &mut HashSet<Url>,
) -> Result<Url, DirectoryError> {
    let links = &pager.links;
    let next = Url::parse(link)
        .map_err(|e| DirectoryError::Protocol(format!("{}: {e}", links.malformed)))?;
    if next.origin() != pager.base.origin() {
        return Err(DirectoryError::Protocol(links.elsewhere.into()));
    }
    if !seen.insert(next.clone()) {
        return Err(DirectoryError::Protocol(links.repeated.into()));
    }
    Ok(next)
}

/// The users of a group scope: a user in several groups is one user, listed with each group.
#[derive(Default)]
struct GroupMembers {
    users: Vec<DirectoryUser>,
    index: HashMap<ObjectId, usize>,
}

impl GroupMembers {
    fn add(&mut self, user: DirectoryUser, group: &str) {
        let users = &mut self.users;
        let at = *self.index.entry(user.object_id.clone()).or_insert_with(|| {
            users.push(user);
            users.len() - 1
        });
        users[at].groups.push(group.to_string());
    }

    fn len(&self) -> usize {
        self.users.len()
    }
}

/// An error after some users were read says so: the read is incomplete, nothing is removed.
fn cut_short(users_read: usize, error: DirectoryError) -> DirectoryError {
    match error {
        DirectoryError::Credentials(_) | DirectoryError::NotAvailable(_) => error,
        _ if users_read > 0 => DirectoryError::Incomplete {
            users_read,
            reason: error.to_string(),
        },
        _ => error,
    }
}

/// The connection test of a token-based directory: the `token` step, then the whole read as
/// the `search` step with a sample of in-scope users.
pub(crate) async fn token_then_search<T, R>(token: T, read: R) -> ConnectionReport
where
    T: Future<Output = Result<String, DirectoryError>>,
    R: Future<Output = Result<Snapshot, DirectoryError>>,
{
    let started = Instant::now();
    let token = token.await.map_err(|e| e.to_string());
    let token_check = Check::timed(CheckName::Token, started, token);
    if !token_check.ok {
        return ConnectionReport::new(vec![token_check], Vec::new());
    }
    let started = Instant::now();
    match read.await {
        Ok(snapshot) => {
            let in_scope: Vec<DirectoryUser> =
                snapshot.users.into_iter().filter(|u| u.in_scope).collect();
            let message = format!("{} users in scope read", in_scope.len());
            let search = Check::timed(CheckName::Search, started, Ok(message));
            ConnectionReport::new(vec![token_check, search], in_scope)
        }
        Err(error) => {
            let search = Check::timed(CheckName::Search, started, Err(error.to_string()));
            ConnectionReport::new(vec![token_check, search], Vec::new())
        }
    }
}

#[cfg(test)]
mod tests;
