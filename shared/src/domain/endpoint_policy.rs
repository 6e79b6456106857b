//! The operator's rules for tenant-supplied endpoints (CONTRACTS section 2): which hosts and
//! addresses a tenant's directory, Okta org or PBX may name. The adapters apply
//! [`address_allowed`] again after DNS resolution.

use std::net::IpAddr;

/// Operator rules for tenant-supplied endpoints (CONTRACTS section 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// The operator's `DIRSYNC_ALLOW_PRIVATE_ENDPOINTS` (read by `Settings`): loopback, link-local and private hosts and plain
    /// `http://` are accepted (local mode and tests).
    pub allow_private: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostUse {
    /// LDAP and SSH: private addresses are fine (on-premises), loopback and link-local are not.
    Directory,
    /// Tenant-supplied HTTP endpoints: public addresses only.
    Http,
}

/// Checks a host as written; adapters check again after DNS resolution.
pub(crate) fn check_host(host: &str, usage: HostUse, policy: EndpointPolicy) -> Result<(), String> {
    if policy.allow_private {
        return Ok(());
    }
    let lowered = host.trim_end_matches('.').to_ascii_lowercase();
    if lowered == "localhost" || lowered.ends_with(".localhost") {
        return Err("must not be a loopback host".into());
    }
    let Ok(ip) = lowered
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    address_allowed(ip, usage == HostUse::Http)
}

/// The address rules of CONTRACTS section 2, shared with the adapters' post-resolution checks.
pub fn address_allowed(ip: IpAddr, public_only: bool) -> Result<(), String> {
    let (loopback, link_local, private) = match ip {
        // Multicast and broadcast reach many hosts of a network at once: private too.
        IpAddr::V4(v4) => (
            v4.is_loopback() || v4.is_unspecified(),
            v4.is_link_local(),
            v4.is_private() || v4.is_shared_like() || v4.is_multicast() || v4.is_broadcast(),
        ),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return address_allowed(IpAddr::V4(v4), public_only);
            }
            let seg = v6.segments()[0];
            (
                v6.is_loopback() || v6.is_unspecified(),
                (seg & 0xffc0) == 0xfe80,
                (seg & 0xfe00) == 0xfc00 || v6.is_multicast(),
            )
        }
    };
    if loopback {
        Err("must not be a loopback address".into())
    } else if link_local {
        Err("must not be a link-local address".into())
    } else if private && public_only {
        Err("must not be a private address".into())
    } else {
        Ok(())
    }
}

trait SharedLike {
    fn is_shared_like(&self) -> bool;
}

impl SharedLike for std::net::Ipv4Addr {
    /// 100.64.0.0/10 (carrier-grade NAT) is as private as RFC 1918 for our purposes.
    fn is_shared_like(&self) -> bool {
        let o = self.octets();
        o[0] == 100 && (o[1] & 0xc0) == 64
    }
}

/// A tenant-supplied HTTP URL: https, a host, and (unless the operator allows private
/// endpoints) not a loopback, link-local or private literal address.
pub fn check_http_url(raw: &str, policy: EndpointPolicy) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_private => {}
        _ => return Err("must start with https://".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("must name a host")?;
    check_host(host, HostUse::Http, policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multicast_and_broadcast_are_private() {
        for ip in [
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "ff02::1",
            "::ffff:224.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                address_allowed(ip, true),
                Err("must not be a private address".to_string()),
                "{ip}"
            );
            assert_eq!(address_allowed(ip, false), Ok(()), "{ip}");
        }
        assert_eq!(address_allowed("8.8.8.8".parse().unwrap(), true), Ok(()));
    }
}
