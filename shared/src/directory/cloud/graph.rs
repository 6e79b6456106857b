//! Microsoft Entra ID over Microsoft Graph (`provider.type = "azure"`): `/v1.0/users` for the
//! whole directory, or the transitive user members of the scope's groups, paged with
//! `@odata.nextLink` and read with the mapped properties only.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::graph_token::ClientCredentials;
use super::http::{shorten, Answer, CloudHttp, CloudOptions, Vendor};
use super::json_fields::JsonFields;
use super::read::{cut_short, token_then_search, GroupMembers};
use crate::domain::config::{AzureCloud, ProviderConfig, Scope};
use crate::domain::{
    ConnectionReport, Coverage, DirectoryConfig, DirectoryUser, ObjectId, Snapshot, UserState,
};
use crate::error::DirectoryError;
use crate::http_retry::retry_after;
use crate::ports::{Directory, TenantSecrets};

/// Graph's largest page of users.
const PAGE_SIZE: &str = "999";
/// Properties read besides the mapped ones: the id, and what decides state and guest status.
const FIXED_PROPERTIES: [&str; 3] = ["id", "accountEnabled", "userType"];

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

pub struct GraphDirectory {
    http: CloudHttp,
    credential: ClientCredentials,
    graph_base: Url,
    /// `None`: the whole directory; else the group ids whose transitive members are read.
    groups: Option<Vec<String>>,
    include_guests: bool,
    fields: JsonFields,
    /// `$select`: the mapped properties and [`FIXED_PROPERTIES`].
    select: String,
}

#[derive(Deserialize)]
struct GraphPage {
    value: Vec<Map<String, Value>>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

impl GraphDirectory {
    /// A reader of the tenant's Entra directory. Hosts come from `cloud`, or from the
    /// operator's `options` overrides.
    pub fn new(
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        options: &CloudOptions,
    ) -> Result<Self, DirectoryError> {
        let ProviderConfig::Azure(azure) = &config.provider else {
            return Err(DirectoryError::NotAvailable(format!(
                "the Graph reader cannot read a '{}' directory",
                config.provider.kind()
            )));
        };
        let groups = match &config.scope {
            Scope::All => None,
            Scope::Groups { groups } => Some(groups.clone()),
            _ => {
                return Err(DirectoryError::NotAvailable(
                    "an azure directory takes scope 'all' or 'groups'".into(),
                ))
            }
        };
        let secret: SecretString = secrets
            .client_secret
            .clone()
            .ok_or_else(|| DirectoryError::Credentials("the client secret is not set".into()))?;
        let (login_default, graph_default) = cloud_hosts(azure.cloud);
        let operator_url = |value: Option<&String>, default: &str, name: &str| {
            Url::parse(value.map_or(default, String::as_str))
                .map_err(|e| DirectoryError::NotAvailable(format!("{name} is not a URL: {e}")))
        };
        let login_base = operator_url(
            options.login_url.as_ref(),
            login_default,
            "DIRSYNC_LOGIN_URL",
        )?;
        let graph_base = operator_url(
            options.graph_url.as_ref(),
            graph_default,
            "DIRSYNC_GRAPH_URL",
        )?;
        let credential = ClientCredentials::new(
            &login_base,
            &azure.tenant_id,
            &azure.client_id,
            secret,
            // The scope names the cloud's Graph resource, whichever host serves it.
            format!("{graph_default}/.default"),
        )?;
        let fields = JsonFields::new(config);
        let mut select: Vec<&str> = FIXED_PROPERTIES.to_vec();
        for name in fields.names() {
            if !select.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                select.push(name);
            }
        }
        let select = select.join(",");
        Ok(Self {
            http: CloudHttp::new(options.clone(), None)?,
            credential,
            graph_base,
            groups,
            include_guests: azure.include_guests,
            fields,
            select,
        })
    }

    /// HTTP requests sent so far, token requests and retries included.
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    fn listing_url(&self, path: &[&str]) -> Result<Url, DirectoryError> {
        let mut url = self.graph_base.clone();
        url.path_segments_mut()
            .map_err(|()| DirectoryError::NotAvailable("the Graph URL cannot hold a path".into()))?
            .pop_if_empty()
            .extend(path);
        url.query_pairs_mut()
            .append_pair("$select", &self.select)
            .append_pair("$top", PAGE_SIZE);
        Ok(url)
    }

    /// Every page of a listing from `first`, each user handed to `each`.
    async fn read_listing(
        &self,
        first: Url,
        each: &mut (dyn FnMut(Map<String, Value>) -> Result<(), DirectoryError> + Send),
    ) -> Result<(), DirectoryError> {
        let mut url = first;
        let mut seen = HashSet::new();
        loop {
            let answer = self.http.get(&url, &self.credential, &GraphVendor).await?;
            let page: GraphPage = answer.json("a Graph page of users")?;
            for user in page.value {
                each(user)?;
            }
            let Some(link) = page.next_link else {
                return Ok(());
            };
            // Followed exactly as given, but only on the Graph host: the token goes with it.
            let next = Url::parse(&link)
                .map_err(|e| DirectoryError::Protocol(format!("a bad @odata.nextLink: {e}")))?;
            if next.origin() != self.graph_base.origin() {
                return Err(DirectoryError::Protocol(
                    "an @odata.nextLink points away from the Graph host".into(),
                ));
            }
            if !seen.insert(link) {
                return Err(DirectoryError::Protocol(
                    "Graph repeated an @odata.nextLink".into(),
                ));
            }
            url = next;
        }
    }

    fn map_user(&self, object: &Map<String, Value>) -> Result<DirectoryUser, DirectoryError> {
        let object_id = object
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| DirectoryError::Protocol("a Graph user has no id".into()))
            .and_then(|id| {
                ObjectId::parse(id).map_err(|e| {
                    DirectoryError::Protocol(format!("a Graph user id is not usable: {e}"))
                })
            })?;
        let enabled = object.get("accountEnabled").and_then(Value::as_bool);
        let guest = object
            .get("userType")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"));
        let mapped = self.fields.map(object);
        Ok(DirectoryUser {
            object_id,
            first_name: mapped.first_name,
            last_name: mapped.last_name,
            email: mapped.email,
            mobile: mapped.mobile,
            extension: mapped.extension,
            state: if enabled == Some(false) {
                UserState::Disabled
            } else {
                UserState::Active
            },
            // Guests are reported, out of scope, so that `remove_when` decides about them.
            in_scope: !guest || self.include_guests,
            dn: None,
            groups: Vec::new(),
        })
    }

    async fn read(&self) -> Result<Snapshot, DirectoryError> {
        let mut users: Vec<DirectoryUser> = Vec::new();
        let Some(groups) = &self.groups else {
            let url = self.listing_url(&["v1.0", "users"])?;
            let read = self
                .read_listing(url, &mut |object| {
                    users.push(self.map_user(&object)?);
                    Ok(())
                })
                .await;
            read.map_err(|e| cut_short(users.len(), e))?;
            return Ok(Snapshot {
                users,
                coverage: Coverage::WholeDirectory,
                complete: true,
            });
        };
        let mut members = GroupMembers::default();
        for group in groups {
            let url = self.listing_url(&[
                "v1.0",
                "groups",
                group,
                "transitiveMembers",
                "microsoft.graph.user",
            ])?;
            let read = self
                .read_listing(url, &mut |object| {
                    members.add(self.map_user(&object)?, group);
                    Ok(())
                })
                .await;
            read.map_err(|e| cut_short(members.len(), e))?;
        }
        Ok(members.into_snapshot())
    }
}

#[async_trait]
impl Directory for GraphDirectory {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        self.read().await
    }

    async fn test_connection(&self) -> ConnectionReport {
        let token = async {
            self.credential.token(&self.http, false).await?;
            Ok("Entra ID issued an access token for Microsoft Graph".to_string())
        };
        token_then_search(token, self.read()).await
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
                "a group in scope was not found ({said}). Check the group object ids in \
                 scope.groups"
            )),
            (429, _) => DirectoryError::Unreachable(format!("Graph kept throttling ({said})")),
            (status, _) => DirectoryError::Protocol(format!("Graph answered {status} ({said})")),
        }
    }
}
