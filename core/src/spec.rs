//! The desired tenant: what the user asked for, with defaults resolved, plus
//! the environment's platform settings it lives on.
//!
//! [`TenantInput`] is what a front end (the Terraform provider, a YAML file)
//! hands in: every optional attribute is an `Option`. [`TenantInput::resolve`]
//! applies the tier defaults and validates everything at once, producing a
//! [`TenantSpec`] in which every value is concrete.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::validate::{self, Violation};

/// One of the three environments tenants are promoted through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Environment {
    /// Development.
    #[default]
    Dev,
    /// System integration test.
    Sit,
    /// Production: destructive changes are guarded.
    Prod,
}

impl Environment {
    /// The lower-case name used in every part's name (`dev`, `sit`, `prod`).
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Sit => "sit",
            Environment::Prod => "prod",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" => Ok(Environment::Dev),
            "sit" => Ok(Environment::Sit),
            "prod" => Ok(Environment::Prod),
            other => Err(format!(
                "unknown environment {other:?}: must be one of \"dev\", \"sit\", \"prod\""
            )),
        }
    }
}

/// Service tier: sets the defaults for CPU, memory and desired count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tier {
    /// 0.25 vCPU, 512 MiB, one task.
    #[default]
    Starter,
    /// 0.5 vCPU, 1 GiB, two tasks.
    Professional,
    /// 1 vCPU, 2 GiB, three tasks.
    Enterprise,
}

impl Tier {
    /// The tier's name as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Professional => "professional",
            Tier::Enterprise => "enterprise",
        }
    }

    /// `(cpu units, memory MiB, desired count)` when the user sets none.
    pub fn defaults(self) -> (u32, u32, u32) {
        match self {
            Tier::Starter => (256, 512, 1),
            Tier::Professional => (512, 1024, 2),
            Tier::Enterprise => (1024, 2048, 3),
        }
    }

    /// The tier's `MAX_USER_CONNECTIONS` for the tenant's MySQL user.
    pub fn db_max_connections(self) -> u32 {
        match self {
            Tier::Starter => 10,
            Tier::Professional => 25,
            Tier::Enterprise => 50,
        }
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "starter" => Ok(Tier::Starter),
            "professional" => Ok(Tier::Professional),
            "enterprise" => Ok(Tier::Enterprise),
            other => Err(format!(
                "unknown tier {other:?}: must be one of \"starter\", \"professional\", \"enterprise\""
            )),
        }
    }
}

/// Whether the tenant serves traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TenantStatus {
    /// Serving: the listener rule forwards to the service.
    #[default]
    Active,
    /// Scaled to zero; the listener rule answers a fixed "suspended" page.
    Suspended,
}

impl TenantStatus {
    /// The status as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }
}

impl FromStr for TenantStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(TenantStatus::Active),
            "suspended" => Ok(TenantStatus::Suspended),
            other => Err(format!("unknown status {other:?}: must be \"active\" or \"suspended\"")),
        }
    }
}

/// Where the environment's shared MySQL server is and how to administer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// RDS instance identifier; its endpoint comes from the RDS API.
    pub instance_identifier: String,
    /// Overrides the RDS endpoint's host (tunnels, local servers).
    pub host: Option<String>,
    /// Overrides the RDS endpoint's port.
    pub port: Option<u16>,
    /// Secrets Manager secret holding `{"username","password"}` of the admin.
    pub admin_secret_arn: String,
    /// TLS towards the server (default `VERIFY_IDENTITY`).
    pub ssl_mode: SslMode,
    /// PEM certificates to trust besides the system's roots (for RDS, the
    /// AWS global bundle).
    pub ssl_ca: Option<String>,
    /// No MySQL statement waits longer than this many seconds.
    pub statement_timeout_seconds: u32,
    /// How the admin logs in.
    pub admin_auth: AdminAuth,
    /// The admin user for `admin_auth = "iam"` (else the secret's).
    pub admin_username: Option<String>,
}

/// Default of `database.statement_timeout_seconds`.
pub const DEFAULT_STATEMENT_TIMEOUT_SECONDS: u32 = 60;

/// TLS towards MySQL, in MySQL's own `--ssl-mode` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// No TLS (a local server only).
    Disabled,
    /// TLS when the server offers it, unverified.
    Preferred,
    /// TLS, unverified.
    Required,
    /// TLS, certificate chain verified, any host name.
    VerifyCa,
    /// TLS, chain and host name verified.
    #[default]
    VerifyIdentity,
}

impl SslMode {
    /// Every mode, in MySQL's spelling.
    pub const ALL: [SslMode; 5] = [
        SslMode::Disabled,
        SslMode::Preferred,
        SslMode::Required,
        SslMode::VerifyCa,
        SslMode::VerifyIdentity,
    ];

    /// MySQL's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }

    /// Whether the server's certificate chain is verified.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyIdentity)
    }
}

impl FromStr for SslMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SslMode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown ssl_mode {s:?}: must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY")
            })
    }
}

/// How the admin logs in to MySQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminAuth {
    /// The password in `database.admin_secret_arn`.
    #[default]
    Password,
    /// An RDS IAM authentication token (over verified TLS).
    Iam,
}

impl FromStr for AdminAuth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "password" => Ok(AdminAuth::Password),
            "iam" => Ok(AdminAuth::Iam),
            other => Err(format!("unknown admin_auth {other:?}: must be \"password\" or \"iam\"")),
        }
    }
}

impl DatabaseSettings {
    /// A login to the server at `host:port` with these settings' TLS and
    /// statement timeout.
    pub fn login(&self, host: &str, port: u16, user: &str, password: &str) -> crate::ports::MysqlLogin {
        crate::ports::MysqlLogin {
            host: host.to_owned(),
            port,
            user: user.to_owned(),
            password: password.to_owned(),
            cleartext: false,
            tls: crate::ports::MysqlTls {
                mode: self.ssl_mode,
                ca_pem: self.ssl_ca.clone(),
            },
            statement_timeout: std::time::Duration::from_secs(u64::from(self.statement_timeout_seconds.max(1))),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            instance_identifier: String::new(),
            host: None,
            port: None,
            admin_secret_arn: String::new(),
            ssl_mode: SslMode::default(),
            ssl_ca: None,
            statement_timeout_seconds: DEFAULT_STATEMENT_TIMEOUT_SECONDS,
            admin_auth: AdminAuth::default(),
            admin_username: None,
        }
    }
}

/// The environment's shared infrastructure every tenant is placed on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    /// The environment tenants of this platform belong to.
    pub environment: Environment,
    /// The environment's DNS domain; tenants live at `{subdomain}.{domain}`.
    pub domain: String,
    /// AWS region (used in log configuration of task definitions).
    pub region: String,
    /// ECS cluster name.
    pub cluster: String,
    /// VPC the target groups are created in.
    pub vpc_id: String,
    /// Subnets Fargate tasks run in.
    pub subnet_ids: Vec<String>,
    /// Security groups of Fargate tasks.
    pub security_group_ids: Vec<String>,
    /// The pool of shared HTTPS listeners (one per load balancer) tenants
    /// get a rule on, in the order ties of placement are broken in. One
    /// listener when the provider sets `listener_arn`.
    pub listener_arns: Vec<String>,
    /// At most this many tenants on one listener (`max_tenants_per_listener`),
    /// besides what AWS limits per load balancer.
    pub max_tenants_per_listener: Option<u32>,
    /// Route53 hosted zone of `domain`.
    pub hosted_zone_id: String,
    /// EFS file system tenants get an access point on.
    pub efs_file_system_id: String,
    /// IAM role ECS uses to pull images, read secrets and write logs.
    pub execution_role_arn: Option<String>,
    /// IAM role the WordPress container runs as.
    pub task_role_arn: Option<String>,
    /// The shared MySQL server.
    pub database: DatabaseSettings,
    /// Tags put on every AWS part, under the tenant's own tags.
    pub default_tags: BTreeMap<String, String>,
    /// Where provisioning events go; `None`: none is sent.
    pub events: Option<EventsSettings>,
    /// Where tenant backups go; `None`: backups are refused.
    pub backup: Option<BackupSettings>,
    /// The SNS topic every tenant's alarms notify; `None`: no alarms.
    pub alarm_topic_arn: Option<String>,
}

/// The provider's `events` block: the EventBridge bus that gets one event
/// per operation ([`crate::events`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventsSettings {
    /// The bus's name (`default`, or a custom bus) or ARN.
    pub bus_name: String,
}

/// The provider's `backup { bucket, prefix }`: tenant database dumps are
/// written to `s3://{bucket}/{prefix}{env}/{tenant_id}/{timestamp}.sql.gz`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupSettings {
    /// The S3 bucket (it must exist; bbws never creates or empties it).
    pub bucket: String,
    /// Key prefix, e.g. `tenants/` (may be empty).
    pub prefix: String,
}

/// A tenant as the user wrote it: optional attributes are `None` when unset.
///
/// Field names follow the Terraform attribute names of SPEC §7, so that a
/// [`Violation`] can name the attribute path directly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantInput {
    /// Display name; also the typed confirmation for destroying in prod.
    pub name: String,
    /// Who to call about this tenant.
    pub contact_email: String,
    /// 12-digit id; generated when `None`.
    pub tenant_id: Option<String>,
    /// DNS label under the environment's domain; defaults to the tenant id.
    pub subdomain: Option<String>,
    /// `starter` | `professional` | `enterprise`.
    pub tier: Option<String>,
    /// WordPress version, part of the image tag.
    pub wordpress_version: Option<String>,
    /// PHP version, part of the image tag.
    pub php_version: Option<String>,
    /// Image repository (no tag).
    pub image: Option<String>,
    /// Fargate CPU units.
    pub cpu: Option<i64>,
    /// Fargate memory in MiB.
    pub memory: Option<i64>,
    /// Number of running tasks when active.
    pub desired_count: Option<i64>,
    /// `MAX_USER_CONNECTIONS` of the tenant's MySQL user.
    pub db_max_connections: Option<i64>,
    /// `active` | `suspended`.
    pub status: Option<String>,
    /// Extra environment variables of the WordPress container.
    pub environment_variables: BTreeMap<String, String>,
    /// CloudWatch log retention in days.
    pub log_retention_days: Option<i64>,
    /// Blocks destroy when true; default true in prod.
    pub deletion_protection: Option<bool>,
    /// Must equal `name` to destroy in prod.
    pub confirm_destroy: Option<String>,
    /// Keep database, user (locked) and EFS files on destroy; default true.
    pub retain_data_on_destroy: Option<bool>,
    /// Back the database up before a destroy deletes it; default true in prod.
    pub backup_before_destroy: Option<bool>,
    /// The user's tags, added to every AWS part.
    pub tags: BTreeMap<String, String>,
    /// Version of a user-supplied database password (`db_password_wo`);
    /// a change rotates the password. The password itself never is input:
    /// it reaches the engine at apply time only ([`crate::ApplyInputs`]).
    pub db_password_version: Option<i64>,
    /// Wait after a service change until it runs the desired tasks.
    pub wait_for_steady_state: Option<bool>,
    /// How long to wait, in seconds (default 600).
    pub steady_state_timeout_seconds: Option<i64>,
    /// The pool listener the tenant is pinned to (or moved to); `None`:
    /// where it is, or where placement puts a new one.
    pub listener_arn: Option<String>,
    /// The `autoscaling` block; `None` when absent (no scaling).
    pub autoscaling: Option<AutoscalingInput>,
    /// The customer's own domains (at most 4), routed to the tenant with
    /// an ACM certificate of their own.
    pub custom_domains: Vec<String>,
    /// Values the front end could not map onto these fields (a number that
    /// is not a whole one, for example), each naming its attribute; the
    /// field is left unset and validation reports them with its own.
    pub rejected: Vec<crate::validate::Violation>,
}

/// The `autoscaling` block as written: each field `None` when unset (the
/// tier's default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoscalingInput {
    /// Fewest tasks while active.
    pub min: Option<i64>,
    /// Most tasks.
    pub max: Option<i64>,
    /// Average CPU percent the service is held at.
    pub cpu_target: Option<i64>,
    /// ALB requests per task the service is held at; `None`: not tracked.
    pub requests_per_target: Option<i64>,
}

/// Application Auto Scaling of the service's desired count, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoscaling {
    /// Fewest tasks while active.
    pub min: u32,
    /// Most tasks.
    pub max: u32,
    /// Average CPU percent the service is held at.
    pub cpu_target: u32,
    /// ALB requests per task the service is held at, if tracked.
    pub requests_per_target: Option<u32>,
}

impl Tier {
    /// `(min, max)` tasks under autoscaling when the block sets none: the
    /// tier's desired count up to three times it.
    pub fn autoscaling_range(self) -> (u32, u32) {
        let (_, _, desired) = self.defaults();
        (desired, desired * 3)
    }
}

/// CPU percent autoscaling holds when `cpu_target` is unset.
pub const DEFAULT_CPU_TARGET: u32 = 60;

impl AutoscalingInput {
    /// Defaults from the tier; validation proved the numbers in range.
    fn resolve(&self, tier: Tier) -> Autoscaling {
        let (min, max) = tier.autoscaling_range();
        let to_u32 = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        let min = to_u32(self.min).unwrap_or_else(|| to_u32(self.max).map_or(min, |m| min.min(m)));
        Autoscaling {
            min,
            max: to_u32(self.max).unwrap_or(max.max(min)),
            cpu_target: to_u32(self.cpu_target).unwrap_or(DEFAULT_CPU_TARGET),
            requests_per_target: to_u32(self.requests_per_target),
        }
    }
}

/// Default WordPress version when none is configured.
pub const DEFAULT_WORDPRESS_VERSION: &str = "6.6";
/// Default PHP version when none is configured.
pub const DEFAULT_PHP_VERSION: &str = "8.3";
/// Default image repository.
pub const DEFAULT_IMAGE: &str = "wordpress";
/// Default log retention in days.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;
/// Default wait for a steady service, in seconds.
pub const DEFAULT_STEADY_STATE_TIMEOUT_SECONDS: u64 = 600;

/// The desired tenant, fully resolved: every value concrete and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSpec {
    /// The platform the tenant lives on.
    pub platform: Arc<Platform>,
    /// 12-digit tenant id.
    pub tenant_id: String,
    /// Display name.
    pub name: String,
    /// Contact e-mail.
    pub contact_email: String,
    /// DNS label under the platform domain.
    pub subdomain: String,
    /// Service tier.
    pub tier: Tier,
    /// WordPress version.
    pub wordpress_version: String,
    /// PHP version.
    pub php_version: String,
    /// Image repository.
    pub image: String,
    /// Fargate CPU units.
    pub cpu: u32,
    /// Fargate memory (MiB).
    pub memory: u32,
    /// Tasks to run while active.
    pub desired_count: u32,
    /// Connections the tenant's MySQL user may hold at once, so that one
    /// tenant cannot exhaust the shared server.
    pub db_max_connections: u32,
    /// Active or suspended.
    pub status: TenantStatus,
    /// Extra container environment.
    pub environment_variables: BTreeMap<String, String>,
    /// Log retention in days.
    pub log_retention_days: u32,
    /// Blocks destroy.
    pub deletion_protection: bool,
    /// Typed confirmation for destroy in prod.
    pub confirm_destroy: Option<String>,
    /// Keep data on destroy.
    pub retain_data_on_destroy: bool,
    /// A destroy that deletes the database backs it up first (SOP §6.4).
    pub backup_before_destroy: bool,
    /// User tags.
    pub tags: BTreeMap<String, String>,
    /// Version of the user-supplied database password; a change rotates it.
    pub db_password_version: Option<i64>,
    /// After a service change, wait until it runs the desired tasks; an
    /// update that does not get there in time is rolled back.
    pub wait_for_steady_state: bool,
    /// How long to wait for a steady state.
    pub steady_state_timeout: std::time::Duration,
    /// The pool listener asked for (pinned, or placed by
    /// [`crate::placement`]); `None`: where the tenant's rule is.
    pub listener_arn: Option<String>,
    /// Scaling of the desired count; `desired_count` is then the count a
    /// new service starts with, and what scaling made of it is not drift.
    pub autoscaling: Option<Autoscaling>,
    /// The customer's own domains, lower case, in the order written: the
    /// first is the certificate's domain name, the rest its other names.
    pub custom_domains: Vec<String>,
}

impl TenantInput {
    /// Applies defaults and validates every attribute; returns *all*
    /// violations, not just the first, so one plan shows every mistake.
    ///
    /// `tenant_id` must be set by now: a front end that lets the user omit it
    /// generates one with [`crate::naming::generate_tenant_id`] first.
    pub fn resolve(&self, platform: Arc<Platform>) -> Result<TenantSpec, Vec<Violation>> {
        let mut violations = validate::validate_input(self, &platform);
        let tier = self
            .tier
            .as_deref()
            .map(Tier::from_str)
            .transpose()
            .unwrap_or_default()
            .unwrap_or_default();
        let (cpu, memory, desired) = tier.defaults();
        let tenant_id = match &self.tenant_id {
            Some(id) => id.clone(),
            None => {
                violations.push(Violation::new(
                    &["tenant_id"],
                    "required",
                    "tenant_id must be known before the tenant can be planned",
                ));
                String::new()
            }
        };
        if !violations.is_empty() {
            return Err(violations);
        }
        let env = platform.environment;
        let status = self
            .status
            .as_deref()
            .map(TenantStatus::from_str)
            .transpose()
            .unwrap_or_default()
            .unwrap_or_default();
        // Validation above proved these numbers are in range.
        let to_u32 = |v: Option<i64>, d: u32| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(d);
        Ok(TenantSpec {
            // Stored lower-case, as Route53 and ELBv2 keep host names.
            subdomain: self
                .subdomain
                .as_deref()
                .map_or_else(|| tenant_id.clone(), str::to_ascii_lowercase),
            tenant_id,
            name: self.name.clone(),
            contact_email: self.contact_email.clone(),
            tier,
            wordpress_version: self
                .wordpress_version
                .clone()
                .unwrap_or_else(|| DEFAULT_WORDPRESS_VERSION.to_owned()),
            php_version: self
                .php_version
                .clone()
                .unwrap_or_else(|| DEFAULT_PHP_VERSION.to_owned()),
            image: self.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
            cpu: to_u32(self.cpu, cpu),
            memory: to_u32(self.memory, memory),
            desired_count: to_u32(self.desired_count, desired),
            db_max_connections: to_u32(self.db_max_connections, tier.db_max_connections()),
            status,
            environment_variables: self.environment_variables.clone(),
            log_retention_days: to_u32(self.log_retention_days, DEFAULT_LOG_RETENTION_DAYS),
            deletion_protection: self.deletion_protection.unwrap_or(env == Environment::Prod),
            confirm_destroy: self.confirm_destroy.clone(),
            retain_data_on_destroy: self.retain_data_on_destroy.unwrap_or(true),
            backup_before_destroy: self.backup_before_destroy.unwrap_or(env == Environment::Prod),
            tags: self.tags.clone(),
            db_password_version: self.db_password_version,
            wait_for_steady_state: self.wait_for_steady_state.unwrap_or(false),
            steady_state_timeout: std::time::Duration::from_secs(
                self.steady_state_timeout_seconds
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(DEFAULT_STEADY_STATE_TIMEOUT_SECONDS),
            ),
            listener_arn: self.listener_arn.clone(),
            autoscaling: self.autoscaling.as_ref().map(|a| a.resolve(tier)),
            custom_domains: self.custom_domains.clone(),
            platform,
        })
    }
}

impl Platform {
    /// The first listener of the pool (the only one of a `listener_arn`
    /// configuration).
    pub fn first_listener(&self) -> &str {
        self.listener_arns.first().map_or("", String::as_str)
    }

    /// Whether placement needs each listener's load: more than one to
    /// choose from, or a cap to keep. A single listener without a cap is
    /// read as it always was.
    pub fn places_by_load(&self) -> bool {
        self.listener_arns.len() > 1 || self.max_tenants_per_listener.is_some()
    }
}

impl TenantSpec {
    /// The container image reference: repository plus a tag derived from the
    /// WordPress and PHP versions, as the official image names them.
    pub fn image_reference(&self) -> String {
        format!(
            "{}:{}-php{}-apache",
            self.image, self.wordpress_version, self.php_version
        )
    }

    /// Number of tasks the service should run given the status; under
    /// autoscaling, the initial count, moved into its range.
    pub fn effective_desired_count(&self) -> u32 {
        match (self.status, self.autoscaling) {
            (TenantStatus::Suspended, _) => 0,
            (TenantStatus::Active, Some(a)) => self.desired_count.clamp(a.min, a.max),
            (TenantStatus::Active, None) => self.desired_count,
        }
    }

    /// The range scaling keeps the desired count in: parked at zero while
    /// suspended.
    pub fn scaling_range(&self) -> Option<(u32, u32)> {
        let a = self.autoscaling?;
        Some(match self.status {
            TenantStatus::Active => (a.min, a.max),
            TenantStatus::Suspended => (0, 0),
        })
    }

    /// Tags for every AWS part: platform defaults, then the user's, then the
    /// ownership tags (which nobody may override).
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.platform.default_tags.clone();
        tags.extend(self.tags.clone());
        tags.insert(crate::naming::TAG_TENANT.to_owned(), self.tenant_id.clone());
        tags.insert(
            crate::naming::TAG_ENVIRONMENT.to_owned(),
            self.platform.environment.as_str().to_owned(),
        );
        tags
    }

    /// The names of every part (SPEC §2).
    pub fn names(&self) -> crate::naming::TenantNames {
        crate::naming::TenantNames::new(
            self.platform.environment,
            &self.tenant_id,
            &self.subdomain,
            &self.platform.domain,
        )
    }

    /// Whether a destroy backs the database up first: it deletes the
    /// database and `backup_before_destroy` asks for it.
    pub fn backs_up_before_destroy(&self) -> bool {
        self.backup_before_destroy && !self.retain_data_on_destroy
    }

    /// The check a destroy must pass (SPEC §3 Delete); `Err` says how to
    /// proceed.
    pub fn check_destroy(&self) -> Result<(), crate::CoreError> {
        if self.deletion_protection {
            return Err(crate::CoreError::DestroyBlocked {
                tenant_id: self.tenant_id.clone(),
                reason: "deletion_protection is true".into(),
                how: "set deletion_protection = false, apply, then destroy".into(),
            });
        }
        if self.platform.environment == Environment::Prod && self.confirm_destroy.as_deref() != Some(self.name.as_str())
        {
            return Err(crate::CoreError::DestroyBlocked {
                tenant_id: self.tenant_id.clone(),
                reason: "in prod, confirm_destroy must equal the tenant's name".into(),
                how: format!("set confirm_destroy = {:?}, apply, then destroy", self.name),
            });
        }
        if self.backs_up_before_destroy() && self.platform.backup.is_none() {
            return Err(crate::CoreError::DestroyBlocked {
                tenant_id: self.tenant_id.clone(),
                reason: format!(
                    "backup_before_destroy is true{} and the destroy deletes the database (retain_data_on_destroy = \
                     false), but the provider has no backup bucket to back it up to (SOP §6.4: backup completed \
                     before deletion)",
                    if self.platform.environment == Environment::Prod {
                        " (the default in prod)"
                    } else {
                        ""
                    }
                ),
                how: "set backup { bucket = \"…\" } in the provider block; or keep the data (retain_data_on_destroy = \
                      true); or set backup_before_destroy = false, apply, then destroy"
                    .into(),
            });
        }
        Ok(())
    }
}
