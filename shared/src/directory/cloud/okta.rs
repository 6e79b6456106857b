//! Okta (`provider.type = "okta"`): `/api/v1/users` for the whole directory, or the members
//! of the scope's groups, 200 per page following the `Link: <...>; rel="next"` header, paced
//! by Okta's `X-Rate-Limit-*` headers.

use std::collections::HashSet;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use url::Url;

use super::http::{shorten, CloudHttp, CloudOptions};
use super::json_fields::JsonFields;
use super::okta_auth::{OktaCredential, ServiceApp};
use super::okta_wire::{next_link, OktaVendor};
use super::read::{cut_short, resolve_public, token_then_search, GroupMembers};
use crate::domain::config::{check_http_url, OktaAuth, ProviderConfig, Scope};
use crate::domain::{
    ConnectionReport, Coverage, DirectoryConfig, DirectoryUser, ObjectId, Snapshot, UserState,
};
use crate::error::DirectoryError;
use crate::ports::{Directory, TenantSecrets};

/// Okta's largest page of users.
const PAGE_SIZE: &str = "200";

pub struct OktaDirectory {
    org: Url,
    options: CloudOptions,
    credential: OktaCredential,
    /// `None`: the whole directory; else the group ids whose members are read.
    groups: Option<Vec<String>>,
    fields: JsonFields,
    /// Built on first use, after the org's addresses were resolved and checked.
    http: OnceCell<CloudHttp>,
}

#[derive(Deserialize)]
struct OktaUser {
    id: String,
    status: String,
    #[serde(default)]
    profile: Map<String, Value>,
}

impl OktaDirectory {
    pub fn new(
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        options: &CloudOptions,
    ) -> Result<Self, DirectoryError> {
        let ProviderConfig::Okta(okta) = &config.provider else {
            return Err(DirectoryError::NotAvailable(format!(
                "the Okta reader cannot read a '{}' directory",
                config.provider.kind()
            )));
        };
        check_http_url(&okta.org_url, options.endpoint_policy)
            .map_err(|why| DirectoryError::NotAvailable(format!("org_url {why}")))?;
        let org = Url::parse(&okta.org_url)
            .map_err(|e| DirectoryError::NotAvailable(format!("org_url is not a URL: {e}")))?;
        let groups = match &config.scope {
            Scope::All => None,
            Scope::Groups { groups } => Some(groups.clone()),
            _ => {
                return Err(DirectoryError::NotAvailable(
                    "an okta directory takes scope 'all' or 'groups'".into(),
                ))
            }
        };
        let credential = match okta.auth {
            OktaAuth::ApiToken => {
                OktaCredential::ApiToken(secrets.api_token.clone().ok_or_else(|| {
                    DirectoryError::Credentials("the Okta API token is not set".into())
                })?)
            }
            OktaAuth::PrivateKeyJwt => {
                let pem = secrets.private_key_pem.as_ref().ok_or_else(|| {
                    DirectoryError::Credentials("private_key_pem is not set".into())
                })?;
                let client_id = okta.client_id.as_deref().unwrap_or_default();
                OktaCredential::PrivateKeyJwt(ServiceApp::new(&org, client_id, pem)?)
            }
        };
        Ok(Self {
            org,
            options: options.clone(),
            credential,
            groups,
            fields: JsonFields::new(config),
            http: OnceCell::new(),
        })
    }

    /// HTTP requests sent so far, token requests and retries included.
    pub fn requests(&self) -> u64 {
        self.http.get().map_or(0, CloudHttp::requests)
    }

    /// The client, pinned to the org's addresses once they passed the endpoint rules.
    async fn http(&self) -> Result<&CloudHttp, DirectoryError> {
        self.http
            .get_or_try_init(|| async {
                let host = self.org.host_str().unwrap_or_default();
                let port = self.org.port_or_known_default().unwrap_or(443);
                let addrs = resolve_public(host, port, self.options.endpoint_policy).await?;
                CloudHttp::new(self.options.clone(), Some((host, &addrs)))
            })
            .await
    }

    fn url(&self, path: &[&str], limit: bool) -> Result<Url, DirectoryError> {
        let mut url = self.org.clone();
        url.path_segments_mut()
            .map_err(|()| DirectoryError::NotAvailable("org_url cannot hold a path".into()))?
            .pop_if_empty()
            .extend(path);
        if limit {
            url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
        }
        Ok(url)
    }

    async fn read_listing(
        &self,
        first: Url,
        each: &mut (dyn FnMut(OktaUser) -> Result<(), DirectoryError> + Send),
    ) -> Result<(), DirectoryError> {
        let http = self.http().await?;
        let mut url = first;
        let mut seen = HashSet::new();
        loop {
            let answer = http.get(&url, &self.credential, &OktaVendor).await?;
            let users: Vec<OktaUser> = answer.json("an Okta page of users")?;
            for user in users {
                each(user)?;
            }
            let Some(next) = next_link(&answer.headers) else {
                return Ok(());
            };
            let next = Url::parse(&next)
                .map_err(|e| DirectoryError::Protocol(format!("a bad Link header: {e}")))?;
            // The token goes with the request: follow links on the org only.
            if next.origin() != self.org.origin() {
                return Err(DirectoryError::Protocol(
                    "a next-page link points away from the Okta org".into(),
                ));
            }
            if !seen.insert(next.to_string()) {
                return Err(DirectoryError::Protocol(
                    "Okta repeated a next-page link".into(),
                ));
            }
            url = next;
        }
    }

    fn map_user(&self, user: OktaUser) -> Result<DirectoryUser, DirectoryError> {
        let object_id = ObjectId::parse(user.id)
            .map_err(|e| DirectoryError::Protocol(format!("an Okta user id is not usable: {e}")))?;
        let mapped = self.fields.map(&user.profile);
        Ok(DirectoryUser {
            object_id,
            first_name: mapped.first_name,
            last_name: mapped.last_name,
            email: mapped.email,
            mobile: mapped.mobile,
            extension: mapped.extension,
            state: user_state(&user.status)?,
            in_scope: true,
            dn: None,
            groups: Vec::new(),
        })
    }

    async fn read(&self) -> Result<Snapshot, DirectoryError> {
        let mut users: Vec<DirectoryUser> = Vec::new();
        let Some(groups) = &self.groups else {
            let url = self.url(&["api", "v1", "users"], true)?;
            let read = self
                .read_listing(url, &mut |user| {
                    users.push(self.map_user(user)?);
                    Ok(())
                })
                .await;
            read.map_err(|e| cut_short(users.len(), e))?;
            // The unfiltered listing leaves DEPROVISIONED users out: absent means removed.
            return Ok(Snapshot {
                users,
                coverage: Coverage::WholeDirectory,
                complete: true,
            });
        };
        let mut members = GroupMembers::default();
        for group in groups {
            let url = self.url(&["api", "v1", "groups", group, "users"], true)?;
            let read = self
                .read_listing(url, &mut |user| {
                    members.add(self.map_user(user)?, group);
                    Ok(())
                })
                .await;
            read.map_err(|e| cut_short(members.len(), e))?;
        }
        Ok(members.into_snapshot())
    }

    /// The `token` step: an access token for a service app; for an API token, the token's
    /// own user (`/api/v1/users/me`).
    async fn check_token(&self) -> Result<String, DirectoryError> {
        let http = self.http().await?;
        match &self.credential {
            OktaCredential::PrivateKeyJwt(app) => {
                app.token(http, false).await?;
                Ok("Okta issued an access token for the service app".into())
            }
            OktaCredential::ApiToken(_) => {
                let url = self.url(&["api", "v1", "users", "me"], false)?;
                http.get(&url, &self.credential, &OktaVendor).await?;
                Ok("Okta accepted the API token".into())
            }
        }
    }
}

/// Okta statuses: the ones a working account has count as present; STAGED (created, not yet
/// activated) counts as present too, so that a new hire has a number on day one.
fn user_state(status: &str) -> Result<UserState, DirectoryError> {
    match status {
        "ACTIVE" | "PROVISIONED" | "STAGED" | "RECOVERY" | "PASSWORD_EXPIRED" | "LOCKED_OUT" => {
            Ok(UserState::Active)
        }
        "SUSPENDED" => Ok(UserState::Disabled),
        "DEPROVISIONED" => Ok(UserState::Deleted),
        // Guessing could remove a working account or keep a removed one.
        other => Err(DirectoryError::Protocol(format!(
            "unknown Okta user status '{}'",
            shorten(other)
        ))),
    }
}

#[async_trait]
impl Directory for OktaDirectory {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        self.read().await
    }

    async fn test_connection(&self) -> ConnectionReport {
        token_then_search(self.check_token(), self.read()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_states() {
        assert_eq!(user_state("STAGED").unwrap(), UserState::Active);
        assert_eq!(user_state("LOCKED_OUT").unwrap(), UserState::Active);
        assert_eq!(user_state("SUSPENDED").unwrap(), UserState::Disabled);
        assert_eq!(user_state("DEPROVISIONED").unwrap(), UserState::Deleted);
        assert!(user_state("HAPPY").is_err());
    }
}
