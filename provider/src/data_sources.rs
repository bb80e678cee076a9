//! The data sources `bbws_tenant` (one tenant: its parts, status and
//! health) and `bbws_tenants` (every tenant of the environment, found by
//! the ownership tags). Reads only; the observation and the probes are
//! core's.

use std::sync::Arc;

use bbws_core::Part;
use bbws_core::health::TenantHealth;
use bbws_core::observed::{ObservedStatus, TenantOutputs, TenantSummary};
use magma_protocol::tfplugin6::{self as tf, Schema};

use crate::configured::Configured;
use crate::diag::{core_error_diag, error};
use crate::model::{Reader, Tf, TfBool, TfList, TfMap, TfNumber, TfString, Writer};
use crate::protocol::schema::{Attr, Block};
use crate::protocol::value::Value;

/// Type name of the one-tenant data source.
pub const TENANT: &str = "bbws_tenant";
/// Type name of the all-tenants data source.
pub const TENANTS: &str = "bbws_tenants";

use crate::attr::data_source as attr;

/// Fields of each element of `bbws_tenants.tenants`.
const SUMMARY_FIELDS: [&str; 8] = [
    attr::TENANT_ID,
    attr::NAME,
    attr::TIER,
    attr::SUBDOMAIN,
    attr::FQDN,
    attr::URL,
    attr::STATUS,
    attr::MISSING_PARTS,
];

/// `bbws_tenant` data source schema.
pub fn tenant_schema() -> Schema {
    let s = |name: &str, d: &str| Attr::string(name).computed().description(d);
    let n = |name: &str, d: &str| Attr::number(name).computed().description(d);
    Block::new(0)
        .description("One tenant of the environment, by id: the id or ARN of each of its parts, its status and its health (tasks running vs desired, target health, whether its database accepts its credentials, the site's HTTP status).")
        .attr(Attr::string(attr::TENANT_ID).required().description("The tenant's 12-digit id."))
        .attr(s(attr::ID, "`{environment}-{tenant_id}`."))
        .attr(s(attr::NAME, "Display name (from the tenant's settings)."))
        .attr(s(attr::CONTACT_EMAIL, "Contact e-mail (from the tenant's settings)."))
        .attr(s(attr::TIER, "Service tier."))
        .attr(s(attr::SUBDOMAIN, "DNS label the listener rule routes."))
        .attr(s(attr::FQDN, "`{subdomain}.{domain}`."))
        .attr(s(attr::URL, "`https://{fqdn}`."))
        .attr(s(attr::STATUS, "`active`, `suspended`, or `incomplete` when a part is missing."))
        .attr(s(attr::IMAGE, "The image repository the tenant's latest task definition revision runs (as the resource's `image`); null without a task definition."))
        .attr(s(attr::WORDPRESS_VERSION, "The WordPress version of that image, from its tag (`{wordpress}-php{php}-apache`); null when the tag is not of that form. A promotion gate compares it with what PROD is to run (`examples/promotion`)."))
        .attr(s(attr::PHP_VERSION, "The PHP version of that image, from its tag; null when the tag is not of that form."))
        .attr(Attr::map_of_string(attr::PARTS).computed().description("Each of the ten parts: `present` or `missing`."))
        .attr(s(attr::SERVICE_ARN, "ECS service ARN."))
        .attr(s(attr::TASK_DEFINITION_ARN, "ARN of the latest task definition revision."))
        .attr(s(attr::TARGET_GROUP_ARN, "ALB target group ARN."))
        .attr(s(attr::LISTENER_RULE_ARN, "ALB listener rule ARN."))
        .attr(n(attr::LISTENER_RULE_PRIORITY, "Priority of the listener rule."))
        .attr(s(attr::ACCESS_POINT_ID, "EFS access point id."))
        .attr(s(attr::DATABASE_NAME, "MySQL database name."))
        .attr(s(attr::DATABASE_USER, "MySQL user name."))
        .attr(s(attr::DB_SECRET_ARN, "ARN of the secret with the database credentials."))
        .attr(s(attr::LOG_GROUP_NAME, "CloudWatch log group name."))
        .attr(n(attr::RUNNING_COUNT, "Tasks running now."))
        .attr(n(attr::DESIRED_COUNT, "Tasks the service should run (0 while suspended)."))
        .attr(Attr::map_of_string(attr::TARGET_HEALTH).computed().description("Registered targets of the target group: target id → state (`healthy`, `unhealthy`, `initial`, …)."))
        .attr(n(attr::HEALTHY_TARGETS, "Number of targets in state `healthy`."))
        .attr(Attr::bool(attr::DATABASE_REACHABLE).computed().description("Whether the tenant's user logs in to its database with the credentials in its secret."))
        .attr(s(attr::DATABASE_ERROR, "Why the database is not reachable, when it is not."))
        .attr(n(attr::HTTP_STATUS, "HTTP status of `GET {url}`, when the site answered."))
        .attr(s(attr::HTTP_ERROR, "Why the site did not answer, when it did not."))
        .attr(Attr::bool(attr::HEALTHY).computed().description("All tasks running, every target healthy, the database reachable and the site answering below 500 — every check ran and passed (false when one could not run)."))
        .attr(s(attr::HEALTH, "`healthy`, `unhealthy` (a check ran and failed) or `unknown` (none failed, but one could not run, e.g. DescribeTargetHealth errored)."))
        .attr(Attr::map_of_string(attr::HEALTH_CHECKS).computed().description("Each check — `service` (tasks running vs desired), `targets`, `database`, `site` — as `healthy`, `unhealthy` or `unknown` (the check errored)."))
        .attr(s(attr::TARGET_HEALTH_ERROR, "Why the target health could not be read, when it could not."))
        .into_schema()
}

/// `bbws_tenants` data source schema.
pub fn tenants_schema() -> Schema {
    let object = SUMMARY_FIELDS
        .iter()
        .map(|f| {
            let ty = if *f == attr::MISSING_PARTS {
                "[\"list\",\"string\"]"
            } else {
                "\"string\""
            };
            format!("\"{f}\":{ty}")
        })
        .collect::<Vec<_>>()
        .join(",");
    Block::new(0)
        .description("Every tenant of the provider's environment, found by the `bbws:tenant` / `bbws:environment` tags on listener rules and log groups, with its status.")
        .attr(Attr::string(attr::ID).computed().description("The environment."))
        .attr(Attr::string(attr::STATUS).optional().description("Only tenants with this status (`active`, `suspended` or `incomplete`)."))
        .attr(Attr::list_of_string(attr::TENANT_IDS).computed().description("The tenants' ids, sorted."))
        .attr(Attr::of_type(attr::TENANTS, &format!("[\"list\",[\"object\",{{{object}}}]]")).computed().description("One object per tenant: `tenant_id`, `name`, `tier`, `subdomain`, `fqdn`, `url`, `status`, `missing_parts`."))
        .into_schema()
}

/// `bbws_tenant` (data source): the config sets `tenant_id`; every other
/// attribute is computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantDataModel {
    pub tenant_id: TfString,
    pub id: TfString,
    pub name: TfString,
    pub contact_email: TfString,
    pub tier: TfString,
    pub subdomain: TfString,
    pub fqdn: TfString,
    pub url: TfString,
    pub status: TfString,
    pub image: TfString,
    pub wordpress_version: TfString,
    pub php_version: TfString,
    pub parts: TfMap,
    pub service_arn: TfString,
    pub task_definition_arn: TfString,
    pub target_group_arn: TfString,
    pub listener_rule_arn: TfString,
    pub listener_rule_priority: TfNumber,
    pub access_point_id: TfString,
    pub database_name: TfString,
    pub database_user: TfString,
    pub db_secret_arn: TfString,
    pub log_group_name: TfString,
    pub running_count: TfNumber,
    pub desired_count: TfNumber,
    pub target_health: TfMap,
    pub healthy_targets: TfNumber,
    pub database_reachable: TfBool,
    pub database_error: TfString,
    pub http_status: TfNumber,
    pub http_error: TfString,
    pub healthy: TfBool,
    pub health: TfString,
    pub health_checks: TfMap,
    pub target_health_error: TfString,
}

impl TenantDataModel {
    /// The config's attributes (computed ones are null in a config).
    pub fn from_config(v: &Value) -> Self {
        TenantDataModel {
            tenant_id: Reader(v).get(attr::TENANT_ID),
            ..TenantDataModel::default()
        }
    }

    /// The data source's value.
    pub fn to_value(&self) -> Value {
        Writer::default()
            .set(attr::TENANT_ID, &self.tenant_id)
            .set(attr::ID, &self.id)
            .set(attr::NAME, &self.name)
            .set(attr::CONTACT_EMAIL, &self.contact_email)
            .set(attr::TIER, &self.tier)
            .set(attr::SUBDOMAIN, &self.subdomain)
            .set(attr::FQDN, &self.fqdn)
            .set(attr::URL, &self.url)
            .set(attr::STATUS, &self.status)
            .set(attr::IMAGE, &self.image)
            .set(attr::WORDPRESS_VERSION, &self.wordpress_version)
            .set(attr::PHP_VERSION, &self.php_version)
            .set(attr::PARTS, &self.parts)
            .set(attr::SERVICE_ARN, &self.service_arn)
            .set(attr::TASK_DEFINITION_ARN, &self.task_definition_arn)
            .set(attr::TARGET_GROUP_ARN, &self.target_group_arn)
            .set(attr::LISTENER_RULE_ARN, &self.listener_rule_arn)
            .set(attr::LISTENER_RULE_PRIORITY, &self.listener_rule_priority)
            .set(attr::ACCESS_POINT_ID, &self.access_point_id)
            .set(attr::DATABASE_NAME, &self.database_name)
            .set(attr::DATABASE_USER, &self.database_user)
            .set(attr::DB_SECRET_ARN, &self.db_secret_arn)
            .set(attr::LOG_GROUP_NAME, &self.log_group_name)
            .set(attr::RUNNING_COUNT, &self.running_count)
            .set(attr::DESIRED_COUNT, &self.desired_count)
            .set(attr::TARGET_HEALTH, &self.target_health)
            .set(attr::HEALTHY_TARGETS, &self.healthy_targets)
            .set(attr::DATABASE_REACHABLE, &self.database_reachable)
            .set(attr::DATABASE_ERROR, &self.database_error)
            .set(attr::HTTP_STATUS, &self.http_status)
            .set(attr::HTTP_ERROR, &self.http_error)
            .set(attr::HEALTHY, &self.healthy)
            .set(attr::HEALTH, &self.health)
            .set(attr::HEALTH_CHECKS, &self.health_checks)
            .set(attr::TARGET_HEALTH_ERROR, &self.target_health_error)
            .finish()
    }
}

/// `bbws_tenants`: the config may set `status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantsDataModel {
    pub id: TfString,
    pub status: TfString,
    pub tenant_ids: TfList,
    pub tenants: Vec<TenantSummaryModel>,
}

/// One element of `bbws_tenants.tenants`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantSummaryModel {
    pub tenant_id: TfString,
    pub name: TfString,
    pub tier: TfString,
    pub subdomain: TfString,
    pub fqdn: TfString,
    pub url: TfString,
    pub status: TfString,
    pub missing_parts: TfList,
}

impl TenantsDataModel {
    /// The config's attributes.
    pub fn from_config(v: &Value) -> Self {
        TenantsDataModel {
            status: Reader(v).get(attr::STATUS),
            ..TenantsDataModel::default()
        }
    }

    /// The data source's value.
    pub fn to_value(&self) -> Value {
        Writer::default()
            .set(attr::ID, &self.id)
            .set(attr::STATUS, &self.status)
            .set(attr::TENANT_IDS, &self.tenant_ids)
            .set_value(
                attr::TENANTS,
                Value::List(self.tenants.iter().map(TenantSummaryModel::to_value).collect()),
            )
            .finish()
    }
}

impl TenantSummaryModel {
    /// The element of a tenant found in the environment.
    pub fn of(s: &TenantSummary) -> Self {
        TenantSummaryModel {
            tenant_id: TfString::of(s.tenant_id.clone()),
            name: TfString::from_option(s.name.clone()),
            tier: TfString::from_option(s.tier.clone()),
            subdomain: TfString::from_option(s.subdomain.clone()),
            fqdn: TfString::from_option(s.fqdn.clone()),
            url: TfString::from_option(s.url.clone()),
            status: TfString::of(s.status.as_str()),
            missing_parts: TfList::of_elements(s.missing.iter().map(|p| p.as_str().to_owned())),
        }
    }

    fn to_value(&self) -> Value {
        Writer::default()
            .set(attr::TENANT_ID, &self.tenant_id)
            .set(attr::NAME, &self.name)
            .set(attr::TIER, &self.tier)
            .set(attr::SUBDOMAIN, &self.subdomain)
            .set(attr::FQDN, &self.fqdn)
            .set(attr::URL, &self.url)
            .set(attr::STATUS, &self.status)
            .set(attr::MISSING_PARTS, &self.missing_parts)
            .finish()
    }
}

/// `ValidateDataResourceConfig` of `bbws_tenant`: a known tenant id must be
/// one.
pub fn validate_tenant(config: &Value) -> Vec<tf::Diagnostic> {
    match TenantDataModel::from_config(config).tenant_id.as_str() {
        Some(id) if !bbws_core::validate::is_tenant_id(id) => vec![invalid_tenant_id(id)],
        _ => Vec::new(),
    }
}

fn invalid_tenant_id(id: &str) -> tf::Diagnostic {
    error(
        "Invalid tenant_id",
        format!("tenant_id {id:?} must be 12 digits"),
        Some(&[attr::TENANT_ID.to_owned()]),
    )
}

/// The `status` filter, checked: a status the environment's tenants can
/// have, or none.
fn status_filter(status: &TfString) -> Result<Option<ObservedStatus>, tf::Diagnostic> {
    match status.as_str() {
        None => Ok(None),
        Some(w) => ObservedStatus::parse(w).map(Some).ok_or_else(|| {
            error(
                "Invalid status filter",
                format!("status must be active, suspended or incomplete, not {w:?}"),
                Some(&[attr::STATUS.to_owned()]),
            )
        }),
    }
}

/// Reads `bbws_tenant`.
pub async fn read_tenant(c: &Configured, mut m: TenantDataModel) -> Result<TenantDataModel, tf::Diagnostic> {
    let tenant_id = m.tenant_id.as_str().unwrap_or_default().to_owned();
    if !bbws_core::validate::is_tenant_id(&tenant_id) {
        return Err(invalid_tenant_id(&tenant_id));
    }
    let o = c
        .engine
        .observe_by_id(&tenant_id)
        .await
        .map_err(|e| core_error_diag(&e))?;
    if !o.exists() {
        return Err(error(
            format!("Tenant {tenant_id} not found"),
            format!(
                "No part of tenant {tenant_id} exists in environment {}. List the environment's tenants with the bbws_tenants data source.",
                c.platform.environment
            ),
            Some(&[attr::TENANT_ID.to_owned()]),
        ));
    }
    let summary = o.summary(&c.platform);
    let subdomain = summary.subdomain.clone().unwrap_or_else(|| tenant_id.clone());
    let names = bbws_core::naming::TenantNames::new(c.platform.environment, &tenant_id, &subdomain, &c.platform.domain);
    let outputs = o.outputs(&names);
    let health: TenantHealth = c.engine.health(&o, &outputs.url).await;
    m.name = TfString::from_option(summary.name);
    m.contact_email = TfString::from_option(summary.contact_email);
    m.tier = TfString::from_option(summary.tier);
    m.subdomain = TfString::of(subdomain);
    m.status = TfString::of(summary.status.as_str());
    m.image = TfString::from_option(summary.image);
    m.wordpress_version = TfString::from_option(summary.wordpress_version);
    m.php_version = TfString::from_option(summary.php_version);
    m.parts = Tf::Known(
        Part::ALL
            .iter()
            .map(|p| {
                let v = if o.has(*p) { "present" } else { "missing" };
                (p.as_str().to_owned(), TfString::of(v))
            })
            .collect(),
    );
    with_outputs(&mut m, outputs);
    with_health(&mut m, &health);
    Ok(m)
}

/// The parts' identities.
fn with_outputs(m: &mut TenantDataModel, o: TenantOutputs) {
    m.id = TfString::of(o.id);
    m.fqdn = TfString::of(o.fqdn);
    m.url = TfString::of(o.url);
    m.service_arn = TfString::from_option(o.service_arn);
    m.task_definition_arn = TfString::from_option(o.task_definition_arn);
    m.target_group_arn = TfString::from_option(o.target_group_arn);
    m.listener_rule_arn = TfString::from_option(o.listener_rule_arn);
    m.listener_rule_priority = o.listener_rule_priority.map_or(Tf::Null, TfNumber::of);
    m.access_point_id = TfString::from_option(o.access_point_id);
    m.database_name = TfString::from_option(o.database_name);
    m.database_user = TfString::from_option(o.database_user);
    m.db_secret_arn = TfString::from_option(o.db_secret_arn);
    m.log_group_name = TfString::from_option(o.log_group_name);
}

/// What the health checks found.
fn with_health(m: &mut TenantDataModel, health: &TenantHealth) {
    m.running_count = TfNumber::of(health.running_count);
    m.desired_count = TfNumber::of(health.desired_count);
    m.target_health = Tf::Known(
        health
            .targets
            .iter()
            .map(|(id, state)| (id.clone(), TfString::of(state.clone())))
            .collect(),
    );
    m.healthy_targets = TfNumber::of(i64::try_from(health.healthy_targets()).unwrap_or(i64::MAX));
    m.database_reachable = TfBool::Known(health.database_reachable);
    m.database_error = TfString::from_option(health.database_error.clone());
    m.http_status = health.http_status.map_or(Tf::Null, TfNumber::of);
    m.http_error = TfString::from_option(health.http_error.clone());
    m.healthy = TfBool::Known(health.is_healthy());
    m.health = TfString::of(health.state().as_str());
    m.health_checks = Tf::Known(
        health
            .checks()
            .into_iter()
            .map(|(name, state)| (name.to_owned(), TfString::of(state.as_str())))
            .collect(),
    );
    m.target_health_error = TfString::from_option(health.targets_error.clone());
}

/// Reads `bbws_tenants`.
pub async fn read_tenants(c: &Configured, mut m: TenantsDataModel) -> Result<TenantsDataModel, tf::Diagnostic> {
    let want = status_filter(&m.status)?;
    let all = c.engine.observe_all().await.map_err(|e| core_error_diag(&e))?;
    m.tenants = all
        .iter()
        .map(|o| o.summary(&c.platform))
        .filter(|s| want.is_none_or(|w| s.status == w))
        .map(|s| TenantSummaryModel::of(&s))
        .collect();
    m.id = TfString::of(c.platform.environment.as_str());
    m.tenant_ids = Tf::Known(m.tenants.iter().map(|t| t.tenant_id.clone()).collect());
    Ok(m)
}

/// Dispatches `ReadDataSource`: the config in, the data source's value out.
pub async fn read(c: Arc<Configured>, type_name: &str, config: &Value) -> Result<Value, tf::Diagnostic> {
    match type_name {
        TENANT => Ok(read_tenant(&c, TenantDataModel::from_config(config)).await?.to_value()),
        TENANTS => Ok(read_tenants(&c, TenantsDataModel::from_config(config))
            .await?
            .to_value()),
        crate::platform_data::PLATFORM => crate::platform_data::read(&c).await,
        other => Err(error(
            format!("Unknown data source type {other:?}"),
            "terraform-provider-bbws offers the data sources bbws_tenant, bbws_tenants and bbws_platform.",
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_names(schema: Schema) -> Vec<String> {
        let mut names: Vec<String> = schema
            .block
            .map(|b| b.attributes)
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.name)
            .collect();
        names.sort();
        names
    }

    fn keys(v: &Value) -> Vec<String> {
        v.as_map().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    #[test]
    fn each_model_has_exactly_its_schemas_attributes() {
        assert_eq!(
            keys(&TenantDataModel::default().to_value()),
            schema_names(tenant_schema())
        );
        assert_eq!(
            keys(&TenantsDataModel::default().to_value()),
            schema_names(tenants_schema())
        );
        let element = TenantsDataModel {
            tenants: vec![TenantSummaryModel::default()],
            ..TenantsDataModel::default()
        }
        .to_value();
        let first = element
            .get(attr::TENANTS)
            .as_list()
            .and_then(|l| l.first())
            .cloned()
            .expect("an element");
        let mut fields: Vec<String> = SUMMARY_FIELDS.iter().map(|f| (*f).to_owned()).collect();
        fields.sort();
        assert_eq!(keys(&first), fields, "the object type the schema declares");
    }

    #[test]
    fn a_summary_becomes_its_element_and_filters_check_their_names() {
        let summary = TenantSummary {
            tenant_id: "123456789012".into(),
            name: Some("ACME".into()),
            contact_email: None,
            tier: None,
            subdomain: Some("acme".into()),
            fqdn: Some("acme.wpdev.example.io".into()),
            url: Some("https://acme.wpdev.example.io".into()),
            status: ObservedStatus::Incomplete,
            missing: vec![Part::Service],
            image: None,
            wordpress_version: None,
            php_version: None,
        };
        let m = TenantSummaryModel::of(&summary);
        assert_eq!(m.status.as_str(), Some("incomplete"));
        assert_eq!(m.missing_parts.known_elements(), ["service"]);
        assert!(m.tier.is_null());
        assert_eq!(
            status_filter(&TfString::of("suspended")).ok(),
            Some(Some(ObservedStatus::Suspended))
        );
        let bad = status_filter(&TfString::of("gone")).expect_err("refused");
        assert!(bad.detail.contains("\"gone\""), "{}", bad.detail);
        let config = Value::Map([(attr::TENANT_ID.to_owned(), Value::String("12".into()))].into());
        assert_eq!(validate_tenant(&config).len(), 1);
    }
}
