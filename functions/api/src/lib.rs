//! The `api` Lambda: the provisioning API router behind API Gateway (HTTP API, JWT
//! authorizer). The authorizer has checked the token; its claims ride in the request context
//! and become [`GatewayClaims`] for the router's one auth extractor.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use dirsync::api::{router, ApiState, GatewayClaims};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;

/// The router with the authorizer's claims moved into [`GatewayClaims`]. `state.auth` must be
/// `Auth::Gateway`.
pub fn app(state: ApiState) -> Router {
    router(state).layer(axum::middleware::from_fn(claims_from_context))
}

async fn claims_from_context(mut request: Request, next: Next) -> Response {
    let claims = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| GatewayClaims(jwt.claims.clone())),
        _ => None,
    };
    if let Some(claims) = claims {
        request.extensions_mut().insert(claims);
    }
    next.run(request).await
}
