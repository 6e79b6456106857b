//! [`SecretsManagerSecrets`]: one AWS Secrets Manager secret per tenant, `dirsync/{tenant}`,
//! holding the tenant's credentials as JSON.

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::Client;

use crate::domain::TenantId;
use crate::error::SecretsError;
use crate::ports::{Secrets, StoredSecrets, TenantSecrets};

/// The prefix of every tenant's secret name; IAM policies grant `dirsync/*` only.
pub const SECRET_PREFIX: &str = "dirsync/";
/// Days a deleted tenant's secret can still be restored (Secrets Manager allows 7 to 30).
pub const DEFAULT_RECOVERY_DAYS: i64 = 7;

#[derive(Clone, Debug)]
pub struct SecretsManagerSecrets {
    client: Client,
    recovery_days: i64,
}

impl SecretsManagerSecrets {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            recovery_days: DEFAULT_RECOVERY_DAYS,
        }
    }

    pub fn secret_name(tenant: &TenantId) -> String {
        format!("{SECRET_PREFIX}{tenant}")
    }
}

/// An SDK error as a secrets error. The service's messages name the secret, never its value
/// (values travel only in requests and successful answers).
fn backend<E, R>(operation: &str, error: SdkError<E, R>) -> SecretsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    SecretsError::Backend(crate::aws::sdk_error_message(
        "Secrets Manager",
        operation,
        &error,
    ))
}

#[async_trait]
impl Secrets for SecretsManagerSecrets {
    async fn get(&self, tenant: &TenantId) -> Result<Option<TenantSecrets>, SecretsError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(Self::secret_name(tenant))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // Absent, or deleted and waiting out its recovery window: no secrets.
            Err(error)
                if error.as_service_error().is_some_and(|e| {
                    e.is_resource_not_found_exception() || e.is_invalid_request_exception()
                }) =>
            {
                return Ok(None)
            }
            Err(error) => return Err(backend("GetSecretValue", error)),
        };
        let text = output.secret_string().unwrap_or_default();
        // serde_json's messages can quote the input: say only where it broke.
        let stored: StoredSecrets = serde_json::from_str(text).map_err(|e| {
            SecretsError::Backend(format!(
                "secret {} is not valid JSON (line {}, column {})",
                Self::secret_name(tenant),
                e.line(),
                e.column()
            ))
        })?;
        Ok(Some(TenantSecrets::from_stored(stored)))
    }

    /// Writes a new version; creates the secret on first use and restores one that a
    /// disconnect scheduled for deletion. (Puts are rare: the API's config changes.)
    async fn put(&self, tenant: &TenantId, secrets: &TenantSecrets) -> Result<(), SecretsError> {
        let name = Self::secret_name(tenant);
        let value = serde_json::to_string(&secrets.to_stored())?;
        let described = self.client.describe_secret().secret_id(&name).send().await;
        match described {
            Ok(secret) if secret.deleted_date().is_some() => {
                self.client
                    .restore_secret()
                    .secret_id(&name)
                    .send()
                    .await
                    .map_err(|e| backend("RestoreSecret", e))?;
            }
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                self.client
                    .create_secret()
                    .name(&name)
                    .description("dirsync: a tenant's directory and PBX credentials")
                    .secret_string(&value)
                    .send()
                    .await
                    .map_err(|e| backend("CreateSecret", e))?;
                return Ok(());
            }
            Err(error) => return Err(backend("DescribeSecret", error)),
        }
        self.client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(&value)
            .send()
            .await
            .map_err(|e| backend("PutSecretValue", e))?;
        Ok(())
    }

    /// Schedules deletion after the recovery window; an absent secret counts as deleted.
    async fn delete(&self, tenant: &TenantId) -> Result<(), SecretsError> {
        let result = self
            .client
            .delete_secret()
            .secret_id(Self::secret_name(tenant))
            .recovery_window_in_days(self.recovery_days)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(backend("DeleteSecret", error)),
        }
    }
}
