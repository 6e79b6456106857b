//! `write_back`: the users whose `write_back.attribute` does not hold their extension's number.
//! This one rule covers the write after a create, the retry of a write that failed (the value
//! is still not there), adopted extensions, and a value someone changed in the directory.

use super::Index;
use crate::domain::extension::Extension;
use crate::domain::plan::{Plan, PlannedWriteBack};
use crate::domain::user::DirectoryUser;
use crate::domain::{DirectoryConfig, ExtensionId};

pub(super) fn plan_write_backs(
    mut plan: Plan,
    config: &DirectoryConfig,
    index: &Index<'_>,
    kept: &[(&DirectoryUser, &Extension)],
) -> Plan {
    if config.write_back.is_none() {
        return plan;
    }
    let user = |id| {
        index
            .users
            .binary_search_by(|u| u.object_id.cmp(id))
            .ok()
            .map(|i| index.users[i])
    };
    let mut wanted: Vec<(&DirectoryUser, &str, Option<&ExtensionId>)> = kept
        .iter()
        .map(|(user, ext)| (*user, ext.number.as_str(), Some(&ext.id)))
        .collect();
    for update in plan.updates.iter().filter(|u| u.adopt) {
        if let (Some(user), Some(ext)) = (
            user(&update.object_id),
            index.extensions.get(&update.extension_id),
        ) {
            wanted.push((user, ext.number.as_str(), Some(&ext.id)));
        }
    }
    for create in &plan.creates {
        if let Some(user) = user(&create.object_id) {
            wanted.push((user, create.number.as_str(), None));
        }
    }
    let mut write_backs: Vec<PlannedWriteBack> = wanted
        .into_iter()
        .filter(|(user, number, _)| {
            user.write_back.as_deref().map(str::trim) != Some(number.trim())
        })
        .map(|(user, number, extension_id)| PlannedWriteBack {
            object_id: user.object_id.clone(),
            name: user.display_name(),
            number: number.trim().to_string(),
            old: user.write_back.clone(),
            extension_id: extension_id.cloned(),
            after_create: extension_id.is_none(),
        })
        .collect();
    write_backs.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    plan.write_backs = write_backs;
    plan
}
