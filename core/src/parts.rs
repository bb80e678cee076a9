//! The ten parts of a tenant, and the optional autoscaling of its service: their desired shape (`*Spec`, derived from a
//! [`TenantSpec`]) and their observed shape (`Observed*`, read from AWS and
//! MySQL). Both are plain data; the ports take the former and return the
//! latter, so no SDK type ever leaves `aws/`.

use std::collections::BTreeMap;
use std::fmt;

use crate::naming::{self, CONTAINER_NAME, CONTAINER_PORT, HEALTH_CHECK_PATH, WEB_SERVER_UID};
use crate::ports::{AlarmDefinition, AlarmQuery, MetricQuery, TrackedMetric, TrackingPolicy};
use crate::spec::{TenantSpec, TenantStatus};

/// Tags as a sorted map.
pub type Tags = BTreeMap<String, String>;

/// The ten parts, in creation order (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Secrets Manager secret with the DB credentials.
    Secret,
    /// MySQL database.
    Database,
    /// MySQL user.
    DatabaseUser,
    /// EFS access point.
    AccessPoint,
    /// CloudWatch log group.
    LogGroup,
    /// ALB target group.
    TargetGroup,
    /// ECS task definition.
    TaskDefinition,
    /// ALB listener rule.
    ListenerRule,
    /// Route53 record.
    DnsRecord,
    /// ECS service.
    Service,
    /// Application Auto Scaling of the service's desired count: optional
    /// (the `autoscaling` block), so not among [`Part::ALL`].
    Scaling,
    /// The ACM certificate for the tenant's custom domains, served by its
    /// listener: optional (`custom_domains`), so not among [`Part::ALL`].
    Certificate,
    /// The tenant's CloudWatch alarms: optional (the provider's
    /// `alarm_topic_arn`), so not among [`Part::ALL`].
    Alarms,
}

impl Part {
    /// The ten parts every tenant has, in creation order: what decides
    /// whether a tenant is complete.
    pub const ALL: [Part; 10] = [
        Part::Secret,
        Part::Database,
        Part::DatabaseUser,
        Part::AccessPoint,
        Part::LogGroup,
        Part::TargetGroup,
        Part::TaskDefinition,
        Part::ListenerRule,
        Part::DnsRecord,
        Part::Service,
    ];

    /// Stable snake_case name used in messages, audit records and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Secret => "secret",
            Part::Database => "database",
            Part::DatabaseUser => "database_user",
            Part::AccessPoint => "access_point",
            Part::LogGroup => "log_group",
            Part::TargetGroup => "target_group",
            Part::TaskDefinition => "task_definition",
            Part::ListenerRule => "listener_rule",
            Part::DnsRecord => "dns_record",
            Part::Service => "service",
            Part::Scaling => "autoscaling",
            Part::Certificate => "certificate",
            Part::Alarms => "alarms",
        }
    }

    /// Parts that must exist before this one can be created.
    pub fn depends_on(self) -> &'static [Part] {
        match self {
            Part::Secret
            | Part::Database
            | Part::AccessPoint
            | Part::LogGroup
            | Part::TargetGroup
            | Part::DnsRecord => &[],
            Part::DatabaseUser => &[Part::Database],
            Part::TaskDefinition => &[Part::Secret, Part::AccessPoint, Part::LogGroup],
            Part::ListenerRule => &[Part::TargetGroup],
            Part::Scaling => &[Part::Service],
            // Its ARN is kept on the service.
            Part::Certificate => &[Part::Service, Part::ListenerRule],
            // Their marker is on the service; two watch the target group.
            Part::Alarms => &[Part::Service, Part::TargetGroup],
            Part::Service => &[
                Part::TaskDefinition,
                Part::TargetGroup,
                Part::ListenerRule,
                Part::DatabaseUser,
            ],
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------- secret

/// The JSON document stored in the tenant's secret.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DbCredentials {
    /// MySQL host tasks connect to.
    pub host: String,
    /// MySQL port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// User name.
    pub username: String,
    /// Password (only ever in Secrets Manager and in memory).
    pub password: String,
}

impl fmt::Debug for DbCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbCredentials")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for DbCredentials {
    // Never print the password, even by accident through `{}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}/{}", self.username, self.host, self.port, self.database)
    }
}

/// Desired secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    /// Secret name.
    pub name: String,
    /// The tenant's settings that AWS cannot otherwise tell (JSON of
    /// [`TenantSettings`]), so that an import recovers every attribute.
    pub description: String,
    /// Tags.
    pub tags: Tags,
    /// `ClientRequestToken` (32 to 64 characters; the first version's id):
    /// a retry with the same token and value answers the secret the first
    /// call made. `None`: the SDK draws one per call.
    pub client_token: Option<String>,
}

/// Observed secret (metadata only; the value is read on demand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSecret {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Tags,
    /// Scheduled for deletion (restorable within the recovery window).
    pub pending_deletion: bool,
    /// Description (bbws keeps [`TenantSettings`] there).
    pub description: Option<String>,
}

/// What a tenant's parts cannot say about it by themselves — who it is,
/// its tier, its guards — kept as JSON in the secret's description.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantSettings {
    /// Display name.
    pub name: String,
    /// Contact e-mail.
    pub contact_email: String,
    /// Tier.
    pub tier: String,
    /// Tasks while active (a suspended service runs none).
    pub desired_count: u32,
    /// Destroy guard.
    pub deletion_protection: bool,
    /// Data kept on destroy.
    pub retain_data_on_destroy: bool,
    /// Typed confirmation, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_destroy: Option<String>,
    /// Version of the user-supplied password the secret and user hold;
    /// a new version in the spec rotates the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_password_version: Option<i64>,
}

impl TenantSettings {
    /// The settings of a spec.
    pub fn of(spec: &TenantSpec) -> Self {
        TenantSettings {
            name: spec.name.clone(),
            contact_email: spec.contact_email.clone(),
            tier: spec.tier.as_str().to_owned(),
            desired_count: spec.desired_count,
            deletion_protection: spec.deletion_protection,
            retain_data_on_destroy: spec.retain_data_on_destroy,
            confirm_destroy: spec.confirm_destroy.clone(),
            db_password_version: spec.db_password_version,
        }
    }

    /// As stored in the secret's description.
    pub fn to_description(&self) -> String {
        format!(
            "bbws tenant settings: {}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }

    /// Parses a description written by [`Self::to_description`].
    pub fn from_description(d: &str) -> Option<Self> {
        serde_json::from_str(d.strip_prefix("bbws tenant settings: ")?).ok()
    }
}

// ---------------------------------------------------------------- MySQL

/// Observed database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDatabase {
    /// Schema name.
    pub name: String,
}

/// Observed database user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDatabaseUser {
    /// User name (host `%`).
    pub name: String,
    /// Account locked (kept after a destroy that retained data).
    pub locked: bool,
    /// `MAX_USER_CONNECTIONS` (0: none of its own).
    pub max_connections: u32,
    /// An old password still logs in beside the current one (MySQL 8's
    /// dual passwords, left by a rotation that did not finish).
    pub old_password_retained: bool,
}

// ---------------------------------------------------------------- EFS

/// Desired access point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPointSpec {
    /// File system.
    pub file_system_id: String,
    /// Name tag.
    pub name: String,
    /// Root directory (`/{tenant_id}`), created with the web server's owner.
    pub root_directory: String,
    /// POSIX uid and gid of the web server.
    pub posix_uid: i64,
    /// Tags (the Name tag is added by the port).
    pub tags: Tags,
    /// `ClientToken` (at most 64 characters), unique per creation: a retry
    /// with it answers the access point the first call made. `None`: the
    /// SDK draws one per call.
    pub client_token: Option<String>,
}

/// Observed access point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAccessPoint {
    /// `fsap-…`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// File system.
    pub file_system_id: String,
    /// Name tag.
    pub name: String,
    /// Root directory.
    pub root_directory: String,
    /// POSIX uid.
    pub posix_uid: Option<i64>,
    /// Tags without Name.
    pub tags: Tags,
}

// ---------------------------------------------------------------- logs

/// Desired log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupSpec {
    /// Name.
    pub name: String,
    /// Retention in days.
    pub retention_days: u32,
    /// Tags.
    pub tags: Tags,
    /// The ARN AWS gives it, when the account and Region are known
    /// ([`crate::naming::log_group_arn`]): `CreateLogGroup` answers
    /// nothing, and without it the new group is read back for its ARN.
    pub arn: Option<String>,
}

/// Observed log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedLogGroup {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Retention; `None` is "never expire".
    pub retention_days: Option<u32>,
    /// Tags.
    pub tags: Tags,
    /// When it was created (Unix milliseconds), where the API says: the age
    /// of an orphaned tenant (`tenantctl orphans`).
    pub created_ms: Option<i64>,
}

// ---------------------------------------------------------------- ELBv2

/// Desired target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSpec {
    /// Name.
    pub name: String,
    /// VPC.
    pub vpc_id: String,
    /// Container port.
    pub port: u16,
    /// Health check path.
    pub health_check_path: String,
    /// Tags.
    pub tags: Tags,
}

/// Observed target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTargetGroup {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// VPC.
    pub vpc_id: String,
    /// Port.
    pub port: u16,
    /// Health check path.
    pub health_check_path: String,
    /// Tags.
    pub tags: Tags,
}

/// What a listener rule does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Forward to the target group (ARN).
    Forward(String),
    /// Answer with a fixed response (the suspended page).
    FixedResponse {
        /// HTTP status.
        status: u16,
        /// Content type.
        content_type: String,
        /// Body.
        body: String,
    },
}

/// Desired listener rule (the priority is allocated by the engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRuleSpec {
    /// Listener.
    pub listener_arn: String,
    /// Host header value: the tenant's own name, what the rule is found by.
    pub host: String,
    /// The tenant's custom domains, routed by the same rule (a host-header
    /// condition holds five values).
    pub custom_domains: Vec<String>,
    /// Action; the forward target is filled in once the target group exists.
    pub action: RuleAction,
    /// Tags.
    pub tags: Tags,
}

impl ListenerRuleSpec {
    /// Every host header value of the rule: its own name, then the custom
    /// domains.
    pub fn hosts(&self) -> Vec<String> {
        std::iter::once(&self.host)
            .chain(&self.custom_domains)
            .cloned()
            .collect()
    }

    /// Whether a rule routes exactly these hosts (in any order and case).
    pub fn routes_exactly(&self, hosts: &[String]) -> bool {
        let norm = |v: &[String]| {
            let mut v: Vec<String> = v.iter().map(|h| h.to_ascii_lowercase()).collect();
            v.sort();
            v
        };
        norm(&self.hosts()) == norm(hosts)
    }
}

/// Observed listener rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedListenerRule {
    /// ARN.
    pub arn: String,
    /// Listener.
    pub listener_arn: String,
    /// Priority on the listener.
    pub priority: u32,
    /// Host header values.
    pub hosts: Vec<String>,
    /// Action.
    pub action: Option<RuleAction>,
    /// Tags.
    pub tags: Tags,
}

/// The name in a target group ARN (`…:targetgroup/{name}/{id}`).
pub fn target_group_name(arn: &str) -> Option<&str> {
    arn.split(':').next_back().and_then(|r| r.split('/').nth(1))
}

/// The rules that can be one tenant's, for a read that fetches only their
/// tags: those routing one of its hosts (its subdomain, or one it had),
/// forwarding to its target group, or answering a fixed response (a
/// suspended tenant's page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRules {
    /// Host names, compared case-insensitively.
    pub hosts: Vec<String>,
    /// The tenant's target group names, both of them (ARNs hold the name:
    /// `targetgroup/{name}/{id}`).
    pub target_groups: Vec<String>,
}

impl TenantRules {
    /// Whether `rule` may be the tenant's, so that its tags are needed.
    pub fn may_hold(&self, rule: &ObservedListenerRule) -> bool {
        let routes = rule
            .hosts
            .iter()
            .any(|h| self.hosts.iter().any(|t| t.eq_ignore_ascii_case(h)));
        let acts = match &rule.action {
            Some(RuleAction::Forward(arn)) => {
                target_group_name(arn).is_some_and(|name| self.target_groups.iter().any(|t| t == name))
            }
            Some(RuleAction::FixedResponse { .. }) | None => true,
        };
        routes || acts
    }
}

// ---------------------------------------------------------------- Route53

/// Where the tenant's DNS name points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordTarget {
    /// Alias A record to the load balancer.
    Alias {
        /// ALB DNS name.
        dns_name: String,
        /// ALB canonical hosted zone id.
        hosted_zone_id: String,
    },
    /// CNAME to the load balancer's DNS name.
    Cname(String),
    /// Any other record at the name (a plain A, AAAA, TXT, MX…): observed
    /// only, never written by bbws, always someone else's.
    Other {
        /// The record type, e.g. `A`, `TXT`.
        record_type: String,
        /// Its values, as Route53 lists them.
        values: Vec<String>,
    },
}

impl RecordTarget {
    /// The Route53 record type.
    pub fn record_type(&self) -> &str {
        match self {
            RecordTarget::Alias { .. } => "A",
            RecordTarget::Cname(_) => "CNAME",
            RecordTarget::Other { record_type, .. } => record_type,
        }
    }
}

/// Desired record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecordSpec {
    /// Hosted zone.
    pub zone_id: String,
    /// Record name without trailing dot.
    pub name: String,
    /// Target.
    pub target: RecordTarget,
}

/// Observed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDnsRecord {
    /// Hosted zone.
    pub zone_id: String,
    /// Record name without trailing dot.
    pub name: String,
    /// Target.
    pub target: RecordTarget,
}

// ---------------------------------------------------------------- ECS

/// Desired task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionSpec {
    /// Family.
    pub family: String,
    /// Image with tag.
    pub image: String,
    /// CPU units.
    pub cpu: u32,
    /// Memory MiB.
    pub memory: u32,
    /// Plain environment.
    pub environment: BTreeMap<String, String>,
    /// Secret environment: variable → `valueFrom` (secret ARN + JSON key).
    pub secrets: BTreeMap<String, String>,
    /// EFS file system.
    pub file_system_id: String,
    /// EFS access point.
    pub access_point_id: String,
    /// Log group.
    pub log_group: String,
    /// Region for the awslogs driver.
    pub region: String,
    /// Execution role.
    pub execution_role_arn: Option<String>,
    /// Task role.
    pub task_role_arn: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// Observed task definition (the latest ACTIVE revision of the family).
/// Serializable so that a caller can keep it and hand it back
/// ([`crate::Engine::know_revision`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObservedTaskDefinition {
    /// ARN with revision.
    pub arn: String,
    /// Family.
    pub family: String,
    /// Revision.
    pub revision: i32,
    /// Image.
    pub image: String,
    /// CPU.
    pub cpu: u32,
    /// Memory.
    pub memory: u32,
    /// Plain environment.
    pub environment: BTreeMap<String, String>,
    /// Secrets.
    pub secrets: BTreeMap<String, String>,
    /// EFS file system.
    pub file_system_id: Option<String>,
    /// Access point.
    pub access_point_id: Option<String>,
    /// Log group.
    pub log_group: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// Desired service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Cluster.
    pub cluster: String,
    /// Name.
    pub name: String,
    /// Task definition ARN.
    pub task_definition_arn: String,
    /// Desired count.
    pub desired_count: u32,
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Target group.
    pub target_group_arn: String,
    /// Container name in the load balancer mapping.
    pub container_name: String,
    /// Container port in the load balancer mapping.
    pub container_port: u16,
    /// Tags.
    pub tags: Tags,
    /// `clientToken` (at most 36 ASCII characters): a retry with it answers
    /// the service the first call made. `None`: none is sent.
    pub client_token: Option<String>,
}

/// A service's load balancer mapping: the target group and the container
/// and port registered in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTargetGroup {
    /// Target group ARN.
    pub target_group_arn: String,
    /// Container name.
    pub container_name: String,
    /// Container port.
    pub container_port: u16,
}

/// Observed service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Cluster (name or ARN as given).
    pub cluster: String,
    /// Task definition ARN in use.
    pub task_definition_arn: String,
    /// Desired count.
    pub desired_count: u32,
    /// Running count.
    pub running_count: u32,
    /// Target groups behind the service.
    pub target_group_arns: Vec<String>,
    /// ECS status (`ACTIVE`, `DRAINING`, `INACTIVE`).
    pub status: String,
    /// Tags.
    pub tags: Tags,
    /// Its deployments as ECS reports them: the PRIMARY one (the latest
    /// revision asked for), ACTIVE ones still running older tasks.
    pub deployments: Vec<ObservedDeployment>,
    /// The deployment circuit breaker, `None` when the API did not report
    /// a deployment configuration (ECS always does; moto only after an
    /// UpdateService).
    pub circuit_breaker: Option<CircuitBreaker>,
}

impl ObservedService {
    /// The PRIMARY deployment, if ECS reports one.
    pub fn primary(&self) -> Option<&ObservedDeployment> {
        self.deployments.iter().find(|d| d.status == DeploymentStatus::Primary)
    }
}

/// ECS's deployment circuit breaker (`deploymentConfiguration.
/// deploymentCircuitBreaker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// A deployment whose tasks keep failing is marked FAILED.
    pub enable: bool,
    /// A FAILED deployment is rolled back to the last COMPLETED one.
    pub rollback: bool,
}

impl CircuitBreaker {
    /// What every service bbws creates or updates gets: ECS itself fails a
    /// deployment whose tasks keep failing and returns the service to the
    /// last deployment that completed.
    pub const ROLLBACK: CircuitBreaker = CircuitBreaker {
        enable: true,
        rollback: true,
    };
}

/// A deployment's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentStatus {
    /// The most recent deployment: the revision the service is moving to.
    Primary,
    /// An older deployment that still runs tasks.
    Active,
    /// Drained.
    Inactive,
}

impl DeploymentStatus {
    /// ECS's spelling; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PRIMARY" => Some(DeploymentStatus::Primary),
            "ACTIVE" => Some(DeploymentStatus::Active),
            "INACTIVE" => Some(DeploymentStatus::Inactive),
            _ => None,
        }
    }
}

/// A deployment's `rolloutState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutState {
    /// Tasks of the new revision are being started.
    InProgress,
    /// The deployment reached a steady state.
    Completed,
    /// The circuit breaker failed it (and rolled back, if asked to).
    Failed,
}

impl RolloutState {
    /// ECS's spelling; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "IN_PROGRESS" => Some(RolloutState::InProgress),
            "COMPLETED" => Some(RolloutState::Completed),
            "FAILED" => Some(RolloutState::Failed),
            _ => None,
        }
    }

    /// ECS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
            RolloutState::Failed => "FAILED",
        }
    }
}

/// One deployment of a service (DescribeServices `deployments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDeployment {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: DeploymentStatus,
    /// Where the rollout stands (`None` when not reported: the circuit
    /// breaker off on an old service).
    pub rollout_state: Option<RolloutState>,
    /// ECS's sentence about the rollout state.
    pub rollout_state_reason: String,
    /// The revision this deployment runs.
    pub task_definition_arn: String,
    /// Tasks it should run.
    pub desired_count: u32,
    /// Tasks starting.
    pub pending_count: u32,
    /// Tasks running.
    pub running_count: u32,
}

// ---------------------------------------------------------------- desired

/// One listener of the pool and the load balancer it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenerFacts {
    /// The listener.
    pub listener_arn: String,
    /// Its load balancer.
    pub load_balancer_arn: String,
    /// The load balancer's DNS name (a tenant's alias record target).
    pub load_balancer_dns_name: String,
    /// The load balancer's canonical hosted zone id.
    pub load_balancer_zone_id: String,
}

/// Everything the engine needs about the platform's load balancers and
/// database, resolved from the APIs once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformFacts {
    /// Each listener of the pool, in the provider's order.
    pub listeners: Vec<ListenerFacts>,
    /// MySQL host tasks connect to (written into the tenant's secret).
    pub database_host: String,
    /// MySQL port.
    pub database_port: u16,
}

impl PlatformFacts {
    /// The facts of the pool listener `arn`.
    pub fn listener(&self, arn: &str) -> Option<&ListenerFacts> {
        self.listeners.iter().find(|l| l.listener_arn == arn)
    }

    /// The pool listener a tenant is asked to move to: its spec names a
    /// listener of the pool other than the one its rule is on.
    pub fn move_to(&self, spec: &TenantSpec, observed: &crate::ObservedTenant) -> Option<&ListenerFacts> {
        let asked = spec.listener_arn.as_deref()?;
        let at = observed.listener_rule.as_ref()?;
        (at.listener_arn != asked).then(|| self.listener(asked)).flatten()
    }

    /// The listener a tenant lives on: the one it moves to, else where its
    /// rule is, else the one its spec asks for (pinned or placed), else the
    /// first of the pool.
    pub fn listener_of(&self, spec: &TenantSpec, observed: &crate::ObservedTenant) -> ListenerFacts {
        if let Some(to) = self.move_to(spec, observed) {
            return to.clone();
        }
        let asked = spec.listener_arn.as_deref();
        let at = observed.listener_rule.as_ref().map(|r| r.listener_arn.as_str());
        let arn = at.or(asked).unwrap_or_else(|| spec.platform.first_listener());
        self.listener(arn).cloned().unwrap_or_else(|| ListenerFacts {
            listener_arn: arn.to_owned(),
            ..ListenerFacts::default()
        })
    }
}

/// The desired shape of every part of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredTenant {
    /// Names.
    pub names: naming::TenantNames,
    /// Secret.
    pub secret: SecretSpec,
    /// Access point.
    pub access_point: AccessPointSpec,
    /// Log group.
    pub log_group: LogGroupSpec,
    /// Target group.
    pub target_group: TargetGroupSpec,
    /// Listener rule; the forward action's ARN is empty until known.
    pub listener_rule: ListenerRuleSpec,
    /// DNS record.
    pub dns_record: DnsRecordSpec,
    /// Task definition; secret ARN and access point id empty until known.
    pub task_definition: TaskDefinitionSpec,
    /// Service; ARNs empty until known.
    pub service: ServiceSpec,
    /// Scaling of the service, when the spec asks for it.
    pub scaling: Option<ScalingSpec>,
    /// The certificate for the custom domains, when there are any.
    pub certificate: Option<CertificateSpec>,
    /// The alarms, when the platform has a topic for them.
    pub alarms: Option<AlarmsSpec>,
}

impl DesiredTenant {
    /// Derives every part's desired shape. ARNs and ids of other parts are
    /// taken from `observed` when the part exists, else left empty for the
    /// engine to fill in after creating it. One struct literal with a field
    /// per part, so every part's desired shape reads in one place (hence
    /// its length).
    pub fn new(spec: &TenantSpec, facts: &PlatformFacts, observed: &crate::ObservedTenant) -> Self {
        let listener = facts.listener_of(spec, observed);
        let names = spec.names();
        // A target group belongs to one load balancer: a move makes one
        // under the other name; otherwise the tenant keeps the one it has.
        let target_group_name = match (&observed.target_group, facts.move_to(spec, observed)) {
            (Some(t), Some(_)) => names.other_target_group(&t.name).to_owned(),
            (Some(t), None) => t.name.clone(),
            (None, _) => names.target_group.clone(),
        };
        let tags = spec.tags();
        let mut service_tags = tags.clone();
        if spec.autoscaling.is_some() {
            service_tags.insert(
                naming::TAG_AUTOSCALING.to_owned(),
                naming::TAG_AUTOSCALING_ON.to_owned(),
            );
        }
        // The certificate markers are the certificate stage's to change: a
        // service made anew keeps them, so no certificate is forgotten.
        for key in [
            naming::TAG_CERTIFICATE,
            naming::TAG_CERTIFICATE_SUPERSEDED,
            naming::TAG_CERTIFICATE_LAST,
            naming::TAG_ALARMS,
        ] {
            if let Some(v) = observed.service.as_ref().and_then(|s| s.tags.get(key)) {
                service_tags.insert(key.to_owned(), v.clone());
            }
        }
        let p = &spec.platform;
        let secret_arn = observed.secret.as_ref().map(|s| s.arn.clone()).unwrap_or_default();
        let ap_id = observed.access_point.as_ref().map(|a| a.id.clone()).unwrap_or_default();
        let tg_arn = observed
            .target_group
            .as_ref()
            .map(|t| t.arn.clone())
            .unwrap_or_default();
        let td_arn = observed
            .task_definition
            .as_ref()
            .map(|t| t.arn.clone())
            .unwrap_or_default();

        let mut environment = spec.environment_variables.clone();
        environment.insert(
            "WORDPRESS_DB_HOST".into(),
            format!("{}:{}", facts.database_host, facts.database_port),
        );
        environment.insert("WORDPRESS_DB_NAME".into(), names.database.clone());
        environment.insert("WORDPRESS_DB_USER".into(), names.database_user.clone());
        let action = match spec.status {
            TenantStatus::Active => RuleAction::Forward(tg_arn.clone()),
            TenantStatus::Suspended => suspended_action(),
        };
        DesiredTenant {
            secret: SecretSpec {
                name: names.secret.clone(),
                description: TenantSettings::of(spec).to_description(),
                tags: tags.clone(),
                client_token: None,
            },
            access_point: AccessPointSpec {
                file_system_id: p.efs_file_system_id.clone(),
                name: names.access_point.clone(),
                root_directory: names.access_point_root.clone(),
                posix_uid: WEB_SERVER_UID,
                tags: tags.clone(),
                client_token: None,
            },
            log_group: LogGroupSpec {
                name: names.log_group.clone(),
                retention_days: spec.log_retention_days,
                tags: tags.clone(),
                arn: (facts.listeners.first())
                    .and_then(|l| crate::naming::log_group_arn(&l.listener_arn, &names.log_group)),
            },
            target_group: TargetGroupSpec {
                name: target_group_name,
                vpc_id: p.vpc_id.clone(),
                port: CONTAINER_PORT,
                health_check_path: HEALTH_CHECK_PATH.into(),
                tags: tags.clone(),
            },
            listener_rule: ListenerRuleSpec {
                listener_arn: listener.listener_arn,
                host: names.fqdn.clone(),
                custom_domains: spec.custom_domains.clone(),
                action,
                tags: tags.clone(),
            },
            dns_record: DnsRecordSpec {
                zone_id: p.hosted_zone_id.clone(),
                name: names.fqdn.clone(),
                target: RecordTarget::Alias {
                    dns_name: listener.load_balancer_dns_name,
                    hosted_zone_id: listener.load_balancer_zone_id,
                },
            },
            task_definition: TaskDefinitionSpec {
                family: names.task_family.clone(),
                image: spec.image_reference(),
                cpu: spec.cpu,
                memory: spec.memory,
                environment,
                secrets: secret_refs(&secret_arn),
                file_system_id: p.efs_file_system_id.clone(),
                access_point_id: ap_id,
                log_group: names.log_group.clone(),
                region: p.region.clone(),
                execution_role_arn: p.execution_role_arn.clone(),
                task_role_arn: p.task_role_arn.clone(),
                tags: tags.clone(),
            },
            service: ServiceSpec {
                cluster: p.cluster.clone(),
                name: names.service.clone(),
                task_definition_arn: td_arn,
                desired_count: spec.effective_desired_count(),
                subnet_ids: p.subnet_ids.clone(),
                security_group_ids: p.security_group_ids.clone(),
                target_group_arn: tg_arn,
                container_name: CONTAINER_NAME.into(),
                container_port: CONTAINER_PORT,
                tags: service_tags,
                client_token: None,
            },
            scaling: ScalingSpec::of(spec, &names),
            certificate: CertificateSpec::of(spec, observed),
            alarms: AlarmsSpec::of(spec, &names, &listener.load_balancer_arn),
            names,
        }
    }
}

/// The desired alarms: the tenant's three, to the platform's topic. Two
/// watch the target group, known once it exists: [`AlarmsSpec::definitions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmsSpec {
    /// The topic they notify.
    pub topic_arn: String,
    /// Their names, in [`naming::AlarmKind::ALL`]'s order.
    pub names: [String; 3],
    /// The line their descriptions start with.
    pub owner: String,
    /// The cluster's name.
    pub cluster: String,
    /// The service's name.
    pub service: String,
    /// The load balancer of the tenant's listener.
    pub load_balancer_arn: String,
    /// Tags, set when each is created.
    pub tags: Tags,
}

/// The dimension value of an ELB ARN: what follows `marker` (`app/…` of a
/// load balancer after `:loadbalancer/`, `targetgroup/…` of a target group
/// after the last `:`).
fn elb_dimension(arn: &str, marker: &str) -> String {
    arn.rsplit_once(marker)
        .map_or_else(String::new, |(_, rest)| rest.to_owned())
}

/// A query of one metric's statistic over a minute.
fn stat_query(
    id: &str,
    namespace: &str,
    metric: &str,
    dims: &[(String, String)],
    stat: &str,
    returned: bool,
) -> AlarmQuery {
    AlarmQuery {
        id: id.to_owned(),
        stat: Some(MetricQuery {
            id: id.to_owned(),
            namespace: namespace.to_owned(),
            metric: metric.to_owned(),
            dimensions: dims.to_vec(),
            stat: stat.to_owned(),
            period_seconds: 60,
        }),
        expression: None,
        returned,
    }
}

/// The returned expression `e1` over the other queries.
fn expression_query(e: &str) -> AlarmQuery {
    AlarmQuery {
        id: "e1".to_owned(),
        stat: None,
        expression: Some(e.to_owned()),
        returned: true,
    }
}

impl AlarmsSpec {
    /// The spec's alarms, `None` without `alarm_topic_arn`.
    pub fn of(spec: &TenantSpec, names: &naming::TenantNames, load_balancer_arn: &str) -> Option<Self> {
        let topic = spec.platform.alarm_topic_arn.clone()?;
        let cluster = spec.platform.cluster.rsplit('/').next().unwrap_or_default().to_owned();
        Some(AlarmsSpec {
            topic_arn: topic,
            names: names.alarms.clone(),
            owner: naming::alarm_owner_line(spec.platform.environment, &spec.tenant_id),
            cluster,
            service: names.service.clone(),
            load_balancer_arn: load_balancer_arn.to_owned(),
            tags: spec.tags(),
        })
    }

    /// The three definitions for the target group `target_group_arn`, in
    /// [`naming::AlarmKind::ALL`]'s order.
    pub fn definitions(&self, target_group_arn: &str) -> Vec<AlarmDefinition> {
        use naming::AlarmKind;
        let elb = [
            (
                "LoadBalancer".to_owned(),
                elb_dimension(&self.load_balancer_arn, ":loadbalancer/"),
            ),
            ("TargetGroup".to_owned(), elb_dimension(target_group_arn, ":")),
        ];
        let ecs = [
            ("ClusterName".to_owned(), self.cluster.clone()),
            ("ServiceName".to_owned(), self.service.clone()),
        ];
        let (alb, insights) = ("AWS/ApplicationELB", "ECS/ContainerInsights");
        let shapes = [
            (
                "more than 5% of the site's requests answered 5xx by its tasks, in 3 of 5 minutes",
                vec![
                    expression_query("100 * m5xx / mreq"),
                    stat_query("m5xx", alb, "HTTPCode_Target_5XX_Count", &elb, "Sum", false),
                    stat_query("mreq", alb, "RequestCount", &elb, "Sum", false),
                ],
                5,
                (5, 3),
            ),
            (
                "an unhealthy task behind the site's target group for 3 minutes",
                vec![stat_query("m1", alb, "UnHealthyHostCount", &elb, "Maximum", true)],
                0,
                (3, 3),
            ),
            (
                "fewer tasks running than desired for 5 minutes (needs ECS Container Insights on the cluster)",
                vec![
                    expression_query("mdesired - mrunning"),
                    stat_query("mrunning", insights, "RunningTaskCount", &ecs, "Average", false),
                    stat_query("mdesired", insights, "DesiredTaskCount", &ecs, "Average", false),
                ],
                0,
                (5, 5),
            ),
        ];
        (AlarmKind::ALL.iter().zip(&self.names).zip(shapes))
            .map(
                |((_, name), (what, queries, threshold, (periods, breaching)))| AlarmDefinition {
                    name: name.clone(),
                    description: format!("{}: {what}", self.owner),
                    queries,
                    threshold,
                    evaluation_periods: periods,
                    datapoints_to_alarm: breaching,
                    topic_arn: self.topic_arn.clone(),
                },
            )
            .collect()
    }
}

/// The desired certificate: one ACM certificate naming every custom
/// domain, DNS-validated, tagged as the tenant's, served by the tenant's
/// listener once issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSpec {
    /// What to request.
    pub request: crate::ports::CertificateRequest,
}

impl CertificateSpec {
    /// The spec's certificate, `None` without custom domains. The
    /// idempotency token follows the certificate on the service's marker.
    pub fn of(spec: &TenantSpec, observed: &crate::ObservedTenant) -> Option<Self> {
        if spec.custom_domains.is_empty() {
            return None;
        }
        let tags = observed.service.as_ref().map(|s| &s.tags);
        let previous = [naming::TAG_CERTIFICATE, naming::TAG_CERTIFICATE_LAST]
            .iter()
            .find_map(|k| tags.and_then(|t| t.get(*k)))
            .map_or("", String::as_str);
        let token = naming::certificate_token(
            spec.platform.environment,
            &spec.tenant_id,
            &spec.custom_domains,
            previous,
        );
        Some(CertificateSpec {
            request: crate::ports::CertificateRequest {
                domains: spec.custom_domains.clone(),
                tags: spec.tags(),
                idempotency_token: token,
            },
        })
    }
}

/// The desired scaling of the service's desired count: its range and the
/// target-tracking policies. The request-count policy names the target
/// group, known only once it exists: [`ScalingSpec::policies`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalingSpec {
    /// `service/{cluster}/{service}`.
    pub resource_id: String,
    /// Fewest tasks (0 while suspended).
    pub min: u32,
    /// Most tasks (0 while suspended).
    pub max: u32,
    /// Average CPU percent held.
    pub cpu_target: u32,
    /// ALB requests per task held, if tracked.
    pub requests_per_target: Option<u32>,
    /// The service's name, which the policy names start with.
    pub service: String,
}

impl ScalingSpec {
    /// The spec's scaling, `None` without an `autoscaling` block.
    pub fn of(spec: &TenantSpec, names: &naming::TenantNames) -> Option<Self> {
        let a = spec.autoscaling?;
        let (min, max) = spec.scaling_range()?;
        Some(ScalingSpec {
            resource_id: naming::scaling_resource_id(&spec.platform.cluster, &names.service),
            min,
            max,
            cpu_target: a.cpu_target,
            requests_per_target: a.requests_per_target,
            service: names.service.clone(),
        })
    }

    /// The policies, the request-count one for the target group
    /// `target_group_arn` behind `listener_arn` (left out while either is
    /// unknown, or of a shape that names no load balancer).
    pub fn policies(&self, listener_arn: &str, target_group_arn: &str) -> Vec<TrackingPolicy> {
        let mut policies = vec![TrackingPolicy {
            name: naming::scaling_policy_name(&self.service, "cpu"),
            metric: TrackedMetric::Cpu,
            target: self.cpu_target,
        }];
        if let (Some(requests), Some(label)) = (
            self.requests_per_target,
            naming::request_count_label(listener_arn, target_group_arn),
        ) {
            policies.push(TrackingPolicy {
                name: naming::scaling_policy_name(&self.service, "requests"),
                metric: TrackedMetric::RequestsPerTarget { resource_label: label },
                target: requests,
            });
        }
        policies
    }
}

/// The password reaches the container through ECS's secret injection,
/// never as plain environment.
pub fn secret_refs(secret_arn: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("WORDPRESS_DB_PASSWORD".into(), format!("{secret_arn}:password::"));
    m
}

/// The listener rule's action while suspended.
pub fn suspended_action() -> RuleAction {
    RuleAction::FixedResponse {
        status: 503,
        content_type: "text/html".into(),
        body: naming::SUSPENDED_PAGE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_rule_candidates_are_its_hosts_its_target_group_and_fixed_responses() {
        let tenant = TenantRules {
            hosts: vec!["acme.wp.example".into(), "old.wp.example".into()],
            target_groups: vec!["dev-123456789012-tg".into(), "dev-123456789012-tgb".into()],
        };
        let tg = |name: &str| {
            Some(RuleAction::Forward(format!(
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/{name}/0123abcd"
            )))
        };
        let rule = |host: &str, action: Option<RuleAction>| ObservedListenerRule {
            arn: "arn:rule".into(),
            listener_arn: "arn:listener".into(),
            priority: 1,
            hosts: vec![host.into()],
            action,
            tags: Tags::new(),
        };
        let table = [
            ("its host, any case", rule("ACME.wp.example", tg("other-tg")), true),
            ("a host it had", rule("old.wp.example", tg("other-tg")), true),
            (
                "its target group under another host",
                rule("new.wp.example", tg("dev-123456789012-tg")),
                true,
            ),
            (
                "its other target group (a move) under another host",
                rule("new.wp.example", tg("dev-123456789012-tgb")),
                true,
            ),
            (
                "a fixed response (a suspended page)",
                rule("x.wp.example", Some(suspended_action())),
                true,
            ),
            ("no action read", rule("x.wp.example", None), true),
            (
                "another tenant's",
                rule("other.wp.example", tg("dev-999999999999-tg")),
                false,
            ),
            (
                "a longer name with the same prefix",
                rule("other.wp.example", tg("dev-123456789012-tg2")),
                false,
            ),
        ];
        for (case, r, want) in table {
            assert_eq!(tenant.may_hold(&r), want, "{case}");
        }
    }
}
