//! Microsoft Entra ID over Microsoft Graph (`provider.type = "azure"`): `/v1.0/users` for the
//! whole directory, or the transitive user members of the scope's groups, paged with
//! `@odata.nextLink` and read with the mapped properties only; extension groups from
//! `/v1.0/groups` and their transitive user members.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::directory::{CloudDirectory, Provider, Tenant};
use super::graph_batch::GraphCalls;
use super::graph_token::{ClientCredentials, ClientSecret};
use super::groups::{GroupListing, NamedGroup};
use super::http::{shorten, Answer, CloudHttp, Credential, Vendor};
use super::json_fields::JsonFields;
use super::read::{LinkWording, Listing, Page, PagedSource, Pager};
use super::urls::url_under;
use crate::domain::config::{AzureCloud, AzureConfig};
use crate::domain::organization::AttributeOrganizations;
use crate::domain::{ChangeCursor, DirectoryChanges, DirectoryUser, ObjectId, UserState};
use crate::error::DirectoryError;
use crate::http_retry::retry_after;

/// Graph's largest page of users.
const PAGE_SIZE: &str = "999";
/// Properties read besides the mapped ones: the id, and what decides state and guest status.
const FIXED_PROPERTIES: [&str; 3] = ["id", "accountEnabled", "userType"];
/// What an extension group is read with.
const GROUP_PROPERTIES: &str = "id,displayName";
/// How errors name a next-page link of Graph's that is not followed.
const NEXT_LINKS: LinkWording = LinkWording {
    malformed: "a bad @odata.nextLink",
    elsewhere: "an @odata.nextLink points away from the Graph host",
    repeated: "Graph repeated an @odata.nextLink",
};

/// The login host, the Graph host and the token scope of each national cloud.
fn cloud_hosts(cloud: AzureCloud) -> (&'static str, &'static str) {
    match cloud {
        AzureCloud::Global => (
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com",
        ),
        AzureCloud::UsGov => (
            "https://login.microsoftonline.us",
            "https://graph.microsoft.us",
        ),
        AzureCloud::China => (
            "https://login.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
    }
}

/// Microsoft Graph: `/v1.0/users`, or the transitive user members of each group.
pub type GraphDirectory = CloudDirectory<Graph>;

/// Graph's part of a [`GraphDirectory`].
pub struct Graph {
    credential: ClientCredentials,
    fields: JsonFields,
    /// `$select`: the mapped properties and [`FIXED_PROPERTIES`].
    pub(super) select: String,
    include_guests: bool,
    /// `fields.avatar` is on: each in-scope user's photo metadata is read too.
    photos: bool,
}

#[derive(Deserialize)]
struct GraphPage {
    value: Vec<Map<String, Value>>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

impl Provider for Graph {
    type Config = AzureConfig;

    fn new(azure: &AzureConfig, tenant: Tenant<'_>) -> Result<(Self, Pager), DirectoryError> {
        let listing = Listing::of(tenant.config)?;
        let groups = GroupListing::of(tenant.config)?;
        let secret: SecretString =
            tenant.secrets.client_secret.clone().ok_or_else(|| {
                DirectoryError::Credentials("the client secret is not set".into())
            })?;
        let (login_default, graph_default) = cloud_hosts(azure.cloud);
        let operator_url = |value: Option<&String>, default: &str, name: &str| {
            Url::parse(value.map_or(default, String::as_str))
                .map_err(|e| DirectoryError::NotAvailable(format!("{name} is not a URL: {e}")))
        };
        let login_base = operator_url(
            tenant.options.login_url.as_ref(),
            login_default,
            "DIRSYNC_LOGIN_URL",
        )?;
        let graph_base = operator_url(
            tenant.options.graph_url.as_ref(),
            graph_default,
            "DIRSYNC_GRAPH_URL",
        )?;
        let grant = ClientSecret::new(
            &login_base,
            &azure.tenant_id,
            &azure.client_id,
            secret,
            // The scope names the cloud's Graph resource, whichever host serves it.
            format!("{graph_default}/.default"),
        )?;
        let credential = ClientCredentials::new(grant);
        let fields = JsonFields::new(tenant.config);
        let mut select: Vec<&str> = FIXED_PROPERTIES.to_vec();
        for name in fields.names() {
            if !select.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                select.push(name);
            }
        }
        let select = select.join(",");
        let graph = Graph {
            credential,
            fields,
            select,
            include_guests: azure.include_guests,
            photos: tenant.config.avatar_source().is_some(),
        };
        Ok((
            graph,
            Pager::new(graph_base, &GraphVendor, NEXT_LINKS, listing, groups),
        ))
    }

    /// Microsoft's hosts, or the operator's.
    const TENANT_HOST: bool = false;
}

impl Graph {
    /// Graph's requests beside the listings (batches, photos), with this pager's rules.
    pub(super) fn calls<'a>(&'a self, pager: &'a Pager, http: &'a CloudHttp) -> GraphCalls<'a> {
        GraphCalls {
            base: &pager.base,
            http,
            credential: &self.credential,
            vendor: pager.vendor,
        }
    }

    /// A listing of users under the Graph host, with the properties read and the largest page.
    fn listing_url(&self, base: &Url, path: &[&str]) -> Result<Url, DirectoryError> {
        listing_url(base, path, &self.select)
    }
}

/// A listing under the Graph host with these properties and the largest page.
fn listing_url(base: &Url, path: &[&str], select: &str) -> Result<Url, DirectoryError> {
    let mut url = url_under(base, path, "the Graph URL")?;
    url.query_pairs_mut()
        .append_pair("$select", select)
        .append_pair("$top", PAGE_SIZE);
    Ok(url)
}

/// A group as Graph answers it, with [`GROUP_PROPERTIES`] selected.
#[derive(Deserialize)]
struct GraphGroup {
    id: String,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct GraphGroupPage {
    value: Vec<GraphGroup>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

impl GraphGroup {
    fn named(self) -> Result<NamedGroup, DirectoryError> {
        let object_id = ObjectId::parse(self.id).map_err(|e| {
            DirectoryError::Protocol(format!("a Graph group id is not usable: {e}"))
        })?;
        // Graph requires a display name; an empty one still names the group by its id.
        let name = self
            .display_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| object_id.to_string());
        Ok(NamedGroup { object_id, name })
    }
}

#[async_trait]
impl PagedSource for Graph {
    type Item = Map<String, Value>;

    fn users_url(&self, base: &Url) -> Result<Url, DirectoryError> {
        self.listing_url(base, &["v1.0", "users"])
    }

    /// `PATCH /v1.0/users/{id}`: needs `User.ReadWrite.All` (403 `Authorization_RequestDenied`
    /// without it).
    fn write_back_request(
        &self,
        base: &Url,
        user: &ObjectId,
        attribute: &str,
        value: &str,
    ) -> Result<(reqwest::Method, Url, Value), DirectoryError> {
        let url = url_under(base, &["v1.0", "users", user.as_str()], "the Graph URL")?;
        Ok((
            reqwest::Method::PATCH,
            url,
            serde_json::json!({ attribute: value }),
        ))
    }

    fn members_url(&self, base: &Url, group: &str) -> Result<Url, DirectoryError> {
        let path = [
            "v1.0",
            "groups",
            group,
            "transitiveMembers",
            "microsoft.graph.user",
        ];
        self.listing_url(base, &path)
    }

    fn page(&self, answer: &Answer) -> Result<Page<Self::Item>, DirectoryError> {
        let page: GraphPage = answer.json("a Graph page of users")?;
        Ok(Page {
            items: page.value,
            next: page.next_link,
        })
    }

    fn user(
        &self,
        object: Map<String, Value>,
        organizations: &mut AttributeOrganizations,
    ) -> Result<DirectoryUser, DirectoryError> {
        let object_id = self.member_id(&object)?;
        let enabled = object.get("accountEnabled").and_then(Value::as_bool);
        let guest = object
            .get("userType")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"));
        let state = if enabled == Some(false) {
            UserState::Disabled
        } else {
            UserState::Active
        };
        // Guests are reported, out of scope, so that `remove_when` decides about them.
        let in_scope = !guest || self.include_guests;
        Ok(self
            .fields
            .map(&object)
            .into_user(object_id, state, in_scope, organizations))
    }

    fn member_id(&self, object: &Map<String, Value>) -> Result<ObjectId, DirectoryError> {
        object
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| DirectoryError::Protocol("a Graph user has no id".into()))
            .and_then(|id| {
                ObjectId::parse(id).map_err(|e| {
                    DirectoryError::Protocol(format!("a Graph user id is not usable: {e}"))
                })
            })
    }

    fn group_url(&self, base: &Url, group: &str) -> Result<Url, DirectoryError> {
        let mut url = url_under(base, &["v1.0", "groups", group], "the Graph URL")?;
        url.query_pairs_mut()
            .append_pair("$select", GROUP_PROPERTIES);
        Ok(url)
    }

    fn groups_url(&self, base: &Url) -> Result<Url, DirectoryError> {
        listing_url(base, &["v1.0", "groups"], GROUP_PROPERTIES)
    }

    fn group_members_url(&self, base: &Url, group: &str) -> Result<Url, DirectoryError> {
        let path = [
            "v1.0",
            "groups",
            group,
            "transitiveMembers",
            "microsoft.graph.user",
        ];
        listing_url(base, &path, "id")
    }

    fn group(&self, answer: &Answer) -> Result<NamedGroup, DirectoryError> {
        answer.json::<GraphGroup>("a Graph group")?.named()
    }

    fn group_page(&self, answer: &Answer) -> Result<Page<NamedGroup>, DirectoryError> {
        let page: GraphGroupPage = answer.json("a Graph page of groups")?;
        Ok(Page {
            items: page
                .value
                .into_iter()
                .map(GraphGroup::named)
                .collect::<Result<_, _>>()?,
            next: page.next_link,
        })
    }

    fn credential(&self) -> &dyn Credential {
        &self.credential
    }

    async fn photo_refs(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        users: &mut [DirectoryUser],
    ) -> Result<(), DirectoryError> {
        if !self.photos {
            return Ok(());
        }
        self.calls(pager, http).photo_refs(users).await
    }

    async fn read_photo(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        user: &ObjectId,
    ) -> Result<Option<Vec<u8>>, DirectoryError> {
        if !self.photos {
            return Ok(None);
        }
        self.calls(pager, http).photo_bytes(user).await
    }

    async fn change_cursor(
        &self,
        pager: &Pager,
        http: &CloudHttp,
    ) -> Result<Option<ChangeCursor>, DirectoryError> {
        self.start_changes(pager, http).await.map(Some)
    }

    async fn read_changes(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        self.changes(pager, http, cursor).await
    }

    async fn check_token(&self, _: &Pager, http: &CloudHttp) -> Result<String, DirectoryError> {
        self.credential.token(http, false).await?;
        Ok("Entra ID issued an access token for Microsoft Graph".to_string())
    }

    /// Microsoft supports no password check for this (ROPC is discouraged and fails for
    /// federated and MFA users): the PBX's clients sign in to Entra ID themselves.
    async fn verify_login(
        &self,
        _: &Pager,
        _: &CloudHttp,
        _: &str,
        _: &SecretString,
    ) -> Result<crate::ports::LoginOutcome, DirectoryError> {
        Ok(crate::ports::LoginOutcome::Unsupported(
            "Entra ID users sign in with single sign-on (OpenID Connect) against Entra ID, \
             not with a password checked by dirsync"
                .into(),
        ))
    }
}

/// Graph's error body: `{"error": {"code", "message", "innerError"}}`.
#[derive(Deserialize, Default)]
struct GraphErrorBody {
    #[serde(default)]
    error: GraphError,
}

#[derive(Deserialize, Default)]
struct GraphError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

struct GraphVendor;

impl Vendor for GraphVendor {
    fn wait_asked(&self, answer: &Answer) -> Option<Duration> {
        retry_after(&answer.headers)
    }

    fn error(&self, answer: &Answer) -> DirectoryError {
        let body: GraphErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
        let GraphError { code, message } = body.error;
        let said = format!("{}: {}", shorten(&code), shorten(&message));
        match (answer.status.as_u16(), code.as_str()) {
            (401, _) => DirectoryError::Credentials(format!(
                "Microsoft Graph refused the access token ({said})"
            )),
            (403, _) => DirectoryError::Credentials(format!(
                "the app may not read users ({said}). Grant the Microsoft Graph application \
                 permissions User.Read.All and GroupMember.Read.All with admin consent"
            )),
            (404, _) => DirectoryError::NotAvailable(format!(
                "a group was not found ({said}). Check the group object ids in scope.groups \
                 and extension_groups.groups"
            )),
            (429, _) => DirectoryError::Unreachable(format!("Graph kept throttling ({said})")),
            // A delta link Graph no longer serves (expired, or the tenant's sync state was
            // reset): only a full read can say what the directory holds.
            (410, _) | (400, "syncStateNotFound" | "syncStateInvalid" | "resyncRequired") => {
                DirectoryError::ChangesUnavailable(format!(
                    "Graph no longer serves the kept delta link ({said})"
                ))
            }
            (status, _) => DirectoryError::Protocol(format!("Graph answered {status} ({said})")),
        }
    }
}
