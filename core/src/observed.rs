//! What exists, part by part. Produced by [`crate::Engine::observe_tenant`]
//! (and a refresh, [`crate::batch::Refresh`]), read by [`crate::plan()`]
//! and by front ends (computed attributes, drift).

use crate::naming::{TAG_ENVIRONMENT, TAG_TENANT, TenantNames};
use crate::parts::*;
use crate::spec::Environment;

/// Which tenant to observe: its id and every subdomain it may have used
/// (desired and previous), so that a renamed tenant's old DNS record is found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantKey {
    /// 12-digit id.
    pub tenant_id: String,
    /// Candidate subdomains; the first is the desired one.
    pub subdomains: Vec<String>,
    /// The custom domains it is to route: a rule of someone else's that
    /// routes one is a conflict.
    pub custom_domains: Vec<String>,
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

/// A tenant as front ends list it ([`ObservedTenant::summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSummary {
    /// The tenant id.
    pub tenant_id: String,
    /// Display name, from the settings in the secret.
    pub name: Option<String>,
    /// Contact e-mail, from the settings in the secret.
    pub contact_email: Option<String>,
    /// Tier as configured, from the settings in the secret.
    pub tier: Option<String>,
    /// The subdomain the listener rule routes.
    pub subdomain: Option<String>,
    /// `{subdomain}.{domain}`.
    pub fqdn: Option<String>,
    /// `https://{fqdn}`.
    pub url: Option<String>,
    /// Active, suspended or incomplete.
    pub status: ObservedStatus,
    /// The parts that do not exist, in creation order.
    pub missing: Vec<Part>,
    /// The image repository its latest task definition revision runs.
    pub image: Option<String>,
    /// The WordPress version in that image's tag (`{wordpress}-php{php}-apache`).
    pub wordpress_version: Option<String>,
    /// The PHP version in that image's tag.
    pub php_version: Option<String>,
}

/// What a tenant is, as observed: serving, suspended, or missing a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservedStatus {
    /// Every part exists and the listener rule forwards.
    Active,
    /// Every part exists and the listener rule answers the suspended page.
    Suspended,
    /// A part is missing.
    Incomplete,
}

impl ObservedStatus {
    /// Every status, for filters.
    pub const ALL: [ObservedStatus; 3] = [
        ObservedStatus::Active,
        ObservedStatus::Suspended,
        ObservedStatus::Incomplete,
    ];

    /// `active`, `suspended` or `incomplete`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObservedStatus::Active => "active",
            ObservedStatus::Suspended => "suspended",
            ObservedStatus::Incomplete => "incomplete",
        }
    }

    /// The status named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
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
    /// Listener rule: the one forwarding to the tenant's target group
    /// when it has more than one.
    pub listener_rule: Option<ObservedListenerRule>,
    /// The tenant's other rules (on another listener: a move a run did not
    /// finish), removed by the next apply or destroy.
    pub leftover_rules: Vec<ObservedListenerRule>,
    /// The tenant's target group under its other name when the service does
    /// not use it (a move a run did not finish), removed likewise.
    pub leftover_target_groups: Vec<ObservedTargetGroup>,
    /// Records pointing at the load balancer under any candidate name.
    pub dns_records: Vec<ObservedDnsRecord>,
    /// Service.
    pub service: Option<ObservedService>,
    /// The service's scaling, read when the service's tag says it has one.
    pub scaling: Option<crate::ports::ObservedScaling>,
    /// The certificate the service's marker names, if it still exists.
    pub certificate: Option<crate::ports::ObservedCertificate>,
    /// The superseded certificate the service's other marker names.
    pub superseded_certificate: Option<String>,
    /// Which pool listeners serve which of the two: `(listener, certificate)`.
    pub served_certificates: Vec<(String, String)>,
    /// The pending certificate's validation records that belong in a
    /// public hosted zone of the account but are not there.
    pub validation_missing: Vec<crate::parts::DnsRecordSpec>,
    /// The tenant's alarms (under its names, with its owner line), read
    /// when the service's marker says it has some.
    pub alarms: Vec<crate::ports::ObservedAlarm>,
    /// Parts with the tenant's names but someone else's tags.
    pub foreign: Vec<ForeignPart>,
}

impl ObservedTenant {
    /// Whether the part exists (for the DNS record: under any name). A
    /// secret waiting out its recovery window is deleted: it cannot be
    /// read, and a destroyed tenant leaves one behind for days.
    pub fn has(&self, part: Part) -> bool {
        match part {
            Part::Secret => self.secret.as_ref().is_some_and(|s| !s.pending_deletion),
            Part::Database => self.database.is_some(),
            Part::DatabaseUser => self.database_user.is_some(),
            Part::AccessPoint => self.access_point.is_some(),
            Part::LogGroup => self.log_group.is_some(),
            Part::TargetGroup => self.target_group.is_some(),
            Part::TaskDefinition => self.task_definition.is_some(),
            Part::ListenerRule => self.listener_rule.is_some(),
            Part::DnsRecord => !self.dns_records.is_empty(),
            Part::Service => self.service.is_some(),
            Part::Scaling => self.scaling.is_some(),
            Part::Certificate => self.has_certificate(),
            Part::Alarms => self.has_alarms(),
        }
    }

    /// Whether parts of a move a run did not finish are left of `part`.
    pub fn has_leftovers(&self, part: Part) -> bool {
        match part {
            Part::ListenerRule => !self.leftover_rules.is_empty(),
            Part::TargetGroup => !self.leftover_target_groups.is_empty(),
            _ => false,
        }
    }

    /// Whether the listener rule answers the suspended page.
    pub fn is_suspended(&self) -> bool {
        matches!(
            self.listener_rule.as_ref().and_then(|r| r.action.as_ref()),
            Some(RuleAction::FixedResponse { .. })
        )
    }

    /// Active, suspended, or incomplete when a part is missing.
    pub fn status(&self) -> ObservedStatus {
        if Part::ALL.iter().any(|p| !self.has(*p)) {
            ObservedStatus::Incomplete
        } else if self.is_suspended() {
            ObservedStatus::Suspended
        } else {
            ObservedStatus::Active
        }
    }

    /// Whether any part exists. A tenant with no part at all is gone.
    pub fn exists(&self) -> bool {
        Part::ALL.iter().any(|p| self.has(*p))
    }

    /// The creation lease on the tenant's secret ([`crate::lease`]).
    pub fn lease(&self) -> Option<crate::lease::Lease> {
        self.secret
            .as_ref()
            .and_then(|s| crate::lease::Lease::from_tags(&s.tags))
    }

    /// Whether the tenant was fully created (its service runs behind its
    /// rule, and its secret holds bbws's settings) — unlike the partial
    /// tenant an interrupted create leaves.
    pub fn is_complete_elsewhere(&self) -> bool {
        self.service.is_some()
            && self.listener_rule.is_some()
            && self
                .secret
                .as_ref()
                .and_then(|s| s.description.as_deref())
                .and_then(TenantSettings::from_description)
                .is_some()
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
        // Host names compare case-insensitively.
        let suffix = format!(".{}", domain.trim_end_matches('.')).to_ascii_lowercase();
        let rule = self.listener_rule.as_ref()?;
        rule.hosts
            .iter()
            .find_map(|h| h.to_ascii_lowercase().strip_suffix(&suffix).map(str::to_owned))
    }

    /// Whether a certificate of the tenant's is known: found, or named by
    /// the service's markers (a marker of a deleted one is left to remove).
    pub fn has_certificate(&self) -> bool {
        let marked = self.service.as_ref().is_some_and(|s| {
            s.tags.contains_key(crate::naming::TAG_CERTIFICATE)
                || s.tags.contains_key(crate::naming::TAG_CERTIFICATE_SUPERSEDED)
        });
        self.certificate.is_some() || self.superseded_certificate.is_some() || marked
    }

    /// Whether the tenant has alarms: found, or marked on the service (a
    /// marker left after they went is left to remove).
    pub fn has_alarms(&self) -> bool {
        let marked = (self.service.as_ref()).is_some_and(|s| s.tags.contains_key(crate::naming::TAG_ALARMS));
        !self.alarms.is_empty() || marked
    }

    /// Whether the pool listener `listener` serves certificate `arn`.
    pub fn serves(&self, listener: &str, arn: &str) -> bool {
        self.served_certificates.iter().any(|(l, c)| l == listener && c == arn)
    }

    /// The hosts its rule routes that are not under the platform's
    /// domain: the custom domains, in the rule's order.
    pub fn routed_custom_domains(&self, domain: &str) -> Vec<String> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let suffix = format!(".{domain}");
        let Some(rule) = self.listener_rule.as_ref() else {
            return Vec::new();
        };
        (rule.hosts.iter())
            .map(|h| h.to_ascii_lowercase())
            .filter(|h| *h != domain && !h.ends_with(&suffix))
            .collect()
    }

    /// What front ends show of a tenant found in the environment (the
    /// data sources, the list resource, tenantctl): its settings' name,
    /// contact and tier, the host its rule routes, its status and missing
    /// parts — read off the parts in this one place.
    pub fn summary(&self, platform: &crate::spec::Platform) -> TenantSummary {
        let settings = self.recovered_input(platform);
        let subdomain = self.routed_subdomain(&platform.domain);
        let fqdn = subdomain.as_ref().map(|s| crate::naming::fqdn(s, &platform.domain));
        let (image, wordpress_version, php_version) = self
            .task_definition
            .as_ref()
            .map(|t| split_image(&t.image))
            .unwrap_or_default();
        TenantSummary {
            tenant_id: self.tenant_id.clone(),
            name: settings.as_ref().map(|s| s.name.clone()),
            contact_email: settings.as_ref().map(|s| s.contact_email.clone()),
            tier: settings.and_then(|s| s.tier),
            url: fqdn.as_ref().map(|f| format!("https://{f}")),
            fqdn,
            subdomain,
            status: self.status(),
            missing: Part::ALL.iter().copied().filter(|p| !self.has(*p)).collect(),
            image,
            wordpress_version,
            php_version,
        }
    }

    /// The record under `fqdn`, if observed.
    pub fn dns_record(&self, fqdn: &str) -> Option<&ObservedDnsRecord> {
        self.dns_records.iter().find(|r| r.name == fqdn)
    }

    /// The tenant as its parts describe it, for an import: the settings
    /// kept in the secret's description, the rest read off the parts.
    /// `None` when the secret (with its settings) is missing.
    pub fn recovered_input(&self, platform: &crate::spec::Platform) -> Option<crate::spec::TenantInput> {
        let secret = self.secret.as_ref()?;
        let settings = TenantSettings::from_description(secret.description.as_deref()?)?;
        let td = self.task_definition.as_ref();
        let (image, wordpress, php) = td.map(|t| split_image(&t.image)).unwrap_or_default();
        let suspended = matches!(
            self.listener_rule.as_ref().and_then(|r| r.action.as_ref()),
            Some(RuleAction::FixedResponse { .. })
        );
        let environment_variables = td
            .map(|t| {
                t.environment
                    .iter()
                    .filter(|(k, _)| !crate::validate::RESERVED_ENV_VARS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let tags = secret
            .tags
            .iter()
            .filter(|(k, v)| {
                !k.starts_with(crate::naming::RESERVED_TAG_PREFIX) && platform.default_tags.get(*k) != Some(*v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(crate::spec::TenantInput {
            name: settings.name,
            contact_email: settings.contact_email,
            tenant_id: Some(self.tenant_id.clone()),
            subdomain: Some(
                self.routed_subdomain(&platform.domain)
                    .unwrap_or_else(|| self.tenant_id.clone()),
            ),
            tier: Some(settings.tier),
            wordpress_version: wordpress,
            php_version: php,
            image,
            cpu: td.map(|t| i64::from(t.cpu)),
            memory: td.map(|t| i64::from(t.memory)),
            desired_count: Some(i64::from(settings.desired_count)),
            db_max_connections: None,
            status: Some(if suspended { "suspended" } else { "active" }.to_owned()),
            environment_variables,
            log_retention_days: self.log_group.as_ref().and_then(|l| l.retention_days).map(i64::from),
            deletion_protection: Some(settings.deletion_protection),
            confirm_destroy: settings.confirm_destroy,
            retain_data_on_destroy: Some(settings.retain_data_on_destroy),
            // Steers a destroy only, as confirm_destroy: not recorded.
            backup_before_destroy: None,
            tags,
            db_password_version: settings.db_password_version,
            // How an apply waits is not a property of the tenant.
            wait_for_steady_state: None,
            steady_state_timeout_seconds: None,
            // Where its rule is: an import does not pin the tenant.
            listener_arn: None,
            autoscaling: self.scaling.as_ref().and_then(|s| s.as_input(suspended)),
            custom_domains: self.routed_custom_domains(&platform.domain),
            rejected: Vec::new(),
        })
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
            listener_arn: self.listener_rule.as_ref().map(|r| r.listener_arn.clone()),
            load_balancer_dns_name: self.listener_rule.as_ref().and_then(|r| {
                let facts = self.facts.as_ref()?.listener(&r.listener_arn)?;
                Some(facts.load_balancer_dns_name.clone())
            }),
            certificate_arn: self.certificate.as_ref().map(|c| c.arn.clone()),
            certificate_validation_records: Some(
                (self.certificate.as_ref()).map_or_else(Vec::new, |c| c.validation_records.clone()),
            ),
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
    /// The pool listener the tenant's rule is on.
    pub listener_arn: Option<String>,
    /// The DNS name of that listener's load balancer (its alias target).
    pub load_balancer_dns_name: Option<String>,
    /// The custom domains' certificate.
    pub certificate_arn: Option<String>,
    /// The DNS records that validate it (empty without one); `None` in a
    /// plan: known after apply.
    pub certificate_validation_records: Option<Vec<crate::ports::ValidationRecord>>,
}

impl TenantOutputs {
    /// With no rule observed, the listener (and its load balancer's DNS
    /// name) recorded for the tenant: a missing rule is drift of the rule,
    /// not a move ([`crate::placement::kept_listener`]).
    pub fn or_recorded_listener(
        mut self,
        listener_arn: Option<String>,
        load_balancer_dns_name: Option<String>,
    ) -> Self {
        if self.listener_arn.is_none() {
            self.listener_arn = listener_arn;
            self.load_balancer_dns_name = load_balancer_dns_name;
        }
        self
    }
}

/// `repo:6.6-php8.3-apache` → (repo, 6.6, 8.3), as [`crate::TenantSpec::image_reference`]
/// writes it; parts that do not parse are `None`.
fn split_image(image: &str) -> (Option<String>, Option<String>, Option<String>) {
    let Some((repo, tag)) = image
        .rsplit_once(':')
        .filter(|(r, _)| !r.ends_with('/') && !r.is_empty())
    else {
        return (Some(image.to_owned()), None, None);
    };
    let versions = tag.strip_suffix("-apache").and_then(|t| t.split_once("-php"));
    match versions {
        Some((wp, php)) => (Some(repo.to_owned()), Some(wp.to_owned()), Some(php.to_owned())),
        None => (Some(repo.to_owned()), None, None),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observed_tenant_recovers_its_input() {
        let spec = crate::plan::tests::spec();
        let mut spec = spec;
        spec.environment_variables.insert("WP_DEBUG".into(), "1".into());
        spec.tags.insert("cost-center".into(), "42".into());
        // The fixture as it is after applying `spec`: the variable in the
        // task definition, the tag on the parts, the settings in the secret.
        let mut observed = crate::plan::tests::converged();
        if let Some(td) = observed.task_definition.as_mut() {
            td.environment.insert("WP_DEBUG".into(), "1".into());
        }
        if let Some(secret) = observed.secret.as_mut() {
            secret.tags.insert("cost-center".into(), "42".into());
            secret.description = Some(TenantSettings::of(&spec).to_description());
        }
        let input = observed
            .recovered_input(&spec.platform)
            .expect("settings in the secret");
        let recovered = input.resolve(spec.platform.clone()).expect("valid");
        assert_eq!(recovered, spec);
    }

    #[test]
    fn a_found_tenant_is_summarised_from_its_parts() {
        let spec = crate::plan::tests::spec();
        let mut observed = crate::plan::tests::converged();
        if let Some(rule) = observed.listener_rule.as_mut() {
            // Hosts compare case-insensitively; the summary is lower case.
            rule.hosts = vec!["ACME.wpdev.example.io".into()];
        }
        if let Some(secret) = observed.secret.as_mut() {
            secret.description = Some(TenantSettings::of(&spec).to_description());
        }
        let s = observed.summary(&spec.platform);
        assert_eq!(s.name.as_deref(), Some(spec.name.as_str()));
        assert_eq!(s.subdomain.as_deref(), Some("acme"));
        assert_eq!(s.url.as_deref(), Some("https://acme.wpdev.example.io"));
        assert_eq!((s.status, s.missing.as_slice()), (ObservedStatus::Active, &[][..]));
        // What runs, read off the task definition's image (a promotion compares it).
        let runs = (
            s.image.as_deref(),
            s.wordpress_version.as_deref(),
            s.php_version.as_deref(),
        );
        let wanted = (
            Some(spec.image.as_str()),
            Some(spec.wordpress_version.as_str()),
            Some(spec.php_version.as_str()),
        );
        assert_eq!(runs, wanted);

        observed.service = None;
        observed.secret = None;
        observed.listener_rule = None;
        let s = observed.summary(&spec.platform);
        assert_eq!((s.name, s.subdomain, s.fqdn), (None, None, None));
        assert_eq!(s.status, ObservedStatus::Incomplete);
        assert_eq!(s.missing, [Part::Secret, Part::ListenerRule, Part::Service]);
    }

    #[test]
    fn a_destroyed_tenant_whose_secret_waits_out_its_recovery_window_is_gone() {
        let mut observed = crate::plan::tests::converged();
        let secret = observed.secret.take();
        observed = ObservedTenant {
            tenant_id: observed.tenant_id,
            facts: observed.facts,
            secret: secret.map(|s| ObservedSecret {
                pending_deletion: true,
                ..s
            }),
            ..Default::default()
        };
        // Nothing usable is left: the data source says "not found", a
        // refresh drops the tenant from the state.
        assert!(!observed.has(Part::Secret) && !observed.exists());
        // A create over it still plans to restore the secret, not to make one.
        let spec = crate::plan::tests::spec();
        let plan = crate::plan(&spec, &observed);
        let secret = plan.changes.iter().find(|c| c.part == Part::Secret).expect("secret");
        assert!(
            secret.action.updates(crate::plan::SecretField::Restore),
            "{:?}",
            secret.action
        );
    }

    #[test]
    fn image_references_split() {
        assert_eq!(
            split_image("localhost:5000/wp:6.6-php8.3-apache"),
            (Some("localhost:5000/wp".into()), Some("6.6".into()), Some("8.3".into()))
        );
        assert_eq!(split_image("wordpress"), (Some("wordpress".into()), None, None));
    }
}
