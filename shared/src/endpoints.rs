//! Tenant-supplied HTTP endpoints (PBX `base_url`, Okta `org_url`) resolved under the address
//! rules of CONTRACTS section 2: every address a name resolves to must be public, unless the
//! operator allows private endpoints. Checking after resolution stops a public name that
//! points at a private or metadata address. (Tested through `directory::cloud::read`.)

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::config::address_allowed;
use crate::domain::EndpointPolicy;

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{0}")]
    Unresolvable(String),
    #[error("{0}")]
    NotPublic(String),
}

/// The addresses of `host`, all allowed by `policy`, or why not.
pub async fn resolve_public(
    host: &str,
    port: u16,
    policy: EndpointPolicy,
) -> Result<Vec<SocketAddr>, EndpointError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| EndpointError::Unresolvable(format!("{host} does not resolve: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(EndpointError::Unresolvable(format!(
            "{host} has no address"
        )));
    }
    if !policy.allow_private {
        for addr in &addrs {
            address_allowed(addr.ip(), true).map_err(|why| {
                EndpointError::NotPublic(format!(
                    "{host} resolves to {}, which {why}: only public endpoints are allowed",
                    addr.ip()
                ))
            })?;
        }
    }
    Ok(addrs)
}

/// A `reqwest` resolver that applies [`resolve_public`] to every connection the client opens.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnlyResolver {
    pub policy: EndpointPolicy,
}

impl PublicOnlyResolver {
    pub fn shared(policy: EndpointPolicy) -> Arc<Self> {
        Arc::new(Self { policy })
    }
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let addrs = resolve_public(name.as_str(), 0, policy).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
