//! Entra ID tokens for Microsoft Graph: OAuth 2.0 client credentials with the app's client
//! secret, cached until shortly before expiry, and Entra's `AADSTS` errors turned into steps
//! an admin can take.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::http::{shorten, CloudHttp};
use super::token::{Grant, TokenClient, TokenEndpoint};
use super::urls::url_under;
use crate::error::DirectoryError;
use crate::http_retry::retry_after;

/// The client-credentials grant of one app registration in one tenant.
pub(crate) struct ClientSecret {
    /// `{login}/{tenant_id}/oauth2/v2.0/token`.
    token_url: Url,
    client_id: String,
    secret: SecretString,
    /// `{graph resource}/.default`.
    scope: String,
}

/// Entra ID's token client.
pub(crate) type ClientCredentials = TokenClient<ClientSecret>;

/// Entra's token endpoint, throttled by `Retry-After`.
const ENTRA_LOGIN: TokenEndpoint<EntraError> = TokenEndpoint {
    name: "the Entra ID login endpoint",
    wait_asked: |answer| retry_after(&answer.headers),
    refused: entra_error,
};

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    /// Seconds; v1 endpoints send it as a string.
    expires_in: serde_json::Value,
}

/// Entra's OAuth error body.
#[derive(Deserialize, Default)]
struct EntraError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
}

impl ClientSecret {
    pub fn new(
        login_base: &Url,
        tenant_id: &str,
        client_id: &str,
        secret: SecretString,
        scope: String,
    ) -> Result<Self, DirectoryError> {
        Ok(Self {
            token_url: url_under(
                login_base,
                &[tenant_id, "oauth2", "v2.0", "token"],
                "the login URL",
            )?,
            client_id: client_id.to_string(),
            secret,
            scope,
        })
    }
}

#[async_trait]
impl Grant for ClientSecret {
    async fn fetch(&self, http: &CloudHttp) -> Result<(SecretString, Duration), DirectoryError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("scope", self.scope.as_str()),
        ];
        let token: TokenAnswer = ENTRA_LOGIN
            .request(http, &self.token_url, &form, "the Entra ID token answer")
            .await?;
        let seconds = match &token.expires_in {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| DirectoryError::Protocol("the token answer has no expires_in".into()))?;
        Ok((
            SecretString::from(token.access_token),
            Duration::from_secs(seconds),
        ))
    }
}

/// The admin's next step for the `AADSTS` codes a misconfigured app registration gets.
fn entra_error(status: u16, body: &EntraError) -> DirectoryError {
    let code = body.error_codes.first().copied();
    let credentials = |text: &str| {
        DirectoryError::Credentials(format!("AADSTS{}: {text}", code.unwrap_or_default()))
    };
    match code {
        Some(7000215) => credentials(
            "the client secret is wrong. Copy the secret's Value (not its Secret ID) from the app \
             registration's 'Certificates & secrets' page and save it again",
        ),
        Some(7000222) => credentials(
            "the client secret has expired. Create a new client secret in the app registration \
             and save it here",
        ),
        Some(65001) | Some(7000229) => credentials(
            "the app has no admin consent in this tenant. In Entra ID, open the app's 'API \
             permissions', add the Microsoft Graph application permissions User.Read.All and \
             GroupMember.Read.All, and grant admin consent",
        ),
        Some(90002) | Some(900023) => credentials(
            "the tenant was not found. Check tenant_id (the directory id or a verified domain) \
             and the cloud (global, us_gov, china)",
        ),
        Some(700016) => credentials(
            "no application with this client_id exists in the tenant. Check client_id (the \
             Application (client) ID) and tenant_id",
        ),
        Some(500011) => credentials(
            "Microsoft Graph is unknown in this tenant's cloud. Check the cloud setting",
        ),
        _ => {
            // Entra's description ends with trace and correlation ids on their own lines.
            let first_line = body.error_description.lines().next().unwrap_or_default();
            let text = if first_line.is_empty() {
                format!("the token request was refused with status {status}")
            } else {
                shorten(first_line)
            };
            if status >= 500 || status == 429 {
                DirectoryError::Unreachable(format!("Entra ID login: {text}"))
            } else {
                DirectoryError::Credentials(format!(
                    "Entra ID refused the token request ({}): {text}",
                    shorten(&body.error)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(codes: &[u64], description: &str) -> String {
        let body = EntraError {
            error: "invalid_client".into(),
            error_description: description.into(),
            error_codes: codes.to_vec(),
        };
        entra_error(401, &body).to_string()
    }

    #[test]
    fn known_codes_say_what_to_do() {
        assert!(error(&[7000215], "").contains("Secret ID"));
        assert!(error(&[7000222], "").contains("expired"));
        assert!(error(&[65001], "").contains("admin consent"));
        assert!(error(&[7000229], "").contains("admin consent"));
        assert!(error(&[90002], "").contains("tenant was not found"));
        assert!(error(&[700016], "").contains("client_id"));
    }

    #[test]
    fn unknown_codes_show_the_first_line_only() {
        let text = error(
            &[1234],
            "AADSTS1234: Something odd.\r\nTrace ID: abc\r\nCorrelation ID: def",
        );
        assert!(text.contains("AADSTS1234: Something odd."), "{text}");
        assert!(!text.contains("Trace ID"), "{text}");
        let server = entra_error(503, &EntraError::default());
        assert!(matches!(server, DirectoryError::Unreachable(_)));
    }
}
