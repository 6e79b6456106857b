//! `provider.type = "scim"`: the tenant's directory is the set of users and groups its
//! identity provider pushed to the SCIM routes, kept in the store ([`Store::all_pushed`]).
//! A read is every pushed user at once, so it is [`Coverage::WholeDirectory`]: a user the
//! identity provider deleted (SCIM `DELETE`) is absent, and so *deleted*; `active: false`
//! (or Entra's `"False"`) is *disabled*. Groups feed scope `groups` and `extension_groups`.
//! A store that cannot be read fails the read: nothing is taken for deleted.

mod groups;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::domain::config::{
    is_active, GroupSync, OrganizationSync, ScimAttribute, Scope, SourceField,
};
use crate::domain::connection::SAMPLE_SIZE;
use crate::domain::organization::AttributeOrganizations;
use crate::domain::phonebook::ExtraNumber;
use crate::domain::{
    Check, CheckName, ConnectionReport, Coverage, DirectoryConfig, DirectoryUser, PushedKind,
    PushedResource, Snapshot, TenantId, UserState,
};
use crate::error::DirectoryError;
use crate::ports::{Directory, Store};
use groups::PushedGroups;

/// One tenant's pushed directory, read from the store.
pub struct ScimDirectory {
    store: Arc<dyn Store>,
    tenant: TenantId,
    reader: ScimReader,
}

impl ScimDirectory {
    /// The reader of `tenant`'s pushed users under `config`; a stored config naming what a
    /// SCIM directory cannot read (a newer release's, or edited by hand) is refused.
    pub fn new(
        store: Arc<dyn Store>,
        tenant: TenantId,
        config: &DirectoryConfig,
    ) -> Result<Self, DirectoryError> {
        Ok(Self {
            store,
            tenant,
            reader: ScimReader::new(config)?,
        })
    }

    async fn all(&self, kind: PushedKind) -> Result<Vec<PushedResource>, DirectoryError> {
        self.store
            .all_pushed(&self.tenant, kind)
            .await
            .map_err(|e| DirectoryError::Unreachable(format!("the pushed {kind:?}s: {e}")))
    }
}

#[async_trait]
impl Directory for ScimDirectory {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        let users = self.all(PushedKind::User).await?;
        let groups = if self.reader.reads_groups() {
            self.all(PushedKind::Group).await?
        } else {
            Vec::new()
        };
        self.reader.snapshot(&users, &groups)
    }

    /// One `search` step: how many users and groups the identity provider pushed so far.
    async fn test_connection(&self) -> ConnectionReport {
        let started = Instant::now();
        let read = async {
            let snapshot = self.read_users().await?;
            let groups = self.all(PushedKind::Group).await?.len();
            Ok::<_, DirectoryError>((snapshot, groups))
        };
        match read.await {
            Ok((snapshot, groups)) => {
                let in_scope: Vec<DirectoryUser> = snapshot
                    .users
                    .iter()
                    .filter(|u| u.in_scope)
                    .cloned()
                    .collect();
                let message = format!(
                    "{} pushed users ({} in scope) and {groups} pushed groups",
                    snapshot.users.len(),
                    in_scope.len()
                );
                let check = Check::timed(CheckName::Search, started, Ok(message));
                ConnectionReport::new(
                    vec![check],
                    in_scope.into_iter().take(SAMPLE_SIZE).collect(),
                )
            }
            Err(error) => {
                let check = Check::timed(CheckName::Search, started, Err(error.to_string()));
                ConnectionReport::new(vec![check], Vec::new())
            }
        }
    }
}

/// The config's part of a read: which attribute each field takes, the scope and the groups.
/// Pure, so that the mapping is tested without a store.
pub(crate) struct ScimReader {
    fields: [(SourceField, Option<ScimAttribute>); 6],
    organization: Option<ScimAttribute>,
    extra_numbers: Vec<(ScimAttribute, String)>,
    scope: Scope,
    groups: GroupSync,
}

impl ScimReader {
    pub fn new(config: &DirectoryConfig) -> Result<Self, DirectoryError> {
        let attribute = |name: &str| {
            ScimAttribute::parse(name).ok_or_else(|| {
                DirectoryError::NotAvailable(format!(
                    "a SCIM directory does not read '{name}': use one of {}",
                    ScimAttribute::names()
                ))
            })
        };
        let mut fields = SourceField::ALL.map(|field| (field, None));
        for (field, source) in &mut fields {
            *source = config
                .field_source(*field)
                .as_deref()
                .map(attribute)
                .transpose()?;
        }
        let organization = match &config.organizations.sync {
            OrganizationSync::None => None,
            OrganizationSync::Attribute { attribute: name } => Some(attribute(name)?),
            OrganizationSync::Ous => {
                return Err(DirectoryError::NotAvailable(
                    "a SCIM directory has no OUs: use organizations 'attribute'".into(),
                ))
            }
        };
        let extra_numbers = config
            .extra_numbers
            .iter()
            .map(|source| Ok((attribute(&source.attribute)?, source.suffix.clone())))
            .collect::<Result<_, DirectoryError>>()?;
        let scope = match &config.scope {
            Scope::All | Scope::Groups { .. } | Scope::Users { .. } => config.scope.clone(),
            Scope::Ous { .. } | Scope::Filter { .. } => {
                return Err(DirectoryError::NotAvailable(
                    "a SCIM directory takes scope 'all', 'groups' or 'users'".into(),
                ))
            }
        };
        let groups = match &config.extension_groups.sync {
            GroupSync::None | GroupSync::All | GroupSync::Groups { .. } => {
                config.extension_groups.sync.clone()
            }
            GroupSync::Type { .. } | GroupSync::Filter { .. } => {
                return Err(DirectoryError::NotAvailable(
                    "a SCIM directory takes extension_groups 'none', 'groups' or 'all'".into(),
                ))
            }
        };
        Ok(Self {
            fields,
            organization,
            extra_numbers,
            scope,
            groups,
        })
    }

    /// Whether a read needs the pushed groups.
    fn reads_groups(&self) -> bool {
        matches!(self.scope, Scope::Groups { .. }) || !matches!(self.groups, GroupSync::None)
    }

    /// The directory the pushed `users` and `groups` make.
    pub fn snapshot(
        &self,
        users: &[PushedResource],
        groups: &[PushedResource],
    ) -> Result<Snapshot, DirectoryError> {
        let groups = PushedGroups::new(groups);
        let scope_groups = match &self.scope {
            Scope::Groups { groups: named } => Some(groups.named(named)?),
            _ => None,
        };
        let mut organizations = AttributeOrganizations::default();
        let mut read = Vec::with_capacity(users.len());
        for user in users.iter().filter(|r| r.kind == PushedKind::User) {
            let attributes = user.attributes.as_object().ok_or_else(|| {
                DirectoryError::Protocol(format!("the pushed user {} is not an object", user.id))
            })?;
            let mut mapped = self.user(user, attributes, &mut organizations);
            match (&self.scope, &scope_groups) {
                (Scope::Users { users }, _) => mapped.in_scope = users.contains(&user.id),
                (_, Some(scope)) => {
                    mapped.groups = scope
                        .iter()
                        .filter(|(_, group)| groups.has_member(group, &user.id))
                        .map(|(named, _)| named.clone())
                        .collect();
                    mapped.in_scope = !mapped.groups.is_empty();
                }
                _ => {}
            }
            read.push(mapped);
        }
        let extension_groups = match &self.groups {
            GroupSync::Groups { groups: named } => {
                let ids: Vec<_> = groups.named(named)?.into_iter().map(|(_, id)| id).collect();
                groups.directory_groups(Some(&ids))
            }
            GroupSync::All => groups.directory_groups(None),
            _ => Vec::new(),
        };
        Ok(Snapshot {
            users: read,
            organizations: organizations.into_organizations(),
            groups: extension_groups,
            coverage: Coverage::WholeDirectory,
            complete: true,
            change_cursor: None,
        })
    }

    fn user(
        &self,
        user: &PushedResource,
        attributes: &Map<String, Value>,
        organizations: &mut AttributeOrganizations,
    ) -> DirectoryUser {
        let field = |wanted: SourceField| {
            self.fields
                .iter()
                .find(|(field, _)| *field == wanted)
                .and_then(|(_, source)| source.as_ref())
                .and_then(|source| source.read(attributes))
        };
        let state = if is_active(attributes) {
            UserState::Active
        } else {
            UserState::Disabled
        };
        let organization = self.organization.and_then(|a| a.read(attributes));
        DirectoryUser {
            object_id: user.id.clone(),
            first_name: field(SourceField::FirstName),
            last_name: field(SourceField::LastName),
            email: field(SourceField::Email),
            mobile: field(SourceField::Mobile),
            job_title: field(SourceField::JobTitle),
            extension: field(SourceField::Extension),
            state,
            expires_at: None,
            in_scope: true,
            dn: None,
            groups: Vec::new(),
            organization: organizations.of(organization.as_deref()),
            write_back: None,
            sip_password: None,
            avatar: None,
            avatar_ref: None,
            extra_numbers: self
                .extra_numbers
                .iter()
                .filter_map(|(attribute, suffix)| {
                    Some(ExtraNumber {
                        suffix: suffix.clone(),
                        number: attribute.read(attributes)?,
                    })
                })
                .collect(),
        }
    }
}
