//! Photos (`fields.avatar`): an upload where the directory's photo differs from the one the
//! PBX lists (`avatar_sha256`), a removal where the directory dropped a photo that sync put
//! there, and a skip (never a failure) for a photo the PBX would refuse. Photos are compared
//! by their SHA-256 alone: the planner never sees their bytes.

use std::collections::HashMap;

use super::{skipped, Index, PlanInput};
use crate::domain::avatar::{Photo, PhotoProblem};
use crate::domain::extension::Extension;
use crate::domain::ids::ObjectId;
use crate::domain::plan::{FieldChange, FieldChanges, Plan, PlannedUpdate, SkipReason, TextChange};
use crate::domain::user::DirectoryUser;

/// What the photo of one synced user needs.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AvatarStep {
    Keep,
    Change(TextChange),
    Skip(SkipReason),
}

/// `photo` is the directory's; `listed` the extension's `avatar_sha256`; `uploaded` the one
/// sync put there (from the mapping). A photo an admin set on the PBX is replaced by the
/// directory's, but kept while the directory has none.
pub(super) fn avatar_step(
    photo: Option<&Photo>,
    listed: Option<&str>,
    uploaded: Option<&str>,
) -> AvatarStep {
    let change = |new: Option<&str>| {
        AvatarStep::Change(FieldChange {
            old: listed.map(str::to_string),
            new: new.map(str::to_string),
        })
    };
    match photo {
        Some(photo) => match photo.problem() {
            Some(PhotoProblem::TooLarge) => AvatarStep::Skip(SkipReason::AvatarTooLarge),
            Some(PhotoProblem::UnsupportedType) => {
                AvatarStep::Skip(SkipReason::AvatarUnsupportedType)
            }
            None if listed != Some(photo.sha256.as_str()) => change(Some(&photo.sha256)),
            None => AvatarStep::Keep,
        },
        None if listed.is_some() && listed == uploaded => change(None),
        None => AvatarStep::Keep,
    }
}

/// Adds the photo steps of the users this plan keeps synced (`kept`: mapped users with their
/// extension), adopts and creates. Runs before the plan is sorted and summarized.
pub(super) fn plan_avatars(
    plan: &mut Plan,
    input: &PlanInput<'_>,
    index: &Index<'_>,
    kept: &[(&DirectoryUser, &Extension)],
) {
    if input.config.avatar_source().is_none() {
        return;
    }
    let mut skips = Vec::new();
    let mut at: HashMap<_, usize> = HashMap::new();
    for (i, update) in plan.updates.iter().enumerate() {
        at.insert(update.object_id.clone(), i);
    }
    // Adopted extensions have no mapping yet: sync uploaded nothing there.
    let adopted: Vec<(&DirectoryUser, &Extension)> = plan
        .updates
        .iter()
        .filter(|u| u.adopt)
        .filter_map(|u| {
            Some((
                user_in(index, &u.object_id)?,
                *index.extensions.get(&u.extension_id)?,
            ))
        })
        .collect();
    for (user, ext) in kept.iter().chain(&adopted) {
        // A photo the directory could not tell (or that was not resolved) is left as it is:
        // never removed because its metadata request failed.
        if user.avatar.is_none() && user.avatar_ref.is_some() {
            continue;
        }
        let uploaded = index
            .mapping_of
            .get(&user.object_id)
            .and_then(|m| m.avatar_sha256.as_deref());
        match avatar_step(user.avatar.as_ref(), ext.avatar_sha256.as_deref(), uploaded) {
            AvatarStep::Keep => {}
            AvatarStep::Skip(reason) => skips.push(skipped(user, reason)),
            AvatarStep::Change(change) => match at.get(&user.object_id) {
                Some(&i) => plan.updates[i].changes.avatar = Some(change),
                None => {
                    plan.unchanged = plan.unchanged.saturating_sub(1);
                    plan.updates.push(PlannedUpdate {
                        object_id: user.object_id.clone(),
                        extension_id: ext.id.clone(),
                        name: user.display_name(),
                        changes: FieldChanges {
                            avatar: Some(change),
                            ..FieldChanges::default()
                        },
                        adopt: false,
                        organization_source: None,
                    });
                }
            },
        }
    }
    for create in &mut plan.creates {
        let Some(user) = user_in(index, &create.object_id) else {
            continue;
        };
        match avatar_step(user.avatar.as_ref(), None, None) {
            AvatarStep::Change(change) => create.avatar = change.new,
            AvatarStep::Skip(reason) => skips.push(skipped(user, reason)),
            AvatarStep::Keep => {}
        }
    }
    plan.skipped.extend(skips);
}

/// A skip of the photo alone: the user's other fields still sync.
pub(super) fn is_photo_skip(reason: SkipReason) -> bool {
    matches!(
        reason,
        SkipReason::AvatarTooLarge | SkipReason::AvatarUnsupportedType
    )
}

fn user_in<'a>(index: &Index<'a>, id: &ObjectId) -> Option<&'a DirectoryUser> {
    index
        .users
        .binary_search_by(|u| u.object_id.cmp(id))
        .ok()
        .map(|i| index.users[i])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::avatar::{ImageType, MAX_AVATAR_BYTES};

    fn photo(sha: &str, size: usize, image_type: Option<ImageType>) -> Photo {
        Photo {
            sha256: sha.to_string(),
            size: size as u64,
            image_type,
        }
    }

    fn change(old: Option<&str>, new: Option<&str>) -> AvatarStep {
        AvatarStep::Change(FieldChange {
            old: old.map(str::to_string),
            new: new.map(str::to_string),
        })
    }

    #[test]
    fn uploads_removes_keeps_and_skips() {
        let jpeg = photo("aa", 10, Some(ImageType::Jpeg));
        assert_eq!(
            avatar_step(Some(&jpeg), None, None),
            change(None, Some("aa"))
        );
        assert_eq!(avatar_step(Some(&jpeg), Some("aa"), None), AvatarStep::Keep);
        // An admin's photo gives way to the directory's.
        assert_eq!(
            avatar_step(Some(&jpeg), Some("bb"), Some("cc")),
            change(Some("bb"), Some("aa"))
        );
        // Dropped in the directory: removed only when sync put it there.
        assert_eq!(
            avatar_step(None, Some("aa"), Some("aa")),
            change(Some("aa"), None)
        );
        assert_eq!(avatar_step(None, Some("bb"), Some("aa")), AvatarStep::Keep);
        assert_eq!(avatar_step(None, Some("bb"), None), AvatarStep::Keep);
        assert_eq!(avatar_step(None, None, Some("aa")), AvatarStep::Keep);
        let big = photo("dd", MAX_AVATAR_BYTES + 1, Some(ImageType::Png));
        assert_eq!(
            avatar_step(Some(&big), Some("aa"), Some("aa")),
            AvatarStep::Skip(SkipReason::AvatarTooLarge)
        );
        let gif = photo("ee", 10, None);
        assert_eq!(
            avatar_step(Some(&gif), None, None),
            AvatarStep::Skip(SkipReason::AvatarUnsupportedType)
        );
    }

    #[test]
    fn a_photo_the_directory_could_not_tell_is_left_as_it_is() {
        use crate::domain::avatar::PhotoRef;
        use crate::domain::config::AvatarField;
        let mut world = crate::planner::model::synced_pair();
        world.config.fields.avatar = Some(AvatarField::On(true));
        world.extensions[0].avatar_sha256 = Some("aa".into());
        world.mappings[0].avatar_sha256 = Some("aa".into());
        // Known to have none: the photo sync put there is removed.
        let plan = world.plan();
        assert_eq!(
            plan.updates[0].changes.avatar,
            Some(FieldChange {
                old: Some("aa".into()),
                new: None
            })
        );
        // Unknown (its metadata request failed), or an ETag not resolved: nothing to do.
        world.users[0].avatar_ref = Some(PhotoRef::Unknown);
        assert!(world.plan().updates.is_empty());
        world.users[0].avatar_ref = Some(PhotoRef::Etag("\"1\"".into()));
        assert!(world.plan().updates.is_empty());
    }

    proptest! {
        /// Whatever the state, a step never uploads a photo the PBX would refuse, never
        /// removes a photo sync did not put there, and applying it leaves nothing to do.
        #[test]
        fn steps_are_safe_and_settle(
            sha in proptest::option::of("[ab]"),
            size in 0usize..(2 * MAX_AVATAR_BYTES),
            typed in any::<bool>(),
            listed in proptest::option::of("[abc]"),
            uploaded in proptest::option::of("[abc]"),
        ) {
            let photo = sha.map(|s| photo(&s, size, typed.then_some(ImageType::Jpeg)));
            let step = avatar_step(photo.as_ref(), listed.as_deref(), uploaded.as_deref());
            if let AvatarStep::Change(change) = &step {
                prop_assert_eq!(&change.old, &listed);
                match &change.new {
                    Some(new) => {
                        let photo = photo.as_ref().unwrap();
                        prop_assert!(photo.problem().is_none());
                        prop_assert_eq!(new, &photo.sha256);
                    }
                    None => prop_assert!(photo.is_none() && listed == uploaded),
                }
                let after = avatar_step(photo.as_ref(), change.new.as_deref(), change.new.as_deref());
                prop_assert_eq!(after, AvatarStep::Keep);
            }
        }
    }
}
