//! The plans of the operations that are not "make the state look like
//! this" (the provider's actions): a restart and a credential rotation.
//! Each changes exactly what the operation is about and nothing else — an
//! operation never repairs other drift behind the user's back; a normal
//! plan shows that.

use super::{DatabaseUserField, PartAction, PartChange, SecretField, ServiceField, TenantPlan};
use crate::observed::ObservedTenant;
use crate::parts::Part;

/// Why an operation cannot run on the tenant as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationRefusal {
    /// A part the operation works on is missing.
    Missing(Part),
    /// The service runs no tasks (suspended, or scaled to zero): nothing to
    /// restart.
    Suspended,
}

impl std::fmt::Display for OperationRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OperationRefusal::Missing(part) => write!(
                f,
                "its {part} is missing; apply the tenant's configuration to repair it first"
            ),
            OperationRefusal::Suspended => {
                f.write_str("it runs no tasks (suspended, or scaled to desired_count = 0); resume it with status = \"active\" or scale it up first")
            }
        }
    }
}

fn only(tenant_id: &str, changes: Vec<(Part, PartAction)>) -> TenantPlan {
    TenantPlan {
        tenant_id: tenant_id.to_owned(),
        changes: Part::ALL
            .iter()
            .map(|&part| PartChange {
                part,
                action: changes
                    .iter()
                    .find(|(p, _)| *p == part)
                    .map_or(PartAction::NoChange, |(_, a)| a.clone()),
            })
            .collect(),
        conflicts: Vec::new(),
    }
}

fn require(observed: &ObservedTenant, parts: &[Part]) -> Result<(), OperationRefusal> {
    match parts.iter().find(|p| !observed.has(**p)) {
        Some(p) => Err(OperationRefusal::Missing(*p)),
        None => Ok(()),
    }
}

/// A restart: a new deployment of the revision the service runs.
pub fn plan_restart(tenant_id: &str, observed: &ObservedTenant) -> Result<TenantPlan, OperationRefusal> {
    require(observed, &[Part::Service, Part::TaskDefinition])?;
    if observed.service.as_ref().is_some_and(|s| s.desired_count == 0) {
        return Err(OperationRefusal::Suspended);
    }
    Ok(only(
        tenant_id,
        vec![(Part::Service, PartAction::update(vec![ServiceField::Redeploy]))],
    ))
}

/// A rotation: a new password in MySQL, then in the secret, then the
/// tasks restarted to read it — the path a new `db_password_wo_version`
/// takes, with a generated password.
pub fn plan_rotation(tenant_id: &str, observed: &ObservedTenant) -> Result<TenantPlan, OperationRefusal> {
    require(observed, &[Part::Secret, Part::DatabaseUser, Part::Service])?;
    Ok(only(
        tenant_id,
        vec![
            (Part::Secret, PartAction::update(vec![SecretField::Password])),
            (
                Part::DatabaseUser,
                PartAction::update(vec![DatabaseUserField::Password]),
            ),
            (Part::Service, PartAction::update(vec![ServiceField::Redeploy])),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::converged;

    const ID: &str = "123456789012";

    fn changed(plan: &TenantPlan) -> Vec<(Part, PartAction)> {
        plan.changes
            .iter()
            .filter(|c| c.action != PartAction::NoChange)
            .map(|c| (c.part, c.action.clone()))
            .collect()
    }

    #[test]
    fn a_restart_redeploys_the_service_and_nothing_else() {
        let plan = plan_restart(ID, &converged()).expect("restart");
        assert_eq!(
            changed(&plan),
            [(Part::Service, PartAction::update(vec![ServiceField::Redeploy]))]
        );
        assert_eq!(plan.changes.len(), Part::ALL.len());
    }

    #[test]
    fn a_rotation_changes_the_password_in_mysql_and_the_secret_and_restarts_the_tasks() {
        let plan = plan_rotation(ID, &converged()).expect("rotation");
        assert_eq!(
            changed(&plan),
            [
                (Part::Secret, PartAction::update(vec![SecretField::Password])),
                (
                    Part::DatabaseUser,
                    PartAction::update(vec![DatabaseUserField::Password])
                ),
                (Part::Service, PartAction::update(vec![ServiceField::Redeploy])),
            ]
        );
    }

    #[test]
    fn an_operation_on_a_broken_or_suspended_tenant_is_refused() {
        let without = |part: Part| {
            let mut o = converged();
            match part {
                Part::Service => o.service = None,
                Part::Secret => o.secret = None,
                Part::DatabaseUser => o.database_user = None,
                Part::TaskDefinition => o.task_definition = None,
                _ => unreachable!("not used here"),
            }
            o
        };
        let cases: [(&str, Result<TenantPlan, OperationRefusal>, OperationRefusal); 5] = [
            (
                "restart, no service",
                plan_restart(ID, &without(Part::Service)),
                OperationRefusal::Missing(Part::Service),
            ),
            (
                "restart, no revision",
                plan_restart(ID, &without(Part::TaskDefinition)),
                OperationRefusal::Missing(Part::TaskDefinition),
            ),
            (
                "rotation, no secret",
                plan_rotation(ID, &without(Part::Secret)),
                OperationRefusal::Missing(Part::Secret),
            ),
            (
                "rotation, no user",
                plan_rotation(ID, &without(Part::DatabaseUser)),
                OperationRefusal::Missing(Part::DatabaseUser),
            ),
            (
                "restart, suspended",
                {
                    let mut o = converged();
                    o.service.as_mut().expect("service").desired_count = 0;
                    plan_restart(ID, &o)
                },
                OperationRefusal::Suspended,
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got.expect_err(what), want, "{what}");
        }
    }
}
