//! The data sources `bbws_tenant` (one tenant: its parts, status and
//! health) and `bbws_tenants` (every tenant of the environment, found by
//! the ownership tags). Reads only; the observation and the probes are
//! core's.

use std::sync::Arc;

use bbws_core::health::TenantHealth;
use bbws_core::observed::ObservedStatus;
use bbws_core::{ObservedTenant, Part};
use magma_protocol::tfplugin6::{self as tf, Schema};

use crate::configured::Configured;
use crate::diag::{core_error_diag, error};
use crate::protocol::schema::{Attr, Block};
use crate::protocol::value::Value;

/// Type name of the one-tenant data source.
pub const TENANT: &str = "bbws_tenant";
/// Type name of the all-tenants data source.
pub const TENANTS: &str = "bbws_tenants";

/// Fields of each element of `bbws_tenants.tenants`.
const SUMMARY_FIELDS: [&str; 8] = [
    "tenant_id",
    "name",
    "tier",
    "subdomain",
    "fqdn",
    "url",
    "status",
    "missing_parts",
];

/// `bbws_tenant` data source schema.
pub fn tenant_schema() -> Schema {
    let s = |name: &str, d: &str| Attr::string(name).computed().description(d);
    let n = |name: &str, d: &str| Attr::number(name).computed().description(d);
    Block::new(0)
        .description("One tenant of the environment, by id: the id or ARN of each of its parts, its status and its health (tasks running vs desired, target health, whether its database accepts its credentials, the site's HTTP status).")
        .attr(Attr::string("tenant_id").required().description("The tenant's 12-digit id."))
        .attr(s("id", "`{environment}-{tenant_id}`."))
        .attr(s("name", "Display name (from the tenant's settings)."))
        .attr(s("contact_email", "Contact e-mail (from the tenant's settings)."))
        .attr(s("tier", "Service tier."))
        .attr(s("subdomain", "DNS label the listener rule routes."))
        .attr(s("fqdn", "`{subdomain}.{domain}`."))
        .attr(s("url", "`https://{fqdn}`."))
        .attr(s("status", "`active`, `suspended`, or `incomplete` when a part is missing."))
        .attr(Attr::map_of_string("parts").computed().description("Each of the ten parts: `present` or `missing`."))
        .attr(s("service_arn", "ECS service ARN."))
        .attr(s("task_definition_arn", "ARN of the latest task definition revision."))
        .attr(s("target_group_arn", "ALB target group ARN."))
        .attr(s("listener_rule_arn", "ALB listener rule ARN."))
        .attr(n("listener_rule_priority", "Priority of the listener rule."))
        .attr(s("access_point_id", "EFS access point id."))
        .attr(s("database_name", "MySQL database name."))
        .attr(s("database_user", "MySQL user name."))
        .attr(s("db_secret_arn", "ARN of the secret with the database credentials."))
        .attr(s("log_group_name", "CloudWatch log group name."))
        .attr(n("running_count", "Tasks running now."))
        .attr(n("desired_count", "Tasks the service should run (0 while suspended)."))
        .attr(Attr::map_of_string("target_health").computed().description("Registered targets of the target group: target id → state (`healthy`, `unhealthy`, `initial`, …)."))
        .attr(n("healthy_targets", "Number of targets in state `healthy`."))
        .attr(Attr::bool("database_reachable").computed().description("Whether the tenant's user logs in to its database with the credentials in its secret."))
        .attr(s("database_error", "Why the database is not reachable, when it is not."))
        .attr(n("http_status", "HTTP status of `GET {url}`, when the site answered."))
        .attr(s("http_error", "Why the site did not answer, when it did not."))
        .attr(Attr::bool("healthy").computed().description("All tasks running, every target healthy, the database reachable and the site answering below 500 — every check ran and passed (false when one could not run)."))
        .attr(s("health", "`healthy`, `unhealthy` (a check ran and failed) or `unknown` (none failed, but one could not run, e.g. DescribeTargetHealth errored)."))
        .attr(Attr::map_of_string("health_checks").computed().description("Each check — `service` (tasks running vs desired), `targets`, `database`, `site` — as `healthy`, `unhealthy` or `unknown` (the check errored)."))
        .attr(s("target_health_error", "Why the target health could not be read, when it could not."))
        .into_schema()
}

/// `bbws_tenants` data source schema.
pub fn tenants_schema() -> Schema {
    let object = SUMMARY_FIELDS
        .iter()
        .map(|f| {
            let ty = if *f == "missing_parts" {
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
        .attr(Attr::string("id").computed().description("The environment."))
        .attr(Attr::string("status").optional().description("Only tenants with this status (`active`, `suspended` or `incomplete`)."))
        .attr(Attr::list_of_string("tenant_ids").computed().description("The tenants' ids, sorted."))
        .attr(Attr::of_type("tenants", &format!("[\"list\",[\"object\",{{{object}}}]]")).computed().description("One object per tenant: `tenant_id`, `name`, `tier`, `subdomain`, `fqdn`, `url`, `status`, `missing_parts`."))
        .into_schema()
}

fn opt_str(v: Option<String>) -> Value {
    v.map_or(Value::Null, Value::String)
}

fn missing(o: &ObservedTenant) -> Vec<Value> {
    Part::ALL
        .iter()
        .filter(|p| !o.has(**p))
        .map(|p| Value::String(p.as_str().to_owned()))
        .collect()
}

/// Reads `bbws_tenant`.
pub async fn read_tenant(c: &Configured, config: &Value) -> Result<Value, tf::Diagnostic> {
    let tenant_id = config.get("tenant_id").as_str().unwrap_or_default().to_owned();
    if !bbws_core::validate::is_tenant_id(&tenant_id) {
        return Err(error(
            "Invalid tenant_id",
            format!("tenant_id {tenant_id:?} must be 12 digits"),
            Some(&["tenant_id".to_owned()]),
        ));
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
            Some(&["tenant_id".to_owned()]),
        ));
    }
    let settings = o.recovered_input(&c.platform);
    let subdomain = o
        .routed_subdomain(&c.platform.domain)
        .unwrap_or_else(|| tenant_id.clone());
    let names = bbws_core::naming::TenantNames::new(c.platform.environment, &tenant_id, &subdomain, &c.platform.domain);
    let outputs = o.outputs(&names);
    let health: TenantHealth = c.engine.health(&o, &outputs.url).await;
    let num = |n: u32| Value::from_i64(i64::from(n));
    Ok(Value::object([
        ("tenant_id", Value::String(tenant_id.clone())),
        ("id", Value::String(outputs.id.clone())),
        ("name", opt_str(settings.as_ref().map(|s| s.name.clone()))),
        (
            "contact_email",
            opt_str(settings.as_ref().map(|s| s.contact_email.clone())),
        ),
        ("tier", opt_str(settings.as_ref().and_then(|s| s.tier.clone()))),
        ("subdomain", Value::String(subdomain)),
        ("fqdn", Value::String(outputs.fqdn.clone())),
        ("url", Value::String(outputs.url.clone())),
        ("status", Value::String(o.status().as_str().to_owned())),
        (
            "parts",
            Value::object(Part::ALL.iter().map(|p| {
                let v = if o.has(*p) { "present" } else { "missing" };
                (p.as_str(), Value::String(v.to_owned()))
            })),
        ),
        ("service_arn", opt_str(outputs.service_arn)),
        ("task_definition_arn", opt_str(outputs.task_definition_arn)),
        ("target_group_arn", opt_str(outputs.target_group_arn)),
        ("listener_rule_arn", opt_str(outputs.listener_rule_arn)),
        (
            "listener_rule_priority",
            outputs.listener_rule_priority.map_or(Value::Null, num),
        ),
        ("access_point_id", opt_str(outputs.access_point_id)),
        ("database_name", opt_str(outputs.database_name)),
        ("database_user", opt_str(outputs.database_user)),
        ("db_secret_arn", opt_str(outputs.db_secret_arn)),
        ("log_group_name", opt_str(outputs.log_group_name)),
        ("running_count", num(health.running_count)),
        ("desired_count", num(health.desired_count)),
        (
            "target_health",
            Value::Map(
                health
                    .targets
                    .iter()
                    .map(|(id, state)| (id.clone(), Value::String(state.clone())))
                    .collect(),
            ),
        ),
        (
            "healthy_targets",
            Value::from_i64(i64::try_from(health.healthy_targets()).unwrap_or(i64::MAX)),
        ),
        ("database_reachable", Value::Bool(health.database_reachable)),
        ("database_error", opt_str(health.database_error.clone())),
        (
            "http_status",
            health
                .http_status
                .map_or(Value::Null, |s| Value::from_i64(i64::from(s))),
        ),
        ("http_error", opt_str(health.http_error.clone())),
        ("healthy", Value::Bool(health.is_healthy())),
        ("health", Value::String(health.state().as_str().to_owned())),
        (
            "health_checks",
            Value::object(
                health
                    .checks()
                    .map(|(name, state)| (name, Value::String(state.as_str().to_owned()))),
            ),
        ),
        ("target_health_error", opt_str(health.targets_error.clone())),
    ]))
}

/// Reads `bbws_tenants`.
pub async fn read_tenants(c: &Configured, config: &Value) -> Result<Value, tf::Diagnostic> {
    let want = config.get("status").as_str().map(str::to_owned);
    if let Some(w) = &want
        && ObservedStatus::parse(w).is_none()
    {
        return Err(error(
            "Invalid status filter",
            format!("status must be active, suspended or incomplete, not {w:?}"),
            Some(&["status".to_owned()]),
        ));
    }
    let all = c.engine.observe_all().await.map_err(|e| core_error_diag(&e))?;
    let tenants: Vec<Value> = all
        .iter()
        .filter(|o| want.as_deref().is_none_or(|w| o.status().as_str() == w))
        .map(|o| {
            let settings = o.recovered_input(&c.platform);
            let sub = o.routed_subdomain(&c.platform.domain);
            let fqdn = sub.as_ref().map(|s| format!("{s}.{}", c.platform.domain));
            Value::object([
                ("tenant_id", Value::String(o.tenant_id.clone())),
                ("name", opt_str(settings.as_ref().map(|s| s.name.clone()))),
                ("tier", opt_str(settings.as_ref().and_then(|s| s.tier.clone()))),
                ("subdomain", opt_str(sub)),
                ("url", opt_str(fqdn.as_ref().map(|f| format!("https://{f}")))),
                ("fqdn", opt_str(fqdn)),
                ("status", Value::String(o.status().as_str().to_owned())),
                ("missing_parts", Value::List(missing(o))),
            ])
        })
        .collect();
    let ids = tenants.iter().map(|t| t.get("tenant_id").clone()).collect();
    Ok(Value::object([
        ("id", Value::String(c.platform.environment.as_str().to_owned())),
        ("status", opt_str(want)),
        ("tenant_ids", Value::List(ids)),
        ("tenants", Value::List(tenants)),
    ]))
}

/// Dispatches `ReadDataSource`.
pub async fn read(c: Arc<Configured>, type_name: &str, config: &Value) -> Result<Value, tf::Diagnostic> {
    match type_name {
        TENANT => read_tenant(&c, config).await,
        TENANTS => read_tenants(&c, config).await,
        other => Err(error(
            format!("Unknown data source type {other:?}"),
            "terraform-provider-bbws offers the data sources bbws_tenant and bbws_tenants.",
            None,
        )),
    }
}
