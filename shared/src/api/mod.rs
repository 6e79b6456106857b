//! The provisioning API of CONTRACTS section 1: one axum router, served by the `api` Lambda
//! (through `lambda_http`) and by `dirsync-local` on `--listen`.

mod auth;
mod body;
mod console;
mod directory_request;
mod error;
mod openapi;
mod routes;
mod schemas;
mod scim;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post, put};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use auth::{Auth, Caller, GatewayClaims, LOGIN_SCOPE, OPERATOR_SCOPE};
pub use body::BODY_LIMIT;
pub use error::{ApiError, ErrorBody};
pub use openapi::openapi_json;
pub use scim::{MAX_GROUPS, MAX_MEMBERS, MAX_USERS, SCIM_BODY_LIMIT};

use crate::app::TenantService;
use crate::domain::EndpointPolicy;
use crate::ports::{Secrets, Store};
use crate::sync::{RunQueue, SyncEngine};

/// What every handler reaches: built once (per Lambda cold start, or per local process).
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub secrets: Arc<dyn Secrets>,
    pub engine: SyncEngine,
    pub queue: Arc<dyn RunQueue>,
    pub policy: EndpointPolicy,
    /// The operator's LDIF folder (`Settings::ldif_dir`, the connector's `ldif_root`): an
    /// `ldif` path outside it is refused at PUT. `None` refuses every `ldif` path.
    pub ldif_root: Option<PathBuf>,
    pub auth: Arc<Auth>,
    /// The longest a connection test may take, all steps together.
    pub test_timeout: Duration,
}

impl ApiState {
    /// The tenant operations, over this state's store and secrets.
    pub fn tenants(&self) -> TenantService {
        TenantService::new(self.store.clone(), self.secrets.clone())
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: ApiState) -> Router {
    use routes::{associations, directory, listing, login, meta, runs, scim_token, users};
    let tenant = Router::new()
        .route(
            "/directory",
            put(directory::put)
                .get(directory::get)
                .delete(directory::delete),
        )
        .route("/directory/pause", post(directory::pause))
        .route("/directory/resume", post(directory::resume))
        .route("/directory/test", post(directory::test))
        .route("/pbx", put(directory::put_pbx))
        .route("/sync/preview", post(runs::preview))
        .route("/sync", post(runs::sync_now))
        .route("/sync/status", get(runs::status))
        .route("/sync/runs", get(runs::list))
        .route("/sync/runs/{run_id}", get(runs::get))
        .route("/sync/runs/{run_id}/approve", post(runs::approve))
        .route("/extensions", get(listing::extensions))
        .route("/users/{object_id}", get(users::explain))
        .route("/auth/verify", post(login::verify))
        .route("/scim/token", post(scim_token::create))
        .route(
            "/associations/{object_id}",
            put(associations::put).delete(associations::delete),
        );
    Router::new()
        .nest("/v1/tenants/{t}", tenant)
        .route("/v1/tenants", get(listing::tenants))
        .route("/v1/health", get(meta::health))
        .route("/v1/openapi.json", get(meta::openapi))
        .merge(console::routes())
        .nest("/scim/v2/{t}", scim::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(body::uri_limit))
        .layer(axum::middleware::map_response(body::json_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
}

/// Every log line of a request carries its id (and never its headers or body).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}
