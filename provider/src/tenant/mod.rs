//! The `bbws_tenant` resource: schema, and the mapping between its typed
//! model ([`TenantModel`], `model.rs`) and `bbws-core`'s `TenantInput` /
//! `TenantOutputs` / `TenantPlan`. The lifecycle decisions are core's.

use std::sync::Arc;

use bbws_core::naming::TenantNames;
use bbws_core::observed::TenantOutputs;
use bbws_core::plan::{PartAction, field_list};
use bbws_core::{AutoscalingInput, Part, Platform, TenantInput, TenantPlan, TenantSpec};
use magma_protocol::tfplugin6::{self as tf, Schema, schema as schema_proto};

use crate::model::{Tf, TfBool, TfList, TfMap, TfNumber, TfString, whole_number};
use crate::protocol::schema::{Attr, Block, NestedBlock};
use crate::protocol::value::Value;

mod model;

pub use model::{AutoscalingModel, TenantIdentity, TenantModel, TfRecords, attr};

/// Resource type name.
pub const TYPE_NAME: &str = "bbws_tenant";
/// Schema version of the resource state.
/// 1 added `db_password_wo`, `db_password_wo_version`, `wait_for_steady_state`
/// and `steady_state_timeout_seconds`. Added optional attributes need no new
/// version: [`upgrade_state`] fills in null for any attribute a state lacks.
pub const SCHEMA_VERSION: i64 = 1;

/// The value of a converged part in the `parts` map.
pub const PART_OK: &str = "ok";

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
        .attr(Attr::bool(attr::BACKUP_BEFORE_DESTROY).optional().computed().description("When a destroy deletes the database (`retain_data_on_destroy = false`), back it up first to the provider's `backup` bucket, as `bbws_tenant_backup` does; nothing is deleted unless the backup completed (SOP §6.4), and the destroy reports the backup's `s3://` key. Default: true in prod, false elsewhere. With it true and no `backup` block, such a destroy is refused at plan."))
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
        .attr(Attr::string(attr::LISTENER_ARN).optional().computed().description("The listener of the provider's pool (`listener_arns`) the tenant's rule is on. Unset: a new tenant is placed at apply on the listener with the most free slots, and stays there. Set it to pin the tenant to one listener of the pool; change it to move the tenant there, in place: a target group on the new load balancer (the tenant's other target group name, `…-tgb` or `…-tg`), the service moved to it (a new deployment), then the DNS record, then the old rule and target group removed."))
        .attr(Attr::string(attr::LOAD_BALANCER_DNS_NAME).computed().description("DNS name of the tenant's load balancer (its listener's), which the tenant's alias record points at."))
        .attr(Attr::list_of_string(attr::CUSTOM_DOMAINS).optional().description("The customer's own domains (at most 4, lower case, no wildcard, not under the platform's domain), routed to the tenant by its listener rule beside its own name. bbws requests one ACM certificate for them (DNS validation: publish `certificate_validation_records` in the domains' DNS; for a domain in a public Route53 hosted zone of the account, bbws writes its record there itself, never over a record of that name, and leaves it for ACM's renewals) and adds it to the tenant's listener (SNI) once ACM has issued it, at the first apply after that. Adding or removing a domain is an in-place update: a certificate for the new names is requested while the old one serves on until the new one is issued, then the old one is deleted. A domain another tenant's (or anyone's) rule routes is refused at plan."))
        .attr(Attr::string(attr::CERTIFICATE_ARN).computed().description("ARN of the ACM certificate for `custom_domains` (null without them)."))
        .attr(Attr::of_type(attr::CERTIFICATE_VALIDATION_RECORDS, "[\"list\",[\"object\",{\"name\":\"string\",\"type\":\"string\",\"value\":\"string\"}]]").computed().description("The DNS records that validate the certificate, one per custom domain (`name`, `type` = `CNAME`, `value`): create them where the domains' DNS is hosted. Empty without custom domains."))
        .attr(Attr::map_of_string(attr::PARTS).computed().description("Each part's state: `ok`, `missing`, or `drifted: <fields>`. The plan shows a repair as a change of this map, part by part. With `autoscaling`, the service's scaling is the part `autoscaling`; with `custom_domains`, their certificate is the part `certificate` (`drifted: listener` once issued and not yet served); with the provider's `alarm_topic_arn`, the tenant's alarms are the part `alarms`."))
        .block(NestedBlock::single(attr::AUTOSCALING, autoscaling_block()));
    block.into_schema()
}

/// The `autoscaling` block: Application Auto Scaling of the service's
/// desired count.
fn autoscaling_block() -> Block {
    use attr::autoscaling as a;
    Block::new(0)
        .description("Application Auto Scaling of the service's desired count: a scalable target from `min` to `max` tasks and a target-tracking policy on the service's average CPU (and, with `requests_per_target`, one on the ALB's requests per task). `desired_count` is then the count a new service starts with (moved into the range); what scaling makes of it is not drift, so a plan never fights it. Suspending parks scaling at 0 tasks (min = max = 0) and resuming restores the range. Removing the block removes the scaling and leaves the service at its current count until `desired_count` says otherwise. Without the block, the service runs `desired_count` tasks.")
        .attr(Attr::number(a::MIN).optional().computed().description("Fewest tasks while active, 1–100 (default: the tier's desired count: 1, 2, 3)."))
        .attr(Attr::number(a::MAX).optional().computed().description("Most tasks, 1–100, at least `min` (default: three times the tier's desired count, and not below `min`)."))
        .attr(Attr::number(a::CPU_TARGET).optional().computed().description("Average CPU percent the service is held at, 10–90 (default 60)."))
        .attr(Attr::number(a::REQUESTS_PER_TARGET).optional().description("ALB requests per task the service is held at (`ALBRequestCountPerTarget` on the tenant's target group), 1–100000. Unset: not tracked."))
}

/// The names of the schema's attributes, in order.
fn schema_attributes() -> Vec<schema_proto::Attribute> {
    schema().block.map(|b| b.attributes).unwrap_or_default()
}

/// A stored state of `version` (JSON, as Terraform keeps it) in the current
/// schema's shape: attributes added since are null, removed ones dropped.
pub fn upgrade_state(version: i64, old: &Value) -> Result<Value, String> {
    if version > SCHEMA_VERSION {
        return Err(format!(
            "the state was written by a newer provider (schema version {version}; this provider knows up to {SCHEMA_VERSION}); upgrade terraform-provider-bbws"
        ));
    }
    // Attributes newer than the state read as null (unset) in it.
    Ok(TenantModel::from_value(old).to_value())
}

/// A configuration value for a state (`GenerateResourceConfig`): the
/// attributes a user sets, with computed-only ones null.
pub fn config_from_state(state: &Value) -> Value {
    Value::Map(
        schema_attributes()
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
            // The one block's attributes are all settable.
            .chain([(attr::AUTOSCALING.to_owned(), state.get(attr::AUTOSCALING).clone())])
            .collect(),
    )
}

/// The names of the schema's attributes and blocks, sorted: the keys of
/// a resource object.
#[cfg(test)]
fn schema_keys() -> Vec<String> {
    let block = schema().block.unwrap_or_default();
    let mut keys: Vec<String> = block
        .attributes
        .into_iter()
        .map(|a| a.name)
        .chain(block.block_types.into_iter().map(|b| b.type_name))
        .collect();
    keys.sort();
    keys
}

/// The write-only password in a config, when set.
pub fn db_password(config: &TenantModel) -> Option<bbws_core::DbPassword> {
    config.db_password_wo.as_str().map(bbws_core::DbPassword::new)
}

/// The subdomain a state records (none for a new resource): observations
/// look for its DNS record too, so a renamed tenant's old one is found.
pub fn recorded_subdomains(state: Option<&TenantModel>) -> Vec<String> {
    state
        .and_then(|s| s.subdomain.as_str())
        .map(str::to_ascii_lowercase)
        .into_iter()
        .collect()
}

/// Reads the user-settable attributes from a config, plan or state.
/// Unknown values read as unset; callers check [`has_unknown_inputs`] first.
pub fn input_from(m: &TenantModel) -> TenantInput {
    let s = |v: &TfString| v.as_str().map(str::to_owned);
    // A number that is no whole number is rejected, not read as unset
    // (which would plan the tier's default in its place).
    let mut rejected = Vec::new();
    let mut n = |v: &TfNumber, name: &str| whole_number(v, name, &mut rejected);
    let cpu = n(&m.cpu, attr::CPU);
    let memory = n(&m.memory, attr::MEMORY);
    let desired_count = n(&m.desired_count, attr::DESIRED_COUNT);
    let db_max_connections = n(&m.db_max_connections, attr::DB_MAX_CONNECTIONS);
    let log_retention_days = n(&m.log_retention_days, attr::LOG_RETENTION_DAYS);
    let db_password_version = n(&m.db_password_wo_version, attr::DB_PASSWORD_WO_VERSION);
    let steady_state_timeout_seconds = n(&m.steady_state_timeout_seconds, attr::STEADY_STATE_TIMEOUT_SECONDS);
    TenantInput {
        name: s(&m.name).unwrap_or_default(),
        contact_email: s(&m.contact_email).unwrap_or_default(),
        tenant_id: s(&m.tenant_id),
        subdomain: s(&m.subdomain),
        tier: s(&m.tier),
        wordpress_version: s(&m.wordpress_version),
        php_version: s(&m.php_version),
        image: s(&m.image),
        cpu,
        memory,
        desired_count,
        db_max_connections,
        status: s(&m.status),
        environment_variables: m.environment_variables.known_entries(),
        log_retention_days,
        deletion_protection: m.deletion_protection.known().copied(),
        confirm_destroy: s(&m.confirm_destroy),
        retain_data_on_destroy: m.retain_data_on_destroy.known().copied(),
        backup_before_destroy: m.backup_before_destroy.known().copied(),
        tags: m.tags.known_entries(),
        db_password_version,
        wait_for_steady_state: m.wait_for_steady_state.known().copied(),
        steady_state_timeout_seconds,
        listener_arn: s(&m.listener_arn),
        custom_domains: m.custom_domains.known_elements(),
        autoscaling: m.autoscaling.as_ref().map(|a| {
            let mut n =
                |v: &TfNumber, name: &str| whole_number(v, &format!("{}.{name}", attr::AUTOSCALING), &mut rejected);
            AutoscalingInput {
                min: n(&a.min, attr::autoscaling::MIN),
                max: n(&a.max, attr::autoscaling::MAX),
                cpu_target: n(&a.cpu_target, attr::autoscaling::CPU_TARGET),
                requests_per_target: n(&a.requests_per_target, attr::autoscaling::REQUESTS_PER_TARGET),
            }
        }),
        rejected,
    }
}

/// The user-settable attributes of an input as a model (an import's
/// stand-in for the configuration). Empty maps are null, as when unset.
pub fn model_from_input(i: &TenantInput) -> TenantModel {
    let s = |v: &Option<String>| TfString::from_option(v.clone());
    let n = |v: Option<i64>| v.map_or(Tf::Null, TfNumber::of);
    let b = |v: Option<bool>| TfBool::from_option(v);
    TenantModel {
        name: TfString::of(i.name.clone()),
        contact_email: TfString::of(i.contact_email.clone()),
        tenant_id: s(&i.tenant_id),
        subdomain: s(&i.subdomain),
        tier: s(&i.tier),
        wordpress_version: s(&i.wordpress_version),
        php_version: s(&i.php_version),
        image: s(&i.image),
        cpu: n(i.cpu),
        memory: n(i.memory),
        desired_count: n(i.desired_count),
        db_max_connections: n(i.db_max_connections),
        status: s(&i.status),
        environment_variables: TfMap::of_entries(&i.environment_variables),
        log_retention_days: n(i.log_retention_days),
        deletion_protection: b(i.deletion_protection),
        confirm_destroy: s(&i.confirm_destroy),
        retain_data_on_destroy: b(i.retain_data_on_destroy),
        backup_before_destroy: b(i.backup_before_destroy),
        tags: TfMap::of_entries(&i.tags),
        db_password_wo_version: n(i.db_password_version),
        wait_for_steady_state: b(i.wait_for_steady_state),
        steady_state_timeout_seconds: n(i.steady_state_timeout_seconds),
        custom_domains: if i.custom_domains.is_empty() {
            Tf::Null
        } else {
            TfList::of_elements(i.custom_domains.clone())
        },
        autoscaling: i.autoscaling.as_ref().map(|a| AutoscalingModel {
            min: n(a.min),
            max: n(a.max),
            cpu_target: n(a.cpu_target),
            requests_per_target: n(a.requests_per_target),
        }),
        ..TenantModel::default()
    }
}

/// Resource identity: which environment, which tenant.
pub fn identity_schema() -> tf::ResourceIdentitySchema {
    use tf::resource_identity_schema::IdentityAttribute;
    let attr = |name: &str, description: &str| IdentityAttribute {
        name: name.to_owned(),
        r#type: b"\"string\"".to_vec(),
        required_for_import: true,
        optional_for_import: false,
        description: description.to_owned(),
    };
    tf::ResourceIdentitySchema {
        version: 0,
        identity_attributes: vec![
            attr(
                attr::IDENTITY_ENVIRONMENT,
                "The provider's environment: `dev`, `sit` or `prod`.",
            ),
            attr(attr::IDENTITY_TENANT_ID, "The tenant's 12-digit id."),
        ],
    }
}

/// The identity value of a tenant.
pub fn identity(environment: &str, tenant_id: &str) -> tf::ResourceIdentityData {
    let identity = TenantIdentity {
        environment: TfString::of(environment),
        tenant_id: TfString::of(tenant_id),
    };
    tf::ResourceIdentityData {
        identity_data: Some(crate::protocol::value::encode(&identity.to_value())),
    }
}

/// Whether any input is not known yet (e.g. from another resource).
pub fn has_unknown_inputs(config: &TenantModel) -> bool {
    config.inputs().iter().any(|a| !a.known_deep())
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

/// The `parts` map of a plan (what is now), or of a converged tenant;
/// the optional parts are in it when the spec has them (as in a plan that
/// removes them).
pub fn parts_of(plan: Option<&TenantPlan>, spec: &TenantSpec) -> TfMap {
    let planned = |part: Part| plan.is_some_and(|p| p.changes.iter().any(|c| c.part == part));
    let scaling = spec.autoscaling.is_some() || planned(Part::Scaling);
    let certificate = !spec.custom_domains.is_empty() || planned(Part::Certificate);
    let alarms = spec.platform.alarm_topic_arn.is_some() || planned(Part::Alarms);
    Tf::Known(
        Part::ALL
            .iter()
            .chain(scaling.then_some(&Part::Scaling))
            .chain(certificate.then_some(&Part::Certificate))
            .chain(alarms.then_some(&Part::Alarms))
            .map(|p| {
                let status = plan.map_or_else(|| PART_OK.to_owned(), |plan| part_status(plan.action(*p)));
                (p.as_str().to_owned(), TfString::Known(status))
            })
            .collect(),
    )
}

fn num(n: u32) -> TfNumber {
    TfNumber::of(n)
}

/// Takes the config's value when set, else `resolved` (optional+computed).
fn config_or<T: Clone>(config: &Tf<T>, resolved: Tf<T>) -> Tf<T> {
    if config.is_null() { resolved } else { config.clone() }
}

/// The resource object for a resolved spec: config values where the user
/// set them, resolved defaults elsewhere, computed values from `outputs`
/// (`None` in an output = unknown), and the `parts` map.
pub fn state_value(
    config: &TenantModel,
    spec: &TenantSpec,
    outputs: &TenantOutputs,
    known: &KnownOutputs,
    parts: TfMap,
) -> TenantModel {
    TenantModel {
        id: TfString::of(outputs.id.clone()),
        name: config.name.clone(),
        contact_email: config.contact_email.clone(),
        tenant_id: TfString::of(spec.tenant_id.clone()),
        // As written (`Acme`): Terraform requires the configured value;
        // the parts use the lower-case one.
        subdomain: config_or(&config.subdomain, TfString::of(spec.subdomain.clone())),
        tier: config_or(&config.tier, TfString::of(spec.tier.as_str())),
        wordpress_version: TfString::of(spec.wordpress_version.clone()),
        php_version: TfString::of(spec.php_version.clone()),
        image: TfString::of(spec.image.clone()),
        cpu: num(spec.cpu),
        memory: num(spec.memory),
        desired_count: num(spec.desired_count),
        db_max_connections: num(spec.db_max_connections),
        status: TfString::of(spec.status.as_str()),
        environment_variables: config.environment_variables.clone(),
        log_retention_days: num(spec.log_retention_days),
        deletion_protection: TfBool::Known(spec.deletion_protection),
        confirm_destroy: config.confirm_destroy.clone(),
        retain_data_on_destroy: TfBool::Known(spec.retain_data_on_destroy),
        backup_before_destroy: TfBool::Known(spec.backup_before_destroy),
        tags: config.tags.clone(),
        // Write-only: never in plan or state.
        db_password_wo: Tf::Null,
        db_password_wo_version: config.db_password_wo_version.clone(),
        wait_for_steady_state: config.wait_for_steady_state.clone(),
        steady_state_timeout_seconds: config.steady_state_timeout_seconds.clone(),
        fqdn: TfString::of(outputs.fqdn.clone()),
        url: TfString::of(outputs.url.clone()),
        parts,
        custom_domains: config.custom_domains.clone(),
        autoscaling: autoscaling_value(config.autoscaling.as_ref(), spec),
        ..computed_outputs(outputs, known)
    }
}

/// The `autoscaling` block as planned and stored: as configured, with
/// the defaults it resolved to where the configuration leaves them out.
fn autoscaling_value(config: Option<&AutoscalingModel>, spec: &TenantSpec) -> Option<AutoscalingModel> {
    let (c, a) = (config?, spec.autoscaling?);
    Some(AutoscalingModel {
        min: config_or(&c.min, num(a.min)),
        max: config_or(&c.max, num(a.max)),
        cpu_target: config_or(&c.cpu_target, num(a.cpu_target)),
        requests_per_target: c.requests_per_target.clone(),
    })
}

/// The computed identities of the parts: known (`None`: null) where
/// `known` says so, unknown elsewhere.
fn computed_outputs(outputs: &TenantOutputs, known: &KnownOutputs) -> TenantModel {
    let out = |v: &Option<String>, k: bool| {
        if k {
            TfString::from_option(v.clone())
        } else {
            Tf::Unknown
        }
    };
    TenantModel {
        service_arn: out(&outputs.service_arn, known.service_arn),
        task_definition_arn: out(&outputs.task_definition_arn, known.task_definition_arn),
        target_group_arn: out(&outputs.target_group_arn, known.target_group_arn),
        listener_rule_arn: out(&outputs.listener_rule_arn, known.listener_rule_arn),
        listener_rule_priority: if known.listener_rule_priority {
            outputs.listener_rule_priority.map_or(Tf::Null, num)
        } else {
            Tf::Unknown
        },
        access_point_id: out(&outputs.access_point_id, known.access_point_id),
        database_name: TfString::from_option(outputs.database_name.clone()),
        database_user: TfString::from_option(outputs.database_user.clone()),
        db_secret_arn: out(&outputs.db_secret_arn, known.db_secret_arn),
        log_group_name: TfString::from_option(outputs.log_group_name.clone()),
        listener_arn: out(&outputs.listener_arn, known.listener_arn),
        load_balancer_dns_name: out(&outputs.load_balancer_dns_name, known.listener_arn),
        certificate_arn: out(&outputs.certificate_arn, known.certificate),
        certificate_validation_records: match (&outputs.certificate_validation_records, known.certificate) {
            (Some(records), true) => TfRecords::of_records(records),
            _ => Tf::Unknown,
        },
        ..TenantModel::default()
    }
}

/// The identities a planned state shows (`None` where it says "known after
/// apply" or the part is absent), for
/// [`bbws_core::lifecycle::unplanned_destruction`].
pub fn shown_outputs(planned: &TenantModel) -> TenantOutputs {
    let shown = |v: &TfString| v.as_str().map(str::to_owned);
    TenantOutputs {
        service_arn: shown(&planned.service_arn),
        task_definition_arn: shown(&planned.task_definition_arn),
        target_group_arn: shown(&planned.target_group_arn),
        listener_rule_arn: shown(&planned.listener_rule_arn),
        access_point_id: shown(&planned.access_point_id),
        db_secret_arn: shown(&planned.db_secret_arn),
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
    listener_arn: bool,
    certificate: bool,
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
        listener_arn: true,
        certificate: true,
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
            listener_arn: o.listener_arn.is_some(),
            certificate: o.certificate_validation_records.is_some(),
        }
    }
}

/// The object planned for a tenant whose inputs are not all known yet:
/// the config as is, every other attribute unknown.
pub fn unknown_plan(config: &TenantModel) -> TenantModel {
    let c = config.clone();
    TenantModel {
        id: c.id.or_unknown(),
        name: c.name.or_unknown(),
        contact_email: c.contact_email.or_unknown(),
        tenant_id: c.tenant_id.or_unknown(),
        subdomain: c.subdomain.or_unknown(),
        tier: c.tier.or_unknown(),
        wordpress_version: c.wordpress_version.or_unknown(),
        php_version: c.php_version.or_unknown(),
        image: c.image.or_unknown(),
        cpu: c.cpu.or_unknown(),
        memory: c.memory.or_unknown(),
        desired_count: c.desired_count.or_unknown(),
        db_max_connections: c.db_max_connections.or_unknown(),
        status: c.status.or_unknown(),
        log_retention_days: c.log_retention_days.or_unknown(),
        deletion_protection: c.deletion_protection.or_unknown(),
        retain_data_on_destroy: c.retain_data_on_destroy.or_unknown(),
        backup_before_destroy: c.backup_before_destroy.or_unknown(),
        fqdn: c.fqdn.or_unknown(),
        url: c.url.or_unknown(),
        service_arn: c.service_arn.or_unknown(),
        task_definition_arn: c.task_definition_arn.or_unknown(),
        target_group_arn: c.target_group_arn.or_unknown(),
        listener_rule_arn: c.listener_rule_arn.or_unknown(),
        listener_rule_priority: c.listener_rule_priority.or_unknown(),
        access_point_id: c.access_point_id.or_unknown(),
        database_name: c.database_name.or_unknown(),
        database_user: c.database_user.or_unknown(),
        db_secret_arn: c.db_secret_arn.or_unknown(),
        log_group_name: c.log_group_name.or_unknown(),
        listener_arn: c.listener_arn.or_unknown(),
        load_balancer_dns_name: c.load_balancer_dns_name.or_unknown(),
        parts: c.parts.or_unknown(),
        certificate_arn: c.certificate_arn.or_unknown(),
        certificate_validation_records: c.certificate_validation_records.or_unknown(),
        custom_domains: c.custom_domains,
        // Not computed: as configured. Write-only: never planned.
        environment_variables: c.environment_variables,
        tags: c.tags,
        confirm_destroy: c.confirm_destroy,
        db_password_wo: Tf::Null,
        db_password_wo_version: c.db_password_wo_version,
        wait_for_steady_state: c.wait_for_steady_state,
        steady_state_timeout_seconds: c.steady_state_timeout_seconds,
        autoscaling: c.autoscaling.map(|a| AutoscalingModel {
            min: a.min.or_unknown(),
            max: a.max.or_unknown(),
            cpu_target: a.cpu_target.or_unknown(),
            requests_per_target: a.requests_per_target,
        }),
    }
}

/// The resource object of a tenant known only from its parts (import,
/// list): the settings in its secret and what the parts say.
pub(crate) fn state_of_observed(
    platform: &Arc<Platform>,
    observed: &bbws_core::ObservedTenant,
) -> Result<TenantModel, tf::Diagnostic> {
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
    let config = model_from_input(&input);
    let outputs = observed.outputs(&spec.names());
    Ok(state_value(
        &config,
        &spec,
        &outputs,
        &KnownOutputs::ALL,
        parts_of(Some(&plan), &spec),
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

/// Private-data marker of a plan that replaces another tenant.
const REPLACING: &str = "bbws:replacing=";

/// The planned private data telling the second planning of a replacement
/// which tenant it replaces ([`bbws_core::lifecycle::Decision::replaces_next`]).
pub fn replacing_private(tenant_id: Option<&str>) -> Vec<u8> {
    tenant_id
        .map(|old| format!("{REPLACING}{old}").into_bytes())
        .unwrap_or_default()
}

/// The tenant a planned private data says is being replaced.
pub fn replacing_of(private: &[u8]) -> Option<&str> {
    std::str::from_utf8(private).ok()?.strip_prefix(REPLACING)
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
        let input = input_from(&TenantModel::from_value(&v));
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
        let text = include_str!("../../testdata/tenant_state_v0.json");
        crate::protocol::value::from_json(text.as_bytes()).expect("fixture is JSON")
    }

    #[test]
    fn a_version_0_state_upgrades_to_the_current_shape() {
        let old = fixture_v0();
        let new = upgrade_state(0, &old).expect("upgrades");
        let attrs = new.as_map().expect("object");
        let want = schema_keys();
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
    fn the_model_has_exactly_the_schemas_attributes_and_round_trips() {
        let names = schema_keys();
        let empty = TenantModel::default().to_value();
        let keys: Vec<String> = empty.as_map().expect("object").keys().cloned().collect();
        assert_eq!(keys, names);
        assert!(empty.as_map().expect("object").values().all(Value::is_null));
        // Every attribute read is written back where it came from.
        let state = upgrade_state(0, &fixture_v0()).expect("upgrades");
        let mut touched = state.clone();
        if let Value::Map(m) = &mut touched {
            for (i, (k, v)) in m.iter_mut().enumerate() {
                // A block is null or an object, never one unknown.
                if v.is_null() && k != attr::AUTOSCALING {
                    *v = if i % 2 == 0 { Value::Unknown } else { v.clone() };
                }
            }
        }
        assert_eq!(TenantModel::from_value(&touched).to_value(), touched);
        let decoded = TenantModel::decode(Some(&crate::protocol::value::encode(&state))).expect("msgpack");
        assert_eq!(decoded.map(|m| m.to_value()), Some(state));
        assert_eq!(TenantModel::decode(None).expect("null"), None);
    }

    #[test]
    fn an_unknown_input_plans_every_computed_attribute_unknown_and_keeps_the_config() {
        let mut config = TenantModel::from_value(&fixture_v0());
        config.tags = Tf::Known(
            [("team".to_owned(), Tf::Unknown), ("cost".to_owned(), TfString::of("7"))]
                .into_iter()
                .collect(),
        );
        config.fqdn = Tf::Null;
        config.service_arn = Tf::Null;
        assert!(has_unknown_inputs(&config), "an unknown tag value");
        let planned = unknown_plan(&config);
        assert_eq!(planned.tags, config.tags, "as configured, element by element");
        assert!(planned.fqdn.is_unknown() && planned.service_arn.is_unknown());
        assert_eq!(planned.name, config.name);
        config.tags = Tf::Null;
        assert!(!has_unknown_inputs(&config));
    }

    #[test]
    fn a_replacement_marker_round_trips() {
        let private = replacing_private(Some("123456789012"));
        assert_eq!(replacing_of(&private), Some("123456789012"));
        assert!(replacing_private(None).is_empty());
        assert_eq!(replacing_of(b"{\"task_definition\": null}"), None);
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
        let mut config = TenantModel::from_value(&fixture_v0());
        config.db_password_wo = TfString::of("s3cret-Passw0rd");
        config.subdomain = Tf::Unknown;
        assert!(has_unknown_inputs(&config));
        let planned = unknown_plan(&config);
        assert!(planned.db_password_wo.is_null());
        assert!(planned.to_value().get(attr::DB_PASSWORD_WO).is_null());
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
