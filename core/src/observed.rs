//! What exists, part by part. Produced by [`crate::Engine::observe`], read by
//! [`crate::plan()`] and by front ends (computed attributes, drift).

use crate::naming::{TAG_ENVIRONMENT, TAG_TENANT, TenantNames};
use crate::parts::*;
use crate::spec::Environment;

/// Which tenant to observe: its id and every subdomain it may have used
/// (desired and previous), so that a renamed tenant's old DNS record is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantKey {
    /// 12-digit id.
    pub tenant_id: String,
    /// Candidate subdomains; the first is the desired one.
    pub subdomains: Vec<String>,
}

/// A part found under the tenant's name that carries another owner's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignPart {
    /// Which part.
    pub part: Part,
    /// Its name or ARN.
    pub name: String,
    /// The ownership tags it carries (`bbws:tenant=…, bbws:environment=…` or "no bbws tags").
    pub found: String,
    /// The tenant that owns it, when it is another bbws tenant.
    pub owner: Option<String>,
}

/// Everything observed about one tenant. `None` means the part is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObservedTenant {
    /// Tenant id.
    pub tenant_id: String,
    /// Facts about the platform the plan needs (load balancer, DB endpoint).
    pub facts: Option<PlatformFacts>,
    /// Secret.
    pub secret: Option<ObservedSecret>,
    /// Database.
    pub database: Option<ObservedDatabase>,
    /// Database user.
    pub database_user: Option<ObservedDatabaseUser>,
    /// Access point.
    pub access_point: Option<ObservedAccessPoint>,
    /// Log group.
    pub log_group: Option<ObservedLogGroup>,
    /// Target group.
    pub target_group: Option<ObservedTargetGroup>,
    /// Latest active task definition revision.
    pub task_definition: Option<ObservedTaskDefinition>,
    /// Listener rule.
    pub listener_rule: Option<ObservedListenerRule>,
    /// Records pointing at the load balancer under any candidate name.
    pub dns_records: Vec<ObservedDnsRecord>,
    /// Service.
    pub service: Option<ObservedService>,
    /// Parts with the tenant's names but someone else's tags.
    pub foreign: Vec<ForeignPart>,
}

impl ObservedTenant {
    /// Whether the part exists (for the DNS record: under any name).
    pub fn has(&self, part: Part) -> bool {
        match part {
            Part::Secret => self.secret.is_some(),
            Part::Database => self.database.is_some(),
            Part::DatabaseUser => self.database_user.is_some(),
            Part::AccessPoint => self.access_point.is_some(),
            Part::LogGroup => self.log_group.is_some(),
            Part::TargetGroup => self.target_group.is_some(),
            Part::TaskDefinition => self.task_definition.is_some(),
            Part::ListenerRule => self.listener_rule.is_some(),
            Part::DnsRecord => !self.dns_records.is_empty(),
            Part::Service => self.service.is_some(),
        }
    }

    /// Whether any part exists. A tenant with no part at all is gone.
    pub fn exists(&self) -> bool {
        Part::ALL.iter().any(|p| self.has(*p))
    }

    /// Whether any AWS part (not counting data kept in MySQL) exists.
    pub fn any_aws_part(&self) -> bool {
        Part::ALL
            .iter()
            .filter(|p| !matches!(p, Part::Database | Part::DatabaseUser))
            .any(|p| self.has(*p))
    }

    /// The subdomain currently routed by the listener rule, if any.
    pub fn routed_subdomain(&self, domain: &str) -> Option<String> {
        let suffix = format!(".{}", domain.trim_end_matches('.'));
        let rule = self.listener_rule.as_ref()?;
        rule.hosts
            .iter()
            .find_map(|h| h.strip_suffix(&suffix).map(str::to_owned))
    }

    /// The record under `fqdn`, if observed.
    pub fn dns_record(&self, fqdn: &str) -> Option<&ObservedDnsRecord> {
        self.dns_records.iter().find(|r| r.name == fqdn)
    }

    /// The computed attributes as they are now.
    pub fn outputs(&self, names: &TenantNames) -> TenantOutputs {
        TenantOutputs {
            id: names.id.clone(),
            fqdn: names.fqdn.clone(),
            url: format!("https://{}", names.fqdn),
            service_arn: self.service.as_ref().map(|s| s.arn.clone()),
            task_definition_arn: self
                .service
                .as_ref()
                .map(|s| s.task_definition_arn.clone())
                .or_else(|| self.task_definition.as_ref().map(|t| t.arn.clone())),
            target_group_arn: self.target_group.as_ref().map(|t| t.arn.clone()),
            listener_rule_arn: self.listener_rule.as_ref().map(|r| r.arn.clone()),
            listener_rule_priority: self.listener_rule.as_ref().map(|r| r.priority),
            access_point_id: self.access_point.as_ref().map(|a| a.id.clone()),
            database_name: self.database.as_ref().map(|d| d.name.clone()),
            database_user: self.database_user.as_ref().map(|u| u.name.clone()),
            db_secret_arn: self
                .secret
                .as_ref()
                .filter(|s| !s.pending_deletion)
                .map(|s| s.arn.clone()),
            log_group_name: self.log_group.as_ref().map(|l| l.name.clone()),
        }
    }
}

/// The SPEC §7 computed attributes. `None`: the part does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantOutputs {
    /// `{env}-{tenant_id}`.
    pub id: String,
    /// `{subdomain}.{domain}`.
    pub fqdn: String,
    /// `https://{fqdn}`.
    pub url: String,
    /// ECS service ARN.
    pub service_arn: Option<String>,
    /// Task definition ARN the service runs.
    pub task_definition_arn: Option<String>,
    /// Target group ARN.
    pub target_group_arn: Option<String>,
    /// Listener rule ARN.
    pub listener_rule_arn: Option<String>,
    /// Listener rule priority.
    pub listener_rule_priority: Option<u32>,
    /// EFS access point id.
    pub access_point_id: Option<String>,
    /// MySQL database.
    pub database_name: Option<String>,
    /// MySQL user.
    pub database_user: Option<String>,
    /// Secret ARN.
    pub db_secret_arn: Option<String>,
    /// Log group name.
    pub log_group_name: Option<String>,
}

/// Whether tags mark the part as this tenant's, in this environment.
pub fn owned_by(tags: &Tags, tenant_id: &str, env: Environment) -> bool {
    tags.get(TAG_TENANT).map(String::as_str) == Some(tenant_id)
        && tags.get(TAG_ENVIRONMENT).map(String::as_str) == Some(env.as_str())
}

/// The ownership tags as a person reads them.
pub fn describe_owner(tags: &Tags) -> String {
    match (tags.get(TAG_TENANT), tags.get(TAG_ENVIRONMENT)) {
        (None, None) => "no bbws ownership tags".into(),
        (t, e) => format!(
            "{TAG_TENANT}={}, {TAG_ENVIRONMENT}={}",
            t.map_or("-", String::as_str),
            e.map_or("-", String::as_str)
        ),
    }
}
