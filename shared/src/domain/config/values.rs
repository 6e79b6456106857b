//! Config values checked once, when a request is converted (or a stored record read): the
//! adapters and the planner take them as they are, never checking them again. Each is kept
//! and serialized as the text the tenant gave; `parse` says what is wrong in words fit for a
//! `details` entry.

use regex::Regex;

/// Serde as a string, through `parse`: a stored value is checked as a request's was.
macro_rules! text_value {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_string()
            }
        }

        /// Read as the text it is, where text is wanted.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// An LDAP server: `ldap://` or `ldaps://`, a host and an optional port, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LdapUrl {
    raw: String,
    host: String,
    port: u16,
    ldaps: bool,
}

impl LdapUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
        let ldaps = match url.scheme() {
            "ldaps" => true,
            "ldap" => false,
            _ => return Err("must start with ldap:// or ldaps://".into()),
        };
        if (url.path() != "" && url.path() != "/") || url.query().is_some() {
            return Err("must hold only a host and a port".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials: they go in bind_dn and credentials".into());
        }
        let host = match url.host_str() {
            None | Some("") => return Err("must name a host".into()),
            Some(host) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        };
        Ok(Self {
            raw: raw.to_string(),
            port: url.port().unwrap_or(if ldaps { 636 } else { 389 }),
            host,
            ldaps,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// TLS from the first byte (`ldaps://`), not by StartTLS.
    pub fn is_ldaps(&self) -> bool {
        self.ldaps
    }
}
text_value!(LdapUrl);

/// A distinguished name such as `ou=People,dc=example,dc=com` (the server checks it in full).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Dn(String);

impl Dn {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let dn = raw.trim();
        if dn.is_empty() || !dn.contains('=') || dn.len() > 1024 || dn.contains('\0') {
            Err("must be a DN such as ou=People,dc=example,dc=com".into())
        } else {
            Ok(Self(dn.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
text_value!(Dn);

/// A pinned SSH host key, one OpenSSH public key line (`ssh-ed25519 AAAA...`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostKey(String);

const HOST_KEY_TYPES: [&str; 5] = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
];

impl HostKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        use base64::Engine as _;
        let mut parts = raw.split_whitespace();
        let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
            return Err("must be an OpenSSH public key line such as 'ssh-ed25519 AAAA...'".into());
        };
        if !HOST_KEY_TYPES.contains(&kind) {
            return Err(format!(
                "key type must be one of {}",
                HOST_KEY_TYPES.join(", ")
            ));
        }
        base64::engine::general_purpose::STANDARD
            .decode(blob)
            .map_err(|_| "the key is not valid base64".to_string())?;
        Ok(Self(raw.trim().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
text_value!(HostKey);

/// A regular expression with exactly one capture group (the extension number), compiled once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaptureRegex(Regex);

impl CaptureRegex {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > 512 {
            return Err("must be at most 512 characters".into());
        }
        let regex = Regex::new(raw).map_err(|e| format!("does not compile: {e}"))?;
        if regex.captures_len() != 2 {
            return Err("must have exactly one capture group".into());
        }
        Ok(Self(regex))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The capture group of the first match in `text`.
    pub fn capture<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.0.captures(text)?.get(1).map(|m| m.as_str())
    }
}
text_value!(CaptureRegex);

impl PartialEq for CaptureRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CaptureRegex {}

/// The CA certificates a tenant trusts for its LDAP server instead of the public roots: PEM,
/// one certificate at least, each one well-formed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaPem {
    pem: String,
    certificates: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl CaPem {
    pub fn parse(raw: &str) -> Result<Self, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let certificates = CertificateDer::pem_slice_iter(raw.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| "holds a malformed PEM certificate".to_string())?;
        if certificates.is_empty() {
            return Err("must be a PEM certificate".into());
        }
        for certificate in &certificates {
            // The check the TLS client makes of a trust anchor, made when the config comes in.
            rustls::RootCertStore::empty()
                .add(certificate.clone())
                .map_err(|e| format!("holds a certificate that cannot be a CA: {e}"))?;
        }
        Ok(Self {
            pem: raw.to_string(),
            certificates,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pem
    }

    pub fn certificates(&self) -> &[rustls::pki_types::CertificateDer<'static>] {
        &self.certificates
    }
}
text_value!(CaPem);

impl PartialEq for CaPem {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}

impl Eq for CaPem {}

/// An RFC 4515 search filter, checked for syntax.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LdapFilter(String);

impl LdapFilter {
    pub fn parse(raw: &str) -> Result<Self, String> {
        crate::domain::ldap_filter::check(raw)?;
        Ok(Self(raw.trim().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
text_value!(LdapFilter);

/// A tenant's HTTP endpoint (Okta `org_url`): `https://` (or `http://`, which only the
/// operator's private-endpoint setting accepts), a host, and no credentials.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpUrl(url::Url);

impl HttpUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err("must start with https://".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }
}
text_value!(HttpUrl);

/// The `auto` numbers' range: `start..=end`, from 1, at most 1,000,000 numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RangeBounds")]
pub struct ExtensionRange {
    start: u32,
    end: u32,
}

#[derive(serde::Deserialize)]
struct RangeBounds {
    start: u32,
    end: u32,
}

impl TryFrom<RangeBounds> for ExtensionRange {
    type Error = String;
    fn try_from(bounds: RangeBounds) -> Result<Self, String> {
        Self::new(bounds.start, bounds.end).map_err(|(field, message)| format!("{field} {message}"))
    }
}

impl ExtensionRange {
    /// The range, or the bound at fault (`start` or `end`) with what is wrong.
    pub fn new(start: u32, end: u32) -> Result<Self, (&'static str, &'static str)> {
        if start == 0 {
            Err(("start", "must be at least 1"))
        } else if start > end {
            Err(("start", "must not be greater than end"))
        } else if end - start >= 1_000_000 {
            Err(("end", "the range may hold at most 1,000,000 numbers"))
        } else {
            Ok(Self { start, end })
        }
    }

    pub fn start(&self) -> u32 {
        self.start
    }

    pub fn end(&self) -> u32 {
        self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldap_urls_keep_host_port_and_tls_and_refuse_the_rest() {
        let url = LdapUrl::parse("ldaps://dc1.corp.example").unwrap();
        assert_eq!(
            (url.host(), url.port(), url.is_ldaps()),
            ("dc1.corp.example", 636, true)
        );
        let url = LdapUrl::parse("ldap://[::1]:1389").unwrap();
        assert_eq!(
            (url.host(), url.port(), url.is_ldaps()),
            ("::1", 1389, false)
        );
        for bad in [
            "https://dc1",
            "ldap://user:pass@dc1",
            "ldap://dc1/dc=x",
            "ldap://dc1?x",
            "ldap://",
        ] {
            assert!(LdapUrl::parse(bad).is_err(), "{bad}");
        }
        let stored: LdapUrl = serde_json::from_str("\"ldap://dc1:389\"").unwrap();
        assert_eq!(
            serde_json::to_string(&stored).unwrap(),
            "\"ldap://dc1:389\""
        );
        assert!(serde_json::from_str::<LdapUrl>("\"ftp://dc1\"").is_err());
    }

    #[test]
    fn values_are_checked_once_with_their_rules() {
        assert!(Dn::parse("ou=People,dc=x").is_ok());
        for bad in ["", "people", "ou=a\0b"] {
            assert!(Dn::parse(bad).is_err(), "{bad:?}");
        }
        assert!(HostKey::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5").is_ok());
        assert!(HostKey::parse("ssh-dss AAAA").is_err());
        assert!(HostKey::parse("ssh-ed25519 !!!").is_err());
        let pattern = CaptureRegex::parse(r"(\d{3,6})$").unwrap();
        assert_eq!(pattern.capture("+49 30 1234"), Some("1234"));
        assert!(CaptureRegex::parse(r"\d+").is_err(), "no capture group");
        assert!(CaptureRegex::parse(r"(\d+)(x)").is_err(), "two groups");
        assert!(LdapFilter::parse("(cn=a*)").is_ok());
        assert!(LdapFilter::parse("cn=a").is_err());
        assert!(HttpUrl::parse("https://acme.okta.com").is_ok());
        assert!(HttpUrl::parse("https://u:p@acme.okta.com").is_err());
        assert!(HttpUrl::parse("ftp://acme.okta.com").is_err());
        assert_eq!(
            ExtensionRange::new(0, 5),
            Err(("start", "must be at least 1"))
        );
        assert!(ExtensionRange::new(9, 5).is_err());
        assert!(ExtensionRange::new(1, 1_000_001).is_err());
        let range: ExtensionRange = serde_json::from_str(r#"{"start": 100, "end": 199}"#).unwrap();
        assert_eq!((range.start(), range.end()), (100, 199));
        assert!(serde_json::from_str::<ExtensionRange>(r#"{"start": 9, "end": 1}"#).is_err());
    }
}
