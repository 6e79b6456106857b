//! LDAP failures turned into [`DirectoryError`]s with a message an admin can act on: result
//! codes (with Active Directory's `data` sub-codes for bind failures), TLS certificate
//! problems, timeouts and broken connections.

use std::time::Duration;

use ldap3::{LdapError, LdapResult};

use crate::error::DirectoryError;

/// LDAP result codes (RFC 4511 section 4.1.9) that get their own message.
const TIME_LIMIT_EXCEEDED: u32 = 3;
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;
const INSUFFICIENT_ACCESS: u32 = 50;
const UNAVAILABLE: u32 = 52;

/// What was being done when an error happened: decides which variant and wording it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Tls,
    Bind,
    Search,
}

/// A search or bind result that is not success.
pub fn result_error(phase: Phase, result: &LdapResult, users_read: usize) -> DirectoryError {
    let text = result.text.trim();
    let detail = if text.is_empty() {
        String::new()
    } else {
        format!(" ({text})")
    };
    match (phase, result.rc) {
        (_, INVALID_CREDENTIALS) => DirectoryError::Credentials(bind_message(text)),
        (Phase::Bind, rc) => DirectoryError::Credentials(format!(
            "the bind was refused with LDAP result {rc}{detail}"
        )),
        (_, NO_SUCH_OBJECT) => DirectoryError::NotAvailable(format!(
            "the base DN or a scope entry does not exist (LDAP result 32, no such object){}: \
             check base_dn and the scope's OUs and groups",
            if result.matched.is_empty() {
                String::new()
            } else {
                format!("; the server knows only '{}'", result.matched)
            }
        )),
        (_, SIZE_LIMIT_EXCEEDED) => DirectoryError::Incomplete {
            users_read,
            reason: "the server's size limit stopped the search (LDAP result 4): raise the size \
                     limit for the bind user, or check that the server supports paged results"
                .into(),
        },
        (_, TIME_LIMIT_EXCEEDED) => DirectoryError::Incomplete {
            users_read,
            reason: "the server's time limit stopped the search (LDAP result 3)".into(),
        },
        (_, INSUFFICIENT_ACCESS) => DirectoryError::Credentials(format!(
            "the bind user may not read this part of the directory (LDAP result 50){detail}"
        )),
        (_, UNAVAILABLE) => DirectoryError::Unreachable(format!(
            "the directory server is unavailable (LDAP result 52){detail}"
        )),
        (_, rc) => DirectoryError::Incomplete {
            users_read,
            reason: format!("the search failed with LDAP result {rc}{detail}"),
        },
    }
}

/// Result 49, with Active Directory's sub-code (`..., data 52e, ...`) decoded.
fn bind_message(text: &str) -> String {
    let reason = match ad_data_code(text).as_deref() {
        Some("52e") => "wrong bind DN/UPN or password (AD 52e)",
        Some("525") => "the bind user does not exist (AD 525)",
        Some("530") => "the bind user may not log on at this time (AD 530)",
        Some("531") => "the bind user may not log on from this host (AD 531)",
        Some("532") => "the bind user's password has expired (AD 532)",
        Some("533") => "the bind user's account is disabled (AD 533)",
        Some("701") => "the bind user's account has expired (AD 701)",
        Some("773") => "the bind user must change the password first (AD 773)",
        Some("775") => "the bind user's account is locked out (AD 775)",
        _ => "wrong bind DN/UPN or password",
    };
    format!("invalid credentials (LDAP result 49): {reason}")
}

/// `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563`
/// gives `52e`.
fn ad_data_code(text: &str) -> Option<String> {
    let at = text.find("data ")?;
    let code: String = text[at + 5..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (!code.is_empty()).then(|| code.to_ascii_lowercase())
}

/// An error of the ldap3 client (transport, TLS, timeout, or a result code).
pub fn client_error(
    phase: Phase,
    error: LdapError,
    timeout: Duration,
    users_read: usize,
) -> DirectoryError {
    match error {
        LdapError::LdapResult { result } => result_error(phase, &result, users_read),
        LdapError::Timeout { .. } => {
            let what = match phase {
                Phase::Tls => "the TLS handshake",
                Phase::Bind => "the bind",
                Phase::Search => "the next search result",
            };
            timeout_error(phase, what, timeout, users_read)
        }
        LdapError::Io { source } => match tls_cause(&source) {
            Some(tls) => DirectoryError::NotAvailable(tls_message(tls)),
            None => broken(phase, &source.to_string(), users_read),
        },
        LdapError::Rustls { source } => DirectoryError::NotAvailable(tls_message(&source)),
        LdapError::DNSName { .. } => DirectoryError::NotAvailable(
            "TLS: the URL's host is not a valid name for certificate checks".into(),
        ),
        other => broken(phase, &other.to_string(), users_read),
    }
}

pub fn timeout_error(
    phase: Phase,
    what: &str,
    timeout: Duration,
    users_read: usize,
) -> DirectoryError {
    let reason = format!("no answer to {what} within {} s", timeout.as_secs());
    match phase {
        Phase::Search => DirectoryError::Incomplete { users_read, reason },
        Phase::Tls | Phase::Bind => DirectoryError::Unreachable(reason),
    }
}

/// The connection broke (reset, closed, end of stream).
fn broken(phase: Phase, cause: &str, users_read: usize) -> DirectoryError {
    let reason = format!("the connection to the directory broke: {cause}");
    match phase {
        Phase::Search => DirectoryError::Incomplete { users_read, reason },
        Phase::Tls | Phase::Bind => DirectoryError::Unreachable(reason),
    }
}

fn tls_cause(error: &std::io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

fn tls_message(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer | C::BadSignature => "TLS: certificate not trusted: the server's \
                 certificate was not issued by a trusted CA; set ca_pem to the CA that signed it"
                .into(),
            C::Expired | C::ExpiredContext { .. } => {
                "TLS: the server's certificate has expired".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "TLS: the server's certificate is not valid for the host in the URL: use the \
                 host name the certificate names"
                    .into()
            }
            other => format!("TLS: certificate not trusted: {other:?}"),
        },
        other => format!("TLS: the handshake failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: text.into(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    #[test]
    fn active_directory_bind_codes_are_decoded() {
        let ad = |code: &str| {
            let text = format!(
                "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {code}, v4563"
            );
            result_error(Phase::Bind, &result(49, &text), 0).to_string()
        };
        assert!(ad("52e").contains("wrong bind DN/UPN or password (AD 52e)"));
        assert!(ad("533").contains("disabled (AD 533)"));
        assert!(ad("701").contains("expired (AD 701)"));
        assert!(ad("775").contains("locked out (AD 775)"));
        let plain = result_error(Phase::Bind, &result(49, ""), 0).to_string();
        assert!(plain.contains("wrong bind DN/UPN or password"), "{plain}");
    }

    #[test]
    fn search_failures_are_incomplete_reads() {
        let e = result_error(Phase::Search, &result(4, ""), 1200);
        assert!(matches!(
            e,
            DirectoryError::Incomplete {
                users_read: 1200,
                ..
            }
        ));
        assert!(e.to_string().contains("size limit"));
        let missing = result_error(Phase::Search, &result(32, ""), 0).to_string();
        assert!(missing.contains("base DN"), "{missing}");
    }
}
