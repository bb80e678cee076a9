//! The `bbws_tenant` resource: schema, and the mapping between Terraform
//! values and `bbws-core`'s `TenantInput` / `ObservedTenant` / `TenantPlan`.
//! The lifecycle decisions themselves are core's.

use std::collections::BTreeMap;
use std::sync::Arc;

use bbws_core::naming::TenantNames;
use bbws_core::observed::TenantOutputs;
use bbws_core::plan::{PartAction, field_list};
use bbws_core::validate::Violation;
use bbws_core::{Part, Platform, TenantInput, TenantPlan, TenantSpec};
use magma_protocol::tfplugin6::Schema;

use crate::protocol::schema::{Attr, Block};
use crate::protocol::value::Value;

/// Resource type name.
pub const TYPE_NAME: &str = "bbws_tenant";
/// Schema version of the resource state.
/// 1 added `db_password_wo`, `db_password_wo_version`, `wait_for_steady_state`
/// and `steady_state_timeout_seconds`. Added optional attributes need no new
/// version: [`upgrade_state`] fills in null for any attribute a state lacks.
pub const SCHEMA_VERSION: i64 = 1;

/// The value of a converged part in the `parts` map.
pub const PART_OK: &str = "ok";

/// The attribute names of `bbws_tenant`: the one place each is spelled.
pub mod attr {
    /// `id`.
    pub const ID: &str = "id";
    /// `name`.
    pub const NAME: &str = "name";
    /// `contact_email`.
    pub const CONTACT_EMAIL: &str = "contact_email";
    /// `tenant_id`.
    pub const TENANT_ID: &str = "tenant_id";
    /// `subdomain`.
    pub const SUBDOMAIN: &str = "subdomain";
    /// `tier`.
    pub const TIER: &str = "tier";
    /// `wordpress_version`.
    pub const WORDPRESS_VERSION: &str = "wordpress_version";
    /// `php_version`.
    pub const PHP_VERSION: &str = "php_version";
    /// `image`.
    pub const IMAGE: &str = "image";
    /// `cpu`.
    pub const CPU: &str = "cpu";
    /// `memory`.
    pub const MEMORY: &str = "memory";
    /// `desired_count`.
    pub const DESIRED_COUNT: &str = "desired_count";
    pub const DB_MAX_CONNECTIONS: &str = "db_max_connections";
    /// `status`.
    pub const STATUS: &str = "status";
    /// `environment_variables`.
    pub const ENVIRONMENT_VARIABLES: &str = "environment_variables";
    /// `log_retention_days`.
    pub const LOG_RETENTION_DAYS: &str = "log_retention_days";
    /// `deletion_protection`.
    pub const DELETION_PROTECTION: &str = "deletion_protection";
    /// `confirm_destroy`.
    pub const CONFIRM_DESTROY: &str = "confirm_destroy";
    /// `retain_data_on_destroy`.
    pub const RETAIN_DATA_ON_DESTROY: &str = "retain_data_on_destroy";
    /// `db_password_wo`.
    pub const DB_PASSWORD_WO: &str = "db_password_wo";
    /// `db_password_wo_version`.
    pub const DB_PASSWORD_WO_VERSION: &str = "db_password_wo_version";
    /// `wait_for_steady_state`.
    pub const WAIT_FOR_STEADY_STATE: &str = "wait_for_steady_state";
    /// `steady_state_timeout_seconds`.
    pub const STEADY_STATE_TIMEOUT_SECONDS: &str = "steady_state_timeout_seconds";
    /// `tags`.
    pub const TAGS: &str = "tags";
    /// `fqdn`.
    pub const FQDN: &str = "fqdn";
    /// `url`.
    pub const URL: &str = "url";
    /// `service_arn`.
    pub const SERVICE_ARN: &str = "service_arn";
    /// `task_definition_arn`.
    pub const TASK_DEFINITION_ARN: &str = "task_definition_arn";
    /// `target_group_arn`.
    pub const TARGET_GROUP_ARN: &str = "target_group_arn";
    /// `listener_rule_arn`.
    pub const LISTENER_RULE_ARN: &str = "listener_rule_arn";
    /// `listener_rule_priority`.
    pub const LISTENER_RULE_PRIORITY: &str = "listener_rule_priority";
    /// `access_point_id`.
    pub const ACCESS_POINT_ID: &str = "access_point_id";
    /// `database_name`.
    pub const DATABASE_NAME: &str = "database_name";
    /// `database_user`.
    pub const DATABASE_USER: &str = "database_user";
    /// `db_secret_arn`.
    pub const DB_SECRET_ARN: &str = "db_secret_arn";
    /// `log_group_name`.
    pub const LOG_GROUP_NAME: &str = "log_group_name";
    /// `parts`.
    pub const PARTS: &str = "parts";
}

/// The resource schema (SPEC §7).
pub fn schema() -> Schema {
    let block = Block::new(SCHEMA_VERSION)
        .description("One tenant of the bbws WordPress hosting platform: ECS service and task definition, ALB target group and listener rule, Route53 record, EFS access point, MySQL database and user, Secrets Manager secret and CloudWatch log group, planned and applied as one unit.")
        .attr(Attr::string(attr::ID).computed().description("`{environment}-{tenant_id}`."))
        .attr(Attr::string(attr::NAME).required().description("Display name of the tenant. In prod it is also the typed confirmation `confirm_destroy` must equal before the tenant can be destroyed."))
        .attr(Attr::string(attr::CONTACT_EMAIL).required().description("Who to contact about this tenant."))
        .attr(Attr::string(attr::TENANT_ID).optional().computed().description("12-digit numeric tenant id. When omitted, derived at plan time from the environment, `name`, `contact_email` and `subdomain` (so the plan shows it, and a run killed before its state was saved finds the same tenant again); set it explicitly when two tenants share those. Changing it replaces the tenant."))
        .attr(Attr::string(attr::SUBDOMAIN).optional().computed().description("DNS label under the environment's domain (default: the tenant id). Changing it updates the listener rule and DNS record in place."))
        .attr(Attr::string(attr::TIER).optional().computed().description("`starter` (default), `professional` or `enterprise`: sets the defaults of `cpu`, `memory` and `desired_count`."))
        .attr(Attr::string(attr::WORDPRESS_VERSION).optional().computed().description("WordPress version; part of the image tag (default `6.6`)."))
        .attr(Attr::string(attr::PHP_VERSION).optional().computed().description("PHP version; part of the image tag (default `8.3`)."))
        .attr(Attr::string(attr::IMAGE).optional().computed().description("Container image repository without tag (default `wordpress`); the tag is `{wordpress_version}-php{php_version}-apache`."))
        .attr(Attr::number(attr::CPU).optional().computed().description("Fargate CPU units (default from the tier). Must form a pair Fargate accepts with `memory`."))
        .attr(Attr::number(attr::MEMORY).optional().computed().description("Fargate memory in MiB (default from the tier)."))
        .attr(Attr::number(attr::DESIRED_COUNT).optional().computed().description("Tasks to run while active (default from the tier)."))
        .attr(Attr::number(attr::DB_MAX_CONNECTIONS).optional().computed().description("`MAX_USER_CONNECTIONS` of the tenant's MySQL user, so that one tenant cannot exhaust the shared server (default from the tier: 10, 25, 50). Updates in place."))
        .attr(Attr::string(attr::STATUS).optional().computed().description("`active` (default) or `suspended`: suspended scales the service to zero and makes the listener rule answer a fixed 503 page. Data is untouched."))
        .attr(Attr::map_of_string(attr::ENVIRONMENT_VARIABLES).optional().description("Extra environment variables of the WordPress container. `WORDPRESS_DB_*` are set by bbws."))
        .attr(Attr::number(attr::LOG_RETENTION_DAYS).optional().computed().description("Retention of the tenant's log group in days (default 30); one of CloudWatch's periods."))
        .attr(Attr::bool(attr::DELETION_PROTECTION).optional().computed().description("When true, destroy is refused. Default: true in prod, false elsewhere."))
        .attr(Attr::string(attr::CONFIRM_DESTROY).optional().description("In prod, destroy also requires this to equal `name`."))
        .attr(Attr::bool(attr::RETAIN_DATA_ON_DESTROY).optional().computed().description("Keep the database, the user (locked) and the EFS files when the tenant is destroyed (default true)."))
        .attr(Attr::string(attr::DB_PASSWORD_WO).optional().sensitive().write_only().description("Write-only: the database user's password, set in MySQL and in the secret. Never stored in state or plan. Requires `db_password_wo_version`; change the version to rotate. When omitted, bbws generates a password from the OS CSPRNG. 8–128 printable characters."))
        .attr(Attr::number(attr::DB_PASSWORD_WO_VERSION).optional().description("Version of `db_password_wo`. Changing it rotates the password (in MySQL and in the secret) and restarts the tenant's tasks so they read it. Without `db_password_wo`, a change rotates to a newly generated password."))
        .attr(Attr::bool(attr::WAIT_FOR_STEADY_STATE).optional().description("After a change to the service, wait until ECS completes its deployment (the PRIMARY deployment's rollout state COMPLETED). Every service runs with ECS's deployment circuit breaker and rollback on: a deployment ECS fails is rolled back by ECS to the last revision that completed, and the apply fails naming the failed revision, ECS's reason and the revision running now. A deployment that neither completes nor fails within `steady_state_timeout_seconds` (tasks held pending, which the breaker does not count) is pointed back at the revision it ran before by bbws. A create that does not complete is removed again. Default false."))
        .attr(Attr::number(attr::STEADY_STATE_TIMEOUT_SECONDS).optional().description("How long `wait_for_steady_state` waits, 1–3600 seconds (default 600)."))
        .attr(Attr::map_of_string(attr::TAGS).optional().description("Tags for every AWS part, on top of the provider's `default_tags` and bbws's ownership tags."))
        .attr(Attr::string(attr::FQDN).computed().description("`{subdomain}.{domain}`."))
        .attr(Attr::string(attr::URL).computed().description("`https://{fqdn}`."))
        .attr(Attr::string(attr::SERVICE_ARN).computed().description("ECS service ARN."))
        .attr(Attr::string(attr::TASK_DEFINITION_ARN).computed().description("ARN of the task definition revision the service runs."))
        .attr(Attr::string(attr::TARGET_GROUP_ARN).computed().description("ALB target group ARN."))
        .attr(Attr::string(attr::LISTENER_RULE_ARN).computed().description("ALB listener rule ARN."))
        .attr(Attr::number(attr::LISTENER_RULE_PRIORITY).computed().description("Priority of the listener rule, allocated automatically and unique on the listener."))
        .attr(Attr::string(attr::ACCESS_POINT_ID).computed().description("EFS access point id."))
        .attr(Attr::string(attr::DATABASE_NAME).computed().description("MySQL database name (`{tenant_id}_db`)."))
        .attr(Attr::string(attr::DATABASE_USER).computed().description("MySQL user name (`{tenant_id}_user`)."))
        .attr(Attr::string(attr::DB_SECRET_ARN).computed().description("ARN of the Secrets Manager secret holding the database credentials. The password itself is never in Terraform state."))
        .attr(Attr::string(attr::LOG_GROUP_NAME).computed().description("CloudWatch log group name."))
        .attr(Attr::map_of_string(attr::PARTS).computed().description("Each part's state: `ok`, `missing`, or `drifted: <fields>`. The plan shows a repair as a change of this map, part by part."));
    block.into_schema()
}

/// A state with every attribute of the schema, all null.
pub fn null_state() -> Value {
    let names: Vec<String> = schema()
        .block
        .map(|b| b.attributes.into_iter().map(|a| a.name).collect())
        .unwrap_or_default();
    Value::Map(names.into_iter().map(|n| (n, Value::Null)).collect())
}

/// A stored state of `version` (JSON, as Terraform keeps it) in the current
/// schema's shape: attributes added since are null, removed ones dropped.
pub fn upgrade_state(version: i64, old: &Value) -> Result<Value, String> {
    if version > SCHEMA_VERSION {
        return Err(format!(
            "the state was written by a newer provider (schema version {version}; this provider knows up to {SCHEMA_VERSION}); upgrade terraform-provider-bbws"
        ));
    }
    let Value::Map(mut upgraded) = null_state() else {
        return Err("the schema has no attributes".into());
    };
    for (k, v) in upgraded.iter_mut() {
        // Attributes newer than the state are null (unset) in it.
        *v = old.get(k).clone();
    }
    Ok(Value::Map(upgraded))
}

/// A configuration value for a state (`GenerateResourceConfig`): the
/// attributes a user sets, with computed-only ones null.
pub fn config_from_state(state: &Value) -> Value {
    let schema = schema();
    let attrs = schema.block.map(|b| b.attributes).unwrap_or_default();
    Value::Map(
        attrs
            .iter()
            .map(|a| {
                let settable = (a.required || a.optional) && !a.write_only;
                let v = if settable {
                    state.get(&a.name).clone()
                } else {
                    Value::Null
                };
                (a.name.clone(), v)
            })
            .collect(),
    )
}

/// The write-only password in a config, when set.
pub fn db_password(config: &Value) -> Option<bbws_core::DbPassword> {
    config
        .get(attr::DB_PASSWORD_WO)
        .as_str()
        .map(bbws_core::DbPassword::new)
}

/// The subdomain a state records (none for a new resource): observations
/// look for its DNS record too, so a renamed tenant's old one is found.
pub fn recorded_subdomains(state: &Value) -> Vec<String> {
    state
        .get(attr::SUBDOMAIN)
        .as_str()
        .map(str::to_ascii_lowercase)
        .into_iter()
        .collect()
}

/// Reads the user-settable attributes from a config, plan or state value.
/// Unknown values read as unset; callers check [`has_unknown_inputs`] first.
pub fn input_from(v: &Value) -> TenantInput {
    let s = |k: &str| v.get(k).as_str().map(str::to_owned);
    // A number that is no whole number is rejected, not read as unset
    // (which would plan the tier's default in its place).
    let rejected = std::cell::RefCell::new(Vec::new());
    let n = |k: &str| match v.get(k).whole_number() {
        Ok(n) => n,
        Err(rule) => {
            rejected.borrow_mut().push(number_violation(k, v.get(k), rule));
            None
        }
    };
    let map = |k: &str| -> BTreeMap<String, String> {
        v.get(k)
            .as_map()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    };
    TenantInput {
        name: s(attr::NAME).unwrap_or_default(),
        contact_email: s(attr::CONTACT_EMAIL).unwrap_or_default(),
        tenant_id: s(attr::TENANT_ID),
        subdomain: s(attr::SUBDOMAIN),
        tier: s(attr::TIER),
        wordpress_version: s(attr::WORDPRESS_VERSION),
        php_version: s(attr::PHP_VERSION),
        image: s(attr::IMAGE),
        cpu: n(attr::CPU),
        memory: n(attr::MEMORY),
        desired_count: n(attr::DESIRED_COUNT),
        db_max_connections: n(attr::DB_MAX_CONNECTIONS),
        status: s(attr::STATUS),
        environment_variables: map(attr::ENVIRONMENT_VARIABLES),
        log_retention_days: n(attr::LOG_RETENTION_DAYS),
        deletion_protection: v.get(attr::DELETION_PROTECTION).as_bool(),
        confirm_destroy: s(attr::CONFIRM_DESTROY),
        retain_data_on_destroy: v.get(attr::RETAIN_DATA_ON_DESTROY).as_bool(),
        tags: map(attr::TAGS),
        db_password_version: n(attr::DB_PASSWORD_WO_VERSION),
        wait_for_steady_state: v.get(attr::WAIT_FOR_STEADY_STATE).as_bool(),
        steady_state_timeout_seconds: n(attr::STEADY_STATE_TIMEOUT_SECONDS),
        rejected: rejected.take(),
    }
}

/// `attribute = value must be a whole number [whole_number]`.
pub fn number_violation(path: &str, value: &Value, rule: &str) -> Violation {
    let shown = match value {
        Value::Int(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    };
    Violation {
        attribute: path.split('.').map(str::to_owned).collect(),
        rule: "whole_number".to_owned(),
        message: format!("{path} = {shown} {rule}"),
    }
}

/// The user-settable attributes of an input as a value (an import's
/// stand-in for the configuration). Empty maps are null, as when unset.
pub fn value_from_input(i: &TenantInput) -> Value {
    let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    let n = |v: Option<i64>| v.map_or(Value::Null, Value::from_i64);
    let b = |v: Option<bool>| v.map_or(Value::Null, Value::Bool);
    let map = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Map(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
        }
    };
    Value::object([
        (attr::NAME, Value::String(i.name.clone())),
        (attr::CONTACT_EMAIL, Value::String(i.contact_email.clone())),
        (attr::TENANT_ID, s(&i.tenant_id)),
        (attr::SUBDOMAIN, s(&i.subdomain)),
        (attr::TIER, s(&i.tier)),
        (attr::WORDPRESS_VERSION, s(&i.wordpress_version)),
        (attr::PHP_VERSION, s(&i.php_version)),
        (attr::IMAGE, s(&i.image)),
        (attr::CPU, n(i.cpu)),
        (attr::MEMORY, n(i.memory)),
        (attr::DESIRED_COUNT, n(i.desired_count)),
        (attr::DB_MAX_CONNECTIONS, n(i.db_max_connections)),
        (attr::STATUS, s(&i.status)),
        (attr::ENVIRONMENT_VARIABLES, map(&i.environment_variables)),
        (attr::LOG_RETENTION_DAYS, n(i.log_retention_days)),
        (attr::DELETION_PROTECTION, b(i.deletion_protection)),
        (attr::CONFIRM_DESTROY, s(&i.confirm_destroy)),
        (attr::RETAIN_DATA_ON_DESTROY, b(i.retain_data_on_destroy)),
        (attr::TAGS, map(&i.tags)),
        (attr::DB_PASSWORD_WO, Value::Null),
        (attr::DB_PASSWORD_WO_VERSION, n(i.db_password_version)),
        (attr::WAIT_FOR_STEADY_STATE, b(i.wait_for_steady_state)),
        (attr::STEADY_STATE_TIMEOUT_SECONDS, n(i.steady_state_timeout_seconds)),
    ])
}

/// Resource identity: which environment, which tenant.
pub fn identity_schema() -> magma_protocol::tfplugin6::ResourceIdentitySchema {
    use magma_protocol::tfplugin6::resource_identity_schema::IdentityAttribute;
    let attr = |name: &str, description: &str| IdentityAttribute {
        name: name.to_owned(),
        r#type: b"\"string\"".to_vec(),
        required_for_import: true,
        optional_for_import: false,
        description: description.to_owned(),
    };
    magma_protocol::tfplugin6::ResourceIdentitySchema {
        version: 0,
        identity_attributes: vec![
            attr("environment", "The provider's environment: `dev`, `sit` or `prod`."),
            attr("tenant_id", "The tenant's 12-digit id."),
        ],
    }
}

/// The identity value of a tenant.
pub fn identity(environment: &str, tenant_id: &str) -> magma_protocol::tfplugin6::ResourceIdentityData {
    magma_protocol::tfplugin6::ResourceIdentityData {
        identity_data: Some(crate::protocol::value::encode(&Value::object([
            ("environment", Value::String(environment.to_owned())),
            ("tenant_id", Value::String(tenant_id.to_owned())),
        ]))),
    }
}

/// The user-settable attributes whose unknown value means the plan cannot
/// be computed yet.
const INPUTS: [&str; 22] = [
    attr::NAME,
    attr::CONTACT_EMAIL,
    attr::TENANT_ID,
    attr::SUBDOMAIN,
    attr::TIER,
    attr::WORDPRESS_VERSION,
    attr::PHP_VERSION,
    attr::IMAGE,
    attr::CPU,
    attr::MEMORY,
    attr::DESIRED_COUNT,
    attr::DB_MAX_CONNECTIONS,
    attr::STATUS,
    attr::ENVIRONMENT_VARIABLES,
    attr::LOG_RETENTION_DAYS,
    attr::DELETION_PROTECTION,
    attr::CONFIRM_DESTROY,
    attr::RETAIN_DATA_ON_DESTROY,
    attr::TAGS,
    attr::DB_PASSWORD_WO_VERSION,
    attr::WAIT_FOR_STEADY_STATE,
    attr::STEADY_STATE_TIMEOUT_SECONDS,
];

/// Whether any input is not known yet (e.g. from another resource).
pub fn has_unknown_inputs(config: &Value) -> bool {
    INPUTS.iter().any(|k| !config.get(k).is_known_deep())
}

/// What each part's action means in the `parts` map.
pub fn part_status(action: &PartAction) -> String {
    match action {
        PartAction::NoChange | PartAction::Retain(_) => PART_OK.to_owned(),
        PartAction::Create => "missing".to_owned(),
        PartAction::Update(f) => format!("drifted: {}", field_list(f)),
        PartAction::Replace(f) => format!("drifted: {} (part is recreated)", field_list(f)),
        PartAction::Delete => "to delete".to_owned(),
    }
}

/// The `parts` map of a plan (what is now), or of a converged tenant.
pub fn parts_of(plan: Option<&TenantPlan>) -> Value {
    Value::object(Part::ALL.iter().map(|p| {
        let status = plan.map_or_else(|| PART_OK.to_owned(), |plan| part_status(plan.action(*p)));
        (p.as_str(), Value::String(status))
    }))
}

fn opt_str(v: Option<String>) -> Value {
    v.map_or(Value::Null, Value::String)
}

fn num(n: u32) -> Value {
    Value::from_i64(i64::from(n))
}

/// Takes the config's value when set, else `resolved` (optional+computed).
fn config_or(config: &Value, key: &str, resolved: Value) -> Value {
    let c = config.get(key);
    if c.is_null() { resolved } else { c.clone() }
}

/// The resource value for a resolved spec: config values where the user set
/// them, resolved defaults elsewhere, computed values from `outputs`
/// (`None` in an output = unknown), and the `parts` map.
pub fn state_value(
    config: &Value,
    spec: &TenantSpec,
    outputs: &TenantOutputs,
    known: &KnownOutputs,
    parts: Value,
) -> Value {
    let out = |v: &Option<String>, k: bool| if k { opt_str(v.clone()) } else { Value::Unknown };
    Value::object([
        (attr::ID, Value::String(outputs.id.clone())),
        (attr::NAME, config.get(attr::NAME).clone()),
        (attr::CONTACT_EMAIL, config.get(attr::CONTACT_EMAIL).clone()),
        (attr::TENANT_ID, Value::String(spec.tenant_id.clone())),
        // As written (`Acme`): Terraform requires the configured value;
        // the parts use the lower-case one.
        (
            attr::SUBDOMAIN,
            config_or(config, attr::SUBDOMAIN, Value::String(spec.subdomain.clone())),
        ),
        (
            attr::TIER,
            config_or(config, attr::TIER, Value::String(spec.tier.as_str().to_owned())),
        ),
        (attr::WORDPRESS_VERSION, Value::String(spec.wordpress_version.clone())),
        (attr::PHP_VERSION, Value::String(spec.php_version.clone())),
        (attr::IMAGE, Value::String(spec.image.clone())),
        (attr::CPU, num(spec.cpu)),
        (attr::MEMORY, num(spec.memory)),
        (attr::DESIRED_COUNT, num(spec.desired_count)),
        (attr::DB_MAX_CONNECTIONS, num(spec.db_max_connections)),
        (attr::STATUS, Value::String(spec.status.as_str().to_owned())),
        (
            attr::ENVIRONMENT_VARIABLES,
            config.get(attr::ENVIRONMENT_VARIABLES).clone(),
        ),
        (attr::LOG_RETENTION_DAYS, num(spec.log_retention_days)),
        (attr::DELETION_PROTECTION, Value::Bool(spec.deletion_protection)),
        (attr::CONFIRM_DESTROY, config.get(attr::CONFIRM_DESTROY).clone()),
        (attr::RETAIN_DATA_ON_DESTROY, Value::Bool(spec.retain_data_on_destroy)),
        (attr::TAGS, config.get(attr::TAGS).clone()),
        // Write-only: never in plan or state.
        (attr::DB_PASSWORD_WO, Value::Null),
        (
            attr::DB_PASSWORD_WO_VERSION,
            config.get(attr::DB_PASSWORD_WO_VERSION).clone(),
        ),
        (
            attr::WAIT_FOR_STEADY_STATE,
            config.get(attr::WAIT_FOR_STEADY_STATE).clone(),
        ),
        (
            attr::STEADY_STATE_TIMEOUT_SECONDS,
            config.get(attr::STEADY_STATE_TIMEOUT_SECONDS).clone(),
        ),
        (attr::FQDN, Value::String(outputs.fqdn.clone())),
        (attr::URL, Value::String(outputs.url.clone())),
        (attr::SERVICE_ARN, out(&outputs.service_arn, known.service_arn)),
        (
            attr::TASK_DEFINITION_ARN,
            out(&outputs.task_definition_arn, known.task_definition_arn),
        ),
        (
            attr::TARGET_GROUP_ARN,
            out(&outputs.target_group_arn, known.target_group_arn),
        ),
        (
            attr::LISTENER_RULE_ARN,
            out(&outputs.listener_rule_arn, known.listener_rule_arn),
        ),
        (
            attr::LISTENER_RULE_PRIORITY,
            if known.listener_rule_priority {
                outputs.listener_rule_priority.map_or(Value::Null, num)
            } else {
                Value::Unknown
            },
        ),
        (
            attr::ACCESS_POINT_ID,
            out(&outputs.access_point_id, known.access_point_id),
        ),
        (attr::DATABASE_NAME, opt_str(outputs.database_name.clone())),
        (attr::DATABASE_USER, opt_str(outputs.database_user.clone())),
        (attr::DB_SECRET_ARN, out(&outputs.db_secret_arn, known.db_secret_arn)),
        (attr::LOG_GROUP_NAME, opt_str(outputs.log_group_name.clone())),
        (attr::PARTS, parts),
    ])
}

/// The identities a planned state shows (`None` where it says "known after
/// apply" or the part is absent), for
/// [`bbws_core::lifecycle::unplanned_destruction`].
pub fn shown_outputs(planned: &Value) -> TenantOutputs {
    let shown = |key: &str| planned.get(key).as_str().map(str::to_owned);
    TenantOutputs {
        service_arn: shown(attr::SERVICE_ARN),
        task_definition_arn: shown(attr::TASK_DEFINITION_ARN),
        target_group_arn: shown(attr::TARGET_GROUP_ARN),
        listener_rule_arn: shown(attr::LISTENER_RULE_ARN),
        access_point_id: shown(attr::ACCESS_POINT_ID),
        db_secret_arn: shown(attr::DB_SECRET_ARN),
        ..TenantOutputs::default()
    }
}

/// Which computed outputs are known (after apply, all; in a plan, those of
/// parts that are not created or replaced).
#[derive(Debug, Clone, Copy)]
pub struct KnownOutputs {
    service_arn: bool,
    task_definition_arn: bool,
    target_group_arn: bool,
    listener_rule_arn: bool,
    listener_rule_priority: bool,
    access_point_id: bool,
    db_secret_arn: bool,
}

impl KnownOutputs {
    /// Everything known: state after apply or read.
    pub const ALL: KnownOutputs = KnownOutputs {
        service_arn: true,
        task_definition_arn: true,
        target_group_arn: true,
        listener_rule_arn: true,
        listener_rule_priority: true,
        access_point_id: true,
        db_secret_arn: true,
    };

    /// Known where the planned output has a value.
    pub fn from_planned(o: &TenantOutputs) -> Self {
        KnownOutputs {
            service_arn: o.service_arn.is_some(),
            task_definition_arn: o.task_definition_arn.is_some(),
            target_group_arn: o.target_group_arn.is_some(),
            listener_rule_arn: o.listener_rule_arn.is_some(),
            listener_rule_priority: o.listener_rule_priority.is_some(),
            access_point_id: o.access_point_id.is_some(),
            db_secret_arn: o.db_secret_arn.is_some(),
        }
    }
}

/// The value planned for a tenant whose inputs are not all known yet:
/// config as is, everything else unknown.
pub fn unknown_plan(config: &Value) -> Value {
    let mut m = config.as_map().cloned().unwrap_or_default();
    for (k, v) in m.iter_mut() {
        if v.is_null()
            && !matches!(
                k.as_str(),
                attr::ENVIRONMENT_VARIABLES
                    | attr::TAGS
                    | attr::CONFIRM_DESTROY
                    | attr::DB_PASSWORD_WO
                    | attr::DB_PASSWORD_WO_VERSION
                    | attr::WAIT_FOR_STEADY_STATE
                    | attr::STEADY_STATE_TIMEOUT_SECONDS
            )
        {
            *v = Value::Unknown;
        }
    }
    m.insert(attr::DB_PASSWORD_WO.to_owned(), Value::Null);
    Value::Map(m)
}

/// The resource value of a tenant known only from its parts (import,
/// list): the settings in its secret and what the parts say.
pub(crate) fn state_of_observed(
    platform: &Arc<Platform>,
    observed: &bbws_core::ObservedTenant,
) -> Result<Value, magma_protocol::tfplugin6::Diagnostic> {
    let tenant_id = observed.tenant_id.clone();
    let input = observed.recovered_input(platform).ok_or_else(|| {
        let names = TenantNames::new(platform.environment, &tenant_id, &tenant_id, &platform.domain);
        crate::diag::error(
            format!("Tenant {tenant_id} cannot be imported"),
            format!(
                "Parts of tenant {tenant_id} exist in environment {}, but its database secret ({}) with the tenant's settings does not. Import works for tenants created by bbws; recreate the secret by applying a configuration for this tenant instead.",
                platform.environment, names.secret
            ),
            None,
        )
    })?;
    let spec = input.resolve(platform.clone()).map_err(|v| {
        crate::diag::violation_diags(&v, "")
            .into_iter()
            .next()
            .unwrap_or_else(|| crate::diag::error("invalid settings", format!("tenant {tenant_id}"), None))
    })?;
    let plan = bbws_core::plan(&spec, observed);
    let config = value_from_input(&input);
    let outputs = observed.outputs(&spec.names());
    Ok(state_value(
        &config,
        &spec,
        &outputs,
        &KnownOutputs::ALL,
        parts_of(Some(&plan)),
    ))
}

/// What the provider keeps of a tenant in Terraform's private state (stored
/// with the resource, never shown): the task definition revision it last
/// observed. Revisions are immutable, so the next refresh hands it to the
/// engine instead of describing it again — one request fewer per tenant.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct TenantPrivate {
    #[serde(default)]
    task_definition: Option<bbws_core::parts::ObservedTaskDefinition>,
}

/// The private state for what was observed of a tenant.
pub fn private_of(observed: &bbws_core::ObservedTenant) -> Vec<u8> {
    match &observed.task_definition {
        None => Vec::new(),
        Some(td) => serde_json::to_vec(&TenantPrivate {
            task_definition: Some(td.clone()),
        })
        .unwrap_or_default(),
    }
}

/// The revision kept in a private state, if it holds one (older states and
/// other private data hold none).
pub fn known_revision(private: &[u8]) -> Option<bbws_core::parts::ObservedTaskDefinition> {
    serde_json::from_slice::<TenantPrivate>(private).ok()?.task_definition
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_that_is_not_whole_is_a_violation_not_a_default() {
        let platform = Arc::new(Platform {
            domain: "example.com".into(),
            ..Platform::default()
        });
        let v = Value::object([
            (attr::NAME, Value::String("ACME".into())),
            (attr::CONTACT_EMAIL, Value::String("ops@acme.example".into())),
            (attr::CPU, Value::Float(512.5)),
            (attr::MEMORY, Value::Int(-1024)),
            (attr::DESIRED_COUNT, Value::Float(f64::NAN)),
            (attr::LOG_RETENTION_DAYS, Value::String("1e400".into())),
            (attr::DB_PASSWORD_WO_VERSION, Value::Int(i64::from(u32::MAX) + 1)),
            (attr::STEADY_STATE_TIMEOUT_SECONDS, Value::Float(1e300)),
        ]);
        let input = input_from(&v);
        assert_eq!(input.cpu, None);
        let violations = input.resolve(platform).expect_err("invalid");
        let found: Vec<(String, &str)> = violations
            .iter()
            .map(|v| (v.attribute.join("."), v.rule.as_str()))
            .collect();
        for expected in [
            ("cpu", "whole_number"),
            ("desired_count", "whole_number"),
            ("log_retention_days", "whole_number"),
            ("steady_state_timeout_seconds", "whole_number"),
            ("memory", "range"),
            ("db_password_wo_version", "range"),
        ] {
            assert!(
                found.contains(&(expected.0.to_owned(), expected.1)),
                "{expected:?} in {found:?}"
            );
        }
        let cpu = violations.iter().find(|v| v.attribute == ["cpu"]).expect("cpu");
        assert_eq!(cpu.message, "cpu = 512.5 must be a whole number");
    }

    fn fixture_v0() -> Value {
        let text = include_str!("../testdata/tenant_state_v0.json");
        crate::protocol::value::from_json(text.as_bytes()).expect("fixture is JSON")
    }

    #[test]
    fn a_version_0_state_upgrades_to_the_current_shape() {
        let old = fixture_v0();
        let new = upgrade_state(0, &old).expect("upgrades");
        let attrs = new.as_map().expect("object");
        let want: Vec<String> = null_state().as_map().expect("object").keys().cloned().collect();
        assert_eq!(
            attrs.keys().cloned().collect::<Vec<_>>(),
            want,
            "every attribute of the schema"
        );
        assert!(new.get("db_password_wo").is_null());
        assert!(new.get("db_password_wo_version").is_null());
        for (k, v) in old.as_map().expect("object") {
            assert_eq!(new.get(k), v, "{k} carried over");
        }
        // The upgraded value round-trips through msgpack as Terraform decodes it.
        let back = crate::protocol::value::decode(&crate::protocol::value::encode(&new)).expect("msgpack");
        assert_eq!(back, new);
    }

    #[test]
    fn a_state_from_a_newer_provider_is_refused() {
        let e = upgrade_state(SCHEMA_VERSION + 1, &fixture_v0()).expect_err("newer");
        assert!(e.contains("newer provider"), "{e}");
    }

    #[test]
    fn write_only_password_is_never_planned_or_stored() {
        let schema = schema();
        let attrs = schema.block.expect("block").attributes;
        let wo = attrs
            .iter()
            .find(|a| a.name == "db_password_wo")
            .expect("db_password_wo");
        assert!(wo.write_only && wo.sensitive && wo.optional && !wo.computed);
        let mut config = fixture_v0();
        if let Value::Map(m) = &mut config {
            m.insert("db_password_wo".into(), Value::String("s3cret-Passw0rd".into()));
            m.insert("subdomain".into(), Value::Unknown);
        }
        assert!(unknown_plan(&config).get("db_password_wo").is_null());
        let input = input_from(&config);
        assert!(!format!("{input:?}").contains("s3cret"));
        assert_eq!(
            db_password(&config).map(|p| p.expose().to_owned()).as_deref(),
            Some("s3cret-Passw0rd")
        );
        assert_eq!(format!("{:?}", db_password(&config)), "Some(DbPassword(<redacted>))");
    }

    #[test]
    fn private_state_round_trips_the_revision_and_tolerates_anything_else() {
        let td = bbws_core::parts::ObservedTaskDefinition {
            arn: "arn:aws:ecs:eu-west-1:1:task-definition/dev-123456789012:3".into(),
            family: "dev-123456789012".into(),
            revision: 3,
            image: "wordpress:6.6-php8.3-apache".into(),
            cpu: 512,
            memory: 1024,
            environment: Default::default(),
            secrets: Default::default(),
            file_system_id: Some("fs-1".into()),
            access_point_id: Some("fsap-1".into()),
            log_group: Some("/ecs/dev-123456789012".into()),
            tags: Default::default(),
        };
        let observed = bbws_core::ObservedTenant {
            task_definition: Some(td.clone()),
            ..Default::default()
        };
        assert_eq!(super::known_revision(&super::private_of(&observed)), Some(td));
        assert_eq!(
            super::private_of(&bbws_core::ObservedTenant::default()),
            Vec::<u8>::new()
        );
        for other in [&b""[..], b"replacing:123456789012", b"{}", b"{\"task_definition\": 3}"] {
            assert_eq!(super::known_revision(other), None);
        }
    }
}
