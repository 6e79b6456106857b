//! One user's photo bytes for its upload: a base-scope search of the user's DN, on a session
//! kept for the photos of one run (one bind, not one per photo).

use ldap3::Scope as SearchScope;
use tokio::sync::Mutex;

use super::connection::{Connection, Session};
use super::search::{paged, Search, SearchPlan};
use crate::directory::entry::scope::{in_subtree, normalize_dn};
use crate::domain::ObjectId;
use crate::error::DirectoryError;

/// The session photos are read on, opened at the first photo.
#[derive(Default)]
pub(super) struct PhotoSession(Mutex<Option<Session>>);

impl PhotoSession {
    /// The photo of the user `object_id` at `dn`: `None` when the entry has none, or when the
    /// entry at `dn` is no longer that user (moved since the read).
    pub(super) async fn read(
        &self,
        connection: &Connection,
        plan: &SearchPlan,
        object_id: &ObjectId,
        dn: &str,
    ) -> Result<Option<Vec<u8>>, DirectoryError> {
        let Some(attribute) = plan.mapper.avatar_attribute() else {
            return Ok(None);
        };
        // The DN comes from this directory's own read, but only users under `base_dn` are
        // ever read: anything else is refused rather than searched.
        if !in_subtree(&normalize_dn(dn), &normalize_dn(&plan.base_dn)) {
            return Err(DirectoryError::Protocol(format!(
                "{dn} is not under the base DN"
            )));
        }
        let mut session = self.0.lock().await;
        let ldap = match &mut *session {
            Some(open) => open,
            None => session.insert(connection.session().await?),
        };
        let attributes = [
            attribute.to_string(),
            plan.mapper.id_attribute().to_string(),
        ];
        let search = Search {
            base: dn,
            scope: SearchScope::Base,
            filter: "(objectClass=*)",
            attributes: &attributes,
        };
        let timeout = connection.options.timeouts.operation;
        let mut photo = None;
        let read = paged(&mut ldap.ldap, 1, timeout, search, |_, attrs| {
            if plan.mapper.object_id(&attrs).as_ref() == Ok(object_id) {
                photo = attrs.get_bytes(attribute).map(<[u8]>::to_vec);
            }
            Ok(())
        })
        .await;
        if read.is_err() {
            // A broken session is not reused: the next photo opens a new one.
            *session = None;
        }
        read?;
        Ok(photo.filter(|bytes| !bytes.is_empty()))
    }
}
