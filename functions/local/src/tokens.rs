//! Local-mode tokens: HS256 JWTs signed with `DIRSYNC_JWT_SECRET`, or, when that is not set,
//! with a secret generated once and kept (0600) in the state folder so that
//! `dirsync-local token` and the running service agree.

use std::path::Path;

use chrono::Utc;
use dirsync::private_fs;
use dirsync::settings::Settings;
use jsonwebtoken::{EncodingKey, Header};
use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::LocalError;

const SECRET_FILE: &str = "jwt-secret";

/// The signing secret: the operator's, else this state folder's.
pub fn jwt_secret(settings: &Settings, state: &Path) -> Result<SecretString, LocalError> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    let state_error = |source| LocalError::State {
        path: state.display().to_string(),
        source,
    };
    private_fs::ensure_private_dir(state).map_err(state_error)?;
    let path = state.join(SECRET_FILE);
    // One an older release wrote may be readable by others.
    private_fs::tighten_if_exists(&path).map_err(state_error)?;
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_string().into()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(state_error(e)),
    }
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 48);
    private_fs::write_private_file(&path, secret.as_bytes()).map_err(state_error)?;
    Ok(secret.into())
}

/// Who a token is for.
#[derive(Debug, Clone)]
pub enum TokenFor {
    Tenant(String),
    /// The PBX platform's token for the tenant (scope `dirsync:login`).
    Login(String),
    Operator,
}

#[derive(Serialize)]
struct Claims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    iat: i64,
    exp: i64,
}

/// A token valid for `hours`.
pub fn mint(secret: &SecretString, token_for: &TokenFor, hours: i64) -> Result<String, LocalError> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        tenant: match token_for {
            TokenFor::Tenant(t) | TokenFor::Login(t) => Some(t.as_str()),
            TokenFor::Operator => None,
        },
        scope: match token_for {
            TokenFor::Tenant(_) => None,
            TokenFor::Login(_) => Some(dirsync::api::LOGIN_SCOPE),
            TokenFor::Operator => Some(dirsync::api::OPERATOR_SCOPE),
        },
        iat: now,
        exp: now + hours * 3600,
    };
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    jsonwebtoken::encode(&Header::default(), &claims, &key).map_err(LocalError::Token)
}
