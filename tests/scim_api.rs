//! The SCIM 2.0 endpoint (CONTRACTS section 6) over HTTP through the real router and store:
//! the token route, CRUD of users and groups, filters and paging, uniqueness, If-Match,
//! the requests Entra ID and Okta send, SCIM error bodies, and the token's secrecy.

use chrono::Utc;
use dirsync::api::MAX_GROUPS;
use dirsync::domain::{ObjectId, PushedKind, PushedResource, TenantId};
use dirsync::ports::Store;
use dirsync_integration_tests::api::{spawn_app, TestApp};
use dirsync_integration_tests::leaks::CapturedLogs;
use reqwest::header::{HeaderMap, CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

struct Scim {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// Makes the tenant's SCIM token through the API, as its admin.
async fn scim_token(app: &TestApp, tenant: &str) -> String {
    let made = app
        .tenant_call(Method::POST, tenant, "/scim/token", None)
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    made.body["token"].as_str().unwrap().to_string()
}

async fn scim(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Scim {
    let mut request = app
        .http
        .request(method, format!("{}/scim/v2/{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header(CONTENT_TYPE, "application/scim+json")
            .body(body.to_string());
    }
    if let Some(tag) = if_match {
        request = request.header(IF_MATCH, tag);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status != StatusCode::NO_CONTENT {
        assert_eq!(
            headers[CONTENT_TYPE], "application/scim+json",
            "{status} {text}"
        );
    }
    Scim {
        status,
        headers,
        body,
    }
}

/// Creates the user `user_name` in tenant `acme`.
async fn post_user(app: &TestApp, token: Option<&str>, user_name: &str) -> Scim {
    scim(
        app,
        Method::POST,
        "acme/Users",
        token,
        Some(user(user_name)),
        None,
    )
    .await
}

/// A GET of `path` (no body, no `If-Match`).
async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Scim {
    scim(app, Method::GET, path, token, None, None).await
}

fn assert_scim_error(answer: &Scim, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["schemas"], json!([ERROR]), "{}", answer.body);
    assert_eq!(answer.body["status"], status.as_u16().to_string());
    assert_eq!(
        answer.body["scimType"].as_str(),
        scim_type,
        "{}",
        answer.body
    );
    assert!(answer.body["detail"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "1001", "type": "work"}],
        ENTERPRISE: {"department": "Sales"},
    })
}

/// One tenant with a token: (app, token).
async fn tenant_with_token() -> (TestApp, String) {
    let app = spawn_app().await;
    let token = scim_token(&app, "acme").await;
    (app, token)
}

#[tokio::test]
async fn users_are_created_read_listed_replaced_patched_and_deleted() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    let created = post_user(&app, t, "ann@example.com").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let location = format!("{}/scim/v2/acme/Users/{id}", app.base);
    assert_eq!(created.headers[LOCATION], location.as_str());
    assert_eq!(created.headers[ETAG], "W/\"1\"");
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert_eq!(created.body["meta"]["location"], location.as_str());
    assert_eq!(created.body["meta"]["version"], "W/\"1\"");
    assert_eq!(created.body["externalId"], "ext-ann@example.com");
    assert_eq!(created.body[ENTERPRISE]["department"], "Sales");

    let read = get(&app, &format!("acme/Users/{id}"), t).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, created.body);

    for name in ["bob@example.com", "cy@example.com"] {
        let made = scim(&app, Method::POST, "acme/Users", t, Some(user(name)), None).await;
        assert_eq!(made.status, StatusCode::CREATED);
    }
    let by_name = get(
        &app,
        "acme/Users?filter=userName%20eq%20%22ANN%40example.com%22",
        t,
    )
    .await;
    assert_eq!(by_name.body["totalResults"], 1, "{}", by_name.body);
    assert_eq!(by_name.body["Resources"][0]["id"], id.as_str());
    let by_external = get(
        &app,
        "acme/Users?filter=externalId%20eq%20%22ext-bob%40example.com%22",
        t,
    )
    .await;
    assert_eq!(
        by_external.body["Resources"][0]["userName"],
        "bob@example.com"
    );
    let by_id = get(&app, &format!("acme/Users?filter=id%20eq%20%22{id}%22"), t).await;
    assert_eq!(by_id.body["totalResults"], 1);
    let none = get(&app, "acme/Users?filter=userName%20eq%20%22nobody%22", t).await;
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));
    let starts = get(
        &app,
        "acme/Users?filter=userName%20sw%20%22b%22%20or%20userName%20sw%20%22c%22",
        t,
    )
    .await;
    assert_eq!(starts.body["totalResults"], 2);

    let page = get(
        &app,
        "acme/Users?startIndex=2&count=1&attributes=userName",
        t,
    )
    .await;
    assert_eq!(page.body["totalResults"], 3);
    assert_eq!(page.body["startIndex"], 2);
    assert_eq!(page.body["itemsPerPage"], 1);
    let one = &page.body["Resources"][0];
    assert!(one["userName"].is_string() && one["id"].is_string());
    assert!(one.get("emails").is_none() && one.get("meta").is_none());
    let all: Vec<Value> = get(&app, "acme/Users?count=10", t).await.body["Resources"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[1]["id"], page.body["Resources"][0]["id"],
        "pages follow one order"
    );

    let mut replaced = user("ann@example.com");
    replaced["title"] = json!("Engineer");
    replaced["name"]["givenName"] = json!("Anna");
    let put = scim(
        &app,
        Method::PUT,
        &format!("acme/Users/{id}"),
        t,
        Some(replaced),
        None,
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["title"], "Engineer");
    assert_eq!(put.body["meta"]["version"], "W/\"2\"");
    assert_eq!(put.body["meta"]["created"], created.body["meta"]["created"]);
    assert_eq!(put.body["id"], id.as_str());

    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "name.familyName", "value": "Li"},
                       {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+15550100"}]});
    let patched = scim(
        &app,
        Method::PATCH,
        &format!("acme/Users/{id}"),
        t,
        Some(patch.clone()),
        None,
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["name"],
        json!({"givenName": "Anna", "familyName": "Li"})
    );
    assert_eq!(
        patched.body["phoneNumbers"][1],
        json!({"type": "mobile", "value": "+15550100"})
    );
    assert_eq!(patched.headers[ETAG], "W/\"3\"");
    // The same PATCH again changes nothing: no new version.
    let again = scim(
        &app,
        Method::PATCH,
        &format!("acme/Users/{id}"),
        t,
        Some(patch),
        None,
    )
    .await;
    assert_eq!(again.body["meta"]["version"], "W/\"3\"");

    let deleted = scim(
        &app,
        Method::DELETE,
        &format!("acme/Users/{id}"),
        t,
        None,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = get(&app, &format!("acme/Users/{id}"), t).await;
    assert_scim_error(&gone, StatusCode::NOT_FOUND, None);
    let twice = scim(
        &app,
        Method::DELETE,
        &format!("acme/Users/{id}"),
        t,
        None,
        None,
    )
    .await;
    assert_scim_error(&twice, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn a_taken_user_name_is_a_uniqueness_conflict_and_if_match_guards_writes() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    let first = post_user(&app, t, "ann@example.com").await;
    let id = first.body["id"].as_str().unwrap().to_string();
    let taken = post_user(&app, t, "ANN@example.com").await;
    assert_scim_error(&taken, StatusCode::CONFLICT, Some("uniqueness"));
    let other = post_user(&app, t, "bob@example.com").await;
    let rename =
        json!({"Operations": [{"op": "replace", "path": "userName", "value": "ann@example.com"}]});
    let path = format!("acme/Users/{}", other.body["id"].as_str().unwrap());
    let renamed = scim(&app, Method::PATCH, &path, t, Some(rename), None).await;
    assert_scim_error(&renamed, StatusCode::CONFLICT, Some("uniqueness"));

    let path = format!("acme/Users/{id}");
    let mut body = user("ann@example.com");
    body["title"] = json!("v2");
    let put = scim(
        &app,
        Method::PUT,
        &path,
        t,
        Some(body.clone()),
        Some("W/\"1\""),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    body["title"] = json!("v3");
    let stale = scim(
        &app,
        Method::PUT,
        &path,
        t,
        Some(body.clone()),
        Some("W/\"1\""),
    )
    .await;
    assert_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None);
    let patch = json!({"Operations": [{"op": "replace", "path": "title", "value": "v3"}]});
    let stale = scim(
        &app,
        Method::PATCH,
        &path,
        t,
        Some(patch.clone()),
        Some("\"1\""),
    )
    .await;
    assert_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None);
    let stale = scim(&app, Method::DELETE, &path, t, None, Some("W/\"7\"")).await;
    assert_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None);
    let read = get(&app, &path, t).await;
    assert_eq!(read.body["title"], "v2", "nothing refused was written");
    let current = scim(&app, Method::PATCH, &path, t, Some(patch), Some("W/\"2\"")).await;
    assert_eq!(current.status, StatusCode::OK);
    let any = scim(&app, Method::DELETE, &path, t, None, Some("*")).await;
    assert_eq!(any.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn entra_ids_provisioning_sequence_is_accepted() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    // Entra ID first looks the user up, then creates it with its default attribute mappings.
    let lookup = get(
        &app,
        "acme/Users?filter=userName+eq+%22Test_User_1%40contoso.com%22",
        t,
    )
    .await;
    assert_eq!(lookup.body["totalResults"], 0);
    let create = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7b2d5a4b1c3e",
        "userName": "Test_User_1@contoso.com",
        "active": true,
        "displayName": "Test User 1",
        "emails": [{"primary": true, "type": "work", "value": "Test_User_1@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Test User 1", "familyName": "User", "givenName": "Test"},
        "phoneNumbers": [{"type": "work", "value": "4711"}, {"type": "mobile", "value": "+49 170 1234567"}],
        "addresses": [{"type": "work", "streetAddress": "1 Main St"}],
        "title": "Engineer",
        ENTERPRISE: {"department": "R&D", "manager": {"value": "someone"}},
    });
    let created = scim(&app, Method::POST, "acme/Users", t, Some(create), None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(
        created.body.get("addresses").is_none(),
        "attributes dirsync does not keep are dropped"
    );
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("acme/Users/{id}");
    // A rename and an attribute update: capitalised ops, an extension path.
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "userName", "value": "Test_User_2@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Testy"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "Test_User_2@contoso.com"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
    ]});
    let renamed = scim(&app, Method::PATCH, &path, t, Some(rename), None).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["userName"], "Test_User_2@contoso.com");
    assert_eq!(
        renamed.body["emails"][0]["value"],
        "Test_User_2@contoso.com"
    );
    assert_eq!(renamed.body[ENTERPRISE]["department"], "Sales");
    // Deactivation: a string boolean.
    let disable = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let disabled = scim(&app, Method::PATCH, &path, t, Some(disable), None).await;
    assert_eq!(disabled.body["active"], false, "{}", disabled.body);

    // Groups: created without members, then members added and removed by value.
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1", "members": []});
    let made = scim(&app, Method::POST, "acme/Groups", t, Some(group), None).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let group_path = format!("acme/Groups/{}", made.body["id"].as_str().unwrap());
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}]});
    let added = scim(&app, Method::PATCH, &group_path, t, Some(add), None).await;
    assert_eq!(
        added.body["members"][0]["value"],
        id.as_str(),
        "{}",
        added.body
    );
    let filter = get(
        &app,
        "acme/Groups?filter=displayName+eq+%22Group1%22&excludedAttributes=members",
        t,
    )
    .await;
    assert_eq!(filter.body["totalResults"], 1);
    assert!(filter.body["Resources"][0].get("members").is_none());
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": id}]}]});
    let removed = scim(&app, Method::PATCH, &group_path, t, Some(remove), None).await;
    assert!(removed.body.get("members").is_none(), "{}", removed.body);
    let deleted = scim(&app, Method::DELETE, &path, t, None, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn oktas_put_and_deactivation_are_accepted() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    let created = post_user(&app, t, "okta@example.com").await;
    let path = format!("acme/Users/{}", created.body["id"].as_str().unwrap());
    // Okta replaces the whole profile with PUT.
    let mut profile = created.body.clone();
    profile["name"]["familyName"] = json!("Okta");
    profile["phoneNumbers"] = json!([{"value": "2002", "type": "work", "primary": true}]);
    let put = scim(&app, Method::PUT, &path, t, Some(profile), None).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(
        put.body["phoneNumbers"],
        json!([{"value": "2002", "type": "work", "primary": true}])
    );
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let off = scim(&app, Method::PATCH, &path, t, Some(deactivate), None).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(off.body["name"]["familyName"], "Okta");
}

/// The cap counts what the tenant keeps (the store's count, not a read of every group): the
/// 5,000th group is created, the next refused with nothing written, and a delete frees a place.
#[tokio::test]
async fn a_tenant_keeps_at_most_max_groups() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    let tenant = TenantId::parse("acme").unwrap();
    // Seeded through the store: 4,999 creates over HTTP would be slow.
    for n in 1..MAX_GROUPS {
        let group = PushedResource {
            kind: PushedKind::Group,
            id: ObjectId::parse(format!("seeded-{n}")).unwrap(),
            external_id: None,
            name: format!("seeded-{n}"),
            version: 1,
            created: Utc::now(),
            last_modified: Utc::now(),
            attributes: json!({"displayName": format!("seeded-{n}")}),
        };
        app.service
            .store
            .create_pushed(&tenant, &group)
            .await
            .unwrap();
    }
    let group = |name: &str| Some(json!({"displayName": name}));
    let last = scim(&app, Method::POST, "acme/Groups", t, group("last"), None).await;
    assert_eq!(last.status, StatusCode::CREATED, "{}", last.body);
    let refused = scim(
        &app,
        Method::POST,
        "acme/Groups",
        t,
        group("one-more"),
        None,
    )
    .await;
    assert_scim_error(&refused, StatusCode::BAD_REQUEST, None);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("at most {MAX_GROUPS} groups")),
        "{detail}"
    );
    let kept = app.service.store.count_pushed(&tenant, PushedKind::Group);
    assert_eq!(kept.await.unwrap(), MAX_GROUPS, "nothing written");
    let one_more = get(
        &app,
        "acme/Groups?filter=displayName%20eq%20%22one-more%22",
        t,
    )
    .await;
    assert_eq!(one_more.body["totalResults"], 0, "{}", one_more.body);

    let last_id = last.body["id"].as_str().unwrap();
    let path = format!("acme/Groups/{last_id}");
    let deleted = scim(&app, Method::DELETE, &path, t, None, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let again = scim(
        &app,
        Method::POST,
        "acme/Groups",
        t,
        group("one-more"),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
}

#[tokio::test]
async fn group_members_must_be_users_and_a_deleted_user_leaves_its_groups() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    let ann = post_user(&app, t, "ann@example.com").await;
    let ann = ann.body["id"].as_str().unwrap().to_string();
    let stranger =
        json!({"displayName": "Sales", "members": [{"value": ann}, {"value": "no-such-user"}]});
    let refused = scim(&app, Method::POST, "acme/Groups", t, Some(stranger), None).await;
    assert_scim_error(&refused, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let sales = scim(
        &app,
        Method::POST,
        "acme/Groups",
        t,
        Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        None,
    )
    .await;
    assert_eq!(sales.status, StatusCode::CREATED, "{}", sales.body);
    let sales_id = sales.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        sales.body["members"][0]["$ref"],
        format!("{}/scim/v2/acme/Users/{ann}", app.base)
    );
    // A group is not a member: groups in groups are not kept.
    let nested =
        json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": sales_id}]}]});
    let refused = scim(
        &app,
        Method::PATCH,
        &format!("acme/Groups/{sales_id}"),
        t,
        Some(nested),
        None,
    )
    .await;
    assert_scim_error(&refused, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let twin = scim(
        &app,
        Method::POST,
        "acme/Groups",
        t,
        Some(json!({"displayName": "SALES"})),
        None,
    )
    .await;
    assert_scim_error(&twin, StatusCode::CONFLICT, Some("uniqueness"));

    let deleted = scim(
        &app,
        Method::DELETE,
        &format!("acme/Users/{ann}"),
        t,
        None,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let after = get(&app, &format!("acme/Groups/{sales_id}"), t).await;
    assert!(after.body.get("members").is_none(), "{}", after.body);
    assert_eq!(after.body["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn bad_requests_get_scim_errors_and_change_nothing() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    let not_json = app
        .http
        .post(format!("{}/scim/v2/acme/Users", app.base))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "application/json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_json.headers()[CONTENT_TYPE], "application/scim+json");
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
    for (path, scim_type) in [
        ("acme/Users?filter=userName%20zz%20%22a%22", "invalidFilter"),
        ("acme/Users?filter=password%20eq%20%22a%22", "invalidFilter"),
        (
            "acme/Users?filter=(userName%20eq%20%22a%22",
            "invalidFilter",
        ),
        ("acme/Users?count=many", "invalidValue"),
        ("acme/Users?attributes=nosuch", "invalidValue"),
    ] {
        let answer = get(&app, path, t).await;
        assert_scim_error(&answer, StatusCode::BAD_REQUEST, Some(scim_type));
    }
    let no_name = scim(
        &app,
        Method::POST,
        "acme/Users",
        t,
        Some(json!({"active": true})),
        None,
    )
    .await;
    assert_scim_error(&no_name, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let bad_bool = scim(
        &app,
        Method::POST,
        "acme/Users",
        t,
        Some(json!({"userName": "a", "active": "perhaps"})),
        None,
    )
    .await;
    assert_scim_error(&bad_bool, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let huge = json!({"userName": "a", "title": "x".repeat(2 * 1024 * 1024)});
    let too_large = scim(&app, Method::POST, "acme/Users", t, Some(huge), None).await;
    assert_scim_error(&too_large, StatusCode::PAYLOAD_TOO_LARGE, None);
    let missing = get(&app, "acme/Users/no-such-id", t).await;
    assert_scim_error(&missing, StatusCode::NOT_FOUND, None);
    let nowhere = get(&app, "acme/Bulk", t).await;
    assert_scim_error(&nowhere, StatusCode::NOT_FOUND, None);
    let method = scim(&app, Method::DELETE, "acme/Users", t, None, None).await;
    assert_scim_error(&method, StatusCode::METHOD_NOT_ALLOWED, None);
    let patch = scim(
        &app,
        Method::PATCH,
        "acme/Users/x",
        t,
        Some(json!({"Operations": [{"op": "jump"}]})),
        None,
    )
    .await;
    assert_scim_error(&patch, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let search = scim(&app, Method::POST, "acme/.search", t, Some(json!({})), None).await;
    assert_scim_error(&search, StatusCode::NOT_IMPLEMENTED, None);
    let listed = get(&app, "acme/Users", t).await;
    assert_eq!(
        listed.body["totalResults"], 0,
        "no refused request stored anything"
    );
}

#[tokio::test]
async fn discovery_describes_users_groups_and_the_enterprise_extension() {
    let (app, token) = tenant_with_token().await;
    let t = Some(token.as_str());
    let spc = get(&app, "acme/ServiceProviderConfig", t).await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["etag"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    let types = get(&app, "acme/ResourceTypes", t).await;
    assert_eq!(types.body["totalResults"], 2);
    let user_type = get(&app, "acme/ResourceTypes/User", t).await;
    assert_eq!(user_type.body["endpoint"], "/Users");
    assert_eq!(user_type.body["schemaExtensions"][0]["schema"], ENTERPRISE);
    let schemas = get(&app, "acme/Schemas", t).await;
    assert_eq!(schemas.body["totalResults"], 3);
    let enterprise = get(&app, &format!("acme/Schemas/{ENTERPRISE}"), t).await;
    assert_eq!(enterprise.status, StatusCode::OK);
    assert!(enterprise.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "department"));
    let unknown = get(&app, "acme/Schemas/urn:nothing", t).await;
    assert_scim_error(&unknown, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn only_the_tenants_current_token_gets_in_and_no_token_is_ever_logged() {
    let logs = CapturedLogs::install("debug");
    let app = spawn_app().await;
    let acme = scim_token(&app, "acme").await;
    assert!(acme.starts_with("dirsync_scim_") && acme.len() > 60);
    let globex = scim_token(&app, "globex").await;
    let ok = scim(
        &app,
        Method::POST,
        "acme/Users",
        Some(&acme),
        Some(user("ann@example.com")),
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let wrong = format!("{acme}x");
    for (path, token) in [
        ("acme/Users", None),
        ("acme/Users", Some(wrong.as_str())),
        ("acme/Users", Some("")),
        // Another tenant's token on this tenant's path.
        ("acme/Users", Some(globex.as_str())),
        ("globex/Users", Some(acme.as_str())),
        // A tenant without a SCIM token, one that does not exist, a malformed id.
        ("initech/Users", Some(acme.as_str())),
        ("NOT_A_TENANT/Users", Some(acme.as_str())),
        ("acme/ServiceProviderConfig", Some(wrong.as_str())),
    ] {
        let refused = get(&app, path, token).await;
        assert_scim_error(&refused, StatusCode::UNAUTHORIZED, None);
    }
    // The JWT of the API is not a SCIM token.
    let jwt = app.token("acme");
    let refused = get(&app, "acme/Users", Some(&jwt)).await;
    assert_scim_error(&refused, StatusCode::UNAUTHORIZED, None);
    // The token route: the tenant's admin or the operator, never another tenant's admin.
    let other = app
        .call(
            Method::POST,
            "/v1/tenants/acme/scim/token",
            Some(&app.token("globex")),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    let replaced = app
        .call(
            Method::POST,
            "/v1/tenants/acme/scim/token",
            Some(&app.operator()),
            None,
        )
        .await;
    assert_eq!(replaced.status, StatusCode::CREATED, "{}", replaced.text);
    let new = replaced.body["token"].as_str().unwrap().to_string();
    assert_ne!(new, acme);
    let old = get(&app, "acme/Users", Some(&acme)).await;
    assert_scim_error(&old, StatusCode::UNAUTHORIZED, None);
    let current = get(&app, "acme/Users", Some(&new)).await;
    assert_eq!(current.body["totalResults"], 1);
    // The tenant's other settings writes keep the token.
    app.service
        .simulator
        .add_account("acme", "pbx-token-of-acme-0123456789", 10);
    let base_url = app.service.simulator_base_url("acme");
    let pbx =
        json!({"base_url": base_url, "credentials": {"token": "pbx-token-of-acme-0123456789"}});
    let put = app
        .tenant_call(Method::PUT, "acme", "/pbx", Some(pbx))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let still = get(&app, "acme/Users", Some(&new)).await;
    assert_eq!(still.status, StatusCode::OK);

    let text = logs.text();
    assert!(
        text.contains("/scim/v2/acme/Users"),
        "the requests were logged"
    );
    for token in [&acme, &globex, &new, &wrong] {
        assert!(!text.contains(token.as_str()), "a SCIM token was logged");
    }
    // The store keeps the hash only.
    for (path, content) in dirsync_integration_tests::leaks::files_under(app.state.path(), None) {
        for token in [&acme, &globex, &new] {
            assert!(
                !content.contains(token.as_str()),
                "{path} holds a SCIM token"
            );
        }
    }
}
