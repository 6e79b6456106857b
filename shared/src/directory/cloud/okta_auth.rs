//! Okta credentials: an API token (`SSWS`), or OAuth 2.0 for a service app with
//! `private_key_jwt` (a client assertion signed RS256 with the tenant's key), token cached.

use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::http::{sensitive_header, shorten, CloudHttp, Credential, Vendor};
use super::okta_wire::OktaVendor;
use super::token::{Grant, TokenClient, TokenEndpoint};
use super::urls::url_under;
use crate::error::DirectoryError;

/// The scopes a read needs; the service app must be granted both.
pub(crate) const OKTA_SCOPES: &str = "okta.users.read okta.groups.read";
/// Lifetime of a client assertion (Okta accepts at most one hour).
const ASSERTION_SECONDS: i64 = 300;

pub(crate) enum OktaCredential {
    ApiToken(SecretString),
    PrivateKeyJwt(TokenClient<ServiceApp>),
}

/// The client-credentials grant of a service app, proven by a signed client assertion.
pub(crate) struct ServiceApp {
    /// `{org}/oauth2/v1/token`, also the assertion's audience.
    token_url: Url,
    client_id: String,
    key: EncodingKey,
}

/// Okta's token endpoint, throttled by its `X-Rate-Limit-*` headers.
const OKTA_TOKEN: TokenEndpoint<OAuthError> = TokenEndpoint {
    name: "the Okta token endpoint",
    wait_asked: |answer| OktaVendor.wait_asked(answer),
    refused: token_error,
};

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: String,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl ServiceApp {
    pub fn new(org: &Url, client_id: &str, pem: &SecretString) -> Result<Self, DirectoryError> {
        let key = EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes()).map_err(|_| {
            DirectoryError::Credentials(
                "private_key_pem is not an RSA private key in PEM form".into(),
            )
        })?;
        Ok(Self {
            token_url: url_under(org, &["oauth2", "v1", "token"], "org_url")?,
            client_id: client_id.to_string(),
            key,
        })
    }

    fn assertion(&self) -> Result<String, DirectoryError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: self.token_url.as_str(),
            iat: now,
            exp: now + ASSERTION_SECONDS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key).map_err(|e| {
            DirectoryError::Credentials(format!("the client assertion could not be signed: {e}"))
        })
    }
}

#[async_trait]
impl Grant for ServiceApp {
    async fn fetch(&self, http: &CloudHttp) -> Result<(SecretString, Duration), DirectoryError> {
        let assertion = self.assertion()?;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", OKTA_SCOPES),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ];
        let token: TokenAnswer = OKTA_TOKEN
            .request(http, &self.token_url, &form, "the Okta token answer")
            .await?;
        if !token.token_type.eq_ignore_ascii_case("bearer") {
            return Err(dpop_unsupported());
        }
        Ok((
            SecretString::from(token.access_token),
            Duration::from_secs(token.expires_in),
        ))
    }
}

fn dpop_unsupported() -> DirectoryError {
    DirectoryError::Credentials(
        "the Okta app requires DPoP-bound tokens, which dirsync does not support. In the app's \
         General settings, turn off 'Require Demonstrating Proof of Possession (DPoP) header in \
         token requests'"
            .into(),
    )
}

fn token_error(status: u16, body: &OAuthError) -> DirectoryError {
    let said = format!(
        "{}: {}",
        shorten(&body.error),
        shorten(&body.error_description)
    );
    match body.error.as_str() {
        "invalid_dpop_proof" | "use_dpop_nonce" => dpop_unsupported(),
        "invalid_client" => DirectoryError::Credentials(format!(
            "Okta refused the client assertion ({said}). Check client_id and that the app's \
             public key matches private_key_pem"
        )),
        "invalid_scope" => DirectoryError::Credentials(format!(
            "the app lacks API scopes ({said}). Grant okta.users.read and okta.groups.read on \
             the app's 'Okta API Scopes' tab"
        )),
        "unauthorized_client" => DirectoryError::Credentials(format!(
            "the app may not use the client credentials grant ({said}). Create it as an API \
             Services app"
        )),
        _ if status >= 500 || status == 429 => {
            DirectoryError::Unreachable(format!("the Okta token endpoint ({said})"))
        }
        _ => DirectoryError::Credentials(format!("Okta refused the token request ({said})")),
    }
}

#[async_trait]
impl Credential for OktaCredential {
    async fn authorization(
        &self,
        http: &CloudHttp,
        refresh: bool,
    ) -> Result<HeaderValue, DirectoryError> {
        match self {
            OktaCredential::ApiToken(token) => {
                sensitive_header(&format!("SSWS {}", token.expose_secret()))
            }
            OktaCredential::PrivateKeyJwt(app) => app.authorization(http, refresh).await,
        }
    }

    fn refreshable(&self) -> bool {
        matches!(self, OktaCredential::PrivateKeyJwt(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpop_demands_say_it_is_not_supported() {
        let body = OAuthError {
            error: "invalid_dpop_proof".into(),
            error_description: "The DPoP proof JWT header is missing.".into(),
        };
        assert!(token_error(400, &body).to_string().contains("DPoP"));
    }

    #[test]
    fn a_bad_key_names_the_field_not_the_key() {
        let pem = SecretString::from("-----BEGIN PRIVATE KEY-----\nnot a key\n");
        let org = Url::parse("https://acme.okta.com").unwrap();
        let error = ServiceApp::new(&org, "0oa1", &pem)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("private_key_pem"), "{error}");
        assert!(!error.contains("not a key"), "{error}");
    }
}
