//! The provider block: schema, and its mapping to core's `Platform` and the
//! AWS settings.

use std::collections::BTreeMap;
use std::str::FromStr;

use bbws_core::aws::{AssumeRole, AwsSettings};
use bbws_core::ports::Ports;
use bbws_core::validate::{self, Violation};
use bbws_core::{AdminAuth, CoreError, DatabaseSettings, Environment, EventsSettings, Platform, SslMode};
use magma_protocol::tfplugin6::{self as tf, Schema};

use crate::attr::provider as attr;
use crate::model::{Reader, TfList, TfMap, TfNumber, TfString, whole_number};
use crate::protocol::schema::{Attr, Block, NestedBlock};
use crate::protocol::value::Value;

/// Services whose endpoint can be overridden in the `endpoints` block.
pub const ENDPOINT_SERVICES: &[&str] = &bbws_core::aws::ENDPOINT_KEYS;

/// The provider block's schema (SPEC §7).
pub fn schema() -> Schema {
    let mut endpoints = Block::new(0).description(
        "Per-service endpoint overrides, for emulators and VPC endpoints. `AWS_ENDPOINT_URL` is honoured too.",
    );
    for &service in ENDPOINT_SERVICES {
        let description = match service {
            "events" => "Endpoint URL for EventBridge (the `events` block's bus).".to_owned(),
            "tagging" => "Endpoint URL for the Resource Groups Tagging API, which reads log-group tags in bulk (`tag:GetResources`; without it, one call per group). Defaults to the `logs` endpoint when that is set.".to_owned(),
            "s3" => "Endpoint URL for S3 (the `backup` bucket), addressed path-style (`{endpoint}/{bucket}/{key}`), as emulators and VPC endpoint URLs need.".to_owned(),
            _ => format!("Endpoint URL for {service}."),
        };
        endpoints = endpoints.attr(Attr::string(service).optional().description(&description));
    }
    Block::new(0)
        .description("bbws provisions tenants of a multi-tenant WordPress hosting platform on AWS. One provider block describes one environment's shared platform.")
        .attr(Attr::string(attr::ENVIRONMENT).required().description("`dev`, `sit` or `prod`. Part of every name; changing it replaces every tenant."))
        .attr(Attr::string(attr::DOMAIN).required().description("The environment's DNS domain; tenants are served at `{subdomain}.{domain}`."))
        .attr(Attr::string(attr::REGION).optional().description("AWS region; else the AWS chain's (`AWS_REGION`, profile)."))
        .attr(Attr::string(attr::PROFILE).optional().description("Named AWS profile; credentials otherwise come from the standard chain (environment, SSO, instance role)."))
        .attr(Attr::string(attr::CLUSTER).optional().description("ECS cluster (default `{environment}-cluster`)."))
        .attr(Attr::string(attr::VPC_ID).optional().description("VPC of the target groups."))
        .attr(Attr::list_of_string(attr::SUBNET_IDS).optional().description("Subnets of the Fargate tasks."))
        .attr(Attr::list_of_string(attr::SECURITY_GROUP_IDS).optional().description("Security groups of the Fargate tasks."))
        .attr(Attr::string(attr::LISTENER_ARN).optional().description("The environment's shared HTTPS listener; each tenant gets a host-header rule on it. Exactly one of `listener_arn` and `listener_arns`."))
        .attr(Attr::list_of_string(attr::LISTENER_ARNS).optional().description("A pool of HTTPS listeners, one per load balancer (an ALB holds at most 100 target groups, a hard AWS limit, and by default 100 rules): a new tenant is placed on the listener with the most free slots (ties: one of them at random, so that pipelines creating at once spread out) and stays there. Exactly one of `listener_arn` and `listener_arns`."))
        .attr(Attr::number(attr::MAX_TENANTS_PER_LISTENER).optional().description("At most this many tenants on one listener of the pool, besides AWS's limits per load balancer. A plan that creates more tenants than the pool has room for fails, naming how many more listeners are needed."))
        .attr(Attr::string(attr::ALARM_TOPIC_ARN).optional().description("SNS topic every tenant's CloudWatch alarms notify, on alarm and when OK again. With it, each tenant gets three alarms, named `{environment}-{tenant_id}-5xx-rate` (more than 5% of its requests answered 5xx by its tasks, in 3 of 5 minutes), `-unhealthy-hosts` (an unhealthy task behind its target group for 3 minutes) and `-tasks-below-desired` (fewer tasks running than desired for 5 minutes; needs ECS Container Insights on the cluster), repaired like any part (`parts.alarms`) and removed with the tenant. Unset it to remove every tenant's alarms at their next apply. An alarm of such a name that bbws did not make is a conflict, never changed."))
        .attr(Attr::string(attr::HOSTED_ZONE_ID).optional().description("Route53 hosted zone of `domain`."))
        .attr(Attr::string(attr::EFS_FILE_SYSTEM_ID).optional().description("EFS file system holding the tenants' `wp-content`."))
        .attr(Attr::string(attr::EXECUTION_ROLE_ARN).optional().description("IAM role ECS uses to pull the image, read the database secret and write logs (required on real AWS)."))
        .attr(Attr::string(attr::TASK_ROLE_ARN).optional().description("IAM role the WordPress container runs as."))
        .block(NestedBlock::single(
            attr::DATABASE,
            Block::new(0)
                .description("The environment's shared MySQL server.")
                .attr(Attr::string(attr::database::INSTANCE_IDENTIFIER).optional().description("RDS instance identifier; the endpoint comes from the RDS API."))
                .attr(Attr::string(attr::database::HOST).optional().description("Overrides the RDS endpoint's host."))
                .attr(Attr::number(attr::database::PORT).optional().description("Overrides the RDS endpoint's port."))
                .attr(Attr::string(attr::database::ADMIN_SECRET_ARN).optional().description("Secrets Manager secret with the admin's JSON `{\"username\",\"password\"}`."))
                .attr(Attr::string(attr::database::SSL_MODE).optional().description("TLS towards MySQL, in MySQL's names: `DISABLED` (a local server only; warned at plan), `PREFERRED`, `REQUIRED`, `VERIFY_CA` or `VERIFY_IDENTITY` (the default: certificate chain and host name verified)."))
                .attr(Attr::string(attr::database::SSL_CA).optional().description("PEM certificates to trust for the server's certificate, besides the system's roots (`SSL_CERT_FILE` honoured). For RDS, the AWS global bundle: `file(\"global-bundle.pem\")`."))
                .attr(Attr::number(attr::database::STATEMENT_TIMEOUT_SECONDS).optional().description("No MySQL statement waits longer than this (default 60): `lock_wait_timeout` and the statement time limit are set per session, and the provider stops waiting shortly after."))
                .attr(Attr::string(attr::database::ADMIN_AUTH).optional().description("How the admin logs in: `password` (the default: `admin_secret_arn`) or `iam` (an RDS IAM authentication token, over verified TLS)."))
                .attr(Attr::string(attr::database::ADMIN_USERNAME).optional().description("The MySQL user for `admin_auth = \"iam\"` (else the username in `admin_secret_arn`).")),
        ))
        .attr(Attr::list_of_string(attr::ALLOWED_ACCOUNT_IDS).optional().description("The AWS accounts this configuration may work in (12-digit ids). When set, the provider asks STS who the caller is before anything else, and a plan or apply in any other account fails naming the expected and the actual account, as the AWS provider's setting of the same name does."))
        .attr(Attr::number(attr::MAX_RETRIES).optional().description("How many times a call to AWS is retried after its first attempt when it is throttled or fails with a 5xx or a transient network error (the SDK's standard retry mode: exponential backoff with jitter, up to 20 s between attempts). Default 8 (about 45 s of backoff in all). Each attempt times out after 20 s and the whole call after 20 s plus 12 s per retry (at most 15 minutes); a refused connection is not retried. An error that retries did not overcome says whether running again may help."))
        .block(NestedBlock::single(
            attr::ASSUME_ROLE,
            Block::new(0)
                .description("A role to assume with the credentials of the standard AWS chain (as the AWS provider's `assume_role`): every AWS call is made as that role. Typical for one provider alias per account (DEV, SIT, PROD). The role is assumed when the provider is configured, so a role that cannot be assumed fails the plan before anything else.")
                .attr(Attr::string(attr::assume_role::ROLE_ARN).required().description("ARN of the role, `arn:aws:iam::{account}:role/{name}`."))
                .attr(Attr::string(attr::assume_role::SESSION_NAME).optional().description("Session name of the assumed role (CloudTrail shows it). Default `bbws`."))
                .attr(Attr::string(attr::assume_role::EXTERNAL_ID).optional().description("External id the role's trust policy requires (`sts:ExternalId`).")),
        ))
        .block(NestedBlock::single(attr::ENDPOINTS, endpoints))
        .block(NestedBlock::single(
            attr::EVENTS,
            Block::new(0)
                .description("Provisioning events: every create, update, suspend, resume and delete of a tenant (and every action: restart and rotate_credentials are `Tenant Updated`) puts one event on this EventBridge bus, for billing and operations to subscribe to with a rule. Source `bbws`; detail-type `Tenant Created`, `Tenant Updated`, `Tenant Suspended`, `Tenant Resumed`, `Tenant Deleted`, `Tenant Backed Up` or `Tenant Restored`; detail the operation's audit record (operation, time, operator, environment, tenant, parts, outcome, error; never a secret); resources the tenant's service ARN. Best effort, as the audit record: an event that cannot be put is a warning in the provider's log and never fails the operation. Without this block no event is sent.")
                .attr(Attr::string(attr::events::BUS_NAME).required().description("The bus: `default` (the account's default bus), a custom bus's name, or its ARN.")),
        ))
        .block(NestedBlock::single(
            attr::BACKUP,
            Block::new(0)
                .description("Where tenant backups go (`bbws_tenant_backup`, and `backup_before_destroy`): gzip-compressed SQL dumps of the tenant's database at `s3://{bucket}/{prefix}{environment}/{tenant_id}/{timestamp}.sql.gz`, encrypted at rest (SSE-S3, `AES256`). The bucket must exist; bbws never creates, lists or empties it (set its lifecycle rules for retention). Without this block, backups are refused, and so is a destroy that would back up first.")
                .attr(Attr::string(attr::backup::BUCKET).required().description("The S3 bucket's name."))
                .attr(Attr::string(attr::backup::PREFIX).optional().description("Key prefix of every backup, e.g. `tenants/` (default: none).")),
        ))
        .block(NestedBlock::single(
            attr::DEFAULT_TAGS,
            Block::new(0)
                .description("Tags put on every AWS part of every tenant.")
                .attr(Attr::map_of_string(attr::default_tags::TAGS).optional().description("The tags.")),
        ))
        .into_schema()
}

/// The provider configuration, decoded.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The platform for core.
    pub platform: Platform,
    /// Where and as whom to reach AWS.
    pub aws: AwsSettings,
}

/// The provider block as Terraform sends it: one field per attribute, the
/// nested blocks as models of their own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderModel {
    pub environment: TfString,
    pub domain: TfString,
    pub region: TfString,
    pub profile: TfString,
    pub cluster: TfString,
    pub vpc_id: TfString,
    pub subnet_ids: TfList,
    pub security_group_ids: TfList,
    pub listener_arn: TfString,
    pub listener_arns: TfList,
    pub max_tenants_per_listener: TfNumber,
    pub alarm_topic_arn: TfString,
    pub hosted_zone_id: TfString,
    pub efs_file_system_id: TfString,
    pub execution_role_arn: TfString,
    pub task_role_arn: TfString,
    pub allowed_account_ids: TfList,
    pub max_retries: TfNumber,
    /// `database` (all null when the block is absent).
    pub database: DatabaseModel,
    /// `assume_role`, when the block is present.
    pub assume_role: Option<AssumeRoleModel>,
    /// `endpoints`: service → URL.
    pub endpoints: BTreeMap<String, TfString>,
    /// `events.bus_name`, when the block is present.
    pub events: Option<TfString>,
    /// `backup`, when the block is present.
    pub backup: Option<BackupModel>,
    /// `default_tags.tags`.
    pub default_tags: TfMap,
}

/// The `database` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatabaseModel {
    pub instance_identifier: TfString,
    pub host: TfString,
    pub port: TfNumber,
    pub admin_secret_arn: TfString,
    pub ssl_mode: TfString,
    pub ssl_ca: TfString,
    pub statement_timeout_seconds: TfNumber,
    pub admin_auth: TfString,
    pub admin_username: TfString,
}

/// The `backup` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupModel {
    pub bucket: TfString,
    pub prefix: TfString,
}

/// The `assume_role` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssumeRoleModel {
    pub role_arn: TfString,
    pub session_name: TfString,
    pub external_id: TfString,
}

impl ProviderModel {
    /// The model of the provider block's value.
    pub fn from_value(v: &Value) -> Self {
        let r = Reader(v);
        let db = r.block(attr::DATABASE);
        let role = r.block(attr::ASSUME_ROLE);
        let endpoints = r.block(attr::ENDPOINTS);
        let events = r.block(attr::EVENTS);
        let backup = r.block(attr::BACKUP);
        ProviderModel {
            environment: r.get(attr::ENVIRONMENT),
            domain: r.get(attr::DOMAIN),
            region: r.get(attr::REGION),
            profile: r.get(attr::PROFILE),
            cluster: r.get(attr::CLUSTER),
            vpc_id: r.get(attr::VPC_ID),
            subnet_ids: r.get(attr::SUBNET_IDS),
            security_group_ids: r.get(attr::SECURITY_GROUP_IDS),
            listener_arn: r.get(attr::LISTENER_ARN),
            listener_arns: r.get(attr::LISTENER_ARNS),
            max_tenants_per_listener: r.get(attr::MAX_TENANTS_PER_LISTENER),
            alarm_topic_arn: r.get(attr::ALARM_TOPIC_ARN),
            hosted_zone_id: r.get(attr::HOSTED_ZONE_ID),
            efs_file_system_id: r.get(attr::EFS_FILE_SYSTEM_ID),
            execution_role_arn: r.get(attr::EXECUTION_ROLE_ARN),
            task_role_arn: r.get(attr::TASK_ROLE_ARN),
            allowed_account_ids: r.get(attr::ALLOWED_ACCOUNT_IDS),
            max_retries: r.get(attr::MAX_RETRIES),
            database: DatabaseModel {
                instance_identifier: db.get(attr::database::INSTANCE_IDENTIFIER),
                host: db.get(attr::database::HOST),
                port: db.get(attr::database::PORT),
                admin_secret_arn: db.get(attr::database::ADMIN_SECRET_ARN),
                ssl_mode: db.get(attr::database::SSL_MODE),
                ssl_ca: db.get(attr::database::SSL_CA),
                statement_timeout_seconds: db.get(attr::database::STATEMENT_TIMEOUT_SECONDS),
                admin_auth: db.get(attr::database::ADMIN_AUTH),
                admin_username: db.get(attr::database::ADMIN_USERNAME),
            },
            assume_role: (!role.is_null()).then(|| AssumeRoleModel {
                role_arn: role.get(attr::assume_role::ROLE_ARN),
                session_name: role.get(attr::assume_role::SESSION_NAME),
                external_id: role.get(attr::assume_role::EXTERNAL_ID),
            }),
            endpoints: ENDPOINT_SERVICES
                .iter()
                .map(|svc| ((*svc).to_owned(), endpoints.get(svc)))
                .collect(),
            events: (!events.is_null()).then(|| events.get(attr::events::BUS_NAME)),
            default_tags: r.block(attr::DEFAULT_TAGS).get(attr::default_tags::TAGS),
            backup: (!backup.is_null()).then(|| BackupModel {
                bucket: backup.get(attr::backup::BUCKET),
                prefix: backup.get(attr::backup::PREFIX),
            }),
        }
    }

    /// Whether what identifies the platform (environment and domain) is
    /// known: only then can the block be checked.
    pub fn identifies_platform(&self) -> bool {
        !self.environment.is_unknown() && !self.domain.is_unknown()
    }
}

/// `a.b` of a nested attribute, as violations and messages name it.
fn nested(block: &str, name: &str) -> String {
    format!("{block}.{name}")
}

/// Decodes the provider block. Only `environment` and `domain` are checked
/// here; the rest when a tenant needs it ([`validate_for_tenants`]), so data
/// sources work with a partial block.
pub fn decode(m: &ProviderModel) -> Result<ProviderConfig, Vec<Violation>> {
    let s = |v: &TfString| v.as_str().map(str::to_owned);
    let mut violations = Vec::new();
    let environment = decode_environment(&m.environment, &mut violations);
    let database = decode_database(&m.database, &mut violations);
    let endpoints = m
        .endpoints
        .iter()
        .filter_map(|(svc, url)| url.as_str().map(|u| (svc.clone(), u.to_owned())))
        .collect();
    let region = s(&m.region)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_default();
    let platform = Platform {
        environment,
        // DNS names compare case-insensitively; Route53 and ELBv2 keep
        // them lower-case, and so does every name bbws derives.
        domain: s(&m.domain)
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .unwrap_or_default(),
        region,
        cluster: s(&m.cluster).unwrap_or_else(|| format!("{environment}-cluster")),
        vpc_id: s(&m.vpc_id).unwrap_or_default(),
        subnet_ids: m.subnet_ids.known_elements(),
        security_group_ids: m.security_group_ids.known_elements(),
        listener_arns: decode_listeners(m, &mut violations),
        max_tenants_per_listener: decode_max_tenants(&m.max_tenants_per_listener, &mut violations),
        hosted_zone_id: s(&m.hosted_zone_id).unwrap_or_default(),
        efs_file_system_id: s(&m.efs_file_system_id).unwrap_or_default(),
        execution_role_arn: s(&m.execution_role_arn),
        task_role_arn: s(&m.task_role_arn),
        database,
        default_tags: m.default_tags.known_entries(),
        events: m.events.as_ref().map(|bus| decode_events(bus, &mut violations)),
        backup: m.backup.as_ref().map(|b| decode_backup(b, &mut violations)),
        alarm_topic_arn: decode_topic(&m.alarm_topic_arn, &mut violations),
    };
    if platform.domain.is_empty() {
        violations.push(Violation::new(
            &[attr::DOMAIN],
            "required",
            "domain must be set to the environment's DNS domain",
        ));
    }
    let assume_role = m.assume_role.as_ref().map(|r| decode_assume_role(r, &mut violations));
    let allowed_account_ids = decode_account_ids(&m.allowed_account_ids, &mut violations);
    let max_retries = decode_max_retries(&m.max_retries, &mut violations);
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(ProviderConfig {
        aws: AwsSettings {
            region: s(&m.region),
            profile: s(&m.profile),
            endpoints,
            assume_role,
            allowed_account_ids,
            max_retries,
        },
        platform,
    })
}

/// `environment`: required, one of dev, sit, prod.
fn decode_environment(v: &TfString, violations: &mut Vec<Violation>) -> Environment {
    match v.as_str().map(Environment::from_str) {
        Some(Ok(e)) => e,
        Some(Err(msg)) => {
            violations.push(Violation::new(&[attr::ENVIRONMENT], "one_of", msg));
            Environment::Dev
        }
        None => {
            violations.push(Violation::new(
                &[attr::ENVIRONMENT],
                "required",
                "environment must be set to dev, sit or prod",
            ));
            Environment::Dev
        }
    }
}

/// One of a setting's names (`FromStr`), its default when unset; an
/// unknown name is a `one_of` violation at `path`.
fn one_of<T: FromStr<Err = String> + Default>(v: &TfString, path: &[&str], violations: &mut Vec<Violation>) -> T {
    match v.as_str().map(T::from_str) {
        None => T::default(),
        Some(Ok(t)) => t,
        Some(Err(msg)) => {
            violations.push(Violation::new(path, "one_of", msg));
            T::default()
        }
    }
}

/// The `database` block.
fn decode_database(db: &DatabaseModel, violations: &mut Vec<Violation>) -> DatabaseSettings {
    use attr::database as d;
    let s = |v: &TfString| v.as_str().map(str::to_owned);
    let ssl_mode: SslMode = one_of(&db.ssl_mode, &[attr::DATABASE, d::SSL_MODE], violations);
    let admin_auth: AdminAuth = one_of(&db.admin_auth, &[attr::DATABASE, d::ADMIN_AUTH], violations);
    let port_path = nested(attr::DATABASE, d::PORT);
    let port = whole_number(&db.port, &port_path, violations).and_then(|p| {
        let port = u16::try_from(p).ok().filter(|p| *p > 0);
        if port.is_none() {
            violations.push(Violation::new(
                &[attr::DATABASE, d::PORT],
                "range",
                format!("{port_path} = {p} must be a TCP port, 1-65535"),
            ));
        }
        port
    });
    let timeout_path = nested(attr::DATABASE, d::STATEMENT_TIMEOUT_SECONDS);
    let statement_timeout = whole_number(&db.statement_timeout_seconds, &timeout_path, violations);
    DatabaseSettings {
        instance_identifier: s(&db.instance_identifier).unwrap_or_default(),
        host: s(&db.host),
        port,
        admin_secret_arn: s(&db.admin_secret_arn).unwrap_or_default(),
        ssl_mode,
        ssl_ca: s(&db.ssl_ca),
        // Out of a u32's range reads as 0, which validation rejects.
        statement_timeout_seconds: statement_timeout.map_or(bbws_core::spec::DEFAULT_STATEMENT_TIMEOUT_SECONDS, |n| {
            u32::try_from(n).unwrap_or(0)
        }),
        admin_auth,
        admin_username: s(&db.admin_username),
    }
}

/// The `events` block: a bus name (EventBridge's rule: 1 to 256 of
/// letters, digits and `._-/`) or an event bus ARN.
fn decode_events(bus: &TfString, violations: &mut Vec<Violation>) -> EventsSettings {
    let bus_name = bus.as_str().unwrap_or_default().to_owned();
    let is_name = (1..=256).contains(&bus_name.len())
        && bus_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
    let is_arn = bus_name.starts_with("arn:")
        && bus_name.split(':').nth(2) == Some("events")
        && bus_name
            .split(':')
            .nth(5)
            .is_some_and(|r| r.len() > "event-bus/".len() && r.starts_with("event-bus/"));
    // Unknown until apply: checked then, when Terraform sends it again.
    if !bus.is_unknown() && !is_name && !is_arn {
        violations.push(Violation::new(
            &[attr::EVENTS, attr::events::BUS_NAME],
            "bus_name",
            format!(
                "{} = {bus_name:?} is not an EventBridge bus: a name of 1 to 256 letters, digits and ._-/ (e.g. \"default\"), or an ARN arn:aws:events:{{region}}:{{account}}:event-bus/{{name}}",
                nested(attr::EVENTS, attr::events::BUS_NAME)
            ),
        ));
    }
    EventsSettings { bus_name }
}

/// The `backup` block: S3's bucket naming rules (3–63 of a-z 0-9 . -,
/// starting and ending with a letter or digit); a prefix without a
/// leading `/` (S3 keys have none).
fn decode_backup(b: &BackupModel, violations: &mut Vec<Violation>) -> bbws_core::spec::BackupSettings {
    use attr::backup as k;
    let bucket = b.bucket.as_str().unwrap_or_default().to_owned();
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && ends_ok(bucket.chars().next())
        && ends_ok(bucket.chars().last());
    if !bucket_ok {
        violations.push(Violation::new(
            &[attr::BACKUP, k::BUCKET],
            "bucket_name",
            format!(
                "{} = {bucket:?} is not an S3 bucket name: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit",
                nested(attr::BACKUP, k::BUCKET)
            ),
        ));
    }
    let prefix = b.prefix.as_str().unwrap_or_default().to_owned();
    if prefix.starts_with('/') {
        violations.push(Violation::new(
            &[attr::BACKUP, k::PREFIX],
            "key_prefix",
            format!(
                "{} = {prefix:?} must not start with \"/\" (S3 keys do not), e.g. \"tenants/\"",
                nested(attr::BACKUP, k::PREFIX)
            ),
        ));
    }
    bbws_core::spec::BackupSettings { bucket, prefix }
}

/// `listener_arn` or `listener_arns`, not both: the pool, one listener
/// for `listener_arn`. Neither is left to the platform's own check (data
/// sources work without one).
fn decode_listeners(m: &ProviderModel, violations: &mut Vec<Violation>) -> Vec<String> {
    let one = m.listener_arn.as_str().map(str::to_owned);
    let pool = m.listener_arns.known_elements();
    if one.is_some() && !m.listener_arns.is_null() {
        violations.push(Violation::new(
            &[attr::LISTENER_ARNS],
            "exactly_one_of",
            "set exactly one of listener_arn (one listener) and listener_arns (a pool of listeners), not both",
        ));
    }
    match one {
        Some(arn) => vec![arn],
        None => pool,
    }
}

/// `alarm_topic_arn`: an SNS topic ARN, `arn:{partition}:sns:{region}:{account}:{name}`.
fn decode_topic(topic: &TfString, violations: &mut Vec<Violation>) -> Option<String> {
    let t = topic.as_str()?;
    let parts: Vec<&str> = t.split(':').collect();
    let name_ok =
        |n: &str| (1..=256).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let ok = matches!(parts.as_slice(), ["arn", partition, "sns", region, account, name]
        if partition.starts_with("aws") && !region.is_empty()
            && account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
            && name_ok(name.strip_suffix(".fifo").unwrap_or(name)));
    if !ok {
        violations.push(Violation::new(
            &[attr::ALARM_TOPIC_ARN],
            "arn_format",
            format!("alarm_topic_arn = {t:?} must be an SNS topic ARN, arn:aws:sns:{{region}}:{{account}}:{{topic}}"),
        ));
        return None;
    }
    Some(t.to_owned())
}

/// `max_tenants_per_listener`: a whole number, at least 1.
fn decode_max_tenants(n: &TfNumber, violations: &mut Vec<Violation>) -> Option<u32> {
    let n = whole_number(n, attr::MAX_TENANTS_PER_LISTENER, violations)?;
    let cap = u32::try_from(n).ok().filter(|n| *n >= 1);
    if cap.is_none() {
        violations.push(Violation::new(
            &[attr::MAX_TENANTS_PER_LISTENER],
            "range",
            format!("{} = {n} must be at least 1", attr::MAX_TENANTS_PER_LISTENER),
        ));
    }
    cap
}

/// `allowed_account_ids`: each one 12 digits.
fn decode_account_ids(ids: &TfList, violations: &mut Vec<Violation>) -> Vec<String> {
    let ids = ids.known_elements();
    for (i, id) in ids.iter().enumerate() {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            violations.push(Violation::new(
                &[attr::ALLOWED_ACCOUNT_IDS],
                "account_id",
                format!(
                    "{}[{i}] = {id:?} is not an AWS account id: 12 digits, e.g. \"536580886816\"",
                    attr::ALLOWED_ACCOUNT_IDS
                ),
            ));
        }
    }
    ids
}

/// `max_retries`: 0 to [`MAX_RETRIES_LIMIT`].
fn decode_max_retries(n: &TfNumber, violations: &mut Vec<Violation>) -> Option<u32> {
    let n = whole_number(n, attr::MAX_RETRIES, violations)?;
    let retries = u32::try_from(n).ok().filter(|n| *n <= MAX_RETRIES_LIMIT);
    if retries.is_none() {
        violations.push(Violation::new(
            &[attr::MAX_RETRIES],
            "range",
            format!(
                "{} = {n} must be between 0 and {MAX_RETRIES_LIMIT} (the number of retries after the first attempt)",
                attr::MAX_RETRIES
            ),
        ));
    }
    retries
}

/// The most retries `max_retries` may ask for.
const MAX_RETRIES_LIMIT: u32 = 100;

/// The `assume_role` block; a malformed role ARN is a violation.
fn decode_assume_role(b: &AssumeRoleModel, violations: &mut Vec<Violation>) -> AssumeRole {
    use attr::assume_role as r;
    let role_arn = b.role_arn.as_str().unwrap_or_default().to_owned();
    let is_role_arn = role_arn.starts_with("arn:")
        && role_arn.split(':').nth(2) == Some("iam")
        && bbws_core::aws::account_of(&role_arn).is_some()
        && role_arn
            .split(':')
            .nth(5)
            .is_some_and(|r| r.starts_with("role/") && r.len() > 5);
    if !is_role_arn {
        violations.push(Violation::new(
            &[attr::ASSUME_ROLE, r::ROLE_ARN],
            "role_arn",
            format!(
                "{} = {role_arn:?} is not an IAM role ARN: arn:aws:iam::{{account id}}:role/{{name}}",
                nested(attr::ASSUME_ROLE, r::ROLE_ARN)
            ),
        ));
    }
    let opt = |v: &TfString| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(name) = opt(&b.session_name) {
        let ok = (2..=64).contains(&name.len())
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_+=,.@-".contains(&c));
        if !ok {
            violations.push(Violation::new(
                &[attr::ASSUME_ROLE, r::SESSION_NAME],
                "session_name",
                format!(
                    "{} = {name:?} must be 2 to 64 characters of letters, digits and _+=,.@- (STS's rule)",
                    nested(attr::ASSUME_ROLE, r::SESSION_NAME)
                ),
            ));
        }
    }
    AssumeRole {
        role_arn,
        session_name: opt(&b.session_name),
        external_id: opt(&b.external_id),
    }
}

/// What the provider block allows but a reviewer should see: `(summary,
/// detail)` of each warning.
pub fn warnings(p: &Platform) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if p.database.ssl_mode == SslMode::Disabled {
        out.push((
            "MySQL without TLS (database.ssl_mode = \"DISABLED\")".to_owned(),
            "The admin's login and the tenants' password hashes cross the network unencrypted. Use this only for a server on this machine; for RDS, keep the default VERIFY_IDENTITY and pass the AWS bundle in database.ssl_ca.".to_owned(),
        ));
    }
    out
}

/// Every platform rule a tenant depends on.
pub fn validate_for_tenants(p: &Platform) -> Vec<Violation> {
    validate::validate_platform(p)
}

/// The account guard and the early role check (`allowed_account_ids`,
/// `assume_role`), as a diagnostic at the setting to fix. Makes no AWS call
/// when neither is set.
pub async fn verify_identity(settings: &AwsSettings, ports: &Ports) -> Result<(), tf::Diagnostic> {
    match bbws_core::aws::verify_identity(settings, ports.sts.as_ref()).await {
        Ok(_) => Ok(()),
        Err(CoreError::Platform { setting, message }) => {
            let summary = if setting == attr::ALLOWED_ACCOUNT_IDS {
                "The AWS credentials are in an account that allowed_account_ids does not allow"
            } else {
                "The role of assume_role cannot be assumed"
            };
            let path: Vec<String> = setting.split('.').map(str::to_owned).collect();
            Err(crate::diag::error(summary, message, Some(&path)))
        }
        Err(e) => Err(crate::diag::core_error_diag(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn decode_value(v: &Value) -> Result<ProviderConfig, Vec<Violation>> {
        decode(&ProviderModel::from_value(v))
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_owned())
    }

    fn block(extra: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = [("environment", s("dev")), ("domain", s("dev.example.io"))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        m.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        Value::Map(m)
    }

    fn role(fields: &[(&str, &str)]) -> Value {
        Value::Map(fields.iter().map(|(k, v)| ((*k).to_owned(), s(v))).collect())
    }

    #[test]
    fn guards_and_role_reach_the_aws_settings() {
        let v = block(&[
            (
                "assume_role",
                role(&[
                    ("role_arn", "arn:aws:iam::536580886816:role/platform-deployer"),
                    ("external_id", "x-1"),
                ]),
            ),
            ("allowed_account_ids", Value::List(vec![s("536580886816")])),
            ("max_retries", Value::Int(25)),
        ]);
        let aws = decode_value(&v).expect("valid").aws;
        let r = aws.assume_role.expect("a role");
        assert_eq!(r.role_arn, "arn:aws:iam::536580886816:role/platform-deployer");
        assert_eq!(r.session_name, None);
        assert_eq!(r.external_id.as_deref(), Some("x-1"));
        assert_eq!(aws.allowed_account_ids, vec!["536580886816".to_owned()]);
        assert_eq!(aws.max_retries, Some(25));
        let plain = decode_value(&block(&[])).expect("valid").aws;
        assert_eq!(
            (plain.assume_role, plain.allowed_account_ids.len(), plain.max_retries),
            (None, 0, None)
        );
    }

    #[test]
    fn provider_numbers_must_be_whole_and_in_range() {
        let db = Value::object([
            ("port", Value::Float(3306.5)),
            ("statement_timeout_seconds", Value::Float(f64::INFINITY)),
        ]);
        let v = block(&[("database", db), ("max_retries", Value::Float(2.5))]);
        let violations = decode_value(&v).expect_err("invalid");
        let found: Vec<(String, &str)> = violations
            .iter()
            .map(|v| (v.attribute.join("."), v.rule.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("database.port".to_owned(), "whole_number"),
                ("database.statement_timeout_seconds".to_owned(), "whole_number"),
                ("max_retries".to_owned(), "whole_number"),
            ]
        );
        let v = block(&[("database", Value::object([("port", Value::Int(70000))]))]);
        let violations = decode_value(&v).expect_err("invalid");
        assert_eq!(violations[0].attribute, ["database", "port"]);
        assert_eq!(violations[0].rule, "range");
    }

    #[test]
    fn the_events_block_names_a_bus_by_name_or_arn() {
        let bus = |name: &str| Value::object([("bus_name", s(name))]);
        assert_eq!(decode_value(&block(&[])).expect("valid").platform.events, None);
        for ok in [
            "default",
            "billing.bus-1/x_y",
            "arn:aws:events:eu-west-1:536580886816:event-bus/ops",
        ] {
            let c = decode_value(&block(&[("events", bus(ok))])).expect(ok);
            assert_eq!(c.platform.events.map(|e| e.bus_name).as_deref(), Some(ok));
        }
        let too_long = "b".repeat(257);
        for bad in [
            "",
            "has space",
            "arn:aws:sns:eu-west-1:536580886816:topic",
            too_long.as_str(),
        ] {
            let violations = decode_value(&block(&[("events", bus(bad))])).expect_err(bad);
            assert_eq!(violations.len(), 1, "{violations:?}");
            assert_eq!(violations[0].attribute, ["events", "bus_name"]);
            assert!(
                violations[0].message.contains("events.bus_name"),
                "{}",
                violations[0].message
            );
        }
    }

    #[test]
    fn the_backup_block_reaches_the_platform_and_a_bad_one_is_named() {
        let good = Value::object([("bucket", s("acme-backups")), ("prefix", s("tenants/"))]);
        let p = decode_value(&block(&[("backup", good)])).expect("valid").platform;
        let expected = bbws_core::spec::BackupSettings {
            bucket: "acme-backups".into(),
            prefix: "tenants/".into(),
        };
        assert_eq!(p.backup, Some(expected));
        assert_eq!(decode_value(&block(&[])).expect("valid").platform.backup, None);
        let bad = Value::object([("bucket", s("Bad_Bucket")), ("prefix", s("/tenants/"))]);
        let violations = decode_value(&block(&[("backup", bad)])).expect_err("invalid");
        let paths: Vec<String> = violations.iter().map(|v| v.attribute.join(".")).collect();
        assert_eq!(paths, ["backup.bucket", "backup.prefix"]);
    }

    #[test]
    fn malformed_guards_are_rejected_at_their_attribute() {
        let v = block(&[
            (
                "assume_role",
                role(&[
                    ("role_arn", "arn:aws:iam::536580886816:user/someone"),
                    ("session_name", "has spaces"),
                ]),
            ),
            ("allowed_account_ids", Value::List(vec![s("536580886816"), s("dev")])),
            ("max_retries", Value::Int(-1)),
        ]);
        let violations = decode_value(&v).expect_err("invalid");
        let paths: Vec<String> = violations.iter().map(|v| v.attribute.join(".")).collect();
        assert_eq!(
            paths,
            [
                "assume_role.role_arn",
                "assume_role.session_name",
                "allowed_account_ids",
                "max_retries"
            ]
        );
        assert!(violations[2].message.contains("12 digits"), "{}", violations[2].message);
    }
}

#[cfg(test)]
mod database_block_tests {
    use super::tests::decode_value;
    use super::*;

    fn block(database: Vec<(&str, Value)>) -> Value {
        Value::Map(
            [
                ("environment".to_owned(), Value::String("dev".into())),
                ("domain".to_owned(), Value::String("wpdev.example.io".into())),
                (
                    "database".to_owned(),
                    Value::Map(database.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
                ),
            ]
            .into_iter()
            .collect(),
        )
    }

    #[test]
    fn tls_is_verified_by_default_and_disabled_tls_is_warned_about() {
        let c = decode_value(&block(vec![])).expect("decodes");
        assert_eq!(c.platform.database.ssl_mode, SslMode::VerifyIdentity);
        assert!(warnings(&c.platform).is_empty());
        let c = decode_value(&block(vec![("ssl_mode", Value::String("DISABLED".into()))])).expect("decodes");
        let w = warnings(&c.platform);
        assert_eq!(w.len(), 1);
        assert!(w[0].0.contains("database.ssl_mode"), "{w:?}");
    }

    #[test]
    fn a_wrong_ssl_mode_or_admin_auth_names_the_attribute() {
        let e = decode_value(&block(vec![
            ("ssl_mode", Value::String("verify_everything".into())),
            ("admin_auth", Value::String("kerberos".into())),
        ]))
        .expect_err("refused");
        let paths: Vec<String> = e.iter().map(|v| v.attribute.join(".")).collect();
        assert_eq!(paths, ["database.ssl_mode", "database.admin_auth"]);
    }
}
