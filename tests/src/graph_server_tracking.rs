//! Change tracking for mutations a test makes straight on [`GraphState`]'s `users` and
//! `groups` (as older tests do): before a delta round, the server compares them with what it
//! last saw and records every difference as Graph's delta would report it. A property set or
//! cleared is a user change, a user gone from `users` is `@removed` (`deleted`, or `changed`
//! when it sits in the recycle bin), a new user reports all its properties, and a group's
//! direct members that came or went are `members@delta`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{GraphState, Member};

/// What the server last saw of the directory.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    users: Vec<Map<String, Value>>,
    groups: HashMap<String, Vec<Member>>,
}

impl GraphState {
    /// Records the changes made to `users` and `groups` since the server last looked.
    pub(crate) fn catch_up(&mut self) {
        let Some(seen) = self.seen.take() else {
            self.mark_seen();
            return;
        };
        let id_of = |u: &Map<String, Value>| u["id"].as_str().unwrap_or_default().to_string();
        let before: HashMap<String, &Map<String, Value>> =
            seen.users.iter().map(|u| (id_of(u), u)).collect();
        let now: HashSet<String> = self.users.iter().map(id_of).collect();
        let mut changes: Vec<(String, Vec<String>)> = Vec::new();
        for user in &self.users {
            let id = id_of(user);
            let properties: Vec<String> = match before.get(&id) {
                None => user.keys().cloned().collect(),
                Some(old) => {
                    let mut names: Vec<String> = user
                        .iter()
                        .filter(|(k, v)| old.get(*k) != Some(*v))
                        .map(|(k, _)| k.clone())
                        .collect();
                    names.extend(old.keys().filter(|k| !user.contains_key(*k)).cloned());
                    names
                }
            };
            if !properties.is_empty() {
                changes.push((id, properties));
            }
        }
        for (id, properties) in changes {
            self.record_user_change(&id, properties);
        }
        for old in &seen.users {
            let id = id_of(old);
            if !now.contains(&id) {
                let binned = self.delta.recycle_bin.iter().any(|u| id_of(u) == id);
                self.record_user_removed(&id, if binned { "changed" } else { "deleted" });
            }
        }
        let key = |m: &Member| format!("{m:?}");
        let mut group_changes = Vec::new();
        for (group, members) in &self.groups {
            let old = seen.groups.get(group).cloned().unwrap_or_default();
            let old_keys: HashSet<String> = old.iter().map(key).collect();
            let new_keys: HashSet<String> = members.iter().map(key).collect();
            let added: Vec<Member> = members
                .iter()
                .filter(|m| !old_keys.contains(&key(m)))
                .cloned()
                .collect();
            let removed: Vec<Member> = old
                .into_iter()
                .filter(|m| !new_keys.contains(&key(m)))
                .collect();
            if !added.is_empty() || !removed.is_empty() {
                group_changes.push((group.clone(), added, removed));
            }
        }
        for (group, added, removed) in group_changes {
            self.record_group_change(&group, added, removed);
        }
        self.mark_seen();
    }

    /// The directory as it is now is what the server has recorded.
    pub(crate) fn mark_seen(&mut self) {
        self.seen = Some(Seen {
            users: self.users.clone(),
            groups: self.groups.clone(),
        });
    }
}
