//! The OpenAPI 3.1 document, generated from the handlers' annotations. The copy checked into
//! the repo (`openapi.json`) is compared with it by a test, and `scripts/api-fuzz` checks the
//! running API against it.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::routes::{
    associations, directory, listing, login, meta, runs, scim_token, users, RunStarted,
};
use super::schemas::*;
use super::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "dirsync provisioning API", description = "CONTRACTS section 1"),
    paths(
        directory::put, directory::get, directory::delete, directory::pause,
        directory::resume, directory::put_pbx, directory::test,
        runs::preview, runs::sync_now, runs::status, runs::list, runs::get, runs::approve,
        listing::extensions, users::explain, listing::tenants, meta::health, meta::openapi,
        associations::put, associations::delete, login::verify, scim_token::create,
    ),
    components(schemas(
        ErrorBody, FieldErrorSchema, RunStarted, directory::PauseBody, directory::PbxBody,
        DirectoryConfigSchema, TenantStateSchema, StoredConfigSchema, StateAnswerSchema,
        ReleasedSchema, PbxAnswerSchema, ConnectionReportSchema, PlanSchema, ObjectChangesSchema, PhonebookChangesSchema, PhonebookRemoveSchema, RunSummarySchema,
        RunRecordSchema, SyncStatusSchema, UserExplanationSchema, RunPageSchema, ExtensionPageSchema, TenantPageSchema,
        HealthSchema, OpenApiDocumentSchema, associations::AssociationBody,
        associations::Association, login::LoginRequest, login::LoginVerified,
        scim_token::ScimToken,
    )),
    modifiers(&BearerAuth, &CommonAnswers),
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

/// The tenant ids `TenantId::parse` takes (CONTRACTS section 1).
const TENANT_PATTERN: &str = "^[a-z0-9][a-z0-9-]{1,62}$";

/// The routes without auth.
const PUBLIC_PATHS: [&str; 2] = ["/v1/health", "/v1/openapi.json"];

/// What every route shares, added in one place rather than on each annotation: the answers
/// of the auth extractor (401, 403) and of input checks (400: the tenant id of the path, a
/// query or a body; 413: a body over the limit; 414: a URI over the limit), no security on
/// the public routes, and the pattern of the tenant id `t`.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = PUBLIC_PATHS.contains(&path.as_str());
            for operation in operations(item) {
                answers(operation, "414", "the request URI is too long");
                if public {
                    operation.security = Some(Vec::new());
                    continue;
                }
                answers(operation, "400", "invalid input: one detail per bad field");
                answers(operation, "401", "no valid bearer token");
                answers(
                    operation,
                    "403",
                    "the token is not for this tenant or route",
                );
                if operation.request_body.is_some() {
                    answers(operation, "413", "the body is over the size limit");
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "t" {
                        let schema = ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some(TENANT_PATTERN));
                        parameter.schema = Some(RefOr::T(schema.into()));
                    }
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Adds an error answer with `status` unless the annotation has one.
fn answers(operation: &mut Operation, status: &str, description: &str) {
    let error = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", error)
                    .build(),
            )
        });
}

/// The document as pretty JSON, the form checked into the repo.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    // The crate version would make the file change on every release; the contract's is fixed.
    doc.info.version = "1".to_string();
    doc.to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
