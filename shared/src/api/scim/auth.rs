//! Who may call `/scim/v2/{t}/...`: the holder of the tenant's SCIM bearer token, checked
//! against the hash in the tenant record in constant time. Every failure is the same 401,
//! whether the tenant exists or not, and the token is never logged (the request span holds
//! no header).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::error::ScimError;
use crate::api::ApiState;
use crate::app::scim_token_matches;
use crate::domain::{Tenant, TenantId};

/// The calling tenant, authenticated, and the base URL of its SCIM endpoint
/// (`http://host/scim/v2/acme`) for `meta.location`.
pub struct ScimTenant {
    pub tenant: Tenant,
    pub base: String,
}

impl FromRequestParts<ApiState> for ScimTenant {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ScimError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ScimError::unauthorized())?;
        let id = params
            .get("t")
            .and_then(|t| TenantId::parse(t.as_str()).ok())
            .ok_or_else(ScimError::unauthorized)?;
        let presented = bearer(&parts.headers).ok_or_else(ScimError::unauthorized)?;
        let tenant = state
            .store
            .get_tenant(&id)
            .await?
            .ok_or_else(ScimError::unauthorized)?;
        let stored = tenant
            .scim_token_sha256
            .as_deref()
            .ok_or_else(ScimError::unauthorized)?;
        if !scim_token_matches(stored, presented) {
            return Err(ScimError::unauthorized());
        }
        let base = format!("{}/scim/v2/{}", origin(&parts.headers), id);
        Ok(Self { tenant, base })
    }
}

/// The bearer token of `Authorization` (the scheme in any case, RFC 7235).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

/// `scheme://host` of the request, as the identity provider reached us (API Gateway sets
/// `X-Forwarded-Proto`); empty, for relative locations, when the host is not a plain one.
fn origin(headers: &HeaderMap) -> String {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST.as_str()).unwrap_or_default();
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !plain {
        return String::new();
    }
    let scheme = match text("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_origin_is_the_hosts_and_never_odd_text() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(origin(&headers), "http://127.0.0.1:8080");
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(origin(&headers), "https://127.0.0.1:8080");
        headers.insert(header::HOST, HeaderValue::from_static("evil/path?x"));
        assert_eq!(origin(&headers), "");
        let mut auth = HeaderMap::new();
        auth.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("BEARER abc "),
        );
        assert_eq!(bearer(&auth), Some("abc"));
        auth.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&auth), None);
    }
}
