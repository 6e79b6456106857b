//! The operator's settings of a deployment (never a tenant's: those are its config). Read
//! from the environment once, when a Lambda starts cold or `dirsync-local` starts, and passed
//! to what needs them, so that nothing below the binaries reads the environment.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::directory::CloudOptions;
use crate::domain::EndpointPolicy;
use crate::pbx::PbxClientOptions;

/// Where dirsync runs, which decides what an unset setting means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// The AWS Lambdas: tenants' endpoints must be public unless the operator opts out.
    Lambda,
    /// `dirsync-local`: the simulator and test peers live on 127.0.0.1, so private endpoints
    /// are allowed unless the operator opts out.
    Local,
}

/// A setting that stops the binary at start, naming its variable.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A typo never silently means the default.
    #[error("{name} must be a positive integer, not '{value}'")]
    NotAPositiveInteger { name: &'static str, value: String },
    #[error("the environment variable {0} is not set")]
    Missing(&'static str),
}

// A Lambda's `main` that fails at cold start prints its error with `Debug`: the sentence, not
// the variant's fields, is what the operator should read in the log.
impl fmt::Debug for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Every operator setting, each documented with its environment variable.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DIRSYNC_ALLOW_PRIVATE_ENDPOINTS`: `1` accepts loopback, link-local and private hosts
    /// and plain `http://` for tenants' endpoints, `0` refuses them; unset or any other value
    /// means the [`Deployment`]'s default (refused on Lambda, accepted locally).
    pub endpoint_policy: EndpointPolicy,
    /// The client's defaults with the operator's PBX platform's limits:
    /// `DIRSYNC_PBX_REQUESTS_PER_SECOND` (its rate limit per tenant), `DIRSYNC_PBX_CONCURRENCY`
    /// (calls in flight per run) and `DIRSYNC_PBX_PAGE_SIZE` (the largest listing page it
    /// serves: fewer pages make a quicker no-op sync). Under [`Self::endpoint_policy`].
    pub pbx: PbxClientOptions,
    /// The cloud directories' defaults with `DIRSYNC_LOGIN_URL` and `DIRSYNC_GRAPH_URL`
    /// replacing the national cloud's Entra login and Graph hosts (tests). Under
    /// [`Self::endpoint_policy`].
    pub cloud: CloudOptions,
    /// `DIRSYNC_JWT_SECRET` (local mode): the HS256 key of API tokens; when unset,
    /// `dirsync-local` keeps one in its state folder.
    pub jwt_secret: Option<SecretString>,
    /// `DIRSYNC_LDIF_DIR`: the only folder the `ldif` provider reads files from (after
    /// symlinks). Unset: `dirsync-local` uses its `--state` folder; on AWS the provider is off.
    pub ldif_dir: Option<PathBuf>,
    /// `DIRSYNC_FULL_READ_HOURS` (default 24): the longest a tenant goes without a full
    /// directory read; runs in between read only what changed where the provider can say.
    pub full_read_every: Duration,
    // Required on AWS only, so they are checked where they are used: see the accessors.
    table: Option<String>,
    queue_url: Option<String>,
}

/// A full directory read at least once a day unless the operator says otherwise.
const DEFAULT_FULL_READ_HOURS: u32 = 24;

fn hours(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 3600)
}

const ALLOW_PRIVATE_ENDPOINTS: &str = "DIRSYNC_ALLOW_PRIVATE_ENDPOINTS";
const TABLE: &str = "DIRSYNC_TABLE";
const QUEUE_URL: &str = "DIRSYNC_QUEUE_URL";

impl Settings {
    /// The settings from the process environment.
    pub fn from_env(deployment: Deployment) -> Result<Self, SettingsError> {
        Self::from_lookup(deployment, |name| std::env::var(name).ok())
    }

    /// The settings with each variable looked up by `lookup` (tests pass their own), on the
    /// deployment's [`Self::defaults`]. A blank value counts as unset.
    pub fn from_lookup(
        deployment: Deployment,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let defaults = Self::defaults(deployment);
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let positive = |name: &'static str, default: u32| match set(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(SettingsError::NotAPositiveInteger { name, value }),
        };
        let endpoint_policy = EndpointPolicy {
            allow_private: match lookup(ALLOW_PRIVATE_ENDPOINTS).as_deref() {
                Some("1") => true,
                Some("0") => false,
                _ => defaults.endpoint_policy.allow_private,
            },
        };
        let pbx = defaults.pbx;
        Ok(Self {
            endpoint_policy,
            pbx: PbxClientOptions {
                requests_per_second: positive(
                    "DIRSYNC_PBX_REQUESTS_PER_SECOND",
                    pbx.requests_per_second,
                )?,
                concurrency: positive("DIRSYNC_PBX_CONCURRENCY", pbx.concurrency as u32)? as usize,
                page_size: positive("DIRSYNC_PBX_PAGE_SIZE", pbx.page_size)?,
                endpoint_policy,
                ..pbx
            },
            cloud: CloudOptions {
                login_url: set("DIRSYNC_LOGIN_URL"),
                graph_url: set("DIRSYNC_GRAPH_URL"),
                endpoint_policy,
                ..defaults.cloud
            },
            jwt_secret: set("DIRSYNC_JWT_SECRET").map(SecretString::from),
            ldif_dir: set("DIRSYNC_LDIF_DIR").map(PathBuf::from),
            full_read_every: hours(positive(
                "DIRSYNC_FULL_READ_HOURS",
                DEFAULT_FULL_READ_HOURS,
            )?),
            table: set(TABLE),
            queue_url: set(QUEUE_URL),
        })
    }

    /// The deployment's defaults, as if no variable were set.
    pub fn defaults(deployment: Deployment) -> Self {
        let endpoint_policy = EndpointPolicy {
            allow_private: deployment == Deployment::Local,
        };
        Self {
            endpoint_policy,
            pbx: PbxClientOptions {
                endpoint_policy,
                ..PbxClientOptions::default()
            },
            cloud: CloudOptions {
                endpoint_policy,
                ..CloudOptions::default()
            },
            jwt_secret: None,
            ldif_dir: None,
            full_read_every: hours(DEFAULT_FULL_READ_HOURS),
            table: None,
            queue_url: None,
        }
    }

    /// `DIRSYNC_TABLE`: the DynamoDB table of the store (AWS).
    pub fn table(&self) -> Result<&str, SettingsError> {
        self.table.as_deref().ok_or(SettingsError::Missing(TABLE))
    }

    /// `DIRSYNC_QUEUE_URL`: the SQS FIFO queue jobs are sent to (AWS: the API and scheduler).
    pub fn queue_url(&self) -> Result<&str, SettingsError> {
        self.queue_url
            .as_deref()
            .ok_or(SettingsError::Missing(QUEUE_URL))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(Deployment::Lambda, lookup(pairs))
    }

    #[test]
    fn pbx_limits_replace_the_defaults_and_typos_are_refused() {
        assert_eq!(settings(&[]).unwrap().pbx, PbxClientOptions::default());
        let set = settings(&[
            ("DIRSYNC_PBX_REQUESTS_PER_SECOND", "200"),
            ("DIRSYNC_PBX_CONCURRENCY", " 16 "),
            ("DIRSYNC_PBX_PAGE_SIZE", "500"),
        ])
        .unwrap()
        .pbx;
        assert_eq!(
            (set.requests_per_second, set.concurrency, set.page_size),
            (200, 16, 500)
        );
        for bad in ["0", "-5", "fast", "1.5"] {
            let error = settings(&[("DIRSYNC_PBX_REQUESTS_PER_SECOND", bad)]).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("DIRSYNC_PBX_REQUESTS_PER_SECOND"),
                "{error}"
            );
        }
    }

    #[test]
    fn full_reads_are_daily_unless_the_operator_says() {
        let every = |pairs: &[(&str, &str)]| settings(pairs).map(|s| s.full_read_every);
        assert_eq!(every(&[]).unwrap(), Duration::from_secs(24 * 3600));
        assert_eq!(
            every(&[("DIRSYNC_FULL_READ_HOURS", "6")]).unwrap(),
            Duration::from_secs(6 * 3600)
        );
        let error = every(&[("DIRSYNC_FULL_READ_HOURS", "0")]).unwrap_err();
        assert!(error.to_string().contains("DIRSYNC_FULL_READ_HOURS"));
    }

    #[test]
    fn private_endpoints_follow_the_deployment_unless_the_operator_says() {
        let allowed = |deployment, pairs: &[(&str, &str)]| {
            let settings = Settings::from_lookup(deployment, lookup(pairs)).unwrap();
            let allow = settings.endpoint_policy.allow_private;
            assert_eq!(settings.pbx.endpoint_policy.allow_private, allow);
            assert_eq!(settings.cloud.endpoint_policy.allow_private, allow);
            allow
        };
        assert!(!allowed(Deployment::Lambda, &[]));
        assert!(allowed(
            Deployment::Lambda,
            &[(ALLOW_PRIVATE_ENDPOINTS, "1")]
        ));
        assert!(!allowed(
            Deployment::Lambda,
            &[(ALLOW_PRIVATE_ENDPOINTS, "yes")]
        ));
        assert!(allowed(Deployment::Local, &[]));
        assert!(!allowed(
            Deployment::Local,
            &[(ALLOW_PRIVATE_ENDPOINTS, "0")]
        ));
        assert!(allowed(
            Deployment::Local,
            &[(ALLOW_PRIVATE_ENDPOINTS, "no")]
        ));
    }

    #[test]
    fn aws_resources_are_required_where_used_and_named_when_missing() {
        let unset = Settings::defaults(Deployment::Lambda);
        assert_eq!(
            unset.table().unwrap_err().to_string(),
            "the environment variable DIRSYNC_TABLE is not set"
        );
        assert_eq!(
            unset.queue_url().unwrap_err().to_string(),
            "the environment variable DIRSYNC_QUEUE_URL is not set"
        );
        let set = settings(&[(TABLE, "dirsync"), (QUEUE_URL, "https://sqs/q.fifo")]).unwrap();
        assert_eq!(
            (set.table(), set.queue_url()),
            (Ok("dirsync"), Ok("https://sqs/q.fifo"))
        );
    }

    #[test]
    fn cloud_hosts_and_the_token_key_are_optional() {
        let unset = Settings::defaults(Deployment::Local);
        assert_eq!((unset.cloud.login_url, unset.cloud.graph_url), (None, None));
        assert!(unset.jwt_secret.is_none());
        assert!(
            unset.ldif_dir.is_none(),
            "no LDIF folder: the provider is off"
        );
        let set = settings(&[
            ("DIRSYNC_GRAPH_URL", "http://127.0.0.1:9000"),
            ("DIRSYNC_LOGIN_URL", " "),
            ("DIRSYNC_JWT_SECRET", "k3y"),
            ("DIRSYNC_LDIF_DIR", "/srv/ldif"),
        ])
        .unwrap();
        assert_eq!(set.ldif_dir, Some(PathBuf::from("/srv/ldif")));
        assert_eq!(
            set.cloud.graph_url.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(set.cloud.login_url, None, "blank is unset");
        assert_eq!(
            set.jwt_secret
                .as_ref()
                .map(|s| s.expose_secret().to_string()),
            Some("k3y".into())
        );
    }
}
