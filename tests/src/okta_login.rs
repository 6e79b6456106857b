//! The OAuth 2.0 token endpoint of the Okta test server: client credentials for a service app
//! with `private_key_jwt`, the assertion checked as Okta checks it, and DPoP demands.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

use crate::cloud_server::{lock, opaque};
use crate::okta_server::{service_app_key, OktaState, OKTA_SCOPES, SERVICE_APP_CLIENT_ID};

fn oauth_error(error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    /// Required, as by Okta (replay protection): an assertion without one does not parse.
    #[allow(dead_code)]
    jti: String,
}

pub(crate) async fn token(
    State(state): State<Arc<Mutex<OktaState>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if s.require_dpop && !headers.contains_key("dpop") {
        return oauth_error(
            "invalid_dpop_proof",
            "The DPoP proof JWT header is missing.",
        );
    }
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        );
    }
    if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return oauth_error("invalid_client", "client_assertion_type is invalid.");
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let audience = format!("http://{host}/oauth2/v1/token");
    let Ok(key) = DecodingKey::from_rsa_pem(service_app_key().public_pem.as_bytes()) else {
        return oauth_error("server_error", "the test key does not load");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[SERVICE_APP_CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims =
        match jsonwebtoken::decode::<AssertionClaims>(field("client_assertion"), &key, &validation)
        {
            Ok(data) => data.claims,
            Err(e) => {
                return oauth_error(
                    "invalid_client",
                    &format!("The client_assertion is invalid: {e}"),
                )
            }
        };
    if claims.sub != SERVICE_APP_CLIENT_ID || claims.iss != claims.sub {
        return oauth_error(
            "invalid_client",
            "The client_assertion subject is not the client.",
        );
    }
    let asked: HashSet<&str> = field("scope").split(' ').collect();
    let granted: HashSet<&str> = OKTA_SCOPES.split(' ').collect();
    if asked.is_empty() || !asked.is_subset(&granted) {
        return oauth_error(
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        );
    }
    let token = format!("eyJraWQiOiJ0ZXN0.{}", opaque());
    s.access_tokens.insert(token.clone());
    s.tokens_issued += 1;
    Json(
        json!({"token_type": "Bearer", "expires_in": 3600, "access_token": token,
        "scope": field("scope")}),
    )
    .into_response()
}
