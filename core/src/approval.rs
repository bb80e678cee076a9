//! Approval classes of the operating procedure (SOP §6.3): every change to a
//! tenant in `sit` and `prod` belongs to a class — scaling, version upgrade,
//! configuration change, deletion — and each class needs its own approval
//! in each environment. Pure: the provider shows the notice as a plan
//! warning, so a pipeline gate (`terraform plan -json`) and a reviewer both
//! see the class before apply.
//!
//! Creating a tenant is not one of the four classes, and `dev` needs no
//! approval; neither gets a notice.

use std::fmt;

use crate::spec::{Environment, TenantSpec};

/// A class of change, lightest first: a change with several classes is
/// approved as its heaviest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeClass {
    /// CPU, memory, tier, desired count, database connections.
    Scaling,
    /// Settings: subdomain, status, environment variables, retention,
    /// protection, tags, credentials, or the repair of drifted parts.
    ConfigurationChange,
    /// Image, WordPress or PHP version.
    VersionUpgrade,
    /// The tenant is deleted, or replaced (deleted and created anew).
    Deletion,
}

impl ChangeClass {
    /// The class as the SOP names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::Scaling => "scaling",
            ChangeClass::ConfigurationChange => "configuration change",
            ChangeClass::VersionUpgrade => "version upgrade",
            ChangeClass::Deletion => "deletion",
        }
    }
}

impl fmt::Display for ChangeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The approval a class needs in an environment; `None` in `dev`.
pub fn approval(environment: Environment, class: ChangeClass) -> Option<&'static str> {
    use ChangeClass::*;
    Some(match (environment, class) {
        (Environment::Dev, _) => return None,
        (Environment::Sit, Scaling | ConfigurationChange) => "peer review of the plan",
        (Environment::Sit, VersionUpgrade) => "QA sign-off (the version is tested in SIT before PROD)",
        (Environment::Sit, Deletion) => "the QA lead's approval",
        (Environment::Prod, Scaling) => "the operations lead's approval (standard change)",
        (Environment::Prod, ConfigurationChange) => "the operations lead's approval and a change ticket",
        (Environment::Prod, VersionUpgrade) => {
            "the change advisory board (normal change), with the same version verified in SIT"
        }
        (Environment::Prod, Deletion) => {
            "the change advisory board and the tenant's business owner, with a completed backup"
        }
    })
}

/// What a plan does to one tenant, as the classification needs it.
#[derive(Debug, Clone, Copy)]
pub struct TenantChange<'a> {
    /// The tenant before the change; `None` when it is being created.
    pub prior: Option<&'a TenantSpec>,
    /// The tenant after the change; `None` when it is being deleted.
    pub planned: Option<&'a TenantSpec>,
    /// The change replaces the tenant (tenant id or environment changed).
    pub replaces: bool,
    /// The plan changes some AWS or MySQL part (a drift repair changes
    /// parts without any setting changing).
    pub changes_parts: bool,
}

fn scaling(a: &TenantSpec, b: &TenantSpec) -> bool {
    a.tier != b.tier
        || a.cpu != b.cpu
        || a.memory != b.memory
        || a.desired_count != b.desired_count
        || a.db_max_connections != b.db_max_connections
        || a.autoscaling != b.autoscaling
}

fn version_upgrade(a: &TenantSpec, b: &TenantSpec) -> bool {
    a.image != b.image || a.wordpress_version != b.wordpress_version || a.php_version != b.php_version
}

/// Settings that change a part (not `confirm_destroy` or the waiting
/// settings, which only steer the run).
fn configuration_change(a: &TenantSpec, b: &TenantSpec) -> bool {
    a.subdomain != b.subdomain
        || a.status != b.status
        || a.environment_variables != b.environment_variables
        || a.log_retention_days != b.log_retention_days
        || a.deletion_protection != b.deletion_protection
        || a.retain_data_on_destroy != b.retain_data_on_destroy
        || a.tags != b.tags
        || a.custom_domains != b.custom_domains
        || a.db_password_version != b.db_password_version
        || a.name != b.name
        || a.contact_email != b.contact_email
}

/// Every class of the change, lightest first; empty for a creation or a
/// change that changes nothing.
pub fn classify(change: &TenantChange<'_>) -> Vec<ChangeClass> {
    let mut classes = Vec::new();
    match (change.prior, change.planned) {
        (None, _) => return classes,
        (Some(_), None) => return vec![ChangeClass::Deletion],
        (Some(a), Some(b)) => {
            let checks = [
                (ChangeClass::Scaling, scaling(a, b)),
                (ChangeClass::ConfigurationChange, configuration_change(a, b)),
                (ChangeClass::VersionUpgrade, version_upgrade(a, b)),
            ];
            classes.extend(checks.into_iter().filter(|(_, hit)| *hit).map(|(c, _)| c));
        }
    }
    if change.replaces {
        classes.push(ChangeClass::Deletion);
    }
    if classes.is_empty() && change.changes_parts {
        classes.push(ChangeClass::ConfigurationChange);
    }
    classes
}

/// The notice a plan shows for one tenant's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalNotice {
    /// The heaviest class, which decides the approval.
    pub class: ChangeClass,
    /// The other classes of the same change.
    pub also: Vec<ChangeClass>,
    /// The approval `class` needs in the environment.
    pub approval: &'static str,
    /// The environment.
    pub environment: Environment,
}

impl ApprovalNotice {
    /// One line for the warning's summary.
    pub fn summary(&self) -> String {
        format!("Change class: {} (SOP §6.3)", self.class)
    }

    /// The warning's detail: the class, the others, the approval.
    pub fn detail(&self) -> String {
        let also = if self.also.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = self.also.iter().map(|c| c.as_str()).collect();
            format!(" It also includes: {}.", names.join(", "))
        };
        format!(
            "This change to a {env} tenant is a {class}.{also} In {env} a {class} needs {approval} before it is applied.",
            env = self.environment,
            class = self.class,
            approval = self.approval
        )
    }
}

/// The notice for a change in `environment`; `None` in `dev`, for a
/// creation and for a change that changes nothing.
pub fn notice(environment: Environment, change: &TenantChange<'_>) -> Option<ApprovalNotice> {
    let mut classes = classify(change);
    let class = classes.pop()?;
    Some(ApprovalNotice {
        class,
        also: classes,
        approval: approval(environment, class)?,
        environment,
    })
}

#[cfg(test)]
mod tests;
