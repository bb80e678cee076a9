//! A tenant's database credentials for a caller outside an apply (the
//! provider's ephemeral `bbws_tenant_credentials`, a migration job): read
//! from the tenant's own secret, and only when the secret carries the
//! tenant's ownership tags — a secret of the same name that is not ours is
//! never read.

use super::Engine;
use crate::error::CoreError;
use crate::naming::TenantNames;
use crate::observed::{describe_owner, owned_by};
use crate::parts::{DbCredentials, Part};

impl Engine {
    /// The credentials in the tenant's secret.
    pub async fn tenant_credentials(&self, tenant_id: &str) -> Result<DbCredentials, CoreError> {
        let p = &self.platform;
        let name = TenantNames::new(p.environment, tenant_id, tenant_id, &p.domain).secret;
        let missing = |problem: &str| CoreError::NotPossible {
            tenant_id: tenant_id.to_owned(),
            operation: "read the credentials of",
            reason: format!("its secret {name:?} {problem}"),
        };
        let secrets = &self.ports.secrets;
        let secret = secrets
            .describe_secret(&name)
            .await
            .map_err(|e| CoreError::port(Part::Secret, "DescribeSecret", e))?
            .ok_or_else(|| {
                missing(&format!(
                    "does not exist: there is no tenant {tenant_id} in {} (Terraform opens ephemeral resources while planning, so a tenant this configuration creates has credentials from the run after its creation on)",
                    p.environment
                ))
            })?;
        if !owned_by(&secret.tags, tenant_id, p.environment) {
            return Err(CoreError::NotOwned {
                part: Part::Secret,
                name: name.clone(),
                tenant_id: tenant_id.to_owned(),
                found: describe_owner(&secret.tags),
            });
        }
        if secret.pending_deletion {
            return Err(missing("is scheduled for deletion: the tenant is being deleted"));
        }
        let raw = secrets
            .get_secret_value(&secret.arn)
            .await
            .map_err(|e| CoreError::port(Part::Secret, "GetSecretValue", e))?;
        serde_json::from_str::<DbCredentials>(&raw)
            .ok()
            .filter(|c| !c.password.is_empty())
            .ok_or_else(|| missing("does not hold the credentials JSON bbws writes; apply the tenant to repair it"))
    }
}
