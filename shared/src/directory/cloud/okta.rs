//! Okta (`provider.type = "okta"`): `/api/v1/users` for the whole directory, or the members
//! of the scope's groups, 200 per page following the `Link: <...>; rel="next"` header, paced
//! by Okta's `X-Rate-Limit-*` headers.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use url::Url;

use super::http::{shorten, Answer, CloudHttp, CloudOptions};
use super::json_fields::JsonFields;
use super::okta_auth::{OktaCredential, ServiceApp};
use super::okta_wire::{next_link, OktaVendor};
use super::read::{
    other_provider, read_users, token_then_search, LinkWording, Listing, Page, PagedSource, Pager,
};
use super::urls::{resolve_public, url_under};
use crate::domain::config::{check_http_url, OktaAuth, ProviderConfig};
use crate::domain::{
    ConnectionReport, DirectoryConfig, DirectoryUser, ObjectId, Snapshot, UserState,
};
use crate::error::DirectoryError;
use crate::ports::{Directory, TenantSecrets};

/// Okta's largest page of users.
const PAGE_SIZE: &str = "200";

/// How errors name a next-page link of Okta's that is not followed.
const NEXT_LINKS: LinkWording = LinkWording {
    malformed: "a bad Link header",
    elsewhere: "a next-page link points away from the Okta org",
    repeated: "Okta repeated a next-page link",
};

pub struct OktaDirectory {
    /// On the org; the listing is the whole directory, or the groups whose members are read.
    pager: Pager<OktaCredential>,
    options: CloudOptions,
    fields: JsonFields,
    /// Built on first use, after the org's addresses were resolved and checked.
    http: OnceCell<CloudHttp>,
}

/// A user as an Okta listing has it: what the mapping reads.
#[derive(Deserialize)]
pub(crate) struct OktaUser {
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
            return Err(other_provider("Okta", config));
        };
        check_http_url(&okta.org_url, options.endpoint_policy)
            .map_err(|why| DirectoryError::NotAvailable(format!("org_url {why}")))?;
        let org = Url::parse(&okta.org_url)
            .map_err(|e| DirectoryError::NotAvailable(format!("org_url is not a URL: {e}")))?;
        let listing = Listing::of(config)?;
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
            pager: Pager {
                base: org,
                credential,
                vendor: &OktaVendor,
                links: NEXT_LINKS,
                listing,
            },
            options: options.clone(),
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
                let host = self.pager.base.host_str().unwrap_or_default();
                let port = self.pager.base.port_or_known_default().unwrap_or(443);
                let addrs = resolve_public(host, port, self.options.endpoint_policy).await?;
                CloudHttp::new(self.options.clone(), Some((host, &addrs)))
            })
            .await
    }

    /// A listing under the org, with the largest page.
    fn listing_url(&self, path: &[&str]) -> Result<Url, DirectoryError> {
        let mut url = url_under(&self.pager.base, path, "org_url")?;
        url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
        Ok(url)
    }

    async fn read(&self) -> Result<Snapshot, DirectoryError> {
        read_users(self, &self.pager, self.http().await?).await
    }

    /// The `token` step: an access token for a service app; for an API token, the token's
    /// own user (`/api/v1/users/me`).
    async fn check_token(&self) -> Result<String, DirectoryError> {
        let http = self.http().await?;
        match &self.pager.credential {
            OktaCredential::PrivateKeyJwt(app) => {
                app.token(http, false).await?;
                Ok("Okta issued an access token for the service app".into())
            }
            OktaCredential::ApiToken(_) => {
                let url = url_under(&self.pager.base, &["api", "v1", "users", "me"], "org_url")?;
                http.get(&url, &self.pager.credential, &OktaVendor).await?;
                Ok("Okta accepted the API token".into())
            }
        }
    }
}

impl PagedSource for OktaDirectory {
    type Item = OktaUser;

    /// The unfiltered listing leaves DEPROVISIONED users out: absent means removed.
    fn users_url(&self) -> Result<Url, DirectoryError> {
        self.listing_url(&["api", "v1", "users"])
    }

    fn members_url(&self, group: &str) -> Result<Url, DirectoryError> {
        self.listing_url(&["api", "v1", "groups", group, "users"])
    }

    fn page(&self, answer: &Answer) -> Result<Page<Self::Item>, DirectoryError> {
        Ok(Page {
            items: answer.json("an Okta page of users")?,
            next: next_link(&answer.headers),
        })
    }

    fn user(&self, user: OktaUser) -> Result<DirectoryUser, DirectoryError> {
        let object_id = ObjectId::parse(user.id)
            .map_err(|e| DirectoryError::Protocol(format!("an Okta user id is not usable: {e}")))?;
        let state = user_state(&user.status)?;
        Ok(self
            .fields
            .map(&user.profile)
            .into_user(object_id, state, true))
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
