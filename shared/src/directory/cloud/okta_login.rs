//! Okta's primary authentication (`POST /api/v1/authn`) for `POST .../auth/verify`. Sent
//! once, never retried: each try is a password attempt that counts towards Okta's lockout.

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::http::{shorten, CloudHttp};
use super::urls::url_under;
use crate::domain::ObjectId;
use crate::error::DirectoryError;
use crate::ports::LoginOutcome;

#[derive(Deserialize)]
struct Authn {
    status: String,
    #[serde(default, rename = "_embedded")]
    embedded: Option<Embedded>,
}

#[derive(Deserialize)]
struct Embedded {
    user: AuthnUser,
}

#[derive(Deserialize)]
struct AuthnUser {
    id: String,
}

/// `SUCCESS` with the user's id is a verified password. Every other status (`LOCKED_OUT`,
/// `PASSWORD_EXPIRED`, `MFA_REQUIRED`, ...) and a 401 (`E0000004`) are rejections: dirsync
/// completes no further step of the flow. Okta unavailable or rate-limiting is an error.
pub(super) async fn primary_authentication(
    org: &Url,
    http: &CloudHttp,
    username: &str,
    password: &SecretString,
) -> Result<LoginOutcome, DirectoryError> {
    let url = url_under(org, &["api", "v1", "authn"], "org_url")?;
    let body = serde_json::json!({
        "username": username,
        "password": password.expose_secret(),
    });
    let request = http
        .client()
        .post(url)
        .header(ACCEPT, "application/json")
        .json(&body);
    let answer = http
        .send(request)
        .await
        .map_err(|e| DirectoryError::Unreachable(format!("Okta could not be reached: {e}")))?;
    match answer.status {
        StatusCode::OK => {}
        // 400: Okta's validation of what the user typed (E0000001), no fault of the directory.
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Ok(LoginOutcome::Rejected)
        }
        status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
            return Err(DirectoryError::Unreachable(format!(
                "Okta's authentication answered {}",
                status.as_u16()
            )))
        }
        status => {
            return Err(DirectoryError::Protocol(format!(
                "Okta's authentication answered {}",
                status.as_u16()
            )))
        }
    }
    let authn: Authn = answer.json("Okta's authentication answer")?;
    match (authn.status.as_str(), authn.embedded) {
        ("SUCCESS", Some(embedded)) => ObjectId::parse(embedded.user.id)
            .map(LoginOutcome::Verified)
            .map_err(|e| DirectoryError::Protocol(format!("an Okta user id is not usable: {e}"))),
        ("SUCCESS", None) => Err(DirectoryError::Protocol(
            "Okta's authentication succeeded without naming the user".into(),
        )),
        (status, _) => {
            tracing::debug!(status = %shorten(status), "Okta authentication not completed");
            Ok(LoginOutcome::Rejected)
        }
    }
}
