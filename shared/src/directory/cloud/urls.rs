//! Where a cloud read sends its requests: URLs built under a base, and tenant-supplied hosts
//! checked after DNS resolution.

use std::net::SocketAddr;

use url::Url;

use crate::domain::EndpointPolicy;
use crate::endpoints::{self, EndpointError};
use crate::error::DirectoryError;

/// `base` with the `path` segments appended (each escaped); `base_name` names the base URL in
/// the error when it cannot hold a path.
pub(crate) fn url_under(base: &Url, path: &[&str], base_name: &str) -> Result<Url, DirectoryError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| DirectoryError::NotAvailable(format!("{base_name} cannot hold a path")))?
        .pop_if_empty()
        .extend(path);
    Ok(url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_appended_escaped_after_a_trailing_slash() {
        let base = Url::parse("https://graph.example.com/").unwrap();
        let url = url_under(&base, &["v1.0", "groups", "a/b"], "the Graph URL").unwrap();
        assert_eq!(url.as_str(), "https://graph.example.com/v1.0/groups/a%2Fb");
        let opaque = Url::parse("mailto:ops@example.com").unwrap();
        let error = url_under(&opaque, &["x"], "org_url").unwrap_err();
        assert_eq!(error.to_string(), "org_url cannot hold a path");
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
