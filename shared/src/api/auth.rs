//! Who is calling: a tenant admin (claim `tenant`) or the SaaS operator (scope
//! `dirsync:operator`). One extractor, one place for 401 and 403.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::ApiError;
use super::ApiState;
use crate::domain::TenantId;

pub const OPERATOR_SCOPE: &str = "dirsync:operator";
/// The PBX platform's scope for `POST .../auth/verify` (with the tenant's claim).
pub const LOGIN_SCOPE: &str = "dirsync:login";

/// How tokens are checked.
pub enum Auth {
    /// Locally: HS256 tokens signed with `DIRSYNC_JWT_SECRET`, checked here.
    Hs256(DecodingKey),
    /// On AWS: API Gateway's JWT authorizer has checked the token; the Lambda adapter puts its
    /// claims on the request as [`GatewayClaims`]. A request without them is refused.
    Gateway,
}

impl Auth {
    pub fn hs256(secret: &SecretString) -> Self {
        Self::Hs256(DecodingKey::from_secret(secret.expose_secret().as_bytes()))
    }
}

/// The claims API Gateway's JWT authorizer passes on (`requestContext.authorizer.jwt.claims`).
#[derive(Debug, Clone, Default)]
pub struct GatewayClaims(pub HashMap<String, String>);

/// The claims dirsync reads.
#[derive(Debug, Deserialize)]
struct Claims {
    tenant: Option<String>,
    #[serde(default)]
    scope: Scopes,
}

/// `scope`: space-separated, as OAuth 2.0 has it (RFC 8693 section 4.2), or an array of strings,
/// as many identity providers issue it.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "ScopeClaim")]
struct Scopes(Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

impl From<ScopeClaim> for Scopes {
    fn from(claim: ScopeClaim) -> Self {
        match claim {
            ScopeClaim::Text(text) => Self::from_text(&text),
            ScopeClaim::List(list) => Self(list),
        }
    }
}

impl Scopes {
    fn from_text(text: &str) -> Self {
        Self(text.split_whitespace().map(str::to_string).collect())
    }

    /// The scopes of API Gateway's claim, which flattens a JSON array into `[a b]` (or passes
    /// it as JSON text, `["a","b"]`).
    fn from_gateway(text: &str) -> Self {
        let trimmed = text.trim();
        match trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Some(inner) => match serde_json::from_str::<Vec<String>>(trimmed) {
                Ok(list) => Self(list),
                Err(_) => Self::from_text(&inner.replace(',', " ")),
            },
            None => Self::from_text(trimmed),
        }
    }

    fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Operator,
    Tenant(TenantId),
}

impl Caller {
    fn from_claims(claims: Claims) -> Result<Self, ApiError> {
        if claims.scope.contains(OPERATOR_SCOPE) {
            return Ok(Self::Operator);
        }
        match claims.tenant.map(TenantId::parse) {
            Some(Ok(tenant)) => Ok(Self::Tenant(tenant)),
            _ => Err(ApiError::Unauthorized(
                "the token names no valid tenant and no operator scope",
            )),
        }
    }

    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Self::Operator => Ok(()),
            Self::Tenant(_) => Err(ApiError::Forbidden("this route is for the operator only")),
        }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Caller::from_claims(claims(parts, state)?)
    }
}

/// The token's claims: from API Gateway's authorizer, or checked here (HS256).
fn claims(parts: &Parts, state: &ApiState) -> Result<Claims, ApiError> {
    Ok(match state.auth.as_ref() {
        Auth::Gateway => {
            let claims = parts
                .extensions
                .get::<GatewayClaims>()
                .ok_or(ApiError::Unauthorized("a bearer token is required"))?;
            Claims {
                tenant: claims.0.get("tenant").cloned(),
                scope: claims
                    .0
                    .get("scope")
                    .map(|s| Scopes::from_gateway(s))
                    .unwrap_or_default(),
            }
        }
        Auth::Hs256(key) => {
            let token = bearer(parts)?;
            let mut validation = Validation::new(Algorithm::HS256);
            validation.validate_aud = false;
            validation.validate_nbf = true;
            jsonwebtoken::decode::<Claims>(token, key, &validation)
                .map_err(|_| ApiError::Unauthorized("the bearer token is invalid or expired"))?
                .claims
        }
    })
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // RFC 7235: the scheme is case-insensitive.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized("a bearer token is required"))
}

/// The `{t}` of a tenant route, checked against the caller: 401 without a valid token, 403 for
/// another tenant's path (whether or not that tenant exists), 400 for a malformed id.
pub struct TenantAccess(pub TenantId);

impl FromRequestParts<ApiState> for TenantAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::field("tenant", "missing from the path"))?;
        let raw = params.get("t").map(String::as_str).unwrap_or_default();
        match caller {
            Caller::Tenant(own) if own.as_str() != raw => {
                Err(ApiError::Forbidden("this token is not for that tenant"))
            }
            _ => TenantId::parse(raw)
                .map(Self)
                .map_err(|e| ApiError::field("tenant", e.to_string())),
        }
    }
}

/// The `{t}` of `POST .../auth/verify`: the operator, or a token of that tenant whose scope
/// holds [`LOGIN_SCOPE`] (the PBX platform's); a tenant admin's token without it gets 403.
pub struct LoginAccess(pub TenantId);

impl FromRequestParts<ApiState> for LoginAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let login = claims(parts, state)?.scope.contains(LOGIN_SCOPE);
        let TenantAccess(tenant) = TenantAccess::from_request_parts(parts, state).await?;
        match Caller::from_request_parts(parts, state).await? {
            Caller::Tenant(_) if !login => Err(ApiError::Forbidden(
                "password checks need a token with the dirsync:login scope",
            )),
            _ => Ok(Self(tenant)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Claims {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn scope_is_a_space_separated_string_or_an_array() {
        for scope in [
            serde_json::json!("openid dirsync:operator"),
            serde_json::json!(["openid", "dirsync:operator"]),
        ] {
            let caller = Caller::from_claims(claims(serde_json::json!({"scope": scope})));
            assert_eq!(caller.unwrap(), Caller::Operator);
        }
        let tenant = claims(serde_json::json!({"tenant": "acme", "scope": ["openid"]}));
        assert!(matches!(Caller::from_claims(tenant), Ok(Caller::Tenant(_))));
    }

    #[test]
    fn gateway_scopes_are_read_in_every_form_api_gateway_passes_them() {
        for text in [
            "openid dirsync:operator",
            "[openid dirsync:operator]",
            r#"["openid","dirsync:operator"]"#,
            "[openid, dirsync:operator]",
        ] {
            assert!(
                Scopes::from_gateway(text).contains(OPERATOR_SCOPE),
                "{text}"
            );
        }
        assert!(!Scopes::from_gateway("[dirsync:operatorx]").contains(OPERATOR_SCOPE));
    }
}
