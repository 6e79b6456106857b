//! The OpenAPI 3.1 document, generated from the handlers' annotations. The copy checked into
//! the repo (`openapi.json`) is compared with it by a test.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::routes::{directory, listing, meta, runs, RunStarted};
use super::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "dirsync provisioning API", description = "CONTRACTS section 1"),
    paths(
        directory::put, directory::get, directory::delete, directory::pause,
        directory::resume, directory::put_pbx, directory::test,
        runs::preview, runs::sync_now, runs::status, runs::list, runs::get, runs::approve,
        listing::extensions, listing::tenants, meta::health, meta::openapi,
    ),
    components(schemas(ErrorBody, RunStarted)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document as pretty JSON, the form checked into the repo.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    // The crate version would make the file change on every release; the contract's is fixed.
    doc.info.version = "1".to_string();
    doc.to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
