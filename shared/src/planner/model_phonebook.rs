//! The phonebook side of the test model: a PBX phonebook that refuses a second entry with a
//! number (a panic: the planner must foresee it), played the way the engine applies a plan
//! (creates after the extensions, a replaced entry deleted first, then removes).

use std::collections::HashMap;

use super::model_objects::ObjectWorld;
use crate::domain::ids::{ExtensionId, ObjectId};
use crate::domain::organization::{ObjectKind, ObjectLink, ObjectMapping};
use crate::domain::phonebook::PhonebookEntry;
use crate::domain::plan::Plan;
use crate::domain::MANAGED_BY;

impl ObjectWorld {
    pub fn apply_phonebook(&mut self, plan: &Plan, created: &HashMap<ObjectId, ExtensionId>) {
        let planned: Vec<&ObjectId> = plan.creates.iter().map(|c| &c.object_id).collect();
        for create in &plan.phonebook.creates {
            if planned.contains(&&create.object_id) && !created.contains_key(&create.object_id) {
                continue;
            }
            if let Some(old) = &create.replaces {
                self.delete_entry(&old.entry_id, &old.key);
            }
            assert!(
                !self.phonebook.iter().any(|e| e.number == create.number),
                "409 number_taken for {create:?} in {:?}",
                self.phonebook
            );
            let id = self.fresh("pb");
            self.phonebook.push(PhonebookEntry {
                id: id.clone(),
                name: create.name.clone(),
                number: create.number.clone(),
                managed_by: Some(MANAGED_BY.to_string()),
            });
            self.set_entry_mapping(&create.key, &create.name, id);
        }
        for remove in &plan.phonebook.removes {
            self.delete_entry(&remove.entry_id, &remove.key);
        }
    }

    fn delete_entry(&mut self, entry_id: &str, key: &ObjectId) {
        self.phonebook.retain(|e| e.id != entry_id);
        self.mappings
            .retain(|m| !(m.kind == ObjectKind::PhonebookEntry && &m.object_id == key));
    }

    /// Links `key` to the entry `pbx_id` (replacing its mapping).
    pub fn set_entry_mapping(&mut self, key: &ObjectId, name: &str, pbx_id: String) {
        self.mappings
            .retain(|m| !(m.kind == ObjectKind::PhonebookEntry && &m.object_id == key));
        self.mappings.push(ObjectMapping {
            kind: ObjectKind::PhonebookEntry,
            object_id: key.clone(),
            link: ObjectLink::Linked { pbx_id },
            name: name.to_string(),
            last_synced_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        });
    }
}
