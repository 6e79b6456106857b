//! Test helpers: fixtures, and a small model that applies a plan to the mappings and the
//! extensions the way the engine and a PBX would.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

pub use super::model_objects::ObjectWorld;
use super::{plan, PlanInput};
use crate::domain::config::{
    DirectoryConfig, FieldSources, LdapFlavor, LdifConfig, OnRemove, ProviderConfig, RemoveReason,
};
use crate::domain::extension::{Extension, NewExtension, MANAGED_BY};
use crate::domain::ids::{ExtensionId, ObjectId, OrganizationId};
use crate::domain::mapping::{Mapping, MappingLink};
use crate::domain::plan::{Plan, SkipReason, TextChange};
use crate::domain::user::{Coverage, DirectoryUser, Snapshot, UserState};

pub fn oid(id: &str) -> ObjectId {
    ObjectId::parse(id).unwrap()
}

pub fn eid(id: &str) -> ExtensionId {
    ExtensionId::parse(id).unwrap()
}

/// An LDIF config with every default: attribute numbers, all removal reasons, delete.
pub fn config() -> DirectoryConfig {
    let json = serde_json::json!({ "provider": { "type": "ldif", "path": "/tmp/x.ldif" } });
    let mut config: DirectoryConfig = serde_json::from_value(json).unwrap();
    config.fields = FieldSources::default();
    config.remove_when = RemoveReason::all();
    config.on_remove = OnRemove::Delete;
    debug_assert!(matches!(
        config.provider,
        ProviderConfig::Ldif(LdifConfig {
            flavor: LdapFlavor::Openldap,
            ..
        })
    ));
    config
}

/// An active, in-scope user "First Last" with an email and an extension attribute.
pub fn user(id: &str, first: &str, email: &str, extension: &str) -> DirectoryUser {
    DirectoryUser {
        avatar_ref: None,
        write_back: Default::default(),
        sip_password: Default::default(),
        avatar: None,
        job_title: Default::default(),
        organization: Default::default(),
        extra_numbers: Vec::new(),
        object_id: oid(id),
        first_name: Some(first.to_string()),
        last_name: Some("Last".to_string()),
        email: Some(email.to_string()),
        mobile: None,
        extension: Some(extension.to_string()),
        state: UserState::Active,
        expires_at: None,
        in_scope: true,
        dn: None,
        groups: Vec::new(),
    }
}

pub fn ext(id: &str, number: &str, first: &str, email: &str) -> Extension {
    Extension {
        avatar_sha256: None,
        job_title: Default::default(),
        organization_id: Default::default(),
        id: eid(id),
        number: number.to_string(),
        first_name: Some(first.to_string()),
        last_name: Some("Last".to_string()),
        email: Some(email.to_string()),
        mobile: None,
        enabled: true,
        managed_by: Some(MANAGED_BY.to_string()),
    }
}

pub fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

pub fn linked(id: &str, ext_id: &str, number: &str) -> Mapping {
    Mapping {
        avatar_seen: None,
        sip_password_hash: Default::default(),
        avatar_sha256: None,
        object_id: oid(id),
        link: MappingLink::Linked {
            extension_id: eid(ext_id),
            disabled_by_sync: false,
        },
        number: number.to_string(),
        first_name: Some(format!("mapped {id}")),
        last_name: None,
        email: None,
        last_synced_at: epoch(),
    }
}

pub fn pending(id: &str, number: &str, email: &str) -> Mapping {
    Mapping {
        avatar_seen: None,
        sip_password_hash: Default::default(),
        avatar_sha256: None,
        object_id: oid(id),
        link: MappingLink::Pending {
            idempotency_key: format!("key-{id}"),
            request: NewExtension {
                job_title: Default::default(),
                send_welcome_email: false,
                organization_id: Default::default(),
                number: number.to_string(),
                first_name: None,
                last_name: None,
                email: Some(email.to_string()),
                mobile: None,
                managed_by: MANAGED_BY.to_string(),
            },
        },
        number: number.to_string(),
        first_name: None,
        last_name: None,
        email: Some(email.to_string()),
        last_synced_at: epoch(),
    }
}

/// The mappings and extensions of a tenant; `apply` plays a plan on them.
#[derive(Debug, Clone)]
pub struct World {
    pub users: Vec<DirectoryUser>,
    pub coverage: Coverage,
    pub complete: bool,
    pub mappings: Vec<Mapping>,
    pub extensions: Vec<Extension>,
    pub config: DirectoryConfig,
    pub approved_removals: HashSet<ObjectId>,
    /// The organisation side: directory sources, mappings and the PBX's objects.
    pub objects: ObjectWorld,
    next_id: usize,
}

impl World {
    pub fn new(
        users: Vec<DirectoryUser>,
        mappings: Vec<Mapping>,
        extensions: Vec<Extension>,
    ) -> Self {
        Self {
            users,
            coverage: Coverage::WholeDirectory,
            complete: true,
            mappings,
            extensions,
            config: config(),
            approved_removals: HashSet::new(),
            objects: ObjectWorld::default(),
            next_id: 0,
        }
    }

    pub fn plan(&self) -> Plan {
        let snapshot = Snapshot {
            groups: self.objects.sources_groups.clone(),
            organizations: self.objects.sources_organizations.clone(),
            users: self.users.clone(),
            coverage: self.coverage,
            complete: self.complete,
            change_cursor: None,
        };
        plan(&PlanInput {
            snapshot: &snapshot,
            mappings: &self.mappings,
            extensions: &self.extensions,
            config: &self.config,
            approved_removals: &self.approved_removals,
            object_mappings: &self.objects.mappings,
            organizations: &self.objects.organizations,
            groups: &self.objects.groups,
            phonebook: &self.objects.phonebook,
        })
    }

    pub fn ext(&self, id: &ExtensionId) -> Option<&Extension> {
        self.extensions.iter().find(|e| &e.id == id)
    }

    pub fn mapping(&self, id: &str) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.object_id.as_str() == id)
    }

    /// Applies organization creates and changes, then extension removals (unless held),
    /// updates and creates, then groups, then organization removals, as the engine does.
    pub fn apply(&mut self, plan: &Plan) {
        let organizations = self.objects.apply_organizations(plan);
        let created = self.apply_extensions(plan, &organizations);
        self.objects.forget_extensions(&self.extensions);
        self.objects.apply_groups(plan, &created);
        self.objects.apply_phonebook(plan, &created);
        if !plan.removals_held {
            self.objects.remove_organizations(plan, &self.extensions);
        }
    }

    fn apply_extensions(
        &mut self,
        plan: &Plan,
        organizations: &HashMap<ObjectId, OrganizationId>,
    ) -> HashMap<ObjectId, ExtensionId> {
        let mut created = HashMap::new();
        if !plan.removals_held {
            for remove in &plan.removes {
                match remove.action {
                    OnRemove::Delete => {
                        self.extensions.retain(|e| e.id != remove.extension_id);
                        self.mappings.retain(|m| m.object_id != remove.object_id);
                    }
                    OnRemove::Keep => self.mappings.retain(|m| m.object_id != remove.object_id),
                    OnRemove::Disable => {
                        if let Some(e) = self
                            .extensions
                            .iter_mut()
                            .find(|e| e.id == remove.extension_id)
                        {
                            e.enabled = false;
                        }
                        for m in self
                            .mappings
                            .iter_mut()
                            .filter(|m| m.object_id == remove.object_id)
                        {
                            if let MappingLink::Linked {
                                disabled_by_sync, ..
                            } = &mut m.link
                            {
                                *disabled_by_sync = true;
                            }
                        }
                    }
                }
            }
        }
        for update in &plan.updates {
            let Some(e) = self
                .extensions
                .iter_mut()
                .find(|e| e.id == update.extension_id)
            else {
                continue;
            };
            let changes = &update.changes;
            for (change, value) in [
                (&changes.first_name, &mut e.first_name),
                (&changes.last_name, &mut e.last_name),
                (&changes.email, &mut e.email),
                (&changes.mobile, &mut e.mobile),
                (&changes.job_title, &mut e.job_title),
            ] {
                if let Some(change) = change {
                    value.clone_from(&change.new);
                }
            }
            if let Some(change) = &changes.enabled {
                e.enabled = change.new;
            }
            match &update.organization_source {
                None => {}
                Some(None) => e.organization_id = None,
                Some(Some(source)) => {
                    if let Some(id) = organizations.get(source) {
                        e.organization_id = Some(id.clone());
                    }
                }
            }
            let reenabled = changes.enabled.is_some();
            if update.adopt {
                self.mappings.push(Mapping {
                    avatar_seen: None,
                    sip_password_hash: Default::default(),
                    avatar_sha256: None,
                    object_id: update.object_id.clone(),
                    link: MappingLink::Linked {
                        extension_id: e.id.clone(),
                        disabled_by_sync: false,
                    },
                    number: e.number.clone(),
                    first_name: e.first_name.clone(),
                    last_name: e.last_name.clone(),
                    email: e.email.clone(),
                    last_synced_at: epoch(),
                });
            } else if reenabled {
                for m in self
                    .mappings
                    .iter_mut()
                    .filter(|m| m.object_id == update.object_id)
                {
                    if let MappingLink::Linked {
                        disabled_by_sync, ..
                    } = &mut m.link
                    {
                        *disabled_by_sync = false;
                    }
                }
            }
        }
        for create in &plan.creates {
            self.next_id += 1;
            let id = eid(&format!("new-{:04}", self.next_id));
            let r = &create.request;
            created.insert(create.object_id.clone(), id.clone());
            self.extensions.push(Extension {
                avatar_sha256: None,
                job_title: r.job_title.clone(),
                organization_id: create
                    .organization_source
                    .as_ref()
                    .and_then(|s| organizations.get(s).cloned()),
                id: id.clone(),
                number: r.number.clone(),
                first_name: r.first_name.clone(),
                last_name: r.last_name.clone(),
                email: r.email.clone(),
                mobile: r.mobile.clone(),
                enabled: true,
                managed_by: Some(r.managed_by.clone()),
            });
            let mapping = Mapping {
                avatar_seen: None,
                sip_password_hash: Default::default(),
                avatar_sha256: None,
                object_id: create.object_id.clone(),
                link: MappingLink::Linked {
                    extension_id: id,
                    disabled_by_sync: false,
                },
                number: r.number.clone(),
                first_name: r.first_name.clone(),
                last_name: r.last_name.clone(),
                email: r.email.clone(),
                last_synced_at: epoch(),
            };
            match self
                .mappings
                .iter_mut()
                .find(|m| m.object_id == create.object_id)
            {
                Some(existing) => *existing = mapping,
                None => self.mappings.push(mapping),
            }
        }
        created
    }
}

/// The skipped users of a plan as (object id, reason).
pub fn skips(plan: &Plan) -> Vec<(String, SkipReason)> {
    plan.skipped
        .iter()
        .map(|s| (s.object_id.to_string(), s.reason))
        .collect()
}

/// Ann, mapped to extension e1 and in sync with it.
pub fn synced_pair() -> World {
    World::new(
        vec![user("u1", "Ann", "ann@x.com", "101")],
        vec![linked("u1", "e1", "101")],
        vec![ext("e1", "101", "Ann", "ann@x.com")],
    )
}

/// The change of a text field from `old` to `new`.
pub fn text(old: &str, new: &str) -> Option<TextChange> {
    Some(TextChange {
        old: Some(old.to_string()),
        new: Some(new.to_string()),
    })
}
