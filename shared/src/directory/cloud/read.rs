//! What a cloud directory read needs besides HTTP: the token cache, the check of a tenant's
//! host after DNS resolution, and the shapes of a failed read and of a connection test.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::domain::{
    Check, CheckName, ConnectionReport, Coverage, DirectoryUser, EndpointPolicy, ObjectId, Snapshot,
};
use crate::endpoints::{self, EndpointError};
use crate::error::DirectoryError;

/// A token and when to fetch the next one.
struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

/// One access token, fetched when missing, due or refused.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: tokio::sync::Mutex<Option<CachedToken>>,
}

impl TokenCache {
    /// The cached token, or a new one from `fetch` (token and lifetime) when there is none,
    /// it is due, or `refresh` is set. The next fetch is due shortly before expiry.
    pub async fn get<F, Fut>(&self, refresh: bool, fetch: F) -> Result<SecretString, DirectoryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(SecretString, Duration), DirectoryError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(token) = slot.as_ref() {
            if !refresh && Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let (value, lifetime) = fetch().await?;
        let margin = (lifetime / 2).min(Duration::from_secs(300));
        *slot = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(value)
    }
}

/// Resolves a tenant-supplied host under the address rules (see [`crate::endpoints`]).
pub(crate) async fn resolve_public(
    host: &str,
    port: u16,
    policy: EndpointPolicy,
) -> Result<Vec<SocketAddr>, DirectoryError> {
    endpoints::resolve_public(host, port, policy)
        .await
        .map_err(|e| match e {
            EndpointError::Unresolvable(m) => DirectoryError::Unreachable(m),
            EndpointError::NotPublic(m) => DirectoryError::NotAvailable(m),
        })
}

/// The users of a group scope: a user in several groups is one user, listed with each group.
#[derive(Default)]
pub(crate) struct GroupMembers {
    users: Vec<DirectoryUser>,
    index: HashMap<ObjectId, usize>,
}

impl GroupMembers {
    pub fn add(&mut self, user: DirectoryUser, group: &str) {
        let users = &mut self.users;
        let at = *self.index.entry(user.object_id.clone()).or_insert_with(|| {
            users.push(user);
            users.len() - 1
        });
        users[at].groups.push(group.to_string());
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// The read of the scope only: an absent user was deleted or left the scope.
    pub fn into_snapshot(self) -> Snapshot {
        Snapshot {
            users: self.users,
            coverage: Coverage::ScopeOnly,
            complete: true,
        }
    }
}

/// An error after some users were read says so: the read is incomplete, nothing is removed.
pub(crate) fn cut_short(users_read: usize, error: DirectoryError) -> DirectoryError {
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
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn token_cache_reuses_until_refresh_is_asked() {
        let cache = TokenCache::default();
        let fetches = AtomicU64::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::Relaxed);
            Ok((
                SecretString::from(format!("t{n}")),
                Duration::from_secs(3600),
            ))
        };
        use secrecy::ExposeSecret;
        assert_eq!(cache.get(false, fetch).await.unwrap().expose_secret(), "t0");
        assert_eq!(cache.get(false, fetch).await.unwrap().expose_secret(), "t0");
        assert_eq!(cache.get(true, fetch).await.unwrap().expose_secret(), "t1");
    }

    #[tokio::test]
    async fn a_token_near_expiry_is_fetched_again() {
        let cache = TokenCache::default();
        let fetches = AtomicU64::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::Relaxed);
            Ok((SecretString::from("t"), Duration::ZERO))
        };
        cache.get(false, fetch).await.unwrap();
        cache.get(false, fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_the_operator_allows_it() {
        let strict = EndpointPolicy::default();
        let error = resolve_public("127.0.0.1", 443, strict).await.unwrap_err();
        assert!(error.to_string().contains("loopback"), "{error}");
        // A name is checked by the addresses it resolves to (here through /etc/hosts).
        let error = resolve_public("localhost", 443, strict).await.unwrap_err();
        assert!(error.to_string().contains("loopback"), "{error}");
        let open = EndpointPolicy {
            allow_private: true,
        };
        assert_eq!(
            resolve_public("127.0.0.1", 443, open).await.unwrap().len(),
            1
        );
    }
}
