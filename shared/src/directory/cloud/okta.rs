//! Okta (`provider.type = "okta"`): `/api/v1/users` for the whole directory, or the members
//! of the scope's groups, 200 per page following the `Link: <...>; rel="next"` header, paced
//! by Okta's `X-Rate-Limit-*` headers.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::directory::{CloudDirectory, Provider, Tenant};
use super::groups::{GroupListing, NamedGroup};
use super::http::{shorten, Answer, CloudHttp, Credential};
use super::json_fields::JsonFields;
use super::okta_auth::{OktaCredential, ServiceApp};
use super::okta_wire::{next_link, OktaVendor};
use super::read::{LinkWording, Listing, Page, PagedSource, Pager};
use super::token::TokenClient;
use super::urls::url_under;
use crate::domain::config::{OktaAuth, OktaConfig};
use crate::domain::organization::AttributeOrganizations;
use crate::domain::{ChangeCursor, DirectoryChanges};
use crate::domain::{DirectoryUser, ObjectId, UserState};
use crate::error::DirectoryError;

/// Okta's largest page of users.
const PAGE_SIZE: &str = "200";

/// How errors name a next-page link of Okta's that is not followed.
const NEXT_LINKS: LinkWording = LinkWording {
    malformed: "a bad Link header",
    elsewhere: "a next-page link points away from the Okta org",
    repeated: "Okta repeated a next-page link",
};

/// Okta: `/api/v1/users`, or the members of each group.
pub type OktaDirectory = CloudDirectory<Okta>;

/// Okta's part of an [`OktaDirectory`].
pub struct Okta {
    credential: OktaCredential,
    fields: JsonFields,
    /// Why this config is only read in full, if it is.
    changes_refused: Option<&'static str>,
}

#[path = "okta_changes.rs"]
mod changes;
#[path = "okta_log.rs"]
mod log;

/// A user as an Okta listing has it: what the mapping reads.
#[derive(Deserialize)]
pub(crate) struct OktaUser {
    id: String,
    status: String,
    #[serde(default)]
    profile: Map<String, Value>,
}

/// A group as Okta answers it: the name is in its profile.
#[derive(Deserialize)]
struct OktaGroup {
    id: String,
    #[serde(default)]
    profile: OktaGroupProfile,
}

#[derive(Deserialize, Default)]
struct OktaGroupProfile {
    #[serde(default)]
    name: String,
}

impl OktaGroup {
    fn named(self) -> Result<NamedGroup, DirectoryError> {
        let object_id = ObjectId::parse(self.id).map_err(|e| {
            DirectoryError::Protocol(format!("an Okta group id is not usable: {e}"))
        })?;
        let name = match self.profile.name.trim() {
            "" => object_id.to_string(),
            name => name.to_string(),
        };
        Ok(NamedGroup { object_id, name })
    }
}

impl Provider for Okta {
    type Config = OktaConfig;

    fn new(okta: &OktaConfig, tenant: Tenant<'_>) -> Result<(Self, Pager), DirectoryError> {
        let org = okta.org_url.url().clone();
        // The operator's policy of now, not of when the config was stored: plain http only
        // while private endpoints are allowed (the addresses are checked at each request).
        if org.scheme() != "https" && !tenant.options.endpoint_policy.allow_private {
            return Err(DirectoryError::NotAvailable(
                "org_url must start with https://".into(),
            ));
        }
        let listing = Listing::of(tenant.config)?;
        let groups = GroupListing::of(tenant.config)?;
        let credential = match okta.auth {
            OktaAuth::ApiToken => {
                OktaCredential::ApiToken(tenant.secrets.api_token.clone().ok_or_else(|| {
                    DirectoryError::Credentials("the Okta API token is not set".into())
                })?)
            }
            OktaAuth::PrivateKeyJwt => {
                let pem = tenant.secrets.private_key_pem.as_ref().ok_or_else(|| {
                    DirectoryError::Credentials("private_key_pem is not set".into())
                })?;
                let client_id = okta.client_id.as_deref().unwrap_or_default();
                let app = ServiceApp::new(&org, client_id, pem)?;
                OktaCredential::PrivateKeyJwt(TokenClient::new(app))
            }
        };
        let okta = Okta {
            credential,
            fields: JsonFields::new(tenant.config),
            changes_refused: changes::refused(&listing, &groups, &tenant.config.organizations.sync),
        };
        Ok((
            okta,
            Pager::new(org, &OktaVendor, NEXT_LINKS, listing, groups),
        ))
    }

    /// The tenant's `org_url`.
    const TENANT_HOST: bool = true;
}

/// A listing under the org, with the largest page.
fn listing_url(org: &Url, path: &[&str]) -> Result<Url, DirectoryError> {
    let mut url = url_under(org, path, "org_url")?;
    url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
    Ok(url)
}

#[async_trait]
impl PagedSource for Okta {
    type Item = OktaUser;

    /// The unfiltered listing leaves DEPROVISIONED users out: absent means removed.
    fn users_url(&self, org: &Url) -> Result<Url, DirectoryError> {
        listing_url(org, &["api", "v1", "users"])
    }

    /// `POST /api/v1/users/{id}`: Okta's partial update, which changes only the profile
    /// properties it carries (a `PUT` would replace the whole profile).
    fn write_back_request(
        &self,
        org: &Url,
        user: &ObjectId,
        attribute: &str,
        value: &str,
    ) -> Result<(reqwest::Method, Url, serde_json::Value), DirectoryError> {
        let url = url_under(org, &["api", "v1", "users", user.as_str()], "org_url")?;
        let body = serde_json::json!({ "profile": { attribute: value } });
        Ok((reqwest::Method::POST, url, body))
    }

    fn members_url(&self, org: &Url, group: &str) -> Result<Url, DirectoryError> {
        listing_url(org, &["api", "v1", "groups", group, "users"])
    }

    fn page(&self, answer: &Answer) -> Result<Page<Self::Item>, DirectoryError> {
        Ok(Page {
            items: answer.json("an Okta page of users")?,
            next: next_link(&answer.headers),
        })
    }

    fn user(
        &self,
        user: OktaUser,
        organizations: &mut AttributeOrganizations,
    ) -> Result<DirectoryUser, DirectoryError> {
        let object_id = self.member_id(&user)?;
        let state = user_state(&user.status)?;
        Ok(self
            .fields
            .map(&user.profile)
            .into_user(object_id, state, true, organizations))
    }

    fn member_id(&self, user: &OktaUser) -> Result<ObjectId, DirectoryError> {
        ObjectId::parse(user.id.as_str())
            .map_err(|e| DirectoryError::Protocol(format!("an Okta user id is not usable: {e}")))
    }

    fn group_url(&self, org: &Url, group: &str) -> Result<Url, DirectoryError> {
        url_under(org, &["api", "v1", "groups", group], "org_url")
    }

    fn groups_url(&self, org: &Url) -> Result<Url, DirectoryError> {
        listing_url(org, &["api", "v1", "groups"])
    }

    /// Okta groups do not nest: the direct members are all of them.
    fn group_members_url(&self, org: &Url, group: &str) -> Result<Url, DirectoryError> {
        self.members_url(org, group)
    }

    fn group(&self, answer: &Answer) -> Result<NamedGroup, DirectoryError> {
        answer.json::<OktaGroup>("an Okta group")?.named()
    }

    fn group_page(&self, answer: &Answer) -> Result<Page<NamedGroup>, DirectoryError> {
        let groups: Vec<OktaGroup> = answer.json("an Okta page of groups")?;
        Ok(Page {
            items: groups
                .into_iter()
                .map(OktaGroup::named)
                .collect::<Result<_, _>>()?,
            next: next_link(&answer.headers),
        })
    }

    fn credential(&self) -> &dyn Credential {
        &self.credential
    }

    /// Taken just before the full read's listing: its time starts the next change read.
    async fn change_cursor(
        &self,
        _pager: &Pager,
        _http: &CloudHttp,
    ) -> Result<Option<ChangeCursor>, DirectoryError> {
        Ok(self
            .changes_refused
            .is_none()
            .then(|| changes::cursor(chrono::Utc::now())))
    }

    async fn read_changes(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        changes::read_changes(self, pager, http, cursor).await
    }

    /// An access token for a service app; for an API token, the token's own user
    /// (`/api/v1/users/me`).
    async fn check_token(&self, pager: &Pager, http: &CloudHttp) -> Result<String, DirectoryError> {
        match &self.credential {
            OktaCredential::PrivateKeyJwt(app) => {
                app.token(http, false).await?;
                Ok("Okta issued an access token for the service app".into())
            }
            OktaCredential::ApiToken(_) => {
                let url = url_under(&pager.base, &["api", "v1", "users", "me"], "org_url")?;
                http.get(&url, &self.credential, &OktaVendor).await?;
                Ok("Okta accepted the API token".into())
            }
        }
    }

    async fn verify_login(
        &self,
        pager: &Pager,
        http: &CloudHttp,
        username: &str,
        password: &secrecy::SecretString,
    ) -> Result<crate::ports::LoginOutcome, DirectoryError> {
        super::okta_login::primary_authentication(&pager.base, http, username, password).await
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
