//! Operations on an existing tenant that are not "make the state look like
//! this" — the provider's actions `bbws_tenant_restart` and
//! `bbws_tenant_rotate_credentials`. Each observes the tenant, plans only
//! its own change ([`crate::plan::operations`]) and applies it through the
//! same engine, rollout wait and audit record as any apply.

use std::time::Duration;

use super::Engine;
use crate::credentials::ApplyInputs;
use crate::error::CoreError;
use crate::observed::ObservedTenant;
use crate::plan::TenantPlan;
use crate::plan::operations::{OperationRefusal, plan_restart, plan_rotation};

/// How long an operation waits for the deployment it starts: `None`
/// returns once ECS has it.
pub type DeploymentWait = Option<Duration>;

type PlanOf = fn(&str, &ObservedTenant) -> Result<TenantPlan, OperationRefusal>;

impl Engine {
    /// A new deployment of the revision the service runs (ECS replaces
    /// every task), waited for as an apply waits: a deployment ECS fails,
    /// or one that does not settle in time, is reported and rolled back.
    pub async fn restart(&self, tenant_id: &str, wait: DeploymentWait) -> Result<ObservedTenant, CoreError> {
        self.operate(tenant_id, ("restart", "restart"), plan_restart, wait)
            .await
    }

    /// A generated password, given to MySQL first and then to the secret
    /// (never locking the tenant out), and the tasks restarted to read it.
    pub async fn rotate_credentials(&self, tenant_id: &str, wait: DeploymentWait) -> Result<ObservedTenant, CoreError> {
        self.operate(
            tenant_id,
            ("rotate_credentials", "rotate the credentials of"),
            plan_rotation,
            wait,
        )
        .await
    }

    /// Whether a run of this process created the tenant and finished,
    /// leaving its lease for Terraform's shutdown to remove (an action
    /// triggered after the create, in the same `terraform apply`).
    pub(super) fn finished_here(&self, tenant_id: &str) -> bool {
        self.finished_leases
            .lock()
            .is_ok_and(|held| held.iter().any(|(id, _)| id == tenant_id))
    }

    async fn operate(
        &self,
        tenant_id: &str,
        (operation, in_words): (&'static str, &'static str),
        plan_of: PlanOf,
        wait: DeploymentWait,
    ) -> Result<ObservedTenant, CoreError> {
        let refused = |reason: String| CoreError::NotPossible {
            tenant_id: tenant_id.to_owned(),
            operation: in_words,
            reason,
        };
        let observed = self.operable(tenant_id, in_words).await?;
        let plan = plan_of(tenant_id, &observed).map_err(|r| refused(r.to_string()))?;
        let mut spec = observed
            .recovered_input(&self.platform)
            .ok_or_else(|| {
                refused("its secret holds no settings record; apply the tenant's configuration first".into())
            })?
            .resolve(self.platform.clone())
            .map_err(CoreError::Invalid)?;
        spec.wait_for_steady_state = wait.is_some();
        spec.steady_state_timeout = wait.unwrap_or_default();
        self.apply_as(operation, &spec, &observed, &plan, &ApplyInputs::default())
            .await
    }
}
